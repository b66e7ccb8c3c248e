#!/usr/bin/env bash
# npm test's pretest: everything the suites need that is not in node_modules, checked before any test runs, so a
# fresh machine stops at once with one message instead of a stack of failures and timeouts.
#   1. the system programs (scripts/system-packages.sh: installed with apt-get when possible, else named);
#   2. the upstream mirror: BK_SHARED, a folder holding crds/ and charts/ (default: ../shared beside the checkout);
#   3. the pinned Go peer tools (scripts/tools.sh base alerting: built once into the user cache).
# Steps 1 and 2 are both reported before exiting, so one run names everything that is missing.
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
repo_root=$(cd "$here/.." && pwd)

failed=0
bash "$here/system-packages.sh" || failed=1

# The same rule as test/helpers/charts.ts sharedRoot(); change both together.
default_shared="$(cd "$repo_root/.." && pwd)/shared"
shared=${BK_SHARED:-$default_shared}
missing=()
for part in crds charts; do
  [[ -f "$shared/$part/SOURCES.md" ]] || missing+=("$part/SOURCES.md")
done
if ((${#missing[@]})); then
  if [[ -n "${BK_SHARED:-}" ]]; then where="BK_SHARED=$BK_SHARED"; else where="BK_SHARED is not set and the default $default_shared"; fi
  if [[ -d "$shared" ]]; then
    echo "No upstream mirror: $where has no ${missing[*]}." >&2
  else
    echo "No upstream mirror: $where does not exist." >&2
  fi
  echo "Set BK_SHARED to a folder holding crds/ (the pinned upstream CRDs) and charts/ (the pinned upstream charts, unpacked); see README.md, Requirements." >&2
  failed=1
fi

((failed)) && exit 3
bash "$here/tools.sh" base alerting >/dev/null
