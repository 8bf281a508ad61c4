#!/usr/bin/env python3
"""Check what `convoy audit --fix --apply` did to a folder of real workflows.

Used by bench/fix-corpus.sh, which builds a local forge from the folder, runs convoy, and calls
this with the forge. For every repository, every workflow on the default branch (`before`) is
compared with the same file on the fix branch (`after`), as parsed YAML, by a judge that shares
no code with convoy (PyYAML, YAML 1.1; both sides are read the same way):

- the fixed file parses;
- only the keys a fix may add or change differ: a top-level or job-level `concurrency` or
  `permissions` that was absent, a job's absent `timeout-minutes`, a `schedule` cron, and a
  `uses:` moved from a tag to a full commit SHA of the same action (anything else is a
  violation, "other key changed");
- no caller and callee share a concurrency group (a job-level `uses: ./.github/workflows/X`
  call and X's top-level group, compared as written after blanks are removed: in a called
  workflow `github.workflow` and `github.ref` are the caller's, so equal text is an equal group,
  and GitHub cancels the call as a deadlock);
- no permission is lowered for a job that may use the token: a job whose effective
  permissions changed (its own, else the workflow's, else the repository default) is a
  violation when it mentions `GITHUB_TOKEN`/`github.token`, calls a reusable workflow, runs `gh`,
  `git push`, `docker push` or a publish command, or uses an action outside a short list of
  actions that only read (checkout, setup-*, cache, artifacts); and a `workflow_call`
  workflow whose jobs lost the caller's grant. The judge cannot know which scopes a job needs:
  when the new block grants write scopes (convoy's table of actions), the change is listed
  under `to_review` for a person to check against the action's docs; when it grants none, it
  is a violation.

Writes a JSON summary (counts only: no workflow content) to --out and prints it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

MISSING = object()
SHA = re.compile(r"^[0-9a-f]{40}$")
READ_ONLY_ACTIONS = re.compile(
    r"^(actions/(checkout|cache|cache/restore|cache/save|upload-artifact|download-artifact|setup-[a-z]+)"
    # upload-pages-artifact uploads with the Actions runtime token, not GITHUB_TOKEN (GitHub's
    # Pages starter workflows give the build job no scope beyond reading).
    r"|actions/upload-pages-artifact|dtolnay/rust-toolchain|swatinem/rust-cache|taiki-e/install-action|astral-sh/setup-uv"
    r"|pnpm/action-setup|oven-sh/setup-bun|denoland/setup-deno|mlugg/setup-zig|goto-bus-stop/setup-zig"
    r"|jdx/mise-action|extractions/setup-just|arduino/setup-protoc|ilammy/msvc-dev-cmd)(@|$)",
    re.I,
)
TOKEN_USE = re.compile(
    r"GITHUB_TOKEN|github\.token|\bgh (pr|release|issue|api|run|workflow|repo|label|secret)\b|git push"
    r"|docker push|npm publish|pnpm publish|yarn publish|cargo publish|twine upload|gh-pages",
    re.I,
)


def git(forge: Path, repo: str, *args: str) -> str | None:
    r = subprocess.run(["git", "--git-dir", str(forge / repo), *args], capture_output=True)
    return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None


def load(text: str) -> object:
    return yaml.safe_load(text)


def on_key(doc: dict) -> object:
    return True if True in doc else "on"


def diffs(a: object, b: object, path: tuple) -> list[tuple[tuple, object, object]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a.keys()) + [k for k in b.keys() if k not in a]:
            out += diffs(a.get(k, MISSING), b.get(k, MISSING), path + (k,))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diffs(x, y, path + (i,))
        return out
    return [] if a == b else [(path, a, b)]


def classify(path: tuple, a: object, b: object) -> str | None:
    """The fix a difference is, or None when no fix may make it."""
    if path == ("concurrency",) and a is MISSING:
        return "concurrency"
    if path == ("permissions",) and a is MISSING:
        return "permissions"
    if len(path) == 3 and path[0] == "jobs" and a is MISSING and path[2] in ("timeout-minutes", "concurrency", "permissions"):
        return {"timeout-minutes": "timeout", "concurrency": "concurrency", "permissions": "permissions"}[path[2]]
    if len(path) == 4 and path[1] == "schedule" and path[3] == "cron" and isinstance(b, str):
        return "schedule-frequency"
    if path and path[-1] == "uses" and isinstance(a, str) and isinstance(b, str):
        (aa, _, ar), (ba, _, br) = a.rpartition("@"), b.rpartition("@")
        if aa and aa == ba and ar != br and SHA.match(br):
            return "unpinned-actions"
    return None


def group_text(conc: object) -> str | None:
    if isinstance(conc, dict):
        conc = conc.get("group")
    return re.sub(r"\s+", "", str(conc)) if conc is not None else None


def effective(doc: dict, job: dict) -> object:
    return job.get("permissions", doc.get("permissions", "DEFAULT"))


def grants_write(perms: object) -> bool:
    if isinstance(perms, dict):
        return any(v == "write" for v in perms.values())
    return perms == "write-all"


def may_use_token(job: dict) -> str | None:
    if "uses" in job:
        return "calls a reusable workflow"
    text = yaml.safe_dump(job)
    m = TOKEN_USE.search(text)
    if m:
        return f"mentions `{m.group(0)}`"
    for step in job.get("steps") or []:
        uses = step.get("uses") if isinstance(step, dict) else None
        if isinstance(uses, str) and not uses.startswith(("./", "docker://")) and not READ_ONLY_ACTIONS.match(uses):
            return f"uses `{uses.split('@')[0]}`"
    return None


def check_repo(forge: Path, repo: str, branch: str, out: dict) -> None:
    paths = [
        p for p in (git(forge, repo, "ls-tree", "-r", "--name-only", "HEAD", ".github/workflows/") or "").splitlines()
        if p.endswith((".yml", ".yaml"))
    ]
    fixed_branch = git(forge, repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}") is not None
    befores, afters = {}, {}
    for p in paths:
        out["files"] += 1
        try:
            before = load(git(forge, repo, "show", f"HEAD:{p}") or "")
        except yaml.YAMLError:
            out["files_judge_cannot_parse"] += 1
            continue
        if not isinstance(before, dict):
            out["files_judge_cannot_parse"] += 1
            continue
        befores[p] = before
        after_text = git(forge, repo, "show", f"refs/heads/{branch}:{p}") if fixed_branch else None
        if after_text is None:
            afters[p] = before
            continue
        try:
            after = load(after_text)
        except yaml.YAMLError as e:
            out["violations"].append({"repo": repo, "path": p, "kind": "fixed file does not parse", "detail": str(e)[:200]})
            continue
        afters[p] = after
        d = diffs(before, after, ())
        if d:
            out["files_fixed"] += 1
        for path, a, b in d:
            kind = classify(path, a, b)
            if kind is None:
                out["violations"].append(
                    {"repo": repo, "path": p, "kind": "other key changed", "detail": "/".join(map(str, path))}
                )
            else:
                out["fixes"][kind] = out["fixes"].get(kind, 0) + 1
        # Permissions lowered for a job that may use the token.
        jobs_b, jobs_a = before.get("jobs") or {}, after.get("jobs") or {}
        if isinstance(jobs_b, dict) and isinstance(jobs_a, dict):
            for jid, job in jobs_b.items():
                ja = jobs_a.get(jid)
                if not isinstance(job, dict) or not isinstance(ja, dict):
                    continue
                eb, ea = effective(before, job), effective(after, ja)
                if eb != ea:
                    out["jobs_permissions_changed"] += 1
                    why = may_use_token(job)
                    wc = on_key(before)
                    callee = isinstance(before.get(wc), (dict, list, str)) and "workflow_call" in str(before.get(wc))
                    if eb == "DEFAULT" and (why or callee):
                        entry = {
                            "repo": repo, "path": p, "kind": "permission lowered",
                            "detail": f"job {jid}: {why or 'a workflow_call callee capped below its caller'} -> {ea}",
                        }
                        if grants_write(ea):
                            # The fix granted write scopes (from convoy's table): the judge cannot
                            # tell whether they are all the job needs, so a person reviews these.
                            entry["kind"] = "write scopes granted"
                            out["to_review"].append(entry)
                        else:
                            out["violations"].append(entry)
    # Caller and callee groups.
    for p, after in afters.items():
        jobs = after.get("jobs") or {}
        if not isinstance(jobs, dict):
            continue
        for jid, job in jobs.items():
            uses = job.get("uses") if isinstance(job, dict) else None
            if not isinstance(uses, str) or not uses.startswith("./.github/workflows/"):
                continue
            callee = uses[2:].split("@")[0]
            if callee not in afters:
                continue
            out["calls_checked"] += 1
            g_callee = group_text(afters[callee].get("concurrency"))
            for g_caller in (group_text(after.get("concurrency")), group_text(job.get("concurrency"))):
                if g_callee is not None and g_callee == g_caller:
                    was = (group_text(befores.get(p, {}).get("concurrency")), group_text(befores.get(callee, {}).get("concurrency")))
                    if was[0] != was[1] or was[0] is None:
                        out["violations"].append(
                            {"repo": repo, "path": p, "kind": "caller and callee share a group", "detail": f"{jid} -> {callee}: {g_callee}"}
                        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forge", required=True, type=Path, help="the local forge's owner folder (ROOT/OWNER)")
    ap.add_argument("--branch", default="convoy/policy-fixes")
    ap.add_argument("--audit", type=Path, help="convoy audit --format json report, for the finding count")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    out = {
        "repos": 0, "files": 0, "files_judge_cannot_parse": 0, "files_fixed": 0, "fixes": {},
        "jobs_permissions_changed": 0, "calls_checked": 0, "violations": [], "to_review": [],
    }
    for repo in sorted(p.name for p in a.forge.iterdir() if p.name.endswith(".git")):
        out["repos"] += 1
        check_repo(a.forge, repo, a.branch, out)
    if a.audit:
        report = json.loads(a.audit.read_text())
        findings = report.get("findings") or report.get("results") or []
        out["findings"] = len(findings)
        by_rule: dict[str, int] = {}
        for f in findings:
            by_rule[f.get("rule", "?")] = by_rule.get(f.get("rule", "?"), 0) + 1
        out["findings_by_rule"] = dict(sorted(by_rule.items()))
        out["findings_fixable"] = sum(1 for f in findings if f.get("fixable"))
    out["fixes_total"] = sum(out["fixes"].values())
    a.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: (len(v) if isinstance(v, list) else v) for k, v in out.items()}, indent=2))
    for v in out["to_review"]:
        print(f"REVIEW {v['repo']} {v['path']}: {v['kind']}: {v['detail']}", file=sys.stderr)
    for v in out["violations"]:
        print(f"VIOLATION {v['repo']} {v['path']}: {v['kind']}: {v['detail']}", file=sys.stderr)
    return 1 if out["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
