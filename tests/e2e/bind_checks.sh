#!/usr/bin/env bash
# Checks of `moat do --bind/--ro-bind/--root`: real programs change a host directory through a
# bind, and the host must then hold exactly what they wrote.
#   bind_checks.sh MOAT CHECK PLATFORM
#   busybox-tree   sh/mkdir/cp/mv/ln/chmod/rm in a --bind: the host sees the same tree
#   python-bytes   python3 writes, appends, truncates, renames and mmaps (MAP_SHARED) binary
#                  data: byte for byte what python3 natively makes
#   ro-bind        writing under --ro-bind fails with "Read-only file system"; nothing changes
#   file-bind      a single file bound onto another file, written through
#   order          a later bind inside an earlier one wins; ro and rw mixed
#   root           --root DIR is the sandbox's "/"
#   bad-source     a missing SRC: one line on stderr, status 125
#   bad-dest       a missing DST: one line on stderr, status 125
set -u
moat=$1 check=$2 platform=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
# Not under /tmp: the sandbox has its own /tmp, so the host paths must be visible elsewhere.
work=$(mktemp -d "$PWD/moat-bind-XXXXXX")
trap 'rm -rf "$work"' EXIT
mdo() { "$moat" do --platform="$platform" "$@"; }
bb=/bin/busybox
py=/usr/bin/python3

case "$check" in
busybox-tree)
    d=$work/rw
    mkdir "$d"
    script='cd '$d' && echo hello > a && mkdir -p d/e && cp a d/b && mv d/b d/e/c && ln -s a l && ln a h &&
            chmod 600 a && echo more >> a && rm h && mkdir gone && rmdir gone &&
            ls -l d/e/c | cut -c1-10 && cat d/e/c l'
    out=$(mdo --bind "$d:$d" -- $bb sh -c "$script" 2>&1) || fail "status $?: $out"
    [ "$out" = "$(printf -- '-rw-r--r--\nhello\nhello\nmore')" ] || fail "output: $out"
    [ "$(cat "$d/a")" = "$(printf 'hello\nmore')" ] || fail "a: $(cat "$d/a")"
    [ "$(stat -c %a "$d/a")" = 600 ] || fail "mode of a: $(stat -c %a "$d/a")"
    [ "$(cat "$d/d/e/c")" = hello ] || fail "d/e/c"
    [ "$(readlink "$d/l")" = a ] || fail "l: $(readlink "$d/l")"
    [ ! -e "$d/h" ] && [ ! -e "$d/gone" ] && [ ! -e "$d/d/b" ] || fail "removed names still there"
    [ "$(stat -c %h "$d/a")" = 1 ] || fail "link count of a"
    ;;
python-bytes)
    script='
import mmap, os, sys
d = sys.argv[1]
data = bytes(range(256)) * 300
with open(os.path.join(d, "blob"), "wb") as f:
    f.write(data)
with open(os.path.join(d, "blob"), "ab") as f:
    f.write(b"tail")
with open(os.path.join(d, "blob"), "r+b") as f:
    f.seek(1000); f.write(b"\0middle\0"); f.truncate(60000)
os.rename(os.path.join(d, "blob"), os.path.join(d, "blob2"))
os.utime(os.path.join(d, "blob2"), (1000000, 1000000))
os.chmod(os.path.join(d, "blob2"), 0o640)
with open(os.path.join(d, "mapped"), "wb") as f:
    f.write(b"." * 10000)
