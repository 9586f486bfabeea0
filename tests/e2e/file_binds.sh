#!/usr/bin/env bash
# Real programs writing through `moat do --bind`, checked on the host afterwards against what the
# same programs wrote natively; and writes outside any bind, which must vanish with the sandbox.
#   file_binds.sh MOAT CHECK PLATFORM
#   git      git init/add/commit/log/status/diff in a bound directory, with fixed identities and
#            dates: the same output and the same commit hashes as natively, and the host's git
#            then reads the repository (log, fsck, status) as it reads the native one
#   bytes    tar extract, cp -a, dd with seek, truncate, python3 writes in a bound directory: the
#            host tree is byte for byte, mode for mode and mtime for mtime the native one
#   vanish   writes to /etc, /usr, /tmp and a removed host file inside the sandbox: seen inside,
#            gone on the host and in the next sandbox
set -u
moat=$1 check=$2 platform=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
# Not under /tmp: the sandbox has its own /tmp, so the host paths must be visible elsewhere.
work=$(mktemp -d "$PWD/moat-file-binds-XXXXXX")
trap 'rm -rf "$work"' EXIT
mdo() { "$moat" do --platform="$platform" "$@"; }
export TZ=UTC LC_ALL=C
py=/usr/bin/python3

# Runs a bash script natively in $work/native and under moat in the bound $work/sandbox, each with
# its directory as $1 and cwd; the outputs (with the directory replaced by DIR) must match.
run_both() {
    local script=$1 want got
    mkdir -p "$work/native" "$work/sandbox"
    want=$(cd "$work/native" && /bin/bash -c "$script" sh "$work/native" 2>&1) || fail "native status $?: $want"
    got=$(cd "$work/sandbox" && mdo --bind "$work/sandbox:$work/sandbox" -- /bin/bash -c "$script" sh "$work/sandbox" 2>&1) ||
        fail "moat status $?: $got"
    want=${want//$work\/native/DIR}
    got=${got//$work\/sandbox/DIR}
    if [ "$got" != "$want" ]; then
        diff -u <(echo "$want") <(echo "$got") | head -n 100
        fail "output differs from native (above: - native, + moat)"
    fi
    echo "$got"
}

# Everything the host sees of a tree, by relative path.
describe() {
    (cd "$1" && find . -mindepth 1 -printf '%y %m %n %s %TY-%Tm-%Td %TH:%TM:%TS %p -> %l\n' | sort)
}

case "$check" in
git)
    # No user or system configuration, fixed identities and dates: the hashes are reproducible.
    export HOME=/nonexistent GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    export GIT_AUTHOR_NAME=Moat GIT_AUTHOR_EMAIL=moat@example.com GIT_COMMITTER_NAME=Moat
    export GIT_COMMITTER_EMAIL=moat@example.com
    export GIT_AUTHOR_DATE='2024-01-02T03:04:05Z' GIT_COMMITTER_DATE='2024-01-02T03:04:05Z'
    script='set -e
git init -q -b main repo
cd repo
mkdir -p src docs
printf "int main(void) { return 0; }\n" > src/main.c
printf "# Title\n\nText.\n" > docs/README.md
printf "#!/bin/sh\necho run\n" > run.sh
chmod 755 run.sh
ln -s docs/README.md README
git add .
git -c user.name=Moat -c user.email=moat@example.com commit -q -m "first commit"
git status --short --branch
printf "int main(void) { return 1; }\n" > src/main.c
echo "more" >> docs/README.md
git rm -q --cached run.sh
echo new > new.txt
git status --short --branch
git diff
git diff --stat
git add -A
git commit -q -m "second commit"
git tag v1
git mv docs/README.md docs/GUIDE.md
git commit -q -am "rename"
git log --format="%H %an <%ae> %ad %s" --date=iso-strict
git log --stat --oneline
git show --stat HEAD~1
git ls-files -s
git count-objects | sed "s/, [0-9]* kilobytes//"
git gc -q
git count-objects -v | grep -E "^(count|in-pack|packs):"
git fsck --strict 2>&1
git status --porcelain
'
    run_both "$script" || exit 1
    native=$work/native/repo sandbox=$work/sandbox/repo
    # The host's git reads the repository the sandbox made.
    [ "$(git -C "$sandbox" log --format=%H)" = "$(git -C "$native" log --format=%H)" ] ||
        fail "host git log: $(git -C "$sandbox" log --format=%H)"
    git -C "$sandbox" fsck --strict || fail "host git fsck"
    [ -z "$(git -C "$sandbox" status --porcelain)" ] || fail "host git status: $(git -C "$sandbox" status --porcelain)"
    [ "$(git -C "$sandbox" rev-parse v1 HEAD:run.sh 2>&1)" = "$(git -C "$native" rev-parse v1 HEAD:run.sh 2>&1)" ] ||
        fail "rev-parse differs"
    for f in src/main.c docs/GUIDE.md run.sh new.txt .git/HEAD .git/refs/tags/v1 .git/packed-refs; do
        [ -e "$native/$f" ] || continue
        cmp "$native/$f" "$sandbox/$f" || fail "$f differs"
    done
    [ "$(stat -c %a "$sandbox/run.sh")" = 755 ] && [ "$(readlink "$sandbox/README")" = docs/README.md ] ||
        fail "mode or symlink lost"
    ;;
bytes)
    # A source tree and an archive of it, made on the host.
    src=$work/src
    mkdir -p "$src/a/b"
    head -c 300000 /dev/urandom >"$src/a/random"
    printf 'text\n' >"$src/a/b/text"
    chmod 640 "$src/a/b/text"
    ln -s b/text "$src/a/link"
    ln "$src/a/random" "$src/a/b/hard"
    find "$src" -exec touch -h -d '2020-02-02 20:20:20' {} +
    tar -C "$src" -cf "$work/src.tar" a
    script='set -e
