#!/bin/bash
# oci_checks.sh MOAT CHECK PLATFORM: Moat as an OCI runtime, driven the way engines and the
# OCI runtime-tools validation suite drive runc. Each CHECK prints what failed and exits 1.
set -u
moat=$(realpath "$1") check=$2 platform=$3
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL ($check): $*" >&2; exit 1; }
source "$here/lib.sh"
oci_workspace moat-oci

bundle() {  # bundle ARGS...: a bundle in $work/b with process.args ARGS
  "$here/make_rootfs.sh" "$work/b/rootfs"
  (cd "$work/b" && "$moat" spec) || fail "moat spec"
  python3 - "$work/b/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = args
c["hostname"] = "box"
json.dump(c, open(path, "w"), indent=1)
PY
}

# running ID: a container ID from the bundle, started, with `moat exec` answering.
running() {
  M create --bundle "$work/b" --platform "$platform" "$1" || fail "create $1"
  M start "$1" || fail "start $1"
  M exec "$1" true || fail "exec in $1"
}

status_of() { M state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

case $check in
lifecycle)
  # runtime-tools' order: create, state, kill while created, start, state, kill by name, state, delete.
  bundle sh -c 'echo started; sleep 30'
  M create --bundle "$work/b" --pid-file "$work/pid" --platform "$platform" c1 > "$work/out" 2>&1 || fail "create: $(cat "$work/out")"
  pid=$(cat "$work/pid")
  kill -0 "$pid" || fail "the pid in --pid-file ($pid) is not a live process"
  [ "$(status_of c1)" = created ] || fail "status after create: $(status_of c1)"
  M state c1 | python3 -c '
import json, sys
s = json.load(sys.stdin)
for k in ("ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner", "annotations"):
    assert k in s, k
assert s["id"] == "c1" and s["pid"] > 0' || fail "state JSON lacks runc's fields"
  M kill c1 WINCH || fail "kill in the created state"
  [ "$(status_of c1)" = created ] || fail "a harmless signal changed the created container"
  M start c1 || fail "start"
  for _ in $(seq 50); do grep -q started "$work/out" && break; sleep 0.1; done
  grep -q started "$work/out" || fail "the process did not run after start"
  [ "$(status_of c1)" = running ] || fail "status after start: $(status_of c1)"
  M start c1 2>/dev/null && fail "a second start succeeded"
  M delete c1 2>/dev/null && fail "delete of a running container without --force succeeded"
  M kill c1 KILL || fail "kill by name"
  for _ in $(seq 100); do [ "$(status_of c1)" = stopped ] && break; sleep 0.05; done
  [ "$(status_of c1)" = stopped ] || fail "status after kill: $(status_of c1)"
  kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" != Z ] && fail "the container process outlived the container"
  M delete c1 || fail "delete"
  M state c1 2>/dev/null && fail "state of a deleted container succeeded"
  M delete --force c1 || fail "delete --force of an unknown id must succeed"
  ;;
run-exit)
  bundle sh -c 'echo "$(hostname) $(pwd)"; exit 3'
  out=$(cd "$work/b" && M run --platform "$platform" r1)
  rc=$?
  [ "$rc" = 3 ] || fail "run exit status $rc, want 3"
  [ "$out" = "box /" ] || fail "output '$out', want 'box /'"
  M state r1 2>/dev/null && fail "run left its state behind"
  ;;
kill-created)
  bundle sleep 30
  M create --bundle "$work/b" --platform "$platform" k1 || fail create
  M kill k1 SIGKILL || fail "kill SIGKILL in the created state"
  for _ in $(seq 100); do [ "$(status_of k1)" = stopped ] && break; sleep 0.05; done
  [ "$(status_of k1)" = stopped ] || fail "still $(status_of k1)"
  M delete k1 || fail delete
  ;;
