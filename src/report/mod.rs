//! Views of run results. The data comes from the core (`campaign`); this module only renders it,
//! as text for people and as versioned JSON for machines. [`table`] holds the text-table,
//! Markdown-cell and plural helpers every view shares (`policy/`, `deps/` included);
//! [`markdown`] the block rules of pull request bodies.
//!
//! JSON compatibility: every document is an [`envelope::Envelope`] and carries
//! `schema_version`. Fields are only ever added within a version; renaming or removing one bumps
//! it (version 2: one envelope for every command, per-repository failures under `errors`).

pub mod audit;
pub mod cost;
pub mod deps;
pub mod envelope;
pub mod markdown;
pub mod release;
pub mod steer;
pub mod style;
pub mod table;

use std::collections::HashMap;

use serde_json::json;

pub use envelope::{Envelope, ErrorItem};

use crate::campaign::{ApplyAction, ApplyOutcome, RepoPlan, RepoResult};
use crate::change::Action;
use crate::diagnostic::Diagnostic;
use crate::forge::RepoId;
use crate::workspace::{FetchOutcome, FetchStatus};

pub const SCHEMA_VERSION: u32 = 2;

// ---- fetch ----

pub fn fetch_text(results: &[RepoResult<FetchOutcome>], skipped: &[(RepoId, String)]) -> String {
    let mut out = String::new();
    let count = |s: FetchStatus| results.iter().filter(|r| matches!(&r.result, Ok(o) if o.status == s)).count();
    let failed: Vec<_> = results.iter().filter_map(|r| r.result.as_ref().err().map(|e| (&r.repo, e))).collect();
    for (repo, err) in &failed {
        out.push_str(&format!("{} {repo}: {err}\n", style::label(style::ERROR, "error")));
    }
    for (repo, why) in skipped {
        out.push_str(&format!("skipped {repo}: {why}\n"));
    }
    out.push_str(&format!(
        "fetched {}: {} cloned, {} updated, {} up to date, {} failed\n",
        table::count(results.len(), "repository", "repositories"),
        count(FetchStatus::Cloned),
        count(FetchStatus::Updated),
        count(FetchStatus::UpToDate),
        failed.len()
    ));
    out
}

/// `fetch`: `results` one `{repo, status, head, recovered?}` per fetched repository.
pub fn fetch_json(results: &[RepoResult<FetchOutcome>], skipped: &[(RepoId, String)]) -> Envelope {
    let count = |s: FetchStatus| results.iter().filter(|r| matches!(&r.result, Ok(o) if o.status == s)).count();
    Envelope::new("fetch")
        .count("repos", results.len())
        .count("cloned", count(FetchStatus::Cloned))
        .count("updated", count(FetchStatus::Updated))
        .count("up_to_date", count(FetchStatus::UpToDate))
        .count("failed", results.iter().filter(|r| r.result.is_err()).count())
        .repo_results(results, |repo, o| {
            let mut v = json!({"repo": repo.full_name(), "status": o.status, "head": o.head});
            if !o.recovered.is_empty() {
                v["recovered"] = json!(o.recovered);
            }
            v
        })
        .skipped(skipped)
}

// ---- plan ----

fn plan_status(r: &RepoResult<RepoPlan>) -> &'static str {
    match &r.result {
        Ok(p) if p.files.is_empty() => "unchanged",
        Ok(_) => "changed",
        Err(_) => "failed",
    }
}

/// How [`plan_text_with`] shows the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanTextOptions {
    /// `plan --stat`: per repository, one `PATH | N ++--` line per file (as `git diff --stat`)
    /// and a totals line, instead of the diffs.
    pub stat: bool,
    /// Print a diff that several repositories get byte for byte (same file header, same diff)
    /// once, under `━━ same change in N repositories: …`; `false` (`plan --no-group`): every
    /// repository's diffs in full.
    pub group: bool,
}

impl Default for PlanTextOptions {
    fn default() -> Self {
        PlanTextOptions { stat: false, group: true }
    }
}

pub fn plan_text(branch: &str, results: &[RepoResult<RepoPlan>], skipped: &[(RepoId, String)]) -> String {
    plan_text_with(branch, results, skipped, PlanTextOptions::default())
}

/// At most this many repositories are named in a `same change in N repositories` header.
const GROUP_NAMES_SHOWN: usize = 8;

