//! `convoy cost`: what the org's scheduled workflows cost in GitHub Actions minutes and dollars,
//! what the `schedule-frequency` fixes would save, and a suggested scheduler workflow that
//! dispatches the high-frequency workflows at consolidated times.
//!
//! The estimate ([`estimate`]) is pure over parsed workflows; [`collect`] reads them from the
//! clone cache (as `convoy audit` does) and asks the forge for run history.
//!
//! # The model
//!
//! Per workflow file that has `on.schedule` crons:
//!
//! * **runs/month** = Σ over its crons of [`Schedule::runs_per_month`]: exact occurrences in the
//!   30 days of June 2026 (UTC), every field honoured. Two crons that fire at the same minute
//!   both count, because GitHub starts a run for each.
//! * **runners per run**: one per job without `needs` (those start together when the run
//!   starts); jobs with `needs` are taken to run inside the run's time, after the others, so they
//!   add no runner. A `strategy.matrix` is not expanded (it counts as one runner), and a job that
//!   calls a reusable workflow counts as one linux runner.
//! * **runner OS** per runner, from its `runs-on` labels: `self-hosted` → self-hosted (GitHub
//!   bills nothing, $0); `ubuntu*`/`linux` → linux; `windows*` → windows; `macos*` → macos;
//!   expressions, unknown labels or no `runs-on` → linux, with a note. Larger runners are
//!   priced at the standard rate of their OS.
//! * **minutes per runner**: with history, the mean over the workflow's recent completed runs of
//!   each run's duration (`updated_at - run_started_at`) rounded up to the whole minute. GitHub
//!   rounds every *job* up; run durations are all the history gives, so each run is rounded as
//!   if it were one job (parallel jobs are assumed to last the whole run). Scheduled runs are
//!   preferred; when none of the recent completed runs was scheduled, all of them are used.
//!   Without history: `[policy.cost] assumed_minutes_per_run`, rounded up, marked assumed.
//! * **minutes/month** = runs/month × minutes per runner × runners.
//! * **$/month** = runs/month × Σ over runners of (minutes per runner × rate of its OS). This is
//!   list price, before the free minutes a plan includes.
//!
//! **Savings**: every cron that the `schedule-frequency` rule reports (so its exemptions,
//! `# convoy: ignore` comments and severity settings apply) is relaxed with
//! [`Schedule::relax`] to the policy's minimum interval, as `convoy audit --fix` would; the
//! difference in runs/month is priced like the workflow's runs. A reported cron that cannot be
//! relaxed safely saves nothing and says so.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::audit::Policy;
use super::config::CostConfig;
use super::cron::{MONTH_WINDOW_DAYS, REFERENCE_INSTANT, Schedule};
use crate::forge::{Forge, RepoId, WorkflowRun};
use crate::progress::Reporter;
use crate::targets::Target;
use crate::workflow::files::{SourceFile, classify};
use crate::workflow::{self, Job, Workflow};
use crate::workspace::OrgInput;

/// Version of the `convoy cost --json` document; fields are only added within a version.
pub const COST_SCHEMA_VERSION: u32 = 1;

/// Where the suggested scheduler belongs in the control repository.
pub const SCHEDULER_PATH: &str = ".github/workflows/convoy-scheduler.yml";

const SCHEDULER_TEMPLATE: &str = include_str!("scheduler.yml.j2");

/// The rule whose findings the savings are about.
const RULE: &str = "schedule-frequency";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunnerOs {
    Linux,
    Windows,
    Macos,
    SelfHosted,
}

impl RunnerOs {
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerOs::Linux => "linux",
            RunnerOs::Windows => "windows",
            RunnerOs::Macos => "macos",
            RunnerOs::SelfHosted => "self-hosted",
        }
    }

    /// Dollars per minute; self-hosted runners are not billed by GitHub.
    pub fn rate(self, config: &CostConfig) -> f64 {
        match self {
            RunnerOs::Linux => config.linux_per_minute,
            RunnerOs::Windows => config.windows_per_minute,
            RunnerOs::Macos => config.macos_per_minute,
            RunnerOs::SelfHosted => 0.0,
        }
    }
}

/// One runner a run occupies: a job without `needs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runner {
    pub job: String,
    pub os: RunnerOs,
    /// `runs-on` as written.
    pub labels: Vec<String>,
}

/// The runner OS of a job, and a note when it is a guess.
pub fn runner_os(job: &Job) -> (RunnerOs, Option<String>) {
    let labels = &job.runs_on;
    if labels.is_empty() {
        let note = match &job.uses {
            Some(called) => format!("job `{}` calls `{}`: priced as one linux runner", job.id, called.value),
            None => format!("job `{}` has no `runs-on` labels convoy can read: priced as linux", job.id),
        };
        return (RunnerOs::Linux, Some(note));
    }
    if labels.iter().any(|l| l.trim().eq_ignore_ascii_case("self-hosted")) {
        return (RunnerOs::SelfHosted, None);
    }
    if labels.iter().any(|l| l.contains("${{")) {
        return (
            RunnerOs::Linux,
            Some(format!(
                "job `{}` picks its runner with an expression (`{}`): priced as linux",
                job.id,
                labels.join(", ")
            )),
        );
    }
    for label in labels {
        let l = label.trim().to_ascii_lowercase();
        if l.starts_with("ubuntu") || l == "linux" {
            return (RunnerOs::Linux, None);
        }
        if l.starts_with("windows") {
            return (RunnerOs::Windows, None);
        }
        if l.starts_with("macos") {
            return (RunnerOs::Macos, None);
        }
    }
    (RunnerOs::Linux, Some(format!("job `{}` runs on unknown labels `{}`: priced as linux", job.id, labels.join(", "))))
}

/// The runners one run of `wf` occupies (see the module documentation), with notes.
pub fn runners(wf: &Workflow) -> (Vec<Runner>, Vec<String>) {
    let mut notes = Vec::new();
    if wf.jobs.is_empty() {
        notes.push("no jobs convoy can read: priced as one linux runner".to_string());
        return (vec![Runner { job: String::new(), os: RunnerOs::Linux, labels: Vec::new() }], notes);
    }
    let mut roots: Vec<&Job> = wf.jobs.iter().filter(|j| j.needs.is_empty()).collect();
    if roots.is_empty() {
        // Every job waits on another: GitHub refuses such a workflow; count its first job.
        roots = wf.jobs.iter().take(1).collect();
    }
    let waiting: Vec<&str> = wf.jobs.iter().filter(|j| !j.needs.is_empty()).map(|j| j.id.as_str()).collect();
    if !waiting.is_empty() {
        notes.push(format!(
            "job(s) `{}` wait on others (`needs`): counted inside the run's time, not as extra runners",
            waiting.join("`, `")
        ));
    }
    let mut out = Vec::new();
    for job in roots {
        let (os, note) = runner_os(job);
        notes.extend(note);
        out.push(Runner { job: job.id.clone(), os, labels: job.runs_on.clone() });
    }
    if out.iter().any(|r| r.os == RunnerOs::SelfHosted) {
        notes.push("self-hosted runner(s): GitHub does not bill their minutes ($0)".to_string());
    }
    (out, notes)
}

