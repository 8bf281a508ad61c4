//! `convoy demo`: a throwaway local org, then validate → fetch → plan against it, and a two-wave
//! rollout with the real commands: `rollout advance`, `forge set-status`, `merge`, `apply`,
//! `rollout status`, `rollback` and `status`; then `release graph` and `release run` over two
//! library repositories that use each other.
//!
//! The demo's manifest, templates and shared files are the ones at the root of this project
//! (`org.toml`, `templates/`, `files/`), embedded at build time: the demo is exactly the example
//! a newcomer reads.

#![allow(clippy::print_stdout)]

use std::path::Path;

use crate::campaign::{RunOptions, Session};
use crate::forge::RepoId;
use crate::forge::local::{LocalForge, RepoMeta};
use crate::progress::Silent;

/// Marks a folder as created by `convoy demo`, so a re-run may delete it and nothing else.
const MARKER: &str = ".convoy-demo";

/// The example manifest and what it references, as shipped.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("org.toml", include_str!("../org.toml")),
    ("templates/_macros.j2", include_str!("../templates/_macros.j2")),
    ("templates/rust-ci.yml.j2", include_str!("../templates/rust-ci.yml.j2")),
    ("templates/node-ci.yml.j2", include_str!("../templates/node-ci.yml.j2")),
    ("templates/convoy-enforce.yml.j2", include_str!("../templates/convoy-enforce.yml.j2")),
    ("files/editorconfig", include_str!("../files/editorconfig")),
    ("files/CODEOWNERS.j2", include_str!("../files/CODEOWNERS.j2")),
    ("files/dependabot.yml.j2", include_str!("../files/dependabot.yml.j2")),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Refused(String),
    #[error("demo failed: {0}")]
    Failed(String),
}

fn fail(e: impl std::fmt::Display) -> DemoError {
    DemoError::Failed(e.to_string())
}

/// Build the demo org in `dir` and run the pipeline; `Ok(true)` when every step succeeded.
pub async fn run(dir: &Path, quiet: bool) -> Result<bool, DemoError> {
    prepare_dir(dir)?;
    for (rel, text) in EMBEDDED {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        std::fs::write(&path, text).map_err(fail)?;
    }
    let forge = LocalForge::new(dir.join("forge"), None);
    std::fs::create_dir_all(forge.root()).map_err(fail)?;
    let repos = sample_repos();
    for r in &repos {
        let files: Vec<(&str, &[u8])> = r.files.iter().map(|(p, c)| (*p, c.as_bytes())).collect();
        forge.create_repo(&RepoId::new("acme", r.name), "main", &files, &r.meta).map_err(fail)?;
    }
    let say = |s: String| {
        if !quiet {
            // Views colour their text; anstream strips it unless stdout takes colour.
            anstream::println!("{s}");
        }
    };
    release_history(&forge).await?;
    say(format!("Created a demo org `acme` with {} repositories in {}", repos.len(), dir.join("forge").display()));

    let manifest_path = dir.join("org.toml");
    let manifest = crate::manifest::load(&manifest_path).map_err(fail)?;
    say(format!("\n$ convoy -m {} validate", manifest_path.display()));
    let options = RunOptions {
        jobs: manifest.model.org.jobs,
        filters: Vec::new(),
        depth: crate::workspace::Depth::Keep,
        offline: false,
    };
    let mut session = Session::open(manifest, options).await.map_err(fail)?;
    session.producers = crate::transform::manifest_producers(&session.manifest);
    {
        use crate::report::table::count;
        let model = &session.manifest.model;
        say(format!(
            "{} is valid: {} selected, {}, {}",
            manifest_path.display(),
            count(session.targets().len(), "repository", "repositories"),
            count(model.templates.len(), "template", "templates"),
            count(model.files.len(), "file", "files")
        ));
    }
    for (repo, why) in &session.selection.skipped {
        say(format!("skipped {repo}: {why}"));
    }

    // Every command is shown as it can be typed from where the demo ran: with `-m`.
    let m = format!("-m {}", manifest_path.display());
    say(format!("\n$ convoy {m} fetch"));
    let fetched = session.fetch(&Silent).await.map_err(fail)?;
    say(crate::report::fetch_text(&fetched, &session.selection.skipped).trim_end().to_string());

    say(format!("\n$ convoy {m} plan"));
    let plans = session.plan(&Silent);
    let branch = session.campaign.to_string();
    let text = crate::report::plan_text(&branch, &plans, &session.selection.skipped);
    // The full diffs are long; the demo shows the first repository's and the summary.
    let summary_at = text.find("Plan for campaign").unwrap_or(0);
    let first_repo_end = text[..summary_at].match_indices("\n━━ ").next().map_or(summary_at, |(i, _)| i + 1);
    say(format!(
        "{}\n… (the other repositories' diffs: `convoy -m {} plan`)\n",
        &text[..first_repo_end].trim_end(),
        manifest_path.display()
    ));
    say(text[summary_at..].trim_end().to_string());

    // The rollout half runs the real commands, as the user would type them, with this binary.
    let mut steps_ok = true;
    let mut step = |args: &[&str], note: &str| -> Result<(), DemoError> {
        let shown = args.join(" ");
        say(format!("\n$ convoy {m} {shown}{}", if note.is_empty() { String::new() } else { format!("   # {note}") }));
        let out = std::process::Command::new(std::env::current_exe().map_err(fail)?)
            .arg("-m")
            .arg(&manifest_path)
            .arg("-q")
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .map_err(fail)?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        say(text.trim_end().to_string());
        // `advance` exits 0 while it waits; anything else failing fails the demo.
        steps_ok &= out.status.success();
        Ok(())
    };
    step(&["rollout", "advance"], "wave 1: the pilot")?;
    step(&["rollout", "advance"], "again: the pilot's gate holds until its PR is merged")?;
    step(&["forge", "set-status", "--state", "success"], "what CI would report on each PR")?;
    step(&["merge", "--wave", "pilot"], "")?;
    step(&["rollout", "advance"], "the gate passed: wave 2, the rest")?;
    step(&["apply"], "converges: opens nothing new")?;
    step(&["forge", "set-status", "--state", "success"], "")?;
    step(&["status"], "")?;
    step(&["merge"], "")?;
    step(&["rollout", "advance"], "every wave passed its gate")?;
    step(&["rollback", "--repo", "api"], "take the merged pilot back out: a revert PR")?;
    step(&["status"], "")?;
    step(&["release", "graph"], "the org's crates in release order: core-libs and proto use each other")?;
    step(&["release", "run"], "bump, tag, release and gate each wave ([release] in org.toml)")?;

    say(format!(
        "\nThe pull requests live in {}/forge/acme/<repo>.git/convoy-forge.json.\nNext: convoy -m {} plan   (from a source tree: cargo run -- -m {} plan)",
        dir.display(),
        manifest_path.display(),
        manifest_path.display()
    ));
    Ok(all_ok(&fetched) && steps_ok)
}

