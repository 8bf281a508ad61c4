//! GraphQL: `POST /graphql` (github.com) and `POST /api/graphql` (GHES), over the subset of
//! GitHub's schema in [`OBJECTS`], [`ARGUMENTS`] and [`INPUTS`], parsed with `async-graphql-parser`.
//!
//! A request goes through what GitHub's GraphQL server does, in order (always HTTP 200 once the
//! caller is authenticated, 401 `This endpoint requires you to be authenticated.` before):
//!
//! 1. Parse. A syntax error answers `{"errors": [{"message", "locations": [{"line", "column"}]}]}`
//!    with graphql-ruby's words (`Parse error on "}" (RCURLY) at [1, 28]`,
//!    `Unexpected end of document`) and no `data`.
//! 2. Pick the operation: the only one, or the one `operationName` names; else
//!    `{"errors": [{"message": "An operation name is required"}]}` or `No operation named "x"`.
//! 3. Validate the operation against the schema (fields, arguments, input objects, enums,
//!    fragments, `@skip`/`@include`, variable declarations and usages), then coerce the variables
//!    (`Variable $input of type CreateRefInput! was provided invalid value for oid (Expected value
//!    to not be null)`, with `extensions: {value, problems: [{path, explanation}]}`). Any problem
//!    answers `{"errors": [{"message", "locations"}...]}` without `data`, and nothing runs.
//! 4. Execute the top-level fields in document order (mutations one after the other). `data` is
//!    keyed by alias-or-name, each result pruned to its selection set. A field that fails answers
//!    `null` under its key and an entry `{"type", "path": [key], "locations", "message"}` in
//!    `errors`; the other fields still run.
//!
//! Failures of the mutations (`type`: message):
//!
//! - any: `NOT_FOUND`: `Could not resolve to a node with the global id of 'ID'.` (an unknown
//!   node, or a repository the token cannot see); `UNPROCESSABLE`: `Repository was archived so is
//!   read-only.`
//! - `createRef`: `UNPROCESSABLE`: `A ref named "refs/heads/x" already exists in the repository.`,
//!   or `'x' is not a valid ref name: it must be fully qualified, e.g. 'refs/heads/x'.`;
//!   `NOT_FOUND`: `Could not resolve to a GitObject with the oid of 'OID'.`
//! - `createCommitOnBranch`: `STALE_DATA`: `Expected branch to point to "OID" but it did not. Pull
//!   and try again.`; `NOT_FOUND`: `Could not resolve to a Ref with the name 'refs/heads/x'.` or
//!   `Could not resolve to a Repository with the name 'o/r'.`; `UNPROCESSABLE`: ``A path was
//!   requested for deletion which does not exist as of commit oid `OID` ``, `The contents of "p"
//!   are not valid Base64.`, `The path "p" is invalid.`, `The path "p" appears more than once: ...`.
//! - `createPullRequest`: `UNPROCESSABLE` with `POST /pulls`' validations in words joined by `, `:
//!   `A pull request already exists for owner:branch.`, `No commits between main and x`,
//!   `Head sha can't be blank, Head ref must be a branch`, `Title can't be blank`.
//! - `enablePullRequestAutoMerge`: `UNPROCESSABLE`: `Pull request Auto merge is not allowed for
//!   this repository`, `Pull request Pull request is closed`, `Head sha didn't match expected head
//!   sha`.
//!
//! - `updatePullRequest`: `NOT_FOUND` for a `labelIds` entry that is not a label of the pull
//!   request's repository; `UNPROCESSABLE`: `Title can't be blank`, the state changes' words, and
//!   `assigneeIds`/`baseRefName`/`milestoneId`/`projectIds` (not kept by this server).
//!
//! - `createLabel`: `UNPROCESSABLE`: `Name has already been taken` (names are unique without
//!   regard to case), `Color is invalid` (six hex digits, no `#`), `Name can't be blank`.
//!
//! - `revertPullRequest`: `UNPROCESSABLE`: `Pull request must be merged to be reverted.` (GitHub
//!   documents no wording for this one; these are the server's), `A ref named
//!   "refs/heads/revert-1-x" already exists in the repository.`, and for a revert that does not
//!   apply cleanly or changes nothing (reverted already) the words of GitHub's Revert button:
//!   `Sorry, this pull request couldn't be reverted automatically. It may have already been
//!   reverted, or the content may have changed since it was merged.`; `NOT_FOUND` for a base
//!   branch that no longer exists. None of them leaves a branch, commit or pull request behind.
//!
//! Nested fields with arguments ([`FIELD_ARGUMENTS`]): the parent's value holds everything the
//! field could answer, and the arguments pick from it while the value is pruned:
//!
//! - `Repository.label(name:)` (case-insensitive, `null` when the repository has no such label).
//! - `Repository.pullRequests(states:, labels:, headRefName:, baseRefName:, orderBy:, first:,
//!   last:, after:, before:)`, `PullRequest.labels(first:, …)` and `PullRequest.commits(first:,
//!   …)` (oldest first, so `last: 1` is the head commit): connections with `nodes`, `edges`,
//!   `totalCount` and `pageInfo`, cut by cursors as the Relay connection specification says.
//!   Every connection needs `first` or `last`, at most 100 (`MISSING_PAGINATION_BOUNDARIES`,
//!   `EXCESSIVE_PAGINATION`), and a document may ask for at most 500,000 nodes, counted as
//!   GitHub counts them (`MAX_NODE_LIMIT_EXCEEDED`); these answer without `data`.
//!
//! `PullRequest` also has `mergeable` (`MERGEABLE`/`CONFLICTING` from the trial merge REST's
//! `mergeable` uses; `UNKNOWN` when closed), `reviewDecision` (`null` unless the default branch
//! requires approving reviews, [`crate::RepoOptions::required_approving_review_count`]; then
//! `CHANGES_REQUESTED`, `APPROVED` or `REVIEW_REQUIRED` from each reviewer's latest review),
//! `mergedAt`, `closedAt` and `mergeCommit`; `Commit.statusCheckRollup.state` folds the commit's
//! latest statuses and check runs (`null` with none; `EXPECTED` while a required check has not
//! reported). A repository's pull requests, a trial merge and a commit list are computed only
//! when the selection asks for them.
//!
//! `Ref.name` is the short name (`main`) and `Ref.prefix` the rest (`refs/heads/`), as on GitHub.
//! Object keys in responses come out in alphabetical order (JSON objects are unordered).

use std::collections::{HashMap, HashSet};
use std::fmt;

use async_graphql_parser::types::{
    BaseType, Directive, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet, Type,
};
use async_graphql_parser::{Pos, Positioned};
use async_graphql_value::{ConstValue, Value as GqlValue};
use axum::http::StatusCode;
use base64::Engine;
use gix::objs::tree::EntryKind;
use gix::refs::transaction::PreviousValue;
use serde_json::{Map, Value, json};

use crate::git;
use crate::git_data;
use crate::http::{ApiError, ApiReq, ApiResult, Base, Reply};
use crate::json;
use crate::pulls::{self, NewPull};
use crate::state::{AutoMergeRec, Identity, LabelRec, Pull, Repo, Shared, State, now};

// ----- schema -----

/// Output types (objects and interfaces) and their fields, with GitHub's type names.
const OBJECTS: &[(&str, &[(&str, &str)])] = &[
    ("Query", &[("viewer", "User!"), ("repository", "Repository")]),
    (
        "Mutation",
        &[
            ("enablePullRequestAutoMerge", "EnablePullRequestAutoMergePayload"),
            ("disablePullRequestAutoMerge", "DisablePullRequestAutoMergePayload"),
            ("createRef", "CreateRefPayload"),
            ("createCommitOnBranch", "CreateCommitOnBranchPayload"),
            ("createPullRequest", "CreatePullRequestPayload"),
            ("updatePullRequest", "UpdatePullRequestPayload"),
            ("createLabel", "CreateLabelPayload"),
            ("revertPullRequest", "RevertPullRequestPayload"),
        ],
    ),
    ("Node", &[("id", "ID!")]),
    ("Actor", &[("login", "String!"), ("url", "URI!"), ("avatarUrl", "URI!")]),
    ("RepositoryOwner", &[("id", "ID!"), ("login", "String!"), ("url", "URI!"), ("avatarUrl", "URI!")]),
    (
        "User",
        &[
            ("id", "ID!"),
            ("databaseId", "Int"),
            ("login", "String!"),
            ("name", "String"),
            ("url", "URI!"),
            ("avatarUrl", "URI!"),
        ],
    ),
    ("Bot", &[("id", "ID!"), ("databaseId", "Int"), ("login", "String!"), ("url", "URI!"), ("avatarUrl", "URI!")]),
    (
        "Organization",
        &[
            ("id", "ID!"),
            ("databaseId", "Int"),
            ("login", "String!"),
            ("name", "String"),
            ("url", "URI!"),
            ("avatarUrl", "URI!"),
        ],
    ),
    (
        "Repository",
        &[
            ("id", "ID!"),
            ("databaseId", "Int"),
            ("name", "String!"),
            ("nameWithOwner", "String!"),
            ("url", "URI!"),
            ("description", "String"),
            ("isPrivate", "Boolean!"),
            ("isArchived", "Boolean!"),
            ("isFork", "Boolean!"),
            ("autoMergeAllowed", "Boolean!"),
            ("owner", "RepositoryOwner!"),
            ("defaultBranchRef", "Ref"),
            ("label", "Label"),
            ("pullRequests", "PullRequestConnection!"),
        ],
    ),
    ("Label", &[("id", "ID!"), ("name", "String!"), ("color", "String!"), ("description", "String"), ("url", "URI!")]),
    ("Ref", &[("id", "ID!"), ("name", "String!"), ("prefix", "String!"), ("target", "GitObject")]),
    ("GitObject", &[("id", "ID!"), ("oid", "GitObjectID!"), ("abbreviatedOid", "String!"), ("commitUrl", "URI!")]),
    (
        "Commit",
        &[
            ("id", "ID!"),
            ("oid", "GitObjectID!"),
            ("abbreviatedOid", "String!"),
            ("commitUrl", "URI!"),
            ("url", "URI!"),
            ("message", "String!"),
            ("messageHeadline", "String!"),
            ("messageBody", "String!"),
            ("authoredDate", "DateTime!"),
            ("committedDate", "DateTime!"),
            ("author", "GitActor"),
            ("committer", "GitActor"),
            ("statusCheckRollup", "StatusCheckRollup"),
        ],
    ),
    ("StatusCheckRollup", &[("id", "ID!"), ("state", "StatusState!")]),
    ("Tree", &[("id", "ID!"), ("oid", "GitObjectID!"), ("abbreviatedOid", "String!"), ("commitUrl", "URI!")]),
    ("Blob", &[("id", "ID!"), ("oid", "GitObjectID!"), ("abbreviatedOid", "String!"), ("commitUrl", "URI!")]),
    ("Tag", &[("id", "ID!"), ("oid", "GitObjectID!"), ("abbreviatedOid", "String!"), ("commitUrl", "URI!")]),
    ("GitActor", &[("name", "String"), ("email", "String"), ("date", "GitTimestamp")]),
    (
        "PullRequest",
        &[
            ("id", "ID!"),
            ("databaseId", "Int"),
            ("number", "Int!"),
            ("url", "URI!"),
            ("permalink", "URI!"),
            ("title", "String!"),
            ("body", "String!"),
            ("state", "PullRequestState!"),
            ("isDraft", "Boolean!"),
            ("closed", "Boolean!"),
            ("merged", "Boolean!"),
            ("headRefName", "String!"),
            ("headRefOid", "GitObjectID!"),
            ("baseRefName", "String!"),
            ("baseRefOid", "GitObjectID!"),
            ("maintainerCanModify", "Boolean!"),
            ("createdAt", "DateTime!"),
            ("updatedAt", "DateTime!"),
            ("author", "Actor"),
            ("autoMergeRequest", "AutoMergeRequest"),
            ("mergedAt", "DateTime"),
            ("closedAt", "DateTime"),
            ("mergeCommit", "Commit"),
            ("mergeable", "MergeableState!"),
            ("reviewDecision", "PullRequestReviewDecision"),
            ("labels", "LabelConnection"),
            ("commits", "PullRequestCommitConnection!"),
        ],
    ),
    (
        "PullRequestConnection",
        &[
            ("nodes", "[PullRequest]"),
            ("edges", "[PullRequestEdge]"),
            ("totalCount", "Int!"),
            ("pageInfo", "PageInfo!"),
        ],
    ),
    ("PullRequestEdge", &[("cursor", "String!"), ("node", "PullRequest")]),
    (
        "LabelConnection",
        &[("nodes", "[Label]"), ("edges", "[LabelEdge]"), ("totalCount", "Int!"), ("pageInfo", "PageInfo!")],
    ),
    ("LabelEdge", &[("cursor", "String!"), ("node", "Label")]),
    (
        "PullRequestCommitConnection",
        &[
            ("nodes", "[PullRequestCommit]"),
            ("edges", "[PullRequestCommitEdge]"),
            ("totalCount", "Int!"),
            ("pageInfo", "PageInfo!"),
        ],
    ),
    ("PullRequestCommitEdge", &[("cursor", "String!"), ("node", "PullRequestCommit")]),
    ("PullRequestCommit", &[("id", "ID!"), ("commit", "Commit!"), ("url", "URI!")]),
    (
        "PageInfo",
        &[
            ("hasNextPage", "Boolean!"),
            ("hasPreviousPage", "Boolean!"),
            ("startCursor", "String"),
            ("endCursor", "String"),
        ],
    ),
    (
        "AutoMergeRequest",
        &[
            ("enabledAt", "DateTime"),
            ("mergeMethod", "PullRequestMergeMethod!"),
            ("commitHeadline", "String"),
            ("commitBody", "String"),
            ("enabledBy", "Actor"),
        ],
    ),
    (
        "EnablePullRequestAutoMergePayload",
        &[("clientMutationId", "String"), ("pullRequest", "PullRequest"), ("actor", "Actor")],
    ),
    (
        "DisablePullRequestAutoMergePayload",
        &[("clientMutationId", "String"), ("pullRequest", "PullRequest"), ("actor", "Actor")],
    ),
    ("CreateRefPayload", &[("clientMutationId", "String"), ("ref", "Ref")]),
    ("CreateCommitOnBranchPayload", &[("clientMutationId", "String"), ("commit", "Commit"), ("ref", "Ref")]),
    ("CreatePullRequestPayload", &[("clientMutationId", "String"), ("pullRequest", "PullRequest")]),
    ("UpdatePullRequestPayload", &[("clientMutationId", "String"), ("pullRequest", "PullRequest"), ("actor", "Actor")]),
    ("CreateLabelPayload", &[("clientMutationId", "String"), ("label", "Label")]),
    (
        "RevertPullRequestPayload",
        &[("clientMutationId", "String"), ("pullRequest", "PullRequest"), ("revertPullRequest", "PullRequest")],
    ),
];

