#!/usr/bin/env bash
# The journal's share of an apply: `convoy apply --offline` of a generated local org, each run on a
# fresh copy of the same org (warm cache, no campaign branch yet, so every repository gets a
# commit, a pull request and its update: four journal entries, two of them per forge write),
# with the campaign journal and claim as every real run has them (the default) vs without them
# (CONVOY_TEST_JOURNAL=off, a benchmark-only switch). Runs alternate between the two modes, so
# drift on a shared machine hits both alike; the figure is the ratio of the medians. The org
# lives under TMPDIR, which must be a real disk for the fdatasync of each append to cost what
# it costs (tmpfs makes it free).
#
# Usage: bash bench/journal.sh
# Environment:
#   BENCH_REPOS=100   repositories in the generated local forge
#   BENCH_RUNS=9      timed runs of each mode (the median is reported)
#   BENCH_JOBS="8 2"  --jobs of the timed applies, each measured on its own (8 is convoy's
#                     default; with fewer jobs fewer appends happen at once to share a sync)
#   CONVOY_BIN=...    use this binary instead of `cargo build --release`
#   BENCH_RESULTS=bench/results-journal-apply.json   where the summary is written
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCH_NAME=journal
KEEP=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "journal.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"
REPOS=${BENCH_REPOS:-100}
RUNS=${BENCH_RUNS:-9}
JOBS=${BENCH_JOBS:-8 2}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results-journal-apply.json}
bench_work
bench_convoy apply

# The pristine org: forge, templates, manifest and a warm cache; each timed run gets a copy.
ORG="$WORK/org"
FORGE="$ORG/forge"
bench_seed_forge "$ORG/templates"
printf 'root = true\n# {{ repo.full_name }}\n' >"$ORG/templates/editorconfig.j2"
cat >"$ORG/org.toml" <<M
[org]
name = "acme"
cache_dir = "cache"

[org.forge]
kind = "local"
root = "forge"

[[repo]]
name = "acme/*"

[[template]]
source = "ci.yml.j2"
dest = ".github/workflows/ci.yml"

[[template]]
source = "editorconfig.j2"
dest = ".editorconfig"

[campaign]
branch = "convoy/bench"
labels = ["convoy"]
M
"$CONVOY" -m "$ORG/org.toml" fetch -q >/dev/null

python3 - "$CONVOY" "$ORG" "$WORK" "$RUNS" "$REPOS" "$JOBS" "$RESULTS" "$CONVOY_VERSION" <<'PY'
import json, os, shutil, statistics, subprocess, sys, time
convoy, org, work, runs, repos, jobs_list, results, version = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6].split(), sys.argv[7], sys.argv[8]
journal = os.path.join(".convoy", "campaigns", "convoy~bench", "journal.jsonl")

def once(mode, jobs, n):
    run = os.path.join(work, f"run-{mode}-{jobs}-{n}")
    shutil.copytree(org, run, symlinks=True)  # not timed
    subprocess.run(["sync"], check=True)      # nor the copy's write-back
    env = dict(os.environ)
    for k in ("CONVOY_TEST_JOURNAL", "CONVOY_TEST_KILL_AT_JOURNAL_STEP", "CONVOY_RUN_ID", "GITHUB_RUN_ID"):
        env.pop(k, None)
    if mode == "off":
        env["CONVOY_TEST_JOURNAL"] = "off"
    args = [convoy, "-m", os.path.join(run, "org.toml"), "apply", "--offline", "-q", "--jobs", jobs]
    t = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"apply ({mode}, --jobs {jobs}) failed ({out.returncode}): {out.stderr[-2000:]}")
    path = os.path.join(run, journal)
    entries = sum(1 for _ in open(path)) if os.path.exists(path) else 0
    summary = out.stdout.strip().splitlines()[-1]
    shutil.rmtree(run)
    return dt, entries, summary

expected = 4 * repos  # per repository: the PR opened and its update, an intent and an outcome each
by_jobs = {}
problems = []
for jobs in jobs_list:
    times = {"journal": [], "off": []}
    entries = {"journal": set(), "off": set()}
    summaries = set()
    for n in range(runs):  # alternating, so drift on a shared machine hits both modes alike
        for mode in (("journal", "off") if n % 2 == 0 else ("off", "journal")):
            dt, e, s = once(mode, jobs, n)
            times[mode].append(round(dt, 4))
            entries[mode].add(e)
            summaries.add(s)
    if entries["journal"] != {expected} or entries["off"] != {0} or len(summaries) != 1:
        problems.append(f"--jobs {jobs}: journal entries {entries}, summaries {summaries}")
    med = {k: statistics.median(v) for k, v in times.items()}
    # Each run's journal time against the off time of the same round: a burst of load from
    # elsewhere hits both runs of a round, so the median of these ratios resists it better.
    paired = statistics.median(j / o for j, o in zip(times["journal"], times["off"]))
    by_jobs[jobs] = {
        "seconds": times,
        "median_seconds": {k: round(v, 3) for k, v in med.items()},
        "min_seconds": {k: round(min(v), 3) for k, v in times.items()},
        "ratio_journal_vs_off": round(med["journal"] / med["off"], 4),
        "median_paired_ratio": round(paired, 4),
        "journal_share_percent": round((med["journal"] - med["off"]) * 100 / med["journal"], 2),
        "ms_per_entry": round((med["journal"] - med["off"]) * 1000 / expected, 3),
        "apply_summary": sorted(summaries)[0],
    }
summary = {
    "bench": "journal",
    "what": "wall time of `convoy apply --offline` on a fresh copy of a local org (warm cache), with the campaign journal and claim (default) vs without (CONVOY_TEST_JOURNAL=off); share = (journal - off) / journal of the medians",
    "convoy": version,
    "binary": os.path.realpath(convoy).replace(os.path.realpath(os.path.join(os.path.dirname(results), "..")) + "/", ""),
    "repos": repos,
    "journal_entries": expected,
    "runs": runs,
    "by_jobs": by_jobs,
}
json.dump(summary, open(results, "w"), indent=2)
open(results, "a").write("\n")
print(json.dumps(summary, indent=2))
if problems:
    sys.exit("unexpected: " + "; ".join(problems))
PY
