//! Fixture builders shared by the integration tests: real bare git repositories made with the
//! `git` program (independent of the code under test), a manifest folder, and the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;

pub const OWNER: &str = "acme";

/// A throwaway org: `<root>/forge/<owner>/<name>.git` plus a manifest folder at `<root>`.
pub struct Org {
    pub dir: tempfile::TempDir,
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A file in a fixture commit: regular, or a symlink to `target`.
pub enum Entry<'a> {
    File(&'a str, &'a str),
    Link(&'a str, &'a str),
}

impl Org {
    pub fn new() -> Org {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("forge").join(OWNER)).unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        Org { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn bare(&self, name: &str) -> PathBuf {
        self.path().join("forge").join(OWNER).join(format!("{name}.git"))
    }

    /// Create `acme/<name>` with one commit of `files` on `main`.
    pub fn repo(&self, name: &str, files: &[(&str, &str)]) -> &Self {
        let entries: Vec<Entry> = files.iter().map(|(p, c)| Entry::File(p, c)).collect();
        self.repo_with(name, &entries)
    }

    pub fn repo_with(&self, name: &str, entries: &[Entry]) -> &Self {
        let bare = self.bare(name);
        git(self.path(), &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()]);
        self.commit(name, entries, "initial");
        self
    }

    /// Push a commit with `entries` (added on top of what is there) to `main` of `name`.
    pub fn commit(&self, name: &str, entries: &[Entry], message: &str) {
        let work = tempfile::tempdir().unwrap();
        let bare = self.bare(name);
        let w = work.path();
        git(w, &["init", "-q", "-b", "main"]);
        let has_main = !git(&bare, &["for-each-ref", "refs/heads/main"]).trim().is_empty();
        if has_main {
            git(w, &["fetch", "-q", bare.to_str().unwrap(), "main"]);
            git(w, &["reset", "-q", "--hard", "FETCH_HEAD"]);
        }
        for e in entries {
            match e {
                Entry::File(p, c) => {
                    let path = w.join(p);
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(path, c).unwrap();
                }
                Entry::Link(p, target) => {
                    let path = w.join(p);
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::os::unix::fs::symlink(target, path).unwrap();
                }
            }
        }
        git(w, &["add", "-A"]);
        git(w, &["commit", "-q", "-m", message]);
        git(w, &["push", "-q", bare.to_str().unwrap(), "main"]);
    }

    pub fn template(&self, name: &str, body: &str) -> &Self {
        let p = self.path().join("templates").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
        self
    }

    pub fn file(&self, name: &str, body: &str) -> &Self {
        std::fs::write(self.path().join("files").join(name), body).unwrap();
        self
    }

    pub fn manifest(&self, body: &str) -> &Self {
        std::fs::write(self.path().join("org.toml"), body).unwrap();
        self
    }

    /// Run the real binary against this org's manifest.
    pub fn convoy(&self, args: &[&str]) -> Output {
        self.convoy_env(args, &[])
    }

    /// [`Org::convoy`] with extra environment variables (`CONVOY_NOW` for time-based rules).
    pub fn convoy_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let manifest = self.path().join("org.toml");
        let mut all = vec!["-m", manifest.to_str().expect("a UTF-8 path")];
        all.extend_from_slice(args);
        run_convoy(self.path(), &all, env, "[ORG]")
    }

    /// The local forge's pull requests of `name` (from its documented state file).
    pub fn pulls(&self, name: &str) -> Vec<serde_json::Value> {
        let path = self.bare(name).join("convoy-forge.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                v["pull_requests"].as_array().cloned().unwrap_or_default()
            }
            Err(_) => Vec::new(),
        }
    }

    pub fn branch_head(&self, name: &str, branch: &str) -> Option<String> {
        let out = git(&self.bare(name), &["for-each-ref", "--format=%(objectname)", &format!("refs/heads/{branch}")]);
        let sha = out.trim();
        (!sha.is_empty()).then(|| sha.to_string())
    }

    /// A file's content on `branch` of `name`.
    pub fn show(&self, name: &str, branch: &str, path: &str) -> String {
        git(&self.bare(name), &["show", &format!("{branch}:{path}")])
    }
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// The manifest head most tests share: the local forge, every repo of the org.
pub const HEAD: &str = r#"[org]
name = "acme"
jobs = 2
cache_dir = "cache"
forge = { kind = "local", root = "forge" }

[[repo]]
name = "acme/*"
"#;

