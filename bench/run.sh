#!/usr/bin/env bash
# make bench: every figure of BENCHMARKS.md, on this machine.
#
#   BENCH_SIZE   uncompressed size of the generated archive (default 1GiB; e.g. 100MB for a quick run)
#   BENCH_RUNS   runs of each archive timing, best kept (default 3; jq runs once)
#   BENCH_COUNT  -count of the Go benchmarks (default 6)
#   BENCH_COLD   cold starts per function (default 10)
#   BENCH_SCAN_CLUSTERS  clusters of the scan benchmark (default 20, a tenth of the issue's 200: at 10 calls/s
#                per action the full size has a 1000 s floor; BENCH_SCAN_CLUSTERS=200 for it)
#
# Outputs go to bench/out/ (gitignored); the summary is also in bench/out/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
SIZE=${BENCH_SIZE:-1GiB}
RUNS=${BENCH_RUNS:-3}
COUNT=${BENCH_COUNT:-6}
COLD=${BENCH_COLD:-10}
SCAN_CLUSTERS=${BENCH_SCAN_CLUSTERS:-20}
SEED=1
OUT=bench/out
ARCHIVE=$OUT/archive-$SIZE-seed$SEED
JQ_FILTER='.Records[] | select(.eventSource=="eks.amazonaws.com" or .eventSource=="iam.amazonaws.com")'
mkdir -p "$OUT"

for tool in jq gzip bc /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (Debian: apt-get install jq gzip bc time)" >&2; exit 1; }
done

say() { printf '\n== %s\n' "$*"; }
# median VALUES...: the middle value (the lower of the two middle ones).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

say "machine"
echo "$(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')  $($GO version | cut -d' ' -f3)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

say "Go benchmarks (-count $COUNT; median shown, all runs in $OUT/gobench.txt)"
$GO test -run '^$' -bench 'AssessInScope|SkipIrrelevant' -benchmem -count "$COUNT" ./shared/replay/ >"$OUT/gobench.txt"
$GO test -run '^$' -bench 'SplitAndPeek' -benchmem -count "$COUNT" ./shared/trailfile/ >>"$OUT/gobench.txt"
for b in AssessInScope SkipIrrelevant SplitAndPeek; do
	ns=$(median $(awk -v b="Benchmark$b-" 'index($1,b)==1 {print $3}' "$OUT/gobench.txt"))
	allocs=$(awk -v b="Benchmark$b-" 'index($1,b)==1 {for (i=1;i<=NF;i++) if ($i=="allocs/op") a=$(i-1)} END {print a}' "$OUT/gobench.txt")
	mbs=$(median $(awk -v b="Benchmark$b-" 'index($1,b)==1 {for (i=1;i<=NF;i++) if ($i=="MB/s") print $(i-1)}' "$OUT/gobench.txt"))
	printf '%-16s %12s ns/op %10s MB/s %4s allocs/op\n' "$b" "$ns" "$mbs" "$allocs"
	declare "GB_$b=$ns" "GA_$b=$allocs"
done

say "archive ($SIZE, seed $SEED)"
if [ ! -f "$ARCHIVE/.summary" ]; then
	rm -rf "$ARCHIVE"
	$GO run ./bench/gen -out "$ARCHIVE" -size "$SIZE" -seed "$SEED" | tee "$OUT/gen.txt"
	mv "$OUT/gen.txt" "$ARCHIVE/.summary"
else
	cat "$ARCHIVE/.summary"
fi
RAW=$(sed -E 's/.*records \([0-9]+ in scope\), ([0-9]+) bytes uncompressed.*/\1/' "$ARCHIVE/.summary")
RECORDS=$(sed -E 's/.*files, ([0-9]+) records.*/\1/' "$ARCHIVE/.summary")
find "$ARCHIVE" -name '*.json.gz' | sort >"$OUT/files.txt"
xargs cat <"$OUT/files.txt" >/dev/null # same warm page cache for every tool

$GO build -o "$OUT/eksguard" ./cmd/eksguard

# best TIMES...: the smallest.
best() { printf '%s\n' "$@" | sort -g | head -1; }
# timed LABEL CMD: run CMD under /usr/bin/time RUNS times; sets T_LABEL (best wall s) and M_LABEL (its max RSS KB).
timed() {
	local label=$1 n=$2 cmd=$3 walls=() mem=() i
	for ((i = 0; i < n; i++)); do
		/usr/bin/time -f '%e %M %U %S' -o "$OUT/time.txt" bash -o pipefail -c "$cmd"
		read -r w m u s <"$OUT/time.txt"
		walls+=("$w")
		mem+=("$m")
		printf '  %-8s run %d: %6.2f s wall, %6.2f s CPU, %7d KB max RSS\n' "$label" $((i + 1)) "$w" "$(echo "$u + $s" | bc)" "$m"
	done
	declare -g "T_$label=$(best "${walls[@]}")" "M_$label=$(printf '%s\n' "${mem[@]}" | sort -g | tail -1)"
}

