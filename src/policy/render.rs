//! Human-facing renderings of an [`AuditReport`]: plain text for a terminal, Markdown for
//! `$GITHUB_STEP_SUMMARY`, and GitHub Actions workflow commands (annotations). JSON is the serde
//! form of the report itself, and SARIF lives in [`super::sarif`].
//!
//! Every function here is pure: it reads the report and returns a `String`. None of them sorts:
//! the report comes sorted ([`AuditReport::sort`]) and the output follows its order, so the same
//! report always renders to the same bytes.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::finding::{AuditError, AuditReport, Finding, Severity};
use crate::report::table::{md_cell, plural};

/// Appended to the hint of a finding that `convoy audit --fix` can fix.
const FIXABLE: &str = "fixable with convoy audit --fix";

/// At most this many finding rows go into the per-repository tables of [`markdown`].
///
/// GitHub caps a step's summary (`$GITHUB_STEP_SUMMARY`) at 1 MiB and shows an error instead of
/// the summary when a step writes more; an org-wide audit can have tens of thousands of findings.
/// The rows left out are counted in a note at the end; the JSON and SARIF reports have them all.
pub const MARKDOWN_MAX_ROWS: usize = 1000;

/// At most this many rows go into the table of repositories that could not be audited (same
/// reason as [`MARKDOWN_MAX_ROWS`]).
pub const MARKDOWN_MAX_ERROR_ROWS: usize = 100;

/// Longer messages are cut (with `…`) in Markdown table cells, so that 1000 rows stay far below
/// the 1 MiB step-summary limit whatever the messages say.
pub const MARKDOWN_MAX_CELL_CHARS: usize = 300;

/// A second guard besides the row cap: no more rows are added once the summary is this long.
pub const MARKDOWN_MAX_BYTES: usize = 900 * 1024;

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

