//! Reading `org.toml` and the checks that need nothing but the file system: every problem found
//! is collected (not just the first) and each names file, line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde_spanned::Spanned;

use super::{FileEntry, ForgeKind, Manifest, OrgManifest, Selector};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::paths::{NameKind, RepoPath, check_name, read_contained};

const REFERENCE: &str = concat!(
    "every key is in the manifest reference, ",
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/manifest.md (`convoy schema` gives editors the same)"
);

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "cannot read manifest {path}: {source}\n  help: check the path given with --manifest (or CONVOY_MANIFEST); without either, convoy finds the nearest org.toml at or above the current folder. `convoy init` writes a starter, `convoy demo` an example org"
    )]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Read and check `path`. The manifest must be a regular file of at most
/// [`MAX_INPUT_FILE`](crate::workspace::paths::MAX_INPUT_FILE) bytes of UTF-8 (a FIFO or
/// `/dev/zero` is refused, not read).
pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
    let read_err = |source| ManifestError::Read { path: path.display().to_string(), source };
    let bytes =
        crate::workspace::paths::read_bounded(path, crate::workspace::paths::MAX_INPUT_FILE).map_err(read_err)?;
    let source = String::from_utf8(bytes)
        .map_err(|e| read_err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}"))))?;
    load_str(path, source)
}

/// Check manifest text that claims to live at `path` (relative paths resolve beside it).
pub fn load_str(path: &Path, source: String) -> Result<Manifest, ManifestError> {
    let model: OrgManifest = toml::from_str(&source).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let diag = Diagnostic::at_span(path, &source, span, e.message().trim_end()).with_help(help_for(e.message()));
        ManifestError::Invalid(Diagnostics(vec![diag]))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let manifest = Manifest { path: path.to_path_buf(), dir, source, model };
    let problems = Checker::new(&manifest).run();
    if problems.is_empty() { Ok(manifest) } else { Err(ManifestError::Invalid(Diagnostics(problems))) }
}

fn help_for(message: &str) -> String {
    if let Some(near) = did_you_mean(message) {
        format!("did you mean `{near}`? {REFERENCE}")
    } else if message.starts_with("unknown field") {
        format!("remove the key or fix its spelling; {REFERENCE}")
    } else if message.starts_with("missing field") {
        format!("add the field; {REFERENCE}")
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        format!("change the value to the expected type; {REFERENCE}")
    } else if message.starts_with("unknown variant") {
        format!("use one of the listed values; {REFERENCE}")
    } else {
        "this is not valid TOML at this position; see https://toml.io".into()
    }
}

/// For serde's "unknown field `dets`, expected one of `source`, `dest`, ..." (and "unknown
/// variant"): the expected name closest to the unknown one, when it is close enough to be a
/// typo (Jaro-Winkler similarity of at least 0.8, the `strsim` crate, as clap uses for
/// subcommands).
fn did_you_mean(message: &str) -> Option<String> {
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    let mut quoted = message.split('`').skip(1).step_by(2);
    let unknown = quoted.next()?;
    quoted
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

struct Checker<'a> {
    m: &'a Manifest,
    problems: Vec<Diagnostic>,
    /// `[org] protected_branches` entries already reported as bad globs.
    bad_protected: BTreeSet<String>,
}

impl<'a> Checker<'a> {
    fn new(m: &'a Manifest) -> Self {
        Checker { m, problems: Vec::new(), bad_protected: BTreeSet::new() }
    }

    fn at(&mut self, span: Range<usize>, message: impl Into<String>, help: impl Into<String>) {
        self.problems.push(Diagnostic::at_span(&self.m.path, &self.m.source, span, message).with_help(help));
    }

    /// The span of the first occurrence of `needle` (for values serde could not give us a span for).
    fn find(&self, needle: &str) -> Range<usize> {
        self.m.source.find(needle).map_or(0..0, |i| i..i + needle.len())
    }

    fn run(mut self) -> Vec<Diagnostic> {
        let model = &self.m.model;
        if let Err(e) = check_name(NameKind::Owner, &model.org.name) {
            let span = self.find("name");
            self.at(
                span,
                format!("`org.name` must be a forge owner such as `acme`: {e}"),
                "set `name` under [org] to the organisation or user",
            );
        }
        if model.org.jobs == 0 {
            let span = self.find("jobs");
            self.at(span, "`org.jobs` must be at least 1", "use the number of repositories to work on at once, e.g. 8");
        }
        self.check_forge();
        self.check_selectors();
        self.check_repo_rules();
        self.check_templates();
        self.check_files();
        self.check_replaces();
        self.check_patches();
        self.check_scripts();
        self.check_campaign();
        self.check_waves();
        self.check_state();
        self.check_release();
        self.check_policy();
        self.problems
    }

