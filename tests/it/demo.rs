//! The demo is the README's first command: it must run clean, and what it renders from the
//! built-in templates must be valid GitHub Actions YAML that follows the practices convoy preaches.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;

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
    // The steering half: checks set green, one PR merged for real, one closed by convoy.
    assert!(stdout.contains("4 open; checks of open PRs: 4 success"), "{stdout}");
    assert!(stdout.contains("acme/api merged PR #1"), "{stdout}");
    assert!(stdout.contains("2 open, 1 merged, 1 closed by convoy"), "{stdout}");
    let main = git(&dir.join("forge/acme/api.git"), &["show", "main:.github/workflows/ci.yml"]);
    assert!(main.contains("concurrency"), "the merge put the campaign on main: {main}");

    // Each rendered workflow: valid YAML, concurrency with cancel-in-progress, least privilege,
    // timeouts on every job, actions pinned to full SHAs with the version in a comment.
    for repo in ["api", "billing", "web", "docs-site"] {
        let bare = dir.join("forge/acme").join(format!("{repo}.git"));
        let text = git(&bare, &["show", "convoy/org-baseline:.github/workflows/ci.yml"]);
        crate::support::assert_workflow_practices(repo, &text);
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