/// The interfaces each object type implements.
const IMPLEMENTS: &[(&str, &[&str])] = &[
    ("User", &["Node", "Actor", "RepositoryOwner"]),
    ("Organization", &["Node", "Actor", "RepositoryOwner"]),
    ("Bot", &["Node", "Actor"]),
    ("Repository", &["Node"]),
    ("Ref", &["Node"]),
    ("PullRequest", &["Node"]),
    ("Label", &["Node"]),
    ("PullRequestCommit", &["Node"]),
    ("StatusCheckRollup", &["Node"]),
    ("Commit", &["Node", "GitObject"]),
    ("Tree", &["Node", "GitObject"]),
    ("Blob", &["Node", "GitObject"]),
    ("Tag", &["Node", "GitObject"]),
];

/// Arguments of the top-level fields.
const ARGUMENTS: &[(&str, &[(&str, &str)])] = &[
    ("repository", &[("owner", "String!"), ("name", "String!"), ("followRenames", "Boolean")]),
    ("enablePullRequestAutoMerge", &[("input", "EnablePullRequestAutoMergeInput!")]),
    ("disablePullRequestAutoMerge", &[("input", "DisablePullRequestAutoMergeInput!")]),
    ("createRef", &[("input", "CreateRefInput!")]),
    ("createCommitOnBranch", &[("input", "CreateCommitOnBranchInput!")]),
    ("createPullRequest", &[("input", "CreatePullRequestInput!")]),
    ("updatePullRequest", &[("input", "UpdatePullRequestInput!")]),
    ("createLabel", &[("input", "CreateLabelInput!")]),
    ("revertPullRequest", &[("input", "RevertPullRequestInput!")]),
];

/// A nested field that takes arguments: its parent's value holds everything the field could
/// answer (every label of the repository, every pull request), and `apply` picks what the
/// arguments ask for when the value is pruned to the selection (see [`prune_into`]).
#[derive(Clone, Copy)]
struct NestedField {
    args: &'static [(&'static str, &'static str)],
    apply: fn(&Value, &Map<String, Value>) -> Value,
}

/// The arguments every connection takes (GitHub's cursor pagination).
const PAGE_ARGS: &[(&str, &str)] = &[("first", "Int"), ("last", "Int"), ("after", "String"), ("before", "String")];

/// Arguments of nested fields (`Type.field`).
const FIELD_ARGUMENTS: &[(&str, NestedField)] = &[
    ("Repository.label", NestedField { args: &[("name", "String!")], apply: apply_label }),
    (
        "Repository.pullRequests",
        NestedField {
            args: &[
                ("first", "Int"),
                ("last", "Int"),
                ("after", "String"),
                ("before", "String"),
                ("states", "[PullRequestState!]"),
                ("labels", "[String!]"),
                ("headRefName", "String"),
                ("baseRefName", "String"),
                ("orderBy", "IssueOrder"),
            ],
            apply: apply_pull_requests,
        },
    ),
    ("PullRequest.labels", NestedField { args: PAGE_ARGS, apply: apply_labels }),
    ("PullRequest.commits", NestedField { args: PAGE_ARGS, apply: apply_commits }),
];

/// GitHub's largest page (`first`/`last`) and the most nodes one document may ask for
/// (<https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#node-limit>).
const MAX_PAGE: i64 = 100;
const MAX_NODES: i64 = 500_000;

/// Input object types and their fields.
const INPUTS: &[(&str, &[(&str, &str)])] = &[
    ("IssueOrder", &[("field", "IssueOrderField!"), ("direction", "OrderDirection!")]),
    (
        "EnablePullRequestAutoMergeInput",
        &[
            ("pullRequestId", "ID!"),
            ("mergeMethod", "PullRequestMergeMethod"),
            ("commitHeadline", "String"),
            ("commitBody", "String"),
            ("expectedHeadOid", "GitObjectID"),
            ("authorEmail", "String"),
            ("clientMutationId", "String"),
        ],
    ),
    ("DisablePullRequestAutoMergeInput", &[("pullRequestId", "ID!"), ("clientMutationId", "String")]),
    (
        "CreateRefInput",
        &[("repositoryId", "ID!"), ("name", "String!"), ("oid", "GitObjectID!"), ("clientMutationId", "String")],
    ),
    (
        "CreateCommitOnBranchInput",
        &[
            ("branch", "CommittableBranch!"),
            ("expectedHeadOid", "GitObjectID!"),
            ("message", "CommitMessage!"),
            ("fileChanges", "FileChanges"),
            ("clientMutationId", "String"),
        ],
    ),
    ("CommittableBranch", &[("id", "ID"), ("repositoryNameWithOwner", "String"), ("branchName", "String")]),
    ("CommitMessage", &[("headline", "String!"), ("body", "String")]),
    ("FileChanges", &[("additions", "[FileAddition!]"), ("deletions", "[FileDeletion!]")]),
    ("FileAddition", &[("path", "String!"), ("contents", "Base64String!")]),
    ("FileDeletion", &[("path", "String!")]),
    (
        "CreatePullRequestInput",
        &[
            ("repositoryId", "ID!"),
            ("baseRefName", "String!"),
            ("headRefName", "String!"),
            ("headRepositoryId", "ID"),
            ("title", "String!"),
            ("body", "String"),
            ("draft", "Boolean"),
            ("maintainerCanModify", "Boolean"),
            ("clientMutationId", "String"),
        ],
    ),
    (
        "UpdatePullRequestInput",
        &[
            ("pullRequestId", "ID!"),
            ("baseRefName", "String"),
            ("title", "String"),
            ("body", "String"),
            ("state", "PullRequestUpdateState"),
            ("maintainerCanModify", "Boolean"),
            ("assigneeIds", "[ID!]"),
            ("milestoneId", "ID"),
            ("labelIds", "[ID!]"),
            ("projectIds", "[ID!]"),
            ("clientMutationId", "String"),
        ],
    ),
    (
        "CreateLabelInput",
        &[
            ("repositoryId", "ID!"),
            ("name", "String!"),
            ("color", "String!"),
            ("description", "String"),
            ("clientMutationId", "String"),
        ],
    ),
    (
        "RevertPullRequestInput",
        &[
            ("pullRequestId", "ID!"),
            ("title", "String"),
            ("body", "String"),
            ("draft", "Boolean"),
            ("clientMutationId", "String"),
        ],
    ),
];

const ENUMS: &[(&str, &[&str])] = &[
    ("PullRequestMergeMethod", &["MERGE", "SQUASH", "REBASE"]),
    ("PullRequestState", &["OPEN", "CLOSED", "MERGED"]),
    ("PullRequestUpdateState", &["OPEN", "CLOSED"]),
    ("IssueOrderField", &["CREATED_AT", "UPDATED_AT", "COMMENTS"]),
    ("OrderDirection", &["ASC", "DESC"]),
    ("MergeableState", &["MERGEABLE", "CONFLICTING", "UNKNOWN"]),
    ("PullRequestReviewDecision", &["CHANGES_REQUESTED", "APPROVED", "REVIEW_REQUIRED"]),
    ("StatusState", &["EXPECTED", "ERROR", "FAILURE", "PENDING", "SUCCESS"]),
];

const SCALARS: &[&str] =
    &["String", "ID", "Int", "Float", "Boolean", "GitObjectID", "Base64String", "URI", "DateTime", "GitTimestamp"];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn field_type(parent: &str, field: &str) -> Option<&'static str> {
    lookup(OBJECTS, parent).and_then(|fields| lookup(fields, field))
}

fn is_composite(name: &str) -> bool {
    lookup(OBJECTS, name).is_some()
}

fn implements(object: &str, interface: &str) -> bool {
    lookup(IMPLEMENTS, object).is_some_and(|list| list.contains(&interface))
}

/// Whether a fragment on `cond` can apply inside a selection on `parent` (statically).
fn fragment_fits(cond: &str, parent: &str) -> bool {
    cond == parent
        || implements(parent, cond)
        || implements(cond, parent)
        || IMPLEMENTS.iter().any(|(_, list)| list.contains(&cond) && list.contains(&parent))
}

/// The innermost named type of `[Foo!]!`.
fn named(ty: &str) -> &str {
    ty.trim_matches(|c| c == '[' || c == ']' || c == '!')
}

/// A GraphQL type reference (`ID!`, `[FileAddition!]`).
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Named(String, bool),
    List(Box<Ty>, bool),
}

impl Ty {
    fn parse(s: &str) -> Ty {
        let (inner, non_null) = match s.strip_suffix('!') {
            Some(i) => (i, true),
            None => (s, false),
        };
        match inner.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
            Some(elem) => Ty::List(Box::new(Ty::parse(elem)), non_null),
            None => Ty::Named(inner.to_string(), non_null),
        }
    }
    fn from_ast(t: &Type) -> Ty {
        match &t.base {
            BaseType::Named(n) => Ty::Named(n.to_string(), !t.nullable),
            BaseType::List(inner) => Ty::List(Box::new(Ty::from_ast(inner)), !t.nullable),
        }
    }
    fn non_null(&self) -> bool {
        match self {
            Ty::Named(_, nn) | Ty::List(_, nn) => *nn,
        }
    }
    fn base(&self) -> &str {
        match self {
            Ty::Named(n, _) => n,
            Ty::List(inner, _) => inner.base(),
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Named(n, nn) => write!(f, "{n}{}", if *nn { "!" } else { "" }),
            Ty::List(inner, nn) => write!(f, "[{inner}]{}", if *nn { "!" } else { "" }),
        }
    }
}

fn is_input_type(name: &str) -> bool {
    SCALARS.contains(&name) || lookup(ENUMS, name).is_some() || lookup(INPUTS, name).is_some()
}

