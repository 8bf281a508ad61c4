#!/usr/bin/env bash
# `convoy grep --offline` over the clone cache of a generated local org, against `git grep` run
# once per repository in a shell loop over the same cached clones (`git -C <clone> grep -I -n -E
# PATTERN refs/remotes/origin/<branch>`: the same trees, no checkout either). One timed run of
# each (after one untimed warm-up of each, so both read from the page cache); the figure is the
# ratio of the wall times. Both must report the same number of matching lines, or the run fails.
#
# Usage: bash bench/grep.sh
# Environment:
#   BENCH_REPOS=200      repositories in the generated forge (benchlib.py gen: ~100 files each)
#   BENCH_FILES=100      files per repository
#   BENCH_PATTERN='version|license'   the regular expression (ERE for git, the regex crate for convoy)
#   BENCH_JOBS=2         convoy grep --jobs (also measured with --jobs 1, against the sequential loop)
#   BENCH_WORK=...       keep the work folder here (default: a temporary one, removed)
#   CONVOY_BIN=...       use this binary instead of `cargo build --release`
#   BENCH_RESULTS=bench/results-grep.json   where the summary is written
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCH_NAME=grep
KEEP=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "grep.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"
REPOS=${BENCH_REPOS:-200}
FILES=${BENCH_FILES:-100}
PATTERN=${BENCH_PATTERN:-version|license}
JOBS=${BENCH_JOBS:-2}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results-grep.json}
bench_work
bench_convoy grep

log "generating $REPOS repositories of ~$FILES files in $FORGE"
python3 "$BENCH_DIR/benchlib.py" gen --forge "$FORGE" --owner acme --repos "$REPOS" --files "$FILES" --commits 1 >&2
cat >"$MANIFEST" <<M
[org]
name = "acme"
cache_dir = "cache"
jobs = $JOBS

[org.forge]
kind = "local"
root = "forge"

[[repo]]
name = "acme/*"
M
log "filling the cache (convoy fetch, not timed)"
"$CONVOY" -m "$MANIFEST" fetch -q >/dev/null

python3 - "$CONVOY" "$MANIFEST" "$CACHE" "$PATTERN" "$JOBS" "$REPOS" "$FILES" "$RESULTS" "$CONVOY_VERSION" <<'PY'
import glob, json, os, subprocess, sys, time
convoy, manifest, cache, pattern, jobs, repos, files, results, version = sys.argv[1:10]
clones = sorted(glob.glob(os.path.join(cache, "acme", "*.git")))
if len(clones) != int(repos):
    sys.exit(f"expected {repos} clones in {cache}, found {len(clones)}")

def convoy_grep(j):
    args = [convoy, "-m", manifest, "grep", "--offline", "-q", "--jobs", str(j), pattern]
    t = time.perf_counter()
    out = subprocess.run(args, capture_output=True)
    dt = time.perf_counter() - t
    if out.returncode not in (0, 1):
        sys.exit(f"convoy grep failed ({out.returncode}): {out.stderr[-2000:]!r}")
    return dt, out.stdout.count(b"\n")

LOOP = 'for d in "$@"; do git -C "$d" grep -I -n -E -e "$P" refs/remotes/origin/main --; done'
def git_loop():
    env = dict(os.environ, P=pattern, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    t = time.perf_counter()
    out = subprocess.run(["bash", "-c", LOOP, "loop", *clones], capture_output=True, env=env)
    dt = time.perf_counter() - t
    return dt, out.stdout.count(b"\n")

# Warm-up (untimed): both read the packs from the page cache afterwards.
convoy_grep(int(jobs)); git_loop()
c_jobs, c_lines = convoy_grep(int(jobs))
c_one, c_lines_one = convoy_grep(1)
g_time, g_lines = git_loop()
summary = {
    "bench": "grep",
    "what": "one timed run each (after an untimed warm-up): `convoy grep --offline PATTERN` over the clone cache vs `git grep -I -n -E PATTERN refs/remotes/origin/main` per cached clone in a bash loop (sequential)",
    "convoy": version,
    "binary": os.path.realpath(convoy).replace(os.path.realpath(os.path.join(os.path.dirname(results), "..")) + "/", ""),
    "profile": "dev (dependencies at opt-level 2, convoy unoptimised)" if "/debug/" in convoy else "release",
    "machine": f"{os.cpu_count()} cores (shared with other builds while measured)",
    "repos": int(repos),
    "files_per_repo": int(files),
    "pattern": pattern,
    "matching_lines": {"convoy": c_lines, "convoy_jobs_1": c_lines_one, "git_grep": g_lines},
    "seconds": {f"convoy_jobs_{jobs}": round(c_jobs, 3), "convoy_jobs_1": round(c_one, 3), "git_grep_loop": round(g_time, 3)},
    f"speedup_git_loop_vs_convoy_jobs_{jobs}": round(g_time / c_jobs, 2),
    "speedup_git_loop_vs_convoy_jobs_1": round(g_time / c_one, 2),
}
json.dump(summary, open(results, "w"), indent=2)
open(results, "a").write("\n")
print(json.dumps(summary, indent=2))
if not (c_lines == c_lines_one == g_lines):
    sys.exit(f"the match counts differ: convoy {c_lines} (--jobs 1: {c_lines_one}), git grep {g_lines}")
PY
