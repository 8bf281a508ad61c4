//! Getting started: `convoy init` (a starter org to edit), `convoy schema` (org.toml's JSON
//! Schema, for editors), `convoy completions SHELL` and `convoy man`. None of them reads a
//! manifest.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, Failure};
use crate::forge::RepoId;
use crate::forge::local::{LocalForge, RepoMeta};
use crate::manifest::discover::MANIFEST_NAME;
use crate::manifest::schema::{SCHEMA_DIRECTIVE, SCHEMA_FILE};
use crate::workspace::paths::{NameKind, check_name};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where the org's repositories live: `local` (a folder of bare git repositories, with one
    /// sample repository created so that everything runs offline) or `github` (a GitHub
    /// organisation or user; convoy reads a token from GITHUB_TOKEN or GH_TOKEN, or uses a
    /// GitHub App).
    #[arg(long, value_enum, default_value_t = InitForge::Local)]
    pub forge: InitForge,
    /// The owner on the forge: your GitHub organisation (or user) name; for the local forge, the
    /// folder under forge/ that holds the repositories.
    #[arg(long, value_name = "NAME", default_value = "my-org")]
    pub org: String,
    /// The folder to write org.toml, templates/ and files/ into (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite an existing org.toml and the starter templates and files of the same names
    /// (other files in templates/ and files/ are left alone).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitForge {
    /// A folder of bare repositories, `forge/<org>/<name>.git`, beside org.toml.
    Local,
    /// GitHub (or GitHub Enterprise Server, with `api_url`).
    Github,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command and subcommand (convoy.1, convoy-plan.1,
    /// convoy-rollout-advance.1, ...) into DIR (created if missing) instead of printing
    /// convoy.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema to FILE (replaced whole, or left as it was on an error) instead of
    /// printing it; `org.schema.json` beside org.toml is the file its `#:schema` line names.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `convoy schema [-o FILE]`: org.toml's JSON Schema, pretty-printed, on stdout or in FILE.
pub fn schema(args: &SchemaArgs) -> Result<bool, Failure> {
    let text = crate::manifest::schema::schema_json();
    match &args.output {
        None => write_stdout(text.as_bytes()),
        Some(path) => {
            crate::workspace::write::write_atomically(path, text.as_bytes())
                .map_err(|e| Failure::run(format!("cannot write {}: {e}", path.display())))?;
            if !super::QUIET.load(std::sync::atomic::Ordering::Relaxed) {
                eprintln!("wrote the schema of org.toml to {}", path.display());
            }
            Ok(true)
        }
    }
}

/// `convoy validate`'s note when an `org.schema.json` beside the manifest is not the schema this
/// binary writes (convoy was upgraded since `convoy init` or `convoy schema -o` wrote it), so
/// editors check against old rules. `None` when the file is absent, unreadable or current.
pub(super) fn stale_schema_note(manifest: &crate::manifest::Manifest) -> Option<String> {
    let path = manifest.dir.join(SCHEMA_FILE);
    let on_disk = crate::workspace::paths::read_bounded(&path, crate::workspace::paths::MAX_INPUT_FILE).ok()?;
    if on_disk == crate::manifest::schema::schema_json().as_bytes() {
        return None;
    }
    let shown = if manifest.dir == Path::new(".") { PathBuf::from(SCHEMA_FILE) } else { path };
    Some(format!(
        "note: {shown} is not the schema of this convoy version, so editors check org.toml against old rules\n  help: run `convoy schema -o {shown}` to refresh it",
        shown = shown.display()
    ))
}

/// `convoy completions SHELL`: the script on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<bool, Failure> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "convoy", &mut script);
    write_stdout(&script)
}

/// Write `bytes` to stdout; a reader that went away (`convoy man | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<bool, Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::run(format!("writing to stdout: {e}"))),
        _ => Ok(true),
    }
}

