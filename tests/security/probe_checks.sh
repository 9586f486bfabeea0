#!/usr/bin/env bash
# Escape probes that need the host's side (issue #7): the outside script sets up something on the
# host, runs one guest probe (guest/escape_probe_test.cc) natively as uid 65534 and under moat,
# then checks the host is as it was.
#   probe_checks.sh MOAT PROBE CHECK PLATFORM
#   chroot-escape  a uniquely named file in the host's /tmp; the chroot+fchdir escape inside must
#                  end at the sandbox's root, where that file does not exist
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
    marker=$(mktemp /tmp/moat-host-marker-XXXXXX)
    trap 'rm -f "$marker"' EXIT
    # Natively the marker is visible (same /tmp), so only the moat run is given it.
    run_probe native ChrootFchdirEscape
    run_probe moat ChrootFchdirEscape MOAT_PROBE_HOST_MARKER="$marker"
    [ -e "$marker" ] || fail "the host's marker is gone"
    leftovers=$(ls -d /tmp/moat-probe-jail.* /tmp/moat-probe-inside.* 2>/dev/null)
    [ -z "$leftovers" ] || fail "the sandbox's /tmp leaked into the host's: $leftovers"
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
