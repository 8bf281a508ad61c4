//! Pull request text: the manifest's title/body templates plus the list of sibling PRs.
//!
//! The sibling list sits between two HTML comments so convoy can find and rewrite it without
//! touching anything else, and read back which siblings an earlier run linked.

use crate::forge::RepoId;

pub const TITLE: &str = "campaign.title";
pub const BODY: &str = "campaign.body";

const START: &str = "<!-- convoy:siblings:start -->";
const END: &str = "<!-- convoy:siblings:end -->";

/// `body` with the campaign section appended; `siblings` are `(repo, number)`, `this` is ours.
pub fn with_siblings(body: &str, branch: &str, siblings: &[(RepoId, u64)], this: &RepoId) -> String {
    let mut out = strip_siblings(body).trim_end().to_string();
    out.push_str("\n\n");
    out.push_str(START);
    out.push_str(&format!(
        "\n---\nPart of the convoy campaign `{branch}`: {} linked pull request(s).\n\n",
        siblings.len()
    ));
    for (repo, number) in siblings {
        let me = if repo == this { " (this pull request)" } else { "" };
        out.push_str(&format!("- {repo}#{number}{me}\n"));
    }
    out.push_str(END);
    out.push('\n');
    out
}

fn strip_siblings(body: &str) -> &str {
    match body.find(START) {
        Some(i) => &body[..i],
        None => body,
    }
}

/// The siblings an earlier run listed in `body`.
pub fn parse_siblings(body: &str) -> Vec<(RepoId, u64)> {
    let Some(start) = body.find(START) else { return Vec::new() };
    let section = &body[start..body.find(END).unwrap_or(body.len())];
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| {
            let item = l.split_whitespace().next()?;
            let (repo, number) = item.split_once('#')?;
            let (owner, name) = repo.split_once('/')?;
            Some((RepoId::new(owner, name), number.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_round_trips_and_replaces() {
        let a = RepoId::new("acme", "api");
        let b = RepoId::new("acme", "web");
        let sibs = vec![(a.clone(), 3), (b.clone(), 7)];
        let body = with_siblings("Hello.\n", "convoy/x", &sibs, &a);
        assert!(body.contains("- acme/api#3 (this pull request)\n- acme/web#7\n"), "{body}");
        assert_eq!(parse_siblings(&body), sibs);
        let again = with_siblings(&body, "convoy/x", &sibs[..1], &a);
        assert_eq!(again.matches(START).count(), 1);
        assert!(!again.contains("acme/web"));
        assert!(again.starts_with("Hello.\n\n"));
    }
}
