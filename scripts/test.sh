#!/usr/bin/env bash
# Runs every test: type check, unit and integration tests (node:test; real sockets and real
# QEMU; the hypervisor contract and two-host tests start their own libvirtd hosts with
# scripts/libvirt.sh, which installs Debian's libvirt when missing, and stop them), the
# database tests again on PostgreSQL (started on loopback by scripts/postgres.sh),
# then the browser end-to-end tests (Playwright in Debian's Chromium against the real server
# and real QEMU). Installs what is missing first.
#
# The run refuses to pass on a suite that did not test what it says:
# - test files run in an order shuffled by a seed printed in the log (FLOE_TEST_SEED=N repeats
#   it): the unit files, then the e2e specs in that random order and once more in reverse, so a
#   test that needs an earlier one's leftovers fails;
# - every file of the PostgreSQL stage must have opened PostgreSQL (server/db/test-database.ts
#   refuses another engine and logs the one it opened); so must the real-server tests of their
#   own stage (test/two-replicas.postgres.ts: two replicas on one PostgreSQL;
#   test/postgres-backup.postgres.ts: docs/deploy.md's pg_dump and pg_restore);
# - a skipped test fails the run in CI unless its reason is in scripts/accepted-skips.txt;
# - `npm run bench -- --short` runs, so the benchmark and its checks cannot rot;
# - a checkout that was clean must still be clean afterwards (tests write only to ignored
#   folders; `npm run docs:screenshots` refreshes the pictures in docs/).
set -euo pipefail
export NEXT_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
seed=${FLOE_TEST_SEED:-$RANDOM}
reports=$(mktemp -d)
trap 'rm -rf "$reports" e2e-reversed' EXIT
tree_before=$(git status --porcelain 2>/dev/null || echo "not a git checkout")
echo "==> Test order seed: $seed (run again in this order with FLOE_TEST_SEED=$seed)"

# Prints its arguments one a line, in an order fixed by the seed.
shuffled() {
  for item in "$@"; do printf '%s %s\n' "$(printf '%s%s' "$seed" "$item" | sha1sum | cut -c1-40)" "$item"; done | sort | cut -d' ' -f2
}
# node:test over the given files, one at a time, with a TAP copy of the results for the skip check.
node_tests() {
  local tap=$1; shift
  node --import tsx --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$tap" "$@"
}

bash scripts/setup.sh
echo "==> Type check"
npx tsc --noEmit
echo "==> Building the web app"
npx next build

echo "==> Unit and integration tests (SQLite)"
mapfile -t unit_files < <(shuffled $(find server lib test -name '*.test.ts' 2>/dev/null))
FLOE_TEST_DATABASE_URL= FLOE_TEST_DATABASE_ENGINE=sqlite node_tests "$reports/unit.tap" "${unit_files[@]}"

echo "==> Database tests on PostgreSQL"
# Not eval "$(…)": under set -e a failing command substitution inside eval does not stop the run.
postgres_env=$(bash scripts/postgres.sh)
eval "$postgres_env"
: "${FLOE_TEST_DATABASE_URL:?scripts/postgres.sh printed no FLOE_TEST_DATABASE_URL}"
mapfile -t database_files < <(shuffled $(grep -lrE 'openTestDatabase|freshDatabase' server lib test --include='*.test.ts' | xargs grep -L QemuHypervisor))
FLOE_TEST_DATABASE_ENGINE=postgres FLOE_TEST_DATABASE_LOG="$reports/engines.log" node_tests "$reports/postgres.tap" "${database_files[@]}"
for file in "${database_files[@]}"; do
  grep -qx "postgres $file" "$reports/engines.log" || { echo "FAILED: $file did not open PostgreSQL in the PostgreSQL stage" >&2; exit 1; }
done
if grep -v '^postgres ' "$reports/engines.log"; then echo "FAILED: the PostgreSQL stage opened another engine (above)" >&2; exit 1; fi
echo "All ${#database_files[@]} database test files ran on PostgreSQL."

echo "==> Real servers on PostgreSQL: two portal replicas, the documented backup and restore (about 2 minutes)"
# Not *.test.ts: they need PostgreSQL (and fail without it), so the SQLite stage must not run them.
server_files=(test/two-replicas.postgres.ts test/postgres-backup.postgres.ts)
FLOE_TEST_DATABASE_ENGINE=postgres FLOE_TEST_DATABASE_LOG="$reports/replicas-engines.log" node_tests "$reports/replicas.tap" "${server_files[@]}"
for file in "${server_files[@]}"; do
  grep -qx "postgres $file" "$reports/replicas-engines.log" || { echo "FAILED: $file did not open PostgreSQL" >&2; exit 1; }
done

echo "==> Fault drills (file handles, database away, full disk, kill -9 QEMU; about 3 minutes)"
npm run --silent drills

echo "==> The graphical desktop template (guest/build-desktop.sh; cached by its recipe, about 3-7 minutes when it is not)"
# e2e/graphical-desktop.spec.ts needs it; its template VM boots and is saved once per image
# (IMAGE_DIR/snapshots), so both e2e passes below restore clones of one snapshot.
bash guest/build-desktop.sh

echo "==> Browser end-to-end tests, specs in random order (seed $seed)"
PLAYWRIGHT_JSON_OUTPUT_FILE="$reports/e2e-random.json" npx playwright test --reporter=list,json --shuffle="$seed"
echo "==> Browser end-to-end tests, specs in reverse order"
# Playwright runs spec files in name order: a copy of e2e/ whose names sort the other way round.
rm -rf e2e-reversed && cp -r e2e e2e-reversed && rm e2e-reversed/*.spec.ts
mapfile -t specs < <(cd e2e && ls -r -- *.spec.ts)
for i in "${!specs[@]}"; do cp "e2e/${specs[$i]}" "$(printf 'e2e-reversed/%03d-%s' "$i" "${specs[$i]}")"; done
FLOE_E2E_DIR=e2e-reversed PLAYWRIGHT_JSON_OUTPUT_FILE="$reports/e2e-reverse.json" npx playwright test --reporter=list,json
rm -rf e2e-reversed

echo "==> Short benchmark (the bench's own checks: every relayed byte, no desktop given twice)"
npm run --silent bench -- --short

echo "==> Skipped tests"
npx tsx scripts/check-skips.ts "$reports/unit.tap" "$reports/postgres.tap" "$reports/replicas.tap" "$reports/e2e-random.json" "$reports/e2e-reverse.json"

echo "==> The checkout is as it was"
tree_after=$(git status --porcelain 2>/dev/null || echo "not a git checkout")
if [ -z "$tree_before" ] && [ -n "$tree_after" ]; then
  echo "FAILED: the tests changed or left files in the checkout (write to an ignored folder):" >&2
  echo "$tree_after" >&2
  exit 1
fi
[ -z "$tree_before" ] || echo "(the checkout had changes before the run, so this was not checked)"