/// `convoy man [--dir DIR]`: roff on stdout, or a page per subcommand in DIR.
pub fn man(args: &ManArgs) -> Result<bool, Failure> {
    let cmd = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(|e| Failure::run(format!("rendering the man page: {e}")))?;
            write_stdout(&page)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Failure::run(format!("creating {}: {e}", dir.display())))?;
            clap_mangen::generate_to(cmd, dir)
                .map_err(|e| Failure::run(format!("writing man pages to {}: {e}", dir.display())))?;
            eprintln!("wrote the man pages to {}", dir.display());
        }
    }
    Ok(true)
}

/// The starter templates and files, copied from the shipped example org (`convoy demo`'s).
const STARTER_FILES: &[&str] = &[
    "templates/_macros.j2",
    "templates/rust-ci.yml.j2",
    "templates/node-ci.yml.j2",
    "files/editorconfig",
    "files/CODEOWNERS.j2",
    "files/dependabot.yml.j2",
];

/// The sample repository of a local starter org: a Rust crate with the `rust` topic, so every
/// selector of the starter manifest matches something and `convoy validate` passes.
const SAMPLE_REPO: &str = "example";

/// `convoy init`: write the starter org, then load it as any command would, so a starter that
/// does not pass the manifest's own checks is caught here rather than by the user.
pub fn init(args: &InitArgs) -> Result<bool, Failure> {
    check_name(NameKind::Owner, &args.org).map_err(|e| {
        Failure::usage(format!("--org {}: {e}\n  help: pass your GitHub organisation's (or user's) name", args.org))
    })?;
    let dir = &args.dir;
    // `--dir .` (the default) names files as `org.toml`, not `./org.toml`.
    let under = |rel: &str| if dir.as_path() == Path::new(".") { PathBuf::from(rel) } else { dir.join(rel) };
    let manifest_path = under(MANIFEST_NAME);
    let mut outputs: Vec<(PathBuf, String)> = vec![
        (manifest_path.clone(), starter_manifest(args.forge, &args.org)),
        (under(SCHEMA_FILE), crate::manifest::schema::schema_json()),
    ];
    for rel in STARTER_FILES {
        outputs.push((under(rel), embedded(rel)?.to_string()));
    }
    if !args.force {
        let existing: Vec<String> =
            outputs.iter().filter(|(p, _)| p.exists()).map(|(p, _)| p.display().to_string()).collect();
        if !existing.is_empty() {
            return Err(Failure::usage(format!(
                "refusing to overwrite {}\n  help: pass --force to overwrite them, or --dir DIR to start the org in another folder",
                existing.join(", ")
            )));
        }
    }
    for (path, text) in &outputs {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Failure::run(format!("creating {}: {e}", parent.display())))?;
        }
        std::fs::write(path, text).map_err(|e| Failure::run(format!("writing {}: {e}", path.display())))?;
    }
    let mut written: Vec<String> = outputs.iter().map(|(p, _)| p.display().to_string()).collect();
    // The clone cache (`cache_dir`) stays out of git: a `.gitignore` saying so, only when the
    // folder has none (an existing one is the user's and is not touched).
    let gitignore = under(".gitignore");
    if !gitignore.exists() {
        std::fs::write(&gitignore, "# convoy's clone cache and saved listing (cache_dir in org.toml)\n.convoy/\n")
            .map_err(|e| Failure::run(format!("writing {}: {e}", gitignore.display())))?;
        written.push(gitignore.display().to_string());
    }
    if args.forge == InitForge::Local {
        let forge = LocalForge::new(under("forge"), None);
        let id = RepoId::new(&args.org, SAMPLE_REPO);
        let bare = forge.root().join(&args.org).join(format!("{SAMPLE_REPO}.git"));
        if !bare.exists() {
            let cargo_toml = sample_cargo_toml();
            let files: &[(&str, &[u8])] = &[
                ("Cargo.toml", cargo_toml.as_bytes()),
                ("src/main.rs", b"fn main() {\n    println!(\"hello from convoy's sample repository\");\n}\n"),
                ("README.md", b"# example\n\nA sample repository created by `convoy init`.\n"),
            ];
            let meta = RepoMeta { topics: vec!["rust".into()], ..Default::default() };
            forge
                .create_repo(&id, "main", files, &meta)
                .map_err(|e| Failure::run(format!("creating the sample repository {}: {e}", bare.display())))?;
            written.push(bare.display().to_string());
        }
    }
    // The starter must pass the manifest's own checks; if it does not, that is convoy's bug.
    crate::manifest::load(&manifest_path)
        .map_err(|e| Failure::run(format!("the starter manifest does not load (a bug in convoy init): {e}")))?;
    let manifest = manifest_path.display().to_string();
    let next = match args.forge {
        InitForge::Local => format!(
            "Next: edit {manifest} (the comments say what to change), then\n  convoy -m {manifest} validate\n  convoy -m {manifest} plan\nWhen it looks right, point it at GitHub: `convoy init --forge github --org YOUR-ORG --dir ANOTHER-DIR` shows how."
        ),
        InitForge::Github => format!(
            "Next: edit {manifest} (the comments say what to change) and check it offline with\n  convoy -m {manifest} validate --offline\nthen set GITHUB_TOKEN (or configure a GitHub App, see the comments in {manifest}) and run\n  convoy -m {manifest} auth status\n  convoy -m {manifest} validate\n  convoy -m {manifest} plan"
        ),
    };
    let mut out = format!("Created a starter org for `{}` in {}:\n", args.org, dir.display());
    for w in &written {
        out.push_str(&format!("  {w}\n"));
    }
    out.push_str(&next);
    out.push('\n');
    print!("{out}");
    Ok(true)
}

