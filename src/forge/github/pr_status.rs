//! [`Forge::pull_request_statuses`](crate::forge::Forge::pull_request_statuses) on GitHub: a
//! whole campaign's pull requests, with what `convoy status` shows, in one GraphQL query per
//! [`STATUS_QUERY_REPOS`] repositories (each repository an alias `rN: repository(...)`) instead
//! of two or three REST reads per repository.
//!
//! What each field becomes (GitHub's GraphQL reference,
//! <https://docs.github.com/en/graphql/reference/objects#pullrequest>):
//!
//! - `state` `OPEN`/`CLOSED`/`MERGED` → [`PrState`]; `createdAt`, `mergedAt`, `closedAt` are kept
//!   as GitHub writes them (RFC 3339); `mergeCommit.oid` → `merge_commit_sha` (merged only).
//! - `commits(last: 1)` is the head commit; its `statusCheckRollup.state` (`StatusState`, check
//!   runs and commit statuses together) → [`CheckState`]: `ERROR`/`FAILURE` → `Failure`,
//!   `EXPECTED`/`PENDING` → `Pending`, `SUCCESS` → `Success`; a `null` rollup means no checks
//!   (`None`), and so does a pull request that is not open, as the trait's default has it.
//! - `reviewDecision` (`PullRequestReviewDecision`) → [`ReviewDecision`]; GitHub answers `null`
//!   when the base branch requires no review, which stays `None`.
//! - `mergeable` (`MergeableState`) → [`Mergeable`]; `UNKNOWN` while GitHub computes it.
//!
//! Not read here: requested reviewers and assignees (left empty), and labels past the first 20.
//! A repository that does not exist or the token cannot see answers `null` with a `NOT_FOUND`
//! error for its alias: that repository fails alone. More than [`PULLS_PER_REPO`] pull requests
//! on the branch in one repository are read on by that repository's own pages.

use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::GithubForge;
use super::api::ApiError;
use crate::forge::{
    CheckState, ForgeError, ForgeResult, Mergeable, PrState, PullRequest, PullRequestStatus, RepoId, ReviewDecision,
};

/// Repositories per query. GitHub's node limit counts each connection's page size times the
/// page sizes of the connections above it, summed over the document, and refuses more than
/// 500,000 (<https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#node-limit>).
/// Here: 100 repositories × `pullRequests(first: 10)` = 1,000 pull requests, + 1,000 × `labels(first: 20)`
/// = 20,000 labels, + 1,000 × `commits(last: 1)` = 1,000 commits: 22,000 nodes, 4.4 % of the
/// limit. Its rate-limit cost is about (100 + 1,000 + 1,000 connection pages) / 100 = 21 points
/// of the 5,000 an hour, where the REST path spends 200 to 300 requests on the same 100
/// repositories.
pub(super) const STATUS_QUERY_REPOS: usize = 100;

/// Pull requests per repository in the campaign query (a campaign branch normally has one, a
/// few if some were closed and opened again).
const PULLS_PER_REPO: usize = 10;

/// Pull requests per page when one repository has more than [`PULLS_PER_REPO`]:
/// 100 × (1 + 20 + 1) = 2,200 nodes.
const PULLS_PER_PAGE: usize = 100;

/// Queries in flight at once. They are reads (not paced like writes, see `api.rs`); GitHub asks
/// integrators not to flood it with concurrent requests, so a few at a time.
const STATUS_QUERY_CONCURRENCY: usize = 4;

/// The fields of one pull request (shared by the campaign query and the per-repository pages).
const PULL_FIELDS: &str = "fragment StatusPullRequests on PullRequestConnection {
  pageInfo { hasNextPage endCursor }
  nodes {
    id number url title body state isDraft headRefName headRefOid baseRefName
    createdAt mergedAt closedAt mergeable reviewDecision
    mergeCommit { oid }
    labels(first: 20) { nodes { name } }
    commits(last: 1) { nodes { commit { statusCheckRollup { state } } } }
  }
}";

type Statuses = Vec<(RepoId, ForgeResult<Vec<PullRequestStatus>>)>;

