//! GitHub Actions across the org: every `uses:` of every workflow and composite action
//! ([`inventory`]), grouped by action with the refs in use ([`group`], [`report`]), and
//! `[align.actions]` ([`wanted_refs`], [`align_file`]): one version of an action everywhere,
//! optionally pinned to the commit that version names, with the version as a trailing comment
//! (`uses: actions/checkout@<sha> # v4.2.2`, GitHub's convention for pinned actions).
//!
//! Everything here is pure. Resolving versions to commits needs the forge: the caller asks for
//! [`wanted_refs`] first (through `policy::pins::resolve`, which looks for a tag, then a branch)
//! and passes the answers in as a [`PinMap`].
//!
//! Edits are made like `audit --fix` makes them: at the byte positions the workflow parser gave,
//! replacing the ref and the trailing comment of the line and nothing else, so quoting,
//! indentation, other comments and line endings stay as they were. An aligned file is parsed
//! again and must still have the same `uses:`, with exactly the planned values; otherwise it is
//! refused as a whole.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::config::ActionsAlign;
use crate::report::table::md_cell;
use crate::workflow::files::{SourceFile, classify};
use crate::workflow::uses::PinMap;
use crate::workflow::uses::{UsesRef, classify_uses, is_full_sha, split_uses};
use crate::workflow::{self, Located, Workflow};

/// The `schema_version` of the `convoy deps actions --json` document.
pub const ACTIONS_SCHEMA_VERSION: u32 = 1;

/// What a `uses:` ref looks like. Only the forge knows for sure what a ref names (a repository
/// may have a branch called `v1`, or a tag called `main`); this is read from the text alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// A full 40-hex commit SHA (what GitHub calls pinned).
    Sha,
    /// Looks like a version: `v4`, `v4.2`, `1.2.3`, `v2-beta`.
    Tag,
    /// Anything else: usually a branch (`main`, `releases/v1`), possibly an oddly named tag or
    /// a short SHA.
    BranchOrUnknown,
    /// No `@ref` at all (also every local `./`, `$/` and `docker://` use, which take none).
    Missing,
}

impl RefKind {
    /// `sha`, `tag`, `branch?`, `none`.
    pub fn label(self) -> &'static str {
        match self {
            RefKind::Sha => "sha",
            RefKind::Tag => "tag",
            RefKind::BranchOrUnknown => "branch?",
            RefKind::Missing => "none",
        }
    }
}

/// One `uses:` (a step's, or a job's reusable-workflow call) in one file of one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionUse {
    /// `owner/name` of the repository holding the file.
    pub repo: String,
    /// Repository-relative path of the workflow or `action.yml`.
    pub path: String,
    /// 1-based position of the `uses:` value (of its opening quote when quoted).
    pub line: usize,
    pub column: usize,
    /// `owner/repo[/path]` as written (compare it lowercase, as GitHub does); for local and
    /// `docker://` uses, the whole value.
    pub action: String,
    /// The ref after `@`; `None` when there is none (and for local and `docker://` uses).
    /// Local and container uses are told apart by `workflow::uses::classify_uses`.
    pub reference: Option<String>,
    pub kind: RefKind,
    /// For a SHA: the version its trailing comment names (`# v4.2.2` gives `v4.2.2`; Renovate's
    /// `# tag=v4.2.2` too).
    pub version_comment: Option<String>,
    /// A local (`./path`, or same-repository `$/path`) action or reusable workflow, or a
    /// `docker://` image.
    pub local: bool,
}

impl ActionUse {
    /// The action lowercased, the key of [`group`].
    pub fn action_key(&self) -> String {
        self.action.to_ascii_lowercase()
    }
    /// The repository the action lives in (`owner/name`, lowercase), if it names one.
    pub fn action_repo(&self) -> Option<String> {
        if self.local { None } else { action_repo(&self.action) }
    }
}

/// Whether `r` reads as a version: an optional `v`, dot-separated numbers, and an optional
/// `-suffix`/`+build` (`v1`, `v1.2`, `1.2.3`, `v2-beta`, `v1.0.0-rc.1`).
pub fn looks_like_version(r: &str) -> bool {
    let v = r.strip_prefix(['v', 'V']).unwrap_or(r);
    let (core, suffix) = match v.find(['-', '+']) {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    !core.is_empty()
        && core.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && suffix.is_none_or(|s| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
        })
}

/// Classify a ref by its text (see [`RefKind`]).
pub fn ref_kind(reference: Option<&str>) -> RefKind {
    match reference {
        None | Some("") => RefKind::Missing,
        Some(r) if is_full_sha(r) => RefKind::Sha,
        Some(r) if looks_like_version(r) => RefKind::Tag,
        Some(_) => RefKind::BranchOrUnknown,
    }
}

/// `owner/repo[/path]` → `owner/repo`, lowercase (as `policy::fix::pin_key` keys a [`PinMap`]).
fn action_repo(action: &str) -> Option<String> {
    let mut parts = action.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    if owner.is_empty() || name.is_empty() || owner == "." || owner == ".." {
        return None;
    }
    Some(format!("{owner}/{name}").to_ascii_lowercase())
}

/// Every `uses:` of a parsed file (steps, composite-action steps and reusable-workflow calls),
/// in file order, each once (anchors and aliases expand to the same node).
fn all_uses(wf: &Workflow) -> Vec<&Located<String>> {
    let mut out: Vec<&Located<String>> =
        wf.steps().filter_map(|s| s.uses.as_ref()).chain(wf.jobs.iter().filter_map(|j| j.uses.as_ref())).collect();
    out.sort_by_key(|u| u.pos.offset);
    out.dedup_by_key(|u| u.pos.offset);
    out
}

/// A trailing comment found after a `uses:` value.
struct Comment<'s> {
    /// Index of `#` in the tail.
    hash: usize,
    /// The version its first word names, if it names one.
    version: Option<&'s str>,
    /// The comment after that version (the whole comment when it names none), trimmed at the
    /// start.
    rest: &'s str,
}

