#!/usr/bin/env bash
# `[[script]]` and `[[replace]]` over a generated local org (issue 13): `convoy plan` with a
# `[[script]]` that runs `git ls-files -z | xargs -0 sed -i 's/OLD/NEW/g'` in each repository's
# scratch checkout, and with a `[[replace]]` doing the same replacement, against the shell loop
# everyone writes (`git clone` + the same `sed` + `git diff --stat` per repository, one after the
# other and 8 at a time) and against all-repos (`all-repos-clone` + `all-repos-sed`) when it can
# be installed. Cold: nothing cloned yet (convoy's cache, the loop's clones, all-repos' output
# folder are removed first, not timed); warm: convoy `plan --offline` over the filled cache, the
# loop reusing its clones (`git checkout -- .` first), `all-repos-sed` over its clones. Every
# step runs BENCH_RUNS times in rounds whose order rotates; the median and the minimum of the
# wall times and the highest peak RSS are reported, with the ratios convoy / baseline. Every run
# must find exactly the files the generator put the word in, or the run fails.
#
# Usage: bash bench/script.sh [--regen] [--keep]
# Environment:
#   BENCH_REPOS=200      repositories (benchlib.py gen-script: 20-50 files each, the word in ~1/3
#                        of the docs and sources)
#   BENCH_RUNS=3         runs of each step
#   BENCH_JOBS=8         convoy's `[org] jobs` (8 is its default), the parallel loop's `xargs -P`
#                        and all-repos' `-j`
#   BENCH_ALL_REPOS=auto auto: use `all-repos-sed` from PATH, else pip-install all-repos into a
#                        venv in the work folder; 0: skip all-repos; a path: that venv's bin folder
#   BENCH_WORK=...       keep the work folder here (reuses the forge; default: a temporary one)
#   CONVOY_BIN=...       use this binary instead of `cargo build --release`
#   BENCH_RESULTS=bench/results-script.json   where the summary is written
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCH_NAME=script
KEEP=0
REGEN=0
for arg in "$@"; do
  case "$arg" in
    --regen) REGEN=1 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "script.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"
LIB="$BENCH_DIR/benchlib.py"
OWNER=acme
REPOS=${BENCH_REPOS:-200}
RUNS=${BENCH_RUNS:-3}
JOBS=${BENCH_JOBS:-8}
ALL_REPOS=${BENCH_ALL_REPOS:-auto}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results-script.json}
OLD=LegacyClient  # what benchlib.py gen-script writes (SCRIPT_OLD)
NEW=ApiClient
bench_work
bench_convoy plan
CONVOY=$(realpath "$CONVOY")  # the steps run in the work folder
bench_forge

# Baselines and all-repos must not read the user's git configuration; all-repos commits.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# all-repos: found, installed into a venv in the work folder, or skipped (the reason is reported).
AR_BIN=""
AR_NOTE=""
case "$ALL_REPOS" in
  0) AR_NOTE="skipped: BENCH_ALL_REPOS=0" ;;
  auto)
    if command -v all-repos-sed >/dev/null 2>&1; then
      AR_BIN=$(dirname "$(command -v all-repos-sed)")
    elif [[ -x $WORK/all-repos-venv/bin/all-repos-sed ]]; then
      AR_BIN=$WORK/all-repos-venv/bin
    else
      log "installing all-repos from PyPI into $WORK/all-repos-venv (not timed)"
      if python3 -m venv "$WORK/all-repos-venv" >&2 && "$WORK/all-repos-venv/bin/pip" install -q all-repos >&2; then
        AR_BIN=$WORK/all-repos-venv/bin
      else
        AR_NOTE="skipped: pip install all-repos failed (see the log)"
      fi
    fi ;;
  *) AR_BIN=$ALL_REPOS ;;
esac
if [[ -n $AR_BIN && ! -x $AR_BIN/all-repos-sed ]]; then
  AR_NOTE="skipped: no all-repos-sed in $AR_BIN"
  AR_BIN=""
fi

