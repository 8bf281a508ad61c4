//! `convoy deps skew` end to end: real bare repositories, the real binary, every output format
//! and exit codes; and discovery checked against `cargo metadata` as the judge.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::{HEAD, Org};

const TOOL: &str = r#"[package]
name = "tool"
version = "0.3.1"
edition = "2021"

[dependencies]
serde = { version = "1.0.100", features = ["derive"] }
rand = "0.7"
clap = "4.4"
anyhow = "1"
"#;

const PLATFORM_ROOT: &str = r#"[workspace]
resolver = "2"
members = ["crates/*", "tools/*"]
exclude = ["crates/scratch"]

[workspace.package]
version = "0.4.0"
edition = "2021"

[workspace.dependencies]
serde = { version = "1.0.228", features = ["derive"] }
rand = "0.8"
json = { package = "serde_json", version = "1.0.120" }
anyhow = "1.0.75"
platform-core = { path = "crates/core", version = "0.4.0" }
"#;

const PLATFORM_CORE: &str = r#"[package]
name = "platform-core"
version.workspace = true
edition.workspace = true

[dependencies]
serde = { workspace = true }
json.workspace = true
log = { version = "0.4", optional = true }

[target.'cfg(unix)'.dependencies]
libc = "0.2.150"

[target.x86_64-pc-windows-msvc.dependencies.windows-sys]
version = "0.52"
features = ["Win32_Foundation"]

[dev-dependencies]
rand.workspace = true

[build-dependencies]
cc = "1.0"
"#;

const PLATFORM_CLI: &str = r#"[package]
name = "platform-cli"
version.workspace = true
edition.workspace = true
publish = false

[dependencies]
platform-core.workspace = true
args = { package = "clap", version = "4.5", features = ["derive"] }
anyhow = "1.0.80"
"#;

const PLATFORM_XTASK: &str = r#"[package]
name = "xtask"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
anyhow = { workspace = true }

[dev_dependencies]
tempfile = "3"
"#;

/// Excluded from the workspace: a package of its own.
const PLATFORM_SCRATCH: &str = r#"[package]
name = "scratch"
version = "0.0.0"
edition = "2021"

[dependencies]
rand = "0.8.5"
"#;

const PLATFORM: &[(&str, &str)] = &[
    ("Cargo.toml", PLATFORM_ROOT),
    ("crates/core/Cargo.toml", PLATFORM_CORE),
    ("crates/cli/Cargo.toml", PLATFORM_CLI),
    ("crates/scratch/Cargo.toml", PLATFORM_SCRATCH),
    ("tools/xtask/Cargo.toml", PLATFORM_XTASK),
    // Not a Cargo manifest discovery reads.
    ("target/package/old-0.1.0/Cargo.toml", "not toml ["),
];

const LEGACY: &str = r#"[package]
name = "legacy"
version = "1.0.0"
edition = "2018"

[dependencies]
rand = "0.6"
serde = "1.0.50"

[dependencies.clap]
version = "2.33"
default-features = false
"#;

fn org() -> Org {
    let org = Org::new();
    org.repo("tool", &[("Cargo.toml", TOOL), ("src/main.rs", "fn main() {}\n")]);
    org.repo("platform", PLATFORM);
    org.repo("legacy", &[("Cargo.toml", LEGACY)]);
    org.repo(
        "broken",
        &[
            ("Cargo.toml", "[package]\nname = \"broken\"\nversion = \"0.1.0\"\n\n[dependencies\nserde = \"1\"\n"),
            (
                "helper/Cargo.toml",
                "[package]\nname = \"helper\"\nversion = \"0.1.0\"\n\n[dependencies]\nanyhow = \"1.0.86\"\n",
            ),
        ],
    );
    org.repo("docs", &[("README.md", "# Docs\n")]);
    org.manifest(HEAD);
    org
}

