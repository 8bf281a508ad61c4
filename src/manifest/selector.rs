//! One selector grammar for every place that picks repositories: `[[template]].repos`,
//! `[[file]].repos`, `[groups]`, and the `--repo` flag.
//!
//! | form            | selects                                              |
//! |-----------------|------------------------------------------------------|
//! | `*`             | every selected repository                            |
//! | `acme/api`      | that repository (`api` alone means `<org>/api`)      |
//! | `acme/svc-*`    | a glob over `owner/name`                             |
//! | `tag:rust`      | repositories a `[[repo]]` rule tagged `rust`          |
//! | `topic:payments`| repositories carrying that forge topic               |
//! | `group:backend` | the union of the selectors in `[groups] backend`     |
//! | `is:private`, `is:public`, `is:fork`, `is:source`, `is:archived` | by visibility, fork and archive state (as the forge reports them) |

use std::collections::{BTreeMap, BTreeSet};

use globset::{Glob, GlobMatcher};

#[derive(Debug, Clone)]
pub enum Selector {
    All,
    Exact(String),
    Glob { pattern: String, matcher: GlobMatcher },
    Tag(String),
    Topic(String),
    Group(String),
    Is(Property),
}

/// Repository properties for `is:` selectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    Private,
    Public,
    Fork,
    /// Not a fork (GitHub's "sources" filter).
    Source,
    Archived,
}

/// What a selector can see of a repository.
#[derive(Debug, Clone, Copy)]
pub struct RepoFacts<'a> {
    pub full_name: &'a str,
    pub topics: &'a [String],
    pub tags: &'a BTreeSet<String>,
    pub private: bool,
    pub fork: bool,
    pub archived: bool,
}

