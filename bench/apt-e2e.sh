#!/usr/bin/env bash
# The package-provenance scenario end to end, on a real Debian bookworm root built with
# real tools: a real `apt-get install` of several packages with their dependencies, an
# `apt-get upgrade` and an `apt-get remove` and `purge`, with four changes planted while
# dpkg runs, by a process that does not descend from apt or dpkg:
#   - /usr/bin/hostname (package hostname) rewritten, its size and mtime put back;
#   - /usr/local/bin/.x, a setuid copy of bash;
#   - a new /etc/ld.so.preload;
#   - a new /etc/cron.d/planted.
# fim runs inside the chroot (chroot ROOT /opt/fim/fim ...), so that it sees the chroot's
# / as its root; the baseline covers /usr, /etc and /var/lib/dpkg. Three variants, each
# from the same prepared root and a fresh baseline:
#   watch    fim watch --db DB through the run (json events, writer journal DB.journal);
#            then fim check, fim accept --explained on a copy of DB, fim check of the copy
#   update   fim watch --update=explained --db DB through the run; then fim check
#   nowatch  no watch: fim check after the run (digests only, no journal)
# Each variant's raw outputs go to OUT (default /var/tmp/apt-e2e-results) as
# VARIANT.*, and OUT/summary.txt says what fim reported: the summary lines, the
# unexplained events, the verdicts of the explained ones and whether the unexplained
# ones are exactly the planted changes, first.
#
# Run it as root (CAP_SYS_ADMIN: fanotify, mounts); it re-runs itself in a private mount
# namespace (unshare -m --propagation private) and mounts a tmpfs at W, so nothing it
# mounts is seen outside and nothing is left behind but OUT and CACHE. It needs jq,
# curl or wget, and network access to deb.debian.org. The first run makes CACHE/
# bookworm-minbase.tar.gz with debootstrap --variant=minbase (DEBOOTSTRAP names the
# debootstrap script; to run it without installing it:
#   apt-get download debootstrap && dpkg -x debootstrap_*.deb x &&
#   DEBOOTSTRAP_DIR=$PWD/x/usr/share/debootstrap DEBOOTSTRAP=$PWD/x/usr/sbin/debootstrap ...)
# and CACHE/bookworm-prepared.tar.gz, the root as it is before each baseline: the
# packages of OLD installed at their bookworm-updates versions (tzdata downgraded to
# it), which are older than bookworm's since the 12.x point releases folded them in,
# so that `apt-get upgrade` upgrades them back; and nano, less and bzip2, which the run
# removes (less) and purges (nano). A service is kept from starting by policy-rc.d.
# One run takes about a minute once both are cached (debootstrap: about a minute more).
#
# usage: FIM=path/to/fim [OUT=dir] [W=dir] [CACHE=dir] [VARIANTS="watch update nowatch"] bench/apt-e2e.sh
set -eu
if [ -z "${APT_E2E_NS:-}" ]; then
	FIM=$(realpath "${FIM:?set FIM to the fim binary}")
	export FIM APT_E2E_NS=1
	exec unshare -m --propagation private "$0" "$@"
fi

OUT=${OUT:-/var/tmp/apt-e2e-results}
W=${W:-/var/tmp/apt-e2e-root}
CACHE=${CACHE:-/var/tmp/apt-e2e-cache}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
VARIANTS=${VARIANTS:-watch update nowatch}
# Installed before the baseline at these (bookworm-updates) versions, upgraded by the run.
OLD=${OLD:-tzdata=2025b-0+deb12u1 openssl=3.0.17-1~deb12u2 libssl3=3.0.17-1~deb12u2}
# Installed before the baseline, removed (REMOVE) and purged (PURGE) by the run.
PRE=${PRE:-nano less bzip2}
REMOVE=${REMOVE:-less}
PURGE=${PURGE:-nano}
# Installed by the run, with their dependencies.
INSTALL=${INSTALL:-jq file htop strace lsof vim-tiny uuid-runtime}
DB=/var/lib/fim/baseline.db

