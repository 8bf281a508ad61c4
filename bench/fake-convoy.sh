#!/usr/bin/env bash
# Stand-in for convoy, ONLY to test the harness (bench/clone.sh) before the real
# binary works: CONVOY_BIN=bench/fake-convoy.sh BENCH_REPOS=20 bash bench/clone.sh
# It understands just the flags clone.sh passes and the manifest clone.sh writes.
set -euo pipefail
m=./org.toml; jobs=8; cmd=""
while (($#)); do case "$1" in
  -m) m=$2; shift 2;; --quiet|-q|--json|--offline) shift;; --jobs|-j) jobs=$2; shift 2;;
  --version) echo "fakeconvoy 0.0"; exit 0;; *) cmd=$1; shift;; esac; done
dir=$(cd "$(dirname "$m")" && pwd)
url=$(sed -n 's/^clone_url = "\(.*\)"$/\1/p' "$m")
case "$cmd" in
  validate) exit 0;;
  fetch)
    mkdir -p "$dir/cache/acme"
    ls "$dir/forge/acme" | sed 's/\.git$//' | xargs -P "$jobs" -I{} bash -c '
      u=${1//\{owner\}/acme}; u=${u//\{name\}/$2}; d=$3/cache/acme/$2.git
      if [[ -d $d ]]; then git --git-dir="$d" fetch -q --depth 1 origin; else git clone -q --bare --depth 1 "$u" "$d"; fi' _ "$url" {} "$dir";;
  plan) for d in "$dir"/cache/acme/*.git; do git --git-dir="$d" ls-tree -r HEAD >/dev/null; done; echo '{"repos":[]}';;
  *) exit 2;;
esac