fn embedded(rel: &str) -> Result<&'static str, Failure> {
    crate::demo::EMBEDDED
        .iter()
        .find(|(name, _)| *name == rel)
        .map(|(_, text)| *text)
        .ok_or_else(|| Failure::run(format!("{rel} is not embedded in this build (a bug in convoy init)")))
}

fn sample_cargo_toml() -> String {
    format!("[package]\nname = \"{SAMPLE_REPO}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n")
}

const LOCAL_FORGE: &str = r#"# Where the repositories live. This starter uses a local forge: a folder of bare git
# repositories, forge/<owner>/<name>.git, with one sample repository (forge/@ORG@/example.git),
# so you can try validate, plan and apply without a network. For GitHub, replace the line with
#   forge = { kind = "github" }
# and set GITHUB_TOKEN (see `convoy init --forge github` for the details).
forge = { kind = "local", root = "forge" }"#;

const GITHUB_FORGE: &str = r#"# Where the repositories live: GitHub. convoy reads a token from GITHUB_TOKEN (or GH_TOKEN):
# a fine-grained token with Contents, Pull requests and Workflows set to read and write on the
# org's repositories, or a classic token with the `repo` and `workflow` scopes.
# For an organisation-wide job a GitHub App is better (verified commits, tokens that expire):
# install it with the same permissions, leave GITHUB_TOKEN unset and write instead
#   forge = { kind = "github", app_id = 123456, private_key_path = "convoy-app.pem" }
# (or put the key's PEM text in CONVOY_GITHUB_APP_PRIVATE_KEY).
# GitHub Enterprise Server: add api_url = "https://HOST/api/v3".
# `convoy auth status` says whether the credentials suffice.
forge = { kind = "github" }"#;

/// The starter manifest: the shipped example (`org.toml`) cut down to what a first campaign
/// needs, with comments for a newcomer. `@ORG@` and `@FORGE@` are filled in.
const STARTER: &str = r#"@SCHEMA@
# convoy's org manifest: which repositories convoy manages and what it keeps in them.
# Written by `convoy init`; edit it. Reference: docs/manifest.md in convoy's repository.
# The line above points editors with TOML support (Taplo, VS Code's Even Better TOML) at
# org.schema.json for completion and checks as you type; `convoy schema -o org.schema.json`
# refreshes it after a convoy upgrade.
# Check it with `convoy validate`, preview the changes with `convoy plan`, and open the pull
# requests with `convoy apply`. convoy finds this file from any folder below it.

