//! SARIF 2.1.0 for an [`AuditReport`], shaped so that GitHub code scanning accepts the upload
//! (`github/codeql-action/upload-sarif`).
//!
//! The types are those of the `serde-sarif` crate (0.8, `psastras/sarif-rs`, MIT; released
//! regularly since 2021, default features off so none of its converters are built). Its structs are
//! generated from the SARIF 2.1.0 schema at build time, so a property the schema lacks cannot be
//! written by mistake. The tests validate the output against the OASIS schema itself (errata 01),
//! vendored in `tests/data/sarif/`.
//!
//! What goes where:
//! - One run; `tool.driver` is convoy (name, version, `informationUri` when the crate has a
//!   homepage or repository), with one `reportingDescriptor` per [`RuleMeta`]: `id`, `name` (the
//!   id too), `shortDescription` (the rule's description), `fullDescription` (description and
//!   help), `help.text` and `defaultConfiguration.level`.
//! - One result per finding: `ruleId`, `ruleIndex` into `tool.driver.rules`, `level`,
//!   `message.text` (message, then `help: <hint>`), and one location (`artifactLocation`,
//!   `startLine`/`startColumn`).
//! - Where a location points. A report of one repository (`convoy audit --repo acme/api`, whose
//!   SARIF is uploaded to that repository) gives the path inside the repository, relative to
//!   `%SRCROOT%`, the root of its checkout, as code scanning expects. A report covering several
//!   repositories (the org-wide run, or shards merged) cannot: code scanning resolves every `uri`
//!   against the repository that receives the upload and has no notion of "another repository",
//!   so the same path in two repositories would be one file. There each `uri` is qualified by its
//!   repository, `owner/name/<path>`, relative to [`ORGROOT`], which `run.originalUriBaseIds`
//!   describes as a folder holding each repository at `owner/name/` (SARIF 2.1.0 §3.4.4,
//!   §3.14.14). Either way each result also carries `properties.repository = "owner/name"`, and
//!   its `partialFingerprints` include the repository, so that the same file in two repositories
//!   gives two alerts, not one. Paths are percent-encoded ([`uri_path`]).
//! - Audit errors (repositories that could not be read) are `toolExecutionNotifications` of
//!   `invocations[0]`, at level `error`, with `properties.repository`.
//!   `executionSuccessful` is `true` when at least one repository was audited: the tool ran, and
//!   its results are complete for the repositories they cover (one unreadable repository out of
//!   hundreds is a notification, not a failed run). It is `false` only when there were errors and
//!   no repository could be audited at all, so that an empty `results` does not read as "all
//!   clean". Either way, code scanning treats alerts missing from a new analysis as fixed, so the
//!   findings of a repository that could not be read this time may show as fixed until the next
//!   good run; the notification says why.
//! - `automationDetails.id` is `convoy/audit/`, or `convoy/audit/shard-K-of-N/` for a report
//!   covering only some shards, so that the uploads of several shards to one repository do not
//!   replace one another (code scanning keeps one analysis per category).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification, PhysicalLocation,
    PropertyBag, Region, ReportingConfiguration, ReportingDescriptor, ReportingDescriptorReference,
    Result as SarifResult, ResultLevel, Run, RunAutomationDetails, Sarif, Tool, ToolComponent,
};
use sha2::{Digest, Sha256};

use super::finding::{AuditReport, Finding, RuleMeta, Severity};

/// `$schema` of the log: the OASIS SARIF 2.1.0 schema, errata 01 (the current text of 2.1.0).
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";

/// The key of the fingerprint in each result's `partialFingerprints`. Its value is
/// `<32 hex digits>:<n>`: the first 128 bits of SHA-256 over the repository, path, rule and
/// message (each length-prefixed, so no two field splits hash alike), and `n`, counting from 1,
/// the how-manieth finding with that same hash this is in the report's order.
///
/// Not the line: a finding keeps its identity (and its alert its history) when lines above it
/// are added or removed. The counter keeps two identical findings in one file (say the same
/// unpinned action used twice) apart. SHA-256 rather than `std`'s hasher, whose algorithm is
/// unspecified and whose `RandomState` is seeded per process: a fingerprint must be the same
/// across runs, machines and Rust releases. (`sha2` is already a dependency.)
pub const FINGERPRINT_KEY: &str = "convoyFindingHash/v1";

