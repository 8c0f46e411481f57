#!/usr/bin/env bash
# Records the current public API of the packages in src/*/PublicAPI.Unshipped.txt (Microsoft.CodeAnalysis.PublicApiAnalyzers).
# Run it after an intentional public API change; review the diff of the .txt files like any other change.
# Additions come from RS0016 (not declared), removals from RS0017 (declared but gone). Only PublicAPI.Unshipped.txt is
# edited: removing a member of PublicAPI.Shipped.txt (0.1.0) is a breaking change, left for a person to decide (and
# build/check-packages.sh fails on it against build/api-baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
for project in ${ED_API_PROJECTS:-src/EmbeddingDistillation src/EmbeddingDistillation.Vision src/EmbeddingDistillation.Onnx}; do
  file="$project/PublicAPI.Unshipped.txt"
  log="$(mktemp)"
  dotnet build "$project" -c Release --no-incremental -p:TreatWarningsAsErrors=false > "$log" 2>&1 || true
  added="$(grep -oP "(?:error|warning) RS0016: Symbol '\K.*(?=' is not part of the declared public API)" "$log" | sort -u || true)"
  removed="$(grep -oP "(?:error|warning) RS0017: Symbol '\K.*(?=' is part of the declared API, but is either not public or could not be found)" "$log" | sort -u || true)"
  body="$(tail -n +2 "$file")"
  if [ -n "$removed" ]; then body="$(grep -vxF -f <(printf '%s\n' "$removed") <<<"$body" || true)"; fi
  { echo "#nullable enable"; { printf "%s\n" "$body"; printf "%s\n" "$added"; } | { grep -v "^$" || true; } | LC_ALL=C sort -u; } > "$file"
  echo "$project: $(printf '%s' "$added" | grep -c . || true) added, $(printf '%s' "$removed" | grep -c . || true) removed"
  rm -f "$log"
done
