//! `convoy grep PATTERN`: search the selected repositories' default branches in the clone cache,
//! with no checkout: each snapshot's tree is walked and its blobs searched with the `regex`
//! crate (as bytes), in parallel (`--jobs`). Fetches first unless `--offline`.
//!
//! - Binary files (a NUL byte in the first 8,000 bytes, git's test), symbolic links and
//!   submodules are skipped.
//! - `--glob` (repeatable, `globset` syntax): a glob with a `/` is matched against the path from
//!   the repository root (`*` stays within a folder, `**` crosses folders), one without against
//!   the file name in any folder (`*.rs`); `!glob` excludes. Without a positive glob every file
//!   is searched.
//! - Output as `git grep` prints it, with the repository first: `owner/name:path:line:text`;
//!   `-l` prints `owner/name:path` once per matching file. `--json`: the versioned envelope with
//!   one result per match (`repo`, `path`, `line`, `text`), or per file with `-l`.
//!
//! Exit 0 when something matched, 1 when nothing did or a repository could not be read (as
//! `git grep`: 1 for no match), 2 for a bad pattern or glob.

use clap::Args;
use serde::Serialize;

use super::{Cli, Failure, SelectArgs, fetch, open_reading};
use crate::report;
use crate::workspace::{Depth, EntryKind};

#[derive(Debug, Args)]
pub struct GrepArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// A regular expression (the `regex` crate's syntax), matched line by line.
    pub pattern: String,
    /// Only files matching this glob (`*.rs`: any folder; `src/**/*.rs`: from the root);
    /// `!glob` excludes. Repeatable.
    #[arg(short, long = "glob", value_name = "GLOB")]
    pub globs: Vec<String>,
    /// Case-insensitive.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Only the names of matching files (`owner/name:path`).
    #[arg(short = 'l', long = "files-with-matches")]
    pub files_only: bool,
    /// Use the cache as it is instead of fetching first; on GitHub, also the org's listing the
    /// last online run saved, so nothing goes over the network (docs/cli.md#the-clone-cache).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Serialize)]
struct Match {
    repo: String,
    path: String,
    /// 1-based; absent with `-l`.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// The `--glob` filter.
struct Globs {
    paths: globset::GlobSet,
    names: globset::GlobSet,
    not_paths: globset::GlobSet,
    not_names: globset::GlobSet,
    any_positive: bool,
}

impl Globs {
    fn new(globs: &[String]) -> Result<Globs, String> {
        let mut sets: [globset::GlobSetBuilder; 4] = std::array::from_fn(|_| globset::GlobSetBuilder::new());
        let mut any_positive = false;
        for g in globs {
            let (negated, text) = match g.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, g.as_str()),
            };
            any_positive |= !negated;
            let glob = globset::GlobBuilder::new(text)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("--glob `{g}`: {e}"))?;
            let slot = usize::from(negated) * 2 + usize::from(!text.contains('/'));
            sets[slot].add(glob);
        }
        let [paths, names, not_paths, not_names] = sets.map(|b| b.build());
        let err = |e: globset::Error| format!("--glob: {e}");
        Ok(Globs {
            paths: paths.map_err(err)?,
            names: names.map_err(err)?,
            not_paths: not_paths.map_err(err)?,
            not_names: not_names.map_err(err)?,
            any_positive,
        })
    }

    fn matches(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        if self.not_paths.is_match(path) || self.not_names.is_match(name) {
            return false;
        }
        !self.any_positive || self.paths.is_match(path) || self.names.is_match(name)
    }
}

/// git's test for a binary file (`buffer_is_binary`, as `transform::replace::is_binary`): a NUL
/// byte in the first 8,000 bytes; with `memchr`, the hot path of a search over many files.
fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8000)]).is_some()
}

/// The matching lines of one file's bytes: (1-based line, line text without its end of line).
/// The regular expression runs over the whole file (`^` and `$` at line ends, CRLF included)
/// and each match is widened to its line, so a file without a match costs one scan; a line with
/// several matches is reported once. With `files_only`, one entry at the first match.
fn search(regex: &regex::bytes::Regex, bytes: &[u8], files_only: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let (mut line, mut counted_to, mut next_line) = (1, 0, 0);
    for m in regex.find_iter(bytes) {
        if m.start() < next_line {
            continue;
        }
        if files_only {
            return vec![(0, String::new())];
        }
        let start = memchr::memrchr(b'\n', &bytes[..m.start()]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &bytes[m.start()..]).map_or(bytes.len(), |i| m.start() + i);
        line += memchr::memchr_iter(b'\n', &bytes[counted_to..start]).count();
        counted_to = start;
        let text = &bytes[start..end];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        out.push((line, String::from_utf8_lossy(text).into_owned()));
        next_line = end + 1;
    }
    out
}

