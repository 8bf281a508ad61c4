//! Human output that scales: colour (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`), `plan --stat`,
//! diffs grouped across repositories (`--no-group`), and notes said once (`-q`).

use crate::support::{HEAD, Org};

/// Four repositories: `a`, `b` and `c` get the same two files changed, `d` the same workflow
/// but a different README change.
fn org() -> Org {
    let org = Org::new();
    for name in ["a", "b", "c"] {
        org.repo(name, &[("README.md", "old\nkeep\n")]);
    }
    org.repo("d", &[("README.md", "old old\nkeep\n")]);
    org.template("ci.yml.j2", "name: ci\non: push\njobs: {}\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n\
         [[replace]]\nfiles = [\"README.md\"]\npattern = \"old\"\nreplacement = \"new\"\n\n\
         [campaign]\nbranch = \"convoy/out\"\n"
    ));
    org
}

const ESC: char = '\x1b';

fn strip(s: &str) -> String {
    anstream::adapter::strip_str(s).to_string()
}

#[test]
fn color_always_colours_the_plan_and_strips_back_to_the_plain_text() {
    let org = org();
    let plain = org.convoy(&["plan", "-q", "--color", "never"]);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert!(!plain.stdout.contains(ESC) && !plain.stderr.contains(ESC), "{plain:?}");
    let coloured = org.convoy(&["plan", "-q", "--color", "always"]);
    assert_eq!(coloured.code, 0, "{coloured:?}");
    // Added lines green, removed lines red, hunk headers cyan.
    assert!(coloured.stdout.contains("\x1b[31m-old\x1b[0m\n\x1b[32m+new\x1b[0m\n keep\n"), "{coloured:?}");
    assert!(coloured.stdout.contains("\x1b[36m@@ -1,2 +1,2 @@"), "{coloured:?}");
    assert_eq!(strip(&coloured.stdout), plain.stdout, "the same text once the escapes are gone");
    // `--color=always` is the same flag; it goes after the command too (global).
    assert_eq!(org.convoy(&["--color=always", "plan", "-q"]).stdout, coloured.stdout);
}

#[test]
fn auto_colours_nothing_in_a_pipe_unless_clicolor_force_and_no_color_wins() {
    let org = org();
    // The harness reads stdout through a pipe and sets NO_COLOR=1.
    let piped = org.convoy(&["plan", "-q"]);
    assert!(!piped.stdout.contains(ESC), "{piped:?}");
    // An empty NO_COLOR does not count (no-color.org): still a pipe, so still no colour.
    let empty = org.convoy_env(&["plan", "-q"], &[("NO_COLOR", "")]);
    assert!(!empty.stdout.contains(ESC), "{empty:?}");
    let forced = org.convoy_env(&["plan", "-q"], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]);
    assert!(forced.stdout.contains(ESC), "CLICOLOR_FORCE colours a pipe: {forced:?}");
    let both = org.convoy_env(&["plan", "-q"], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert!(!both.stdout.contains(ESC), "NO_COLOR wins: {both:?}");
    let never = org.convoy_env(&["plan", "-q", "--color", "never"], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]);
    assert!(!never.stdout.contains(ESC), "the flag wins over the environment: {never:?}");
}