mkdir -p "$OUT" "$CACHE" "$W"
WPID=
# a failure leaves no watch running
trap '[ -n "$WPID" ] && kill -TERM "$WPID" 2>/dev/null; wait; umount -R "$W" 2>/dev/null; rmdir "$W" 2>/dev/null' EXIT
mount -t tmpfs -o size=3G,mode=0755 apt-e2e "$W"
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
log() { echo "[$(date -u +%T)] $*" >&2; }

# mounts what a chroot at $1 needs to run apt
enter() {
	mount -t proc proc "$1/proc"
	mount --rbind /sys "$1/sys"
	mount --rbind /dev "$1/dev"
	cp /etc/resolv.conf "$1/etc/resolv.conf"
}
leave() { umount -R "$1/dev" "$1/sys" "$1/proc"; }

T0=$(date +%s)
if [ ! -s "$CACHE/bookworm-minbase.tar.gz" ]; then
	log "debootstrap --variant=minbase bookworm $MIRROR"
	s=$(date +%s)
	"${DEBOOTSTRAP:-debootstrap}" --variant=minbase bookworm "$W/base" "$MIRROR" >"$OUT/debootstrap.log" 2>&1
	tar -C "$W/base" --numeric-owner --xattrs -cpzf "$CACHE/bookworm-minbase.tar.gz.tmp" .
	mv "$CACHE/bookworm-minbase.tar.gz.tmp" "$CACHE/bookworm-minbase.tar.gz"
	rm -rf "$W/base"
	log "debootstrap took $(($(date +%s) - s))s"
fi
if [ ! -s "$CACHE/bookworm-prepared.tar.gz" ]; then
	log "preparing: $OLD $PRE"
	s=$(date +%s)
	P=$W/prep
	mkdir "$P"
	tar -C "$P" --numeric-owner --xattrs -xpzf "$CACHE/bookworm-minbase.tar.gz"
	cat >"$P/etc/apt/sources.list" <<-EOF
		deb $MIRROR bookworm main
		deb $MIRROR bookworm-updates main
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$P/usr/sbin/policy-rc.d" # no service starts in the chroot
	chmod 755 "$P/usr/sbin/policy-rc.d"
	enter "$P"
	# shellcheck disable=SC2086
	chroot "$P" sh -c "apt-get update -q && apt-get install -y -q --allow-downgrades $OLD $PRE && apt-get clean" >"$OUT/prepare.log" 2>&1
	leave "$P"
	tar -C "$P" --numeric-owner --xattrs -cpzf "$CACHE/bookworm-prepared.tar.gz.tmp" .
	mv "$CACHE/bookworm-prepared.tar.gz.tmp" "$CACHE/bookworm-prepared.tar.gz"
	rm -rf "$P"
	log "preparing took $(($(date +%s) - s))s"
fi

# plant C waits until dpkg runs in the chroot C, then plants the four changes from a
# process that does not descend from apt or dpkg, and writes their paths to $OUT/$V.planted.
plant() {
	local c=$1 v=$2 p found=
	for _ in $(seq 1 6000); do
		for p in $(pgrep -x dpkg || true); do
			[ "$(readlink "/proc/$p/root" 2>/dev/null)" = "$c" ] && found=$p
		done
		[ -n "$found" ] && break
		sleep 0.05
	done
	[ -n "$found" ] || { log "plant: dpkg never ran"; return 1; }
	sleep 0.3
	log "plant: dpkg $found runs; planting"
	chroot "$c" /bin/sh -ec '
		cp -p /usr/bin/hostname /tmp/hostname.orig
		printf "planted!" | dd of=/usr/bin/hostname bs=1 seek=8192 conv=notrunc status=none
		touch -r /tmp/hostname.orig /usr/bin/hostname
		cp /bin/bash /usr/local/bin/.x
		chmod 4755 /usr/local/bin/.x
		echo /usr/lib/x86_64-linux-gnu/libc.so.6 >/etc/ld.so.preload
		echo "* * * * * root /usr/local/bin/.x -p -c id >/dev/null" >/etc/cron.d/planted
		cmp -s /tmp/hostname.orig /usr/bin/hostname && exit 1
		[ "$(stat -c %s.%Y /tmp/hostname.orig)" = "$(stat -c %s.%Y /usr/bin/hostname)" ]
		rm /tmp/hostname.orig
	'
	printf '%s\n' /usr/bin/hostname /usr/local/bin/.x /etc/ld.so.preload /etc/cron.d/planted >"$OUT/$v.planted"
	log "plant: done (dpkg $found still running: $([ -d "/proc/$found" ] && echo yes || echo no))"
}