impl GithubForge {
    /// The pull request statuses of `repos` on `branch`, in the order of `repos`.
    pub(super) async fn statuses_by_graphql(&self, repos: &[RepoId], branch: &str) -> Statuses {
        // By start index: a closure over `&[RepoId]` trips async-trait's lifetimes.
        futures_util::stream::iter((0..repos.len()).step_by(STATUS_QUERY_REPOS))
            .map(|start| self.status_query(&repos[start..(start + STATUS_QUERY_REPOS).min(repos.len())], branch))
            .buffered(STATUS_QUERY_CONCURRENCY)
            .collect::<Vec<Statuses>>()
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// One query for up to [`STATUS_QUERY_REPOS`] repositories.
    async fn status_query(&self, repos: &[RepoId], branch: &str) -> Statuses {
        let mut declarations = vec!["$branch: String!".to_string()];
        let mut fields = Vec::new();
        let mut variables = Map::new();
        variables.insert("branch".into(), json!(branch));
        for (i, repo) in repos.iter().enumerate() {
            declarations.push(format!("$o{i}: String!, $n{i}: String!"));
            variables.insert(format!("o{i}"), json!(repo.owner));
            variables.insert(format!("n{i}"), json!(repo.name));
            fields.push(format!(
                "r{i}: repository(owner: $o{i}, name: $n{i}) {{ pullRequests(headRefName: $branch, first: {PULLS_PER_REPO}, orderBy: {{field: CREATED_AT, direction: DESC}}) {{ ...StatusPullRequests }} }}"
            ));
        }
        let query = format!(
            "query PullRequestStatuses({}) {{\n  {}\n}}\n{PULL_FIELDS}",
            declarations.join(", "),
            fields.join("\n  ")
        );
        let answer = match self.api.graphql_query(&query, Value::Object(variables)).await {
            Ok(answer) => answer,
            Err(e) => return repos.iter().map(|r| (r.clone(), Err(whole_query_failed(&e)))).collect(),
        };
        let mut out = Vec::with_capacity(repos.len());
        for (i, repo) in repos.iter().enumerate() {
            let alias = format!("r{i}");
            let result = match alias_error(&answer, &alias) {
                Some(e) => Err(e),
                None => match parse_connection(&answer["data"][&alias]["pullRequests"], repo) {
                    Ok((statuses, None)) => Ok(statuses),
                    Ok((first, Some(after))) => self.more_statuses(repo, branch, first, after).await,
                    Err(e) => Err(e),
                },
            };
            out.push((repo.clone(), result));
        }
        out
    }

    /// The pages after `after` of one repository that has more pull requests on `branch` than
    /// the campaign query reads.
    async fn more_statuses(
        &self,
        repo: &RepoId,
        branch: &str,
        mut statuses: Vec<PullRequestStatus>,
        mut after: String,
    ) -> ForgeResult<Vec<PullRequestStatus>> {
        let query = format!(
            "query PullRequestStatusPage($owner: String!, $name: String!, $branch: String!, $after: String!) {{
  r0: repository(owner: $owner, name: $name) {{ pullRequests(headRefName: $branch, first: {PULLS_PER_PAGE}, after: $after, orderBy: {{field: CREATED_AT, direction: DESC}}) {{ ...StatusPullRequests }} }}
}}
{PULL_FIELDS}"
        );
        loop {
            let variables = json!({"owner": repo.owner, "name": repo.name, "branch": branch, "after": after});
            let answer = self.api.graphql_query(&query, variables).await.map_err(|e| whole_query_failed(&e))?;
            if let Some(e) = alias_error(&answer, "r0") {
                return Err(e);
            }
            let (page, next) = parse_connection(&answer["data"]["r0"]["pullRequests"], repo)?;
            statuses.extend(page);
            match next {
                Some(cursor) => after = cursor,
                None => return Ok(statuses),
            }
        }
    }
}

/// A query that failed as a whole (HTTP error, transport) fails each of its repositories.
fn whole_query_failed(e: &ApiError) -> ForgeError {
    match e.status() {
        Some(http::StatusCode::NOT_FOUND) => ForgeError::NotFound(e.to_string()),
        _ => ForgeError::Remote(e.to_string()),
    }
}