/// The table row of `repo` in a plan/apply summary, with runs of spaces folded to one.
pub fn row(stdout: &str, repo: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{repo} ")))
        .unwrap_or_else(|| panic!("no row for {repo} in:\n{stdout}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A workflow convoy ships must parse and show the practices convoy preaches: a concurrency group
/// with cancel-in-progress, least-privilege permissions, a timeout on every job, actions pinned
/// to full commit SHAs with the version in a comment, and caches keyed by a lockfile hash.
pub fn assert_workflow_practices(label: &str, text: &str) {
    use saphyr::{LoadableYamlNode, Yaml};
    let docs = Yaml::load_from_str(text).unwrap_or_else(|e| panic!("{label}: {e}\n{text}"));
    let wf = &docs[0];
    assert_eq!(wf["concurrency"]["cancel-in-progress"].as_bool(), Some(true), "{label}\n{text}");
    assert!(wf["concurrency"]["group"].as_str().is_some(), "{label}");
    assert_eq!(wf["permissions"]["contents"].as_str(), Some("read"), "{label}");
    let jobs = wf["jobs"].as_mapping().unwrap_or_else(|| panic!("{label}: no jobs"));
    assert!(!jobs.is_empty());
    for (name, job) in jobs {
        assert!(job["timeout-minutes"].as_integer().is_some(), "{label}: job {name:?} has no timeout");
    }
    let mut pins = 0;
    for line in text.lines().filter(|l| l.trim_start().trim_start_matches("- ").starts_with("uses:")) {
        let spec = line.split("uses:").nth(1).unwrap().trim();
        let (action, rest) = spec.split_once('@').unwrap_or_else(|| panic!("{label}: {line}"));
        let (sha, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
        assert!(sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()), "{label}: {action} not pinned: {line}");
        assert!(comment.starts_with('v'), "{label}: {action} pin lacks a version comment: {line}");
        pins += 1;
    }
    assert!(pins > 0, "{label}: no actions used");
    assert!(text.contains("hashFiles('"), "{label}: cache not keyed by a lockfile hash");
    // And what convoy itself enforces: the audit's default rules find nothing.
    let file =
        convoy::workflow::files::SourceFile { path: ".github/workflows/t.yml".into(), bytes: text.as_bytes().to_vec() };
    let findings = convoy::policy::audit::Policy::default_rules().audit_repo("acme/svc", &[file], &|_| false);
    assert!(findings.is_empty(), "{label}: `convoy audit` findings in a built-in template: {findings:#?}\n{text}");
}

/// A file write for `Forge::create_commit`.
pub fn write(path: &str, content: &str) -> convoy::forge::FileChange {
    convoy::forge::FileChange::Write {
        path: path.into(),
        content: content.as_bytes().to_vec(),
        executable: false,
        was_executable: false,
    }
}

/// Commit `changes` on `main`, put them on `branch`, and open a PR for it: the setup of every
/// forge-contract test, for any backend.
pub async fn open_pr(
    forge: &dyn convoy::forge::Forge,
    repo: &convoy::forge::RepoId,
    branch: &str,
    changes: &[convoy::forge::FileChange],
) -> u64 {
    let base = forge.branch_head(repo, "main").await.unwrap().unwrap();
    let sha = forge.create_commit(repo, &base, changes, "change").await.unwrap();
    forge.update_branch(repo, branch, &sha, false).await.unwrap();
    let pr = convoy::forge::NewPullRequest {
        title: "t".into(),
        body: "b".into(),
        head: branch.into(),
        base: "main".into(),
        ..Default::default()
    };
    forge.create_pull_request(repo, &pr).await.unwrap().number
}

/// The status-folding contract every forge meets: the latest status per context wins, any failure
/// fails, any pending (without failures) is pending.
pub async fn assert_statuses_fold(forge: &dyn convoy::forge::Forge, repo: &convoy::forge::RepoId) {
    use convoy::forge::{CheckState, CommitStatus};
    let sha = forge.branch_head(repo, "main").await.unwrap().unwrap();
    assert_eq!(forge.check_verdict(repo, &sha).await.unwrap().checks.len(), 0);
    let status = |context: &str, state| CommitStatus { context: context.into(), state, description: String::new() };
    forge.set_commit_status(repo, &sha, &status("build", CheckState::Pending)).await.unwrap();
    forge.set_commit_status(repo, &sha, &status("lint", CheckState::Success)).await.unwrap();
    assert_eq!(forge.check_verdict(repo, &sha).await.unwrap().state, CheckState::Pending);
    forge.set_commit_status(repo, &sha, &status("build", CheckState::Failure)).await.unwrap();
    assert_eq!(forge.check_verdict(repo, &sha).await.unwrap().state, CheckState::Failure);
    forge.set_commit_status(repo, &sha, &status("build", CheckState::Success)).await.unwrap();
    let verdict = forge.check_verdict(repo, &sha).await.unwrap();
    assert_eq!(verdict.state, CheckState::Success, "the latest status per context wins");
    assert_eq!(verdict.checks.len(), 2);
}

/// Run the real binary in `cwd` with neither `--manifest` nor `CONVOY_MANIFEST` (manifest
/// discovery, `init`, `completions`, `man`); `env` adds variables. `cwd` becomes `[DIR]`.
pub fn convoy_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_convoy(cwd, args, env, "[DIR]")
}

/// The binary in `cwd` with `args`, without the caller's manifest, log and clock variables;
/// `cwd` is written `placeholder` in the output.
fn run_convoy(cwd: &Path, args: &[&str], env: &[(&str, &str)], placeholder: &str) -> Output {
    let mut cmd = Command::new(cargo_bin("convoy"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("CONVOY_MANIFEST")
        .env_remove("CONVOY_LOG")
        .env_remove("CONVOY_NOW")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("convoy runs");
    let root = cwd.display().to_string();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).replace(&root, placeholder),
        stderr: String::from_utf8_lossy(&out.stderr).replace(&root, placeholder),
    }
}
