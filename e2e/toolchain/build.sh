#!/usr/bin/env bash
# Builds the end-to-end toolchain from the Go module proxy with the ordinary `go` client:
#   pulumi, pulumi-language-nodejs, pulumi-resource-kubernetes   (Pulumi engine + plugins)
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, etcd
#   kubelet, kube-proxy, kube-router, coredns, pause   (the embedded cluster's real node)
#
# Usage: e2e/toolchain/build.sh [component ...]
#   components: pulumi pulumi-language-nodejs pulumi-kubernetes kube etcd node kube-router
#               coredns pause (default: all)
#
# Binaries go to a cache directory keyed by the versions and by the inputs of the build
# (go version, this script, the wrapper modules), never into the repository:
#   ${AGENTSCOPE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentscope-e2e}/<key>/bin
# A component whose binaries are already in that directory is not rebuilt.
#
# Output: progress and timings on stderr; exactly one line on stdout,
#   E2E_BIN_DIR=<absolute path of the bin directory>
# so that a caller can do:
#   bin=$(e2e/toolchain/build.sh | sed -n 's/^E2E_BIN_DIR=//p') && export PATH="$bin:$PATH"
#
# Go's own caches (GOCACHE, GOMODCACHE) are used as set in the environment; point them at
# empty directories to measure a cold build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The versions, as the wrapper modules pin them (build.sh checks they agree).
PULUMI_VERSION=3.259.0            # github.com/pulumi/pulumi/pkg/v3 + sdk/v3
LANGUAGE_NODEJS_VERSION=3.68.0    # github.com/pulumi/pulumi/sdk/v3 (last release holding the host)
K8S_PROVIDER_VERSION=4.25.0       # pulumi-kubernetes commit tagged v4.25.0 ...
K8S_PROVIDER_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199   # ... as the proxy serves it
KUBERNETES_VERSION=1.36.3         # k8s.io/kubernetes, staging modules at v0.36.3
KWOK_VERSION=0.8.0                # sigs.k8s.io/kwok
ETCD_VERSION=3.6.16               # go.etcd.io/etcd/server/v3
KUBE_ROUTER_VERSION=2.1.0         # github.com/cloudnativelabs/kube-router/v2 (the only v2 the proxy serves)
COREDNS_VERSION=1.14.7            # github.com/coredns/coredns
# kwok stages (paths under the kwok module's kustomize/stage/) the fake cluster loads.
KWOK_STAGES="node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease
  pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete
  volume/fast/pvc-provision volume/fast/pv-bind volume/fast/pvc-delete volume/fast/pv-delete"

all_components=(pulumi pulumi-language-nodejs pulumi-kubernetes kube etcd node kube-router coredns pause)
if [[ $# -gt 0 ]]; then components=("$@"); else components=("${all_components[@]}"); fi
for c in "${components[@]}"; do
  case " ${all_components[*]} " in *" $c "*) ;; *) echo "build.sh: unknown component '$c' (known: ${all_components[*]})" >&2; exit 2 ;; esac
done

log() { echo "[e2e-toolchain] $*" >&2; }

command -v go >/dev/null || { echo "build.sh: the go command is needed (Go >= 1.26)" >&2; exit 1; }
go_version="$(go env GOVERSION)"
case "$go_version" in
  go1.2[6-9]*|go1.[3-9]*) ;;
  *) echo "build.sh: Go >= 1.26 is needed, found $go_version" >&2; exit 1 ;;
esac

# Bump when the way binaries are built changes (flags, ldflags, what gets copied), so that
# the cache key changes with it. Edits to this script that do not change the output keep
# the key, and so the cached binaries.
RECIPE=1

