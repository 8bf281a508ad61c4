//! `duplicate-workflows`: two workflows of one repository with the same triggers whose jobs run
//! the same steps: every event runs the work twice (the "two orchestrators" problem, usually a
//! renamed workflow whose old file stayed).

use std::collections::{BTreeSet, HashMap};

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::workflow::{Job, Workflow};

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
    /// Linear in the number of jobs: each job's `(triggers, fingerprint)` goes into a hash map
    /// that remembers its first file and job, so a later file finds its twin with one lookup per
    /// job instead of comparing itself with every earlier file (20,000 workflows in one
    /// repository took 72 s that way). A later file is reported once, against the earliest file
    /// sharing its triggers and one of its jobs (its first such job), as before.
    fn check_repo(&self, files: &[FileCtx<'_>], _options: &Options, out: &mut Vec<(usize, Hit)>) {
        type Key<'w> = (BTreeSet<&'w str>, Vec<String>);
        let mut first: HashMap<Key<'_>, (usize, usize)> = HashMap::new();
        for (i, later) in files.iter().enumerate() {
            let t = triggers(later.workflow);
            if t.is_empty() {
                continue;
            }
            let keys: Vec<(usize, Key<'_>)> = later
                .workflow
                .jobs
                .iter()
                .enumerate()
                .map(|(j, job)| (j, (t.clone(), fingerprint(job))))
                .filter(|(_, (_, fp))| !fp.is_empty())
                .collect();
            // The earliest file any job matches; on a tie, this file's first matching job.
            let twin = keys
                .iter()
                .filter_map(|(j, key)| first.get(key).map(|&(e, k)| (e, *j, k)))
                .min_by_key(|&(e, j, _)| (e, j));
            if let Some((e, j, k)) = twin {
                let (earlier, job, other) = (&files[e], &later.workflow.jobs[j], &files[e].workflow.jobs[k]);
                out.push((
                    i,
                    Hit::new(
                        job.pos,
                        format!(
                            "job `{}` runs the same steps on the same triggers as job `{}` of {}",
                            job.id, other.id, earlier.path
                        ),
                        "keep one of the two workflows",
                    ),
                ));
            }
            for (j, key) in keys {
                first.entry(key).or_insert((i, j));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::parse;

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

    /// The rule as it was: every later file against every earlier one.
    fn quadratic(files: &[FileCtx<'_>]) -> Vec<(usize, usize, String)> {
        let mut out = Vec::new();
        for (i, later) in files.iter().enumerate() {
            let t = triggers(later.workflow);
            if t.is_empty() {
                continue;
            }
            let found = files[..i].iter().find_map(|e| {
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
            if let Some((e, j, k)) = found {
                out.push((
                    i,
                    j.pos.line,
                    format!("job `{}` runs the same steps on the same triggers as job `{}` of {}", j.id, k.id, e.path),
                ));
            }
        }
        out
    }

    #[test]
    fn hash_buckets_find_the_same_twins_as_comparing_every_pair() {
        // Files sharing triggers and some jobs in various orders, so that the earliest twin
        // and the first matching job both matter.
        let job = |id: &str, cmd: &str| format!("  {id}:\n    runs-on: x\n    steps:\n      - run: {cmd}\n");
        let mut texts = Vec::new();
        for n in 0..40 {
            let on = ["push", "[push, pull_request]", "pull_request", "{}"][n % 4];
            let mut t = format!("on: {on}\njobs:\n");
            for m in 0..3 {
                t.push_str(&job(&format!("j{m}"), &format!("make t{}", (n * 7 + m * 3) % 11)));
            }
            texts.push(t);
        }
        let parsed: Vec<_> = texts.iter().map(|s| parse(s, false).expect("parse")).collect();
        let paths: Vec<String> = (0..texts.len()).map(|i| format!("w{i}.yml")).collect();
        let ctx: Vec<FileCtx<'_>> = (0..texts.len())
            .map(|i| FileCtx { repo: "acme/api", path: &paths[i], source: &texts[i], workflow: &parsed[i] })
            .collect();
        let mut out = Vec::new();
        DuplicateWorkflows.check_repo(&ctx, &Options::default(), &mut out);
        let got: Vec<_> = out.into_iter().map(|(i, h)| (i, h.pos.line, h.message)).collect();
        let want = quadratic(&ctx);
        assert!(want.len() > 10, "the fixture has duplicates: {want:?}");
        assert_eq!(got, want);
    }

    #[test]
    fn twenty_thousand_workflows_are_checked_in_linear_time() {
        let base = "on: push\njobs:\n  test:\n    runs-on: x\n    steps:\n      - run: make test\n";
        let one = parse(base, false).expect("parse");
        // One parse, cloned with another `run:`: the rule only reads triggers and steps.
        let parsed: Vec<_> = (0..20_000)
            .map(|i| {
                let mut w = one.clone();
                w.jobs[0].steps[0].run = Some(format!("make test-{}", i % 10_000));
                w
            })
            .collect();
        let texts = vec![base.to_string(); parsed.len()];
        let paths: Vec<String> = (0..texts.len()).map(|i| format!("w{i}.yml")).collect();
        let ctx: Vec<FileCtx<'_>> = (0..texts.len())
            .map(|i| FileCtx { repo: "acme/api", path: &paths[i], source: &texts[i], workflow: &parsed[i] })
            .collect();
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        DuplicateWorkflows.check_repo(&ctx, &Options::default(), &mut out);
        let took = started.elapsed();
        // The second 10,000 repeat the first: each is reported against its twin.
        assert_eq!(out.len(), 10_000);
        assert!(out[0].1.message.ends_with("as job `test` of w0.yml"), "{:?}", out[0]);
        assert!(took < std::time::Duration::from_secs(10), "{took:?} (the pairwise rule took 72 s)");
    }
}
