//! `[[patch]]` through the real binary on real repositories: YAML, JSON, TOML and line edits
//! that keep everything else byte for byte, idempotent once merged, a file that does not parse
//! failing only its repository, and bad entries refused at their line and column.

use crate::support::{HEAD, Org, git, row};

const DEPENDABOT: &str = "# managed by hand\nversion: 2\nupdates:\n  - package-ecosystem: cargo # crates\n    directory: \"/\"\n    schedule:\n      interval: daily\n";
const PACKAGE: &str = "{\n  // the web app\n  \"name\": \"web\",\n  \"scripts\": { \"test\": \"jest\" }\n}\n";
const CARGO: &str = "[package]\nname = \"api\" # keep me\nversion = \"0.1.0\"\n";

const PATCHES: &str = r#"
[[patch]]
files = [".github/dependabot.yml"]
[[patch.op]]
set = "updates[0].schedule.interval"
value = "weekly"
[[patch.op]]
set = "updates[0].open-pull-requests-limit"
value = 5

[[patch]]
files = ["package.json"]
[[patch.op]]
set = "engines.node"
value = ">=20"

[[patch]]
files = ["Cargo.toml"]
[[patch.op]]
set = "package.edition"
value = "2024"

[[patch]]
files = [".gitignore"]
[[patch.op]]
ensure_line = "target/"
[[patch.op]]
remove_line = "*.log"

[campaign]
branch = "convoy/patch"
"#;

fn org() -> Org {
    let org = Org::new();
    org.repo(
        "api",
        &[
            (".github/dependabot.yml", DEPENDABOT),
            ("package.json", PACKAGE),
            ("Cargo.toml", CARGO),
            (".gitignore", "*.log\r\nnode_modules/\r\n"),
        ],
    );
    org.repo("web", &[("package.json", "{ \"name\": \"web\",, }\n"), (".gitignore", "dist/\n")]);
    org.manifest(&format!("{HEAD}{PATCHES}"));
    org
}

#[test]
fn patches_keep_the_format_converge_and_a_broken_file_fails_only_its_repository() {
    let org = org();
    let plan = org.convoy(&["plan", "-q"]);
    assert_eq!(plan.code, 1, "web's package.json does not parse: {plan:?}");
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(all.contains("package.json does not parse as JSON"), "{plan:?}");
    assert!(row(&plan.stdout, "acme/web").contains("failed"), "{plan:?}");

    let apply = org.convoy(&["apply", "-q"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    let show = |path: &str| org.show("api", "convoy/patch", path);
    assert_eq!(
        show(".github/dependabot.yml"),
        "# managed by hand\nversion: 2\nupdates:\n  - package-ecosystem: cargo # crates\n    directory: \"/\"\n    schedule:\n      interval: weekly\n    open-pull-requests-limit: 5\n"
    );
    assert_eq!(
        show("package.json"),
        "{\n  // the web app\n  \"name\": \"web\",\n  \"scripts\": { \"test\": \"jest\" },\n  \"engines\": {\n    \"node\": \">=20\"\n  }\n}\n"
    );
    assert_eq!(show("Cargo.toml"), "[package]\nname = \"api\" # keep me\nversion = \"0.1.0\"\nedition = \"2024\"\n");
    assert_eq!(show(".gitignore"), "node_modules/\r\ntarget/\r\n", "CRLF kept, the line added once");
    assert_eq!(org.branch_head("web", "convoy/patch"), None, "the failed repository gets nothing");

    // Idempotent: with the patched files on main, the same patch has nothing to do.
    git(&org.bare("api"), &["update-ref", "refs/heads/main", "refs/heads/convoy/patch"]);
    let again = org.convoy(&["plan", "-q"]);
    assert!(row(&again.stdout, "acme/api").contains("unchanged"), "{again:?}");
}

#[test]
fn a_bad_patch_entry_is_refused_where_it_is_written() {
    let org = org();
    let bad = "[[patch]]\nfiles = [\"ci.yml\"]\n[[patch.op]]\nset = \"jobs..steps\"\nvalue = 1\n";
    org.manifest(&format!("{HEAD}{bad}"));
    let out = org.convoy(&["plan"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("invalid [[patch]]: bad key path `jobs..steps`"), "{out:?}");
    assert!(out.stderr.contains("org.toml:12:7"), "the error has the file, line and column: {out:?}");

    org.manifest(&format!("{HEAD}[[patch]]\nfiles = [\"x.yml\"]\nformat = \"xml\"\n[[patch.op]]\nremove = \"a\"\n"));
    let out = org.convoy(&["plan"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("unknown variant `xml`"), "{out:?}");

    org.manifest(&format!("{HEAD}[[patch]]\nfiles = [\".gitignore\"]\n[[patch.op]]\nset = \"a\"\nvalue = 1\n"));
    let out = org.convoy(&["plan"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("cannot tell the format of `.gitignore`"), "{out:?}");
}
