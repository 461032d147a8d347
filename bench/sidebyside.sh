#!/usr/bin/env bash
# Replay timings of two (or more) eksguard binaries on the same archive, in
# alternation, so that both see the same machine load:
#
#   bench/sidebyside.sh ARCHIVE ROUNDS BIN...
#
# Prints one line per run: wall seconds, CPU seconds (user, sys), max RSS,
# load average, and checks that every binary printed the same findings.
set -euo pipefail
archive=$1 rounds=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
find "$archive" -name '*.json.gz' -print0 | xargs -0 cat >/dev/null # warm page cache
for ((i = 1; i <= rounds; i++)); do
	for bin in "$@"; do
		n=$(basename "$bin")
		/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$bin" replay --output json --fail-on none "$archive" >"$tmp/$n.json"
		read -r wall user sys rss <"$tmp/time"
		printf 'round %d %-16s wall %6.2f s  cpu %5.2f s (user %5.2f sys %4.2f)  max RSS %6d KB  load %s\n' \
			"$i" "$n" "$wall" "$(echo "$user + $sys" | bc)" "$user" "$sys" "$rss" "$(cut -d' ' -f1 /proc/loadavg)"
	done
done
first=""
for bin in "$@"; do
	sum=$(sha256sum <"$tmp/$(basename "$bin").json")
	if [ -z "$first" ]; then first=$sum; elif [ "$sum" != "$first" ]; then
		echo "findings differ: $bin" >&2
		exit 1
	fi
done
echo "findings identical across binaries ($(wc -l <"$tmp/$(basename "$1").json") lines)"
