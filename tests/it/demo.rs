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
    // The rollout half, with the real commands: the pilot alone, its gate holding, then the rest
    // (each step found by its last occurrence).
    // Every command is shown as it can be typed where the demo ran: with `-m` and the manifest.
    let m = format!("-m {}", dir.join("org.toml").display());
    for line in stdout.lines().filter(|l| l.starts_with("$ convoy")) {
        assert!(line.starts_with(&format!("$ convoy {m} ")), "{line}");
    }
    let step = |cmd: &str| {
        let at = stdout.rfind(&format!("$ convoy {m} {cmd}")).unwrap_or_else(|| panic!("no `{cmd}` step: {stdout}"));
        stdout[at..].split("\n$ convoy").next().unwrap().to_string()
    };
    assert!(step("rollout advance   # wave 1").contains("1 repository: 1 opened"), "{stdout}");
    assert!(step("rollout advance   # again").contains("waiting: wave `pilot` waits: acme/api: PR #1 is not merged"));
    assert!(step("merge --wave pilot").contains("acme/api merged PR #1"), "{stdout}");
    assert!(step("rollout advance   # the gate passed").contains("5 repositories: 5 opened"), "{stdout}");
    assert!(step("apply").contains("6 repositories: 0 opened, 0 updated, 5 unchanged"), "converges: {stdout}");
    assert!(step("merge\n").contains("5 merged"), "{stdout}");
    assert!(step("rollout advance   # every wave").contains("done: every wave is applied"), "{stdout}");
    assert!(step("rollback --repo api").contains("acme/api merged PR #1 reverted by PR #2"), "{stdout}");
    assert!(step("status\nCampaign").contains("merged, rolled back"), "{stdout}");
    // ... and what the rollback left to do: the revert PR to merge.
    assert!(step("status\nCampaign").contains("rolled back acme/api: merged PR #1 reverted by PR #2"), "{stdout}");
    // The rolled-back pilot is counted where `rollout status` shows the waves.
    let waves = Command::new(cargo_bin("convoy"))
        .arg("-m")
        .arg(dir.join("org.toml"))
        .args(["rollout", "status"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let waves = String::from_utf8_lossy(&waves.stdout);
    let header: Vec<&str> =
        waves.lines().nth(1).unwrap().split("  ").filter(|c| !c.is_empty()).map(str::trim).collect();
    let pilot: Vec<&str> = waves.lines().find(|l| l.starts_with("pilot")).unwrap().split_whitespace().collect();
    let column = header.iter().position(|h| *h == "ROLLED BACK").unwrap_or_else(|| panic!("{waves}"));
    assert_eq!(pilot[column], "1", "the pilot's one repository was rolled back: {waves}");
    assert!(waves.contains("rolled back acme/api: merged PR #1 reverted by PR #2"), "{waves}");
    // The release: three waves across two repositories that use each other.
    let graph = step("release graph");
    assert!(graph.contains("wave 1\n  acme-core (acme/core-libs) 1.2.0"), "{graph}");
    assert!(graph.contains("wave 3\n  acme-testkit (acme/core-libs) 0.2.0"), "{graph}");
    let run = step("release run");
    assert!(run.contains("released 3 packages in 3 waves"), "{run}");
    let show = |repo: &str, rev: &str| git(&dir.join(format!("forge/acme/{repo}.git")), &["show", rev]);
    assert!(show("proto", "acme-proto-v0.5.1:Cargo.toml").contains("version = \"0.5.1\""), "{run}");
    let testkit = show("core-libs", "acme-testkit-v0.2.1:crates/acme-testkit/Cargo.toml");
    assert!(
        testkit.contains("# the exact protocol version the fixtures were recorded with\nacme-proto = \"=0.5.1\""),
        "{testkit}"
    );
    assert!(show("core-libs", "acme-core-v1.3.0:crates/acme-core/Cargo.toml").contains("version = \"1.3.0\""));

    let main = git(&dir.join("forge/acme/api.git"), &["show", "main:.github/workflows/ci.yml"]);
    assert!(main.contains("concurrency"), "the merge put the campaign on main: {main}");
    let api = dir.join("forge/acme/api.git");
    let tree = |rev: &str| git(&api, &["rev-parse", &format!("{rev}^{{tree}}")]);
    assert_eq!(tree("revert-1-convoy/org-baseline"), tree("main^1"), "the revert's tree is the pre-merge tree");

    // Each rendered workflow: valid YAML, concurrency with cancel-in-progress, least privilege,
    // timeouts on every job, actions pinned to full SHAs with the version in a comment.
    for repo in ["api", "billing", "web", "docs-site"] {
        let bare = dir.join("forge/acme").join(format!("{repo}.git"));
        let text = git(&bare, &["show", "main:.github/workflows/ci.yml"]);
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