errors)
  M state nosuch 2>/dev/null && fail "state of an unknown id succeeded"
  M kill nosuch 9 2>/dev/null && fail "kill of an unknown id succeeded"
  M --log "$work/log" --log-format json create --bundle /nonexistent x 2>/dev/null && fail "create with a missing bundle succeeded"
  python3 -c 'import json,sys; l = json.loads(open(sys.argv[1]).readline()); assert l["level"] == "error" and l["msg"]' "$work/log" \
    || fail "no JSON error line with msg in --log"
  bundle true
  M create --bundle "$work/b" e1 || fail create
  M create --bundle "$work/b" e1 2>/dev/null && fail "a second create with the same id succeeded"
  M kill e1 NOTASIGNAL 2>/dev/null && fail "kill with a bad signal name succeeded"
  M delete --force e1 || fail "delete --force of a created container"
  ;;
ps-list)
  bundle sleep 30
  M create --bundle "$work/b" --pid-file "$work/pid" p1 || fail create
  M start p1 || fail start
  M ps --format json p1 | python3 -c 'import json,sys; p = json.load(sys.stdin); assert int(sys.argv[1]) in p, p' "$(cat "$work/pid")" \
    || fail "ps --format json lacks the host pid"
  M list -q | grep -qx p1 || fail "list -q"
  M list --format json | grep -q '"p1"' || fail "list --format json"
  M pause p1 || fail pause
  [ "$(status_of p1)" = paused ] || fail "status after pause: $(status_of p1)"
  M resume p1 || fail resume
  [ "$(status_of p1)" = running ] || fail "status after resume"
  M events --stats p1 | grep -q '"type":"stats"' || fail "events --stats"
  M features | python3 -c 'import json,sys; json.load(sys.stdin)' || fail "features is not JSON"
  M delete --force p1 || fail "delete --force"
  ;;
exec)
  bundle sleep 30
  M create --bundle "$work/b" x1 || fail create
  M start x1 || fail start
  out=$(M exec x1 sh -c 'echo "in $(hostname) $(pwd)"') || fail "exec failed: $out"
  [ "$out" = "in box /" ] || fail "exec output '$out'"
  M exec x1 sh -c 'exit 5' 2> "$work/exec5.err"
  rc=$?; [ $rc = 5 ] || fail "exec exit status $rc: $(cat "$work/exec5.err")"
  out=$(M exec --cwd /tmp -e FOO=bar x1 -- sh -c 'echo $FOO $(pwd)')
  [ "$out" = "bar /tmp" ] || fail "exec --cwd/-e output '$out'"
  M exec --detach --pid-file "$work/epid" x1 sh -c 'sleep 0.3; exit 4' || fail "exec --detach"
  epid=$(cat "$work/epid")
  kill -0 "$epid" || fail "exec --detach: the pid file's process is not alive"
  M exec x1 /nonexistent 2>/dev/null && fail "exec of a missing program succeeded"
  M delete --force x1 || fail "delete --force"
  M exec x1 true 2>/dev/null && fail "exec in a deleted container succeeded"
  ;;
netns)
  # linux.namespaces' network entry: without a path, a namespace made at create that a
  # createRuntime hook configures (as docker's libnetwork does) and the sandbox then uses;
  # with a path, the named one is joined; a new one left alone is the sandbox's own stack.
  need ip iproute2
  need nsenter util-linux
  cat > "$work/hook.sh" <<'SH'
#!/bin/sh
pid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
nsenter --net=/proc/$pid/ns/net sh -c 'ip link add moat0 type veth peer name moat0p && ip addr add 10.77.0.2/24 dev moat0 && ip link set moat0 up'
SH
  chmod +x "$work/hook.sh"
  bundle sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort | tr "\n" " "'
  python3 - "$work/b/config.json" "$work/hook.sh" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = {"createRuntime": [{"path": sys.argv[2]}]}
json.dump(c, open(sys.argv[1], "w"))
PY
  out=$(M run --bundle "$work/b" --platform "$platform" n1 2>&1) || fail "run with a hook: $out"
  [ "$out" = "lo moat0 moat0p " ] || fail "the hook's interface is not in the sandbox: '$out'"
  # No hook: a new namespace of the sandbox's own (loopback only).
  python3 - "$work/b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
