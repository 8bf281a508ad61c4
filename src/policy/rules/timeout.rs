//! `timeout`: a job without `timeout-minutes` may run for GitHub's default of 360 minutes when
//! it hangs; a configured ceiling catches limits set too high.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;

pub struct Timeout;

impl Rule for Timeout {
    fn id(&self) -> &'static str {
        "timeout"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "Every job sets `timeout-minutes`, at most the configured ceiling (default 120)."
    }
    fn help(&self) -> &'static str {
        "A hung job otherwise burns up to 360 minutes; set `timeout-minutes` a little above the job's usual time."
    }
    fn check_file(&self, file: &FileCtx<'_>, options: &Options, out: &mut Vec<Hit>) {
        // Jobs that are one body in the source (an anchored job and its aliases, `b: *a`) get
        // one finding, at the first of them, since one edit fixes them all.
        let mut seen: Vec<usize> = Vec::new();
        let jobs = &file.workflow.jobs;
        for job in jobs {
            // A reusable-workflow call has no timeout of its own: its jobs carry theirs.
            if job.uses.is_some() {
                continue;
            }
            match (&job.timeout, job.timeout_minutes()) {
                (None, _) => {
                    let body = job.body_pos.map(|p| p.offset);
                    if let Some(b) = body {
                        if seen.contains(&b) {
                            continue;
                        }
                        seen.push(b);
                    }
                    let ids: Vec<String> = jobs
                        .iter()
                        .filter(|j| {
                            j.uses.is_none()
                                && j.timeout.is_none()
                                && body.is_some()
                                && j.body_pos.map(|p| p.offset) == body
                        })
                        .map(|j| format!("`{}`", j.id))
                        .collect();
                    let message = if ids.len() > 1 {
                        format!(
                            "jobs {} (one body in the file) have no `timeout-minutes` (GitHub's default is 360)",
                            ids.join(", ")
                        )
                    } else {
                        format!("job `{}` has no `timeout-minutes` (GitHub's default is 360)", job.id)
                    };
                    out.push(
                        Hit::new(
                            job.pos,
                            message,
                            format!("add `timeout-minutes: {}` to the job", options.default_timeout_minutes),
                        )
                        .fixable(),
                    );
                }
                (Some(t), Some(minutes)) if minutes > f64::from(options.max_timeout_minutes) => out.push(Hit::new(
                    t.pos,
                    format!(
                        "job `{}` allows {minutes} minutes, above the ceiling of {}",
                        job.id, options.max_timeout_minutes
                    ),
                    format!("lower `timeout-minutes` to at most {}", options.max_timeout_minutes),
                )),
                // An expression, or within the ceiling.
                _ => {}
            }
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
        let h = hits(
            &Timeout,
            "on: push\njobs:\n  build:\n    runs-on: x\n  ok:\n    runs-on: x\n    timeout-minutes: 20\n",
            &o,
        );
        assert_eq!(h, [(3, "job `build` has no `timeout-minutes` (GitHub's default is 360)".to_string())]);
        let h = hits(&Timeout, "on: push\njobs:\n  long:\n    runs-on: x\n    timeout-minutes: 300\n", &o);
        assert_eq!((h.len(), h[0].0), (1, 5));
        let strict = Options { max_timeout_minutes: 15, ..Options::default() };
        assert_eq!(
            hits(&Timeout, "on: push\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 20\n", &strict).len(),
            1
        );
        assert!(
            hits(&Timeout, "on: push\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: ${{ inputs.t }}\n", &o)
                .is_empty()
        );
        assert!(
            hits(&Timeout, "on: push\njobs:\n  call:\n    uses: acme/wf/.github/workflows/x.yml@main\n", &o).is_empty()
        );
    }

    #[test]
    fn an_anchored_job_and_its_aliases_are_one_finding() {
        let o = Options::default();
        let h = hits(&Timeout, "on: push\njobs:\n  a: &job\n    runs-on: x\n  b: *job\n  c:\n    runs-on: x\n", &o);
        let want = [
            (3, "jobs `a`, `b` (one body in the file) have no `timeout-minutes` (GitHub's default is 360)".to_string()),
            (6, "job `c` has no `timeout-minutes` (GitHub's default is 360)".to_string()),
        ];
        assert_eq!(h, want);
    }
}
