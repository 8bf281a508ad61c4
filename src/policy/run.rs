//! `convoy audit` over a session: the selected repositories (one shard of them, with
//! `--shard`), read from the clone cache, in parallel.

use super::audit::Policy;
use super::shard::Shard;
use super::{AuditError, AuditReport, ShardInfo, finding::AUDIT_SCHEMA_VERSION};
use crate::campaign::Session;
use crate::progress::Reporter;
use crate::targets::Target;
use crate::workflow::files::{self, SourceFile};

/// The targets of `session` in `shard` (all of them without one).
pub fn shard_targets(session: &Session, shard: Option<Shard>) -> Vec<&Target> {
    session.targets().iter().filter(|t| shard.is_none_or(|s| s.contains(&t.repo.id.full_name()))).collect()
}

/// Audit the session's targets (of `shard`) from the clone cache. `failed` lists repositories
/// whose fetch failed: they are reported as errors rather than audited from a stale cache.
pub fn audit(
    session: &Session,
    policy: &Policy,
    shard: Option<Shard>,
    failed: &[(String, String)],
    reporter: &dyn Reporter,
) -> AuditReport {
    let targets: Vec<&Target> =
        shard_targets(session, shard).into_iter().filter(|t| !repo_exempt(session, t)).collect();
    reporter.stage("audit", targets.len());
    let results = crate::parallel::map(&targets, session.options.jobs, |t| {
        let name = t.repo.id.full_name();
        reporter.item_started(&name);
        let result = match failed.iter().find(|(r, _)| *r == name) {
            Some((_, e)) => Err(format!("not audited, the fetch failed: {e}")),
            None => read_files(session, t).map(|files| {
                let skip = |rule: &str| rule_exempt(session, t, rule);
                let n = files.len();
                (policy.audit_repo(&name, &files, &skip), n)
            }),
        };
        match &result {
            Ok((f, _)) => reporter.item_finished(&name, true, &format!("{} finding(s)", f.len())),
            Err(e) => reporter.item_finished(&name, false, e),
        }
        result
    });
    reporter.stage_done();
    let mut report = AuditReport {
        schema_version: AUDIT_SCHEMA_VERSION,
        tool: format!("convoy {}", env!("CARGO_PKG_VERSION")),
        rules: policy.metas(),
        repos: Vec::new(),
        files: 0,
        findings: Vec::new(),
        errors: Vec::new(),
        shards: shard.map(|s| ShardInfo { index: s.index, count: s.count, run: None }).into_iter().collect(),
    };
    for (t, r) in targets.iter().zip(results) {
        let repo = t.repo.id.full_name();
        match r.unwrap_or_else(|panic| Err(format!("internal error: {panic}"))) {
            Ok((findings, files)) => {
                report.files += files;
                report.findings.extend(findings);
                report.repos.push(repo);
            }
            Err(message) => report.errors.push(AuditError { repo, message }),
        }
    }
    report.sort();
    report
}

/// Whether `target` is exempt from every rule (`[policy] exempt`).
pub fn repo_exempt(session: &Session, target: &Target) -> bool {
    session.selection.applies(&session.manifest.model.policy.exempt, &session.manifest.model.org.name, target)
}

/// Whether `target` is exempt from rule `rule` (`[policy.rules.<rule>] exempt`).
pub fn rule_exempt(session: &Session, target: &Target, rule: &str) -> bool {
    let Some(r) = session.manifest.model.policy.rules.get(rule) else { return false };
    session.selection.applies(&r.get_ref().exempt, &session.manifest.model.org.name, target)
}

/// The workflow and action files of a target's cached default branch (`convoy audit` and
/// `convoy cost` read the same files).
pub fn read_files(session: &Session, target: &Target) -> Result<Vec<SourceFile>, String> {
    let snapshot = session.cache.snapshot(&target.repo).map_err(|e| e.to_string())?;
    files::in_snapshot(&snapshot)
}

/// The edits `convoy audit --fix` makes in one repository, with a line per fix applied and per
/// finding left to a person (for the PR body and the plan).
pub struct FixEdits {
    pub edits: Vec<crate::change::Edit>,
    pub applied: Vec<String>,
    pub skipped: Vec<String>,
}

pub fn fix_edits(
    session: &Session,
    policy: &Policy,
    target: &Target,
    snapshot: &crate::workspace::Snapshot,
) -> Result<FixEdits, String> {
    let mut out = FixEdits { edits: Vec::new(), applied: Vec::new(), skipped: Vec::new() };
    if repo_exempt(session, target) {
        return Ok(out);
    }
    let files = files::in_snapshot(snapshot)?;
    let skip = |rule: &str| rule_exempt(session, target, rule);
    let fixes = super::fix::fix_repo(policy, &target.repo.id.full_name(), &files, &skip, &session.pins);
    for f in fixes.files {
        let rules: Vec<&str> = f.applied.iter().map(|(r, _)| r.as_str()).collect();
        out.applied.extend(f.applied.iter().map(|(_, what)| format!("{}: {what}", f.path)));
        out.edits.push(crate::change::Edit {
            path: crate::workspace::paths::RepoPath::parse(&f.path)?,
            want: crate::change::Want::Content(f.text.into_bytes()),
            origin: format!("policy {}", rules.join(", ")),
        });
    }
    out.skipped = fixes
        .skipped
        .iter()
        .map(|s| format!("{}:{} {}: {}", s.finding.path, s.finding.line, s.finding.rule, s.reason))
        .collect();
    Ok(out)
}

/// Merge shard reports into one (see [`super::shard::merge`], which checks that they are one
/// run's complete set of shards).
pub fn merge(reports: Vec<(String, AuditReport)>) -> Result<AuditReport, String> {
    super::shard::merge(reports)
}
