#!/usr/bin/env bash
# Runs every test: type check, unit and integration tests (node:test; real sockets and real
# QEMU), the database tests again on PostgreSQL (started on loopback by scripts/postgres.sh),
# then the browser end-to-end tests (Playwright in Debian's Chromium against the real server
# and real QEMU). Installs what is missing first.
set -euo pipefail
export NEXT_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> Type check"
npx tsc --noEmit
echo "==> Building the web app"
npx next build
echo "==> Unit and integration tests (SQLite)"
npm run --silent test:unit
echo "==> Database tests on PostgreSQL"
eval "$(bash scripts/postgres.sh)"
node --import tsx --test --test-concurrency=1 $(grep -lr openTestDatabase server --include="*.test.ts" | xargs grep -L QemuHypervisor | sort)
echo "==> Browser end-to-end tests"
npx playwright test
