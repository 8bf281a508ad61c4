//! Resume (issue 11, part 4): a journaled command killed with `SIGKILL` at every step of its
//! journal in turn (`CONVOY_TEST_KILL_AT_JOURNAL_STEP=N`: just before the N-th append, so both
//! sides of every forge write), then run again as it was, converges on exactly what an
//! uninterrupted run makes (no second pull request, branch, commit or merge), leaves a journal
//! that verifies, and says what it resumed.
//!
//! `apply` runs with `--jobs 1` here, so that the kill lands exactly at a journal step: with more
//! jobs, another repository's forge write may be cut half-way at the same moment, and on the
//! local forge a ref update cut half-way leaves git's lock file (`packed-refs.lock`), which the
//! local forge removes only once it is a minute old (`src/forge/local.rs`, `STALE_REF_LOCK`), so
//! a re-run within that minute fails for that repository, naming the file.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use convoy::journal::{Kind, Progress, verify};

use crate::support::{HEAD, Org, git};

const KILL: &str = "CONVOY_TEST_KILL_AT_JOURNAL_STEP";
const REPOS: [&str; 3] = ["api", "web", "docs"];
const JOURNAL: &str = ".convoy/campaigns/convoy~ci/journal.jsonl";
const CLAIM: &str = ".convoy/campaigns/convoy~ci/claim.json";

struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}\n--- stdout\n{}\n--- stderr\n{}", self.status, self.stdout, self.stderr)
    }
}

