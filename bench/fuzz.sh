#!/usr/bin/env bash
# Bounded fuzzing of convoy's parsers with cargo fuzz (libFuzzer): the org.toml loader, the
# workflow parser with every audit rule and `audit --fix`, and Cargo manifest discovery. Each
# target runs for a fixed time from a seed corpus of the project's own test inputs; executions
# and findings (crash, timeout and out-of-memory inputs) are written to a results file.
# Not part of CI's test command: fuzzing is open-ended, so it lives here, bounded by time.
#
# Usage: bash bench/fuzz.sh [TARGET ...]      (default: manifest workflow cargo_manifest)
# Environment:
#   FUZZ_SECONDS=120                      time per target
#   BENCH_RESULTS=bench/results-fuzz.json where the summary is written
# Needs: cargo-fuzz (installed with `cargo install cargo-fuzz --locked` when missing). The stable
# toolchain is used with RUSTC_BOOTSTRAP=1, since cargo fuzz passes unstable flags.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
SECONDS_PER=${FUZZ_SECONDS:-120}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results-fuzz.json}
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(manifest workflow cargo_manifest)
[[ $SECONDS_PER =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: FUZZ_SECONDS must be a positive number" >&2; exit 2; }
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi

cd "$ROOT/fuzz"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/convoy-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Seed corpora: the project's own inputs (copied, so the fuzzer's additions stay out of the tree).
seed() {
  local dir="$WORK/corpus/$1"
  mkdir -p "$dir"
  shift
  for f in "$@"; do [[ -f $f ]] && cp "$f" "$dir/$(echo "$f" | tr '/' '_')"; done
  return 0
}
seed manifest "$ROOT"/org.toml "$ROOT"/docs/*.toml "$ROOT"/templates/*.toml
seed workflow "$ROOT"/tests/data/workflows/*/* "$ROOT"/.github/workflows/*.yml
seed cargo_manifest "$ROOT"/Cargo.toml "$ROOT"/crates/*/Cargo.toml "$ROOT"/fuzz/Cargo.toml

echo '[' >"$WORK/results.json"
first=1
for t in "${TARGETS[@]}"; do
  echo "==> $t: building" >&2
  cargo fuzz build --sanitizer none "$t" >&2
  echo "==> $t: fuzzing for ${SECONDS_PER}s" >&2
  log="$WORK/$t.log"
  art="$WORK/artifacts/$t"
  mkdir -p "$art"
  status=0
  cargo fuzz run --sanitizer none "$t" "$WORK/corpus/$t" -- \
    -max_total_time="$SECONDS_PER" -rss_limit_mb=4096 -timeout=10 -max_len=65536 \
    -artifact_prefix="$art/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  [[ -n $execs ]] || execs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' | tail -1)
  corpus=$(ls "$WORK/corpus/$t" | wc -l)
  findings=$(ls "$art" | wc -l)
  if [[ $findings -gt 0 ]]; then
    mkdir -p "$ROOT/fuzz/artifacts/$t"
    cp "$art"/* "$ROOT/fuzz/artifacts/$t/"
    echo "==> $t: $findings finding(s), copied to fuzz/artifacts/$t; the log's last lines:" >&2
    tail -30 "$log" >&2
  fi
  [[ $first == 1 ]] || echo ',' >>"$WORK/results.json"
  first=0
  printf '{"target":"%s","seconds":%s,"executions":%s,"corpus":%s,"findings":%s,"exit":%s}' \
    "$t" "$SECONDS_PER" "${execs:-null}" "$corpus" "$findings" "$status" >>"$WORK/results.json"
done
echo ']' >>"$WORK/results.json"
python3 -c 'import json,sys,datetime; r=json.load(open(sys.argv[1])); print(json.dumps({"date":datetime.date.today().isoformat(),"targets":r},indent=2))' \
  "$WORK/results.json" >"$RESULTS"
cat "$RESULTS"
