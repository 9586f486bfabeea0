#!/usr/bin/env bash
# Checks of `moat do` behaviour that has no native twin to compare with:
#   sandbox_checks.sh MOAT CHECK PLATFORM
#   forward-term   SIGTERM sent to moat reaches PID 1's trap; moat exits with PID 1's status.
#   forward-int    SIGINT sent to moat kills a PID 1 without a handler: status 130.
#   pids-limit     a fork bomb under --pids-limit=20 gets EAGAIN and the sentry keeps serving.
set -u
moat=$1 check=$2 platform=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

case "$check" in
forward-term | forward-int)
    out=$(mktemp)
    if [ "$check" = forward-term ]; then
        "$moat" do --platform="$platform" -- /bin/sh -c 'trap "echo got-term; exit 5" TERM; echo ready; while :; do sleep 0.05; done' >"$out" 2>&1 &
        sig=TERM want=5
    else
        "$moat" do --platform="$platform" -- /bin/sleep 30 >"$out" 2>&1 &
        sig=INT want=130
    fi
    pid=$!
    # Wait until the sandbox is up (the shell printed "ready", or sleep is running).
    for _ in $(seq 100); do
        { [ "$check" = forward-int ] || grep -q ready "$out"; } && break
        sleep 0.05
    done
    sleep 0.3
    kill -"$sig" "$pid"
    wait "$pid"
    status=$?
    [ "$status" = "$want" ] || fail "status $status, want $want; output: $(cat "$out")"
    if [ "$check" = forward-term ]; then grep -q got-term "$out" || fail "the trap did not run: $(cat "$out")"; fi
    rm -f "$out"
    ;;
pids-limit)
    script='
import os, sys
r, w = os.pipe()
kids = []
err = None
for i in range(100):
    try:
        pid = os.fork()
    except OSError as e:
        err = e.errno
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    kids.append(pid)
os.close(w)
for k in kids:
    os.waitpid(k, 0)
import errno
print("forked", len(kids), "then", errno.errorcode.get(err, err))
pid = os.fork()
if pid == 0:
    os._exit(3)
print("after:", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
'
    out=$("$moat" do --platform="$platform" --pids-limit=20 -- /usr/bin/python3 -c "$script" 2>&1) || fail "exit $?: $out"
    echo "$out"
    echo "$out" | grep -Eq '^forked 1[0-9] then EAGAIN$' || fail "no EAGAIN within the limit: $out"
    echo "$out" | grep -q '^after: 3$' || fail "the sandbox stopped serving forks: $out"
    ;;
*)
    fail "unknown check $check"
    ;;
esac
echo "ok: $check"
