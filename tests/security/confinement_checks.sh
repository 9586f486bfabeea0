#!/usr/bin/env bash
# Checks from outside that the sentry itself is confined (issue #7), on one platform.
#   confinement_checks.sh MOAT CHECK PLATFORM
#   status       while a workload runs, every sentry thread shows Seccomp: 2, NoNewPrivs: 1,
#                CapEff within the file capabilities (0x1f), and the sentry's root is an
#                empty directory, not the host's /
#   status-host-net  the same with --network=host (the host's network namespace, its socket
#                calls on the filter)
#   status-oci   the same for an OCI container (moat create/start; its control socket bound
#                before the pivot, the sentry's pid from `moat state`)
#   forbidden    MOAT_TEST_FORBIDDEN_SYSCALL=1 makes the sentry call acct(2), which is not on
#                the allowlist: the host kernel kills it (SIGSYS) before the workload runs
#   no-filter    --no-host-filter: the same workload runs, Seccomp: 0 (the flag works)
#   host-list    `moat syscalls --host` lists at most 60 syscalls, none of the dangerous ones
#   kill-all     kill(-1, SIGKILL) inside kills the sandbox only: a host process survives
#   host-state   sethostname, clock_settime and mount inside leave the host untouched
#   fds          the workload starts with fds 0-2 only, though moat inherited fd 7
#   exe-write    writing the running executable through /proc/self/exe leaves the host's
#                binary as it was
#   memory-limit --memory-limit: a bigger allocation is OOM-killed, a smaller one runs
#   memory-huge  a 1 TiB MAP_NORESERVE mapping is granted, but touching it past --memory-limit
#                kills the toucher (137) while the sandbox's shell carries on
#   oom-largest  under --memory-limit=128M a shell runs a hog (80M, sleeping) and then a small
#                child (60M): the OOM killer kills the hog (137 for the shell), the small one
#                prints OK, and the sandbox ends normally
#   oom-score-adj the same with the hog at oom_score_adj -1000: the small one dies instead,
#                and /proc/PID/oom_score_adj rejects values outside -1000..1000
#   cpus         --cpus=1: the sandbox sees (and runs on) one CPU
#   open-files   --open-files: RLIMIT_NOFILE of the init process, EMFILE past it
#   pids-limit   a fork bomb under --pids-limit=32 gets EAGAIN, the sandbox keeps working, and
#                no process it made outlives it on the host
#   rootless     moat do as uid 65534 (setpriv): runs, in a user namespace of its own
set -u
moat=$(realpath "$1") check=$2 platform=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
bb=/bin/busybox
mdo() { "$moat" do --platform="$platform" "$@"; }

