//! `concurrency`: workflows triggered by pushes, pull requests or schedules without a
//! concurrency group run side by side, piling up minutes on superseded commits; pull-request
//! workflows should also cancel the run they replace.
//!
//! Three more ways a group goes wrong are reported (not fixed: the group is a person's
//! choice):
//! * a group on a `pull_request`/`pull_request_target` workflow that is the same for every pull
//!   request (a constant, `github.base_ref`, or `github.ref` under `pull_request_target`, where
//!   it is the base branch): GitHub keeps one running and one pending run per group, so runs of
//!   other pull requests are cancelled or silently replaced ("Control the concurrency of
//!   workflows and jobs", GitHub docs `actions/writing-workflows/choosing-what-your-workflow-does/control-the-concurrency-of-workflows-and-jobs`);
//! * a reusable workflow (`workflow_call`) whose group equals a group of a workflow calling it:
//!   in a called workflow `github.workflow` and `github.ref` are the caller's ("Reusing
//!   workflows", `actions/sharing-automations/reusing-workflows`, "Supported keywords... `github`
//!   context"), so both groups evaluate to the same string and GitHub cancels the call
//!   ("Canceling ... deadlock was detected"). [`deadlocks`] finds them across a repository's
//!   files; `audit --fix` runs it again after fixing.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::workflow::{Pos, Workflow};

pub struct Concurrency;

const TRIGGERS: [&str; 5] = ["push", "pull_request", "pull_request_target", "schedule", "merge_group"];

/// Triggers whose runs the fix's group keys correctly: `github.ref` is the pushed branch or
/// tag (`push`), the pull request's merge ref (`pull_request`), the merge-queue branch
/// (`merge_group`), the default branch (`schedule`, where overlapping runs are the same job)
/// or the chosen ref (`workflow_dispatch` without inputs); `pull_request_target` is keyed by
/// the pull request's number. Other events (`issue_comment`, `workflow_run`, `release`...) run
/// on the default branch's ref whatever they are about, so one group would drop their runs.
const FIX_KNOWS: [&str; 6] =
    ["push", "pull_request", "pull_request_target", "merge_group", "schedule", "workflow_dispatch"];

/// Expression parts that differ between pull requests: a group that uses none of them is shared
/// by all pull requests. `github.ref` counts under `pull_request` (`refs/pull/<n>/merge`) but
/// not under `pull_request_target`, where it is the base branch (GitHub docs "Events that
/// trigger workflows", `actions/writing-workflows/choosing-when-your-workflow-runs/events-that-trigger-workflows`).
const PER_PR: [&str; 9] = [
    "github.event.pull_request.number",
    "github.event.number",
    "github.head_ref",
    "github.event.pull_request.head.",
    "github.event.pull_request.id",
    "github.event.pull_request.url",
    "github.event.pull_request.html_url",
    "github.run_id",
    "github.run_number",
];

/// What the fix writes: `(group, cancel-in-progress)`, or why no group can be written safely.
pub(crate) fn proposed_group(wf: &Workflow) -> Result<(String, String), String> {
    if wf.is_reusable() {
        return Err("this is a reusable workflow (`workflow_call`): when called, `github.workflow` and `github.ref` are the caller's, so a group here can equal the caller's (GitHub cancels the call as a deadlock) or be shared by two calls; choose its group by hand".into());
    }
    if let Some(t) = wf.triggers.iter().find(|t| !FIX_KNOWS.contains(&t.event.as_str())) {
        return Err(format!(
            "runs triggered by `{}` do not get a ref of their own, so one group would cancel or drop them; choose its group by hand",
            t.event
        ));
    }
    if !wf.dispatch_inputs.is_empty() {
        return Err("manual runs take inputs, so two of them are different requests that one group would drop; choose its group by hand".into());
    }
    let key = if wf.has_trigger("pull_request_target") {
        "github.event.pull_request.number || github.ref"
    } else {
        "github.ref"
    };
    // A scheduled run and a push run of the same ref may do different things (`if:` on
    // `github.event_name`): keyed apart, one never replaces the other.
    let event = if wf.has_trigger("schedule") && wf.triggers.len() > 1 { "${{ github.event_name }}-" } else { "" };
    let group = format!("${{{{ github.workflow }}}}-{event}${{{{ {key} }}}}");
    // Only a pull request's superseded runs are cancelled (per pull request, given the group);
    // pushes, schedules and deployments finish.
    let cancel = match (wf.has_trigger("pull_request"), wf.has_trigger("pull_request_target")) {
        (true, true) => "${{ github.event_name == 'pull_request' || github.event_name == 'pull_request_target' }}",
        (true, false) => "${{ github.event_name == 'pull_request' }}",
        (false, true) => "${{ github.event_name == 'pull_request_target' }}",
        (false, false) => "false",
    };
    Ok((group, cancel.to_string()))
}