/// [`plan_text`] with its [`PlanTextOptions`]: the diffs (grouped or not) or the stat, then the
/// table, the notes, the skipped repositories and the totals.
pub fn plan_text_with(
    branch: &str,
    results: &[RepoResult<RepoPlan>],
    skipped: &[(RepoId, String)],
    options: PlanTextOptions,
) -> String {
    let changed: Vec<(&RepoId, &RepoPlan)> = results
        .iter()
        .filter_map(|r| r.result.as_ref().ok().filter(|p| !p.files.is_empty()).map(|p| (&r.repo, p)))
        .collect();
    let mut out = if options.stat {
        plan_stat(&changed)
    } else if options.group {
        plan_diffs_grouped(&changed)
    } else {
        let mut out = String::new();
        for (repo, plan) in &changed {
            out.push_str(&repo_header(repo, plan, plan.files.len(), 0));
            for f in &plan.files {
                out.push_str(&file_diff(f));
            }
            out.push('\n');
        }
        out
    };
    for r in results {
        if let Ok(p) = &r.result {
            for note in &p.notes {
                out.push_str(&format!("{} {}: {note}\n", style::label(style::NOTE, "note"), r.repo));
            }
        }
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let (files, note) = match &r.result {
                Ok(p) => (
                    p.files.len().to_string(),
                    p.files.iter().map(|f| f.path.to_string()).collect::<Vec<_>>().join(", "),
                ),
                Err(e) => ("-".into(), e.lines().next().unwrap_or_default().to_string()),
            };
            vec![r.repo.full_name(), status_cell(plan_status(r)), files, note]
        })
        .collect();
    out.push_str(&format!("Plan for campaign branch `{branch}` (nothing was written)\n"));
    out.push_str(&table::text(&["REPOSITORY", "STATUS", "FILES", "DETAIL"], &rows));
    out.push_str(&error_details(results));
    for (repo, why) in skipped {
        out.push_str(&format!("skipped {repo}: {why}\n"));
    }
    let n = |s| results.iter().filter(|r| plan_status(r) == s).count();
    if options.stat {
        let (files, insertions, deletions) =
            changed.iter().flat_map(|(_, p)| &p.files).fold((0, 0, 0), |(n, i, d), f| {
                let (fi, fd) = f.line_counts().unwrap_or_default();
                (n + 1, i + fi, d + fd)
            });
        out.push_str(&format!(
            "{files} {} changed, {insertions} {}(+), {deletions} {}(-)\n",
            table::plural(files, "file", "files"),
            table::plural(insertions, "insertion", "insertions"),
            table::plural(deletions, "deletion", "deletions"),
        ));
    }
    out.push_str(&format!(
        "{}: {} changed, {} unchanged, {} failed\n",
        table::count(results.len(), "repository", "repositories"),
        n("changed"),
        n("unchanged"),
        n("failed")
    ));
    out
}

/// `━━ OWNER/NAME (BRANCH @ SHA12) — N file(s)`, with `, M more in a shared change above` when
/// `grouped` of its files were printed under a `same change` header.
fn repo_header(repo: &RepoId, plan: &RepoPlan, files: usize, grouped: usize) -> String {
    let mut head =
        format!("━━ {repo} ({} @ {}) — {files} file(s)", plan.base_branch, &plan.base[..plan.base.len().min(12)]);
    if grouped > 0 {
        head.push_str(&format!(", {grouped} more in a shared change above"));
    }
    style::paint(style::HEADER, &head) + "\n"
}

/// `# create|update|delete PATH (from ORIGIN)` and the file's unified diff, coloured.
fn file_diff(f: &crate::change::FileDiff) -> String {
    let head = format!("# {} {} (from {})", action_word(f.action), f.path, f.origin);
    style::paint(style::HEADER, &head) + "\n" + &style::diff(&f.unified())
}

