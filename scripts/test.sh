#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh clone: install the real peers from Debian,
# install npm packages, lint, type-check, build (the browser tests drive the built web app),
# then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
npm ci --no-audit --no-fund --loglevel=error
npm run lint
npm run typecheck
npm run build
npx vitest run "$@"
