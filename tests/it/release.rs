//! `convoy release graph` and `convoy release plan` end to end: real bare repositories with real
//! `Cargo.toml` files, tags and commit histories, and the real binary.

use serde_json::{Value, json};

use crate::support::{Entry, HEAD, Org, git};

/// Repository `core`: a virtual workspace with `core` and `macros`; `macros` build-depends on
/// `tools`' `helper` (inherited from `[workspace.dependencies]`).
const CORE_ROOT: &str = r#"[workspace]
members = ["crates/*"]

[workspace.package]
version = "1.2.0"
edition = "2021"

[workspace.dependencies]
helper = "0.3"
"#;

const CORE: &str = r#"[package]
name = "core"
version.workspace = true
edition.workspace = true

[dependencies]
mac = { package = "macros", path = "../macros", version = "1.2.0", optional = true }
"#;

const MACROS: &str = r#"[package]
name = "macros"
version.workspace = true
edition.workspace = true

[build-dependencies]
helper.workspace = true
"#;

/// Repository `tools`: the root package `cli` uses `core` (so the repositories form a cycle),
/// with `helper` nested in its workspace; `helper`'s path-only dev-dependency on `cli` must not
/// order anything; `xtask` is not published.
const TOOLS_ROOT: &str = r#"[package]
name = "cli"
version = "0.1.0"
edition = "2021"

[workspace]
members = ["helper", "xtask"]

[dependencies]
core = "1.2"
helper = { path = "helper", version = "0.3" }
"#;

const HELPER: &str = r#"[package]
name = "helper"
version = "0.3.1"
edition = "2021"

[dev-dependencies]
cli = { path = ".." }
"#;

const XTASK: &str = r#"[package]
name = "xtask"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
core = "1"
"#;

/// Repository `app`: a versioned dev-dependency on `core` that the current `core` (1.2.0) does
/// not satisfy (it orders), and one on `helper` that 0.3.1 satisfies (it does not).
const APP: &str = r#"[package]
name = "app"
version = "2.0.0"
edition = "2021"

[dev-dependencies]
core = "1.3"
helper = "0.3"
"#;

const LONELY: &str = "[package]\nname = \"lonely\"\nversion = \"0.5.0\"\nedition = \"2021\"\n";

fn org() -> Org {
    let org = Org::new();
    org.repo(
        "core",
        &[
            ("Cargo.toml", CORE_ROOT),
            ("crates/core/Cargo.toml", CORE),
            ("crates/core/src/lib.rs", "pub fn core() {}\n"),
            ("crates/macros/Cargo.toml", MACROS),
            ("crates/macros/src/lib.rs", "\n"),
        ],
    );
    org.repo(
        "tools",
        &[
            ("Cargo.toml", TOOLS_ROOT),
            ("src/main.rs", "fn main() {}\n"),
            ("helper/Cargo.toml", HELPER),
            ("helper/src/lib.rs", "\n"),
            ("xtask/Cargo.toml", XTASK),
        ],
    );
    org.repo("app", &[("Cargo.toml", APP), ("src/lib.rs", "\n")]);
    org.repo("lonely", &[("Cargo.toml", LONELY), ("src/lib.rs", "\n")]);
    org.repo("docs", &[("README.md", "# Docs\n")]);
    org.manifest(HEAD);
    org
}