/// The diffs with what several repositories share printed once. A file diff (its `#` header
/// line and its unified diff, byte for byte) that two or more repositories get is a shared
/// diff; shared diffs with the same repositories form one group, printed first, in the order of
/// their first repository and file. Then each repository's own diffs.
fn plan_diffs_grouped(changed: &[(&RepoId, &RepoPlan)]) -> String {
    // Every distinct file diff: its text and the repositories (indices into `changed`) that get it.
    let mut diffs: Vec<(String, Vec<usize>)> = Vec::new();
    let mut index: HashMap<(&str, String), usize> = HashMap::new();
    let mut of_repo: Vec<Vec<usize>> = Vec::with_capacity(changed.len());
    for (i, (_, plan)) in changed.iter().enumerate() {
        let mut mine = Vec::with_capacity(plan.files.len());
        for f in &plan.files {
            let text = file_diff(f);
            let key = (f.path.as_str(), text);
            let d = match index.get(&key) {
                Some(&d) => d,
                None => {
                    diffs.push((key.1.clone(), Vec::new()));
                    index.insert(key, diffs.len() - 1);
                    diffs.len() - 1
                }
            };
            if diffs[d].1.last() != Some(&i) {
                diffs[d].1.push(i);
            }
            mine.push(d);
        }
        of_repo.push(mine);
    }
    // Shared diffs by their set of repositories, in the order of first appearance.
    let mut groups: Vec<(&[usize], Vec<usize>)> = Vec::new();
    for (d, (_, members)) in diffs.iter().enumerate().filter(|(_, (_, m))| m.len() > 1) {
        match groups.iter_mut().find(|(m, _)| *m == members.as_slice()) {
            Some((_, ds)) => ds.push(d),
            None => groups.push((members, vec![d])),
        }
    }
    let mut out = String::new();
    for (members, ds) in &groups {
        let names: Vec<String> = members.iter().take(GROUP_NAMES_SHOWN).map(|&i| changed[i].0.full_name()).collect();
        let mut list = names.join(", ");
        if members.len() > GROUP_NAMES_SHOWN {
            list.push_str(&format!(" (+{} more)", members.len() - GROUP_NAMES_SHOWN));
        }
        let head = format!("━━ same change in {} repositories: {list} — {} file(s)", members.len(), ds.len());
        out.push_str(&(style::paint(style::HEADER, &head) + "\n"));
        for &d in ds {
            out.push_str(&diffs[d].0);
        }
        out.push('\n');
    }
    for (i, (repo, plan)) in changed.iter().enumerate() {
        let own: Vec<usize> = of_repo[i].iter().copied().filter(|&d| diffs[d].1.len() == 1).collect();
        if own.is_empty() {
            continue;
        }
        out.push_str(&repo_header(repo, plan, own.len(), of_repo[i].len() - own.len()));
        for d in own {
            out.push_str(&diffs[d].0);
        }
        out.push('\n');
    }
    out
}

/// The longest `+++--` bar of `plan --stat`, in characters (git's is the terminal's width).
const STAT_BAR: usize = 40;

/// Per repository, one line per file as `git diff --stat` prints it: ` PATH | N ++--` (`Bin` for
/// a binary file), the bars scaled so the largest change in the plan fits in [`STAT_BAR`].
fn plan_stat(changed: &[(&RepoId, &RepoPlan)]) -> String {
    let counts: Vec<Vec<Option<(usize, usize)>>> =
        changed.iter().map(|(_, p)| p.files.iter().map(|f| f.line_counts()).collect()).collect();
    let widest = changed.iter().flat_map(|(_, p)| &p.files).map(|f| f.path.as_str().chars().count()).max();
    let largest = counts.iter().flatten().flatten().map(|(i, d)| i + d).max().unwrap_or(0);
    let number = counts.iter().flatten().flatten().map(|(i, d)| (i + d).to_string().len()).max().unwrap_or(1);
    // git's `scale_linear`: a change of any size gets at least one character.
    let scale = |n: usize| if largest <= STAT_BAR || n == 0 { n } else { 1 + n * (STAT_BAR - 1) / largest };
    let mut out = String::new();
    for ((repo, plan), counts) in changed.iter().zip(&counts) {
        out.push_str(&repo_header(repo, plan, plan.files.len(), 0));
        for (f, c) in plan.files.iter().zip(counts) {
            let path = format!("{:<w$}", f.path.as_str(), w = widest.unwrap_or(0));
            match c {
                Some((ins, del)) => {
                    let total = scale(ins + del);
                    let plus = (total * ins + (ins + del) / 2).checked_div(ins + del).unwrap_or(0);
                    let plus = if *ins > 0 { plus.max(1) } else { plus };
                    let minus = if *del > 0 { total.saturating_sub(plus).max(1) } else { 0 };
                    out.push_str(&format!(
                        " {path} | {:>number$} {}{}\n",
                        ins + del,
                        style::paint(style::ADDED, &"+".repeat(plus)),
                        style::paint(style::REMOVED, &"-".repeat(minus)),
                    ));
                }
                None => out.push_str(&format!(" {path} | {:>number$}\n", "Bin")),
            }
        }
        out.push('\n');
    }
    out
}