/// `uriBaseId` of every location: the root of the repository's checkout.
pub const SRCROOT: &str = "%SRCROOT%";

/// `uriBaseId` of every location of a report covering several repositories: a folder holding
/// each repository of the org at `owner/name/` (see the module documentation).
pub const ORGROOT: &str = "ORGROOT";

/// The id of the notification descriptor for audit errors.
pub const AUDIT_ERROR_ID: &str = "audit-error";

/// The SARIF log of a report, as JSON.
pub fn sarif(report: &AuditReport) -> Value {
    // Cannot fail: every map in the log has string keys, and no type has a fallible Serialize.
    serde_json::to_value(sarif_log(report)).unwrap_or_default()
}

/// The SARIF log of a report, typed (see the module documentation for the mapping).
pub fn sarif_log(report: &AuditReport) -> Sarif {
    // Rules: the report's, then any rule a finding names that the report does not describe, so
    // that every result has a ruleIndex.
    let mut metas: Vec<RuleMeta> = report.rules.clone();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, rule) in metas.iter().enumerate() {
        index.entry(rule.id.clone()).or_insert(i);
    }
    for f in &report.findings {
        if !index.contains_key(&f.rule) {
            index.insert(f.rule.clone(), metas.len());
            metas.push(RuleMeta {
                id: f.rule.clone(),
                severity: f.severity,
                description: format!("Rule {}.", f.rule),
                help: String::new(),
            });
        }
    }
    let rules: Vec<ReportingDescriptor> = metas.iter().map(rule_descriptor).collect();

    let single = single_repository(report);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| {
            let hash = finding_hash(f);
            let n = seen.entry(hash.clone()).or_insert(0);
            *n += 1;
            let fingerprint = format!("{hash}:{n}");
            result(f, index.get(&f.rule).copied().unwrap_or_default(), fingerprint, single.is_none())
        })
        .collect();

    let notifications: Vec<Notification> = report
        .errors
        .iter()
        .map(|e| {
            Notification::builder()
                .level(Value::from("error"))
                .message(Message::builder().text(format!("{}: {}", e.repo, e.message)).build())
                .descriptor(ReportingDescriptorReference::builder().id(AUDIT_ERROR_ID).index(0).build())
                .properties(properties([("repository", Value::from(e.repo.clone()))]))
                .build()
        })
        .collect();
    let failed: HashSet<&str> = report.errors.iter().map(|e| e.repo.as_str()).collect();
    let audited = report.repos.iter().filter(|r| !failed.contains(r.as_str())).count();
    let execution_successful = report.errors.is_empty() || audited > 0;
    let invocation = if notifications.is_empty() {
        Invocation::builder().execution_successful(execution_successful).build()
    } else {
        Invocation::builder()
            .execution_successful(execution_successful)
            .tool_execution_notifications(notifications)
            .build()
    };

    let information_uri =
        [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")].into_iter().find(|u| !u.is_empty());
    let audit_error = ReportingDescriptor::builder()
        .id(AUDIT_ERROR_ID)
        .name(AUDIT_ERROR_ID)
        .short_description(text("A repository could not be audited."))
        .default_configuration(ReportingConfiguration::builder().level(Value::from("error")).build())
        .build();
    let driver = match information_uri {
        Some(uri) => ToolComponent::builder()
            .name("convoy")
            .version(env!("CARGO_PKG_VERSION"))
            .information_uri(uri)
            .rules(rules)
            .notifications(vec![audit_error])
            .build(),
        None => ToolComponent::builder()
            .name("convoy")
            .version(env!("CARGO_PKG_VERSION"))
            .rules(rules)
            .notifications(vec![audit_error])
            .build(),
    };

    let run_properties =
        properties([("repositories", Value::from(report.repos.clone())), ("files", Value::from(report.files))]);
    let builder = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .automation_details(RunAutomationDetails::builder().id(automation_id(report)).build())
        .invocations(vec![invocation])
        .results(results)
        .properties(run_properties);
    let run = if single.is_some() {
        builder.build()
    } else {
        let org_root = ArtifactLocation::builder()
            .description(
                Message::builder()
                    .text("A folder holding each audited repository, checked out at owner/name/ (e.g. acme/api/.github/workflows/ci.yml).")
                    .build(),
            )
            .build();
        builder.original_uri_base_ids(BTreeMap::from([(ORGROOT.to_string(), org_root)])).build()
    };

    Sarif::builder().schema(SARIF_SCHEMA_URI).version(Value::from(SARIF_VERSION)).runs(vec![run]).build()
}

