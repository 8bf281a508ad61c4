//! `convoy audit --fix`: edits for the findings that can be fixed safely, as text insertions and
//! replacements at the positions the parser gave, so every other byte of the file (comments,
//! ordering, quoting, blank lines) stays as it was.
//!
//! Fixed here: a missing concurrency group, a missing top-level `permissions` (read-only, and only
//! when no step looks like it writes), a job without `timeout-minutes`, a too-frequent cron, and
//! `uses:` on a tag, pinned to the commit the forge says the tag points at (the caller resolves
//! the tags first, see [`wanted_pins`], since that needs the forge). A
//! finding whose fix cannot be placed safely (flow-style YAML, a key sharing its line) is
//! reported as skipped, never guessed. Every fixed file is parsed again, and must no longer have
//! the findings it was fixed for; otherwise the whole file is left alone.

use std::collections::{BTreeMap, BTreeSet};

use super::Finding;
use super::audit::{Policy, SourceFile};
use super::cron::Schedule;
use super::workflow::{self, Pos, Workflow};

/// One fixed file.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedFile {
    pub path: String,
    pub text: String,
    /// `(rule, what was done)` per fix.
    pub applied: Vec<(String, String)>,
}

/// A finding that was fixable in principle but was not fixed, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub finding: Finding,
    pub reason: String,
}

/// Resolved tags: `(action repository as owner/name, lowercase; ref)` → commit SHA.
pub type PinMap = BTreeMap<(String, String), String>;

/// `owner/repo[/path]@ref` → (`owner/repo` lowercase, `ref`), for actions on a tag or branch.
pub fn pin_key(uses: &str) -> Option<(String, String)> {
    let (action, reference) = uses.trim().rsplit_once('@')?;
    let mut parts = action.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    if owner.is_empty() || name.is_empty() || owner == "." || super::rules::is_full_sha(reference) {
        return None;
    }
    Some((format!("{owner}/{name}").to_ascii_lowercase(), reference.to_string()))
}

/// The `(action repository, ref)` pairs the `unpinned-actions` findings of `files` need resolved.
pub fn wanted_pins(
    policy: &Policy,
    repo: &str,
    files: &[SourceFile],
    skip_rule: &dyn Fn(&str) -> bool,
) -> BTreeSet<(String, String)> {
    let findings = policy.audit_repo(repo, files, skip_rule);
    let mut out = BTreeSet::new();
    for file in files {
        let Ok(source) = std::str::from_utf8(&file.bytes) else { continue };
        let Ok(wf) = workflow::parse(source, super::audit::classify(&file.path) == Some(true)) else { continue };
        for f in findings.iter().filter(|f| f.path == file.path && f.rule == "unpinned-actions" && f.fixable) {
            if let Some(u) = uses_at(&wf, f) {
                out.extend(pin_key(&u.value));
            }
        }
    }
    out
}

/// The `uses:` a finding points at.
fn uses_at<'w>(wf: &'w Workflow, f: &Finding) -> Option<&'w workflow::Located<String>> {
    wf.steps()
        .filter_map(|s| s.uses.as_ref())
        .chain(wf.jobs.iter().filter_map(|j| j.uses.as_ref()))
        .find(|u| u.pos.line == f.line && u.pos.column == f.column)
}

#[derive(Debug, Default)]
pub struct RepoFixes {
    pub files: Vec<FixedFile>,
    pub skipped: Vec<Skipped>,
}

/// An insertion or replacement at a byte range.
struct TextEdit {
    start: usize,
    end: usize,
    text: String,
}