# Two manifests over the same forge and cache: the [[script]] one and the [[replace]] one.
manifest() {
  cat <<M
[org]
name = "$OWNER"
cache_dir = "cache"
jobs = $JOBS

[org.forge]
kind = "local"
root = "forge"

[[repo]]
name = "$OWNER/*"

M
}
{ manifest; cat <<M
[[script]]
name = "rename $OLD"
run = "git ls-files -z | xargs -0 sed -i 's/$OLD/$NEW/g'"
M
} >"$WORK/script.toml"
{ manifest; cat <<M
[[replace]]
files = ["**"]
pattern = "$OLD"
replacement = "$NEW"
literal = true
M
} >"$WORK/replace.toml"
"$CONVOY" -m "$WORK/script.toml" validate >/dev/null || die "convoy validate failed on script.toml"
"$CONVOY" -m "$WORK/replace.toml" validate >/dev/null || die "convoy validate failed on replace.toml"

python3 - "$CONVOY" "$WORK" "$OWNER" "$RUNS" "$JOBS" "$OLD" "$NEW" "$AR_BIN" "$AR_NOTE" "$RESULTS" \
  "$CONVOY_VERSION" "$TIME_V" "$LIB" "${GEN_SECONDS:-}" <<'PY'
import json, os, platform, re, shlex, shutil, statistics, subprocess, sys, tempfile, time
(convoy, work, owner, runs, jobs, old, new, ar_bin, ar_note, results, version, time_v, lib,
 gen_seconds) = sys.argv[1:15]
runs, jobs = int(runs), int(jobs)
sys.path.insert(0, os.path.dirname(lib))
from benchlib import _time_v  # noqa: E402

forge = os.path.join(work, "forge")
expect = json.load(open(os.path.join(forge, "expect.json")))
repos = [r.split("/", 1)[1] for r in expect["repos"]]
want_files = expect["changed_files"]
cache = os.path.join(work, "cache")
clones = os.path.join(work, "clones")
ar_dir = os.path.join(work, "all-repos")
ar_out = os.path.join(ar_dir, "out")
sed = f"s/{old}/{new}/g"
env = dict(os.environ, SED=sed, FORGE=forge, OWNER=owner, CLONES=clones)

# The baseline for one repository, cold (clone at depth 1 over file://, as convoy's cache is
# shallow) and warm (its clone reset first). The same sed as the [[script]].
ONE_COLD = ('git clone -q --depth 1 "file://$FORGE/$OWNER/$1.git" "$CLONES/$1" && cd "$CLONES/$1" '
            '&& git ls-files -z | xargs -0 sed -i "$SED" && git diff --stat')
ONE_WARM = 'cd "$CLONES/$1" && git checkout -q -- . && git ls-files -z | xargs -0 sed -i "$SED" && git diff --stat'
def loop(one):  # sequential: one bash, a subshell per repository
    return ["bash", "-c", f'set -e; for r in "$@"; do ( set -- "$r"; {one} ); done', "loop", *repos]
def loop_par(one):  # JOBS at a time through xargs -P
    return ["bash", "-c", f'printf "%s\\n" "$@" | xargs -P {jobs} -n 1 bash -c \'{one}\' one',
            "loop", *repos]
def plan(manifest, offline):
    return [convoy, "-m", os.path.join(work, manifest), "--quiet", "plan", *(["--offline"] if offline else [])]

# What a step's output says it changed, to check every run found every file.
def plan_files(out):
    return len(re.findall(rb"^# update ", out, re.M))
def stat_files(out):
    return len(re.findall(rb"^ \S.* \| +\d+ ", out, re.M))
def diff_files(out):  # unanchored: all-repos' parallel workers share one stdout pipe
    return len(re.findall(rb"diff --git a/", out))

def rm(path):
    if os.path.exists(path):
        shutil.rmtree(path)

def no_cache(): rm(cache)
def no_clones(): rm(clones); os.makedirs(clones)
def no_ar(): rm(ar_out)

ar_cfg = os.path.join(ar_dir, "config.json")
ar = None
if ar_bin:
    os.makedirs(ar_dir, exist_ok=True)
    json.dump({f"{owner}/{r}": f"file://{forge}/{owner}/{r}.git" for r in repos},
              open(os.path.join(ar_dir, "repos.json"), "w"))
    # push `readonly` pushes nothing, so `all-repos-sed -j N` is a dry run that may run in
    # parallel (`--dry-run` refuses `-j`): each repository is cloned from all-repos' clone into a
    # temporary folder, fetched from the forge, checked out, sed-ed, diffed, committed, dropped.
    json.dump({"output_dir": ar_out, "source": "all_repos.source.json_file",
               "source_settings": {"filename": os.path.join(ar_dir, "repos.json")},
               "push": "all_repos.push.readonly", "push_settings": {}}, open(ar_cfg, "w"))
    os.chmod(ar_cfg, 0o600)
    ar_clone = [os.path.join(ar_bin, "all-repos-clone"), "-C", ar_cfg, "-j", str(jobs)]
    ar_sed = [os.path.join(ar_bin, "all-repos-sed"), "-C", ar_cfg, "-j", str(jobs), sed, "*"]
    ar = {"clone": ar_clone, "sed": ar_sed}