/// Whether a variable declared `decl` may be used where `expected` is (`Err` names the mismatch).
fn variable_fits(decl: &Ty, has_default: bool, expected: &Ty) -> Result<(), &'static str> {
    if expected.non_null() && !decl.non_null() && !has_default {
        return Err("Nullability");
    }
    fn shape(decl: &Ty, expected: &Ty) -> Result<(), &'static str> {
        match (decl, expected) {
            (Ty::List(a, _), Ty::List(b, _)) => {
                if b.non_null() && !a.non_null() {
                    return Err("Nullability");
                }
                shape(a, b)
            }
            (Ty::Named(a, _), Ty::Named(b, _)) if a == b => Ok(()),
            _ => Err("Type"),
        }
    }
    shape(decl, expected)
}

// ----- input checking -----

/// One problem with an input value: the message for a literal in the document, and the path and
/// explanation for a variable's value (`extensions.problems`).
struct Problem {
    message: String,
    path: Vec<Value>,
    explanation: String,
}

/// Checks input values (argument literals, or variables' values) against input types.
struct InputCheck<'c> {
    /// Checking a variable's JSON value (strings are then accepted for enums).
    from_variable: bool,
    /// Declared variables (type, whether it has a default), for variables inside literals.
    declared: Option<&'c HashMap<String, (Ty, bool)>>,
    problems: Vec<Problem>,
}

impl InputCheck<'_> {
    fn push(&mut self, message: String, path: &[Value], explanation: String) {
        self.problems.push(Problem { message, path: path.to_vec(), explanation });
    }

    /// Check `v`, the value of argument `arg` of `owner` (`Field 'x'` or `InputObject 'T'`).
    fn check(&mut self, v: &GqlValue, ty: &Ty, owner: &str, arg: &str, path: &mut Vec<Value>) {
        let invalid = |this: &mut Self, path: &[Value], explanation: String| {
            this.push(
                format!("Argument '{arg}' on {owner} has an invalid value ({v}). Expected type '{ty}'."),
                path,
                explanation,
            );
        };
        match v {
            GqlValue::Variable(name) => {
                if let Some((decl, has_default)) = self.declared.and_then(|d| d.get(name.as_str()))
                    && let Err(kind) = variable_fits(decl, *has_default, ty)
                {
                    let message = format!("{kind} mismatch on variable ${name} and argument {arg} ({decl} / {ty})");
                    self.push(message, path, String::new());
                }
                return;
            }
            GqlValue::Null => {
                if ty.non_null() {
                    invalid(self, path, "Expected value to not be null".to_string());
                }
                return;
            }
            _ => {}
        }
        match ty {
            Ty::List(elem, _) => match v {
                GqlValue::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        path.push(json!(i));
                        self.check(item, elem, owner, arg, path);
                        path.pop();
                    }
                }
                single => self.check(single, elem, owner, arg, path),
            },
            Ty::Named(name, _) => {
                if let Some(fields) = lookup(INPUTS, name) {
                    let GqlValue::Object(obj) = v else {
                        invalid(self, path, format!("Expected {v} to be a key-value object."));
                        return;
                    };
                    let inner_owner = format!("InputObject '{name}'");
                    for (field, fty) in fields {
                        let fty = Ty::parse(fty);
                        path.push(json!(field));
                        match obj.get(*field) {
                            None if fty.non_null() => self.push(
                                format!("Argument '{field}' on InputObject '{name}' is required. Expected type {fty}"),
                                path,
                                "Expected value to not be null".to_string(),
                            ),
                            None => {}
                            Some(fv) => self.check(fv, &fty, &inner_owner, field, path),
                        }
                        path.pop();
                    }
                    for key in obj.keys() {
                        if lookup(fields, key.as_str()).is_none() {
                            path.push(json!(key.as_str()));
                            self.push(
                                format!("InputObject '{name}' doesn't accept argument '{key}'"),
                                path,
                                format!("Field is not defined on {name}"),
                            );
                            path.pop();
                        }
                    }
                } else if let Some(values) = lookup(ENUMS, name) {
                    let ok = match v {
                        GqlValue::Enum(n) => values.contains(&n.as_str()),
                        GqlValue::String(s) if self.from_variable => values.contains(&s.as_str()),
                        _ => false,
                    };
                    if !ok {
                        invalid(self, path, format!("Expected {v} to be one of: {}", values.join(", ")));
                    }
                } else {
                    let ok = match (name.as_str(), v) {
                        ("Boolean", GqlValue::Boolean(_)) => true,
                        ("Int", GqlValue::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                        ("Float", GqlValue::Number(_)) => true,
                        ("ID", GqlValue::Number(n)) => n.is_i64() || n.is_u64(),
                        ("Boolean" | "Int" | "Float", _) => false,
                        (_, GqlValue::String(_)) => true,
                        _ => false,
                    };
                    if !ok {
                        invalid(self, path, format!("Could not coerce value {v} to {name}"));
                    }
                }
            }
        }
    }
}

// ----- validation: the operation, its selections and variables -----

/// A selection set after fragments were resolved and `@skip`/`@include` applied.
#[derive(Clone, Debug, Default)]
struct Sel(Vec<Item>);

#[derive(Clone, Debug)]
enum Item {
    Field(FieldSel),
    /// An inline fragment or fragment spread, applied when the object's type matches `on`.
    Fragment {
        on: Option<String>,
        sel: Sel,
    },
}

#[derive(Clone, Debug)]
struct FieldSel {
    /// Alias or name: the key in the response.
    key: String,
    name: String,
    pos: Pos,
    args: Vec<(String, GqlValue)>,
    /// The arguments with variables substituted (for nested fields, which [`prune`] resolves).
    resolved: Map<String, Value>,
    /// For fields of object types.
    sub: Option<Sel>,
    /// A connection (`…Connection` type): paginated, and counted against the node limit.
    connection: bool,
}

impl Sel {
    /// Whether the selection asks for field `name` anywhere below it.
    fn selects(&self, name: &str) -> bool {
        self.0.iter().any(|item| match item {
            Item::Field(f) => f.name == name || f.sub.as_ref().is_some_and(|s| s.selects(name)),
            Item::Fragment { sel, .. } => sel.selects(name),
        })
    }
}

fn error_at(message: impl Into<String>, pos: Pos) -> Value {
    json!({ "message": message.into(), "locations": [{ "line": pos.line, "column": pos.column }] })
}

struct Validator<'a> {
    doc: &'a ExecutableDocument,
    /// Variable values with defaults (for `@skip(if: $x)`).
    variables: &'a Map<String, Value>,
    declared: HashMap<String, (Ty, bool)>,
    used: HashSet<String>,
    /// `anonymous mutation`, or the operation's name, for messages about variables.
    describe: String,
    fragments: Vec<String>,
    errors: Vec<Value>,
}

impl Validator<'_> {
    fn note_variables(&mut self, v: &GqlValue, pos: Pos) {
        match v {
            GqlValue::Variable(name) => {
                if !self.declared.contains_key(name.as_str()) {
                    let message = format!("Variable ${name} is used by {} but not declared", self.describe);
                    self.errors.push(error_at(message, pos));
                }
                self.used.insert(name.to_string());
            }
            GqlValue::List(items) => items.iter().for_each(|i| self.note_variables(i, pos)),
            GqlValue::Object(map) => map.values().for_each(|i| self.note_variables(i, pos)),
            _ => {}
        }
    }

    /// Apply `@skip` and `@include`; other directives are not defined.
    fn included(&mut self, directives: &[Positioned<Directive>]) -> bool {
        let mut keep = true;
        for d in directives {
            let name = d.node.name.node.as_str();
            if name != "skip" && name != "include" {
                self.errors.push(error_at(format!("Directive @{name} is not defined"), d.pos));
                continue;
            }
            let Some(cond) = d.node.get_argument("if") else {
                self.errors.push(error_at(format!("Directive '{name}' is missing required arguments: if"), d.pos));
                continue;
            };
            self.note_variables(&cond.node, cond.pos);
            let value = match &cond.node {
                GqlValue::Boolean(b) => Some(*b),
                // A missing or invalid value is reported when the variables are coerced.
                GqlValue::Variable(v) => Some(self.variables.get(v.as_str()).and_then(Value::as_bool).unwrap_or(false)),
                _ => None,
            };
            match value {
                Some(b) if (name == "skip") == b => keep = false,
                Some(_) => {}
                None => self.errors.push(error_at(
                    format!(
                        "Argument 'if' on Directive '{name}' has an invalid value ({}). Expected type 'Boolean!'.",
                        cond.node
                    ),
                    cond.pos,
                )),
            }
        }
        keep
    }

    /// A connection needs `first` or `last`, at most 100 (GitHub's
    /// `MISSING_PAGINATION_BOUNDARIES` and `EXCESSIVE_PAGINATION`, in its words:
    /// <https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#node-limit>).
    fn check_page(&mut self, name: &str, args: &Map<String, Value>, pos: Pos) {
        let page = |key: &str| args.get(key).and_then(Value::as_i64);
        if page("first").is_none() && page("last").is_none() {
            let mut e = error_at(
                format!("You must provide a `first` or `last` value to properly paginate the `{name}` connection."),
                pos,
            );
            e["type"] = json!("MISSING_PAGINATION_BOUNDARIES");
            self.errors.push(e);
        }
        for key in ["first", "last"] {
            if let Some(n) = page(key).filter(|n| *n > MAX_PAGE || *n < 0) {
                let mut e = error_at(
                    format!(
                        "Requesting {n} records on the `{name}` connection exceeds the `{key}` limit of {MAX_PAGE} records."
                    ),
                    pos,
                );
                e["type"] = json!("EXCESSIVE_PAGINATION");
                self.errors.push(e);
            }
        }
    }

    fn fragment_condition(&mut self, cond: &str, parent: &str, pos: Pos) -> bool {
        if !is_composite(cond) {
            self.errors.push(error_at(format!("No such type {cond}, so it can't be a fragment condition"), pos));
            false
        } else if !fragment_fits(cond, parent) {
            self.errors.push(error_at(format!("Fragment on {cond} can't be spread inside {parent}"), pos));
            false
        } else {
            true
        }
    }

    fn selection(&mut self, parent: &str, set: &SelectionSet) -> Sel {
        let mut out = Vec::new();
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    if !self.included(&f.node.directives) {
                        continue;
                    }
                    if let Some(field) = self.field(parent, f) {
                        out.push(Item::Field(field));
                    }
                }
                Selection::InlineFragment(frag) => {
                    if !self.included(&frag.node.directives) {
                        continue;
                    }
                    let on = frag.node.type_condition.as_ref().map(|c| c.node.on.node.to_string());
                    if let Some(cond) = &on
                        && !self.fragment_condition(cond, parent, frag.pos)
                    {
                        continue;
                    }
                    let sel = self.selection(on.as_deref().unwrap_or(parent), &frag.node.selection_set.node);
                    out.push(Item::Fragment { on, sel });
                }
                Selection::FragmentSpread(spread) => {
                    if !self.included(&spread.node.directives) {
                        continue;
                    }
                    let name = spread.node.fragment_name.node.to_string();
                    let Some(def) = self.doc.fragments.get(spread.node.fragment_name.node.as_str()) else {
                        self.errors.push(error_at(format!("Fragment {name} was used, but not defined"), spread.pos));
                        continue;
                    };
                    if self.fragments.contains(&name) {
                        self.errors.push(error_at(format!("Fragment {name} contains an infinite loop"), spread.pos));
                        continue;
                    }
                    let cond = def.node.type_condition.node.on.node.to_string();
                    if !self.fragment_condition(&cond, parent, spread.pos) {
                        continue;
                    }
                    self.fragments.push(name);
                    let sel = self.selection(&cond, &def.node.selection_set.node);
                    self.fragments.pop();
                    out.push(Item::Fragment { on: Some(cond), sel });
                }
            }
        }
        Sel(out)
    }

    fn field(&mut self, parent: &str, f: &Positioned<async_graphql_parser::types::Field>) -> Option<FieldSel> {
        let name = f.node.name.node.as_str();
        let key = f.node.response_key().node.to_string();
        let items = &f.node.selection_set.node.items;
        for (_, value) in &f.node.arguments {
            self.note_variables(&value.node, value.pos);
        }
        let ty = if name == "__typename" { Some("String!") } else { field_type(parent, name) };
        let Some(ty) = ty else {
            self.errors.push(error_at(format!("Field '{name}' doesn't exist on type '{parent}'"), f.pos));
            return None;
        };
        let defs: &[(&str, &str)] = if matches!(parent, "Query" | "Mutation") {
            lookup(ARGUMENTS, name).unwrap_or(&[])
        } else {
            lookup(FIELD_ARGUMENTS, &format!("{parent}.{name}")).map_or(&[], |f| f.args)
        };
        let mut check = InputCheck { from_variable: false, declared: Some(&self.declared), problems: Vec::new() };
        for (arg, value) in &f.node.arguments {
            let Some(aty) = lookup(defs, arg.node.as_str()) else {
                self.errors.push(error_at(format!("Field '{name}' doesn't accept argument '{}'", arg.node), arg.pos));
                continue;
            };
            check.check(&value.node, &Ty::parse(aty), &format!("Field '{name}'"), arg.node.as_str(), &mut Vec::new());
            for p in check.problems.drain(..) {
                self.errors.push(error_at(p.message, value.pos));
            }
        }
        let missing: Vec<&str> = defs
            .iter()
            .filter(|(a, t)| t.ends_with('!') && !f.node.arguments.iter().any(|(n, _)| n.node.as_str() == *a))
            .map(|(a, _)| *a)
            .collect();
        if !missing.is_empty() {
            let message = format!("Field '{name}' is missing required arguments: {}", missing.join(", "));
            self.errors.push(error_at(message, f.pos));
        }
        let inner = named(ty);
        let sub = if is_composite(inner) {
            if items.is_empty() {
                self.errors.push(error_at(
                    format!(
                        "Field must have selections (field '{name}' returns {ty} but has no selections. Did you mean '{name} {{ ... }}'?)"
                    ),
                    f.pos,
                ));
                return None;
            }
            Some(self.selection(inner, &f.node.selection_set.node))
        } else {
            if !items.is_empty() {
                let names: Vec<String> = items
                    .iter()
                    .filter_map(|i| match &i.node {
                        Selection::Field(s) => Some(s.node.name.node.to_string()),
                        _ => None,
                    })
                    .collect();
                self.errors.push(error_at(
                    format!(
                        "Selections can't be made on scalars (field '{name}' returns {ty} but has selections [{}])",
                        names.join(", ")
                    ),
                    f.pos,
                ));
                return None;
            }
            None
        };
        let args: Vec<(String, GqlValue)> =
            f.node.arguments.iter().map(|(n, v)| (n.node.to_string(), v.node.clone())).collect();
        let resolved = resolve_args(&args, self.variables);
        let connection = inner.ends_with("Connection");
        if connection {
            self.check_page(name, &resolved, f.pos);
        }
        Some(FieldSel { key, name: name.to_string(), pos: f.pos, args, resolved, sub, connection })
    }
}

