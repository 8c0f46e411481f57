#!/usr/bin/env bash
# Packaging check: packs the solution into a temporary local feed, inspects the three packages (nuspec metadata,
# README, license, repository, XML docs, symbols, the buildTransitive targets, TorchSharp without a backend, ONNX
# Runtime's managed API without a native runtime), then builds and runs throwaway console applications
# (tests/PackageConsumer) that reference the packed EmbeddingDistillation plus libtorch-cpu-linux-x64 and run a tiny
# distillation through the public API, and the packed EmbeddingDistillation.Onnx plus Microsoft.ML.OnnxRuntime and
# run an ONNX teacher.
# Exits non-zero on any failure. Each run uses a unique package version (0.1.0-local.<timestamp>), so the global
# NuGet cache never serves a stale copy; the versions it adds to the cache are deleted again at the end.
set -euo pipefail
# (grep -q reads here-strings, not pipes: with pipefail, an early-exiting grep would fail the pipeline.)
root="$(cd "$(dirname "$0")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
start=$(date +%s)
version="0.1.0-local.$(date -u +%Y%m%d%H%M%S).$$"
work="$(mktemp -d -t ed-pack-check.XXXXXX)"
feed="$work/feed"
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"

cleanup() {
  rm -rf "$work"
  # Only the versions this run put into the global cache.
  rm -rf "${cache%/}/embeddingdistillation/$version" "${cache%/}/embeddingdistillation.vision/$version" "${cache%/}/embeddingdistillation.onnx/$version"
  rmdir --ignore-fail-on-non-empty "${cache%/}/embeddingdistillation" "${cache%/}/embeddingdistillation.vision" "${cache%/}/embeddingdistillation.onnx" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "check-packages: FAIL: $*" >&2; exit 1; }
step() { echo "== [$(( $(date +%s) - start )) s] $*"; }
# Builds a consumer application, checks that the core package's buildTransitive targets were imported, runs it and
# looks for the line it prints when it got to the end.
run_consumer() {
  local dir="$1" project="$2" what="$3" marker="$4" output
  dotnet build "$dir" -c Release -nologo -v:q
  grep -q "buildTransitive/EmbeddingDistillation.targets" "$dir/obj/$project.csproj.nuget.g.targets" \
    || fail "$what: the core package's buildTransitive targets are not imported"
  output="$(dotnet run --project "$dir" -c Release --no-build)" || { echo "$output"; fail "$what application failed"; }
  echo "$output" | sed 's/^/   /'
  grep -q "$marker" <<<"$output" || fail "$what application did not finish"
}


step "pack the solution (version $version)"
# PackageVersion (not Version) leaves the assembly versions alone, so an up-to-date build is reused.
dotnet pack "$root/EmbeddingDistillation.slnx" -c Release -o "$feed" -p:PackageVersion="$version" -nologo -v:q
# Exactly the three library packages and their symbol packages: nothing non-packable was packed.
expected="EmbeddingDistillation.$version.nupkg EmbeddingDistillation.$version.snupkg EmbeddingDistillation.Vision.$version.nupkg EmbeddingDistillation.Vision.$version.snupkg EmbeddingDistillation.Onnx.$version.nupkg EmbeddingDistillation.Onnx.$version.snupkg"
actual="$(cd "$feed" && ls | sort | tr '\n' ' ' | sed 's/ $//')"
[ "$actual" = "$(echo $expected | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" ] || fail "unexpected pack output: $actual"

step "inspect the packages"
for id in EmbeddingDistillation EmbeddingDistillation.Vision EmbeddingDistillation.Onnx; do
  pkg="$feed/$id.$version.nupkg"
  files="$(unzip -Z1 "$pkg")"
  nuspec="$(unzip -p "$pkg" "$id.nuspec")"
  for f in README.md "lib/net10.0/$id.dll" "lib/net10.0/$id.xml"; do
    grep -qx "$f" <<<"$files" || fail "$id: $f missing from the package"
  done
  for pattern in '<license type="expression">MIT</license>' '<readme>README.md</readme>' '<repository type="git" url="https://' \
                 '<projectUrl>https://' '<description>'; do
    grep -qF "$pattern" <<<"$nuspec" || fail "$id: nuspec lacks $pattern"
  done
  # A backend is the application's choice: no libtorch / TorchSharp-cpu / TorchSharp-cuda dependency, ever.
  if grep -qiE 'id="(libtorch|TorchSharp-c)' <<<"$nuspec"; then fail "$id: depends on a TorchSharp backend"; fi
  grep -qx "lib/net10.0/$id.pdb" <<<"$(unzip -Z1 "$feed/$id.$version.snupkg")" || fail "$id: symbol package lacks the pdb"
  echo "   $id: ok ($(stat -c %s "$pkg") bytes, $(grep -c '<dependency ' <<<"$nuspec") dependencies)"
