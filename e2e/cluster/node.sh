# shellcheck shell=bash
# The embedded cluster's real node, sourced by cluster.sh when E2E_REAL_NODE=1: containerd and
# runc from Debian, the bridge CNI, kubelet and kube-proxy of the control plane's version,
# kube-router as the NetworkPolicy controller (firewall only) and CoreDNS as a pod.
# shared/reference/real-cluster-facts.md has why each setting below is what it is.
#
# Addresses (all made by this script, removed by stop):
#   node IP           $node_ip/32 on the empty bridge ase2e-node; the API server, kubelet and
#                     NodePorts listen there, nowhere else but loopback
#   pods              $pod_cidr on the bridge ase2e-cni (no masquerading)
#   Services          10.96.0.0/16 (kube-proxy, iptables mode), DNS at 10.96.0.10
# Containment: pods reach the node IP and interfaces named ase2e* (the cluster's and the tests'
# own hosts), nothing else; the rules live in chains of ours in the mangle table, which neither
# kube-proxy nor kube-router touches.

node_name=ase2e-node
node_ip=${E2E_NODE_IP:-10.243.0.1}
pod_cidr=10.244.0.0/24
pod_gateway=10.244.0.1
service_cidr=10.96.0.0/16
dns_ip=10.96.0.10
node_bridge=ase2e-node
cni_bridge=ase2e-cni
fw_chain=ASE2E-CONTAIN
kubelet_port=10250
# Static volumes of the e2e-local StorageClass (kind and k3d have a local-path provisioner; this
# cluster has a fixed set of local PersistentVolumes, which, unlike hostPath, honour fsGroup).
volume_count=8
node_components=(containerd kubelet kube-proxy kube-router)
# shellcheck source=scripts/lib/debian-packages.sh
source "$repo/scripts/lib/debian-packages.sh"

ctr_() { ctr --address "$dir/containerd/containerd.sock" --namespace k8s.io "$@"; }

node_requirements() {
  install_missing_debian_packages "${embedded_node_packages[@]}"
  # podman packs the node's pause and CoreDNS images (and builds the stack's images after).
  "$repo/scripts/setup-podman.sh"
  local b
  for b in kubelet kube-proxy kube-router coredns pause; do
    [[ -x "$bin/$b" ]] || die "$bin/$b is missing: run e2e/toolchain/build.sh"
  done
  [[ -d /proc/sys/net/bridge ]] || modprobe br_netfilter 2>/dev/null || true
  [[ -f /proc/sys/net/bridge/bridge-nf-call-iptables ]] || die "the kernel has no bridge netfilter: NetworkPolicies could not be enforced"
  return 0
}

# ---------------------------------------------------------------- the machine's one real node

# Bridge names, addresses and kube-proxy's chains are machine-wide, so one real node runs at a
# time. A lock held by a holder process marks the slot taken for the cluster's lifetime; a job
# killed without `stop` (its holder dies with it) leaves the slot free and its leftovers behind,
# which the next start removes.
slot_dir=/run/agentscope-e2e
slot_lock=$slot_dir/real-node.lock
slot_owner=$slot_dir/real-node.owner   # state directory of the cluster holding the slot
slot_wait="${E2E_NODE_WAIT:-900}"

claim_node_slot() {
  local fd previous
  mkdir -p "$slot_dir"
  exec {fd}>>"$slot_lock"
  if ! flock -n "$fd"; then
    log "another embedded cluster's real node runs (state in $(cat "$slot_owner" 2>/dev/null || echo '?')); waiting up to ${slot_wait}s for it to stop"
    flock -w "$slot_wait" "$fd" ||
      die "the real node is still taken after ${slot_wait}s: stop that cluster (E2E_CLUSTER_DIR=$(cat "$slot_owner" 2>/dev/null || echo '<its dir>') $0 stop)"
  fi
  previous="$(cat "$slot_owner" 2>/dev/null || true)"
  # Without an owner record (a node older than this lock), its mounts still name its directory.
  [[ -n $previous ]] || previous="$(sed -n 's#^[^ ]* \(/[^ ]*\)/kubelet/root .*#\1#p' /proc/mounts | head -n 1)"
  if [[ -n $previous ]] || ip link show "$node_bridge" >/dev/null 2>&1; then
    log "removing what a real node left behind without a stop (state in ${previous:-?})"
    (dir="${previous:-$dir}" && clean_dead_node)
  fi
  echo "$dir" >"$slot_owner"
  # The holder inherits the locked descriptor; this script then closes its own copy, so the
  # components spawned next do not hold the lock.
  setsid sleep infinity </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/run/node-slot.pid"
  exec {fd}>&-
}

