#!/usr/bin/env bash
# Builds what the npm package ships (package.json "files"), from scratch, into bin/:
#   bin/components/   the components as JavaScript + .d.ts (tsconfig.build.json), and
#                     components/assets/** copied next to them, so that a component's
#                     path.join(__dirname, "assets", ...) finds its file in the installed package;
#   bin/policy/       the policy pack compiled to JavaScript, with its PulumiPolicy.yaml,
#                     package.json (its version names the pack) and per-environment config/*.json.
#                     Compiled because ts-node does not compile files under node_modules/.
# Run by `npm run build` and by npm's `prepack` (so `npm pack` and `npm publish` never ship a
# stale or missing build). Needs the root node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bin
tsc=node_modules/.bin/tsc
[[ -x $tsc ]] || { echo "build-package.sh: $tsc is missing: run npm ci first" >&2; exit 1; }

# A fresh directory: a file left from a deleted source must not end up in the tarball.
rm -rf "$out"
"$tsc" -p tsconfig.build.json
if [[ -d components/assets ]]; then
  cp -R components/assets "$out/components/assets"
fi

"$tsc" -p policy/tsconfig.json --outDir "$out/policy"
cp policy/PulumiPolicy.yaml policy/package.json policy/README.md "$out/policy/"
cp -R policy/config "$out/policy/config"