/// `linux`, `2×linux`, `linux+windows`.
pub fn runner_summary(runners: &[Runner]) -> String {
    let mut counts: BTreeMap<RunnerOs, usize> = BTreeMap::new();
    for r in runners {
        *counts.entry(r.os).or_default() += 1;
    }
    counts
        .iter()
        .map(|(os, n)| if *n == 1 { os.as_str().to_string() } else { format!("{n}×{}", os.as_str()) })
        .collect::<Vec<_>>()
        .join("+")
}

/// What the forge said about a workflow's recent runs.
#[derive(Debug, Clone, PartialEq)]
pub enum History {
    /// The forge keeps none (the local forge), or it was not asked (`--history 0`).
    Unavailable,
    /// The recent runs, newest first.
    Runs(Vec<WorkflowRun>),
    /// Asking failed; the estimate falls back to the assumed minutes.
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MinutesSource {
    History,
    Assumed,
}

/// Minutes per runner per run, and where they come from.
#[derive(Debug, Clone, PartialEq)]
struct Basis {
    source: MinutesSource,
    /// Runs the average is over (0 when assumed).
    runs: usize,
    /// Mean wall-clock minutes of a run (or the assumed minutes as configured).
    average_minutes: f64,
    /// What GitHub would bill one runner for a run (rounded up to whole minutes).
    billable_minutes: f64,
    note: Option<String>,
}

fn basis(history: &History, config: &CostConfig) -> Basis {
    let assumed = |note: Option<String>| Basis {
        source: MinutesSource::Assumed,
        runs: 0,
        average_minutes: config.assumed_minutes_per_run,
        billable_minutes: config.assumed_minutes_per_run.max(0.0).ceil(),
        note,
    };
    let runs = match history {
        History::Unavailable => return assumed(None),
        History::Failed(e) => return assumed(Some(format!("run history could not be read ({e}): minutes assumed"))),
        History::Runs(runs) => runs,
    };
    let completed: Vec<(&str, u64)> =
        runs.iter().filter_map(|r| Some((r.event.as_str(), r.duration_seconds?))).collect();
    let scheduled: Vec<u64> = completed.iter().filter(|(e, _)| *e == "schedule").map(|(_, d)| *d).collect();
    let (durations, note) = if !scheduled.is_empty() {
        (scheduled, None)
    } else {
        let all: Vec<u64> = completed.iter().map(|(_, d)| *d).collect();
        let note = (!all.is_empty()).then(|| {
            format!("none of its last {} completed run(s) was scheduled: durations of its other runs", all.len())
        });
        (all, note)
    };
    if durations.is_empty() {
        return assumed(Some("no completed runs in its run history: minutes assumed".to_string()));
    }
    let n = durations.len() as f64;
    Basis {
        source: MinutesSource::History,
        runs: durations.len(),
        average_minutes: durations.iter().map(|&d| d as f64 / 60.0).sum::<f64>() / n,
        billable_minutes: durations.iter().map(|&d| d.div_ceil(60) as f64).sum::<f64>() / n,
        note,
    }
}

/// One parsed workflow file to estimate.
#[derive(Debug, Clone)]
pub struct WorkflowInput {
    pub repo: String,
    pub path: String,
    pub workflow: Workflow,
    /// Lines of this file's `schedule-frequency` findings: the crons a fix would relax.
    pub flagged_lines: Vec<usize>,
    pub history: History,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CronCost {
    pub cron: String,
    pub line: usize,
    pub runs_per_month: u64,
    /// Smallest gap between two of its runs, this cron alone.
    pub min_interval_minutes: Option<u64>,
    /// The `schedule-frequency` rule reports this cron.
    pub flagged: bool,
    /// Why the cron is not valid for GitHub (then it counts 0 runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowCost {
    pub repo: String,
    pub path: String,
    pub name: Option<String>,
    pub crons: Vec<CronCost>,
    pub runners: Vec<Runner>,
    /// Has a `workflow_dispatch` trigger (the scheduler can start it).
    pub workflow_dispatch: bool,
    pub runs_per_month: u64,
    /// Smallest [`CronCost::min_interval_minutes`] of its crons.
    pub min_interval_minutes: Option<u64>,
    pub minutes_source: MinutesSource,
    /// Completed runs the history figures are averaged over (0 when assumed).
    pub history_runs: usize,
    /// Mean wall-clock minutes of a run (history), or the assumed minutes.
    pub average_minutes: f64,
    /// Billed minutes of one runner for one run (rounded up to whole minutes).
    pub billable_minutes_per_runner: f64,
    /// × runners.
    pub billable_minutes_per_run: f64,
    pub price_per_run: f64,
    pub minutes_per_month: f64,
    pub dollars_per_month: f64,
    pub notes: Vec<String>,
}

/// What relaxing one reported cron saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    pub repo: String,
    pub path: String,
    pub line: usize,
    pub cron: String,
    /// The relaxed cron; `None` when no safe rewrite exists (then nothing is saved).
    pub relaxed: Option<String>,
    pub runs_before: u64,
    pub runs_after: u64,
    pub runs_saved: u64,
    pub minutes_saved: f64,
    pub dollars_saved: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OsTotal {
    pub minutes_per_month: f64,
    pub dollars_per_month: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub workflows: usize,
    pub runs_per_month: u64,
    pub minutes_per_month: f64,
    pub dollars_per_month: f64,
    /// Keyed by `linux`, `windows`, `macos`, `self-hosted`.
    pub by_os: BTreeMap<String, OsTotal>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavingsTotals {
    pub crons: usize,
    pub runs_per_month: u64,
    pub minutes_per_month: f64,
    pub dollars_per_month: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// RFC 3339, UTC.
    pub start: String,
    pub days: i64,
}

/// Whether durations came from the forge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryStatus {
    /// Runs asked for per workflow (`--history`, at most 100).
    pub limit: usize,
    pub available: bool,
    /// Why it is unavailable, e.g. "the local forge keeps no run history".
    pub note: Option<String>,
}

/// A workflow file that could not be estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub repo: String,
    pub path: String,
    pub reason: String,
}

/// A repository that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostError {
    pub repo: String,
    pub message: String,
}

/// The `convoy cost --json` document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CostReport {
    pub schema_version: u32,
    pub tool: String,
    pub owner: String,
    pub window: Window,
    pub rates: CostConfig,
    /// The `schedule-frequency` minimum the savings relax to.
    pub min_interval_minutes: u32,
    pub history: HistoryStatus,
    /// Scheduled workflows, by repository and path.
    pub workflows: Vec<WorkflowCost>,
    pub totals: Totals,
    pub savings: Vec<Saving>,
    pub savings_totals: SavingsTotals,
    /// Workflow files without a schedule (not estimated).
    pub unscheduled_workflows: usize,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<CostError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<SchedulerSuggestion>,
}

