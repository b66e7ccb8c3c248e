#!/usr/bin/env bash
# alertmanager: its web UI is built by npm at release time and is not in the Go module, yet ui/web.go embeds
# app/dist, so `go build` of the module as served fails ("pattern app/dist: no matching files found"). Build it
# from a copy of the pinned module source with a one-page placeholder UI; the API, routing and notifiers the
# tests use are the release's. The copy builds with the module's own go.mod and go.sum.
set -euo pipefail

out="$BK_TOOLS_BIN/alertmanager"
[[ -x "$out" ]] && exit 0

mod=github.com/prometheus/alertmanager
moddir=$(go list -m -f '{{.Dir}}' "$mod")
version=$(go list -m -f '{{.Version}}' "$mod")
[[ -d "$moddir" ]] || { echo "extra.sh: $mod source not found (go list -m gave '$moddir')" >&2; exit 1; }
work=$(mktemp -d)
trap 'chmod -R u+w -- "$work" 2>/dev/null; rm -rf -- "$work"' EXIT
cp -R -- "$moddir" "$work/src"
chmod -R u+w -- "$work/src"
for ui in elm mantine; do
  mkdir -p "$work/src/ui/app/dist/$ui"
  printf '<!doctype html><title>Alertmanager</title><p>Web UI not included in this build.</p>\n' >"$work/src/ui/app/dist/$ui/index.html"
done
tmp="$BK_TOOLS_BIN/.alertmanager.tmp.$$"
(cd "$work/src" && go build -p "$BK_TOOLS_JOBS" -ldflags="-s -w -X github.com/prometheus/common/version.Version=$(head -n1 VERSION | tr -d '[:space:]')" -o "$tmp" ./cmd/alertmanager) ||
  { rm -f -- "$tmp"; echo "extra.sh: building alertmanager $version failed" >&2; exit 1; }
mv -f -- "$tmp" "$out"
