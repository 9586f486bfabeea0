#!/bin/bash
# containerd_checks.sh MOAT CHECK: containerd 1.6 (Debian's, installed here when missing), a
# private daemon of this test's own, and `ctr run --runc-binary MOAT` on an image built from
# a local rootfs (through podman, as podman_checks.sh makes it; no registry).
set -u
moat=$(realpath "$1") check=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fail() { echo "FAIL (containerd $check): $*" >&2; exit 1; }
need containerd containerd
need podman podman
work=$(mktemp -d /tmp/moat-ctrd.XXXXXX)
image=localhost/moat-e2e:latest
test_image "$image"
podman save -q --format docker-archive -o "$work/image.tar" "$image" || fail "podman save"
containerd --root "$work/root" --state "$work/state" --address "$work/sock" > "$work/log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$work"' EXIT
C() { ctr --address "$work/sock" "$@"; }
for _ in $(seq 100); do C version > /dev/null 2>&1 && break; sleep 0.1; done
C image import "$work/image.tar" > /dev/null 2>&1 || fail "ctr image import: $(tail -3 "$work/log")"

case $check in
echo)
  out=$(C run --runc-binary "$moat" --rm "$image" e1 echo hi) || fail "ctr run failed: $out"
  [ "$out" = hi ] || fail "output '$out'"
  ;;
exit-status)
  C run --runc-binary "$moat" --rm "$image" e2 sh -c 'exit 3'
  rc=$?
  [ "$rc" = 3 ] || fail "exit status $rc, want 3"
  ;;
*) fail "unknown check" ;;
esac
exit 0
