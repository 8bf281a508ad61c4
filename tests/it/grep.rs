//! `convoy grep` through the real binary over the clone cache: lines as `git grep` prints them
//! with the repository first, globs by name or by path, `-l`, `-i`, `--json`, binary files
//! skipped, and exit 1 when nothing matches.

use crate::support::{HEAD, Org};

fn org() -> Org {
    let org = Org::new();
    org.repo(
        "api",
        &[
            ("src/lib.rs", "fn main() {}\r\nfn needle() {}\n"),
            ("src/gen/out.rs", "// needle (generated)\n"),
            ("docs/guide.md", "find the Needle\nand another needle\n"),
            ("logo.png", "needle\0binary"),
        ],
    );
    org.repo("web", &[("index.js", "const needle = 1;\n"), ("README.md", "nothing here\n")]);
    org.manifest(HEAD);
    org
}

#[test]
fn grep_prints_repo_path_line_and_text_and_skips_binary_files() {
    let org = org();
    let out = org.convoy(&["grep", "-q", "needle"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "acme/api:docs/guide.md:2:and another needle\n\
         acme/api:src/gen/out.rs:1:// needle (generated)\n\
         acme/api:src/lib.rs:2:fn needle() {}\n\
         acme/web:index.js:1:const needle = 1;\n"
    );
    let insensitive = org.convoy(&["grep", "--offline", "-i", "NEEDLE", "--glob", "*.md"]);
    assert_eq!(
        insensitive.stdout,
        "acme/api:docs/guide.md:1:find the Needle\nacme/api:docs/guide.md:2:and another needle\n"
    );
}

#[test]
fn globs_and_files_only() {
    let org = org();
    assert_eq!(org.convoy(&["fetch", "-q"]).code, 0);
    let rs = org.convoy(&["grep", "--offline", "-l", "needle", "--glob", "*.rs", "--glob", "!src/gen/**"]);
    assert_eq!(rs.stdout, "acme/api:src/lib.rs\n", "{rs:?}");
    let rooted = org.convoy(&["grep", "--offline", "-l", "needle", "--glob", "src/*.rs"]);
    assert_eq!(rooted.stdout, "acme/api:src/lib.rs\n", "`src/*.rs` stays in src/: {rooted:?}");
    let none = org.convoy(&["grep", "--offline", "haystack"]);
    assert_eq!((none.code, none.stdout.as_str()), (1, ""), "no match is exit 1, as git grep");
    let bad = org.convoy(&["grep", "--offline", "("]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn grep_json_lists_every_match() {
    let org = org();
    let out = org.convoy(&["--json", "grep", "-q", "needle", "--repo", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["command"], "grep");
    assert_eq!(doc["summary"]["matches"], 1);
    assert_eq!(
        doc["results"],
        serde_json::json!([{"repo": "acme/web", "path": "index.js", "line": 1, "text": "const needle = 1;"}])
    );
    let files = org.convoy(&["--json", "grep", "-q", "-l", "needle"]);
    let doc: serde_json::Value = serde_json::from_str(&files.stdout).unwrap();
    let paths: Vec<&str> = doc["results"].as_array().unwrap().iter().map(|m| m["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["docs/guide.md", "src/gen/out.rs", "src/lib.rs", "index.js"]);
}
