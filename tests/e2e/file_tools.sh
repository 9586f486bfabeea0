#!/bin/bash
# File-heavy real programs, run by compare.sh natively and under `moat do`: each check builds a
# tree in a fresh scratch directory, works on it, and prints what it sees with relative paths, so
# the two runs print the same bytes when the filesystem behaves the same.
#   file_tools.sh CHECK
#   tar        tar create (archive bytes), tvf listing, extract with modes/mtimes/links, gzip pipe
#   find       find with -type/-name/-newer/-perm/-links/-size/-empty, sorted
#   compileall python3 -m compileall of a package under /tmp, the .pyc bytes, then import it
#   cp         cp -a of a tree with symlinks and hard links; diff -r; stat -c '%h %a %F'
#   coreutils  du, ls -lR, stat, mv across directories, rm -rf of a deep tree, mkdir -p, ln -sf,
#              touch -d, chmod -R, truncate -s, dd with seek (a sparse file and its du)
#
# The scratch directory is under /dev/shm, a tmpfs natively and inside the sandbox, so directory
# sizes and block counts (ls -l, du, stat %b) come from the same kind of filesystem on both sides
# (the host's /tmp is usually ext4; the sandbox's /tmp is a tmpfs). compileall uses /tmp.
# Inode numbers, access and change times legitimately differ and are never printed.
set -eu
check=${1:?usage: file_tools.sh CHECK}
scratch_root=/dev/shm
[ "$check" = compileall ] && scratch_root=/tmp
work=$(mktemp -d "$scratch_root/moat-files-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
umask 022
export TZ=UTC LC_ALL=C
# The system interpreter: a python3 earlier in PATH may be a shim (pyenv) that runs far more.
py=/usr/bin/python3

# A tree with every kind of entry tar and cp care about, all mtimes fixed.
make_tree() {
    local t=$1
    mkdir -p "$t/src/lib" "$t/src/empty" "$t/docs" "$t/bin"
    printf 'int main(void) { return 0; }\n' >"$t/src/main.c"
    printf 'int add(int a, int b) { return a + b; }\n' >"$t/src/lib/add.c"
    printf '# notes\n' >"$t/docs/README"
    : >"$t/docs/empty"
    head -c 100000 /dev/zero | tr '\0' 'x' >"$t/docs/big"
    printf '#!/bin/sh\necho tool\n' >"$t/bin/tool"
    chmod 755 "$t/bin/tool"
    printf 'secret\n' >"$t/docs/private"
    chmod 600 "$t/docs/private"
    ln -s ../src/main.c "$t/bin/main-link"
    ln -s missing "$t/bin/dangling"
    ln -s ../docs "$t/bin/docs-dir"
    ln "$t/src/main.c" "$t/src/hard1"
    ln "$t/src/main.c" "$t/docs/hard2"
    find "$t" -depth -exec touch -h -d '2021-03-04 05:06:07' {} +
    touch -d '2019-12-31 23:59:59' "$t/src/lib/add.c"
}

# Everything about each entry that must survive a copy or an archive.
describe() {
    find "$@" -printf '%y %m %n %s %TY-%Tm-%Td %TH:%TM:%TS %p -> %l\n' | sort
}

case "$check" in
tar)
    make_tree t
    tar --sort=name -cf t.tar t
    echo "archive: $(wc -c <t.tar) bytes, sha256 $(sha256sum <t.tar | cut -c1-64)"
    tar tvf t.tar
    mkdir x
    tar -C x -xpf t.tar
    describe x/t
    diff -r --no-dereference t x/t && echo "diff -r: same"
    echo "links of main.c: $(stat -c %h x/t/src/main.c)"
    tar --sort=name -czf - t | tar -tzvf - | sort
    # Extract over an existing tree, and only one member.
    tar -C x -xpf t.tar t/docs/README
    tar -C x --to-stdout -xf t.tar t/bin/tool
    ;;
find)
    make_tree t
    touch -d '2021-01-01 00:00:00' ref
    echo '== -type f'; find t -type f | sort
    echo '== -type d'; find t -type d | sort
    echo '== -type l'; find t -type l | sort
    echo '== -xtype l (dangling)'; find t -xtype l | sort
    echo '== -name *.c'; find t -name '*.c' | sort
    echo '== -iname readme'; find t -iname readme | sort
    echo '== -newer ref'; find t -newer ref | sort
    echo '== ! -newer ref'; find t ! -newer ref | sort
    echo '== -perm -u+x -type f'; find t -perm -u+x -type f | sort
    echo '== -perm 600'; find t -perm 600 | sort
    echo '== -perm /o+r -type f'; find t -perm /o+r -type f | sort
    echo '== -links 3'; find t -links 3 | sort
    echo '== -links +1 -type d'; find t -links +1 -type d | sort
    echo '== -size +10k'; find t -size +10k | sort
    echo '== -empty'; find t -empty | sort
    echo '== -maxdepth 1'; find t -maxdepth 1 | sort
    echo '== -samefile'; find t -samefile t/src/main.c | sort
    echo '== -L -type d'; find -L t -type d 2>&1 | sort
    echo '== -mindepth 2 -prune'; find t -mindepth 1 -name src -prune -o -type f -print | sort
    echo '== -printf'; describe t
    echo '== -delete'; find t -name '*.c' -delete; find t -name '*.c' | wc -l
    ;;