#[test]
fn json_and_errors_follow_the_colour_choice() {
    let org = org();
    let json = org.convoy(&["plan", "-q", "--json", "--color", "always"]);
    assert_eq!(json.code, 0, "{json:?}");
    assert!(!json.stdout.contains(ESC), "JSON is never coloured: {json:?}");
    serde_json::from_str::<serde_json::Value>(&json.stdout).expect("JSON");
    // convoy's own `error:` and clap's usage errors.
    let missing = org.convoy(&["plan", "-q", "--color", "always", "--repo", "nosuch"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.starts_with(ESC), "`error:` is coloured: {missing:?}");
    assert!(strip(&missing.stderr).starts_with("error: --repo nosuch matches none"), "{missing:?}");
    let usage = org.convoy(&["plan", "--color", "always", "--no-such-flag"]);
    assert_eq!(usage.code, 2, "{usage:?}");
    assert!(usage.stderr.contains(ESC), "clap's errors follow --color: {usage:?}");
    let usage = org.convoy(&["plan", "--color", "never", "--no-such-flag"]);
    assert!(!usage.stderr.contains(ESC) && usage.stderr.starts_with("error:"), "{usage:?}");
}

#[test]
fn a_diff_several_repositories_share_is_printed_once_unless_no_group() {
    let org = org();
    let plan = org.convoy(&["plan", "-q"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let out = &plan.stdout;
    assert!(
        out.contains("━━ same change in 4 repositories: acme/a, acme/b, acme/c, acme/d — 1 file(s)\n# create .github/workflows/ci.yml (from templates/ci.yml.j2)\n"),
        "{plan:?}"
    );
    assert!(
        out.contains("━━ same change in 3 repositories: acme/a, acme/b, acme/c — 1 file(s)\n# update README.md"),
        "{plan:?}"
    );
    assert_eq!(out.matches("+name: ci\n").count(), 1, "the shared workflow once: {plan:?}");
    assert_eq!(out.matches("+new\n keep\n").count(), 1, "the README change of a, b and c once: {plan:?}");
    // d's own README change follows, with a pointer to what it shares.
    let d = out.find("━━ acme/d (main @ ").expect("acme/d has a section of its own");
    assert!(
        out[d..].starts_with("━━ acme/d (main @ ")
            && out[d..].contains("— 1 file(s), 1 more in a shared change above\n# update README.md"),
        "{plan:?}"
    );
    assert!(out[d..].contains("+new new\n"), "{plan:?}");
    assert!(
        !out.contains("━━ acme/a (") && !out.contains("━━ acme/b ("),
        "nothing of a or b is left to show: {plan:?}"
    );
    assert!(out.contains("4 repositories: 4 changed, 0 unchanged, 0 failed"), "{plan:?}");

    let full = org.convoy(&["plan", "-q", "--no-group"]);
    assert_eq!(full.code, 0, "{full:?}");
    assert!(!full.stdout.contains("same change"), "{full:?}");
    assert_eq!(full.stdout.matches("+name: ci\n").count(), 4, "{full:?}");
    for repo in ["a", "b", "c", "d"] {
        assert!(full.stdout.contains(&format!("━━ acme/{repo} (main @ ")), "{full:?}");
    }
    assert!(full.stdout.contains(" — 2 file(s)\n"), "{full:?}");
    // The same table and totals either way, and JSON is not affected by the text view.
    let tail = |s: &str| s[s.find("Plan for campaign branch").unwrap()..].to_string();
    assert_eq!(tail(&plan.stdout), tail(&full.stdout));
    assert_eq!(
        org.convoy(&["plan", "-q", "--json"]).stdout,
        org.convoy(&["plan", "-q", "--json", "--no-group"]).stdout
    );
}

#[test]
fn stat_counts_lines_per_file_like_git_diff_stat() {
    let org = org();
    let stat = org.convoy(&["plan", "-q", "--stat"]);
    assert_eq!(stat.code, 0, "{stat:?}");
    let out = &stat.stdout;
    assert!(!out.contains("+name: ci") && !out.contains("@@"), "no diffs: {stat:?}");
    assert_eq!(
        out.matches(" .github/workflows/ci.yml | 3 +++\n README.md                | 2 +-\n").count(),
        4,
        "{stat:?}"
    );
    assert!(out.contains("\n8 files changed, 16 insertions(+), 4 deletions(-)\n4 repositories: 4 changed"), "{stat:?}");
    // Coloured like the diff: + green, - red; the same text without escapes.
    let coloured = org.convoy(&["plan", "-q", "--stat", "--color", "always"]);
    assert!(coloured.stdout.contains("| 2 \x1b[32m+\x1b[0m\x1b[31m-\x1b[0m\n"), "{coloured:?}");
    assert_eq!(strip(&coloured.stdout), stat.stdout);
}

#[test]
fn many_repositories_are_named_up_to_eight_and_long_bars_are_scaled() {
    let org = Org::new();
    for i in 0..10 {
        org.repo(&format!("r{i}"), &[("README.md", "hi\n")]);
    }
    let body: String = (0..100).map(|i| format!("# line {i}\n")).collect();
    org.template("big.txt", &body);
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"big.txt\"\ndest = \"big.txt\"\n\n[campaign]\nbranch = \"convoy/big\"\n"
    ));
    let plan = org.convoy(&["plan", "-q"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let names: Vec<String> = (0..8).map(|i| format!("acme/r{i}")).collect();
    let head = format!("━━ same change in 10 repositories: {} (+2 more) — 1 file(s)\n", names.join(", "));
    assert!(plan.stdout.contains(&head), "{plan:?}");
    assert_eq!(plan.stdout.matches("+# line 99\n").count(), 1, "{plan:?}");
    // 100 lines: the bar is cut to 40 characters, the count stays exact.
    let stat = org.convoy(&["plan", "-q", "--stat"]);
    assert_eq!(stat.stdout.matches(&format!(" big.txt | 100 {}\n", "+".repeat(40))).count(), 10, "{stat:?}");
    assert!(stat.stdout.contains("10 files changed, 1000 insertions(+), 0 deletions(-)"), "{stat:?}");
}

/// One repository, one template; the campaign branch is `branch`.
fn small_org(org: &Org, branch: &str) {
    org.template("ci.yml.j2", "name: ci\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n[campaign]\nbranch = \"{branch}\"\n"
    ));
}

#[test]
fn a_renamed_campaign_branch_is_a_note_in_the_summary_and_not_also_a_log_warning() {
    let org = Org::new();
    org.repo("api", &[("README.md", "hi\n")]);
    small_org(&org, "convoy/one");
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    small_org(&org, "convoy/two");
    let out = org.convoy(&["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    let said = "PR #1 on branch `convoy/one` is still open";
    assert_eq!(out.stdout.matches(said).count(), 1, "the note, in the summary: {out:?}");
    assert!(out.stdout.contains(&format!("note acme/api: {said}")), "{out:?}");
    assert!(!out.stderr.contains(said) && !out.stderr.contains("WARN"), "not logged too: {out:?}");
    // -q keeps the summary (the note is part of it) and drops the progress lines.
    small_org(&org, "convoy/three");
    let quiet = org.convoy(&["apply", "-q"]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(quiet.stdout.contains("note acme/api: PR #1 on branch `convoy/one` is still open"), "{quiet:?}");
    assert_eq!(quiet.stderr, "", "{quiet:?}");
}

#[test]
fn a_claim_taken_over_is_said_once() {
    let org = Org::new();
    org.repo("api", &[("README.md", "hi\n")]);
    small_org(&org, "convoy/ci");
    // A run killed before its first journal append leaves its claim behind; two hours later
    // its 30-minute lease has expired.
    let killed = org.convoy_env(&["apply", "-q"], &[("CONVOY_TEST_KILL_AT_JOURNAL_STEP", "0")]);
    assert_ne!(killed.code, 0, "{killed:?}");
    let later = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let again = org.convoy_env(&["apply"], &[("CONVOY_NOW", &later)]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("warning: took over the expired claim of run "), "{again:?}");
    assert_eq!(again.stderr.matches("claim of run").count(), 1, "said once, not logged as well: {again:?}");
    // -q silences it, like every note: errors and the final summary only (a fresh org: this
    // one has nothing left to write, so a kill switch there would never fire).
    let org = Org::new();
    org.repo("api", &[("README.md", "hi\n")]);
    small_org(&org, "convoy/ci");
    let killed = org.convoy_env(&["apply", "-q"], &[("CONVOY_TEST_KILL_AT_JOURNAL_STEP", "0")]);
    assert_ne!(killed.code, 0, "{killed:?}");
    let quiet = org.convoy_env(&["apply", "-q"], &[("CONVOY_NOW", &later)]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert_eq!(quiet.stderr, "", "{quiet:?}");
}

#[test]
fn quiet_keeps_only_errors_in_the_log_unless_convoy_log_asks() {
    let org = Org::new();
    org.repo("api", &[("README.md", "hi\n")]);
    small_org(&org, "convoy/ci");
    // An unreadable CONVOY_NOW is a log warning (no note says it).
    let bad = [("CONVOY_NOW", "yesterday")];
    // `status` reads the clock once per repository: one repository, one warning.
    let loud = org.convoy_env(&["status"], &bad);
    assert_eq!(loud.stderr.matches("CONVOY_NOW=\"yesterday\" is not an RFC 3339 time").count(), 1, "{loud:?}");
    let quiet = org.convoy_env(&["status", "-q"], &bad);
    assert_eq!(quiet.stderr, "", "{quiet:?}");
    assert!(quiet.stdout.contains("acme/api"), "the result is still printed: {quiet:?}");
    let asked = org.convoy_env(&["status", "-q"], &[bad[0], ("CONVOY_LOG", "warn")]);
    assert!(asked.stderr.contains("is not an RFC 3339 time"), "CONVOY_LOG set explicitly wins: {asked:?}");
}
