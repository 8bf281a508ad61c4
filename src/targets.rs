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
            listing.iter().filter(|repo| selector.matches(facts(repo, &empty), &groups)).collect();
        if matched.is_empty() {
            let known = listing.len();
            diag(
                span,
                format!("[[repo]] {what} matches none of the {known} repositories of `{owner}` on the forge"),
                "check the spelling; `convoy fetch` lists what it clones, and globs look like acme/svc-*",
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

    let mut selection = Selection { groups, ..Default::default() };
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
                        "{what} selector `{}` matches none of the {} selected repositories",
                        s.get_ref(),
                        selection.targets.len()
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
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }

    if !filters.is_empty() {
        let groups = &selection.groups;
        selection.targets.retain(|t| filters.iter().any(|f| f.matches(t.facts(), groups)));
    }
    Ok(selection)
}