owns_node_slot() { [[ "$(cat "$slot_owner" 2>/dev/null)" == "$dir" ]]; }

release_node_slot() {
  local pid
  rm -f "$slot_owner"
  pid="$(cat "$dir/run/node-slot.pid" 2>/dev/null || true)"
  if [[ -n $pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '^sleep infinity'; then
    kill "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/run/node-slot.pid"
}

# Leftovers of a node whose processes were killed: any of its processes still alive, then the
# host state (mounts, namespaces, interfaces, chains).
clean_dead_node() {
  local c
  for c in "${components[@]}"; do stop_one "$c" 2>/dev/null || true; done
  node_host_cleanup
}

# ---------------------------------------------------------------- host network

node_network_up() {
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  ip link add "$node_bridge" type bridge
  ip addr add "$node_ip/32" dev "$node_bridge"
  ip link set "$node_bridge" up
  # Containment, ahead of anything kube-proxy or kube-router installs (mangle runs before filter).
  iptables -t mangle -N "$fw_chain"
  iptables -t mangle -A "$fw_chain" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
  iptables -t mangle -A "$fw_chain" -o ase2e+ -j RETURN
  iptables -t mangle -A "$fw_chain" -m comment --comment "pods reach nothing outside the cluster" -j DROP
  iptables -t mangle -I FORWARD 1 -s "$pod_cidr" -j "$fw_chain"
  iptables -t mangle -N "$fw_chain-IN"
  iptables -t mangle -A "$fw_chain-IN" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
  iptables -t mangle -A "$fw_chain-IN" -d "$node_ip" -j RETURN
  iptables -t mangle -A "$fw_chain-IN" -m comment --comment "pods reach only the node IP on the host" -j DROP
  iptables -t mangle -I INPUT 1 -s "$pod_cidr" -j "$fw_chain-IN"
}

# ---------------------------------------------------------------- containerd

write_containerd_config() {
  local c="$dir/containerd"
  mkdir -p "$c/root" "$c/state" "$c/certs.d" "$dir/cni/net.d"
  local registry_auth=""
  if [[ -n "${E2E_REGISTRY:-}" && -n "${E2E_REGISTRY_USER:-}" ]]; then
    # The node pulls from the loopback registry over plain HTTP, with credentials, as ACK's
    # credential helper gives nodes theirs; pods need no pull secret for it.
    mkdir -p "$c/certs.d/$E2E_REGISTRY"
    cat >"$c/certs.d/$E2E_REGISTRY/hosts.toml" <<EOF
server = "http://$E2E_REGISTRY"
[host."http://$E2E_REGISTRY"]
  capabilities = ["pull", "resolve"]
EOF
    registry_auth="[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"$E2E_REGISTRY\".auth]
  username = \"$E2E_REGISTRY_USER\"
  password = \"$E2E_REGISTRY_PASSWORD\""
  fi
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.opt"]
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/agentscope-e2e/pause:1"
  # Root here lacks CAP_SYS_RESOURCE: without this, runc fails writing -998 to oom_score_adj.
  restrict_oom_score_adj = true
  # Pod network namespaces under the CRI state directory ($(netns_dir)), not /var/run/netns: the
  # first `ip netns add` on the machine bind-mounts /run/netns over itself and hides the mounts
  # of the pods' namespaces there, which then can never be removed (docs/embedded-node.md).
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "$dir/cni/net.d"
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "$c/certs.d"
$registry_auth
EOF
  chmod 600 "$c/config.toml"
  # Bridge CNI, no masquerading: pod traffic keeps its source address and is dropped at the host
  # unless it stays inside the cluster. hairpinMode lets a pod reach itself through its Service.
  cat >"$dir/cni/net.d/10-ase2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ase2e",
  "plugins": [
    {"type": "bridge", "bridge": "$cni_bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr", "gateway": "$pod_gateway"}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$dir/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# The pause and CoreDNS images: our own static binaries packed by podman and imported into
# containerd (no registry holds registry.k8s.io/pause or coredns/coredns here).
import_node_images() {
  local ctx name bin_name
  for pair in pause:pause coredns:coredns; do
    name=${pair%%:*} bin_name=${pair#*:}
    ctx="$(mktemp -d "$dir/image.XXXXXX")"
    cp "$bin/$bin_name" "$ctx/"
    printf 'FROM scratch\nCOPY %s /%s\nUSER 65534:65534\nENTRYPOINT ["/%s"]\n' "$bin_name" "$bin_name" "$bin_name" >"$ctx/Containerfile"
    podman build --quiet --no-cache -t "localhost/agentscope-e2e/$name:1" "$ctx" >/dev/null
    podman save --quiet --format docker-archive -o "$ctx/image.tar" "localhost/agentscope-e2e/$name:1"
    ctr_ images import --no-unpack=false "$ctx/image.tar" >/dev/null
    rm -rf "$ctx"
  done
}

# ---------------------------------------------------------------- node identities

# Tokens for the node's components, added to the API server's token file before it starts.
node_tokens() {
  local p="$dir/pki" kubelet proxy router
  kubelet="$(openssl rand -hex 24)"; proxy="$(openssl rand -hex 24)"; router="$(openssl rand -hex 24)"
  cat >>"$p/tokens.csv" <<EOF
$kubelet,system:node:$node_name,system:node:$node_name,"system:nodes"
$proxy,system:kube-proxy,system:kube-proxy
$router,agentscope-e2e:kube-router,agentscope-e2e:kube-router
EOF
  write_kubeconfig "$p/kubelet.kubeconfig" "system:node:$node_name" "$kubelet"
  write_kubeconfig "$p/kube-proxy.kubeconfig" system:kube-proxy "$proxy"
  write_kubeconfig "$p/kube-router.kubeconfig" agentscope-e2e:kube-router "$router"
  # The API server's client certificate for the kubelet's API (logs, exec, port-forward).
  cat >"$p/kubelet-client.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver-kubelet-client" \
    -keyout "$p/kubelet-client.key" -out "$p/kubelet-client.csr" 2>/dev/null
  openssl x509 -req -in "$p/kubelet-client.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
    -days 1 -extfile "$p/kubelet-client.ext" -out "$p/kubelet-client.crt" 2>/dev/null
  chmod 600 "$p"/*.key
}

node_rbac_yaml() {
  cat <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: agentscope-e2e:apiserver-to-kubelet}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:kubelet-api-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: kube-apiserver-kubelet-client}]
---
# kube-router as a NetworkPolicy controller reads these and nothing else (its firewall mode also
# annotates nothing and writes no object).
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agentscope-e2e:kube-router}
rules:
- apiGroups: [""]
  resources: [namespaces, pods, services, nodes, endpoints]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: agentscope-e2e:kube-router}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agentscope-e2e:kube-router}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: agentscope-e2e:kube-router}]
EOF
}

# ---------------------------------------------------------------- processes

write_kubelet_config() {
  : >"$dir/kubelet/resolv.conf"  # pods with dnsPolicy Default learn no resolver of the host
  cat >"$dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# kubelet 1.35+ refuses cgroup v1 by default; these machines have it (cgroup v1 hybrid).
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$dir/containerd/containerd.sock
address: $node_ip
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $dir/pki/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$dns_ip]
clusterDomain: cluster.local
resolvConf: $dir/kubelet/resolv.conf
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
registerNode: true
nodeStatusReportFrequency: 10s
EOF
}

# containerd's CRI plugin keeps its state in <state>/io.containerd.grpc.v1.cri and, with
# netns_mounts_under_state_dir, bind-mounts the pods' network namespaces in netns/ there.
netns_dir() { echo "$dir/containerd/state/io.containerd.grpc.v1.cri/netns"; }

# The netns directory is a private mount of its own, made before any namespace is in it: mounts
# made elsewhere (ip netns, other mount namespaces) neither propagate into it nor out of it.
private_netns_dir() {
  local d
  d="$(netns_dir)"
  mkdir -p "$d"
  mount --bind "$d" "$d"
  mount --make-private "$d"
}

spawn_node() {
  mkdir -p "$dir/kubelet/root" "$dir/volumes"
  private_netns_dir
  spawn containerd --config "$dir/containerd/config.toml"
  wait_for "containerd" ctr_ version
  import_node_images
  write_kubelet_config
  spawn kubelet --config "$dir/kubelet/config.yaml" --kubeconfig "$dir/pki/kubelet.kubeconfig" \
    --root-dir "$dir/kubelet/root" --hostname-override "$node_name" --node-ip "$node_ip" \
    --node-labels "topology.kubernetes.io/region=cn-hangzhou,topology.kubernetes.io/zone=cn-hangzhou-i,agentscope.e2e/node=real" \
    --v 1
  spawn kube-proxy --kubeconfig "$dir/pki/kube-proxy.kubeconfig" --hostname-override "$node_name" \
    --proxy-mode iptables --cluster-cidr "$pod_cidr" --nodeport-addresses "$node_ip/32" \
    --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256 \
    --conntrack-max-per-core 0
  "${kubectl[@]}" apply -f - >&2 < <(volumes_yaml; echo ---; coredns_yaml)
}

# kube-router reads its own Node object at start: it runs once the kubelet has registered it.
spawn_policy_controller() {
  spawn kube-router --kubeconfig "$dir/pki/kube-router.kubeconfig" --hostname-override "$node_name" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --health-port 0 --metrics-port 0 --v 1
}

# kube-router's firewall needs the node's pod CIDR; the controller manager does not allocate
# one here (the CNI's range is fixed), so the node object carries it.
patch_node_pod_cidr() {
  "${kubectl[@]}" patch node "$node_name" --type merge -p "{\"spec\":{\"podCIDR\":\"$pod_cidr\",\"podCIDRs\":[\"$pod_cidr\"]}}" >&2
}

volumes_yaml() {
  local i
  cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: e2e-local
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
EOF
  for ((i = 0; i < volume_count; i++)); do
    mkdir -p "$dir/volumes/pv$i"
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: e2e-local-pv$i
  labels: {agentscope.e2e/volume: local}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: e2e-local
  local: {path: $dir/volumes/pv$i}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [$node_name]}]
EOF
  done
}

coredns_yaml() {
  sed -e "s/@DNS_IP@/$dns_ip/" "$here/coredns.yaml"
}

wait_node_ready() {
  wait_for "the real node to register" "${kubectl[@]}" get node "$node_name"
  patch_node_pod_cidr
  spawn_policy_controller
  wait_for "the real node Ready" "${kubectl[@]}" wait --for=condition=Ready node "$node_name" --timeout=2s
  wait_for "CoreDNS Available" "${kubectl[@]}" -n kube-system wait --for=condition=Available deployment/coredns --timeout=2s
}

# ---------------------------------------------------------------- check

# Pods of this node being deleted that the kubelet has failed to kill for teardown_grace seconds
# or more, one line each with the kubelet's error (which carries containerd's). A pod stuck like
# this keeps its resources reserved for ever; callers fail at once instead of waiting for
# whatever needed those resources to time out. The kubelet's FailedKillPod events say it; in a
# namespace being deleted events are refused, and its log says it.
teardown_grace="${E2E_TEARDOWN_GRACE:-30}"
stuck_teardowns() {
  local now uid pod first since msg pods events
  declare -A deleting=()
  # An API server too busy to answer is no verdict (one that exited is, in cmd_check).
  pods="$("${kubectl[@]}" get pods -A --field-selector "spec.nodeName=$node_name" -o jsonpath \
    --template '{range .items[?(@.metadata.deletionTimestamp)]}{.metadata.uid}{" "}{.metadata.namespace}/{.metadata.name}{"\n"}{end}')" || return 0
  while read -r uid pod; do [[ -n $uid ]] && deleting[$uid]=$pod; done <<<"$pods"
  ((${#deleting[@]})) || return 0
  events="$("${kubectl[@]}" get events -A --field-selector reason=FailedKillPod -o go-template \
    --template '{{range .items}}{{.involvedObject.uid}}{{"\t"}}{{or .firstTimestamp .eventTime}}{{"\t"}}{{.message}}{{"\n"}}{{end}}')" || return 0
  now="$(date +%s)"
  while IFS=$'\t' read -r uid first msg; do
    [[ -n $uid && -n ${deleting[$uid]:-} ]] || continue
    since="$(date -d "$first" +%s 2>/dev/null)" && ((now - since >= teardown_grace)) || continue
    echo "pod ${deleting[$uid]} cannot be torn down (the kubelet has failed since $first): $msg"
    unset "deleting[$uid]"
  done <<<"$events"
  # klog lines: "E1207 12:00:00.123456 <pid> <file>] ... podUID=\"<uid>\"" (local time).
  for uid in "${!deleting[@]}"; do
    first="$(grep -F "podUID=\"$uid\"" "$dir/logs/kubelet.log" 2>/dev/null | grep -m 1 -E 'KillPodSandbox|error killing' || true)"
    [[ -n $first ]] || continue
    since="$(date -d "$(date +%Y)-${first:1:2}-${first:3:2} ${first:6:8}" +%s 2>/dev/null)" && ((now - since >= teardown_grace)) || continue
    msg="$(grep -F "podUID=\"$uid\"" "$dir/logs/kubelet.log" | grep -E 'KillPodSandbox|error killing' | tail -n 1)"
    echo "pod ${deleting[$uid]} cannot be torn down (kubelet log since ${first:6:8}): ${msg:0:2000}"
  done
}

# ---------------------------------------------------------------- stop

# Everything the node made outside its processes: pod sandboxes, mounts, network namespaces,
# interfaces, iptables chains and ipsets. Safe to run when parts were never made.
node_cleanup() {
  local sock="$dir/containerd/containerd.sock" t
  if [[ -S $sock ]] && pid_of containerd >/dev/null; then
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s KILL "$t" >/dev/null 2>&1 || true; done
    sleep 0.5
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1 || true; done
  fi
}

node_host_cleanup() {
  local m ns chain set
  # Leftover shims of our containerd (their command line names our state directory).
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $dir/containerd/" 2>/dev/null || true
  kill_orphan_containers
  # Mounts under the cluster directory, deepest first.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
  # (The pods' network namespaces went with the mounts above.) A node started before
  # netns_mounts_under_state_dir left its cni-<uuid> namespaces in /var/run/netns.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-' || true); do
    if ip netns exec "$ns" ip -o addr 2>/dev/null | grep -q " ${pod_cidr%.*}\."; then
      ip netns delete "$ns" 2>/dev/null || true
    fi
  done
  ip link delete "$cni_bridge" 2>/dev/null || true
  ip link delete "$node_bridge" 2>/dev/null || true
  # Our containment chains.
  iptables -t mangle -D FORWARD -s "$pod_cidr" -j "$fw_chain" 2>/dev/null || true
  iptables -t mangle -D INPUT -s "$pod_cidr" -j "$fw_chain-IN" 2>/dev/null || true
  for chain in "$fw_chain" "$fw_chain-IN"; do
    iptables -t mangle -F "$chain" 2>/dev/null || true
    iptables -t mangle -X "$chain" 2>/dev/null || true
  done
  # kube-proxy's and kube-router's chains (kube-router's --cleanup-config panics without IPVS).
  remove_kube_chains
  for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-)' || true); do
    ipset destroy "$set" 2>/dev/null || true
  done
  conntrack -D -s "$pod_cidr" >/dev/null 2>&1 || true
  conntrack -D -d "$pod_cidr" >/dev/null 2>&1 || true
  # The node's state under the cluster directory (its logs stay).
  rm -rf "$dir/containerd" "$dir/kubelet" "$dir/volumes" "$dir/cni"
}

# Containers whose shim was killed (a job killed without stop) keep running in the cgroups runc
# made for them, named by the container ids in our containerd's state directory.
kill_orphan_containers() {
  local tasks="$dir/containerd/state/io.containerd.runtime.v2.task/k8s.io" ids pid id g
  ids="$(ls "$tasks" 2>/dev/null | paste -sd '|' || true)"
  [[ -n $ids ]] || return 0
  for pid in $(grep -lE ":/k8s.io/($ids)\$" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for id in $(ls "$tasks"); do
    for g in /sys/fs/cgroup/*/k8s.io/"$id" /sys/fs/cgroup/k8s.io/"$id"; do
      [[ -d $g ]] && rmdir "$g" 2>/dev/null || true
    done
  done
}

# Removes every jump to a KUBE-* chain from the built-in chains, then the KUBE-* chains.
remove_kube_chains() {
  local table rule chain
  for table in filter nat mangle raw; do
    # (|| true: no such rule is no error, and set -o pipefail would stop the cleanup half-way.)
    { iptables-save -t "$table" 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-' || true; } |
      while read -r rule; do
        # shellcheck disable=SC2086  # the rule is iptables-save's own quoting-free words
        eval "iptables -t $table ${rule/-A /-D }" 2>/dev/null || true
      done
    for chain in $(iptables-save -t "$table" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables-save -t "$table" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}