/// The released past of the two library repositories: each package tagged at the first commit,
/// then a `feat` in acme-core and a `fix` in acme-proto, so `release run` has three waves.
async fn release_history(forge: &LocalForge) -> Result<(), DemoError> {
    use crate::forge::{FileChange, Forge};
    let write = |path: &str, text: &str| FileChange::Write {
        path: path.into(),
        content: text.as_bytes().to_vec(),
        executable: false,
        was_executable: false,
    };
    for (repo, tags, path, text, message) in [
        (
            "core-libs",
            &["acme-core-v1.2.0", "acme-testkit-v0.2.0"][..],
            "crates/acme-core/src/lib.rs",
            "/// Parses a frame, now without copying it.\npub fn parse(frame: &[u8]) -> &[u8] {\n    frame\n}\n",
            "feat(core): parse frames without copying",
        ),
        (
            "proto",
            &["acme-proto-v0.5.0"][..],
            "src/lib.rs",
            "pub fn frames() -> usize {\n    0\n}\n",
            "fix: an empty stream has no frames",
        ),
    ] {
        let id = RepoId::new("acme", repo);
        let head = forge.branch_head(&id, "main").await.map_err(fail)?.ok_or_else(|| fail("no main"))?;
        for tag in tags {
            forge.create_tag(&id, tag, &head).await.map_err(fail)?;
        }
        forge.commit_on_default_branch(&id, &head, &[write(path, text)], message).await.map_err(fail)?;
    }
    Ok(())
}

fn all_ok<T>(results: &[crate::campaign::RepoResult<T>]) -> bool {
    results.iter().all(|r| r.result.is_ok())
}

fn prepare_dir(dir: &Path) -> Result<(), DemoError> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty && !dir.join(MARKER).exists() {
            return Err(DemoError::Refused(format!(
                "{} exists and was not made by `convoy demo`; refusing to overwrite it\n  help: pass another folder with --dir",
                dir.display()
            )));
        }
        std::fs::remove_dir_all(dir).map_err(fail)?;
    }
    std::fs::create_dir_all(dir).map_err(fail)?;
    std::fs::write(dir.join(MARKER), "created by `convoy demo`; safe to delete\n").map_err(fail)?;
    Ok(())
}