# fimc C ARGS... runs fim inside the chroot C
fimc() { local c=$1; shift; chroot "$c" /opt/fim/fim "$@"; }

variant() {
	local v=$1 C=$W/$1/root s wpid=
	s=$(date +%s)
	log "== $v"
	rm -f "$OUT/$v".*
	mkdir -p "$C"
	tar -C "$C" --numeric-owner --xattrs -xpzf "$CACHE/bookworm-prepared.tar.gz"
	enter "$C"
	mkdir -p "$C/opt/fim" "$C/var/lib/fim"
	cp "$FIM" "$C/opt/fim/fim"
	fimc "$C" baseline --db $DB /usr /etc /var/lib/dpkg >"$OUT/$v.baseline.txt" 2>&1
	case $v in
	watch) upd= ;;
	update) upd=--update=explained ;;
	esac
	if [ "$v" != nowatch ]; then
		# shellcheck disable=SC2086
		chroot "$C" /opt/fim/fim watch --db $DB --format json $upd >"$OUT/$v.watch.json" 2>"$OUT/$v.watch.stderr" &
		wpid=$!
		WPID=$wpid
		for _ in $(seq 1 600); do grep -q 'ready' "$OUT/$v.watch.stderr" && break; sleep 0.2; done
		grep -q 'ready' "$OUT/$v.watch.stderr" || { log "watch not ready"; cat "$OUT/$v.watch.stderr" >&2; return 1; }
		log "$(grep 'ready' "$OUT/$v.watch.stderr")"
	fi
	plant "$C" "$v" &
	local ppid=$!
	# shellcheck disable=SC2086
	{
		chroot "$C" apt-get update -q
		chroot "$C" apt-get install -y -q $INSTALL
		chroot "$C" apt-get upgrade -y -q
		chroot "$C" apt-get remove -y -q $REMOVE
		chroot "$C" apt-get purge -y -q $PURGE
	} >"$OUT/$v.apt.log" 2>&1
	wait $ppid
	grep -E '^(Setting up|Removing|Purging|Unpacking) ' "$OUT/$v.apt.log" | sed 's/^/    /' >&2
	if [ -n "$wpid" ]; then
		sleep 4 # the batch timeout (1s) and dedup window (2s)
		kill -TERM $wpid
		wait $wpid || log "watch exited $?"
		WPID=
	fi
	local rc=0
	fimc "$C" check --db $DB --color never >"$OUT/$v.check.txt" 2>&1 || rc=$?
	fimc "$C" check --db $DB --format json >"$OUT/$v.check.json" 2>"$OUT/$v.check.json.stderr" || true
	fimc "$C" check --db $DB --color never --show-explained >"$OUT/$v.check-all.txt" 2>&1 || true
	log "check exit $rc: $(grep '^fim: ' "$OUT/$v.check.txt" | head -1)"
	if [ "$v" = watch ]; then
		local f
		for f in "$C$DB"*; do cp -a "$f" "$C/var/lib/fim/accepted.db${f#"$C$DB"}"; done
		fimc "$C" accept --db /var/lib/fim/accepted.db --explained --color never >"$OUT/$v.accept.txt" 2>&1 || true
		fimc "$C" check --db /var/lib/fim/accepted.db --color never >"$OUT/$v.after-accept.txt" 2>&1 || true
		fimc "$C" check --db /var/lib/fim/accepted.db --format json >"$OUT/$v.after-accept.json" 2>/dev/null || true
		log "after accept --explained: $(grep '^fim: ' "$OUT/$v.after-accept.txt" | head -1)"
		cp "$C$DB.journal" "$OUT/$v.journal" 2>/dev/null || true
	fi
	cp "$C/var/log/dpkg.log" "$OUT/$v.dpkg.log"
	leave "$C"
	rm -rf "${W:?}/$v"
	log "$v took $(($(date +%s) - s))s"
}