/// Rounds away float noise (`8640 × 3 × 0.008` is 207.36000000000001 in f64).
fn tidy(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The estimate over `inputs` (see the module documentation); workflows without crons are
/// only counted.
pub fn estimate(
    owner: &str,
    inputs: &[WorkflowInput],
    config: &CostConfig,
    min_interval: u32,
    history: HistoryStatus,
) -> CostReport {
    let mut workflows = Vec::new();
    let mut savings = Vec::new();
    let mut unscheduled = 0;
    for input in inputs {
        if input.workflow.schedules.is_empty() {
            unscheduled += 1;
            continue;
        }
        let (cost, saved) = workflow_cost(input, config, min_interval);
        workflows.push(cost);
        savings.extend(saved);
    }
    workflows.sort_by(|a, b| (&a.repo, &a.path).cmp(&(&b.repo, &b.path)));
    savings.sort_by(|a, b| (&a.repo, &a.path, a.line).cmp(&(&b.repo, &b.path, b.line)));
    let mut totals = Totals { workflows: workflows.len(), ..Totals::default() };
    for w in &workflows {
        totals.runs_per_month += w.runs_per_month;
        totals.minutes_per_month += w.minutes_per_month;
        totals.dollars_per_month += w.dollars_per_month;
        for r in &w.runners {
            let os = totals.by_os.entry(r.os.as_str().to_string()).or_default();
            let minutes = w.runs_per_month as f64 * w.billable_minutes_per_runner;
            os.minutes_per_month = tidy(os.minutes_per_month + minutes);
            os.dollars_per_month = tidy(os.dollars_per_month + minutes * r.os.rate(config));
        }
    }
    totals.minutes_per_month = tidy(totals.minutes_per_month);
    totals.dollars_per_month = tidy(totals.dollars_per_month);
    let mut savings_totals = SavingsTotals { crons: savings.len(), ..SavingsTotals::default() };
    for s in &savings {
        savings_totals.runs_per_month += s.runs_saved;
        savings_totals.minutes_per_month = tidy(savings_totals.minutes_per_month + s.minutes_saved);
        savings_totals.dollars_per_month = tidy(savings_totals.dollars_per_month + s.dollars_saved);
    }
    CostReport {
        schema_version: COST_SCHEMA_VERSION,
        tool: format!("convoy {}", env!("CARGO_PKG_VERSION")),
        owner: owner.to_string(),
        window: Window { start: REFERENCE_INSTANT.to_rfc3339(), days: MONTH_WINDOW_DAYS },
        rates: config.clone(),
        min_interval_minutes: min_interval,
        history,
        workflows,
        totals,
        savings,
        savings_totals,
        unscheduled_workflows: unscheduled,
        skipped: Vec::new(),
        errors: Vec::new(),
        scheduler: None,
    }
}

fn workflow_cost(input: &WorkflowInput, config: &CostConfig, min_interval: u32) -> (WorkflowCost, Vec<Saving>) {
    let wf = &input.workflow;
    let (runners, mut notes) = runners(wf);
    let basis = basis(&input.history, config);
    notes.extend(basis.note.clone());
    let per_runner = basis.billable_minutes;
    let price_per_run: f64 = runners.iter().map(|r| per_runner * r.os.rate(config)).sum();
    let minutes_per_run = per_runner * runners.len() as f64;
    let mut crons = Vec::new();
    let mut savings = Vec::new();
    for c in &wf.schedules {
        let flagged = input.flagged_lines.contains(&c.pos.line);
        let schedule = match Schedule::parse(&c.value) {
            Ok(s) => s,
            Err(e) => {
                crons.push(CronCost {
                    cron: c.value.clone(),
                    line: c.pos.line,
                    runs_per_month: 0,
                    min_interval_minutes: None,
                    flagged,
                    error: Some(e.message),
                });
                continue;
            }
        };
        // `schedule-frequency` also reports a cron that can never fire; relaxing it saves
        // nothing and dispatching it would add runs, so only frequency findings are flagged.
        let flagged = flagged && schedule.never_fires().is_none();
        let runs = schedule.runs_per_month();
        crons.push(CronCost {
            cron: c.value.clone(),
            line: c.pos.line,
            runs_per_month: runs,
            min_interval_minutes: schedule.min_interval().map(|d| d.as_secs() / 60),
            flagged,
            error: None,
        });
        if flagged {
            let relaxed = schedule.relax(min_interval);
            let after = relaxed.as_deref().and_then(|r| Schedule::parse(r).ok()).map_or(runs, |r| r.runs_per_month());
            let saved = runs.saturating_sub(after);
            savings.push(Saving {
                repo: input.repo.clone(),
                path: input.path.clone(),
                line: c.pos.line,
                cron: c.value.clone(),
                relaxed,
                runs_before: runs,
                runs_after: after,
                runs_saved: saved,
                minutes_saved: tidy(saved as f64 * minutes_per_run),
                dollars_saved: tidy(saved as f64 * price_per_run),
            });
        }
    }
    let runs_per_month: u64 = crons.iter().map(|c| c.runs_per_month).sum();
    let cost = WorkflowCost {
        repo: input.repo.clone(),
        path: input.path.clone(),
        name: wf.name.clone(),
        min_interval_minutes: crons.iter().filter_map(|c| c.min_interval_minutes).min(),
        crons,
        runners,
        workflow_dispatch: wf.has_trigger("workflow_dispatch"),
        runs_per_month,
        minutes_source: basis.source,
        history_runs: basis.runs,
        average_minutes: tidy(basis.average_minutes),
        billable_minutes_per_runner: tidy(per_runner),
        billable_minutes_per_run: tidy(minutes_per_run),
        price_per_run: tidy(price_per_run),
        minutes_per_month: tidy(runs_per_month as f64 * minutes_per_run),
        dollars_per_month: tidy(runs_per_month as f64 * price_per_run),
        notes,
    };
    (cost, savings)
}

// ---- the scheduler suggestion ----

/// A workflow the scheduler dispatches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispatched {
    pub repo: String,
    pub path: String,
    /// Its crons' runs/month today.
    pub runs_before: u64,
    /// The scheduler's runs/month (one dispatch per scheduler run).
    pub runs_after: u64,
    pub workflow_dispatch: bool,
}

/// A reported workflow left out of the scheduler, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotConsolidated {
    pub repo: String,
    pub path: String,
    pub runs_per_month: u64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerSuggestion {
    /// Where the workflow goes in the org's control repository.
    pub path: String,
    pub cron: String,
    pub interval_minutes: u32,
    /// Runs of the scheduler itself per month.
    pub scheduler_runs_per_month: u64,
    pub dispatched: Vec<Dispatched>,
    pub not_consolidated: Vec<NotConsolidated>,
    /// `owner/repo path` of dispatched workflows without a `workflow_dispatch` trigger, which
    /// `gh workflow run` needs.
    pub add_workflow_dispatch: Vec<String>,
    /// Σ of the dispatched workflows' runs/month today.
    pub runs_before: u64,
    /// Scheduler runs/month × workflows dispatched.
    pub runs_after: u64,
    pub runs_saved: u64,
    /// Dollars the dispatched workflows save, less the scheduler's own runs (one linux minute
    /// each: a run of `gh workflow run` steps takes well under a minute).
    pub dollars_saved: f64,
    /// The rendered workflow; `None` when there is nothing to dispatch.
    pub workflow: Option<String>,
}

/// The scheduler's cron for a minimum interval of `min` minutes, and its interval: the nearest
/// interval at least `min` (and at least GitHub's 5 minutes) that a cron spaces evenly.
pub fn scheduler_cron(min: u32) -> (String, u32) {
    let min = min.max(5);
    if let Some(step) = [5u32, 6, 10, 12, 15, 20, 30].into_iter().find(|&s| s >= min) {
        return (format!("*/{step} * * * *"), step);
    }
    if min <= 60 {
        return ("0 * * * *".into(), 60);
    }
    if let Some(hours) = [2u32, 3, 4, 6, 8, 12].into_iter().find(|&h| h * 60 >= min) {
        return (format!("0 */{hours} * * *"), hours * 60);
    }
    if min <= 24 * 60 {
        return ("0 0 * * *".into(), 24 * 60);
    }
    if min <= 7 * 24 * 60 {
        return ("0 0 * * 0".into(), 7 * 24 * 60);
    }
    ("0 0 1 * *".into(), 28 * 24 * 60)
}