/// The terminal rendering: findings grouped by repository, then a summary line.
///
/// ```text
/// acme/api
///   .github/workflows/ci.yml:12:9  error  unpinned-action  actions/checkout@v4 is not pinned
///     help: pin it to a commit SHA (fixable with convoy audit --fix)
///   error: tree unreadable
///
/// 1 finding (1 error, 0 warning, 0 note) in 1 of 3 repositories, 7 files; 1 repository could not be audited
/// ```
///
/// Repositories without findings or errors are not listed. Multi-line messages keep their line
/// breaks, with continuation lines indented under the finding; control characters (ANSI escapes
/// from a hostile workflow file, say) are shown escaped (`\u{1b}`) rather than sent to the
/// terminal. No colours.
pub fn text(report: &AuditReport) -> String {
    let mut out = String::new();
    for section in sections(report) {
        out.push_str(&terminal_safe(section.repo));
        out.push('\n');
        for f in &section.findings {
            let _ = writeln!(
                out,
                "  {}:{}:{}  {}  {}  {}",
                terminal_safe(&f.path),
                f.line,
                f.column,
                f.severity,
                terminal_safe(&f.rule),
                indent_lines(&terminal_safe(&f.message), "    "),
            );
            let help = match (f.hint.trim().is_empty(), f.fixable) {
                (false, true) => Some(format!("{} ({FIXABLE})", f.hint)),
                (false, false) => Some(f.hint.clone()),
                (true, true) => Some(FIXABLE.to_string()),
                (true, false) => None,
            };
            if let Some(help) = help {
                let _ = writeln!(out, "    help: {}", indent_lines(&terminal_safe(&help), "      "));
            }
        }
        for e in &section.errors {
            let _ = writeln!(out, "  error: {}", indent_lines(&terminal_safe(&e.message), "    "));
        }
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// The one-line summary that ends [`text`] and opens [`markdown`]:
/// `12 findings (3 error, 8 warning, 1 note) in 4 of 10 repositories, 37 files`, then
/// `; 2 repositories could not be audited` when some could not, and ` (shards 1/4, 2/4)` for a
/// sharded report.
pub fn summary_line(report: &AuditReport) -> String {
    let total = report.findings.len();
    let mut line = if total == 0 {
        format!(
            "No findings in {} {}, {} {}",
            report.repos.len(),
            plural(report.repos.len(), "repository", "repositories"),
            report.files,
            plural(report.files, "file", "files"),
        )
    } else {
        let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
        let mut with_findings: Vec<&str> = report.findings.iter().map(|f| f.repo.as_str()).collect();
        with_findings.dedup(); // sorted by repo, so duplicates are adjacent
        format!(
            "{total} {} ({} error, {} warning, {} note) in {} of {} {}, {} {}",
            plural(total, "finding", "findings"),
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Note),
            with_findings.len(),
            report.repos.len(),
            plural(report.repos.len(), "repository", "repositories"),
            report.files,
            plural(report.files, "file", "files"),
        )
    };
    let mut failed: Vec<&str> = report.errors.iter().map(|e| e.repo.as_str()).collect();
    failed.dedup();
    if !failed.is_empty() {
        let _ = write!(
            line,
            "; {} {} could not be audited",
            failed.len(),
            plural(failed.len(), "repository", "repositories")
        );
    }
    if !report.shards.is_empty() {
        let shards: Vec<String> = report.shards.iter().map(|s| format!("{}/{}", s.index, s.count)).collect();
        let _ = write!(line, " ({} {})", plural(shards.len(), "shard", "shards"), shards.join(", "));
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

/// The Markdown rendering for `$GITHUB_STEP_SUMMARY`: a title, the summary line, a table of
/// counts per rule, the repositories that could not be audited, then one collapsed `<details>`
/// section per repository with a table of its findings.
///
/// Every cell that carries text from a workflow file or a repository is escaped ([`md_cell`]):
/// `|` cannot add a column, backticks cannot open a code span, `<` cannot open an HTML tag, and a
/// line break becomes `<br>` instead of ending the row.
///
/// Size: GitHub refuses a step summary over 1 MiB, so at most [`MARKDOWN_MAX_ROWS`] finding rows
/// (and [`MARKDOWN_MAX_ERROR_ROWS`] error rows) are written, messages are cut at
/// [`MARKDOWN_MAX_CELL_CHARS`], and rows stop at [`MARKDOWN_MAX_BYTES`] whatever their number. A
/// note at the end says how many findings were left out.
pub fn markdown(report: &AuditReport) -> String {
    let mut out = String::from("## convoy audit\n\n");
    let _ = writeln!(out, "{}.\n", md_cell(&summary_line(report), usize::MAX));

    // Counts per rule, in the report's rule order (sorted by id), then any rule that a finding
    // names but the report does not describe.
    struct RuleRow<'a> {
        findings: usize,
        repos: Vec<&'a str>,
        severities: Vec<Severity>,
    }
    let mut order: Vec<&str> = Vec::new();
    let mut rows: HashMap<&str, RuleRow<'_>> = HashMap::new();
    for rule in &report.rules {
        if !rows.contains_key(rule.id.as_str()) {
            order.push(&rule.id);
            rows.insert(&rule.id, RuleRow { findings: 0, repos: Vec::new(), severities: Vec::new() });
        }
    }
    for f in &report.findings {
        let row = rows.entry(&f.rule).or_insert_with(|| {
            order.push(&f.rule);
            RuleRow { findings: 0, repos: Vec::new(), severities: Vec::new() }
        });
        row.findings += 1;
        if row.repos.last() != Some(&f.repo.as_str()) {
            row.repos.push(&f.repo);
        }
        if !row.severities.contains(&f.severity) {
            row.severities.push(f.severity);
        }
    }
    let with_findings: Vec<(&str, &RuleRow<'_>)> =
        order.iter().filter_map(|id| rows.get(id).map(|r| (*id, r))).filter(|(_, r)| r.findings > 0).collect();
    if !with_findings.is_empty() {
        out.push_str("| Rule | Severity | Findings | Repositories |\n| --- | --- | ---: | ---: |\n");
        for (id, row) in with_findings {
            let mut severities = row.severities.clone();
            severities.sort_by(|a, b| b.cmp(a));
            let severities: Vec<&str> = severities.iter().map(|s| s.as_str()).collect();
            let mut repos = row.repos.clone();
            repos.sort_unstable();
            repos.dedup();
            let _ = writeln!(
                out,
                "| <code>{}</code> | {} | {} | {} |",
                md_cell(id, MARKDOWN_MAX_CELL_CHARS),
                severities.join(", "),
                row.findings,
                repos.len()
            );
        }
        out.push('\n');
    }

    if !report.errors.is_empty() {
        out.push_str("### Repositories that could not be audited\n\n| Repository | Error |\n| --- | --- |\n");
        for e in report.errors.iter().take(MARKDOWN_MAX_ERROR_ROWS) {
            let _ = writeln!(
                out,
                "| <code>{}</code> | {} |",
                md_cell(&e.repo, MARKDOWN_MAX_CELL_CHARS),
                md_cell(&e.message, MARKDOWN_MAX_CELL_CHARS)
            );
        }
        let left_out = report.errors.len().saturating_sub(MARKDOWN_MAX_ERROR_ROWS);
        if left_out > 0 {
            let _ = writeln!(out, "\n{left_out} more {} not shown.", plural(left_out, "error", "errors"));
        }
        out.push('\n');
    }

    let mut shown = 0usize;
    let mut left_out = 0usize;
    let mut first = true;
    for section in sections(report) {
        if section.findings.is_empty() {
            continue;
        }
        if shown >= MARKDOWN_MAX_ROWS || out.len() >= MARKDOWN_MAX_BYTES {
            left_out += section.findings.len();
            continue;
        }
        if first {
            out.push_str("### Findings by repository\n\n");
            first = false;
        }
        let _ = write!(
            out,
            "<details>\n<summary><code>{}</code>: {} {}</summary>\n\n\
             | File | Rule | Severity | Message |\n| --- | --- | --- | --- |\n",
            md_cell(section.repo, MARKDOWN_MAX_CELL_CHARS),
            section.findings.len(),
            plural(section.findings.len(), "finding", "findings"),
        );
        let mut here_left_out = 0usize;
        for f in &section.findings {
            if shown >= MARKDOWN_MAX_ROWS || out.len() >= MARKDOWN_MAX_BYTES {
                here_left_out += 1;
                continue;
            }
            shown += 1;
            let _ = writeln!(
                out,
                "| <code>{}:{}</code> | <code>{}</code> | {} | {} |",
                md_cell(&f.path, MARKDOWN_MAX_CELL_CHARS),
                f.line,
                md_cell(&f.rule, MARKDOWN_MAX_CELL_CHARS),
                f.severity,
                md_cell(&f.message, MARKDOWN_MAX_CELL_CHARS)
            );
        }
        if here_left_out > 0 {
            let _ = writeln!(
                out,
                "\n{here_left_out} more {} in this repository not shown.",
                plural(here_left_out, "finding", "findings")
            );
            left_out += here_left_out;
        }
        out.push_str("\n</details>\n\n");
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> {left_out} {} left out of this summary: a step summary is limited to 1 MiB. \
             The JSON and SARIF reports have every finding.",
            if left_out == 1 { "finding was" } else { "findings were" },
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Annotations
// ---------------------------------------------------------------------------------------------

/// GitHub Actions workflow commands, one line per finding, for a job to print so that findings
/// show up as annotations on the run:
///
/// ```text
/// ::error file=.github/workflows/ci.yml,line=12,col=9,title=unpinned-action (acme/api)::actions/checkout@v4 is not pinned%0Ahelp: pin it
/// ```
///
/// - The command is `error`, `warning`, or `notice` (for [`Severity::Note`]).
/// - `file` is the path inside the finding's repository. One audit covers many repositories while
///   GitHub resolves `file` against the repository of the workflow run, so the repository goes
///   into `title` as `rule (owner/name)`; an annotation whose file is not in the checked-out
///   repository still shows, with its title, on the run's summary page.
/// - `line` and `col` are left out when 0 (unknown); `col` too when the line is.
/// - The message is the finding's message, then `help: <hint>` on a second line, with
///   `(fixable with convoy audit --fix)` when it is.
/// - Repositories that could not be audited come first, as
///   `::error title=audit error (owner/name)::<message>`: GitHub shows only a handful of
///   annotations of each kind per step (10 at the time of writing) and drops the rest, and an
///   unreadable repository should not be among those dropped. The step summary ([`markdown`]) and
///   SARIF have everything.
/// - Escaping is the runner's own ([`escape_data`], [`escape_property`]), so a message or path
///   cannot end the command early or inject another one.
pub fn annotations(report: &AuditReport) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let _ = writeln!(
            out,
            "::error title={}::{}",
            escape_property(&format!("audit error ({})", e.repo)),
            escape_data(&e.message)
        );
    }
    for f in &report.findings {
        out.push_str(&annotation(f));
        out.push('\n');
    }
    out
}

fn annotation(f: &Finding) -> String {
    let command = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut props = vec![format!("file={}", escape_property(&f.path))];
    if f.line > 0 {
        props.push(format!("line={}", f.line));
        if f.column > 0 {
            props.push(format!("col={}", f.column));
        }
    }
    props.push(format!("title={}", escape_property(&format!("{} ({})", f.rule, f.repo))));
    let mut message = f.message.clone();
    match (f.hint.trim().is_empty(), f.fixable) {
        (false, true) => {
            let _ = write!(message, "\nhelp: {} ({FIXABLE})", f.hint);
        }
        (false, false) => {
            let _ = write!(message, "\nhelp: {}", f.hint);
        }
        (true, true) => {
            let _ = write!(message, "\nhelp: {FIXABLE}");
        }
        (true, false) => {}
    }
    format!("::{command} {}::{}", props.join(","), escape_data(&message))
}

/// Escapes a workflow command's message as the runner expects (`escapeData` in
/// `@actions/core`): `%` → `%25`, CR → `%0D`, LF → `%0A`.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a workflow command's property value (`escapeProperty` in `@actions/core`): as
/// [`escape_data`], and also `:` → `%3A`, `,` → `%2C`.
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/// The findings and errors of one repository, in report order.
struct Section<'a> {
    repo: &'a str,
    findings: Vec<&'a Finding>,
    errors: Vec<&'a AuditError>,
}

/// Groups the report by repository: repositories in the order of `report.repos` (sorted), then
/// any repository a finding or error names that `report.repos` lacks, in order of appearance.
/// Repositories with neither findings nor errors are left out. Findings keep the report's order.
fn sections(report: &AuditReport) -> Vec<Section<'_>> {
    let position: HashMap<&str, usize> = report.repos.iter().enumerate().map(|(i, r)| (r.as_str(), i)).collect();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Section<'_>> = Vec::new();
    for f in &report.findings {
        let i = *index.entry(&f.repo).or_insert_with(|| {
            out.push(Section { repo: &f.repo, findings: Vec::new(), errors: Vec::new() });
            out.len() - 1
        });
        out[i].findings.push(f);
    }
    for e in &report.errors {
        let i = *index.entry(&e.repo).or_insert_with(|| {
            out.push(Section { repo: &e.repo, findings: Vec::new(), errors: Vec::new() });
            out.len() - 1
        });
        out[i].errors.push(e);
    }
    // Stable: sections of repositories missing from `report.repos` keep their order of appearance.
    out.sort_by_key(|s| position.get(s.repo).copied().unwrap_or(usize::MAX));
    out
}

/// Control characters other than tab and line breaks, escaped (`\u{1b}`), so that text from a
/// workflow file cannot drive the terminal.
fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Line breaks (`\n`, `\r\n`, `\r`) followed by `indent`, so continuation lines stay under their
/// item.
fn indent_lines(s: &str, indent: &str) -> String {
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    normalized.trim_end_matches('\n').replace('\n', &format!("\n{indent}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::finding::{RuleMeta, ShardInfo};

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
        hint: &str,
        fixable: bool,
    ) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            repo: repo.into(),
            path: path.into(),
            line,
            column,
            message: message.into(),
            hint: hint.into(),
            fixable,
        }
    }

    fn small_report() -> AuditReport {
        AuditReport {
            schema_version: crate::policy::finding::AUDIT_SCHEMA_VERSION,
            tool: "convoy 0.1.0".into(),
            rules: vec![
                rule("pinned-actions", Severity::Error),
                rule("schedule-frequency", Severity::Warning),
                rule("timeout-minutes", Severity::Note),
            ],
            repos: vec!["acme/api".into(), "acme/broken".into(), "acme/clean".into(), "acme/web".into()],
            files: 7,
            findings: vec![
                finding(
                    "acme/api",
                    ".github/workflows/ci.yml",
                    12,
                    9,
                    "pinned-actions",
                    Severity::Error,
                    "actions/checkout@v4 is not pinned to a commit",
                    "pin it to a full commit SHA",
                    true,
                ),
                finding(
                    "acme/api",
                    ".github/workflows/nightly.yml",
                    3,
                    5,
                    "schedule-frequency",
                    Severity::Warning,
                    "runs every 5 minutes",
                    "run at most hourly",
                    false,
                ),
                finding(
                    "acme/web",
                    ".github/workflows/ci.yml",
                    20,
                    5,
                    "timeout-minutes",
                    Severity::Note,
                    "job `build` has no timeout-minutes",
                    "",
                    false,
                ),
            ],
            errors: vec![AuditError { repo: "acme/broken".into(), message: "tree not in the cache".into() }],
            shards: vec![],
        }
    }

    fn empty_report() -> AuditReport {
        AuditReport {
            schema_version: crate::policy::finding::AUDIT_SCHEMA_VERSION,
            tool: "convoy 0.1.0".into(),
            rules: vec![rule("pinned-actions", Severity::Error)],
            repos: vec!["acme/api".into(), "acme/web".into()],
            files: 3,
            findings: vec![],
            errors: vec![],
            shards: vec![],
        }
    }

    #[test]
    fn text_of_a_small_report() {
        let expected = "\
acme/api
  .github/workflows/ci.yml:12:9  error  pinned-actions  actions/checkout@v4 is not pinned to a commit
    help: pin it to a full commit SHA (fixable with convoy audit --fix)
  .github/workflows/nightly.yml:3:5  warning  schedule-frequency  runs every 5 minutes
    help: run at most hourly

acme/broken
  error: tree not in the cache

acme/web
  .github/workflows/ci.yml:20:5  note  timeout-minutes  job `build` has no timeout-minutes

3 findings (1 error, 1 warning, 1 note) in 2 of 4 repositories, 7 files; 1 repository could not be audited
";
        assert_eq!(text(&small_report()), expected);
    }

    #[test]
    fn text_of_an_empty_report_is_the_summary() {
        assert_eq!(text(&empty_report()), "No findings in 2 repositories, 3 files\n");
    }

    #[test]
    fn text_keeps_continuation_lines_indented_and_escapes_control_characters() {
        let mut report = empty_report();
        report.findings.push(finding(
            "acme/api",
            "a.yml",
            1,
            1,
            "pinned-actions",
            Severity::Error,
            "first\r\nsecond\x1b[31m",
            "do this\nthen that",
            true,
        ));
        let out = text(&report);
        assert!(out.contains("  a.yml:1:1  error  pinned-actions  first\n    second\\u{1b}[31m\n"), "{out}");
        assert!(out.contains("    help: do this\n      then that (fixable with convoy audit --fix)\n"), "{out}");
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn text_help_line_for_fixable_finding_without_hint() {
        let mut report = empty_report();
        report.findings.push(finding("acme/api", "a.yml", 1, 1, "r", Severity::Note, "m", "", true));
        assert!(text(&report).contains("  a.yml:1:1  note  r  m\n    help: fixable with convoy audit --fix\n"));
    }

    #[test]
    fn summary_line_plurals_and_shards() {
        let mut report = empty_report();
        report.repos = vec!["acme/api".into()];
        report.files = 1;
        report.findings.push(finding("acme/api", "a.yml", 1, 1, "r", Severity::Warning, "m", "h", false));
        report.shards = vec![ShardInfo { index: 2, count: 4, run: None }];
        assert_eq!(
            summary_line(&report),
            "1 finding (0 error, 1 warning, 0 note) in 1 of 1 repository, 1 file (shard 2/4)"
        );
        report.errors = vec![
            AuditError { repo: "acme/x".into(), message: "a".into() },
            AuditError { repo: "acme/x".into(), message: "b".into() },
            AuditError { repo: "acme/y".into(), message: "c".into() },
        ];
        report.shards.push(ShardInfo { index: 3, count: 4, run: None });
        assert_eq!(
            summary_line(&report),
            "1 finding (0 error, 1 warning, 0 note) in 1 of 1 repository, 1 file; \
             2 repositories could not be audited (shards 2/4, 3/4)"
        );
    }

    #[test]
    fn annotations_of_a_small_report() {
        let expected = "\
::error title=audit error (acme/broken)::tree not in the cache
::error file=.github/workflows/ci.yml,line=12,col=9,title=pinned-actions (acme/api)::actions/checkout@v4 is not pinned to a commit%0Ahelp: pin it to a full commit SHA (fixable with convoy audit --fix)
::warning file=.github/workflows/nightly.yml,line=3,col=5,title=schedule-frequency (acme/api)::runs every 5 minutes%0Ahelp: run at most hourly
::notice file=.github/workflows/ci.yml,line=20,col=5,title=timeout-minutes (acme/web)::job `build` has no timeout-minutes
";
        assert_eq!(annotations(&small_report()), expected);
    }

    #[test]
    fn annotations_escape_like_the_runner() {
        let mut report = empty_report();
        report.findings.push(finding(
            "acme/api",
            "dir,with:odd%chars/a.yml",
            4,
            0,
            "r:x,y",
            Severity::Error,
            "100% done\r\n::warning::injected, really: no",
            "",
            false,
        ));
        report.findings.push(finding("acme/api", "b.yml", 0, 7, "r", Severity::Warning, "m", "", false));
        report.errors.push(AuditError { repo: "acme/web".into(), message: "line one\nline two 50%".into() });
        assert_eq!(
            annotations(&report),
            "::error title=audit error (acme/web)::line one%0Aline two 50%25\n\
             ::error file=dir%2Cwith%3Aodd%25chars/a.yml,line=4,title=r%3Ax%2Cy (acme/api)::\
             100%25 done%0D%0A::warning::injected, really: no\n\
             ::warning file=b.yml,title=r (acme/api)::m\n"
        );
        // Every command is on one line: the message cannot start a command of its own.
        assert!(annotations(&report).lines().all(|l| l.starts_with("::")));
        assert_eq!(annotations(&report).lines().count(), 3);
    }

    #[test]
    fn escape_functions_match_actions_core() {
        assert_eq!(escape_data("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad:e,f");
        assert_eq!(escape_property("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad%3Ae%2Cf");
        // `%` first: an already-escaped sequence is not left ambiguous.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn markdown_of_a_small_report() {
        let expected = "\
## convoy audit

3 findings (1 error, 1 warning, 1 note) in 2 of 4 repositories, 7 files; 1 repository could not be audited.

| Rule | Severity | Findings | Repositories |
| --- | --- | ---: | ---: |
| <code>pinned-actions</code> | error | 1 | 1 |
| <code>schedule-frequency</code> | warning | 1 | 1 |
| <code>timeout-minutes</code> | note | 1 | 1 |

### Repositories that could not be audited

| Repository | Error |
| --- | --- |
| <code>acme/broken</code> | tree not in the cache |

### Findings by repository

<details>
<summary><code>acme/api</code>: 2 findings</summary>

| File | Rule | Severity | Message |
| --- | --- | --- | --- |
| <code>.github/workflows/ci.yml:12</code> | <code>pinned-actions</code> | error | actions/checkout@v4 is not pinned to a commit |
| <code>.github/workflows/nightly.yml:3</code> | <code>schedule-frequency</code> | warning | runs every 5 minutes |

</details>

<details>
<summary><code>acme/web</code>: 1 finding</summary>

| File | Rule | Severity | Message |
| --- | --- | --- | --- |
| <code>.github/workflows/ci.yml:20</code> | <code>timeout-minutes</code> | note | job &#96;build&#96; has no timeout-minutes |

</details>

";
        assert_eq!(markdown(&small_report()), expected);
    }

    #[test]
    fn markdown_of_an_empty_report() {
        assert_eq!(markdown(&empty_report()), "## convoy audit\n\nNo findings in 2 repositories, 3 files.\n\n");
    }

    /// The table rows of the per-repository sections (the rule table has no `.yml:` cells).
    fn finding_rows(md: &str) -> Vec<&str> {
        md.lines().filter(|l| l.starts_with("| <code>") && l.contains(".yml:")).collect()
    }

    #[test]
    fn markdown_pipe_in_a_message_keeps_the_column_count() {
        let mut report = empty_report();
        report.findings.push(finding(
            "acme/api",
            "a|b.yml",
            1,
            1,
            "pinned-actions",
            Severity::Error,
            "uses: a | b \\| c \\",
            "",
            false,
        ));
        let md = markdown(&report);
        let rows = finding_rows(&md);
        assert_eq!(rows.len(), 1, "{md}");
        // Four cells: five pipes, all of them ours.
        assert_eq!(rows[0].matches('|').count(), 5, "{}", rows[0]);
        assert_eq!(
            rows[0],
            "| <code>a&#124;b.yml:1</code> | <code>pinned-actions</code> | error | \
             uses: a &#124; b &#92;&#124; c &#92; |"
        );
    }

    #[test]
    fn markdown_escapes_html_code_spans_and_line_breaks() {
        let mut report = empty_report();
        report.findings.push(finding(
            "acme/api",
            "a.yml",
            1,
            1,
            "pinned-actions",
            Severity::Error,
            "<script>alert(1)</script> `x` ${{ secrets.T }} *a* _b_ [l](u) ![i](u) ~s~ &amp;\r\nnext\nlast",
            "",
            false,
        ));
        let md = markdown(&report);
        let row = finding_rows(&md)[0];
        assert_eq!(
            row,
            "| <code>a.yml:1</code> | <code>pinned-actions</code> | error | \
             &lt;script&gt;alert(1)&lt;/script&gt; &#96;x&#96; \\${{ secrets.T }} \\*a\\* \\_b\\_ \
             \\[l\\](u) \\!\\[i\\](u) \\~s\\~ &amp;amp;<br>next<br>last |"
        );
        assert!(!md.contains("<script"));
        assert_eq!(row.matches('|').count(), 5);
    }

    #[test]
    fn markdown_cuts_long_cells() {
        let cell = md_cell(&"x".repeat(MARKDOWN_MAX_CELL_CHARS + 50), MARKDOWN_MAX_CELL_CHARS);
        assert_eq!(cell, format!("{}…", "x".repeat(MARKDOWN_MAX_CELL_CHARS)));
        assert_eq!(md_cell("short", MARKDOWN_MAX_CELL_CHARS), "short");
    }

    #[test]
    fn markdown_caps_the_finding_rows() {
        let mut report = empty_report();
        for repo in ["acme/api", "acme/web"] {
            for i in 1..=600 {
                report.findings.push(finding(repo, "w.yml", i, 1, "pinned-actions", Severity::Error, "m", "", false));
            }
        }
        let md = markdown(&report);
        let rows = finding_rows(&md);
        assert_eq!(rows.len(), MARKDOWN_MAX_ROWS);
        // The first repository whole, the second up to the cap.
        assert_eq!(rows.iter().filter(|r| r.starts_with("| <code>w.yml:")).count(), 1000);
        assert!(md.contains("<summary><code>acme/api</code>: 600 findings</summary>"));
        assert!(md.contains("<summary><code>acme/web</code>: 600 findings</summary>"));
        assert!(md.contains("\n200 more findings in this repository not shown.\n"), "{}", &md[md.len() - 400..]);
        assert!(md.ends_with(
            "> [!NOTE]\n> 200 findings were left out of this summary: a step summary is limited to 1 MiB. \
             The JSON and SARIF reports have every finding.\n"
        ));
        // Every section opened is closed.
        assert_eq!(md.matches("<details>").count(), md.matches("</details>").count());
    }

    #[test]
    fn markdown_skips_whole_repositories_past_the_cap() {
        let mut report = empty_report();
        for i in 1..=MARKDOWN_MAX_ROWS {
            report.findings.push(finding("acme/api", "w.yml", i, 1, "r", Severity::Note, "m", "", false));
        }
        report.findings.push(finding("acme/web", "w.yml", 1, 1, "r", Severity::Note, "m", "", false));
        let md = markdown(&report);
        assert_eq!(finding_rows(&md).len(), MARKDOWN_MAX_ROWS);
        assert!(!md.contains("acme/web</code>:"));
        assert!(md.contains("> 1 finding was left out of this summary"));
    }

    #[test]
    fn markdown_stays_under_a_mebibyte_with_huge_messages() {
        let mut report = empty_report();
        let message = "|<`".repeat(5000);
        for i in 1..=3000 {
            report.findings.push(finding(
                "acme/api",
                &format!("{}/w.yml", "d".repeat(200)),
                i,
                1,
                "r",
                Severity::Error,
                &message,
                "",
                false,
            ));
        }
        let md = markdown(&report);
        assert!(md.len() < 1024 * 1024, "{} bytes", md.len());
        assert!(md.contains("findings were left out of this summary"));
    }

    #[test]
    fn markdown_caps_error_rows() {
        let mut report = empty_report();
        for i in 0..MARKDOWN_MAX_ERROR_ROWS + 3 {
            report.errors.push(AuditError { repo: format!("acme/r{i:04}"), message: "unreadable".into() });
        }
        let md = markdown(&report);
        assert_eq!(md.lines().filter(|l| l.ends_with("| unreadable |")).count(), MARKDOWN_MAX_ERROR_ROWS);
        assert!(md.contains("\n3 more errors not shown.\n"));
    }

    #[test]
    fn sections_follow_the_report_order() {
        let mut report = small_report();
        // A repository the report's list lacks comes after the listed ones.
        report.findings.insert(0, finding("zzz/unlisted", "a.yml", 1, 1, "r", Severity::Note, "m", "", false));
        let repos: Vec<&str> = sections(&report).iter().map(|s| s.repo).collect();
        assert_eq!(repos, ["acme/api", "acme/broken", "acme/web", "zzz/unlisted"]);
    }
}
