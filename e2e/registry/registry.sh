#!/usr/bin/env bash
# A container registry with htpasswd auth on loopback (Debian's docker-registry), for the
# end-to-end suite and `npm run local`.
#
#   e2e/registry/registry.sh start   start it (a second start with the same directory reuses it)
#   e2e/registry/registry.sh stop    stop it; the stored images stay in the directory
#   e2e/registry/registry.sh env     print the shell exports of a running registry
#
# Environment: E2E_REGISTRY_DIR (state: data, htpasswd, password, PID; default
# ${TMPDIR:-/tmp}/agentscope-e2e-registry), E2E_REGISTRY_PORT (default 25000).
# Output of start and env, on stdout: E2E_REGISTRY=127.0.0.1:<port>, E2E_REGISTRY_USER,
# E2E_REGISTRY_PASSWORD (generated once, kept in the directory with owner-only permissions).
set -euo pipefail
dir="${E2E_REGISTRY_DIR:-${TMPDIR:-/tmp}/agentscope-e2e-registry}"
port="${E2E_REGISTRY_PORT:-25000}"
addr="127.0.0.1:$port"
user=e2e-pusher
log() { echo "[e2e-registry] $*" >&2; }
# shellcheck source=scripts/lib/debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/debian-packages.sh"

running_pid() {
  local pid
  pid="$(cat "$dir/registry.pid" 2>/dev/null)" || return 1
  [[ -n $pid && -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "docker-registry serve $dir/config.yml" && echo "$pid"
}

print_env() {
  echo "E2E_REGISTRY=$(cat "$dir/address")"
  echo "E2E_REGISTRY_USER=$user"
  echo "E2E_REGISTRY_PASSWORD=$(cat "$dir/password")"
}

cmd_start() {
  if running_pid >/dev/null; then log "already running at $(cat "$dir/address")"; print_env; return; fi
  install_missing_debian_packages "${registry_packages[@]}"
  mkdir -p "$dir/data" && chmod 700 "$dir"
  [[ -s $dir/password ]] || (umask 077 && openssl rand -hex 16 >"$dir/password")
  htpasswd -Bbn "$user" "$(cat "$dir/password")" >"$dir/htpasswd"
  echo "$addr" >"$dir/address"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: "$addr", secret: "$(openssl rand -hex 16)"}
auth: {htpasswd: {realm: agentscope-e2e, path: $dir/htpasswd}}
EOF
  setsid docker-registry serve "$dir/config.yml" </dev/null >"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"
  local code="" i
  for i in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/" || true)"
    [[ $code == 401 ]] && break
    running_pid >/dev/null || { log "the registry exited"; cat "$dir/registry.log" >&2; exit 1; }
    sleep 0.2
  done
  [[ $code == 401 ]] || { log "the registry at $addr answered $code, not 401 (auth)"; exit 1; }
  [[ "$(curl -s -o /dev/null -w '%{http_code}' -u "$user:$(cat "$dir/password")" "http://$addr/v2/")" == 200 ]] ||
    { log "the registry refused its own credentials"; exit 1; }
  log "running at $addr (auth: $user)"
  print_env
}

cmd_stop() {
  local pid i
  if pid="$(running_pid)"; then
    kill "$pid"
    for i in $(seq 1 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    [[ -d /proc/$pid ]] && kill -KILL "$pid"
    log "stopped ($pid)"
  fi
  rm -f "$dir/registry.pid"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) running_pid >/dev/null || { log "not running"; exit 1; }; print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