fn parse(out: &crate::support::Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn tag(org: &Org, repo: &str, name: &str) {
    git(&org.bare(repo), &["tag", name, "main"]);
}

#[test]
fn graph_of_a_repository_cycle_that_is_a_package_dag() {
    let org = org();
    let out = org.convoy(&["release", "graph", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = parse(&out);
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["waves"], json!([["helper", "lonely"], ["macros"], ["core"], ["app", "cli"]]), "{out:?}");
    assert_eq!(
        v["results"],
        json!([
            {"package": "app", "repo": "acme/app", "version": "2.0.0", "manifest": "Cargo.toml"},
            {"package": "cli", "repo": "acme/tools", "version": "0.1.0", "manifest": "Cargo.toml"},
            {"package": "core", "repo": "acme/core", "version": "1.2.0", "manifest": "crates/core/Cargo.toml"},
            {"package": "helper", "repo": "acme/tools", "version": "0.3.1", "manifest": "helper/Cargo.toml"},
            {"package": "lonely", "repo": "acme/lonely", "version": "0.5.0", "manifest": "Cargo.toml"},
            {"package": "macros", "repo": "acme/core", "version": "1.2.0", "manifest": "crates/macros/Cargo.toml"},
        ]),
        "xtask is not published"
    );
    assert_eq!(
        v["edges"],
        json!([
            {"from": "app", "to": "core", "kind": "dev", "req": "1.3"},
            {"from": "cli", "to": "core", "kind": "normal", "req": "1.2"},
            {"from": "cli", "to": "helper", "kind": "normal", "req": "0.3"},
            {"from": "core", "to": "macros", "kind": "normal", "req": "1.2.0"},
            {"from": "macros", "to": "helper", "kind": "build", "req": "0.3"},
        ]),
        "the path-only dev edge helper → cli and the satisfied dev edge app → helper do not order"
    );
    assert_eq!(v["ignored_dev_edges"], json!([]));
    assert_eq!(v["cycles"], json!([]));

    let text = org.convoy(&["release", "graph", "--offline"]);
    assert_eq!(text.code, 0, "{text:?}");
    assert_eq!(
        text.stdout,
        "wave 1
  helper (acme/tools) 0.3.1
  lonely (acme/lonely) 0.5.0
wave 2
  macros (acme/core) 1.2.0
wave 3
  core (acme/core) 1.2.0
wave 4
  app (acme/app) 2.0.0
  cli (acme/tools) 0.1.0
6 packages in 4 repositories, 4 waves
"
    );

    let mermaid = org.convoy(&["release", "graph", "--offline", "--format", "mermaid"]);
    assert_eq!(mermaid.code, 0, "{mermaid:?}");
    let m = &mermaid.stdout;
    assert!(m.starts_with("flowchart LR\n  subgraph wave1[\"wave 1\"]\n"), "{m}");
    assert!(m.contains("    subgraph wave4_repo0[\"acme/app\"]\n      p0[\"app 2.0.0\"]\n    end\n"), "{m}");
    assert!(m.contains("    subgraph wave4_repo1[\"acme/tools\"]\n      p1[\"cli 0.1.0\"]\n    end\n"), "{m}");
    assert!(m.contains("  p0 -.->|dev| p2\n"), "app → core is a dev edge: {m}");
    assert!(m.contains("  p5 -->|build| p3\n"), "macros → helper is a build edge: {m}");

    let dot = org.convoy(&["release", "graph", "--offline", "--format", "dot"]);
    assert_eq!(dot.code, 0, "{dot:?}");
    let d = &dot.stdout;
    assert!(d.starts_with("digraph release {\n"), "{d}");
    assert!(d.contains("  subgraph cluster_wave3 {\n    label=\"wave 3\";\n    subgraph cluster_wave3_repo0 {\n      label=\"acme/core\";\n      \"core\" [label=\"core 1.2.0\"];\n"), "{d}");
    assert!(d.contains("  \"app\" -> \"core\" [style=dashed, label=\"dev\"];\n"), "{d}");
    assert!(d.contains("  \"cli\" -> \"helper\";\n"), "{d}");
}

#[test]
fn a_true_package_cycle_is_an_error_naming_every_package() {
    let org = Org::new();
    let pkg = |name: &str, dep: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\n\n[dependencies]\n{dep} = \"1\"\n")
    };
    org.repo("x", &[("Cargo.toml", &pkg("alpha", "beta"))]);
    org.repo("y", &[("Cargo.toml", &pkg("beta", "gamma"))]);
    org.repo("z", &[("Cargo.toml", &pkg("gamma", "alpha"))]);
    org.repo("w", &[("Cargo.toml", &pkg("delta", "alpha"))]);
    org.manifest(HEAD);
    let out = org.convoy(&["release", "graph", "--json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let v = parse(&out);
    assert_eq!(v["cycles"], json!([["alpha", "beta", "gamma"]]));
    assert_eq!(v["waves"], json!([]));
    assert!(
        out.stderr.contains(
            "error: package dependency cycle between alpha, beta, gamma (alpha → beta, beta → gamma, gamma → alpha)"
        ),
        "{out:?}"
    );
    let plan = org.convoy(&["release", "plan", "--offline", "--json"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert_eq!(parse(&plan)["results"], json!([]));
    assert!(plan.stderr.contains("alpha, beta, gamma"), "{plan:?}");
}

fn planned(v: &Value) -> Vec<Vec<String>> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            w["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| format!("{} {} -> {} {}", p["package"].as_str().unwrap(), p["from"], p["to"], p["bump"]))
                .map(|s| s.replace('"', ""))
                .collect()
        })
        .collect()
}

fn released_org() -> Org {
    let org = org();
    for (repo, t) in [
        ("core", "core-v1.2.0"),
        ("core", "macros@1.2.0"),
        ("tools", "v0.1.0"),
        ("tools", "helper/v0.3.1"),
        ("app", "v2.0.0"),
        ("lonely", "lonely-0.5.0"),
    ] {
        tag(&org, repo, t);
    }
    org.commit("tools", &[Entry::File("helper/src/lib.rs", "pub fn count() {}\n")], "feat!: helper learns to count");
    org.commit("core", &[Entry::File("crates/core/src/lib.rs", "pub fn core() { 1; }\n")], "fix(core): off by one");
    org.commit("core", &[Entry::File("README.md", "# core\n")], "docs: a readme");
    org.commit("app", &[Entry::File("src/lib.rs", "pub fn v3() {}\n")], "feat!: a new API");
    org
}

#[test]
fn plan_bumps_by_conventional_commits_with_safety_bumps_in_waves() {
    let org = released_org();
    // `graph` leaves shallow clones in the cache; `plan` unshallows them to read history.
    assert_eq!(org.convoy(&["release", "graph"]).code, 0);
    let shallow = org.path().join("cache/acme/core.git/shallow");
    assert!(shallow.exists(), "graph clones one commit");
    let offline = org.convoy(&["release", "plan", "--offline"]);
    assert_eq!(offline.code, 1, "{offline:?}");
    assert!(
        offline.stderr.contains("error: acme/core: crates/core/Cargo.toml: core: the cached clone is shallow"),
        "each package names its repository and manifest: {offline:?}"
    );
    let out = org.convoy(&["release", "plan", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!shallow.exists(), "plan fetched full history");
    let v = parse(&out);
    assert_eq!(v["schema_version"], 2);
    assert_eq!(
        planned(&v),
        vec![
            vec!["helper 0.3.1 -> 0.4.0 major"],
            vec!["macros 1.2.0 -> 1.2.1 patch"],
            vec!["core 1.2.0 -> 1.2.1 patch"],
            vec!["app 2.0.0 -> 3.0.0 major", "cli 0.1.0 -> 0.1.1 patch"],
        ],
        "{out:?}"
    );
    let helper = &v["results"][0]["packages"][0];
    assert_eq!(helper["repo"], "acme/tools");
    assert_eq!(helper["reason"], "1 commit since helper/v0.3.1");
    assert_eq!(helper["commits"][0]["subject"], "feat!: helper learns to count");
    assert_eq!(
        v["results"][1]["packages"][0]["reason"],
        "safety bump: it requires helper `0.3`, which the new helper 0.4.0 does not satisfy"
    );
    assert_eq!(
        v["results"][1]["packages"][0]["requires"],
        json!([{"package": "helper", "to": "0.4.0", "kind": "build", "req": "0.3", "satisfied": false}])
    );
    // The readme commit touched no package; core's own fix is its only commit.
    let core = &v["results"][2]["packages"][0];
    assert_eq!(core["reason"], "1 commit since core-v1.2.0");
    assert_eq!(core["commits"].as_array().unwrap().len(), 1);
    assert_eq!(
        core["requires"],
        json!([{"package": "macros", "to": "1.2.1", "kind": "normal", "req": "1.2.0", "satisfied": true}])
    );
    let app = &v["results"][3]["packages"][0];
    assert_eq!(app["reason"], "1 commit since v2.0.0");
    assert_eq!(
        app["requires"],
        json!([{"package": "core", "to": "1.2.1", "kind": "dev", "req": "1.3", "satisfied": false}])
    );
    // cli is the tools root: helper's commit lies in a nested package's folder, not in cli.
    let cli = &v["results"][3]["packages"][1];
    assert_eq!(cli["commits"], json!([]));
    assert_eq!(cli["reason"], "safety bump: it requires helper `0.3`, which the new helper 0.4.0 does not satisfy");
    assert_eq!(
        v["unreleased"],
        json!([{"package": "lonely", "repo": "acme/lonely", "version": "0.5.0", "reason": "no commits touched it since lonely-0.5.0"}])
    );
    assert_eq!(v["errors"], json!([]));

    let text = org.convoy(&["release", "plan", "--offline"]);
    assert_eq!(text.code, 0, "{text:?}");
    let t = &text.stdout;
    assert!(
        t.starts_with("wave 1\n  helper (acme/tools) 0.3.1 -> 0.4.0  major: 1 commit since helper/v0.3.1\n"),
        "{t}"
    );
    assert!(t.contains("  app (acme/app) 2.0.0 -> 3.0.0  major: 1 commit since v2.0.0\n"), "{t}");
    assert!(t.contains(" feat!: a new API\n"), "{t}");
    assert!(t.contains(" fix(core): off by one\n"), "{t}");
    assert!(t.contains("      requirement moves: core `1.3` does not match 1.2.1\n"), "{t}");
    assert!(t.contains("skipped lonely (acme/lonely) 0.5.0: no commits touched it since lonely-0.5.0\n"), "{t}");
    assert!(t.contains("5 packages to release in 4 waves, 1 skipped, 0 errors\n"), "{t}");
    // Then what crates.io's publish limits make of it.
    assert!(t.ends_with("\ncrates.io: 5 new versions and 0 new crates fit within its publish limits' bursts\n"), "{t}");
}

#[test]
fn plan_overrides_all_and_first_releases() {
    let org = released_org();
    let out = org.convoy(&["release", "plan", "--json", "--bump", "core=2.0.0", "--bump", "helper=patch", "--all"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = parse(&out);
    assert_eq!(
        planned(&v),
        vec![
            vec!["helper 0.3.1 -> 0.3.2 patch", "lonely 0.5.0 -> 0.5.1 patch"],
            vec!["macros 1.2.0 -> 1.2.1 patch"],
            vec!["core 1.2.0 -> 2.0.0 version"],
            vec!["app 2.0.0 -> 3.0.0 major", "cli 0.1.0 -> 0.1.1 patch"],
        ],
        "{out:?}"
    );
    assert_eq!(v["results"][0]["packages"][1]["reason"], "--all");
    assert_eq!(v["results"][2]["packages"][0]["reason"], "--bump core=2.0.0");
    assert_eq!(
        v["results"][3]["packages"][1]["requires"][0],
        json!({"package": "core", "to": "2.0.0", "kind": "normal", "req": "1.2", "satisfied": false})
    );

    let bad = org.convoy(&["release", "plan", "--offline", "--bump", "nope=patch"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("no publishable package `nope`"), "{bad:?}");
    let lower = org.convoy(&["release", "plan", "--offline", "--json", "--bump", "core=1.0.0"]);
    assert_eq!(lower.code, 1, "{lower:?}");
    assert!(
        lower
            .stderr
            .contains("acme/core: crates/core/Cargo.toml: --bump core=1.0.0: not above its current version 1.2.0"),
        "{lower:?}"
    );

    // Without tags every package is a first release of its manifest version.
    let fresh = self::org();
    let out = fresh.convoy(&["release", "plan", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = parse(&out);
    assert_eq!(v["results"][0]["packages"][0]["bump"], "initial");
    assert_eq!(v["results"][0]["packages"][0]["to"], "0.3.1");
    assert_eq!(v["results"].as_array().unwrap().len(), 4);
}
