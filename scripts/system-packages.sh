#!/usr/bin/env bash
# The system programs the tests run for real (scripts/system-packages.txt): installs the missing ones with apt-get
# when it can (as root, or with passwordless sudo); otherwise, or when apt has no package for one, names each
# missing program with the command that installs it and exits 3. Run by npm test's pretest and by .ci/run, so a
# fresh machine either gets what the tests need or stops before any test, never at a test's timeout.
#
#   bash scripts/system-packages.sh
#
# Only bash builtins until something must be installed: the preflight test runs this with a PATH of a few programs.
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
list="$here/system-packages.txt"

present() {
  if [[ "$1" == /* ]]; then [[ -x "$1" ]]; else command -v "$1" >/dev/null 2>&1; fi
}

# Fills missing_programs, missing_packages (apt-installable, each once) and missing_hints (program: how to get it).
collect_missing() {
  missing_programs=() missing_packages=() missing_hints=()
  local program package where seen=" "
  while read -r program package where || [[ -n "$program" ]]; do
    [[ -z "$program" || "$program" == \#* ]] && continue
    present "$program" && continue
    missing_programs+=("$program")
    if [[ "$package" == "-" ]]; then
      missing_hints+=("$program: install it from $where")
      continue
    fi
    missing_hints+=("$program: ${sudo_prefix}apt-get install -y $package")
    [[ "$seen" == *" $package "* ]] && continue
    seen+="$package "
    missing_packages+=("$package")
  done <"$list"
}

# Why apt-get cannot be used here, or nothing when it can (then `as_root` runs a command as root).
install_blocker() {
  command -v apt-get >/dev/null 2>&1 || { echo "apt-get is not on PATH"; return; }
  ((EUID == 0)) && return
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && return
  echo "not root, and no passwordless sudo"
}

as_root() {
  if ((EUID == 0)); then "$@"; else sudo -n "$@"; fi
}

sudo_prefix=""
((EUID == 0)) || sudo_prefix="sudo "

collect_missing
blocker=""
if ((${#missing_packages[@]})); then
  blocker=$(install_blocker)
  if [[ -z "$blocker" ]]; then
    echo "system packages: installing ${missing_packages[*]} with apt-get" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}"
    collect_missing
  fi
fi

if ((${#missing_programs[@]})); then
  {
    echo "The tests run these programs, which are not installed${blocker:+ (not installed automatically: $blocker)}:"
    printf '  %s\n' "${missing_hints[@]}"
  } >&2
  exit 3
fi
