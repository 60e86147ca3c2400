#!/usr/bin/env bash
# Installs podman, buildah, skopeo and runc from Debian and writes the
# containers.conf that works on these machines (see
# shared/reference/platform-facts.md: crun fails on this cgroup setup, so runc
# with the cgroupfs manager). Idempotent: a second run changes nothing.
set -euo pipefail

# shellcheck source=scripts/lib/debian-packages.sh
source "$(dirname "$0")/lib/debian-packages.sh"
install_missing_debian_packages "${podman_packages[@]}"

conf=/etc/containers/containers.conf
want='[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
if [[ "$(cat "$conf" 2>/dev/null)" != "$want" ]]; then
  mkdir -p /etc/containers
  printf '%s\n' "$want" >"$conf"
fi
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}' >/dev/null
