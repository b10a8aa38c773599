# Helpers shared by the CI steps (sourced).

# apt_install PKG...: installs the Debian packages that are missing (needs root).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# rust_target TARGET [TOOLCHAIN]: adds a rustup target when missing.
rust_target() {
  local tc=${2:-stable}
  rustup target list --installed --toolchain "$tc" | grep -qx "$1" || rustup target add --toolchain "$tc" "$1"
}
