//! Batched pull request updates: GraphQL documents of several `updatePullRequest` mutations.
//!
//! GitHub's content limits (80 content-generating requests a minute, 500 an hour) and its
//! secondary-limit points (5 per GraphQL request with mutations) count requests, and convoy sends
//! content-creating requests one at a time. A campaign's second pass (sibling links, labels) is
//! one update per pull request; sent `graphql_batch` to a document, N paced writes become
//! N / `graphql_batch`.
//!
//! What cannot go in a document goes through REST as before: pull requests whose node id is
//! unknown, and updates that set assignees (GraphQL takes user node ids) or a state. The label
//! ids come from one GraphQL query (a read, not paced) per 50 repositories; labels a repository
//! lacks (a campaign's first run) are made by `createLabel` mutations, also `graphql_batch` to a
//! document, since GraphQL, unlike REST, does not create the labels it is given. An update whose
//! label could not be made goes through REST, which creates it. A mutation that fails inside a document
//! is tried again alone through REST, which answers with the error a REST caller would see. Every
//! field of an update is an absolute value, so a document whose answer was lost is safe to send
//! again.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::GithubForge;
use super::api::Repeat;
use crate::forge::{ForgeError, ForgeResult, PullRequestBatchItem, RepoId, update_one_by_one};

/// Repositories per label-lookup query (each asks for a few labels: far below GitHub's node
/// limits).
const LABEL_QUERY_REPOS: usize = 50;

/// Label node ids by repository and lower-cased name (GitHub's label names are unique without
/// regard to case).
type LabelIds = HashMap<(RepoId, String), String>;

