//! The JSON view of an audit report (`audit --format json`, `report merge --format json`), and
//! its reader: a shard's JSON is the input of `convoy report merge`, so the two stay together.
//!
//! Shape (`docs/schemas/audit.schema.json`): the [`Envelope`] with `results` the findings,
//! per-repository failures in `errors`, and `tool`, `rules`, `repos` (the audited repositories,
//! sorted) and `shards` beside them; `summary` counts `repos`, `files`, `findings`, `errors` and
//! the findings per severity (`error`, `warning`, `note`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Envelope, ErrorItem, SCHEMA_VERSION};
use crate::policy::finding::{AUDIT_SCHEMA_VERSION, AuditError, AuditReport, Finding, RuleMeta, Severity, ShardInfo};

pub fn audit_json(report: &AuditReport) -> Envelope {
    let by = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let mut env = Envelope::new("audit")
        .count("repos", report.repos.len())
        .count("files", report.files)
        .count("findings", report.findings.len())
        .count("errors", report.errors.len())
        .count("error", by(Severity::Error))
        .count("warning", by(Severity::Warning))
        .count("note", by(Severity::Note))
        .results(&report.findings)
        .with("tool", &report.tool)
        .with("rules", &report.rules)
        .with("repos", &report.repos)
        .with("shards", &report.shards);
    env.errors = report.errors.iter().map(|e| ErrorItem::repo(&e.repo, &e.message)).collect();
    env
}

/// The fields of an audit document `report merge` reads back.
#[derive(Deserialize)]
struct AuditDoc {
    // `schema_version` is checked on the raw value before this is read.
    command: String,
    #[serde(default)]
    ok: Option<bool>,
    tool: String,
    rules: Vec<RuleMeta>,
    repos: Vec<String>,
    summary: BTreeMap<String, u64>,
    results: Vec<Finding>,
    errors: Vec<ErrorItem>,
    #[serde(default)]
    shards: Vec<ShardInfo>,
}

/// Read the JSON `convoy audit --format json` (or `report merge --format json`) wrote.
///
/// # Errors
/// A message (without the file name) when `bytes` is not such a document: not JSON, another
/// command's document, another schema version, or the document of an audit that failed as a
/// whole.
pub fn audit_from_json(bytes: &[u8]) -> Result<AuditReport, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a convoy audit report: {e}"))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(SCHEMA_VERSION)) {
        let shown = version.map_or("none".to_string(), |v| v.to_string());
        return Err(format!("report schema version {shown} is not {SCHEMA_VERSION}; audit again with this convoy"));
    }
    let doc: AuditDoc = serde_json::from_value(value).map_err(|e| format!("not a convoy audit report: {e}"))?;
    if doc.command != "audit" && doc.command != "report merge" {
        return Err(format!("not a convoy audit report: it is the output of `convoy {}`", doc.command));
    }
    if doc.ok == Some(false) {
        return Err("the audit that wrote this report failed as a whole; audit again".into());
    }
    let mut errors = Vec::new();
    for e in doc.errors {
        match e.repo {
            Some(repo) => errors.push(AuditError { repo, message: e.message }),
            None => return Err(format!("the audit that wrote this report failed: {}", e.message)),
        }
    }
    Ok(AuditReport {
        schema_version: AUDIT_SCHEMA_VERSION,
        tool: doc.tool,
        rules: doc.rules,
        repos: doc.repos,
        files: usize::try_from(doc.summary.get("files").copied().unwrap_or_default()).unwrap_or(usize::MAX),
        findings: doc.results,
        errors,
        shards: doc.shards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> AuditReport {
        AuditReport {
            schema_version: AUDIT_SCHEMA_VERSION,
            tool: "convoy 0.1.0".into(),
            rules: vec![],
            repos: vec!["acme/a".into()],
            files: 3,
            findings: vec![Finding {
                rule: "timeout".into(),
                severity: Severity::Warning,
                repo: "acme/a".into(),
                path: ".github/workflows/ci.yml".into(),
                line: 4,
                column: 3,
                message: "no timeout".into(),
                hint: "add timeout-minutes".into(),
                fixable: true,
            }],
            errors: vec![AuditError { repo: "acme/b".into(), message: "not in the cache".into() }],
            shards: vec![ShardInfo { index: 1, count: 2, run: Some("42".into()) }],
        }
    }

    #[test]
    fn a_report_reads_back_as_it_was_written() {
        let line = audit_json(&report()).to_line();
        assert_eq!(audit_from_json(line.as_bytes()), Ok(report()));
    }

    #[test]
    fn other_documents_are_refused_with_the_reason() {
        let plan = Envelope::new("plan").to_line();
        let err = audit_from_json(plan.as_bytes()).unwrap_err();
        assert!(err.contains("not a convoy audit report"), "{err}");
        let old = r#"{"schema_version": 1, "tool": "convoy 0.1.0"}"#;
        assert!(audit_from_json(old.as_bytes()).unwrap_err().contains("schema version 1 is not 2"));
        let mut failed = audit_json(&report());
        failed.ok = Some(false);
        assert!(audit_from_json(failed.to_line().as_bytes()).unwrap_err().contains("failed as a whole"));
    }
}