/// The top-level fields of `sel` (fragments on the root type flattened), in document order, with
/// identical fields under one key merged. Two different fields under one key conflict.
fn root_fields(sel: &Sel, root: &str, out: &mut Vec<FieldSel>, errors: &mut Vec<Value>) {
    for item in &sel.0 {
        match item {
            Item::Field(f) => match out.iter_mut().find(|o| o.key == f.key) {
                Some(existing) if existing.name != f.name || existing.args != f.args => {
                    let message = if existing.name == f.name {
                        format!(
                            "Field '{}' has an argument conflict: {{{}}} or {{{}}}?",
                            f.key,
                            args_text(&existing.args),
                            args_text(&f.args)
                        )
                    } else {
                        format!("Field '{}' has a field conflict: {} or {}?", f.key, existing.name, f.name)
                    };
                    errors.push(error_at(message, f.pos));
                }
                Some(existing) => {
                    if let (Some(a), Some(b)) = (&mut existing.sub, &f.sub) {
                        a.0.extend(b.0.iter().cloned());
                    }
                }
                None => out.push(f.clone()),
            },
            Item::Fragment { on, sel } => {
                if on.as_deref().is_none_or(|c| c == root) {
                    root_fields(sel, root, out, errors);
                }
            }
        }
    }
}

fn args_text(args: &[(String, GqlValue)]) -> String {
    args.iter().map(|(n, v)| format!("{n}:{v}")).collect::<Vec<_>>().join(",")
}

/// Coerce the operation's variables: defaults, non-null checks and input types. Errors are
/// GitHub's `Variable $x of type T was provided invalid value` entries.
fn coerce_variables(op: &OperationDefinition, sent: &Map<String, Value>) -> (Map<String, Value>, Vec<Value>) {
    let mut values = Map::new();
    let mut errors = Vec::new();
    for def in &op.variable_definitions {
        let name = def.node.name.node.as_str();
        let ty = Ty::from_ast(&def.node.var_type.node);
        let value = match sent.get(name) {
            Some(v) => Some(v.clone()),
            None => def.node.default_value.as_ref().and_then(|d| d.node.clone().into_json().ok()),
        };
        let mut check = InputCheck { from_variable: true, declared: None, problems: Vec::new() };
        match &value {
            Some(v) => {
                let gql = ConstValue::from_json(v.clone()).map(ConstValue::into_value).unwrap_or(GqlValue::Null);
                check.check(&gql, &ty, "", name, &mut Vec::new());
            }
            None if ty.non_null() => {
                check.push(String::new(), &[], "Expected value to not be null".to_string());
            }
            None => {}
        }
        if check.problems.is_empty() {
            if let Some(v) = value {
                values.insert(name.to_string(), v);
            }
            continue;
        }
        let details: Vec<String> = check
            .problems
            .iter()
            .filter(|p| !p.path.is_empty())
            .map(|p| {
                let path: Vec<String> =
                    p.path.iter().map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string())).collect();
                format!("{} ({})", path.join("."), p.explanation)
            })
            .collect();
        let mut message = format!("Variable ${name} of type {ty} was provided invalid value");
        if !details.is_empty() {
            message.push_str(&format!(" for {}", details.join(", ")));
        }
        let problems: Vec<Value> =
            check.problems.iter().map(|p| json!({ "path": p.path, "explanation": p.explanation })).collect();
        let mut entry = error_at(message, def.pos);
        entry["extensions"] = json!({ "value": value.unwrap_or(Value::Null), "problems": problems });
        errors.push(entry);
    }
    (values, errors)
}

/// graphql-ruby's words for the token at `pos`, e.g. `"}" (RCURLY)`; `None` at the end.
fn token_at(query: &str, pos: Pos) -> Option<String> {
    let line_start: usize = query.split_inclusive('\n').take(pos.line.saturating_sub(1)).map(str::len).sum();
    let rest = query.get(line_start..)?;
    let offset = rest.char_indices().nth(pos.column.saturating_sub(1)).map(|(i, _)| i).unwrap_or(rest.len());
    let rest = rest[offset..].trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    let first = rest.chars().next()?;
    let punct = [
        ("...", "ELLIPSIS"),
        ("{", "LCURLY"),
        ("}", "RCURLY"),
        ("(", "LPAREN"),
        (")", "RPAREN"),
        ("[", "LBRACKET"),
        ("]", "RBRACKET"),
        (":", "COLON"),
        ("$", "VAR_SIGN"),
        ("!", "BANG"),
        ("=", "EQUALS"),
        ("@", "DIR_SIGN"),
        ("|", "PIPE"),
        ("&", "AMP"),
    ];
    if let Some((text, kind)) = punct.iter().find(|(p, _)| rest.starts_with(p)) {
        return Some(format!("\"{text}\" ({kind})"));
    }
    if first == '"' {
        let end = rest[1..].find('"').map(|i| i + 2).unwrap_or(rest.len());
        return Some(format!("{} (STRING)", &rest[..end]));
    }
    let word: String =
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '.').collect();
    if word.is_empty() {
        return Some(format!("\"{first}\" (UNKNOWN_CHAR)"));
    }
    let kind = if word.chars().all(|c| c.is_ascii_digit() || c == '-') {
        "INT".to_string()
    } else if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        "FLOAT".to_string()
    } else if ["query", "mutation", "subscription", "fragment", "on", "true", "false", "null"].contains(&word.as_str())
    {
        word.to_uppercase()
    } else {
        "IDENTIFIER".to_string()
    };
    Some(format!("\"{word}\" ({kind})"))
}

fn parse_error(query: &str, e: &async_graphql_parser::Error) -> Value {
    use async_graphql_parser::Error;
    let positions: Vec<Value> = e.positions().map(|p| json!({ "line": p.line, "column": p.column })).collect();
    let message = match e {
        Error::Syntax { start, .. } => match token_at(query, *start) {
            Some(token) => format!("Parse error on {token} at [{}, {}]", start.line, start.column),
            None => "Unexpected end of document".to_string(),
        },
        Error::MultipleOperations { .. } => "This anonymous operation must be the only defined operation.".to_string(),
        Error::OperationDuplicated { operation, .. } => format!("Operation name \"{operation}\" must be unique"),
        Error::FragmentDuplicated { fragment, .. } => format!("Fragment name \"{fragment}\" must be unique"),
        Error::MissingOperation => "Document does not contain any operations".to_string(),
        other => other.to_string(),
    };
    let mut entry = json!({ "message": message });
    if !positions.is_empty() {
        entry["locations"] = Value::Array(positions);
    }
    entry
}

/// The operation to run, its name (if any) and GitHub's error when there is none.
fn pick_operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Result<(Option<String>, &'d Positioned<OperationDefinition>), String> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Ok((None, op)),
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => Ok((Some(name.to_string()), op)),
            None => Err(format!("No operation named \"{name}\"")),
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(n, op)| (Some(n.to_string()), op)).ok_or_else(|| "No operations".to_string())
        }
        (DocumentOperations::Multiple(_), None) => Err("An operation name is required".to_string()),
        (DocumentOperations::Single(_), Some(name)) => Err(format!("No operation named \"{name}\"")),
    }
}

/// Whether a `POST /graphql` body is a query (a read), for the request log's idea of what is
/// content-creating. Anything that does not parse counts as a write.
pub(crate) fn is_query(body: &[u8]) -> bool {
    let Ok(body) = serde_json::from_slice::<Value>(body) else { return false };
    let Some(query) = body["query"].as_str() else { return false };
    let Ok(doc) = async_graphql_parser::parse_query(query) else { return false };
    matches!(pick_operation(&doc, body["operationName"].as_str()), Ok((_, op)) if op.node.ty == OperationType::Query)
}

// ----- the handler -----

/// `POST /graphql` (and `/api/graphql` on GHES). Always 200 once authenticated and the body is
/// JSON, as GitHub answers; outcomes are in the body.
pub(crate) fn handle(shared: &Shared, req: &ApiReq) -> ApiResult {
    if !req.ident().is_authenticated() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "This endpoint requires you to be authenticated."));
    }
    let body = req.json_value()?;
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return Ok(Reply::ok(
            json!({ "errors": [{ "message": "A query attribute must be specified and must be a string." }] }),
        ));
    };
    let variables = match body.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => return Ok(Reply::ok(json!({ "errors": [{ "message": "Variables are invalid JSON." }] }))),
        },
        Some(_) => return Ok(Reply::ok(json!({ "errors": [{ "message": "Variables are invalid JSON." }] }))),
    };
    let operation_name = body.get("operationName").and_then(Value::as_str).filter(|n| !n.is_empty());
    Ok(Reply::ok(run(shared, req, query, &variables, operation_name)))
}

