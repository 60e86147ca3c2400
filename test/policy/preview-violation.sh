#!/usr/bin/env bash
# The policy pack under the real Pulumi engine: `pulumi preview --policy-pack policy` on
# test/policy/preview-fixture, a program with one deliberate violation (an image by tag from
# Docker Hub). Passes when the preview fails, the pack reports that violation as mandatory on the
# Deployment, and reports nothing else.
#
# Needs on PATH: pulumi, pulumi-language-nodejs and pulumi-resource-kubernetes (the directory that
# e2e/toolchain/build.sh prints as E2E_BIN_DIR), node, and the repository's node_modules (npm ci).
# Environment (optional):
#   E2E_KUBECONFIG   preview against this cluster; unset, the provider renders YAML and needs none.
# Everything it writes (state backend, PULUMI_HOME, rendered YAML) goes to a temporary directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
fixture="$here/preview-fixture"

for tool in pulumi pulumi-language-nodejs pulumi-resource-kubernetes node; do
  command -v "$tool" >/dev/null || { echo "preview-violation.sh: $tool is not on PATH" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PULUMI_HOME="$work/home"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE="policy-preview-fixture"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export RENDER_DIR="$work/rendered"
mkdir -p "$work/state"

pulumi stack init fixture --cwd "$fixture" --non-interactive >/dev/null

preview() {
  set +e
  pulumi preview --cwd "$fixture" --stack fixture --non-interactive --color never \
    --policy-pack "$1" >"$work/out.txt" 2>&1
  code=$?
  set -e
}

pack="$repo/policy"
preview "$pack"
if grep -q "could not read plugin .*not supported" "$work/out.txt"; then
  # The CLI starts a Node.js pack through the language host's RunPlugin; hosts built from
  # sdk/v3 <= v3.68.0 (all the Go module proxy serves) lack it. The CLI's older path still works:
  # a pack whose runtime has no language host is started by `pulumi-analyzer-policy-<runtime>`,
  # here a two-line shim around @pulumi/pulumi/cmd/run-policy-pack. Same code, same config.
  echo "preview-violation.sh: this pulumi-language-nodejs cannot run policy packs; starting the same pack through pulumi-analyzer-policy-nodejs-policy" >&2
  pack="$work/policy"
  mkdir -p "$pack" "$work/shim"
  cp -r "$repo/policy/index.ts" "$repo/policy/rules" "$repo/policy/package.json" "$repo/policy/tsconfig.json" "$pack/"
  if [[ -d "$repo/policy/node_modules" ]]; then ln -s "$repo/policy/node_modules" "$pack/node_modules"; else ln -s "$repo/node_modules" "$pack/node_modules"; fi
  sed 's/^runtime: nodejs$/runtime: nodejs-policy/' "$repo/policy/PulumiPolicy.yaml" >"$pack/PulumiPolicy.yaml"
  cat >"$work/shim/pulumi-analyzer-policy-nodejs-policy" <<'SHIM'
#!/bin/sh
exec node "$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))")" "$@"
SHIM
  chmod +x "$work/shim/pulumi-analyzer-policy-nodejs-policy"
  PATH="$work/shim:$PATH" preview "$pack"
fi
pulumi stack rm fixture --cwd "$fixture" --yes --force --non-interactive >/dev/null 2>&1 || true
rm -f "$fixture/Pulumi.fixture.yaml"

fail() {
  echo "preview-violation.sh: $*" >&2
  echo "----- pulumi preview output -----" >&2
  cat "$work/out.txt" >&2
  exit 1
}

[[ $code -ne 0 ]] || fail "the preview succeeded although the fixture breaks a mandatory rule"
grep -q "mandatory" "$work/out.txt" || fail "no mandatory policy violation reported"
grep -q "workload-containers" "$work/out.txt" || fail "the workload-containers policy reported nothing"
grep -q 'container "app": image nginx:1.27 is not pinned by digest' "$work/out.txt" || fail "the digest violation is missing"
grep -q 'image nginx:1.27 comes from docker.io, which is not an allowed registry' "$work/out.txt" || fail "the registry violation is missing"
for other in ack-cluster acr-registry acr-pulls-over-vpc network-isolation no-open-loadbalancer acs-pod-sizing rbac-least-privilege rbac-secret-read-scope; do
  if grep -q "$other" "$work/out.txt"; then fail "policy $other reported a violation the fixture does not have"; fi
done
echo "preview-violation.sh: pulumi preview --policy-pack policy reported the deliberate violation and failed (exit $code)"
sed -n '/^Policies:/,/^Resources:/p' "$work/out.txt"
