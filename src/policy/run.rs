//! `convoy audit` over a run's repositories ([`OrgInput`]): the selected repositories (one shard
//! of them, with `--shard`), read from the clone cache, in parallel; and the `audit --fix` edits
//! of one repository, which the policy-fixes producer (`transform/policy_fixes.rs`) hands to the
//! campaign engine.

use super::audit::Policy;
use super::shard::Shard;
use super::{AuditError, AuditReport, ShardInfo, finding::AUDIT_SCHEMA_VERSION};
use crate::manifest::Manifest;
use crate::progress::Reporter;
use crate::targets::{Selection, Target};
use crate::workflow::files;
use crate::workflow::uses::PinMap;
use crate::workspace::{OrgInput, Snapshot};

/// The targets of `org` in `shard` (all of them without one).
pub fn shard_targets<'a>(org: &OrgInput<'a>, shard: Option<Shard>) -> Vec<&'a Target> {
    org.selection.targets.iter().filter(|t| shard.is_none_or(|s| s.contains(&t.repo.id.full_name()))).collect()
}

/// Audit the run's targets (of `shard`) from the clone cache. `failed` lists repositories
/// whose fetch failed: they are reported as errors rather than audited from a stale cache.
pub fn audit(
    org: &OrgInput<'_>,
    policy: &Policy,
    shard: Option<Shard>,
    failed: &[(String, String)],
    reporter: &dyn Reporter,
) -> AuditReport {
    let targets: Vec<&Target> =
        shard_targets(org, shard).into_iter().filter(|t| !repo_exempt(org.manifest, org.selection, t)).collect();
    reporter.stage("audit", targets.len());
    let results = crate::parallel::map(&targets, org.jobs, |t| {
        let name = t.repo.id.full_name();
        reporter.item_started(&name);
        let result = match failed.iter().find(|(r, _)| *r == name) {
            Some((_, e)) => Err(format!("not audited, the fetch failed: {e}")),
            None => files::of_target(org, t).map(|files| {
                let skip = |rule: &str| rule_exempt(org.manifest, org.selection, t, rule);
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
pub fn repo_exempt(manifest: &Manifest, selection: &Selection, target: &Target) -> bool {
    selection.applies(&manifest.model.policy.exempt, &manifest.model.org.name, target)
}

/// Whether `target` is exempt from rule `rule` (`[policy.rules.<rule>] exempt`).
pub fn rule_exempt(manifest: &Manifest, selection: &Selection, target: &Target, rule: &str) -> bool {
    let Some(r) = manifest.model.policy.rules.get(rule) else { return false };
    selection.applies(&r.get_ref().exempt, &manifest.model.org.name, target)
}

/// The edits `convoy audit --fix` makes in one repository, with a line per fix applied and per
/// finding left to a person (for the PR body and the plan).
pub struct FixEdits {
    pub edits: Vec<crate::change::Edit>,
    pub applied: Vec<String>,
    pub skipped: Vec<String>,
}

pub fn fix_edits(
    policy: &Policy,
    pins: &PinMap,
    manifest: &Manifest,
    selection: &Selection,
    target: &Target,
    snapshot: &Snapshot,
) -> Result<FixEdits, String> {
    let mut out = FixEdits { edits: Vec::new(), applied: Vec::new(), skipped: Vec::new() };
    if repo_exempt(manifest, selection, target) {
        return Ok(out);
    }
    let files = files::in_snapshot(snapshot)?;
    let skip = |rule: &str| rule_exempt(manifest, selection, target, rule);
    let fixes = super::fix::fix_repo(policy, &target.repo.id.full_name(), &files, &skip, pins);
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