/// A status word of the `plan`/`apply` tables, in its colour ([`style::status`]).
fn status_cell(word: &str) -> String {
    match style::status(word) {
        Some(s) => style::paint(s, word),
        None => word.to_string(),
    }
}

/// The whole text of the errors the table cut to their first line (a script's exit code with
/// the tail of its output, a help line), one block per repository.
fn error_details<T>(results: &[RepoResult<T>]) -> String {
    let mut out = String::new();
    for r in results {
        if let Err(e) = &r.result
            && e.trim_end().contains('\n')
        {
            out.push_str(&format!("error {}: {}\n", r.repo, e.trim_end()));
        }
    }
    out
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    }
}

/// `plan` (and `deps align`): `results` one entry per planned repository (`status` `changed` or
/// `unchanged`), `campaign: {branch}`.
pub fn plan_json(branch: &str, results: &[RepoResult<RepoPlan>], skipped: &[(RepoId, String)]) -> Envelope {
    let n = |s| results.iter().filter(|r| plan_status(r) == s).count();
    Envelope::new("plan")
        .with("campaign", json!({"branch": branch}))
        .count("repos", results.len())
        .count("changed", n("changed"))
        .count("unchanged", n("unchanged"))
        .count("failed", n("failed"))
        .repo_results(results, |repo, p| {
            let mut v = json!({
                "repo": repo.full_name(),
                "status": if p.files.is_empty() { "unchanged" } else { "changed" },
                "base_branch": p.base_branch,
                "base": p.base,
                "tree": p.tree,
                "files": p.files.iter().map(|f| json!({
                    "path": f.path, "action": f.action, "origin": f.origin, "diff": f.unified(),
                })).collect::<Vec<_>>(),
                "pull_request": {"title": p.title, "body": p.body},
            });
            if !p.notes.is_empty() {
                v["notes"] = json!(p.notes);
            }
            v
        })
        .skipped(skipped)
}

// ---- apply ----

fn apply_key(r: &RepoResult<ApplyOutcome>) -> &'static str {
    match &r.result {
        Ok(o) => match o.action {
            ApplyAction::Opened { .. } => "opened",
            ApplyAction::Updated { .. } => "updated",
            ApplyAction::Unchanged { .. } => "unchanged",
            ApplyAction::Closed { .. } => "closed",
            ApplyAction::Nothing => "nothing",
            ApplyAction::Left { .. } => "left",
        },
        Err(_) => "failed",
    }
}

pub fn apply_text(branch: &str, results: &[RepoResult<ApplyOutcome>], skipped: &[(RepoId, String)]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let (detail, url) = match &r.result {
                Ok(o) => {
                    let url = match &o.action {
                        ApplyAction::Opened { url, .. }
                        | ApplyAction::Updated { url, .. }
                        | ApplyAction::Unchanged { url, .. }
                        | ApplyAction::Closed { url, .. }
                        | ApplyAction::Left { url, .. } => url.clone(),
                        ApplyAction::Nothing => String::new(),
                    };
                    (crate::campaign::describe(&o.action), url)
                }
                Err(e) => (format!("failed: {}", e.lines().next().unwrap_or_default()), String::new()),
            };
            let detail = match style::status(apply_key(r)) {
                Some(s) => style::paint(s, &detail),
                None => detail,
            };
            vec![r.repo.full_name(), detail, url]
        })
        .collect();
    let mut out = format!("Applied campaign branch `{branch}`\n");
    out.push_str(&table::text(&["REPOSITORY", "RESULT", "PULL REQUEST"], &rows));
    out.push_str(&error_details(results));
    for (repo, why) in skipped {
        out.push_str(&format!("skipped {repo}: {why}\n"));
    }
    for r in results {
        for note in r.result.as_ref().map(|o| o.notes.as_slice()).unwrap_or_default() {
            out.push_str(&format!("{} {}: {note}\n", style::paint(style::NOTE, "note"), r.repo));
        }
    }
    let n = |s| results.iter().filter(|r| apply_key(r) == s).count();
    out.push_str(&format!(
        "{}: {} opened, {} updated, {} unchanged, {} closed, {} failed\n",
        table::count(results.len(), "repository", "repositories"),
        n("opened"),
        n("updated"),
        n("unchanged"),
        n("closed"),
        n("failed")
    ));
    out
}

