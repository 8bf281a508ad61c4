//! The one JSON document every command prints with `--json` (or `--format json`).
//!
//! Shape (schema version [`SCHEMA_VERSION`], published as `docs/schemas/envelope.schema.json`):
//!
//! - `schema_version` (integer), `command` (the subcommand path: `"plan"`, `"deps align"`,
//!   `"release plan"`);
//! - `summary`: counts only (integers), e.g. `repos`, `changed`, `failed`;
//! - `results`: the command's primary items, one per repository for per-repository commands;
//! - `skipped`: `{repo, reason}` for every repository the selection left out (empty when the
//!   command never skips);
//! - `errors`: `{message, repo?, file?, line?, column?, help?}`: per-repository failures (with
//!   `repo`, and never also in `results`) and failures of the run;
//! - `api`: the GitHub API usage of the run (`kind = "github"`), `null` on the local forge;
//! - further keys for context (`campaign`, `dry_run`, `rates` ...), documented per command;
//! - a run that fails as a whole adds `ok: false` and `exit_code`, with empty `results`.
//!
//! Keys print in alphabetical order on one line (`serde_json`'s map is ordered by key).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::campaign::RepoResult;
use crate::diagnostic::Diagnostic;
use crate::forge::{ApiUsage, RepoId};

use super::SCHEMA_VERSION;

/// The keys every document has; a command's context keys may not reuse them.
pub const RESERVED: &[&str] =
    &["schema_version", "command", "summary", "results", "skipped", "errors", "api", "ok", "exit_code"];

#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub schema_version: u32,
    pub command: String,
    /// Counts (integers only) by name.
    pub summary: BTreeMap<String, u64>,
    pub results: Vec<Value>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<ErrorItem>,
    pub api: Option<Api>,
    /// `false` only on a document for a run that failed as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// The process exit code, on a document for a run that failed as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// The command's own top-level keys (never one of [`RESERVED`]).
    #[serde(flatten)]
    pub context: Map<String, Value>,
}

/// A repository the selection left out, and why (`archived`, `excluded by exclude`...).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    pub repo: String,
    pub reason: String,
}

/// One failure: of a repository (`repo` set), of a manifest entry (`file`, `line`, `column`,
/// `help` from the [`Diagnostic`]), or of the run (only `message`). Absent fields are left out.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorItem {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl ErrorItem {
    /// A failure of the run, not of one repository. A text in convoy's error convention,
    /// `what went wrong\n  help: what to do`, is split into `message` and `help`.
    pub fn run(message: impl Into<String>) -> Self {
        let (message, help) = split_help(message.into());
        ErrorItem { message, help, ..Default::default() }
    }

    /// A failure of one repository (`owner/name`); its help split off as for [`run`](Self::run).
    pub fn repo(repo: impl Into<String>, message: impl Into<String>) -> Self {
        let (message, help) = split_help(message.into());
        ErrorItem { message, help, repo: Some(repo.into()), ..Default::default() }
    }
}

/// `"text\n  help: hint"` → (`"text"`, `Some("hint")`); several help lines are joined by `; `.
fn split_help(text: String) -> (String, Option<String>) {
    const MARK: &str = "\n  help: ";
    match text.split_once(MARK) {
        None => (text, None),
        Some((message, help)) => {
            let help = help.split(MARK).map(str::trim).collect::<Vec<_>>().join("; ");
            (message.to_string(), Some(help))
        }
    }
}

impl From<&Diagnostic> for ErrorItem {
    fn from(d: &Diagnostic) -> Self {
        ErrorItem {
            message: d.message.clone(),
            repo: None,
            file: Some(d.file.display().to_string()),
            line: Some(d.line),
            column: Some(d.column),
            help: d.help.clone(),
        }
    }
}

/// The API usage of a remote forge: `kind` (`"github"`) and the counters of [`ApiUsage`].
#[derive(Debug, Clone, Serialize)]
pub struct Api {
    pub kind: &'static str,
    #[serde(flatten)]
    pub usage: ApiUsage,
}

impl Envelope {
    pub fn new(command: impl Into<String>) -> Self {
        Envelope {
            schema_version: SCHEMA_VERSION,
            command: command.into(),
            summary: BTreeMap::new(),
            results: Vec::new(),
            skipped: Vec::new(),
            errors: Vec::new(),
            api: None,
            ok: None,
            exit_code: None,
            context: Map::new(),
        }
    }