impl Selector {
    /// Parse `text`; bare names get `default_owner/` in front.
    pub fn parse(text: &str, default_owner: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty selector".into());
        }
        if text == "*" {
            return Ok(Selector::All);
        }
        for (prefix, make) in [
            ("tag:", Selector::Tag as fn(String) -> Selector),
            ("topic:", Selector::Topic),
            ("group:", Selector::Group),
        ] {
            if let Some(rest) = text.strip_prefix(prefix) {
                if rest.is_empty() {
                    return Err(format!("`{prefix}` needs a name after it"));
                }
                return Ok(make(rest.to_string()));
            }
        }
        if let Some(what) = text.strip_prefix("is:") {
            let property = match what {
                "private" => Property::Private,
                "public" => Property::Public,
                "fork" => Property::Fork,
                "source" => Property::Source,
                "archived" => Property::Archived,
                other => {
                    return Err(format!(
                        "unknown property `is:{other}`; use is:private, is:public, is:fork, is:source or is:archived"
                    ));
                }
            };
            return Ok(Selector::Is(property));
        }
        if let Some((kind, _)) = text.split_once(':') {
            return Err(format!(
                "unknown selector kind `{kind}:`; use `tag:`, `topic:`, `group:`, `is:`, a repository name or a glob"
            ));
        }
        let full = if text.contains('/') { text.to_string() } else { format!("{default_owner}/{text}") };
        if full.matches('/').count() != 1 {
            return Err(format!("`{text}` is not `owner/name`"));
        }
        if full.contains(['*', '?', '[', '{']) {
            let glob = Glob::new(&full).map_err(|e| format!("invalid glob `{full}`: {}", e.kind()))?;
            Ok(Selector::Glob { pattern: full, matcher: glob.compile_matcher() })
        } else {
            Ok(Selector::Exact(full))
        }
    }

    /// Does this selector pick `repo`? `groups` resolves `group:` (cycles were rejected at load).
    pub fn matches(&self, repo: RepoFacts<'_>, groups: &BTreeMap<String, Vec<Selector>>) -> bool {
        self.matches_depth(repo, groups, 0)
    }

    fn matches_depth(&self, repo: RepoFacts<'_>, groups: &BTreeMap<String, Vec<Selector>>, depth: usize) -> bool {
        match self {
            Selector::All => true,
            Selector::Exact(name) => name.eq_ignore_ascii_case(repo.full_name),
            Selector::Glob { matcher, .. } => matcher.is_match(repo.full_name),
            Selector::Tag(tag) => repo.tags.contains(tag),
            Selector::Topic(topic) => repo.topics.iter().any(|t| t == topic),
            Selector::Is(p) => match p {
                Property::Private => repo.private,
                Property::Public => !repo.private,
                Property::Fork => repo.fork,
                Property::Source => !repo.fork,
                Property::Archived => repo.archived,
            },
            Selector::Group(name) => {
                // Depth bound is belt and braces: load() already refuses cyclic groups.
                depth < 16
                    && groups
                        .get(name)
                        .is_some_and(|sels| sels.iter().any(|s| s.matches_depth(repo, groups, depth + 1)))
            }
        }
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::All => f.write_str("*"),
            Selector::Exact(n) => f.write_str(n),
            Selector::Glob { pattern, .. } => f.write_str(pattern),
            Selector::Tag(t) => write!(f, "tag:{t}"),
            Selector::Topic(t) => write!(f, "topic:{t}"),
            Selector::Group(g) => write!(f, "group:{g}"),
            Selector::Is(p) => write!(f, "is:{}", format!("{p:?}").to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(name: &'a str, topics: &'a [String], tags: &'a BTreeSet<String>) -> RepoFacts<'a> {
        RepoFacts { full_name: name, topics, tags, private: true, fork: false, archived: false }
    }

    #[test]
    fn parses_each_form() {
        assert!(matches!(Selector::parse("*", "acme"), Ok(Selector::All)));
        assert!(matches!(Selector::parse("api", "acme"), Ok(Selector::Exact(n)) if n == "acme/api"));
        assert!(matches!(Selector::parse("acme/svc-*", "x"), Ok(Selector::Glob { .. })));
        assert!(matches!(Selector::parse("tag:rust", "x"), Ok(Selector::Tag(t)) if t == "rust"));
        assert_eq!(
            Selector::parse("team:x", "acme").unwrap_err(),
            "unknown selector kind `team:`; use `tag:`, `topic:`, `group:`, `is:`, a repository name or a glob"
        );
        assert_eq!(Selector::parse("a/b/c", "acme").unwrap_err(), "`a/b/c` is not `owner/name`");
        assert_eq!(Selector::parse("tag:", "acme").unwrap_err(), "`tag:` needs a name after it");
    }

    #[test]
    fn glob_does_not_cross_owner() {
        let tags = BTreeSet::new();
        let sel = Selector::parse("acme/svc-*", "acme").unwrap();
        assert!(sel.matches(facts("acme/svc-a", &[], &tags), &BTreeMap::new()));
        assert!(!sel.matches(facts("other/svc-a", &[], &tags), &BTreeMap::new()));
        assert!(!sel.matches(facts("acme/web", &[], &tags), &BTreeMap::new()));
    }

    #[test]
    fn groups_tags_and_topics() {
        let tags: BTreeSet<String> = ["rust".to_string()].into();
        let topics = vec!["payments".to_string()];
        let mut groups = BTreeMap::new();
        groups.insert("backend".to_string(), vec![Selector::parse("tag:rust", "acme").unwrap()]);
        let repo = facts("acme/api", &topics, &tags);
        assert!(Selector::parse("group:backend", "acme").unwrap().matches(repo, &groups));
        assert!(Selector::parse("topic:payments", "acme").unwrap().matches(repo, &groups));
        assert!(!Selector::parse("topic:web", "acme").unwrap().matches(repo, &groups));
        assert!(!Selector::parse("group:missing", "acme").unwrap().matches(repo, &groups));
        assert!(Selector::parse("is:private", "acme").unwrap().matches(repo, &groups));
        assert!(Selector::parse("is:source", "acme").unwrap().matches(repo, &groups));
        assert!(!Selector::parse("is:fork", "acme").unwrap().matches(repo, &groups));
        assert!(Selector::parse("is:secret", "acme").is_err());
    }
}
