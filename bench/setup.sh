#!/usr/bin/env bash
# What the benchmark needs beyond Floe's own setup: Debian's websockify (the relay it is compared
# with). Idempotent; fast when it is there.
set -euo pipefail
if ! dpkg-query -W -f='${Status}' websockify 2>/dev/null | grep -q 'install ok installed'; then
  echo "==> Installing Debian's websockify for the relay comparison"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends websockify
fi
