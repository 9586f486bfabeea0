#!/bin/bash
# Checks of the `moat` command line itself (no native counterpart to compare with).
#
#   cli_checks.sh MOAT CHECK [PLATFORM]
#
#   strace         `moat do --strace -- /bin/true`: exit 0, nothing on stdout, stderr has strace
#                  lines `name(args) = result` and ends the process with `exit_group(0)`
#   syscalls       `moat syscalls`: at least 300 lines, among them read and openat
#   no-command     `moat do` with no command: non-zero exit, exactly one line on stderr
#   nonexistent    `moat do -- /nonexistent`: exit 127, exactly one line on stderr naming the path
#   bogus-flag     `moat --bogus-flag`: non-zero exit, exactly one line on stderr
set -u
[[ $# -ge 2 ]] || { echo "usage: cli_checks.sh MOAT CHECK [PLATFORM]" >&2; exit 2; }
moat=$1 check=$2 platform=${3:-ptrace}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

run() { # run ARGS... : status in $status, output in $tmp/out, $tmp/err
  "$moat" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  status=$?
  echo "\$ moat $* -> status $status"
}
fail() {
  echo "FAIL: $*"
  echo "--- stdout (first 50 lines):"; head -n 50 "$tmp/out"
  echo "--- stderr (first 50 lines):"; head -n 50 "$tmp/err"
  exit 1
}
lines() { grep -c '' "$1"; }

case $check in
  strace)
    run do --platform="$platform" --strace -- /bin/true
    [[ $status == 0 ]] || fail "status $status, want 0"
    [[ ! -s $tmp/out ]] || fail "stdout not empty"
    n=$(grep -cE '^[a-z_0-9]+\(.*\) = ' "$tmp/err")
    [[ $n -ge 3 ]] || fail "$n strace lines like 'name(args) = result', want at least 3"
    grep -qE '^exit_group\(0\)' "$tmp/err" || fail "no exit_group(0) line"
    grep -qE '^execve\(' "$tmp/err" && echo "note: execve is traced"
    echo "ok: $n strace lines, exit_group(0) present"
    ;;
  syscalls)
    run syscalls
    [[ $status == 0 ]] || fail "status $status, want 0"
    n=$(lines "$tmp/out")
    [[ $n -ge 300 ]] || fail "$n lines, want at least 300"
    grep -qw read "$tmp/out" || fail "no line names read"
    grep -qw openat "$tmp/out" || fail "no line names openat"
    echo "ok: $n lines"
    ;;
  no-command)
    run do --platform="$platform"
    [[ $status != 0 ]] || fail "status 0, want non-zero"
    [[ $(lines "$tmp/err") == 1 ]] || fail "want exactly one line on stderr"
    echo "ok"
    ;;
  nonexistent)
    run do --platform="$platform" -- /nonexistent
    [[ $status == 127 ]] || fail "status $status, want 127"
    [[ $(lines "$tmp/err") == 1 ]] || fail "want exactly one line on stderr"
    grep -q /nonexistent "$tmp/err" || fail "the line does not name /nonexistent"
    echo "ok"
    ;;
  bogus-flag)
    run --bogus-flag
    [[ $status != 0 ]] || fail "status 0, want non-zero"
    [[ $(lines "$tmp/err") == 1 ]] || fail "want exactly one line on stderr"
    echo "ok"
    ;;
  *) echo "cli_checks.sh: unknown check $check" >&2; exit 2 ;;
esac
