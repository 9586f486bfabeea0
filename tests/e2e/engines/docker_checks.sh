#!/bin/bash
# docker_checks.sh MOAT CHECK: dockerd (Debian's docker.io, installed here when missing), a
# private daemon configured by `moat install --write`, running an image built from a local
# rootfs (through podman; no registry) with `--runtime moat`. Exits 77 (skipped) when dockerd
# cannot start on this machine.
set -u
moat=$(realpath "$1") check=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fail() { echo "FAIL (docker $check): $*" >&2; exit 1; }
need dockerd docker.io
need podman podman
work=$(mktemp -d /tmp/moat-dk.XXXXXX)
image=localhost/moat-e2e:latest
test_image "$image"
podman save -q --format docker-archive -o "$work/image.tar" "$image" || fail "podman save"
"$moat" install --write --docker-config "$work/daemon.json" --podman-config "$work/containers.conf" \
  --containerd-config "$work/config.toml" > /dev/null || fail "moat install --write"
# dockerd turns IPv6 off on the host (net.ipv6.conf.*.disable_ipv6); put it back afterwards, or
# the other suites' native IPv6 runs fail.
ipv6_saved=$(for k in all default lo; do echo "$k=$(cat /proc/sys/net/ipv6/conf/$k/disable_ipv6 2>/dev/null)"; done)
restore_ipv6() {
  for kv in $ipv6_saved; do
    [ -n "${kv#*=}" ] && echo "${kv#*=}" > "/proc/sys/net/ipv6/conf/${kv%%=*}/disable_ipv6" 2>/dev/null
  done
}
dockerd --config-file "$work/daemon.json" --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/pid" \
  -H "unix://$work/sock" --iptables=false --ip6tables=false --bridge=none > "$work/log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; restore_ipv6; rm -rf "$work"' EXIT
D() { docker -H "unix://$work/sock" "$@"; }
for _ in $(seq 100); do D version > /dev/null 2>&1 && break; sleep 0.2; done
if ! D version > /dev/null 2>&1; then
  echo "SKIP: dockerd does not start here: $(tail -2 "$work/log")"
  exit 77
fi
D load -q -i "$work/image.tar" > /dev/null || fail "docker load"
name=moat-e2e-$$

case $check in
run)
  out=$(D run --rm --runtime moat --network none "$image" echo hi) || fail "docker run failed: $out"
  [ "$out" = hi ] || fail "output '$out'"
  D run --rm --runtime moat --network none "$image" sh -c 'exit 3'
  [ $? = 3 ] || fail "exit status"
  ;;
exec-top)
  D run -d --name "$name" --runtime moat --network none "$image" sleep 100 > /dev/null || fail "run -d"
  out=$(D exec "$name" sh -c 'echo in') || fail "exec failed: $out"
  [ "$out" = in ] || fail "exec output '$out'"
  D top "$name" | grep -q moat || fail "docker top shows no process: $(D top "$name" 2>&1)"
  D stop -t 1 "$name" > /dev/null || fail "stop"
  D rm "$name" > /dev/null || fail "rm"
  ;;
*) fail "unknown check" ;;
esac
exit 0