compileall)
    mkdir -p pkg/sub
    printf 'from .mod import double\nVALUE = double(21)\n' >pkg/__init__.py
    printf 'def double(x):\n    return 2 * x\n' >pkg/mod.py
    printf 'NAME = "sub"\n' >pkg/sub/__init__.py
    printf 'def broken(:\n' >pkg/sub/bad.py
    find pkg -exec touch -d '2022-02-02 02:02:02' {} +
    status=0
    $py -m compileall -q pkg >out 2>&1 || status=$?
    sed "s,$work,WORK,g" out
    echo "compileall status $status"
    $py -m compileall -q pkg/mod.py pkg/__init__.py pkg/sub/__init__.py
    find pkg -name '*.pyc' | sort | while read -r f; do
        echo "$f $(wc -c <"$f") $(sha256sum <"$f" | cut -c1-64)"
    done
    $py -c '
import importlib.util, sys
sys.path.insert(0, ".")
sys.dont_write_bytecode = True
import pkg, pkg.sub
print(pkg.VALUE, pkg.sub.NAME, pkg.mod.__cached__.replace(sys.argv[1], "WORK"))
spec = importlib.util.find_spec("pkg.mod")
print(type(spec.loader).__name__)
' "$work"
    # An import from only the .pyc (sourceless): compileall -b writes pkg/mod.pyc beside it.
    $py -m compileall -q -b pkg/mod.py
    rm pkg/mod.py
    $py -c 'import sys; sys.path.insert(0, "."); import pkg.mod; print(pkg.mod.double(5), pkg.mod.__file__.endswith("mod.pyc"))'
    ;;
cp)
    make_tree t
    cp -a t c
    diff -r --no-dereference t c && echo "diff -r: same"
    describe c | sed 's,^\([a-z]\) \([0-9]*\) \([0-9]*\) ,\1 \2 \3 ,'
    find c -exec stat -c '%h %a %F %n' {} + | sort
    [ "$(stat -c %i c/src/main.c)" = "$(stat -c %i c/docs/hard2)" ] && echo "c: hard links kept"
    [ "$(stat -c %i c/src/main.c)" != "$(stat -c %i t/src/main.c)" ] && echo "c: a new file"
    cp -r t r
    find r -exec stat -c '%h %a %F %n' {} + | sort
    mkdir d
    cp -aL t/bin/main-link t/bin/docs-dir t/bin/tool d/
    describe d/*
    cp -a t/src/main.c t/src/lib/add.c t/docs
    cp -p t/docs/big t/big-copy
    cp -u t/docs/README t/big-copy  # not newer: nothing copied
    cp -u t/src/lib/add.c t/docs/README  # older: nothing copied
    describe t/big-copy t/docs/*
    cp -al t l
    stat -c '%h %n' l/src/main.c t/docs/big l/docs/big
    ;;
coreutils)
    echo '== mkdir -p'; mkdir -p a/b/c/d a/x
    ls -R a
    echo '== touch -d'; touch -d '2020-05-06 07:08:09.123456789' a/b/file
    stat -c '%y %s %F' a/b/file
    touch -r a/b/file a/x; stat -c '%y %n' a/x
    touch -h -d '@1000000000' a/x; stat -c '%Y %n' a/x
    echo '== ln -sf'; ln -s one a/link; ln -sf two a/link; readlink a/link
    ln -sfn b a/blink; ln -sfn x a/blink; readlink a/blink
    echo '== mv across directories'; echo data >a/b/moved; mv a/b/moved a/x/; mv a/x/moved a/x/renamed
    ls a/b a/x; cat a/x/renamed
    mv a/b/c a/x/; ls -R a/x
    echo '== chmod -R'; chmod -R go-rwx a/x; find a -exec stat -c '%a %n' {} + | sort
    chmod -R u=rwX,g=rX,o= a; find a -exec stat -c '%a %n' {} + | sort
    echo '== truncate -s'; printf hello >tr; truncate -s 10 tr; od -c tr; truncate -s 2 tr; cat tr; echo
    truncate -s +1M tr; truncate -s -24K tr; stat -c '%s' tr
    echo '== dd with seek (sparse)'
    dd if=/dev/zero of=sparse bs=4096 seek=256 count=1 status=none
    printf ABCDEFGHIJ | dd of=sparse bs=1 seek=8192 conv=notrunc status=none
    stat -c '%s %b' sparse; du -k sparse; du -k --apparent-size sparse
    dd if=sparse bs=4096 skip=2 count=1 status=none | od -A d -t x1 | tail -n 1
    cp --sparse=always sparse sparse2; du -k sparse2
    # Every time printed from here on is a fixed one.
    find . -exec touch -h -d '2023-01-02 03:04:05.5' {} +
    echo '== stat'; stat -c '%n %s %b %B %f %F %a %A %h %U %G %y' a/x/renamed tr sparse a a/link
    stat -L -c '%F %n' a/blink; stat -f -c '%T' . >/dev/null
    echo '== ls -lR'; ls -lR --time-style=full-iso a
    echo '== ls -la'; ls -la --time-style=+%s a/x
    echo '== du'; du -a a | sort -k2; du -sk a; du -s --inodes a; du -ab a | sort -k2
    echo '== rm -rf of a deep tree'
    p=deep; for i in $(seq 1 60); do p=$p/d$i; done
    mkdir -p "$p"; for i in 1 2 3; do echo $i >"$p/f$i"; done
    ln -s /nonexistent "$p/l"
    find deep | wc -l
    rm -rf deep; ls
    echo '== rm -r errors'; rm -r missing 2>&1 || echo "status $?"
    rmdir a 2>&1 || echo "status $?"
    ;;
*)
    echo "unknown check $check" >&2
    exit 2
    ;;
esac
