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

# Keep a distro package's own service from running, now and at boot. For `haproxy`: Mosaic runs
# its own HAProxy process; the distro's would hold its own admin socket and any port its config
# names. Only the distro's instance is touched (systemd's unit, or the init script's pidfile),
# never another process of the same program.
distro_service_off() {
    local svc=$1
    if [[ -d /run/systemd/system ]]; then
        if systemctl --quiet is-enabled "$svc" 2>/dev/null || systemctl --quiet is-active "$svc" 2>/dev/null; then
            log "stopping and disabling the distro's $svc service"
            systemctl --quiet disable --now "$svc"
        fi
        return 0
    fi
    # No systemd running (a container, or a sysvinit machine): the init script's instance.
    [[ -x /etc/init.d/$svc ]] || return 0
    if "/etc/init.d/$svc" status >/dev/null 2>&1; then
        log "stopping the distro's $svc service"
        "/etc/init.d/$svc" stop >/dev/null
    fi
    if compgen -G "/etc/rc[2-5].d/S*$svc" >/dev/null; then
        log "disabling the distro's $svc service at boot"
        update-rc.d "$svc" disable >/dev/null 2>&1
    fi
    # The unit's symlink too, should the machine ever boot with systemd.
    if command -v systemctl >/dev/null && systemctl --quiet is-enabled "$svc" 2>/dev/null; then
        systemctl --quiet disable "$svc" >/dev/null 2>&1 || true
    fi
}
