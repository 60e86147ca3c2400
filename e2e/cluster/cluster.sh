#!/usr/bin/env bash
# A real Kubernetes control plane on loopback with fake nodes, for the end-to-end suite.
#
#   e2e/cluster/cluster.sh start     start etcd, kube-apiserver, kube-controller-manager,
#                                    kube-scheduler and kwok; create the two fake nodes, a
#                                    default StorageClass and the ACS routing policy; wait
#                                    until nodes are Ready and the default ServiceAccount exists.
#                                    With E2E_REAL_NODE=1, a real node (node.sh) whose pods
#                                    run takes the ordinary fake node's place; the ACS-like
#                                    virtual node stays a kwok node.
#   e2e/cluster/cluster.sh stop      stop every process that start started (PID files)
#   e2e/cluster/cluster.sh status    say which of them run
#   e2e/cluster/cluster.sh env       print the shell exports for a running cluster
#   e2e/cluster/cluster.sh check     exit 1, saying why, if a component has exited or a pod of the
#                                    real node has failed to be torn down for E2E_TEARDOWN_GRACE
#                                    seconds (default 30), with the kubelet's error; the e2e
#                                    harness runs it every few seconds to fail fast
#
# Environment (all optional):
#   E2E_BIN_DIR         directory with the binaries; default: what e2e/toolchain/build.sh
#                       prints (it builds kube and etcd if they are not cached yet)
#   E2E_CLUSTER_DIR     state directory: certificates, tokens, kubeconfigs, logs, PID files,
#                       etcd data (default ${TMPDIR:-/tmp}/agentscope-e2e-cluster)
#   E2E_APISERVER_PORT  HTTPS port of kube-apiserver on 127.0.0.1 (default 16443)
#   E2E_ETCD_PORT       etcd client port on 127.0.0.1; the peer port is the next one
#                       (default 12379)
#   E2E_START_TIMEOUT   seconds to wait for each readiness step (default 120)
#   E2E_REAL_NODE       1: add the real node (containerd, kubelet, kube-proxy, kube-router,
#                       CoreDNS); needs root. Its API server then listens on the node IP
#                       (E2E_NODE_IP, default 10.243.0.1), which the kubeconfig names.
#   E2E_REGISTRY, E2E_REGISTRY_USER, E2E_REGISTRY_PASSWORD
#                       with E2E_REAL_NODE=1: a loopback registry the node pulls from with
#                       these credentials (plain HTTP)
#
# Output of start, on stdout (logs go to stderr):
#   KUBECONFIG=<dir>/admin.kubeconfig     token auth, CA embedded: works for kubectl,
#                                         client-go and @pulumi/kubernetes
#   E2E_CLUSTER_DIR=<dir>
# <dir>/env holds the same as shell exports. If start fails, it stops what it started and
# prints the tail of each log before exiting non-zero.
#
# Nothing listens anywhere but 127.0.0.1: etcd (client+peer), kube-apiserver. The controller
# manager and the scheduler serve no port (--secure-port=0) and kwok serves none (no
# --server-address), so nothing else can clash with a second cluster on other ports.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

dir="$(realpath -m "${E2E_CLUSTER_DIR:-${TMPDIR:-/tmp}/agentscope-e2e-cluster}")"
api_port="${E2E_APISERVER_PORT:-16443}"
etcd_port="${E2E_ETCD_PORT:-12379}"
etcd_peer_port=$((etcd_port + 1))
timeout="${E2E_START_TIMEOUT:-120}"
# The order to start in; stop goes backwards.
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
real_node="${E2E_REAL_NODE:-0}"
# Stop also reads the mode from the state directory, so a plain `stop` cleans a real node.
[[ -f "$dir/real-node" ]] && real_node=1
# shellcheck source=e2e/cluster/node.sh
source "$here/node.sh"
[[ $real_node == 1 ]] && components+=("${node_components[@]}")
api_host=127.0.0.1
[[ $real_node == 1 ]] && api_host=$node_ip