[org]
name = "@ORG@"                  # CHANGE: your GitHub organisation (or user)
default_branch = "main"          # used when the forge reports none
jobs = 4                         # repositories worked on at once (--jobs overrides)
cache_dir = ".convoy/cache"      # clone cache, relative to this file (keep it out of git)
@FORGE@

[vars]                           # visible to every template as vars.*
codeowners_team = "platform"     # CHANGE: the team that owns the repositories (files/CODEOWNERS.j2)
rust_toolchain = "stable"        # templates/rust-ci.yml.j2

# Which repositories convoy manages. Rules apply in order; tags and vars accumulate.
# Selectors: a name or glob ("@ORG@/api", "@ORG@/svc-*"), "topic:NAME", "tag:NAME", "group:NAME".
[[repo]]
name = "@ORG@/*"                # every repository of the org (archived ones are skipped)

@RUST_REPO@

# Node repositories: uncomment these two blocks once some repository has the `node` topic
# (a selector that matches nothing is an error in `convoy validate`).
# [[repo]]
# topic = "node"
# tags = ["node"]
#
# [[template]]
# source = "node-ci.yml.j2"
# dest = ".github/workflows/ci.yml"
# repos = ["tag:node"]

# Templates (templates/, minijinja) are rendered per repository; see the comments at the top
# of each template for the variables it uses.
@RUST_TEMPLATE@

# Files (files/) are copied byte for byte, or rendered like templates with render = true.
[[file]]
source = "editorconfig"
dest = ".editorconfig"

[[file]]
source = "CODEOWNERS.j2"
dest = ".github/CODEOWNERS"
render = true

[[file]]
source = "dependabot.yml.j2"
dest = ".github/dependabot.yml"
render = true

# The campaign: one branch and one pull request per repository.
[campaign]
branch = "convoy/org-baseline"   # CHANGE: name each campaign's branch after what it does
commit_message = "ci: adopt the org baseline"
title = "ci: adopt the org baseline in {{ repo.name }}"
body = """
convoy brings {{ repo.full_name }} in line with the {{ org.name }} org baseline.

Changed files:
{% for f in vars.changed_files %}
- `{{ f }}`
{% endfor %}
"""
labels = ["convoy"]

# Next steps, when the first campaign works: staged rollouts ([rollout] and [[wave]]), workflow
# policy (`convoy audit`), coordinated releases ([release]). The example org of `convoy demo`
# (convoy's own org.toml) shows each of them.
"#;

const RUST_REPO: &str = r#"[[repo]]
topic = "rust"                   # repositories with the forge topic `rust` ...
tags = ["rust"]                  # ... get the tag `rust`, which the CI template below selects"#;

const RUST_TEMPLATE: &str = r#"[[template]]
source = "rust-ci.yml.j2"        # templates/rust-ci.yml.j2
dest = ".github/workflows/ci.yml"
repos = ["tag:rust"]"#;

/// The starter manifest for `forge`. The local starter's sample repository has the `rust`
/// topic, so its Rust CI blocks are live. An org on GitHub may have no repository with that
/// topic, and a rule that matches nothing is an error, so there they start commented out, like
/// the Node ones: the GitHub starter validates against any org (and stays valid when cut down
/// to one repository).
fn starter_manifest(forge: InitForge, org: &str) -> String {
    let (forge_block, rust_repo, rust_template) = match forge {
        InitForge::Local => (LOCAL_FORGE, RUST_REPO.to_string(), RUST_TEMPLATE.to_string()),
        InitForge::Github => (
            GITHUB_FORGE,
            format!(
                "# Rust repositories: uncomment this block and the [[template]] below once some repository\n# has the `rust` topic (`gh repo edit OWNER/NAME --add-topic rust`; a selector that matches\n# nothing is an error in `convoy validate`).\n{}",
                commented(RUST_REPO)
            ),
            commented(RUST_TEMPLATE),
        ),
    };
    let text = STARTER
        .replace("@SCHEMA@", SCHEMA_DIRECTIVE)
        .replace("@FORGE@", forge_block)
        .replace("@RUST_REPO@", &rust_repo)
        .replace("@RUST_TEMPLATE@", &rust_template)
        .replace("@ORG@", org);
    align_comments(&text)
}