/// One scheduler workflow that dispatches the workflows with a `schedule-frequency` finding at
/// the report's minimum interval ([`scheduler_cron`]). A reported workflow whose own crons run less often than the
/// scheduler would (e.g. only on working hours) is left out: dispatching it would add runs.
pub fn suggest_scheduler(report: &CostReport, timeout_minutes: u32) -> Result<SchedulerSuggestion, String> {
    let (cron, interval) = scheduler_cron(report.min_interval_minutes);
    let scheduler_runs = Schedule::parse(&cron).map_err(|e| e.message)?.runs_per_month();
    let mut dispatched = Vec::new();
    let mut not_consolidated = Vec::new();
    let mut dollars_saved = 0.0;
    for w in report.workflows.iter().filter(|w| w.crons.iter().any(|c| c.flagged)) {
        if w.runs_per_month <= scheduler_runs {
            not_consolidated.push(NotConsolidated {
                repo: w.repo.clone(),
                path: w.path.clone(),
                runs_per_month: w.runs_per_month,
                reason: format!(
                    "its crons run {} times a month, the scheduler would run it {scheduler_runs} times: relax its cron instead",
                    w.runs_per_month
                ),
            });
            continue;
        }
        dollars_saved += (w.runs_per_month - scheduler_runs) as f64 * w.price_per_run;
        dispatched.push(Dispatched {
            repo: w.repo.clone(),
            path: w.path.clone(),
            runs_before: w.runs_per_month,
            runs_after: scheduler_runs,
            workflow_dispatch: w.workflow_dispatch,
        });
    }
    let runs_before: u64 = dispatched.iter().map(|d| d.runs_before).sum();
    let runs_after = scheduler_runs * dispatched.len() as u64;
    let workflow = if dispatched.is_empty() {
        None
    } else {
        dollars_saved -= scheduler_runs as f64 * report.rates.linux_per_minute;
        Some(render_scheduler(&report.owner, &cron, interval, timeout_minutes, &dispatched)?)
    };
    Ok(SchedulerSuggestion {
        path: SCHEDULER_PATH.to_string(),
        cron,
        interval_minutes: interval,
        scheduler_runs_per_month: scheduler_runs,
        add_workflow_dispatch: dispatched
            .iter()
            .filter(|d| !d.workflow_dispatch)
            .map(|d| format!("{} {}", d.repo, d.path))
            .collect(),
        dispatched,
        not_consolidated,
        runs_before,
        runs_after,
        runs_saved: runs_before.saturating_sub(runs_after),
        dollars_saved: tidy(dollars_saved),
        workflow,
    })
}

fn render_scheduler(
    owner: &str,
    cron: &str,
    interval: u32,
    timeout_minutes: u32,
    dispatched: &[Dispatched],
) -> Result<String, String> {
    let workflows: Vec<serde_json::Value> = dispatched
        .iter()
        .map(|d| {
            let file = d.path.rsplit('/').next().unwrap_or(&d.path);
            serde_json::json!({"repo": d.repo, "path": d.path, "file": file})
        })
        .collect();
    let mut renderer = crate::render::Renderer::new(Path::new(""));
    let name = "convoy-scheduler.yml.j2";
    renderer.add(name, SCHEDULER_TEMPLATE.to_string()).map_err(|e| e.to_string())?;
    let ctx = minijinja::context! {
        org => owner,
        cron => cron,
        interval_minutes => interval,
        timeout_minutes => timeout_minutes,
        workflows => minijinja::Value::from(minijinja::value::Serde(&workflows)),
    };
    renderer.render(name, &ctx).map_err(|e| e.to_string())
}

// ---- text ----

/// `12`, `2.5`.
fn number(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { format!("{x:.1}") }
}

fn dollars(x: f64) -> String {
    format!("${x:.2}")
}

fn file_of(path: &str) -> &str {
    path.strip_prefix(".github/workflows/").unwrap_or(path)
}

/// The text view. `scheduler_written_to`: the file the scheduler went to (`--output`); without
/// it the workflow is printed.
pub fn text(report: &CostReport, scheduler_written_to: Option<&str>) -> String {
    let r = &report.rates;
    let mut out = format!(
        "Scheduled GitHub Actions runs of {}, over 30 days (June 2026, UTC), at ${}/min linux, ${}/min windows, ${}/min macos:\n",
        report.owner, r.linux_per_minute, r.windows_per_minute, r.macos_per_minute
    );
    if report.workflows.is_empty() {
        out.push_str("no scheduled workflows in the selected repositories\n");
    } else {
        let mut rows: Vec<Vec<String>> = report
            .workflows
            .iter()
            .map(|w| {
                let source = match w.minutes_source {
                    MinutesSource::History => {
                        format!("(avg {} over {} runs)", number(w.average_minutes), w.history_runs)
                    }
                    MinutesSource::Assumed => "(assumed)".to_string(),
                };
                vec![
                    w.repo.clone(),
                    file_of(&w.path).to_string(),
                    runner_summary(&w.runners),
                    w.crons.iter().map(|c| c.cron.trim().to_string()).collect::<Vec<_>>().join("; "),
                    w.runs_per_month.to_string(),
                    format!("{} {source}", number(w.billable_minutes_per_runner)),
                    number(w.minutes_per_month),
                    dollars(w.dollars_per_month),
                ]
            })
            .collect();
        let t = &report.totals;
        rows.push(vec![
            "TOTAL".into(),
            format!("{} workflow(s)", t.workflows),
            String::new(),
            String::new(),
            t.runs_per_month.to_string(),
            String::new(),
            number(t.minutes_per_month),
            dollars(t.dollars_per_month),
        ]);
        out.push_str(&crate::report::table::text(
            &["REPOSITORY", "WORKFLOW", "RUNNER", "CRONS", "RUNS/MONTH", "MIN/RUN", "MIN/MONTH", "$/MONTH"],
            &rows,
        ));
        if t.by_os.len() > 1 {
            let parts: Vec<String> = t
                .by_os
                .iter()
                .map(|(os, v)| format!("{os} {} min {}", number(v.minutes_per_month), dollars(v.dollars_per_month)))
                .collect();
            out.push_str(&format!("by runner: {}\n", parts.join(", ")));
        }
    }

    out.push('\n');
    if report.savings.is_empty() {
        out.push_str(&format!(
            "Savings if the schedule-frequency fixes are applied: none, no reported cron runs more often than every {} minutes\n",
            report.min_interval_minutes
        ));
    } else {
        out.push_str(&format!(
            "Savings if the schedule-frequency fixes are applied (every {} minutes at most):\n",
            report.min_interval_minutes
        ));
        let mut rows: Vec<Vec<String>> = report
            .savings
            .iter()
            .map(|s| {
                vec![
                    s.repo.clone(),
                    format!("{}:{}", file_of(&s.path), s.line),
                    s.cron.trim().to_string(),
                    s.relaxed.clone().unwrap_or_else(|| "(no safe rewrite)".into()),
                    s.runs_saved.to_string(),
                    number(s.minutes_saved),
                    dollars(s.dollars_saved),
                ]
            })
            .collect();
        let t = &report.savings_totals;
        rows.push(vec![
            "TOTAL".into(),
            format!("{} cron(s)", t.crons),
            String::new(),
            String::new(),
            t.runs_per_month.to_string(),
            number(t.minutes_per_month),
            dollars(t.dollars_per_month),
        ]);
        out.push_str(&crate::report::table::text(
            &["REPOSITORY", "WORKFLOW", "CRON", "RELAXED TO", "RUNS SAVED", "MIN SAVED", "$ SAVED"],
            &rows,
        ));
    }

    out.push('\n');
    let h = &report.history;
    match (&h.note, h.available) {
        (Some(note), false) => out.push_str(&format!(
            "run history: unavailable ({note}); minutes per run are assumed: {} ([policy.cost] assumed_minutes_per_run)\n",
            number(report.rates.assumed_minutes_per_run)
        )),
        _ => out.push_str(&format!(
            "run history: the last {} runs of each workflow, completed ones only; durations are rounded up to whole minutes per run\n",
            h.limit
        )),
    }
    let notes: Vec<String> = report
        .workflows
        .iter()
        .flat_map(|w| w.notes.iter().map(move |n| format!("  {} {}: {n}\n", w.repo, file_of(&w.path))))
        .chain(report.skipped.iter().map(|s| format!("  {} {}: skipped: {}\n", s.repo, file_of(&s.path), s.reason)))
        .collect();
    if !notes.is_empty() {
        out.push_str("notes:\n");
        out.extend(notes);
    }
    for e in &report.errors {
        out.push_str(&format!("error: {}: {}\n", e.repo, e.message));
    }
    if let Some(s) = &report.scheduler {
        out.push('\n');
        out.push_str(&scheduler_text(s, scheduler_written_to));
    }
    out
}