del c["hooks"]
json.dump(c, open(sys.argv[1], "w"))
PY
  out=$(M run --bundle "$work/b" --platform "$platform" n2 2>&1) || fail "run: $out"
  [ "$out" = "lo " ] || fail "a new network namespace shows '$out'"
  # A named namespace is joined.
  ns=moat-e2e-$$
  ip netns add "$ns" || fail "ip netns add"
  ip -n "$ns" link add moat1 type veth peer name moat1p && ip -n "$ns" link set moat1 up
  python3 - "$work/b/config.json" "/run/netns/$ns" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for n in c["linux"]["namespaces"]:
    if n["type"] == "network":
        n["path"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
PY
  out=$(M run --bundle "$work/b" --platform "$platform" n3 2>&1)
  rc=$?
  ip netns delete "$ns"
  [ $rc = 0 ] || fail "run in a named namespace: $out"
  [ "$out" = "lo moat1 moat1p " ] || fail "the named namespace's interface is not in the sandbox: '$out'"
  ;;
exec-user)
  # runc's exec: the container's process (config.json's user 1234:1234 here) unless the
  # flags or --process say otherwise.
  bundle sleep 30
  python3 - "$work/b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["user"] = {"uid": 1234, "gid": 1234}
json.dump(c, open(sys.argv[1], "w"))
PY
  M create --bundle "$work/b" --platform "$platform" u1 || fail create
  M start u1 || fail start
  out=$(M exec u1 sh -c 'echo $(id -u):$(id -g)') || fail "exec: $out"
  [ "$out" = 1234:1234 ] || fail "exec without --user: '$out', want the config's 1234:1234"
  out=$(M exec --user 1000:1000 u1 id -u) || fail "exec --user: $out"
  [ "$out" = 1000 ] || fail "exec --user 1000:1000: id -u says '$out'"
  out=$(M exec --user 1000:1000 --additional-gids 7 u1 sh -c 'echo $(id -g) $(id -G)')
  [ "$out" = "1000 1000 7" ] || fail "exec --user/--additional-gids: '$out'"
  out=$(M exec --user 42 u1 sh -c 'echo $(id -u):$(id -g)')
  [ "$out" = 42:1234 ] || fail "exec --user 42 keeps the config's gid: '$out'"
  # Not root: no capabilities after the exec (no ambient set).
  M exec u1 cat /proc/self/status > "$work/status" || fail "exec cat"
  grep -q $'^CapEff:\t0000000000000000$' "$work/status" || fail "uid 1234's CapEff: $(grep Cap "$work/status")"
  # PATH lookup uses the exec's environment (the last PATH wins, as in runc).
  M exec -e PATH=/nowhere u1 id > /dev/null 2>&1 && fail "exec found id through a PATH without it"
  out=$(M exec -e PATH=/nowhere -e PATH=/bin u1 id -u) || fail "exec -e PATH=/bin: $out"
  # --process: the file is the whole process, user and capabilities included.
  cat > "$work/process.json" <<'JSON'
{"args": ["cat", "/proc/self/status"], "env": ["PATH=/bin"], "cwd": "/tmp",
 "user": {"uid": 1000, "gid": 1000, "additionalGids": [20], "umask": 63},
 "capabilities": {"bounding": ["CAP_NET_BIND_SERVICE", "CAP_KILL"], "permitted": ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
                  "inheritable": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
                  "ambient": ["CAP_NET_BIND_SERVICE"]},
 "noNewPrivileges": true, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 200, "soft": 100}]}
JSON
  M exec --process "$work/process.json" u1 > "$work/status" || fail "exec --process: $(cat "$work/status")"
  for want in $'Uid:\t1000\t1000\t1000\t1000' $'Groups:\t20 ' $'Umask:\t0077' $'NoNewPrivs:\t1' \
              $'CapEff:\t0000000000000400' $'CapAmb:\t0000000000000400' $'CapBnd:\t0000000000000420'; do
    grep -qxF "$want" "$work/status" || fail "exec --process: no '$want' in: $(cat "$work/status")"
  done
  # Root with a bounding set: the exec gives it exactly that set.
  cat > "$work/process.json" <<'JSON'
{"args": ["sh", "-c", "cat /proc/self/status; ulimit -n"], "env": ["PATH=/bin"], "cwd": "/",
 "user": {"uid": 0, "gid": 0},
 "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
                  "effective": ["CAP_CHOWN", "CAP_KILL"]},
 "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 200, "soft": 100}]}