/// The text after a `uses:` value on its line.
struct Tail<'s> {
    /// Byte range in the source: from after the value (and its closing quote) to the end of the
    /// line (before `\r\n`), or to the next `uses:` when another one follows on the line.
    start: usize,
    end: usize,
    text: &'s str,
    comment: Option<Comment<'s>>,
    /// Another `uses:` follows on the same line (flow style): the line's comment is not ours.
    shared: bool,
}

/// The value of a `uses:` as it sits in the source: where its text starts, and its tail.
struct Spot<'s> {
    /// Byte offset of the value's first character (after an opening quote).
    start: usize,
    tail: Tail<'s>,
}

/// Locate `uses` in `source` (parsed as `wf`). `next` is the offset of the next `uses:` value in
/// the file, if any. `None` when the value is not written as one plain run of text (escaped,
/// folded across lines, a block scalar). The trailing comment is found by the parser's scalar
/// spans ([`Workflow::comment_after`]), the one rule `audit --fix` uses too.
fn locate<'s>(source: &'s str, wf: &Workflow, uses: &Located<String>, next: Option<usize>) -> Option<Spot<'s>> {
    let offset = uses.pos.offset;
    let quote = source.get(offset..)?.chars().next().filter(|c| matches!(c, '"' | '\''));
    let start = offset + quote.map_or(0, char::len_utf8);
    if !source.get(start..)?.starts_with(uses.value.as_str()) {
        return None;
    }
    let mut after = start + uses.value.len();
    if let Some(q) = quote {
        if !source[after..].starts_with(q) {
            return None;
        }
        after += q.len_utf8();
    }
    let newline = source[after..].find('\n').map_or(source.len(), |i| after + i);
    let line_end = if source[..newline].ends_with('\r') { newline - 1 } else { newline };
    if source[after..line_end].contains('\r') {
        return None;
    }
    let (end, shared) = match next {
        Some(n) if n >= after && n < line_end => (n, true),
        _ => (line_end, false),
    };
    let text = &source[after..end];
    let comment = if shared {
        None
    } else {
        wf.comment_after(source, after).filter(|&hash| hash < end).map(|hash| parse_comment(text, hash - after))
    };
    Some(Spot { start, tail: Tail { start: after, end, text, comment, shared } })
}

/// The first word of a comment as a version (`v4.2.2`, or Renovate's `tag=v4.2.2`).
fn version_word(word: &str) -> Option<&str> {
    let v = word.strip_prefix("tag=").unwrap_or(word);
    looks_like_version(v).then_some(v)
}

fn parse_comment(tail: &str, hash: usize) -> Comment<'_> {
    let body = tail[hash + 1..].trim_start();
    let word_end = body.find(char::is_whitespace).unwrap_or(body.len());
    match version_word(&body[..word_end]) {
        Some(v) => Comment { hash, version: Some(v), rest: body[word_end..].trim_start() },
        None => Comment { hash, version: None, rest: body },
    }
}

/// A trailing comment rebuilt: `prefix` (the line's text before `#`, padding included), then
/// `# version rest`. Without version or rest, the comment goes, with its padding. A convoy
/// directive (`convoy: ignore[...]`) stays a comment of its own, where the audit looks for it.
fn comment_text(prefix: &str, version: Option<&str>, rest: &str) -> String {
    let rest = if rest.starts_with("convoy:") { format!("# {rest}") } else { rest.to_string() };
    match version {
        Some(v) if rest.is_empty() => format!("{prefix}# {v}"),
        Some(v) => format!("{prefix}# {v} {rest}"),
        None if rest.is_empty() => prefix.trim_end().to_string(),
        None if rest.starts_with('#') => format!("{prefix}{rest}"),
        None => format!("{prefix}# {rest}"),
    }
}

/// Every `uses:` in `files` of `repo`. Files that are neither workflows nor actions (see
/// `workflow::files::classify`), are not UTF-8, or do not parse are skipped: the audit reports
/// those.
pub fn inventory(repo: &str, files: &[SourceFile]) -> Vec<ActionUse> {
    let mut out = Vec::new();
    for file in files {
        let Some(is_action) = classify(&file.path) else { continue };
        let Ok(source) = std::str::from_utf8(&file.bytes) else { continue };
        let Ok(wf) = workflow::parse(source, is_action) else { continue };
        let uses = all_uses(&wf);
        for (i, u) in uses.iter().enumerate() {
            let value = u.value.trim();
            let (local, action, reference) = match classify_uses(value) {
                UsesRef::Local(v) | UsesRef::Docker(v) => (true, v, None),
                UsesRef::Remote { action, reference } => (false, action, reference.filter(|r| !r.is_empty())),
            };
            let kind = ref_kind(reference);
            let version_comment = if kind == RefKind::Sha {
                let next = uses.get(i + 1).map(|n| n.pos.offset);
                locate(source, &wf, u, next).and_then(|s| s.tail.comment).and_then(|c| c.version).map(str::to_string)
            } else {
                None
            };
            out.push(ActionUse {
                repo: repo.to_string(),
                path: file.path.clone(),
                line: u.pos.line,
                column: u.pos.column,
                action: action.to_string(),
                reference: reference.map(str::to_string),
                kind,
                version_comment,
                local,
            });
        }
    }
    out
}

/// One ref of one action, across the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefUsage {
    pub reference: Option<String>,
    pub kind: RefKind,
    /// The versions the trailing comments of this SHA name (distinct, sorted).
    pub version_comments: Vec<String>,
    /// How many `uses:` name it.
    pub count: usize,
    /// The repositories they are in (distinct, sorted).
    pub repos: Vec<String>,
}

/// One action across the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSummary {
    /// Lowercase.
    pub action: String,
    pub local: bool,
    /// How many `uses:` name it, whatever the ref.
    pub count: usize,
    /// The repositories using it (distinct, sorted).
    pub repos: Vec<String>,
    /// Most used first, then by ref.
    pub refs: Vec<RefUsage>,
}