d=$1
tar -xpf '"$work/src.tar"'
cp -a a copy
dd if=/dev/zero of=sparse bs=1k seek=1000 count=1 status=none
printf middle | dd of=sparse bs=1 seek=5000 conv=notrunc status=none
head -c 70000 a/random > trunc
truncate -s 50000 trunc
truncate -s 80000 trunc
cat a/random a/b/text > joined
mkdir -p made/deep/er && mv joined made/deep/er/ && mv trunc made/
'"$py"' -c "
import os
with open(\"py.bin\", \"wb\") as f:
    for i in range(64):
        f.write(bytes([i]) * 1000 + os.urandom(0) + i.to_bytes(4, \"little\"))
    f.seek(10); f.write(b\"over\")
    os.ftruncate(f.fileno(), 60000)
with open(\"py.bin\", \"r+b\") as f:
    f.seek(100000); f.write(b\"end\")
os.symlink(\"py.bin\", \"py.link\")
os.link(\"py.bin\", \"py.hard\")
os.chmod(\"py.bin\", 0o604)
"
find . ! -name . -exec touch -h -d "2022-12-12 12:12:12" {} +
du -k sparse --apparent-size
'
    run_both "$script" || exit 1
    # The tree on the host: the same names, kinds, modes, links, sizes, mtimes and bytes.
    diff <(describe "$work/native") <(describe "$work/sandbox") || fail "the trees differ (above)"
    diff -r --no-dereference "$work/native" "$work/sandbox" || fail "contents differ"
    (cd "$work/native" && find . -type f) | while read -r f; do
        cmp "$work/native/$f" "$work/sandbox/$f" || exit 1
    done || fail "a file differs"
    [ "$(stat -c %i "$work/sandbox/py.bin")" = "$(stat -c %i "$work/sandbox/py.hard")" ] || fail "py.hard is not a hard link"
    # The sparse file is sparse on the host too: its hole was never written.
    [ "$(stat -c %b "$work/sandbox/sparse")" -lt 100 ] || fail "sparse is not sparse: $(stat -c %b "$work/sandbox/sparse") blocks"
    ;;
vanish)
    marker=moat-e2e-vanish-$$
    before=$(sha256sum /etc/os-release /etc/hostname 2>&1)
    out=$(mdo -- /bin/bash -c "set -e
        echo etc > /etc/$marker; mkdir /usr/$marker; echo usr > /usr/$marker/f; echo tmp > /tmp/$marker
        echo changed >> /etc/hostname; rm /etc/os-release; mv /etc/$marker /etc/$marker.moved
        cat /etc/$marker.moved /usr/$marker/f /tmp/$marker; tail -n 1 /etc/hostname
        test ! -e /etc/os-release && echo removed" 2>&1) || fail "status $?: $out"
    [ "$out" = "$(printf 'etc\nusr\ntmp\nchanged\nremoved')" ] || fail "inside: $out"
    for p in /etc/$marker /etc/$marker.moved /usr/$marker /tmp/$marker; do
        [ ! -e "$p" ] || { rm -rf "$p"; fail "$p reached the host"; }
    done
    [ "$(sha256sum /etc/os-release /etc/hostname 2>&1)" = "$before" ] || fail "a host file changed"
    out=$(mdo -- /bin/bash -c "ls -d /etc/$marker* /usr/$marker /tmp/$marker 2>/dev/null; test -e /etc/os-release && echo present") ||
        true
    [ "$out" = present ] || fail "the next sandbox sees: $out"
    ;;
*)
    fail "unknown check $check"
    ;;
esac
echo "ok: $check"