# The key: readable versions plus a hash of everything that changes the binaries.
inputs_hash="$(
  {
    echo "recipe $RECIPE; $go_version $(go env GOOS)/$(go env GOARCH)"
    echo "$PULUMI_VERSION $LANGUAGE_NODEJS_VERSION $K8S_PROVIDER_VERSION $K8S_PROVIDER_PSEUDO"
    echo "$KUBERNETES_VERSION $KWOK_VERSION $ETCD_VERSION $KWOK_STAGES"
    echo "$KUBE_ROUTER_VERSION $COREDNS_VERSION"
    for d in pulumi pulumi-language-nodejs pulumi-kubernetes kube etcd kube-router coredns; do
      cat "$here/$d/go.mod" "$here/$d/go.sum"
    done
    cat "$here/pulumi-kubernetes/main.go" "$here/coredns/main.go" "$here/pause/go.mod" "$here/pause/main.go"
  } | sha256sum | cut -c1-12
)"
key="pulumi-${PULUMI_VERSION}_k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_${inputs_hash}"
cache_root="${AGENTSCOPE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentscope-e2e}"
out="$cache_root/$key"
bin="$out/bin"
mkdir -p "$bin" "$out/stamps"

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
# The toolchain line in go.mod must not make go fetch another toolchain.
export GOTOOLCHAIN=local

# Checks that a wrapper module pins what this script says it builds.
check_version() { # dir module want
  local got
  got="$(cd "$here/$1" && go list -m -f '{{.Version}}' "$2")"
  [[ "$got" == "$3" ]] || { echo "build.sh: $1/go.mod pins $2 $got, build.sh expects $3" >&2; exit 1; }
}