fn rule_descriptor(rule: &RuleMeta) -> ReportingDescriptor {
    let full =
        if rule.help.is_empty() { rule.description.clone() } else { format!("{} {}", rule.description, rule.help) };
    let help = if rule.help.is_empty() { rule.description.clone() } else { rule.help.clone() };
    ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule.id.clone())
        .short_description(text(&rule.description))
        .full_description(text(&full))
        .help(text(&help))
        .default_configuration(ReportingConfiguration::builder().level(Value::from(level_str(rule.severity))).build())
        .build()
}

/// The one repository a report covers (audited, with findings or with errors), if it is one.
fn single_repository(report: &AuditReport) -> Option<&str> {
    let mut repos =
        report.repos.iter().chain(report.findings.iter().map(|f| &f.repo)).chain(report.errors.iter().map(|e| &e.repo));
    let first = repos.next()?;
    repos.all(|r| r == first).then_some(first.as_str())
}

/// A finding's `artifactLocation`: the path relative to `%SRCROOT%`, or with `qualified`,
/// `owner/name/path` relative to [`ORGROOT`].
fn artifact_location(f: &Finding, qualified: bool) -> ArtifactLocation {
    if qualified {
        ArtifactLocation::builder().uri(uri_path(&format!("{}/{}", f.repo, f.path))).uri_base_id(ORGROOT).build()
    } else {
        ArtifactLocation::builder().uri(uri_path(&f.path)).uri_base_id(SRCROOT).build()
    }
}

fn result(f: &Finding, rule_index: usize, fingerprint: String, qualified: bool) -> SarifResult {
    let mut message = f.message.clone();
    if !f.hint.trim().is_empty() {
        message.push_str("\nhelp: ");
        message.push_str(&f.hint);
    }
    if f.fixable {
        message.push_str(" (fixable with convoy audit --fix)");
    }
    let artifact = artifact_location(f, qualified);
    // The schema (errata 01) wants a region to have a startLine; line 0 means "unknown".
    let physical = match (f.line, f.column) {
        (0, _) => PhysicalLocation::builder().artifact_location(artifact).build(),
        (line, 0) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().start_line(to_i64(line)).build())
            .build(),
        (line, column) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().start_line(to_i64(line)).start_column(to_i64(column)).build())
            .build(),
    };
    SarifResult::builder()
        .rule_id(f.rule.clone())
        .rule_index(to_i64(rule_index))
        .level(match f.severity {
            Severity::Note => ResultLevel::Note,
            Severity::Warning => ResultLevel::Warning,
            Severity::Error => ResultLevel::Error,
        })
        .message(Message::builder().text(message).build())
        .locations(vec![Location::builder().physical_location(physical).build()])
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT_KEY.to_string(), fingerprint)]))
        .properties(properties([("repository", Value::from(f.repo.clone())), ("fixable", Value::from(f.fixable))]))
        .build()
}

/// The first 128 bits of SHA-256 over repository, path, rule and message, in hex (see
/// [`FINGERPRINT_KEY`]).
fn finding_hash(f: &Finding) -> String {
    let mut hasher = Sha256::new();
    for part in [&f.repo, &f.path, &f.rule, &f.message] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    hex::encode(&digest[..16])
}

/// `convoy/audit/`, or `convoy/audit/shard-1-of-4+2-of-4/` when the report covers some shards
/// but not all of them.
fn automation_id(report: &AuditReport) -> String {
    let complete = match report.shards.first() {
        None => true,
        Some(first) => {
            let count = first.count;
            report.shards.iter().all(|s| s.count == count)
                && (1..=count).all(|i| report.shards.iter().any(|s| s.index == i))
        }
    };
    if complete {
        "convoy/audit/".to_string()
    } else {
        let shards: Vec<String> = report.shards.iter().map(|s| format!("{}-of-{}", s.index, s.count)).collect();
        format!("convoy/audit/shard-{}/", shards.join("+"))
    }
}

