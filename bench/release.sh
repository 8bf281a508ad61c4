#!/usr/bin/env bash
# Release plan benchmark (issue 12): `convoy release plan --offline --json` over a generated org
# of 300 repositories holding 1,000 publishable Cargo packages, from the warm cache: wall time,
# peak RSS, and the share of the time spent reading git history. See bench/README.md.
#
# Usage: bash bench/release.sh [--keep] [--regen]
#   --keep   keep the temporary work folder (its path is printed at the end)
#   --regen  with BENCH_WORK: regenerate the forge (and refill the cache) even if it matches
# Environment:
#   BENCH_REPOS=300          repositories in the org
#   BENCH_PACKAGES=1000      publishable packages over them
#   BENCH_RUNS=5             timed runs of each command (the median is reported)
#   BENCH_WORK=              work folder to use and keep (forge and cache are reused when they
#                            match); unset: a fresh temporary folder, removed on exit
#   BENCH_RESULTS=bench/results-release-plan.json   where the results are written
#   CONVOY_BIN=...           use this binary instead of `cargo build --release`
#   CONVOY_BIN_BEFORE=...    also time this (older) binary in the same rounds and compare: its
#                            plan must be byte-identical, the figure is the ratio of the medians
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
LIB="$BENCH_DIR/benchlib.py"
BENCH_NAME=release

KEEP=0
REGEN=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --regen) REGEN=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "release.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

REPOS=${BENCH_REPOS:-300}
PACKAGES=${BENCH_PACKAGES:-1000}
RUNS=${BENCH_RUNS:-5}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results-release-plan.json}
OWNER=acme
export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"

