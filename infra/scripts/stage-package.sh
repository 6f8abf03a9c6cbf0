#!/bin/sh
# Stages the exact Function App package that azd deploys (azure.yaml: dist: dist/package):
#   dist/src/**  host.json  package.json  package-lock.json  policy/**  node_modules (production only)
# Nothing else ships: no TypeScript sources, tests, sandbox, benchmarks, docs, infra or dev dependencies.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
out="$root/dist/package"

cd "$root"
npm run build

for required in dist/src/index.js host.json package.json package-lock.json policy; do
  if [ ! -e "$required" ]; then
    echo "stage-package: $required is missing; nothing deployed" >&2
    exit 1
  fi
done

rm -rf "$out"
mkdir -p "$out/dist"
cp -R dist/src "$out/dist/src"
cp host.json package.json package-lock.json "$out/"
cp -R policy "$out/policy"

cd "$out"
# Exactly the locked production dependencies; none of them needs an install script.
npm ci --omit=dev --ignore-scripts --no-audit --no-fund

echo "stage-package: staged $(find . -type f | wc -l | tr -d ' ') files in $out"