done
core_nuspec="$(unzip -p "$feed/EmbeddingDistillation.$version.nupkg" EmbeddingDistillation.nuspec)"
grep -qE '<dependency id="TorchSharp" version="0\.107\.0"' <<<"$core_nuspec" || fail "core: no TorchSharp 0.107.0 dependency"
grep -qx "buildTransitive/EmbeddingDistillation.targets" <<<"$(unzip -Z1 "$feed/EmbeddingDistillation.$version.nupkg")" \
  || fail "core: buildTransitive/EmbeddingDistillation.targets missing"
cmp -s <(unzip -p "$feed/EmbeddingDistillation.$version.nupkg" buildTransitive/EmbeddingDistillation.targets) "$root/build/EmbeddingDistillation.targets" \
  || fail "core: packed targets differ from build/EmbeddingDistillation.targets"
# The ONNX package: the core at the same version and ONNX Runtime's managed API, never a native runtime (the
# application picks Microsoft.ML.OnnxRuntime or Microsoft.ML.OnnxRuntime.Gpu, as it picks its libtorch backend).
onnx_nuspec="$(unzip -p "$feed/EmbeddingDistillation.Onnx.$version.nupkg" EmbeddingDistillation.Onnx.nuspec)"
grep -qF "<dependency id=\"EmbeddingDistillation\" version=\"$version\"" <<<"$onnx_nuspec" || fail "onnx: no dependency on EmbeddingDistillation $version"
grep -qE '<dependency id="Microsoft\.ML\.OnnxRuntime\.Managed" version="1\.31\.1"' <<<"$onnx_nuspec" || fail "onnx: no Microsoft.ML.OnnxRuntime.Managed 1.31.1 dependency"
if grep -qE 'id="Microsoft\.ML\.OnnxRuntime(\.Gpu[^"]*)?"' <<<"$onnx_nuspec"; then fail "onnx: depends on a native ONNX Runtime"; fi
if grep -q '^runtimes/' <<<"$(unzip -Z1 "$feed/EmbeddingDistillation.Onnx.$version.nupkg")"; then fail "onnx: the package carries native libraries"; fi
core_files="$(unzip -Z1 "$feed/EmbeddingDistillation.$version.nupkg")"
if grep -qi 'onnxruntime' <<<"$core_nuspec$core_files"; then fail "core: references ONNX Runtime"; fi

step "package validation (ApiCompat) against the shipped 0.1.0 API"
# The 0.1.0 packages are committed in build/api-baseline (made by build/make-api-baseline.sh when 0.1.0 shipped):
# the SDK's package validation compares this pack's assemblies with them, so a removed or changed public member
# fails here, not in a user's build. PublicAPI.Shipped.txt says the same in source; this checks the binaries.
for project in EmbeddingDistillation EmbeddingDistillation.Vision EmbeddingDistillation.Onnx; do
  baseline="$root/build/api-baseline/$project.0.1.0.nupkg"
  # EmbeddingDistillation.Onnx is new since 0.1.0: it has no shipped API to stay compatible with yet.
  if [ "$project" = EmbeddingDistillation.Onnx ] && [ ! -f "$baseline" ]; then echo "   $project: new since 0.1.0, no baseline"; continue; fi
  [ -f "$baseline" ] || fail "$project: baseline package $baseline missing"
  dotnet pack "$root/src/$project/$project.csproj" -c Release -o "$work/validated" -p:PackageVersion="$version" -nologo -v:q \
    -p:EnablePackageValidation=true -p:PackageValidationBaselinePath="$baseline" -p:EnableStrictModeForBaselineValidation=false \
    || fail "$project: package validation against 0.1.0 failed (a breaking change to the shipped API)"
  echo "   $project: compatible with 0.1.0"
done

