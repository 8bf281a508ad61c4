//! Errors that point into a file: `file:line:column`, the offending line, a caret, and a hint.
//!
//! Hand-written rather than pulled from a snippet crate because the format is part of convoy's
//! contract (tests pin it and scripts grep it) and it is twenty lines; a rendering crate would
//! give us colours and multi-span layouts we do not use and change its output between versions.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One located problem in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    pub message: String,
    /// The full text of the line the problem is on, for the snippet.
    pub source_line: Option<String>,
    /// Width of the caret underline, in characters.
    pub width: usize,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// Locate `span` (a byte range) in `source` and build a diagnostic for it.
    pub fn at_span(file: &Path, source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(source.len());
        let (line, column, line_text) = line_col(source, start);
        let end = span.end.clamp(start, source.len());
        let line_end = start + line_text.len().saturating_sub(column - 1);
        let width = source[start..end.min(line_end.max(start))].chars().count().max(1);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            source_line: Some(line_text.to_string()),
            width,
            help: None,
        }
    }

    /// A diagnostic about a whole file, with no position inside it (e.g. the file is missing).
    pub fn in_file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            message: message.into(),
            source_line: None,
            width: 1,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column`, the prefix every message starts with.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// 1-based line and column (in chars) of byte offset `at`, and the text of that line.
pub fn line_col(source: &str, at: usize) -> (usize, usize, &str) {
    let at = floor_char_boundary(source, at.min(source.len()));
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i);
    let line = source[..line_start].matches('\n').count() + 1;
    let column = source[line_start..at].chars().count() + 1;
    (line, column, source[line_start..line_end].trim_end_matches('\r'))
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(text) = &self.source_line {
            let gutter = self.line.to_string().len();
            let pad = " ".repeat(gutter);
            write!(
                f,
                "\n{pad} |\n{} | {text}\n{pad} | {}{}",
                self.line,
                " ".repeat(self.column - 1),
                "^".repeat(self.width)
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Several diagnostics reported together (validation keeps going after the first problem).
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column_in_chars() {
        let src = "a = 1\nbé = \"x\"\n";
        let at = src.find('=').map(|_| src.rfind('=').unwrap_or(0)).unwrap_or(0);
        let d = Diagnostic::at_span(Path::new("org.toml"), src, at..at + 1, "bad");
        assert_eq!((d.line, d.column), (2, 4));
        assert_eq!(d.to_string(), "org.toml:2:4: bad\n  |\n2 | bé = \"x\"\n  |    ^");
    }

    #[test]
    fn span_past_end_is_clamped() {
        let d = Diagnostic::at_span(Path::new("f"), "abc", 10..20, "eof");
        assert_eq!((d.line, d.column), (1, 4));
    }
}
