#!/usr/bin/env bash
# One command to try Floe: installs what is missing, builds the app when its sources changed,
# and starts Floe on http://127.0.0.1:3000 with the demo pool and demo accounts (their
# passwords are printed on first start and kept in .data/demo-accounts.txt; set
# FLOE_DEMO_PASSWORD to choose one password for all of them).
set -euo pipefail
export NEXT_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-browser
if [ ! -f .next/BUILD_ID ] || [ -n "$(find app components lib server types proxy.ts next.config.ts package-lock.json patches -newer .next/BUILD_ID -print -quit)" ]; then
  echo "==> Building the web app"
  npx next build
fi
# The graphical template builds in the background (guest/build-desktop.sh), then the Desktop
# pool is added; FLOE_DESKTOP_TEMPLATE=0 npm run demo leaves it out.
export FLOE_DEMO=1 FLOE_DESKTOP_TEMPLATE=${FLOE_DESKTOP_TEMPLATE:-1} NODE_ENV=production
exec npx tsx server/main.ts
