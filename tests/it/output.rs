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
    assert!(coloured.stdout.contains("\x1b[32m+new\nkeep"), "{coloured:?}");
    assert!(coloured.stdout.contains("\x1b[31m-old\nkeep"), "{coloured:?}");
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