    fn check_policy(&mut self) {
        let policy = self.m.model.policy.clone();
        let groups = self.m.model.groups.clone();
        self.check_selector_refs(&policy.exempt, &groups);
        let known = crate::policy::rules::ids();
        let mut globs: Vec<Spanned<String>> = policy.exempt_paths.clone();
        for (id, rule) in &policy.rules {
            let span = rule.span();
            if !known.contains(&id.as_str()) {
                self.at(span, format!("unknown policy rule `{id}`"), format!("known rules: {}", known.join(", ")));
                continue;
            }
            let allowed = crate::policy::config::options_of(id);
            for (option, at) in rule.get_ref().options_set() {
                if !allowed.contains(&option) {
                    let owner = known.iter().find(|r| crate::policy::config::options_of(r).contains(&option));
                    self.at(
                        at.unwrap_or_else(|| span.clone()),
                        format!("`{option}` is not an option of rule `{id}`"),
                        match owner {
                            Some(o) => format!("it belongs to `{o}`"),
                            None => "each rule's options are listed in docs/audit.md, section \"Workflow policy\""
                                .to_string(),
                        },
                    );
                }
            }
            self.check_selector_refs(&rule.get_ref().exempt, &groups);
            globs.extend(rule.get_ref().exempt_paths.iter().cloned());
            globs.extend(rule.get_ref().allow.iter().cloned());
        }
        for g in globs {
            if let Err(e) = super::selector::glob(g.get_ref()) {
                self.at(
                    g.span(),
                    format!("`{}` is not a valid glob: {e}", g.get_ref()),
                    "globs use `*`, `**`, `?` and `[...]`",
                );
            }
        }
    }

    fn check_forge(&mut self) {
        let forge = self.m.model.org.forge.clone();
        if *forge.kind.get_ref() == ForgeKind::Github {
            for (present, key) in [(forge.root.is_some(), "root"), (forge.clone_url.is_some(), "clone_url")] {
                if present {
                    let span = self.find(&format!("{key} ="));
                    self.at(
                        span,
                        format!("`{key}` is for `kind = \"local\"`"),
                        "remove it: GitHub reports each repository's clone URL",
                    );
                }
            }
            if let Some(api) = &forge.api_url
                && let Err(e) = crate::forge::github::api::Endpoints::from_api_url(api.get_ref())
            {
                self.at(
                    api.span(),
                    format!("invalid api_url: {e}"),
                    "use https://api.github.com or https://HOST/api/v3",
                );
            }
            if let Some(key) = &forge.private_key_path {
                if forge.app_id.is_none() {
                    self.at(key.span(), "`private_key_path` needs `app_id`", "add app_id = <your GitHub App's id>");
                }
                let path = self.m.resolve(key.get_ref());
                if !path.is_file() {
                    self.at(
                        key.span(),
                        format!("private key {} does not exist", path.display()),
                        "point private_key_path at the App's .pem file, or set CONVOY_GITHUB_APP_PRIVATE_KEY",
                    );
                }
            }
            if forge.write_concurrency == 0 {
                let span = self.find("write_concurrency");
                self.at(span, "`write_concurrency` must be at least 1", "1 sends writes one at a time, as GitHub asks");
            }
            if !(1..=100).contains(&forge.graphql_batch) {
                let span = self.find("graphql_batch");
                self.at(
                    span,
                    "`graphql_batch` must be between 1 and 100",
                    "1 updates each pull request with its own REST request; the default is 20",
                );
            }
            for (value, key) in [
                (forge.connect_timeout, "connect_timeout"),
                (forge.read_timeout, "read_timeout"),
                (forge.request_timeout, "request_timeout"),
            ] {
                if value == 0 {
                    let span = self.find(&format!("{key} ="));
                    self.at(span, format!("`{key}` must be at least 1 second"), "the defaults are 20, 60 and 120 s");
                }
            }
            if forge.writes_per_minute == 0 || forge.writes_per_hour == 0 {
                let span = self.find("writes_per_");
                self.at(
                    span,
                    "write pacing must allow at least one request",
                    "GitHub documents 80 per minute and 500 per hour; convoy defaults to 30 and 400",
                );
            }
        }
        if *forge.kind.get_ref() == ForgeKind::Local {
            if let Some(api) = &forge.api_url {
                self.at(api.span(), "`api_url` is for `kind = \"github\"`", "remove it, or switch the forge kind");
            }
            let Some(root) = &forge.root else {
                self.at(
                    forge.kind.span(),
                    "a local forge needs `root`",
                    "add root = \"PATH\" (a folder of <owner>/<name>.git bare repositories)",
                );
                return;
            };
            let path = self.m.resolve(root.get_ref());
            if !path.is_dir() {
                self.at(
                    root.span(),
                    format!("forge root `{}` is not a folder", path.display()),
                    "create it (a folder of <owner>/<name>.git bare repositories), or run `convoy demo` for a sample org",
                );
            }
            if let Some(url) = &forge.clone_url {
                let u = url.get_ref();
                if !(u.contains("{owner}") && u.contains("{name}")) {
                    self.at(
                        url.span(),
                        "`clone_url` must contain `{owner}` and `{name}`",
                        "e.g. git://127.0.0.1:9418/{owner}/{name}.git",
                    );
                }
            }
        }
    }