/// `apply`: `results` one entry per repository with its `action` (`opened`, `updated`,
/// `unchanged`, `closed`, `left`, `nothing`), `campaign: {branch}`.
pub fn apply_json(branch: &str, results: &[RepoResult<ApplyOutcome>], skipped: &[(RepoId, String)]) -> Envelope {
    let n = |s| results.iter().filter(|r| apply_key(r) == s).count();
    Envelope::new("apply")
        .with("campaign", json!({"branch": branch}))
        .count("repos", results.len())
        .count("opened", n("opened"))
        .count("updated", n("updated"))
        .count("unchanged", n("unchanged"))
        .count("closed", n("closed"))
        .count("left", n("left"))
        .count("nothing", n("nothing"))
        .count("failed", n("failed"))
        .repo_results(results, |repo, o| {
            let mut v = serde_json::to_value(&o.action).unwrap_or_default();
            v["repo"] = json!(repo.full_name());
            v["files"] = json!(o.files);
            if !o.notes.is_empty() {
                v["notes"] = json!(o.notes);
            }
            v
        })
        .skipped(skipped)
}

// ---- diagnostics ----

/// Manifest diagnostics as envelope errors, each with its position and help.
pub fn diagnostics_errors(diags: &[Diagnostic]) -> Vec<ErrorItem> {
    diags.iter().map(ErrorItem::from).collect()
}

// ---- remote forge usage and credentials ----

/// `API: 412 requests (180 answered 304 from cache), 96 writes, 3 retries, waited 12.4 s; 4588 left`;
/// none for a run that sent no request (`--offline`).
pub fn usage_line(u: &crate::forge::ApiUsage) -> Option<String> {
    if u.requests == 0 {
        return None;
    }
    let mut s = format!(
        "API: {} requests ({} answered 304 from cache), {} writes, {} retries",
        u.requests, u.not_modified, u.writes, u.retries
    );
    if u.waited_ms > 0 {
        s.push_str(&format!(", waited {:.1} s for rate limits and pacing", u.waited_ms as f64 / 1000.0));
    }
    if let Some(left) = u.rate_limit_remaining {
        s.push_str(&format!("; {left} left in the rate limit"));
    }
    Some(s)
}

pub fn auth_text(a: &crate::forge::github::status::AuthReport) -> String {
    let word = |v: serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
    let mut out = format!("forge: github ({})\n", a.api_url);
    out.push_str(&format!("credentials: {} ({})\n", a.source, word(serde_json::to_value(&a.kind).unwrap_or_default())));
    if let Some(login) = &a.login {
        out.push_str(&format!("login: {login}\n"));
    }
    if let Some(scopes) = &a.scopes {
        out.push_str(&format!(
            "scopes: {}\n",
            if scopes.is_empty() { "(none)".to_string() } else { scopes.join(", ") }
        ));
    }
    if let Some(p) = &a.permissions {
        out.push_str(&format!("permissions: {p}\n"));
    }
    out.push_str(&format!("expires: {}\n", a.expires_at.as_deref().unwrap_or("not reported")));
    if let Some(r) = &a.rate_limit {
        // `reset` is a Unix time (GitHub's x-ratelimit-reset); people read it as UTC.
        let reset = time::OffsetDateTime::from_unix_timestamp(r.reset as i64)
            .map_or_else(|_| r.reset.to_string(), crate::clock::format_rfc3339);
        out.push_str(&format!("rate limit: {}/{} remaining, resets at {reset}\n", r.remaining, r.limit));
    }
    let verdict = match a.sufficient {
        Some(true) => "sufficient",
        Some(false) => "NOT sufficient",
        None => "unknown",
    };
    out.push_str(&format!("for `{}`: {verdict}\n", word(serde_json::to_value(a.purpose).unwrap_or_default())));
    for r in &a.reasons {
        out.push_str(&format!("  - {r}\n"));
    }
    out
}
