#!/usr/bin/env bash
# Starts a PostgreSQL for the tests on loopback (installs Debian's postgresql when missing),
# with a role `floe` and an empty database `floe_test`, and prints its DATABASE_URL.
# Idempotent: a running cluster is reused. Usage: eval "$(scripts/postgres.sh)"
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "==> Installing PostgreSQL" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$" || pg_createcluster "$version" main >&2
pg_ctlcluster "$version" main status >/dev/null 2>&1 || pg_ctlcluster "$version" main start >&2
for _ in $(seq 50); do su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break; sleep 0.2; done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='floe'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role floe login password 'floe'\"" >&2
su postgres -c "dropdb --if-exists floe_test && createdb -O floe floe_test" >&2
echo "export FLOE_TEST_DATABASE_URL=postgres://floe:floe@127.0.0.1:5432/floe_test"
