#!/usr/bin/env bash
# Escape probes that need the host's side (issue #7): the outside script sets up something on the
# host, runs one guest probe (guest/escape_probe_test.cc) natively as uid 65534 and under moat,
# then checks the host is as it was.
#   probe_checks.sh MOAT PROBE CHECK PLATFORM
#   chroot-escape  the probe runs under --root (a directory holding just it and its libraries)
#                  beside a uniquely named host file; the chroot+fchdir escape inside must end at
#                  the sandbox's root, from which that file cannot be seen
#   host-ptrace    a host `sleep`; kill/ptrace/process_vm_readv/pidfd_open on its pid inside are
#                  ESRCH and /proc/<pid> is absent; the sleep is still running, untraced
#   host-disk      a node for the host root disk's major:minor; opening it reads nothing
set -u
moat=$(realpath "$1") probe=$(realpath "$2") check=$3 platform=$4
fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs one probe test; fails unless it ran (not skipped) and passed.
run_probe() {
    local how=$1 name=$2 out
    shift 2
    if [ "$how" = native ]; then
        out=$(cd / && env "$@" setpriv --reuid=65534 --regid=65534 --clear-groups "$probe" --gtest_filter="EscapeProbe.$name" 2>&1)
    else
        out=$(cd / && env "$@" "$moat" do --platform="$platform" -- "$probe" --gtest_filter="EscapeProbe.$name" 2>&1)
    fi
    local rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "$how: $name failed (status $rc)"
    case "$out" in *"[  SKIPPED ]"*) fail "$how: $name was skipped" ;; esac
    case "$out" in *"[  PASSED  ] 1 test"*) ;; *) fail "$how: $name did not run" ;; esac
}

case "$check" in
chroot-escape)
    # Not the default root: that is an overlay of the host's /, where every host file shows.
    work=$(mktemp -d "$PWD/moat-probe-XXXXXX")
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/root/tmp"
    cp "$probe" "$work/root/escape_probe_test"
    for lib in $(ldd "$probe" | awk '/=>/ {print $3} $1 ~ /^\// {print $1}'); do
        cp --parents -L "$lib" "$work/root/"
    done
    marker=$work/host-marker
    echo host > "$marker"
    run_probe native ChrootFchdirEscape
    (
        cd / && MOAT_PROBE_HOST_MARKER="$marker" "$moat" do --platform="$platform" --root "$work/root" -- \
            /escape_probe_test --gtest_filter=EscapeProbe.ChrootFchdirEscape
    ) > "$work/out" 2>&1
    rc=$?
    cat "$work/out"
    [ "$rc" = 0 ] || fail "moat --root: ChrootFchdirEscape failed (status $rc)"
    grep -q '\[  PASSED  \] 1 test' "$work/out" || fail "moat --root: ChrootFchdirEscape did not run"
    [ "$(cat "$marker")" = host ] || fail "the host's marker changed"
    [ -z "$(ls -A "$work/root/tmp")" ] || fail "the sandbox wrote through to its root directory: $(ls -A "$work/root/tmp")"
    ;;
host-ptrace)
    sleep 60 &
    victim=$!
    trap 'kill "$victim" 2>/dev/null' EXIT
    run_probe native HostProcessIsOutOfReach MOAT_PROBE_HOST_PID="$victim"
    run_probe moat HostProcessIsOutOfReach MOAT_PROBE_HOST_PID="$victim" MOAT_PROBE_HOST_PID_OUTSIDE=1
    kill -0 "$victim" 2>/dev/null || fail "the host's sleep died"
    state=$(awk '/^State:/{print $2}' /proc/"$victim"/status)
    tracer=$(awk '/^TracerPid:/{print $2}' /proc/"$victim"/status)
    [ "$state" = S ] || fail "the host's sleep is in state $state"
    [ "$tracer" = 0 ] || fail "the host's sleep is traced by $tracer"
    ;;
host-disk)
    dev=$(findmnt -no MAJ:MIN / | head -1 | tr -d ' ')
    [ -n "$dev" ] || fail "no device for the host's /"
    run_probe native HostRootDiskNode MOAT_PROBE_HOST_ROOT_DEV="$dev"
    run_probe moat HostRootDiskNode MOAT_PROBE_HOST_ROOT_DEV="$dev"
    ;;
*)
    fail "unknown check $check"
    ;;
esac
echo "ok: $check"
