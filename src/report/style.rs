//! Colour for the text views: what people scan (diff lines, status words, `error:`, `note:`).
//!
//! Views always write styled text (ANSI SGR codes from `anstyle`); the CLI prints it through an
//! `anstream` stream, which passes the codes to a terminal and strips them everywhere else
//! (pipes, files, `--color never`, `NO_COLOR`). So the plain text is the styled text with its
//! escapes removed, by construction. JSON, SARIF and files written with `-o` never go through
//! these helpers.

use anstyle::{AnsiColor, Style};

/// Added lines of a diff (`+`).
pub const ADDED: Style = AnsiColor::Green.on_default();
/// Removed lines of a diff (`-`).
pub const REMOVED: Style = AnsiColor::Red.on_default();
/// Hunk headers of a diff (`@@ -1,3 +1,4 @@`).
pub const HUNK: Style = AnsiColor::Cyan.on_default();
/// File and section headers (`--- a/x`, `+++ b/x`, `# update x`, `━━ acme/api`).
pub const HEADER: Style = Style::new().bold();
/// `error:` labels and `failed` statuses.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// `warning:` labels.
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// `note:` and `help:` labels.
pub const NOTE: Style = AnsiColor::Cyan.on_default().bold();
/// Statuses that change something (`changed`, `updated`).
pub const CHANGED: Style = AnsiColor::Yellow.on_default();
/// Statuses that create something (`opened`).
pub const OPENED: Style = AnsiColor::Green.on_default();

/// `text` wrapped in `style` and its reset; the empty string stays empty.
pub fn paint(style: Style, text: &str) -> String {
    if text.is_empty() { String::new() } else { format!("{style}{text}{style:#}") }
}

/// A label such as `error:` in its colour: `label(ERROR, "error")` is `error:` in red bold.
pub fn label(style: Style, name: &str) -> String {
    paint(style, &format!("{name}:"))
}

/// The colour of a status word in the `plan`/`apply` tables (`failed`, `changed`, `opened`,
/// `updated`, `closed`), or none.
pub fn status(word: &str) -> Option<Style> {
    match word {
        "failed" => Some(ERROR),
        "changed" | "updated" | "closed" => Some(CHANGED),
        "opened" => Some(OPENED),
        _ => None,
    }
}

/// A unified diff (as [`crate::change::FileDiff::unified`] writes it) with its lines coloured
/// as `git diff` colours them: file headers bold, hunk headers cyan, `+` green, `-` red.
pub fn diff(unified: &str) -> String {
    let mut out = String::with_capacity(unified.len() + unified.len() / 4);
    for line in unified.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("+++ ") || body.starts_with("--- ") {
            Some(HEADER)
        } else if body.starts_with("@@") {
            Some(HUNK)
        } else if body.starts_with('+') {
            Some(ADDED)
        } else if body.starts_with('-') {
            Some(REMOVED)
        } else {
            None
        };
        match style {
            Some(s) => {
                out.push_str(&paint(s, body));
                out.push_str(end);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// `text` without its ANSI escapes: what a pipe or a file receives.
pub fn strip(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

/// The number of characters a terminal shows for `text` (escapes take no room).
pub fn width(text: &str) -> usize {
    if text.contains('\x1b') { strip(text).chars().count() } else { text.chars().count() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coloured_diff_strips_back_to_the_diff() {
        let unified = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n keep\n-old\n+new\n\\ No newline at end of file";
        let coloured = diff(unified);
        assert_ne!(coloured, unified, "something was coloured");
        assert_eq!(strip(&coloured), unified);
        assert!(coloured.contains(&format!("{ADDED}+new{ADDED:#}\n")), "{coloured:?}");
        assert!(coloured.contains(&format!("{REMOVED}-old{REMOVED:#}\n")), "{coloured:?}");
        assert!(coloured.contains(&format!("{HUNK}@@ -1,2 +1,2 @@{HUNK:#}\n")), "{coloured:?}");
        assert!(coloured.contains(&format!("{HEADER}+++ b/x{HEADER:#}\n")), "headers are not additions: {coloured:?}");
        assert!(coloured.contains("\n keep\n"), "context lines stay plain: {coloured:?}");
    }

    #[test]
    fn width_ignores_escapes() {
        assert_eq!(width(&paint(ERROR, "failed")), 6);
        assert_eq!(width("naïve"), 5);
    }
}
