//! The built-in templates rendered with the real engine across the contexts they branch on.

use std::path::Path;

use convoy::render::Renderer;
use minijinja::{Value, context};

use crate::support::assert_workflow_practices;

fn ctx(ecosystems: &[&str], package_manager: Option<&str>, vars: Value) -> Value {
    context! {
        org => context! { name => "acme" },
        repo => context! {
            name => "svc", owner => "acme", full_name => "acme/svc", default_branch => "trunk",
            topics => Vec::<String>::new(), tags => Vec::<String>::new(), ecosystems => ecosystems.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            node_package_manager => package_manager.map(str::to_string), private => false,
        },
        vars => vars,
    }
}

fn renderer() -> Renderer {
    Renderer::new(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"))
}

#[test]
fn rust_ci_in_every_context() {
    let r = renderer();
    for vars in [context! {}, context! { rust_toolchain => "1.85.0" }] {
        let text = r.render("rust-ci.yml.j2", &ctx(&["rust"], None, vars)).unwrap();
        assert_workflow_practices("rust-ci", &text);
        assert!(text.contains("branches: [\"trunk\"]"), "the repo's default branch triggers CI:\n{text}");
        assert!(text.contains("hashFiles('**/Cargo.lock')"));
    }
}

#[test]
fn node_ci_for_each_package_manager() {
    let r = renderer();
    for (pm, lock, install) in [
        (Some("npm"), "package-lock.json", "npm ci"),
        (Some("pnpm"), "pnpm-lock.yaml", "pnpm install --frozen-lockfile"),
        (Some("yarn"), "yarn.lock", "yarn install --frozen-lockfile"),
        (None, "package-lock.json", "npm ci"),
    ] {
        for vars in [context! {}, context! { node_version => "22" }] {
            let text = r.render("node-ci.yml.j2", &ctx(&["node"], pm, vars)).unwrap();
            assert_workflow_practices(&format!("node-ci {pm:?}"), &text);
            assert!(text.contains(&format!("hashFiles('**/{lock}')")), "{pm:?}: cache key\n{text}");
            assert!(text.contains(install), "{pm:?}: install command\n{text}");
        }
    }
}

#[test]
fn shared_files_render() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("files");
    let mut r = renderer();
    for name in ["CODEOWNERS.j2", "dependabot.yml.j2"] {
        r.add(&format!("files/{name}"), std::fs::read_to_string(root.join(name)).unwrap()).unwrap();
    }
    let vars = context! { codeowners_team => "platform" };
    let owners = r.render("files/CODEOWNERS.j2", &ctx(&[], None, vars.clone())).unwrap();
    assert!(owners.lines().any(|l| l == "* @acme/platform"), "{owners}");
    let dependabot = r.render("files/dependabot.yml.j2", &ctx(&["rust", "node"], Some("npm"), vars)).unwrap();
    use saphyr::{LoadableYamlNode, Yaml};
    let doc = &Yaml::load_from_str(&dependabot).unwrap()[0];
    let ecosystems: Vec<&str> =
        doc["updates"].as_sequence().unwrap().iter().map(|u| u["package-ecosystem"].as_str().unwrap()).collect();
    assert_eq!(ecosystems, ["github-actions", "cargo", "npm"]);
    // Without the team variable, strict mode refuses to render an owner-less CODEOWNERS.
    let err = r.render("files/CODEOWNERS.j2", &ctx(&[], None, context! {})).unwrap_err();
    assert!(err.to_string().starts_with("files/CODEOWNERS.j2:"), "{err}");
}

#[test]
fn the_projects_own_ci_follows_the_same_practices() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/ci.yml")).unwrap();
    assert_workflow_practices(".github/workflows/ci.yml", &text);
}

#[test]
fn the_enforcement_job_is_the_template_rendered_and_passes_its_own_audit() {
    let r = renderer();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/convoy-enforce.yml");
    let rendered = r.render("convoy-enforce.yml.j2", &ctx(&[], None, context! {})).unwrap();
    // `CONVOY_BLESS=1 cargo test` rewrites the shipped file after a template change.
    if std::env::var_os("CONVOY_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap();
    assert_eq!(rendered, shipped, "the shipped enforcement workflow is the template with default settings");
    let custom = r
        .render(
            "convoy-enforce.yml.j2",
            &ctx(&[], None, context! { enforce_shards => 8, convoy_git => "https://github.com/acme/convoy", convoy_rev => "v0.2.0" }),
        )
        .unwrap();
    assert!(custom.contains("shard: [1, 2, 3, 4, 5, 6, 7, 8]"), "{custom}");
    assert!(custom.contains("cargo install --locked --git https://github.com/acme/convoy --rev v0.2.0"), "{custom}");
    for (label, text) in [("shipped", &shipped), ("custom", &custom)] {
        let file = convoy::workflow::files::SourceFile {
            path: ".github/workflows/convoy-enforce.yml".into(),
            bytes: text.as_bytes().to_vec(),
        };
        let findings = convoy::policy::audit::Policy::default_rules().audit_repo("acme/control", &[file], &|_| false);
        assert!(findings.is_empty(), "{label}: {findings:#?}\n{text}");
        let wf = convoy::workflow::parse(text, false).unwrap();
        assert!(wf.has_trigger("schedule") && wf.has_trigger("workflow_dispatch"));
        assert_eq!(wf.concurrency.as_ref().and_then(|c| c.group.as_deref()), Some("convoy-enforce"));
    }
}