    /// The document of a run that failed as a whole: `ok: false`, `exit_code`, the causes in
    /// `errors`, nothing else.
    pub fn failure(command: impl Into<String>, exit_code: u8, errors: Vec<ErrorItem>) -> Self {
        let mut env = Envelope::new(command);
        env.ok = Some(false);
        env.exit_code = Some(exit_code);
        env.errors = errors;
        env
    }

    /// Set the count `key` of `summary`.
    pub fn count(mut self, key: &str, n: usize) -> Self {
        self.summary.insert(key.to_string(), n as u64);
        self
    }

    /// Every integer field of `counts` (a struct of counts, serialised) into `summary`; other
    /// fields are left out, so `summary` stays counts only.
    pub fn counts(mut self, counts: impl Serialize) -> Self {
        if let Ok(Value::Object(map)) = serde_json::to_value(counts) {
            for (k, v) in map {
                if let Some(n) = v.as_u64() {
                    self.summary.insert(k, n);
                }
            }
        }
        self
    }

    /// Append one item to `results` (serialised; an item that does not serialise is `null`).
    pub fn result(mut self, item: impl Serialize) -> Self {
        self.results.push(serde_json::to_value(item).unwrap_or_default());
        self
    }

    pub fn results<I: Serialize>(mut self, items: impl IntoIterator<Item = I>) -> Self {
        self.results.extend(items.into_iter().map(|i| serde_json::to_value(i).unwrap_or_default()));
        self
    }

    /// The successes of a per-repository run as `results` (`item` of each), its failures as
    /// `errors` with `repo` set.
    pub fn repo_results<T>(mut self, results: &[RepoResult<T>], item: impl Fn(&RepoId, &T) -> Value) -> Self {
        for r in results {
            match &r.result {
                Ok(t) => self.results.push(item(&r.repo, t)),
                Err(e) => self.errors.push(ErrorItem::repo(r.repo.full_name(), e.clone())),
            }
        }
        self
    }

    pub fn skipped(mut self, skipped: &[(RepoId, String)]) -> Self {
        self.skipped.extend(skipped.iter().map(|(r, why)| Skipped { repo: r.full_name(), reason: why.clone() }));
        self
    }

    pub fn error(mut self, e: ErrorItem) -> Self {
        self.errors.push(e);
        self
    }

    pub fn error_all(mut self, errors: impl IntoIterator<Item = ErrorItem>) -> Self {
        self.errors.extend(errors);
        self
    }

    /// Add the context key `key` (one of the command's documented top-level keys).
    ///
    /// # Panics
    /// In debug builds, when `key` is one of [`RESERVED`]: a command's key would otherwise
    /// silently replace part of the envelope.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        debug_assert!(!RESERVED.contains(&key), "`{key}` is an envelope key");
        self.context.insert(key.to_string(), serde_json::to_value(value).unwrap_or_default());
        self
    }

    pub fn with_api(mut self, usage: Option<ApiUsage>) -> Self {
        self.api = usage.map(|usage| Api { kind: "github", usage });
        self
    }

    /// The document on one line, keys in alphabetical order.
    pub fn to_line(&self) -> String {
        serde_json::to_value(self).map(|v| v.to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_present_and_context_sits_beside_them() {
        let env = Envelope::new("plan").count("repos", 2).with("dry_run", true);
        let v: Value = serde_json::from_str(&env.to_line()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["api", "command", "dry_run", "errors", "results", "schema_version", "skipped", "summary"]);
        assert_eq!(v["api"], Value::Null);
        assert_eq!(v["summary"]["repos"], 2);
    }

    #[test]
    fn failed_repositories_go_to_errors_not_results() {
        let a = RepoId::new("acme", "a");
        let b = RepoId::new("acme", "b");
        let results =
            vec![RepoResult { repo: a, result: Ok(1) }, RepoResult { repo: b, result: Err("boom".to_string()) }];
        let env = Envelope::new("x").repo_results(&results, |r, n| serde_json::json!({"repo": r.full_name(), "n": n}));
        assert_eq!(env.results, vec![serde_json::json!({"repo": "acme/a", "n": 1})]);
        assert_eq!(env.errors, vec![ErrorItem::repo("acme/b", "boom")]);
    }

    #[test]
    fn a_failure_document_says_so() {
        let env = Envelope::failure("validate", 2, vec![ErrorItem::run("no manifest")]);
        let v: Value = serde_json::from_str(&env.to_line()).unwrap();
        assert_eq!((v["ok"].clone(), v["exit_code"].clone()), (Value::Bool(false), Value::from(2)));
        assert_eq!(v["errors"][0], serde_json::json!({"message": "no manifest"}));
    }
}