    fn parse_selector(&mut self, s: &Spanned<String>) -> Option<Selector> {
        let org = self.m.model.org.name.clone();
        match Selector::parse(s.get_ref(), &org) {
            Ok(sel) => {
                // convoy lists one owner's repositories: a name under another owner can never
                // match, which is a mistake a run would only report after listing the org.
                let full = match &sel {
                    Selector::Exact(name) => Some(name.as_str()),
                    Selector::Glob { pattern, .. } => Some(pattern.as_str()),
                    _ => None,
                };
                if let Some((owner, name)) = full.and_then(|f| f.split_once('/'))
                    && !owner.contains(['*', '?', '[', '{'])
                    && !owner.eq_ignore_ascii_case(&org)
                {
                    self.at(
                        s.span(),
                        format!("`{}` is under owner `{owner}`, but [org] name is `{org}`", s.get_ref()),
                        format!("convoy manages the repositories of `{org}` only: write `{org}/{name}` (or `{name}`)"),
                    );
                    return None;
                }
                Some(sel)
            }
            Err(e) => {
                self.at(
                    s.span(),
                    format!("invalid selector: {e}"),
                    "selectors are `*`, `owner/name`, a glob, `tag:T`, `topic:T` or `group:G`",
                );
                None
            }
        }
    }

    fn check_selector_refs(&mut self, list: &[Spanned<String>], groups: &BTreeMap<String, Vec<Spanned<String>>>) {
        for s in list {
            if let Some(Selector::Group(g)) = self.parse_selector(s)
                && !groups.contains_key(&g)
            {
                let known = groups.keys().cloned().collect::<Vec<_>>().join(", ");
                self.at(
                    s.span(),
                    format!("unknown group `{g}`"),
                    format!(
                        "declare it under [groups] (known groups: {})",
                        if known.is_empty() { "none" } else { &known }
                    ),
                );
            }
        }
    }

    fn check_selectors(&mut self) {
        let groups = self.m.model.groups.clone();
        for list in groups.values() {
            self.check_selector_refs(list, &groups);
        }
        // Refuse cyclic groups so matching never recurses forever.
        for name in cyclic_groups(&groups) {
            let span = self.find(&format!("{name} ="));
            self.at(
                span,
                format!("group `{name}` includes itself through `group:` selectors"),
                "break the cycle; a group may include other groups but not itself",
            );
        }
        for t in self.m.model.templates.clone() {
            self.check_selector_refs(&t.repos, &groups);
        }
        for f in self.m.model.files.clone() {
            self.check_selector_refs(&f.repos, &groups);
        }
        for r in self.m.model.replaces.clone() {
            self.check_selector_refs(&r.repos, &groups);
        }
        for p in self.m.model.patches.clone() {
            self.check_selector_refs(&p.repos, &groups);
        }
        for s in self.m.model.scripts.clone() {
            self.check_selector_refs(&s.repos, &groups);
        }
    }

    fn check_repo_rules(&mut self) {
        if self.m.model.repos.is_empty() {
            self.at(
                0..0,
                "no [[repo]] rules: convoy would manage nothing",
                "add e.g. [[repo]] name = \"acme/*\" to select every repository of the org",
            );
        }
        for rule in self.m.model.repos.clone() {
            let r = rule.get_ref();
            match (&r.name, &r.topic) {
                (Some(_), Some(_)) | (None, None) => {
                    self.at(
                        rule.span(),
                        "a [[repo]] rule needs exactly one of `name` or `topic`",
                        "split it into two rules, or add `name = \"acme/*\"`",
                    );
                }
                (Some(name), None) => {
                    if let Some(Selector::Tag(_) | Selector::Topic(_) | Selector::Group(_) | Selector::Is(_)) =
                        self.parse_selector(name)
                    {
                        self.at(
                            name.span(),
                            "`name` takes a repository name or glob",
                            "use `topic = \"...\"` for topics; tags are assigned by rules, not selected by them",
                        );
                    }
                }
                (None, Some(_)) => {}
            }
        }
    }

    fn check_dest(&mut self, dest: &Spanned<String>) -> Option<RepoPath> {
        match RepoPath::parse(dest.get_ref()) {
            Ok(p) => Some(p),
            Err(e) => {
                self.at(
                    dest.span(),
                    format!("invalid destination: {e}"),
                    "give a path relative to the repository root, such as .github/workflows/ci.yml",
                );
                None
            }
        }
    }

    /// A source path must stay inside its folder (`templates/` or `files/`): no component may
    /// be a symbolic link, its canonical path must be under the folder's, and it must be a
    /// regular file within the size limit ([`read_contained`], used again when the file is
    /// read). A source that is rendered (`text`) must be UTF-8.
    fn check_source(&mut self, source: &Spanned<String>, folder: &Path, folder_name: &str, text: bool) {
        let raw = source.get_ref();
        let rel = match RepoPath::parse(raw) {
            Ok(rel) => rel,
            Err(e) => {
                self.at(
                    source.span(),
                    format!("invalid source: {e}"),
                    format!("give a path relative to {folder_name}/"),
                );
                return;
            }
        };
        match read_contained(folder, folder_name, &rel) {
            Ok(bytes) => {
                if text && let Err(e) = std::str::from_utf8(&bytes) {
                    self.at(
                        source.span(),
                        format!("{folder_name}/{rel} is not UTF-8 text ({e}), so it cannot be rendered"),
                        "set render = false to copy the file byte for byte",
                    );
                }
            }
            Err(e) if e.ends_with("does not exist") => {
                self.at(source.span(), e, format!("create {} or fix the name", folder.join(rel.as_str()).display()))
            }
            Err(e) => self.at(
                source.span(),
                e,
                format!("sources must be regular files inside {folder_name}/; copy the file there instead"),
            ),
        }
    }

