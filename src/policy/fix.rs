//! `convoy audit --fix`: edits for the findings that can be fixed safely, as text insertions and
//! replacements at the positions the parser gave, so every other byte of the file (comments,
//! ordering, quoting, blank lines, CRLF line ends) stays as it was.
//!
//! # The rule: never break a workflow that works today
//!
//! A fix is made only when convoy can show it does not change what a working workflow does
//! beyond what the fix is for; otherwise the finding is listed for a person with the reason,
//! and only that fix is left out: the file's other fixes still go in. Each fix kind, what it
//! changes and what it cannot:
//!
//! * **concurrency** adds a top-level `concurrency:` group. It changes one thing on purpose: runs
//!   with the same group no longer overlap, and GitHub keeps at most one pending run per group,
//!   replacing an older pending one ("Control the concurrency of workflows and jobs", GitHub
//!   docs). So the group must only join runs that are re-runs of the same work: it is keyed on
//!   `github.ref` for `push`, `pull_request`, `merge_group`, `schedule` and input-less
//!   `workflow_dispatch`; on the pull request's number under `pull_request_target` (where
//!   `github.ref` is the base branch, shared by every pull request); and on `github.event_name`
//!   too when a schedule shares the workflow with other triggers (a nightly run is never replaced
//!   by a push run). It is not written, and left for a person, for a reusable workflow
//!   (`workflow_call`: there `github.workflow` and `github.ref` are the caller's, so the group
//!   could equal the caller's — GitHub cancels the call as a deadlock — or join two calls), for
//!   other triggers (`issue_comment`, `workflow_run`, `release`... run on the default branch's
//!   ref whatever they are about) and for manual runs with inputs. `cancel-in-progress` is true
//!   only for pull-request runs (a superseded commit of the same pull request); pushes,
//!   schedules and deployments finish. After fixing, every call between the repository's
//!   workflows is checked again ([`super::rules::concurrency`]'s deadlock check, human groups
//!   included); a group of convoy's that would equal a caller's or callee's is taken back.
//! * **permissions** adds top-level `permissions: contents: read`, which takes every other scope
//!   away from jobs without their own `permissions:` (a job's own block is untouched by it). It
//!   is made only when convoy knows what each such job needs: every step's action is in
//!   [`super::permission_table`] (the job then gets a job-level block with the scopes the table
//!   cites, never fewer), no script is handed the token (`GITHUB_TOKEN`, `github.token`,
//!   `GH_TOKEN`, in `run:`, `env:`, container credentials...) or pushes or publishes (`git push`,
//!   `gh`, `docker push`/`login`, `npm`/`cargo publish`, `gh-pages`...), no job looks like a
//!   deployment or release by its name, no job calls a reusable workflow (a top-level block
//!   caps what it can grant), and the workflow is not itself reusable with jobs lacking their
//!   own block (its top-level block would cap what its callers grant). It cannot see into
//!   scripts a step runs: a script that pushes with the credentials `actions/checkout` left
//!   behind, under a name that says nothing, is not detected.
//! * **timeout** adds `timeout-minutes` (the configured `default_minutes`, 30) to a job without
//!   one. It changes one thing: a job running longer than that is cancelled instead of running
//!   up to GitHub's 360 minutes. convoy has no run history here, so a job that normally needs
//!   longer would be cut: set `default_minutes` above your slowest job, or ignore the finding
//!   on that job. An anchored job and its aliases get one edit.
//! * **schedule-frequency** rewrites the minute (and hour) field of a cron: the schedule runs less
//!   often, by design; the days, months and weekdays it runs on are kept.
//! * **pin** (`unpinned-actions`) replaces a tag or branch by the commit the forge says it names
//!   now, with the tag as a trailing comment: the same code runs today, and later moves of the
//!   tag are no longer followed (that is the point). Only the ref's bytes and the line's comment
//!   change; the end of the value and the start of the comment come from the parser's spans, so
//!   a `#` inside a quoted string (`ref: "main #1"`) is never taken for a comment. A `uses:`
//!   written as a block scalar (`>-`), behind an anchor, alias or tag, escaped, across lines, or
//!   sharing its line with another `uses:` is left for a person.
//!
//! # How a file is fixed
//!
//! Every fix is planned on the original text; fixes reached twice through YAML aliases (one
//! source position) are made once. The fixes are applied together and the file is audited
//! again: it must parse, each fixed finding must be gone, and no finding may be new. If that
//! fails, the fixes are tried one at a time in order and each is kept only if the file still
//! checks out with it, so one bad fix leaves the others in. A file with CRLF line ends gets CRLF
//! in every inserted line. The caller resolves the tags for pins first, see [`wanted_pins`],
//! since that needs the forge.

use std::collections::{BTreeMap, BTreeSet};

use super::Finding;
use super::audit::Policy;
use super::cron::Schedule;
use super::permission_table::{self, Need};
use super::rules::concurrency;
use crate::workflow::files::SourceFile;
use crate::workflow::uses::{PinMap, UsesRef, classify_uses, is_full_sha};
use crate::workflow::{self, Job, Pos, ScalarStyle, Workflow};

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

