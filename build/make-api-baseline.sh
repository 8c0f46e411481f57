#!/usr/bin/env bash
# Writes build/api-baseline/<package>.0.1.0.nupkg: the shipped 0.1.0 packages that build/check-packages.sh validates
# every later pack against (the SDK's package validation). Run once, when a version ships, from its commit.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-0.1.0}"
out="build/api-baseline"
mkdir -p "$out"
for project in EmbeddingDistillation EmbeddingDistillation.Vision EmbeddingDistillation.Onnx; do
  [ -d "src/$project" ] || continue  # a package that did not exist in that version
  dotnet pack "src/$project/$project.csproj" -c Release -o "$out" -p:PackageVersion="$version" -p:IncludeSymbols=false -nologo -v:q
done
rm -f "$out"/*.snupkg
ls -l "$out"
