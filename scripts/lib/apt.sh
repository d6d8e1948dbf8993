# shellcheck shell=bash
# Installing Debian packages, only those missing. Sourced by scripts/testenv.sh and
# scripts/run.sh; the caller defines log().

# Is a package installed?
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Install those of the given packages that are missing (apt-get update first).
ensure_packages() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]} (apt-get update first)"
    # Lock::Timeout: wait for another apt/dpkg run (e.g. unattended upgrades) instead of failing.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
}
