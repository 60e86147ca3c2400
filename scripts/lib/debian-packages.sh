# shellcheck shell=bash
# Sourced by the scripts that need Debian packages on the machine.

# install_missing_debian_packages PKG...: installs those not installed yet; a second run installs nothing.
install_missing_debian_packages() {
  local need=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  ((${#need[@]})) || return 0
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}
