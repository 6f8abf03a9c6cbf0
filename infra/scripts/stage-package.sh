#!/bin/sh
# Stages the exact Function App package that azd deploys (azure.yaml: dist: dist/package):
#   dist/bundle/index.js (+ .js.map, .js.LEGAL.txt)  host.json  package.json (main and type only)  policy/**
# The entry is one ESM file built by esbuild (build/bundle.mjs) with every dependency inside, so there is no
# node_modules: the only module it loads from outside is @azure/functions-core, which the Functions Node.js
# worker provides. Nothing else ships: no TypeScript sources, tests, sandbox, benchmarks, docs, infra, the
# unbundled dist/src or dev dependencies.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
out="$root/dist/package"

cd "$root"
npm run build

for required in dist/bundle/index.js dist/bundle/index.js.map dist/bundle/index.js.LEGAL.txt host.json package.json policy; do
  if [ ! -e "$required" ]; then
    echo "stage-package: $required is missing; nothing deployed" >&2
    exit 1
  fi
done

rm -rf "$out"
mkdir -p "$out/dist/bundle"
cp dist/bundle/index.js dist/bundle/index.js.map dist/bundle/index.js.LEGAL.txt "$out/dist/bundle/"
cp host.json "$out/"
cp -R policy "$out/policy"
# What the Functions host reads from package.json: the entry (`main`) and that it is ESM (`type`).
node build/package-json.mjs > "$out/package.json"

echo "stage-package: staged $(find "$out" -type f | wc -l | tr -d ' ') files in $out"
