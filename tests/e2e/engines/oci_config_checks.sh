#!/bin/bash
# oci_config_checks.sh MOAT CHECK PLATFORM: the config.json fields Moat enforces (issue #8),
# each checked from inside a container whose bundle sets it. Each CHECK prints what failed and
# exits 1.
set -u
moat=$(realpath "$1") check=$2 platform=$3
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL ($check): $*" >&2; exit 1; }
source "$here/lib.sh"
oci_workspace moat-ociconf

# bundle PYTHON ARGS...: a bundle in $work/b running ARGS, its config edited by PYTHON (on `c`).
bundle() {
  local edit=$1
  shift
  rm -rf "$work/b"
  "$here/make_rootfs.sh" "$work/b/rootfs"
  for applet in chown touch grep stty umask httpd mkdir; do ln -sf busybox "$work/b/rootfs/bin/$applet"; done
  (cd "$work/b" && "$moat" spec) || fail "moat spec"
  python3 - "$work/b/config.json" "$edit" "$@" <<'PY'
import json, sys
path, edit, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = args
c["root"]["readonly"] = False
exec(edit)
json.dump(c, open(path, "w"), indent=1)
PY
}

# run ID: runs the bundle, its output in $out, its exit status in $rc.
run() { out=$(cd "$work/b" && M run --platform "$platform" "$1" 2>&1); rc=$?; }

case $check in
user)
  bundle 'c["process"]["user"] = {"uid": 1000, "gid": 100, "additionalGids": [10, 20], "umask": 63}' \
    sh -c 'id -u; id -g; grep -E "^(Uid|Gid|Groups|Umask):" /proc/self/status; umask'
  run u1
  [ "$rc" = 0 ] || fail "run: $rc: $out"
  want=$(printf '1000\n100\nUmask:\t0077\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nGroups:\t10 20 \n0077')
  [ "$out" = "$want" ] || fail "got '$out', want '$want'"
  ;;
rlimits)
  bundle 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 456, "soft": 123}]' \
    sh -c 'ulimit -n; ulimit -Hn; grep "Max open files" /proc/self/limits'
  run r1
  [ "$rc" = 0 ] || fail "run: $rc: $out"
  echo "$out" | head -2 | tr '\n' ' ' | grep -qx '123 456 ' || fail "ulimit -n / -Hn: $out"
  echo "$out" | grep -Eq 'Max open files +123 +456 +files' || fail "/proc/self/limits: $out"
  ;;
rlimit-invalid)
  bundle 'c["process"]["rlimits"] = [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]' true
  M create --bundle "$work/b" --platform "$platform" bad > "$work/out" 2> "$work/err" && fail "create with an invalid rlimit type succeeded"
  [ "$(wc -l < "$work/err")" = 1 ] || fail "want one error line, got: $(cat "$work/err")"
  grep -q RLIMIT_BOGUS "$work/err" || fail "the error does not name the type: $(cat "$work/err")"
  M state bad 2>/dev/null && fail "a failed create left its state behind"
  ;;
capabilities)
  # Root with CAP_KILL and CAP_NET_BIND_SERVICE only, no_new_privs.
  bundle 'caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
