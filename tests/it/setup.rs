//! Getting started: manifest discovery, `convoy init`, `convoy completions`, `convoy man`.

use crate::support::convoy_in;

#[test]
fn init_local_then_validate_passes_from_a_subfolder() {
    let root = tempfile::tempdir().unwrap();
    let out = convoy_in(root.path(), &["init", "--org", "acme"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("Created a starter org for `acme` in .:\n  org.toml\n  org.schema.json\n"),
        "{out:?}"
    );
    for rel in
        ["org.toml", "org.schema.json", "templates/rust-ci.yml.j2", "files/CODEOWNERS.j2", "forge/acme/example.git"]
    {
        assert!(root.path().join(rel).exists(), "{rel} missing");
    }
    // The clone cache stays out of git.
    let ignore = std::fs::read_to_string(root.path().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == ".convoy/"), "{ignore}");
    let text = std::fs::read_to_string(root.path().join("org.toml")).unwrap();
    // Taplo's schema directive, naming the file written beside it (tests/it/schema.rs checks
    // the starter against that schema).
    assert_eq!(text.lines().next(), Some("#:schema ./org.schema.json"), "{text}");
    assert!(text.contains("name = \"acme\""), "{text}");

    // No -m, no CONVOY_MANIFEST: the org.toml two folders up is found, as cargo finds Cargo.toml.
    let sub = root.path().join("notes/2026");
    std::fs::create_dir_all(&sub).unwrap();
    let out = convoy_in(&sub, &["validate"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let manifest = root.path().join("org.toml");
    assert_eq!(out.stdout, format!("{} is valid: 1 repository selected, 1 template, 3 files\n", manifest.display()));

    // From the org folder itself the manifest is the relative `org.toml`, as before discovery.
    let out = convoy_in(root.path(), &["validate"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "org.toml is valid: 1 repository selected, 1 template, 3 files\n");
}

#[test]
fn init_into_dir_then_plan_offline_changes_the_sample_repo() {
    let root = tempfile::tempdir().unwrap();
    let out = convoy_in(root.path(), &["init", "--dir", "my-org"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = convoy_in(&root.path().join("my-org"), &["plan", "--stat"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("my-org/example"), "{out:?}");
}

#[test]
fn no_manifest_found_says_so_and_suggests_init_and_demo() {
    let root = tempfile::tempdir().unwrap();
    let out = convoy_in(root.path(), &["validate"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: no org.toml in [DIR] or any folder above it\n  help: run `convoy init --forge github --org YOUR-ORG` to start a manifest for your GitHub org here (or `convoy init` for one on a local sample forge, `convoy demo` for an example org); or pass the manifest with --manifest PATH (or CONVOY_MANIFEST)\n"
    );
}

#[test]
fn no_manifest_found_points_at_the_one_a_folder_down() {
    // As after `convoy demo` (or `convoy init --dir convoy-demo`) in this folder: `plan` here
    // finds no org.toml upward and says how to pass the one below, and that advice works.
    let root = tempfile::tempdir().unwrap();
    assert_eq!(convoy_in(root.path(), &["init", "--dir", "convoy-demo"], &[]).code, 0);
    let out = convoy_in(root.path(), &["plan", "--offline"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: no org.toml in [DIR] or any folder above it\n  help: convoy-demo/org.toml is one folder down: pass it with `-m convoy-demo/org.toml` (or set CONVOY_MANIFEST=convoy-demo/org.toml)\n"
    );
    let out = convoy_in(root.path(), &["-m", "convoy-demo/org.toml", "validate"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn manifest_flag_and_env_win_over_discovery() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(convoy_in(root.path(), &["init", "--org", "acme"], &[]).code, 0);
    // CONVOY_MANIFEST names a file that does not exist: it is used (and fails), not discovery.
    let out = convoy_in(root.path(), &["validate"], &[("CONVOY_MANIFEST", "elsewhere.toml")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.starts_with("error: cannot read manifest elsewhere.toml"), "{out:?}");
    let out = convoy_in(root.path(), &["-m", "other.toml", "validate"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.starts_with("error: cannot read manifest other.toml"), "{out:?}");
}

#[test]
fn init_github_writes_a_manifest_that_passes_the_offline_checks() {
    let root = tempfile::tempdir().unwrap();
    let out = convoy_in(root.path(), &["init", "--forge", "github", "--org", "acme-corp"], &[]);
    // `init` loads what it wrote with the manifest's own checks (everything `validate` checks
    // before it lists the org's repositories on GitHub) and fails if they do not pass.
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(root.path().join("org.toml")).unwrap();
    assert!(text.contains("\nforge = { kind = \"github\" }\n"), "{text}");
    assert!(text.contains("GITHUB_TOKEN") && text.contains("app_id"), "{text}");
    assert!(text.contains("name = \"acme-corp\""), "{text}");
    assert!(!root.path().join("forge").exists(), "no local forge for GitHub");
    assert!(out.stdout.contains("auth status"), "{out:?}");
}

#[test]
fn init_refuses_to_overwrite_an_existing_org_toml_without_force() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("org.toml"), "# mine\n").unwrap();
    let out = convoy_in(root.path(), &["init"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: refusing to overwrite org.toml\n  help: pass --force to overwrite them, or --dir DIR to start the org in another folder\n"
    );
    assert_eq!(std::fs::read_to_string(root.path().join("org.toml")).unwrap(), "# mine\n");
    assert!(!root.path().join("templates").exists(), "nothing may be written");

    let out = convoy_in(root.path(), &["init", "--force"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(std::fs::read_to_string(root.path().join("org.toml")).unwrap().contains("[campaign]"));
}

#[test]
fn init_refuses_a_bad_org_name() {
    let root = tempfile::tempdir().unwrap();
    let out = convoy_in(root.path(), &["init", "--org", "../up"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.starts_with("error: --org ../up: "), "{out:?}");
    assert!(!root.path().join("org.toml").exists());
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let root = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = convoy_in(root.path(), &["completions", shell], &[]);
        assert_eq!(out.code, 0, "{shell}: {out:?}");
        for word in ["release", "rollout", "validate", "init"] {
            assert!(out.stdout.contains(word), "{shell} completions do not mention {word}");
        }
    }
    let out = convoy_in(root.path(), &["completions", "tcsh"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn man_page_is_roff_for_convoy() {
    let root = tempfile::tempdir().unwrap();
    let out = convoy_in(root.path(), &["man"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    // clap_mangen opens with two lines defining the apostrophe string (`.ie`/`.el`), then `.TH`.
    let first = out.stdout.lines().find(|l| !l.starts_with(".ie ") && !l.starts_with(".el ")).unwrap();
    assert!(first.starts_with(".TH convoy 1"), "{first}");
    assert!(out.stdout.contains("rollout") && out.stdout.contains("release"), "{out:?}");

    let out = convoy_in(root.path(), &["man", "--dir", "man1"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    for page in ["convoy.1", "convoy-init.1", "convoy-rollout-advance.1"] {
        let text = std::fs::read_to_string(root.path().join("man1").join(page)).unwrap();
        assert!(text.contains(".TH convoy"), "{page}");
    }
}
