//! The audit engine: running the rules over a repository's workflow and action files (which
//! files those are is [`crate::workflow::files::classify`]'s call), and turning hits into findings (severity overrides, exemptions, `# convoy: ignore[...]`).
//!
//! Pure over file contents: reading the files (from the clone cache) and choosing repositories is
//! the caller's business, so the engine is tested on strings and benchmarked without git.

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::config::PolicyConfig;
use super::rules::{self, FileCtx, Hit, Options, Rule};
use super::{Finding, RuleMeta, Severity};
use crate::workflow::files::{SourceFile, classify};
use crate::workflow::{self, Workflow};

struct ActiveRule {
    rule: Box<dyn Rule>,
    severity: Severity,
    exempt_paths: GlobSet,
}

/// The `[policy]` configuration made ready to run.
pub struct Policy {
    rules: Vec<ActiveRule>,
    options: Options,
    exempt_paths: GlobSet,
    invalid_severity: Severity,
}

fn globs(list: &[serde_spanned::Spanned<String>]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in list {
        b.add(Glob::new(g.get_ref()).map_err(|e| format!("`{}`: {e}", g.get_ref()))?);
    }
    b.build().map_err(|e| e.to_string())
}

impl Policy {
    /// Every rule at its default settings.
    pub fn default_rules() -> Policy {
        // The default configuration has no globs that could fail to compile.
        Policy::new(&PolicyConfig::default()).unwrap_or_else(|_| Policy {
            rules: Vec::new(),
            options: Options::default(),
            exempt_paths: GlobSet::empty(),
            invalid_severity: Severity::Error,
        })
    }

    /// Errors are glob syntax errors (the manifest check reports them with positions first).
    pub fn new(config: &PolicyConfig) -> Result<Policy, String> {
        let setting = |id: &str| config.rules.get(id).map(|r| r.get_ref());
        let mut options = Options::default();
        if let Some(r) = setting("schedule-frequency")
            && let Some(m) = &r.min_interval_minutes
        {
            options.min_interval_minutes = *m.get_ref();
        }
        if let Some(r) = setting("timeout") {
            if let Some(m) = &r.max_minutes {
                options.max_timeout_minutes = *m.get_ref();
            }
            if let Some(m) = &r.default_minutes {
                options.default_timeout_minutes = *m.get_ref();
            }
        }
        if let Some(r) = setting("unpinned-actions") {
            let lower: Vec<_> = r
                .allow
                .iter()
                .map(|g| serde_spanned::Spanned::new(g.span(), g.get_ref().to_ascii_lowercase()))
                .collect();
            options.allow_unpinned = globs(&lower)?;
        }
        if let Some(r) = setting("concurrency")
            && let Some(c) = r.require_cancel_in_progress
        {
            options.require_cancel_in_progress = c;
        }
        let mut active = Vec::new();
        for rule in rules::all() {
            let s = setting(rule.id());
            if s.and_then(|s| s.enabled) == Some(false) {
                continue;
            }
            active.push(ActiveRule {
                severity: s.and_then(|s| s.severity).unwrap_or(rule.severity()),
                exempt_paths: s.map(|s| globs(&s.exempt_paths)).transpose()?.unwrap_or_else(GlobSet::empty),
                rule,
            });
        }
        Ok(Policy {
            rules: active,
            options,
            exempt_paths: globs(&config.exempt_paths)?,
            invalid_severity: setting(rules::INVALID_WORKFLOW).and_then(|s| s.severity).unwrap_or(Severity::Error),
        })
    }

    pub fn min_interval_minutes(&self) -> u32 {
        self.options.min_interval_minutes
    }

    pub fn default_timeout_minutes(&self) -> u32 {
        self.options.default_timeout_minutes
    }

    /// The rules as reports describe them (including `invalid-workflow`), sorted by id.
    pub fn metas(&self) -> Vec<RuleMeta> {
        let mut out: Vec<RuleMeta> = self
            .rules
            .iter()
            .map(|a| RuleMeta {
                id: a.rule.id().to_string(),
                severity: a.severity,
                description: a.rule.description().to_string(),
                help: a.rule.help().to_string(),
            })
            .collect();
        out.push(RuleMeta {
            id: rules::INVALID_WORKFLOW.to_string(),
            severity: self.invalid_severity,
            description: "Workflow and action files parse as YAML of the expected shape.".into(),
            help: "GitHub refuses to run a workflow it cannot parse; fix the YAML at the position given.".into(),
        });
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Audit one repository's files. `skip_rule(id)` says whether this repository is exempt
    /// from a rule (per-rule repository exemptions are selectors, resolved by the caller).
    pub fn audit_repo(&self, repo: &str, files: &[SourceFile], skip_rule: &dyn Fn(&str) -> bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut parsed: Vec<(&SourceFile, &str, Workflow)> = Vec::new();
        for file in files {
            if self.exempt_paths.is_match(&file.path) {
                continue;
            }
            let Some(is_action) = classify(&file.path) else { continue };
            let text = match std::str::from_utf8(&file.bytes) {
                Ok(t) => t,
                Err(e) => {
                    findings.push(self.invalid(repo, &file.path, 1, 1, format!("not UTF-8 text: {e}")));
                    continue;
                }
            };
            match workflow::parse(text, is_action) {
                Ok(wf) => parsed.push((file, text, wf)),
                Err(e) => findings.push(self.invalid(repo, &file.path, e.line, e.column, e.message)),
            }
        }
        let ctx: Vec<FileCtx<'_>> =
            parsed.iter().map(|(f, text, wf)| FileCtx { repo, path: &f.path, source: text, workflow: wf }).collect();
        for active in &self.rules {
            let id = active.rule.id();
            if skip_rule(id) {
                continue;
            }
            let mut hits: Vec<(usize, Hit)> = Vec::new();
            for (i, file) in ctx.iter().enumerate() {
                let mut out = Vec::new();
                active.rule.check_file(file, &self.options, &mut out);
                hits.extend(out.into_iter().map(|h| (i, h)));
            }
            active.rule.check_repo(&ctx, &self.options, &mut hits);
            for (i, hit) in hits {
                let file = &ctx[i];
                if active.exempt_paths.is_match(file.path) || ignored(file.source, hit.pos.line, id) {
                    continue;
                }
                findings.push(Finding {
                    rule: id.to_string(),
                    severity: active.severity,
                    repo: repo.to_string(),
                    path: file.path.to_string(),
                    line: hit.pos.line,
                    column: hit.pos.column,
                    message: hit.message,
                    hint: hit.hint,
                    fixable: hit.fixable,
                });
            }
        }
        findings.sort_by(|a, b| (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule)));
        // A step or job reused through a YAML alias is one source position: one finding.
        findings.dedup();
        findings
    }