c["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
c["process"]["noNewPrivileges"] = True' \
    sh -c 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status
touch /tmp/f; chown 1 /tmp/f 2>/dev/null && echo chown-ok || echo chown-denied
httpd -p 127.0.0.1:80 -h /tmp 2>/dev/null && echo bind80-ok || echo bind80-denied'
  run c1
  want=$(printf 'CapInh:\t0000000000000000\nCapPrm:\t0000000000000420\nCapEff:\t0000000000000420\nCapBnd:\t0000000000000420\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nchown-denied\nbind80-ok')
  [ "$out" = "$want" ] || fail "got '$out', want '$want'"
  # Without CAP_NET_BIND_SERVICE: no port below 1024; without capabilities listed: all of them.
  bundle 'c["process"]["capabilities"] = {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")}' \
    sh -c 'httpd -p 127.0.0.1:81 -h /tmp 2>/dev/null && echo bind81-ok || echo bind81-denied
httpd -p 127.0.0.1:8081 -h /tmp 2>/dev/null && echo bind8081-ok || echo bind8081-denied'
  run c2
  [ "$out" = "$(printf 'bind81-denied\nbind8081-ok')" ] || fail "binds without CAP_NET_BIND_SERVICE: $out"
  bundle 'c["process"].pop("capabilities", None)' sh -c 'grep CapEff /proc/self/status; touch /tmp/f; chown 1 /tmp/f && echo chown-ok'
  run c3
  [ "$out" = "$(printf 'CapEff:\t000001ffffffffff\nchown-ok')" ] || fail "default capabilities: $out"
  ;;
masked-readonly)
  bundle 'c["linux"]["maskedPaths"] = ["/etc/secret", "/etc/secretdir", "/proc/kcore", "/no/such/path"]
c["linux"]["readonlyPaths"] = ["/data", "/proc/sys"]' \
    sh -c 'echo "[$(cat /etc/secret)]"; ls -A /etc/secretdir | wc -l
touch /etc/secretdir/x 2>/dev/null && echo masked-writable || echo masked-ro
cat /data/kept; touch /data/new 2>/dev/null && echo data-writable || echo data-ro
touch /tmp/new && echo tmp-writable'
  echo secret > "$work/b/rootfs/etc/secret"
  mkdir -p "$work/b/rootfs/etc/secretdir" "$work/b/rootfs/data"
  echo hidden > "$work/b/rootfs/etc/secretdir/file"
  echo kept > "$work/b/rootfs/data/kept"
  run m1
  [ "$rc" = 0 ] || fail "run: $rc: $out"
  want=$(printf '[]\n0\nmasked-ro\nkept\ndata-ro\ntmp-writable')
  [ "$out" = "$want" ] || fail "got '$out', want '$want'"
  ;;
readonly-root)
  bundle 'c["root"]["readonly"] = True' \
    sh -c 'touch /newfile 2>/dev/null && echo root-writable || echo root-ro; touch /dev/shm/x && echo shm-writable'
  run o1
  [ "$out" = "$(printf 'root-ro\nshm-writable')" ] || fail "got '$out'"
  ;;
resources)
  bundle 'c["linux"].setdefault("resources", {})["memory"] = {"limit": 268435456}
c["linux"]["resources"]["cpu"] = {"quota": 50000, "period": 100000}' \
    sh -c 'grep MemTotal /proc/meminfo; grep -c ^processor /proc/cpuinfo'
  run s1
  [ "$rc" = 0 ] || fail "run: $rc: $out"
  echo "$out" | grep -Eq '^MemTotal: +262144 kB$' || fail "memory.limit: $out"
  [ "$(echo "$out" | tail -1)" = 1 ] || fail "cpu quota/period: $out"
  ;;
console-size)
  bundle 'c["process"]["terminal"] = True
c["process"]["consoleSize"] = {"height": 40, "width": 120}' stty size
  python3 - "$work/sock" "$work/tty" <<'PY' &
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(30)
c, _ = s.accept()
_, anc, _, _ = c.recvmsg(1024, socket.CMSG_LEN(4))
fd = array.array("i", anc[0][2][:4])[0]
out = b""
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
open(sys.argv[2], "wb").write(out)
PY
  receiver=$!
  for _ in $(seq 50); do [ -S "$work/sock" ] && break; sleep 0.1; done
  M create --bundle "$work/b" --console-socket "$work/sock" --platform "$platform" t1 || fail create
  M start t1 || fail start
  wait "$receiver"
  tr -d '\r' < "$work/tty" | grep -qx '40 120' || fail "stty size in the container: $(cat -v "$work/tty")"
  ;;
*)
  fail "unknown check"
  ;;
esac
exit 0
