//! Hostile and broken input: symlinked sources, names from the forge, devices and FIFOs
//! given as files, leftovers of killed runs.

use crate::support::{Entry, HEAD, Org};

fn org() -> Org {
    let org = Org::new();
    org.repo("api", &[("README.md", "api\n")]);
    org.repo("web", &[("README.md", "web\n")]);
    org
}

#[cfg(unix)]
#[test]
fn file_sources_through_a_symlinked_folder_are_refused() {
    let org = org();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s3cret\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), org.path().join("files/d")).unwrap();
    org.manifest(&format!("{HEAD}[[file]]\nsource = \"d/secret\"\ndest = \"leak.txt\"\n"));
    for cmd in ["validate", "plan"] {
        let out = org.convoy(&[cmd, "-q"]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(
            out.stderr.contains("org.toml:10:10: files/d/secret goes through a symbolic link (files/d)"),
            "{out:?}"
        );
        assert!(!out.stdout.contains("s3cret"), "{out:?}");
    }
}

#[test]
fn invalid_names_from_the_forge_are_skipped_and_the_rest_go_on() {
    let org = org();
    org.repo("bad name", &[("README.md", "x\n")]);
    org.manifest(HEAD);
    let out = org.convoy(&["fetch", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("acme/bad name"), "the refused repository is reported: {out:?}");
    assert!(out.stdout.contains("not a valid repository name"), "{out:?}");
    assert!(out.stdout.contains("2 cloned"), "{out:?}");
    assert!(!org.path().join("cache/acme/bad name.git").exists());
}

#[test]
fn org_name_that_is_a_path_is_refused() {
    let org = org();
    org.manifest(&HEAD.replace("name = \"acme\"", "name = \"..\""));
    let out = org.convoy(&["fetch", "-q"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("`org.name` must be a forge owner such as `acme`: `..` is not a valid owner"),
        "{out:?}"
    );
    assert!(!org.path().join("cache").exists());
}

#[cfg(unix)]
#[test]
fn a_manifest_that_is_a_device_or_fifo_is_refused_at_once() {
    let org = org();
    let start = std::time::Instant::now();
    let out = org.convoy(&["validate", "-m", "/dev/zero"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("/dev/zero is not a regular file"), "{out:?}");
    let fifo = org.path().join("org.fifo");
    crate::support::git(org.path(), &["--version"]);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = org.convoy(&["validate", "-m", fifo.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("org.fifo is not a regular file"), "{out:?}");
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn deeply_nested_braces_in_a_repo_filter_are_an_error() {
    let org = org();
    org.manifest(HEAD);
    let deep = format!("acme/{}x{}", "{a,".repeat(400), "}".repeat(400));
    let out = org.convoy(&["plan", "-q", "--repo", &deep]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nested 400 deep; the limit is 8"), "{out:?}");
}

#[test]
fn fetch_recovers_from_the_leftovers_of_a_killed_run() {
    let org = org();
    org.manifest(HEAD);
    assert_eq!(org.convoy(&["fetch", "-q"]).code, 0);
    let entry = org.path().join("cache/acme/api.git");
    // What `kill -9` in the middle of a fetch leaves: ref and index locks, a temporary clone.
    std::fs::write(entry.join("refs/remotes/origin/main.lock"), "").unwrap();
    std::fs::write(entry.join("packed-refs.lock"), "").unwrap();
    std::fs::write(entry.join("index.lock"), "").unwrap();
    std::fs::create_dir_all(org.path().join("cache/acme/.api.clone-x1Y2z3/refs")).unwrap();
    org.commit("api", &[Entry::File("README.md", "api v2\n")], "bump");

    // The log line is a warning: `-q` keeps the log to errors unless CONVOY_LOG asks for more.
    let out = org.convoy_env(&["fetch", "-q", "--json"], &[("CONVOY_LOG", "warn")]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let api = v["results"].as_array().unwrap().iter().find(|r| r["repo"] == "acme/api").unwrap().clone();
    assert_eq!(api["status"], "updated", "{api}");
    let recovered: Vec<String> =
        api["recovered"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().replace("[ORG]", "")).collect();
    assert_eq!(
        recovered,
        [
            "/cache/acme/.api.clone-x1Y2z3",
            "/cache/acme/api.git/index.lock",
            "/cache/acme/api.git/packed-refs.lock",
            "/cache/acme/api.git/refs/remotes/origin/main.lock"
        ],
        "{out:?}"
    );
    assert!(out.stderr.contains("removed a leftover of an interrupted run"), "{out:?}");
    assert!(out.stderr.contains("main.lock"), "the file is named: {out:?}");
    assert!(!org.path().join("cache/acme/.api.clone-x1Y2z3").exists());
    let again = org.convoy(&["fetch", "-q"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(!again.stderr.contains("leftover"), "{again:?}");
}

/// A template that doubles a string in `{% set %}` writes nothing until the end, so neither fuel
/// nor the output bound stops it: the render process's memory cap does, for that repository's
/// render only. 40 doublings of 16 bytes would be 16 TiB; the cap (1 GiB) ends it within a
/// few hundred MiB.
#[cfg(unix)]
#[test]
fn a_template_that_doubles_a_string_fails_that_render_only() {
    let org = org();
    let mut body = String::from("{% if repo.name == \"api\" %}{% set s = \"0123456789abcdef\" %}\n");
    for _ in 0..40 {
        body.push_str("{% set s = s ~ s %}\n");
    }
    body.push_str("{{ s | length }}{% else %}fine {{ repo.name }}{% endif %}\n");
    org.template("grow.txt.j2", &body);
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"grow.txt.j2\"\ndest = \"grow.txt\"\n"));
    let out = org.convoy(&["plan", "-q"]);
    assert_eq!(out.code, 1, "{out:?}");
    let all = format!("{}{}", out.stdout, out.stderr);
    let api = all.lines().find(|l| l.contains("acme/api")).unwrap_or_default();
    assert!(api.contains("templates/grow.txt.j2"), "the failure names the template: {out:?}");
    assert!(api.contains("needed more than the 1024 MiB of memory a template may use"), "and says why: {out:?}");
    assert!(out.stdout.contains("+fine web"), "the other repository is planned: {out:?}");
}