/// A repository-relative path as a relative URI reference: every byte outside RFC 3986's
/// unreserved characters, sub-delimiters, `@` and `/` is percent-encoded (a space, `%`, `#`,
/// `?`, non-ASCII, and `:` so that `a:b.yml` cannot read as a URI with scheme `a`).
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@'
            | b'/' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn level_str(severity: Severity) -> &'static str {
    // SARIF levels and convoy severities have the same names.
    severity.as_str()
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s).build()
}

fn properties<const N: usize>(pairs: [(&str, Value); N]) -> PropertyBag {
    PropertyBag::builder()
        .additional_properties(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>())
        .build()
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::finding::{AUDIT_SCHEMA_VERSION, AuditError, ShardInfo};

    /// The OASIS SARIF 2.1.0 (errata 01) schema; see `tests/data/sarif/README.md`.
    const SCHEMA: &str = include_str!("../../tests/data/sarif/sarif-schema-2.1.0.json");

    /// Validators of the vendored schema, compiled once: draft-04, as the schema declares, and
    /// draft-07 too, because draft-04 has no `uri-reference` format and so would not check
    /// `artifactLocation.uri` at all. Every keyword this schema uses (`type`, `properties`,
    /// `required`, `$ref` to `#/definitions`, `minimum`, `pattern`, `enum`, `anyOf`, `oneOf`, ...)
    /// means the same in both drafts, so draft-07 only adds that format check. Formats (`uri`,
    /// `uri-reference`, `date-time`) are checked. The crate is built without its `resolve-http` and
    /// `resolve-file` features, and all refs are internal: nothing is fetched.
    static VALIDATORS: std::sync::LazyLock<[jsonschema::Validator; 2]> = std::sync::LazyLock::new(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
        [jsonschema::Draft::Draft4, jsonschema::Draft::Draft7].map(|draft| {
            jsonschema::options()
                .with_draft(draft)
                .should_validate_formats(true)
                .build(&schema)
                .expect("the vendored schema compiles")
        })
    });

    fn schema_errors(log: &Value) -> Vec<String> {
        VALIDATORS.iter().flat_map(|v| v.iter_errors(log).map(|e| format!("{}: {e}", e.instance_path()))).collect()
    }

    #[track_caller]
    fn assert_valid(log: &Value) {
        let errors = schema_errors(log);
        assert!(errors.is_empty(), "not valid SARIF 2.1.0:\n{}\n{log:#}", errors.join("\n"));
    }

    fn rule(id: &str, severity: Severity) -> RuleMeta {
        RuleMeta { id: id.into(), severity, description: format!("Checks {id}."), help: format!("Fix {id}.") }
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        repo: &str,
        path: &str,
        line: usize,
        column: usize,
        rule: &str,
        severity: Severity,
        message: &str,
    ) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            repo: repo.into(),
            path: path.into(),
            line,
            column,
            message: message.into(),
            hint: format!("fix {rule}"),
            fixable: false,
        }
    }

    fn report() -> AuditReport {
        let mut fixable = finding(
            "acme/api",
            ".github/workflows/ci.yml",
            12,
            9,
            "pinned-actions",
            Severity::Error,
            "actions/checkout@v4 is not pinned",
        );
        fixable.fixable = true;
        AuditReport {
            schema_version: AUDIT_SCHEMA_VERSION,
            tool: "convoy 0.1.0".into(),
            rules: vec![
                rule("pinned-actions", Severity::Error),
                rule("schedule-frequency", Severity::Warning),
                rule("timeout-minutes", Severity::Note),
            ],
            repos: vec!["acme/api".into(), "acme/broken".into(), "acme/web".into()],
            files: 5,
            findings: vec![
                fixable,
                finding(
                    "acme/api",
                    ".github/workflows/my nightly.yml",
                    3,
                    5,
                    "schedule-frequency",
                    Severity::Warning,
                    "runs every 5 minutes | 100% of the time\nsecond line\r\nthird",
                ),
                finding("acme/web", ".github/workflows/ci.yml", 20, 5, "timeout-minutes", Severity::Note, "no timeout"),
                finding("acme/web", ".github/workflows/ci.yml", 30, 5, "pinned-actions", Severity::Warning, "x@main"),
            ],
            errors: vec![AuditError { repo: "acme/broken".into(), message: "tree not in the cache".into() }],
            shards: vec![],
        }
    }

    fn results(log: &Value) -> &Vec<Value> {
        log["runs"][0]["results"].as_array().expect("results is an array")
    }

    fn fingerprint(result: &Value) -> &str {
        result["partialFingerprints"][FINGERPRINT_KEY].as_str().expect("a fingerprint")
    }

    #[test]
    fn vendored_schema_is_the_oasis_errata_01_schema() {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
        assert_eq!(schema["id"], SARIF_SCHEMA_URI);
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    }

    #[test]
    fn the_schema_check_is_not_vacuous() {
        let mut log = sarif(&report());
        assert_valid(&log);
        let valid = log.clone();
        log["runs"][0]["results"][0]["level"] = Value::from("fatal");
        assert!(!schema_errors(&log).is_empty());
        let mut log = valid.clone();
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = Value::from(0);
        assert!(!schema_errors(&log).is_empty());
        let mut log = valid.clone();
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
            Value::from("a b.yml");
        assert!(!schema_errors(&log).is_empty(), "a space is not allowed in a URI reference");
        let mut log = valid;
        log["runs"][0]["tool"]["driver"]["unknownProperty"] = Value::from(1);
        assert!(!schema_errors(&log).is_empty());
    }

    #[test]
    fn a_report_with_several_rules_severities_and_repos_is_valid_sarif() {
        let log = sarif(&report());
        assert_valid(&log);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SARIF_SCHEMA_URI);
        let runs = log["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert_eq!(driver["name"], "convoy");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let rules = driver["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), 3);
        assert_eq!(
            rules[1],
            serde_json::json!({
                "id": "schedule-frequency",
                "name": "schedule-frequency",
                "shortDescription": { "text": "Checks schedule-frequency." },
                "fullDescription": { "text": "Checks schedule-frequency. Fix schedule-frequency." },
                "help": { "text": "Fix schedule-frequency." },
                "defaultConfiguration": { "level": "warning" },
            })
        );
        assert_eq!(results(&log).len(), 4);
        assert_eq!(runs[0]["automationDetails"]["id"], "convoy/audit/");
        assert_eq!(runs[0]["properties"]["files"], 5);
    }

    #[test]
    fn rule_indexes_and_levels_point_at_the_right_rules() {
        let log = sarif(&report());
        let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules");
        let levels: Vec<&str> = results(&log).iter().map(|r| r["level"].as_str().expect("level")).collect();
        assert_eq!(levels, ["error", "warning", "note", "warning"]);
        for result in results(&log) {
            let index = usize::try_from(result["ruleIndex"].as_u64().expect("ruleIndex")).expect("small");
            assert_eq!(rules[index]["id"], result["ruleId"]);
        }
        let indexes: Vec<u64> = results(&log).iter().map(|r| r["ruleIndex"].as_u64().expect("ruleIndex")).collect();
        assert_eq!(indexes, [0, 1, 2, 0]);
    }

    #[test]
    fn a_rule_the_report_does_not_describe_still_gets_a_descriptor() {
        let mut report = report();
        report.findings.push(finding("acme/web", "a.yml", 1, 1, "mystery", Severity::Note, "m"));
        let log = sarif(&report);
        assert_valid(&log);
        let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[3]["id"], "mystery");
        assert_eq!(rules[3]["defaultConfiguration"]["level"], "note");
        assert_eq!(results(&log)[4]["ruleIndex"], 3);
    }

    #[test]
    fn results_carry_location_repository_and_message_with_hint() {
        let log = sarif(&report());
        let first = &results(&log)[0];
        assert_eq!(
            first["locations"][0]["physicalLocation"],
            serde_json::json!({
                "artifactLocation": { "uri": "acme/api/.github/workflows/ci.yml", "uriBaseId": "ORGROOT" },
                "region": { "startLine": 12, "startColumn": 9 },
            })
        );
        assert_eq!(first["properties"]["repository"], "acme/api");
        assert_eq!(first["properties"]["fixable"], true);
        assert_eq!(
            first["message"]["text"],
            "actions/checkout@v4 is not pinned\nhelp: fix pinned-actions (fixable with convoy audit --fix)"
        );
        assert_eq!(results(&log)[2]["properties"]["repository"], "acme/web");
    }

    #[test]
    fn a_message_with_pipes_newlines_and_percent_is_kept_and_valid() {
        let log = sarif(&report());
        assert_valid(&log);
        let second = &results(&log)[1];
        assert_eq!(
            second["message"]["text"],
            "runs every 5 minutes | 100% of the time\nsecond line\r\nthird\nhelp: fix schedule-frequency"
        );
        // The space in the file name is percent-encoded: `uri` must be a URI reference.
        assert_eq!(
            second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "acme/api/.github/workflows/my%20nightly.yml"
        );
    }

    fn uris(log: &Value) -> Vec<(String, String)> {
        results(log)
            .iter()
            .map(|r| {
                let a = &r["locations"][0]["physicalLocation"]["artifactLocation"];
                (
                    a["uri"].as_str().unwrap_or_default().to_string(),
                    a["uriBaseId"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn results_of_different_repositories_never_share_an_artifact_uri() {
        let mut r = report();
        // The same file and rule in two repositories.
        r.findings.push(finding(
            "acme/api",
            ".github/workflows/ci.yml",
            30,
            5,
            "pinned-actions",
            Severity::Warning,
            "x@main",
        ));
        r.sort();
        let log = sarif(&r);
        assert_valid(&log);
        let got = uris(&log);
        let web = got.iter().filter(|(u, _)| u == "acme/web/.github/workflows/ci.yml").count();
        let api = got.iter().filter(|(u, _)| u == "acme/api/.github/workflows/ci.yml").count();
        assert_eq!((api, web), (2, 2), "{got:?}");
        assert!(got.iter().all(|(_, base)| base == ORGROOT), "{got:?}");
        let bases = &log["runs"][0]["originalUriBaseIds"];
        assert!(bases[ORGROOT]["description"]["text"].as_str().is_some_and(|t| t.contains("owner/name/")), "{bases}");
        assert!(bases[ORGROOT].get("uri").is_none(), "the org folder has no one address");
    }

    #[test]
    fn a_report_of_one_repository_keeps_paths_relative_to_its_checkout() {
        let mut r = report();
        r.findings.retain(|f| f.repo == "acme/web");
        r.repos = vec!["acme/web".into()];
        r.errors.clear();
        let log = sarif(&r);
        assert_valid(&log);
        assert_eq!(
            uris(&log),
            [
                (".github/workflows/ci.yml".to_string(), SRCROOT.to_string()),
                (".github/workflows/ci.yml".to_string(), SRCROOT.to_string())
            ]
        );
        assert!(log["runs"][0].get("originalUriBaseIds").is_none());
        // An error from another repository makes it a report of two.
        r.errors.push(AuditError { repo: "acme/api".into(), message: "no tree".into() });
        assert!(uris(&sarif(&r)).iter().all(|(u, b)| u.starts_with("acme/web/") && b == ORGROOT));
    }

    #[test]
    fn audit_errors_are_tool_execution_notifications() {
        let log = sarif(&report());
        assert_valid(&log);
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], true);
        assert_eq!(
            invocation["toolExecutionNotifications"],
            serde_json::json!([{
                "level": "error",
                "message": { "text": "acme/broken: tree not in the cache" },
                "descriptor": { "id": "audit-error", "index": 0 },
                "properties": { "repository": "acme/broken" },
            }])
        );
        assert_eq!(log["runs"][0]["tool"]["driver"]["notifications"][0]["id"], AUDIT_ERROR_ID);
    }

    #[test]
    fn execution_is_unsuccessful_only_when_no_repository_could_be_audited() {
        let mut report = report();
        report.findings.clear();
        report.repos = vec!["acme/broken".into()];
        let log = sarif(&report);
        assert_valid(&log);
        assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], false);
        assert_eq!(results(&log).len(), 0);
    }

    #[test]
    fn an_empty_report_is_valid_with_an_empty_results_array() {
        let report = AuditReport {
            schema_version: AUDIT_SCHEMA_VERSION,
            tool: "convoy 0.1.0".into(),
            rules: vec![],
            repos: vec![],
            files: 0,
            findings: vec![],
            errors: vec![],
            shards: vec![],
        };
        let log = sarif(&report);
        assert_valid(&log);
        // `[]`, not absent: absent would mean "not analysed", an empty array "nothing found".
        assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], serde_json::json!([]));
        assert_eq!(log["runs"][0]["invocations"][0], serde_json::json!({ "executionSuccessful": true }));
    }

    #[test]
    fn fingerprints_survive_line_changes_but_not_a_change_of_repo() {
        let base = report();
        let mut moved = base.clone();
        for f in &mut moved.findings {
            f.line += 7;
            f.column += 2;
        }
        let before = sarif(&base);
        let after = sarif(&moved);
        for (a, b) in results(&before).iter().zip(results(&after)) {
            assert_eq!(fingerprint(a), fingerprint(b));
        }
        // The value is the 128-bit hash in hex and the occurrence counter.
        assert_eq!(fingerprint(&results(&before)[0]), format!("{}:1", finding_hash(&base.findings[0])));
        assert_eq!(fingerprint(&results(&before)[0]).len(), 34);

        let mut other_repo = base.clone();
        other_repo.findings[0].repo = "acme/other".into();
        let elsewhere = sarif(&other_repo);
        assert_ne!(fingerprint(&results(&before)[0]), fingerprint(&results(&elsewhere)[0]));

        // Same repository, path and rule, different message: different.
        let mut other_message = base.clone();
        other_message.findings[0].message.push('!');
        assert_ne!(fingerprint(&results(&before)[0]), fingerprint(&results(&sarif(&other_message))[0]));

        // All fingerprints in one log are distinct.
        let mut all: Vec<&str> = results(&before).iter().map(fingerprint).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), results(&before).len());
    }

    #[test]
    fn identical_findings_in_one_file_get_distinct_fingerprints() {
        let mut report = report();
        report.findings = vec![
            finding("acme/api", "a.yml", 3, 1, "pinned-actions", Severity::Error, "same"),
            finding("acme/api", "a.yml", 9, 1, "pinned-actions", Severity::Error, "same"),
        ];
        let log = sarif(&report);
        let prints: Vec<&str> = results(&log).iter().map(fingerprint).collect();
        let hash = finding_hash(&report.findings[0]);
        assert_eq!(prints, [format!("{hash}:1"), format!("{hash}:2")]);
    }

    #[test]
    fn the_fingerprint_hash_is_fixed() {
        // Pinned (computed independently: SHA-256 over u64-LE length + bytes of each field), so
        // that a change of algorithm or encoding shows up here and gets a new key (`/v2`).
        let f = finding("acme/api", "a.yml", 1, 1, "r", Severity::Note, "m");
        assert_eq!(finding_hash(&f), "0bf6a20058123debf9e55bf6d6a11e35");
        // Field boundaries matter: moving a character from one field to the next changes the hash.
        let g = finding("acme/ap", "ia.yml", 1, 1, "r", Severity::Note, "m");
        assert_ne!(finding_hash(&f), finding_hash(&g));
    }

    #[test]
    fn line_zero_means_no_region_and_stays_valid() {
        let mut report = report();
        report.findings[0].line = 0;
        report.findings[1].column = 0;
        let log = sarif(&report);
        assert_valid(&log);
        let physical = |i: usize| results(&log)[i]["locations"][0]["physicalLocation"].clone();
        assert!(physical(0).get("region").is_none());
        assert_eq!(physical(1)["region"], serde_json::json!({ "startLine": 3 }));
    }

    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(uri_path(".github/workflows/ci.yml"), ".github/workflows/ci.yml");
        assert_eq!(uri_path("a b/100%.yml"), "a%20b/100%25.yml");
        assert_eq!(uri_path("a:b#c?d.yml"), "a%3Ab%23c%3Fd.yml");
        assert_eq!(uri_path("ünï.yml"), "%C3%BCn%C3%AF.yml");
        let mut report = report();
        report.findings[0].path = "we:ird #dir/ünï %.yml".into();
        assert_valid(&sarif(&report));
    }

    #[test]
    fn shards_get_their_own_category() {
        let mut report = report();
        report.shards = vec![ShardInfo { index: 2, count: 4, run: None }];
        let log = sarif(&report);
        assert_valid(&log);
        assert_eq!(log["runs"][0]["automationDetails"]["id"], "convoy/audit/shard-2-of-4/");
        report.shards = vec![ShardInfo { index: 1, count: 2, run: None }, ShardInfo { index: 2, count: 2, run: None }];
        assert_eq!(sarif(&report)["runs"][0]["automationDetails"]["id"], "convoy/audit/");
    }

    #[test]
    fn sarif_and_sarif_log_agree() {
        let report = report();
        let typed = serde_json::to_value(sarif_log(&report)).expect("serialises");
        assert_eq!(typed, sarif(&report));
    }
}
