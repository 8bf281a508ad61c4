//! The JSON view of `convoy cost` (`docs/schemas/cost.schema.json`): `results` the scheduled
//! workflows with their estimate; the money and the window beside them (`summary` holds counts
//! only, so dollars and minutes are under `totals` and `savings_totals`).

use super::{Envelope, ErrorItem};
use crate::policy::cost::CostReport;

pub fn cost_json(report: &CostReport) -> Envelope {
    let repos: std::collections::BTreeSet<&str> = report.workflows.iter().map(|w| w.repo.as_str()).collect();
    Envelope::new("cost")
        .count("repos", repos.len())
        .count("workflows", report.workflows.len())
        .count("unscheduled_workflows", report.unscheduled_workflows)
        .count("savings", report.savings.len())
        .count("errors", report.errors.len())
        .results(&report.workflows)
        .with("tool", &report.tool)
        .with("owner", &report.owner)
        .with("window", &report.window)
        .with("rates", &report.rates)
        .with("min_interval_minutes", report.min_interval_minutes)
        .with("history", &report.history)
        .with("totals", &report.totals)
        .with("savings", &report.savings)
        .with("savings_totals", &report.savings_totals)
        .with("skipped_workflows", &report.skipped)
        .with("scheduler", &report.scheduler)
        .error_all(report.errors.iter().map(|e| ErrorItem::repo(&e.repo, &e.message)))
}
