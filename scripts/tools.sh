#!/usr/bin/env bash
# Builds the pinned Go tool sets (tools/<set>/) into a cache outside the repo and prints each set's bin dir
# on stdout, one line per set. Progress goes to stderr. A set already built for the same pins is reused.
#
#   bash scripts/tools.sh [set...]              build (default set: base)
#   bash scripts/tools.sh --print-dir [set...]  only print the bin dirs, build nothing
#
# Layout, cache key and the tools.txt / extra.sh contracts: tools/README.md.
# src/adapters/tools.ts computes the same key; change both together.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_root="$repo_root/tools"
jobs="${BK_TOOLS_JOBS:-2}"

log() { printf 'tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -n "${BK_TOOLS_CACHE:-}" ]]; then
  cache_root=$(realpath -m -- "$BK_TOOLS_CACHE")
else
  [[ -n "${HOME:-}" ]] || die "neither BK_TOOLS_CACHE nor HOME is set; set BK_TOOLS_CACHE to a writable directory"
  cache_root="$HOME/.cache/beckerkube/tools"
fi

# The key covers every input of a set that changes what gets built; extra.sh only when it exists.
set_key() {
  local dir=$1
  local files=("$dir/go.mod" "$dir/go.sum" "$dir/tools.txt")
  [[ -f "$dir/extra.sh" ]] && files+=("$dir/extra.sh")
  cat -- "${files[@]}" | sha256sum | cut -c1-16
}

check_set() {
  local set=$1 dir="$tools_root/$1" f
  [[ "$set" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "bad set name '$set': use lowercase letters, digits, '-' or '_'"
  for f in go.mod go.sum tools.txt; do
    [[ -f "$dir/$f" ]] || die "tool set '$set': missing $dir/$f (see tools/README.md)"
  done
}

# tools.txt lines: <name> <package> [ldflags...]; prints "name<TAB>package<TAB>ldflags" per tool.
read_tools() {
  local file=$1 name pkg ldflags n=0
  while read -r name pkg ldflags || [[ -n "$name" ]]; do
    n=$((n + 1))
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "$file:$n: bad tool name '$name'"
    [[ -n "$pkg" ]] || die "$file:$n: tool '$name' has no package; format is '<name> <package> [ldflags...]'"
    printf '%s\t%s\t%s\n' "$name" "$pkg" "$ldflags"
  done <"$file"
}

stamp_ok() {
  local out=$1 name
  [[ -f "$out/complete" ]] || return 1
  while IFS=$'\t' read -r name _; do
    [[ -x "$out/bin/$name" ]] || return 1
  done <<<"$2"
}

build_set() {
  local set=$1 dir="$tools_root/$1" key out bin list
  key=$(set_key "$dir")
  out="$cache_root/$set-$key"
  bin="$out/bin"
  list=$(read_tools "$dir/tools.txt")
  [[ -n "$list" ]] || die "$dir/tools.txt lists no tools"

  mkdir -p "$cache_root"
  # Serialises concurrent runs for the same set+key; the second one then finds the stamp.
  local lock_fd
  exec {lock_fd}>"$cache_root/.$set-$key.lock"
  if ! flock -n "$lock_fd"; then
    log "$set: another build of $set-$key is running; waiting for it"
    flock "$lock_fd"
  fi

  if stamp_ok "$out" "$list"; then
    log "$set: up to date ($bin)"
    exec {lock_fd}>&-
    printf '%s\n' "$bin"
    return
  fi

  log "$set: building into $bin (key $key, $(go env GOVERSION), -p $jobs)"
  local set_start=$SECONDS
  mkdir -p "$bin"

  # One go list for metadata: the tool directives in go.mod must match tools.txt exactly.
  local meta
  meta=$(cd "$dir" && go list -f '{{.ImportPath}}{{"\t"}}{{.Module.Version}}{{"\t"}}{{.Module.Dir}}' tool) ||
    die "$dir: 'go list tool' failed; is go.mod tidy? (cd $dir && go mod tidy)"
  local name pkg ldflags listed_pkgs
  listed_pkgs=$(cut -f2 <<<"$list" | sort)
  if [[ "$listed_pkgs" != "$(cut -f1 <<<"$meta" | sort)" ]]; then
    die "$dir: tools.txt packages differ from go.mod tool directives:
$(diff <(printf '%s\n' "$listed_pkgs") <(cut -f1 <<<"$meta" | sort) || true)
add missing ones with 'go get -tool <pkg>@<version>' or list them in tools.txt"
  fi

  while IFS=$'\t' read -r name pkg ldflags; do
    if [[ -x "$bin/$name" ]]; then
      # Binaries only ever appear by rename after a successful build, so a present one is complete.
      log "$set: $name already built"
      continue
    fi
    local version moddir row
    row=$(awk -F'\t' -v p="$pkg" '$1 == p' <<<"$meta")
    version=$(cut -f2 <<<"$row")
    moddir=$(cut -f3 <<<"$row")
    ldflags=${ldflags//@VERSION@/$version}
    while [[ "$ldflags" =~ @MODFILE:([A-Za-z0-9._/-]+)@ ]]; do
      local token=${BASH_REMATCH[0]} file="$moddir/${BASH_REMATCH[1]}" value
      [[ -f "$file" ]] || die "$set/$name: $token: no file $file in module of $pkg"
      value=$(head -n1 -- "$file" | tr -d '[:space:]')
      ldflags=${ldflags//"$token"/$value}
    done
    local tmp="$bin/.$name.tmp.$$" start=$SECONDS
    log "$set: building $name ($pkg $version)"
    if ! (cd "$dir" && go build -p "$jobs" -ldflags="$ldflags" -o "$tmp" "$pkg"); then
      rm -f -- "$tmp"
      die "$set: building $name ($pkg) failed; see the go output above"
    fi
    mv -f -- "$tmp" "$bin/$name"
    log "$set: built $name in $((SECONDS - start))s"
  done <<<"$list"

  if [[ -f "$dir/extra.sh" ]]; then
    log "$set: running extra.sh"
    (cd "$dir" && BK_TOOLS_SET="$set" BK_TOOLS_SET_DIR="$dir" BK_TOOLS_BIN="$bin" BK_TOOLS_JOBS="$jobs" \
      bash ./extra.sh) || die "$dir/extra.sh failed"
  fi

  {
    printf 'set=%s\nkey=%s\ngo=%s\nbuilt=%s\ntools=' "$set" "$key" "$(go env GOVERSION)" "$(date -u +%FT%TZ)"
    cut -f1 <<<"$list" | paste -sd' '
  } >"$out/complete.tmp.$$"
  mv -f -- "$out/complete.tmp.$$" "$out/complete"
  exec {lock_fd}>&-
  log "$set: done in $((SECONDS - set_start))s"
  printf '%s\n' "$bin"
}

print_only=0
if [[ "${1:-}" == "--print-dir" ]]; then
  print_only=1
  shift
fi
sets=("$@")
((${#sets[@]})) || sets=(base)

for set in "${sets[@]}"; do check_set "$set"; done

if ((print_only)); then
  for set in "${sets[@]}"; do
    printf '%s\n' "$cache_root/$set-$(set_key "$tools_root/$set")/bin"
  done
  exit 0
fi

# Non-login shells (CI, editors) may lack the toolchain's usual location on PATH.
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || die "go not found on PATH or in /usr/local/go/bin; install Go 1.26"
# -trimpath/-buildvcs=false make builds independent of where the repo is checked out, so the Go build
# cache (its default location) is reused across clones; -mod=readonly keeps go.mod/go.sum as pinned.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -buildvcs=false -mod=readonly"
export CGO_ENABLED="${CGO_ENABLED:-0}"
export GOWORK=off

for set in "${sets[@]}"; do build_set "$set"; done