[[ $REPOS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPOS must be a positive number, not '$REPOS'"
[[ $PACKAGES =~ ^[1-9][0-9]*$ && $PACKAGES -ge $REPOS ]] || die "BENCH_PACKAGES must be a number >= BENCH_REPOS"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number, not '$RUNS'"
command -v git >/dev/null || die "git is needed"
command -v python3 >/dev/null || die "python3 is needed"

bench_work
bench_convoy release plan
BEFORE=${CONVOY_BIN_BEFORE:-}
if [[ -n $BEFORE ]]; then
  [[ -x $BEFORE ]] || die "CONVOY_BIN_BEFORE is not an executable: $BEFORE"
  "$BEFORE" release plan --help >/dev/null 2>&1 || die "$BEFORE has no 'release plan' command"
fi

# ---------------------------------------------------------------- forge (not timed)
log "generating $REPOS repositories with $PACKAGES packages in $FORGE"
# Deterministic (seeded): the same settings give the same forge, which is reused when its
# forge/.bench-release-forge.json matches them (--regen forces a new one).
python3 - "$FORGE" "$OWNER" "$REPOS" "$PACKAGES" "$REGEN" <<'PY' || die "forge generation failed"
import json, os, random, shutil, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

forge, owner, R, P, regen = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
SEED = 12
want = {"generator": 1, "seed": SEED, "repos": R, "packages": P, "owner": owner}
marker = os.path.join(forge, ".bench-release-forge.json")
if not regen and os.path.exists(marker):
    have = json.load(open(marker))
    if {k: have.get(k) for k in want} == want:
        print(f"forge: reusing {forge}", file=sys.stderr)
        sys.exit(0)
shutil.rmtree(forge, ignore_errors=True)
os.makedirs(os.path.join(forge, owner))
t_start = time.perf_counter()
rng = random.Random(SEED)

PARTS = ["core", "macros", "cli", "types", "client", "server", "util", "proto", "derive", "store", "api",
         "sdk", "config", "log", "codec", "runtime", "net", "fs", "auth", "cache", "metrics", "trace", "db",
         "http", "grpc", "json", "test-utils", "bench", "ffi", "sys", "async", "sync"]
WORDS = ["atlas", "beacon", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "iris", "jasper",
         "kestrel", "lumen", "meridian", "nimbus", "onyx", "prism", "quartz", "raven", "sierra", "tundra"]
EXTERNAL = [("serde", ["1", "1.0", "1.0.190"]), ("anyhow", ["1"]), ("thiserror", ["1", "2"]),
            ("tokio", ["1", "1.38"]), ("clap", ["4", "3.2"]), ("regex", ["1"]), ("tracing", ["0.1"]),
            ("rand", ["0.8", "0.9"]), ("log", ["0.4"]), ("bytes", ["1"])]

# ------------------------------------------------------------------ layout
n_ws = round(R * 0.4)
n_single = R - n_ws
sizes = [2] * n_ws
for _ in range(P - n_single - 2 * n_ws):
    i = rng.randrange(n_ws) if rng.random() < 0.6 else rng.choice(range(max(1, n_ws // 5)))  # some big ones
    sizes[i] += 1
kinds = ["workspace"] * n_ws + ["single"] * n_single
rng.shuffle(kinds)
repos, packages = [], []
ws_i = 0
for r in range(R):
    name = f"{WORDS[r % len(WORDS)]}-{r + 1:03d}"
    repo = {"name": name, "kind": kinds[r], "packages": [], "root_package": False, "inherit": False}
    def pkg(pname, folder, primary):
        p = {"name": pname, "repo": r, "folder": folder, "primary": primary, "deps": [], "ext": [],
             "version": (rng.choice([0, 0, 1, 1, 1, 2, 3]), rng.randrange(13), rng.randrange(10))}
        packages.append(p)
        repo["packages"].append(len(packages) - 1)
        return p
    if kinds[r] == "single":
        pkg(name, "", True)
    else:
        n = sizes[ws_i]; ws_i += 1
        repo["root_package"] = rng.random() < 0.25
        repo["inherit"] = rng.random() < 0.5
        parts = rng.sample(PARTS, min(n, len(PARTS)))
        while len(parts) < n:
            parts.append(f"part{len(parts)}")
        if repo["root_package"]:
            pkg(name, "", True)
            parts = parts[1:]
        folders = []
        for part in parts:
            # One workspace in ten nests a member inside another member's folder.
            if folders and rng.random() < 0.1 and not any("/" in f[len("crates/"):] for f in folders):
                folder = f"{rng.choice(folders)}/{part}"
            else:
                folder = f"crates/{part}"
            folders.append(folder)
            pkg(f"{name}-{part}", folder, False)
        if repo["inherit"]:
            v = packages[repo["packages"][0]]["version"]
            for i in repo["packages"]:
                packages[i]["version"] = v
    repos.append(repo)

# Dependencies: a DAG at package level (only on packages ranked lower), across repositories too.
order = list(range(len(packages)))
rng.shuffle(order)
rank = {p: i for i, p in enumerate(order)}
for p in order:
    me = packages[p]
    lower = order[:rank[p]]
    if not lower:
        continue
    same = [q for q in lower if packages[q]["repo"] == me["repo"]]
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
        q = rng.choice(same) if same and rng.random() < 0.35 else rng.choice(lower)
        if any(d["to"] == q for d in me["deps"]):
            continue
        a, b, c = packages[q]["version"]
        req = rng.choices([f"{a}.{b}", f"{a}", f"^{a}.{b}.{c}", f"~{a}.{b}"], [70, 15, 10, 5])[0]
        kind = rng.choices(["normal", "dev", "build"], [80, 12, 8])[0]
        me["deps"].append({"to": q, "req": req, "kind": kind})
    me["ext"] = rng.sample(EXTERNAL, rng.randrange(1, 4))

def rel(frm, to):
    return os.path.relpath(to or ".", frm or ".")

def manifest(p, repo):
    v = "version.workspace = true" if repo["inherit"] and repo["kind"] == "workspace" else 'version = "%d.%d.%d"' % p["version"]
    lines = ["[package]", f'name = "{p["name"]}"', v, 'edition = "2021"', 'license = "MIT"', ""]
    if p["folder"] == "" and repo["kind"] == "workspace":
        lines += ["[workspace]", "members = [" + ", ".join(f'"{packages[i]["folder"]}"' for i in repo["packages"] if packages[i]["folder"]) + "]", ""]
        if repo["inherit"]:
            lines += ["[workspace.package]", 'version = "%d.%d.%d"' % p["version"], ""]
    for kind, table in (("normal", "dependencies"), ("build", "build-dependencies"), ("dev", "dev-dependencies")):
        ds = [d for d in p["deps"] if d["kind"] == kind]
        ext = p["ext"] if kind == "normal" else []
        if not ds and not ext:
            continue
        lines.append(f"[{table}]")
        for d in ds:
            q = packages[d["to"]]
            if q["repo"] == p["repo"]:
                lines.append(f'{q["name"]} = {{ path = "{rel(p["folder"], q["folder"])}", version = "{d["req"]}" }}')
            else:
                lines.append(f'{q["name"]} = "{d["req"]}"')
        for n, reqs in ext:
            lines.append(f'{n} = "{rng.choice(reqs)}"')
        lines.append("")
    return "\n".join(lines)

def ws_root(repo):
    members = ", ".join(f'"{packages[i]["folder"]}"' for i in repo["packages"])
    lines = ["[workspace]", f"members = [{members}]", 'resolver = "2"', ""]
    if repo["inherit"]:
        lines += ["[workspace.package]", 'version = "%d.%d.%d"' % packages[repo["packages"][0]]["version"], 'edition = "2021"', ""]
    return "\n".join(lines)

def source(seed_text, n):
    r = random.Random(seed_text)
    out = [f"//! {seed_text}", ""]
    for i in range(n):
        out.append(f"pub fn f{i}_{r.randrange(1 << 30):x}(x: u64) -> u64 {{ x.wrapping_mul({r.randrange(1, 1 << 20)}) ^ {r.randrange(1 << 16)} }}")
    return "\n".join(out) + "\n"

TYPES = [("feat", 25), ("fix", 35), ("chore", 10), ("refactor", 10), ("docs", 5), ("perf", 5), ("test", 5), (None, 5)]

def message(rng, scope, what):
    t = rng.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0]
    if t is None:
        return f"Update {what}\n"
    bang = "!" if rng.random() < 0.03 else ""
    sc = f"({scope})" if scope and rng.random() < 0.6 else ""
    body = "\n\nBREAKING CHANGE: the API changed\n" if not bang and t == "feat" and rng.random() < 0.03 else "\n"
    return f"{t}{sc}{bang}: {rng.choice(['handle', 'add', 'tidy', 'speed up', 'document', 'support'])} {what}{body}"

# ------------------------------------------------------------------ history (fast-import streams)
def build(r):
    repo = repos[r]
    rr = random.Random(f"{SEED}-{r}")
    files = {}
    if repo["kind"] == "workspace" and not repo["root_package"]:
        files["Cargo.toml"] = ws_root(repo)
    for i in repo["packages"]:
        p = packages[i]
        pre = p["folder"] + "/" if p["folder"] else ""
        files[pre + "Cargo.toml"] = manifest(p, repo)
        files[pre + "src/lib.rs"] = source(p["name"], rr.randrange(5, 40))
        files[pre + "README.md"] = f"# {p['name']}\n"
    files["README.md"] = f"# {repo['name']}\n"
    files[".github/workflows/ci.yml"] = "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo test\n"
    out = []
    mark = [0]
    clock = [1_600_000_000 + r * 1000]
    def commit(ref, msg, changes, parents):
        mark[0] += 1
        clock[0] += rr.randrange(600, 86400 * 3)
        out.append(f"commit {ref}\nmark :{mark[0]}\nauthor Dev <dev@example.com> {clock[0]} +0000\n"
                   f"committer Dev <dev@example.com> {clock[0]} +0000\n")
        data = msg.encode()
        out.append(f"data {len(data)}\n{msg}\n")
        if parents:
            out.append(f"from :{parents[0]}\n")
            for p in parents[1:]:
                out.append(f"merge :{p}\n")
        for path, text in changes.items():
            if text is None:
                out.append(f"D {path}\n")
            else:
                b = text.encode()
                out.append(f"M 100644 inline {path}\ndata {len(b)}\n{text}\n")
        out.append("\n")
        return mark[0]
    def edit(i, k):
        p = packages[i]
        pre = p["folder"] + "/" if p["folder"] else ""
        if rr.random() < 0.3:
            return {pre + f"src/m{k}.rs": source(f"{p['name']}-{k}", rr.randrange(2, 10))}
        path = pre + "src/lib.rs"
        files[path] = files[path] + f"pub const C{k}: u32 = {rr.randrange(1 << 20)};\n"
        return {path: files[path]}
    def part(i):
        return packages[i]["name"].split("-", 2)[-1]
    n = rr.randint(20, 50)
    main = [commit("refs/heads/main", "Initial commit\n", dict(files), [])]
    merges = 0
    k = 0
    while len(main) < n:
        k += 1
        roll = rr.random()
        pk = repo["packages"]
        if roll < 0.55:
            i = rr.choice(pk)
            main.append(commit("refs/heads/main", message(rr, part(i), f"the {part(i)} path"), edit(i, k), [main[-1]]))
        elif roll < 0.7 and len(pk) > 1:
            a, b = rr.sample(pk, 2)
            ch = edit(a, k); ch.update(edit(b, k + 1000))
            main.append(commit("refs/heads/main", message(rr, None, "shared helpers"), ch, [main[-1]]))
        elif roll < 0.87:
            path = rr.choice(["README.md", ".github/workflows/ci.yml", "CHANGELOG.md"])
            files[path] = files.get(path, "") + f"line {k}\n"
            msg = rr.choice(["docs: readme\n", "ci: cache cargo\n", "chore: changelog\n", "Update README\n"])
            main.append(commit("refs/heads/main", msg, {path: files[path]}, [main[-1]]))
        else:
            side = [main[-1]]
            changed = {}
            for j in range(rr.randint(1, 3)):
                i = rr.choice(pk)
                ch = edit(i, k * 10 + j)
                changed.update(ch)
                side.append(commit("refs/heads/side", message(rr, part(i), "review comments"), ch, [side[-1]]))
            merges += 1
            main.append(commit("refs/heads/main", f"Merge pull request #{k} from {owner}/side-{k}\n", changed,
                               [main[-1], side[-1]]))
    # Release tags on older commits of main (the merges' first parents).
    tags = []
    shared = rr.random() < 0.5 and repo["kind"] == "workspace"
    shared_at = rr.randint(int(n * 0.4), int(n * 0.85))
    for i in pk:
        p = packages[i]
        if rr.random() < 0.12:
            continue  # never released: a first release
        at = shared_at if shared else rr.randint(int(n * 0.4), int(n * 0.85))
        a, b, c = p["version"]
        last = (a, b, c) if rr.random() > 0.05 or c == 0 else (a, b, c - 1)  # 5 %: manifest ahead
        fmt = rr.choices(["{n}-v{v}", "{n}@{v}", "{n}/v{v}", "{n}-{v}", "v{v}"], [60, 10, 10, 10, 10 if p["primary"] else 0])[0]
        older = [(a, b, x) for x in range(last[2])][-3:] if last[2] else []
        at_old = sorted(rr.randint(1, max(1, at - 1)) for _ in older)
        for v, idx in list(zip(older, at_old)) + [(last, at)]:
            tags.append((fmt.format(n=p["name"], v="%d.%d.%d" % v), main[min(idx, len(main) - 1)]))
    seen = set()
    for name, m in tags:
        if name in seen:
            continue
        seen.add(name)
        if rr.random() < 0.3:
            msg = f"release {name}"
            out.append(f"tag {name}\nfrom :{m}\ntagger Dev <dev@example.com> {clock[0]} +0000\ndata {len(msg)}\n{msg}\n")
        else:
            out.append(f"reset refs/tags/{name}\nfrom :{m}\n\n")
    path = os.path.join(forge, owner, repo["name"] + ".git")
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", path], check=True, env=env)
    subprocess.run(["git", "--git-dir", path, "fast-import", "--quiet"], input="".join(out).encode(), check=True, env=env)
    if merges:
        subprocess.run(["git", "--git-dir", path, "update-ref", "-d", "refs/heads/side"], check=True, env=env)
    return {"commits": mark[0], "main": len(main), "merges": merges, "tags": len(seen)}

with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
    stats = list(pool.map(build, range(R)))

# Repository-level cycles (strongly connected components of the repository graph).
edges = {r: set() for r in range(R)}
for p in packages:
    for d in p["deps"]:
        q = packages[d["to"]]["repo"]
        if q != p["repo"]:
            edges[p["repo"]].add(q)
index, low, onstack, stack, sccs, counter = {}, {}, set(), [], [], [0]
sys.setrecursionlimit(10000)
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); onstack.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in onstack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); onstack.discard(w); comp.append(w)
            if w == v:
                break
        sccs.append(comp)
for v in range(R):
    if v not in index:
        strong(v)
cyclic = [c for c in sccs if len(c) > 1]
info = dict(want)
info.update({
    "kinds": {k: kinds.count(k) for k in ("single", "workspace")},
    "workspace_sizes": {"min": min(sizes), "max": max(sizes)},
    "root_packages_with_members": sum(1 for r in repos if r["kind"] == "workspace" and r["root_package"]),
    "nested_members": sum(1 for p in packages if p["folder"].count("/") > 1),
    "org_dependencies": sum(len(p["deps"]) for p in packages),
    "cross_repo_dependencies": sum(1 for p in packages for d in p["deps"] if packages[d["to"]]["repo"] != p["repo"]),
    "repo_cycles": {"components": len(cyclic), "repos_in_them": sum(len(c) for c in cyclic)},
    "commits": sum(s["commits"] for s in stats),
    "commits_per_repo": {"min": min(s["commits"] for s in stats), "max": max(s["commits"] for s in stats)},
    "merges": sum(s["merges"] for s in stats),
    "tags": sum(s["tags"] for s in stats),
    "generated_seconds": round(time.perf_counter() - t_start, 2),
})
json.dump(info, open(marker, "w"), indent=2)
print(f"forge: {R} repos, {len(packages)} packages, {info['commits']} commits, {info['tags']} tags in "
      f"{info['generated_seconds']}s", file=sys.stderr)
PY
stamp="$FORGE/.bench-release-forge.json"
if [[ -d $CACHE && ( ! -f $WORK/cache-stamp || $stamp -nt $WORK/cache-stamp ) ]]; then
  rm -rf "$CACHE"
fi

cat >"$MANIFEST" <<M
# Generated by bench/release.sh; rewritten on every run.
[org]
name = "$OWNER"
default_branch = "main"
cache_dir = "cache"
forge = { kind = "local", root = "forge" }

[[repo]]
name = "$OWNER/*"
M
"$CONVOY" -m "$MANIFEST" --quiet validate >/dev/null || die "convoy validate $MANIFEST failed"

# ---------------------------------------------------------------- warm the cache (timed apart)
mkdir -p "$REPORTS"
log "warming the cache: convoy release plan (fetches full history; not part of the figures)"
t0=$(date +%s.%N)
rc=0
"$CONVOY" -m "$MANIFEST" -q release plan --json >"$REPORTS/warm.json" 2>"$WORK/warm.err" || rc=$?
t1=$(date +%s.%N)
[[ $rc == 0 ]] || { tail -20 "$WORK/warm.err" >&2; die "convoy release plan (warming the cache) failed: exit $rc"; }
touch "$WORK/cache-stamp"
WARM_SECONDS=$(python3 -c "print(round($t1 - $t0, 3))")

# ---------------------------------------------------------------- timed runs and report
python3 - "$CONVOY" "$BEFORE" "$MANIFEST" "$CACHE" "$REPORTS" "$RUNS" "$RESULTS" "$FORGE/.bench-release-forge.json" \
  "$WARM_SECONDS" "$CONVOY_VERSION" "$ROOT" <<'PY'
import datetime, json, os, statistics, subprocess, sys, tempfile, time

(convoy, before, manifest, cache, reports, runs, results, stamp, warm_seconds, version, root) = sys.argv[1:]
runs = int(runs)
forge = json.load(open(stamp))
TIME = "/usr/bin/time"
problems = []

def warm_page_cache():
    # Keep the cache in memory (other work on the machine may have pushed it out); not timed.
    for d, _, files in os.walk(cache):
        for f in files:
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    while fh.read(1 << 20):
                        pass
            except OSError:
                pass

def once(label, binary, args, env_extra=None):
    out = os.path.join(reports, f"{label}.out")
    err = os.path.join(reports, f"{label}.err")
    fd, tv = tempfile.mkstemp(prefix="bench-time-")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if k not in ("CONVOY_LOG", "NO_COLOR")}
    env["NO_COLOR"] = "1"
    env.update(env_extra or {})
    cmd = [TIME, "-v", "-o", tv, binary, "-m", manifest, "-q", *args]
    with open(out, "wb") as o, open(err, "wb") as e:
        t = time.perf_counter()
        rc = subprocess.call(cmd, stdout=o, stderr=e, env=env)
        dt = time.perf_counter() - t
    rec = {"seconds": round(dt, 4), "rc": rc}
    for line in open(tv):
        key, _, value = line.strip().rpartition(": ")
        if key == "Maximum resident set size (kbytes)":
            rec["maxrss_kb"] = int(value)
        elif key == "User time (seconds)":
            rec["user_seconds"] = float(value)
        elif key == "System time (seconds)":
            rec["sys_seconds"] = float(value)
    os.unlink(tv)
    if rc != 0:
        problems.append(f"{label}: exit {rc}: {open(err).read()[-500:]}")
    print(f"  {label:<22} {dt:7.3f}s  peak {rec.get('maxrss_kb', 0) / 1024:6.1f} MiB" + ("" if rc == 0 else f"  (exit {rc})"),
          file=sys.stderr)
    return rec, out, err

def history_span(err_path, wall):
    """The history phase from `release history read` debug events: per repository its end (the
    event's timestamp) and its elapsed time, so its start; the phase is first start to last end."""
    starts, ends, total = [], [], 0.0
    for line in open(err_path, errors="replace"):
        if "release history read" not in line:
            continue
        stamp = line.split()[0]
        end = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        us = int(line.rsplit("elapsed_us=", 1)[1].split()[0])
        starts.append(end - us / 1e6)
        ends.append(end)
        total += us / 1e6
    if not ends:
        return None
    span = max(ends) - min(starts)
    return {"repos": len(ends), "span_seconds": round(span, 4), "sum_seconds": round(total, 4),
            "share": round(span / wall, 4)}

plan_args = ["release", "plan", "--offline", "--json"]
modes = [("plan", convoy, plan_args, None),
         ("graph", convoy, ["release", "graph", "--offline", "--json"], None),
         ("plan_logged", convoy, plan_args, {"CONVOY_LOG": "convoy::release::plan=debug"})]
if before:
    modes.append(("plan_before", before, plan_args, None))
recs = {m[0]: [] for m in modes}
outputs = {m[0]: set() for m in modes}
spans = []
warm_page_cache()
for label, binary, args, env in modes:  # one untimed run each: the first reads are not the figure
    once(f"{label}-untimed", binary, args, env)
for n in range(runs):
    warm_page_cache()
    order = modes if n % 2 == 0 else list(reversed(modes))  # drift on a shared machine hits all alike
    for label, binary, args, env in order:
        rec, out, err = once(f"{label}-{n + 1}", binary, args, env)
        recs[label].append(rec)
        outputs[label].add(open(out, "rb").read())
        if label == "plan_logged":
            s = history_span(err, rec["seconds"])
            if s is None:
                problems.append("plan_logged: no `release history read` events on stderr (an old build?)")
            else:
                spans.append(s)

def med(label, key="seconds"):
    v = [r[key] for r in recs[label] if key in r]
    return round(statistics.median(v), 4) if v else None

plan_out = outputs["plan"]
if len(plan_out) != 1:
    problems.append(f"plan: {len(plan_out)} different outputs over {runs} runs")
if outputs["plan_logged"] != plan_out:
    problems.append("plan with CONVOY_LOG printed a different plan")
plan = json.loads(next(iter(plan_out))) if plan_out else {}
planned = [p for w in plan.get("results", []) for p in w["packages"]]
bumps = {}
for p in planned:
    bumps[p["bump"]] = bumps.get(p["bump"], 0) + 1
graph = json.loads(next(iter(outputs["graph"]))) if outputs["graph"] else {}
if len(graph.get("results", [])) != forge["packages"]:
    problems.append(f"graph: {len(graph.get('results', []))} packages, the forge has {forge['packages']}")
if plan.get("errors"):
    problems.append(f"plan: {len(plan['errors'])} errors, e.g. {plan['errors'][0]}")
commits_listed = sum(len(p["commits"]) for p in planned)

figures = {
    "seconds": med("plan"),
    "seconds_min": min(r["seconds"] for r in recs["plan"]),
    "seconds_max": max(r["seconds"] for r in recs["plan"]),
    "peak_rss_mb": round(max(r["maxrss_kb"] for r in recs["plan"]) / 1024, 1),
    "user_seconds": med("plan", "user_seconds"),
    "sys_seconds": med("plan", "sys_seconds"),
    "graph_seconds": med("graph"),
    "graph_peak_rss_mb": round(max(r["maxrss_kb"] for r in recs["graph"]) / 1024, 1),
    "plan_minus_graph_seconds": round(med("plan") - med("graph"), 4),
    "plan_minus_graph_share": round((med("plan") - med("graph")) / med("plan"), 4),
    "logged_plan_seconds": med("plan_logged"),
    "history_seconds": round(statistics.median(s["span_seconds"] for s in spans), 4) if spans else None,
    "history_share": round(statistics.median(s["share"] for s in spans), 4) if spans else None,
    "history_repo_seconds_sum": round(statistics.median(s["sum_seconds"] for s in spans), 4) if spans else None,
}
targets = {"seconds": 2.0, "peak_rss_mb": 200}
comparison = None
if before:
    same = outputs["plan_before"] == plan_out
    if not same:
        problems.append("the CONVOY_BIN_BEFORE binary planned different bytes")
    paired = statistics.median(b["seconds"] / a["seconds"] for a, b in zip(recs["plan"], recs["plan_before"]))
    comparison = {
        "binary": os.path.relpath(os.path.realpath(before), root),
        "seconds": med("plan_before"),
        "peak_rss_mb": round(max(r["maxrss_kb"] for r in recs["plan_before"]) / 1024, 1),
        "user_seconds": med("plan_before", "user_seconds"),
        "speedup_median_ratio": round(med("plan_before") / med("plan"), 3),
        "speedup_median_paired_ratio": round(paired, 3),
        "plans_identical": same,
    }
summary = {
    "bench": "release-plan",
    "what": "`convoy -m org.toml -q release plan --offline --json` over a generated local org, warm cache",
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z"),
    "convoy_version": version,
    "convoy_bin": os.path.relpath(os.path.realpath(convoy), root),
    "nproc": os.cpu_count(),
    "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    "runs": runs,
    "timing": "wall: time.perf_counter around the command, runs of all commands interleaved (order "
              "reversed every round), each command once untimed first; peak RSS, user and sys: /usr/bin/time -v",
    "history_share_method": "a run with CONVOY_LOG=convoy::release::plan=debug: each repository's "
              "`release history read` event (its end time and elapsed_us) gives when that repository's history "
              "reading ran; history_seconds is first start to last end over all repositories (they run in "
              "parallel, `jobs` at a time), history_share that over the same run's wall time. "
              "plan_minus_graph_* is the cruder comparison against `release graph --offline` (no tags, no history, no plan)",
    "forge": forge,
    "warm_plan_seconds": float(warm_seconds),
    "plan": {"packages_planned": len(planned), "bumps": bumps, "skipped": len(plan.get("skipped", [])),
             "waves": len(plan.get("waves", [])), "errors": len(plan.get("errors", [])),
             "commits_listed": commits_listed, "json_bytes": len(next(iter(plan_out), b""))},
    "targets": targets,
    "meets_targets": bool(figures["seconds"] < targets["seconds"] and figures["peak_rss_mb"] < targets["peak_rss_mb"]),
    "figures": figures,
    "before": comparison,
    "history_spans": spans,
    "problems": problems,
    "runs_raw": recs,
}
with open(results, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print(json.dumps({k: summary[k] for k in ("plan", "figures", "before", "meets_targets", "problems")}, indent=2))
sys.exit(1 if problems else 0)
PY