/// Whether `group` is the same for every pull request of a workflow triggered by
/// `pull_request_target` (`target`) or `pull_request`.
fn shared_by_all_prs(group: &str, target: bool) -> bool {
    let lower = group.to_ascii_lowercase();
    let per_pr = PER_PR.iter().any(|k| lower.contains(k));
    // `github.ref`, `github.ref_name` and `github.sha` name the pull request's merge ref under
    // `pull_request`, the base branch under `pull_request_target`.
    let by_ref = !target && (lower.contains("github.ref") || lower.contains("github.sha"));
    !(per_pr || by_ref)
}

/// A reusable-workflow call whose callee shares a concurrency group with it or its callers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Deadlock {
    /// Index of the calling file and position of its `uses:`.
    pub caller: usize,
    pub call: Pos,
    /// Index of the called file (which may itself be called further down).
    pub callee: usize,
    /// The group as written in the callee, and the caller-side group it equals.
    pub group: String,
    pub caller_group: String,
}

/// The value of a group in a run whose top workflow is named `name`: literal text and
/// `${{ }}` expressions, with `github.workflow` replaced by `name`. Other `github.*` and `vars.*`
/// expressions are kept as written (the whole call chain shares them); `None` when the group
/// depends on something a caller and a callee see differently (`inputs`, `matrix`, `needs`...),
/// so equality cannot be decided.
fn evaluate(group: &str, name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = group;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let end = after.find("}}")?;
        let expr: String = after[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = expr.to_ascii_lowercase();
        if lower == "github.workflow" {
            out.push_str(name);
        } else if ["inputs.", "matrix.", "needs.", "strategy.", "steps.", "job.", "env."]
            .iter()
            .any(|c| lower.contains(c))
        {
            return None;
        } else {
            out.push('\u{1}');
            out.push_str(&lower);
            out.push('\u{1}');
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// The name `github.workflow` has in runs of a workflow: its `name:`, else its file path
/// (GitHub docs "Workflow syntax", `name`).
fn run_name<'a>(wf: &'a Workflow, path: &'a str) -> &'a str {
    wf.name.as_deref().unwrap_or(path)
}

/// The workflow file a job-level `uses:` calls in this repository: `./.github/workflows/x.yml`,
/// or `owner/repo/.github/workflows/x.yml@ref` naming this repository.
fn called_path(uses: &str, repo: &str) -> Option<String> {
    let uses = uses.trim();
    if let Some(p) = uses.strip_prefix("./") {
        return Some(p.to_string());
    }
    let (path, _) = uses.rsplit_once('@')?;
    let mut parts = path.splitn(3, '/');
    let (owner, name, rest) = (parts.next()?, parts.next()?, parts.next()?);
    format!("{owner}/{name}").eq_ignore_ascii_case(repo).then(|| rest.to_string())
}

/// Every group of `wf` that applies inside one of its runs: workflow level and each job's.
fn groups(wf: &Workflow) -> Vec<&str> {
    wf.concurrency
        .iter()
        .chain(wf.jobs.iter().filter_map(|j| j.concurrency.as_ref()))
        .filter_map(|c| c.group.as_deref())
        .collect()
}

/// Calls between `files` (`(repository-relative path, workflow)`) of `repo` whose callee has a
/// concurrency group equal to one of its callers' (the calling workflow's, or the calling
/// job's), evaluated as GitHub would in the called run. Nested calls are followed (GitHub
/// allows a few levels), each file at most once per chain.
pub(crate) fn deadlocks(repo: &str, files: &[(&str, &Workflow)]) -> Vec<Deadlock> {
    let mut out = Vec::new();
    for (top, (path, wf)) in files.iter().enumerate() {
        let name = run_name(wf, path);
        let ancestors: Vec<(String, String)> = wf
            .concurrency
            .iter()
            .filter_map(|c| c.group.as_deref())
            .filter_map(|g| Some((evaluate(g, name)?, g.to_string())))
            .collect();
        walk(repo, files, top, name, &ancestors, &mut vec![top], &mut out);
    }
    out.sort_by_key(|d| (d.caller, d.call.offset, d.callee));
    out.dedup();
    out
}

fn walk(
    repo: &str,
    files: &[(&str, &Workflow)],
    at: usize,
    name: &str,
    ancestors: &[(String, String)],
    chain: &mut Vec<usize>,
    out: &mut Vec<Deadlock>,
) {
    if chain.len() > 10 {
        return;
    }
    for job in &files[at].1.jobs {
        let Some(uses) = &job.uses else { continue };
        let Some(path) = called_path(&uses.value, repo) else { continue };
        let Some(callee) = files.iter().position(|(p, _)| *p == path) else { continue };
        if chain.contains(&callee) {
            continue;
        }
        let mut mine = ancestors.to_vec();
        mine.extend(
            job.concurrency
                .iter()
                .filter_map(|c| c.group.as_deref())
                .filter_map(|g| Some((evaluate(g, name)?, g.to_string()))),
        );
        let callee_wf = files[callee].1;
        for g in groups(callee_wf) {
            let Some(value) = evaluate(g, name) else { continue };
            if let Some((_, caller_group)) = mine.iter().find(|(v, _)| *v == value) {
                out.push(Deadlock {
                    caller: at,
                    call: uses.pos,
                    callee,
                    group: g.to_string(),
                    caller_group: caller_group.clone(),
                });
            }
        }
        let mut next = mine;
        next.extend(
            callee_wf
                .concurrency
                .iter()
                .filter_map(|c| c.group.as_deref())
                .filter_map(|g| Some((evaluate(g, name)?, g.to_string()))),
        );
        chain.push(callee);
        walk(repo, files, callee, name, &next, chain, out);
        chain.pop();
    }
}

impl Rule for Concurrency {
    fn id(&self) -> &'static str {
        "concurrency"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "Workflows triggered by push, pull_request or schedule declare a concurrency group; pull-request workflows cancel superseded runs; groups are per pull request and never equal a calling workflow's."
    }
    fn help(&self) -> &'static str {
        "Add `concurrency: {group: ${{ github.workflow }}-${{ github.ref }}, cancel-in-progress: true}` at the top of the workflow."
    }
    fn check_file(&self, file: &FileCtx<'_>, options: &Options, out: &mut Vec<Hit>) {
        let wf = file.workflow;
        let fired: Vec<&str> = wf.triggers.iter().map(|t| t.event.as_str()).filter(|e| TRIGGERS.contains(e)).collect();
        if fired.is_empty() || wf.jobs.is_empty() {
            return;
        }
        let target = fired.contains(&"pull_request_target");
        let on_pr = fired.iter().any(|e| e.starts_with("pull_request"));
        if on_pr {
            let all = wf.concurrency.iter().chain(wf.jobs.iter().filter_map(|j| j.concurrency.as_ref()));
            for c in all {
                let Some(group) = c.group.as_deref() else { continue };
                if shared_by_all_prs(group, target) {
                    let event = if target { "pull_request_target" } else { "pull_request" };
                    out.push(Hit::new(
                        c.pos,
                        format!("group `{group}` is the same for every pull request under `{event}`: runs of one pull request cancel or replace the queued runs of others"),
                        "key the group on the pull request, e.g. `${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}`",
                    ));
                }
            }
        }
        let pos = wf.on_pos.unwrap_or(wf.top_pos);
        let Some(c) = &wf.concurrency else {
            out.push(
                Hit::new(
                    pos,
                    format!("runs on {} without a concurrency group: overlapping runs pile up", fired.join(", ")),
                    "add a top-level `concurrency:` block with a group keyed on the workflow and ref",
                )
                .fixable(),
            );
            return;
        };
        let cancels = c.cancel_in_progress.as_deref().is_some_and(|v| v.trim() != "false");
        // A `queue:` says runs are meant to wait their turn rather than replace each other.
        if on_pr && options.require_cancel_in_progress && !cancels && c.queue.is_none() {
            out.push(Hit::new(
                c.pos,
                "pull-request workflow does not cancel in-progress runs: every push to a PR runs to the end",
                "set `cancel-in-progress: true` (or `${{ github.event_name == 'pull_request' }}`)",
            ));
        }
    }
    fn check_repo(&self, files: &[FileCtx<'_>], _options: &Options, out: &mut Vec<(usize, Hit)>) {
        let Some(repo) = files.first().map(|f| f.repo) else { return };
        let list: Vec<(&str, &Workflow)> = files.iter().map(|f| (f.path, f.workflow)).collect();
        for d in deadlocks(repo, &list) {
            out.push((
                d.caller,
                Hit::new(
                    d.call,
                    format!(
                        "calls `{}`, whose concurrency group `{}` equals this run's group `{}` there (`github.workflow` and `github.ref` are the caller's in a called workflow): GitHub cancels the call as a deadlock",
                        files[d.callee].path, d.group, d.caller_group
                    ),
                    "give the called workflow a group of its own (e.g. with its file name), or drop one of the two groups",
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::testing::hits;

    #[test]
    fn fires_and_stays_quiet() {
        let o = Options::default();
        let h = hits(&Concurrency, "on: [push, pull_request]\njobs:\n  a:\n    runs-on: x\n", &o);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, 1);
        assert!(h[0].1.contains("push, pull_request"), "{h:?}");
        // Manual-only workflows are not at risk.
        assert!(hits(&Concurrency, "on: workflow_dispatch\njobs:\n  a:\n    runs-on: x\n", &o).is_empty());
        let good = "on: pull_request\nconcurrency:\n  group: ${{ github.ref }}\n  cancel-in-progress: true\njobs:\n  a:\n    runs-on: x\n";
        assert!(hits(&Concurrency, good, &o).is_empty());
        let expr = good.replace("true", "${{ github.event_name == 'pull_request' }}");
        assert!(hits(&Concurrency, &expr, &o).is_empty());
        let no_cancel = "on: pull_request\nconcurrency: ci-${{ github.ref }}\njobs:\n  a:\n    runs-on: x\n";
        let h = hits(&Concurrency, no_cancel, &o);
        assert_eq!((h.len(), h[0].0), (1, 2), "{h:?}");
        let relaxed = Options { require_cancel_in_progress: false, ..Options::default() };
        assert!(hits(&Concurrency, no_cancel, &relaxed).is_empty());
        // A group with `queue:` lets runs wait their turn on purpose: no cancel is demanded, but
        // the same group without it still is.
        let queued = "on: pull_request\nconcurrency:\n  group: ci-${{ github.ref }}\n  queue: max\njobs:\n  a:\n    runs-on: x\n";
        assert!(hits(&Concurrency, queued, &o).is_empty(), "{:?}", hits(&Concurrency, queued, &o));
        assert_eq!(hits(&Concurrency, &queued.replace("  queue: max\n", ""), &o).len(), 1);
        // A schedule-only workflow with a group needs no cancel.
        assert!(
            hits(
                &Concurrency,
                "on:\n  schedule:\n    - cron: '0 * * * *'\nconcurrency: nightly\njobs:\n  a:\n    runs-on: x\n",
                &o
            )
            .is_empty()
        );
    }

    #[test]
    fn groups_shared_by_every_pull_request_are_reported() {
        let o = Options::default();
        let body = "jobs:\n  a:\n    runs-on: x\n";
        let shared = |on: &str, group: &str| {
            let src = format!("on: {on}\nconcurrency:\n  group: {group}\n  cancel-in-progress: true\n{body}");
            hits(&Concurrency, &src, &o).iter().any(|(_, m)| m.contains("the same for every pull request"))
        };
        assert!(shared("pull_request_target", "${{ github.workflow }}-${{ github.ref }}"));
        assert!(shared("pull_request_target", "${{ github.base_ref }}"));
        assert!(shared("pull_request_target", "deploy"));
        assert!(shared("pull_request", "ci-${{ github.base_ref }}"));
        assert!(!shared("pull_request", "ci-${{ github.ref }}"));
        assert!(!shared(
            "pull_request_target",
            "${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}"
        ));
        assert!(!shared("pull_request_target", "pr-${{ github.head_ref }}"));
        assert!(!shared("push", "ci"));
        // Job-level groups too.
        let job = "on: pull_request_target\nconcurrency:\n  group: ${{ github.event.pull_request.number }}\n  cancel-in-progress: true\njobs:\n  a:\n    runs-on: x\n    concurrency: label\n";
        assert_eq!(hits(&Concurrency, job, &o).len(), 1, "{:?}", hits(&Concurrency, job, &o));
    }

    #[test]
    fn a_callee_sharing_its_callers_group_is_reported() {
        use crate::workflow::parse;
        let caller = parse("name: ci\non: push\nconcurrency: ci-${{ github.ref }}\njobs:\n  b:\n    uses: ./.github/workflows/build.yml\n", false).expect("parse");
        let callee = parse("on: [push, workflow_call]\nconcurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\njobs:\n  a:\n    runs-on: x\n", false).expect("parse");
        let files = [(".github/workflows/ci.yml", &caller), (".github/workflows/build.yml", &callee)];
        let d = deadlocks("acme/api", &files);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].caller, d[0].callee, d[0].call.line), (0, 1, 6));
        // By full name at a ref, too; a group keyed on inputs cannot be decided and is not reported.
        let by_name = parse("name: ci\non: push\nconcurrency: ci-${{ github.ref }}\njobs:\n  b:\n    uses: Acme/API/.github/workflows/build.yml@main\n", false).expect("parse");
        assert_eq!(deadlocks("acme/api", &[(".github/workflows/ci.yml", &by_name), files[1]]).len(), 1);
        let inputs = parse("on: workflow_call\nconcurrency: ${{ inputs.x }}\njobs:\n  a:\n    runs-on: x\n", false)
            .expect("parse");
        assert!(deadlocks("acme/api", &[files[0], (".github/workflows/build.yml", &inputs)]).is_empty());
        // Different names: no deadlock; without `name:` the file path is the workflow's name.
        let other = parse("name: other\non: push\nconcurrency: ci-${{ github.ref }}\njobs:\n  b:\n    uses: ./.github/workflows/x.yml\n", false).expect("parse");
        let x = parse(
            "on: workflow_call\nconcurrency: ${{ github.workflow }}-${{ github.ref }}\njobs:\n  a:\n    runs-on: x\n",
            false,
        )
        .expect("parse");
        assert!(
            deadlocks("acme/api", &[(".github/workflows/o.yml", &other), (".github/workflows/x.yml", &x)]).is_empty()
        );
        let unnamed = parse("on: push\nconcurrency: .github/workflows/o.yml-${{ github.ref }}\njobs:\n  b:\n    uses: ./.github/workflows/x.yml\n", false).expect("parse");
        assert_eq!(
            deadlocks("acme/api", &[(".github/workflows/o.yml", &unnamed), (".github/workflows/x.yml", &x)]).len(),
            1
        );
    }
}
