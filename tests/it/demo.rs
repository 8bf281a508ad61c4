//! The demo is the README's first command: it must run clean, and what it renders from the
//! built-in templates must be valid GitHub Actions YAML that follows the practices convoy preaches.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use saphyr::{LoadableYamlNode, Yaml};

use crate::support::git;

#[test]
fn demo_runs_end_to_end_and_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out =
        Command::new(cargo_bin("convoy")).args(["demo", "--dir"]).arg(&dir).env("NO_COLOR", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("skipped acme/legacy-tool: archived"), "{stdout}");
    assert!(stdout.contains("4 repositories: 4 opened, 0 updated, 0 unchanged, 0 closed, 0 failed"), "{stdout}");
    assert!(stdout.contains("4 repositories: 0 opened, 0 updated, 4 unchanged, 0 closed, 0 failed"), "{stdout}");

    // Each rendered workflow: valid YAML, concurrency with cancel-in-progress, least privilege,
    // timeouts on every job, actions pinned to full SHAs with the version in a comment.
    for repo in ["api", "billing", "web", "docs-site"] {
        let bare = dir.join("forge/acme").join(format!("{repo}.git"));
        let text = git(&bare, &["show", "convoy/org-baseline:.github/workflows/ci.yml"]);
        let docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{repo}: {e}\n{text}"));
        let wf = &docs[0];
        assert_eq!(wf["concurrency"]["cancel-in-progress"].as_bool(), Some(true), "{repo}");
        assert!(wf["concurrency"]["group"].as_str().is_some(), "{repo}");
        assert_eq!(wf["permissions"]["contents"].as_str(), Some("read"), "{repo}");
        let jobs = wf["jobs"].as_mapping().unwrap();
        assert!(!jobs.is_empty());
        for (name, job) in jobs {
            assert!(job["timeout-minutes"].as_integer().is_some(), "{repo}: job {name:?} has no timeout");
        }
        for line in
            text.lines().filter(|l| l.trim_start().starts_with("uses:") || l.trim_start().starts_with("- uses:"))
        {
            let spec = line.split("uses:").nth(1).unwrap().trim();
            let (action, rest) = spec.split_once('@').unwrap();
            let (sha, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{repo}: {action} not pinned: {line}"
            );
            assert!(comment.starts_with('v'), "{repo}: {action} pin lacks a version comment: {line}");
        }
        assert!(text.contains("hashFiles('"), "{repo}: cache not keyed by a lockfile hash");
    }
    // A demo folder may be recreated; any other folder is refused.
    let again = Command::new(cargo_bin("convoy")).args(["demo", "-q", "--dir"]).arg(&dir).output().unwrap();
    assert!(again.status.success());
    let other = tmp.path().join("precious");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "x").unwrap();
    let refused = Command::new(cargo_bin("convoy")).args(["demo", "--dir"]).arg(&other).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(other.join("keep.txt").exists());
}

#[test]
fn embedded_example_covers_every_shipped_template() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut shipped = Vec::new();
    for dir in ["templates", "files"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".j2") || !name.contains('.') {
                shipped.push(format!("{dir}/{name}"));
            }
        }
    }
    for path in shipped {
        let embedded = convoy::demo::EMBEDDED.iter().find(|(p, _)| *p == path);
        let on_disk = std::fs::read_to_string(root.join(&path)).unwrap();
        assert_eq!(embedded.map(|(_, t)| *t), Some(on_disk.as_str()), "{path} is not embedded in the demo");
    }
}
