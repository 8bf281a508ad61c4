//! `concurrency`: workflows triggered by pushes, pull requests or schedules without a
//! concurrency group run side by side, piling up minutes on superseded commits; pull-request
//! workflows should also cancel the run they replace.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;

pub struct Concurrency;

const TRIGGERS: [&str; 5] = ["push", "pull_request", "pull_request_target", "schedule", "merge_group"];

impl Rule for Concurrency {
    fn id(&self) -> &'static str {
        "concurrency"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "Workflows triggered by push, pull_request or schedule declare a concurrency group; pull-request workflows cancel superseded runs."
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
        let on_pr = fired.iter().any(|e| e.starts_with("pull_request"));
        let cancels = c.cancel_in_progress.as_deref().is_some_and(|v| v.trim() != "false");
        if on_pr && options.require_cancel_in_progress && !cancels {
            out.push(Hit::new(
                c.pos,
                "pull-request workflow does not cancel in-progress runs: every push to a PR runs to the end",
                "set `cancel-in-progress: true` (or `${{ github.event_name == 'pull_request' }}`)",
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
}