/// Fix what `policy` finds in `files` (findings already filtered by exemptions and ignore
/// comments, so a silenced finding is not fixed either).
pub fn fix_repo(
    policy: &Policy,
    repo: &str,
    files: &[SourceFile],
    skip_rule: &dyn Fn(&str) -> bool,
    pins: &PinMap,
) -> RepoFixes {
    let findings = policy.audit_repo(repo, files, skip_rule);
    let mut out = RepoFixes::default();
    for file in files {
        let mine: Vec<&Finding> = findings.iter().filter(|f| f.path == file.path && f.fixable).collect();
        if mine.is_empty() {
            continue;
        }
        let Ok(source) = std::str::from_utf8(&file.bytes) else { continue };
        let Ok(wf) = workflow::parse(source, super::audit::classify(&file.path) == Some(true)) else { continue };
        let mut edits = Vec::new();
        let mut applied = Vec::new();
        for f in &mine {
            match plan_fix(f, source, &wf, policy, pins) {
                Ok((edit, what)) => {
                    edits.push(edit);
                    applied.push((f.rule.clone(), what));
                }
                Err(reason) => out.skipped.push(Skipped { finding: (*f).clone(), reason }),
            }
        }
        if edits.is_empty() {
            continue;
        }
        let text = apply(source, edits);
        // The fixed file must parse and must no longer have what was fixed.
        let again = policy.audit_repo(
            repo,
            &[SourceFile { path: file.path.clone(), bytes: text.as_bytes().to_vec() }],
            skip_rule,
        );
        // Each rule fixed n times must have at least n fewer fixable findings than before.
        let count = |list: &[&Finding], rule: &str| list.iter().filter(|f| f.rule == rule && f.fixable).count();
        let again: Vec<&Finding> = again.iter().collect();
        let still: Vec<&Finding> = again
            .iter()
            .copied()
            .filter(|f| {
                f.rule == "invalid-workflow"
                    || applied.iter().any(|(r, _)| {
                        *r == f.rule
                            && count(&again, r) + applied.iter().filter(|(a, _)| a == r).count() > count(&mine, r)
                    })
            })
            .collect();
        if !still.is_empty() {
            for f in mine {
                out.skipped.push(Skipped {
                    finding: f.clone(),
                    reason: format!("the fixed file did not check out ({}); left unchanged", still[0].message),
                });
            }
            continue;
        }
        out.files.push(FixedFile { path: file.path.clone(), text, applied });
    }
    out
}

fn apply(source: &str, mut edits: Vec<TextEdit>) -> String {
    // From the end backwards, so earlier offsets stay valid; insertions at one offset keep the
    // order they were planned in.
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut text = source.to_string();
    for e in edits {
        text.replace_range(e.start..e.end, &e.text);
    }
    text
}

/// The start of the line `pos` is on, if nothing but spaces precede `pos` on it.
fn line_start_if_alone(source: &str, pos: Pos) -> Option<usize> {
    let start = source[..pos.offset].rfind('\n').map_or(0, |i| i + 1);
    source[start..pos.offset].chars().all(|c| c == ' ').then_some(start)
}

/// Where a new top-level block goes: before the `jobs:` line, which must start a line at the
/// top-level indentation.
fn top_level_insert(source: &str, wf: &Workflow) -> Result<(usize, String), String> {
    let jobs = wf.jobs_pos.ok_or("the workflow has no `jobs:` key")?;
    let start = line_start_if_alone(source, jobs).ok_or("`jobs:` does not start its own line")?;
    if jobs.column != wf.top_pos.column {
        return Err("the top-level keys are not in block style".into());
    }
    Ok((start, " ".repeat(jobs.column - 1)))
}

/// A step that probably needs a write scope (pushes, releases, comments): with such steps, a
/// read-only default would break the workflow, so the fix is not made.
fn looks_like_it_writes(wf: &Workflow) -> bool {
    const WRITING_ACTIONS: [&str; 7] = [
        "softprops/action-gh-release",
        "peter-evans/create-pull-request",
        "peter-evans/create-or-update-comment",
        "actions/github-script",
        "stefanzweifel/git-auto-commit-action",
        "ncipollo/release-action",
        "googleapis/release-please-action",
    ];
    wf.steps().any(|s| {
        s.action().is_some_and(|a| WRITING_ACTIONS.contains(&a.as_str()))
            || s.run.as_deref().is_some_and(|r| {
                ["git push", "gh release", "gh pr", "gh issue", "gh api", "npm publish", "cargo publish", "docker push"]
                    .iter()
                    .any(|w| r.contains(w))
            })
    })
}

