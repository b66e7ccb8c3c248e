#!/usr/bin/env bash
# The standalone kwok binary ships no stages (only kwokctl embeds its defaults), and without stages fake
# nodes never turn Ready and pods stay Pending. Gather kwokctl's default stage set from the pinned kwok
# module source into one config file next to the binaries: node-initialize, node-heartbeat-with-lease
# (keeps node leases fresh so the node lifecycle controller does not evict), pod-ready, pod-complete,
# pod-delete. The harness passes it as `kwok --config`.
set -euo pipefail

out="$BK_TOOLS_BIN/kwok-stages.yaml"
[[ -f "$out" ]] && exit 0

moddir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
[[ -d "$moddir" ]] || { echo "extra.sh: kwok module source not found (go list -m sigs.k8s.io/kwok gave '$moddir')" >&2; exit 1; }
stages="$moddir/kustomize/stage"
files=(
  "$stages/node/fast/node-initialize.yaml"
  "$stages/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"
  "$stages/pod/fast/pod-ready.yaml"
  "$stages/pod/fast/pod-complete.yaml"
  "$stages/pod/fast/pod-delete.yaml"
)
tmp="$BK_TOOLS_BIN/.kwok-stages.yaml.tmp.$$"
: >"$tmp"
for f in "${files[@]}"; do
  [[ -f "$f" ]] || { rm -f -- "$tmp"; echo "extra.sh: missing kwok stage file $f (kwok layout changed?)" >&2; exit 1; }
  { echo "---"; cat -- "$f"; } >>"$tmp"
done
mv -f -- "$tmp" "$out"