/// Parse, validate and execute a document; the response body.
fn run(shared: &Shared, req: &ApiReq, query: &str, variables: &Map<String, Value>, operation: Option<&str>) -> Value {
    let doc = match async_graphql_parser::parse_query(query) {
        Ok(doc) => doc,
        Err(e) => return json!({ "errors": [parse_error(query, &e)] }),
    };
    let (op_name, op) = match pick_operation(&doc, operation) {
        Ok(found) => found,
        Err(message) => return json!({ "errors": [{ "message": message }] }),
    };
    let root = match op.node.ty {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => {
            return json!({ "errors": [error_at("Schema is not configured for subscriptions", op.pos)] });
        }
    };
    let describe = op_name.clone().unwrap_or_else(|| format!("anonymous {}", root.to_lowercase()));
    let (values, var_errors) = coerce_variables(&op.node, variables);
    let mut v = Validator {
        doc: &doc,
        variables: &values,
        declared: HashMap::new(),
        used: HashSet::new(),
        describe,
        fragments: Vec::new(),
        errors: Vec::new(),
    };
    for def in &op.node.variable_definitions {
        let ty = Ty::from_ast(&def.node.var_type.node);
        let name = def.node.name.node.to_string();
        if !is_input_type(ty.base()) {
            v.errors.push(error_at(format!("{} isn't a defined input type (on ${name})", ty.base()), def.pos));
        }
        v.declared.insert(name, (ty, def.node.default_value.is_some()));
    }
    let sel = v.selection(root, &op.node.selection_set.node);
    for def in &op.node.variable_definitions {
        let name = def.node.name.node.as_str();
        if !v.used.contains(name) {
            v.errors.push(error_at(format!("Variable ${name} is declared by {} but not used", v.describe), def.pos));
        }
    }
    let mut fields = Vec::new();
    root_fields(&sel, root, &mut fields, &mut v.errors);
    if v.errors.is_empty() {
        let mut total = 0;
        for f in &fields {
            if let Some(e) = node_limit(f, 1, &mut total) {
                v.errors.push(e);
                break;
            }
        }
    }
    if !v.errors.is_empty() {
        return json!({ "errors": v.errors });
    }
    if !var_errors.is_empty() {
        return json!({ "errors": var_errors });
    }

    let mut data = Map::new();
    let mut errors = Vec::new();
    for f in &fields {
        let args = resolve_args(&f.args, &values);
        match resolve(shared, req, root, &f.name, &args, Wants::of(f.sub.as_ref())) {
            Ok(value) => {
                let value = match &f.sub {
                    Some(sub) => prune(&value, sub),
                    None => value,
                };
                data.insert(f.key.clone(), value);
            }
            Err(e) => {
                data.insert(f.key.clone(), Value::Null);
                errors.push(json!({
                    "type": e.kind,
                    "path": [f.key],
                    "locations": [{ "line": f.pos.line, "column": f.pos.column }],
                    "message": e.message,
                }));
            }
        }
    }
    let mut out = json!({ "data": data });
    if !errors.is_empty() {
        out["errors"] = Value::Array(errors);
    }
    out
}

/// Count the nodes `f` may return the way GitHub does: each connection's page size times the
/// page sizes of the connections above it, summed over the document; past [`MAX_NODES`] the
/// document is refused (`MAX_NODE_LIMIT_EXCEEDED`) before anything runs
/// (<https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#node-limit>).
fn node_limit(f: &FieldSel, above: i64, total: &mut i64) -> Option<Value> {
    let mut multiplier = above;
    if f.connection {
        let page = ["first", "last"].iter().filter_map(|k| f.resolved.get(*k).and_then(Value::as_i64)).max();
        multiplier = above.saturating_mul(page.unwrap_or(0).max(0));
        *total = total.saturating_add(multiplier);
        if *total > MAX_NODES {
            let mut e = error_at(
                format!(
                    "By the time this query traverses to the {} connection, it is requesting up to {} possible nodes which exceeds the maximum limit of {MAX_NODES}.",
                    f.name, *total
                ),
                f.pos,
            );
            e["type"] = json!("MAX_NODE_LIMIT_EXCEEDED");
            return Some(e);
        }
    }
    fn fields_of(sel: &Sel, out: &mut Vec<FieldSel>) {
        for item in &sel.0 {
            match item {
                Item::Field(f) => out.push(f.clone()),
                Item::Fragment { sel, .. } => fields_of(sel, out),
            }
        }
    }
    let mut children = Vec::new();
    if let Some(sub) = &f.sub {
        fields_of(sub, &mut children);
    }
    children.iter().find_map(|c| node_limit(c, multiplier, total))
}

fn resolve_args(args: &[(String, GqlValue)], values: &Map<String, Value>) -> Map<String, Value> {
    args.iter()
        .map(|(name, v)| {
            let constant = v.clone().into_const_with(|var| {
                Ok::<_, std::convert::Infallible>(
                    values.get(var.as_str()).and_then(|j| ConstValue::from_json(j.clone()).ok()).unwrap_or_default(),
                )
            });
            let json = match constant {
                Ok(c) => c.into_json().unwrap_or(Value::Null),
                Err(never) => match never {},
            };
            (name.clone(), json)
        })
        .collect()
}

/// `value` with only what `sel` asks for, keyed by alias-or-name. Objects carry their GitHub type
/// in `__typename`, which fragments match against.
fn prune(value: &Value, sel: &Sel) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|i| prune(i, sel)).collect()),
        Value::Object(obj) => {
            let mut out = Map::new();
            prune_into(obj, sel, &mut out);
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn prune_into(obj: &Map<String, Value>, sel: &Sel, out: &mut Map<String, Value>) {
    let ty = obj.get("__typename").and_then(Value::as_str).unwrap_or_default();
    for item in &sel.0 {
        match item {
            Item::Field(f) => {
                let full = obj.get(&f.name).unwrap_or(&Value::Null);
                let v = match lookup(FIELD_ARGUMENTS, &format!("{ty}.{}", f.name)) {
                    // A nested field with arguments: the parent holds all it could answer.
                    Some(nested) if !full.is_null() => (nested.apply)(full, &f.resolved),
                    _ => full.clone(),
                };
                let v = match &f.sub {
                    Some(sub) => prune(&v, sub),
                    None => v,
                };
                match (out.get_mut(&f.key), v) {
                    (Some(Value::Object(existing)), Value::Object(more)) => merge(existing, more),
                    (_, v) => {
                        out.insert(f.key.clone(), v);
                    }
                }
            }
            Item::Fragment { on, sel } => {
                if on.as_deref().is_none_or(|c| c == ty || implements(ty, c)) {
                    prune_into(obj, sel, out);
                }
            }
        }
    }
}

fn merge(into: &mut Map<String, Value>, more: Map<String, Value>) {
    for (k, v) in more {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

// ----- resolvers -----

/// A field that failed: GitHub's `type` (`NOT_FOUND`, `UNPROCESSABLE`, `STALE_DATA`, `FORBIDDEN`)
/// and message.
#[derive(Debug)]
struct FieldError {
    kind: &'static str,
    message: String,
}

fn fail(kind: &'static str, message: impl Into<String>) -> FieldError {
    FieldError { kind, message: message.into() }
}

impl From<String> for FieldError {
    fn from(e: String) -> FieldError {
        fail("INTERNAL", e)
    }
}

type FieldResult = Result<Value, FieldError>;

/// What of the costlier values a selection asks for, so that they are computed only then: a
/// repository's pull requests, a pull request's trial merge (`mergeable`) and commit list.
#[derive(Clone, Copy, Default)]
struct Wants {
    pulls: bool,
    mergeable: bool,
    commits: bool,
}

impl Wants {
    fn of(sel: Option<&Sel>) -> Wants {
        let asks = |name: &str| sel.is_some_and(|s| s.selects(name));
        Wants { pulls: asks("pullRequests"), mergeable: asks("mergeable"), commits: asks("commits") }
    }
}

fn resolve(
    shared: &Shared,
    req: &ApiReq,
    root: &str,
    field: &str,
    args: &Map<String, Value>,
    want: Wants,
) -> FieldResult {
    let input = args.get("input").cloned().unwrap_or(Value::Null);
    match (root, field) {
        (_, "__typename") => Ok(json!(root)),
        ("Query", "viewer") => Ok(viewer(req)),
        ("Query", "repository") => repository(shared, req, str_of(args, "owner"), str_of(args, "name"), want),
        ("Mutation", "enablePullRequestAutoMerge") => auto_merge(shared, req, true, &input, want),
        ("Mutation", "disablePullRequestAutoMerge") => auto_merge(shared, req, false, &input, want),
        ("Mutation", "createRef") => create_ref(shared, req, &input),
        ("Mutation", "createCommitOnBranch") => create_commit_on_branch(shared, req, &input),
        ("Mutation", "createPullRequest") => create_pull_request(shared, req, &input, want),
        ("Mutation", "updatePullRequest") => update_pull_request(shared, req, &input, want),
        ("Mutation", "createLabel") => create_label(shared, req, &input),
        ("Mutation", "revertPullRequest") => revert_pull_request(shared, req, &input, want),
        _ => Err(fail("INTERNAL", format!("{root}.{field} has no resolver"))),
    }
}

fn str_of<'v>(v: &'v Map<String, Value>, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn opt_str<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn not_found_node(id: &str) -> FieldError {
    fail("NOT_FOUND", format!("Could not resolve to a node with the global id of '{id}'."))
}

/// Whether the caller may see `r`: private repositories are hidden from anonymous callers, and
/// installation tokens scoped to some repositories see only those (as REST answers 404).
fn visible(req: &ApiReq, r: &Repo) -> bool {
    (!r.opts.private || req.ident().is_authenticated()) && req.ident().allows_repo(&r.name)
}

fn writable(r: &Repo) -> Result<(), FieldError> {
    if r.opts.archived {
        return Err(fail("UNPROCESSABLE", "Repository was archived so is read-only."));
    }
    Ok(())
}

/// The repository with node id `id`, if the caller may see it.
fn repo_by_node<'s>(st: &'s mut State, req: &ApiReq, id: &str) -> Result<&'s mut Repo, FieldError> {
    st.repos.values_mut().find(|r| json::node_id("R", r.id) == id && visible(req, r)).ok_or_else(|| not_found_node(id))
}

/// The pull request with GraphQL node id `node` and its repository, which must be writable,
/// brought up to date with its branches.
fn writable_pull<'s>(st: &'s mut State, req: &ApiReq, node: &str) -> Result<(&'s mut Repo, u64), FieldError> {
    let found = st.repos.values_mut().filter(|r| visible(req, r)).find_map(|r| {
        let number = r.pulls.iter().find(|p| json::pull_node_id(p) == node).map(|p| p.number)?;
        Some((r, number))
    });
    let Some((r, number)) = found else { return Err(not_found_node(node)) };
    writable(r)?;
    pulls::refresh(r);
    Ok((r, number))
}

fn actor(base: &Base, login: &str) -> Value {
    let bot = login.ends_with("[bot]");
    let id = json::account_id(login);
    json!({
        "__typename": if bot { "Bot" } else { "User" },
        "id": json::node_id(if bot { "BOT" } else { "U" }, id),
        "databaseId": id,
        "login": login,
        "name": login,
        "url": format!("{}/{login}", base.web),
        "avatarUrl": format!("{}/avatars/u/{id}?v=4", base.web),
    })
}

fn viewer(req: &ApiReq) -> Value {
    let mut v = actor(req.base(), &req.ident().login());
    if matches!(req.ident(), Identity::Installation { .. } | Identity::App { .. }) {
        v["__typename"] = json!("Bot");
    }
    v
}

fn repo_value(base: &Base, r: &Repo, owner_kind: &str, want: Wants) -> Value {
    let full = r.full_name();
    let repo = r.repo();
    let default_ref = format!("refs/heads/{}", r.opts.default_branch);
    let default_branch = git::ref_target(&repo, &default_ref).map(|t| ref_value(base, r, &repo, &default_ref, t));
    let owner_id = json::account_id(&r.owner);
    json!({
        "__typename": "Repository",
        "id": json::node_id("R", r.id),
        "databaseId": r.id,
        "name": r.name,
        "nameWithOwner": full,
        "url": base.repo_web(&full),
        "description": r.opts.description,
        "isPrivate": r.opts.private,
        "isArchived": r.opts.archived,
        "isFork": r.opts.fork,
        "autoMergeAllowed": r.opts.allow_auto_merge,
        "owner": {
            "__typename": owner_kind,
            "id": json::node_id(if owner_kind == "Organization" { "O" } else { "U" }, owner_id),
            "login": r.owner,
            "url": format!("{}/{}", base.web, r.owner),
            "avatarUrl": format!("{}/avatars/u/{owner_id}?v=4", base.web),
        },
        "defaultBranchRef": default_branch,
        "label": r.labels.iter().map(|(key, l)| (key.clone(), label_value(base, r, l))).collect::<Map<String, Value>>(),
        "pullRequests": if want.pulls {
            Value::Array(r.pulls.iter().map(|p| pull_value(base, r, p, want)).collect())
        } else {
            Value::Null
        },
    })
}

fn label_value(base: &Base, r: &Repo, l: &LabelRec) -> Value {
    json!({
        "__typename": "Label",
        "id": json::node_id("LA", l.id),
        "name": l.name,
        "color": l.color,
        "description": l.description,
        "url": format!("{}/labels/{}", base.repo_web(&r.full_name()), json::form_path(&l.name)),
    })
}

