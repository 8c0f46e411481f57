#!/usr/bin/env bash
# CI smoke job for the benchmarks: every loss benchmark case runs once (dry, in-process, batch 32, dimension 128),
# which proves they still execute; it takes well under 2 minutes. Exits non-zero if the run fails or any case has
# no result (BenchmarkDotNet reports a failed case as NA instead of failing the process).
# Needs a Release build (CI builds first).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

LOSS_BENCH_SMOKE=1 timeout 110 dotnet run -c Release --no-build --project benchmarks/EmbeddingDistillation.Benchmarks -- \
  --filter '*.Losses.*' --exporters csv --artifacts "$out" > "$out/log.txt" 2>&1 || {
  cat "$out/log.txt"; echo "benchmark smoke: the run failed" >&2; exit 1; }

status=0
for class in LossBenchmarks RkdAngleBenchmarks; do
  csv="$out/results/EmbeddingDistillation.Benchmarks.Losses.$class-report.csv"
  if [ ! -s "$csv" ]; then echo "benchmark smoke: no results for $class" >&2; status=1; continue; fi
  # Every row must have a Mean; a failed case shows NA.
  awk -F',' -v class="$class" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "Mean") m = i; next }
    { rows++; if (m == 0 || $m == "NA" || $m == "") { print "benchmark smoke: " class " case failed: " $0 > "/dev/stderr"; bad = 1 } }
    END { if (rows == 0) { print "benchmark smoke: " class " has no rows" > "/dev/stderr"; bad = 1 } exit bad }' "$csv" || status=1
done
[ "$status" -eq 0 ] && echo "benchmark smoke: all loss benchmark cases ran"
exit "$status"
