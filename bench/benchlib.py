#!/usr/bin/env python3
"""Helpers for bench/clone.sh and bench/audit.sh (python3 standard library only).

Subcommands:
  gen           generate the synthetic forge (bare repos via `git fast-import`)
  free-port     print a free TCP port on 127.0.0.1
  wait-port     wait until 127.0.0.1:PORT accepts connections
  run           run one command, append {label, seconds, maxrss_kb, rc} to a JSONL record
  report        read the record, print one line per figure, write results.json
  gen-audit     generate the audit forge (workflows; one fast-import for all repos)
  audit-report  check the audit reports, print the figures, write results-audit.json
  gen-deps      generate the dependency forge (Cargo workspaces and crates; one fast-import)
  deps-report   check the skew reports, print the figures, write results-deps.json
  gen-script    generate the script/replace forge (small repos with a word to replace)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
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
    time_out = None
    if a.time_v:
        # GNU time's -v report: peak RSS plus user and system CPU time of the command.
        fd, time_out = tempfile.mkstemp(prefix="bench-time-", suffix=".txt")
        os.close(fd)
        cmd = [a.time_v, "-v", "-o", time_out, *cmd]
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
    if time_out:
        tv = _time_v(time_out)
        os.unlink(time_out)
        rec.update(tv)  # time's own maxrss_kb (the command's) replaces getrusage's
        rec["rss_source"] = "time -v" if "maxrss_kb" in tv else "getrusage"
    for kv in a.meta or []:
        k, _, v = kv.partition("=")
        rec[k] = v
    with open(a.record, "a") as f:
        f.write(json.dumps(rec) + "\n")
    status = "" if rc == 0 else f"  (exit {rc})"
    print(f"  {a.label:<16} {secs:8.3f}s  peak {rec['maxrss_kb'] / 1024:7.1f} MiB{status}", file=sys.stderr)
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


# --------------------------------------------------------------------------- audit forge
#
# `gen-audit` builds the forge of bench/audit.sh: REPOS bare repositories, each with five
# GitHub Actions workflows (CI for its ecosystem, lint, a scheduled job, release, one extra),
# sometimes composite actions, in ~1 of 20 repositories one deliberately broken workflow, and a
# few ordinary files. Every repository is one root commit written by a single `git fast-import`
# into a pool repository; each forge repository is then a handful of files written directly
# (HEAD, config, refs/heads/main) whose objects/info/alternates points at the pool. One git
# process for the whole forge: 1,000 repositories take a few seconds.

AUDIT_FORGE_VERSION = 1
AUDIT_MARKER = ".bench-audit-forge.json"
AUDIT_POOL = ".pool.git"  # beside <owner>/, so the forge's listing never sees it


class Lit(str):
    """A literal block scalar (`run: |`)."""


class Raw(str):
    """Written as is where a value goes: quoted strings, aliases, `x@sha # v4`."""


class Flow(list):
    """A flow sequence: `[a, b]`."""


class FlowMap(dict):
    """A flow mapping: `{ a: b }`."""


class Anchor:
    """`key: &name` followed by the block node."""

    def __init__(self, name: str, node: object) -> None:
        self.name, self.node = name, node


class YStyle:
    def __init__(self, indent: int = 2, seq_indent: bool = True) -> None:
        self.indent, self.seq_indent = indent, seq_indent


def _inline(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Flow):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, FlowMap):
        return "{ " + ", ".join(f"{k}: {_inline(x)}" for k, x in v.items()) + " }" if v else "{}"
    return str(v)


def _block_map(d: dict, col: int, st: YStyle, out: list[str]) -> None:
    for k, v in d.items():
        head = " " * col + f"{k}:"
        if isinstance(v, Anchor):
            head += f" &{v.name}"
            v = v.node
        if isinstance(v, Lit):
            out.append(head + " |")
            out.extend((" " * (col + st.indent) + ln) if ln else "" for ln in v.rstrip("\n").split("\n"))
        elif isinstance(v, dict) and not isinstance(v, FlowMap):
            if v:
                out.append(head)
                _block_map(v, col + st.indent, st, out)
            else:
                out.append(head + " {}")
        elif isinstance(v, list) and not isinstance(v, Flow):
            out.append(head)
            _block_seq(v, col + (st.indent if st.seq_indent else 0), st, out)
        elif v is None:
            out.append(head)
        else:
            out.append(head + " " + _inline(v))


def _block_seq(items: list, col: int, st: YStyle, out: list[str]) -> None:
    for it in items:
        if isinstance(it, dict) and not isinstance(it, FlowMap) and it:
            sub: list[str] = []
            _block_map(it, col + 2, st, sub)
            sub[0] = " " * col + "- " + sub[0][col + 2:]
            out.extend(sub)
        else:
            out.append(" " * col + "- " + _inline(it))


def yaml_text(doc: dict, st: YStyle, header: str = "") -> str:
    out: list[str] = []
    _block_map(doc, 0, st, out)
    return header + "\n".join(out) + "\n"


# Action majors by how up to date a repository is (outdated-actions looks at these).
ACTION_AGES = {
    "current": {"actions/checkout": "v4", "actions/setup-node": "v4", "actions/setup-python": "v5",
                "actions/setup-go": "v5", "actions/cache": "v4", "actions/upload-artifact": "v4",
                "actions/download-artifact": "v4", "actions/github-script": "v7", "codeql": "v3"},
    "stale": {"actions/checkout": "v3", "actions/setup-node": "v3", "actions/setup-python": "v4",
              "actions/setup-go": "v4", "actions/cache": "v3", "actions/upload-artifact": "v3",
              "actions/download-artifact": "v3", "actions/github-script": "v6", "codeql": "v2"},
    "ancient": {"actions/checkout": "v2", "actions/setup-node": "v2", "actions/setup-python": "v2",
                "actions/setup-go": "v3", "actions/cache": "v2", "actions/upload-artifact": "v2",
                "actions/download-artifact": "v2", "actions/github-script": "v5", "codeql": "v1"},
}
BROKEN_EVERY = 20  # one repository in 20 has a broken workflow (50 of 1,000)
EXTRA_WORKFLOWS = ("codeql", "stale", "docs", "automerge", "labeler")
SCHEDULE_CRONS = (("*/5 * * * *", 15), ("*/15 * * * *", 10), ("0 3 * * *", 40), ("30 2 * * 1-5", 15),
                  ("0 */6 * * *", 10), ("0 3 * * *|0 15 * * *", 10))


class _Ctx:
    """One repository's habits: ecosystem, how current its actions are, style."""

    def __init__(self, idx: int, name: str, owner: str) -> None:
        rng = random.Random(1000 + idx)
        self.rng, self.idx, self.name, self.owner = rng, idx, name, owner
        self.eco = ECOSYSTEMS[idx % len(ECOSYSTEMS)]
        self.pm = NODE_PMS[(idx // len(ECOSYSTEMS)) % len(NODE_PMS)] if self.eco == "node" else None
        self.python_tool = rng.choice(("pip", "pip", "poetry", "uv")) if self.eco == "python" else None
        self.age = rng.choices(("current", "stale", "ancient"), weights=(60, 30, 10))[0]
        self.pin = rng.random() < 0.2
        self.perms = rng.random() < 0.45
        self.concurrency = rng.random() < 0.35
        self.timeouts = rng.random() < 0.5
        self.cache = rng.random() < 0.6
        self.anchors = rng.random() < 0.15
        self.st = rng.choices((YStyle(2, True), YStyle(2, False), YStyle(4, True), YStyle(3, True)),
                              weights=(55, 25, 15, 5))[0]

    def uses(self, action: str, tag: str | None = None) -> str:
        key = "codeql" if action.startswith("github/codeql-action/") else action
        tag = tag or ACTION_AGES[self.age].get(key, "v1")
        if self.pin:
            return Raw(f"{action}@{hashlib.sha1(f'{action}@{tag}'.encode()).hexdigest()} # {tag}")
        return f"{action}@{tag}"

    def timeout(self, job: dict, usual: int | None = None) -> dict:
        if self.timeouts:
            minutes = usual or self.rng.choice((10, 15, 20, 30, 45, 60))
            if self.rng.random() < 0.05:
                minutes = 360  # above the default maximum
            job["timeout-minutes"] = minutes
        return job

    def top(self, name: str, on: object, jobs: dict, perms: object = None, env: dict | None = None) -> dict:
        doc: dict = {"name": name, "on": on}
        if perms is not None:
            doc["permissions"] = perms
        elif self.perms:
            doc["permissions"] = {"contents": "read"}
        if self.concurrency:
            doc["concurrency"] = {"group": "${{ github.workflow }}-${{ github.ref }}",
                                  "cancel-in-progress": self.rng.choice((True, True, False))}
        if env:
            doc["env"] = env
        doc["jobs"] = jobs
        return doc


def _push_pr_on(ctx: _Ctx) -> object:
    r = ctx.rng.random()
    if r < 0.45:
        return {"push": {"branches": Flow(["main"])}, "pull_request": None}
    if r < 0.6:
        return {"push": {"branches": ["main", Raw("'release/**'")], "paths-ignore": [Raw("'docs/**'"), Raw("'**.md'")]},
                "pull_request": {"branches": Flow(["main"])}, "workflow_dispatch": None}
    if r < 0.8:
        return Flow(["push", "pull_request"])
    if r < 0.9:
        return ["push", "pull_request"]
    return "push"


def _setup_steps(ctx: _Ctx, cache: bool, version: str | None = None) -> list[dict]:
    """Toolchain (and dependency cache) steps for the repository's ecosystem."""
    eco, rng = ctx.eco, ctx.rng
    if eco == "rust":
        if ctx.age == "ancient":
            steps = [{"uses": ctx.uses("actions-rs/toolchain", "v1"),
                      "with": {"toolchain": version or "stable", "override": True}}]
        elif version:
            steps = [{"uses": ctx.uses("dtolnay/rust-toolchain", "master"), "with": {"toolchain": version}}]
        else:
            steps = [{"uses": ctx.uses("dtolnay/rust-toolchain", "stable")}]
        if cache:
            if rng.random() < 0.7:
                steps.append({"uses": ctx.uses("Swatinem/rust-cache", "v2")})
            else:
                steps.append({"name": "Cache cargo", "uses": ctx.uses("actions/cache"), "with": {
                    "path": Lit("~/.cargo/registry\n~/.cargo/git\ntarget\n"),
                    "key": "${{ runner.os }}-cargo-${{ hashFiles('**/Cargo.lock') }}"}})
        return steps
    if eco == "node":
        steps = []
        if ctx.pm == "pnpm":
            steps.append({"uses": ctx.uses("pnpm/action-setup", "v4"), "with": {"version": 9}})
        w: dict = {"node-version": version or rng.choice((Raw("'20'"), "20.x", "lts/*", Raw("22")))}
        if cache:
            w["cache"] = ctx.pm
        steps.append({"uses": ctx.uses("actions/setup-node"), "with": w})
        return steps
    if eco == "python":
        w = {"python-version": version or Raw(rng.choice(("'3.12'", '"3.11"', "'3.x'")))}
        if ctx.python_tool == "uv":
            w2: dict = {"python-version": w["python-version"]}
            if cache:
                w2["enable-cache"] = True
            return [{"uses": ctx.uses("astral-sh/setup-uv", "v5"), "with": w2}]
        if cache:
            w["cache"] = "poetry" if ctx.python_tool == "poetry" else "pip"
        steps = [{"uses": ctx.uses("actions/setup-python"), "with": w}]
        if ctx.python_tool == "poetry":
            steps.insert(0, {"run": "pipx install poetry"})
        return steps
    # go: setup-go v4+ caches on go.sum by itself, older ones do not
    w = {"go-version-file": "go.mod"} if version is None else {"go-version": version}
    if not cache and ctx.age == "current":
        w["cache"] = False
    steps = [{"uses": ctx.uses("actions/setup-go"), "with": w}]
    if cache and ctx.age != "current":
        steps.append({"uses": ctx.uses("actions/cache"), "with": {
            "path": Lit("~/go/pkg/mod\n~/.cache/go-build\n"),
            "key": "${{ runner.os }}-go-${{ hashFiles('**/go.sum') }}"}})
    return steps


def _build_steps(ctx: _Ctx) -> list[dict]:
    eco = ctx.eco
    if eco == "rust":
        return [{"name": "Build", "run": "cargo build --locked --all-targets"},
                {"name": "Test", "run": "cargo test --locked --workspace"}]
    if eco == "node":
        install = {"npm": "npm ci", "pnpm": "pnpm install --frozen-lockfile", "yarn": "yarn install --frozen-lockfile"}[ctx.pm or "npm"]
        run = {"npm": "npm", "pnpm": "pnpm", "yarn": "yarn"}[ctx.pm or "npm"]
        return [{"run": install}, {"run": f"{run} run build --if-present"}, {"name": "Test", "run": f"{run} test"}]
    if eco == "python":
        if ctx.python_tool == "poetry":
            return [{"run": "poetry install --no-interaction"}, {"name": "Test", "run": "poetry run pytest -q"}]
        if ctx.python_tool == "uv":
            return [{"run": "uv sync --locked"}, {"name": "Test", "run": "uv run pytest -q"}]
        return [{"name": "Install", "run": Lit("python -m pip install --upgrade pip\npip install -r requirements.txt\npip install -e .[test]\n")},
                {"name": "Test", "run": "pytest -q --junitxml=junit.xml"}]
    return [{"run": "go build ./..."}, {"name": "Test", "run": "go test -race -count=1 ./..."}]


def _matrix(ctx: _Ctx) -> tuple[str, Flow]:
    return {"rust": ("toolchain", Flow(["stable", "beta", Raw("'1.80'")])),
            "node": ("node", Flow([Raw("18"), Raw("20"), Raw("22")])),
            "python": ("python", Flow([Raw("'3.10'"), Raw("'3.11'"), Raw("'3.12'")])),
            "go": ("go", Flow([Raw("'1.22'"), Raw("'1.23'")]))}[ctx.eco]


def _wf_ci(ctx: _Ctx) -> tuple[str, dict]:
    rng = ctx.rng
    checkout = {"uses": ctx.uses("actions/checkout")}
    jobs: dict = {}
    if rng.random() < 0.4:
        key, values = _matrix(ctx)
        steps = [checkout, *_setup_steps(ctx, ctx.cache, "${{ matrix.%s }}" % key), *_build_steps(ctx)]
        job: dict = {"name": "test (${{ matrix.%s }})" % key, "runs-on": "ubuntu-latest"}
        job["strategy"] = {"fail-fast": False, "matrix": {key: values}}
    else:
        steps = [checkout, *_setup_steps(ctx, ctx.cache), *_build_steps(ctx)]
        job = {"runs-on": rng.choice(("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04"))}
    ctx.timeout(job)
    if ctx.anchors:
        job["steps"] = Anchor("test_steps", steps)
        jobs["test"] = job
        other = {"runs-on": rng.choice(("macos-latest", "windows-latest")), "steps": Raw("*test_steps")}
        jobs["test-" + other["runs-on"].split("-")[0]] = ctx.timeout(other)
    else:
        job["steps"] = steps
        jobs["test"] = job
    env = None
    if ctx.eco == "rust":
        env = FlowMap({"CARGO_TERM_COLOR": "always", "RUST_BACKTRACE": 1}) if rng.random() < 0.5 else {"CARGO_TERM_COLOR": "always"}
    elif ctx.eco == "go" and rng.random() < 0.5:
        env = {"GOFLAGS": "-mod=readonly"}
    name = rng.choice(("CI", "ci", "Build and test", "tests"))
    return "ci.yml", ctx.top(name, _push_pr_on(ctx), jobs, env=env)


def _wf_lint(ctx: _Ctx) -> tuple[str, dict]:
    rng = ctx.rng
    checkout = {"uses": ctx.uses("actions/checkout")}
    eco = ctx.eco
    if eco == "rust":
        steps = [checkout, {"uses": ctx.uses("dtolnay/rust-toolchain", "stable"), "with": {"components": "clippy, rustfmt"}},
                 {"run": "cargo fmt --all --check"}, {"run": "cargo clippy --all-targets --locked -- -D warnings"}]
    elif eco == "node":
        steps = [checkout, *_setup_steps(ctx, ctx.cache), {"run": "npm ci" if ctx.pm == "npm" else f"{ctx.pm} install --frozen-lockfile"},
                 {"run": f"{ctx.pm} run lint"}]
    elif eco == "python":
        steps = [checkout, {"uses": ctx.uses("astral-sh/ruff-action", "v3")}, {"run": "ruff format --check ."}]
    else:
        steps = [checkout, *_setup_steps(ctx, ctx.cache), {"uses": ctx.uses("golangci/golangci-lint-action", "v6"), "with": {"version": "latest"}}]
    job = ctx.timeout({"runs-on": "ubuntu-latest", "steps": steps}, rng.choice((5, 10, 15)))
    on = rng.choice(("pull_request", {"pull_request": {"types": Flow(["opened", "synchronize", "reopened"])}},
                     Flow(["pull_request", "merge_group"])))
    return rng.choice(("lint.yml", "lint.yaml", "style.yml")), ctx.top("lint", on, {"lint": job})


def _wf_legacy_duplicate(ctx: _Ctx, ci: dict) -> tuple[str, dict]:
    """An old copy of CI left beside the renamed one: duplicate-workflows' case."""
    job = ci["jobs"]["test"]
    steps = job["steps"].node if isinstance(job["steps"], Anchor) else job["steps"]
    jobs = {"build": {"runs-on": "ubuntu-latest", "steps": steps}}
    return "ci-legacy.yml", {"name": "CI (old)", "on": ci["on"], "jobs": jobs}


def _wf_scheduled(ctx: _Ctx) -> tuple[str, dict]:
    rng = ctx.rng
    crons = rng.choices([c for c, _ in SCHEDULE_CRONS], weights=[w for _, w in SCHEDULE_CRONS])[0].split("|")
    quote = rng.choice(("'%s'", '"%s"'))
    on = {"schedule": [{"cron": Raw(quote % c)} for c in crons], "workflow_dispatch": None}
    kind = rng.choice(("nightly", "health-check", "sync-labels", "cleanup"))
    checkout = {"uses": ctx.uses("actions/checkout")}
    if kind == "nightly":
        steps = [checkout, *_setup_steps(ctx, ctx.cache), *_build_steps(ctx)]
    elif kind == "health-check":
        steps = [{"name": "Probe", "run": Lit(f"curl -fsS --retry 3 https://{ctx.name}.acme.test/healthz\ncurl -fsS https://{ctx.name}.acme.test/readyz\n")}]
    elif kind == "sync-labels":
        steps = [checkout, {"uses": ctx.uses("actions/github-script"), "with": {"script": Lit(
            "const labels = require('./.github/labels.json')\nfor (const l of labels) {\n  await github.rest.issues.createLabel({ ...context.repo, ...l }).catch(() => {})\n}\n")}}]
    else:
        steps = [{"uses": ctx.uses("actions/github-script"), "with": {"script": Lit(
            "const runs = await github.paginate(github.rest.actions.listWorkflowRunsForRepo, { ...context.repo, status: 'completed' })\ncore.info(`${runs.length} runs`)\n")}}]
    job = ctx.timeout({"runs-on": "ubuntu-latest", "steps": steps})
    perms = {"issues": "write"} if kind == "sync-labels" else None
    return f"{kind}.yml", ctx.top(kind.replace("-", " "), on, {kind: job}, perms=perms)


def _wf_release(ctx: _Ctx) -> tuple[str, dict]:
    rng = ctx.rng
    eco = ctx.eco
    on = rng.choice(({"push": {"tags": Flow([Raw("'v*'")])}},
                     {"push": {"tags": [Raw('"v[0-9]+.[0-9]+.[0-9]+"')]}},
                     {"release": {"types": Flow(["published"])}}))
    checkout = {"uses": ctx.uses("actions/checkout")}
    build_cmd = {"rust": "cargo build --release --locked --target ${{ matrix.target }}",
                 "node": "npm pack", "python": "python -m build", "go": "go build -trimpath -o dist/ ./cmd/..."}[eco]
    build: dict = {"runs-on": "ubuntu-latest"}
    if eco == "rust":
        build["strategy"] = {"matrix": {"target": ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-apple-darwin"]}}
    build["steps"] = [checkout, *_setup_steps(ctx, False), {"name": "Build", "run": build_cmd},
                      {"uses": ctx.uses("actions/upload-artifact"), "with": {"name": "dist", "path": "dist/"}}]
    ctx.timeout(build)
    publish: dict = {"needs": "build", "runs-on": "ubuntu-latest"}
    if rng.random() < 0.5:
        publish["environment"] = "release"
    steps = [{"uses": ctx.uses("actions/download-artifact"), "with": {"name": "dist", "path": "dist/"}}]
    if ctx.age == "ancient":
        steps += [{"id": "release", "uses": ctx.uses("actions/create-release", "v1"),
                   "env": {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"},
                   "with": {"tag_name": "${{ github.ref }}", "release_name": "Release ${{ github.ref }}"}}]
    else:
        steps += [{"uses": ctx.uses("softprops/action-gh-release", "v2"), "with": {"files": "dist/*", "generate_release_notes": True}}]
    token = {"rust": "CARGO_REGISTRY_TOKEN", "node": "NODE_AUTH_TOKEN", "python": "PYPI_TOKEN", "go": "GORELEASER_KEY"}[eco]
    publish_cmd = {"rust": "cargo publish --locked", "node": "npm publish --provenance --access public",
                   "python": "twine upload dist/*", "go": "echo goreleaser publishes on tag"}[eco]
    steps.append({"name": "Publish", "run": publish_cmd, "env": {token: "${{ secrets.%s }}" % token}})
    publish["steps"] = steps
    ctx.timeout(publish, 20)
    perms = rng.choice(({"contents": "write"}, {"contents": "write", "id-token": "write"}, "write-all"))
    return "release.yml", ctx.top("Release", on, {"build": build, "publish": publish}, perms=perms)


def _wf_extra(ctx: _Ctx) -> tuple[str, dict]:
    rng = ctx.rng
    kind = EXTRA_WORKFLOWS[(ctx.idx // 4) % len(EXTRA_WORKFLOWS)]
    checkout = {"uses": ctx.uses("actions/checkout")}
    if kind == "codeql":
        lang = {"rust": "rust", "node": "javascript-typescript", "python": "python", "go": "go"}[ctx.eco]
        on = {"push": {"branches": Flow(["main"])}, "pull_request": {"branches": Flow(["main"])},
              "schedule": [{"cron": Raw("'%d %d * * %d'" % (rng.randrange(60), rng.randrange(24), rng.randrange(7)))}]}
        job = {"runs-on": "ubuntu-latest", "permissions": {"security-events": "write", "contents": "read"},
               "steps": [checkout, {"uses": ctx.uses("github/codeql-action/init"), "with": {"languages": lang}},
                         {"uses": ctx.uses("github/codeql-action/autobuild")},
                         {"uses": ctx.uses("github/codeql-action/analyze"), "with": {"category": "/language:" + lang}}]}
        return "codeql.yml", ctx.top("CodeQL", on, {"analyze": ctx.timeout(job, 30)})
    if kind == "stale":
        on = {"schedule": [{"cron": Raw("'0 0 * * *'")}]}
        job = {"runs-on": "ubuntu-latest", "steps": [{"uses": ctx.uses("actions/stale", "v9"), "with": {
            "days-before-stale": 60, "stale-issue-message": Raw("'This issue has had no activity for 60 days.'")}}]}
        return "stale.yml", ctx.top("Close stale issues", on, {"stale": ctx.timeout(job, 5)},
                                    perms={"issues": "write", "pull-requests": "write"})
    if kind == "docs":
        on = {"push": {"branches": Flow(["main"]), "paths": Flow([Raw("'docs/**'")])}, "workflow_dispatch": None}
        build = {"runs-on": "ubuntu-latest", "steps": [checkout, {"run": "make docs"},
                 {"uses": ctx.uses("actions/upload-pages-artifact", "v3"), "with": {"path": "site/"}}]}
        deploy = {"needs": "build", "runs-on": "ubuntu-latest",
                  "environment": {"name": "github-pages", "url": "${{ steps.deployment.outputs.page_url }}"},
                  "steps": [{"id": "deployment", "uses": ctx.uses("actions/deploy-pages", "v4")}]}
        return "docs.yml", ctx.top("docs", on, {"build": ctx.timeout(build), "deploy": deploy},
                                   perms={"pages": "write", "id-token": "write", "contents": "read"})
    if kind == "automerge":
        job = {"runs-on": "ubuntu-latest", "if": "github.actor == 'dependabot[bot]'",
               "steps": [{"uses": ctx.uses("actions/github-script"), "with": {"script": Lit(
                   "await github.rest.pulls.merge({ ...context.repo, pull_number: context.issue.number, merge_method: 'squash' })\n")}}]}
        return "automerge.yml", ctx.top("Dependabot auto-merge", "pull_request_target", {"automerge": job},
                                        perms={"contents": "write", "pull-requests": "write"})
    job = {"runs-on": "ubuntu-latest", "steps": [{"uses": ctx.uses("actions/labeler", "v5"),
                                                  "with": {"sync-labels": True}}]}
    return "labeler.yaml", ctx.top("Labeler", {"pull_request_target": None}, {"label": job},
                                   perms={"contents": "read", "pull-requests": "write"})


def _composite_action(ctx: _Ctx, which: int) -> tuple[str, str]:
    rng = ctx.rng
    name = ("setup", "build-cache", "notify")[which]
    if name == "notify":
        steps = [{"name": "Post to chat", "shell": "bash", "env": {"WEBHOOK": "${{ inputs.webhook }}"},
                  "run": Lit('curl -fsS -X POST -H "Content-Type: application/json" \\\n  -d "{\\"text\\": \\"${{ github.repository }}: ${{ job.status }}\\"}" "$WEBHOOK"\n')}]
        inputs = {"webhook": {"description": "Chat webhook URL", "required": True}}
    else:
        steps = [*_setup_steps(ctx, name == "build-cache" or ctx.cache),
                 {"name": "Show versions", "shell": "bash", "run": {"rust": "cargo --version", "node": "node --version",
                                                                     "python": "python --version", "go": "go version"}[ctx.eco]}]
        if rng.random() < 0.3:
            del steps[-1]["shell"]  # composite run steps need a shell: a mistake seen in the wild
        inputs = {"version": {"description": "Toolchain version", "required": False, "default": Raw("'stable'")}}
    doc = {"name": f"{name} ({ctx.eco})", "description": Raw(f"'Shared {name} steps for {ctx.owner} repositories'"),
           "inputs": inputs, "runs": {"using": "composite", "steps": steps}}
    fname = "action.yaml" if rng.random() < 0.2 else "action.yml"
    return f".github/actions/{name}/{fname}", yaml_text(doc, ctx.st)


def _break(text: str, method: int) -> str:
    """Make a workflow YAML that no parser accepts (each method is a mistake seen in real repos)."""
    lines = text.split("\n")
    if method == 0:  # a tab where indentation is expected
        i = next(i for i, ln in enumerate(lines) if ln.startswith("jobs:")) + 1
        lines[i] = "\t" + lines[i].lstrip(" ")
    elif method == 1:  # unclosed flow sequence
        i = next(i for i, ln in enumerate(lines) if "runs-on:" in ln)
        lines[i] = lines[i].split("runs-on:")[0] + "runs-on: [ubuntu-latest, self-hosted"
    elif method == 2:  # unterminated double-quoted name
        i = next(i for i, ln in enumerate(lines) if ln.startswith("name: "))
        lines[i] = lines[i].replace("name: ", 'name: "', 1)
    elif method == 3:  # a merge conflict left in
        i = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("- ") and i > 5)
        lines[i:i] = ["<<<<<<< HEAD", lines[i], "=======", ">>>>>>> origin/main"]
    else:  # `key: value: value`
        i = next(i for i, ln in enumerate(lines) if ln.startswith("name: "))
        lines[i] += ": nightly"
    return "\n".join(lines)


def _readme(ctx: _Ctx) -> str:
    return (f"# {ctx.name}\n\n{ctx.owner}'s {ctx.eco} service. CI runs on every push; releases are cut from tags.\n\n"
            + _prose(ctx.rng, 600, "Development") + "\n")


def _manifest(ctx: _Ctx) -> tuple[str, str]:
    if ctx.eco == "rust":
        return "Cargo.toml", f'[package]\nname = "{ctx.name}"\nversion = "0.1.0"\nedition = "2021"\n'
    if ctx.eco == "node":
        return "package.json", json.dumps({"name": f"@{ctx.owner}/{ctx.name}", "version": "1.0.0",
                                           "scripts": {"test": "node --test", "lint": "eslint ."}}, indent=2) + "\n"
    if ctx.eco == "python":
        return "pyproject.toml", f'[project]\nname = "{ctx.name}"\nversion = "0.1.0"\n'
    return "go.mod", f"module example.test/{ctx.owner}/{ctx.name}\n\ngo 1.22\n"


def audit_repo_files(idx: int, owner: str, name: str) -> tuple[dict[str, str], dict]:
    """The files of repository number `idx` (1-based) and what the audit should see in them."""
    ctx = _Ctx(idx, name, owner)
    rng = ctx.rng
    workflows = [_wf_ci(ctx)]
    if rng.random() < 0.08:
        workflows.append(_wf_legacy_duplicate(ctx, workflows[0][1]))
    else:
        workflows.append(_wf_lint(ctx))
    workflows += [_wf_scheduled(ctx), _wf_release(ctx), _wf_extra(ctx)]
    files: dict[str, str] = {}
    for fname, doc in workflows:
        header = ""
        if rng.random() < 0.3:
            header = f"# {doc['name']}: maintained by the platform team.\n# See https://docs.acme.test/ci\n"
        if rng.random() < 0.1:
            header += "---\n"
        files[f".github/workflows/{fname}"] = yaml_text(doc, ctx.st, header)
    broken = None
    if idx % BROKEN_EVERY == BROKEN_EVERY // 3:
        path = f".github/workflows/{rng.choice(workflows)[0]}"
        files[path] = _break(files[path], (idx // BROKEN_EVERY) % 5)
        broken = path
    n_actions = 0
    r = rng.random()
    if r < 0.15:
        n_actions = 1 if r < 0.12 else 2
    for which in range(n_actions):
        path, text = _composite_action(ctx, which if n_actions == 1 else which + 1)
        files[path] = text
    files["README.md"] = _readme(ctx)
    mpath, mtext = _manifest(ctx)
    files[mpath] = mtext
    files[".github/workflows/README.md"] = "Workflows of this repository; see ci.yml first.\n"  # not audited
    files[".github/dependabot.yml"] = ("version: 2\nupdates:\n  - package-ecosystem: github-actions\n"
                                       "    directory: /\n    schedule:\n      interval: weekly\n")  # not audited
    audited = sum(1 for p in files if p.startswith(".github/workflows/") and p.endswith((".yml", ".yaml"))
                  or p.rsplit("/", 1)[-1] in ("action.yml", "action.yaml"))
    return files, {"audited_files": audited, "broken": broken, "actions": n_actions, "eco": ctx.eco}


def audit_repo_names(n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"svc-{i:0{width}d}" for i in range(1, n + 1)]


def _write_bare_repo(git_dir: Path, pool_objects: Path, head_sha: str) -> None:
    """A bare repository by hand: HEAD, config, refs, and objects borrowed from the pool."""
    (git_dir / "objects" / "info").mkdir(parents=True)
    (git_dir / "objects" / "pack").mkdir()
    (git_dir / "refs" / "heads").mkdir(parents=True)
    (git_dir / "refs" / "tags").mkdir()
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n")
    (git_dir / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n")
    (git_dir / "objects" / "info" / "alternates").write_text(f"{pool_objects}\n")
    (git_dir / "refs" / "heads" / "main").write_text(head_sha + "\n")


def _forge_is_current(forge: Path, marker: Path, want: dict, regen: bool) -> bool:
    """Whether the forge under `forge` was generated with `want` (and may be reused)."""
    if not regen and marker.exists():
        try:
            have = json.loads(marker.read_text())
        except ValueError:
            have = {}
        if {k: have.get(k) for k in want} == want:
            print(f"forge: reusing {forge} ({want['repos']} repos; --regen to rebuild)", file=sys.stderr)
            return True
    return False


def _import_pooled_forge(forge: Path, owner: str, names: list, files_for, label: str) -> bool:
    """(Re)create `forge`: one commit per repository, written by one `git fast-import` into a
    shared object pool, then one bare repository per name borrowing the pool's objects."""
    if forge.exists():
        shutil.rmtree(forge)
    (forge / owner).mkdir(parents=True)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    pool = forge / AUDIT_POOL
    subprocess.run(["git", "init", "--bare", "--quiet", "--initial-branch=main", str(pool)], check=True, env=env)
    proc = subprocess.Popen(["git", f"--git-dir={pool}", "fast-import", "--quiet", "--done",
                             f"--export-marks={forge / '.marks'}"], stdin=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    when = 1_735_689_600
    for i, name in enumerate(names, 1):
        files = files_for(i, name)
        full = f"{owner}/{name}"
        who, email = AUTHORS[i % len(AUTHORS)]
        chunk = [f"commit refs/heads/{name}\nmark :{i}\n".encode(),
                 f"author {who} <{email}> {when + i * 60} +0000\n".encode(),
                 f"committer {who} <{email}> {when + i * 60} +0000\n".encode(),
                 _data(f"Initial import of {full}".encode())]
        for path in sorted(files):
            chunk.append(f"M 100644 inline {path}\n".encode())
            chunk.append(_data(files[path].encode()))
        chunk.append(b"\n")
        proc.stdin.write(b"".join(chunk))
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        print(f"{label}: git fast-import failed", file=sys.stderr)
        return False
    marks = dict(line.split() for line in (forge / ".marks").read_text().splitlines() if line.strip())
    for i, name in enumerate(names, 1):
        _write_bare_repo(forge / owner / f"{name}.git", pool / "objects", marks[f":{i}"])
    return True


def cmd_gen_audit(a: argparse.Namespace) -> int:
    forge = Path(a.forge).resolve()
    marker = forge / AUDIT_MARKER
    want = {"version": AUDIT_FORGE_VERSION, "owner": a.owner, "repos": a.repos}
    if _forge_is_current(forge, marker, want, a.regen):
        return 0
    t0 = time.perf_counter()
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    names = audit_repo_names(a.repos)
    expect: dict = {"repos": [], "files": 0, "broken": {}, "actions": 0, "ecosystems": {}}

    def files_for(i: int, name: str) -> dict:
        files, info = audit_repo_files(i, a.owner, name)
        full = f"{a.owner}/{name}"
        expect["repos"].append(full)
        expect["files"] += info["audited_files"]
        expect["actions"] += info["actions"]
        expect["ecosystems"][info["eco"]] = expect["ecosystems"].get(info["eco"], 0) + 1
        if info["broken"]:
            expect["broken"][full] = info["broken"]
        return files

    if not _import_pooled_forge(forge, a.owner, names, files_for, "gen-audit"):
        return 1
    # Spot check: the first repository reads as a repository of its own.
    first = forge / a.owner / f"{names[0]}.git"
    out = subprocess.run(["git", f"--git-dir={first}", "ls-tree", "-r", "--name-only", "HEAD"],
                         check=True, env=env, capture_output=True, text=True).stdout
    if ".github/workflows/ci.yml" not in out.split():
        print(f"gen-audit: {first} does not read back:\n{out}", file=sys.stderr)
        return 1
    secs = time.perf_counter() - t0
    expect["broken_repos"] = len(expect["broken"])
    (forge / "expect.json").write_text(json.dumps(expect, indent=1) + "\n")
    want["generated_seconds"] = round(secs, 2)
    want["files"] = expect["files"]
    marker.write_text(json.dumps(want, indent=2) + "\n")
    print(f"forge: generated {a.repos} repos ({expect['files']} workflow/action files, "
          f"{len(expect['broken'])} broken) in {secs:.1f}s under {forge}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- audit report

def _time_v(path: str) -> dict:
    """The figures of a `/usr/bin/time -v -o PATH` report that matter here."""
    out: dict = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.strip().rpartition(": ")
        try:
            if key == "Maximum resident set size (kbytes)":
                out["maxrss_kb"] = int(value)
            elif key == "User time (seconds)":
                out["user_seconds"] = float(value)
            elif key == "System time (seconds)":
                out["sys_seconds"] = float(value)
            elif key == "Percent of CPU this job got":
                out["cpu_percent"] = int(value.rstrip("%"))
        except ValueError:
            pass
    return out


def _load_record(path: str) -> list[dict]:
    p = Path(path)
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []


def cmd_audit_report(a: argparse.Namespace) -> int:
    recs = _load_record(a.record)
    expect = json.loads(Path(a.expect).read_text())
    want_repos = len(expect["repos"])
    configs = [c.split("=", 1) for c in a.configs]  # label=jobs-as-shown
    problems: list[str] = []

    # Every run's report: parse it, hash it, count what it holds.
    digests: dict[str, str] = {}
    reference = None
    reference_path = None
    for r in recs:
        if not r["label"].startswith("audit") or not r.get("report"):
            continue
        path = Path(r["report"])
        r["report"] = path.name  # the work folder is usually gone by the time anyone reads this
        if r["rc"] != 0 or not path.exists():
            continue
        data = path.read_bytes()
        digests[str(path)] = hashlib.sha256(data).hexdigest()
        try:
            rep = json.loads(data)
        except ValueError as e:
            problems.append(f"{path.name}: the report is not JSON: {e}")
            continue
        # The envelope (schema version 2): findings are `results`, the file count is in `summary`.
        r["files"] = rep.get("summary", {}).get("files")
        r["findings"] = len(rep.get("results", []))
        r["repos"] = len(rep.get("repos", []))
        if reference is None:
            reference, reference_path = rep, path

    checks: dict = {"report_parses": reference is not None}
    summary: dict = {}
    if reference is None:
        problems.append("no audit run produced a report")
    else:
        repos = reference.get("repos", [])
        errors = reference.get("errors", [])
        findings = reference.get("results", [])
        invalid = {f["repo"]: f["path"] for f in findings if f.get("rule") == "invalid-workflow"}
        by_rule: dict[str, int] = {}
        by_sev: dict[str, int] = {}
        for f in findings:
            by_rule[f["rule"]] = by_rule.get(f["rule"], 0) + 1
            by_sev[f["severity"]] = by_sev.get(f["severity"], 0) + 1
        missed = sorted(r for r, p in expect["broken"].items() if invalid.get(r) != p)
        unexpected = sorted(r for r in invalid if r not in expect["broken"])
        checks.update({
            "repos_in_report": len(repos),
            "repos_expected": want_repos,
            "repos_match": sorted(repos) == sorted(expect["repos"]),
            "errors": len(errors),
            "files_in_report": reference.get("summary", {}).get("files"),
            "files_expected": expect["files"],
            "files_match": reference.get("summary", {}).get("files") == expect["files"],
            "broken_repos": len(expect["broken"]),
            "broken_repos_flagged_invalid": len(expect["broken"]) - len(missed),
            "broken_repos_missed": missed[:20],
            "invalid_workflow_in_other_repos": unexpected[:20],
            "reports_identical_across_runs": len(set(digests.values())) <= 1,
            "reports_compared": len(digests),
        })
        summary = {"files": reference.get("summary", {}).get("files"), "findings": len(findings),
                   "findings_by_severity": dict(sorted(by_sev.items())),
                   "findings_by_rule": dict(sorted(by_rule.items())),
                   "repos_with_findings": len({f["repo"] for f in findings}),
                   "report_bytes": reference_path.stat().st_size if reference_path else None}
        if not checks["repos_match"]:
            problems.append(f"the report lists {len(repos)} repositories, expected {want_repos}")
        if errors:
            problems.append(f"{len(errors)} repositories could not be audited, e.g. {errors[0]}")
        if not checks["files_match"]:
            problems.append(f"the report counts {reference.get('files')} files, the forge has {expect['files']}")
        if missed:
            problems.append(f"{len(missed)} broken workflows not reported as invalid-workflow, e.g. {missed[:3]}")
        if not checks["reports_identical_across_runs"]:
            problems.append("the reports differ between runs (job counts or repeats)")

    files = summary.get("files")
    per_config: dict = {}
    for label, jobs in configs:
        ok = [r for r in recs if r["label"] == label and r["rc"] == 0]
        secs = statistics.median(r["seconds"] for r in ok) if ok else None

        def med(key: str, ok: list = ok) -> float | None:
            xs = [r[key] for r in ok if r.get(key) is not None]
            return round(statistics.median(xs), 3) if xs else None

        rss = max((r["maxrss_kb"] for r in ok), default=None)
        user, sys_ = med("user_seconds"), med("sys_seconds")
        per_config[label] = {
            "jobs": jobs,
            "runs_ok": len(ok),
            "runs_failed": sum(1 for r in recs if r["label"] == label and r["rc"] != 0),
            "seconds": round(secs, 3) if secs is not None else None,
            "seconds_min": round(min(r["seconds"] for r in ok), 3) if ok else None,
            "seconds_max": round(max(r["seconds"] for r in ok), 3) if ok else None,
            "files_per_second": round(files / secs, 1) if secs and files else None,
            "repos_per_second": round(want_repos / secs, 1) if secs else None,
            "peak_rss_mb": round(rss / 1024, 1) if rss else None,
            "user_seconds": user,
            "sys_seconds": sys_,
            "cpu_seconds": round(user + sys_, 3) if user is not None and sys_ is not None else None,
            "meets_target": (secs < a.target_seconds) if secs is not None else None,
        }
    main_cfg = per_config.get(configs[0][0], {}) if configs else {}
    fetch = [r for r in recs if r["label"] == "fetch"]
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "repos": want_repos,
        "workflows_per_repo": 5,
        "runs": a.runs,
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "git_version": a.git_version,
        "convoy_bin": a.convoy_bin,
        "convoy_version": a.convoy_version,
        "command": a.command,
        "timing": a.timing,
        "forge": {"generated_seconds": a.gen_seconds, "files": expect["files"], "composite_actions": expect["actions"],
                  "broken_repos": len(expect["broken"]), "ecosystems": expect.get("ecosystems")},
        "fetch_seconds": fetch[-1]["seconds"] if fetch else None,
        "fetch_cache": fetch[-1].get("cache") if fetch else None,  # cold: filled an empty cache
        "report": summary,
        "checks": checks,
        "configs": per_config,
        "target": {"what": f"whole audit ({configs[0][0] if configs else '?'}) under {a.target_seconds:g} s",
                   "seconds": main_cfg.get("seconds"), "target_seconds": a.target_seconds,
                   "pass": main_cfg.get("meets_target"),
                   "all_configs_pass": all(c["meets_target"] for c in per_config.values()) if per_config else None},
        "problems": problems,
        "failed_runs": sorted({r["label"] for r in recs if r["rc"] != 0}),
        "runs_raw": recs,
    }
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")

    def show(x: object) -> str:
        return "n/a" if x is None else str(x)
    print(f"audit_repos {show(checks.get('repos_in_report'))} (expected {want_repos})")
    print(f"audit_files {show(files)} (expected {expect['files']})")
    print(f"audit_findings {show(summary.get('findings'))} "
          f"{' '.join(f'{k}={v}' for k, v in summary.get('findings_by_severity', {}).items())}")
    print(f"audit_errors {show(checks.get('errors'))}")
    print(f"broken_repos_flagged {show(checks.get('broken_repos_flagged_invalid'))}/{len(expect['broken'])}")
    print(f"fetch_seconds {show(out['fetch_seconds'])} ({show(out['fetch_cache'])} cache; not part of the audit figures)")
    for label, c in per_config.items():
        verdict = {True: "PASS", False: "MISS", None: "n/a"}[c["meets_target"]]
        print(f"{label}_seconds {show(c['seconds'])} (jobs {c['jobs']}; target < {a.target_seconds:g}) {verdict}")
        print(f"{label}_files_per_second {show(c['files_per_second'])}")
        print(f"{label}_repos_per_second {show(c['repos_per_second'])}")
        print(f"{label}_peak_rss_mb {show(c['peak_rss_mb'])}")
        print(f"{label}_cpu_seconds {show(c['cpu_seconds'])}")
    verdict = {True: "PASS", False: "MISS", None: "n/a"}[out["target"]["pass"]]
    print(f"target {out['target']['what']}: {show(out['target']['seconds'])} s {verdict}")
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    print(f"results written to {a.out}", file=sys.stderr)
    return 1 if problems else 0


# --------------------------------------------------------------------------- deps forge

DEPS_FORGE_VERSION = 1
DEPS_MARKER = ".bench-deps-forge.json"
DEPS_BROKEN_EVERY = 50  # one repository in 50 has one manifest that does not parse

# Crates and the requirements an org accumulates over the years, oldest first; several lists
# cross semver-incompatible boundaries (0.x minors, majors), as real orgs do.
DEPS_CRATES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("serde", ("1.0.130", "1.0.152", "1.0.190", "1.0.210", "1.0.228", "1"), ("derive",)),
    ("serde_json", ("1.0.70", "1.0.100", "1.0.120", "1"), ()),
    ("tokio", ("1.20", "1.28", "1.35", "1.40", "1.47"), ("full", "macros", "rt-multi-thread")),
    ("anyhow", ("1.0.50", "1.0.75", "1.0.98", "1"), ()),
    ("thiserror", ("1.0.30", "1.0.50", "1", "2", "2.0.12"), ()),
    ("clap", ("2.33", "3.2", "4.4", "4.5"), ("derive", "env")),
    ("rand", ("0.7", "0.8", "0.8.5", "0.9"), ()),
    ("log", ("0.4.14", "0.4.20", "0.4"), ()),
    ("tracing", ("0.1.37", "0.1.40", "0.1"), ()),
    ("tracing-subscriber", ("0.2", "0.3", "0.3.18"), ("env-filter", "json")),
    ("regex", ("1.5", "1.9", "1.10", "1"), ()),
    ("reqwest", ("0.10", "0.11", "0.12"), ("json", "rustls-tls")),
    ("hyper", ("0.13", "0.14", "1", "1.4"), ("full",)),
    ("axum", ("0.5", "0.6", "0.7", "0.8"), ("macros",)),
    ("chrono", ("0.4.19", "0.4.31", "0.4.38", "0.4"), ("serde",)),
    ("uuid", ("0.8", "1", "1.8"), ("v4", "serde")),
    ("itertools", ("0.10", "0.11", "0.12", "0.13", "0.14"), ()),
    ("once_cell", ("1.8", "1.17", "1.19", "1"), ()),
    ("bytes", ("1.1", "1.5", "1"), ()),
    ("futures", ("0.3.21", "0.3.30", "0.3"), ()),
    ("parking_lot", ("0.11", "0.12"), ()),
    ("base64", ("0.13", "0.21", "0.22"), ()),
    ("sha2", ("0.9", "0.10"), ()),
    ("toml", ("0.5", "0.7", "0.8"), ()),
    ("prost", ("0.11", "0.12", "0.13"), ()),
    ("tonic", ("0.8", "0.10", "0.12"), ()),
    ("sqlx", ("0.6", "0.7", "0.8"), ("postgres", "runtime-tokio")),
    ("dashmap", ("5", "5.5", "6"), ()),
    ("indexmap", ("1.9", "2", "2.2"), ("serde",)),
    ("url", ("2.2", "2.5", "2"), ()),
    ("time", ("0.3.17", "0.3.36", "0.3"), ("formatting",)),
    ("semver", ("1.0.14", "1"), ()),
    ("walkdir", ("2.3", "2"), ()),
    ("env_logger", ("0.9", "0.10", "0.11"), ()),
    ("async-trait", ("0.1.60", "0.1.80", "0.1"), ()),
    ("rayon", ("1.5", "1.8", "1"), ()),
    ("crossbeam-channel", ("0.5.6", "0.5"), ()),
    ("hashbrown", ("0.12", "0.14", "0.15"), ()),
    ("syn", ("1", "2", "2.0.60"), ("full",)),
    ("quote", ("1.0.20", "1"), ()),
    ("proc-macro2", ("1.0.50", "1"), ()),
    ("num_cpus", ("1.13", "1"), ()),
    ("humantime", ("2.1", "2"), ()),
    ("http", ("0.2", "1", "1.1"), ()),
    ("tower", ("0.4", "0.5"), ("util",)),
    ("redis", ("0.23", "0.25", "0.27"), ("tokio-comp",)),
    ("rustls", ("0.21", "0.22", "0.23"), ()),
    ("ring", ("0.16", "0.17"), ()),
)
DEPS_DEV = (("tempfile", ("3.3", "3.8", "3")), ("proptest", ("1.0", "1.4", "1")), ("insta", ("1.26", "1.34", "1")),
            ("criterion", ("0.3", "0.4", "0.5")), ("pretty_assertions", ("1.3", "1")), ("assert_cmd", ("2.0", "2")),
            ("mockall", ("0.11", "0.12", "0.13")), ("wiremock", ("0.5", "0.6")))
DEPS_BUILD = (("cc", ("1.0.73", "1.0.83", "1")), ("prost-build", ("0.11", "0.12", "0.13")),
              ("tonic-build", ("0.8", "0.10", "0.12")), ("built", ("0.6", "0.7")))
DEPS_TARGET = (("cfg(unix)", "libc", ("0.2.126", "0.2.150", "0.2")), ("cfg(unix)", "nix", ("0.26", "0.27", "0.29")),
               ("cfg(windows)", "windows-sys", ("0.48", "0.52", "0.59")), ("cfg(windows)", "winapi", ("0.3.9", "0.3")),
               ('cfg(target_os = "linux")', "procfs", ("0.15", "0.16", "0.17")))


def _pick_req(rng: random.Random, reqs: tuple[str, ...], era: float) -> str:
    """Older repositories (low `era`) lean to older requirements."""
    i = int(era * len(reqs) + rng.uniform(-0.8, 0.8))
    return reqs[max(0, min(len(reqs) - 1, i))]


def _toml_key(key: str) -> str:
    return key if all(c.isalnum() or c in "-_" for c in key) else "'" + key + "'"


def _entry_text(key: str, spec: dict, rng: random.Random) -> str:
    """One dependency as `key = ...`: a string, an inline table, or `key.workspace = true`."""
    if spec.get("workspace"):
        rest = {k: v for k, v in spec.items() if k in ("features", "optional")}
        if not rest and rng.random() < 0.5:
            return f"{key}.workspace = true"
        spec = {"workspace": True, **rest}
    simple = set(spec) == {"version"}
    if simple and rng.random() < 0.75:
        return f'{key} = "{spec["version"]}"'
    parts = []
    for k in ("workspace", "package", "version", "path", "git", "branch", "tag", "rev", "registry",
              "default-features", "features", "optional"):
        if k not in spec:
            continue
        v = spec[k]
        if isinstance(v, bool):
            parts.append(f"{k} = {'true' if v else 'false'}")
        elif isinstance(v, (list, tuple)):
            parts.append(f"{k} = [" + ", ".join(f'"{x}"' for x in v) + "]")
        else:
            parts.append(f'{k} = "{v}"')
    return f"{key} = {{ " + ", ".join(parts) + " }"


def _table_text(header: str, entries: list[tuple[str, dict]], rng: random.Random) -> str:
    """A dependency table; about one entry in ten in the `[header.key]` table form."""
    inline, tables = [], []
    for key, spec in entries:
        if not spec.get("workspace") and "version" in spec and len(spec) > 1 and rng.random() < 0.2:
            body = "".join(f"{k} = " + ("true" if v is True else "false" if v is False else
                                        "[" + ", ".join(f'"{x}"' for x in v) + "]" if isinstance(v, (list, tuple))
                                        else f'"{v}"') + "\n" for k, v in spec.items())
            tables.append(f"\n[{header}.{_toml_key(key)}]\n{body}")
        else:
            inline.append(_entry_text(key, spec, rng) + "\n")
    if not inline and not tables:
        return ""
    return f"\n[{header}]\n" + "".join(inline) + "".join(tables)


def _registry_deps(rng: random.Random, era: float, n: int, ws_deps: dict | None = None) -> list[tuple[str, dict]]:
    out = []
    for name, reqs, feats in rng.sample(DEPS_CRATES, k=min(n, len(DEPS_CRATES))):
        if ws_deps is not None and name in ws_deps and rng.random() < 0.9:
            spec: dict = {"workspace": True}
            if rng.random() < 0.08:
                spec["optional"] = True
            out.append((ws_deps[name][0], spec))
            continue
        spec = {"version": _pick_req(rng, reqs, era)}
        if feats and rng.random() < 0.35:
            spec["features"] = list(rng.sample(feats, k=rng.randint(1, len(feats))))
        if rng.random() < 0.05:
            spec["default-features"] = False
        if rng.random() < 0.08:
            spec["optional"] = True
        key = name
        if rng.random() < 0.04:
            spec["package"] = name
            key = name.replace("-", "_") + "1"
        out.append((key, spec))
    return out


def _crate_manifest(rng: random.Random, name: str, era: float, version_line: str,
                    ws_deps: dict | None, paths: list[str], extra_package: str = "") -> str:
    """A package's manifest: dependencies, dev, build and target tables in the usual mixes."""
    edition = rng.choice(["2018", "2021", "2021", "2024"])
    text = f'[package]\nname = "{name}"\n{version_line}edition = "{edition}"\n'
    text += extra_package
    if rng.random() < 0.2:
        text += 'description = "Part of the acme platform."\nlicense = "MIT OR Apache-2.0"\n'
    deps = _registry_deps(rng, era, rng.randint(4, 14), ws_deps)
    for p in paths:
        deps.append((p.rsplit("/", 1)[-1], {"path": p} if rng.random() < 0.6 else {"path": p, "version": "0.1"}))
    if rng.random() < 0.03:
        deps.append(("edge-utils", {"git": "https://github.com/acme/edge-utils",
                                    rng.choice(["branch", "tag", "rev"]): rng.choice(["main", "v0.3.1", "4f2c1e9"])}))
    if rng.random() < 0.03:
        deps.append(("acme-auth", {"version": rng.choice(["2.1", "2.4", "3"]), "registry": "acme"}))
    text += _table_text("dependencies", deps, rng)
    if rng.random() < 0.25:
        by_cfg: dict[str, list[tuple[str, dict]]] = {}
        for cfg, dep, reqs in rng.sample(DEPS_TARGET, k=rng.randint(1, 2)):
            by_cfg.setdefault(cfg, []).append((dep, {"version": _pick_req(rng, reqs, era)}))
        for cfg, entries in by_cfg.items():
            text += _table_text(f"target.{_toml_key(cfg)}.dependencies", entries, rng)
    dev = [(n, {"version": _pick_req(rng, r, era)}) for n, r in rng.sample(DEPS_DEV, k=rng.randint(0, 3))]
    if ws_deps is not None:
        dev = [(ws_deps[n][0], {"workspace": True}) if n in ws_deps else (n, s) for n, s in dev]
    # The old underscore spelling; Cargo refuses it from the 2024 edition on.
    underscore = rng.random() < 0.05 and edition != "2024"
    text += _table_text("dev_dependencies" if underscore else "dev-dependencies", dev, rng)
    if rng.random() < 0.2:
        build = [(n, {"version": _pick_req(rng, r, era)}) for n, r in rng.sample(DEPS_BUILD, k=1)]
        text += _table_text("build-dependencies", build, rng)
    return text


def _break_manifest(text: str, method: int) -> str:
    lines = text.splitlines(keepends=True)
    if method == 0:  # an unclosed table header
        return text.replace("[dependencies]", "[dependencies", 1) if "[dependencies]" in text else text + "[oops\n"
    if method == 1:  # an unterminated string (line 2 is `name = "..."`)
        return lines[0] + lines[1].replace('"\n', "\n") + "".join(lines[2:])
    if method == 2:  # a duplicate key
        return lines[0] + lines[1] + lines[1] + "".join(lines[2:])
    return text + "\n<<<<<<< HEAD\nserde = \"1\"\n=======\n"  # a merge conflict left in


def deps_repo_files(idx: int, name: str) -> tuple[dict[str, str], dict]:
    """The files of repository number `idx`: a single crate, a workspace, or no Rust at all."""
    rng = random.Random(f"deps-{idx}")
    era = rng.random()
    files: dict[str, str] = {"README.md": f"# {name}\n\n" + _prose(rng, 300, "Overview") + "\n"}
    info: dict = {"kind": "other", "manifests": [], "broken": None}
    r = rng.random()
    if r < 0.10:
        files["package.json"] = json.dumps({"name": f"@acme/{name}", "version": "1.0.0"}, indent=2) + "\n"
        return files, info
    candidates: list[str] = []  # manifests that may be broken (never a workspace root)
    if r < 0.42:
        info["kind"] = "workspace"
        n = rng.randint(2, 10)
        members = [f"{name}-{w}" for w in rng.sample(WORDS, k=n)]
        ws_deps: dict | None = None
        root = '[workspace]\nresolver = "2"\n'
        globbed = rng.random() < 0.7
        xtask = rng.random() < 0.3
        experimental = rng.random() < 0.3
        listed = ['"crates/*"'] if globbed else [f'"crates/{m}"' for m in members]
        if xtask:
            listed.append('"tools/xtask"')
        root += "members = [" + ", ".join(listed) + "]\n"
        if experimental:
            root += 'exclude = ["crates/experimental"]\n'
        inherit_version = rng.random() < 0.6
        if inherit_version:
            root += f'\n[workspace.package]\nversion = "0.{rng.randint(1, 9)}.{rng.randint(0, 20)}"\nedition = "2021"\n'
        if rng.random() < 0.6:
            chosen = rng.sample(DEPS_CRATES, k=rng.randint(4, 12))
            ws_deps = {}
            entries = []
            for cname, reqs, feats in chosen:
                key = cname
                spec: dict = {"version": _pick_req(rng, reqs, era)}
                if feats and rng.random() < 0.4:
                    spec["features"] = [feats[0]]
                if rng.random() < 0.04:
                    key = cname.replace("-", "_") + "_ws"
                    spec["package"] = cname
                ws_deps[cname] = (key, spec)
                entries.append((key, spec))
            for dn, dr in rng.sample(DEPS_DEV, k=2):
                ws_deps[dn] = (dn, {"version": _pick_req(rng, dr, era)})
                entries.append(ws_deps[dn])
            root += _table_text("workspace.dependencies", entries, rng)
        root_is_package = rng.random() < 0.25
        if root_is_package:
            root = _crate_manifest(rng, name, era, 'version = "1.0.0"\n', ws_deps, []) + "\n" + root
            files["src/main.rs"] = "fn main() {}\n"
        files["Cargo.toml"] = root
        info["manifests"].append("Cargo.toml")
        for k, m in enumerate(members):
            version_line = "version.workspace = true\n" if inherit_version else 'version = "0.1.0"\n'
            paths = [f"../{members[k - 1]}"] if k > 0 and rng.random() < 0.5 else []
            path = f"crates/{m}/Cargo.toml"
            files[path] = _crate_manifest(rng, m, era, version_line, ws_deps, paths)
            files[f"crates/{m}/src/lib.rs"] = _source(rng, "rust", _size(rng, 800))
            info["manifests"].append(path)
            candidates.append(path)
        if xtask:
            files["tools/xtask/Cargo.toml"] = _crate_manifest(rng, "xtask", era, 'version = "0.0.0"\n', ws_deps, [],
                                                              "publish = false\n")
            files["tools/xtask/src/main.rs"] = "fn main() {}\n"
            info["manifests"].append("tools/xtask/Cargo.toml")
            candidates.append("tools/xtask/Cargo.toml")
        if experimental:
            files["crates/experimental/Cargo.toml"] = _crate_manifest(rng, f"{name}-experimental", era,
                                                                      'version = "0.0.1"\n', None, [])
            info["manifests"].append("crates/experimental/Cargo.toml")
            candidates.append("crates/experimental/Cargo.toml")
    else:
        info["kind"] = "single"
        files["Cargo.toml"] = _crate_manifest(rng, name, era, f'version = "{rng.randint(0, 3)}.{rng.randint(0, 30)}.0"\n',
                                              None, [])
        files["src/lib.rs"] = _source(rng, "rust", _size(rng, 1500))
        info["manifests"].append("Cargo.toml")
        candidates.append("Cargo.toml")
        if rng.random() < 0.1:  # a fuzz crate beside it, not in any workspace
            files["fuzz/Cargo.toml"] = ('[package]\nname = "fuzz"\nversion = "0.0.0"\npublish = false\n\n'
                                        '[dependencies]\nlibfuzzer-sys = "0.4"\n')
            info["manifests"].append("fuzz/Cargo.toml")
        if rng.random() < 0.05:  # vendored sources and build output are not read
            files["vendor/serde/Cargo.toml"] = '[package]\nname = "serde"\nversion = "1.0.100"\n'
            files["target/package/x/Cargo.toml"] = "not toml ["
    if idx % DEPS_BROKEN_EVERY == DEPS_BROKEN_EVERY // 3:
        path = rng.choice(candidates)
        files[path] = _break_manifest(files[path], (idx // DEPS_BROKEN_EVERY) % 4)
        info["broken"] = path
    return files, info


def cmd_gen_deps(a: argparse.Namespace) -> int:
    forge = Path(a.forge).resolve()
    marker = forge / DEPS_MARKER
    want = {"version": DEPS_FORGE_VERSION, "owner": a.owner, "repos": a.repos}
    if _forge_is_current(forge, marker, want, a.regen):
        return 0
    t0 = time.perf_counter()
    names = audit_repo_names(a.repos)
    expect: dict = {"repos": [], "cargo_repos": [], "manifests": 0, "broken": {}, "kinds": {}}

    def files_for(i: int, name: str) -> dict:
        files, info = deps_repo_files(i, name)
        full = f"{a.owner}/{name}"
        expect["repos"].append(full)
        if info["manifests"]:
            expect["cargo_repos"].append(full)
        expect["manifests"] += len(info["manifests"])
        expect["kinds"][info["kind"]] = expect["kinds"].get(info["kind"], 0) + 1
        if info["broken"]:
            expect["broken"][full] = info["broken"]
        return files

    if not _import_pooled_forge(forge, a.owner, names, files_for, "gen-deps"):
        return 1
    secs = time.perf_counter() - t0
    (forge / "expect.json").write_text(json.dumps(expect, indent=1) + "\n")
    want["generated_seconds"] = round(secs, 2)
    want["manifests"] = expect["manifests"]
    marker.write_text(json.dumps(want, indent=2) + "\n")
    print(f"forge: generated {a.repos} repos ({len(expect['cargo_repos'])} with Cargo manifests, "
          f"{expect['manifests']} manifests, {len(expect['broken'])} broken; {expect['kinds']}) "
          f"in {secs:.1f}s under {forge}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- gen-script

SCRIPT_FORGE_VERSION = 1
SCRIPT_MARKER = ".bench-script-forge.json"
SCRIPT_OLD = "LegacyClient"  # the word bench/script.sh replaces (sed, [[script]], [[replace]])
COMMENT = {"rs": "//", "js": "//", "go": "//", "py": "#"}


def script_repo_files(idx: int, owner: str, name: str) -> tuple[dict[str, str], dict]:
    """A small repository (20-50 files: README, LICENSE, workflows, manifest, lockfile, docs,
    sources and tests in a few folders, as `gen` makes them) with SCRIPT_OLD written into about a
    third of its docs and sources (1-3 lines each, some lines twice)."""
    rng = random.Random(1_000_003 * idx + 7)
    eco = ECOSYSTEMS[idx % len(ECOSYSTEMS)]
    pm = NODE_PMS[(idx // len(ECOSYSTEMS)) % len(NODE_PMS)] if eco == "node" else None
    files = _initial_tree(rng, owner, name, eco, pm, rng.randint(20, 50))
    hits: dict[str, int] = {}
    candidates = [p for p in sorted(files) if p.endswith((".md", ".rs", ".js", ".py", ".go"))]
    for path in rng.sample(candidates, k=max(2, len(candidates) // 3)):
        lines = files[path].split("\n")
        ext = path.rsplit(".", 1)[1]
        n = 0
        for _ in range(rng.randint(1, 3)):
            twice = rng.random() < 0.3
            if ext == "md":
                line = (f"The `{SCRIPT_OLD}` {' '.join(rng.choices(PROSE, k=rng.randint(4, 10)))}"
                        + (f" (see {SCRIPT_OLD}::connect)." if twice else "."))
            else:
                line = (f"{COMMENT[ext]} TODO: move off {SCRIPT_OLD}, "
                        + ' '.join(rng.choices(PROSE, k=rng.randint(3, 8)))
                        + (f"; {SCRIPT_OLD} is deprecated" if twice else ""))
            lines.insert(rng.randint(0, max(0, len(lines) - 1)), line)
            n += 2 if twice else 1
        files[path] = "\n".join(lines)
        hits[path] = n
    return files, {"eco": eco, "files": len(files), "hits": hits}


def cmd_gen_script(a: argparse.Namespace) -> int:
    forge = Path(a.forge).resolve()
    marker = forge / SCRIPT_MARKER
    want = {"version": SCRIPT_FORGE_VERSION, "owner": a.owner, "repos": a.repos}
    if _forge_is_current(forge, marker, want, a.regen):
        return 0
    t0 = time.perf_counter()
    names = audit_repo_names(a.repos)
    expect: dict = {"word": SCRIPT_OLD, "repos": [], "files": 0, "bytes": 0,
                    "changed_files": 0, "occurrences": 0, "per_repo": {}}

    def files_for(i: int, name: str) -> dict:
        files, info = script_repo_files(i, a.owner, name)
        full = f"{a.owner}/{name}"
        expect["repos"].append(full)
        expect["files"] += info["files"]
        expect["bytes"] += sum(len(t.encode()) for t in files.values())
        expect["changed_files"] += len(info["hits"])
        expect["occurrences"] += sum(info["hits"].values())
        expect["per_repo"][full] = sorted(info["hits"])
        return files

    if not _import_pooled_forge(forge, a.owner, names, files_for, "gen-script"):
        return 1
    secs = time.perf_counter() - t0
    (forge / "expect.json").write_text(json.dumps(expect, indent=1) + "\n")
    want["generated_seconds"] = round(secs, 2)
    marker.write_text(json.dumps(want, indent=2) + "\n")
    print(f"forge: generated {a.repos} repos ({expect['files']} files, {expect['changed_files']} "
          f"with {SCRIPT_OLD}, {expect['occurrences']} occurrences) in {secs:.1f}s under {forge}",
          file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- deps report

def cmd_deps_report(a: argparse.Namespace) -> int:
    recs = _load_record(a.record)
    expect = json.loads(Path(a.expect).read_text())
    repos_total = len(expect["repos"])
    problems: list[str] = []
    digests: set[str] = set()
    compared = 0
    reference = None
    reference_bytes = None
    for r in recs:
        if r["label"] != "skew" or not r.get("report"):
            continue
        path = Path(r["report"])
        r["report"] = path.name
        if not path.exists():
            continue
        data = path.read_bytes()
        digests.add(hashlib.sha256(data).hexdigest())
        compared += 1
        try:
            rep = json.loads(data)
        except ValueError as e:
            problems.append(f"{path.name}: the report is not JSON: {e}")
            continue
        if reference is None:
            reference, reference_bytes = rep, len(data)
    checks: dict = {"report_parses": reference is not None}
    summary: dict = {}
    if reference is None:
        problems.append("no skew run produced a report")
    else:
        errors = reference.get("errors", [])
        got_broken = {e["repo"]: e.get("manifest") for e in errors}
        crates = reference.get("crates", [])
        checks.update({
            "discovery": reference.get("discovery"),
            "cargo_spawned": "no cargo" not in str(reference.get("discovery")),
            "repos_in_report": len(reference.get("repos", [])),
            "cargo_repos_expected": len(expect["cargo_repos"]),
            "repos_match": sorted(reference.get("repos", [])) == sorted(expect["cargo_repos"]),
            "errors": len(errors),
            "errors_expected": len(expect["broken"]),
            "errors_match": got_broken == expect["broken"] and len(errors) == len(expect["broken"]),
            "reports_identical_across_runs": len(digests) <= 1,
            "reports_compared": compared,
        })
        summary = {
            "shared_crates": len(crates),
            "incompatible_crates": sum(1 for c in crates if not c.get("compatible")),
            "uses": sum(len(c.get("uses", [])) for c in crates),
            "requirements": sum(len(c.get("requirements", [])) for c in crates),
            "report_bytes": reference_bytes,
        }
        if not checks["repos_match"]:
            problems.append(f"the report lists {checks['repos_in_report']} repositories, "
                            f"expected {checks['cargo_repos_expected']}")
        if not checks["errors_match"]:
            problems.append(f"errors {sorted(got_broken.items())[:3]}… do not match the broken manifests "
                            f"{sorted(expect['broken'].items())[:3]}…")
        if not checks["reports_identical_across_runs"]:
            problems.append("the reports differ between runs")
    # `convoy deps skew` exits 1 when a manifest could not be read: that is expected here.
    ok = [r for r in recs if r["label"] == "skew" and r["rc"] in (0, 1)]
    crashed = [r for r in recs if r["label"] == "skew" and r["rc"] not in (0, 1)]
    if crashed:
        problems.append(f"{len(crashed)} skew run(s) failed (exit {crashed[0]['rc']})")
    secs = statistics.median(r["seconds"] for r in ok) if ok else None

    def med(key: str) -> float | None:
        xs = [r[key] for r in ok if r.get(key) is not None]
        return round(statistics.median(xs), 3) if xs else None

    rss = max((r["maxrss_kb"] for r in ok), default=None)
    user, sys_ = med("user_seconds"), med("sys_seconds")
    fetch = [r for r in recs if r["label"] == "fetch"]
    figures = {
        "seconds": round(secs, 3) if secs is not None else None,
        "seconds_min": round(min(r["seconds"] for r in ok), 3) if ok else None,
        "seconds_max": round(max(r["seconds"] for r in ok), 3) if ok else None,
        "repos_per_second": round(repos_total / secs, 1) if secs else None,
        "cargo_repos_per_second": round(len(expect["cargo_repos"]) / secs, 1) if secs else None,
        "manifests_per_second": round(expect["manifests"] / secs, 1) if secs else None,
        "peak_rss_mb": round(rss / 1024, 1) if rss else None,
        "user_seconds": user,
        "sys_seconds": sys_,
        "cpu_seconds": round(user + sys_, 3) if user is not None and sys_ is not None else None,
        # Discovery reads the manifests from the cache in-process: no `cargo` is spawned.
        "cargo_spawn_share": 0.0 if reference is not None and not checks.get("cargo_spawned") else None,
    }
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "repos": repos_total,
        "cargo_repos": len(expect["cargo_repos"]),
        "manifests": expect["manifests"],
        "runs": a.runs,
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "git_version": a.git_version,
        "convoy_bin": a.convoy_bin,
        "convoy_version": a.convoy_version,
        "command": a.command,
        "timing": a.timing,
        "forge": {"generated_seconds": a.gen_seconds, "kinds": expect["kinds"], "broken_manifests": len(expect["broken"])},
        "fetch_seconds": fetch[-1]["seconds"] if fetch else None,
        "fetch_cache": fetch[-1].get("cache") if fetch else None,
        "report": summary,
        "checks": checks,
        "figures": figures,
        "problems": problems,
        "failed_runs": sorted({r["label"] for r in recs if r["rc"] not in (0, 1) or (r["label"] == "fetch" and r["rc"])}),
        "runs_raw": recs,
    }
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")

    def show(x: object) -> str:
        return "n/a" if x is None else str(x)
    print(f"deps_repos {repos_total} ({len(expect['cargo_repos'])} with Cargo manifests, {expect['manifests']} manifests; "
          f"{expect['kinds']})")
    print(f"deps_repos_in_report {show(checks.get('repos_in_report'))} (expected {len(expect['cargo_repos'])})")
    print(f"deps_errors {show(checks.get('errors'))} (expected {len(expect['broken'])} broken manifests)")
    print(f"deps_shared_crates {show(summary.get('shared_crates'))} incompatible={show(summary.get('incompatible_crates'))}")
    print(f"fetch_seconds {show(out['fetch_seconds'])} ({show(out['fetch_cache'])} cache; not part of the skew figures)")
    print(f"skew_seconds {show(figures['seconds'])} (median of {len(ok)})")
    print(f"skew_repos_per_second {show(figures['repos_per_second'])}")
    print(f"skew_manifests_per_second {show(figures['manifests_per_second'])}")
    print(f"skew_peak_rss_mb {show(figures['peak_rss_mb'])}")
    print(f"skew_cpu_seconds {show(figures['cpu_seconds'])}")
    print(f"cargo_spawn_share {show(figures['cargo_spawn_share'])} (discovery: {show(checks.get('discovery'))})")
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    print(f"results written to {a.out}", file=sys.stderr)
    return 1 if problems else 0


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
    r.add_argument("--time-v", metavar="TIME", help="run the command under GNU time (e.g. /usr/bin/time) -v "
                   "and record its peak RSS, user and system seconds")
    r.add_argument("--meta", action="append", metavar="KEY=VALUE", help="add to the record (repeatable)")
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

    ga = sub.add_parser("gen-audit")
    ga.add_argument("--forge", required=True)
    ga.add_argument("--owner", default="acme")
    ga.add_argument("--repos", type=int, default=1000)
    ga.add_argument("--regen", action="store_true")
    ga.set_defaults(fn=cmd_gen_audit)

    ar = sub.add_parser("audit-report")
    ar.add_argument("--record", required=True)
    ar.add_argument("--expect", required=True, help="expect.json written by gen-audit")
    ar.add_argument("--out", required=True)
    ar.add_argument("--config", dest="configs", action="append", default=[], metavar="LABEL=JOBS",
                    help="a timed configuration, in report order; the first is held to the target")
    ar.add_argument("--runs", type=int, required=True)
    ar.add_argument("--target-seconds", type=float, default=10.0)
    ar.add_argument("--git-version", default="")
    ar.add_argument("--convoy-bin", default="")
    ar.add_argument("--convoy-version", default="")
    ar.add_argument("--command", default="")
    ar.add_argument("--timing", default="")
    ar.add_argument("--gen-seconds", type=float)
    ar.set_defaults(fn=cmd_audit_report)

    gd = sub.add_parser("gen-deps")
    gd.add_argument("--forge", required=True)
    gd.add_argument("--owner", default="acme")
    gd.add_argument("--repos", type=int, default=500)
    gd.add_argument("--regen", action="store_true")
    gd.set_defaults(fn=cmd_gen_deps)

    gs = sub.add_parser("gen-script")
    gs.add_argument("--forge", required=True)
    gs.add_argument("--owner", default="acme")
    gs.add_argument("--repos", type=int, default=200)
    gs.add_argument("--regen", action="store_true")
    gs.set_defaults(fn=cmd_gen_script)

    dr = sub.add_parser("deps-report")
    dr.add_argument("--record", required=True)
    dr.add_argument("--expect", required=True, help="expect.json written by gen-deps")
    dr.add_argument("--out", required=True)
    dr.add_argument("--runs", type=int, required=True)
    dr.add_argument("--git-version", default="")
    dr.add_argument("--convoy-bin", default="")
    dr.add_argument("--convoy-version", default="")
    dr.add_argument("--command", default="")
    dr.add_argument("--timing", default="")
    dr.add_argument("--gen-seconds", type=float)
    dr.set_defaults(fn=cmd_deps_report)

    a = p.parse_args()
    if a.cmd == "gen" and a.names:
        Path(a.names).write_text("".join(n + "\n" for n in repo_names(a.repos)))
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