fn scheduler_text(s: &SchedulerSuggestion, written_to: Option<&str>) -> String {
    let mut out = String::new();
    if s.dispatched.is_empty() {
        out.push_str("Suggested scheduler: none, no reported workflow would run less often through one\n");
    } else {
        out.push_str(&format!(
            "Suggested scheduler `{}` (cron `{}`, every {} minutes) dispatching {} workflow(s):\n",
            s.path,
            s.cron,
            s.interval_minutes,
            s.dispatched.len()
        ));
        let rows: Vec<Vec<String>> = s
            .dispatched
            .iter()
            .map(|d| {
                vec![d.repo.clone(), file_of(&d.path).to_string(), d.runs_before.to_string(), d.runs_after.to_string()]
            })
            .collect();
        out.push_str(&crate::report::table::text(&["REPOSITORY", "WORKFLOW", "RUNS/MONTH NOW", "DISPATCHED"], &rows));
        out.push_str(&format!(
            "runs per month: {} before, {} after ({} scheduler runs × {} workflow(s)): {} saved, {} net of the scheduler's own runs\n",
            s.runs_before,
            s.runs_after,
            s.scheduler_runs_per_month,
            s.dispatched.len(),
            s.runs_saved,
            dollars(s.dollars_saved)
        ));
        for w in &s.add_workflow_dispatch {
            out.push_str(&format!("add `workflow_dispatch:` to {w}\n"));
        }
        out.push_str("then remove the dispatched workflows' own `schedule:` triggers, and store a token with `actions: write` on them as the CONVOY_DISPATCH_TOKEN secret\n");
    }
    for n in &s.not_consolidated {
        out.push_str(&format!("not consolidated: {} {}: {}\n", n.repo, file_of(&n.path), n.reason));
    }
    match (&s.workflow, written_to) {
        (Some(_), Some(file)) => out.push_str(&format!("wrote the scheduler workflow to {file}\n")),
        (Some(yaml), None) => {
            out.push_str(&format!("--- {}\n", s.path));
            out.push_str(yaml);
        }
        (None, _) => {}
    }
    out
}

// ---- over a run's repositories ----

/// What [`collect`] read: the workflows to estimate, and what could not be read.
pub struct Collected {
    pub inputs: Vec<WorkflowInput>,
    pub history: HistoryStatus,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<CostError>,
}

struct RepoScan {
    workflows: Vec<(String, Workflow, Vec<usize>)>,
    skipped: Vec<Skipped>,
}

/// Read every selected repository's workflows from the clone cache, find the crons the
/// `schedule-frequency` rule reports there (honouring `[policy]` exemptions as `convoy audit`
/// does), and ask the forge for the recent runs (`history_limit`, 0 = do not ask) of each
/// scheduled workflow. `failed` lists repositories whose fetch failed: they are errors, not
/// estimated from a stale cache.
pub async fn collect(
    org: &OrgInput<'_>,
    forge: &Arc<dyn Forge>,
    policy: &Policy,
    failed: &[(String, String)],
    history_limit: usize,
    reporter: &dyn Reporter,
) -> Collected {
    let targets: Vec<&Target> = org.targets().iter().collect();
    reporter.stage("cost", targets.len());
    let scans = crate::parallel::map(&targets, org.jobs, |t| {
        let name = t.repo.id.full_name();
        reporter.item_started(&name);
        let result = match failed.iter().find(|(r, _)| *r == name) {
            Some((_, e)) => Err(format!("not estimated, the fetch failed: {e}")),
            None => crate::workflow::files::of_target(org, t).map(|files| scan(org, policy, t, &files)),
        };
        match &result {
            Ok(s) => reporter.item_finished(&name, true, &format!("{} workflow(s)", s.workflows.len())),
            Err(e) => reporter.item_finished(&name, false, e),
        }
        result
    });
    reporter.stage_done();
    let mut out = Collected {
        inputs: Vec::new(),
        history: HistoryStatus { limit: history_limit, available: false, note: None },
        skipped: Vec::new(),
        errors: Vec::new(),
    };
    for (t, r) in targets.iter().zip(scans) {
        let repo = t.repo.id.full_name();
        match r.unwrap_or_else(|panic| Err(format!("internal error: {panic}"))) {
            Ok(scan) => {
                out.skipped.extend(scan.skipped);
                for (path, workflow, flagged_lines) in scan.workflows {
                    out.inputs.push(WorkflowInput {
                        repo: repo.clone(),
                        path,
                        workflow,
                        flagged_lines,
                        history: History::Unavailable,
                    });
                }
            }
            Err(message) => out.errors.push(CostError { repo, message }),
        }
    }
    let wanted: Vec<(usize, RepoId, String)> = out
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| !i.workflow.schedules.is_empty())
        .filter_map(|(n, i)| {
            let target = targets.iter().find(|t| t.repo.id.full_name_ref() == i.repo)?;
            Some((n, target.repo.id.clone(), i.path.clone()))
        })
        .collect();
    let (histories, status) = histories(forge, &wanted, history_limit, org.jobs.max(1), reporter).await;
    out.history = status;
    for (n, history) in histories {
        if let Some(input) = out.inputs.get_mut(n) {
            input.history = history;
        }
    }
    out
}

