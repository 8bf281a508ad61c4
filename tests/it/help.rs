//! `convoy help`: every argument of every command is described, possible values are described
//! alike, and global options a command ignores are not shown in its help.

use clap::{CommandFactory, Parser};
use convoy::cli::Cli;

use crate::support::convoy_in;

/// Every command, as its path from the top (`["deps", "actions"]`), with the command itself;
/// globals already copied into each subcommand (clap does that in `build`).
fn commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(path: Vec<String>, cmd: &clap::Command, out: &mut Vec<(Vec<String>, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            walk(p, sub, out);
        }
        out.push((path, cmd.clone()));
    }
    let mut root = Cli::command();
    root.build();
    let mut out = Vec::new();
    walk(Vec::new(), &root, &mut out);
    out
}

fn described(s: Option<&clap::builder::StyledStr>) -> bool {
    s.is_some_and(|s| !s.to_string().trim().is_empty())
}

#[test]
fn every_argument_and_value_of_every_command_is_described() {
    let all = commands();
    assert!(all.len() > 30, "the walk found {} commands", all.len());
    let mut missing = Vec::new();
    for (path, cmd) in &all {
        let name = format!("convoy {}", path.join(" "));
        if !path.is_empty() && !described(cmd.get_about()) {
            missing.push(format!("{name}: the command itself"));
        }
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let id = arg.get_id().as_str();
            if !described(arg.get_help()) && !described(arg.get_long_help()) {
                missing.push(format!("{name}: argument `{id}`"));
            }
            // clap lists the values with their text as soon as one has text: all or none.
            let values: Vec<_> = arg.get_possible_values().into_iter().filter(|v| !v.is_hide_set()).collect();
            if values.iter().any(|v| v.get_help().is_some()) {
                for v in values.iter().filter(|v| !described(v.get_help())) {
                    missing.push(format!("{name}: value `{}` of `{id}`", v.get_name()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undescribed in `convoy help`:\n{}", missing.join("\n"));
}

/// Long help text of `convoy PATH --help` as the binary prints it.
fn help_of(path: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut args = path.to_vec();
    args.push("--help");
    let out = convoy_in(dir.path(), &args, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

#[test]
fn ignored_global_options_are_not_shown() {
    // (command, the globals it ignores): demo and init write their own org, completions and
    // man print a script or a page, report merge reads only its reports.
    let ignored: &[(&[&str], &[&str])] = &[
        (&["demo"], &["--manifest", "--json"]),
        (&["init"], &["--manifest", "--json"]),
        (&["completions"], &["--manifest", "--quiet", "--json"]),
        (&["man"], &["--manifest", "--quiet", "--json"]),
        (&["report", "merge"], &["--manifest"]),
    ];
    for (path, flags) in ignored {
        let help = help_of(path);
        for flag in *flags {
            assert!(!help.contains(flag), "`convoy {} --help` shows {flag}:\n{help}", path.join(" "));
        }
    }
    // Commands that use them still show them.
    for path in [&["plan"][..], &["report", "merge"], &["demo"]] {
        let help = help_of(path);
        let shown: &[&str] = match path {
            ["plan"] => &["--manifest", "--quiet", "--json"],
            ["report", "merge"] => &["--quiet", "--json"],
            _ => &["--quiet"],
        };
        for flag in shown {
            assert!(help.contains(flag), "`convoy {} --help` lacks {flag}:\n{help}", path.join(" "));
        }
    }
    // The man pages are built from the same definition.
    let dir = tempfile::tempdir().unwrap();
    let man = convoy_in(dir.path(), &["man", "--dir", "pages"], &[]);
    assert_eq!(man.code, 0, "{man:?}");
    let page = |name: &str| std::fs::read_to_string(dir.path().join("pages").join(name)).unwrap();
    assert!(page("convoy-plan.1").contains("\\-\\-json"), "{}", page("convoy-plan.1"));
    assert!(!page("convoy-demo.1").contains("\\-\\-json"), "{}", page("convoy-demo.1"));
}

#[test]
fn hidden_globals_still_parse_and_reach_the_top_level() {
    // Hidden, not removed: `demo --json` is refused by demo itself, not by the parser, and
    // `-m` before or after the subcommand is the same option.
    let cli = Cli::try_parse_from(["convoy", "demo", "--json"]).unwrap();
    assert!(cli.json);
    let cli = Cli::try_parse_from(["convoy", "report", "merge", "-m", "x.toml", "a.json"]).unwrap();
    assert_eq!(cli.manifest.as_deref(), Some(std::path::Path::new("x.toml")));
    let cli = Cli::try_parse_from(["convoy", "completions", "-q", "bash"]).unwrap();
    assert!(cli.quiet && !cli.json);
    let dir = tempfile::tempdir().unwrap();
    let out = convoy_in(dir.path(), &["demo", "--json"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn deps_actions_formats_describe_what_it_prints() {
    let help = help_of(&["deps", "actions"]);
    assert!(!help.contains("by crate"), "{help}");
    assert!(help.contains("one row per ref of each action"), "{help}");
    // skew keeps its own (grouped by crate).
    assert!(help_of(&["deps", "skew"]).contains("Grouped by crate"));
}