    fn check_templates(&mut self) {
        let dir = self.m.templates_dir();
        let mut dests: BTreeMap<String, Range<usize>> = BTreeMap::new();
        for t in self.m.model.templates.clone() {
            self.check_source(&t.source, &dir, "templates", true);
            if let Some(p) = self.check_dest(&t.dest)
                && t.repos.iter().any(|r| r.get_ref() == "*")
                && let Some(first) = dests.insert(p.to_string(), t.dest.span())
            {
                let (line, ..) = crate::diagnostic::line_col(&self.m.source, first.start);
                self.at(
                    t.dest.span(),
                    format!("`{p}` is already written by the template on line {line} for every repository"),
                    "give one of them narrower `repos` selectors",
                );
            }
        }
    }

    /// Each `[[replace]]` compiles (its globs and pattern), checked where they are written.
    fn check_replaces(&mut self) {
        for r in self.m.model.replaces.clone() {
            if r.files.is_empty() {
                self.at(r.pattern.span(), "a [[replace]] needs `files`", "add files = [\"**/*.md\"] (globs)");
            }
            if let Err(e) = crate::transform::replace::Compiled::new(&r) {
                let span = if e.starts_with("`files`") {
                    r.files.first().map(|f| f.span()).unwrap_or(r.pattern.span())
                } else {
                    r.pattern.span()
                };
                self.at(span, format!("invalid [[replace]]: {e}"), "see docs/manifest.md, section [[replace]]");
            }
        }
    }

    /// Each `[[patch]]` compiles (globs, format, ops and key paths), checked where written.
    fn check_patches(&mut self) {
        use crate::transform::patch::{Compiled, EntryError};
        for p in self.m.model.patches.clone() {
            let whole = p.files.first().map(|f| f.span()).unwrap_or_else(|| self.find("[[patch]]"));
            let (span, e) = match Compiled::new(&p) {
                Ok(_) => continue,
                Err(EntryError::Files(e)) => (whole, e),
                Err(EntryError::Format(e)) => (p.format.as_ref().map(|f| f.span()).unwrap_or(whole), e),
                Err(EntryError::Op(i, e)) => {
                    let op = &p.ops[i];
                    let o = op.get_ref();
                    let key = [&o.set, &o.remove, &o.append, &o.ensure_line, &o.remove_line];
                    let at = key.into_iter().flatten().next().map(|k| k.span());
                    (if e.starts_with("bad key path") { at.unwrap_or(op.span()) } else { op.span() }, e)
                }
            };
            self.at(span, format!("invalid [[patch]]: {e}"), "see docs/manifest.md, section [[patch]]");
        }
    }

    /// Each `[[script]]` has one command (`run` or `command`, not empty) and a valid `timeout`.
    fn check_scripts(&mut self) {
        for s in self.m.model.scripts.clone() {
            let entry = s.name.as_ref().map(|n| n.span()).unwrap_or_else(|| self.find("[[script]]"));
            match (&s.run, &s.command) {
                (Some(_), Some(c)) => self.at(
                    c.first().map(|c| c.span()).unwrap_or(entry),
                    "a [[script]] has `run` or `command`, not both",
                    "keep `run = \"...\"` (a shell command line) or `command = [\"program\", \"arg\"]`",
                ),
                (None, None) => self.at(
                    entry,
                    "a [[script]] needs `run` (a shell command line) or `command` (a program and its arguments)",
                    "add e.g. run = \"./scripts/fix.sh\"",
                ),
                (Some(r), None) if r.get_ref().trim().is_empty() => {
                    self.at(r.span(), "`run` is empty", "write the command line to run")
                }
                (None, Some(c)) if c.first().is_none_or(|p| p.get_ref().is_empty()) => {
                    self.at(entry, "`command` needs a program", "write e.g. command = [\"sh\", \"fix.sh\"]")
                }
                _ => {}
            }
            if let Some(t) = &s.timeout {
                match crate::manifest::parse_duration(t.get_ref()) {
                    Ok(0) => self.at(t.span(), "`timeout` must be at least one second", "write e.g. timeout = \"5m\""),
                    Ok(_) => {}
                    Err(e) => self.at(t.span(), format!("invalid `timeout`: {e}"), "write e.g. timeout = \"5m\""),
                }
            }
        }
    }

