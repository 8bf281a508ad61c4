#!/usr/bin/env python3
"""Dev aid: render convoy's templates with sample contexts and audit the output.

    pip install jinja2 pyyaml minijinja   # minijinja: Python binding of the Rust engine
    python3 templates/check_templates.py

Every template (templates/*.yml.j2, files/*.j2) is rendered with strict
undefined behaviour over a matrix of sample contexts (with and without the
optional vars, every node package manager, ...) by:
  * minijinja (the engine convoy uses) with its default JSON auto-escaping of
    *.yml.j2 names and with auto-escaping off, each with trim_blocks/lstrip_blocks
    off and on;
  * Jinja2 with trim_blocks/lstrip_blocks off and on.
All variants must give the same text, so the templates do not depend on how
convoy configures its Environment. The rendered workflows and
.github/workflows/ci.yml are then parsed with yaml.safe_load and audited:
top-level concurrency (workflow-ref group, cancel-in-progress) and
`permissions: contents: read`, timeout-minutes on every job, every `uses:`
pinned to a full commit SHA with a version comment (and to the reviewed pins
below), and every actions/cache step keyed by a lockfile hash with restore-keys.

Exits 0 when everything passes, 1 otherwise. minijinja is optional (Jinja2
only, with a warning) but CI installs it.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import jinja2
import yaml

try:
    import minijinja
except ImportError:  # pragma: no cover - exercised only without the binding
    minijinja = None

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
FILES = ROOT / "files"
OWN_CI = ROOT / ".github" / "workflows" / "ci.yml"

# Reviewed pins: action -> (commit SHA, release tag it points at).
PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/cache": ("5a3ec84eff668545956fd18022155c47e93e2684", "v4.2.3"),
    "actions/setup-node": ("49933ea5288caeca8642d1e84afbd3f7d6820020", "v4.4.0"),
}
CONCURRENCY_GROUP = "${{ github.workflow }}-${{ github.ref }}"
CONTEXT_NAMES = {"org", "repo", "vars"}
HEADER = re.compile(r"^# Managed by convoy from (templates|files)/\S+ — edit the (template|source), not this file\.$")
USES_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
LOCKFILES = ("Cargo.lock", "package-lock.json", "pnpm-lock.yaml", "yarn.lock")

failures: list[str] = []


def fail(where: str, msg: str) -> None:
    failures.append(f"{where}: {msg}")


# ---------------------------------------------------------------- rendering


def load_template(name: str) -> str | None:
    """Loader for both engines: imports/includes resolve in templates/ only."""
    path = TEMPLATES / name
    if "/" in name or "\\" in name or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def engines():
    """Yield (label, render(name, source, ctx) -> str) for every engine setup."""
    if minijinja is not None:
        for escape in ("default-escape", "no-escape"):
            for trim in (False, True):
                env = minijinja.Environment(
                    loader=load_template,
                    undefined_behavior="strict",
                    auto_escape_callback=None if escape == "default-escape" else (lambda _name: False),
                    trim_blocks=trim,
                    lstrip_blocks=trim,
                    pycompat=False,
                )

                def render(name, source, ctx, env=env):
                    return env.render_str(source, name, **ctx)

                yield f"minijinja[{escape},trim={trim}]", render
    for trim in (False, True):
        env = jinja2.Environment(
            loader=jinja2.FunctionLoader(load_template),
            undefined=jinja2.StrictUndefined,
            trim_blocks=trim,
            lstrip_blocks=trim,
            autoescape=False,
        )

        def render(name, source, ctx, env=env):
            return env.from_string(source).render(**ctx)

        yield f"jinja2[trim={trim}]", render


ENGINES = list(engines())


def render_all(label: str, path: Path, ctx: dict) -> str | None:
    """Render with every engine setup; all must agree. Returns the text."""
    source = path.read_text(encoding="utf-8")
    outputs = {}
    for engine, render in ENGINES:
        try:
            outputs[engine] = render(path.name, source, copy.deepcopy(ctx)).rstrip("\n") + "\n"
        except Exception as exc:  # noqa: BLE001 - report any engine error
            fail(label, f"{engine} failed to render: {str(exc).splitlines()[0]}")
    if not outputs:
        return None
    first_engine, first = next(iter(outputs.items()))
    for engine, text in outputs.items():
        if text != first:
            fail(label, f"{engine} output differs from {first_engine}:\n{diff(first, text)}")
    for marker in ("{%", "%}", "{#", "#}"):
        if marker in first:
            fail(label, f"template syntax {marker!r} left in output")
    return first


def diff(a: str, b: str) -> str:
    import difflib

    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), n=1))


def expect_render_error(label: str, path: Path, ctx: dict) -> None:
    source = path.read_text(encoding="utf-8")
    for engine, render in ENGINES:
        try:
            render(path.name, source, copy.deepcopy(ctx))
        except Exception:  # noqa: BLE001
            continue
        fail(label, f"{engine} rendered although a required variable is missing")


def check_undeclared(path: Path) -> None:
    """Templates may only read the contract's context names (org, repo, vars)."""
    if minijinja is None:
        return
    env = minijinja.Environment(loader=load_template, undefined_behavior="strict", pycompat=False)
    names = set(env.undeclared_variables_in_str(path.read_text(encoding="utf-8")))
    extra = names - CONTEXT_NAMES
    if extra:
        fail(str(path.relative_to(ROOT)), f"uses names outside the contract context: {sorted(extra)}")


