#!/usr/bin/env bash
# A stand-in for guest/build-desktop.sh in e2e/preparing.spec.ts: the real script's six
# "step N/6: what" lines (its own words), STAND_IN_STEP_SECONDS apart (3 s), without building
# anything; it fails at the end with an error line, as a build that cannot reach Debian's
# mirrors would.
set -euo pipefail
steps=(
  "host tools (mmdebstrap, qemu-utils, e2fsprogs)"
  "mmdebstrap: 33 packages from Debian bookworm (about 280 MB to download)"
  "configuring: auto-login, panel, ready marker, network"
  "kernel and initrd"
  "ext4 file system (4 GiB) into qcow2"
  "installing into $1/desktop"
)
for i in "${!steps[@]}"; do
  echo "guest/build-desktop.sh: step $((i + 1))/6: ${steps[$i]}"
  sleep "${STAND_IN_STEP_SECONDS:-3}"
done
echo "guest/build-desktop.sh: error: mmdebstrap failed (no Debian mirror answered)" >&2
exit 1
