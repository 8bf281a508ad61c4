#!/usr/bin/env bash
# Render-process overhead: `convoy plan --offline` over a warm cache, every template rendered in
# memory-capped render processes (the default, src/render/sandbox.rs) vs in the convoy process
# (CONVOY_RENDER_IN_PROCESS=1), in one run on one machine, so the figure is a ratio.
#
# Usage: bash bench/render.sh
# Environment:
#   BENCH_REPOS=200   repositories in the generated local forge
#   BENCH_RUNS=5      timed runs of each mode (the median is reported)
#   CONVOY_BIN=...    use this binary instead of `cargo build --release`
#   BENCH_RESULTS=bench/results-render.json   where the summary is written
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCH_NAME=render
KEEP=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "render.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"
REPOS=${BENCH_REPOS:-200}
RUNS=${BENCH_RUNS:-5}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results-render.json}
bench_work
bench_convoy plan

bench_seed_forge "$WORK/templates"
printf '# {{ repo.name }}\nowned by {{ vars.team }}\n' >"$WORK/templates/CODEOWNERS.j2"
printf 'root = true\n# {{ repo.full_name }}\n' >"$WORK/templates/editorconfig.j2"
cat >"$MANIFEST" <<M
[org]
name = "acme"
jobs = 2
cache_dir = "cache"

[org.forge]
kind = "local"
root = "forge"

[vars]
team = "platform"

[[repo]]
name = "acme/*"

[[template]]
source = "ci.yml.j2"
dest = ".github/workflows/ci.yml"

[[template]]
source = "CODEOWNERS.j2"
dest = ".github/CODEOWNERS"

[[template]]
source = "editorconfig.j2"
dest = ".editorconfig"

[campaign]
branch = "convoy/bench"
M
"$CONVOY" -m "$MANIFEST" fetch -q >/dev/null

python3 - "$CONVOY" "$MANIFEST" "$RUNS" "$REPOS" "$RESULTS" "$CONVOY_VERSION" <<'PY'
import json, os, statistics, subprocess, sys, time
convoy, manifest, runs, repos, results, version = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
def once(in_process):
    env = dict(os.environ)
    env.pop("CONVOY_RENDER_IN_PROCESS", None)
    if in_process:
        env["CONVOY_RENDER_IN_PROCESS"] = "1"
    t = time.perf_counter()
    out = subprocess.run([convoy, "-m", manifest, "plan", "--offline", "-q"], env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"plan failed ({out.returncode}): {out.stderr[-2000:]}")
    return dt, out.stdout
times = {"process": [], "in_process": []}
plans = {}
for _ in range(runs):  # interleaved, so drift on a shared machine hits both modes alike
    for mode in ("process", "in_process"):
        dt, text = once(mode == "in_process")
        times[mode].append(dt)
        plans[mode] = text
same = plans["process"] == plans["in_process"]
med = {k: statistics.median(v) for k, v in times.items()}
renders = repos * 3 + repos * 2  # three templates plus the PR title and body
summary = {
    "bench": "render",
    "convoy": version,
    "repos": repos,
    "renders_per_plan": renders,
    "runs": runs,
    "median_seconds": {k: round(v, 3) for k, v in med.items()},
    "ratio_process_vs_in_process": round(med["process"] / med["in_process"], 3),
    "extra_ms_per_render": round((med["process"] - med["in_process"]) * 1000 / renders, 3),
    "identical_plans": same,
}
json.dump(summary, open(results, "w"), indent=2)
open(results, "a").write("\n")
print(json.dumps(summary, indent=2))
if not same:
    sys.exit("the two modes planned different output")
PY
