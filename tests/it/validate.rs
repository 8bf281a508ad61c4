use crate::support::{HEAD, Org};

fn org() -> Org {
    let org = Org::new();
    org.repo("api", &[("Cargo.toml", "[package]\nname = \"api\"\n")]);
    org.repo("web", &[("package.json", "{}\n")]);
    org.template("ci.yml.j2", "name: ci-{{ repo.name }}\n");
    org
}

#[test]
fn valid_manifest_reports_selection() {
    let org = org();
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "[ORG]/org.toml is valid: 2 repositories selected, 1 template, 0 files\n");
}

#[test]
fn unknown_key_is_pinned_with_line_and_column() {
    let org = org();
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"x.yml\"\ndestination = \"y\"\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: [ORG]/org.toml:12:1: unknown field `destination`, expected one of `source`, `dest`, `repos`, `vars`\n   |\n12 | destination = \"y\"\n   | ^^^^^^^^^^^\n  help: did you mean `dest`? every key is in the manifest reference, https://github.com/convoy-rs/convoy/blob/main/docs/manifest.md (`convoy schema` gives editors the same)\n"
    );
    assert!(!org.path().join("cache").exists(), "nothing may be touched");
}

#[test]
fn wrong_type_is_pinned() {
    let org = org();
    org.manifest(&HEAD.replace("jobs = 2", "jobs = \"two\""));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("error: [ORG]/org.toml:3:8: invalid type: string \"two\", expected usize\n"),
        "{out:?}"
    );
}

#[test]
fn semantic_errors_each_name_their_position() {
    let org = org();
    org.template("broken.j2", "{% for x in %}\n");
    org.manifest(&format!(
        "{HEAD}[[repo]]\nname = \"acme/nope-*\"\n\n[[template]]\nsource = \"missing.j2\"\ndest = \"a.yml\"\n\n[[template]]\nsource = \"broken.j2\"\ndest = \"b.yml\"\nrepos = [\"tag:nothing\"]\n"
    ));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    // Static checks run first (file existence); forge-dependent checks need a loadable manifest.
    assert!(out.stderr.contains("org.toml:13:10: templates/missing.j2 does not exist"), "{out:?}");

    org.manifest(&format!(
        "{HEAD}[[repo]]\nname = \"acme/nope-*\"\n\n[[template]]\nsource = \"broken.j2\"\ndest = \"b.yml\"\nrepos = [\"tag:nothing\"]\n"
    ));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(
            "org.toml:10:8: [[repo]] name `acme/nope-*` matches none of the 2 repositories of `acme` on the forge"
        ),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(
            "org.toml:15:10: [[template]] selector `tag:nothing` matches none of the 2 repositories selected"
        ),
        "{out:?}"
    );

    org.manifest(&format!("{HEAD}[[template]]\nsource = \"broken.j2\"\ndest = \"b.yml\"\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("org.toml:10:10: template does not compile: templates/broken.j2:1: syntax error"),
        "{out:?}"
    );
}

#[test]
fn unsafe_destinations_are_refused_before_anything_runs() {
    let org = org();
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"../escape.yml\"\n\n[[template]]\nsource = \"ci.yml.j2\"\ndest = \"/etc/x.yml\"\n"
    ));
    let out = org.convoy(&["plan"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("org.toml:11:8: invalid destination: `../escape.yml` escapes the repository (`..`)"),
        "{out:?}"
    );
    assert!(out.stderr.contains("org.toml:15:8: invalid destination: `/etc/x.yml` is absolute"), "{out:?}");
    assert!(!org.path().join("cache").exists());
}