fn plan_fix(
    f: &Finding,
    source: &str,
    wf: &Workflow,
    policy: &Policy,
    pins: &PinMap,
) -> Result<(TextEdit, String), String> {
    match f.rule.as_str() {
        "unpinned-actions" => {
            let uses = uses_at(wf, f).ok_or("`uses:` not found")?;
            let key = pin_key(&uses.value).ok_or("not an action on a tag or branch")?;
            let sha = pins
                .get(&key)
                .ok_or_else(|| format!("could not resolve `{}` of {} through the forge", key.1, key.0))?;
            let quote = usize::from(source[uses.pos.offset..].starts_with(['\'', '"']));
            let start = uses.pos.offset + quote;
            if !source[start..].starts_with(uses.value.as_str()) {
                return Err("the `uses:` value is written across lines or escaped".into());
            }
            let at = start + uses.value.len() - key.1.len();
            let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
            // The version goes in a trailing comment, GitHub's convention for pinned actions; a
            // comment already there keeps its text after the version.
            // A CRLF file keeps its `\r` at the end of the line, after the new comment.
            let line_end = if source[..line_end].ends_with('\r') { line_end - 1 } else { line_end };
            let rest = &source[start + uses.value.len()..line_end];
            let text = match rest.find(" #") {
                // A `# convoy: ...` directive stays a comment of its own, where the audit finds it.
                Some(i) if rest[i + 2..].trim_start().starts_with("convoy:") => {
                    format!("{sha}{} # {}{}", &rest[..i], key.1, &rest[i..])
                }
                Some(i) => {
                    let comment = rest[i + 2..].trim_start();
                    format!("{sha}{} # {} {comment}", &rest[..i], key.1)
                }
                None => format!("{sha}{rest} # {}", key.1),
            };
            Ok((TextEdit { start: at, end: line_end, text }, format!("pinned {} {} to {sha}", key.0, key.1)))
        }
        "concurrency" => {
            let (at, indent) = top_level_insert(source, wf)?;
            let on_pr = wf.triggers.iter().any(|t| t.event.starts_with("pull_request"));
            let cancel = if on_pr { "${{ github.event_name == 'pull_request' }}" } else { "false" };
            let text = format!(
                "{indent}concurrency:\n{indent}  group: ${{{{ github.workflow }}}}-${{{{ github.ref }}}}\n{indent}  cancel-in-progress: {cancel}\n\n"
            );
            Ok((TextEdit { start: at, end: at, text }, "added a concurrency group".into()))
        }
        "permissions" => {
            if wf.permissions.is_some() {
                return Err("the workflow has a permissions block; narrowing it needs a person".into());
            }
            if looks_like_it_writes(wf) {
                return Err("a step pushes, releases or comments: set its job's permissions by hand".into());
            }
            let (at, indent) = top_level_insert(source, wf)?;
            let text = format!("{indent}permissions:\n{indent}  contents: read\n\n");
            Ok((TextEdit { start: at, end: at, text }, "added read-only top-level permissions".into()))
        }
        "timeout" => {
            let job = wf.jobs.iter().find(|j| j.pos.line == f.line && j.timeout.is_none()).ok_or("job not found")?;
            let first = job.body_pos.ok_or("the job is empty")?;
            let at = line_start_if_alone(source, first).ok_or("the job is not in block style")?;
            let minutes = policy.default_timeout_minutes();
            let text = format!("{}timeout-minutes: {minutes}\n", " ".repeat(first.column - 1));
            Ok((TextEdit { start: at, end: at, text }, format!("job `{}`: timeout-minutes {minutes}", job.id)))
        }
        "schedule-frequency" => {
            let cron = wf.schedules.iter().find(|c| c.pos.line == f.line).ok_or("cron not found")?;
            let relaxed = Schedule::parse(&cron.value)
                .ok()
                .and_then(|s| s.relax(policy.min_interval_minutes()))
                .ok_or("the schedule cannot be relaxed safely")?;
            let quote = usize::from(source[cron.pos.offset..].starts_with(['\'', '"']));
            let start = cron.pos.offset + quote;
            if !source[start..].starts_with(&cron.value) {
                return Err("the cron is written across lines or escaped".into());
            }
            let edit = TextEdit { start, end: start + cron.value.len(), text: relaxed.clone() };
            Ok((edit, format!("cron `{}` → `{relaxed}`", cron.value)))
        }
        other => Err(format!("`{other}` has no automatic fix")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(text: &str) -> RepoFixes {
        let file = SourceFile { path: ".github/workflows/ci.yml".into(), bytes: text.as_bytes().to_vec() };
        fix_repo(&Policy::default_rules(), "acme/api", &[file], &|_| false, &PinMap::new())
    }

    #[test]
    fn fixes_keep_every_other_byte() {
        let src = "# CI for the api\nname: ci   # keep this comment\non:\n  push:\n  schedule:\n    - cron: '*/5 * * * *'  # poll\n\njobs:\n  # the only job\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: \"echo 'hi'\"\n";
        let out = fix(src);
        assert_eq!(out.files.len(), 1, "{:?}", out.skipped);
        let expected = "# CI for the api\nname: ci   # keep this comment\non:\n  push:\n  schedule:\n    - cron: '*/30 * * * *'  # poll\n\nconcurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\n  cancel-in-progress: false\n\npermissions:\n  contents: read\n\njobs:\n  # the only job\n  test:\n    timeout-minutes: 30\n    runs-on: ubuntu-latest\n    steps:\n      - run: \"echo 'hi'\"\n";
        assert_eq!(out.files[0].text, expected);
        let rules: Vec<&str> = out.files[0].applied.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rules, ["permissions", "concurrency", "schedule-frequency", "timeout"]);
        // Fixing again finds nothing more to fix.
        assert!(fix(expected).files.is_empty());
    }

    #[test]
    fn pull_request_workflows_cancel_only_pull_request_runs() {
        let out =
            fix("on: [push, pull_request]\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n");
        assert!(out.files[0].text.contains("cancel-in-progress: ${{ github.event_name == 'pull_request' }}\n"));
    }

    #[test]
    fn actions_are_pinned_with_the_version_as_a_comment() {
        let src = "on: push\npermissions: {}\nconcurrency: x\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: actions/checkout@v4\n      - uses: \"acme/tools/setup@v2\"   # our setup\n      - uses: other/thing@v1\n      - uses: ./local\n";
        let file = SourceFile { path: ".github/workflows/ci.yml".into(), bytes: src.as_bytes().to_vec() };
        let policy = Policy::default_rules();
        let wanted = wanted_pins(&policy, "acme/api", std::slice::from_ref(&file), &|_| false);
        let keys: Vec<(&str, &str)> = wanted.iter().map(|(a, r)| (a.as_str(), r.as_str())).collect();
        assert_eq!(keys, [("acme/tools", "v2"), ("actions/checkout", "v4"), ("other/thing", "v1")]);
        let sha = |c: char| c.to_string().repeat(40);
        let pins: PinMap = [
            (("actions/checkout".to_string(), "v4".to_string()), sha('a')),
            (("acme/tools".to_string(), "v2".to_string()), sha('b')),
        ]
        .into_iter()
        .collect();
        let out = fix_repo(&policy, "acme/api", &[file], &|_| false, &pins);
        let fixed = &out.files[0].text;
        assert!(fixed.contains(&format!("      - uses: actions/checkout@{} # v4\n", sha('a'))), "{fixed}");
        assert!(
            fixed.contains(&format!("      - uses: \"acme/tools/setup@{}\"   # v2 our setup\n", sha('b'))),
            "{fixed}"
        );
        assert!(fixed.contains("      - uses: other/thing@v1\n"), "unresolved: left alone\n{fixed}");
        assert!(out.skipped[0].reason.contains("could not resolve `v1` of other/thing"), "{:?}", out.skipped);
    }

    #[test]
    fn pins_keep_directives_and_crlf_line_ends() {
        let src = "on: push\r\npermissions: {}\r\nconcurrency: x\r\njobs:\r\n  a:\r\n    runs-on: x\r\n    timeout-minutes: 5\r\n    steps:\r\n      - uses: actions/checkout@v4 # convoy: ignore[outdated-actions]\r\n";
        let file = SourceFile { path: ".github/workflows/ci.yml".into(), bytes: src.as_bytes().to_vec() };
        let sha = "a".repeat(40);
        let pins: PinMap = [(("actions/checkout".to_string(), "v4".to_string()), sha.clone())].into_iter().collect();
        let out = fix_repo(&Policy::default_rules(), "acme/api", &[file], &|_| false, &pins);
        let fixed = &out.files[0].text;
        let want = format!("      - uses: actions/checkout@{sha} # v4 # convoy: ignore[outdated-actions]\r\n");
        assert!(fixed.ends_with(&want), "{fixed:?}");
    }

    #[test]
    fn unsafe_fixes_are_skipped_with_a_reason() {
        let flow = fix("{on: push, jobs: {a: {runs-on: x, steps: [{run: make}]}}}\n");
        assert!(flow.files.is_empty());
        assert!(
            flow.skipped.iter().any(|s| s.finding.rule == "timeout" && s.reason.contains("block style")),
            "{:?}",
            flow.skipped
        );
        let writes = fix(
            "on: push\nconcurrency: x\njobs:\n  release:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - run: git push --tags\n",
        );
        assert!(writes.files.is_empty());
        assert!(writes.skipped[0].reason.contains("by hand"), "{:?}", writes.skipped);
    }
}