# The status fields of every thread of process $1: "Seccomp NoNewPrivs CapEff" per line.
thread_status() {
    for t in /proc/"$1"/task/*; do
        awk '/^Seccomp:/{s=$2} /^NoNewPrivs:/{n=$2} /^CapEff:/{c=$2} END{print s, n, c}' "$t/status" 2>/dev/null
    done
}

# Starts a sleeping workload; sets $pid to the sentry (moat itself).
start_workload() {
    "$moat" do --platform="$platform" "$@" -- $bb sh -c 'sleep 3' &
    pid=$!
    sleep 1
    kill -0 "$pid" 2>/dev/null || fail "the workload did not start"
}

# Every thread of sentry $1 is sealed: Seccomp 2, NoNewPrivs 1, CapEff within 0x1f, an
# empty root that is not the host's /, a mount namespace of its own. With $2 = proc (OCI),
# the root holds exactly the /proc mount point of the engine's FUSE view (fs/procfuse),
# when the host has /dev/fuse.
check_sealed() {
    local pid=$1 allowed=${2:-} st
    st=$(thread_status "$pid")
    echo "$st"
    [ -n "$st" ] || fail "no threads of $pid"
    while read -r sec nnp cap; do
        [ "$sec" = 2 ] || fail "a sentry thread has Seccomp: $sec"
        [ "$nnp" = 1 ] || fail "a sentry thread has NoNewPrivs: $nnp"
        (( (16#$cap & ~16#1f) == 0 )) || fail "a sentry thread has CapEff: $cap"
    done <<< "$st"
    root_id=$(stat -L -c '%d:%i' /proc/"$pid"/root) || fail "cannot stat the sentry's root"
    [ "$root_id" != "$(stat -c '%d:%i' /)" ] || fail "the sentry's root is the host's /"
    local entries
    entries=$(ls -A /proc/"$pid"/root)
    if [ -n "$allowed" ] && [ -e /dev/fuse ]; then
        [ "$entries" = "$allowed" ] || fail "the sentry's root holds '$entries', not just '$allowed'"
        grep -qE '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ /proc .* - fuse ' /proc/"$pid"/mountinfo ||
            fail "the sentry's /proc is not its FUSE mount: $(cat /proc/"$pid"/mountinfo)"
    else
        [ -z "$entries" ] || fail "the sentry's root is not empty: $entries"
    fi
    [ "$(readlink /proc/"$pid"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "same mount namespace as the host"
}

case "$check" in
status)
    start_workload
    check_sealed "$pid"
    [ "$(readlink /proc/"$pid"/ns/net)" != "$(readlink /proc/self/ns/net)" ] || fail "same network namespace as the host"
    wait "$pid" || fail "the workload failed: $?"
    ;;
status-host-net)
    start_workload --network=host
    check_sealed "$pid"
    [ "$(readlink /proc/"$pid"/ns/net)" = "$(readlink /proc/self/ns/net)" ] || fail "--network=host left the host's network namespace"
    wait "$pid" || fail "the workload failed: $?"
    ;;
status-oci)
    work=$(mktemp -d /tmp/moat-confine-oci.XXXXXX)
    trap '"$moat" --root "$work/state" delete --force c1 > /dev/null 2>&1; rm -rf "$work"' EXIT
    here=$(cd "$(dirname "$0")" && pwd)
    "$here/../e2e/engines/make_rootfs.sh" "$work/b/rootfs" > /dev/null || fail "make_rootfs"
    (cd "$work/b" && "$moat" spec) || fail "moat spec"
    python3 - "$work/b/config.json" <<'PY' || fail "config.json"
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["sleep", "30"]
c["process"]["terminal"] = False
json.dump(c, open(sys.argv[1], "w"))
PY
    "$moat" --root "$work/state" create --bundle "$work/b" --platform "$platform" c1 || fail "create"
    "$moat" --root "$work/state" start c1 || fail "start"
    pid=$("$moat" --root "$work/state" state c1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
    # The control socket is up once exec works: by then the sandbox is fully built.
    [ "$("$moat" --root "$work/state" exec c1 echo ok)" = ok ] || fail "exec"
    check_sealed "$pid" proc
    [ "$(readlink /proc/"$pid"/ns/net)" != "$(readlink /proc/self/ns/net)" ] || fail "same network namespace as the host"
    ;;
forbidden)
    out=$(MOAT_TEST_FORBIDDEN_SYSCALL=1 mdo -- /bin/echo reached 2>&1)
    rc=$?
    [ "$rc" = 159 ] || fail "status $rc, not 159 (SIGSYS): $out"
    case "$out" in *reached*) fail "the workload ran" ;; esac
    # Without the hook the same command runs.
    [ "$(mdo -- /bin/echo reached)" = reached ] || fail "the workload does not run at all"
    ;;
no-filter)
    start_workload --no-host-filter
    thread_status "$pid" | while read -r sec nnp cap; do
        [ "$sec" = 0 ] || fail "--no-host-filter: Seccomp: $sec"
    done || exit 1
    wait "$pid" || fail "the workload failed: $?"
    ;;
host-list)
    list=$("$moat" syscalls --host) || fail "moat syscalls --host failed"
    n=$(echo "$list" | wc -l)
    echo "$n host syscalls"
    [ "$n" -le 60 ] || fail "$n host syscalls, more than 60"
    for bad in execve execveat open_by_handle_at name_to_handle_at mount umount2 pivot_root chroot unshare setns \
        init_module finit_module kexec_load bpf perf_event_open userfaultfd io_uring_setup iopl ioperm \
        swapon reboot setuid setgid capset ptrace_attach socket connect process_vm_readv process_vm_writev; do
        echo "$list" | grep -qx "$bad" && fail "$bad is on the allowlist"
    done
    ;;
kill-all)
    sleep 30 &
    victim=$!
    mdo -- $bb sh -c 'kill -9 -1; echo survived' >/dev/null 2>&1
    kill -0 "$victim" 2>/dev/null || fail "kill(-1, SIGKILL) inside killed a host process"
    kill "$victim"
    ;;
host-state)
    host_name=$(hostname)
    before=$(date +%s)
    mdo -- $bb sh -c 'hostname pwned; date -s "2001-01-01 00:00:00"; mount -t tmpfs none /tmp; hostname' >/dev/null 2>&1
    [ "$(hostname)" = "$host_name" ] || fail "the host's hostname changed to $(hostname)"
    now=$(date +%s)
    (( now >= before && now - before < 60 )) || fail "the host's clock moved: $before -> $now"
    ;;
fds)
    out=$(mdo -- $bb ls /proc/self/fd 7</dev/null)
    [ "$(echo $out)" = "0 1 2 3" ] || [ "$(echo $out)" = "0 1 2" ] || fail "fds at start: $out"
    ;;
exe-write)
    sum=$(sha256sum < "$bb")
    mdo -- $bb sh -c 'echo pwned > /proc/self/exe; echo pwned >> /proc/$$/exe; true > /bin/busybox' >/dev/null 2>&1
    [ "$(sha256sum < "$bb")" = "$sum" ] || fail "the host's $bb changed"
    ;;
memory-limit)
    # Past the limit the process that asks is OOM-killed (SIGKILL: 137); within it, it runs,
    # and the sentry keeps serving.
    out=$(mdo --memory-limit=96M -- /usr/bin/python3 -c "b = bytearray(512 << 20); print('allocated')" 2>&1)
    rc=$?
    [ "$rc" = 137 ] || fail "over the limit: status $rc: $out"
    case "$out" in *allocated*) fail "512M allocated under a 96M limit" ;; esac
    out=$(mdo --memory-limit=96M -- /usr/bin/python3 -c "b = bytearray(16 << 20); print('ok')" 2>&1)
    [ "$out" = ok ] || fail "within the limit: $out"
    ;;
memory-huge)
    # The sentry must survive the kill and report it: the shell inside prints the status.
    out=$(mdo --memory-limit=96M -- $bb sh -c "/usr/bin/python3 -c \"
import mmap
m = mmap.mmap(-1, 1 << 40, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, 'MAP_NORESERVE', 0x4000))
print('mapped', flush=True)
for i in range(0, 512 << 20, 4096): m[i] = 1
print('touched')\"; echo status \$?" 2>&1)
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "the sandbox's shell did not survive: status $rc"
    case "$out" in *mapped*) ;; *) fail "1 TiB of address space was not granted" ;; esac
    case "$out" in *touched*) fail "512M touched under a 96M limit" ;; esac
    case "$out" in *"status 137"*) ;; *) fail "the toucher was not SIGKILLed" ;; esac
    ;;
oom-largest|oom-score-adj)
    adj=0
    [ "$check" = oom-score-adj ] && adj=-1000
    out=$(mdo --memory-limit=128M -- $bb sh -c "
/usr/bin/python3 -c \"
import time
open('/proc/self/oom_score_adj', 'w').write('$adj')
b = bytearray(80 << 20)
for i in range(0, len(b), 4096): b[i] = 1
print('hog ready', flush=True)
time.sleep(30)\" > /tmp/hog.out &
hog=\$!
for i in \$(seq 200); do grep -q ready /tmp/hog.out && break; sleep 0.1; done
cat /tmp/hog.out
echo hog oom_score \$(cat /proc/\$hog/oom_score) adj \$(cat /proc/\$hog/oom_score_adj)
/usr/bin/python3 -c \"
b = bytearray(60 << 20)
for i in range(0, len(b), 4096): b[i] = 1
print('OK')\"
echo small \$?
kill \$hog 2>/dev/null
wait \$hog
echo hog \$?
echo 1001 > /proc/self/oom_score_adj || echo rejected 1001
echo -1001 > /proc/self/oom_score_adj || echo rejected -1001
echo x > /proc/self/oom_score_adj || echo rejected x
echo ' -5' > /proc/self/oom_score_adj && echo adj \$(cat /proc/self/oom_score_adj)
" 2>&1)
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "the sandbox did not exit normally: status $rc"
    case "$out" in *"hog ready"*) ;; *) fail "the hog did not get its memory" ;; esac
    case "$out" in *"rejected 1001"*"rejected -1001"*"rejected x"*"adj -5"*) ;; *) fail "oom_score_adj accepted a bad value" ;; esac
    if [ "$check" = oom-largest ]; then
        case "$out" in *"small 0"*) ;; *) fail "the small child did not complete" ;; esac
        case "$out" in *OK*) ;; *) fail "the small child did not print OK" ;; esac
        case "$out" in *"hog 137"*) ;; *) fail "the hog was not OOM-killed" ;; esac
    else
        case "$out" in *"adj -1000"*) ;; *) fail "oom_score_adj -1000 not set" ;; esac
        case "$out" in *"small 137"*) ;; *) fail "the small child was not OOM-killed" ;; esac
        case "$out" in *OK*) fail "the small child completed" ;; esac
        case "$out" in *"hog 143"*) ;; *) fail "the protected hog did not survive to be terminated" ;; esac
    fi
    ;;
pids-limit)
    # A fork bomb that stops itself: fork until EAGAIN, report, then release the children.
    "$moat" do --platform="$platform" --pids-limit=32 -- /usr/bin/python3 -c "
import errno, os, signal, time
kids = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            time.sleep(30); os._exit(0)
        kids.append(pid)
except OSError as e:
    print('forks', len(kids), errno.errorcode[e.errno], flush=True)
time.sleep(2)  # for the outside to list them
for pid in kids: os.kill(pid, signal.SIGKILL)
for pid in kids: os.waitpid(pid, 0)
print('after', os.fork() and 'parent' or os._exit(0), flush=True)" > "$PWD/pids-limit.$$.out" 2>&1 &
    sentry=$!
    for _ in $(seq 100); do grep -q '^forks' "$PWD/pids-limit.$$.out" 2>/dev/null && break; sleep 0.2; done
    # Every host process below the sentry, while the bomb is at its limit.
    descendants() {
        local all=$(ps -e -o pid=,ppid=) queue=$1 found=
        while [ -n "$queue" ]; do
            set -- $queue; local p=$1; shift; queue="$*"
            for c in $(echo "$all" | awk -v p="$p" '$2 == p {print $1}'); do found="$found $c"; queue="$queue $c"; done
        done
        echo $found
    }
    during=$(descendants "$sentry")
    wait "$sentry"
    rc=$?
    out=$(cat "$PWD/pids-limit.$$.out"); rm -f "$PWD/pids-limit.$$.out"
    echo "$out"
    [ "$rc" = 0 ] || fail "status $rc"
    case "$out" in *"forks "*" EAGAIN"*) ;; *) fail "no EAGAIN from the fork bomb" ;; esac
    n=$(echo "$out" | awk '/^forks/{print $2}')
    (( n > 0 && n < 32 )) || fail "$n forks under --pids-limit=32"
    case "$out" in *"after parent"*) ;; *) fail "the sandbox did not fork again after the bomb" ;; esac
    sleep 0.5
    for p in $during; do
        kill -0 "$p" 2>/dev/null && fail "host process $p from the sandbox outlived it: $(cat /proc/$p/cmdline | tr '\0' ' ')"
    done
    ;;
cpus)
    [ "$(mdo --cpus=1 -- /usr/bin/nproc)" = 1 ] || fail "nproc under --cpus=1: $(mdo --cpus=1 -- /usr/bin/nproc)"
    [ "$(mdo -- /usr/bin/nproc)" = "$(nproc)" ] || fail "nproc without --cpus differs from the host's"
    ;;
open-files)
    [ "$(mdo --open-files=40 -- $bb sh -c 'ulimit -n')" = 40 ] || fail "ulimit -n is not 40"
    out=$(mdo --open-files=40 -- /usr/bin/python3 -c "
import errno, os
fds = []
try:
    while True: fds.append(os.open('/dev/null', os.O_RDONLY))
except OSError as e:
    print(len(fds) + 3, errno.errorcode[e.errno])")
    [ "$out" = "40 EMFILE" ] || fail "fd exhaustion: $out"
    ;;
rootless)
    command -v setpriv >/dev/null || { echo "skip: no setpriv"; exit 0; }
    out=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$moat" do --platform="$platform" -- $bb sh -c 'echo in; id -u' 2>&1)
    # The sandbox's identity is its own (root inside), whoever runs moat.
    [ "$out" = "$(printf 'in\n0')" ] || fail "rootless: $out"
    ;;
*)
    fail "unknown check $check"
    ;;
esac
echo "ok: $check"