#[test]
fn json_diagnostics_are_machine_readable() {
    let org = org();
    org.manifest(&format!("{HEAD}bogus = 1\n"));
    let out = org.convoy(&["--json", "validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["errors"][0]["line"], 9);
    assert_eq!(v["errors"][0]["column"], 1);
    assert_eq!(v["errors"][0]["file"], "[ORG]/org.toml");
    assert!(v["errors"][0]["message"].as_str().unwrap().starts_with("unknown field `bogus`"));
}

#[test]
fn forks_and_archived_repos_are_filtered_and_is_selectors_work() {
    let org = org();
    org.repo("fork", &[("README.md", "x\n")]);
    org.repo("old", &[("README.md", "x\n")]);
    std::fs::write(org.bare("fork").join("convoy-forge.json"), r#"{"meta": {"fork": true}}"#).unwrap();
    std::fs::write(org.bare("old").join("convoy-forge.json"), r#"{"meta": {"archived": true, "private": true}}"#)
        .unwrap();
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"ci.yml\"\nrepos = [\"is:public\"]\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "[ORG]/org.toml is valid: 3 repositories selected, 1 template, 0 files\nskipped acme/old: archived\n"
    );

    let manifest = HEAD.replace("jobs = 2", "jobs = 2\ninclude_forks = false\ninclude_archived = true");
    org.manifest(&format!(
        "{manifest}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"ci.yml\"\nrepos = [\"is:private\"]\n"
    ));
    let out = org.convoy(&["validate"]);
    assert_eq!(
        out.stdout, "[ORG]/org.toml is valid: 3 repositories selected, 1 template, 0 files\nskipped acme/fork: fork\n",
        "{out:?}"
    );
    let plan = org.convoy(&["plan", "-q"]);
    assert!(plan.stdout.contains("━━ acme/old "), "only the private repo gets the template: {plan:?}");
    assert!(!plan.stdout.contains("━━ acme/api "), "{plan:?}");
}

#[test]
fn undefined_variables_are_named_per_repository_with_every_other_error() {
    let org = org();
    org.template(
        "deploy.yml.j2",
        "region: {{ vars.region }}\nname: {{ repo.nmae }}\n{% if vars.opt is defined %}{{ vars.opt }}{% endif %}\n",
    );
    org.manifest(&format!(
        "{HEAD}[[repo]]\nname = \"acme/api\"\nvars = {{ region = \"eu\" }}\n\n[[repo]]\nname = \"acme/nope\"\n\n[[template]]\nsource = \"deploy.yml.j2\"\ndest = \"deploy.yml\"\n"
    ));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    // All three problems in one report: a rule matching nothing, and two undefined names.
    assert!(out.stderr.contains("org.toml:14:8: [[repo]] name `acme/nope` matches none"), "{out:?}");
    assert!(
        out.stderr.contains(
            "org.toml:17:10: templates/deploy.yml.j2 uses `repo.nmae`, which is undefined for acme/api, acme/web"
        ),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("org.toml:17:10: templates/deploy.yml.j2 uses `vars.region`, which is undefined for acme/web\n"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("vars.opt"), "guarded with `is defined`: {out:?}");
    assert!(!org.path().join("cache").exists(), "nothing may be touched");

    org.template("deploy.yml.j2", "region: {{ vars.region | default('us') }}\nname: {{ repo.name }}\n");
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"deploy.yml.j2\"\ndest = \"deploy.yml\"\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn rendering_a_binary_file_is_a_validate_error() {
    let org = org();
    std::fs::write(org.path().join("files/logo.png"), [0x89u8, b'P', b'N', b'G', 0xff, 0xfe, 0x00]).unwrap();
    org.manifest(&format!("{HEAD}[[file]]\nsource = \"logo.png\"\ndest = \"logo.png\"\nrender = true\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("org.toml:10:10: files/logo.png is not UTF-8 text"), "{out:?}");
    assert!(out.stderr.contains("help: set render = false to copy the file byte for byte"), "{out:?}");
}

#[test]
fn campaign_branch_may_not_be_a_default_branch() {
    let org = org();
    // `[org] default_branch` itself is refused without asking the forge.
    org.manifest(&format!("{HEAD}[campaign]\nbranch = \"main\"\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("org.toml:10:10: `main` is the org's default branch"), "{out:?}");
    // The repositories' own default branch, as the forge reports it (with no protected
    // patterns, so only the forge's answer can refuse it).
    let manifest = HEAD.replace("jobs = 2", "jobs = 2\ndefault_branch = \"trunk\"\nprotected_branches = []");
    org.manifest(&format!("{manifest}[campaign]\nbranch = \"main\"\n[align]\nbranch = \"main\"\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("[campaign] branch `main` is the default branch of acme/api and 1 more"), "{out:?}");
    assert!(out.stderr.contains("[align] branch `main` is the default branch of acme/api"), "{out:?}");
    org.manifest(&format!("{HEAD}[campaign]\nbranch = \"convoy/.lock/x\"\n"));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("is not a valid branch name"), "{out:?}");
}

/// A name under another owner can never match (convoy lists the org's repositories only): the
/// loader says so at its position, before any listing, so `validate --offline` catches it too.
#[test]
fn a_selector_under_another_owner_is_refused_before_listing() {
    let org = org();
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\nrepos = [\"other/api\", \"api\", \"*/web\"]\n"
    ));
    for args in [&["validate"][..], &["validate", "--offline"]] {
        let out = org.convoy(args);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("`other/api` is under owner `other`, but [org] name is `acme`"), "{out:?}");
        assert!(
            out.stderr.contains("help: convoy manages the repositories of `acme` only: write `acme/api` (or `api`)")
        );
        assert_eq!(out.stderr.matches("error:").count(), 1, "the bare name and the owner glob are fine: {out:?}");
    }
}

/// `-m` may name the folder that holds org.toml.
#[test]
fn manifest_option_accepts_the_folder() {
    let org = org();
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n"));
    let dir = org.path().display().to_string();
    let out = crate::support::convoy_in(std::path::Path::new("/"), &["-m", &dir, "validate"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("org.toml is valid: 2 repositories selected"), "{out:?}");
}
