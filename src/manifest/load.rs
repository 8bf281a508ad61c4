//! Reading `org.toml` and the checks that need nothing but the file system: every problem found
//! is collected (not just the first) and each names file, line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde_spanned::Spanned;

use super::{FileEntry, ForgeKind, Manifest, OrgManifest, Selector};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::paths::RepoPath;

const REFERENCE: &str = "the manifest reference is in README.md, section \"Manifest reference\"";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "cannot read manifest {path}: {source}\n  help: pass the manifest with --manifest PATH, or run `convoy demo` to create an example org"
    )]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Read and check `path`.
pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
    let source = std::fs::read_to_string(path)
        .map_err(|source| ManifestError::Read { path: path.display().to_string(), source })?;
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
    if message.starts_with("unknown field") {
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

struct Checker<'a> {
    m: &'a Manifest,
    problems: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn new(m: &'a Manifest) -> Self {
        Checker { m, problems: Vec::new() }
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
        if model.org.name.trim().is_empty() || model.org.name.contains('/') {
            let span = self.find("name");
            self.at(
                span,
                "`org.name` must be a forge owner such as `acme`",
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
        self.check_campaign();
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
                            None => "see the policy section of the README for each rule's options".to_string(),
                        },
                    );
                }
            }
            self.check_selector_refs(&rule.get_ref().exempt, &groups);
            globs.extend(rule.get_ref().exempt_paths.iter().cloned());
            globs.extend(rule.get_ref().allow.iter().cloned());
        }
        for g in globs {
            if let Err(e) = globset::Glob::new(g.get_ref()) {
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
        match Selector::parse(s.get_ref(), &self.m.model.org.name) {
            Ok(sel) => Some(sel),
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
        for name in groups.keys() {
            let mut seen = BTreeSet::new();
            if group_cycle(name, &groups, &mut seen) {
                let span = self.find(&format!("{name} ="));
                self.at(
                    span,
                    format!("group `{name}` includes itself through `group:` selectors"),
                    "break the cycle; a group may include other groups but not itself",
                );
            }
        }
        for t in self.m.model.templates.clone() {
            self.check_selector_refs(&t.repos, &groups);
        }
        for f in self.m.model.files.clone() {
            self.check_selector_refs(&f.repos, &groups);
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

    /// A source path must stay inside its folder (`templates/` or `files/`) and exist.
    fn check_source(&mut self, source: &Spanned<String>, folder: &Path, folder_name: &str) {
        let raw = source.get_ref();
        if let Err(e) = RepoPath::parse(raw) {
            self.at(source.span(), format!("invalid source: {e}"), format!("give a path relative to {folder_name}/"));
            return;
        }
        let path = folder.join(raw);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                self.at(
                    source.span(),
                    format!("{folder_name}/{raw} is a symbolic link"),
                    "sources must be regular files inside the folder; copy the file instead",
                );
            }
            Ok(_) => self.at(
                source.span(),
                format!("{folder_name}/{raw} is not a file"),
                format!("point `source` at a file inside {folder_name}/"),
            ),
            Err(_) => self.at(
                source.span(),
                format!("{folder_name}/{raw} does not exist"),
                format!("create {} or fix the name", path.display()),
            ),
        }
    }

    fn check_templates(&mut self) {
        let dir = self.m.templates_dir();
        let mut dests: BTreeMap<String, Range<usize>> = BTreeMap::new();
        for t in self.m.model.templates.clone() {
            self.check_source(&t.source, &dir, "templates");
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

    fn check_files(&mut self) {
        let dir = self.m.files_dir();
        for f in self.m.model.files.clone() {
            let FileEntry { source, dest, delete, render, .. } = &f;
            self.check_dest(dest);
            match (source, delete) {
                (Some(s), false) => self.check_source(s, &dir, "files"),
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
                }
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

    fn check_branch(&mut self, branch: &Spanned<String>) {
        let name = branch.get_ref();
        let bad = name.is_empty()
            || name.starts_with('/')
            || name.ends_with('/')
            || name.ends_with(".lock")
            || name.contains("..")
            || name.contains("//")
            || name.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
        if bad {
            self.at(
                branch.span(),
                format!("`{name}` is not a valid branch name"),
                "use something like convoy/ci-baseline",
            );
        }
    }
}

fn group_cycle(name: &str, groups: &BTreeMap<String, Vec<Spanned<String>>>, seen: &mut BTreeSet<String>) -> bool {
    if !seen.insert(name.to_string()) {
        return true;
    }
    let cyclic = groups.get(name).is_some_and(|list| {
        list.iter()
            .any(|s| s.get_ref().strip_prefix("group:").is_some_and(|g| group_cycle(g, groups, &mut seen.clone())))
    });
    seen.remove(name);
    cyclic
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
    fn cyclic_groups_are_refused() {
        let e = errors(&format!("{HEAD}[groups]\na = [\"group:b\"]\nb = [\"group:a\"]\n"));
        assert!(e.contains("group `a` includes itself"), "{e}");
    }

    #[test]
    fn missing_read_says_what_to_do() {
        let e = load(&PathBuf::from("/nonexistent/org.toml")).unwrap_err().to_string();
        assert!(e.contains("run `convoy demo`"), "{e}");
    }
}
