#!/usr/bin/env bash
# The README's main job in one command: the `local` stack, up and answering, on this machine.
#
#   scripts/local.sh up     (npm run local)       bring it up; a second run changes nothing
#   scripts/local.sh down   (npm run local:down)  destroy the stack, stop the embedded cluster and
#                                                 the registry; the state directory stays
#
# Where it deploys:
#   - AGENTSCOPE_KUBE_CONTEXT=<name>: that context of your kubeconfig, named by you. Images go to
#     AGENTSCOPE_REGISTRY (default localhost:5000, the registry kind and k3d document), which that
#     cluster's nodes must be able to pull from.
#   - otherwise the embedded cluster (e2e/cluster, a real node on this machine) and a registry
#     with auth on 127.0.0.1. The current kube context is never used unless you name it.
# Pulumi: the `pulumi` on your PATH, else the one e2e/toolchain builds (with its Kubernetes
# provider). State: PULUMI_BACKEND_URL if you set it (your team's backend), else a file backend in
# the state directory, with a generated passphrase kept there (owner-only) unless you set
# PULUMI_CONFIG_PASSPHRASE(_FILE).
# Model: MODEL_API_KEY set means the agent uses the real model (DashScope by default); unset means
# the stand-in model (scripted answers, one code-execution tool call) is deployed and used.
# State directory: AGENTSCOPE_LOCAL_DIR (default .agentscope-local in the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
state="${AGENTSCOPE_LOCAL_DIR:-$repo/.agentscope-local}"
config_file="$state/Pulumi.local.yaml"
log() { echo "[local] $*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$state" && chmod 700 "$state"
export E2E_CLUSTER_DIR="$state/cluster" E2E_REGISTRY_DIR="$state/registry"
export E2E_REGISTRY_PORT="${AGENTSCOPE_REGISTRY_PORT:-25001}" E2E_APISERVER_PORT="${AGENTSCOPE_APISERVER_PORT:-26444}"
export E2E_ETCD_PORT="${AGENTSCOPE_ETCD_PORT:-22381}"

# ---------- Pulumi: CLI, backend, passphrase
pulumi_setup() {
  if ! command -v pulumi >/dev/null; then
    log "no pulumi on PATH: building it (and the Kubernetes provider) with e2e/toolchain (cached)"
    toolchain_bin
    export PATH="$bin:$PATH"
    # Nothing can be downloaded here: the provider comes from the toolchain, found on PATH.
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  fi
  if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
    mkdir -p "$state/pulumi-state"
    export PULUMI_BACKEND_URL="file://$state/pulumi-state"
  fi
  if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    [[ -s $state/passphrase ]] || (umask 077 && openssl rand -hex 24 >"$state/passphrase")
    export PULUMI_CONFIG_PASSPHRASE_FILE="$state/passphrase"
  fi
  export PULUMI_SKIP_UPDATE_CHECK=true
  [[ -d node_modules/@pulumi/pulumi ]] || die "node_modules is missing: run scripts/setup.sh first"
}

# The embedded path's Debian packages (node, registry, podman and its base image) take minutes on a
# fresh machine, as the toolchain's Go build does: they install alongside it, and are waited for
# before the cluster starts.
start_package_install() {
  [[ -z "${AGENTSCOPE_KUBE_CONTEXT:-}" ]] || return 0
  (
    # shellcheck source=scripts/lib/debian-packages.sh
    source scripts/lib/debian-packages.sh
    install_missing_debian_packages "${embedded_node_packages[@]}" "${registry_packages[@]}"
    scripts/setup-podman.sh
    scripts/make-base-image.sh
  ) >"$state/debian-packages.log" 2>&1 &
  packages_pid=$!
}
wait_package_install() {
  [[ -n "${packages_pid:-}" ]] || return 0
  wait "$packages_pid" || { tail -n 20 "$state/debian-packages.log" >&2; die "installing the Debian packages failed (log: $state/debian-packages.log)"; }
  packages_pid=""
}

# The images need neither the registry nor the cluster: on the embedded path they are built while
# the toolchain compiles (the Jaeger binary at once, the podman images once podman and the base
# image are installed), and the push after the cluster starts finds every layer built. A second
# run finds everything cached here too.
start_image_prebuild() {
  [[ -n "${packages_pid:-}" ]] || return 0
  (
    if command -v go >/dev/null; then e2e/images/jaeger/build.sh >/dev/null; fi
    while kill -0 "$packages_pid" 2>/dev/null; do sleep 2; done
    scripts/push-images.sh --build-only
  ) >"$state/image-prebuild.log" 2>&1 &
  prebuild_pid=$!
}
wait_image_prebuild() {
  [[ -n "${prebuild_pid:-}" ]] || return 0
  wait "$prebuild_pid" || { tail -n 20 "$state/image-prebuild.log" >&2; die "building the images failed (log: $state/image-prebuild.log)"; }
  prebuild_pid=""
}

toolchain_bin() {
  [[ -n "${bin:-}" ]] && return
  bin="$(e2e/toolchain/build.sh | sed -n 's/^E2E_BIN_DIR=//p')"
  [[ -n $bin ]] || die "the toolchain build failed"
}

p() { pulumi --non-interactive "$@"; }

# One line per directory agent of the stack config: NAME<TAB>PATH<TAB>APP<TAB>FRAMEWORK (none when agents is unset).
directory_agents() {
  local json
  json="$(p config get --config-file "$config_file" --stack local agents --json 2>/dev/null)" || return 0
  jq -r '.objectValue[] | select(.source.kind? == "directory") | [.name, .source.path, .source.app, (.source.framework // "agentscope-runtime")] | @tsv' <<<"$json"
}
# Whether an agentscope2 agent's workspaces are pods (their default): they need the workspace image.
workspace_pods() {
  local json
  json="$(p config get --config-file "$config_file" --stack local agents --json 2>/dev/null)" || return 1
  jq -e '[.objectValue[] | select(.source.framework? == "agentscope2" and (.workspaces.kind? // "pods") == "pods")] | length > 0' <<<"$json" >/dev/null
}
egress_proxy() { # sandbox.egress.mode allowList: the stack runs the egress proxy image
  [[ "$(p config get --config-file "$config_file" --stack local --path sandbox.egress.mode 2>/dev/null)" == allowList ]]
}
cfg() { p config set --config-file "$config_file" --stack local "$@" >/dev/null; }
cfg_secret_once() { # key value: set once, so that later runs keep the value and change nothing
  p config get --config-file "$config_file" --stack local "$1" >/dev/null 2>&1 || cfg --secret "$1" "$2"
}

# ---------- where to deploy
target_embedded() {
  toolchain_bin
  wait_package_install
  export PATH="$bin:$PATH"
  if ! E2E_BIN_DIR="$bin" e2e/cluster/cluster.sh status >/dev/null 2>&1; then
    E2E_BIN_DIR="$bin" E2E_CLUSTER_DIR="$E2E_CLUSTER_DIR" e2e/cluster/cluster.sh stop >/dev/null 2>&1 || true
    log "starting the embedded cluster (a real node on this machine)"
    eval "$(e2e/registry/registry.sh start | sed 's/^/export /')"
    E2E_BIN_DIR="$bin" E2E_REAL_NODE=1 e2e/cluster/cluster.sh start >/dev/null
  else
    eval "$(e2e/registry/registry.sh start | sed 's/^/export /')"
  fi
  kubeconfig="$E2E_CLUSTER_DIR/admin.kubeconfig"
  registry_auth=1
}

target_named_context() {
  local ctx=$1
  kubectl config get-contexts "$ctx" >/dev/null 2>&1 || die "AGENTSCOPE_KUBE_CONTEXT=$ctx is not in your kubeconfig"
  export E2E_REGISTRY="${AGENTSCOPE_REGISTRY:-localhost:5000}" E2E_REGISTRY_USER="" E2E_REGISTRY_PASSWORD=""
  kubeconfig="" registry_auth=0
}

cmd_up() {
  local t0=$SECONDS kubeconfig registry_auth
  start_package_install
  start_image_prebuild
  pulumi_setup
  if [[ -n "${AGENTSCOPE_KUBE_CONTEXT:-}" ]]; then
    target_named_context "$AGENTSCOPE_KUBE_CONTEXT"
  else
    target_embedded
  fi

  # Creating the stack writes its passphrase salt into the project's Pulumi.local.yaml, which is the
  # repository's file: the salt goes into our own copy, and the repository's is put back as it was.
  local tracked
  tracked="$(cat Pulumi.local.yaml)"
  p stack select --create local >/dev/null
  [[ -f $config_file ]] || cp Pulumi.local.yaml "$config_file"
  printf '%s\n' "$tracked" >Pulumi.local.yaml

  # The stack config's directory agents (agents[].source kind directory) are built here too: the
  # stack does not build (images.build false) and runs each by digest from images.userAgents.
  local -a dir_agents
  mapfile -t dir_agents < <(directory_agents)
  log "building and pushing the images to $E2E_REGISTRY${dir_agents[*]:+ (and ${#dir_agents[@]} directory agent(s))}"
  local workspaces=0 proxy=0
  workspace_pods && workspaces=1
  egress_proxy && proxy=1
  wait_image_prebuild
  BUILD_WORKSPACE_IMAGE=$workspaces BUILD_EGRESS_PROXY_IMAGE=$proxy scripts/push-images.sh "$state/images.env" "${dir_agents[@]}"
  local -A image
  while IFS='=' read -r name ref; do image[$name]=$ref; done <"$state/images.env"
  cfg environment local
  cfg platform kubernetes
  if [[ -n $kubeconfig ]]; then
    cfg --path kubernetes.kubeconfigPath "$kubeconfig"
    p config rm --config-file "$config_file" --stack local --path kubernetes.context >/dev/null 2>&1 || true
  else
    cfg --path kubernetes.context "$AGENTSCOPE_KUBE_CONTEXT"
  fi
  cfg --path images.build false
  cfg --path images.agent "${image[agent]}"
  cfg --path images.sandboxManager "${image[sandbox-manager]}"
  cfg --path images.standInModel "${image[stand-in-model]}"
  cfg --path images.registryServer "$E2E_REGISTRY"
  cfg --path sandbox.imageTag "${SANDBOX_IMAGE_TAG:-e2e}"
  cfg --path sandbox.imageDigests.base "${image[sandbox]}"
  cfg --path redis.image "${image[redis]}"
  # The trace viewer (Jaeger) runs when its image was built (push-images.sh needs go for it).
  if [[ -n "${image[jaeger]:-}" ]]; then
    cfg --path images.traceViewer "${image[jaeger]}"
    cfg --path observability.localTraceViewer true
  else
    cfg --path observability.localTraceViewer false
  fi
  if ((workspaces)); then
    cfg --path images.workspace "${image[agentscope2-workspace]}"
  else
    p config rm --config-file "$config_file" --stack local --path images.workspace >/dev/null 2>&1 || true
  fi
  if ((proxy)); then
    cfg --path images.egressProxy "${image[egress-proxy]}"
  else
    p config rm --config-file "$config_file" --stack local --path images.egressProxy >/dev/null 2>&1 || true
  fi
  p config rm --config-file "$config_file" --stack local --path images.userAgents >/dev/null 2>&1 || true
  local spec name
  for spec in "${dir_agents[@]}"; do
    name=${spec%%$'\t'*}
    cfg --path "images.userAgents.$name" "${image[agent-$name]}"
  done
  if ((registry_auth)); then
    cfg --path images.registryUsername "$E2E_REGISTRY_USER"
    cfg --secret localRegistryPassword "$E2E_REGISTRY_PASSWORD"
  fi
  # Secrets the program would otherwise generate with the random provider, which cannot be
  # downloaded everywhere: made here once, kept as Pulumi secrets.
  cfg_secret_once agentApiToken "$(openssl rand -hex 24)"
  cfg_secret_once sandboxManagerToken "$(openssl rand -hex 24)"
  cfg_secret_once redisPassword "$(openssl rand -hex 24)"
  if [[ -n "${MODEL_API_KEY:-}" ]]; then
    cfg --secret modelApiKey "$MODEL_API_KEY"
    cfg standInModel false
  else
    p config rm --config-file "$config_file" --stack local modelApiKey >/dev/null 2>&1 || true
    cfg standInModel true
  fi

  log "pulumi up"
  p up --yes --skip-preview --config-file "$config_file" --stack local
  local kc=(kubectl)
  [[ -n $kubeconfig ]] && kc+=(--kubeconfig "$kubeconfig") || kc+=(--context "$AGENTSCOPE_KUBE_CONTEXT")
  log "waiting for every Deployment to be Available"
  local ns
  for ns in $("${kc[@]}" get deploy -A -l app.kubernetes.io/part-of -o jsonpath='{range .items[*]}{.metadata.namespace}{"\n"}{end}' | sort -u); do
    "${kc[@]}" -n "$ns" wait --for=condition=Available deploy --all --timeout=300s >/dev/null
  done
  log "up in $((SECONDS - t0)) s"
  print_try_it "${kc[@]}"
}

# Ends the output with a curl that reaches the agent: through the Service's cluster IP, which
# this machine routes itself when the cluster is the embedded one, else through a port-forward.
print_try_it() {
  local token url ns svc ip
  token="$(p stack output --show-secrets agentApiToken --stack local)"
  url="$(p stack output --json agentUrls --stack local | python3 -c 'import json,sys; print(next(iter(json.load(sys.stdin).values())))')"
  svc="${url#http://}" svc="${svc%%.*}"
  ns="$(p stack output agentsNamespace --stack local)"
  echo
  if [[ -z "${AGENTSCOPE_KUBE_CONTEXT:-}" ]]; then
    ip="$("$@" -n "$ns" get svc "$svc" -o jsonpath='{.spec.clusterIP}')"
    echo "The agent answers at http://$ip:8080 (its Service; this machine routes the embedded cluster's Service IPs). Try the seed's request:"
  else
    ip=127.0.0.1
    echo "Forward the agent's port first:  kubectl --context $AGENTSCOPE_KUBE_CONTEXT -n $ns port-forward svc/$svc 8080:8080 &"
  fi
  cat <<EOF

curl -N http://$ip:8080/process -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' \\
  -d '{"input": [{"role": "user", "content": [{"type": "text", "text": "请帮我使用python生成一段冒泡排序算法,并执行"}]}], "session_id": "demo"}'
EOF
  print_trace_viewer "$@"
  echo
  echo "Take it all down again with: npm run local:down"
}

# The trace viewer is cluster-internal: a port-forward reaches its query API (and UI page).
print_trace_viewer() {
  local tns
  tns="$(p stack output traceViewerNamespace --stack local 2>/dev/null)" || return 0
  [[ -n $tns ]] || return 0
  cat <<EOF

Then find its trace in Jaeger: forward the query port, and ask for the gateway's traces:
  $* -n $tns port-forward svc/jaeger-query 16686:16686 &
  curl -s 'http://127.0.0.1:16686/api/traces?service=agentscope-gateway&limit=5'
EOF
}

cmd_down() {
  pulumi_setup
  if p stack select local >/dev/null 2>&1; then
    p destroy --yes --skip-preview --config-file "$config_file" --stack local || die "pulumi destroy failed; the cluster keeps running so that you can retry"
    # --preserve-config: Pulumi.local.yaml is the repository's, not this command's.
    p stack rm --yes --preserve-config --stack local >/dev/null
    rm -f "$config_file"
  fi
  if [[ -z "${AGENTSCOPE_KUBE_CONTEXT:-}" ]]; then
    [[ -d $E2E_CLUSTER_DIR ]] && { toolchain_bin; E2E_BIN_DIR="$bin" e2e/cluster/cluster.sh stop; }
    e2e/registry/registry.sh stop
  fi
  log "down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
