#!/bin/sh
# Copies the three-file C program to a fresh directory under /tmp, builds it with make + gcc,
# runs it, rebuilds after touching one file (only that object is remade), and cleans up.
set -e
src=$(dirname "$0")
dir=$(mktemp -d /tmp/moat-make-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$src/main.c" "$src/add.c" "$src/mul.c" "$dir/"
cp "$src/Makefile.build" "$dir/Makefile"
make -C "$dir" --no-print-directory
"$dir/prog"
sleep 1
touch "$dir/add.c"
make -C "$dir" --no-print-directory
"$dir/prog"
make -C "$dir" --no-print-directory clean
ls "$dir"
