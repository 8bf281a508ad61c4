//! `duplicate-workflows`: two workflows of one repository with the same triggers whose jobs run
//! the same steps: every event runs the work twice (the "two orchestrators" problem, usually a
//! renamed workflow whose old file stayed).

use std::collections::BTreeSet;

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::policy::workflow::{Job, Workflow};

pub struct DuplicateWorkflows;

/// What a job does, ignoring names and formatting: its steps' `uses:` and `run:` in order.
fn fingerprint(job: &Job) -> Vec<String> {
    job.steps
        .iter()
        .map(|s| match (&s.uses, &s.run) {
            (Some(u), _) => format!("uses:{}", u.value.trim()),
            (None, Some(r)) => format!("run:{}", r.split_whitespace().collect::<Vec<_>>().join(" ")),
            (None, None) => String::new(),
        })
        .collect()
}

fn triggers(wf: &Workflow) -> BTreeSet<&str> {
    wf.triggers.iter().map(|t| t.event.as_str()).collect()
}

impl Rule for DuplicateWorkflows {
    fn id(&self) -> &'static str {
        "duplicate-workflows"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "No two workflows in a repository have the same triggers and a job running the same steps."
    }
    fn help(&self) -> &'static str {
        "Delete one of the two workflows, or merge them; every trigger otherwise runs the same work twice."
    }
    fn check_repo(&self, files: &[FileCtx<'_>], _options: &Options, out: &mut Vec<(usize, Hit)>) {
        for (i, later) in files.iter().enumerate() {
            let t = triggers(later.workflow);
            if t.is_empty() {
                continue;
            }
            let earlier = files[..i].iter().find_map(|e| {
                if triggers(e.workflow) != t {
                    return None;
                }
                later.workflow.jobs.iter().find_map(|j| {
                    let fp = fingerprint(j);
                    if fp.is_empty() {
                        return None;
                    }
                    e.workflow.jobs.iter().find(|k| fingerprint(k) == fp).map(|k| (e, j, k))
                })
            });
            if let Some((e, job, twin)) = earlier {
                out.push((
                    i,
                    Hit::new(
                        job.pos,
                        format!(
                            "job `{}` runs the same steps on the same triggers as job `{}` of {}",
                            job.id, twin.id, e.path
                        ),
                        "keep one of the two workflows",
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::workflow::parse;

    fn run(files: &[(&str, &str)]) -> Vec<(usize, usize, String)> {
        let parsed: Vec<_> = files.iter().map(|(_, s)| parse(s, false).expect("parse")).collect();
        let ctx: Vec<FileCtx<'_>> = files
            .iter()
            .zip(&parsed)
            .map(|((p, s), w)| FileCtx { repo: "acme/api", path: p, source: s, workflow: w })
            .collect();
        let mut out = Vec::new();
        DuplicateWorkflows.check_repo(&ctx, &Options::default(), &mut out);
        out.into_iter().map(|(i, h)| (i, h.pos.line, h.message)).collect()
    }

    #[test]
    fn fires_and_stays_quiet() {
        let a = "on: [push]\njobs:\n  test:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - run: cargo test\n";
        let b = "name: CI (old)\non: push\njobs:\n  build:\n    runs-on: ubuntu-22.04\n    steps:\n      - uses: actions/checkout@v4\n      - run:   cargo   test\n";
        let h = run(&[(".github/workflows/a.yml", a), (".github/workflows/b.yml", b)]);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!((h[0].0, h[0].1), (1, 4));
        assert!(h[0].2.contains("as job `test` of .github/workflows/a.yml"));
        // Other triggers, or other steps: no finding.
        assert!(run(&[("a", a), ("b", &b.replace("on: push", "on: pull_request"))]).is_empty());
        assert!(run(&[("a", a), ("b", &b.replace("cargo   test", "cargo clippy"))]).is_empty());
    }
}