# ------------------------------------------------------------------- audits


def audit_workflow(label: str, text: str) -> dict | None:
    """Policy checks shared by every rendered workflow and convoy's own CI."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        fail(label, f"not valid YAML: {exc}")
        return None
    if not isinstance(doc, dict):
        fail(label, "not a YAML mapping")
        return None

    triggers = doc.get("on", doc.get(True))  # PyYAML reads a bare `on` key as True
    if not isinstance(triggers, dict) or "pull_request" not in triggers or "push" not in triggers:
        fail(label, f"expected push and pull_request triggers, got {triggers!r}")

    conc = doc.get("concurrency")
    if not isinstance(conc, dict):
        fail(label, "no top-level concurrency mapping")
    else:
        if conc.get("group") != CONCURRENCY_GROUP:
            fail(label, f"concurrency.group is {conc.get('group')!r}, want {CONCURRENCY_GROUP!r}")
        if conc.get("cancel-in-progress") is not True:
            fail(label, "concurrency.cancel-in-progress is not true")

    if doc.get("permissions") != {"contents": "read"}:
        fail(label, f"top-level permissions are {doc.get('permissions')!r}, want {{contents: read}}")

    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        fail(label, "no jobs")
        return doc
    for job_id, job in jobs.items():
        where = f"{label} job {job_id}"
        timeout = job.get("timeout-minutes")
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 60:
            fail(where, f"timeout-minutes is {timeout!r}, want an integer in 1..60")
        perms = job.get("permissions")
        if perms is not None and (not isinstance(perms, dict) or "write-all" in str(perms)):
            fail(where, f"job permissions {perms!r} are not an explicit least-privilege map")
        if "uses" in job:
            check_uses(where, job["uses"], text)
        for index, step in enumerate(job.get("steps") or []):
            step_where = f"{where} step {index} ({step.get('name', step.get('uses', 'run'))})"
            uses = step.get("uses")
            if uses is None:
                continue
            check_uses(step_where, uses, text)
            if uses.split("@")[0] == "actions/cache":
                check_cache(step_where, step.get("with") or {})
    return doc


def check_uses(where: str, uses: str, text: str) -> None:
    if uses.startswith("./"):
        return  # local action or reusable workflow in the same repo
    if not USES_PINNED.match(uses):
        fail(where, f"`uses: {uses}` is not pinned to a full 40-hex commit SHA")
        return
    action, sha = uses.split("@")
    comment = re.search(rf"uses:\s*{re.escape(uses)}\s+#\s*(v\S+)", text)
    if not comment:
        fail(where, f"`uses: {uses}` has no `# vX.Y.Z` version comment on its line")
    pin = PINS.get(action)
    if pin is None:
        fail(where, f"{action} is not in the reviewed PINS table of this script")
    elif sha != pin[0] or (comment and comment.group(1) != pin[1]):
        fail(where, f"{uses} does not match the reviewed pin {action}@{pin[0]} # {pin[1]}")


def check_cache(where: str, with_: dict) -> None:
    key = str(with_.get("key", ""))
    if not with_.get("path"):
        fail(where, "actions/cache without path")
    if not key.startswith("${{ runner.os }}-") or not any(
        f"hashFiles('**/{lock}')" in key for lock in LOCKFILES
    ):
        fail(where, f"cache key {key!r} is not `${{{{ runner.os }}}}-...-${{{{ hashFiles('**/<lockfile>') }}}}`")
    restore = str(with_.get("restore-keys", "")).strip()
    if not restore or not key.startswith(restore):
        fail(where, f"restore-keys {restore!r} is not a prefix of the key")


def all_steps(doc: dict) -> list[dict]:
    return [step for job in doc["jobs"].values() for step in job.get("steps") or []]


def run_lines(doc: dict) -> list[str]:
    return [line.strip() for step in all_steps(doc) for line in str(step.get("run", "")).splitlines()]


def check_header(label: str, text: str) -> None:
    if not HEADER.match(text.splitlines()[0]):
        fail(label, f"first line is not the convoy-managed header: {text.splitlines()[0]!r}")


# ------------------------------------------------------------ sample inputs


def context(*, ecosystems=("rust",), pm=None, branch="main", vars=None, drop_pm=False) -> dict:
    repo = {
        "name": "api",
        "full_name": "acme/api",
        "owner": "acme",
        "default_branch": branch,
        "topics": ["service"],
        "tags": ["backend"],
        "ecosystems": list(ecosystems),
        "node_package_manager": pm,
    }
    if drop_pm:
        del repo["node_package_manager"]
    return {"org": {"name": "acme"}, "repo": repo, "vars": dict(vars or {})}


def check_rust_ci() -> None:
    path = TEMPLATES / "rust-ci.yml.j2"
    check_undeclared(path)
    for branch in ("main", "trunk"):
        for vars, toolchain in (({}, "stable"), ({"rust_toolchain": "1.82.0"}, "1.82.0"), ({"unrelated": 1}, "stable")):
            label = f"rust-ci.yml.j2[branch={branch},vars={vars}]"
            text = render_all(label, path, context(branch=branch, vars=vars))
            if text is None:
                continue
            check_header(label, text)
            doc = audit_workflow(label, text)
            if doc is None:
                continue
            on = doc.get("on", doc.get(True))
            if on["push"] != {"branches": [branch]}:
                fail(label, f"push trigger is {on['push']!r}, want branches [{branch}]")
            if doc.get("env", {}).get("RUST_TOOLCHAIN") != toolchain:
                fail(label, f"RUST_TOOLCHAIN is {doc.get('env', {}).get('RUST_TOOLCHAIN')!r}, want {toolchain!r}")
            runs = run_lines(doc)
            for needle in ("cargo fmt --all --check", "cargo clippy", "cargo test --locked"):
                if not any(line.startswith(needle) for line in runs):
                    fail(label, f"no step runs `{needle}`")
            clippy = [line for line in runs if line.startswith("cargo clippy")]
            if not all("--all-targets" in line and line.endswith("-- -D warnings") for line in clippy):
                fail(label, f"clippy is not `--all-targets -- -D warnings`: {clippy}")
            if not any(s.get("uses", "").startswith("actions/cache@") for s in all_steps(doc)):
                fail(label, "no cargo cache step")


NODE_EXPECT = {
    "npm": ("npm ci", "package-lock.json", "npm run lint", "npm test"),
    "pnpm": ("pnpm install --frozen-lockfile", "pnpm-lock.yaml", "pnpm run lint", "pnpm test"),
    "yarn": ("yarn install --frozen-lockfile", "yarn.lock", "yarn run lint", "yarn test"),
}


def check_node_ci() -> None:
    path = TEMPLATES / "node-ci.yml.j2"
    check_undeclared(path)
    cases = [(pm, pm or "npm", False) for pm in (None, "npm", "pnpm", "yarn")] + [("absent", "npm", True)]
    for pm, effective, drop in cases:
        for vars, node in (({}, "20"), ({"node_version": "22"}, "22"), ({"node_version": 22}, "22")):
            label = f"node-ci.yml.j2[pm={pm},vars={vars}]"
            ctx = context(ecosystems=("node",), pm=None if drop else pm, vars=vars, drop_pm=drop)
            text = render_all(label, path, ctx)
            if text is None:
                continue
            check_header(label, text)
            doc = audit_workflow(label, text)
            if doc is None:
                continue
            install, lockfile, lint, test = NODE_EXPECT[effective]
            runs = run_lines(doc)
            for needle in (install, lint, test):
                if needle not in runs:
                    fail(label, f"no step runs `{needle}`")
            keys = [str((s.get("with") or {}).get("key", "")) for s in all_steps(doc) if s.get("uses", "").startswith("actions/cache@")]
            if not keys or not all(f"hashFiles('**/{lockfile}')" in k for k in keys):
                fail(label, f"cache keys {keys} are not keyed by {lockfile}")
            for other_pm, (other_install, *_rest) in NODE_EXPECT.items():
                if other_pm != effective and other_install in runs:
                    fail(label, f"also runs {other_install!r}")
            setup = [s for s in all_steps(doc) if s.get("uses", "").startswith("actions/setup-node@")]
            if len(setup) != 1 or setup[0].get("with", {}).get("node-version") != node:
                fail(label, f"setup-node node-version is not {node!r}: {setup}")


def check_dependabot() -> None:
    path = FILES / "dependabot.yml.j2"
    check_undeclared(path)
    for ecosystems in ((), ("rust",), ("node",), ("rust", "node", "python", "go")):
        label = f"dependabot.yml.j2[ecosystems={list(ecosystems)}]"
        text = render_all(label, path, context(ecosystems=ecosystems))
        if text is None:
            continue
        check_header(label, text)
        doc = yaml.safe_load(text)
        if doc.get("version") != 2:
            fail(label, "version is not 2")
        want = ["github-actions"] + [eco for name, eco in (("rust", "cargo"), ("node", "npm")) if name in ecosystems]
        got = [u.get("package-ecosystem") for u in doc.get("updates", [])]
        if got != want:
            fail(label, f"ecosystems {got}, want {want}")
        for update in doc.get("updates", []):
            if update.get("schedule", {}).get("interval") != "weekly" or not update.get("groups"):
                fail(label, f"{update.get('package-ecosystem')} is not weekly with groups")


def check_codeowners() -> None:
    path = FILES / "CODEOWNERS.j2"
    check_undeclared(path)
    cases = {
        "platform": "* @acme/platform",
        "acme/platform": "* @acme/platform",
        "@acme/platform": "* @acme/platform",
        " @other/sre ": "* @other/sre",
    }
    for team, want in cases.items():
        label = f"CODEOWNERS.j2[codeowners_team={team!r}]"
        text = render_all(label, path, context(vars={"codeowners_team": team}))
        if text is not None:
            check_header(label, text)
            if text.splitlines()[1:] != [want]:
                fail(label, f"got {text.splitlines()[1:]}, want [{want!r}]")
    label = "CODEOWNERS.j2[list]"
    text = render_all(label, path, context(vars={"codeowners_team": ["platform", "@acme/security"]}))
    if text is not None and text.splitlines()[1:] != ["* @acme/platform @acme/security"]:
        fail(label, f"got {text.splitlines()[1:]}")
    expect_render_error("CODEOWNERS.j2[no codeowners_team]", path, context())


def check_editorconfig() -> None:
    text = (FILES / "editorconfig").read_text(encoding="utf-8")
    if "root = true" not in text or "[*]" not in text:
        fail("files/editorconfig", "missing `root = true` or a [*] section")
    if not text.startswith("# Managed by convoy"):
        fail("files/editorconfig", "missing the convoy-managed header")


def check_own_ci() -> None:
    label = ".github/workflows/ci.yml"
    text = OWN_CI.read_text(encoding="utf-8")
    doc = audit_workflow(label, text)
    if doc is not None and "bash .ci/run" not in run_lines(doc):
        fail(label, "no step runs `bash .ci/run`")
    if doc is not None and any(job.get("runs-on") != "ubuntu-latest" for job in doc["jobs"].values()):
        fail(label, "every job should run on ubuntu-latest")


def self_test() -> None:
    """The audit must catch the mistakes it exists for (guards against a vacuous checker)."""
    good = OWN_CI.read_text(encoding="utf-8")
    sha = PINS["actions/checkout"][0]
    mutations = {
        "tag-pinned uses": good.replace(f"actions/checkout@{sha}", "actions/checkout@v4", 1),
        "short SHA": good.replace(f"actions/checkout@{sha}", f"actions/checkout@{sha[:12]}", 1),
        "missing timeout": good.replace("timeout-minutes: 10\n", "", 1),
        "broad permissions": good.replace("contents: read", "contents: write", 1),
        "no concurrency cancel": good.replace("cancel-in-progress: true", "cancel-in-progress: false", 1),
        "unhashed cache key": good.replace("-cargo-${{ hashFiles('**/Cargo.lock') }}", "-cargo-static", 1),
    }
    global failures
    for name, text in mutations.items():
        assert text != good, f"self-test mutation {name!r} did not apply"
        saved, failures = failures, []
        audit_workflow(f"self-test[{name}]", text)
        caught, failures = failures, saved
        if not caught:
            fail("self-test", f"the audit did not catch: {name}")


def main() -> int:
    if minijinja is None:
        print("warning: the minijinja Python binding is not installed; checking with Jinja2 only", file=sys.stderr)
    print("engines:", ", ".join(label for label, _ in ENGINES))
    for check in (check_rust_ci, check_node_ci, check_dependabot, check_codeowners, check_editorconfig, check_own_ci, self_test):
        before = len(failures)
        check()
        print(f"{check.__name__}: {'ok' if len(failures) == before else f'{len(failures) - before} problem(s)'}")
    if failures:
        print(f"\n{len(failures)} problem(s):", file=sys.stderr)
        for line in failures:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print("all template checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
