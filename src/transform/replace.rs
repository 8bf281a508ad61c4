//! `[[replace]]` entries: a regular expression (the `regex` crate's syntax) or a literal string
//! replaced in every file whose path matches `files` (globs, `globset`'s syntax, matched against
//! the path from the repository root).
//!
//! - The replacement may use capture groups, `$1` or `${name}` (the `regex` crate's expansion;
//!   `$$` is a literal `$`). With `literal = true` the pattern is matched as plain text and the
//!   replacement inserted as written.
//! - `max_per_file` caps the replacements in one file (the first N matches); 0 means all.
//! - Files are matched as bytes (`regex::bytes`), so a file in any encoding is changed only where
//!   the pattern matches and nothing else moves: line endings (LF, CRLF) and the file's mode are
//!   kept. A binary file (a NUL byte in its first 8,000 bytes, git's own test) is skipped, as
//!   are symbolic links and submodules.
//! - Several entries run in manifest order; each sees what the earlier ones made of a file.

use std::collections::BTreeMap;

use super::{Changes, Producer, RepoInput};
use crate::change::{Edit, Want};
use crate::workspace::EntryKind;
use crate::workspace::paths::RepoPath;

/// git's test for a binary file (`buffer_is_binary`): a NUL byte in the first 8,000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|b| *b == 0)
}

/// One `[[replace]]`, compiled.
pub struct Compiled {
    files: globset::GlobSet,
    pattern: regex::bytes::Regex,
    replacement: Vec<u8>,
    literal: bool,
    max_per_file: usize,
    label: String,
}

impl Compiled {
    /// Compile one entry; the error says what is wrong with which key.
    pub fn new(entry: &crate::manifest::ReplaceEntry) -> Result<Compiled, String> {
        let mut set = globset::GlobSetBuilder::new();
        for g in &entry.files {
            let glob = globset::GlobBuilder::new(g.get_ref())
                .literal_separator(true)
                .build()
                .map_err(|e| format!("`files` glob `{}`: {e}", g.get_ref()))?;
            set.add(glob);
        }
        let files = set.build().map_err(|e| format!("`files`: {e}"))?;
        let source =
            if entry.literal { regex::escape(entry.pattern.get_ref()) } else { entry.pattern.get_ref().clone() };
        let pattern = regex::bytes::RegexBuilder::new(&source)
            .size_limit(10 << 20)
            .build()
            .map_err(|e| format!("`pattern`: {e}"))?;
        Ok(Compiled {
            files,
            pattern,
            replacement: entry.replacement.get_ref().clone().into_bytes(),
            literal: entry.literal,
            max_per_file: entry.max_per_file,
            label: format!("[[replace]] {}", entry.pattern.get_ref()),
        })
    }

    /// `text` with this entry's replacements, and how many were made.
    pub fn apply(&self, text: &[u8]) -> (Vec<u8>, usize) {
        let mut count = 0;
        let mut out = Vec::with_capacity(text.len());
        let mut last = 0;
        for caps in self.pattern.captures_iter(text) {
            if self.max_per_file != 0 && count == self.max_per_file {
                break;
            }
            let Some(m) = caps.get(0) else { continue };
            out.extend_from_slice(&text[last..m.start()]);
            if self.literal {
                out.extend_from_slice(&self.replacement);
            } else {
                caps.expand(&self.replacement, &mut out);
            }
            last = m.end();
            count += 1;
        }
        out.extend_from_slice(&text[last..]);
        (out, count)
    }
}

pub struct Replace;

impl Producer for Replace {
    fn name(&self) -> &str {
        "replace"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let owner = &input.manifest.model.org.name;
        // Each path's content as the entries so far left it, and who changed it.
        let mut changed: BTreeMap<String, (Vec<u8>, Vec<String>)> = BTreeMap::new();
        let mut lists: Vec<String> = Vec::new();
        for entry in &input.manifest.model.replaces {
            if !input.selection.applies(&entry.repos, owner, input.target) {
                continue;
            }
            // Checked when the manifest was loaded; compiled here, per repository, because a
            // producer holds nothing between repositories (cheap next to reading the files).
            let compiled = Compiled::new(entry)?;
            let paths: Vec<String> = input
                .snapshot
                .paths()
                .filter(|p| matches!(input.snapshot.kind(p), Some(EntryKind::File | EntryKind::Executable)))
                .filter(|p| compiled.files.is_match(p))
                .map(str::to_string)
                .collect();
            for path in paths {
                let current = match changed.get(&path) {
                    Some((bytes, _)) => bytes.clone(),
                    None => input.snapshot.read(&path)?.unwrap_or_default(),
                };
                if is_binary(&current) {
                    continue;
                }
                let (next, n) = compiled.apply(&current);
                if n == 0 || next == current {
                    continue;
                }
                lists.push(format!("{path}: {n} × {}", entry.pattern.get_ref()));
                let slot = changed.entry(path).or_insert_with(|| (Vec::new(), Vec::new()));
                slot.0 = next;
                slot.1.push(compiled.label.clone());
            }
        }
        let mut edits = Vec::new();
        for (path, (content, origins)) in changed {
            edits.push(Edit {
                path: RepoPath::parse(&path)?,
                want: Want::Content(content),
                origin: origins.join(", "),
            });
        }
        let mut changes = Changes { edits, ..Changes::default() };
        if !lists.is_empty() {
            changes.lists.insert("changes".into(), lists);
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ReplaceEntry;

    fn entry(pattern: &str, replacement: &str, literal: bool, max: usize) -> ReplaceEntry {
        let s = |v: &str| toml::Spanned::new(0..0, v.to_string());
        ReplaceEntry {
            files: vec![s("**/*.rs")],
            pattern: s(pattern),
            replacement: s(replacement),
            literal,
            max_per_file: max,
            repos: vec![s("*")],
        }
    }

    #[test]
    fn captures_expand_and_crlf_is_kept() {
        let c = Compiled::new(&entry(r"old_(\w+)\(", "new_${1}(", false, 0)).unwrap();
        let (out, n) = c.apply(b"fn a() {\r\n    old_call(1);\r\n    old_x(2);\r\n}\r\n");
        assert_eq!(n, 2);
        assert_eq!(out, b"fn a() {\r\n    new_call(1);\r\n    new_x(2);\r\n}\r\n");
    }

    #[test]
    fn literal_mode_takes_the_pattern_and_replacement_as_written() {
        let c = Compiled::new(&entry("a.b($1)", "$2", true, 0)).unwrap();
        let (out, n) = c.apply(b"a.b($1) axb($1)");
        assert_eq!((out.as_slice(), n), (&b"$2 axb($1)"[..], 1));
    }

    #[test]
    fn max_per_file_stops_after_the_first_matches() {
        let c = Compiled::new(&entry("x", "y", false, 2)).unwrap();
        assert_eq!(c.apply(b"xxxx"), (b"yyxx".to_vec(), 2));
    }

    #[test]
    fn binary_is_git_s_nul_test() {
        assert!(is_binary(b"PNG\0\x01"));
        assert!(!is_binary("caf\u{e9} \r\n".as_bytes()));
    }

    #[test]
    fn a_bad_pattern_or_glob_names_its_key() {
        assert!(Compiled::new(&entry("(", "", false, 0)).err().unwrap().starts_with("`pattern`:"));
        let mut e = entry("x", "y", false, 0);
        e.files = vec![toml::Spanned::new(0..0, "a/{b".to_string())];
        assert!(Compiled::new(&e).err().unwrap().starts_with("`files` glob `a/{b`"));
    }
}
