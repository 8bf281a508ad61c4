//! Every example in `README.md` and `docs/*.md` is tested.
//!
//! Conventions for the Markdown (also listed in `docs/README.md`):
//!
//! - A ` ```toml ` block with an `[org]` table is a whole manifest. It is written as `org.toml` to
//!   a temporary folder that holds copies of this project's `templates/` and `files/` (plus a
//!   `files/ci-kit/` folder for the folder-source example), and an empty local forge
//!   (`forge/acme`), and must load through [`convoy::manifest::load`], which
//!   runs the manifest's static validation (everything that needs no forge listing). A manifest
//!   for the GitHub forge is therefore checked offline: it must load without diagnostics.
//! - A ` ```toml ` block without `[org]` is a fragment. It is appended to a minimal valid head
//!   (the `[org]` of `support::HEAD`, with its inline local forge unless the fragment has its own
//!   `[org.forge]`, and `[[repo]] name = "acme/*"`) and must load the same way.
//! - A block (of any language) directly preceded by the line `<!-- not-a-manifest -->` (blank
//!   lines between are allowed) is a deliberately wrong or partial example and is skipped.
//! - A ` ```sh ` block directly preceded by `<!-- run-against-demo -->` is run against one fresh
//!   `convoy demo` folder, `convoy-demo` in the current folder, in the order the blocks appear
//!   (README first, then `docs/*.md` by name). Each command line (a trailing `\` continues it)
//!   runs with `sh -c`, with `convoy-demo` rewritten to the demo folder's path, a leading
//!   `convoy` rewritten to the binary under test, and the binary's folder first on `PATH`. Each
//!   must exit 0, or `N` when the line ends with the comment `# exit N`.
//!
//! Relative links between the pages, and their `#anchors`, must resolve too.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;

pub(crate) const NOT_A_MANIFEST: &str = "<!-- not-a-manifest -->";
const RUN_AGAINST_DEMO: &str = "<!-- run-against-demo -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, then docs/*.md by name, as paths relative to the repository root.
fn pages() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    let mut all = vec!["README.md".to_string()];
    all.extend(docs);
    all
}

#[derive(Debug)]
pub(crate) struct Block {
    page: String,
    /// 1-based line of the opening fence.
    line: usize,
    pub(crate) lang: String,
    /// The HTML comment on the last non-blank line before the fence, if any.
    pub(crate) marker: Option<String>,
    pub(crate) text: String,
}

impl Block {
    pub(crate) fn at(&self) -> String {
        format!("{}:{}", self.page, self.line)
    }
}

fn blocks_of(page: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    let mut last_non_blank: Option<&str> = None;
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("```") {
            let indent = line.len() - trimmed.len();
            let mut body = String::new();
            for (_, l) in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                body.push_str(l.get(indent..).unwrap_or(l.trim_start()));
                body.push('\n');
            }
            let marker = last_non_blank.map(str::trim).filter(|l| l.starts_with("<!--")).map(str::to_string);
            out.push(Block { page: page.to_string(), line: i + 1, lang: rest.trim().to_string(), marker, text: body });
            last_non_blank = None;
        } else if !trimmed.is_empty() {
            last_non_blank = Some(line);
        }
    }
    out
}

pub(crate) fn all_blocks() -> Vec<Block> {
    pages()
        .iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(root().join(p)).unwrap();
            blocks_of(p, &text)
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

pub(crate) fn has_table(toml: &str, header: &str) -> bool {
    toml.lines().any(|l| l.trim_start().starts_with(header))
}

/// The manifest text a ```toml block stands for: itself when it has `[org]`, else the block
/// appended to a minimal head.
pub(crate) fn manifest_text(block: &str) -> String {
    if has_table(block, "[org]") {
        return block.to_string();
    }
    let forge = if has_table(block, "[org.forge]") { "" } else { "forge = { kind = \"local\", root = \"forge\" }\n" };
    format!("[org]\nname = \"acme\"\njobs = 2\ncache_dir = \"cache\"\n{forge}\n[[repo]]\nname = \"acme/*\"\n\n{block}")
}

#[test]
fn toml_examples_load_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("templates"), &dir.path().join("templates"));
    copy_dir(&root().join("files"), &dir.path().join("files"));
    std::fs::create_dir_all(dir.path().join("forge").join("acme")).unwrap();
    // The folder source of the `[[file]]` folder example in docs/manifest.md.
    std::fs::create_dir_all(dir.path().join("files").join("ci-kit")).unwrap();
    std::fs::write(dir.path().join("files").join("ci-kit").join("lint.sh"), "#!/bin/sh\n").unwrap();
    let path = dir.path().join("org.toml");

    let (mut whole, mut fragments, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for b in all_blocks().into_iter().filter(|b| b.lang == "toml") {
        if b.marker.as_deref() == Some(NOT_A_MANIFEST) {
            skipped += 1;
            continue;
        }
        if has_table(&b.text, "[org]") {
            whole += 1;
        } else {
            fragments += 1;
        }
        let text = manifest_text(&b.text);
        std::fs::write(&path, &text).unwrap();
        if let Err(e) = convoy::manifest::load(&path) {
            failures.push(format!("{}: {e}\n--- as loaded:\n{text}", b.at()));
        }
    }
    assert!(failures.is_empty(), "{} of the TOML examples do not load:\n\n{}", failures.len(), failures.join("\n\n"));
    eprintln!("{whole} whole manifests and {fragments} fragments load; {skipped} blocks marked {NOT_A_MANIFEST}");
    assert!(whole >= 3, "the README's and the guide's manifests at least: {whole}");
    assert!(fragments >= 15, "the manifest reference's examples at least: {fragments}");
}

