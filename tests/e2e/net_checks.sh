#!/usr/bin/env bash
# The sandbox's network as programs see it, compared with a fresh network namespace of the
# host (`unshare -rn`, lo brought up) — what --network=none stands for:
#   net_checks.sh MOAT CHECK PLATFORM
#   ip         iproute2's ip addr / link / route / rule views print the same
#   proc-net   /proc/net/{dev,if_inet6,route,tcp,tcp6,udp,udp6} read the same
#   hostname   the sandbox's hostname is its own: sethostname inside leaves the host's alone
#   host-fetch a python3 http.server on the host's loopback: --network=host fetches its page
#              (urllib, DNS for "localhost" through the host's resolver files); the default
#              mode cannot reach it
#   host-ip    under --network=host, ip addr / link / route print what they print on the host
#   host-dns   the host's resolver configuration answers the same under --network=host: a
#              lookup of a name that does not exist fails with the same error as natively
#              (EAI_NONAME when the host's name server answers), the hosts file still works
#   host-sockets data/host_sockets.py prints the same natively and under --network=host; a
#              privileged port is EACCES there (the sandbox holds no host capability)
set -u
moat=$1 check=$2 platform=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v ip >/dev/null || fail "iproute2 is not installed (make deps)"
unshare -rn true 2>/dev/null || fail "unshare -rn does not work here: no native twin to compare with"

compare() {  # compare CMD: the same stdout and status in the sandbox and in a fresh netns
    local native sandbox ns ss
    native=$(unshare -rn sh -c "ip link set lo up && $1" 2>&1); ns=$?
    sandbox=$("$moat" do --platform="$platform" -- /bin/sh -c "$1" 2>&1); ss=$?
    [ "$ns" = 0 ] || fail "natively '$1' failed ($ns): $native"
    [ "$ss" = "$ns" ] || fail "'$1': status $ss under moat, $ns natively: $sandbox"
    [ "$sandbox" = "$native" ] || fail "'$1' differs:
$(diff <(echo "$native") <(echo "$sandbox"))"
}

case "$check" in
ip)
    for cmd in "ip addr" "ip link" "ip -d link" "ip -s link" "ip route" "ip -6 route" "ip route show table all" \
        "ip rule" "ip -6 rule" "ip -j addr" "ip -br addr" "ip neigh" "ip addr show dev lo" "ip link show lo" \
        "ip route get 127.0.0.5" "ip route get 127.255.255.255" "ip route get 0.0.0.0" "ip route get ::1"; do
        compare "$cmd"
    done
    # A missing device is an error with the same message.
    compare "ip link show nosuchif0; echo status \$?"
    ;;
proc-net)
    for f in dev if_inet6 route tcp tcp6 udp udp6; do compare "cat /proc/net/$f"; done
    ;;
hostname)
    before=$(hostname)
    out=$("$moat" do --platform="$platform" -- /bin/sh -c 'hostname; hostname moat-e2e-renamed && hostname' 2>&1) ||
        fail "hostname in the sandbox failed: $out"
    [ "$out" = "moat
moat-e2e-renamed" ] || fail "unexpected names: $out"
    [ "$(hostname)" = "$before" ] || fail "the host's hostname changed to $(hostname)"
    ;;
host-fetch)
    dir=$(mktemp -d)
    trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
    echo "served by the host $$" >"$dir/page.txt"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
        sleep 0.05
    done
    fetch="import urllib.request; print(urllib.request.urlopen('http://localhost:$port/page.txt', timeout=10).read().decode(), end='')"
    out=$("$moat" do --platform="$platform" --network=host -- /usr/bin/python3 -c "$fetch" 2>&1) ||
        fail "--network=host fetch failed: $out"
    [ "$out" = "served by the host $$" ] || fail "--network=host fetched: $out"
    if out=$("$moat" do --platform="$platform" -- /usr/bin/python3 -c "$fetch" 2>&1); then
        fail "the default mode reached the host's server: $out"
    fi
    case "$out" in
    *"Connection refused"* | *"Network is unreachable"* | *"Address family not supported"*) ;;
    *) fail "the default mode failed the wrong way: $out" ;;
    esac
    ;;
host-ip)
    for cmd in "ip addr" "ip link" "ip route" "ip -br addr"; do
        native=$(sh -c "$cmd" 2>&1)
        sandbox=$("$moat" do --platform="$platform" --network=host -- /bin/sh -c "$cmd" 2>&1)
        [ "$sandbox" = "$native" ] || fail "'$cmd' differs from the host's:
$(diff <(echo "$native") <(echo "$sandbox"))"
    done
    ;;
host-dns)
    lookup='import socket
for name in ("localhost", "moat-e2e-no-such-name.invalid"):
    try: print(name, socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4])
    except socket.gaierror as e: print(name, "gaierror", e.errno)'
    native=$(python3 -c "$lookup" 2>&1)
    sandbox=$("$moat" do --platform="$platform" --network=host -- /usr/bin/python3 -c "$lookup" 2>&1)
    [ "$sandbox" = "$native" ] || fail "lookups differ:
$(diff <(echo "$native") <(echo "$sandbox"))"
    ;;
host-sockets)
    script=$(dirname "$0")/data/host_sockets.py
    native=$(python3 "$script" 2>&1) || fail "natively: $native"
    sandbox=$("$moat" do --platform="$platform" --network=host -- /usr/bin/python3 "$script" 2>&1) ||
        fail "under moat: $sandbox"
    [ "$sandbox" = "$native" ] || fail "output differs:
$(diff <(echo "$native") <(echo "$sandbox"))"
    out=$("$moat" do --platform="$platform" --network=host -- /usr/bin/python3 -c '
import socket, errno
try: socket.socket().bind(("127.0.0.1", 80)); print("bound")
except OSError as e: print(errno.errorcode[e.errno])' 2>&1)
    [ "$out" = EACCES ] || fail "binding port 80 under --network=host: $out"
    ;;
*) fail "unknown check $check" ;;
esac