    fn invalid(&self, repo: &str, path: &str, line: usize, column: usize, message: String) -> Finding {
        Finding {
            rule: rules::INVALID_WORKFLOW.to_string(),
            severity: self.invalid_severity,
            repo: repo.to_string(),
            path: path.to_string(),
            line,
            column,
            message: format!("cannot be read as a workflow: {message}"),
            hint: "fix the YAML here; GitHub will not run this file either".into(),
            fixable: false,
        }
    }
}

/// Whether line `line` (1-based), or a comment line right above it, carries
/// `# convoy: ignore` (every rule) or `# convoy: ignore[rule-a, rule-b]`.
fn ignored(source: &str, line: usize, rule: &str) -> bool {
    let mut lines = source.lines().skip(line.saturating_sub(2));
    let above = if line >= 2 { lines.next() } else { None };
    let here = lines.next();
    let says = |text: &str| {
        let Some(at) = text.find("# convoy: ignore") else { return false };
        let rest = &text[at + "# convoy: ignore".len()..];
        match rest.strip_prefix('[') {
            Some(list) => list.split(']').next().unwrap_or("").split(',').any(|r| r.trim().eq_ignore_ascii_case(rule)),
            None => rest.trim().is_empty() || rest.starts_with(char::is_whitespace),
        }
    };
    here.is_some_and(says) || above.is_some_and(|a| a.trim_start().starts_with('#') && says(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile { path: path.into(), bytes: text.as_bytes().to_vec() }
    }

    const LEAKY: &str =
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n";

    #[test]
    fn classify_paths() {
        assert_eq!(classify(".github/workflows/ci.yml"), Some(false));
        assert_eq!(classify(".github/workflows/ci.yaml"), Some(false));
        assert_eq!(classify(".github/workflows/sub/ci.yml"), None);
        assert_eq!(classify(".github/workflows/README.md"), None);
        assert_eq!(classify(".github/actions/setup/action.yml"), Some(true));
        assert_eq!(classify("action.yaml"), Some(true));
        assert_eq!(classify("src/main.rs"), None);
    }

    #[test]
    fn findings_are_sorted_and_broken_files_are_findings() {
        let policy = Policy::default_rules();
        let files = [file(".github/workflows/ci.yml", LEAKY), file(".github/workflows/bad.yml", "jobs: [\n")];
        let f = policy.audit_repo("acme/api", &files, &|_| false);
        let ids: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(ids, ["invalid-workflow", "concurrency", "permissions", "timeout", "unpinned-actions"], "{f:#?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].path, ".github/workflows/bad.yml");
    }

    #[test]
    fn ignore_comments_exemptions_and_overrides() {
        let text = LEAKY.replace("  build:\n", "  build: # convoy: ignore[timeout]\n").replace(
            "      - uses: actions/checkout@v4\n",
            "      # convoy: ignore[unpinned-actions, cache]\n      - uses: actions/checkout@v4\n",
        );
        let policy = Policy::default_rules();
        let f = policy.audit_repo("acme/api", &[file(".github/workflows/ci.yml", &text)], &|_| false);
        let ids: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(ids, ["concurrency", "permissions"]);
        let all = LEAKY.replace("on: push\n", "on: push # convoy: ignore\n");
        let f = policy.audit_repo("acme/api", &[file(".github/workflows/ci.yml", &all)], &|_| false);
        assert!(!f.iter().any(|f| f.rule == "concurrency"), "{f:#?}");

        let config: PolicyConfig = toml::from_str(
            "exempt_paths = [\".github/workflows/legacy-*\"]\n[rules.timeout]\nseverity = \"error\"\n[rules.permissions]\nenabled = false\n[rules.unpinned-actions]\nexempt_paths = [\"**/ci.yml\"]\n",
        )
        .expect("config");
        let policy = Policy::new(&config).expect("policy");
        let files = [file(".github/workflows/ci.yml", LEAKY), file(".github/workflows/legacy-x.yml", LEAKY)];
        let f = policy.audit_repo("acme/api", &files, &|rule| rule == "concurrency");
        let got: Vec<(&str, Severity)> = f.iter().map(|f| (f.rule.as_str(), f.severity)).collect();
        assert_eq!(got, [("timeout", Severity::Error)]);
        assert!(policy.metas().iter().all(|m| m.id != "permissions"));
    }
}
