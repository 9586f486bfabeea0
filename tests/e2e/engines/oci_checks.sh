#!/bin/bash
# oci_checks.sh MOAT CHECK PLATFORM: Moat as an OCI runtime, driven the way engines and the
# OCI runtime-tools validation suite drive runc. Each CHECK prints what failed and exits 1.
set -u
moat=$(realpath "$1") check=$2 platform=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/moat-oci.XXXXXX)
root=$work/state
trap 'for id in $("$moat" --root "$root" list -q 2>/dev/null); do "$moat" --root "$root" delete --force "$id"; done; rm -rf "$work"' EXIT
fail() { echo "FAIL ($check): $*" >&2; exit 1; }
M() { "$moat" --root "$root" "$@"; }

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
  source "$here/lib.sh"
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