/// The real binary in `dir`, with none of the caller's run identity or test switches unless
/// given in `env`.
fn convoy(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(cargo_bin("convoy"));
    cmd.arg("-m").arg(dir.join("org.toml")).args(args).current_dir(dir).env("NO_COLOR", "1");
    for var in
        ["CONVOY_MANIFEST", "CONVOY_LOG", "CONVOY_NOW", "CONVOY_RUN_ID", "GITHUB_RUN_ID", KILL, "CONVOY_TEST_JOURNAL"]
    {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("convoy runs");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> Run {
    let run = convoy(dir, args, &[]);
    assert_eq!(run.status.code(), Some(0), "convoy {args:?}: {run:?}");
    run
}

/// Three repositories and a campaign with a label (so pass 2 updates every new PR).
fn pristine() -> Org {
    let org = Org::new();
    for name in REPOS {
        org.repo(name, &[("README.md", &format!("{name}\n"))]);
    }
    org.template("ci.yml.j2", "name: ci\non: push\n# {{ repo.full_name }}\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n[campaign]\nbranch = \"convoy/ci\"\ntitle = \"ci for {{{{ repo.name }}}}\"\nlabels = [\"convoy\"]\n"
    ));
    org
}

/// A copy of `org`'s folder (forge, manifest, journal; paths in it are relative).
fn copy(org: &Org) -> Org {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("cp").arg("-a").arg(format!("{}/.", org.path().display())).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Org { dir }
}

fn journal_bytes(org: &Org) -> Vec<u8> {
    std::fs::read(org.path().join(JOURNAL)).unwrap_or_default()
}

fn journal_len(org: &Org) -> usize {
    journal_bytes(org).iter().filter(|b| **b == b'\n').count()
}

/// What a campaign leaves on the forge, without what differs between two runs that did the same
/// (commit ids and times): per repository, each pull request's number, state, branches, title,
/// body, labels; each branch's tree and the length of its history (a duplicate commit or merge
/// lengthens it).
#[derive(Debug, PartialEq, Eq)]
struct ForgeState(BTreeMap<String, Repo>);

#[derive(Debug, PartialEq, Eq)]
struct Repo {
    pulls: Vec<serde_json::Value>,
    /// Branch name to its tree id and the number of commits in its history.
    branches: BTreeMap<String, (String, usize)>,
}

fn forge_state(org: &Org) -> ForgeState {
    let mut out = BTreeMap::new();
    for name in REPOS {
        let pulls = org
            .pulls(name)
            .iter()
            .map(|p| {
                let keep = ["number", "state", "head", "base", "title", "body", "draft", "labels", "reviewers"];
                keep.iter().map(|k| (k.to_string(), p[*k].clone())).collect::<serde_json::Map<_, _>>().into()
            })
            .collect();
        let bare = org.bare(name);
        let branches = git(&bare, &["for-each-ref", "--format=%(refname:short)", "refs/heads"])
            .lines()
            .map(|b| {
                let tree = git(&bare, &["rev-parse", &format!("{b}^{{tree}}")]).trim().to_string();
                let depth = git(&bare, &["rev-list", "--count", b]).trim().parse().unwrap();
                (b.to_string(), (tree, depth))
            })
            .collect();
        out.insert(name.to_string(), Repo { pulls, branches });
    }
    ForgeState(out)
}

/// Kill `args` at every journal step of `start` in turn, run it again, and compare with an
/// uninterrupted run. Returns the number of appends (steps at which it can be killed) and of
/// entries an uninterrupted run writes (an append writes one entry, or a batch the forge is then
/// handed at once).
fn kill_at_every_step(start: &Org, args: &[&str], check: impl Fn(&ForgeState)) -> (usize, usize) {
    let before = journal_len(start);
    let reference = copy(start);
    ok(reference.path(), args);
    let entries = journal_len(&reference) - before;
    assert!(entries >= 2 && entries.is_multiple_of(2), "an intent and an outcome per write: {entries}");
    let want = forge_state(&reference);
    check(&want);

    let mut last_len = None;
    for n in 0.. {
        assert!(n <= entries, "more appends than entries");
        let org = copy(start);
        let killed = convoy(org.path(), args, &[(KILL, &n.to_string())]);
        if killed.status.code() == Some(0) {
            // Past the last append the switch never fires: the run finishes as usual.
            assert_eq!(journal_len(&org), before + entries, "{killed:?}");
            assert_eq!(forge_state(&org), want);
            return (n, entries);
        }
        assert_eq!(killed.status.signal(), Some(9), "step {n}: killed by SIGKILL: {killed:?}");
        let len = journal_len(&org);
        match last_len {
            None => assert_eq!(len, before, "step 0: died before its first append"),
            Some(last) => assert!(len > last, "step {n}: each append adds entries ({last} then {len})"),
        }
        last_len = Some(len);
        // What the dead run left: its claim, and its entries.
        let claim: serde_json::Value =
            serde_json::from_slice(&std::fs::read(org.path().join(CLAIM)).expect("the claim is left behind")).unwrap();
        let dead = claim["run"].as_str().unwrap().to_string();
        let left = verify(&journal_bytes(&org), None);
        assert!(left.is_intact() && left.torn.is_none(), "{:?}", left.problems);
        let dead_steps = left.entries.iter().filter(|e| e.run == dead && e.kind == Kind::Intent).count();
        let pending: Vec<_> = Progress::of(&left.entries).pending.into_iter().filter(|p| p.run == dead).collect();

        // Without -q: it silences the takeover and resume lines this checks.
        let loud: Vec<&str> = args.iter().copied().filter(|a| *a != "-q").collect();
        let again = ok(org.path(), &loud);
        assert!(again.stderr.contains(&format!("took over the claim of run {dead} ")), "step {n}: {again:?}");
        if dead_steps == 0 {
            assert!(!again.stderr.contains("resuming:"), "step {n}: nothing to resume: {again:?}");
        } else {
            let line = again
                .stderr
                .lines()
                .find(|l| l.starts_with(&format!("resuming: run {dead} stopped after {dead_steps} step")))
                .unwrap_or_else(|| panic!("step {n}: no resume line: {again:?}"));
            if pending.is_empty() {
                assert!(line.contains("each with its outcome"), "step {n}: {line}");
            } else {
                let had =
                    if pending.len() == 1 { "1 step had".to_string() } else { format!("{} steps had", pending.len()) };
                assert!(line.contains(&format!("; {had} no outcome: ")), "step {n}: {line}");
                for p in &pending {
                    assert!(line.contains(&p.op.to_string()), "step {n}: {line} lacks {}", p.op);
                }
            }
        }
        assert_eq!(forge_state(&org), want, "step {n}: converged state differs from the uninterrupted run's");

        // The journal: verifies; the dead run's open intents stay open (no outcome is written
        // for another run's intent), and every step of the run that resumed has its outcome.
        let verified = ok(org.path(), &["journal", "verify", "--json"]);
        let doc: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
        assert_eq!(doc["intact"], true, "step {n}: {verified:?}");
        let after = verify(&journal_bytes(&org), None);
        let open: Vec<u64> = Progress::of(&after.entries).pending.iter().map(|p| p.intent).collect();
        assert_eq!(open, pending.iter().map(|p| p.intent).collect::<Vec<_>>(), "step {n}");
        assert_eq!(doc["pending"].as_array().unwrap().len(), open.len(), "step {n}");
        assert!(!org.path().join(CLAIM).exists(), "step {n}: the resuming run gave its claim back");
    }
    unreachable!()
}

#[test]
fn resume_apply_killed_at_every_journal_step_converges_with_one_pr_per_repository() {
    let start = pristine();
    let steps = kill_at_every_step(&start, &["apply", "-q", "--jobs", "1"], |want| {
        for (repo, Repo { pulls, branches }) in &want.0 {
            assert_eq!(pulls.len(), 1, "{repo}: one PR");
            assert_eq!(pulls[0]["state"], "open", "{repo}");
            assert!(pulls[0]["body"].as_str().unwrap().contains("3 linked pull request(s)"), "{repo}");
            assert_eq!(branches["convoy/ci"].1, 2, "{repo}: one commit on main's");
        }
    });
    // Per repository a PR opened (one forge step) and its pass-2 update: the openings one
    // append each, the updates handed to the forge at once, so their intents are one append and
    // their outcomes another.
    assert_eq!(steps, (2 * REPOS.len() + 2, 4 * REPOS.len()));
}

#[test]
fn resume_merge_killed_at_every_journal_step_merges_each_pr_once() {
    let start = pristine();
    ok(start.path(), &["apply", "-q"]);
    ok(start.path(), &["forge", "set-status", "-q", "--state", "success"]);
    let steps = kill_at_every_step(&start, &["merge", "-q"], |want| {
        for (repo, Repo { pulls, branches }) in &want.0 {
            assert_eq!(pulls.len(), 1, "{repo}");
            assert_eq!(pulls[0]["state"], "merged", "{repo}");
            assert_eq!(branches["main"].1, 3, "{repo}: one merge commit on the first");
        }
    });
    assert_eq!(steps, (2 * REPOS.len(), 2 * REPOS.len()));
}

/// A run killed with a pending step, run again under the same run identity (a re-run CI job
/// keeps `GITHUB_RUN_ID`): the claim is its own, but its process is gone, so it still resumes;
/// a third run, after a run that finished, has nothing to resume. `--json` carries it too.
#[test]
fn resume_under_the_same_run_id_and_only_once() {
    let start = pristine();
    let org = copy(&start);
    let run = [("CONVOY_RUN_ID", "job-7")];
    let killed = convoy(org.path(), &["apply", "-q", "--jobs", "1"], &[run[0], (KILL, "1")]);
    assert_eq!(killed.status.signal(), Some(9), "{killed:?}");
    let again = convoy(org.path(), &["apply", "--jobs", "1", "--json"], &run);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert!(again.stderr.contains("run job-7 held the claim on campaign `convoy/ci` in another process"), "{again:?}");
    assert!(
        again.stderr.contains("resuming: run job-7 stopped after 1 step; 1 step had no outcome: pr_open acme/"),
        "{again:?}"
    );
    let doc: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    let resumed = doc["resumed"].as_array().unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(resumed.len(), 1);
    assert_eq!((resumed[0]["run"].as_str(), resumed[0]["steps"].as_u64()), (Some("job-7"), Some(1)));
    assert_eq!(resumed[0]["pending"][0]["op"]["type"], "pr_open");
    assert_eq!(resumed[0]["pending"][0]["intent"], 0);

    // The pending intent stays in the journal, but the run after it finished: nothing to say.
    let third = convoy(org.path(), &["apply", "-q", "--json"], &run);
    assert_eq!(third.status.code(), Some(0), "{third:?}");
    assert!(!third.stderr.contains("resuming") && !third.stderr.contains("warning"), "{third:?}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&third.stdout).unwrap()["resumed"], serde_json::json!([]));
    let verified = ok(org.path(), &["journal", "verify"]);
    assert!(verified.stdout.contains("1 pending\n  pending: seq 0 by run job-7: pr_open acme/"), "{verified:?}");
    for name in REPOS {
        assert_eq!(org.pulls(name).len(), 1, "{name}");
    }
}
