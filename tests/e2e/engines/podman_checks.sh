#!/bin/bash
# podman_checks.sh MOAT CHECK: podman (Debian's, installed here when missing) running an image
# built from a local rootfs tarball (no registry) with `--runtime MOAT`.
set -u
moat=$(realpath "$1") check=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fail() { echo "FAIL (podman $check): $*" >&2; exit 1; }
need podman podman
image=localhost/moat-e2e:latest
test_image "$image"
P() { podman --runtime "$moat" "$@"; }
name=moat-e2e-$check-$$
trap 'podman --runtime "$moat" rm -f "$name" > /dev/null 2>&1' EXIT

case $check in
echo)
  out=$(P run --rm --network=none "$image" echo hi) || fail "run failed: $out"
  [ "$out" = hi ] || fail "output '$out'"
  ;;
exit-status)
  P run --rm --network=none "$image" sh -c 'exit 3'
  rc=$?
  [ "$rc" = 3 ] || fail "exit status $rc, want 3"
  ;;
detach-logs-stop)
  P run -d --name "$name" --network=none "$image" sh -c 'echo up; sleep 100' > /dev/null || fail "run -d"
  for _ in $(seq 50); do P logs "$name" 2>/dev/null | grep -q up && break; sleep 0.1; done
  P logs "$name" | grep -q up || fail "podman logs: $(P logs "$name" 2>&1)"
  [ "$(P inspect -f '{{.State.Status}}' "$name")" = running ] || fail "not running"
  P stop -t 1 "$name" > /dev/null || fail "stop"
  [ "$(P inspect -f '{{.State.Status}}' "$name")" = exited ] || fail "not exited after stop"
  P rm "$name" > /dev/null || fail "rm"
  ;;
exec)
  P run -d --name "$name" --network=none "$image" sleep 100 > /dev/null || fail "run -d"
  out=$(P exec "$name" sh -c 'echo in-$(hostname)') || fail "exec failed: $out"
  [ "$out" = "in-$(P inspect -f '{{.Config.Hostname}}' "$name")" ] || fail "exec output '$out'"
  P exec "$name" sh -c 'exit 5'
  [ $? = 5 ] || fail "exec exit status"
  P rm -f "$name" > /dev/null || fail "rm -f"
  ;;
exec-user)
  # podman passes the user in --process's file; the image's user (root) otherwise.
  P run -d --name "$name" --network=none "$image" sleep 100 > /dev/null || fail "run -d"
  out=$(P exec --user 1234 "$name" id -u) || fail "exec --user failed: $out"
  [ "$out" = 1234 ] || fail "exec --user 1234: id -u says '$out'"
  out=$(P exec --user 1234:5678 "$name" id -g) || fail "exec --user UID:GID failed: $out"
  [ "$out" = 5678 ] || fail "exec --user 1234:5678: id -g says '$out'"
  out=$(P exec "$name" id -u) || fail "exec failed: $out"
  [ "$out" = 0 ] || fail "exec without --user: id -u says '$out'"
  P exec --user 1234 "$name" cat /proc/self/status | grep -qx $'CapEff:\t0000000000000000' \
    || fail "exec --user 1234 kept capabilities: $(P exec --user 1234 "$name" cat /proc/self/status | grep Cap)"
  P rm -f "$name" > /dev/null || fail "rm -f"
  ;;
tty)
  # run -it: a terminal of the size the user's has, named as in runc (ttyname works).
  # script(1) gives podman a terminal; its size is set first (a pty starts at 0x0). podman's
  # attach writes a NUL into the terminal first, which the echo shows as "^@": dropped.
  need script bsdutils
  out=$(timeout 60 script -qec "stty cols 80 rows 24; podman --runtime $moat run --rm -it --network=none $image sh -c 'tty; stty size'" /dev/null < /dev/null | tr -d '\r\0' | sed 's/\^@//g')
  echo "$out" | grep -qx /dev/console || fail "tty: '$out'"
  echo "$out" | grep -qx '24 80' || fail "stty size: '$out'"
  ;;
top)
  # podman top enters the sentry's mount namespace and reads /proc there: the sandbox's own
  # procfs, served through FUSE (fs/procfuse), with the sandbox's pids as runc would show them.
  P run -d --name "$name" --network=none "$image" sh -c 'sleep 100' > /dev/null || fail "run -d"
  for _ in $(seq 50); do P top "$name" 2>/dev/null | grep -q 'sleep 100' && break; sleep 0.2; done
  out=$(P top "$name" 2>&1) || fail "podman top: $out"
  echo "$out"
  echo "$out" | head -1 | grep -q 'PID' || fail "no header: $out"
  line=$(echo "$out" | grep 'sleep 100' | head -1)
  [ -n "$line" ] || fail "no 'sleep 100' line: $out"
  pid=$(echo "$line" | awk '{print $2}')
  [ "$pid" -ge 1 ] && [ "$pid" -lt 100 ] 2>/dev/null || fail "PID column '$pid' is not a sandbox pid: $line"
  out=$(P top "$name" pid comm 2>&1) || fail "podman top pid comm: $out"
  echo "$out"
  # comm is the executable's name (busybox's applets share one binary).
  echo "$out" | awk -v p="$pid" 'NR > 1 && $1 == p && $2 != ""' | grep -q . || fail "no pid $pid in 'pid comm': $out"
  P rm -f "$name" > /dev/null || fail "rm -f"
  ;;
exec-tty)
  need script bsdutils
  P run -d --name "$name" --network=none "$image" sleep 100 > /dev/null || fail "run -d"
  out=$(timeout 60 script -qec "stty cols 100 rows 30; podman --runtime $moat exec -it $name sh -c 'tty; stty size; read -r line; echo got-\$line'" /dev/null <<< "typed" | tr -d '\r\0' | sed 's/\^@//g')
  echo "$out" | grep -qx /dev/console || fail "exec -it tty: '$out'"
  echo "$out" | grep -qx '30 100' || fail "exec -it stty size: '$out'"
  echo "$out" | grep -qx 'got-typed' || fail "exec -it input: '$out'"
  P rm -f "$name" > /dev/null || fail "rm -f"
  ;;
network)
  # podman's network namespace (netavark's bridge): the sandbox joins it and sees eth0.
  out=$(P run --rm "$image" sh -c 'tail -n +3 /proc/net/dev') || fail "run failed: $out"
  echo "$out" | grep -q 'eth0:' || fail "no eth0 in the container: '$out'"
  out=$(P run --rm --network=none "$image" sh -c 'tail -n +3 /proc/net/dev') || fail "run --network=none failed: $out"
  echo "$out" | grep -q 'eth0:' && fail "--network=none has an eth0: '$out'"
  ;;
publish)
  # -p HOST:CONTAINER reaches a server in the sandbox through podman's port forwarding.
  port=$((20000 + $$ % 10000))
  P run -d --name "$name" -p "$port:8080" "$image" \
    sh -c 'mkdir -p /tmp/w && echo hello-from-moat > /tmp/w/index.html && exec busybox httpd -f -p 8080 -h /tmp/w' \
    > /dev/null || fail "run -d -p"
  got=
  for _ in $(seq 50); do
    got=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:$port/', timeout=2).read().decode().strip())" 2>/dev/null) && break
    sleep 0.2
  done
  [ "$got" = hello-from-moat ] || fail "GET through -p $port:8080 gave '$got'"
  P rm -f "$name" > /dev/null || fail "rm -f"
  ;;
*) fail "unknown check" ;;
esac
exit 0
