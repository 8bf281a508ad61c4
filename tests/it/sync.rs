//! `[[file]]` with a folder `source` through the real binary on real repositories: every file
//! under the folder lands at the same relative path under `dest`, `exclude` leaves files out,
//! `delete_orphaned` deletes what the folder does not have, `replace = false` only creates, an
//! executable keeps its mode, the result converges, and a link in the folder is refused.

use std::os::unix::fs::PermissionsExt;

use crate::support::{HEAD, Org, git};

const KIT: &str = "[[file]]\nsource = \"ci-kit\"\ndest = \"kit\"\nexclude = [\"notes/**\"]\ndelete_orphaned = true\n\n\
                   [[file]]\nsource = \"seed\"\ndest = \"seed\"\nreplace = false\n\n\
                   [[file]]\nsource = \"single.txt\"\ndest = \"single.txt\"\n\n\
                   [campaign]\nbranch = \"convoy/sync\"\n";

fn put(org: &Org, rel: &str, body: &str) {
    let p = org.path().join("files").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn org() -> Org {
    let org = Org::new();
    org.repo(
        "api",
        &[
            ("kit/README.md", "old kit\n"),
            ("kit/old.txt", "not in the kit any more\n"),
            ("kit/notes/mine.txt", "excluded, so kept\n"),
            ("outside.txt", "not under kit/\n"),
            ("seed/a.txt", "the repository's own\n"),
        ],
    );
    put(&org, "ci-kit/README.md", "kit\n");
    put(&org, "ci-kit/config/lint.toml", "level = 2\n");
    put(&org, "ci-kit/scripts/build.sh", "#!/bin/sh\necho build\n");
    put(&org, "ci-kit/notes/skip.txt", "excluded, so not copied\n");
    let script = org.path().join("files/ci-kit/scripts/build.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    put(&org, "seed/a.txt", "the kit's default\n");
    put(&org, "seed/b.txt", "created\n");
    put(&org, "single.txt", "one file, as before\n");
    org.manifest(&format!("{HEAD}{KIT}"));
    org
}

fn tree(org: &Org, branch: &str) -> Vec<(String, String)> {
    git(&org.bare("api"), &["ls-tree", "-r", branch])
        .lines()
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            (path.to_string(), meta[..6].to_string())
        })
        .collect()
}

#[test]
fn a_folder_syncs_with_excludes_orphans_create_only_and_modes() {
    let org = org();
    let plan = org.convoy(&["plan", "-q"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("kit/scripts/build.sh") && plan.stdout.contains("kit/old.txt"), "{plan:?}");
    let apply = org.convoy(&["apply", "-q"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    let files = tree(&org, "convoy/sync");
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "kit/README.md",
            "kit/config/lint.toml",
            "kit/notes/mine.txt",
            "kit/scripts/build.sh",
            "outside.txt",
            "seed/a.txt",
            "seed/b.txt",
            "single.txt"
        ],
        "kit/old.txt deleted (orphan), kit/notes/skip.txt not copied (excluded), kit/notes/mine.txt kept (excluded)"
    );
    let mode = |path: &str| files.iter().find(|(p, _)| p == path).map(|(_, m)| m.as_str());
    assert_eq!(mode("kit/scripts/build.sh"), Some("100755"), "the executable stays executable");
    assert_eq!(mode("kit/config/lint.toml"), Some("100644"));
    let show = |path: &str| org.show("api", "convoy/sync", path);
    assert_eq!(show("kit/README.md"), "kit\n", "an existing file is replaced");
    assert_eq!(show("kit/scripts/build.sh"), "#!/bin/sh\necho build\n");
    assert_eq!(show("kit/config/lint.toml"), "level = 2\n");
    assert_eq!(show("seed/a.txt"), "the repository's own\n", "replace = false leaves an existing file alone");
    assert_eq!(show("seed/b.txt"), "created\n", "replace = false still creates what is missing");
    assert_eq!(show("single.txt"), "one file, as before\n");

    // Converged: once the branch is merged, a new plan has nothing to do.
    git(&org.bare("api"), &["update-ref", "refs/heads/main", "refs/heads/convoy/sync"]);
    let again = org.convoy(&["plan", "-q"]);
    assert!(again.stdout.contains("1 repository: 0 changed, 1 unchanged, 0 failed"), "{again:?}");
}

#[test]
fn a_symbolic_link_in_a_synced_folder_is_refused_before_anything_runs() {
    let org = org();
    std::os::unix::fs::symlink("/etc/passwd", org.path().join("files/ci-kit/config/passwd")).unwrap();
    let out = org.convoy(&["plan", "-q"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("files/ci-kit/config/passwd is a symbolic link"), "{out:?}");
    assert!(out.stderr.contains("org.toml:"), "the error has the file, line and column: {out:?}");
}

#[test]
fn folder_keys_on_a_single_file_are_refused_where_they_are_written() {
    let org = org();
    org.manifest(&format!("{HEAD}[[file]]\nsource = \"single.txt\"\ndest = \"x.txt\"\nexclude = [\"*.md\"]\n"));
    let out = org.convoy(&["plan", "-q"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("`exclude` and `delete_orphaned` are for a folder `source`"), "{out:?}");
    assert!(out.stderr.contains("org.toml:12:12:"), "{out:?}");
}
