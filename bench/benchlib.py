#!/usr/bin/env python3
"""Helpers for bench/clone.sh (python3 standard library only).

Subcommands:
  gen        generate the synthetic forge (bare repos via `git fast-import`)
  free-port  print a free TCP port on 127.0.0.1
  wait-port  wait until 127.0.0.1:PORT accepts connections
  run        run one command, append {label, seconds, maxrss_kb, rc} to a JSONL record
  report     read the record, print one line per figure, write results.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

FORGE_VERSION = 1  # bump when the generated content changes, forces regeneration
MARKER = ".bench-forge.json"

# --------------------------------------------------------------------------- gen

WORDS = (
    "account actor adapter alloc api append archive async audit backend batch "
    "bind block body bridge buffer build bundle cache call cancel channel check "
    "chunk client clock close codec commit config conn context cursor data "
    "decode delta digest dispatch doc encode entry error event export fetch "
    "field file filter flush format frame handle hash header index init input "
    "item job key layer limit line list load lock log map merge meta metric "
    "mode node offset open option output owner packet page parse path peer "
    "plan pool port queue range read record ref region render repo request "
    "reset result retry route row rule scan schema scope send session shard "
    "signal sink size slot source span state store stream sync table task "
    "token trace tree update user value view watch worker write"
).split()

PROSE = (
    "the a this that service returns handles requests from upstream and keeps "
    "state in memory until the next flush which is triggered by a timer or by "
    "an explicit call see docs for details note we never block on the network "
    "inside a lock because it would stall every other worker in the pool"
).split()

ECOSYSTEMS = ("rust", "node", "python", "go")
NODE_PMS = ("npm", "pnpm", "yarn")
AUTHORS = (
    ("Ada Byron", "ada@acme.test"),
    ("Grace Hopper", "grace@acme.test"),
    ("Linus Pauling", "linus@acme.test"),
    ("Barbara Liskov", "barbara@acme.test"),
)


def _ident(rng: random.Random, sep: str = "_") -> str:
    return sep.join(rng.choices(WORDS, k=rng.randint(1, 3)))


def _size(rng: random.Random, median: int, lo: int = 120, hi: int = 24_000) -> int:
    # log-normal: most files small, a few large, like a real tree
    return max(lo, min(hi, int(rng.lognormvariate(0, 0.8) * median)))


def _source(rng: random.Random, eco: str, target: int) -> str:
    out: list[str] = []
    n = 0
    while n < target:
        name = _ident(rng)
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        if eco == "rust":
            block = (
                f"/// {' '.join(rng.choices(PROSE, k=rng.randint(5, 14)))}\n"
                f"pub fn {name}({a}: &str, {b}: usize) -> Result<usize, Error> {{\n"
                f"    let {a}_len = {a}.len() + {b};\n"
                f"    if {a}_len > {rng.randint(1, 4096)} {{\n"
                f"        return Err(Error::{a.capitalize()}({a}_len));\n"
                f"    }}\n"
                f"    Ok({a}_len * {rng.randint(2, 64)})\n"
                f"}}\n\n"
            )
        elif eco == "node":
            block = (
                f"// {' '.join(rng.choices(PROSE, k=rng.randint(5, 14)))}\n"
                f"export async function {name.replace('_', '')}({a}, {b} = {rng.randint(0, 99)}) {{\n"
                f"  const {a}Len = String({a}).length + {b};\n"
                f"  if ({a}Len > {rng.randint(1, 4096)}) throw new Error('{a} too long');\n"
                f"  return {a}Len * {rng.randint(2, 64)};\n"
                f"}}\n\n"
            )
        elif eco == "python":
            block = (
                f"def {name}({a}: str, {b}: int = {rng.randint(0, 99)}) -> int:\n"
                f'    """{" ".join(rng.choices(PROSE, k=rng.randint(5, 14)))}."""\n'
                f"    {a}_len = len({a}) + {b}\n"
                f"    if {a}_len > {rng.randint(1, 4096)}:\n"
                f"        raise ValueError(\"{a} too long\")\n"
                f"    return {a}_len * {rng.randint(2, 64)}\n\n\n"
            )
        else:
            fname = "".join(w.capitalize() for w in name.split("_"))
            block = (
                f"// {fname} {' '.join(rng.choices(PROSE, k=rng.randint(5, 14)))}\n"
                f"func {fname}({a} string, {b} int) (int, error) {{\n"
                f"\t{a}Len := len({a}) + {b}\n"
                f"\tif {a}Len > {rng.randint(1, 4096)} {{\n"
                f"\t\treturn 0, fmt.Errorf(\"{a} too long\")\n"
                f"\t}}\n"
                f"\treturn {a}Len * {rng.randint(2, 64)}, nil\n"
                f"}}\n\n"
            )
        out.append(block)
        n += len(block)
    return "".join(out)


def _prose(rng: random.Random, target: int, title: str) -> str:
    out = [f"# {title}\n\n"]
    n = len(out[0])
    while n < target:
        if rng.random() < 0.15:
            para = f"## {_ident(rng, ' ').capitalize()}\n\n"
        else:
            para = " ".join(rng.choices(PROSE + WORDS, k=rng.randint(20, 70))).capitalize() + ".\n\n"
        out.append(para)
        n += len(para)
    return "".join(out)


def _lockfile(rng: random.Random, eco: str, pm: str | None) -> tuple[str, str]:
    entries = rng.randint(120, 320)
    lines: list[str] = []
    for _ in range(entries):
        name = "-".join(rng.choices(WORDS, k=rng.randint(1, 2)))
        ver = f"{rng.randint(0, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        digest = "%064x" % rng.getrandbits(256)
        if eco == "rust":
            lines.append(f'[[package]]\nname = "{name}"\nversion = "{ver}"\n'
                         f'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
                         f'checksum = "{digest}"\n\n')
        elif eco == "node":
            lines.append(f'  "node_modules/{name}": {{\n    "version": "{ver}",\n'
                         f'    "integrity": "sha512-{digest}"\n  }},\n')
        elif eco == "python":
            lines.append(f'[[package]]\nname = "{name}"\nversion = "{ver}"\n'
                         f'files = [{{file = "{name}-{ver}.tar.gz", hash = "sha256:{digest}"}}]\n\n')
        else:
            lines.append(f"example.test/{name} v{ver} h1:{digest[:43]}=\n")
    body = "".join(lines)
    if eco == "rust":
        return "Cargo.lock", "version = 4\n\n" + body
    if eco == "node":
        name = {"npm": "package-lock.json", "pnpm": "pnpm-lock.yaml", "yarn": "yarn.lock"}[pm or "npm"]
        return name, '{\n  "lockfileVersion": 3,\n  "packages": {\n' + body + '  "": {}\n  }\n}\n'
    if eco == "python":
        return "poetry.lock", body
    return "go.sum", body


WORKFLOW = """name: {name}
on:
  push:
    branches: [main]
  pull_request:
