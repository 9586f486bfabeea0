#!/bin/sh
# sqlite3 creating, filling and querying databases in a fresh directory under /tmp (the
# sandbox's own tmpfs under Moat): rollback journal and WAL mode (shared-memory index, POSIX
# record locks), two connections taking turns. Run natively and under moat by compare.sh.
set -e
dir=$(mktemp -d /tmp/moat-sqlite-XXXXXX)
trap 'rm -rf "$dir"' EXIT
db="$dir/test.db"
sqlite3 "$db" "create table t(id integer primary key, name text);
insert into t(name) values ('alpha'), ('beta'), ('gamma');
begin; insert into t(name) select name || '-' || id from t; commit;"
sqlite3 "$db" "select id, name from t order by id; pragma integrity_check;"
wal="$dir/wal.db"
sqlite3 "$wal" "pragma journal_mode=wal; create table k(v); insert into k values (1), (2);"
sqlite3 "$wal" "insert into k select v * 10 from k;" &
wait
sqlite3 "$wal" "select sum(v), count(*) from k; pragma integrity_check;"
