#!/bin/sh
# Prints the *form* of what common tools read from /proc and /sys, with the values that
# legitimately differ between the host and the sandbox (pids, times, CPU counts, host file
# names) reduced to relations, so that compare.sh can diff native against moat.
#   proc_forms.sh ps | status | fd | cpus
set -u
case "$1" in
ps)
    # busybox ps: the header, and ps's own line without pid and time.
    busybox ps | awk 'NR == 1 { print } $3 == "busybox" && $4 == "ps" { print $2, $3, $4 }'
    ;;
status)
    # cat /proc/self/status: the fields tools use, pids as relations to the shell.
    cat /proc/self/status | awk -v ppid="$$" -F':\t' '
        $1 == "Name" || $1 == "State" || $1 == "Uid" || $1 == "Gid" || $1 == "Threads" || $1 == "Umask" { print }
        $1 == "Pid" { pid = $2 } $1 == "Tgid" { tgid = $2 }
        $1 == "PPid" { print "PPid is the shell:", ($2 == ppid) }
        END { print "Pid == Tgid:", (pid == tgid), "Pid > 0:", (pid > 0) }'
    grep -c '^VmRSS:.* kB$' /proc/self/status
    ;;
fd)
    # ls -l /proc/self/fd: modes and names of stdio and of ls's own directory fd (the test
    # runner may leak other fds natively; the sandbox starts with 0-2 only).
    ls -l /proc/self/fd/ | awk 'NR == 1 { print; next }
        $9 < 3 { print $1, $9, $10, "(stdio)" }
        $11 ~ /^\/proc\// { t = $11; sub(/[0-9]+/, "PID", t); print $1, "N", $10, t }'
    ;;
cpus)
    # os.cpu_count() and friends agree with each other and with /sys.
    /usr/bin/python3 -c '
import os, multiprocessing
n = os.cpu_count()
online = open("/sys/devices/system/cpu/online").read().strip()
last = int(online.split("-")[-1].split(",")[-1])
print(type(n).__name__, n > 0, n == multiprocessing.cpu_count(), n == os.sysconf("SC_NPROCESSORS_ONLN"), n == last + 1)
print(sum(1 for l in open("/proc/cpuinfo") if l.startswith("processor")) == n)
'
    test "$(nproc)" -le "$(getconf _NPROCESSORS_ONLN)" && echo "nproc <= online"
    ;;
*)
    echo "usage: proc_forms.sh ps|status|fd|cpus" >&2
    exit 2
    ;;
esac