/// The uses grouped per action (lowercased), with the refs in use. Sorted by action, local
/// (`./`, `docker://`) ones last.
pub fn group(uses: &[ActionUse]) -> Vec<ActionSummary> {
    type Refs<'a> = BTreeMap<(Option<&'a str>, RefKind), (usize, BTreeSet<&'a str>, BTreeSet<&'a str>)>;
    let mut by_action: BTreeMap<(bool, String), Refs<'_>> = BTreeMap::new();
    for u in uses {
        let entry = by_action.entry((u.local, u.action_key())).or_default();
        let (count, repos, comments) = entry.entry((u.reference.as_deref(), u.kind)).or_default();
        *count += 1;
        repos.insert(u.repo.as_str());
        comments.extend(u.version_comment.as_deref());
    }
    by_action
        .into_iter()
        .map(|((local, action), refs)| {
            let mut all_repos = BTreeSet::new();
            let mut refs: Vec<RefUsage> = refs
                .into_iter()
                .map(|((reference, kind), (count, repos, comments))| {
                    all_repos.extend(repos.iter().copied());
                    RefUsage {
                        reference: reference.map(str::to_string),
                        kind,
                        version_comments: comments.into_iter().map(str::to_string).collect(),
                        count,
                        repos: repos.into_iter().map(str::to_string).collect(),
                    }
                })
                .collect();
            refs.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reference.cmp(&b.reference)));
            ActionSummary {
                action,
                local,
                count: refs.iter().map(|r| r.count).sum(),
                repos: all_repos.into_iter().map(str::to_string).collect(),
                refs,
            }
        })
        .collect()
}

/// The `convoy deps actions --json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionsReport {
    pub schema_version: u32,
    /// Per action, as [`group`] gives them.
    pub actions: Vec<ActionSummary>,
    /// Every use, with its position.
    pub uses: Vec<ActionUse>,
}

/// The report over every use of the org (uses sorted by repository, path and position).
pub fn report(mut uses: Vec<ActionUse>) -> ActionsReport {
    uses.sort_by(|a, b| (&a.repo, &a.path, a.line, a.column).cmp(&(&b.repo, &b.path, b.line, b.column)));
    ActionsReport { schema_version: ACTIONS_SCHEMA_VERSION, actions: group(&uses), uses }
}

/// `v4`, `<sha> # v4.2.2`, `(none)`.
fn ref_cell(r: &RefUsage) -> String {
    let mut s = r.reference.clone().unwrap_or_else(|| "(none)".into());
    if !r.version_comments.is_empty() {
        s.push_str(" # ");
        s.push_str(&r.version_comments.join(", "));
    }
    s
}

fn kind_cell(a: &ActionSummary, r: &RefUsage) -> &'static str {
    if a.local { "local" } else { r.kind.label() }
}

/// At most `max` repositories, then how many more.
fn repos_cell(repos: &[String], max: usize) -> String {
    let mut s = repos.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if repos.len() > max {
        s.push_str(&format!(" (+{} more)", repos.len() - max));
    }
    s
}

fn totals_line(actions: &[ActionSummary]) -> String {
    let uses: usize = actions.iter().map(|a| a.count).sum();
    let repos: BTreeSet<&str> = actions.iter().flat_map(|a| a.repos.iter().map(String::as_str)).collect();
    let remote = actions.iter().filter(|a| !a.local).count();
    format!("{remote} action(s), {} local, {uses} use(s) in {} repositories", actions.len() - remote, repos.len())
}

/// A table for people: one row per ref of each action (the action named on its first row).
pub fn render_text(actions: &[ActionSummary]) -> String {
    if actions.is_empty() {
        return "no `uses:` found\n".into();
    }
    let mut rows = Vec::new();
    for a in actions {
        for (i, r) in a.refs.iter().enumerate() {
            rows.push(vec![
                if i == 0 { a.action.clone() } else { String::new() },
                ref_cell(r),
                kind_cell(a, r).to_string(),
                r.count.to_string(),
                repos_cell(&r.repos, 3),
            ]);
        }
    }
    let mut out = crate::report::table::text(&["ACTION", "REF", "KIND", "USES", "REPOSITORIES"], &rows);
    out.push_str(&totals_line(actions));
    out.push('\n');
    out
}

/// A Markdown table (a PR body, a step summary): one row per ref of each action.
pub fn render_markdown(actions: &[ActionSummary]) -> String {
    if actions.is_empty() {
        return "No `uses:` found.\n".into();
    }
    let mut out = format!("{}\n\n", totals_line(actions));
    out.push_str("| Action | Ref | Kind | Uses | Repositories |\n|---|---|---|---:|---|\n");
    for a in actions {
        for (i, r) in a.refs.iter().enumerate() {
            let action = if i == 0 { md_cell(&a.action, 200) } else { String::new() };
            out.push_str(&format!(
                "| {action} | {} | {} | {} | {} |\n",
                md_cell(&ref_cell(r), 200),
                kind_cell(a, r),
                r.count,
                md_cell(&repos_cell(&r.repos, 10), 1000),
            ));
        }
    }
    out
}

/// The configured `(key, version)` for `action` (lowercase): the longest configured action
/// that is `action` itself or a leading path of it (`actions/checkout` covers
/// `actions/checkout/sub`). Keys of fewer than two segments name no action and match nothing.
fn configured<'c>(config: &'c ActionsAlign, action: &str) -> Option<(String, &'c str)> {
    config
        .versions
        .iter()
        .filter_map(|(key, version)| {
            let key = key.trim().trim_end_matches('/').to_ascii_lowercase();
            action_repo(&key)?;
            let covers = action == key || action.strip_prefix(key.as_str()).is_some_and(|r| r.starts_with('/'));
            covers.then(|| (key, version.get_ref().trim()))
        })
        .max_by_key(|(key, _)| key.len())
}