log() { echo "[e2e-cluster] $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- processes

runs_binary() { # pid component : the process's command line is that binary's
  [[ -n "$1" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q -- "/$2 "
}

pid_of() { # component -> pid if its PID file names a live process of that binary
  local f="$dir/run/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  # Guard against a reused PID: the process must still be the binary we started.
  runs_binary "$pid" "$1" || return 1
  echo "$pid"
}

stop_one() {
  local c="$1" pid i
  if pid="$(pid_of "$c")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      [[ -d "/proc/$pid" ]] || break
      # A zombie whose parent is gone is reaped by init soon; do not wait on it forever.
      [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
      sleep 0.1
    done
    if [[ -d "/proc/$pid" && "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
      log "$c ($pid) did not stop on TERM in 10s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    log "stopped $c ($pid)"
  fi
  rm -f "$dir/run/$c.pid"
}

cmd_stop() {
  local i left=()
  [[ -d "$dir/run" ]] || { log "nothing to stop in $dir"; return 0; }
  for ((i = ${#components[@]} - 1; i >= 0; i--)); do
    # The pods' containers go before containerd does (it would leave them running).
    [[ ${components[$i]} == containerd ]] && node_cleanup
    stop_one "${components[$i]}"
  done
  for c in "${components[@]}"; do pid_of "$c" >/dev/null && left+=("$c"); done
  [[ ${#left[@]} -eq 0 ]] || die "still running: ${left[*]}"
  # The host's network state is the slot owner's: a start that failed waiting for the slot
  # must not remove the running node's bridges and chains.
  if [[ $real_node == 1 ]] && owns_node_slot; then
    node_host_cleanup
    rm -f "$dir/real-node"
    release_node_slot
  fi
  rm -rf "$dir/etcd-data"
  log "stopped; logs kept in $dir/logs"
}

cmd_status() {
  local c pid rc=0
  for c in "${components[@]}"; do
    if pid="$(pid_of "$c")"; then echo "$c running ($pid)"; else echo "$c stopped"; rc=1; fi
  done
  return $rc
}

spawn() { # component args... : start in its own session, log to a file, record the PID
  local c="$1"; shift
  local exe="$bin/$c"
  [[ -x $exe ]] || exe="$(command -v "$c")"
  setsid "$exe" "$@" </dev/null >"$dir/logs/$c.log" 2>&1 &
  local pid=$! i
  echo "$pid" > "$dir/run/$c.pid"
  # Until the fork has exec'd, /proc/<pid>/cmdline is still this script's, and pid_of (which
  # guards against reused PIDs by the command line) would take the new process for a dead one:
  # under load that read "kube-apiserver exited" with an empty log. Wait for the exec (5 s at most).
  for ((i = 0; i < 100; i++)); do
    [[ -d "/proc/$pid" ]] && ! runs_binary "$pid" "$c" || break
    sleep 0.05
  done
  log "started $c ($pid)"
}

# What a caller cannot wait out: a component that exited, a pod whose sandbox cannot be torn
# down (on the real node). Prints one line per problem; exit 1 if there is one.
cmd_check() {
  local c problems=()
  [[ -d "$dir/run" ]] || die "no cluster state in $dir"
  for c in "${components[@]}"; do
    pid_of "$c" >/dev/null || problems+=("$c is not running (log: $dir/logs/$c.log)")
  done
  if [[ $real_node == 1 ]]; then
    local kubectl=("${E2E_BIN_DIR:+$E2E_BIN_DIR/}kubectl" --kubeconfig "$dir/admin.kubeconfig" --request-timeout 10s) line
    while IFS= read -r line; do problems+=("$line"); done < <(stuck_teardowns)
  fi
  ((${#problems[@]} == 0)) && return 0
  printf '%s\n' "${problems[@]}"
  return 1
}

# ---------------------------------------------------------------- waiting

wait_for() { # description command... : retry until it succeeds or the timeout passes
  local what="$1"; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    for c in "${components[@]}"; do
      if [[ -f "$dir/run/$c.pid" ]] && ! pid_of "$c" >/dev/null; then die "$c exited while waiting for $what"; fi
    done
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what"
    sleep 0.5
  done
}

api() { # path : GET from the API server as admin
  curl -sS --fail --max-time 5 --cacert "$dir/pki/ca.crt" \
    -H "Authorization: Bearer $(cat "$dir/pki/admin.token")" "https://$api_host:$api_port$1"
}

# ---------------------------------------------------------------- certificates and tokens

make_pki() {
  local p="$dir/pki"
  mkdir -p "$p"
  # A throwaway CA, valid for a day, that signs the API server's serving certificate.
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=agentscope-e2e-ca" \
    -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  cat > "$p/apiserver.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$api_host,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$p/apiserver.key" -out "$p/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
    -days 1 -extfile "$p/apiserver.ext" -out "$p/apiserver.crt" 2>/dev/null
  # Service-account token signing key pair (the API server signs, the controller manager's
  # token controller signs legacy tokens, both verify).
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  # Static bearer tokens: admin (system:masters), and the two control-plane identities,
  # which the RBAC bootstrap policy already grants what they need.
  local admin kcm sched
  admin="$(openssl rand -hex 24)"; kcm="$(openssl rand -hex 24)"; sched="$(openssl rand -hex 24)"
  echo "$admin" > "$p/admin.token"
  cat > "$p/tokens.csv" <<EOF
$admin,e2e-admin,e2e-admin,"system:masters"
$kcm,system:kube-controller-manager,system:kube-controller-manager
$sched,system:kube-scheduler,system:kube-scheduler
EOF
  chmod 600 "$p"/*.key "$p"/*.token "$p/tokens.csv"
  write_kubeconfig "$dir/admin.kubeconfig" e2e-admin "$admin"
  write_kubeconfig "$dir/pki/controller-manager.kubeconfig" system:kube-controller-manager "$kcm"
  write_kubeconfig "$dir/pki/scheduler.kubeconfig" system:kube-scheduler "$sched"
  [[ $real_node == 1 ]] && node_tokens
  return 0
}

write_kubeconfig() { # file user token
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: agentscope-e2e
  cluster:
    server: https://$api_host:$api_port
    certificate-authority-data: $(base64 -w0 < "$dir/pki/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: agentscope-e2e
  context:
    cluster: agentscope-e2e
    user: $2
current-context: agentscope-e2e
EOF
  chmod 600 "$1"
}

# ---------------------------------------------------------------- cluster objects

# The two fake nodes. kwok manages nodes annotated kwok.x-k8s.io/node=fake: it marks them
# Ready, keeps their leases, and runs every pod bound to them to Running/Ready.
#
# kwok-ordinary stands for an ECS worker of a node pool. Its labels are the well-known
# Kubernetes ones; the instance type and region/zone values are made up.
#
# virtual-kubelet-cn-hangzhou-i stands for ACK's virtual node (ack-virtual-node), which runs
# pods as ACS (with the alibabacloud.com/acs=true pod label) or ECI instances:
#   - taint virtual-kubelet.io/provider=alibabacloud:NoSchedule: VERIFIED, ACK docs
#     "Specify resource allocation for ECS and ECI" (virtual nodes carry it by default).
#   - label type=virtual-kubelet: ASSUMED. ACK's ECI docs use it as a nodeSelector, but
#     shared/reference/platform-facts.md marks it unverified on ACK.
#   - the node name virtual-kubelet-<zone>, kubernetes.io/role=agent and
#     service.alibabacloud.com/exclude-node=true: ASSUMED (not checked against a real node).
#   - the large capacity: ASSUMED (a virtual node advertises far more than one machine).
# Nothing in the stack may depend on an ASSUMED label; tests that need the virtual node
# should select it with type=virtual-kubelet or by name.
nodes_yaml() {
  [[ $real_node == 1 ]] || ordinary_node_yaml
  virtual_node_yaml
}

ordinary_node_yaml() {
  cat <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-ordinary
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-ordinary
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    node.kubernetes.io/instance-type: ecs.g7.2xlarge
    topology.kubernetes.io/region: cn-hangzhou
    topology.kubernetes.io/zone: cn-hangzhou-i
    agentscope.e2e/fake-node: ordinary
spec: {}
status:
  addresses: [{type: InternalIP, address: 10.0.0.11}, {type: Hostname, address: kwok-ordinary}]
  capacity: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
  allocatable: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
---
EOF
}

virtual_node_yaml() {
  cat <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: virtual-kubelet-cn-hangzhou-i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: virtual-kubelet
    kubernetes.io/hostname: virtual-kubelet-cn-hangzhou-i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    service.alibabacloud.com/exclude-node: "true"
    topology.kubernetes.io/region: cn-hangzhou
    topology.kubernetes.io/zone: cn-hangzhou-i
    agentscope.e2e/fake-node: acs-virtual-node
spec:
  taints:
  - key: virtual-kubelet.io/provider
    value: alibabacloud
    effect: NoSchedule
status:
  addresses: [{type: InternalIP, address: 10.0.0.12}, {type: Hostname, address: virtual-kubelet-cn-hangzhou-i}]
  capacity: {cpu: "1000", memory: 4Ti, pods: "10000", ephemeral-storage: 10Ti}
  allocatable: {cpu: "1000", memory: 4Ti, pods: "10000", ephemeral-storage: 10Ti}
EOF
}

# What a real ACK cluster has and this one would lack, supplied here rather than skipped:
#  - A default StorageClass whose PVCs get bound: kwok's own volume stages (copied by
#    build.sh from the kwok module into $bin/../share/kwok-stages) provision a hostPath PV
#    for each PVC of class kwok-volume and bind it, standing in for ACK's disk CSI plugin.
#  - Routing of ACS pods to the virtual node: on ACK, its scheduler sends pods labelled
#    alibabacloud.com/acs=true to the virtual node (ACK docs, "virtual node-based pod
#    scheduling"); the pods themselves only carry the label and the toleration. Here a
#    MutatingAdmissionPolicy (GA in Kubernetes 1.36) adds nodeSelector type=virtual-kubelet
#    to such pods at creation.
extras_yaml() {
  # With a real node, its e2e-local class is the default (node.sh); kwok's serves the fake node.
  local default=true
  [[ $real_node == 1 ]] && default=false
  cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kwok-volume
  annotations:
    storageclass.kubernetes.io/is-default-class: "$default"
provisioner: kwok.x-k8s.io/volume
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: e2e-acs-pods-to-virtual-node
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
    objectSelector:
      matchLabels:
        alibabacloud.com/acs: "true"
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
  # JSONPatch, not ApplyConfiguration: nodeSelector is an atomic map, which apply
  # configurations may not change.
  - patchType: JSONPatch
    jsonPatch:
      expression: >-
        has(object.spec.nodeSelector) ?
        [JSONPatch{op: "add", path: "/spec/nodeSelector/type", value: "virtual-kubelet"}] :
        [JSONPatch{op: "add", path: "/spec/nodeSelector", value: {"type": "virtual-kubelet"}}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: e2e-acs-pods-to-virtual-node
spec:
  policyName: e2e-acs-pods-to-virtual-node
EOF
}

# ---------------------------------------------------------------- start

find_bin() {
  if [[ -n "${E2E_BIN_DIR:-}" ]]; then
    bin="$E2E_BIN_DIR"
  else
    local parts=(kube etcd)
    [[ $real_node == 1 ]] && parts+=(node kube-router coredns pause)
    bin="$("$repo/e2e/toolchain/build.sh" "${parts[@]}" | sed -n 's/^E2E_BIN_DIR=//p')"
  fi
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
    [[ -x "$bin/$b" ]] || die "$bin/$b is missing: run e2e/toolchain/build.sh (or set E2E_BIN_DIR)"
  done
  stages="$bin/../share/kwok-stages"
  ls "$stages"/*.yaml >/dev/null 2>&1 || die "no kwok stages in $stages: run e2e/toolchain/build.sh kube"
  [[ $real_node == 1 ]] && node_requirements
  return 0
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

on_start_failure() {
  local rc=$?
  trap - EXIT
  if [[ $rc -ne 0 ]]; then
    log "start failed (exit $rc); last log lines:"
    for c in "${components[@]}"; do
      [[ -f "$dir/logs/$c.log" ]] && { echo "----- $c" >&2; tail -n 15 "$dir/logs/$c.log" >&2; }
    done
    cmd_stop || true
  fi
  exit $rc
}

cmd_start() {
  local t0=$SECONDS c
  find_bin
  for c in "${components[@]}"; do
    pid_of "$c" >/dev/null && die "$c is already running from $dir: run '$0 stop' first"
  done
  for p in "$api_port" "$etcd_port" "$etcd_peer_port"; do
    port_free "$p" || die "port $p on 127.0.0.1 is in use (set E2E_APISERVER_PORT / E2E_ETCD_PORT)"
  done
  trap on_start_failure EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  rm -rf "$dir/pki" "$dir/etcd-data" "$dir/logs" "$dir/run" "$dir/kwok.yaml"
  mkdir -p "$dir/logs" "$dir/run"
  if [[ $real_node == 1 ]]; then
    claim_node_slot
    : >"$dir/real-node"
    node_network_up
    write_containerd_config
  fi
  make_pki
  local p="$dir/pki"
  # The fake cluster's API server serves loopback only and publishes no endpoint (a loopback
  # address may not be one); with a real node it serves the node IP, which pods reach through
  # the kubernetes Service like on any cluster.
  local api_flags=(--endpoint-reconciler-type none --authorization-mode RBAC)
  if [[ $real_node == 1 ]]; then
    api_flags=(--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction
      --kubelet-preferred-address-types InternalIP
      --kubelet-client-certificate "$p/kubelet-client.crt" --kubelet-client-key "$p/kubelet-client.key")
  fi

  spawn etcd --name e2e --data-dir "$dir/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state new \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd health" curl -sS --fail --max-time 2 "http://127.0.0.1:$etcd_port/health"

  spawn kube-apiserver \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address "$api_host" --advertise-address "$api_host" --secure-port "$api_port" \
    --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
    --client-ca-file "$p/ca.crt" \
    --token-auth-file "$p/tokens.csv" \
    "${api_flags[@]}" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=true \
    --profiling=false
  wait_for "kube-apiserver /readyz" api /readyz

  spawn kube-controller-manager \
    --kubeconfig "$p/controller-manager.kubeconfig" \
    --secure-port 0 --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
    --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" \
    --controllers '*' \
    --profiling=false
  spawn kube-scheduler \
    --kubeconfig "$p/scheduler.kubeconfig" \
    --secure-port 0 --leader-elect=false --profiling=false

  # kwok: the stages copied from its module, nothing else; it serves no port.
  for f in "$stages"/*.yaml; do cat "$f"; echo "---"; done > "$dir/kwok.yaml"
  spawn kwok --kubeconfig "$dir/admin.kubeconfig" --config "$dir/kwok.yaml" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 \
    --cidr 10.245.0.0/16 --node-ip 10.0.0.10

  local kubectl=("$bin/kubectl" --kubeconfig "$dir/admin.kubeconfig")
  nodes_yaml | "${kubectl[@]}" apply -f - >&2
  wait_for "the MutatingAdmissionPolicy API" api /apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies
  extras_yaml | "${kubectl[@]}" apply -f - >&2
  if [[ $real_node == 1 ]]; then
    "${kubectl[@]}" apply -f - >&2 < <(node_rbac_yaml)
    spawn_node
    wait_node_ready
  fi
  wait_for "both nodes Ready" "${kubectl[@]}" wait --for=condition=Ready node --all --timeout=2s
  # The ServiceAccount admission plugin rejects pods until the controller manager has made
  # the namespace's default ServiceAccount.
  wait_for "the default ServiceAccount" api /api/v1/namespaces/default/serviceaccounts/default

  cat > "$dir/env" <<EOF
export KUBECONFIG=$dir/admin.kubeconfig
export E2E_CLUSTER_DIR=$dir
EOF
  trap - EXIT
  log "cluster ready in $((SECONDS - t0))s: API server https://$api_host:$api_port"
  echo "KUBECONFIG=$dir/admin.kubeconfig"
  echo "E2E_CLUSTER_DIR=$dir"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) [[ -f "$dir/env" ]] && cat "$dir/env" || die "no cluster state in $dir" ;;
  check) cmd_check ;;
  *) echo "usage: $0 start|stop|status|env|check" >&2; exit 2 ;;
esac
