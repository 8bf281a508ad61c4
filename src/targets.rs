//! Which repositories a run works on: the forge's listing filtered by the `[[repo]]` rules,
//! tagged and given variables by them, then narrowed by `--repo` filters.

use std::collections::{BTreeMap, BTreeSet};

use serde_spanned::Spanned;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::forge::{RemoteRepo, RepoId};
use crate::manifest::selector::RepoFacts;
use crate::manifest::{Manifest, Selector};

/// A selected repository with what the manifest says about it.
#[derive(Debug, Clone)]
pub struct Target {
    pub repo: RemoteRepo,
    pub tags: BTreeSet<String>,
    /// Per-repo variables from the `[[repo]]` rules that matched (later rules win).
    pub vars: BTreeMap<String, toml::Value>,
}

impl Target {
    pub fn facts(&self) -> RepoFacts<'_> {
        facts(&self.repo, &self.tags)
    }
}

fn facts<'a>(repo: &'a RemoteRepo, tags: &'a BTreeSet<String>) -> RepoFacts<'a> {
    RepoFacts {
        full_name: repo.id.full_name_ref(),
        topics: &repo.topics,
        tags,
        private: repo.private,
        fork: repo.fork,
        archived: repo.archived,
    }
}

/// The outcome of selection.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub targets: Vec<Target>,
    /// Repositories a rule matched but that were left out, and why (archived).
    pub skipped: Vec<(RepoId, String)>,
    pub groups: BTreeMap<String, Vec<Selector>>,
}

impl Selection {
    /// Does any selector of `list` match `target`?
    pub fn applies(&self, list: &[Spanned<String>], owner: &str, target: &Target) -> bool {
        list.iter()
            .filter_map(|s| Selector::parse(s.get_ref(), owner).ok())
            .any(|s| s.matches(target.facts(), &self.groups))
    }
}

/// Select the repositories of `listing` that `manifest` manages, then keep those matching any of
/// `filters` (all when empty). Rules and selectors that match nothing are errors: they are
/// almost always typos, and silently doing nothing for a typo is the worst outcome.
pub fn select(manifest: &Manifest, listing: &[RemoteRepo], filters: &[Selector]) -> Result<Selection, Diagnostics> {
    let (selection, problems) = select_all(manifest, listing, filters);
    if problems.is_empty() { Ok(selection) } else { Err(Diagnostics(problems)) }
}

