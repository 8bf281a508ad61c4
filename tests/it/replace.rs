//! `[[replace]]` through the real binary on real repositories: captures, CRLF kept, binary files
//! and symbolic links skipped, an executable keeps its mode, entries chain in order, idempotent,
//! and a bad pattern is refused at its line and column before anything is touched.

use crate::support::{Entry, HEAD, Org, git};

fn org(replaces: &str) -> Org {
    let org = Org::new();
    org.repo_with(
        "api",
        &[
            Entry::File("src/lib.rs", "pub fn old_sum(a: u8) -> u8 {\r\n    old_sum_inner(a)\r\n}\r\n"),
            Entry::File("src/logo.rs", "old_sum\0binary"),
            Entry::File("README.md", "call old_sum()\n"),
            Entry::File("run.sh", "#!/bin/sh\nold_sum\n"),
            Entry::Link("src/link.rs", "lib.rs"),
        ],
    );
    // Make run.sh executable, as a person would (`git update-index --chmod=+x`).
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    git(w, &["clone", "-q", org.bare("api").to_str().unwrap(), "."]);
    git(w, &["update-index", "--chmod=+x", "run.sh"]);
    git(w, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"]);
    git(w, &["push", "-q", "origin", "main"]);
    org.manifest(&format!("{HEAD}{replaces}\n[campaign]\nbranch = \"convoy/rename\"\n"));
    org
}

const RENAME: &str = "[[replace]]\nfiles = [\"**/*.rs\", \"*.sh\"]\npattern = 'old_(\\w+)'\nreplacement = 'new_${1}'\n\n\
                      [[replace]]\nfiles = [\"src/*.rs\"]\npattern = \"new_sum_inner\"\nreplacement = \"inner\"\nliteral = true\n";

#[test]
fn replacements_keep_line_endings_and_modes_and_skip_binary_files_and_links() {
    let org = org(RENAME);
    let plan = org.convoy(&["plan", "-q"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("src/lib.rs") && plan.stdout.contains("run.sh"), "{plan:?}");
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    let lib = org.show("api", "convoy/rename", "src/lib.rs");
    assert_eq!(lib, "pub fn new_sum(a: u8) -> u8 {\r\n    inner(a)\r\n}\r\n", "captures, chained entries, CRLF kept");
    assert_eq!(org.show("api", "convoy/rename", "README.md"), "call old_sum()\n", "not matched by `files`");
    assert_eq!(org.show("api", "convoy/rename", "src/logo.rs"), "old_sum\0binary", "binary files are skipped");
    let tree = git(&org.bare("api"), &["ls-tree", "-r", "convoy/rename"]);
    let mode = |path: &str| tree.lines().find(|l| l.ends_with(path)).map(|l| l[..6].to_string());
    assert_eq!(mode("run.sh").as_deref(), Some("100755"), "the executable stays executable: {tree}");
    assert_eq!(mode("src/link.rs").as_deref(), Some("120000"), "the link is left alone: {tree}");
    // Applying again changes nothing.
    let again = org.convoy(&["apply", "-q"]);
    assert!(again.stdout.contains("1 unchanged"), "{again:?}");
}

#[test]
fn a_bad_pattern_is_refused_where_it_is_written() {
    let org = org("[[replace]]\nfiles = [\"*.md\"]\npattern = \"old_(\"\nreplacement = \"x\"\n");
    let out = org.convoy(&["plan"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("invalid [[replace]]: `pattern`:"), "{out:?}");
    assert!(out.stderr.contains("org.toml:"), "the error has the file, line and column: {out:?}");
}

/// Identical diffs are shown once; `--stat` shows counts per file instead of diffs.
#[test]
fn plan_groups_identical_changes_and_stat_shows_only_the_table() {
    let org = Org::new();
    for name in ["a", "b", "c"] {
        org.repo(name, &[("README.md", "old\n")]);
    }
    org.repo("d", &[("README.md", "old old\n")]);
    org.manifest(&format!(
        "{HEAD}[[replace]]\nfiles = [\"README.md\"]\npattern = \"old\"\nreplacement = \"new\"\n\n[campaign]\nbranch = \"convoy/r\"\n"
    ));
    let plan = org.convoy(&["plan", "-q"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("━━ same change in 3 repositories: acme/a, acme/b, acme/c — 1 file(s)\n"), "{plan:?}");
    assert_eq!(plan.stdout.matches("+new\n").count(), 1, "the shared diff is printed once: {plan:?}");
    assert!(plan.stdout.contains("━━ acme/d (main @ "), "{plan:?}");
    let stat = org.convoy(&["plan", "-q", "--stat"]);
    assert!(!stat.stdout.contains("same change") && !stat.stdout.contains("+new"), "{stat:?}");
    assert_eq!(stat.stdout.matches(" README.md | 2 +-\n").count(), 4, "{stat:?}");
    assert!(stat.stdout.contains("4 repositories: 4 changed, 0 unchanged, 0 failed"), "{stat:?}");
}

#[test]
fn a_replaced_file_is_never_pruned_once_the_replacement_is_merged() {
    // With prune on, a file a replacement changed must not join the managed list: after the
    // merge the replacement changes nothing, and prune would delete every listed file that no
    // entry declares any more.
    let org = org(RENAME);
    let manifest = std::fs::read_to_string(org.path().join("org.toml")).unwrap();
    org.manifest(&manifest.replace("[campaign]\n", "[campaign]\nprune = true\n"));
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    assert_eq!(org.convoy(&["forge", "set-status", "-q", "--repo", "api", "--state", "success"]).code, 0);
    let merged = org.convoy(&["merge"]);
    assert_eq!(merged.code, 0, "{merged:?}");
    assert!(org.show("api", "main", "src/lib.rs").contains("new_sum"), "merged: {merged:?}");
    let plan = org.convoy(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(!plan.stdout.contains("delete"), "nothing is pruned: {plan:?}");
    assert_eq!(org.show("api", "main", "src/lib.rs").lines().count(), 3, "the file is still there");
}
