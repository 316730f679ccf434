#!/bin/sh
# Builds real rpm databases for the rpm cataloger tests with Debian's rpm/rpmbuild and db5.3-util.
#   make-fixtures.sh OUTDIR  → OUTDIR/sqlite/rpmdb.sqlite, OUTDIR/bdb/Packages, OUTDIR/expected.tsv
set -eu
OUT=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/SPECS" "$OUT"
mk() { # name epoch version release license
  {
    echo "Name: $1"
    [ "$2" != "-" ] && echo "Epoch: $2"
    echo "Version: $3"
    echo "Release: $4"
    echo "Summary: test package $1"
    echo "License: $5"
    echo "BuildArch: noarch"
    echo "Vendor: Drydock Tests"
    echo "%description"
    echo "test"
    echo "%install"
    echo "mkdir -p %{buildroot}/usr/share/$1 %{buildroot}/etc"
    echo "echo $1 > %{buildroot}/usr/share/$1/data.txt"
    echo "echo conf > %{buildroot}/etc/$1.conf"
    if [ "$1" = epsilon ]; then echo 'for i in $(seq 1 400); do echo $i > %{buildroot}/usr/share/epsilon/file-with-a-long-name-number-$i.txt; done'; fi
    echo "%files"
    if [ "$1" = epsilon ]; then echo "/usr/share/$1/*"; else echo "/usr/share/$1/data.txt"; fi
    echo "%config /etc/$1.conf"
  } > "$T/SPECS/$1.spec"
  rpmbuild -bb --quiet --define "_topdir $T" --define "_build_id_links none" --nodebuginfo "$T/SPECS/$1.spec" >/dev/null 2>&1
}
mk alpha - 1.0 1 MIT
mk beta 2 3.4.5 7.el9 "GPL-2.0-or-later AND BSD-3-Clause"
mk gamma - 0.9~rc1 0.1 "ASL 2.0"
mk delta 1 10 2 "LGPLv2+"
mk epsilon - 2.0 1 "MIT"
rm -rf "$OUT/sqlite"; mkdir -p "$OUT/sqlite"
rpm --dbpath "$OUT/sqlite" --define '_db_backend sqlite' --initdb
rpm --dbpath "$OUT/sqlite" --define '_db_backend sqlite' -i 2>/dev/null --nodeps --justdb --noscripts "$T"/RPMS/noarch/*.rpm
QF='%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\t%{VENDOR}\n'
rpm --dbpath "$OUT/sqlite" -qa --qf "$QF" | sort > "$OUT/expected.tsv"
rpm --dbpath "$OUT/sqlite" -qa --qf '[%{=NAME}\t%{FILENAMES}\t%{FILEDIGESTS}\n]' | sort > "$OUT/files.tsv"
# Berkeley DB hash from the same headers: key = 4-byte host-order package number, value = header blob
if command -v db5.3_load >/dev/null; then
  rm -rf "$OUT/bdb"; mkdir -p "$OUT/bdb"
  python3 - "$OUT/sqlite/rpmdb.sqlite" > "$T/dump.txt" <<'PY'
import sqlite3, sys, struct
db = sqlite3.connect(sys.argv[1])
print("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END")
# like rpm < 4.16: key 0 holds the next package number
print(" 00000000")
print(" " + struct.pack("<I", 100).hex())
for hnum, blob in db.execute("select hnum, blob from Packages order by hnum"):
    print(" " + struct.pack("<I", hnum).hex())
    print(" " + bytes(blob).hex())
print("DATA=END")
PY
  db5.3_load -f "$T/dump.txt" "$OUT/bdb/Packages"
  # big-endian variant is not producible here (db_load writes host order); tests flip one by hand
  rpm --define '_db_backend bdb_ro' --dbpath "$OUT/bdb" -qa --qf "$QF" 2>/dev/null | sort > "$OUT/expected-bdb.tsv"
fi
