#!/usr/bin/env bash
# Escape attempts through writable binds: a host file outside every bind must never change,
# whatever the sandboxed program does with symlinks planted in the bind.
#   escape_checks.sh MOAT CHECK PLATFORM
#   absolute-symlink   bind/x -> /outside/victim; `echo hi > x`, `>> x`, truncate, chmod, rm x
#   dotdot-symlink     bind/x -> ../../outside/victim (relative, climbing out of the bind)
#   dir-symlink        bind/d -> /outside; write d/victim, mkdir d/new, mv into d/
#   rename-race        the host swaps a bind directory for a symlink to /outside over and
#                      over while the sandbox keeps writing into it
#   ro-root-escape     the same symlinks under --root: the sandbox's "/" is the root, not the
#                      host's
set -u
moat=$1 check=$2 platform=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
# Not under /tmp: the sandbox has its own /tmp, so the host paths must be visible elsewhere.
work=$(mktemp -d "$PWD/moat-escape-XXXXXX")
trap 'rm -rf "$work"' EXIT
bb=/bin/busybox
bind=$work/bind
outside=$work/outside
mkdir -p "$bind" "$outside"
echo secret > "$outside/victim"
chmod 644 "$outside/victim"
before=$(stat -c '%s %a %Y %i' "$outside/victim")
mdo() { "$moat" do --platform="$platform" --bind "$bind:$bind" "$@"; }
untouched() {
    [ "$(cat "$outside/victim" 2>/dev/null)" = secret ] || fail "the victim outside the bind changed: $(cat "$outside/victim" 2>&1)"
    [ "$(stat -c '%s %a %Y %i' "$outside/victim")" = "$before" ] || fail "the victim's attributes changed"
    [ "$(ls -A "$outside")" = victim ] || fail "new files outside the bind: $(ls -A "$outside")"
}

case "$check" in
absolute-symlink | dotdot-symlink)
    if [ "$check" = absolute-symlink ]; then
        ln -s "$outside/victim" "$bind/x"
    else
        ln -s ../outside/victim "$bind/x"
    fi
    out=$(mdo -- $bb sh -c "cd $bind; echo hi > x; echo more >> x; true > x; chmod 777 x; touch x; ln x hard; rm x; ls -A" 2>&1)
    echo "$out"
    untouched
    [ ! -L "$bind/x" ] || fail "rm x did not remove the link"
    ;;
dir-symlink)
    ln -s "$outside" "$bind/d"
    out=$(mdo -- $bb sh -c "cd $bind; echo hi > d/victim; mkdir d/new; echo x > f; mv f d/; rm d/victim; rm -r d/; ls -A" 2>&1)
    echo "$out"
    untouched
    ;;
rename-race)
    mkdir "$bind/d"
    # The host flips bind/d between a real directory and a symlink to $outside.
    (
        end=$((SECONDS + 4))
        while [ $SECONDS -lt $end ]; do
            mv "$bind/d" "$bind/d.real" 2>/dev/null
            ln -s "$outside" "$bind/d" 2>/dev/null
            rm -f "$bind/d" 2>/dev/null
            mv "$bind/d.real" "$bind/d" 2>/dev/null
        done
    ) &
    racer=$!
    mdo -- $bb sh -c "cd $bind; i=0; while [ \$i -lt 100 ]; do echo pwned > d/victim; echo x >> d/victim; mkdir d/n\$i; true > d/t\$i; i=\$((i+1)); done" >/dev/null 2>&1
    wait "$racer"
    untouched
    ;;
ro-root-escape)
    mkdir -p "$work/root/bin" "$work/root/tmp"
    cp "$bb" "$work/root/bin/busybox"
    ln -s "$outside/victim" "$bind/x"
    ln -s "../../../../../outside" "$bind/up"
    "$moat" do --platform="$platform" --root "$work/root" --bind "$bind:/tmp" -- /bin/busybox sh -c \
        "echo hi > /tmp/x; echo hi > /tmp/up/victim; mkdir /tmp/up/new; ls /tmp" >/dev/null 2>&1
    untouched
    ;;
*)
    fail "unknown check $check"
    ;;
esac
echo "ok: $check"