impl GithubForge {
    pub(super) async fn batch_update(
        &self,
        items: &[PullRequestBatchItem],
        concurrency: usize,
    ) -> Vec<ForgeResult<()>> {
        let size = self.api.limits().update_batch;
        let mut results: Vec<Option<ForgeResult<()>>> = items.iter().map(|_| None).collect();
        let eligible: Vec<usize> =
            if size > 1 { (0..items.len()).filter(|&n| batchable(&items[n])).collect() } else { Vec::new() };
        // One update alone is one write either way, and through REST it needs no label lookup.
        if eligible.len() > 1 {
            let mut labels = self.label_ids(items, &eligible).await;
            self.create_missing_labels(items, &eligible, &mut labels, size).await;
            let ready: Vec<(usize, Value)> =
                eligible.iter().filter_map(|&n| mutation_input(&items[n], &labels).map(|input| (n, input))).collect();
            for chunk in ready.chunks(size) {
                for (n, applied) in self.send_updates(items, chunk).await {
                    if applied {
                        results[n] = Some(Ok(()));
                    }
                }
            }
        }
        let rest: Vec<usize> = (0..items.len()).filter(|&n| results[n].is_none()).collect();
        let done = update_one_by_one(self, items, rest.clone(), concurrency).await;
        for (n, result) in rest.into_iter().zip(done) {
            results[n] = Some(result);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ForgeError::Remote("pull request update left unanswered".into()))))
            .collect()
    }

    /// The node ids of the labels the eligible updates set, from aliased
    /// `repository { label(name:) }` lookups. A failed lookup leaves its repositories out (their
    /// updates go through REST).
    async fn label_ids(&self, items: &[PullRequestBatchItem], eligible: &[usize]) -> LabelIds {
        let mut wanted: Vec<(RepoId, BTreeSet<String>)> = Vec::new();
        for &n in eligible {
            let item = &items[n];
            let Some(names) = item.update.labels.as_ref().filter(|l| !l.is_empty()) else { continue };
            let slot = match wanted.iter().position(|(r, _)| *r == item.repo) {
                Some(i) => i,
                None => {
                    wanted.push((item.repo.clone(), BTreeSet::new()));
                    wanted.len() - 1
                }
            };
            wanted[slot].1.extend(names.iter().map(|l| l.to_lowercase()));
        }
        let mut ids = LabelIds::new();
        for chunk in wanted.chunks(LABEL_QUERY_REPOS) {
            let mut declarations = Vec::new();
            let mut fields = Vec::new();
            let mut variables = Map::new();
            for (r, (repo, names)) in chunk.iter().enumerate() {
                declarations.push(format!("$o{r}: String!, $n{r}: String!"));
                variables.insert(format!("o{r}"), json!(repo.owner));
                variables.insert(format!("n{r}"), json!(repo.name));
                let mut labels = Vec::new();
                for (l, name) in names.iter().enumerate() {
                    declarations.push(format!("$l{r}_{l}: String!"));
                    variables.insert(format!("l{r}_{l}"), json!(name));
                    labels.push(format!("l{l}: label(name: $l{r}_{l}) {{ id }}"));
                }
                fields.push(format!("r{r}: repository(owner: $o{r}, name: $n{r}) {{ {} }}", labels.join(" ")));
            }
            let query = format!("query LabelIds({}) {{ {} }}", declarations.join(", "), fields.join(" "));
            let answer = match self.api.graphql_query(&query, Value::Object(variables)).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!("label lookup failed, those updates go through REST: {e}");
                    continue;
                }
            };
            for (r, (repo, names)) in chunk.iter().enumerate() {
                for (l, name) in names.iter().enumerate() {
                    if let Some(id) = answer["data"][format!("r{r}")][format!("l{l}")]["id"].as_str() {
                        ids.insert((repo.clone(), name.clone()), id.to_string());
                    }
                }
            }
        }
        ids
    }

    /// Make the labels the eligible updates set that their repositories lack, `size` to a
    /// document, and note their ids. Creating is not idempotent: a document whose answer is lost
    /// is not sent again, and its updates go through REST.
    async fn create_missing_labels(
        &self,
        items: &[PullRequestBatchItem],
        eligible: &[usize],
        ids: &mut LabelIds,
        size: usize,
    ) {
        let node_ids = self.node_ids.lock().map(|m| m.clone()).unwrap_or_default();
        let mut missing: Vec<((RepoId, String), Value)> = Vec::new();
        for &n in eligible {
            let item = &items[n];
            let Some(repo_node) = node_ids.get(&item.repo) else { continue };
            for name in item.update.labels.iter().flatten() {
                let key = (item.repo.clone(), name.to_lowercase());
                if !ids.contains_key(&key) && !missing.iter().any(|(k, _)| *k == key) {
                    // Grey, as GitHub colours the labels REST creates on the fly.
                    missing.push((key, json!({ "repositoryId": repo_node, "name": name, "color": "ededed" })));
                }
            }
        }
        for chunk in missing.chunks(size) {
            let (document, variables) = mutations(
                "CreateLabels",
                "createLabel",
                "CreateLabelInput",
                "label { id }",
                chunk.iter().map(|(_, i)| i),
            );
            match self.api.graphql_document(&document, variables, Repeat::CheckFirst).await {
                Ok(answer) => {
                    for (k, (key, _)) in chunk.iter().enumerate() {
                        if let Some(id) = answer["data"][format!("m{k}")]["label"]["id"].as_str() {
                            ids.insert(key.clone(), id.to_string());
                        }
                    }
                }
                Err(e) => tracing::warn!("creating labels failed, those updates go through REST: {e}"),
            }
        }
    }

    /// One document of `updatePullRequest` mutations; which of them applied.
    async fn send_updates(&self, items: &[PullRequestBatchItem], chunk: &[(usize, Value)]) -> Vec<(usize, bool)> {
        let (document, variables) = mutations(
            "UpdatePullRequests",
            "updatePullRequest",
            "UpdatePullRequestInput",
            "pullRequest { number }",
            chunk.iter().map(|(_, i)| i),
        );
        let answer = match self.api.graphql_document(&document, variables, Repeat::Safe).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!("batched pull request update failed, sending each through REST: {e}");
                return chunk.iter().map(|(n, _)| (*n, false)).collect();
            }
        };
        let failed: BTreeSet<&str> =
            answer["errors"].as_array().into_iter().flatten().filter_map(|e| e["path"][0].as_str()).collect();
        chunk
            .iter()
            .enumerate()
            .map(|(k, (n, _))| {
                let key = format!("m{k}");
                let applied = !failed.contains(key.as_str()) && answer["data"][&key]["pullRequest"]["number"].is_u64();
                if !applied {
                    let item = &items[*n];
                    tracing::debug!(repo = %item.repo, number = item.pr.number, "batched update refused; trying REST");
                }
                (*n, applied)
            })
            .collect()
    }
}