pub async fn grep(cli: &Cli, args: &GrepArgs) -> Result<bool, Failure> {
    let regex = regex::bytes::RegexBuilder::new(&args.pattern)
        .case_insensitive(args.ignore_case)
        .multi_line(true)
        .crlf(true)
        .size_limit(10 << 20)
        .build()
        .map_err(|e| Failure::usage(format!("invalid pattern: {e}")))?;
    let globs = Globs::new(&args.globs).map_err(Failure::usage)?;
    let session = open_reading(cli, &args.select, Depth::Keep, args.offline).await?;
    let fetched = if args.offline { Vec::new() } else { fetch(cli, &session).await? };
    let fetch_failed: std::collections::BTreeMap<String, String> =
        fetched.iter().filter_map(|r| r.result.as_ref().err().map(|e| (r.repo.full_name(), e.clone()))).collect();
    let per_repo = tokio::task::block_in_place(|| {
        crate::parallel::map(session.targets(), session.options.jobs, |t| -> Result<Vec<Match>, String> {
            let repo = t.repo.id.full_name();
            if let Some(e) = fetch_failed.get(&repo) {
                return Err(e.clone());
            }
            let snapshot = session.cache.snapshot(&t.repo).map_err(|e| e.to_string())?;
            let mut matches = Vec::new();
            for path in snapshot.paths() {
                if !matches!(snapshot.kind(path), Some(EntryKind::File | EntryKind::Executable)) || !globs.matches(path)
                {
                    continue;
                }
                let bytes = snapshot.read(path)?.unwrap_or_default();
                if is_binary(&bytes) {
                    continue;
                }
                for (line, text) in search(&regex, &bytes, args.files_only) {
                    let (line, text) = if args.files_only { (None, None) } else { (Some(line), Some(text)) };
                    matches.push(Match { repo: repo.clone(), path: path.to_string(), line, text });
                }
            }
            Ok(matches)
        })
    });
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut repos_matched = 0;
    for (t, r) in session.targets().iter().zip(per_repo) {
        match r.and_then(|r| r) {
            Ok(m) => {
                repos_matched += usize::from(!m.is_empty());
                results.extend(m);
            }
            Err(e) => errors.push(report::ErrorItem::repo(t.repo.id.full_name(), e)),
        }
    }
    let ok = !results.is_empty() && errors.is_empty();
    if cli.json {
        let mut env = report::Envelope::new("grep")
            .count("repos", session.targets().len())
            .count("repos_matched", repos_matched)
            .count("matches", results.len())
            .count("errors", errors.len())
            .results(&results)
            .skipped(&session.selection.skipped);
        env.errors = errors;
        super::print_json(cli, session.forge.api_usage(), env);
    } else {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for m in &results {
            let written = match (&m.line, &m.text) {
                (Some(line), Some(text)) => writeln!(out, "{}:{}:{line}:{text}", m.repo, m.path),
                _ => writeln!(out, "{}:{}", m.repo, m.path),
            };
            if written.is_err() {
                break; // a closed pipe (`| head`)
            }
        }
        let _ = out.flush();
        for e in &errors {
            eprintln!("error: {}: {}", e.repo.as_deref().unwrap_or_default(), e.message);
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_without_a_slash_match_names_in_any_folder() {
        let g = Globs::new(&["*.rs".into(), "!**/gen/*.rs".into()]).unwrap();
        assert!(g.matches("src/lib.rs") && g.matches("main.rs"));
        assert!(!g.matches("src/gen/x.rs") && !g.matches("README.md"));
        let g = Globs::new(&["src/*.rs".into()]).unwrap();
        assert!(g.matches("src/lib.rs") && !g.matches("src/a/lib.rs") && !g.matches("lib.rs"));
        assert!(Globs::new(&[]).unwrap().matches("anything"));
        assert!(Globs::new(&["a/{b".into()]).is_err());
    }

    #[test]
    fn lines_are_numbered_from_one_and_lose_their_crlf() {
        let re = regex::bytes::Regex::new("fo+").unwrap();
        assert_eq!(search(&re, b"a\r\nfoo\r\nb\nfo\n", false), [(2, "foo".into()), (4, "fo".into())]);
        assert_eq!(search(&re, b"x", false), []);
        assert_eq!(search(&re, b"foo foo\nfoo", false), [(1, "foo foo".into()), (2, "foo".into())]);
        assert_eq!(search(&re, b"a\nfoo foo", true).len(), 1);
        let end = regex::bytes::RegexBuilder::new("o$").multi_line(true).crlf(true).build().unwrap();
        assert_eq!(search(&end, b"fo\r\nx\n", false), [(1, "fo".into())]);
    }
}
