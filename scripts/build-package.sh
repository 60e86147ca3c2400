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

# The image build context (bin/agent-image/): what agent-image/Dockerfile and user-agent.Dockerfile
# copy, with their hash locks, and nothing else (no tests, benchmarks, .in files or caches). The
# components find it two levels above their compiled modules (components/workload/image-context.ts),
# as they find agent-image/ in the repository, so `images.build` and `npx agentscope-ack-images`
# work from node_modules. A change of what the Dockerfile copies is a change here:
# test/package/package.test.ts checks every COPY source is shipped.
context_files=(Dockerfile user-agent.Dockerfile .containerignore .dockerignore install-deps.sh
  requirements.txt requirements-sandbox-manager.txt requirements-sandbox.txt requirements-agentscope2.txt)
context_dirs=(friday stand_in_model sandbox_server sandbox_manager_ext one_ssl_context agent_launcher
  agentscope2_launcher observability workspace_reaper)
mkdir -p "$out/agent-image"
for f in "${context_files[@]}"; do cp agent-image/"$f" "$out/agent-image/$f"; done
for d in "${context_dirs[@]}"; do
  (cd agent-image && find "$d" -name __pycache__ -prune -o -type f -print0) |
    while IFS= read -r -d '' f; do mkdir -p "$out/agent-image/$(dirname "$f")" && cp "agent-image/$f" "$out/agent-image/$f"; done
done