with open(os.path.join(d, "mapped"), "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[4094:4100] = b"shared"
    m.flush()
    m[9000:9004] = b"late"
    m.close()
# A child writes through a shared mapping and exits without munmap or msync: the sentry writes
# the page back when the address space goes away.
with open(os.path.join(d, "exitmap"), "wb") as f:
    f.write(b"-" * 5000)
pid = os.fork()
if pid == 0:
    f = open(os.path.join(d, "exitmap"), "r+b")
    m = mmap.mmap(f.fileno(), 0)
    m[4000:4006] = b"atexit"
    os._exit(0)
os.waitpid(pid, 0)
st = os.stat(os.path.join(d, "blob2"))
print(st.st_size, st.st_mtime, oct(st.st_mode), open(os.path.join(d, "mapped"), "rb").read()[4090:4104])
'
    mkdir "$work/native" "$work/sandbox"
    want=$($py -c "$script" "$work/native" 2>&1) || fail "native: $want"
    got=$(mdo --bind "$work/sandbox:$work/sandbox" -- $py -c "$script" "$work/sandbox" 2>&1) || fail "status $?: $got"
    [ "$got" = "$want" ] || fail "output: '$got', natively '$want'"
    for f in blob2 mapped exitmap; do
        cmp "$work/native/$f" "$work/sandbox/$f" || fail "$f differs from the native run"
    done
    ;;
ro-bind)
    d=$work/ro
    mkdir "$d"
    echo keep > "$d/f"
    out=$(mdo --ro-bind "$d:$d" -- $bb sh -c "echo x > $d/f; echo y > $d/new; mkdir $d/dir; rm $d/f; cat $d/f" 2>&1)
    status=$?
    echo "$out"
    [ "$status" = 0 ] || fail "status $status (cat should have worked)"
    [ "$(echo "$out" | grep -c 'Read-only file system')" -ge 3 ] || fail "no EROFS: $out"
    [ "$(cat "$d/f")" = keep ] && [ ! -e "$d/new" ] && [ ! -e "$d/dir" ] || fail "the read-only bind changed"
    ;;
file-bind)
    echo original > "$work/src"
    echo target > "$work/dst"
    out=$(mdo --bind "$work/src:$work/dst" -- $bb sh -c "cat $work/dst; echo written > $work/dst; cat $work/dst" 2>&1) ||
        fail "status $?: $out"
    [ "$out" = "$(printf 'original\nwritten')" ] || fail "output: $out"
    [ "$(cat "$work/src")" = written ] || fail "src: $(cat "$work/src")"
    [ "$(cat "$work/dst")" = target ] || fail "the mountpoint file changed: $(cat "$work/dst")"
    ;;
order)
    mkdir -p "$work/outer/inner" "$work/other"
    echo outer > "$work/outer/inner/f"
    echo other > "$work/other/f"
    out=$(mdo --bind "$work/outer:$work/outer" --ro-bind "$work/other:$work/outer/inner" -- \
        $bb sh -c "cat $work/outer/inner/f; echo w > $work/outer/inner/f; echo ok > $work/outer/g" 2>&1)
    echo "$out"
    echo "$out" | grep -q '^other$' || fail "the later bind does not cover the earlier: $out"
    echo "$out" | grep -q 'Read-only file system' || fail "the inner bind is not read-only: $out"
    [ "$(cat "$work/outer/g")" = ok ] || fail "the outer bind is not writable"
    [ "$(cat "$work/other/f")" = other ] || fail "the read-only bind changed"
    ;;
root)
    mkdir -p "$work/r/bin" "$work/r/etc"
    cp "$bb" "$work/r/bin/busybox"
    echo in-root > "$work/r/etc/marker"
    out=$(mdo --root "$work/r" -- /bin/busybox sh -c '/bin/busybox cat /etc/marker; /bin/busybox ls /' 2>&1) || fail "status $?: $out"
    [ "$out" = "$(printf 'in-root\nbin\netc')" ] || fail "output: $out"
    ;;
bad-source | bad-dest)
    if [ "$check" = bad-source ]; then
        out=$(mdo --bind "$work/missing:$work" -- /bin/true 2>&1)
    else
        out=$(mdo --ro-bind "$work:$work/missing" -- /bin/true 2>&1)
    fi
    status=$?
    [ "$status" = 125 ] || fail "status $status, want 125: $out"
    [ "$(echo "$out" | wc -l)" = 1 ] || fail "not one line: $out"
    echo "$out" | grep -q "missing" || fail "the message does not name the path: $out"
    ;;
*)
    fail "unknown check $check"
    ;;
esac
echo "ok: $check"