/// The error of the field under `alias`, if it failed: GitHub's `errors` entries whose `path`
/// starts at the alias (`NOT_FOUND` for a repository that does not exist or that the token
/// cannot see), or, when the answer has no `data` at all (the document was refused), every
/// error of the document.
fn alias_error(answer: &Value, alias: &str) -> Option<ForgeError> {
    let errors: Vec<&Value> = answer["errors"].as_array().into_iter().flatten().collect();
    let data = &answer["data"];
    if data.is_null() {
        let messages: Vec<&str> = errors.iter().filter_map(|e| e["message"].as_str()).collect();
        return Some(ForgeError::Remote(if messages.is_empty() {
            "GitHub's GraphQL API answered without data".to_string()
        } else {
            format!("GitHub refused the status query: {}", messages.join("; "))
        }));
    }
    let mine: Vec<&&Value> = errors.iter().filter(|e| e["path"][0] == alias).collect();
    if let Some(e) = mine.first() {
        let message = e["message"].as_str().unwrap_or("failed").to_string();
        return Some(match e["type"].as_str() {
            Some("NOT_FOUND") => ForgeError::NotFound(message),
            _ => ForgeError::Remote(message),
        });
    }
    if data[alias].is_null() {
        return Some(ForgeError::Remote(format!("GitHub's answer has no `{alias}`")));
    }
    None
}

/// The statuses of one `PullRequestConnection`, and the cursor of the next page if there is one.
fn parse_connection(conn: &Value, repo: &RepoId) -> ForgeResult<(Vec<PullRequestStatus>, Option<String>)> {
    let nodes = conn["nodes"]
        .as_array()
        .ok_or_else(|| ForgeError::Remote(format!("GitHub's answer for {repo} has no pull request list")))?;
    let statuses = nodes.iter().map(|n| parse_pull(n, repo)).collect::<ForgeResult<Vec<_>>>()?;
    let next = match (conn["pageInfo"]["hasNextPage"].as_bool(), conn["pageInfo"]["endCursor"].as_str()) {
        (Some(true), Some(cursor)) => Some(cursor.to_string()),
        _ => None,
    };
    Ok((statuses, next))
}

fn parse_pull(n: &Value, repo: &RepoId) -> ForgeResult<PullRequestStatus> {
    let pr = pull_request_from_graphql(n, repo)?;
    let checks = match n["commits"]["nodes"][0]["commit"]["statusCheckRollup"]["state"].as_str() {
        _ if pr.state != PrState::Open => None,
        Some("ERROR" | "FAILURE") => Some(CheckState::Failure),
        Some("EXPECTED" | "PENDING") => Some(CheckState::Pending),
        Some("SUCCESS") => Some(CheckState::Success),
        _ => None,
    };
    let review = match n["reviewDecision"].as_str() {
        Some("APPROVED") => Some(ReviewDecision::Approved),
        Some("CHANGES_REQUESTED") => Some(ReviewDecision::ChangesRequested),
        Some("REVIEW_REQUIRED") => Some(ReviewDecision::ReviewRequired),
        _ => None,
    };
    let mergeable = match n["mergeable"].as_str() {
        Some("MERGEABLE") => Mergeable::Mergeable,
        Some("CONFLICTING") => Mergeable::Conflicting,
        _ => Mergeable::Unknown,
    };
    Ok(PullRequestStatus { pr, checks, review, mergeable })
}

