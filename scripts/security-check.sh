#!/usr/bin/env bash
# The security checks (issue 12 and the rounds before it), each finding tried the way an
# attacker tried it: first against a running Floe (production build, real QEMU, started by the
# Playwright fixtures on port 0): the second round (e2e/security-check.spec.ts), the
# authorization matrix and the bad-input suite; then what needs the host's view: QEMU's user,
# sandbox, environment and file modes, and remote-viewer over TLS through the SPICE proxy.
# Usage: npm run security-check   (FLOE_SKIP_BUILD=1 reuses the last `next build`)
set -euo pipefail
export NEXT_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
if [ "${FLOE_SKIP_BUILD:-}" != "1" ] || [ ! -f .next/BUILD_ID ]; then
  echo "==> Building the web app"
  npx next build
fi
echo "==> Against a running Floe"
npx playwright test e2e/security-check.spec.ts e2e/auth-matrix.spec.ts e2e/auth-inputs.spec.ts
echo "==> QEMU's confinement and remote-viewer's TLS"
node --import tsx --test --test-concurrency=1 server/hypervisor/qemu/qemu-confinement.test.ts test/remote-viewer-tls.test.ts server/console/spice-proxy.test.ts