fn scan(org: &OrgInput<'_>, policy: &Policy, target: &Target, files: &[SourceFile]) -> RepoScan {
    let name = target.repo.id.full_name();
    let findings = if super::run::repo_exempt(org.manifest, org.selection, target) {
        Vec::new()
    } else {
        let skip = |rule: &str| rule != RULE || super::run::rule_exempt(org.manifest, org.selection, target, rule);
        policy.audit_repo(&name, files, &skip)
    };
    let mut out = RepoScan { workflows: Vec::new(), skipped: Vec::new() };
    for file in files.iter().filter(|f| classify(&f.path) == Some(false)) {
        let parsed = std::str::from_utf8(&file.bytes)
            .map_err(|e| format!("not UTF-8 text: {e}"))
            .and_then(|text| workflow::parse(text, false).map_err(|e| format!("line {}: {}", e.line, e.message)));
        match parsed {
            Ok(wf) => {
                let flagged =
                    findings.iter().filter(|f| f.rule == RULE && f.path == file.path).map(|f| f.line).collect();
                out.workflows.push((file.path.clone(), wf, flagged));
            }
            Err(reason) => out.skipped.push(Skipped {
                repo: name.clone(),
                path: file.path.clone(),
                reason: format!("not a readable workflow ({reason})"),
            }),
        }
    }
    out
}

fn to_history(answer: crate::forge::ForgeResult<Option<Vec<WorkflowRun>>>) -> History {
    match answer {
        Ok(Some(runs)) => History::Runs(runs),
        Ok(None) => History::Unavailable,
        Err(e) => History::Failed(e.to_string()),
    }
}

