//! Bounds on what convoy parses from repositories and templates (STYLE.md rule 17: every parser
//! input is bounded at the boundary, and a bound that trips is a clear per-file error).
//!
//! **YAML.** saphyr's parser is iterative, but the tree it builds is not walked iteratively:
//! cloning an anchor, hashing a mapping key, comparing, the workflow reader and dropping the tree
//! all recurse once per level, so a 10 KB file nested 5,000 levels (`[[[[...` or 5,000 indented
//! `- ` lines) overflows the thread's stack and aborts the whole process, every repository with
//! it. [`check_yaml`] walks saphyr-parser's event stream (no tree, constant stack) before anything
//! builds a tree and refuses a file over [`MAX_YAML_BYTES`] or nested deeper than
//! [`MAX_YAML_DEPTH`] collections, counting what aliases expand to (an alias of a 60-level anchor
//! placed 60 levels deep is 120 levels once loaded). Every YAML parse of convoy goes through it:
//! `workflow::parse` (audit, `audit --fix`, `deps actions`, `deps align`, `cost`) and the
//! check of rendered templates and files in `plan`/`apply` (`transform::templates::check_rendered`).
//!
//! **TOML** (`org.toml`, `Cargo.toml`): the `toml` and `toml_edit` parsers stop at their own
//! nesting limit (a "recursion limit" parse error, unless their `unbounded` feature is on, which
//! convoy does not enable); a test here pins that for both on a thread with a 2 MiB stack.
//!
//! **JSON** (`report merge` inputs, the local forge's state, GitHub's answers): `serde_json` stops
//! at 128 levels ("recursion limit exceeded") by default.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

/// Largest YAML text convoy parses: 1 MiB. Workflow and action files are a few kilobytes; this is
/// convoy's own bound, not GitHub's.
pub const MAX_YAML_BYTES: usize = 1 << 20;

/// Deepest nesting of YAML collections (mappings and sequences, aliases expanded) convoy parses.
/// A workflow is about 8 levels deep (`jobs.<id>.strategy.matrix.include[].<key>`); 64 leaves
/// room for any real one and stays far from the stack's limits.
pub const MAX_YAML_DEPTH: usize = 64;

