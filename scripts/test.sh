#!/usr/bin/env bash
# Runs every test: type check, unit and integration tests (node:test; real sockets and real
# QEMU), then the browser end-to-end tests (Playwright in Debian's Chromium against the real
# server and real QEMU). Installs what is missing first.
set -euo pipefail
export NEXT_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> Type check"
npx tsc --noEmit
echo "==> Building the web app"
npx next build
echo "==> Unit and integration tests"
npm run --silent test:unit
echo "==> Browser end-to-end tests"
npx playwright test