/// `text` with every line turned into a TOML comment.
fn commented(text: &str) -> String {
    text.lines().map(|l| format!("# {l}")).collect::<Vec<_>>().join("\n")
}

/// The column trailing comments start at in the starter.
const COMMENT_COLUMN: usize = 33;

/// Trailing comments back at [`COMMENT_COLUMN`] after the org's name was put in (a longer or
/// shorter name shifts them), or one space after a line too long for it.
fn align_comments(text: &str) -> String {
    #[allow(clippy::unwrap_used)] // a constant pattern
    static TRAILING: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"^([^#\s][^#]*?) {2,}(# .*)$").unwrap());
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        match TRAILING.captures(body) {
            Some(c) => out.push_str(&format!("{:<width$} {}{end}", &c[1], &c[2], width = COMMENT_COLUMN - 1)),
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The GitHub starter passes every check `org.toml` gets without the forge (the ones
    /// `convoy validate` runs before it lists the org's repositories).
    #[test]
    fn github_starter_passes_the_manifest_checks() {
        let dir = tempfile::tempdir().unwrap();
        for rel in STARTER_FILES {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, embedded(rel).ok().unwrap()).unwrap();
        }
        let text = starter_manifest(InitForge::Github, "acme-corp");
        let m = crate::manifest::load_str(&dir.path().join(MANIFEST_NAME), text).unwrap();
        assert_eq!(*m.forge().kind.get_ref(), crate::manifest::ForgeKind::Github);
        assert_eq!(m.model.org.name, "acme-corp");
    }

    /// The GitHub starter depends on no topic (an org may have no `rust` repository), and its
    /// trailing comments stay in one column whatever the org's name is.
    #[test]
    fn github_starter_selects_by_name_only_and_keeps_comments_aligned() {
        let text = starter_manifest(InitForge::Github, "a-rather-long-organisation-name");
        let model: toml::Table = toml::from_str(&text).unwrap();
        let rules = model["repo"].as_array().unwrap();
        assert_eq!(rules.len(), 1, "{text}");
        assert_eq!(rules[0]["name"].as_str(), Some("a-rather-long-organisation-name/*"));
        assert!(model.get("template").is_none(), "templates select by topic: {text}");
        assert!(text.contains("# [[template]]\n# source = \"rust-ci.yml.j2\""), "{text}");
        let local = starter_manifest(InitForge::Local, "acme");
        assert!(local.contains("\n[[template]]\nsource = \"rust-ci.yml.j2\""), "{local}");
        for text in [text, local] {
            assert!(!text.contains("\n\n\n"), "{text}");
            for line in text.lines().filter(|l| !l.starts_with('#') && l.contains("  # ")) {
                let column = line.find("# ").unwrap();
                assert!(column == COMMENT_COLUMN || line[..column].trim_end().len() >= COMMENT_COLUMN - 1, "{line:?}");
            }
        }
    }

    #[test]
    fn starter_starts_with_the_schema_line_and_has_no_placeholders() {
        for forge in [InitForge::Local, InitForge::Github] {
            let text = starter_manifest(forge, "acme");
            assert!(!text.contains("@ORG@") && !text.contains("@FORGE@") && !text.contains("@SCHEMA@"), "{text}");
            assert_eq!(text.lines().next(), Some("#:schema ./org.schema.json"));
        }
    }

    #[test]
    fn every_subcommand_has_help_for_every_option() {
        let cmd = Cli::command();
        for name in ["init", "schema", "completions", "man"] {
            let sub = cmd.find_subcommand(name).unwrap();
            assert!(sub.get_about().is_some(), "{name} has no about");
            for arg in sub.get_arguments().filter(|a| !a.is_global_set() && !a.is_hide_set()) {
                let id = arg.get_id();
                if id == "help" {
                    continue;
                }
                assert!(arg.get_help().is_some(), "{name} --{id} has no help");
            }
        }
    }
}
