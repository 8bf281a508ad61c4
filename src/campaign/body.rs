//! Pull request text: the manifest's title/body templates plus the list of sibling PRs.
//!
//! The sibling list sits between two HTML comments so convoy can find and rewrite it without
//! touching anything else, and read back which siblings an earlier run linked.

use crate::forge::RepoId;
use crate::report::markdown::Blocks;

pub const TITLE: &str = "campaign.title";
pub const BODY: &str = "campaign.body";

const START: &str = "<!-- convoy:siblings:start -->";
/// After a sibling that is merged.
const MERGED: &str = " (merged)";
const END: &str = "<!-- convoy:siblings:end -->";

/// GitHub refuses pull request bodies longer than this many characters.
const BODY_LIMIT: usize = 65_536;
/// Room kept for the line that counts the siblings left out.
const MORE_LINE: usize = 160;

/// `body` with the campaign section appended; `siblings` are `(repo, number)`, `this` is ours.
///
/// The section is CommonMark blocks separated by blank lines (see [`crate::report::markdown`]):
/// the start marker, a thematic break, a paragraph, the list of siblings and the end marker, so
/// none of it is read as part of the body's last block, nor the end marker as part of the list.
///
/// A list too long for GitHub's body limit (about 2,000 repositories) keeps this PR's line and
/// as many others as fit, in order, and says how many it left out; only listed siblings are read
/// back by [`parse_siblings`].
/// Siblings in `merged` are listed with ` (merged)`: a merged PR stays in the list so reviewers
/// see the campaign's progress.
pub fn with_siblings(
    body: &str,
    branch: &str,
    siblings: &[(RepoId, u64)],
    this: &RepoId,
    merged: &std::collections::BTreeSet<RepoId>,
) -> String {
    let mut head = Blocks::new();
    head.block(strip_siblings(body).trim_end())
        .block(START)
        .block("---")
        .block(&format!("Part of the convoy campaign `{branch}`: {} linked pull request(s).", siblings.len()));
    let line = |repo: &RepoId, number: u64| {
        let me = if repo == this {
            " (this pull request)"
        } else if merged.contains(repo) {
            MERGED
        } else {
            ""
        };
        format!("{repo}#{number}{me}")
    };
    // Every list line is `- {item}\n`; the list and the end marker are two more blocks.
    let item_len = |item: &str| item.chars().count() + 3;
    let own = siblings.iter().find(|(r, _)| r == this).map(|(r, n)| item_len(&line(r, *n))).unwrap_or(0);
    let fixed = head.finish().chars().count() + 2 + END.chars().count() + 1 + MORE_LINE + own;
    let mut room = BODY_LIMIT.saturating_sub(fixed);
    let mut left_out = 0;
    let mut items = Vec::new();
    for (repo, number) in siblings {
        let text = line(repo, *number);
        if repo == this {
            items.push(text);
            continue;
        }
        let len = item_len(&text);
        if len <= room {
            room -= len;
            items.push(text);
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        items.push(format!(
            "… and {left_out} more on branch `{branch}`, not listed: GitHub limits a pull request body to {BODY_LIMIT} characters"
        ));
    }
    head.list(items).block(END);
    head.finish()
}

fn strip_siblings(body: &str) -> &str {
    match body.find(START) {
        Some(i) => &body[..i],
        None => body,
    }
}

/// The siblings an earlier run listed in `body` as merged.
pub fn parse_merged(body: &str) -> std::collections::BTreeSet<RepoId> {
    let Some(start) = body.find(START) else { return Default::default() };
    let section = &body[start..body.find(END).unwrap_or(body.len())];
    let merged: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter(|l| l.trim_end().ends_with(MERGED.trim_start()))
        .collect();
    parse_siblings(&format!("{START}\n{}", merged.iter().map(|l| format!("- {l}\n")).collect::<String>()))
        .into_iter()
        .map(|(repo, _)| repo)
        .collect()
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
        let body = with_siblings("Hello.\n", "convoy/x", &sibs, &a, &Default::default());
        assert!(body.contains("- acme/api#3 (this pull request)\n- acme/web#7\n"), "{body}");
        assert_eq!(parse_siblings(&body), sibs);
        let again = with_siblings(&body, "convoy/x", &sibs[..1], &a, &Default::default());
        assert_eq!(again.matches(START).count(), 1);
        assert!(!again.contains("acme/web"));
        assert!(again.starts_with("Hello.\n\n"));
    }

    #[test]
    fn merged_siblings_stay_listed_and_read_back_as_merged() {
        let a = RepoId::new("acme", "api");
        let w = RepoId::new("acme", "web");
        let merged: std::collections::BTreeSet<RepoId> = [a.clone()].into();
        let body = with_siblings("Hi.\n", "convoy/x", &[(a.clone(), 3), (w.clone(), 7)], &w, &merged);
        assert!(body.contains("- acme/api#3 (merged)\n- acme/web#7 (this pull request)\n"), "{body}");
        assert_eq!(parse_siblings(&body), vec![(a.clone(), 3), (w.clone(), 7)]);
        assert_eq!(parse_merged(&body), merged);
        assert!(parse_merged("no section").is_empty());
    }

    #[test]
    fn the_section_is_separate_markdown_blocks_after_any_body() {
        use crate::report::markdown::testing::{Block, blocks};
        let a = RepoId::new("acme", "api");
        let sibs = vec![(a.clone(), 3), (RepoId::new("acme", "web"), 7)];
        // A body ending in a list item: the section must not continue that item.
        let body = with_siblings("Why:\n\n- one\n- two", "convoy/x", &sibs, &a, &Default::default());
        assert_eq!(
            blocks(&body),
            [
                Block::Paragraph("Why:".into()),
                Block::List(vec!["one".into(), "two".into()]),
                Block::Html(START.into()),
                Block::Rule,
                Block::Paragraph("Part of the convoy campaign convoy/x: 2 linked pull request(s).".into()),
                Block::List(vec!["acme/api#3 (this pull request)".into(), "acme/web#7".into()]),
                Block::Html(END.into()),
            ],
            "{body}"
        );
        // Rewriting the section of an earlier body gives the same text.
        assert_eq!(with_siblings(&body, "convoy/x", &sibs, &a, &Default::default()), body);
    }

    #[test]
    fn a_list_too_long_for_github_keeps_this_pr_and_counts_the_rest() {
        let sibs: Vec<(RepoId, u64)> =
            (0..4000).map(|i| (RepoId::new("acme-platform", format!("service-{i:04}")), 1000 + i)).collect();
        let this = sibs[3999].0.clone();
        let body = with_siblings(&"Why.\n".repeat(100), "convoy/x", &sibs, &this, &Default::default());
        assert!(body.chars().count() <= BODY_LIMIT, "{} characters", body.chars().count());
        assert!(body.contains("- acme-platform/service-3999#4999 (this pull request)\n"));
        assert!(body.contains(": 4000 linked pull request(s)."));
        let listed = parse_siblings(&body);
        let more = format!("- … and {} more on branch `convoy/x`", 4000 - listed.len());
        assert!(body.contains(&more), "{more}");
        assert!(listed.len() > 1500 && listed.len() < 4000, "{}", listed.len());
        assert_eq!(listed[0], sibs[0]);
        // A list that fits is never shortened.
        let short = with_siblings("Why.\n", "convoy/x", &sibs[..100], &sibs[0].0, &Default::default());
        assert_eq!(parse_siblings(&short), sibs[..100]);
        assert!(!short.contains("more on branch"));
    }
}
