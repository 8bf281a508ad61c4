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
            let glob = glob(&full)?;
            Ok(Selector::Glob { pattern: full, matcher: glob.compile_matcher() })
        } else {
            Ok(Selector::Exact(full))
        }
    }

    /// Does this selector pick `repo`? `groups` resolves `group:`; build it with
    /// [`flatten_groups`], which expands nested groups once, so matching never recurses
    /// more than one level whatever the nesting depth.
    pub fn matches(&self, repo: RepoFacts<'_>, groups: &BTreeMap<String, Vec<Selector>>) -> bool {
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
            Selector::Group(name) => groups.get(name).is_some_and(|sels| {
                sels.iter().any(|s| match s {
                    // Flattened lists hold no groups; a list that was not flattened stops here
                    // rather than recursing (cyclic groups are refused at load).
                    Selector::Group(_) => false,
                    leaf => leaf.matches(repo, groups),
                })
            }),
        }
    }
}

/// The most `{` a glob may nest: globset recurses per level and a few hundred levels overflow
/// the stack (a crash, not an error), so deeper patterns are refused before they are compiled.
pub const MAX_GLOB_NESTING: usize = 8;
/// The longest glob accepted, in bytes.
pub const MAX_GLOB_LEN: usize = 1024;

/// Compile a glob from the manifest or the command line, refusing first what globset cannot
/// compile safely: more than [`MAX_GLOB_NESTING`] nested `{...}` alternations, or more than
/// [`MAX_GLOB_LEN`] bytes. Every glob convoy takes from a user goes through here.
pub fn glob(pattern: &str) -> Result<Glob, String> {
    let (mut depth, mut deepest, mut escaped) = (0usize, 0usize, false);
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_GLOB_NESTING {
        let shown: String = pattern.chars().take(40).collect();
        let more = if shown.len() < pattern.len() { "..." } else { "" };
        return Err(format!(
            "invalid glob `{shown}{more}`: `{{...}}` nested {deepest} deep; the limit is {MAX_GLOB_NESTING}"
        ));
    }
    if pattern.len() > MAX_GLOB_LEN {
        return Err(format!("glob is {} bytes long; the limit is {MAX_GLOB_LEN}", pattern.len()));
    }
    Glob::new(pattern).map_err(|e| format!("invalid glob `{pattern}`: {}", e.kind()))
}

/// Expand `[groups]` so that each group lists only non-group selectors: `group:` entries are
/// replaced by the selectors of the group they name, transitively. Each group is walked
/// once with a visited set (linear in the size of `[groups]` per group), unknown groups
/// contribute nothing, and a cycle only stops the walk (the manifest loader refuses cycles).
pub fn flatten_groups(groups: &BTreeMap<String, Vec<Selector>>) -> BTreeMap<String, Vec<Selector>> {
    let mut out = BTreeMap::new();
    for name in groups.keys() {
        let mut seen: BTreeSet<&str> = BTreeSet::from([name.as_str()]);
        let mut stack: Vec<&str> = vec![name.as_str()];
        let mut leaves = Vec::new();
        while let Some(g) = stack.pop() {
            for s in groups.get(g).map(Vec::as_slice).unwrap_or_default() {
                match s {
                    Selector::Group(inner) => {
                        if seen.insert(inner.as_str()) {
                            stack.push(inner.as_str());
                        }
                    }
                    leaf => leaves.push(leaf.clone()),
                }
            }
        }
        out.insert(name.clone(), leaves);
    }
    out
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

    #[test]
    fn groups_nested_deeper_than_sixteen_still_match() {
        let tags = BTreeSet::new();
        let mut groups = BTreeMap::new();
        for i in 0..40 {
            groups.insert(format!("g{i}"), vec![Selector::parse(&format!("group:g{}", i + 1), "acme").unwrap()]);
        }
        groups.insert("g40".to_string(), vec![Selector::parse("acme/api", "acme").unwrap()]);
        let flat = flatten_groups(&groups);
        let sel = Selector::parse("group:g0", "acme").unwrap();
        assert!(sel.matches(facts("acme/api", &[], &tags), &flat));
        assert!(!sel.matches(facts("acme/web", &[], &tags), &flat));
    }

    #[test]
    fn deeply_nested_braces_are_an_error_not_a_crash() {
        let deep = format!("acme/{}x{}", "{a,".repeat(300), "}".repeat(300));
        let e = Selector::parse(&deep, "acme").unwrap_err();
        assert!(e.contains("nested 300 deep; the limit is 8"), "{e}");
        assert!(Selector::parse("acme/{a,{b,c}}", "acme").is_ok());
        assert!(Selector::parse(&format!("acme/{}", "x".repeat(2000)), "acme").is_ok());
        assert!(Selector::parse(&format!("acme/*{}", "x".repeat(2000)), "acme").unwrap_err().contains("limit is 1024"));
    }
}