/// Ask the forge for each workflow's runs, `jobs` at a time. The first answer tells whether the
/// forge keeps history at all; if not, nothing more is asked.
async fn histories(
    forge: &Arc<dyn Forge>,
    wanted: &[(usize, RepoId, String)],
    limit: usize,
    jobs: usize,
    reporter: &dyn Reporter,
) -> (Vec<(usize, History)>, HistoryStatus) {
    let mut status = HistoryStatus { limit, available: false, note: None };
    if limit == 0 {
        status.note = Some("not asked for (--history 0)".into());
        return (Vec::new(), status);
    }
    let Some((first_index, first_repo, first_path)) = wanted.first() else {
        status.note = Some("no scheduled workflows".into());
        return (Vec::new(), status);
    };
    reporter.stage("history", wanted.len());
    let label = |repo: &RepoId, path: &str| format!("{repo} {}", file_of(path));
    let finish = |repo: &RepoId, path: &str, h: &History| {
        let (ok, detail) = match h {
            History::Runs(runs) => (true, format!("{} run(s)", runs.len())),
            History::Unavailable => (true, "no history".to_string()),
            History::Failed(e) => (false, e.clone()),
        };
        reporter.item_finished(&label(repo, path), ok, &detail);
    };
    reporter.item_started(&label(first_repo, first_path));
    let first = forge.workflow_runs(first_repo, first_path, limit).await;
    if matches!(first, Ok(None)) {
        reporter.item_finished(&label(first_repo, first_path), true, "no history");
        reporter.stage_done();
        status.note = Some(format!("the {} forge keeps no run history", forge.kind()));
        return (Vec::new(), status);
    }
    status.available = true;
    let first = to_history(first);
    finish(first_repo, first_path, &first);
    let mut out = vec![(*first_index, first)];
    let gate = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, repo, path) in wanted.iter().skip(1).cloned() {
        let (forge, gate) = (forge.clone(), gate.clone());
        reporter.item_started(&label(&repo, &path));
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let answer = forge.workflow_runs(&repo, &path, limit).await;
            (index, repo, path, to_history(answer))
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, repo, path, history)) => {
                finish(&repo, &path, &history);
                out.push((index, history));
            }
            Err(e) => tracing::warn!("a run-history request stopped: {e}"),
        }
    }
    reporter.stage_done();
    out.sort_by_key(|(i, _)| *i);
    (out, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wf(text: &str) -> Workflow {
        workflow::parse(text, false).expect("workflow parses")
    }

    fn scheduled(cron: &str, runs_on: &str) -> String {
        format!(
            "name: poll\non:\n  schedule:\n    - cron: '{cron}'\njobs:\n  poll:\n    runs-on: {runs_on}\n    steps:\n      - run: ./poll\n"
        )
    }

    fn input(text: &str, flagged: &[usize], history: History) -> WorkflowInput {
        WorkflowInput {
            repo: "acme/status".into(),
            path: ".github/workflows/poll.yml".into(),
            workflow: wf(text),
            flagged_lines: flagged.to_vec(),
            history,
        }
    }

    fn status() -> HistoryStatus {
        HistoryStatus { limit: 20, available: true, note: None }
    }

    fn config(assumed: f64) -> CostConfig {
        CostConfig { assumed_minutes_per_run: assumed, ..CostConfig::default() }
    }

    fn run(event: &str, seconds: i64) -> WorkflowRun {
        let start = "2026-01-01T10:00:00Z";
        let end = (chrono::DateTime::parse_from_rfc3339(start).expect("time") + chrono::TimeDelta::seconds(seconds))
            .to_rfc3339();
        WorkflowRun::new("completed", Some("success"), event, Some(start), Some(&end))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn every_five_minutes_on_linux_at_three_minutes_a_run() {
        let report = estimate(
            "acme",
            &[input(&scheduled("*/5 * * * *", "ubuntu-latest"), &[], History::Unavailable)],
            &config(3.0),
            30,
            status(),
        );
        let w = &report.workflows[0];
        // 12 runs an hour × 24 hours × 30 days = 8640 runs.
        assert_eq!(w.runs_per_month, 8640);
        assert_eq!(w.minutes_source, MinutesSource::Assumed);
        // 8640 runs × 3 minutes = 25920 minutes; × $0.008 = $207.36.
        assert!(close(w.minutes_per_month, 25_920.0), "{w:?}");
        assert!(close(w.dollars_per_month, 207.36), "{w:?}");
        assert!(close(report.totals.dollars_per_month, 207.36));
        assert_eq!(report.totals.runs_per_month, 8640);
        assert!(close(report.totals.by_os["linux"].dollars_per_month, 207.36));
        // Not reported by the rule (no flagged line): no savings.
        assert!(report.savings.is_empty());
    }

    #[test]
    fn a_cron_that_can_never_fire_is_no_saving_and_not_dispatched() {
        // The rule reports line 4 (the cron), as it would for `0 0 31 2 *`.
        let report = estimate(
            "acme",
            &[input(&scheduled("0 0 31 2 *", "ubuntu-latest"), &[4], History::Unavailable)],
            &config(3.0),
            30,
            status(),
        );
        let w = &report.workflows[0];
        assert_eq!((w.runs_per_month, w.crons[0].flagged), (0, false), "{w:?}");
        assert!(report.savings.is_empty(), "{:?}", report.savings);
    }

    #[test]
    fn windows_macos_and_self_hosted_rates() {
        let c = config(3.0);
        let one = |runs_on: &str| {
            estimate("acme", &[input(&scheduled("0 * * * *", runs_on), &[], History::Unavailable)], &c, 30, status())
                .workflows
                .remove(0)
        };
        // Hourly: 24 × 30 = 720 runs × 3 minutes = 2160 minutes.
        let windows = one("windows-2022");
        assert_eq!((windows.runners[0].os, windows.runs_per_month), (RunnerOs::Windows, 720));
        // 2160 × $0.016 = $34.56.
        assert!(close(windows.dollars_per_month, 34.56), "{windows:?}");
        // 2160 × $0.08 = $172.80.
        let macos = one("macos-14");
        assert_eq!(macos.runners[0].os, RunnerOs::Macos);
        assert!(close(macos.dollars_per_month, 172.8), "{macos:?}");
        // Self-hosted: the minutes are still counted, GitHub bills $0.
        let own = one("[self-hosted, linux, x64]");
        assert_eq!(own.runners[0].os, RunnerOs::SelfHosted);
        assert!(close(own.minutes_per_month, 2160.0) && close(own.dollars_per_month, 0.0), "{own:?}");
        assert!(own.notes.iter().any(|n| n.contains("does not bill")), "{own:?}");
        // Expressions and unknown labels are priced as linux, with a note: 2160 × $0.008 = $17.28.
        let matrix = one("${{ matrix.os }}");
        assert_eq!(matrix.runners[0].os, RunnerOs::Linux);
        assert!(close(matrix.dollars_per_month, 17.28));
        assert!(matrix.notes.iter().any(|n| n.contains("expression")), "{matrix:?}");
        assert!(one("big-box").notes.iter().any(|n| n.contains("unknown labels `big-box`")));
        assert_eq!(one("linux").runners[0].os, RunnerOs::Linux);
    }

    #[test]
    fn parallel_jobs_are_runners_and_needs_are_not() {
        let text = "on:\n  schedule:\n    - cron: '0 0 * * *'\njobs:\n  lin:\n    runs-on: ubuntu-latest\n  win:\n    runs-on: windows-latest\n  report:\n    needs: [lin, win]\n    runs-on: ubuntu-latest\n";
        let report = estimate("acme", &[input(text, &[], History::Unavailable)], &config(2.0), 30, status());
        let w = &report.workflows[0];
        assert_eq!(runner_summary(&w.runners), "linux+windows");
        // Daily: 30 runs. Two runners × 2 minutes = 4 minutes a run → 120 minutes.
        assert!(close(w.minutes_per_month, 120.0), "{w:?}");
        // A run: 2 × $0.008 + 2 × $0.016 = $0.048; × 30 = $1.44.
        assert!(close(w.price_per_run, 0.048) && close(w.dollars_per_month, 1.44), "{w:?}");
        assert!(w.notes.iter().any(|n| n.contains("`report`")), "{w:?}");
        assert_eq!(report.totals.by_os.len(), 2);
        // Linux: 30 runs × 2 minutes = 60 minutes, $0.48; windows the same minutes, $0.96.
        assert!(close(report.totals.by_os["windows"].dollars_per_month, 0.96));
    }

    #[test]
    fn history_averages_completed_scheduled_runs_rounded_up() {
        let runs = vec![
            run("schedule", 150),
            run("schedule", 170),
            run("schedule", 200),
            run("push", 3600),
            WorkflowRun::new("in_progress", None, "schedule", Some("2026-01-01T10:00:00Z"), None),
        ];
        let report = estimate(
            "acme",
            &[input(&scheduled("*/5 * * * *", "ubuntu-latest"), &[], History::Runs(runs))],
            &config(1.0),
            30,
            status(),
        );
        let w = &report.workflows[0];
        assert_eq!((w.minutes_source, w.history_runs), (MinutesSource::History, 3));
        // (150 + 170 + 200) / 3 = 173.33 s = 2.888... minutes of wall clock.
        assert!(close(w.average_minutes, tidy(520.0 / 180.0)), "{w:?}");
        // Billed: ceil(2.5) + ceil(2.83) + ceil(3.33) = 3 + 3 + 4 = 10 / 3 = 3.333... minutes a run.
        assert!(close(w.billable_minutes_per_runner, tidy(10.0 / 3.0)), "{w:?}");
        // 8640 runs × 10/3 minutes = 28800 minutes × $0.008 = $230.40.
        assert!(close(w.minutes_per_month, 28_800.0) && close(w.dollars_per_month, 230.4), "{w:?}");

        // Without scheduled runs the other completed runs are used, and said so.
        let pushes = History::Runs(vec![run("push", 61)]);
        let w = &estimate(
            "acme",
            &[input(&scheduled("0 0 * * *", "ubuntu-latest"), &[], pushes)],
            &config(1.0),
            30,
            status(),
        )
        .workflows[0];
        // 61 s bills 2 minutes: 30 runs × 2 = 60 minutes.
        assert!(close(w.minutes_per_month, 60.0), "{w:?}");
        assert!(w.notes.iter().any(|n| n.contains("none of its last 1 completed")), "{w:?}");

        // Nothing completed, or an error: assumed minutes, rounded up like a job (2.5 → 3).
        for history in [History::Runs(Vec::new()), History::Failed("boom".into())] {
            let w = &estimate(
                "acme",
                &[input(&scheduled("0 0 * * *", "ubuntu-latest"), &[], history)],
                &config(2.5),
                30,
                status(),
            )
            .workflows[0];
            assert_eq!(w.minutes_source, MinutesSource::Assumed);
            assert!(close(w.minutes_per_month, 90.0), "{w:?}");
            assert_eq!(w.notes.len(), 1, "{w:?}");
        }
    }

    #[test]
    fn two_crons_at_the_same_minute_both_count() {
        let text = "on:\n  schedule:\n    - cron: '0 * * * *'\n    - cron: '0 */2 * * *'\n    - cron: '61 * * * *'\njobs:\n  a:\n    runs-on: ubuntu-latest\n";
        let w = &estimate("acme", &[input(text, &[], History::Unavailable)], &config(1.0), 30, status()).workflows[0];
        // 720 hourly + 360 every other hour (all at minutes the first also fires) + 0 for the
        // invalid cron = 1080: GitHub starts a run for each.
        assert_eq!(w.runs_per_month, 1080);
        assert_eq!(w.crons[2].error.as_deref(), Some("minute field: 61 is out of range 0-59"));
        assert_eq!(w.min_interval_minutes, Some(60));
    }

    #[test]
    fn savings_of_the_reported_crons() {
        let text = scheduled("*/5 * * * *", "ubuntu-latest");
        // The cron is on line 4, where the rule reports it.
        let report = estimate("acme", &[input(&text, &[4], History::Unavailable)], &config(3.0), 30, status());
        let s = &report.savings[0];
        assert_eq!(s.relaxed.as_deref(), Some("*/30 * * * *"));
        // 8640 - 1440 (2 an hour × 24 × 30) = 7200 runs saved.
        assert_eq!((s.runs_before, s.runs_after, s.runs_saved), (8640, 1440, 7200));
        // 7200 × 3 minutes = 21600 minutes; × $0.008 = $172.80.
        assert!(close(s.minutes_saved, 21_600.0) && close(s.dollars_saved, 172.8), "{s:?}");
        assert_eq!(report.savings_totals.runs_per_month, 7200);
        assert!(close(report.savings_totals.dollars_per_month, 172.8));
        // A stricter minimum of 45 minutes has no safe rewrite: reported, nothing saved.
        let report = estimate("acme", &[input(&text, &[4], History::Unavailable)], &config(3.0), 45, status());
        assert_eq!((report.savings[0].relaxed.as_deref(), report.savings[0].runs_saved), (None, 0));
    }

    #[test]
    fn the_rule_decides_which_crons_are_reported() {
        use crate::workflow::files::SourceFile;
        let text = scheduled("*/5 * * * *", "ubuntu-latest");
        let files = [SourceFile { path: ".github/workflows/poll.yml".into(), bytes: text.clone().into_bytes() }];
        let lines: Vec<usize> = Policy::default_rules()
            .audit_repo("acme/status", &files, &|_| false)
            .into_iter()
            .filter(|f| f.rule == RULE)
            .map(|f| f.line)
            .collect();
        assert_eq!(lines, [4]);
    }

    #[test]
    fn unscheduled_workflows_are_counted_not_estimated() {
        let report = estimate(
            "acme",
            &[input("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n", &[], History::Unavailable)],
            &config(1.0),
            30,
            status(),
        );
        assert_eq!((report.workflows.len(), report.unscheduled_workflows), (0, 1));
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["schema_version"], COST_SCHEMA_VERSION);
        assert_eq!(json["window"]["start"], "2026-06-01T00:00:00+00:00");
        assert!(json.get("scheduler").is_none());
    }

    #[test]
    fn scheduler_cron_spacing() {
        assert_eq!(scheduler_cron(30), ("*/30 * * * *".into(), 30));
        assert_eq!(scheduler_cron(1), ("*/5 * * * *".into(), 5));
        assert_eq!(scheduler_cron(45), ("0 * * * *".into(), 60));
        assert_eq!(scheduler_cron(90), ("0 */2 * * *".into(), 120));
        assert_eq!(scheduler_cron(600), ("0 */12 * * *".into(), 720));
        assert_eq!(scheduler_cron(1440), ("0 0 * * *".into(), 1440));
        assert_eq!(scheduler_cron(2000), ("0 0 * * 0".into(), 10_080));
        for min in [1, 7, 30, 45, 59, 61, 90, 300, 1000, 1440, 5000, 20_000] {
            let (cron, interval) = scheduler_cron(min);
            let gap = Schedule::parse(&cron).expect("parses").min_interval().map_or(u64::MAX, |d| d.as_secs() / 60);
            assert!(gap >= u64::from(min.max(5)) && gap >= u64::from(interval.min(28 * 24 * 60)), "{min}: {cron}");
        }
    }

    fn suggestion_report() -> CostReport {
        let dispatchable =
            scheduled("*/5 * * * *", "ubuntu-latest").replace("  schedule:", "  workflow_dispatch:\n  schedule:");
        let mut a = input(&dispatchable, &[5], History::Unavailable);
        a.repo = "acme/status".into();
        let mut b = input(&scheduled("*/10 * * * *", "ubuntu-latest"), &[4], History::Unavailable);
        b.repo = "acme/web it".into();
        b.path = ".github/workflows/ping it.yml".into();
        // Reported, but only working hours: 9 hours × 4 × 22 weekdays = 792 runs, fewer than
        // the scheduler's 1440.
        let mut c = input(&scheduled("*/15 9-17 * * 1-5", "ubuntu-latest"), &[4], History::Unavailable);
        c.repo = "acme/office".into();
        let quiet = input(&scheduled("0 3 * * *", "ubuntu-latest"), &[], History::Unavailable);
        estimate("acme", &[a, b, c, quiet], &config(1.0), 30, status())
    }

    #[test]
    fn scheduler_dispatches_the_reported_workflows_and_passes_the_audit() {
        let report = suggestion_report();
        let s = suggest_scheduler(&report, 10).expect("renders");
        assert_eq!((s.cron.as_str(), s.scheduler_runs_per_month), ("*/30 * * * *", 1440));
        let names: Vec<&str> = s.dispatched.iter().map(|d| d.repo.as_str()).collect();
        assert_eq!(names, ["acme/status", "acme/web it"]);
        // Before: 8640 (*/5) + 4320 (*/10) = 12960; after: 1440 × 2 = 2880; saved 10080.
        assert_eq!((s.runs_before, s.runs_after, s.runs_saved), (12_960, 2880, 10_080));
        // (8640 - 1440) + (4320 - 1440) = 10080 runs × 1 minute × $0.008 = $80.64, less the
        // scheduler's own 1440 runs × $0.008 = $11.52: $69.12.
        assert!(close(s.dollars_saved, 69.12), "{s:?}");
        assert_eq!(s.add_workflow_dispatch, ["acme/web it .github/workflows/ping it.yml"]);
        assert_eq!(s.not_consolidated.len(), 1);
        assert_eq!(s.not_consolidated[0].runs_per_month, 792);

        let yaml = s.workflow.expect("a workflow");
        // Names reach the shell through the environment, never spliced into the script.
        assert!(yaml.contains("WORKFLOW: \"poll.yml\"\n          REPOSITORY: \"acme/status\"\n"), "{yaml}");
        assert!(yaml.contains("WORKFLOW: \"ping it.yml\"\n          REPOSITORY: \"acme/web it\"\n"), "{yaml}");
        assert!(yaml.contains("run: gh workflow run \"$WORKFLOW\" --repo \"$REPOSITORY\"\n"), "{yaml}");
        assert!(yaml.contains("GH_TOKEN: ${{ secrets.CONVOY_DISPATCH_TOKEN }}\n"), "{yaml}");
        let parsed = wf(&yaml);
        assert!(parsed.has_trigger("workflow_dispatch") && parsed.has_trigger("schedule"));
        assert_eq!(parsed.schedules[0].value, "*/30 * * * *");
        assert_eq!(parsed.jobs[0].steps.len(), 2);
        assert_eq!(parsed.jobs[0].timeout_minutes(), Some(10.0));
        let writes = parsed.permissions.as_ref().map(workflow::Permissions::writes).unwrap_or_default();
        assert_eq!(writes.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["actions"]);
        let files = [SourceFile { path: SCHEDULER_PATH.into(), bytes: yaml.clone().into_bytes() }];
        let findings = Policy::default_rules().audit_repo("acme/control", &files, &|_| false);
        assert!(findings.is_empty(), "{findings:#?}\n{yaml}");

        // Nothing reported: no workflow to render.
        let calm = estimate(
            "acme",
            &[input(&scheduled("0 3 * * *", "x"), &[], History::Unavailable)],
            &config(1.0),
            30,
            status(),
        );
        let s = suggest_scheduler(&calm, 10).expect("renders");
        assert!(s.workflow.is_none() && s.dispatched.is_empty());
    }

    #[test]
    fn text_view() {
        let mut report = suggestion_report();
        report.history =
            HistoryStatus { limit: 20, available: false, note: Some("the local forge keeps no run history".into()) };
        report.scheduler = Some(suggest_scheduler(&report, 10).expect("renders"));
        let t = text(&report, Some("out.yml"));
        let folded = t.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(folded.contains("acme/status poll.yml linux */5 * * * * 8640 1 (assumed) 8640 $69.12"), "{t}");
        assert!(t.contains("$69.12"), "{t}");
        assert!(t.contains("run history: unavailable (the local forge keeps no run history)"), "{t}");
        assert!(t.contains("add `workflow_dispatch:` to acme/web it .github/workflows/ping it.yml"), "{t}");
        assert!(t.contains("wrote the scheduler workflow to out.yml"), "{t}");
        assert!(t.contains("TOTAL"), "{t}");
        assert!(text(&report, None).contains("--- .github/workflows/convoy-scheduler.yml\n# "), "{t}");
    }
}