say "replay vs gunzip vs jq over the same files (best of $RUNS; jq once)"
timed gunzip "$RUNS" "xargs gzip -dc <'$OUT/files.txt' >/dev/null"
timed eksguard "$RUNS" "'$OUT/eksguard' replay --output json --fail-on none '$ARCHIVE' >/dev/null"
timed jq 1 "xargs gzip -dc <'$OUT/files.txt' | jq -c '$JQ_FILTER' | wc -l >'$OUT/jq-count.txt'"
"$OUT/eksguard" replay --fail-on none "$ARCHIVE" | tail -1 | sed 's/^/  eksguard: /'
echo "  jq: $(cat "$OUT/jq-count.txt") records selected (EKS and IAM events)"

say "replay vs inflate alone vs replay from S3 (BenchmarkArchive, one process; $RUNS rounds, median)"
# Sub-benchmarks of one run see the same machine; rounds alternate them again. cpu-ms/op is the
# process's CPU time (user + system), steadier than wall time on a shared machine.
: >"$OUT/archive.txt"
for ((i = 0; i < RUNS; i++)); do
	EKSGUARD_BENCH_ARCHIVE=$PWD/$ARCHIVE $GO test -run '^$' -bench Archive -benchtime 3x ./bench/gen/ | grep '^BenchmarkArchive' | tee -a "$OUT/archive.txt"
done
for b in replay s3 inflate; do
	declare "AW_$b=$(median $(awk -v b="BenchmarkArchive/$b-" 'index($1,b)==1 {print $3/1e9}' "$OUT/archive.txt"))"
	declare "AC_$b=$(median $(awk -v b="BenchmarkArchive/$b-" 'index($1,b)==1 {for (i=1;i<=NF;i++) if ($i=="cpu-ms/op") print $(i-1)/1000}' "$OUT/archive.txt"))"
done
say "DuckDB selection over the same files (read_json_objects + unnest + filter, $(nproc) threads; best of $RUNS)"
DUCKDB_DIR=$OUT/duckdb
if [ ! -d "$DUCKDB_DIR/node_modules/@duckdb/node-api" ] && command -v npm >/dev/null; then
	mkdir -p "$DUCKDB_DIR"
	npm install --no-audit --no-fund --prefix "$DUCKDB_DIR" @duckdb/node-api >"$OUT/duckdb-install.txt" 2>&1 || true
fi
if command -v node >/dev/null && [ -d "$DUCKDB_DIR/node_modules/@duckdb/node-api" ]; then
	timed duckdb "$RUNS" "node bench/duckdb.cjs '$DUCKDB_DIR' '$ARCHIVE' $(nproc) >'$OUT/duckdb-count.txt'"
	echo "  duckdb: $(cut -d' ' -f1 "$OUT/duckdb-count.txt") records selected (EKS and IAM calls with readOnly false)"
else
	echo "  skipped: @duckdb/node-api could not be installed (see $OUT/duckdb-install.txt) or node is missing"
fi
if command -v igzip >/dev/null; then
	timed igzip "$RUNS" "xargs -P $(nproc) -n 16 igzip -dc <'$OUT/files.txt' >/dev/null"
fi

mbps() { echo "scale=0; $RAW / 1000000 / $1" | bc; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }

say "bootstraps (make build: linux/arm64)"
make --no-print-directory build >/dev/null
SIZES=""
MAXBOOT=0
for f in build/*/bootstrap; do
	n=$(stat -c %s "$f")
	mb=$(printf '%.1f' "$(echo "scale=3; $n / 1000000" | bc)")
	printf '  %-10s %10d bytes (%s MB)\n' "$(basename "$(dirname "$f")")" "$n" "$mb"
	SIZES="$SIZES $(basename "$(dirname "$f")")=${mb}MB"
	if ((n > MAXBOOT)); then MAXBOOT=$n; fi
done

say "cold start under the Lambda runtime emulator ($COLD per function, bootstraps built for $($GO env GOARCH))"
$GO test -tags e2e -run '^$' -bench ColdStart -benchtime "${COLD}x" -timeout 30m ./bench/coldstart/ | tee "$OUT/coldstart.txt" | grep Benchmark || true
MAXCOLD=$(awk '/ms-to-first-answer/ {for (i=1;i<=NF;i++) if ($i=="ms-to-first-answer") print $(i-1)}' "$OUT/coldstart.txt" | sort -g | tail -1)

say "eksguard scan reader vs a throttled fake ($SCAN_CLUSTERS clusters x 50 access entries x 2 policies, 2 node groups; 20 ms a call, 10 calls/s per action)"
$GO build -o "$OUT/benchscan" ./bench/scan
for mode in adaptive paced; do
	"$OUT/benchscan" -clusters "$SCAN_CLUSTERS" -mode "$mode" | tee "$OUT/scan-$mode.txt" | tail -1 | sed "s/^/  $mode: /"
	declare "SR_$mode=$(sed -nE 's/.* ratio ([0-9.]+)x.*/\1/p' "$OUT/scan-$mode.txt")"
	declare "SW_$mode=$(sed -nE 's/^wall ([0-9.]+)s.*/\1/p' "$OUT/scan-$mode.txt")"
	declare "SF_$mode=$(sed -nE 's/.*; ([0-9]+) clusters read, ([0-9]+) failed.*/\2/p' "$OUT/scan-$mode.txt")"
