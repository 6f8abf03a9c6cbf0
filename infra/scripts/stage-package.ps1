# Windows twin of stage-package.sh: stages the exact Function App package azd deploys (dist/package):
#   dist/src/**  host.json  package.json  package-lock.json  policy/**  node_modules (production only)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
$out = Join-Path $root 'dist/package'

Push-Location $root
try {
  npm run build
  if ($LASTEXITCODE -ne 0) { throw 'stage-package: npm run build failed' }

  foreach ($required in @('dist/src/index.js', 'host.json', 'package.json', 'package-lock.json', 'policy')) {
    if (-not (Test-Path $required)) { throw "stage-package: $required is missing; nothing deployed" }
  }

  if (Test-Path $out) { Remove-Item -Recurse -Force $out }
  New-Item -ItemType Directory -Force -Path (Join-Path $out 'dist') | Out-Null
  Copy-Item -Recurse 'dist/src' (Join-Path $out 'dist/src')
  Copy-Item 'host.json', 'package.json', 'package-lock.json' $out
  Copy-Item -Recurse 'policy' (Join-Path $out 'policy')
}
finally {
  Pop-Location
}

Push-Location $out
try {
  # Exactly the locked production dependencies; none of them needs an install script.
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund
  if ($LASTEXITCODE -ne 0) { throw 'stage-package: npm ci failed' }
}
finally {
  Pop-Location
}