/// `refs/heads/x` → (`refs/heads/`, `x`), as GraphQL's `Ref.prefix` and `Ref.name`.
fn split_ref(full: &str) -> (String, String) {
    match full.strip_prefix("refs/").and_then(|rest| rest.split_once('/')) {
        Some((kind, name)) => (format!("refs/{kind}/"), name.to_string()),
        None => (String::new(), full.to_string()),
    }
}

fn ref_value(base: &Base, r: &Repo, repo: &gix::Repository, full: &str, target: gix::ObjectId) -> Value {
    let (prefix, name) = split_ref(full);
    json!({
        "__typename": "Ref",
        "id": json::node_id("REF", json::account_id(&format!("{}:{full}", r.id))),
        "name": name,
        "prefix": prefix,
        "target": object_value(base, r, repo, target),
    })
}

fn object_value(base: &Base, r: &Repo, repo: &gix::Repository, id: gix::ObjectId) -> Value {
    let sha = id.to_string();
    let web = base.repo_web(&r.full_name());
    let numeric = u64::from_str_radix(&sha[..12], 16).unwrap_or(0);
    let kind = git::kind_of(repo, id);
    let info = match kind {
        Some(gix::object::Kind::Commit) => git::commit_info(repo, id),
        _ => None,
    };
    let Some(c) = info else {
        let (typename, prefix) = match kind {
            Some(gix::object::Kind::Tree) => ("Tree", "TR"),
            Some(gix::object::Kind::Tag) => ("Tag", "TA"),
            _ => ("Blob", "B"),
        };
        return json!({
            "__typename": typename,
            "id": json::node_id(prefix, numeric),
            "oid": sha,
            "abbreviatedOid": &sha[..7],
            "commitUrl": format!("{web}/commit/{sha}"),
        });
    };
    let (headline, body) = match c.message.split_once('\n') {
        Some((h, b)) => (h.to_string(), b.trim().to_string()),
        None => (c.message.clone(), String::new()),
    };
    let git_actor = |s: &git::SigInfo| json!({ "__typename": "GitActor", "name": s.name, "email": s.email, "date": json::ts_secs(s.seconds) });
    json!({
        "__typename": "Commit",
        "id": json::node_id("C", numeric),
        "oid": sha,
        "abbreviatedOid": &sha[..7],
        "url": format!("{web}/commit/{sha}"),
        "commitUrl": format!("{web}/commit/{sha}"),
        "message": c.message,
        "messageHeadline": headline,
        "messageBody": body,
        "authoredDate": json::ts_secs(c.author.seconds),
        "committedDate": json::ts_secs(c.committer.seconds),
        "author": git_actor(&c.author),
        "committer": git_actor(&c.committer),
        "statusCheckRollup": crate::checks::rollup(r, &sha, &r.opts.required_status_checks).map(|state| json!({
            "__typename": "StatusCheckRollup",
            "id": json::node_id("SCR", numeric),
            "state": state,
        })),
    })
}

fn pull_value(base: &Base, r: &Repo, p: &Pull, want: Wants) -> Value {
    let state = if p.merged_at.is_some() {
        "MERGED"
    } else if p.open {
        "OPEN"
    } else {
        "CLOSED"
    };
    let base_oid = p
        .base_sha_closed
        .clone()
        .or_else(|| pulls::branch_tip(&r.repo(), &p.base_ref).map(|id| id.to_string()))
        .unwrap_or_default();
    let url = format!("{}/pull/{}", base.repo_web(&r.full_name()), p.number);
    let auto = p.auto_merge.as_ref().map(|a| {
        json!({
            "__typename": "AutoMergeRequest",
            "enabledAt": json::ts(a.enabled_at),
            "mergeMethod": a.method.to_uppercase(),
            "commitHeadline": a.commit_title,
            "commitBody": a.commit_message,
            "enabledBy": actor(base, &a.enabled_by),
        })
    });
    json!({
        "__typename": "PullRequest",
        "id": json::pull_node_id(p),
        "databaseId": p.id,
        "number": p.number,
        "url": url,
        "permalink": url,
        "title": p.title,
        "body": p.body.clone().unwrap_or_default(),
        "state": state,
        "isDraft": p.draft,
        "closed": !p.open,
        "merged": p.merged_at.is_some(),
        "headRefName": p.head_ref,
        "headRefOid": p.head_sha,
        "baseRefName": p.base_ref,
        "baseRefOid": base_oid,
        "maintainerCanModify": p.maintainer_can_modify,
        "createdAt": json::ts(p.created_at),
        "updatedAt": json::ts(p.updated_at),
        "author": actor(base, &p.user),
        "autoMergeRequest": auto,
        "mergedAt": json::ts_opt(p.merged_at),
        "closedAt": json::ts_opt(p.closed_at),
        "mergeCommit": p.merge_commit_sha.as_deref().and_then(git::parse_oid).map(|id| object_value(base, r, &r.repo(), id)),
        "mergeable": if want.mergeable { mergeable_state(r, p) } else { "UNKNOWN" },
        "reviewDecision": pulls::review_decision(r, p),
        "labels": p.labels.iter().filter_map(|n| r.labels.get(&n.to_lowercase())).map(|l| label_value(base, r, l)).collect::<Vec<_>>(),
        "commits": if want.commits { pull_commits(base, r, p) } else { Value::Array(Vec::new()) },
        "#comments": r.comments.iter().filter(|c| c.issue == p.number).count(),
    })
}

/// `PullRequest.mergeable` (<https://docs.github.com/en/graphql/reference/enums#mergeablestate>):
/// the trial merge of an open pull request (`pulls::mergeable`, as REST's `mergeable`);
/// `UNKNOWN` when it cannot be computed, and for closed and merged pull requests, which GitHub
/// no longer tests.
fn mergeable_state(r: &Repo, p: &Pull) -> &'static str {
    if !p.open {
        return "UNKNOWN";
    }
    match pulls::mergeable(r, p) {
        Some(true) => "MERGEABLE",
        Some(false) => "CONFLICTING",
        None => "UNKNOWN",
    }
}

/// `PullRequest.commits` nodes: the pull request's commits oldest first, as GitHub lists them
/// (so `commits(last: 1)` is the head commit), each a `PullRequestCommit` around its `Commit`.
fn pull_commits(base: &Base, r: &Repo, p: &Pull) -> Value {
    let repo = r.repo();
    let Some(head) = git::parse_oid(&p.head_sha) else { return Value::Array(Vec::new()) };
    let base_tip =
        p.base_sha_closed.as_deref().and_then(git::parse_oid).or_else(|| pulls::branch_tip(&repo, &p.base_ref));
    let mut ids = match base_tip {
        Some(b) => git::commits_between(&repo, b, head).unwrap_or_else(|_| vec![head]),
        None => vec![head],
    };
    if ids.is_empty() {
        ids.push(head);
    }
    ids.reverse();
    let web = base.repo_web(&r.full_name());
    let nodes = ids
        .into_iter()
        .map(|id| {
            let sha = id.to_string();
            json!({
                "__typename": "PullRequestCommit",
                "id": json::node_id("PURC", u64::from_str_radix(&sha[..12], 16).unwrap_or(0)),
                "url": format!("{web}/pull/{}/commits/{sha}", p.number),
                "commit": object_value(base, r, &repo, id),
            })
        })
        .collect();
    Value::Array(nodes)
}

// ----- nested fields with arguments -----

/// `Repository.label(name:)`: case-insensitive, `null` when the repository has no such label.
fn apply_label(all: &Value, args: &Map<String, Value>) -> Value {
    all.get(str_of(args, "name").to_lowercase()).cloned().unwrap_or(Value::Null)
}

/// An opaque cursor for the item at `offset` (0-based) of a connection's filtered list.
fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("cursor:{}", offset + 1))
}

fn cursor_offset(c: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("cursor:")?.parse::<usize>().ok()?.checked_sub(1)
}

/// A connection (`{nodes, edges, totalCount, pageInfo}`, with GitHub's `Connection` type names)
/// over `items` after their filter and order, paginated as the GraphQL cursor connections
/// specification says (<https://relay.dev/graphql/connections.htm>): `after`/`before` cut the
/// list, then `first` keeps the head or `last` the tail; `totalCount` ignores pagination.
fn connection(node_type: &str, items: Vec<Value>, args: &Map<String, Value>) -> Value {
    let total = items.len();
    let page = |key: &str| args.get(key).and_then(Value::as_u64).map(|n| n as usize);
    let start = args.get("after").and_then(Value::as_str).and_then(cursor_offset).map_or(0, |o| (o + 1).min(total));
    let end = args.get("before").and_then(Value::as_str).and_then(cursor_offset).map_or(total, |o| o.min(total));
    let (mut from, mut to) = (start, end.max(start));
    if let Some(n) = page("first") {
        to = to.min(from + n);
    }
    if let Some(n) = page("last") {
        from = from.max(to.saturating_sub(n));
    }
    let has_next = page("first").is_some() && to < end;
    let has_previous = page("last").is_some() && from > start;
    let edges: Vec<Value> = (from..to)
        .map(|i| json!({ "__typename": format!("{node_type}Edge"), "cursor": cursor(i), "node": items[i] }))
        .collect();
    json!({
        "__typename": format!("{node_type}Connection"),
        "nodes": items[from..to].to_vec(),
        "edges": edges,
        "totalCount": total,
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": (from < to).then(|| cursor(from)),
            "endCursor": (from < to).then(|| cursor(to - 1)),
        },
    })
}

