#!/usr/bin/env bash
# Runs a conformance suite under moat with its temporary files on a writable host bind
# (TMPDIR inside a --bind of a fresh host directory), so the file suites check the host
# filesystem's changes as they check tmpfs's.
#   in_bind.sh MOAT PLATFORM SUITE_BINARY [GTEST ARGS...]
set -u
moat=$1 platform=$2
shift 2
# Not under /tmp: the sandbox has its own /tmp.
dir=$(mktemp -d "$PWD/moat-in-bind-XXXXXX")
trap 'rm -rf "$dir"' EXIT
# World-searchable like /tmp: the suites check unprivileged callers too.
chmod 755 "$dir"
TMPDIR=$dir "$moat" do --platform="$platform" --bind "$dir:$dir" -- "$@"