JSON
  M exec --process "$work/process.json" u1 > "$work/status" || fail "exec --process (root): $(cat "$work/status")"
  grep -qxF $'CapEff:\t0000000000000021' "$work/status" || fail "root's CapEff: $(grep Cap "$work/status")"
  tail -1 "$work/status" | grep -qx 100 || fail "exec --process rlimits: ulimit -n says $(tail -1 "$work/status")"
  M exec --user root u1 true 2>/dev/null && fail "exec --user with a name succeeded (runc wants numbers)"
  M exec --cap CAP_BOGUS u1 true 2>/dev/null && fail "exec --cap with an unknown name succeeded"
  M delete --force u1 || fail "delete --force"
  ;;
exec-concurrent)
  # Many execs at once: each session's thread allocates and spawns while the others run (the
  # sentry's malloc once grew its main arena through a brk the host filter answered wrongly).
  bundle sleep 30
  running cc1
  for i in $(seq 24); do (M exec cc1 sh -c 'exit 5' > /dev/null 2>&1; echo $? > "$work/rc.$i") & done
  wait
  for i in $(seq 24); do
    [ "$(cat "$work/rc.$i")" = 5 ] || fail "concurrent exec $i: status $(cat "$work/rc.$i")"
  done
  [ "$(status_of cc1)" = running ] || fail "the container died of concurrent execs: $(status_of cc1)"
  M delete --force cc1 || fail "delete --force"
  ;;
exec-hostile)
  # The control socket's requests are checked field by field; a bad one gets an error, and the
  # container lives on.
  bundle sleep 30
  running h1
  python3 - "$root/h1/control.sock" <<'PY' || fail "a bad request was not answered with an error"
import json, os, socket, sys
bad = [b"", b"{", b"[]", b'"x"', b'{"args": "sh"}', b'{"args": []}', b'{"args": ["sh"], "user": {"uid": -1}}',
       b'{"args": ["sh"], "user": {"uid": 4294967295}}', b'{"args": ["sh"], "capabilities": {"bounding": ["CAP_NOPE"]}}',
       b'{"args": ["sh"], "rlimits": [{"type": "RLIMIT_NOPE"}]}', b'{"args": ["sh"], "x": ' + b"[" * 100000 + b"]" * 100000 + b"}",
       b'{"args": ["\xff"]}', b'{"args": ["sh"], "env": ["' + b"A" * 300000 + b'"]}']
fd = os.open("/dev/null", os.O_RDWR)
for req in bad:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    try:
        socket.send_fds(s, [req], [fd, fd, fd])
    except OSError:
        continue  # too large for one message: the kernel refused it already
    answer = json.loads(s.recv(65536))
    assert "error" in answer, (req[:60], answer)
    s.close()
PY
  [ "$(status_of h1)" = running ] || fail "the container died of bad requests: $(status_of h1)"
  out=$(M exec h1 echo still-here) || fail "exec after: $out"
  [ "$out" = still-here ] || fail "exec after: '$out'"
  M delete --force h1 || fail "delete --force"
  ;;
install)
  echo '{"debug": true}' > "$work/daemon.json"
  printf '[engine.runtimes]\ncrun = ["/usr/bin/crun"]\n' > "$work/containers.conf"
  args=(--docker-config "$work/daemon.json" --podman-config "$work/containers.conf" --containerd-config "$work/config.toml")
  "$moat" install | grep -q BinaryName || fail "install prints no containerd snippet"
  "$moat" install --write "${args[@]}" > /dev/null || fail "install --write"
  "$moat" install --write "${args[@]}" > /dev/null || fail "install --write, twice"
  python3 - "$work" "$moat" <<'PY' || fail "the merged files are wrong"
import json, sys, tomllib
work, moat = sys.argv[1], sys.argv[2]
d = json.load(open(f"{work}/daemon.json"))
assert d["debug"] is True and d["runtimes"]["moat"]["path"] == moat, d
p = tomllib.load(open(f"{work}/containers.conf", "rb"))
assert p["engine"]["runtimes"] == {"moat": [moat], "crun": ["/usr/bin/crun"]}, p
c = tomllib.load(open(f"{work}/config.toml", "rb"))
r = c["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["moat"]
assert r["runtime_type"] == "io.containerd.runc.v2" and r["options"]["BinaryName"] == moat, r
PY
  ;;
*) fail "unknown check" ;;
esac
exit 0
