# Shared by bench/audit.sh and bench/deps.sh (source it after setting BENCH_NAME, BENCH_DIR,
# ROOT, LIB, KEEP, REGEN, REPOS, OWNER): the work folder and its cleanup, the convoy binary,
# how peak RSS is measured, and the generated forge.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s.sh: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

# The work folder (BENCH_WORK, kept; or a fresh temporary one removed on exit) and its paths.
bench_work() {
  if [[ -n ${BENCH_WORK:-} ]]; then
    mkdir -p "$BENCH_WORK"
    WORK=$(cd "$BENCH_WORK" && pwd)
    KEEP=1
  else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/convoy-$BENCH_NAME-bench.XXXXXX")
  fi
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  FORGE="$WORK/forge"
  CACHE="$WORK/cache"
  MANIFEST="$WORK/org.toml"
  RECORD="$WORK/runs.jsonl"
  REPORTS="$WORK/reports"
}

bench_cleanup() {
  if [[ $KEEP == 1 ]]; then
    log "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}

# CONVOY (CONVOY_BIN, or a release build) and CONVOY_VERSION; "$@" is a subcommand it must have.
bench_convoy() {
  if [[ -n ${CONVOY_BIN:-} ]]; then
    CONVOY=$CONVOY_BIN
  else
    log "building convoy (cargo build --release; may wait for other cargo runs)"
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    CONVOY="$ROOT/target/release/convoy"
  fi
  [[ -x $CONVOY ]] || die "convoy binary not found or not executable: $CONVOY"
  CONVOY_VERSION=$("$CONVOY" --version 2>/dev/null || true)
  "$CONVOY" "$@" --help >/dev/null 2>&1 || die "$CONVOY has no '$*' command (an old build?)"
  # Peak RSS and CPU time: GNU time -v when it works here, else getrusage in benchlib.py.
  TIME_V=""
  if [[ -x /usr/bin/time ]] && /usr/bin/time -v -o /dev/null true 2>/dev/null; then
    TIME_V=/usr/bin/time
  fi
  TIMING="wall: time.perf_counter around the command; peak RSS: $([[ -n $TIME_V ]] && echo "/usr/bin/time -v" || echo "getrusage(RUSAGE_CHILDREN)")"
}

# Generate the forge with `benchlib.py gen-$BENCH_NAME` (not timed); GEN_SECONDS. A cache
# filled from another forge (a regenerated one) would be read as is: it is started over.
bench_forge() {
  local stamp="$FORGE/.bench-$BENCH_NAME-forge.json"
  local gen_args=("gen-$BENCH_NAME" --forge "$FORGE" --owner "$OWNER" --repos "$REPOS")
  [[ $REGEN == 1 ]] && gen_args+=(--regen)
  python3 "$LIB" "${gen_args[@]}" || die "forge generation failed"
  GEN_SECONDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("generated_seconds", ""))' "$stamp")
  if [[ -d $CACHE && ( ! -f $WORK/cache-stamp || $stamp -nt $WORK/cache-stamp ) ]]; then
    rm -rf "$CACHE"
  fi
}

# A local forge of $REPOS repositories `acme/svc-NN` (one Cargo package and a README each) in
# $FORGE, and the `ci.yml.j2` template the render and journal benchmarks render, in folder $1.
bench_seed_forge() {
  log "generating $REPOS repositories in $FORGE"
  export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
  local seed="$WORK/seed"
  git init -q -b main "$seed"
  printf '[package]\nname = "svc"\nversion = "0.1.0"\n' >"$seed/Cargo.toml"
  printf '# svc\n' >"$seed/README.md"
  git -C "$seed" add -A && git -C "$seed" commit -qm init
  mkdir -p "$FORGE/acme" "$1"
  for i in $(seq -w 1 "$REPOS"); do
    git clone -q --bare "$seed" "$FORGE/acme/svc-$i.git"
  done
  cat >"$1/ci.yml.j2" <<'T'
name: ci
on: [push, pull_request]
jobs:
{% for eco in repo.ecosystems %}
  {{ eco }}:
    runs-on: ubuntu-latest
    timeout-minutes: 15
    steps:
      - uses: actions/checkout@v4
      - run: echo "{{ repo.full_name }} {{ eco }}"
{% endfor %}
T
}