    fn check_files(&mut self) {
        let dir = self.m.files_dir();
        for f in self.m.model.files.clone() {
            let FileEntry { source, dest, delete, render, mode, .. } = &f;
            self.check_dest(dest);
            let folder = self.check_folder(&f, &dir);
            if !folder {
                let first = f.exclude.first().map(|g| g.span());
                if let Some(span) = first.or_else(|| f.delete_orphaned.then(|| self.find("delete_orphaned"))) {
                    self.at(
                        span,
                        "`exclude` and `delete_orphaned` are for a folder `source`",
                        "point `source` at a folder in files/, or remove them",
                    );
                }
            }
            if *delete && !f.replace {
                self.at(dest.span(), "`replace = false` makes no sense with `delete = true`", "remove `replace`");
            }
            match (source, delete) {
                (Some(_), false) if folder => {}
                (Some(s), false) => self.check_source(s, &dir, "files", *render),
                (None, false) => self.at(
                    dest.span(),
                    "a [[file]] needs `source` (or `delete = true`)",
                    "add source = \"NAME\" naming a file in files/",
                ),
                (Some(s), true) => self.at(
                    s.span(),
                    "`source` and `delete = true` exclude each other",
                    "a deleted file has no source; remove one of the two",
                ),
                (None, true) => {
                    if *render {
                        self.at(dest.span(), "`render` makes no sense with `delete = true`", "remove `render`");
                    }
                    if let Some(mode) = mode {
                        self.at(mode.span(), "`mode` makes no sense with `delete = true`", "remove `mode`");
                    }
                }
            }
        }
    }

    /// Whether `f`'s source is a folder (synced file by file); if so, whether it can be read
    /// (no links, inside files/) and its keys fit a folder. Problems are reported here.
    fn check_folder(&mut self, f: &FileEntry, dir: &Path) -> bool {
        let Some(source) = &f.source else { return false };
        let Ok(rel) = RepoPath::parse(source.get_ref()) else { return false };
        match crate::transform::files::source_folder(dir, &rel) {
            Ok(None) => return false,
            Ok(Some(_)) => {}
            Err(e) => self.at(
                source.span(),
                e,
                "a synced folder must hold regular files and folders only, inside files/".to_string(),
            ),
        }
        if f.render {
            self.at(
                source.span(),
                "`render` is for a single file, not a folder source",
                "remove `render`, or give one [[file]] per rendered file",
            );
        }
        if let Some(mode) = &f.mode {
            self.at(
                mode.span(),
                "`mode` is for a single file; a synced folder's files keep their source's executable bit",
                "remove `mode` and set the bit on the files in files/",
            );
        }
        if let Err(e) = crate::transform::files::exclude_set(&f.exclude) {
            let span = f.exclude.first().map(|g| g.span()).unwrap_or(source.span());
            self.at(span, format!("invalid [[file]]: {e}"), "see docs/manifest.md, section [[file]]");
        }
        true
    }

    fn check_gate(&mut self, gate: &crate::manifest::Gate) {
        if let Some(soak) = &gate.soak
            && let Err(e) = crate::manifest::parse_duration(soak.get_ref())
        {
            self.at(soak.span(), format!("invalid `soak`: {e}"), "write e.g. soak = \"24h\"");
        }
        if let Some(r) = &gate.max_failure_ratio
            && !(0.0..=1.0).contains(r.get_ref())
        {
            self.at(r.span(), "`max_failure_ratio` must be between 0 and 1", "e.g. max_failure_ratio = 0.2");
        }
    }

    fn check_waves(&mut self) {
        let rollout = self.m.model.rollout.clone();
        self.check_gate(&rollout.defaults());
        let groups = self.m.model.groups.clone();
        let waves = self.m.model.waves.clone();
        let mut names = BTreeSet::new();
        for (i, w) in waves.iter().enumerate() {
            let name = w.name.get_ref();
            if crate::workspace::paths::check_name(crate::workspace::paths::NameKind::Repo, name).is_err() {
                self.at(
                    w.name.span(),
                    format!("wave name `{name}` is not a plain name"),
                    "use letters, digits, `-`, `_`, `.`",
                );
            }
            if !names.insert(name.clone()) {
                self.at(w.name.span(), format!("two waves are named `{name}`"), "give each wave its own name");
            }
            match (w.rest, w.repos.is_empty()) {
                (true, false) => self.at(
                    w.name.span(),
                    format!("wave `{name}` has both `repos` and `rest = true`"),
                    "keep one of the two",
                ),
                (false, true) => self.at(
                    w.name.span(),
                    format!("wave `{name}` selects no repository"),
                    "add repos = [\"...\"] or rest = true",
                ),
                (true, true) if i + 1 != waves.len() => self.at(
                    w.name.span(),
                    format!("wave `{name}` takes the rest, so it must be the last wave"),
                    "move it to the end",
                ),
                _ => {}
            }
            self.check_selector_refs(&w.repos, &groups);
            self.check_gate(&w.gate());
        }
    }