# report V: what fim said, against what was planted
JQDEFS='def expl: (.verdict // "none") as $x | ["match","listed","removed","database","script"] | index($x) != null;
def verdicts: [.[] | .verdict // "none"] | group_by(.) | map("\(.[0]) \(length)") | join(", ");
def who: [(.writers // [.process])[] | select(. != null)
	| "\(.name // "?")[\(.pid)]\(if .gone then " gone" else "" end)\(if .lineage then " lineage " + (.lineage | tojson) else "" end)"] | join(", ");'
report() {
	local v=$1 planted
	planted=$(jq -R . "$OUT/$v.planted" | jq -sc 'sort')
	echo "== $v"
	grep '^fim: ' "$OUT/$v.check.txt" | head -1
	echo "-- check: unexplained events, in the order fim listed them (type, path, verdict, reason, severity):"
	jq -r "$JQDEFS"' select(.path != "" and (expl | not)) | "   " + ([.type, .path, (.verdict // "-"), (.verdict_reason // "-"), .severity] | join("  "))' "$OUT/$v.check.json"
	jq -s --argjson p "$planted" -r "$JQDEFS"'
		[.[] | select(.path != "")] as $e
		| [$e[] | select(expl | not) | .path] as $u
		| "-- check: \($e | length) events, \($u | length) unexplained; exactly the planted: \(($u | sort) == $p); planted first: \(($u[0:($p | length)] | sort) == $p)",
		  "-- check: verdicts: \($e | verdicts)"' "$OUT/$v.check.json"
	if [ -s "$OUT/$v.watch.json" ]; then
		echo "-- watch: $(grep -o 'ready.*' "$OUT/$v.watch.stderr" | head -1)"
		jq -s --argjson p "$planted" -r "$JQDEFS"'
			[.[] | select(.path != "")] as $e
			| "-- watch: \($e | length) events; verdicts: \($e | verdicts)",
			  "-- watch: the events of the planted paths:",
			  ($e[] | select(.path as $x | $p | index($x)) | "   \(.type) \(.path) \(.verdict // "-") (\(.verdict_reason // "-")) by \(who)"),
			  "-- watch: other unexplained events:",
			  ($e[] | select((.path as $x | $p | index($x) | not) and (expl | not))
				| "   \(.type) \(.path) \(.verdict // "-") (\(.verdict_reason // "-")) by \(who)")' "$OUT/$v.watch.json"
	fi
	if [ -s "$OUT/$v.after-accept.txt" ]; then
		echo "-- after accept --explained: $(grep '^fim: ' "$OUT/$v.after-accept.txt" | head -1)"
		jq -r 'select(.path != "") | "   \(.type) \(.path) \(.verdict // "-")"' "$OUT/$v.after-accept.json"
	fi
	echo
}

for v in $VARIANTS; do variant "$v"; done
{
	echo "apt-e2e: $(date -u +%FT%TZ), fim $("$FIM" --version 2>&1 | head -1), $(($(date +%s) - T0))s"
	echo "installed: $INSTALL; upgraded from: $OLD; removed: $REMOVE; purged: $PURGE"
	echo
	for v in $VARIANTS; do report "$v"; done
} >"$OUT/summary.txt"
cat "$OUT/summary.txt"