done

verdict() { if [ "$(echo "scale=3; $1" | bc)" = 1 ]; then echo met; else echo MISSED; fi; }
{
	echo
	echo "== summary ($SIZE archive: $RECORDS records, $RAW bytes uncompressed)"
	printf '%-44s %-28s %s\n' "figure" "measured" "target"
	printf '%-44s %-28s %s (%s)\n' "decode+assess, in-scope event" "$GB_AssessInScope ns, $GA_AssessInScope allocs" "< 20000 ns" "$(verdict "$GB_AssessInScope < 20000")"
	printf '%-44s %-28s %s\n' "skip an irrelevant event" "$GB_SkipIrrelevant ns, $GA_SkipIrrelevant allocs" "-"
	printf '%-44s %-28s %s\n' "gunzip (gzip -dc, 1 core)" "$T_gunzip s, $(mbps "$T_gunzip") MB/s" "-"
	printf '%-44s %-28s %s\n' "jq select (gzip -dc | jq)" "$T_jq s, $(mbps "$T_jq") MB/s" "-"
	printf '%-44s %-28s %s\n' "eksguard replay (full assessment)" "$T_eksguard s, $(mbps "$T_eksguard") MB/s" "-"
	printf '%-44s %-28s %s (%s)\n' "jq time / eksguard time" "$(ratio "$T_jq" "$T_eksguard")x" ">= 5x" "$(verdict "$T_jq / $T_eksguard >= 5")"
	printf '%-44s %-28s %s (%s)\n' "eksguard time / gunzip time" "$(ratio "$T_eksguard" "$T_gunzip")x" "<= 1.5x" "$(verdict "$T_eksguard / $T_gunzip <= 1.5")"
	printf '%-44s %-28s %s (%s)\n' "replay / inflate alone, CPU (BenchmarkArchive)" "$(ratio "$AC_replay" "$AC_inflate")x ($AC_replay s / $AC_inflate s)" "<= 1.25x" "$(verdict "$AC_replay / $AC_inflate <= 1.25")"
	printf '%-44s %-28s %s\n' "replay / inflate alone, wall" "$(ratio "$AW_replay" "$AW_inflate")x ($AW_replay s / $AW_inflate s)" "-"
	printf '%-44s %-28s %s (%s)\n' "S3 (in-process fake) / local throughput" "$(ratio "$AW_replay" "$AW_s3")x ($AW_s3 s, CPU $AC_s3 s)" ">= 0.8x" "$(verdict "$AW_replay / $AW_s3 >= 0.8")"
	if [ -n "${T_duckdb:-}" ]; then printf '%-44s %-28s %s (%s)\n' "DuckDB time / eksguard time" "$(ratio "$T_duckdb" "$T_eksguard")x ($T_duckdb s)" ">= 5x" "$(verdict "$T_duckdb / $T_eksguard >= 5")"; fi
	if [ -n "${T_igzip:-}" ]; then printf '%-44s %-28s %s\n' "igzip -d, $(nproc) processes (ISA-L floor)" "$T_igzip s" "-"; fi
	printf '%-44s %-28s %s (%s)\n' "eksguard peak RSS" "$(printf '%.1f' "$(echo "scale=3; $M_eksguard / 1024" | bc)") MiB" "< 100 MB" "$(verdict "$M_eksguard < 102400")"
	printf '%-44s %-28s %s (%s)\n' "largest bootstrap" "$(printf '%.1f' "$(echo "scale=3; $MAXBOOT / 1000000" | bc)") MB" "<= 15 MB" "$(verdict "$MAXBOOT <= 15000000")"
	printf '%-44s %-28s %s (%s)\n' "start to first answer (slowest fn, median)" "${MAXCOLD:-?} ms" "<= 50 ms" "$(verdict "${MAXCOLD:-999} <= 50")"
	printf '%-44s %-28s %s (%s)\n' "scan / throttle floor, adaptive retry alone" "${SR_adaptive}x (${SW_adaptive} s, $SF_adaptive failed)" "<= 1.3x" "$(verdict "$SR_adaptive <= 1.3")"
	printf '%-44s %-28s %s (%s)\n' "scan / throttle floor, paced per action" "${SR_paced}x (${SW_paced} s, $SF_paced failed)" "<= 1.3x" "$(verdict "$SR_paced <= 1.3")"
	echo "bootstraps:$SIZES"
} | tee "$OUT/summary.txt"