    fn check_release(&mut self) {
        let release = self.m.model.release.clone();
        let mut tags: Vec<&Spanned<String>> = release.tag.iter().collect();
        let mut gates: Vec<&Spanned<crate::release::config::GateConfig>> = release.gate.iter().collect();
        for (repo, rule) in &release.repos {
            if repo
                .split_once('/')
                .is_none_or(|(o, n)| crate::targets::valid_repo_id(&crate::forge::RepoId::new(o, n)).is_err())
            {
                self.at(
                    rule.span(),
                    format!("`[release.repos.\"{}\"]`: not a repository `owner/name`", repo.escape_debug()),
                    "write e.g. [release.repos.\"acme/core\"]",
                );
            }
            tags.extend(rule.get_ref().tag.iter());
            gates.extend(rule.get_ref().gate.iter());
        }
        for tag in tags {
            let t = tag.get_ref();
            let sample = crate::release::config::tag_name(t, "core", "1.2.3");
            if !t.contains("{version}") {
                self.at(
                    tag.span(),
                    format!("tag template `{t}` has no `{{version}}`"),
                    "write e.g. \"{name}-v{version}\"",
                );
            } else if let Err(e) = crate::manifest::valid_branch_name(&sample) {
                self.at(
                    tag.span(),
                    format!("tag template `{t}` makes `{sample}`, not a valid tag name: {e}"),
                    "use letters, digits, `-`, `.`, `/`, `@`",
                );
            }
        }
        for gate in gates {
            if let Some((message, hint)) = gate.get_ref().problem() {
                self.at(gate.span(), message, hint);
            }
        }
        if let Some(t) = &release.merge_timeout
            && let Err(e) = super::parse_duration(t.get_ref())
        {
            self.at(t.span(), format!("`merge_timeout`: {e}"), "write e.g. \"30m\"");
        }
        if let Some(c) = &release.compensate
            && c.get_ref().trim().is_empty()
        {
            self.at(
                c.span(),
                "`compensate` is empty",
                "write e.g. \"cargo yank --version {version} {name}\" or remove it",
            );
        }
    }

    fn check_state(&mut self) {
        let state = self.m.model.state.clone();
        if let Some(branch) = &state.branch {
            if state.repo.is_none() {
                self.at(branch.span(), "`[state] branch` without `repo`", "add repo = \"owner/control-repo\"");
            }
            self.check_branch(branch);
        }
        if let Some(repo) = &state.repo {
            let valid = repo
                .get_ref()
                .split_once('/')
                .map(|(o, n)| crate::targets::valid_repo_id(&crate::forge::RepoId::new(o, n)).is_ok())
                .unwrap_or(false);
            if !valid {
                self.at(
                    repo.span(),
                    format!("`{}` is not a repository `owner/name`", repo.get_ref().escape_debug()),
                    "write e.g. repo = \"acme/convoy-control\"",
                );
            }
        }
    }

    fn check_campaign(&mut self) {
        let model = &self.m.model;
        let branches: Vec<Spanned<String>> = std::iter::once(model.campaign.branch.clone())
            .chain(model.policy.fix_branch.clone())
            .chain(model.align.branch.clone())
            .collect();
        for branch in branches {
            self.check_branch(&branch);
        }
    }

    /// Branch names are checked as `git check-ref-format --branch` does (through
    /// `gix::validate::reference::branch_name`), and none may be `[org] default_branch`: convoy
    /// force-updates its branches. The default branch each selected repository really has is
    /// checked once the forge has listed them ([`crate::targets::select`]).
    fn check_branch(&mut self, branch: &Spanned<String>) {
        let name = branch.get_ref();
        if let Err(e) = valid_branch_name(name) {
            self.at(
                branch.span(),
                format!("`{}` is not a valid branch name: {e}", name.escape_debug()),
                "use something like convoy/ci-baseline (git check-ref-format rules)",
            );
        } else if *name == self.m.model.org.default_branch {
            self.at(
                branch.span(),
                format!("`{name}` is the org's default branch (`[org] default_branch`)"),
                "convoy force-updates its campaign branch; name one of its own, such as convoy/sync",
            );
        } else if let Some(pattern) = self.protected_match(name) {
            self.at(
                branch.span(),
                format!("`{name}` matches the protected branch pattern `{pattern}` (`[org] protected_branches`)"),
                "convoy force-updates and deletes its campaign branch; name one of its own, such as convoy/sync",
            );
        }
    }

    /// The first `[org] protected_branches` glob `name` matches (`*` does not cross `/`). A
    /// pattern that is no glob is reported once, where it is written.
    fn protected_match(&mut self, name: &str) -> Option<String> {
        let patterns = self.m.model.org.protected_branches.clone();
        let mut found = None;
        for pattern in patterns {
            match globset::GlobBuilder::new(pattern.get_ref()).literal_separator(true).build() {
                Ok(glob) => {
                    if found.is_none() && glob.compile_matcher().is_match(name) {
                        found = Some(pattern.get_ref().clone());
                    }
                }
                Err(e) => {
                    if !self.bad_protected.contains(pattern.get_ref()) {
                        self.bad_protected.insert(pattern.get_ref().clone());
                        self.at(pattern.span(), format!("not a branch pattern: {e}"), "use globs such as release/*");
                    }
                }
            }
        }
        found
    }
}