/// Like [`select`], but returns the selection along with its problems, so `validate` can go on
/// to the checks that need a selection and report everything at once.
pub fn select_all(manifest: &Manifest, listing: &[RemoteRepo], filters: &[Selector]) -> (Selection, Vec<Diagnostic>) {
    let model = &manifest.model;
    let owner = &model.org.name;
    let mut problems = Vec::new();
    let mut diag = |span: std::ops::Range<usize>, msg: String, help: &str| {
        problems.push(Diagnostic::at_span(&manifest.path, &manifest.source, span, msg).with_help(help));
    };

    let groups: BTreeMap<String, Vec<Selector>> = model
        .groups
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().filter_map(|s| Selector::parse(s.get_ref(), owner).ok()).collect()))
        .collect();
    let groups = crate::manifest::selector::flatten_groups(&groups);

    // A forge's names become folders (the clone cache, the local forge): a listed name that
    // is not a valid GitHub owner or repository name is reported and left out; the rest go on.
    let mut refused: Vec<(RepoId, String)> = Vec::new();
    let listing: Vec<&RemoteRepo> = listing
        .iter()
        .filter(|repo| match valid_repo_id(&repo.id) {
            Ok(()) => true,
            Err(e) => {
                refused.push((repo.id.clone(), format!("refused, the forge listed an invalid name: {e}")));
                false
            }
        })
        .collect();

    // Pass 1: which repos each rule matches; tags and vars accumulate in rule order.
    let mut chosen: BTreeMap<RepoId, Target> = BTreeMap::new();
    let mut excluded: BTreeSet<RepoId> = BTreeSet::new();
    for rule in &model.repos {
        let r = rule.get_ref();
        let (selector, span, what) = match (&r.name, &r.topic) {
            (Some(n), None) => (Selector::parse(n.get_ref(), owner), n.span(), format!("name `{}`", n.get_ref())),
            (None, Some(t)) => (Ok(Selector::Topic(t.get_ref().clone())), t.span(), format!("topic `{}`", t.get_ref())),
            _ => continue, // reported by the manifest loader
        };
        let Ok(selector) = selector else { continue };
        let empty = BTreeSet::new();
        let matched: Vec<&RemoteRepo> =
            listing.iter().copied().filter(|repo| selector.matches(facts(repo, &empty), &groups)).collect();
        if matched.is_empty() {
            let known = listing.len();
            diag(
                span,
                format!(
                    "[[repo]] {what} matches none of the {} of `{owner}` on the forge",
                    crate::report::table::count(known, "repository", "repositories")
                ),
                &format!("check the spelling; `convoy fetch` lists what it clones, and globs look like {owner}/svc-*"),
            );
            continue;
        }
        for repo in matched {
            if r.exclude {
                excluded.insert(repo.id.clone());
                continue;
            }
            let t = chosen.entry(repo.id.clone()).or_insert_with(|| Target {
                repo: repo.clone(),
                tags: BTreeSet::new(),
                vars: BTreeMap::new(),
            });
            t.tags.extend(r.tags.iter().cloned());
            t.vars.extend(r.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }

    let mut selection = Selection { groups, skipped: refused, ..Default::default() };
    for (id, target) in chosen {
        if excluded.contains(&id) {
            continue;
        }
        if target.repo.archived && !model.org.include_archived {
            selection.skipped.push((id, "archived".into()));
            continue;
        }
        if target.repo.fork && !model.org.include_forks {
            selection.skipped.push((id, "fork".into()));
            continue;
        }
        selection.targets.push(target);
    }

    // Pass 2: template and file selectors must each pick at least one selected repository.
    let mut check_list = |list: &[Spanned<String>], what: &str| {
        for s in list {
            if s.span().is_empty() {
                continue; // the implicit default `*`
            }
            let Ok(sel) = Selector::parse(s.get_ref(), owner) else { continue };
            if !selection.targets.iter().any(|t| sel.matches(t.facts(), &selection.groups)) {
                diag(
                    s.span(),
                    format!(
                        "{what} selector `{}` matches none of the {} selected",
                        s.get_ref(),
                        crate::report::table::count(selection.targets.len(), "repository", "repositories")
                    ),
                    "fix the selector, or tag the repositories with a [[repo]] rule",
                );
            }
        }
    };
    for t in &model.templates {
        check_list(&t.repos, "[[template]]");
    }
    for f in &model.files {
        check_list(&f.repos, "[[file]]");
    }
    check_branches(manifest, &selection.targets, &mut diag);

    if !filters.is_empty() {
        let groups = &selection.groups;
        selection.targets.retain(|t| filters.iter().any(|f| f.matches(t.facts(), groups)));
    }
    (selection, problems)
}

/// Both halves of a forge name checked with the one rule for names that become paths
/// ([`crate::workspace::paths::check_name`]).
pub fn valid_repo_id(id: &RepoId) -> Result<(), String> {
    use crate::workspace::paths::{NameKind, check_name};
    check_name(NameKind::Owner, &id.owner)?;
    check_name(NameKind::Repo, &id.name)
}

/// A campaign branch is force-updated by convoy; it must never be a branch people merge into.
/// Each branch-name key (`[campaign] branch`, `[policy] fix_branch`, `[align] branch`) is
/// refused when it equals the default branch of a selected repository (as the forge reports
/// it). The loader already refused names git would not accept and `[org] default_branch`.
fn check_branches(
    manifest: &Manifest,
    targets: &[Target],
    diag: &mut impl FnMut(std::ops::Range<usize>, String, &str),
) {
    let model = &manifest.model;
    let keys = std::iter::once(("[campaign] branch", &model.campaign.branch))
        .chain(model.policy.fix_branch.iter().map(|b| ("[policy] fix_branch", b)))
        .chain(model.align.branch.iter().map(|b| ("[align] branch", b)));
    for (key, branch) in keys {
        let hits: Vec<String> = targets
            .iter()
            .filter(|t| t.repo.default_branch == *branch.get_ref())
            .map(|t| t.repo.id.full_name())
            .collect();
        if let Some(first) = hits.first() {
            let more = if hits.len() > 1 { format!(" and {} more", hits.len() - 1) } else { String::new() };
            diag(
                branch.span(),
                format!("{key} `{}` is the default branch of {first}{more}", branch.get_ref()),
                "convoy force-updates its campaign branch; name one of its own, such as convoy/sync",
            );
        }
    }
}