/// The `(action repository, configured version)` pairs to resolve through the forge: one per
/// configured action that `uses` name (action repository as `policy::fix::pin_key` gives it:
/// `owner/name`, lowercase). Resolved with `pin = false` too: a version that exists on no
/// forge is an error either way, never written into a workflow.
pub fn wanted_refs(config: &ActionsAlign, uses: &[ActionUse]) -> BTreeSet<(String, String)> {
    uses.iter()
        .filter(|u| !u.local)
        .filter_map(|u| {
            let (_, version) = configured(config, &u.action_key())?;
            if version.is_empty() {
                return None;
            }
            Some((u.action_repo()?, version.to_string()))
        })
        .collect()
}

/// `config` without the versions in `missing` (`(action repository, version)` pairs the forge
/// could not resolve): their uses are left as they are, and the run reports each once.
pub fn without(config: &ActionsAlign, missing: &BTreeSet<(String, String)>) -> ActionsAlign {
    let mut out = config.clone();
    out.versions.retain(|key, version| {
        let key = key.trim().trim_end_matches('/').to_ascii_lowercase();
        action_repo(&key).is_none_or(|repo| !missing.contains(&(repo, version.get_ref().trim().to_string())))
    });
    out
}

/// One workflow or action file after alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlignedFile {
    /// The new text (the old one when nothing changed).
    pub text: String,
    /// `path:line: action old → new`, one per changed `uses:`.
    pub changes: Vec<String>,
    /// `path:line: action: why`, one per `uses:` of a configured action left as it was.
    pub skipped: Vec<String>,
}

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// Whether version `new` is older than `old` (`v3.6.0` than `v4`): compared on the components
/// both write, so `v4.1.0` is not older than `v4`. Refs that are not plain versions
/// (`main`, `v2-beta`) are never older.
fn is_older(new: &str, old: &str) -> bool {
    let parts = |v: &str| -> Option<Vec<u64>> {
        v.strip_prefix(['v', 'V']).unwrap_or(v).split('.').map(|p| p.parse::<u64>().ok()).collect()
    };
    let (Some(new), Some(old)) = (parts(new), parts(old)) else { return false };
    new.iter().zip(&old).find(|(a, b)| a != b).is_some_and(|(a, b)| a < b)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Bring every `uses:` of a configured action in `source` (the file at `path`) to its
/// configured version: `action@<sha> # <version>` with `pin` (the SHA from `pins`), else
/// `action@<version>`. A use that is already so is left alone; a pinned SHA whose comment names
/// another version, or that is not the commit the version resolves to now, is rewritten.
///
/// Only the ref and the line's trailing comment change. A comment that does not start with a
/// version is kept after the new version (`# v4.2.2 old text`); without `pin`, a version
/// comment that no longer describes the ref is dropped. Local (`./`) and `docker://` uses,
/// expressions, and unconfigured actions are never touched.
///
/// With `pin`, a use whose configured version the forge could not resolve is skipped with that
/// reason, even one that already looks right (its commit cannot be checked).
///
/// Errors: `path` is not a workflow or action file, the file does not parse, or the aligned
/// file does not parse or no longer has the same `uses:` with the planned values (then nothing
/// of the file should be written).
pub fn align_file(config: &ActionsAlign, path: &str, source: &str, pins: &PinMap) -> Result<AlignedFile, String> {
    let is_action = classify(path).ok_or_else(|| format!("{path} is neither a workflow nor an action file"))?;
    let wf = workflow::parse(source, is_action)
        .map_err(|e| format!("{path}:{}:{}: cannot be read as a workflow: {}", e.line, e.column, e.message))?;
    let uses = all_uses(&wf);
    let mut expected: Vec<String> = uses.iter().map(|u| u.value.clone()).collect();
    let mut edits = Vec::new();
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    for (i, u) in uses.iter().enumerate() {
        let value = u.value.as_str();
        if value.contains("${{") {
            continue;
        }
        // Local (`./`, `$/`) and `docker://` uses name no action repository.
        if !classify_uses(value.trim()).is_remote() {
            continue;
        }
        let (action, reference) = split_uses(value);
        let Some((_, version)) = configured(config, &action.trim().to_ascii_lowercase()) else { continue };
        let line = u.pos.line;
        let mut skip = |why: String| skipped.push(format!("{path}:{line}: {action}: {why}"));
        if version.is_empty() {
            skip("[align.actions] gives it an empty version".into());
            continue;
        }
        let Some(spot) = locate(source, &wf, u, uses.get(i + 1).map(|n| n.pos.offset)) else {
            skip("the `uses:` value is written across lines or escaped".into());
            continue;
        };
        let tail = &spot.tail;
        let old_comment = tail.comment.as_ref().and_then(|c| c.version);
        // The version in use: the tag, or a pinned SHA's version comment.
        let in_use = match reference {
            Some(r) if is_full_sha(r) => old_comment,
            r => r,
        };
        if let Some(old) = in_use
            && !config.allow_downgrade
            && is_older(version, old)
        {
            skip(format!(
                "{version} is older than {old}, the version in use: left for a person (allow_downgrade = true moves it)"
            ));
            continue;
        }
        let (new_ref, new_tail) = if config.pin {
            let Some(repo) = action_repo(action) else { continue };
            let Some(sha) = pins.get(&(repo.clone(), version.to_string())) else {
                skip(format!("could not resolve {version} of {repo} through the forge"));
                continue;
            };
            let new_tail = match &tail.comment {
                Some(c) => comment_text(&tail.text[..c.hash], Some(version), c.rest),
                None => format!("{} # {version}", tail.text),
            };
            (sha.as_str(), new_tail)
        } else {
            let ref_changes = reference != Some(version);
            let new_tail = match &tail.comment {
                Some(c) if c.version.is_some_and(|v| ref_changes || v != version) => {
                    // Drop the version (and any versions after it) the comment starts with.
                    let mut rest = c.rest;
                    while let Some(word) = rest.split_whitespace().next().filter(|w| version_word(w).is_some()) {
                        rest = rest[word.len()..].trim_start();
                    }
                    comment_text(&tail.text[..c.hash], None, rest)
                }
                _ => tail.text.to_string(),
            };
            (version, new_tail)
        };
        let same_ref = match reference {
            Some(r) if config.pin => r.eq_ignore_ascii_case(new_ref),
            r => r == Some(new_ref),
        };
        if same_ref && new_tail == tail.text {
            continue;
        }
        if tail.shared && new_tail != tail.text {
            skip("another `uses:` follows on its line, so there is no place for the version comment".into());
            continue;
        }
        // The ref (or, with none, the end of the value) and the tail are two separate edits,
        // so the closing quote between them is never touched.
        let ref_start = spot.start + action.len() + usize::from(reference.is_some());
        let value_end = spot.start + value.len();
        let at = if reference.is_some() { "" } else { "@" };
        edits.push(Edit { start: ref_start, end: value_end, text: format!("{at}{new_ref}") });
        if new_tail != tail.text {
            edits.push(Edit { start: tail.start, end: tail.end, text: new_tail });
        }
        expected[i] = format!("{action}@{new_ref}");
        let old = match reference {
            None | Some("") => "(no ref)".to_string(),
            Some(r) if is_full_sha(r) => match old_comment {
                Some(c) => format!("{} # {c}", short(r)),
                None => short(r).to_string(),
            },
            Some(r) => r.to_string(),
        };
        let new = if config.pin { format!("{version} (pinned to {})", short(new_ref)) } else { version.to_string() };
        changes.push(format!("{path}:{line}: {action} {old} → {new}"));
    }
    if edits.is_empty() {
        return Ok(AlignedFile { text: source.to_string(), changes, skipped });
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut text = source.to_string();
    for e in edits {
        text.replace_range(e.start..e.end, &e.text);
    }
    let again = workflow::parse(&text, is_action).map_err(|e| {
        format!("{path}: the aligned file no longer parses ({}:{}: {}); left unchanged", e.line, e.column, e.message)
    })?;
    let now: Vec<&str> = all_uses(&again).into_iter().map(|u| u.value.as_str()).collect();
    if now.len() != expected.len() {
        return Err(format!(
            "{path}: the aligned file has {} `uses:` instead of {}; left unchanged",
            now.len(),
            expected.len()
        ));
    }
    if let Some((got, want)) = now.iter().zip(&expected).find(|(got, want)| **got != want.as_str()) {
        return Err(format!("{path}: the aligned file reads `{got}` where `{want}` was planned; left unchanged"));
    }
    Ok(AlignedFile { text, changes, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_spanned::Spanned;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile { path: path.into(), bytes: text.as_bytes().to_vec() }
    }

    fn sha(c: char) -> String {
        c.to_string().repeat(40)
    }

    fn cfg(versions: &[(&str, &str)], pin: bool) -> ActionsAlign {
        ActionsAlign {
            versions: versions.iter().map(|(a, v)| (a.to_string(), Spanned::new(0..0, v.to_string()))).collect(),
            pin,
            allow_downgrade: false,
        }
    }

    fn pin_map(entries: &[(&str, &str, String)]) -> PinMap {
        entries.iter().map(|(a, v, s)| ((a.to_string(), v.to_string()), s.clone())).collect()
    }

    const CI: &str = ".github/workflows/ci.yml";

    #[test]
    fn ref_kinds() {
        assert_eq!(ref_kind(Some(&sha('a'))), RefKind::Sha);
        for tag in ["v1", "v1.2", "1.2.3", "v2-beta", "V3", "v1.0.0-rc.1"] {
            assert_eq!(ref_kind(Some(tag)), RefKind::Tag, "{tag}");
        }
        for other in ["main", "releases/v1", "v1.x", "abc1234", "v", "v1.", "1.2-"] {
            assert_eq!(ref_kind(Some(other)), RefKind::BranchOrUnknown, "{other}");
        }
        assert_eq!(ref_kind(None), RefKind::Missing);
        assert_eq!(ref_kind(Some("")), RefKind::Missing);
    }

    #[test]
    fn inventory_of_a_workflow_and_a_composite_action() {
        let wf = format!(
            "on: push\njobs:\n  build:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - uses: \"Actions/Checkout@{}\"  # v4.1.0 keep\n      - uses: 'actions/cache@main'\n      - uses: actions/setup-node\n      - uses: ./.github/actions/setup\n      - uses: docker://alpine:3.19\n      - {{uses: acme/tool@{} }} # tag=v2.0.0\n  call:\n    uses: acme/shared/.github/workflows/ci.yml@v1\n",
            sha('b'),
            sha('c'),
        );
        let action = "name: setup\nruns:\n  using: composite\n  steps:\n    - uses: actions/setup-node@v4.0.2\n      with:\n        node-version: 20\n";
        let files = [
            file(CI, &wf),
            file(".github/actions/setup/action.yml", action),
            file(".github/workflows/broken.yml", "jobs: [\n"),
            file("docs/uses.yml", "steps:\n  - uses: not/scanned@v1\n"),
        ];
        let uses = inventory("acme/api", &files);
        type Row<'a> = (&'a str, usize, usize, &'a str, Option<&'a str>, RefKind, Option<&'a str>, bool);
        let got: Vec<Row<'_>> = uses
            .iter()
            .map(|u| {
                (
                    u.path.as_str(),
                    u.line,
                    u.column,
                    u.action.as_str(),
                    u.reference.as_deref(),
                    u.kind,
                    u.version_comment.as_deref(),
                    u.local,
                )
            })
            .collect();
        let (b, c) = (sha('b'), sha('c'));
        assert_eq!(
            got,
            [
                (CI, 6, 15, "actions/checkout", Some("v4"), RefKind::Tag, None, false),
                (CI, 7, 15, "Actions/Checkout", Some(b.as_str()), RefKind::Sha, Some("v4.1.0"), false),
                (CI, 8, 15, "actions/cache", Some("main"), RefKind::BranchOrUnknown, None, false),
                (CI, 9, 15, "actions/setup-node", None, RefKind::Missing, None, false),
                (CI, 10, 15, "./.github/actions/setup", None, RefKind::Missing, None, true),
                (CI, 11, 15, "docker://alpine:3.19", None, RefKind::Missing, None, true),
                (CI, 12, 16, "acme/tool", Some(c.as_str()), RefKind::Sha, Some("v2.0.0"), false),
                (CI, 14, 11, "acme/shared/.github/workflows/ci.yml", Some("v1"), RefKind::Tag, None, false),
                (
                    ".github/actions/setup/action.yml",
                    5,
                    13,
                    "actions/setup-node",
                    Some("v4.0.2"),
                    RefKind::Tag,
                    None,
                    false
                ),
            ]
        );
        assert!(uses.iter().all(|u| u.repo == "acme/api"));
        assert_eq!(uses[1].action_repo().as_deref(), Some("actions/checkout"));
        assert_eq!(uses[7].action_repo().as_deref(), Some("acme/shared"));
        assert_eq!(uses[4].action_repo(), None);
    }

    #[test]
    fn same_repository_uses_are_local_not_actions() {
        let wf = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: $/.github/actions/setup@main\n  call:\n    uses: $/.github/workflows/ci.yml\n";
        let uses = inventory("acme/api", &[file(CI, wf)]);
        assert_eq!(uses.len(), 2);
        assert!(uses.iter().all(|u| u.local && u.reference.is_none() && u.action_repo().is_none()), "{uses:?}");
    }

    #[test]
    fn a_comment_not_naming_a_version_is_no_version_comment() {
        let wf = format!(
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: a/b@{} # pinned by hand\n      - uses: a/b@v1 # v1.2.3\n",
            sha('d')
        );
        let uses = inventory("acme/api", &[file(CI, &wf)]);
        assert_eq!(uses[0].version_comment, None);
        assert_eq!(uses[1].version_comment, None, "only SHAs carry a version comment");
    }

    #[test]
    fn grouping_and_rendering() {
        let one = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/checkout@v4\n      - uses: ./local\n";
        let two = format!(
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: Actions/checkout@v4\n      - uses: actions/checkout@{} # v4.1.0\n      - uses: actions/cache@v3\n",
            sha('e')
        );
        let mut uses = inventory("acme/web", &[file(CI, &two)]);
        uses.extend(inventory("acme/api", &[file(CI, one)]));
        let groups = group(&uses);
        let summary: Vec<(&str, bool, usize, Vec<&str>)> = groups
            .iter()
            .map(|g| (g.action.as_str(), g.local, g.count, g.repos.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            summary,
            [
                ("actions/cache", false, 1, vec!["acme/web"]),
                ("actions/checkout", false, 4, vec!["acme/api", "acme/web"]),
                ("./local", true, 1, vec!["acme/api"]),
            ]
        );
        let checkout = &groups[1].refs;
        assert_eq!(checkout.len(), 2);
        assert_eq!((checkout[0].reference.as_deref(), checkout[0].count), (Some("v4"), 3));
        assert_eq!(checkout[0].repos, ["acme/api", "acme/web"]);
        assert_eq!((checkout[1].kind, checkout[1].count), (RefKind::Sha, 1));
        assert_eq!(checkout[1].version_comments, ["v4.1.0"]);

        let text = render_text(&groups);
        let expected = format!(
            "ACTION            REF                                                KIND   USES  REPOSITORIES\n\
             actions/cache     v3                                                 tag    1     acme/web\n\
             actions/checkout  v4                                                 tag    3     acme/api, acme/web\n\
             \x20                 {} # v4.1.0  sha    1     acme/web\n\
             ./local           (none)                                             local  1     acme/api\n\
             2 action(s), 1 local, 6 use(s) in 2 repositories\n",
            sha('e')
        );
        assert_eq!(text, expected);
        let md = render_markdown(&groups);
        assert!(md.starts_with("2 action(s), 1 local, 6 use(s) in 2 repositories\n\n| Action | Ref |"), "{md}");
        assert!(md.contains("| actions/checkout | v4 | tag | 3 | acme/api, acme/web |\n"), "{md}");
        assert!(md.contains(&format!("|  | {} # v4.1.0 | sha | 1 | acme/web |\n", sha('e'))), "{md}");

        let report = report(uses);
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["schema_version"], ACTIONS_SCHEMA_VERSION);
        assert_eq!(json["uses"][0]["repo"], "acme/api");
        assert_eq!(json["actions"][1]["refs"][1]["kind"], "sha");
        let back: ActionsReport = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, report);
        assert_eq!(render_text(&[]), "no `uses:` found\n");
    }

    const MIXED: &str = "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v3\n      - uses: actions/checkout@v4 # old\n      - uses: \"actions/checkout@OLDSHA\" # v4.1.0\n      - uses: actions/checkout/sub@v2\n      - uses: ./action\n      - uses: other/thing@v1\n";

    fn mixed() -> String {
        MIXED.replace("OLDSHA", &sha('b'))
    }

    #[test]
    fn align_and_pin() {
        let pins = pin_map(&[("actions/checkout", "v4.2.2", sha('a'))]);
        let config = cfg(&[("actions/checkout", "v4.2.2")], true);
        let out = align_file(&config, CI, &mixed(), &pins).expect("aligned");
        let a = sha('a');
        let expected = format!(
            "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@{a} # v4.2.2\n      - uses: actions/checkout@{a} # v4.2.2 old\n      - uses: \"actions/checkout@{a}\" # v4.2.2\n      - uses: actions/checkout/sub@{a} # v4.2.2\n      - uses: ./action\n      - uses: other/thing@v1\n"
        );
        assert_eq!(out.text, expected);
        assert_eq!(
            out.changes,
            [
                format!("{CI}:7: actions/checkout v3 → v4.2.2 (pinned to aaaaaaaaaaaa)"),
                format!("{CI}:8: actions/checkout v4 → v4.2.2 (pinned to aaaaaaaaaaaa)"),
                format!("{CI}:9: actions/checkout bbbbbbbbbbbb # v4.1.0 → v4.2.2 (pinned to aaaaaaaaaaaa)"),
                format!("{CI}:10: actions/checkout/sub v2 → v4.2.2 (pinned to aaaaaaaaaaaa)"),
            ]
        );
        assert!(out.skipped.is_empty());
        // Again: nothing to do.
        let again = align_file(&config, CI, &out.text, &pins).expect("again");
        assert_eq!((again.text.as_str(), again.changes.len(), again.skipped.len()), (expected.as_str(), 0, 0));
        // The version moved: the pins are upgraded, the comments follow.
        let moved = pin_map(&[("actions/checkout", "v4.3.0", sha('c'))]);
        let up = align_file(&cfg(&[("actions/checkout", "v4.3.0")], true), CI, &out.text, &moved).expect("up");
        assert_eq!(up.text, expected.replace(&a, &sha('c')).replace("v4.2.2", "v4.3.0"));
        assert_eq!(up.changes.len(), 4);
        // The tag was moved on the forge: same version, another commit.
        let retagged = pin_map(&[("actions/checkout", "v4.2.2", sha('d'))]);
        let re = align_file(&config, CI, &out.text, &retagged).expect("retagged");
        assert_eq!(re.text, expected.replace(&a, &sha('d')));
    }

    #[test]
    fn an_older_version_is_left_for_a_person() {
        let src = format!(
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/checkout@{} # v4.2.2\n      - uses: actions/checkout@v3.5\n      - uses: actions/checkout@main\n",
            sha('b')
        );
        let pins = pin_map(&[("actions/checkout", "v3.6.0", sha('a'))]);
        let config = cfg(&[("actions/checkout", "v3.6.0")], true);
        let out = align_file(&config, CI, &src, &pins).expect("aligned");
        assert_eq!(
            out.skipped,
            [
                format!(
                    "{CI}:6: actions/checkout: v3.6.0 is older than v4, the version in use: left for a person (allow_downgrade = true moves it)"
                ),
                format!(
                    "{CI}:7: actions/checkout: v3.6.0 is older than v4.2.2, the version in use: left for a person (allow_downgrade = true moves it)"
                ),
            ]
        );
        // v3.5 → v3.6.0 is an upgrade; a branch has no version to compare.
        let changed: Vec<&str> = out.changes.iter().map(|c| c.split(' ').nth(2).unwrap_or("")).collect();
        assert_eq!(changed, ["v3.5", "main"]);
        let allowed = align_file(&ActionsAlign { allow_downgrade: true, ..config }, CI, &src, &pins).expect("aligned");
        assert_eq!((allowed.changes.len(), allowed.skipped.len()), (4, 0));
        assert!(is_older("v3", "v4.0.1") && !is_older("v4.1.0", "v4") && !is_older("v5", "v4-beta"));
    }

    #[test]
    fn align_without_pinning() {
        let config = cfg(&[("actions/checkout", "v4.2.2")], false);
        let out = align_file(&config, CI, &mixed(), &PinMap::new()).expect("aligned");
        let expected = "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4.2.2\n      - uses: actions/checkout@v4.2.2 # old\n      - uses: \"actions/checkout@v4.2.2\"\n      - uses: actions/checkout/sub@v4.2.2\n      - uses: ./action\n      - uses: other/thing@v1\n";
        assert_eq!(out.text, expected);
        assert_eq!(out.changes.len(), 4);
        assert_eq!(out.changes[2], format!("{CI}:9: actions/checkout bbbbbbbbbbbb # v4.1.0 → v4.2.2"));
        let again = align_file(&config, CI, expected, &PinMap::new()).expect("again");
        assert_eq!((again.text.as_str(), again.changes.len()), (expected, 0));
        // Unpinning a pinned file drops the version comments and keeps the others.
        let pinned = format!(
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@{}   # v4.2.2 our note\n      - uses: actions/checkout@v4.2.2 # v3\n      - uses: actions/checkout@v4.2.2 # v4.2.2\n      - uses: actions/checkout@v3 # v3.6.0 # convoy: ignore[outdated-actions]\n",
            sha('a')
        );
        let out = align_file(&config, CI, &pinned, &PinMap::new()).expect("unpinned");
        assert_eq!(
            out.text,
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4.2.2   # our note\n      - uses: actions/checkout@v4.2.2\n      - uses: actions/checkout@v4.2.2 # v4.2.2\n      - uses: actions/checkout@v4.2.2 # convoy: ignore[outdated-actions]\n"
        );
        assert_eq!(out.changes.len(), 3);
    }

    #[test]
    fn quoting_line_endings_and_subpaths_are_kept() {
        let src = "on: push\r\njobs:\r\n  a:\r\n    runs-on: x\r\n    steps:\r\n      - uses: 'Actions/Checkout@v3'\t# note\r\n      - uses: acme/tools/setup@v1\r\n      - uses: acme/tools@main\r\n";
        let config = cfg(&[("actions/checkout", "v4"), ("acme/tools", "v2"), ("acme/tools/setup", "v3")], true);
        let pins = pin_map(&[
            ("actions/checkout", "v4", sha('a')),
            ("acme/tools", "v2", sha('b')),
            ("acme/tools", "v3", sha('c')),
        ]);
        let uses = inventory("acme/api", &[file(CI, src)]);
        let wanted = wanted_refs(&config, &uses);
        let wanted: Vec<(&str, &str)> = wanted.iter().map(|(a, v)| (a.as_str(), v.as_str())).collect();
        assert_eq!(wanted, [("acme/tools", "v2"), ("acme/tools", "v3"), ("actions/checkout", "v4")]);
        let out = align_file(&config, CI, src, &pins).expect("aligned");
        let expected = format!(
            "on: push\r\njobs:\r\n  a:\r\n    runs-on: x\r\n    steps:\r\n      - uses: 'Actions/Checkout@{}'\t# v4 note\r\n      - uses: acme/tools/setup@{} # v3\r\n      - uses: acme/tools@{} # v2\r\n",
            sha('a'),
            sha('c'),
            sha('b')
        );
        assert_eq!(out.text, expected);
        // Without pinning the versions are still checked against the forge.
        let unpinned = wanted_refs(&ActionsAlign { pin: false, ..config.clone() }, &uses);
        assert_eq!(unpinned.len(), 3);
    }

    #[test]
    fn convoy_directives_stay_where_the_audit_finds_them() {
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v3  # convoy: ignore[outdated-actions]\n";
        let config = cfg(&[("actions/checkout", "v4.2.2")], true);
        let pins = pin_map(&[("actions/checkout", "v4.2.2", sha('a'))]);
        let out = align_file(&config, CI, src, &pins).expect("aligned");
        let expected = src.replace("checkout@v3  # convoy", &format!("checkout@{}  # v4.2.2 # convoy", sha('a')));
        assert_eq!(out.text, expected);
        assert!(align_file(&config, CI, &expected, &pins).expect("again").changes.is_empty());
        // Unpinned on purpose, said so to the audit: still said so after aligning.
        let src = src.replace("# convoy: ignore[outdated-actions]", "# v3.6.0 # convoy: ignore[unpinned-actions]");
        let out =
            align_file(&cfg(&[("actions/checkout", "v4.2.2")], false), CI, &src, &PinMap::new()).expect("unpinned");
        assert!(
            out.text.contains("      - uses: actions/checkout@v4.2.2  # convoy: ignore[unpinned-actions]\n"),
            "{}",
            out.text
        );
        let policy = crate::policy::audit::Policy::default_rules();
        let unpinned = |text: &str| {
            policy.audit_repo("acme/api", &[file(CI, text)], &|_| false).iter().any(|f| f.rule == "unpinned-actions")
        };
        assert!(!unpinned(&out.text));
        assert!(unpinned(&out.text.replace("  # convoy: ignore[unpinned-actions]", "")));
    }

    #[test]
    fn a_missing_pin_is_skipped_and_the_rest_aligned() {
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v3\n      - uses: actions/setup-node@v3\n";
        let config = cfg(&[("actions/checkout", "v4.2.2"), ("actions/setup-node", "v4.0.0")], true);
        let out = align_file(&config, CI, src, &pin_map(&[("actions/checkout", "v4.2.2", sha('a'))])).expect("aligned");
        assert_eq!(out.text, src.replace("actions/checkout@v3", &format!("actions/checkout@{} # v4.2.2", sha('a'))));
        assert_eq!(out.changes.len(), 1);
        assert_eq!(
            out.skipped,
            [format!("{CI}:7: actions/setup-node: could not resolve v4.0.0 of actions/setup-node through the forge")]
        );
    }

    #[test]
    fn flow_style_lines_with_two_uses() {
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{uses: actions/checkout@v3}, {uses: actions/cache@v3}] # ci\n";
        let both = cfg(&[("actions/checkout", "v4"), ("actions/cache", "v4")], false);
        let out = align_file(&both, CI, src, &PinMap::new()).expect("aligned");
        assert_eq!(out.text, src.replace("@v3", "@v4"));
        let pinned = cfg(&[("actions/checkout", "v4"), ("actions/cache", "v4")], true);
        let pins = pin_map(&[("actions/checkout", "v4", sha('a')), ("actions/cache", "v4", sha('b'))]);
        let out = align_file(&pinned, CI, src, &pins).expect("aligned");
        assert_eq!(
            out.text,
            format!(
                "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{{uses: actions/checkout@v3}}, {{uses: actions/cache@{}}}] # v4 ci\n",
                sha('b')
            )
        );
        assert!(out.skipped[0].contains("another `uses:` follows on its line"), "{:?}", out.skipped);
    }

    /// A ` #` inside a quoted scalar of a flow mapping starts no comment (the input):
    /// the pin's version comment goes after the mapping, and the quoted string is kept.
    #[test]
    fn a_hash_inside_a_quoted_flow_scalar_is_no_comment() {
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - {uses: actions/checkout@v3, with: {ref: \"main #1\"}} # ci\n";
        let pinned = cfg(&[("actions/checkout", "v4")], true);
        let pins = pin_map(&[("actions/checkout", "v4", sha('a'))]);
        let out = align_file(&pinned, CI, src, &pins).expect("aligned");
        assert_eq!(
            out.text,
            format!(
                "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - {{uses: actions/checkout@{}, with: {{ref: \"main #1\"}}}} # v4 ci\n",
                sha('a')
            )
        );
    }

    #[test]
    fn a_file_that_would_break_is_refused() {
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v3\n";
        let broken = align_file(&cfg(&[("actions/checkout", "v4: x")], false), CI, src, &PinMap::new());
        assert!(broken.as_ref().is_err_and(|e| e.contains("no longer parses")), "{broken:?}");
        let changed = align_file(&cfg(&[("actions/checkout", "v4 #x")], false), CI, src, &PinMap::new());
        assert!(
            changed.as_ref().is_err_and(|e| e.contains("where `actions/checkout@v4 #x` was planned")),
            "{changed:?}"
        );
        assert!(align_file(&cfg(&[], true), CI, "jobs: [\n", &PinMap::new()).is_err());
        assert!(align_file(&cfg(&[], true), "src/main.rs", src, &PinMap::new()).is_err());
    }
}
