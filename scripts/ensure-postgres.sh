#!/usr/bin/env bash
# The test suite runs against PostgreSQL too. Start the local cluster when nothing listens on 5432.
set -euo pipefail

listening() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if listening; then
  exit 0
fi
echo "PostgreSQL is not listening on 127.0.0.1:5432; starting it" >&2
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do
  listening && break
  sleep 1
done
listening || { echo "PostgreSQL did not start" >&2; exit 1; }
# Trust auth on loopback and a `test` database, as the suite expects.
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 \
  || su postgres -c "createdb test"