/// A document `mutation NAME($m0: INPUT!, ...) { m0: FIELD(input: $m0) { SELECTION } ... }` of one
/// aliased mutation per input, and its variables.
fn mutations<'v>(
    name: &str,
    field: &str,
    input_type: &str,
    selection: &str,
    inputs: impl Iterator<Item = &'v Value>,
) -> (String, Value) {
    let mut declarations = Vec::new();
    let mut fields = Vec::new();
    let mut variables = Map::new();
    for (k, input) in inputs.enumerate() {
        declarations.push(format!("$m{k}: {input_type}!"));
        fields.push(format!("m{k}: {field}(input: $m{k}) {{ {selection} }}"));
        variables.insert(format!("m{k}"), input.clone());
    }
    (format!("mutation {name}({}) {{ {} }}", declarations.join(", "), fields.join(" ")), Value::Object(variables))
}

/// Whether an update can be one mutation of a document.
fn batchable(item: &PullRequestBatchItem) -> bool {
    let u = &item.update;
    item.pr.node_id.is_some()
        && u.assignees.is_none()
        && u.state.is_none()
        && u.base.is_none()
        && (u.title.is_some() || u.body.is_some() || u.labels.is_some())
}

/// The `UpdatePullRequestInput` of an update, `None` when one of its labels has no known id.
fn mutation_input(item: &PullRequestBatchItem, labels: &LabelIds) -> Option<Value> {
    let mut input = json!({ "pullRequestId": item.pr.node_id.as_deref()? });
    if let Some(title) = &item.update.title {
        input["title"] = json!(title);
    }
    if let Some(body) = &item.update.body {
        input["body"] = json!(body);
    }
    if let Some(names) = &item.update.labels {
        let ids: Option<Vec<&String>> =
            names.iter().map(|name| labels.get(&(item.repo.clone(), name.to_lowercase()))).collect();
        input["labelIds"] = json!(ids?);
    }
    Some(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{PrState, PullRequest, PullRequestUpdate};

    fn item(node: Option<&str>, update: PullRequestUpdate) -> PullRequestBatchItem {
        PullRequestBatchItem {
            repo: RepoId::new("acme", "api"),
            pr: PullRequest {
                number: 7,
                state: PrState::Open,
                title: "t".into(),
                body: String::new(),
                head: "convoy/x".into(),
                base: "main".into(),
                head_sha: "0".repeat(40),
                draft: false,
                labels: Vec::new(),
                reviewers: Vec::new(),
                assignees: Vec::new(),
                url: String::new(),
                merge_commit_sha: None,
                node_id: node.map(str::to_string),
                created_at: None,
                merged_at: None,
                closed_at: None,
            },
            update,
        }
    }

    #[test]
    fn only_updates_a_document_can_express_are_batched() {
        let body = || PullRequestUpdate { body: Some("b".into()), ..Default::default() };
        assert!(batchable(&item(Some("PR_1"), body())));
        assert!(!batchable(&item(None, body())), "no node id");
        assert!(!batchable(&item(Some("PR_1"), PullRequestUpdate { assignees: Some(vec!["a".into()]), ..body() })));
        assert!(!batchable(&item(Some("PR_1"), PullRequestUpdate { state: Some(PrState::Closed), ..body() })));
        assert!(!batchable(&item(Some("PR_1"), PullRequestUpdate::default())), "nothing to change");
    }

    #[test]
    fn documents_alias_one_mutation_per_input() {
        let inputs = [json!({ "a": 1 }), json!({ "a": 2 })];
        let (document, variables) = mutations("M", "updatePullRequest", "UpdatePullRequestInput", "x", inputs.iter());
        assert_eq!(
            document,
            "mutation M($m0: UpdatePullRequestInput!, $m1: UpdatePullRequestInput!) { \
             m0: updatePullRequest(input: $m0) { x } m1: updatePullRequest(input: $m1) { x } }"
        );
        assert_eq!(variables, json!({ "m0": { "a": 1 }, "m1": { "a": 2 } }));
    }

    #[test]
    fn labels_need_known_ids_matched_without_case() {
        let update = PullRequestUpdate {
            title: Some("T".into()),
            labels: Some(vec!["Convoy".into(), "keep".into()]),
            ..Default::default()
        };
        let it = item(Some("PR_1"), update);
        let mut ids = LabelIds::new();
        ids.insert((it.repo.clone(), "convoy".into()), "LA_1".into());
        assert_eq!(mutation_input(&it, &ids), None, "`keep` has no id: REST creates it");
        ids.insert((it.repo.clone(), "keep".into()), "LA_2".into());
        assert_eq!(
            mutation_input(&it, &ids),
            Some(json!({ "pullRequestId": "PR_1", "title": "T", "labelIds": ["LA_1", "LA_2"] }))
        );
    }
}