/// `owner/repo[/path]@ref` → (`owner/repo` lowercase, `ref`), for actions on a tag or branch:
/// the key of a [`PinMap`]. The value is read by [`classify_uses`], so local (`./`, `$/`) and
/// container (`docker://`) references have no key, like a use without `@ref`, one already on a
/// full commit SHA, or one without an `owner/repo`.
pub fn pin_key(uses: &str) -> Option<(String, String)> {
    let UsesRef::Remote { action, reference: Some(reference) } = classify_uses(uses.trim()) else { return None };
    let mut parts = action.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    if owner.is_empty() || name.is_empty() || is_full_sha(reference) {
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
        let Ok(wf) = workflow::parse(source, crate::workflow::files::classify(&file.path) == Some(true)) else {
            continue;
        };
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
#[derive(Debug, Clone, PartialEq, Eq)]
struct TextEdit {
    start: usize,
    end: usize,
    text: String,
}

/// One fix as planned on the original text.
struct Planned {
    finding: Finding,
    edits: Vec<TextEdit>,
    what: String,
    /// The group a concurrency fix writes (for the repository-level deadlock check).
    group: Option<String>,
}

/// One file's fixes.
struct FileFixes {
    path: String,
    source: String,
    planned: Vec<Planned>,
    /// Planned fixes taken out, and why.
    excluded: BTreeMap<usize, String>,
    /// After settling: the text and the fixes in it.
    text: String,
    accepted: Vec<usize>,
    rejected: Vec<(usize, String)>,
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
    let mut fixes: Vec<FileFixes> = Vec::new();
    for file in files {
        let mut mine: Vec<&Finding> = findings.iter().filter(|f| f.path == file.path && f.fixable).collect();
        // A finding reached twice through an alias is one source position: one fix.
        mine.dedup_by(|a, b| (&a.rule, a.line, a.column) == (&b.rule, b.line, b.column));
        if mine.is_empty() {
            continue;
        }
        let Ok(source) = std::str::from_utf8(&file.bytes) else { continue };
        let Ok(wf) = workflow::parse(source, crate::workflow::files::classify(&file.path) == Some(true)) else {
            continue;
        };
        let mut planned = Vec::new();
        for f in mine {
            match plan_fix(f, source, &wf, policy, pins) {
                Ok((edits, what, group)) => planned.push(Planned { finding: f.clone(), edits, what, group }),
                Err(reason) => out.skipped.push(Skipped { finding: f.clone(), reason }),
            }
        }
        if planned.is_empty() {
            continue;
        }
        fixes.push(FileFixes {
            path: file.path.clone(),
            source: source.to_string(),
            planned,
            excluded: BTreeMap::new(),
            text: source.to_string(),
            accepted: Vec::new(),
            rejected: Vec::new(),
        });
    }
    let before = repo_deadlocks(repo, files, &[]);
    // Settle every file, then check the calls between files; a concurrency fix that makes a
    // caller and a callee share a group is taken out and its file settled again.
    for _round in 0..=fixes.len() {
        for ff in &mut fixes {
            settle(policy, repo, ff, skip_rule);
        }
        let fixed: Vec<(&str, &str)> = fixes.iter().map(|f| (f.path.as_str(), f.text.as_str())).collect();
        let new: Vec<(String, String, String, String)> =
            repo_deadlocks(repo, files, &fixed).into_iter().filter(|d| !before.contains(d)).collect();
        if new.is_empty() {
            break;
        }
        let mut changed = false;
        for ff in &mut fixes {
            for &i in &ff.accepted {
                let Some(group) = &ff.planned[i].group else { continue };
                if let Some((caller, callee, _, _)) = new.iter().find(|(_, _, g, cg)| g == group || cg == group) {
                    ff.excluded.insert(
                        i,
                        format!(
                            "with this group, `{caller}` and the workflow it calls, `{callee}`, would share a concurrency group (GitHub cancels the call as a deadlock); choose the group by hand"
                        ),
                    );
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for ff in fixes {
        for (i, reason) in &ff.excluded {
            out.skipped.push(Skipped { finding: ff.planned[*i].finding.clone(), reason: reason.clone() });
        }
        for (i, reason) in &ff.rejected {
            out.skipped.push(Skipped { finding: ff.planned[*i].finding.clone(), reason: reason.clone() });
        }
        if ff.accepted.is_empty() {
            continue;
        }
        let applied =
            ff.accepted.iter().map(|&i| (ff.planned[i].finding.rule.clone(), ff.planned[i].what.clone())).collect();
        out.files.push(FixedFile { path: ff.path, text: ff.text, applied });
    }
    out
}

/// `(caller path, callee path, callee group, caller group)` of every call between the
/// repository's workflows whose groups are equal, with `fixed` texts in place of the originals.
fn repo_deadlocks(repo: &str, files: &[SourceFile], fixed: &[(&str, &str)]) -> Vec<(String, String, String, String)> {
    let mut parsed: Vec<(&str, Workflow)> = Vec::new();
    for file in files.iter().filter(|f| crate::workflow::files::classify(&f.path) == Some(false)) {
        let text = match fixed.iter().find(|(p, _)| *p == file.path) {
            Some((_, t)) => *t,
            None => match std::str::from_utf8(&file.bytes) {
                Ok(t) => t,
                Err(_) => continue,
            },
        };
        if let Ok(wf) = workflow::parse(text, false) {
            parsed.push((file.path.as_str(), wf));
        }
    }
    let list: Vec<(&str, &Workflow)> = parsed.iter().map(|(p, w)| (*p, w)).collect();
    concurrency::deadlocks(repo, &list)
        .into_iter()
        .map(|d| (list[d.caller].0.to_string(), list[d.callee].0.to_string(), d.group, d.caller_group))
        .collect()
}

/// Apply the planned fixes of one file that are not excluded, keeping only those with which the
/// file checks out (see [`check`]): all together if they do, else one at a time in order.
fn settle(policy: &Policy, repo: &str, ff: &mut FileFixes, skip_rule: &dyn Fn(&str) -> bool) {
    let audit = |text: &str| {
        policy.audit_repo(repo, &[SourceFile { path: ff.path.clone(), bytes: text.as_bytes().to_vec() }], skip_rule)
    };
    let base = audit(&ff.source);
    let candidates: Vec<usize> = (0..ff.planned.len()).filter(|i| !ff.excluded.contains_key(i)).collect();
    ff.rejected.clear();
    let attempt = |chosen: &[usize]| -> Result<String, String> {
        let edits = merged_edits(&ff.planned, chosen)?;
        let text = apply(&ff.source, edits);
        let fixed: Vec<&Planned> = chosen.iter().map(|&i| &ff.planned[i]).collect();
        check(&base, &audit(&text), &fixed).map(|()| text)
    };
    if let Ok(text) = attempt(&candidates) {
        ff.text = text;
        ff.accepted = candidates;
        return;
    }
    let mut accepted: Vec<usize> = Vec::new();
    let mut text = ff.source.clone();
    for i in candidates {
        let mut trial = accepted.clone();
        trial.push(i);
        match attempt(&trial) {
            Ok(t) => {
                text = t;
                accepted = trial;
            }
            Err(reason) => ff.rejected.push((i, format!("{reason}; this fix was left out"))),
        }
    }
    ff.text = text;
    ff.accepted = accepted;
}

/// The edits of the `chosen` fixes, each source position edited once: an edit planned twice
/// (a fix reached through an alias) is made once; two different edits of one range are an error.
fn merged_edits(planned: &[Planned], chosen: &[usize]) -> Result<Vec<TextEdit>, String> {
    let mut out: Vec<TextEdit> = Vec::new();
    for &i in chosen {
        for e in &planned[i].edits {
            if out.contains(e) {
                continue;
            }
            let overlaps = |o: &TextEdit| {
                (o.start < e.end && e.start < o.end) || (o.start == e.start && (o.end > o.start || e.end > e.start))
            };
            if out.iter().any(overlaps) {
                return Err(format!("the `{}` fix edits the same text as another fix", planned[i].finding.rule));
            }
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// The fixed file must parse, must no longer have the findings that were fixed, and must have
/// no finding the original did not have.
fn check(base: &[Finding], after: &[Finding], fixed: &[&Planned]) -> Result<(), String> {
    if let Some(f) = after.iter().find(|f| f.rule == super::rules::INVALID_WORKFLOW) {
        return Err(format!("the fixed file would not parse ({})", f.message));
    }
    let fixable = |list: &[Finding], rule: &str| list.iter().filter(|f| f.rule == rule && f.fixable).count();
    for p in fixed {
        let rule = p.finding.rule.as_str();
        let n = fixed.iter().filter(|q| q.finding.rule == rule).count();
        if fixable(after, rule) + n > fixable(base, rule) {
            return Err(format!("the fixed file still has the `{rule}` finding"));
        }
    }
    let key = |f: &Finding| (f.rule.clone(), f.message.clone());
    let mut counts: BTreeMap<(String, String), isize> = BTreeMap::new();
    for f in base {
        *counts.entry(key(f)).or_default() += 1;
    }
    for f in after {
        let c = counts.entry(key(f)).or_default();
        *c -= 1;
        if *c < 0 {
            return Err(format!("the fix would bring a new `{}` finding: {}", f.rule, f.message));
        }
    }
    Ok(())
}

/// Apply `edits` to `source`. In a file with CRLF line ends, inserted lines end in CRLF too.
fn apply(source: &str, mut edits: Vec<TextEdit>) -> String {
    let crlf = source.contains("\r\n");
    // From the end backwards, so earlier offsets stay valid; insertions at one offset keep the
    // order they were planned in.
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut text = source.to_string();
    for e in edits {
        let new = if crlf { e.text.replace('\n', "\r\n") } else { e.text };
        text.replace_range(e.start..e.end, &new);
    }
    text
}

/// The start of the line `pos` is on, if nothing but spaces precede `pos` on it.
fn line_start_if_alone(source: &str, pos: Pos) -> Option<usize> {
    let start = source[..pos.offset].rfind('\n').map_or(0, |i| i + 1);
    source[start..pos.offset].chars().all(|c| c == ' ').then_some(start)
}

/// The end of the line holding byte `at` (before a CRLF's `\r`).
fn line_end(source: &str, at: usize) -> usize {
    let end = source[at..].find('\n').map_or(source.len(), |i| at + i);
    if source[..end].ends_with('\r') { end - 1 } else { end }
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

/// Where a new key of `job` goes: the start of the line of its first key, and that key's
/// indentation.
fn job_insert(source: &str, job: &Job) -> Result<(usize, String), String> {
    let first = job.body_pos.ok_or("the job is empty")?;
    let at = line_start_if_alone(source, first).ok_or("the job is not in block style")?;
    Ok((at, " ".repeat(first.column - 1)))
}

/// Shell commands that write with the token or publish: a job running one needs write scopes
/// convoy cannot size.
const WRITING_COMMANDS: [&str; 12] = [
    "git push",
    "docker push",
    "docker login",
    "npm publish",
    "yarn publish",
    "pnpm publish",
    "cargo publish",
    "twine upload",
    "gh-pages",
    "gh-deploy",
    "semantic-release",
    "git tag",
];

/// The first writing command in a `run:` script, if any (`gh` counts as a command word).
fn writing_command(run: &str) -> Option<String> {
    let lower = run.to_ascii_lowercase();
    if let Some(w) = WRITING_COMMANDS.iter().find(|w| lower.contains(*w)) {
        return Some((*w).to_string());
    }
    lower
        .split(|c: char| c.is_whitespace() || ";|&()`$\"'".contains(c))
        .any(|word| word == "gh")
        .then(|| "gh".to_string())
}

/// What `job` needs from the token, as scope → level, when convoy can tell (see the module
/// doc); otherwise why not.
fn job_needs(job: &Job) -> Result<BTreeMap<String, String>, String> {
    let id = &job.id;
    if job.uses.is_some() {
        return Err(format!(
            "job `{id}` calls a reusable workflow: a top-level block would cap what it can grant its jobs; set its permissions by hand"
        ));
    }
    if job.mentions_token {
        return Err(format!(
            "job `{id}` hands the token on (`env:`, container credentials...); set its permissions by hand"
        ));
    }
    let label = format!("{id} {}", job.name.as_deref().unwrap_or("")).to_ascii_lowercase();
    if let Some(w) = ["deploy", "release", "publish", "pages"].iter().find(|w| label.contains(*w)) {
        return Err(format!(
            "job `{id}` looks like it does a {w} (by its name), which usually writes; set its permissions by hand"
        ));
    }
    let mut need: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |scope: &str, level: &str| {
        let e = need.entry(scope.to_string()).or_insert_with(|| level.to_string());
        if permission_table::level_rank(level) > permission_table::level_rank(e) {
            *e = level.to_string();
        }
    };
    add("contents", "read");
    for step in &job.steps {
        if let Some(uses) = &step.uses {
            let value = uses.value.trim();
            if value.starts_with("docker://") {
                if step.mentions_token {
                    return Err(format!(
                        "job `{id}` hands the token to the container `{value}`; set its permissions by hand"
                    ));
                }
                continue;
            }
            if value.starts_with("./") {
                return Err(format!(
                    "job `{id}` runs the local action `{value}`, which may use the token; set its permissions by hand"
                ));
            }
            let action = step.action().unwrap_or_default();
            match permission_table::lookup(&action).map(|e| e.need) {
                None => {
                    return Err(format!(
                        "job `{id}` uses `{action}`, which is not in convoy's permission table (an input of it may default to `github.token`); set its permissions by hand"
                    ));
                }
                Some(Need::Unknowable) => {
                    return Err(format!(
                        "job `{id}` runs `{action}`, which does whatever its script asks with the token; set its permissions by hand"
                    ));
                }
                Some(Need::Scopes { scopes, extra }) => {
                    for (scope, level) in scopes {
                        add(scope, level);
                    }
                    for (input, more) in extra {
                        if step.input(input).is_some_and(|v| v.value.trim() != "false") {
                            for (scope, level) in *more {
                                add(scope, level);
                            }
                        }
                    }
                }
            }
        }
        if let Some(run) = &step.run {
            if step.mentions_token {
                return Err(format!("job `{id}` hands the token to a script; set its permissions by hand"));
            }
            if let Some(w) = writing_command(run) {
                return Err(format!("job `{id}` runs `{w}`, which writes or publishes; set its permissions by hand"));
            }
        }
    }
    Ok(need)
}

/// A planned fix: its edits, what it does (for the PR body), and the group a concurrency fix
/// writes.
type Plan = (Vec<TextEdit>, String, Option<String>);

fn plan_fix(f: &Finding, source: &str, wf: &Workflow, policy: &Policy, pins: &PinMap) -> Result<Plan, String> {
    match f.rule.as_str() {
        "unpinned-actions" => plan_pin(f, source, wf, pins),
        "concurrency" => {
            let (group, cancel) = concurrency::proposed_group(wf)?;
            let (at, indent) = top_level_insert(source, wf)?;
            let text =
                format!("{indent}concurrency:\n{indent}  group: {group}\n{indent}  cancel-in-progress: {cancel}\n\n");
            Ok((vec![TextEdit { start: at, end: at, text }], "added a concurrency group".into(), Some(group)))
        }
        "permissions" => plan_permissions(source, wf),
        "timeout" => {
            let job = wf.jobs.iter().find(|j| j.pos.line == f.line && j.timeout.is_none()).ok_or("job not found")?;
            let (at, indent) = job_insert(source, job)?;
            let minutes = policy.default_timeout_minutes();
            let text = format!("{indent}timeout-minutes: {minutes}\n");
            Ok((
                vec![TextEdit { start: at, end: at, text }],
                format!("job `{}`: timeout-minutes {minutes}", job.id),
                None,
            ))
        }
        "schedule-frequency" => {
            let cron = wf.schedules.iter().find(|c| c.pos.line == f.line).ok_or("cron not found")?;
            let relaxed = Schedule::parse(&cron.value)
                .ok()
                .and_then(|s| s.relax(policy.min_interval_minutes()))
                .ok_or("the schedule cannot be relaxed safely")?;
            let (start, end) = scalar_text(source, wf, cron.pos.offset, &cron.value, "cron")?;
            let edit = TextEdit { start, end, text: relaxed.clone() };
            Ok((vec![edit], format!("cron `{}` → `{relaxed}`", cron.value), None))
        }
        other => Err(format!("`{other}` has no automatic fix")),
    }
}

/// The byte range of a one-line plain or quoted scalar's text (inside its quotes), which must
/// read exactly `value` (no escapes, no folding), from the parser's span.
fn scalar_text(source: &str, wf: &Workflow, at: usize, value: &str, what: &str) -> Result<(usize, usize), String> {
    let span = wf.scalar_at(source, at).ok_or_else(|| format!("the `{what}` value is not where the parser put it"))?;
    let quote = match span.style {
        ScalarStyle::Plain => 0,
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => 1,
        ScalarStyle::Block => return Err(format!("the `{what}` value is a block scalar (`|` or `>`)")),
        ScalarStyle::Other if source[span.start..].starts_with('*') => {
            return Err(format!("the `{what}` value is an alias: it changes with its anchor, where it is fixed"));
        }
        ScalarStyle::Other => return Err(format!("the `{what}` value is written behind an anchor or tag")),
    };
    let (start, end) = (span.start + quote, span.end.saturating_sub(quote));
    if source.get(start..end) != Some(value) {
        return Err(format!("the `{what}` value is written across lines or escaped"));
    }
    Ok((start, end))
}

fn plan_pin(f: &Finding, source: &str, wf: &Workflow, pins: &PinMap) -> Result<Plan, String> {
    let uses = uses_at(wf, f).ok_or("`uses:` not found")?;
    let key = pin_key(&uses.value).ok_or("not an action on a tag or branch")?;
    let sha = pins.get(&key).ok_or_else(|| format!("could not resolve `{}` of {} through the forge", key.1, key.0))?;
    let (_, end) = scalar_text(source, wf, uses.pos.offset, &uses.value, "uses")?;
    let span_end = wf.scalar_at(source, uses.pos.offset).map_or(end, |s| s.end);
    let reference = end - key.1.len();
    let mut edits = vec![TextEdit { start: reference, end, text: sha.clone() }];
    // The version goes in a trailing comment, GitHub's convention for pinned actions; a comment
    // already there keeps its text after the version.
    let eol = line_end(source, span_end);
    let others_on_line = wf
        .steps()
        .filter_map(|s| s.uses.as_ref())
        .chain(wf.jobs.iter().filter_map(|j| j.uses.as_ref()))
        .any(|u| u.pos.line == uses.pos.line && u.pos.offset != uses.pos.offset);
    if others_on_line {
        return Err("another `uses:` shares this line, so the version comment would be ambiguous".into());
    }
    if wf.inside_scalar(eol) {
        return Err("a value continues past the end of this line, so no comment can follow it there".into());
    }
    match wf.comment_after(source, span_end) {
        // A `# convoy: ...` directive stays a comment of its own, where the audit finds it.
        Some(c) if source[c + 1..eol].trim_start().starts_with("convoy:") => {
            edits.push(TextEdit { start: c, end: c, text: format!("# {} ", key.1) });
        }
        Some(c) => {
            let comment = source[c + 1..eol].trim_start().to_string();
            edits.push(TextEdit { start: c, end: eol, text: format!("# {} {comment}", key.1) });
        }
        None => edits.push(TextEdit { start: eol, end: eol, text: format!(" # {}", key.1) }),
    }
    Ok((edits, format!("pinned {} {} to {sha}", key.0, key.1), None))
}

fn plan_permissions(source: &str, wf: &Workflow) -> Result<Plan, String> {
    if wf.permissions.is_some() {
        return Err("the workflow has a permissions block; narrowing it needs a person".into());
    }
    let open: Vec<&Job> = wf.jobs.iter().filter(|j| j.permissions.is_none()).collect();
    if wf.is_reusable() && !open.is_empty() {
        return Err("this is a reusable workflow (`workflow_call`) with jobs that set no `permissions`: a top-level block would cap what its callers grant (`packages: write`, `id-token: write`...); set each job's permissions by hand".into());
    }
    if wf.mentions_token {
        return Err("the workflow's `env:` hands the token to every job; set its jobs' permissions by hand".into());
    }
    let mut edits = Vec::new();
    let mut granted = Vec::new();
    let mut seen_bodies = Vec::new();
    for job in &open {
        let need = job_needs(job)?;
        if need.keys().all(|s| s == "contents") && need.get("contents").is_none_or(|l| l == "read") {
            continue;
        }
        let (at, indent) = job_insert(source, job)?;
        let scopes: Vec<String> = need.iter().map(|(s, l)| format!("{s}: {l}")).collect();
        granted.push(format!("job `{}`: {}", job.id, scopes.join(", ")));
        // One body reached through aliases gets one block.
        if seen_bodies.contains(&at) {
            continue;
        }
        seen_bodies.push(at);
        let lines: String = scopes.iter().map(|s| format!("{indent}  {s}\n")).collect();
        edits.push(TextEdit { start: at, end: at, text: format!("{indent}permissions:\n{lines}") });
    }
    let (at, indent) = top_level_insert(source, wf)?;
    edits.insert(
        0,
        TextEdit { start: at, end: at, text: format!("{indent}permissions:\n{indent}  contents: read\n\n") },
    );
    let what = if granted.is_empty() {
        "added read-only top-level permissions".to_string()
    } else {
        format!("added read-only top-level permissions; {} (from convoy's permission table)", granted.join("; "))
    };
    Ok((edits, what, None))
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
        let expected = "# CI for the api\nname: ci   # keep this comment\non:\n  push:\n  schedule:\n    - cron: '*/30 * * * *'  # poll\n\nconcurrency:\n  group: ${{ github.workflow }}-${{ github.event_name }}-${{ github.ref }}\n  cancel-in-progress: false\n\npermissions:\n  contents: read\n\njobs:\n  # the only job\n  test:\n    timeout-minutes: 30\n    runs-on: ubuntu-latest\n    steps:\n      - run: \"echo 'hi'\"\n";
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
    fn pin_keys_are_read_through_classify_uses() {
        let key = |uses: &str| pin_key(uses).map(|(a, r)| format!("{a} {r}"));
        // What the `unpinned-actions` rule reports (remote uses on a tag or branch) keeps the key
        // the hand-written split gave it.
        assert_eq!(key("actions/checkout@v4").as_deref(), Some("actions/checkout v4"));
        assert_eq!(key("  Actions/Checkout@v4.2.2 ").as_deref(), Some("actions/checkout v4.2.2"));
        assert_eq!(key("github/codeql-action/init@v3").as_deref(), Some("github/codeql-action v3"));
        assert_eq!(key("acme/wf/.github/workflows/ci.yml@main").as_deref(), Some("acme/wf main"));
        assert_eq!(key("acme/tool@releases/v1").as_deref(), Some("acme/tool releases/v1"));
        assert_eq!(key("acme/tool@a@b").as_deref(), Some("acme/tool@a b"), "the last `@` splits, as before");
        assert_eq!(key("acme/tool@").as_deref(), Some("acme/tool "), "an empty ref, as before");
        // Nothing to pin, as before: no ref, a full SHA, no owner/repo, local and container uses.
        for uses in [
            "acme/tool",
            "actions/checkout@0123456789abcdef0123456789abcdef01234567",
            "tool@v1",
            "/tool@v1",
            "./.github/actions/setup@v1",
            "./.github/actions/setup",
            "docker://alpine:3",
            "docker://ghcr.io/acme/img@sha256:0123",
            // New with classify_uses: a same-repository `$/` use has no key (the old split read
            // `$` as an owner). The rule never reports one, so no pin was ever asked for it.
            "$/acme/setup@v1",
        ] {
            assert_eq!(key(uses), None, "{uses}");
        }
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

    fn fix_files(files: &[(&str, &str)], pins: &PinMap) -> RepoFixes {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(p, t)| SourceFile { path: format!(".github/workflows/{p}"), bytes: t.as_bytes().to_vec() })
            .collect();
        fix_repo(&Policy::default_rules(), "acme/api", &files, &|_| false, pins)
    }

    fn text_of<'a>(out: &'a RepoFixes, name: &str) -> Option<&'a str> {
        out.files.iter().find(|f| f.path.ends_with(name)).map(|f| f.text.as_str())
    }

    fn reason<'a>(out: &'a RepoFixes, path: &str, rule: &str) -> Option<&'a str> {
        out.skipped.iter().find(|s| s.finding.path.ends_with(path) && s.finding.rule == rule).map(|s| s.reason.as_str())
    }

    const CALLER: &str = "name: CI\non: push\npermissions: {}\njobs:\n  build:\n    uses: ./.github/workflows/build.yml\n  lint:\n    runs-on: x\n    steps:\n      - run: make lint\n";

    #[test]
    fn a_called_workflow_gets_no_group_that_could_equal_its_callers() {
        let callee = "name: Build\non: [push, workflow_call]\npermissions: {}\njobs:\n  b:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - run: make\n";
        let out = fix_files(&[("ci.yml", CALLER), ("build.yml", callee)], &PinMap::new());
        let ci = text_of(&out, "ci.yml").expect("ci.yml fixed");
        assert!(ci.contains("group: ${{ github.workflow }}-${{ github.ref }}\n"), "{ci}");
        assert!(text_of(&out, "build.yml").is_none(), "{out:?}");
        assert!(reason(&out, "build.yml", "concurrency").is_some_and(|r| r.contains("reusable workflow")), "{out:?}");

        // The callee's own (human) group is what the caller's would be: the caller's group is
        // taken back, its other fixes stay.
        let grouped = callee.replace(
            "permissions: {}\n",
            "permissions: {}\nconcurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\n",
        );
        let out = fix_files(&[("ci.yml", CALLER), ("build.yml", &grouped)], &PinMap::new());
        let ci = text_of(&out, "ci.yml").expect("ci.yml keeps its other fixes");
        assert!(!ci.contains("concurrency:"), "{ci}");
        assert!(ci.contains("  lint:\n    timeout-minutes: 30\n"), "{ci}");
        let why = reason(&out, "ci.yml", "concurrency").expect("listed for a person");
        assert!(why.contains("deadlock") && why.contains("build.yml"), "{why}");

        // A job-level group in the callee counts too, and so does the calling job's.
        let job_level = callee
            .replace("    timeout-minutes: 5\n", "    timeout-minutes: 5\n    concurrency: CI-${{ github.ref }}\n");
        let out = fix_files(&[("ci.yml", CALLER), ("build.yml", &job_level)], &PinMap::new());
        assert!(reason(&out, "ci.yml", "concurrency").is_some_and(|r| r.contains("deadlock")), "{out:?}");
    }

    #[test]
    fn pull_request_target_groups_are_per_pull_request() {
        let out =
            fix("on: pull_request_target\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n");
        let text = &out.files[0].text;
        assert!(
            text.contains("group: ${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}\n"),
            "{text}"
        );
        // Events that run on the default branch's ref whatever they are about are left alone.
        let out =
            fix("on: [push, issue_comment]\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n");
        assert!(out.files.is_empty(), "{out:?}");
        assert!(out.skipped[0].reason.contains("`issue_comment`"), "{out:?}");
    }

    #[test]
    fn permissions_that_jobs_need_are_kept_or_granted_from_the_table() {
        let head = "on:\n  schedule:\n    - cron: '0 3 * * *'\nconcurrency: x\njobs:\n";
        // A scheduled stale job: the table's scopes in a job-level block.
        let stale = format!(
            "{head}  stale:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: actions/stale@v9\n        with:\n          days-before-stale: 30\n"
        );
        let out = fix(&stale);
        let text = &out.files[0].text;
        assert!(text.contains("\npermissions:\n  contents: read\n\njobs:\n"), "{text}");
        assert!(
            text.contains("  stale:\n    permissions:\n      actions: write\n      contents: read\n      issues: write\n      pull-requests: write\n    runs-on: x\n"),
            "{text}"
        );
        // `delete-branch` needs contents: write as well.
        let out = fix(&stale.replace("days-before-stale: 30", "delete-branch: true"));
        assert!(out.files[0].text.contains("      contents: write\n"), "{}", out.files[0].text);
        // rustsec/audit-check with the token: checks and issues.
        let audit = format!(
            "{head}  audit:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: actions/checkout@v4\n      - uses: rustsec/audit-check@v2\n        with:\n          token: ${{{{ secrets.GITHUB_TOKEN }}}}\n"
        );
        let text = &fix(&audit).files[0].text;
        assert!(
            text.contains("    permissions:\n      checks: write\n      contents: read\n      issues: write\n"),
            "{text}"
        );

        // Left for a person: a Pages deploy pushing with the token, docker login + push, an
        // unknown action, the token in `env:`, a reusable workflow.
        let cases = [
            (
                "      - run: git push origin gh-pages\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n",
                "hands the token",
            ),
            (
                "      - run: |\n          echo ${{ github.token }} | docker login ghcr.io -u x --password-stdin\n          docker push ghcr.io/acme/app\n",
                "hands the token",
            ),
            ("      - run: docker push ghcr.io/acme/app\n", "docker push"),
            ("      - uses: acme/some-action@v1\n", "not in convoy's permission table"),
            ("      - uses: actions/github-script@v7\n        with:\n          script: return 1\n", "script"),
            ("      - run: gh pr list\n", "`gh`"),
        ];
        for (steps, why) in cases {
            let src = format!("{head}  job:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n{steps}");
            let out = fix(&src);
            assert!(out.files.is_empty(), "{src}\n{out:?}");
            assert!(reason(&out, "ci.yml", "permissions").is_some_and(|r| r.contains(why)), "{src}\n{out:?}");
        }
        let env = format!(
            "{head}  job:\n    runs-on: x\n    timeout-minutes: 5\n    env:\n      GH_TOKEN: ${{{{ github.token }}}}\n    steps:\n      - run: make\n"
        );
        assert!(reason(&fix(&env), "ci.yml", "permissions").is_some_and(|r| r.contains("hands the token on")));
        let reusable = "on: [push, workflow_call]\nconcurrency: x\njobs:\n  publish:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: actions/checkout@v4\n";
        let out = fix(reusable);
        assert!(
            reason(&out, "ci.yml", "permissions").is_some_and(|r| r.contains("cap what its callers grant")),
            "{out:?}"
        );
        // A job with its own block is not affected by the top-level one.
        let own = format!(
            "{head}  stale:\n    permissions:\n      issues: write\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: actions/stale@v9\n  lint:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - run: make lint\n"
        );
        let text = &fix(&own).files[0].text;
        assert!(text.contains("\npermissions:\n  contents: read\n\njobs:\n"), "{text}");
        assert_eq!(text.matches("permissions:").count(), 2, "{text}");
    }

    #[test]
    fn a_fix_that_does_not_check_out_is_left_out_alone() {
        // `default_minutes` above the ceiling: the timeout fix would bring a new finding, so it
        // alone is left out; the other fixes of the file go in.
        let config: crate::policy::config::PolicyConfig =
            toml::from_str("[rules.timeout]\ndefault_minutes = 200\n").expect("config");
        let policy = Policy::new(&config).expect("policy");
        let file = SourceFile {
            path: ".github/workflows/ci.yml".into(),
            bytes: b"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: make\n".to_vec(),
        };
        let out = fix_repo(&policy, "acme/api", &[file], &|_| false, &PinMap::new());
        let text = &out.files[0].text;
        assert!(text.contains("concurrency:") && text.contains("permissions:"), "{text}");
        assert!(!text.contains("timeout-minutes"), "{text}");
        let why = reason(&out, "ci.yml", "timeout").expect("listed");
        assert!(why.contains("new `timeout` finding") && why.contains("left out"), "{why}");

        // A planned edit that would break the YAML is rejected; the good one stays.
        let source = "on: push\njobs:\n  a:\n    runs-on: x\n";
        let finding = |rule: &str, line| Finding {
            rule: rule.into(),
            severity: crate::policy::Severity::Warning,
            repo: "acme/api".into(),
            path: ".github/workflows/ci.yml".into(),
            line,
            column: 1,
            message: String::new(),
            hint: String::new(),
            fixable: true,
        };
        let bad = Planned {
            finding: finding("concurrency", 1),
            edits: vec![TextEdit { start: 0, end: 0, text: "[\n".into() }],
            what: "bad".into(),
            group: None,
        };
        let good = Planned {
            finding: finding("timeout", 3),
            edits: vec![TextEdit { start: 20, end: 20, text: "    timeout-minutes: 5\n".into() }],
            what: "good".into(),
            group: None,
        };
        let mut ff = FileFixes {
            path: ".github/workflows/ci.yml".into(),
            source: source.into(),
            planned: vec![bad, good],
            excluded: BTreeMap::new(),
            text: source.into(),
            accepted: Vec::new(),
            rejected: Vec::new(),
        };
        settle(&Policy::default_rules(), "acme/api", &mut ff, &|_| false);
        assert_eq!(ff.accepted, [1]);
        assert_eq!(ff.text, "on: push\njobs:\n  a:\n    timeout-minutes: 5\n    runs-on: x\n");
        assert!(ff.rejected[0].1.contains("would not parse"), "{:?}", ff.rejected);
    }

    #[test]
    fn aliases_crlf_block_scalars_and_flow_mappings() {
        let sha = "a".repeat(40);
        let pins: PinMap = [(("actions/checkout".to_string(), "v4".to_string()), sha.clone())].into_iter().collect();
        // An anchored step reused by an alias: one finding, one pin.
        let src = "on: push\npermissions: {}\nconcurrency: x\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - &co\n        uses: actions/checkout@v4\n  b:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - *co\n";
        let file = SourceFile { path: ".github/workflows/ci.yml".into(), bytes: src.as_bytes().to_vec() };
        let findings = Policy::default_rules().audit_repo("acme/api", std::slice::from_ref(&file), &|_| false);
        assert_eq!(findings.iter().filter(|f| f.rule == "unpinned-actions").count(), 1, "{findings:#?}");
        let out = fix_files(&[("ci.yml", src)], &pins);
        let text = text_of(&out, "ci.yml").expect("fixed");
        assert!(text.contains(&format!("        uses: actions/checkout@{sha} # v4\n  b:")), "{text}");
        // A job alias: one timeout, inserted once.
        let src = "on: push\npermissions: {}\nconcurrency: x\njobs:\n  a: &job\n    runs-on: x\n    steps:\n      - run: make\n  b: *job\n";
        let out = fix(src);
        assert_eq!(out.files[0].text.matches("timeout-minutes").count(), 1, "{}", out.files[0].text);
        assert_eq!(out.files[0].applied.len(), 1, "{:?}", out.files[0].applied);

        // CRLF: every inserted line ends in CRLF.
        let crlf = "on: push\r\njobs:\r\n  a:\r\n    runs-on: x\r\n    steps:\r\n      - run: make\r\n";
        let out = fix(crlf);
        let text = &out.files[0].text;
        assert!(text.contains("timeout-minutes: 30\r\n") && text.contains("contents: read\r\n"), "{text:?}");
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "{text:?}");

        // A block scalar `uses:` is left for a person; the file's other fixes go in.
        let block = "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - uses: >-\n          actions/checkout@v4\n";
        let out = fix_files(&[("ci.yml", block)], &pins);
        let text = text_of(&out, "ci.yml").expect("the concurrency fix still goes in");
        assert!(text.contains("concurrency:") && text.contains("          actions/checkout@v4\n"), "{text}");
        assert!(reason(&out, "ci.yml", "unpinned-actions").is_some_and(|r| r.contains("block scalar")), "{out:?}");

        // A flow mapping: the quoted `#` is a string, not a comment.
        let flow = "on: push\npermissions: {}\nconcurrency: x\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 5\n    steps:\n      - {uses: actions/checkout@v4, with: {ref: \"main #1\"}}\n";
        let out = fix_files(&[("ci.yml", flow)], &pins);
        let text = text_of(&out, "ci.yml").expect("pinned");
        assert!(
            text.ends_with(&format!("      - {{uses: actions/checkout@{sha}, with: {{ref: \"main #1\"}}}} # v4\n")),
            "{text}"
        );
    }
}
