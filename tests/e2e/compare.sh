#!/bin/bash
# Runs a command natively and under `moat do`, and compares what the two runs did.
#
#   compare.sh --moat PATH [--platform P] [--no-stderr] [--expect-status N] [--stdin FILE] -- CMD ARGS...
#
# Both runs get the same environment (minus `_`, which bash sets to the path of whatever it
# executes and so would differ), the same working directory, and stdin from FILE (default
# /dev/null). Compared: exit status, stdout, and stderr unless --no-stderr. With --expect-status,
# the native status must also be N, so a broken host setup cannot make the test pass vacuously.
# Exit 0 when everything matches; otherwise prints the differences and exits 1.
set -u
moat= platform=ptrace compare_stderr=1 expect= stdin=/dev/null
usage() { echo "usage: compare.sh --moat PATH [--platform P] [--no-stderr] [--expect-status N] [--stdin FILE] -- CMD ARGS..." >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --moat) moat=$2; shift 2 ;;
    --platform) platform=$2; shift 2 ;;
    --no-stderr) compare_stderr=0; shift ;;
    --expect-status) expect=$2; shift 2 ;;
    --stdin) stdin=$2; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[[ -n $moat && $# -gt 0 ]] || usage

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0

env -u _ "$@" <"$stdin" >"$tmp/native.out" 2>"$tmp/native.err"
native=$?
env -u _ "$moat" do --platform="$platform" -- "$@" <"$stdin" >"$tmp/moat.out" 2>"$tmp/moat.err"
status=$?

fail=0
echo "command: $*"
echo "native status $native, moat (--platform=$platform) status $status"
if [[ -n $expect && $native != "$expect" ]]; then
  echo "FAIL: native status $native, expected $expect (host problem, not a Moat one)"
  fail=1
fi
if [[ $status != "$native" ]]; then
  echo "FAIL: exit status differs"
  fail=1
fi
if ! cmp -s "$tmp/native.out" "$tmp/moat.out"; then
  echo "FAIL: stdout differs:"
  diff -u --label native.stdout "$tmp/native.out" --label moat.stdout "$tmp/moat.out" | head -n 200
  fail=1
fi
if [[ $compare_stderr == 1 ]] && ! cmp -s "$tmp/native.err" "$tmp/moat.err"; then
  echo "FAIL: stderr differs:"
  diff -u --label native.stderr "$tmp/native.err" --label moat.stderr "$tmp/moat.err" | head -n 200
  fail=1
fi
if [[ $fail != 0 && $compare_stderr == 0 ]]; then
  echo "--- moat stderr:"; head -n 100 "$tmp/moat.err"
fi
[[ $fail == 0 ]] && echo "ok: same status, stdout$([[ $compare_stderr == 1 ]] && echo ', stderr')"
exit $fail
