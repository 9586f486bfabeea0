#!/bin/bash
# Runs one `exit` conformance case.
#   run_exit_case.sh --expect STATUS [--moat MOAT --platform P] -- CMD ARGS...
# Natively: CMD's status (as a shell reports it: 128+N when killed by signal N) must be STATUS.
# With --moat: the native run must still give STATUS (else the harness is wrong), and
# `MOAT do --platform=P -- CMD ARGS` must exit with the same status and print the same stdout.
set -u
expect= moat= platform=ptrace
while [[ $# -gt 0 ]]; do
  case $1 in
    --expect) expect=$2; shift 2 ;;
    --moat) moat=$2; shift 2 ;;
    --platform) platform=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_exit_case.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $expect && $# -gt 0 ]] || { echo "usage: run_exit_case.sh --expect N [--moat M --platform P] -- CMD..." >&2; exit 2; }

ulimit -c 0
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# The child runs in a subshell whose stderr is captured, so bash's "Segmentation fault" notice
# lands in the log rather than interleaving with the test output.
run() { # run OUTPREFIX CMD...
  local prefix=$1; shift
  ( "$@" ) >"$tmp/$prefix.out" 2>"$tmp/$prefix.err" </dev/null
}

run native "$@"; native=$?
if [[ $native != "$expect" ]]; then
  echo "FAIL: native status $native, expected $expect: $*"
  echo "--- native stderr:"; cat "$tmp/native.err"
  exit 1
fi
if [[ -z $moat ]]; then
  echo "ok: native status $native: $*"
  exit 0
fi

run moat "$moat" do --platform="$platform" -- "$@"; status=$?
fail=0
if [[ $status != "$native" ]]; then
  echo "FAIL: moat status $status, native status $native: $*"
  fail=1
fi
if ! cmp -s "$tmp/native.out" "$tmp/moat.out"; then
  echo "FAIL: stdout differs (native vs moat):"
  diff -u --label native "$tmp/native.out" --label moat "$tmp/moat.out"
  fail=1
fi
if [[ $fail != 0 ]]; then
  echo "--- moat stderr:"; cat "$tmp/moat.err"
  exit 1
fi
echo "ok: moat --platform=$platform status $status == native: $*"
