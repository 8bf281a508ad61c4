//! The JSON views of `release graph`, `plan`, `run` and `rollback`. Shapes:
//! `docs/schemas/release-*.schema.json`.

use serde_json::json;

use super::{Envelope, ErrorItem};
use crate::release::graph::Graph;
use crate::release::plan::Plan;
use crate::release::run::{ReleaseState, RollbackReport};

/// `release graph`: `results` the publishable packages (nodes); `edges`, `waves` (package names,
/// dependencies first), `ignored_dev_edges` and `cycles` beside them.
pub fn graph_json(graph: &Graph) -> Envelope {
    let mut env = Envelope::new("release graph")
        .count("packages", graph.nodes.len())
        .count("edges", graph.edges.len())
        .count("waves", graph.waves.len())
        .count("cycles", graph.cycles.len())
        .count("errors", graph.errors.len())
        .results(&graph.nodes)
        .with("edges", &graph.edges)
        .with("waves", &graph.waves)
        .with("ignored_dev_edges", &graph.ignored_dev_edges)
        .with("cycles", &graph.cycles);
    env.errors = graph
        .errors
        .iter()
        .map(|e| ErrorItem { file: e.manifest.clone(), ..ErrorItem::repo(&e.repo, &e.message) })
        .collect();
    env
}

/// `release plan` (and `release run --dry-run`): `results` the waves in release order, each
/// `{wave (0-based), packages}`; `unreleased` the packages left as they are and why.
pub fn plan_json(plan: &Plan) -> Envelope {
    let mut env = Envelope::new("release plan")
        .count("waves", plan.waves.len())
        .count("packages", plan.waves.iter().map(Vec::len).sum())
        .count("unreleased", plan.skipped.len())
        .count("errors", plan.errors.len())
        .with("unreleased", &plan.skipped);
    for (wave, packages) in plan.waves.iter().enumerate() {
        env.results.push(json!({"wave": wave, "packages": packages}));
    }
    env.errors = plan
        .errors
        .iter()
        .map(|e| ErrorItem {
            message: match &e.package {
                Some(p) => format!("{p}: {}", e.message),
                None => e.message.clone(),
            },
            repo: e.repo.clone(),
            file: e.manifest.clone(),
            ..ErrorItem::default()
        })
        .collect();
    env
}

/// `release run`: `results` each package's state (`package` added), in name order; `errors`
/// the packages that failed (`package: message`), `budget` the estimate of the plan.
pub fn run_json(
    state: &ReleaseState,
    finished: bool,
    errors: &[(String, String)],
    budget: impl serde::Serialize,
) -> Envelope {
    let waves_done = state
        .plan
        .waves
        .iter()
        .filter(|w| w.iter().all(|p| state.packages.get(&p.package).is_some_and(|s| s.done())))
        .count();
    let mut env = Envelope::new("release run")
        .count("waves", state.plan.waves.len())
        .count("waves_done", waves_done)
        .count("packages", state.packages.len())
        .count("finished", usize::from(finished))
        .count("failed", errors.len())
        .with("dry_run", false)
        .with("budget", budget);
    for (package, s) in &state.packages {
        let mut v = serde_json::to_value(s).unwrap_or_default();
        v["package"] = json!(package);
        env.results.push(v);
    }
    env.errors = errors
        .iter()
        .map(|(p, e)| ErrorItem {
            repo: state.packages.get(p).map(|s| s.repo.clone()),
            ..ErrorItem::run(format!("{p}: {e}"))
        })
        .collect();
    env
}

/// `release rollback`: `results` one `{step}` per thing undone (or, with `dry_run`, that would
/// be); `not_undone` what stays and why.
pub fn rollback_json(report: &RollbackReport, dry_run: bool, already: bool) -> Envelope {
    Envelope::new("release rollback")
        .count("undone", report.undone.len())
        .count("not_undone", report.not_undone.len())
        .count("errors", report.errors.len())
        .results(report.undone.iter().map(|step| json!({"step": step})))
        .with("not_undone", &report.not_undone)
        .with("dry_run", dry_run)
        .with("already_rolled_back", already)
        .error_all(report.errors.iter().map(ErrorItem::run))
}