fn json(out: &crate::support::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// The text block of one crate: its header line and the indented lines under it.
fn block(stdout: &str, name: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in stdout.lines() {
        if !line.starts_with(' ') {
            inside = line.split_whitespace().nth(1) == Some(name);
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn skew_text_json_and_markdown() {
    let org = org();
    let out = org.convoy(&["deps", "skew"]);
    assert_eq!(out.code, 1, "the broken manifest fails the run: {out:?}");
    assert_eq!(
        block(&out.stdout, "rand"),
        "INCOMPATIBLE  rand (3 repositories): 0.6, 0.7, 0.8, 0.8.5
    0.6    acme/legacy    Cargo.toml:7                 [dependencies]
    0.7    acme/tool      Cargo.toml:8                 [dependencies]
    0.8    acme/platform  Cargo.toml:12                [workspace.dependencies] inherited by crates/core/Cargo.toml:19
    0.8.5  acme/platform  crates/scratch/Cargo.toml:7  [dependencies]
",
        "{out:?}"
    );
    assert_eq!(
        block(&out.stdout, "clap"),
        "INCOMPATIBLE  clap (3 repositories): 2.33, 4.4, 4.5
    2.33  acme/legacy    Cargo.toml:10            [dependencies]
    4.4   acme/tool      Cargo.toml:9             [dependencies]
    4.5   acme/platform  crates/cli/Cargo.toml:9  [dependencies] as `args`
",
        "{out:?}"
    );
    assert_eq!(
        block(&out.stdout, "serde"),
        "compatible    serde (3 repositories): 1.0.50, 1.0.100, 1.0.228
    1.0.50   acme/legacy    Cargo.toml:8   [dependencies]
    1.0.100  acme/tool      Cargo.toml:7   [dependencies]
    1.0.228  acme/platform  Cargo.toml:11  [workspace.dependencies] inherited by crates/core/Cargo.toml:7
",
        "{out:?}"
    );
    assert_eq!(
        block(&out.stdout, "anyhow"),
        "compatible    anyhow (3 repositories): 1, 1.0.75, 1.0.80, 1.0.86
    1       acme/tool      Cargo.toml:10             [dependencies]
    1.0.75  acme/platform  Cargo.toml:14             [workspace.dependencies] inherited by tools/xtask/Cargo.toml:8
    1.0.80  acme/platform  crates/cli/Cargo.toml:10  [dependencies]
    1.0.86  acme/broken    helper/Cargo.toml:6       [dependencies]
",
        "{out:?}"
    );
    // Crates of one repository only (libc, serde_json, log, cc, tempfile, windows-sys) and path
    // dependencies (platform-core) are not skew.
    for name in ["libc", "serde_json", "platform-core", "tempfile"] {
        assert!(block(&out.stdout, name).is_empty(), "{name}: {out:?}");
    }
    assert!(
        out.stdout.ends_with(
            "\nerror acme/broken Cargo.toml:5:14: unclosed table, expected `]`\n\n\
             4 crates used by 2 or more of 4 repositories: 2 incompatible; 1 repository or manifest could not be read\n"
        ),
        "{out:?}"
    );
    let order: Vec<&str> =
        out.stdout.lines().filter(|l| !l.starts_with(' ')).filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(&order[..4], ["clap", "rand", "anyhow", "serde"], "incompatible first: {out:?}");

    // JSON: the same report, versioned, with the method used.
    let out = org.convoy(&["--json", "deps", "skew", "--offline"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out);
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["command"], "deps skew");
    assert_eq!(report["discovery"], "manifest files read directly (no cargo)");
    assert_eq!(report["repos"], serde_json::json!(["acme/broken", "acme/legacy", "acme/platform", "acme/tool"]));
    assert_eq!(report["summary"], serde_json::json!({"repos": 4, "shared_crates": 4, "incompatible": 2, "errors": 1}));
    let error = &report["errors"][0];
    assert_eq!((error["repo"].as_str(), error["file"].as_str()), (Some("acme/broken"), Some("Cargo.toml")));
    assert_eq!(error["message"], "5:14: unclosed table, expected `]`");
    let rand = &report["results"][1];
    assert_eq!(rand["name"], "rand");
    assert_eq!(rand["compatible"], false);
    assert_eq!(
        rand["requirements"],
        serde_json::json!([
            {"req": "0.6", "lower_bound": "0.6.0", "bucket": "0.6", "uses": 1},
            {"req": "0.7", "lower_bound": "0.7.0", "bucket": "0.7", "uses": 1},
            {"req": "0.8", "lower_bound": "0.8.0", "bucket": "0.8", "uses": 2},
            {"req": "0.8.5", "lower_bound": "0.8.5", "bucket": "0.8", "uses": 1},
        ])
    );
    assert_eq!(
        rand["uses"][3],
        serde_json::json!({
            "repo": "acme/platform", "manifest": "crates/core/Cargo.toml", "line": 19, "package": "platform-core",
            "table": ["dev-dependencies"], "key": "rand", "kind": "dev", "req": "0.8", "optional": false,
            "inherited_from": "Cargo.toml", "inherited_line": 12,
        })
    );
    assert_eq!(rand["uses"][2]["kind"], serde_json::Value::Null, "a [workspace.dependencies] entry has no kind");
    assert_eq!(rand["uses"][2]["package"], serde_json::Value::Null, "a virtual root");

    let out = org.convoy(&["deps", "skew", "--offline", "--format", "markdown"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.starts_with("## convoy deps skew\n\n4 crates used by 2 or more of 4 repositories"), "{out:?}");
    assert!(
        out.stdout.contains("| clap | **incompatible** | 2.33 | acme/legacy | Cargo.toml:10 | \\[dependencies\\] |\n"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("| 4.5 | acme/platform | crates/cli/Cargo.toml:9 | \\[dependencies\\] (as &#96;args&#96;) |")
    );
    assert!(out.stderr.contains("4 crates used by 2 or more of 4 repositories"), "summary on stderr: {out:?}");

    // Without the broken repository, the run succeeds.
    let out = org.convoy(&["deps", "skew", "--offline", "--repo", "acme/tool", "--repo", "acme/legacy", "-j", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "INCOMPATIBLE  clap (2 repositories): 2.33, 4.4
    2.33  acme/legacy  Cargo.toml:10  [dependencies]
    4.4   acme/tool    Cargo.toml:9   [dependencies]
INCOMPATIBLE  rand (2 repositories): 0.6, 0.7
    0.6  acme/legacy  Cargo.toml:7  [dependencies]
    0.7  acme/tool    Cargo.toml:8  [dependencies]
compatible    serde (2 repositories): 1.0.50, 1.0.100
    1.0.50   acme/legacy  Cargo.toml:8  [dependencies]
    1.0.100  acme/tool    Cargo.toml:7  [dependencies]

3 crates used by 2 or more of 2 repositories: 2 incompatible
"
    );
}

#[test]
fn offline_without_a_cache_reports_every_repository() {
    let org = Org::new();
    org.repo("tool", &[("Cargo.toml", TOOL)]);
    org.manifest(HEAD);
    let out = org.convoy(&["--json", "deps", "skew", "--offline"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out);
    assert_eq!(report["errors"][0]["repo"], "acme/tool");
    assert_eq!(report["errors"][0]["manifest"], serde_json::Value::Null);
    assert_eq!(report["results"], serde_json::json!([]));
}

/// What `cargo metadata` says about one dependency, in terms both sides can produce.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Dep {
    name: String,
    rename: Option<String>,
    kind: Option<String>,
    req: String,
    optional: bool,
    target: Option<String>,
    path: bool,
}

/// `1.0.228` → `^1.0.228`, as cargo prints requirements.
fn normalized(req: Option<&str>) -> String {
    match req {
        None => "*".into(),
        Some(r) => semver::VersionReq::parse(r).map(|v| v.to_string()).unwrap_or_else(|_| r.to_string()),
    }
}

#[test]
fn discovery_agrees_with_cargo_metadata() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if Command::new(&cargo).arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!("SKIPPED discovery_agrees_with_cargo_metadata: `cargo` is not on PATH (it is in CI)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files: BTreeMap<String, String> = PLATFORM
        .iter()
        .filter(|(p, _)| !p.starts_with("target/"))
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    for (path, text) in &files {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        if text.contains("[package]") {
            std::fs::create_dir_all(file.parent().unwrap().join("src")).unwrap();
            std::fs::write(file.parent().unwrap().join("src/lib.rs"), "").unwrap();
        }
    }
    let out = Command::new(&cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(dir.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = dir.path().canonicalize().unwrap();

    let found = convoy::deps::cargo::discover("acme/platform", &files);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    let mut cargo_packages = Vec::new();
    for p in metadata["packages"].as_array().unwrap() {
        let manifest = Path::new(p["manifest_path"].as_str().unwrap())
            .canonicalize()
            .unwrap()
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = p["name"].as_str().unwrap().to_string();
        let mine = found
            .packages
            .iter()
            .find(|m| m.manifest == manifest)
            .unwrap_or_else(|| panic!("cargo found {name} at {manifest}, discovery did not"));
        assert_eq!(mine.name, name);
        assert_eq!(mine.version.as_deref().unwrap_or("0.0.0"), p["version"].as_str().unwrap(), "{name}");
        let cargo_publishes = p["publish"].as_array().is_none_or(|registries| !registries.is_empty());
        assert_eq!(mine.publish, cargo_publishes, "{name}: publish");

        let mut theirs: Vec<Dep> = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| Dep {
                name: d["name"].as_str().unwrap().into(),
                rename: d["rename"].as_str().map(Into::into),
                kind: d["kind"].as_str().map(Into::into),
                req: d["req"].as_str().unwrap().into(),
                optional: d["optional"].as_bool().unwrap(),
                target: d["target"].as_str().map(Into::into),
                path: d["path"].is_string(),
            })
            .collect();
        let mut ours: Vec<Dep> = found
            .uses
            .iter()
            .filter(|u| u.manifest == manifest && u.table[0] != "workspace")
            .map(|u| {
                use convoy::deps::model::{DepKind, DepSource};
                // Inherited path dependencies are path dependencies too.
                let entry = convoy::deps::cargo::workspace_entry(&found, u);
                let source = match (&u.source, entry) {
                    (DepSource::Workspace, Some(e)) => &e.source,
                    (s, _) => s,
                };
                Dep {
                    name: u.name.clone(),
                    rename: (u.key != u.name).then(|| u.key.clone()),
                    kind: match u.kind {
                        DepKind::Normal => None,
                        DepKind::Dev => Some("dev".into()),
                        DepKind::Build => Some("build".into()),
                    },
                    req: normalized(u.effective_req()),
                    optional: u.optional,
                    target: (u.table[0] == "target").then(|| u.table[1].clone()),
                    path: matches!(source, DepSource::Path { .. }),
                }
            })
            .collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "dependencies of {name} ({manifest})");
        cargo_packages.push(manifest);
    }
    // The excluded crate is a package of its own: cargo, run at the root, does not list it.
    let mut extra: Vec<&str> =
        found.packages.iter().map(|p| p.manifest.as_str()).filter(|m| !cargo_packages.iter().any(|c| c == m)).collect();
    extra.sort();
    assert_eq!(extra, ["crates/scratch/Cargo.toml"]);
    assert_eq!(cargo_packages.len(), 3, "{cargo_packages:?}");
    // Cargo's workspace members are the packages discovery put under the root.
    let members = metadata["workspace_members"].as_array().unwrap().len();
    assert_eq!(members, 3);
}

/// `convoy deps align`: "highest" across the org, edits that change only the requirement's
/// bytes, a workspace's inherited requirement edited once at the root, a breaking change
/// reported instead of made, actions pinned through the forge's tags, and a re-run that changes
/// nothing.
#[test]
fn align_edits_manifests_and_workflows_as_a_campaign() {
    let org = org();
    org.repo(
        "svc",
        &[
            ("Cargo.toml", "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n# pinned low on purpose\nserde = \"1.0.150\"   # keep me\nrand = '0.7'\n"),
            (".github/workflows/ci.yml", "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v3 # checkout\n"),
        ],
    );
    // actions/checkout on the local forge, tag v4.2.2.
    let sha = checkout_action_on_forge(&org);
    org.manifest(&format!(
        "{HEAD}\n[align.cargo]\ncrates = {{ serde = \"highest\", rand = \"0.8\", anyhow = \"1.0.86\" }}\norg_crates = false\n\n[align.actions]\nversions = {{ \"actions/checkout\" = \"v4.2.2\" }}\n"
    ));

    let plan =
        org.convoy(&["deps", "align", "--repo", "svc", "--repo", "legacy", "--repo", "tool", "--repo", "platform"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("Plan for campaign branch `convoy/align-deps` (nothing was written)"), "{plan:?}");

    let out = org.convoy(&["deps", "align", "--apply"]);
    assert!(out.code <= 1, "{out:?}");
    // The highest serde requirement in the org is the platform root's 1.0.228.
    let svc = org.show("svc", "convoy/align-deps", "Cargo.toml");
    assert_eq!(
        svc,
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n# pinned low on purpose\nserde = \"1.0.228\"   # keep me\nrand = '0.7'\n",
        "rand 0.7 → 0.8 is breaking and allow_breaking is off"
    );
    let tool = org.show("tool", "convoy/align-deps", "Cargo.toml");
    assert_eq!(tool, TOOL.replace("\"1.0.100\"", "\"1.0.228\"").replace("anyhow = \"1\"", "anyhow = \"1.0.86\""));
    // Cargo is the judge: it reads the edited manifest and sees the new requirement.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let scratch = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(scratch.path().join("src")).unwrap();
    std::fs::write(scratch.path().join("Cargo.toml"), &tool).unwrap();
    std::fs::write(scratch.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    if let Ok(meta) = Command::new(&cargo)
        .args(["metadata", "--no-deps", "--offline", "--format-version", "1"])
        .current_dir(scratch.path())
        .output()
    {
        assert!(meta.status.success(), "{}", String::from_utf8_lossy(&meta.stderr));
        let v: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
        let serde = v["packages"][0]["dependencies"].as_array().unwrap().iter().find(|d| d["name"] == "serde").cloned();
        assert_eq!(serde.unwrap()["req"], "^1.0.228");
    }
    let legacy = org.show("legacy", "convoy/align-deps", "Cargo.toml");
    assert_eq!(legacy, LEGACY.replace("\"1.0.50\"", "\"1.0.228\""));
    // The platform workspace already has serde 1.0.228 and rand 0.8 at its root, which its
    // members inherit. The excluded crate is a package of its own, and the pin rewrites its
    // `0.8.5` to exactly the pinned `0.8`.
    // anyhow is inherited by xtask from the root: the root's entry is edited, once, and the
    // member's `workspace = true` is left as it is; cli's own requirement is edited in place.
    assert_eq!(
        org.show("platform", "convoy/align-deps", "Cargo.toml"),
        PLATFORM_ROOT.replace("anyhow = \"1.0.75\"", "anyhow = \"1.0.86\"")
    );
    assert_eq!(org.show("platform", "convoy/align-deps", "crates/core/Cargo.toml"), PLATFORM_CORE);
    assert_eq!(org.show("platform", "convoy/align-deps", "tools/xtask/Cargo.toml"), PLATFORM_XTASK);
    assert_eq!(
        org.show("platform", "convoy/align-deps", "crates/cli/Cargo.toml"),
        PLATFORM_CLI.replace("anyhow = \"1.0.80\"", "anyhow = \"1.0.86\"")
    );
    let scratch = org.show("platform", "convoy/align-deps", "crates/scratch/Cargo.toml");
    assert_eq!(scratch, PLATFORM_SCRATCH.replace("\"0.8.5\"", "\"0.8\""));
    let ci = org.show("svc", "convoy/align-deps", ".github/workflows/ci.yml");
    assert!(ci.ends_with(&format!("      - uses: actions/checkout@{sha} # v4.2.2 checkout\n")), "{ci}");
    let body = org.pulls("svc")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("serde 1.0.150 → 1.0.228"), "{body}");
    assert!(
        body.contains("the highest requirement in the org: `1.0.228` in acme/platform Cargo.toml"),
        "where the target came from: {body}"
    );
    assert!(
        body.contains("`0.7` → `0.8`: no version satisfies both (allow_breaking = false)"),
        "the breaking rand change is listed for a person: {body}"
    );

    let again = org.convoy(&["deps", "align", "--apply"]);
    assert!(again.stdout.contains("0 opened, 0 updated, 4 unchanged"), "{again:?}");
}

/// A registry vendored as a directory source (cargo runs offline): `leftpad` at `versions`.
fn vendored(versions: &[&str]) -> Vec<(String, String)> {
    let mut files = vec![(
        ".cargo/config.toml".to_string(),
        "[source.crates-io]\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = \"vendor\"\n".to_string(),
    )];
    for v in versions {
        files.push((
            format!("vendor/leftpad-{v}/Cargo.toml"),
            format!("[package]\nname = \"leftpad\"\nversion = \"{v}\"\nedition = \"2021\"\n"),
        ));
        files.push((format!("vendor/leftpad-{v}/src/lib.rs"), "\n".into()));
        files.push((format!("vendor/leftpad-{v}/.cargo-checksum.json"), "{\"files\":{},\"package\":null}\n".into()));
    }
    files
}

/// The lockfile cargo writes in folder `dir` of `files`, with the manifests' text changed by
/// `pin` (from, to) first (to lock a chosen version).
fn generate_lock(cargo: &str, files: &[(String, String)], dir: &str, pin: (&str, &str)) -> String {
    let scratch = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let dest = scratch.path().join(path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, text.replace(pin.0, pin.1)).unwrap();
    }
    let work = scratch.path().join(dir);
    let out = Command::new(cargo).args(["generate-lockfile", "--offline"]).current_dir(&work).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(work.join("Cargo.lock")).unwrap()
}

fn cargo_or_skip() -> Option<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(&cargo).arg("--version").output().ok().map(|_| cargo)
}

/// The `(name, version)` of every `[[package]]` of a lockfile.
fn locked(lock: &str) -> Vec<(String, String)> {
    let doc: toml::Value = toml::from_str(lock).unwrap();
    doc["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["version"].as_str().unwrap().to_string()))
        .collect()
}

/// `--update-lockfile` moves `Cargo.lock` with cargo itself (offline: the fixture vendors its
/// registry as a directory source); without the flag the PR says what to run.
#[test]
fn the_lockfile_follows_the_new_requirement() {
    let Some(cargo) = cargo_or_skip() else {
        eprintln!("skipped: cargo is not available");
        return;
    };
    let mut files = vendored(&["1.0.0", "1.1.0"]);
    files.push(("Cargo.toml".into(), "[package]\nname = \"locked\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nleftpad = \"1.0.0\"\n".into()));
    files.push(("src/lib.rs".into(), "\n".into()));
    // The lockfile as cargo writes it, pinned to 1.0.0.
    let lock = generate_lock(&cargo, &files, "", ("leftpad = \"1.0.0\"", "leftpad = \"=1.0.0\""));
    assert!(lock.contains("name = \"leftpad\"\nversion = \"1.0.0\""), "{lock}");
    files.push(("Cargo.lock".into(), lock));

    let org = Org::new();
    let entries: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    org.repo("locked", &entries);
    org.manifest(&format!("{HEAD}\n[align.cargo]\ncrates = {{ leftpad = \"1.1\" }}\n"));

    let plan = org.convoy(&["deps", "align"]);
    assert!(
        plan.stdout.contains("Cargo.lock needs updating: run `cargo update -p leftpad@1.0.0 --precise 1.1.0`"),
        "{plan:?}"
    );
    let out = org.convoy(&["deps", "align", "--apply", "--update-lockfile"]);
    assert_eq!(out.code, 0, "{out:?}");
    let manifest = org.show("locked", "convoy/align-deps", "Cargo.toml");
    assert!(manifest.contains("leftpad = \"1.1\"\n"), "{manifest}");
    let lock = org.show("locked", "convoy/align-deps", "Cargo.lock");
    assert!(lock.contains("name = \"leftpad\"\nversion = \"1.1.0\""), "cargo moved the lockfile: {lock}");
    let body = org.pulls("locked")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("Cargo.lock: leftpad 1.0.0 → 1.1.0"), "{body}");
}

/// A lockfile is never downgraded: a locked version that satisfies the new requirement stays
/// (nested workspaces have their own `Cargo.lock`); the right entry moves when a lockfile holds
/// two versions of the crate; cargo's whole error is shown when it fails.
#[test]
fn lockfiles_are_never_downgraded_and_every_one_is_handled() {
    let Some(cargo) = cargo_or_skip() else {
        eprintln!("skipped: cargo is not available");
        return;
    };
    let mut files = vendored(&["0.9.0", "1.0.0", "1.1.0", "1.2.0"]);
    files.push((
        "Cargo.toml".into(),
        "[package]\nname = \"twice\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nleftpad = \"1.0.0\"\noldpad = { package = \"leftpad\", version = \"0.9\" }\n".into(),
    ));
    files.push(("src/lib.rs".into(), "\n".into()));
    let tools = "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\nleftpad = \"1.0.0\"\n";
    files.push(("tools/Cargo.toml".into(), tools.into()));
    files.push(("tools/src/lib.rs".into(), "\n".into()));
    let root_lock = generate_lock(&cargo, &files, "", ("leftpad = \"1.0.0\"", "leftpad = \"=1.0.0\""));
    let tools_lock = generate_lock(&cargo, &files, "tools", ("leftpad = \"1.0.0\"", "leftpad = \"=1.2.0\""));
    assert!(locked(&tools_lock).contains(&("leftpad".into(), "1.2.0".into())), "{tools_lock}");
    files.push(("Cargo.lock".into(), root_lock));
    files.push(("tools/Cargo.lock".into(), tools_lock.clone()));

    let org = Org::new();
    let entries: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    org.repo("twice", &entries);
    // Only 1.0.0 vendored: cargo cannot move to 1.1.0.
    let mut short = vendored(&["1.0.0"]);
    short.push((
        "Cargo.toml".into(),
        "[package]\nname = \"short\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nleftpad = \"1.0.0\"\n"
            .into(),
    ));
    short.push(("src/lib.rs".into(), "\n".into()));
    let lock = generate_lock(&cargo, &short, "", ("", ""));
    short.push(("Cargo.lock".into(), lock.clone()));
    let entries: Vec<(&str, &str)> = short.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    org.repo("short", &entries);
    org.manifest(&format!("{HEAD}\n[align.cargo]\ncrates = {{ leftpad = \"1.1\" }}\n"));

    let out = org.convoy(&["deps", "align", "--apply", "--update-lockfile"]);
    assert_eq!(out.code, 1, "the short repository fails: {out:?}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("Cargo.lock: cannot lock leftpad 1.1.0"), "{all}");
    assert!(all.contains("`cargo update -p leftpad@1.0.0` failed"), "{all}");
    // Cargo's whole error, not only its last line: the cause and where it looked.
    assert!(all.contains("error: failed to select a version for the requirement"), "{all}");
    assert!(all.contains("candidate versions found which didn't match: 1.0.0"), "{all}");
    assert!(org.pulls("short").is_empty(), "nothing of the failed repository is written");

    let lock = org.show("twice", "convoy/align-deps", "Cargo.lock");
    let mut pads: Vec<String> = locked(&lock).into_iter().filter(|(n, _)| n == "leftpad").map(|(_, v)| v).collect();
    pads.sort();
    assert_eq!(pads, ["0.9.0", "1.1.0"], "the 1.x entry moved, the 0.9 one stayed: {lock}");
    assert_eq!(org.show("twice", "convoy/align-deps", "tools/Cargo.toml"), tools.replace("\"1.0.0\"", "\"1.1\""));
    assert_eq!(
        org.show("twice", "convoy/align-deps", "tools/Cargo.lock"),
        tools_lock,
        "1.2.0 already satisfies `1.1`: not moved down to 1.1.0"
    );
    let body = org.pulls("twice")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("`0.9` → `1.1`: no version satisfies both"), "{body}");
}

/// A crate the org publishes follows its own release tag; a bare tag belongs to the root or
/// single package only; a manifest ahead of its newest tag decides; a package cargo refuses is
/// no org crate.
#[test]
fn org_crates_follow_their_release_tag() {
    let org = Org::new();
    org.repo(
        "core",
        &[
            ("Cargo.toml", "[package]\nname = \"acme-core\"\nversion = \"2.4.0\"\nedition = \"2021\"\n"),
            ("src/lib.rs", "\n"),
        ],
    );
    crate::support::git(&org.bare("core"), &["tag", "v2.3.1", "main"]);
    crate::support::git(&org.bare("core"), &["tag", "v2.2.0", "main"]);
    org.repo(
        "multi",
        &[
            ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
            ("crates/multi-a/Cargo.toml", "[package]\nname = \"multi-a\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
            ("crates/multi-b/Cargo.toml", "[package]\nname = \"multi-b\"\nversion = \"3.0.0\"\nedition = \"2021\"\n"),
            // Under the root, neither a member nor excluded: cargo refuses it.
            ("fuzz/Cargo.toml", "[package]\nname = \"multi-fuzz\"\nversion = \"0.5.0\"\nedition = \"2021\"\n"),
        ],
    );
    // A bare tag in a multi-crate repository belongs to none of its crates.
    crate::support::git(&org.bare("multi"), &["tag", "v9.0.0", "main"]);
    crate::support::git(&org.bare("multi"), &["tag", "multi-a-v1.2.0", "main"]);
    crate::support::git(&org.bare("multi"), &["tag", "multi-a-v1.3.0-rc.1", "main"]);
    org.repo(
        "app",
        &[(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nacme-core = \"2.1\"\nmulti-a = \"~1.0\"\nmulti-b = \"3\"\nmulti-fuzz = \"0.1\"\n",
        )],
    );
    org.manifest(HEAD);
    let out = org.convoy(&["deps", "align", "--apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    let app = org.show("app", "convoy/align-deps", "Cargo.toml");
    assert!(app.contains("acme-core = \"2.4.0\"\n"), "the manifest is ahead of v2.3.1: {app}");
    assert!(app.contains("multi-b = \"3\"\n"), "not v9.0.0: {app}");
    assert!(app.contains("multi-fuzz = \"0.1\"\n"), "no org crate: {app}");
    let body = org.pulls("app")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("its newest release tag v2.3.1 is older"), "{body}");
    // `~1.0` → `~1.2.0` leaves its minor: listed for a person, with the tag named.
    assert!(body.contains("`~1.0` → `~1.2.0`: no version satisfies both"), "{body}");
    let out = org.convoy(&["deps", "align", "--apply"]);
    assert_eq!(out.code, 0, "{out:?}");

    // With allow_breaking, the tilde moves and keeps its operator; the tag is named.
    org.manifest(&format!("{HEAD}\n[align.cargo]\nallow_breaking = true\n"));
    let out = org.convoy(&["deps", "align", "--apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    let app = org.show("app", "convoy/align-deps", "Cargo.toml");
    assert!(app.contains("multi-a = \"~1.2.0\"\n"), "{app}");
    let body = org.pulls("app")[0]["body"].as_str().unwrap().to_string();
    assert!(
        body.contains("multi-a ~1.0 → ~1.2.0 ([dependencies]; released by acme/multi as tag multi-a-v1.2.0)"),
        "{body}"
    );
}

/// `--repo` narrows which repositories are written, never how the targets are computed: the
/// pull request of a repository stays as a full run left it, and one outside `--repo` is
/// never closed.
#[test]
fn repo_narrows_what_is_written_not_the_targets() {
    let org = Org::new();
    let manifest =
        |req: &str| format!("[package]\nname = \"x\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"{req}\"\n");
    org.repo("a", &[("Cargo.toml", &manifest("1.0.100"))]);
    org.repo("b", &[("Cargo.toml", &manifest("1.0.150"))]);
    org.repo("c", &[("Cargo.toml", &manifest("1.0.228"))]);
    org.manifest(&format!("{HEAD}\n[align.cargo]\ncrates = {{ serde = \"highest\" }}\n"));
    let out = org.convoy(&["deps", "align", "--apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(org.show("a", "convoy/align-deps", "Cargo.toml"), manifest("1.0.228"));
    let before = org.branch_head("a", "convoy/align-deps");

    for only in [["--repo", "a"], ["--repo", "b"]] {
        let out = org.convoy(&["deps", "align", "--apply", only[0], only[1]]);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("0 opened, 0 updated, 1 unchanged"), "{out:?}");
    }
    assert_eq!(org.branch_head("a", "convoy/align-deps"), before);
    for repo in ["a", "b"] {
        assert_eq!(org.pulls(repo)[0]["state"], "open", "{repo}");
    }
    let plan = org.convoy(&["deps", "align", "--repo", "a"]);
    assert!(plan.stdout.contains("+serde = \"1.0.228\""), "{plan:?}");
    assert!(!plan.stdout.contains("acme/b"), "only the --repo repository is planned: {plan:?}");
}

/// A configured action version that exists on no forge is one error (exit 1), with or without
/// pinning, and nothing is written for it; the other repositories go on.
#[test]
fn an_action_version_that_does_not_exist_is_one_error() {
    let org = Org::new();
    let ci = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v3\n";
    org.repo("one", &[(".github/workflows/ci.yml", ci)]);
    org.repo(
        "two",
        &[
            (".github/workflows/ci.yml", ci),
            ("Cargo.toml", "[package]\nname = \"two\"\nversion = \"0.1.0\"\n\n[dependencies]\nrand = \"0.8.1\"\n"),
        ],
    );
    checkout_action_on_forge(&org);
    for pin in ["true", "false"] {
        org.manifest(&format!(
            "{HEAD}\n[align.cargo]\ncrates = {{ rand = \"0.8.5\" }}\n\n[align.actions]\npin = {pin}\nversions = {{ \"actions/checkout\" = \"v9.9.9\" }}\n"
        ));
        let out = org.convoy(&["deps", "align"]);
        assert_eq!(out.code, 1, "pin = {pin}: {out:?}");
        assert_eq!(
            out.stderr.matches("error: [align.actions] actions/checkout v9.9.9").count(),
            1,
            "pin = {pin}: {out:?}"
        );
        assert!(!out.stdout.contains("v9.9.9"), "nothing planned for it: {out:?}");
        assert!(out.stdout.contains("rand = \"0.8.5\""), "the rest goes on: {out:?}");
    }
    // An older version than the one in use is listed for a person.
    org.manifest(&format!(
        "{HEAD}\n[align.actions]\npin = false\nversions = {{ \"actions/checkout\" = \"v2.0.0\" }}\n"
    ));
    crate::support::git(&org.path().join("forge/actions/checkout.git"), &["tag", "v2.0.0", "v4.2.2"]);
    let out = org.convoy(&["deps", "align"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("v2.0.0 is older than v3, the version in use: left for a person"), "{out:?}");
}

/// `actions/checkout` as a repository of the local forge with one commit tagged `v4.2.2`; its SHA.
fn checkout_action_on_forge(org: &Org) -> String {
    let work = org.path().join("checkout-src");
    std::fs::create_dir_all(&work).unwrap();
    crate::support::git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("action.yml"), "runs:\n  using: node20\n  main: index.js\n").unwrap();
    crate::support::git(&work, &["add", "."]);
    crate::support::git(&work, &["commit", "-q", "-m", "v4.2.2"]);
    crate::support::git(&work, &["tag", "v4.2.2"]);
    let sha = crate::support::git(&work, &["rev-parse", "HEAD"]).trim().to_string();
    let bare = org.path().join("forge/actions/checkout.git");
    crate::support::git(org.path(), &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()]);
    sha
}
