#!/usr/bin/env bash
# Quick start: set up and run the whole test suite, on SQLite and then on PostgreSQL.
# Installs Debian's Chromium (browser tests) and starts PostgreSQL when it can (root, apt).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

# Under CI (CI=true) the browser tests must run: a failed install stops here, and the tests
# themselves fail without Chromium (tests/browser/conftest.py). Elsewhere they are skipped.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian chromium and a CJK font for browser tests"
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei) >/tmp/kehu-apt.log 2>&1; then
      echo "!! could not install chromium (see /tmp/kehu-apt.log)"
      if [ "${CI:-}" = "true" ]; then tail -20 /tmp/kehu-apt.log; exit 1; fi
      echo "!! browser tests will be skipped"
    fi
  else
    echo "!! chromium is not installed and cannot be installed here (needs root and apt-get)"
    [ "${CI:-}" = "true" ] && exit 1
  fi
fi

PG_URL=${KEHU_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 20); do pg_isready -h 127.0.0.1 -q && break; sleep 0.5; done
  fi
fi

# two workers (pytest-xdist), one per core; KEHU_TEST_WORKERS=0 runs in one process
WORKERS=(-n "${KEHU_TEST_WORKERS:-2}")

echo "== test suite on SQLite"
.venv/bin/python -m pytest "${WORKERS[@]}" "$@"
sqlite_rc=$?

pg_rc=0
if command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  echo "== test suite on PostgreSQL ($PG_URL)"
  KEHU_TEST_DATABASE_URL=$PG_URL .venv/bin/python -m pytest "${WORKERS[@]}" -m "not browser" "$@"
  pg_rc=$?
else
  echo "!! PostgreSQL is not running on 127.0.0.1:5432; the PostgreSQL run is skipped"
  [ "${CI:-}" = "true" ] && pg_rc=1
fi
[ $sqlite_rc -eq 0 ] && [ $pg_rc -eq 0 ]