/// The lines of a shell block, with `\` continuations joined; blank and comment lines dropped.
fn command_lines(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let cmd = std::mem::take(&mut current);
        let t = cmd.trim();
        if !t.is_empty() && !t.starts_with('#') {
            out.push(t.to_string());
        }
    }
    out
}

/// The exit code a line documents with a trailing `# exit N`, else 0.
fn expected_code(line: &str) -> i32 {
    line.rsplit_once("# exit ").and_then(|(_, n)| n.trim().parse().ok()).unwrap_or(0)
}

#[test]
fn demo_snippets_run() {
    let bin = cargo_bin("convoy");
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("convoy-demo");
    let out = Command::new(&bin).args(["demo", "-q", "--dir"]).arg(&demo).output().unwrap();
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));

    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let quoted_bin = format!("'{}'", bin.display());
    let quoted_demo = format!("'{}'", demo.display());
    let mut ran = 0;
    let mut failures = Vec::new();
    for b in all_blocks().into_iter().filter(|b| b.marker.as_deref() == Some(RUN_AGAINST_DEMO)) {
        assert_eq!(b.lang, "sh", "{}: {RUN_AGAINST_DEMO} goes before a ```sh block", b.at());
        for line in command_lines(&b.text) {
            let mut cmd = line.replace("convoy-demo", &quoted_demo);
            if let Some(rest) = cmd.strip_prefix("convoy ") {
                cmd = format!("{quoted_bin} {rest}");
            }
            let out = Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .current_dir(tmp.path())
                .env("PATH", &path)
                .env_remove("CONVOY_MANIFEST")
                .env_remove("GITHUB_TOKEN")
                .env_remove("GH_TOKEN")
                .env_remove("CONVOY_GITHUB_APP_PRIVATE_KEY")
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            ran += 1;
            let want = expected_code(&line);
            if out.status.code() != Some(want) {
                failures.push(format!(
                    "{}: `{line}` exited {:?}, the docs say {want}\nstdout:\n{}\nstderr:\n{}",
                    b.at(),
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} snippet lines failed:\n\n{}", failures.len(), failures.join("\n\n"));
    eprintln!("{ran} snippet lines ran against the demo");
    assert!(ran >= 5, "the README walk's commands at least: {ran}");
}

#[test]
fn readme_keeps_the_two_commands_and_stays_short() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    for want in ["cargo run --release -- demo", "cargo test --workspace --all-targets --locked"] {
        assert!(lines.contains(&want), "README.md must keep the line `{want}`");
    }
    assert!(lines.len() <= 220, "README.md has {} lines; the reference belongs in docs/", lines.len());
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let base = slug(&line[hashes + 1..]);
            let n = seen.entry(base.clone()).or_insert(0usize);
            out.push(if *n == 0 { base } else { format!("{base}-{n}") });
            *n += 1;
        }
    }
    out
}

/// `[text](target)` links outside code, as (line, target).
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        let mut rest = line;
        while let Some(p) = rest.find("](") {
            let after = &rest[p + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((i + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn links_between_pages_resolve() {
    // Written on another branch; linked from here on purpose.
    let elsewhere = ["docs/setup.md"];
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(root().join(&page)).unwrap();
        let dir = Path::new(&page).parent().unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file_rel = if file.is_empty() { PathBuf::from(&page) } else { dir.join(file) };
            let file_rel = normalize(&file_rel);
            checked += 1;
            if elsewhere.contains(&file_rel.as_str()) {
                continue;
            }
            let full = root().join(&file_rel);
            if !full.exists() {
                failures.push(format!("{page}:{line}: `{target}`: {file_rel} does not exist"));
                continue;
            }
            if !anchor.is_empty() {
                let found = std::fs::read_to_string(&full).map(|t| anchors(&t).iter().any(|a| a == anchor));
                if !found.unwrap_or(false) {
                    failures.push(format!("{page}:{line}: `{target}`: no heading `#{anchor}` in {file_rel}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "broken links:\n{}", failures.join("\n"));
    assert!(checked >= 40, "{checked} links checked");
}

/// `docs/../bench/README.md` → `bench/README.md`.
fn normalize(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            c => parts.push(c.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}
