#!/usr/bin/env bash
# Installs what Floe needs on a Debian 12 machine and is idempotent (fast when all is there):
# Debian packages (QEMU, qemu-img, cpio, e2fsprogs; Chromium, nginx and sqlite3 for the tests),
# the npm packages, the system user QEMU runs as (floe-qemu, or FLOE_QEMU_USER; see
# server/hypervisor/qemu/qemu-confinement.ts), the CA and certificate tools (openssl) for SPICE
# TLS, nftables (it keeps "nat" guests off this host: server/host/guest-firewall.ts), and the
# demo guest image (built from Debian packages by guest/build.sh).
# Usage: scripts/setup.sh [--no-browser]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(qemu-system-x86 qemu-utils cpio e2fsprogs openssl nftables)
# The browser tests use Chromium; the remote-viewer TLS test runs Debian's remote-viewer under Xvfb;
# the deploy-doc test (test/deploy-doc.test.ts) runs Debian's nginx and sqlite3 as docs/deploy.md does.
[ "${1:-}" = "--no-browser" ] || packages+=(chromium virt-viewer xvfb nginx sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> Installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts nginx on port 80 when it installs it under systemd; the tests run their own.
  if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

# QEMU drops root to this user (-runas); Floe refuses to start QEMU as root without it.
qemu_user=${FLOE_QEMU_USER:-floe-qemu}
if ! getent passwd "$qemu_user" >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> Creating the system user $qemu_user (QEMU runs as it)"
    useradd --system --no-create-home --user-group --home-dir /nonexistent --shell /usr/sbin/nologin "$qemu_user"
  else
    echo "==> Not root: QEMU will run as $(id -un) (only a root Floe switches QEMU to $qemu_user)"
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> Installing npm packages"
  npm ci --no-audit --no-fund
fi

bash guest/build.sh
