# Windows twin of stage-package.sh: stages the exact Function App package azd deploys (dist/package):
#   dist/bundle/index.js (+ .js.map, .js.LEGAL.txt)  host.json  package.json (main and type only)  policy/**
# The entry is one ESM file with every dependency inside (build/bundle.mjs), so there is no node_modules: the
# only module it loads from outside is @azure/functions-core, which the Functions Node.js worker provides.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
$out = Join-Path $root 'dist/package'

Push-Location $root
try {
  npm run build
  if ($LASTEXITCODE -ne 0) { throw 'stage-package: npm run build failed' }

  foreach ($required in @('dist/bundle/index.js', 'dist/bundle/index.js.map', 'dist/bundle/index.js.LEGAL.txt', 'host.json', 'package.json', 'policy')) {
    if (-not (Test-Path $required)) { throw "stage-package: $required is missing; nothing deployed" }
  }

  if (Test-Path $out) { Remove-Item -Recurse -Force $out }
  New-Item -ItemType Directory -Force -Path (Join-Path $out 'dist/bundle') | Out-Null
  Copy-Item 'dist/bundle/index.js', 'dist/bundle/index.js.map', 'dist/bundle/index.js.LEGAL.txt' (Join-Path $out 'dist/bundle')
  Copy-Item 'host.json' $out
  Copy-Item -Recurse 'policy' (Join-Path $out 'policy')
  # What the Functions host reads from package.json: the entry (`main`) and that it is ESM (`type`).
  $packageJson = node build/package-json.mjs
  if ($LASTEXITCODE -ne 0) { throw 'stage-package: writing package.json failed' }
  # UTF-8 without a byte order mark: Node's JSON.parse of package.json refuses one.
  [System.IO.File]::WriteAllLines((Join-Path $out 'package.json'), [string[]]$packageJson)
}
finally {
  Pop-Location
}
