#!/usr/bin/env bash
# The sandbox's loopback is its own (--network=none; no passthrough): a TCP listener on the
# host's 127.0.0.1 is not reachable from inside, and one inside is not reachable from the host.
#   net_isolation.sh MOAT PLATFORM
set -u
moat=$1 platform=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d "$PWD/moat-net-XXXXXX")
# Our own running jobs only (jobs -pr): a saved pid of one that already ended may be reused.
trap 'kill $(jobs -pr) 2>/dev/null; rm -rf "$work"' EXIT
host_pid= inner_pid=

# A host listener; the sandbox must not reach it.
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True: s.accept()[0].close()
' "$work/host_port" & host_pid=$!
for _ in $(seq 50); do [ -s "$work/host_port" ] && break; sleep 0.1; done
host_port=$(cat "$work/host_port") || fail "host listener did not start"
python3 -c "import socket; socket.create_connection(('127.0.0.1', $host_port), timeout=5).close()" ||
    fail "the host listener is not reachable from the host"
out=$("$moat" do --platform="$platform" -- /usr/bin/python3 -c "
import socket
try:
    socket.create_connection(('127.0.0.1', $host_port), timeout=5); print('reached')
except ConnectionRefusedError: print('refused')
" 2>&1)
[ "$out" = refused ] || fail "inside, connecting to the host's listener gave: $out"

# A listener inside; the host must not reach it.
"$moat" do --platform="$platform" -- /usr/bin/python3 -c "
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(3)
" > "$work/inner_port" & inner_pid=$!
for _ in $(seq 50); do [ -s "$work/inner_port" ] && break; sleep 0.1; done
inner_port=$(cat "$work/inner_port")
[ -n "$inner_port" ] || fail "the sandboxed listener did not start"
python3 -c "
import socket, sys
try:
    socket.create_connection(('127.0.0.1', $inner_port), timeout=5); sys.exit(1)
except ConnectionRefusedError: pass
" || fail "the host reached the sandbox's listener on port $inner_port"
echo ok
