#!/usr/bin/env bash
# What provenance costs a check after a real package install, on a host-like root:
# a copy of this host's /usr/bin, /usr/sbin, /usr/share, /usr/lib/x86_64-linux-gnu and
# /etc with its dpkg database, merged /usr. A baseline of /usr and /etc is taken, then
# dpkg installs the .deb files of DEBS into the root (--force-depends --no-triggers, so
# no maintainer script runs), and farm-bench times `fim check` and `fim check --fast`,
# with provenance against --no-provenance, in alternating pairs.
# Run it as root on a tmpfs in a private mount namespace, e.g.
#   unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /mnt &&
#     FIM=$PWD/fim bench/provenance.sh /mnt'
# usage: FIM=path/to/fim [DEBS=dir] [RUNS=10] bench/provenance.sh WORKDIR
set -eu
W=${1:?usage: FIM=fim bench/provenance.sh WORKDIR}
FIM=${FIM:?set FIM}
DEBS=${DEBS:-$HOME/.cache/fim-test/debs}
RUNS=${RUNS:-10}
R=$W/root
DB=$W/baseline.db
ls "$DEBS"/*.deb >/dev/null || { echo "no .deb files in $DEBS (the pkgdb tests download them)" >&2; exit 1; }
rm -rf "$R" "$DB"*
mkdir -p "$R/usr/lib" "$R/var/lib" "$R/var/log"
for d in bin sbin share lib/x86_64-linux-gnu; do cp -a "/usr/$d" "$R/usr/$d"; done
cp -a /etc "$R/etc"
cp -a /var/lib/dpkg "$R/var/lib/dpkg"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
echo "root: $(du -sh "$R" | cut -f1), $(find "$R/usr" "$R/etc" | wc -l) paths, $(ls "$R"/var/lib/dpkg/info/*.list | wc -l) packages"
"$FIM" baseline -q --root "$R" --db "$DB" /usr /etc
dpkg --root "$R" --log "$R/var/log/dpkg.log" --force-depends --force-confold --no-triggers -i "$DEBS"/*.deb >"$W/dpkg.log" 2>&1 ||
	{ echo "dpkg -i failed: $(tail -1 "$W/dpkg.log")" >&2; exit 1; }
"$FIM" check --root "$R" --db "$DB" >"$W/report" 2>&1 || true
echo "report: $(grep "^fim: " "$W/report" | head -1)"
for fast in "" --fast; do
	echo "== fim check $fast: with provenance (A) against --no-provenance (B)"
	farm-bench -n "$RUNS" --timeout 1800 \
		--vs "$FIM check -q $fast --no-provenance --root $R --db $DB" \
		-- "$FIM" check -q $fast --root "$R" --db "$DB" | grep -E '^(A|B|A/B) (cpu|wall|peak)'
done