/// `Repository.pullRequests(states:, labels:, headRefName:, baseRefName:, orderBy:, first:, …)`
/// (<https://docs.github.com/en/graphql/reference/objects#repository>): the pull requests in
/// any of `states`, with any of `labels`, from `headRefName` into `baseRefName`, in `orderBy`
/// order (creation order when not given).
fn apply_pull_requests(all: &Value, args: &Map<String, Value>) -> Value {
    let list = |key: &str| -> Option<Vec<String>> {
        args.get(key)?.as_array().map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
    };
    let (states, labels) = (list("states"), list("labels"));
    let text = |key: &str| args.get(key).and_then(Value::as_str);
    let mut items: Vec<Value> = all
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| states.as_ref().is_none_or(|s| s.iter().any(|s| p["state"] == s.as_str())))
        .filter(|p| text("headRefName").is_none_or(|h| p["headRefName"] == h))
        .filter(|p| text("baseRefName").is_none_or(|b| p["baseRefName"] == b))
        .filter(|p| {
            labels.as_ref().is_none_or(|wanted| {
                p["labels"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|l| wanted.iter().any(|w| l["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(w))))
            })
        })
        .cloned()
        .collect();
    if let Some(order) = args.get("orderBy").filter(|o| o.is_object()) {
        let key = match order["field"].as_str() {
            Some("UPDATED_AT") => "updatedAt",
            Some("COMMENTS") => "#comments",
            _ => "createdAt",
        };
        items.sort_by(|a, b| {
            let by = |v: &Value| (v[key].as_str().map(str::to_string), v[key].as_u64(), v["number"].as_u64());
            by(a).cmp(&by(b))
        });
        if order["direction"] == "DESC" {
            items.reverse();
        }
    }
    connection("PullRequest", items, args)
}

/// `PullRequest.labels(first:, …)`, in the order they were added.
fn apply_labels(all: &Value, args: &Map<String, Value>) -> Value {
    connection("Label", all.as_array().cloned().unwrap_or_default(), args)
}

/// `PullRequest.commits(first:, last:, …)`, oldest first.
fn apply_commits(all: &Value, args: &Map<String, Value>) -> Value {
    connection("PullRequestCommit", all.as_array().cloned().unwrap_or_default(), args)
}

/// `repository(owner:, name:)`; its open pull requests follow their branches first when the
/// selection reads them.
fn repository(shared: &Shared, req: &ApiReq, owner: &str, name: &str, want: Wants) -> FieldResult {
    let mut st = shared.lock();
    match st.repo_mut(owner, name).filter(|r| visible(req, r)) {
        Some(r) => {
            if want.pulls {
                pulls::refresh(r);
            }
            Ok(repo_value(req.base(), r, json::owner_kind(&r.owner, &shared.config.login), want))
        }
        None => Err(fail("NOT_FOUND", format!("Could not resolve to a Repository with the name '{owner}/{name}'."))),
    }
}

/// `enablePullRequestAutoMerge` / `disablePullRequestAutoMerge`, by pull request node id;
/// recorded as the pull request's `auto_merge` (REST).
fn auto_merge(shared: &Shared, req: &ApiReq, enable: bool, input: &Value, want: Wants) -> FieldResult {
    let node = opt_str(input, "pullRequestId").unwrap_or_default();
    let method = opt_str(input, "mergeMethod").unwrap_or("MERGE").to_uppercase();
    let base = req.base().clone();
    let mut st = shared.lock();
    let (r, number) = writable_pull(&mut st, req, node)?;
    let allow = r.opts.allow_auto_merge;
    let Some(p) = r.pull_mut(number) else { return Err(not_found_node(node)) };
    if enable {
        if !allow {
            return Err(fail("UNPROCESSABLE", "Pull request Auto merge is not allowed for this repository"));
        }
        if !p.open {
            return Err(fail("UNPROCESSABLE", "Pull request Pull request is closed"));
        }
        if let Some(expected) = opt_str(input, "expectedHeadOid")
            && expected != p.head_sha
        {
            return Err(fail("UNPROCESSABLE", "Head sha didn't match expected head sha"));
        }
        p.auto_merge = Some(AutoMergeRec {
            enabled_by: req.ident().login(),
            method: method.to_lowercase(),
            commit_title: opt_str(input, "commitHeadline").map(str::to_string),
            commit_message: opt_str(input, "commitBody").map(str::to_string),
            enabled_at: now(),
        });
    } else {
        p.auto_merge = None;
    }
    p.updated_at = now();
    let p = p.clone();
    let payload = if enable { "EnablePullRequestAutoMergePayload" } else { "DisablePullRequestAutoMergePayload" };
    Ok(json!({
        "__typename": payload,
        "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
        "pullRequest": pull_value(&base, r, &p, want),
        "actor": actor(&base, &req.ident().login()),
    }))
}

/// `createRef(input: {repositoryId, name, oid})`.
fn create_ref(shared: &Shared, req: &ApiReq, input: &Value) -> FieldResult {
    let id = opt_str(input, "repositoryId").unwrap_or_default();
    let name = opt_str(input, "name").unwrap_or_default();
    let oid = opt_str(input, "oid").unwrap_or_default();
    let mut st = shared.lock();
    let r = repo_by_node(&mut st, req, id)?;
    writable(r)?;
    if !git_data::valid_ref_name(name) {
        return Err(fail(
            "UNPROCESSABLE",
            format!("'{name}' is not a valid ref name: it must be fully qualified, e.g. 'refs/heads/{name}'."),
        ));
    }
    let repo = r.repo();
    let target = git::parse_oid(oid)
        .filter(|id| git::kind_of(&repo, *id).is_some())
        .ok_or_else(|| fail("NOT_FOUND", format!("Could not resolve to a GitObject with the oid of '{oid}'.")))?;
    let exists = || fail("UNPROCESSABLE", format!("A ref named \"{name}\" already exists in the repository."));
    if git::ref_target(&repo, name).is_some() {
        return Err(exists());
    }
    git::set_ref(&repo, name, target, Some(PreviousValue::MustNotExist)).map_err(|_| exists())?;
    r.pushed_at = now();
    Ok(json!({
        "__typename": "CreateRefPayload",
        "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
        "ref": ref_value(req.base(), r, &repo, name, target),
    }))
}

/// The repository key and branch name of a `CommittableBranch` (`{id}` or
/// `{repositoryNameWithOwner, branchName}`).
fn committable_branch(st: &State, req: &ApiReq, branch: &Value) -> Result<((String, String), String), FieldError> {
    if let Some(id) = opt_str(branch, "id") {
        for (key, r) in st.repos.iter().filter(|(_, r)| visible(req, r)) {
            let repo = r.repo();
            for (full, _) in git::list_refs(&repo, "refs/heads/")? {
                if json::node_id("REF", json::account_id(&format!("{}:{full}", r.id))) == id {
                    return Ok((key.clone(), full["refs/heads/".len()..].to_string()));
                }
            }
        }
        return Err(not_found_node(id));
    }
    let (Some(nwo), Some(name)) = (opt_str(branch, "repositoryNameWithOwner"), opt_str(branch, "branchName")) else {
        return Err(fail(
            "UNPROCESSABLE",
            "A branch must be given by its id, or by repositoryNameWithOwner and branchName.",
        ));
    };
    let (owner, repo) = nwo.split_once('/').unwrap_or((nwo, ""));
    match st.repo(owner, repo).filter(|r| visible(req, r)) {
        Some(r) => {
            Ok((crate::state::key(&r.owner, &r.name), name.strip_prefix("refs/heads/").unwrap_or(name).to_string()))
        }
        None => Err(fail("NOT_FOUND", format!("Could not resolve to a Repository with the name '{nwo}'."))),
    }
}

fn list_of<'v>(v: &'v Value, key: &str) -> Vec<&'v Value> {
    match v.get(key) {
        Some(Value::Array(items)) => items.iter().collect(),
        None | Some(Value::Null) => Vec::new(),
        Some(single) => vec![single],
    }
}

/// `createCommitOnBranch`: a commit on top of the branch head with `fileChanges` applied (files
/// as mode 100644 blobs), by the authenticated identity, and the branch moved to it.
fn create_commit_on_branch(shared: &Shared, req: &ApiReq, input: &Value) -> FieldResult {
    let mut st = shared.lock();
    let (key, branch) = committable_branch(&st, req, input.get("branch").unwrap_or(&Value::Null))?;
    let r = st.repos.get_mut(&key).ok_or_else(|| fail("NOT_FOUND", "repository vanished"))?;
    writable(r)?;
    let repo = r.repo();
    let full = format!("refs/heads/{branch}");
    let (Some(current), Some(head)) =
        (git::ref_target(&repo, &full), git::ref_target(&repo, &full).and_then(|id| git::peel_to_commit(&repo, id)))
    else {
        return Err(fail("NOT_FOUND", format!("Could not resolve to a Ref with the name '{full}'.")));
    };
    let expected = opt_str(input, "expectedHeadOid").unwrap_or_default();
    let stale = || {
        fail("STALE_DATA", format!("Expected branch to point to \"{expected}\" but it did not. Pull and try again."))
    };
    if !expected.eq_ignore_ascii_case(&head.to_string()) {
        return Err(stale());
    }
    let changes = input.get("fileChanges").unwrap_or(&Value::Null);
    let additions = list_of(changes, "additions");
    let deletions = list_of(changes, "deletions");
    let mut seen = HashSet::new();
    for path in additions.iter().chain(&deletions).filter_map(|c| opt_str(c, "path")) {
        if !git_data::valid_tree_path(path) {
            return Err(fail("UNPROCESSABLE", format!("The path \"{path}\" is invalid.")));
        }
        if !seen.insert(path) {
            return Err(fail(
                "UNPROCESSABLE",
                format!(
                    "The path \"{path}\" appears more than once: paths must be unique across additions and deletions."
                ),
            ));
        }
    }
    let head_tree = git::commit_tree(&repo, head)?;
    let mut editor = repo.edit_tree(head_tree).map_err(|e| format!("tree editor: {e}"))?;
    let tree = repo.find_tree(head_tree).map_err(|e| format!("tree {head_tree}: {e}"))?;
    for d in &deletions {
        let path = opt_str(d, "path").unwrap_or_default();
        let is_file = matches!(tree.lookup_entry_by_path(path), Ok(Some(e)) if !e.mode().is_tree());
        if !is_file {
            return Err(fail(
                "UNPROCESSABLE",
                format!("A path was requested for deletion which does not exist as of commit oid `{head}`"),
            ));
        }
        editor.remove(path).map_err(|e| format!("removing {path}: {e}"))?;
    }
    for a in &additions {
        let path = opt_str(a, "path").unwrap_or_default();
        let contents: String =
            opt_str(a, "contents").unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(contents)
            .map_err(|_| fail("UNPROCESSABLE", format!("The contents of \"{path}\" are not valid Base64.")))?;
        let blob = repo.write_blob(&bytes).map_err(|e| format!("writing {path}: {e}"))?.detach();
        editor.upsert(path, EntryKind::Blob, blob).map_err(|e| format!("adding {path}: {e}"))?;
    }
    let tree = editor.write().map_err(|e| format!("writing tree: {e}"))?.detach();
    let message = input.get("message").unwrap_or(&Value::Null);
    let headline = opt_str(message, "headline").unwrap_or_default();
    let message = match opt_str(message, "body").filter(|b| !b.is_empty()) {
        Some(body) => format!("{headline}\n\n{body}"),
        None => headline.to_string(),
    };
    let sig = git_data::default_signature(req.ident());
    let id = git::write_commit(&repo, tree, &[head], &sig, &sig, &message)?;
    git::set_ref(&repo, &full, id, Some(PreviousValue::MustExistAndMatch(gix::refs::Target::Object(current))))
        .map_err(|_| stale())?;
    if matches!(req.ident(), Identity::Installation { .. }) {
        r.verified.insert(id.to_string());
    }
    r.pushed_at = now();
    pulls::refresh(r);
    let base = req.base();
    Ok(json!({
        "__typename": "CreateCommitOnBranchPayload",
        "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
        "commit": object_value(base, r, &repo, id),
        "ref": ref_value(base, r, &repo, &full, id),
    }))
}

/// GitHub's GraphQL message for a `POST /pulls` validation failure: the REST `errors` in words,
/// joined with `, ` (e.g. `Head sha can't be blank, Head ref must be a branch`).
fn pull_error_message(err: &ApiError) -> String {
    let Some(items) = err.body.get("errors").and_then(Value::as_array) else {
        return err.body.get("message").and_then(Value::as_str).unwrap_or("Unprocessable").to_string();
    };
    let field_error = |field: &str, code: &str| items.iter().any(|e| e["field"] == field && e["code"] == code);
    let mut words: Vec<String> = Vec::new();
    for field in ["title", "head", "base"] {
        if field_error(field, "missing_field") {
            let name = match field {
                "head" => "Head ref",
                "base" => "Base ref",
                _ => "Title",
            };
            words.push(format!("{name} can't be blank"));
        }
    }
    let (head, base) = (field_error("head", "invalid"), field_error("base", "invalid"));
    if head {
        words.push("Head sha can't be blank".into());
    }
    if base {
        words.push("Base sha can't be blank".into());
    }
    if head {
        words.push("Head ref must be a branch".into());
    }
    if base {
        words.push("Base ref must be a branch".into());
    }
    words.extend(items.iter().filter_map(|e| e.get("message").and_then(Value::as_str)).map(str::to_string));
    words.join(", ")
}

/// `createPullRequest`, through the same code as `POST /pulls`.
fn create_pull_request(shared: &Shared, req: &ApiReq, input: &Value, want: Wants) -> FieldResult {
    let id = opt_str(input, "repositoryId").unwrap_or_default();
    let base = req.base().clone();
    let mut st = shared.lock();
    let db_id = st.next_id();
    let r = repo_by_node(&mut st, req, id)?;
    writable(r)?;
    if let Some(head_repo) = opt_str(input, "headRepositoryId")
        && head_repo != id
    {
        return Err(fail("UNPROCESSABLE", "Cross-repository pull requests are not supported by this test server."));
    }
    let new = NewPull {
        title: opt_str(input, "title").map(str::to_string),
        head: opt_str(input, "headRefName").map(str::to_string),
        base: opt_str(input, "baseRefName").map(str::to_string),
        body: opt_str(input, "body").map(str::to_string),
        draft: input.get("draft").and_then(Value::as_bool).unwrap_or(false),
        maintainer_can_modify: input.get("maintainerCanModify").and_then(Value::as_bool),
    };
    let number = pulls::open_pull(r, db_id, req.ident().login(), new)
        .map_err(|e| fail("UNPROCESSABLE", pull_error_message(&e)))?;
    let p = r.pull(number).ok_or_else(|| fail("INTERNAL", "pull request vanished"))?;
    Ok(json!({
        "__typename": "CreatePullRequestPayload",
        "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
        "pullRequest": pull_value(&base, r, p, want),
    }))
}