jobs:
  {name}:
    runs-on: ubuntu-latest
    timeout-minutes: {timeout}
    steps:
      - uses: actions/checkout@v4
      - name: {step}
        run: {cmd}
      - name: cache
        uses: actions/cache@v4
        with:
          path: ~/.cache
          key: ${{{{ runner.os }}}}-{name}-${{{{ hashFiles('**/*.lock') }}}}
"""

EXT = {"rust": "rs", "node": "js", "python": "py", "go": "go"}
CMD = {"rust": "cargo test --locked", "node": "npm test", "python": "pytest -q", "go": "go test ./..."}


def _initial_tree(rng: random.Random, owner: str, name: str, eco: str, pm: str | None,
                  n_files: int) -> dict[str, str]:
    files: dict[str, str] = {}
    files["README.md"] = _prose(rng, _size(rng, 3000), f"{owner}/{name}")
    files["LICENSE"] = "MIT License\n\nCopyright (c) 2024 Acme\n\n" + _prose(rng, 900, "Terms")
    files[".gitignore"] = {"rust": "/target\n", "node": "node_modules/\ndist/\n",
                           "python": "__pycache__/\n.venv/\n", "go": "/bin\n"}[eco]
    files[".editorconfig"] = "root = true\n\n[*]\nindent_style = space\nindent_size = 4\n"
    for wf, step in (("ci", "test"), ("lint", "lint"), ("release", "publish")):
        files[f".github/workflows/{wf}.yml"] = WORKFLOW.format(
            name=wf, timeout=rng.randint(10, 60), step=step, cmd=CMD[eco])
    if eco == "rust":
        files["Cargo.toml"] = (f'[package]\nname = "{name}"\nversion = "0.{rng.randint(1, 9)}.0"\n'
                               f'edition = "2021"\n\n[dependencies]\nserde = "1"\nanyhow = "1"\n')
    elif eco == "node":
        files["package.json"] = json.dumps({
            "name": f"@{owner}/{name}", "version": f"1.{rng.randint(0, 9)}.0", "type": "module",
            "packageManager": f"{pm}@9.0.0",
            "scripts": {"test": "node --test", "lint": "eslint ."},
            "dependencies": {"express": "^4.19.0", "zod": "^3.23.0"}}, indent=2) + "\n"
    elif eco == "python":
        files["pyproject.toml"] = (f'[project]\nname = "{name}"\nversion = "0.{rng.randint(1, 9)}.0"\n'
                                   f'requires-python = ">=3.10"\ndependencies = ["httpx", "pydantic"]\n')
    else:
        files["go.mod"] = f"module example.test/{owner}/{name}\n\ngo 1.22\n"
    lock, text = _lockfile(rng, eco, pm)
    files[lock] = text
    for i in range(rng.randint(3, 6)):
        files[f"docs/{_ident(rng, '-')}-{i}.md"] = _prose(rng, _size(rng, 2500), _ident(rng, " "))
    ext = EXT[eco]
    subdirs = ["", "core/", "net/", "util/", "store/"]
    i = 0
    while len(files) < n_files:
        top = "tests" if rng.random() < 0.15 else ("src" if eco != "go" else "internal")
        path = f"{top}/{rng.choice(subdirs)}{_ident(rng)}_{i}.{ext}"
        files[path] = _source(rng, eco, _size(rng, 2500))
        i += 1
    return files


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def _stream(owner: str, name: str, seed: int, commits: int, n_files: int) -> bytes:
    rng = random.Random(seed)
    eco = ECOSYSTEMS[seed % len(ECOSYSTEMS)]
    pm = NODE_PMS[(seed // len(ECOSYSTEMS)) % len(NODE_PMS)] if eco == "node" else None
    tree = _initial_tree(rng, owner, name, eco, pm, n_files)
    out: list[bytes] = []
    ts = 1_700_000_000 + seed * 3600
    for c in range(commits):
        if c == 0:
            changed = dict(tree)
            msg = f"Initial import of {owner}/{name}"
        else:
            changed = {}
            for path in rng.sample(sorted(tree), k=rng.randint(2, 8)):
                if path.endswith((".rs", ".js", ".py", ".go")):
                    tree[path] += _source(rng, eco, rng.randint(150, 900))
                elif path.endswith(".md"):
                    tree[path] += _prose(rng, rng.randint(200, 800), "Update")
                else:
                    continue
                changed[path] = tree[path]
            if rng.random() < 0.5:
                path = f"src/added_{c}_{_ident(rng)}.{EXT[eco]}"
                tree[path] = changed[path] = _source(rng, eco, _size(rng, 2000))
            msg = f"{rng.choice(['feat', 'fix', 'refactor', 'docs', 'chore'])}: {_ident(rng, ' ')}"
        who, email = AUTHORS[(seed + c) % len(AUTHORS)]
        when = f"{ts + c * 86_400} +0000"
        out.append(b"commit refs/heads/main\n")
        out.append(f"author {who} <{email}> {when}\n".encode())
        out.append(f"committer {who} <{email}> {when}\n".encode())
        out.append(_data(msg.encode()))
        for path in sorted(changed):
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(_data(changed[path].encode()))
        out.append(b"\n")
    out.append(b"done\n")
    return b"".join(out)


def repo_names(n: int) -> list[str]:
    return [f"repo-{i:03d}" for i in range(1, n + 1)]


def _gen_one(args: tuple[str, str, str, int, int, int]) -> str:
    forge, owner, name, seed, commits, n_files = args
    git_dir = Path(forge) / owner / f"{name}.git"
    if git_dir.exists():
        shutil.rmtree(git_dir)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "--bare", "--quiet", "--initial-branch=main", str(git_dir)],
                   check=True, env=env)
    stream = _stream(owner, name, seed, commits, n_files)
    subprocess.run(["git", f"--git-dir={git_dir}", "fast-import", "--quiet", "--done"],
                   input=stream, check=True, env=env)
    return name


def cmd_gen(a: argparse.Namespace) -> int:
    forge = Path(a.forge)
    marker = forge / MARKER
    want = {"version": FORGE_VERSION, "owner": a.owner, "repos": a.repos,
            "commits": a.commits, "files": a.files}
    if not a.regen and marker.exists():
        try:
            have = json.loads(marker.read_text())
        except ValueError:
            have = {}
        if {k: have.get(k) for k in want} == want:
            print(f"forge: reusing {forge} ({a.repos} repos; --regen to rebuild)", file=sys.stderr)
            return 0
    if forge.exists():
        shutil.rmtree(forge)
    (forge / a.owner).mkdir(parents=True)
    t0 = time.perf_counter()
    names = repo_names(a.repos)
    jobs = [(str(forge), a.owner, n, i, a.commits, a.files) for i, n in enumerate(names, 1)]
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        for _ in pool.map(_gen_one, jobs, chunksize=4):
            pass
    secs = time.perf_counter() - t0
    want["generated_seconds"] = round(secs, 2)
    marker.write_text(json.dumps(want, indent=2) + "\n")
    print(f"forge: generated {a.repos} repos in {secs:.1f}s under {forge}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- ports

def cmd_free_port(_: argparse.Namespace) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
    return 0


def cmd_wait_port(a: argparse.Namespace) -> int:
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", a.port), timeout=0.5):
                return 0
        except OSError:
            time.sleep(0.05)
    print(f"nothing listening on 127.0.0.1:{a.port} after {a.timeout}s", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------- run

def cmd_run(a: argparse.Namespace) -> int:
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    stdout = open(a.stdout, "wb") if a.stdout else None
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, stdout=stdout)
    secs = time.perf_counter() - t0
    if stdout:
        stdout.close()
    # Linux: ru_maxrss is in KiB and is the peak of the largest process in the
    # waited-for tree (this wrapper has exactly one child: the command).
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rec = {"label": a.label, "seconds": round(secs, 4), "maxrss_kb": rss, "rc": rc,
           "loadavg_1m_before": round(load, 2)}
    with open(a.record, "a") as f:
        f.write(json.dumps(rec) + "\n")
    status = "" if rc == 0 else f"  (exit {rc})"
    print(f"  {a.label:<16} {secs:8.3f}s  peak {rss / 1024:7.1f} MiB{status}", file=sys.stderr)
    return rc


# --------------------------------------------------------------------------- report

def _median(recs: list[dict], label: str) -> float | None:
    xs = [r["seconds"] for r in recs if r["label"] == label and r["rc"] == 0]
    return statistics.median(xs) if xs else None


def cmd_report(a: argparse.Namespace) -> int:
    recs = [json.loads(l) for l in Path(a.record).read_text().splitlines() if l.strip()] \
        if Path(a.record).exists() else []
    repos = a.repos
    git_clone = _median(recs, "git_clone")
    git_bare = _median(recs, "git_bare_clone")
    cold = _median(recs, "cold_fetch")
    warm = _median(recs, "warm_fetch")
    plan = _median(recs, "plan")
    plan_rss = [r["maxrss_kb"] for r in recs if r["label"] == "plan" and r["rc"] == 0]
    rss_mb = round(max(plan_rss) / 1024, 1) if plan_rss else None

    def ratio(x: float | None, y: float | None) -> float | None:
        return round(x / y, 3) if x is not None and y else None

    def r2(x: float | None) -> float | None:
        return round(x, 3) if x is not None else None

    figures = {
        "git_clone_seconds": r2(git_clone),
        "git_bare_clone_seconds": r2(git_bare),
        "cold_fetch_seconds": r2(cold),
        "cold_ratio_convoy_over_git": ratio(cold, git_clone),
        "bare_clone_ratio": ratio(cold, git_bare),
        "warm_fetch_seconds": r2(warm),
        "warm_over_cold": ratio(warm, cold),
        "plan_seconds": r2(plan),
        "plan_repos_per_second": round(repos / plan, 1) if plan else None,
        "plan_peak_rss_mb": rss_mb,
    }
    # name -> (operator, target). bare_clone_ratio shares the cold target but is
    # the like-for-like comparison (convoy's cache is bare); both are reported.
    target_defs = {
        "cold_ratio_convoy_over_git": ("<=", 1.0),
        "bare_clone_ratio": ("<=", 1.0),
        "warm_over_cold": ("<=", 0.10),
        "plan_peak_rss_mb": ("<", 150.0),
    }
    targets = {}
    for name, (op, limit) in target_defs.items():
        v = figures[name]
        ok = None if v is None else (v <= limit if op == "<=" else v < limit)
        targets[name] = {"value": v, "op": op, "target": limit, "pass": ok}

    for name, v in figures.items():
        shown = "n/a" if v is None else str(v)
        line = f"{name} {shown}"
        if name in targets:
            t = targets[name]
            verdict = {True: "PASS", False: "MISS", None: "n/a"}[t["pass"]]
            line += f" (target {t['op']} {t['target']:g}) {verdict}"
        print(line)

    failed = sorted({r["label"] for r in recs if r["rc"] != 0})
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "repos": repos,
        "jobs": a.jobs,
        "runs": a.runs,
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "git_version": a.git_version,
        "convoy_bin": a.convoy_bin,
        "convoy_version": a.convoy_version,
        "baseline_only": a.baseline_only,
        "dropped_caches": a.dropped_caches,
        "forge_generated_seconds": a.gen_seconds,
        "cold_cache_repos": a.cold_cache_repos,
        "figures": figures,
        "targets": targets,
        "failed_steps": failed,
        "runs_raw": recs,
    }
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"results written to {a.out}", file=sys.stderr)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(prog="benchlib.py")
    sub = p.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("gen")
    g.add_argument("--forge", required=True)
    g.add_argument("--owner", default="acme")
    g.add_argument("--repos", type=int, default=200)
    g.add_argument("--commits", type=int, default=5)
    g.add_argument("--files", type=int, default=100)
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    g.add_argument("--regen", action="store_true")
    g.add_argument("--names", help="also write repo names, one a line, to this file")
    g.set_defaults(fn=cmd_gen)

    sub.add_parser("free-port").set_defaults(fn=cmd_free_port)

    w = sub.add_parser("wait-port")
    w.add_argument("port", type=int)
    w.add_argument("--timeout", type=float, default=10.0)
    w.set_defaults(fn=cmd_wait_port)

    r = sub.add_parser("run")
    r.add_argument("--record", required=True)
    r.add_argument("--label", required=True)
    r.add_argument("--stdout", help="send the command's stdout here (e.g. /dev/null)")
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    r.set_defaults(fn=cmd_run)

    o = sub.add_parser("report")
    o.add_argument("--record", required=True)
    o.add_argument("--out", required=True)
    o.add_argument("--repos", type=int, required=True)
    o.add_argument("--jobs", type=int, required=True)
    o.add_argument("--runs", type=int, required=True)
    o.add_argument("--git-version", default="")
    o.add_argument("--convoy-bin", default="")
    o.add_argument("--convoy-version", default="")
    o.add_argument("--baseline-only", action="store_true")
    o.add_argument("--dropped-caches", action="store_true")
    o.add_argument("--gen-seconds", type=float)
    o.add_argument("--cold-cache-repos", type=int)
    o.set_defaults(fn=cmd_report)

    a = p.parse_args()
    if a.cmd == "gen" and a.names:
        Path(a.names).write_text("".join(n + "\n" for n in repo_names(a.repos)))
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