step "SourceLink (a clone of the committed tree with the public repository as its origin)"
# SourceLink maps the pdb's source paths to the repository URL at the commit; it needs git metadata and a remote,
# so the check packs a clone of HEAD (uncommitted changes are not in it) whose origin is the public repository.
src="$work/sourcelink"
git clone -q --no-hardlinks "$root" "$src"
repository="$(sed -n 's:.*<RepositoryUrl>\(.*\)</RepositoryUrl>.*:\1:p' "$root/Directory.Build.props")"
git -C "$src" remote set-url origin "$repository.git"
commit="$(git -C "$src" rev-parse HEAD)"
dotnet pack "$src/src/EmbeddingDistillation/EmbeddingDistillation.csproj" -c Release -o "$work/sourcelinked" -p:PackageVersion="$version" \
  -p:SourceLink=true -p:ContinuousIntegrationBuild=true -nologo -v:q
unzip -p "$work/sourcelinked/EmbeddingDistillation.$version.snupkg" lib/net10.0/EmbeddingDistillation.pdb > "$work/sourcelinked.pdb"
owner_repo="${repository#https://github.com/}"
grep -aqF "https://raw.githubusercontent.com/$owner_repo/$commit/" "$work/sourcelinked.pdb" \
  || fail "the pdb has no SourceLink map to https://raw.githubusercontent.com/$owner_repo/$commit/"
unzip -p "$work/sourcelinked/EmbeddingDistillation.$version.nupkg" EmbeddingDistillation.nuspec | grep -qF "commit=\"$commit\"" \
  || fail "the nuspec's repository element lacks commit $commit"
echo "   SourceLink: sources map to $repository at $commit"

step "consumer application"
app="$work/consumer"
mkdir -p "$app"
# Empty Directory.Build.* stop MSBuild from importing anything above the temporary folder.
echo '<Project />' > "$app/Directory.Build.props"
echo '<Project />' > "$app/Directory.Build.targets"
cat > "$app/NuGet.config" <<NUGET
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
NUGET
sed "s/@VERSION@/$version/" "$root/tests/PackageConsumer/PackageConsumer.csproj.template" > "$app/PackageConsumer.csproj"
cp "$root/tests/PackageConsumer/Program.cs" "$app/Program.cs"
run_consumer "$app" PackageConsumer "consumer" "PACKAGE CONSUMER OK"

step "a Vision-only consumer gets the core package and its Linux fix transitively"
vis="$work/vision-consumer"
mkdir -p "$vis"
cp "$app/Directory.Build.props" "$app/Directory.Build.targets" "$app/NuGet.config" "$vis/"
sed -e "s/<PackageReference Include=\"EmbeddingDistillation\"/<PackageReference Include=\"EmbeddingDistillation.Vision\"/" \
    -e "s/@VERSION@/$version/" "$root/tests/PackageConsumer/PackageConsumer.csproj.template" > "$vis/VisionConsumer.csproj"
echo 'Console.WriteLine(typeof(EmbeddingDistillation.Vision.ImageFolder).Assembly.GetName().Name);' > "$vis/Program.cs"
dotnet restore "$vis" -nologo -v:q
grep -q "buildTransitive/EmbeddingDistillation.targets" "$vis/obj/VisionConsumer.csproj.nuget.g.targets" \
  || fail "vision consumer: the core package's buildTransitive targets are not imported"

step "an ONNX consumer: EmbeddingDistillation.Onnx + the CPU ONNX Runtime, an exported network as ONNX teacher"
onnx="$work/onnx-consumer"
mkdir -p "$onnx"
cp "$app/Directory.Build.props" "$app/Directory.Build.targets" "$app/NuGet.config" "$onnx/"
sed -e "s|<PackageReference Include=\"EmbeddingDistillation\" Version=\"@VERSION@\" />|<PackageReference Include=\"EmbeddingDistillation.Onnx\" Version=\"$version\" />\n    <PackageReference Include=\"Microsoft.ML.OnnxRuntime\" Version=\"1.31.1\" />|" \
  "$root/tests/PackageConsumer/PackageConsumer.csproj.template" > "$onnx/OnnxConsumer.csproj"
grep -q "Microsoft.ML.OnnxRuntime" "$onnx/OnnxConsumer.csproj" || fail "onnx consumer: the project template changed; update this step"
cp "$root/tests/PackageConsumer/Onnx/Program.cs" "$onnx/Program.cs"
run_consumer "$onnx" OnnxConsumer "onnx consumer" "ONNX CONSUMER OK"

echo "check-packages: OK in $(( $(date +%s) - start )) s"