/// `updatePullRequest(input: {pullRequestId, title, body, state, labelIds, maintainerCanModify})`.
/// `labelIds` replaces the label set and must name labels of the pull request's repository
/// (GraphQL, unlike REST, creates none). Everything is checked before anything changes.
/// `assigneeIds`, `baseRefName`, `milestoneId` and `projectIds` are refused: this server keeps no
/// user, milestone or project nodes (REST `PATCH /issues/{n}` sets assignees).
fn update_pull_request(shared: &Shared, req: &ApiReq, input: &Value, want: Wants) -> FieldResult {
    let node = opt_str(input, "pullRequestId").unwrap_or_default();
    for unsupported in ["assigneeIds", "baseRefName", "milestoneId", "projectIds"] {
        if input.get(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(fail("UNPROCESSABLE", format!("{unsupported} is not supported by this test server.")));
        }
    }
    let base = req.base().clone();
    let mut st = shared.lock();
    let (r, number) = writable_pull(&mut st, req, node)?;
    let repo = r.repo();
    let Some(mut updated) = r.pull(number).cloned() else { return Err(not_found_node(node)) };
    if let Some(title) = opt_str(input, "title") {
        if title.trim().is_empty() {
            return Err(fail("UNPROCESSABLE", "Title can't be blank"));
        }
        updated.title = title.to_string();
    }
    if let Some(body) = input.get("body").filter(|b| !b.is_null()) {
        pulls::check_body("PullRequest", body.as_str()).map_err(|e| fail("UNPROCESSABLE", pull_error_message(&e)))?;
        updated.body = body.as_str().map(str::to_string);
    }
    if let Some(ids) = input.get("labelIds").and_then(Value::as_array) {
        let mut names: Vec<String> = Vec::new();
        for id in ids.iter().filter_map(Value::as_str) {
            let Some(l) = r.labels.values().find(|l| json::node_id("LA", l.id) == id) else {
                return Err(not_found_node(id));
            };
            if !names.contains(&l.name) {
                names.push(l.name.clone());
            }
        }
        updated.labels = names;
    }
    if let Some(m) = input.get("maintainerCanModify").and_then(Value::as_bool) {
        updated.maintainer_can_modify = m;
    }
    if let Some(state) = opt_str(input, "state") {
        pulls::change_state(r, &repo, &mut updated, &state.to_lowercase(), "PullRequest")
            .map_err(|e| fail("UNPROCESSABLE", pull_error_message(&e)))?;
    }
    updated.updated_at = now();
    if let Some(slot) = r.pull_mut(number) {
        *slot = updated.clone();
    }
    Ok(json!({
        "__typename": "UpdatePullRequestPayload",
        "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
        "pullRequest": pull_value(&base, r, &updated, want),
        "actor": actor(&base, &req.ident().login()),
    }))
}

/// `createLabel(input: {repositoryId, name, color, description})`.
fn create_label(shared: &Shared, req: &ApiReq, input: &Value) -> FieldResult {
    let id = opt_str(input, "repositoryId").unwrap_or_default();
    let name = opt_str(input, "name").unwrap_or_default().trim().to_string();
    let color = opt_str(input, "color").unwrap_or_default().to_lowercase();
    let base = req.base().clone();
    let mut st = shared.lock();
    let label_id = st.next_id() * 1000 + 1;
    let r = repo_by_node(&mut st, req, id)?;
    writable(r)?;
    if name.is_empty() {
        return Err(fail("UNPROCESSABLE", "Name can't be blank"));
    }
    if color.len() != 6 || !color.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail("UNPROCESSABLE", "Color is invalid"));
    }
    let key = name.to_lowercase();
    if r.labels.contains_key(&key) {
        return Err(fail("UNPROCESSABLE", "Name has already been taken"));
    }
    let rec = LabelRec { id: label_id, name, color, description: opt_str(input, "description").map(str::to_string) };
    let label = label_value(&base, r, &rec);
    r.labels.insert(key, rec);
    Ok(json!({
        "__typename": "CreateLabelPayload",
        "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
        "label": label,
    }))
}

/// What `revertPullRequest` answers when the revert does not apply: GitHub's words for a revert
/// it cannot make (the pull request page says them when its Revert button fails).
const REVERT_REFUSED: &str = "Sorry, this pull request couldn't be reverted automatically. It may have already been reverted, or the content may have changed since it was merged.";

/// `revertPullRequest(input: {pullRequestId, title, body, draft})`
/// (<https://docs.github.com/en/graphql/reference/mutations#revertpullrequest>): branch
/// `revert-<number>-<head branch>` off the base's current head with one revert commit
/// ([`pulls::revert_commit`]), by the caller and verified as GitHub's web commits are, and a pull
/// request from it into the original's base, titled `Revert "<title>"` and with the body
/// `Reverts <owner>/<repo>#<number>` unless the input says otherwise. The payload has both pull
/// requests: `pullRequest` the original, `revertPullRequest` the new one.
///
/// Everything is checked before anything is written: a pull request that is not merged, a revert
/// branch that exists, a revert that does not apply cleanly or changes nothing, and the new pull
/// request's validations (`Title can't be blank`) each fail the field and leave no branch, commit
/// or pull request behind.
fn revert_pull_request(shared: &Shared, req: &ApiReq, input: &Value, want: Wants) -> FieldResult {
    let node = opt_str(input, "pullRequestId").unwrap_or_default();
    let base = req.base().clone();
    let mut st = shared.lock();
    let db_id = st.next_id();
    let (r, number) = writable_pull(&mut st, req, node)?;
    let Some(original) = r.pull(number).cloned() else { return Err(not_found_node(node)) };
    if original.merged_at.is_none() {
        return Err(fail("UNPROCESSABLE", "Pull request must be merged to be reverted."));
    }
    let repo = r.repo();
    let branch = format!("revert-{}-{}", original.number, original.head_ref);
    let full = format!("refs/heads/{branch}");
    let exists = || fail("UNPROCESSABLE", format!("A ref named \"{full}\" already exists in the repository."));
    if git::ref_target(&repo, &full).is_some() {
        return Err(exists());
    }
    let Some(head) = pulls::branch_tip(&repo, &original.base_ref) else {
        let base_ref = format!("refs/heads/{}", original.base_ref);
        return Err(fail("NOT_FOUND", format!("Could not resolve to a Ref with the name '{base_ref}'.")));
    };
    let new = NewPull {
        title: Some(opt_str(input, "title").map_or_else(|| format!("Revert \"{}\"", original.title), str::to_string)),
        head: Some(branch.clone()),
        base: Some(original.base_ref.clone()),
        body: Some(
            opt_str(input, "body")
                .map_or_else(|| format!("Reverts {}#{}", r.full_name(), original.number), str::to_string),
        ),
        draft: input.get("draft").and_then(Value::as_bool).unwrap_or(false),
        maintainer_can_modify: None,
    };
    if new.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(fail("UNPROCESSABLE", "Title can't be blank"));
    }
    pulls::check_body("PullRequest", new.body.as_deref()).map_err(|e| fail("UNPROCESSABLE", pull_error_message(&e)))?;
    let author = git_data::default_signature(req.ident());
    let Some(commit) = pulls::revert_commit(&repo, &original, head, &author)? else {
        return Err(fail("UNPROCESSABLE", REVERT_REFUSED));
    };
    git::set_ref(&repo, &full, commit, Some(PreviousValue::MustNotExist)).map_err(|_| exists())?;
    let revert_number = match pulls::open_pull(r, db_id, req.ident().login(), new) {
        Ok(n) => n,
        Err(e) => {
            // Not expected after the checks above; leave nothing behind all the same.
            let _ = git::delete_ref(&repo, &full);
            return Err(fail("UNPROCESSABLE", pull_error_message(&e)));
        }
    };
    r.verified.insert(commit.to_string());
    r.pushed_at = now();
    let (Some(original), Some(revert)) = (r.pull(number), r.pull(revert_number)) else {
        return Err(fail("INTERNAL", "pull request vanished"));
    };
    Ok(json!({
        "__typename": "RevertPullRequestPayload",
        "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
        "pullRequest": pull_value(&base, r, original, want),
        "revertPullRequest": pull_value(&base, r, revert, want),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_and_print() {
        for s in ["ID!", "String", "[FileAddition!]", "[[Int]!]!"] {
            assert_eq!(Ty::parse(s).to_string(), s);
        }
        assert_eq!(Ty::parse("[FileAddition!]"), Ty::List(Box::new(Ty::Named("FileAddition".into(), true)), false));
        assert_eq!(Ty::parse("[FileAddition!]").base(), "FileAddition");
    }

    #[test]
    fn variables_fit_their_usages() {
        let (t, u) = (Ty::parse, variable_fits);
        assert_eq!(u(&t("ID!"), false, &t("ID!")), Ok(()));
        assert_eq!(u(&t("ID!"), false, &t("ID")), Ok(()));
        assert_eq!(u(&t("ID"), false, &t("ID!")), Err("Nullability"));
        assert_eq!(u(&t("ID"), true, &t("ID!")), Ok(()));
        assert_eq!(u(&t("String!"), false, &t("ID!")), Err("Type"));
        assert_eq!(u(&t("[FileAddition]"), false, &t("[FileAddition!]")), Err("Nullability"));
        assert_eq!(u(&t("FileAddition!"), false, &t("[FileAddition!]")), Err("Type"));
    }

    #[test]
    fn tokens_are_named_as_graphql_ruby_names_them() {
        let at = |q: &str, line, column| token_at(q, Pos { line, column });
        assert_eq!(at("{ a } }", 1, 7).as_deref(), Some("\"}\" (RCURLY)"));
        assert_eq!(at("{ a }\n  foo", 2, 1).as_deref(), Some("\"foo\" (IDENTIFIER)"));
        assert_eq!(at("query { a(x: 12) }", 1, 1).as_deref(), Some("\"query\" (QUERY)"));
        assert_eq!(at("{ a(x: 12) }", 1, 8).as_deref(), Some("\"12\" (INT)"));
        assert_eq!(at("{ a(x: \"s\") }", 1, 8).as_deref(), Some("\"s\" (STRING)"));
        assert_eq!(at("{ a ", 1, 5), None);
    }

    fn field(key: &str, name: &str, sub: Option<Sel>) -> Item {
        Item::Field(FieldSel {
            key: key.into(),
            name: name.into(),
            pos: Pos::default(),
            args: Vec::new(),
            resolved: Map::new(),
            sub,
            connection: false,
        })
    }

    #[test]
    fn pruning_follows_aliases_fragments_and_merges() {
        let value = json!({
            "__typename": "Ref",
            "name": "main",
            "prefix": "refs/heads/",
            "target": { "__typename": "Commit", "oid": "abc", "message": "m", "url": "u" },
        });
        let target = |items| Some(Sel(items));
        let sel = Sel(vec![
            field("n", "name", None),
            field("target", "target", target(vec![field("oid", "oid", None)])),
            Item::Fragment {
                on: Some("Ref".into()),
                sel: Sel(vec![field("target", "target", target(vec![field("__typename", "__typename", None)]))]),
            },
            Item::Fragment {
                on: Some("Node".into()),
                sel: Sel(vec![field(
                    "target",
                    "target",
                    target(vec![
                        Item::Fragment { on: Some("Commit".into()), sel: Sel(vec![field("msg", "message", None)]) },
                        Item::Fragment { on: Some("Tree".into()), sel: Sel(vec![field("url", "url", None)]) },
                    ]),
                )]),
            },
            field("missing", "nothing", None),
        ]);
        assert_eq!(
            prune(&value, &sel),
            json!({ "n": "main", "target": { "oid": "abc", "__typename": "Commit", "msg": "m" }, "missing": null })
        );
        assert_eq!(
            prune(&json!([value.clone(), null]), &Sel(vec![field("p", "prefix", None)])),
            json!([{ "p": "refs/heads/" }, null])
        );
    }

    #[test]
    fn pull_request_errors_read_as_github_words() {
        let err = ApiError::validation(vec![
            ApiError::field_error("PullRequest", "base", "invalid"),
            ApiError::field_error("PullRequest", "head", "invalid"),
        ]);
        assert_eq!(
            pull_error_message(&err),
            "Head sha can't be blank, Base sha can't be blank, Head ref must be a branch, Base ref must be a branch"
        );
        let err = ApiError::validation(vec![ApiError::custom_error("PullRequest", "No commits between main and x")]);
        assert_eq!(pull_error_message(&err), "No commits between main and x");
    }
}