/// A YAML text over a bound, with the 1-based line and column where it went over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {column}: {message}")]
pub struct LimitError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// `Ok` when `source` is within [`MAX_YAML_BYTES`] and [`MAX_YAML_DEPTH`]. Syntax errors are not
/// reported here (the loader reports them, with its own message): the walk stops at the first.
///
/// Errors: the size, or where the nesting (or an alias's expansion) first goes deeper than the
/// limit, e.g. `line 65 column 129: nested more than 64 levels deep (convoy's limit for YAML)`.
pub fn check_yaml(source: &str) -> Result<(), LimitError> {
    if source.len() > MAX_YAML_BYTES {
        return Err(LimitError {
            line: 1,
            column: 1,
            message: format!(
                "{} bytes, more than the {} KiB convoy reads from a YAML file",
                source.len(),
                MAX_YAML_BYTES / 1024
            ),
        });
    }
    // Open collections, innermost last: (anchor id, height of the tallest child so far).
    let mut open: Vec<(usize, usize)> = Vec::new();
    // Anchor id → height of the anchored node (0 for a scalar, 1 + tallest child for a
    // collection), so that an alias counts as deep as what it expands to.
    let mut heights: HashMap<usize, usize> = HashMap::new();
    for item in Parser::new_from_str(source) {
        let Ok((event, span)) = item else { return Ok(()) };
        let at = |message: String| LimitError {
            line: span.start.line(),
            column: span.start.col() + 1,
            message: format!("{message} (convoy's limit for YAML is {MAX_YAML_DEPTH} levels)"),
        };
        match event {
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                open.push((anchor, 0));
                if open.len() > MAX_YAML_DEPTH {
                    return Err(at(format!("nested more than {MAX_YAML_DEPTH} levels deep")));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some((anchor, tallest)) = open.pop() else { continue };
                let height = tallest + 1;
                if anchor > 0 {
                    heights.insert(anchor, height);
                }
                if let Some(parent) = open.last_mut() {
                    parent.1 = parent.1.max(height);
                }
            }
            Event::Scalar(_, _, anchor, _) if anchor > 0 => {
                heights.insert(anchor, 0);
            }
            Event::Alias(id) => {
                let height = heights.get(&id).copied().unwrap_or(0);
                if open.len() + height > MAX_YAML_DEPTH {
                    return Err(at(format!("this alias expands to a nesting {} levels deep", open.len() + height)));
                }
                if let Some(parent) = open.last_mut() {
                    parent.1 = parent.1.max(height);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    /// A workflow whose steps are `depth` nested block sequences written compactly on one line
    /// (`- - - - x`): about 2 bytes a level, so 5,000 levels are a 10 KB file.
    pub fn deep_block_yaml(depth: usize) -> String {
        format!("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      {}x\n", "- ".repeat(depth))
    }

    /// `key: [[[[...]]]]` nested `depth` flow sequences deep.
    pub fn deep_flow_yaml(depth: usize) -> String {
        format!("on: push\nx: {}{}\n", "[".repeat(depth), "]".repeat(depth))
    }

    /// Run `f` on a thread with a 2 MiB stack (the default of spawned threads), so a test proves
    /// that nothing recurses per level of the input.
    pub fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .expect("spawn a thread")
            .join()
            .unwrap_or_else(|_| panic!("the thread panicked"))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn deep_yaml_is_refused_with_its_place_and_shallow_yaml_passes() {
        on_small_stack(|| {
            let e = check_yaml(&deep_block_yaml(5_000)).expect_err("too deep");
            assert!(e.message.starts_with("nested more than 64 levels deep"), "{e}");
            // The document, jobs, a, then the sequences: the 62nd `- ` is the 65th level.
            assert_eq!((e.line, e.column), (6, 7 + 2 * 61), "{e}");
            assert!(deep_block_yaml(5_000).len() < 11_000);
            assert_eq!(check_yaml(&deep_block_yaml(61)), Ok(()));
            let e = check_yaml(&deep_flow_yaml(200)).expect_err("too deep");
            assert_eq!((e.line, e.message.contains("64 levels")), (2, true), "{e}");
            assert_eq!(check_yaml(&deep_flow_yaml(MAX_YAML_DEPTH - 1)), Ok(()));
            assert!(check_yaml(&deep_flow_yaml(MAX_YAML_DEPTH)).is_err(), "the document mapping is a level too");
            assert_eq!(check_yaml("on: push\njobs: {a: {steps: [{run: x}]}}\n"), Ok(()));
        });
    }

    #[test]
    fn the_workflow_reader_refuses_deep_files_without_overflowing() {
        on_small_stack(|| {
            let e = crate::workflow::parse(&deep_block_yaml(5_000), false).expect_err("refused");
            assert_eq!((e.line, e.column), (6, 129));
            assert!(e.message.starts_with("nested more than 64 levels deep"), "{}", e.message);
            // saphyr's scanner itself stops flow collections past 255 levels, before any event.
            let e = crate::workflow::parse(&deep_flow_yaml(5_000), false).expect_err("refused");
            assert!(e.message.contains("recursion limit exceeded"), "{}", e.message);
        });
    }

    #[test]
    fn every_yaml_reader_survives_a_deep_file_on_a_small_stack() {
        use crate::policy::audit::Policy;
        use crate::workflow::files::SourceFile;
        on_small_stack(|| {
            let ok = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n";
            let files = [
                SourceFile { path: ".github/workflows/deep.yml".into(), bytes: deep_block_yaml(5_000).into_bytes() },
                SourceFile { path: ".github/workflows/ok.yml".into(), bytes: ok.as_bytes().to_vec() },
            ];
            // audit: the deep file is one invalid-workflow finding, the other file is audited.
            let findings = Policy::default_rules().audit_repo("acme/api", &files, &|_| false);
            let deep: Vec<_> = findings.iter().filter(|f| f.path.ends_with("deep.yml")).collect();
            assert_eq!(deep.len(), 1, "{findings:#?}");
            assert_eq!((deep[0].rule.as_str(), deep[0].line), ("invalid-workflow", 6));
            assert!(findings.iter().any(|f| f.path.ends_with("ok.yml") && f.rule == "unpinned-actions"));
            // deps actions: the other file's action is listed. (plan's check of rendered YAML is
            // tested end to end in tests/it/audit.rs.)
            let uses = crate::deps::actions::inventory("acme/api", &files);
            assert_eq!(uses.iter().map(|u| u.action.as_str()).collect::<Vec<_>>(), ["actions/checkout"]);
        });
    }

    #[test]
    fn aliases_count_as_deep_as_what_they_expand_to() {
        let anchor = format!("a: &deep {}{}\n", "[".repeat(40), "]".repeat(40));
        // 40 levels placed under 30 more: 71 once expanded, though no line nests that deep.
        let nested = format!("{anchor}b: {}*deep{}\n", "[".repeat(30), "]".repeat(30));
        let e = check_yaml(&nested).expect_err("expands too deep");
        assert!(e.message.contains("alias expands to a nesting 71 levels deep"), "{e}");
        assert_eq!(check_yaml(&format!("{anchor}b: [*deep]\n")), Ok(()));
        assert_eq!(check_yaml("a: &s x\nb: [*s, *unknown]\n"), Ok(()), "a scalar alias adds no depth");
    }

    #[test]
    fn size_is_bounded_and_syntax_errors_are_left_to_the_loader() {
        let big = format!("x: \"{}\"\n", "a".repeat(MAX_YAML_BYTES));
        assert!(check_yaml(&big).expect_err("too big").message.contains("1024 KiB"));
        assert_eq!(check_yaml("jobs: [\n"), Ok(()));
    }

    #[test]
    fn toml_parsers_stop_deep_nesting_on_their_own() {
        on_small_stack(|| {
            let arrays = format!("a = {}{}\n", "[".repeat(5_000), "]".repeat(5_000));
            let tables = format!("a = {}{}\n", "{ b = ".repeat(5_000), "}".repeat(5_000));
            let dotted = format!("[{}]\n", vec!["k"; 5_000].join("."));
            for text in [arrays, tables, dotted] {
                let e = toml::from_str::<toml::Table>(&text).expect_err("org.toml: refused").to_string();
                assert!(e.contains("recursion"), "{}", &e[e.len().saturating_sub(300)..]);
                let e = toml_edit::Document::parse(text.as_str()).expect_err("Cargo.toml: refused").to_string();
                assert!(e.contains("recursion"), "{}", &e[e.len().saturating_sub(300)..]);
            }
        });
    }

    #[test]
    fn json_reports_stop_deep_nesting_on_their_own() {
        on_small_stack(|| {
            let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
            let e = serde_json::from_str::<serde_json::Value>(&deep).expect_err("refused");
            assert!(e.to_string().contains("recursion limit"), "{e}");
        });
    }
}
