#!/usr/bin/env bash
# Builds the Jaeger v2 binary (`cmd/jaeger`) from the Go module proxy with the ordinary `go`
# client, for the local trace viewer image (Containerfile beside this script).
#
# Usage: e2e/images/jaeger/build.sh
# The binary goes to a cache directory keyed by the version and by the inputs of the build
# (go version, this script, the wrapper module), never into the repository:
#   ${AGENTSCOPE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentscope-e2e}/<key>/context
# That directory is the image's build context: the binary and the config (config.yaml here).
# A binary already there is not rebuilt. It has its own key, apart from e2e/toolchain/build.sh,
# so that changing one never rebuilds the other.
#
# Output: progress and timings on stderr; exactly one line on stdout,
#   JAEGER_CONTEXT=<absolute path of the build context>
#
# The UI: the module ships only a placeholder page (cmd/query/app/ui/placeholder); the real
# assets come from the separate jaeger-ui project, which no package registry publishes. So the
# binary serves the query API (/api/traces, /api/v3/traces) and that placeholder at /.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

JAEGER_MODULE_VERSION=1.76.0   # github.com/jaegertracing/jaeger tag released with ...
JAEGER_VERSION=2.13.0          # ... Jaeger v2.13.0 (CHANGELOG.md: "v1.76.0 / v2.13.0 (2025-12-03)")
RECIPE=1                       # bump when the flags or what gets copied change

log() { echo "[jaeger-build] $*" >&2; }

command -v go >/dev/null || { echo "build.sh: the go command is needed (Go >= 1.26)" >&2; exit 1; }
go_version="$(go env GOVERSION)"
case "$go_version" in
  go1.2[6-9]*|go1.[3-9]*) ;;
  *) echo "build.sh: Go >= 1.26 is needed, found $go_version" >&2; exit 1 ;;
esac

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOTOOLCHAIN=local

got="$(cd "$here/module" && go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger)"
[[ "$got" == "v$JAEGER_MODULE_VERSION" ]] || { echo "build.sh: module/go.mod pins jaeger $got, build.sh expects v$JAEGER_MODULE_VERSION" >&2; exit 1; }

inputs_hash="$(
  {
    echo "recipe $RECIPE; $go_version $(go env GOOS)/$(go env GOARCH); $JAEGER_MODULE_VERSION $JAEGER_VERSION"
    cat "$here/module/go.mod" "$here/module/go.sum"
  } | sha256sum | cut -c1-12
)"
cache_root="${AGENTSCOPE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentscope-e2e}"
out="$cache_root/jaeger-${JAEGER_VERSION}_${inputs_hash}"
context="$out/context"
mkdir -p "$context"
# One build per key at a time: .ci/run starts one in the background while test:image may ask too;
# the second waits here, then finds the binary up to date.
exec 9>"$out/lock"
flock 9

if [[ -x "$context/jaeger" && -f "$out/stamp" ]]; then
  log "jaeger $JAEGER_VERSION: up to date ($context/jaeger)"
else
  rm -f "$out/stamp"
  start=$SECONDS
  log "jaeger $JAEGER_VERSION: building (cache $out) ..."
  v=github.com/jaegertracing/jaeger/internal/version
  (cd "$here/module" && go build -trimpath -o "$context/jaeger" \
    -ldflags "-s -w -X $v.latestVersion=v$JAEGER_VERSION -X $v.date=1970-01-01T00:00:00Z" \
    github.com/jaegertracing/jaeger/cmd/jaeger)
  echo "$((SECONDS - start))" >"$out/stamp"
  log "jaeger $JAEGER_VERSION: built in $((SECONDS - start))s"
fi
# The config is copied on every run (cheap), so that editing it needs no rebuild.
cp "$here/config.yaml" "$context/config.yaml"
echo "JAEGER_CONTEXT=$context"