# step: (prepare, command, files-from-output); cold steps then warm steps, rotated each round.
COLD = {
    "convoy_script_cold": (no_cache, plan("script.toml", False), plan_files),
    "convoy_replace_cold": (no_cache, plan("replace.toml", False), plan_files),
    "loop_cold": (no_clones, loop(ONE_COLD), stat_files),
    f"loop_j{jobs}_cold": (no_clones, loop_par(ONE_COLD), stat_files),
}
WARM = {
    "convoy_script_warm": (None, plan("script.toml", True), plan_files),
    "convoy_replace_warm": (None, plan("replace.toml", True), plan_files),
    "loop_warm": (None, loop(ONE_WARM), stat_files),
    f"loop_j{jobs}_warm": (None, loop_par(ONE_WARM), stat_files),
}
if ar:
    # cold: all-repos-clone then all-repos-sed, timed as one (a bash running both).
    COLD["all_repos_cold"] = (no_ar, ["bash", "-c", shlex.join(ar["clone"]) + " >/dev/null 2>&1 && "
                                      + shlex.join(ar["sed"]) + " 2>/dev/null"], diff_files)
    WARM["all_repos_warm"] = (None, ["bash", "-c", shlex.join(ar["sed"]) + " 2>/dev/null"], diff_files)

records, problems = [], []
def measure(label, cmd, count, r):
    subprocess.run(["sync"])  # the previous step's and the clean-up's write-back, not timed
    tv = None
    if time_v:
        fd, tv = tempfile.mkstemp(prefix="bench-time-"); os.close(fd)
        cmd = [time_v, "-v", "-o", tv, *cmd]
    load = os.getloadavg()[0]
    t = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=work)
    dt = time.perf_counter() - t
    rec = {"label": label, "round": r, "seconds": round(dt, 3), "rc": out.returncode,
           "loadavg_1m_before": round(load, 2)}
    if tv:
        rec.update(_time_v(tv)); os.unlink(tv)
    else:
        import resource
        rec["maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # a running max
    rec["changed_files"] = count(out.stdout)
    if out.returncode != 0:
        problems.append(f"{label} round {r}: exit {out.returncode}: {out.stderr[-1500:].decode(errors='replace')}")
    elif rec["changed_files"] != want_files:
        problems.append(f"{label} round {r}: {rec['changed_files']} changed files, expected {want_files}")
    records.append(rec)
    print(f"  {label:<22} {dt:8.3f}s  peak {rec.get('maxrss_kb', 0) / 1024:7.1f} MiB  "
          f"{rec['changed_files']} files{'' if out.returncode == 0 else f'  (exit {out.returncode})'}",
          file=sys.stderr)

def rotate(d, r):
    items = list(d.items())
    k = r % len(items)
    return items[k:] + items[:k]

for r in range(runs):
    print(f"==> round {r + 1}/{runs}", file=sys.stderr)
    for label, (prep, cmd, count) in rotate(COLD, r):
        prep()
        measure(label, cmd, count, r)
    # The warm steps reuse what the cold ones left: convoy's cache, the loop's clones (the
    # parallel loop's, which ran from the same forge), all-repos' clones.
    for label, (prep, cmd, count) in rotate(WARM, r):
        measure(label, cmd, count, r)

def stats(label):
    xs = [x["seconds"] for x in records if x["label"] == label and x["rc"] == 0]
    rss = [x.get("maxrss_kb") for x in records if x["label"] == label and x.get("maxrss_kb")]
    if not xs:
        return None
    s = {"median_seconds": round(statistics.median(xs), 3), "min_seconds": round(min(xs), 3),
         "max_seconds": round(max(xs), 3), "runs": xs,
         "peak_rss_mb": round(max(rss) / 1024, 1) if rss else None}
    for k in ("user_seconds", "sys_seconds"):
        v = [x[k] for x in records if x["label"] == label and x["rc"] == 0 and k in x]
        if v:
            s[f"median_{k}"] = round(statistics.median(v), 2)
    return s

figures = {label: stats(label) for label in [*COLD, *WARM]}
def ratio(a, b, key="median_seconds"):
    fa, fb = figures.get(a), figures.get(b)
    return round(fa[key] / fb[key], 3) if fa and fb else None
ratios = {}
for kind in ("script", "replace"):
    for phase in ("cold", "warm"):
        c = f"convoy_{kind}_{phase}"
        for base in (f"loop_{phase}", f"loop_j{jobs}_{phase}", f"all_repos_{phase}"):
            if base in figures and figures[base]:
                ratios[f"{c}/{base}"] = {"median": ratio(c, base), "min": ratio(c, base, "min_seconds")}

def git_version():
    return subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
def ar_version():
    if not ar_bin:
        return None
    out = subprocess.run([os.path.join(ar_bin, "python"), "-c",
                          "import importlib.metadata as m; print(m.version('all-repos'))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None
def landlock():
    out = subprocess.run([convoy, "-m", os.path.join(work, "script.toml"), "--json", "run",
                          "--repo", f"{owner}/{repos[0]}", "--", "true"], capture_output=True, text=True)
    m = re.search(r'"sandbox"\s*:\s*(\{[^}]*\})', out.stdout)
    return json.loads(m.group(1)) if m else None

summary = {
    "bench": "script",
    "what": ("wall time of `convoy plan` with a [[script]] (`git ls-files -z | xargs -0 sed -i "
             f"'{sed}'` in each scratch checkout) and with the same [[replace]] (literal, files "
             "= [\"**\"]), cold (empty cache: the plan's fetch clones) and warm (`--offline`), against "
             "a bash loop of `git clone --depth 1 file://…` + the same sed + `git diff --stat` per "
             f"repository (sequential, and {jobs} at a time with xargs -P), warm: the clones reused "
             "after `git checkout -- .`; and all-repos-clone + all-repos-sed"),
    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "convoy": version,
    "binary": os.path.realpath(convoy).replace(os.path.realpath(os.path.join(os.path.dirname(results), "..")) + "/", ""),
    "profile": "release" if "/release/" in os.path.realpath(convoy) else "not a release build",
    "machine": {"nproc": os.cpu_count(), "kernel": platform.release(), "git": git_version(),
                "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                "note": "a 2-core VM shared with other engineers' builds while measured"},
    "timing": ("wall: time.perf_counter around the command, after an untimed `sync`; peak RSS: "
               + ("/usr/bin/time -v (the largest single process of the command's tree)" if time_v
                  else "getrusage(RUSAGE_CHILDREN) (a running maximum)")),
    "sandbox": landlock(),
    "repos": len(repos), "runs": runs, "jobs": jobs,
    "forge": {"files": expect["files"], "bytes": expect["bytes"], "changed_files": want_files,
              "occurrences": expect["occurrences"], "word": f"{old} -> {new}",
              "generated_seconds": float(gen_seconds) if gen_seconds else None},
    "all_repos": {"version": ar_version(), "note": ar_note or (
        f"all-repos-clone -j {jobs} (full clones) + all-repos-sed -j {jobs} '{sed}' '*' with push "
        "`all_repos.push.readonly` (pushes nothing; `--dry-run` refuses -j); all-repos-sed fetches "
        "from the forge again for every repository, warm or cold")},
    "figures": figures,
    "ratios_convoy_over_baseline": ratios,
    "problems": problems,
    "runs_raw": records,
}
json.dump(summary, open(results, "w"), indent=2)
open(results, "a").write("\n")
w = max(len(k) for k in figures)
for k, f in figures.items():
    if f:
        print(f"{k:<{w}}  median {f['median_seconds']:7.3f}s  min {f['min_seconds']:7.3f}s  peak {f['peak_rss_mb']} MiB")
    else:
        print(f"{k:<{w}}  n/a")
for k, v in ratios.items():
    print(f"{k}  {v['median']} (min/min {v['min']})")
if problems:
    sys.exit("problems:\n" + "\n".join(problems))
PY