struct SampleRepo {
    name: &'static str,
    meta: RepoMeta,
    files: Vec<(&'static str, String)>,
}

fn meta(topics: &[&str], archived: bool) -> RepoMeta {
    RepoMeta { topics: topics.iter().map(|t| t.to_string()).collect(), archived, ..Default::default() }
}

fn cargo_toml(name: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.3.1\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nserde = {{ version = \"1.0.190\", features = [\"derive\"] }}\ntokio = {{ version = \"1.32\", features = [\"full\"] }}\n"
    )
}

/// A workflow in the style the org wants to leave behind: no concurrency, no timeouts, tags not SHAs.
const OLD_RUST_CI: &str = "name: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v3\n      - uses: actions-rs/toolchain@v1\n        with:\n          toolchain: stable\n      - run: cargo test\n";
const OLD_NODE_CI: &str = "name: CI\non:\n  push:\n    branches: [main]\n  pull_request:\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v3\n      - uses: actions/setup-node@v3\n        with:\n          node-version: 16\n      - run: npm install\n      - run: npm test\n";
const FREQUENT_CRON: &str = "name: Sync status page\non:\n  schedule:\n    - cron: '*/5 * * * *'\njobs:\n  sync:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./scripts/sync.sh\n";

fn sample_repos() -> Vec<SampleRepo> {
    vec![
        SampleRepo {
            name: "api",
            meta: meta(&["rust", "service"], false),
            files: vec![
                ("Cargo.toml", cargo_toml("api")),
                ("Cargo.lock", "# This file is automatically @generated by Cargo.\nversion = 3\n".into()),
                ("src/main.rs", "fn main() {\n    println!(\"api\");\n}\n".into()),
                ("README.md", "# api\n\nThe acme public API.\n".into()),
                (".github/workflows/ci.yml", OLD_RUST_CI.into()),
            ],
        },
        SampleRepo {
            name: "billing",
            meta: meta(&["rust", "payments"], false),
            files: vec![
                ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nserde = \"1.0.150\"\n".into()),
                ("crates/core/Cargo.toml", "[package]\nname = \"billing-core\"\nversion = \"1.4.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nserde.workspace = true\n".into()),
                ("crates/core/src/lib.rs", "pub fn total(items: &[u64]) -> u64 {\n    items.iter().sum()\n}\n".into()),
                ("Cargo.lock", "# This file is automatically @generated by Cargo.\nversion = 3\n".into()),
                (".editorconfig", "root = true\n\n[*]\nindent_style = tab\n".into()),
                (".github/workflows/ci.yml", OLD_RUST_CI.into()),
                (".github/workflows/status.yml", FREQUENT_CRON.into()),
            ],
        },
        SampleRepo {
            name: "web",
            meta: meta(&["node", "frontend"], false),
            files: vec![
                ("package.json", "{\n  \"name\": \"@acme/web\",\n  \"version\": \"2.0.0\",\n  \"scripts\": {\n    \"lint\": \"eslint .\",\n    \"test\": \"node --test\"\n  }\n}\n".into()),
                ("package-lock.json", "{\n  \"name\": \"@acme/web\",\n  \"lockfileVersion\": 3,\n  \"packages\": {}\n}\n".into()),
                ("src/index.js", "export const hello = () => 'acme';\n".into()),
                (".github/workflows/ci.yml", OLD_NODE_CI.into()),
            ],
        },
        SampleRepo {
            name: "docs-site",
            meta: meta(&["node", "docs"], false),
            files: vec![
                ("package.json", "{\n  \"name\": \"docs-site\",\n  \"private\": true,\n  \"scripts\": {\n    \"lint\": \"prettier --check .\",\n    \"test\": \"astro check\"\n  }\n}\n".into()),
                ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n".into()),
                ("docs/index.md", "# Acme docs\n".into()),
                (".github/workflows/deploy.yml", FREQUENT_CRON.replace("*/5", "*/10")),
            ],
        },
        // Two library repositories that use each other (a cycle of repositories), while their
        // packages form a DAG: acme-core <- acme-proto <- acme-testkit.
        SampleRepo {
            name: "core-libs",
            meta: meta(&["rust", "library"], false),
            files: vec![
                ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n".into()),
                ("crates/acme-core/Cargo.toml", "[package]\nname = \"acme-core\"\nversion = \"1.2.0\"\nedition = \"2021\"\ndescription = \"Frames and parsing\"\nlicense = \"MIT\"\n".into()),
                ("crates/acme-core/src/lib.rs", "pub fn parse(frame: &[u8]) -> Vec<u8> {\n    frame.to_vec()\n}\n".into()),
                ("crates/acme-testkit/Cargo.toml", "[package]\nname = \"acme-testkit\"\nversion = \"0.2.0\"\nedition = \"2021\"\ndescription = \"Test streams\"\nlicense = \"MIT\"\n\n[dependencies]\n# the exact protocol version the fixtures were recorded with\nacme-proto = \"=0.5.0\"\n".into()),
                ("crates/acme-testkit/src/lib.rs", "\n".into()),
            ],
        },
        SampleRepo {
            name: "proto",
            meta: meta(&["rust", "library"], false),
            files: vec![
                ("Cargo.toml", "[package]\nname = \"acme-proto\"\nversion = \"0.5.0\"\nedition = \"2021\"\ndescription = \"The wire protocol\"\nlicense = \"MIT\"\n\n[dependencies]\nacme-core = \"1.2\"\n".into()),
                ("src/lib.rs", "pub fn frames() -> usize {\n    1\n}\n".into()),
            ],
        },
        SampleRepo {
            name: "legacy-tool",
            meta: meta(&["rust"], true),
            files: vec![("Cargo.toml", cargo_toml("legacy-tool")), ("src/main.rs", "fn main() {}\n".into())],
        },
    ]
}
