# shellcheck shell=bash
# Sourced by the scripts that need Debian packages on the machine.

# What each part of the local path installs, named once: the embedded node, its registry, and the
# image builder (podman packs the node's own pause and CoreDNS images too).
# shellcheck disable=SC2034  # used by the scripts that source this file
embedded_node_packages=(containerd runc containernetworking-plugins iptables ipset conntrack)
# shellcheck disable=SC2034
registry_packages=(docker-registry apache2-utils openssl curl)
# shellcheck disable=SC2034
podman_packages=(podman buildah skopeo runc)

# install_missing_debian_packages PKG...: installs those not installed yet; a second run installs nothing.
# Installs may overlap (npm run local installs while the toolchain builds): apt waits for dpkg's
# lock instead of failing at once.
install_missing_debian_packages() {
  local need=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  ((${#need[@]})) || return 0
  echo "installing ${need[*]}" >&2
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${need[@]}" >/dev/null
}
