//! [`Forge::revert_pull_request`](crate::forge::Forge::revert_pull_request) on GitHub: one
//! GraphQL mutation, `revertPullRequest`
//! (<https://docs.github.com/en/graphql/reference/mutations#revertpullrequest>), input
//! `RevertPullRequestInput { pullRequestId: ID!, title, body, draft }`. GitHub makes the branch
//! `revert-<number>-<head branch>` off the base's head, the revert commit on it and the pull
//! request into the original's base, as the Revert button on a merged pull request does; the
//! payload's `revertPullRequest` is the new pull request, read as the status query reads pull
//! requests ([`pull_request_from_graphql`]). An empty `title` or `body` is left out, so GitHub's
//! own (`Revert "<title>"`, `Reverts <owner>/<repo>#<number>`) is used.
//!
//! What the answers become:
//!
//! - A pull request that is not merged is [`ForgeError::Invalid`] before anything is sent (a
//!   merged pull request stays merged, so `pr.state` can be trusted to say it); one with no
//!   `node_id` is read first (`GET /pulls/{n}`) for its node id and state.
//! - An `UNPROCESSABLE` field error: the pull request is read back; not merged is `Invalid`,
//!   otherwise [`ForgeError::Conflict`]: the revert does not apply cleanly (a later change to the
//!   same lines), it changes nothing (reverted already), or the revert branch exists. GitHub
//!   documents no wording that tells these apart, and they all leave the branch as it was.
//! - `NOT_FOUND` (an unknown node, or a repository the token cannot see) is
//!   [`ForgeError::NotFound`]; any other error [`ForgeError::Remote`], with GitHub's message.
//! - A lost answer: the revert pull request is looked up on its branch; found, it is the answer,
//!   otherwise [`ForgeError::Partial`] (the branch may exist without a pull request).

use serde_json::{Value, json};

use super::GithubForge;
use super::api::{ApiError, Repeat};
use super::pr_status::pull_request_from_graphql;
use crate::forge::{Forge, ForgeError, ForgeResult, NewRevert, PrState, PullRequest, RepoId, revert_branch};

/// The mutation and the fields of the new pull request [`pull_request_from_graphql`] reads.
const REVERT_MUTATION: &str = "mutation RevertPullRequest($input: RevertPullRequestInput!) {
  revertPullRequest(input: $input) {
    revertPullRequest {
      id number url title body state isDraft headRefName headRefOid baseRefName
      createdAt mergedAt closedAt
      mergeCommit { oid }
      labels(first: 20) { nodes { name } }
    }
  }
}";

fn not_merged(repo: &RepoId, pr: &PullRequest) -> ForgeError {
    ForgeError::Invalid(format!("pull request #{} of {repo} is not merged, so there is nothing to revert", pr.number))
}

/// `RevertPullRequestInput` for `node`: title and body only when given.
fn revert_input(node: &str, revert: &NewRevert) -> Value {
    let mut input = json!({"pullRequestId": node, "draft": revert.draft});
    if !revert.title.trim().is_empty() {
        input["title"] = json!(revert.title);
    }
    if !revert.body.is_empty() {
        input["body"] = json!(revert.body);
    }
    input
}

impl GithubForge {
    pub(super) async fn revert(&self, repo: &RepoId, pr: &PullRequest, revert: &NewRevert) -> ForgeResult<PullRequest> {
        if pr.state != PrState::Merged {
            return Err(not_merged(repo, pr));
        }
        let node = match &pr.node_id {
            Some(node) => node.clone(),
            None => {
                let fresh = self.get_pull_request(repo, pr.number).await?;
                if fresh.state != PrState::Merged {
                    return Err(not_merged(repo, pr));
                }
                fresh.node_id.ok_or_else(|| {
                    ForgeError::Remote(format!("GitHub's pull request #{} of {repo} has no node_id", pr.number))
                })?
            }
        };
        let variables = json!({"input": revert_input(&node, revert)});
        let answer = match self.api.graphql_document(REVERT_MUTATION, variables, Repeat::CheckFirst).await {
            Ok(answer) => answer,
            Err(ApiError::Ambiguous { cause, .. }) => return self.revert_after_lost_answer(repo, pr, &cause).await,
            Err(e) => return Err(e.into()),
        };
        let new = &answer["data"]["revertPullRequest"]["revertPullRequest"];
        if new.is_object() {
            return pull_request_from_graphql(new, repo);
        }
        let errors: Vec<&Value> = answer["errors"].as_array().into_iter().flatten().collect();
        let text = errors.iter().filter_map(|e| e["message"].as_str()).collect::<Vec<_>>().join("; ");
        let what = format!("reverting pull request #{} of {repo}", pr.number);
        let kind = |t: &str| errors.iter().any(|e| e["type"].as_str() == Some(t));
        if kind("NOT_FOUND") {
            return Err(ForgeError::NotFound(format!("{what}: {text}")));
        }
        if kind("UNPROCESSABLE") {
            // The words differ by cause and GitHub documents none: the pull request's state
            // tells a refusal to revert what is not merged from one to revert what is.
            if self.get_pull_request(repo, pr.number).await?.state != PrState::Merged {
                return Err(not_merged(repo, pr));
            }
            return Err(ForgeError::Conflict(format!("{what}: {text}")));
        }
        Err(ForgeError::Remote(if text.is_empty() {
            format!("{what}: no pull request in GitHub's answer")
        } else {
            format!("{what}: {text}")
        }))
    }

    /// The mutation's answer was lost: the revert pull request, if GitHub made it.
    async fn revert_after_lost_answer(&self, repo: &RepoId, pr: &PullRequest, cause: &str) -> ForgeResult<PullRequest> {
        let branch = revert_branch(pr);
        let made = self.find_pull_requests(repo, &branch).await?.into_iter().find(|p| p.base == pr.base);
        made.ok_or_else(|| {
            ForgeError::Partial(format!(
                "reverting pull request #{} of {repo}: the answer was lost ({cause}) and there is no pull request from {branch}; the branch itself may have been made",
                pr.number
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_title_or_body_leaves_githubs_own() {
        let given = NewRevert { title: "Back out".into(), body: "Broke it".into(), draft: true };
        assert_eq!(
            revert_input("PR_1", &given),
            json!({"pullRequestId": "PR_1", "title": "Back out", "body": "Broke it", "draft": true})
        );
        assert_eq!(revert_input("PR_1", &NewRevert::default()), json!({"pullRequestId": "PR_1", "draft": false}));
    }
}