build_pulumi() {
  check_version pulumi github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION"
  check_version pulumi github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION"
  (cd "$here/pulumi" && go build -trimpath -o "$bin/" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

build_pulumi_language_nodejs() {
  check_version pulumi-language-nodejs github.com/pulumi/pulumi/sdk/v3 "v$LANGUAGE_NODEJS_VERSION"
  (cd "$here/pulumi-language-nodejs" && go build -trimpath -o "$bin/" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGUAGE_NODEJS_VERSION" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
}

build_pulumi_kubernetes() {
  check_version pulumi-kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4 "$K8S_PROVIDER_PSEUDO"
  # Build from a copy of the wrapper module with the schema files from the module zip
  # beside main.go, so that nothing is written into the repository.
  local stage="$out/src/pulumi-kubernetes" moddir
  rm -rf "$stage" && mkdir -p "$stage"
  cp "$here/pulumi-kubernetes/go.mod" "$here/pulumi-kubernetes/go.sum" "$here/pulumi-kubernetes/main.go" "$stage/"
  moddir="$(cd "$stage" && go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$moddir" ]] || { echo "build.sh: could not download the provider module" >&2; exit 1; }
  cp "$moddir/cmd/pulumi-resource-kubernetes/schema.json" "$moddir/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$stage/"
  chmod u+w "$stage"/*.json
  (cd "$stage" && go build -trimpath -o "$bin/pulumi-resource-kubernetes" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
    .)
}

build_kube() {
  check_version kube k8s.io/kubernetes "v$KUBERNETES_VERSION"
  check_version kube sigs.k8s.io/kwok "v$KWOK_VERSION"
  local x
  x="$(kube_ldflags)"
  x+=" -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  x+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION"
  # One go build for all five: shared packages compile once, links run in parallel.
  (cd "$here/kube" && go build -trimpath -o "$bin/" -ldflags "-s -w$x" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl \
    sigs.k8s.io/kwok/cmd/kwok)
  # kwok's own Stage files, which make fake nodes Ready, run pods to Ready and provision
  # and bind volumes: used as they ship in the kwok module, never copied into the repo.
  local kwokdir f
  kwokdir="$(cd "$here/kube" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  rm -rf "$out/share/kwok-stages" && mkdir -p "$out/share/kwok-stages"
  for f in $KWOK_STAGES; do
    cp "$kwokdir/kustomize/stage/$f.yaml" "$out/share/kwok-stages/"
  done
  chmod u+w "$out/share/kwok-stages"/*.yaml
}

build_etcd() {
  check_version etcd go.etcd.io/etcd/server/v3 "v$ETCD_VERSION"
  (cd "$here/etcd" && go build -trimpath -o "$bin/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3)
}

# The kube module's version stamps, shared by the control plane and the node binaries.
kube_ldflags() {
  local major="${KUBERNETES_VERSION%%.*}" minor="${KUBERNETES_VERSION#*.}"
  minor="${minor%%.*}"
  local x="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    x+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$x"
}

# kubelet and kube-proxy for the real node, from the same wrapper module (and Go cache) as
# the control plane, so node and control plane are one Kubernetes version.
build_node() {
  check_version kube k8s.io/kubernetes "v$KUBERNETES_VERSION"
  (cd "$here/kube" && go build -trimpath -o "$bin/" -ldflags "-s -w$(kube_ldflags)" \
    k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy)
}

build_kube_router() {
  check_version kube-router github.com/cloudnativelabs/kube-router/v2 "v$KUBE_ROUTER_VERSION"
  (cd "$here/kube-router" && go build -trimpath -o "$bin/kube-router" \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
}

build_coredns() {
  check_version coredns github.com/coredns/coredns "v$COREDNS_VERSION"
  # Our main (coredns/main.go) with the Corefile's plugins only, at the pinned CoreDNS version.
  (cd "$here/coredns" && go build -trimpath -o "$bin/coredns" -ldflags "-s -w" .)
}

build_pause() {
  (cd "$here/pause" && go build -trimpath -o "$bin/pause" -ldflags "-s -w" .)
}

binaries_of() {
  case "$1" in
    pulumi) echo pulumi ;;
    pulumi-language-nodejs) echo pulumi-language-nodejs ;;
    pulumi-kubernetes) echo pulumi-resource-kubernetes ;;
    kube) echo kube-apiserver kube-controller-manager kube-scheduler kubectl kwok ;;
    etcd) echo etcd ;;
    node) echo kubelet kube-proxy ;;
    kube-router) echo kube-router ;;
    coredns) echo coredns ;;
    pause) echo pause ;;
  esac
}

up_to_date() { # component
  local b
  for b in $(binaries_of "$1"); do [[ -x "$bin/$b" ]] || return 1; done
  [[ $1 != kube || -f "$out/share/kwok-stages/pod-ready.yaml" ]] || return 1
  [[ -f "$out/stamps/$1" ]]
}

# The wrapper module a component builds from.
module_of() { case "$1" in node) echo kube ;; *) echo "$1" ;; esac; }

total_start=$SECONDS
log "cache: $out"
log "go: $go_version, GOCACHE=$(go env GOCACHE), GOMODCACHE=$(go env GOMODCACHE)"
# Downloads are network-bound and the builds CPU-bound: every module the later components need is
# downloaded in the background while the first ones compile (Go's module cache is safe to share;
# a build that gets there first downloads the module itself, and reports any failure).
todo=()
for c in "${components[@]}"; do up_to_date "$c" || todo+=("$c"); done
prefetch_pid=""
if ((${#todo[@]} > 1)); then
  (
    seen=" "
    for c in "${todo[@]:1}"; do
      m="$(module_of "$c")"
      [[ $seen == *" $m "* || ! -f "$here/$m/go.sum" ]] && continue
      seen+="$m "
      (cd "$here/$m" && go mod download) || true
    done
  ) >/dev/null 2>&1 &
  prefetch_pid=$!
  trap '[[ -z $prefetch_pid ]] || kill "$prefetch_pid" 2>/dev/null || true' EXIT
fi
for c in "${components[@]}"; do
  stamp="$out/stamps/$c"
  if up_to_date "$c"; then
    log "$c: up to date ($(binaries_of "$c"))"
    continue
  fi
  rm -f "$stamp"
  start=$SECONDS
  log "$c: building ..."
  "build_${c//-/_}"
  took=$((SECONDS - start))
  echo "$took" > "$stamp"
  log "$c: built in ${took}s ($(binaries_of "$c"))"
done
[[ -z $prefetch_pid ]] || wait "$prefetch_pid" || true
prefetch_pid=""
log "toolchain ready in $((SECONDS - total_start))s"
echo "E2E_BIN_DIR=$bin"