/// A branch name git accepts (`git check-ref-format --branch`): `refs/heads/<name>` must be a
/// valid full reference name and not `refs/heads/HEAD`; a leading `-` is refused as git does.
pub fn valid_branch_name(name: &str) -> Result<(), String> {
    if name.starts_with('-') {
        return Err("it starts with `-`".into());
    }
    let full = format!("refs/heads/{name}");
    gix::validate::reference::branch_name(full.as_str().into()).map(|_| ()).map_err(|e| e.to_string())
}

/// Every group that reaches itself through `group:` selectors: the groups in a strongly
/// connected component of more than one group, or naming themselves (Kosaraju: two iterative
/// depth-first walks, linear in the size of `[groups]`, no recursion so depth cannot overflow
/// the stack). Unknown groups are ignored here (reported elsewhere).
fn cyclic_groups(groups: &BTreeMap<String, Vec<Spanned<String>>>) -> BTreeSet<String> {
    let names: Vec<&String> = groups.keys().collect();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            groups[*n]
                .iter()
                .filter_map(|s| s.get_ref().trim().strip_prefix("group:").and_then(|g| index.get(g).copied()))
                .collect()
        })
        .collect();
    let mut reverse: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (from, tos) in edges.iter().enumerate() {
        for &to in tos {
            reverse[to].push(from);
        }
    }
    // Pass 1: finishing order.
    let mut visited = vec![false; names.len()];
    let mut order = Vec::with_capacity(names.len());
    for start in 0..names.len() {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            if let Some(&to) = edges[node].get(next) {
                top.1 += 1;
                if !visited[to] {
                    visited[to] = true;
                    stack.push((to, 0));
                }
            } else {
                order.push(node);
                stack.pop();
            }
        }
    }
    // Pass 2: components on the reversed graph, latest finisher first.
    let mut component = vec![usize::MAX; names.len()];
    let mut sizes = Vec::new();
    for &start in order.iter().rev() {
        if component[start] != usize::MAX {
            continue;
        }
        let id = sizes.len();
        let mut size = 0;
        component[start] = id;
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            size += 1;
            for &from in &reverse[node] {
                if component[from] == usize::MAX {
                    component[from] = id;
                    stack.push(from);
                }
            }
        }
        sizes.push(size);
    }
    (0..names.len()).filter(|&i| sizes[component[i]] > 1 || edges[i].contains(&i)).map(|i| names[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn errors(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("forge")).unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/ci.yml.j2"), "x").unwrap();
        let path = dir.path().join("org.toml");
        match load_str(&path, text.to_string()) {
            Ok(_) => String::new(),
            Err(e) => e.to_string().replace(&dir.path().display().to_string(), "<dir>"),
        }
    }

    const HEAD: &str =
        "[org]\nname = \"acme\"\nforge = { kind = \"local\", root = \"forge\" }\n[[repo]]\nname = \"acme/*\"\n";

    #[test]
    fn minimal_manifest_loads() {
        assert_eq!(errors(HEAD), "");
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let e = errors(&format!("{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"x.yml\"\ndestination = 1\n"));
        assert!(e.starts_with("error: <dir>/org.toml:9:1: unknown field `destination`, expected one of"), "{e}");
    }

    #[test]
    fn semantic_errors_are_all_reported() {
        let e = errors(&format!(
            "{HEAD}[[template]]\nsource = \"nope.j2\"\ndest = \"../x\"\nrepos = [\"group:missing\"]\n"
        ));
        assert!(e.contains("org.toml:7:10: templates/nope.j2 does not exist"), "{e}");
        assert!(e.contains("org.toml:8:8: invalid destination: `../x` escapes the repository (`..`)"), "{e}");
        assert!(e.contains("org.toml:9:10: unknown group `missing`"), "{e}");
    }

    #[test]
    fn keys_a_deleted_file_cannot_use_are_refused_where_written() {
        let e =
            errors(&format!("{HEAD}[[file]]\ndest = \"old.sh\"\ndelete = true\nmode = \"100755\"\nrender = true\n"));
        assert!(e.contains("org.toml:9:8: `mode` makes no sense with `delete = true`"), "{e}");
        assert!(e.contains("org.toml:7:8: `render` makes no sense with `delete = true`"), "{e}");
    }

    #[test]
    fn cyclic_groups_are_refused() {
        let e = errors(&format!("{HEAD}[groups]\na = [\"group:b\"]\nb = [\"group:a\"]\n"));
        assert!(e.contains("group `a` includes itself"), "{e}");
    }

    #[test]
    fn group_cycle_check_is_linear() {
        // 24 groups each naming the next twice and a last one naming the first: the old
        // exponential walk took minutes on this.
        let mut text = format!("{HEAD}[groups]\n");
        for i in 0..24 {
            text.push_str(&format!("g{i} = [\"group:g{}\", \"group:g{}\", \"api\"]\n", i + 1, i + 1));
        }
        text.push_str("g24 = [\"web\"]\n");
        let start = std::time::Instant::now();
        assert_eq!(errors(&text), "");
        text = text.replace("g24 = [\"web\"]", "g24 = [\"group:g3\"]");
        let e = errors(&text);
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
        assert!(e.contains("group `g3` includes itself"), "{e}");
        assert!(e.contains("group `g24` includes itself"), "{e}");
        assert!(!e.contains("group `g2` includes itself"), "{e}");
        // A group on the cycle that the first walk reaches last is still named.
        let e = errors(&format!(
            "{HEAD}[groups]\nu = [\"group:w\", \"group:x\"]\nx = [\"group:w\"]\nw = [\"group:u\"]\ns = [\"group:s\"]\n"
        ));
        for g in ["u", "w", "x", "s"] {
            assert!(e.contains(&format!("group `{g}` includes itself")), "{g}: {e}");
        }
    }

    #[test]
    fn branch_names_follow_git_rules() {
        for bad in ["main", "a..b", "x.lock", "-x", "a b", "refs/heads/../x", "a/.b", "HEAD", "a@{1}"] {
            let e = errors(&format!("{HEAD}[campaign]\nbranch = \"{bad}\"\n"));
            assert!(e.contains("branch"), "{bad}: {e}");
        }
        assert_eq!(errors(&format!("{HEAD}[campaign]\nbranch = \"convoy/ci-1.2\"\n")), "");
        let e = errors(&format!("{HEAD}[policy]\nfix_branch = \"main\"\n"));
        assert!(e.contains("`main` is the org's default branch"), "{e}");
    }

    #[test]
    fn campaign_branches_may_not_match_a_protected_pattern() {
        // The defaults protect release branches and the usual long-lived names.
        let e = errors(&format!("{HEAD}[campaign]\nbranch = \"release/1.2\"\n"));
        assert!(e.contains("matches the protected branch pattern `release/*`"), "{e}");
        let e = errors(&format!("{HEAD}[align]\nbranch = \"develop\"\n"));
        assert!(e.contains("protected branch pattern `develop`"), "{e}");
        // `*` stays within one level, and a manifest's own list replaces the defaults.
        assert_eq!(errors(&format!("{HEAD}[campaign]\nbranch = \"convoy/release/1.2\"\n")), "");
        let own = HEAD.replace("name = \"acme\"\n", "name = \"acme\"\nprotected_branches = [\"stable/*\", \"[\"]\n");
        let e = errors(&format!("{own}[campaign]\nbranch = \"stable/v1\"\n"));
        assert!(e.contains("protected branch pattern `stable/*`"), "{e}");
        assert!(e.contains("not a branch pattern"), "a bad glob is reported where it is written: {e}");
        assert!(!errors(&format!("{own}[campaign]\nbranch = \"release/1.2\"\n")).contains("matches the protected"));
    }

    #[test]
    fn org_name_must_be_a_forge_name() {
        for bad in ["..", ".", "a/b", "a b"] {
            let e = errors(&HEAD.replace("name = \"acme\"\nforge", &format!("name = \"{bad}\"\nforge")));
            assert!(e.contains("`org.name` must be a forge owner"), "{bad}: {e}");
        }
    }

    #[test]
    fn deeply_nested_glob_is_an_error() {
        let deep = format!("{}x{}", "{a,".repeat(300), "}".repeat(300));
        let e = errors(&format!(
            "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"x.yml\"\nrepos = [\"acme/{deep}\"]\n"
        ));
        assert!(e.contains("nested 300 deep"), "{e}");
        let e = errors(&format!("{HEAD}[policy]\nexempt_paths = [\"{deep}\"]\n"));
        assert!(e.contains("nested 300 deep"), "{e}");
    }

    #[test]
    fn rendered_file_must_be_text_and_sources_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("forge")).unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/logo.png"), [0x89u8, 0x50, 0xff, 0xfe, 0]).unwrap();
        let path = dir.path().join("org.toml");
        let text = format!("{HEAD}[[file]]\nsource = \"logo.png\"\ndest = \"logo.png\"\nrender = true\n");
        let e = load_str(&path, text.clone()).unwrap_err().to_string();
        assert!(e.contains("files/logo.png is not UTF-8 text"), "{e}");
        assert!(load_str(&path, text.replace("render = true", "render = false")).is_ok());
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().unwrap();
            std::fs::write(outside.path().join("passwd"), "root").unwrap();
            std::os::unix::fs::symlink(outside.path(), dir.path().join("files/d")).unwrap();
            let text = format!("{HEAD}[[file]]\nsource = \"d/passwd\"\ndest = \"x\"\n");
            let e = load_str(&path, text).unwrap_err().to_string();
            assert!(e.contains("files/d/passwd goes through a symbolic link (files/d)"), "{e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn manifest_that_is_not_a_regular_file_is_refused() {
        let e = load(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("/dev/zero is not a regular file"), "{e}");
    }

    #[test]
    fn missing_read_says_what_to_do() {
        let e = load(&PathBuf::from("/nonexistent/org.toml")).unwrap_err().to_string();
        assert!(e.contains("help: check the path given with --manifest"), "{e}");
        assert!(e.contains("`convoy init` writes a starter"), "{e}");
    }
}