/// A GraphQL `PullRequest` object as a [`PullRequest`], from its fields `id number url title body
/// state isDraft headRefName headRefOid baseRefName createdAt mergedAt closedAt mergeCommit { oid }
/// labels { nodes { name } }` (what this module and `revert.rs` select). Requested reviewers and
/// assignees are not read (left empty).
pub(super) fn pull_request_from_graphql(n: &Value, repo: &RepoId) -> ForgeResult<PullRequest> {
    let bad = |what: &str| ForgeError::Remote(format!("GitHub's answer for a pull request of {repo} has no {what}"));
    let text = |key: &str| n[key].as_str().map(str::to_string);
    let state = match n["state"].as_str() {
        Some("OPEN") => PrState::Open,
        Some("MERGED") => PrState::Merged,
        Some("CLOSED") => PrState::Closed,
        _ => return Err(bad("state")),
    };
    Ok(PullRequest {
        number: n["number"].as_u64().ok_or_else(|| bad("number"))?,
        state,
        title: text("title").unwrap_or_default(),
        body: text("body").unwrap_or_default(),
        head: text("headRefName").ok_or_else(|| bad("headRefName"))?,
        base: text("baseRefName").ok_or_else(|| bad("baseRefName"))?,
        head_sha: text("headRefOid").ok_or_else(|| bad("headRefOid"))?,
        draft: n["isDraft"].as_bool().unwrap_or(false),
        labels: n["labels"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["name"].as_str().map(str::to_string))
            .collect(),
        reviewers: Vec::new(),
        assignees: Vec::new(),
        url: text("url").unwrap_or_default(),
        merge_commit_sha: n["mergeCommit"]["oid"].as_str().map(str::to_string).filter(|_| state == PrState::Merged),
        node_id: text("id"),
        created_at: text("createdAt"),
        merged_at: text("mergedAt"),
        closed_at: text("closedAt"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_review_and_mergeability_map_to_the_forge_types() {
        let repo = RepoId::new("acme", "api");
        let node = |state: &str, rollup: Value, review: Value, mergeable: &str| {
            json!({
                "id": "PR_x", "number": 3, "url": "u", "title": "t", "body": null, "state": state, "isDraft": false,
                "headRefName": "convoy/x", "headRefOid": "abc", "baseRefName": "main",
                "createdAt": "2024-01-02T03:04:05Z", "mergedAt": null, "closedAt": null,
                "mergeable": mergeable, "reviewDecision": review, "mergeCommit": null,
                "labels": {"nodes": [{"name": "convoy"}]},
                "commits": {"nodes": [{"commit": {"statusCheckRollup": rollup}}]},
            })
        };
        let cases = [
            (json!({"state": "ERROR"}), Some(CheckState::Failure)),
            (json!({"state": "FAILURE"}), Some(CheckState::Failure)),
            (json!({"state": "EXPECTED"}), Some(CheckState::Pending)),
            (json!({"state": "PENDING"}), Some(CheckState::Pending)),
            (json!({"state": "SUCCESS"}), Some(CheckState::Success)),
            (Value::Null, None),
        ];
        for (rollup, want) in cases {
            let s = parse_pull(&node("OPEN", rollup, json!("APPROVED"), "CONFLICTING"), &repo).unwrap();
            assert_eq!(s.checks, want);
            assert_eq!((s.review, s.mergeable), (Some(ReviewDecision::Approved), Mergeable::Conflicting));
            assert_eq!(s.pr.labels, ["convoy"]);
            assert_eq!(s.pr.created_at.as_deref(), Some("2024-01-02T03:04:05Z"));
        }
        let closed = parse_pull(&node("CLOSED", json!({"state": "FAILURE"}), Value::Null, "UNKNOWN"), &repo).unwrap();
        assert_eq!((closed.pr.state, closed.checks, closed.review), (PrState::Closed, None, None));
    }

    #[test]
    fn an_alias_that_failed_fails_alone() {
        let answer = json!({
            "data": {"r0": {"pullRequests": {"nodes": []}}, "r1": null},
            "errors": [{"type": "NOT_FOUND", "path": ["r1"], "message": "Could not resolve to a Repository with the name 'acme/gone'."}],
        });
        assert!(alias_error(&answer, "r0").is_none());
        let e = alias_error(&answer, "r1").unwrap();
        assert!(matches!(e, ForgeError::NotFound(ref m) if m.contains("acme/gone")), "{e}");
        let refused = json!({"errors": [{"message": "Parse error"}]});
        assert!(alias_error(&refused, "r0").unwrap().to_string().contains("Parse error"));
    }
}
