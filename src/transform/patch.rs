//! `[[patch]]` entries: partial edits of structured files, the rest of each file kept byte for
//! byte (comments, key order, quoting, indentation, line endings).
//!
//! Each entry selects files with `files` globs (`globset`, as `[[replace]]`) in the repositories
//! `repos` selects, one format (`yaml`, `json`, `toml`, `lines`) and `[[patch.op]]`s, applied in
//! order:
//!
//! - `set = PATH, value = V`: the key path gets `V` (a TOML value, written in the file's format);
//!   missing mappings on the way are created, a missing index is an error.
//! - `remove = PATH`: the key (or sequence item) goes, if it is there.
//! - `append = PATH, value = V`: `V` is added at the end of the sequence at `PATH` unless an
//!   equal item is there ("ensure present"); a missing (or empty `key:`) sequence is created.
//! - `ensure_line = L` (`lines`): `L` is appended unless a line equal to it is there; the new
//!   line ends like the file's lines (CRLF when the file uses CRLF), and a file without a final
//!   newline still has none after it.
//! - `remove_line = L` (`lines`): every line equal to `L` goes (a line's `\r` is not part of it).
//!
//! Key paths: keys separated by `.`, `[N]` for the N-th item of a sequence (from 0), and
//! `"..."` for a key with `.`, `[`, `]`, `"` or blanks in it (`\"` and `\\` escaped):
//! `updates[0].schedule.interval`, `jobs.build.steps[0].with`, `dependencies."@scope/pkg"`.
//!
//! Every edit is checked by meaning: the file is parsed again after it and must equal the file
//! before it with the operation applied (and nothing else); an operation that would change
//! nothing is not made, so applying a patch twice is a no-op. What cannot be done while keeping
//! the format (a flow-style `{...}` YAML mapping to extend, an anchor, a block scalar to read
//! into) leaves that file unchanged with a note for a person. A file that does not parse is the
//! repository's error, naming the file; other repositories go on.
//!
//! Libraries: TOML through `toml_edit` (format-preserving document model). JSON through
//! `jsonc-parser`'s CST (dprint's; keeps comments, whitespace and trailing commas, and indents
//! what it inserts like its neighbours). YAML by splicing text at the positions of `saphyr`, the
//! parser the workflow rules use, so both read a file the same way: the lossless YAML editors
//! available (`yaml-edit`) are young and list known failures on CRLF files in their own test
//! suites, while the splicing here only ever touches the lines of the changed entry and is
//! verified by reparsing, so a mistake becomes a note, never a changed meaning.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{Changes, Producer, RepoInput};
use crate::change::{Edit, Want};
use crate::manifest::{PatchEntry, PatchFormat, PatchOp};
use crate::workspace::EntryKind;
use crate::workspace::paths::RepoPath;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Show a key path as written (for messages).
pub fn show_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if k.is_empty() || k.chars().any(|c| matches!(c, '.' | '[' | ']' | '"') || c.is_whitespace()) {
                    out.push_str(&format!("{k:?}"));
                } else {
                    out.push_str(k);
                }
            }
        }
    }
    out
}

/// Parse a key path (`a.b[0]."c.d"`); the error says what is wrong where.
pub fn parse_path(raw: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    let mut expect_key = true;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']').map(|p| i + p);
                let Some(close) = close else { return Err(format!("`{raw}`: `[` without `]`")) };
                let digits: String = chars[i + 1..close].iter().collect();
                let n = digits
                    .parse::<usize>()
                    .map_err(|_| format!("`{raw}`: `[{digits}]` is not an index (a number from 0)"))?;
                segs.push(Seg::Index(n));
                i = close + 1;
                expect_key = false;
            }
            '.' if !expect_key => {
                i += 1;
                expect_key = true;
                if i == chars.len() {
                    return Err(format!("`{raw}`: ends with `.`"));
                }
            }
            '"' if expect_key => {
                let mut key = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("`{raw}`: unclosed `\"`")),
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some(c @ ('"' | '\\')) => key.push(*c),
                                _ => {
                                    return Err(format!("`{raw}`: only `\\\"` and `\\\\` are escapes in a quoted key"));
                                }
                            }
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            key.push(*c);
                            i += 1;
                        }
                    }
                }
                segs.push(Seg::Key(key));
                expect_key = false;
            }
            _ if expect_key => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[' | ']' | '"') && !chars[i].is_whitespace() {
                    i += 1;
                }
                if i == start {
                    return Err(format!("`{raw}`: a key is missing at character {}", start + 1));
                }
                segs.push(Seg::Key(chars[start..i].iter().collect()));
                expect_key = false;
            }
            c => return Err(format!("`{raw}`: unexpected `{c}` at character {} (quote keys with `\"`)", i + 1)),
        }
    }
    if segs.is_empty() {
        return Err("the key path is empty".into());
    }
    Ok(segs)
}

/// One operation, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Set(Vec<Seg>, toml::Value),
    Remove(Vec<Seg>),
    Append(Vec<Seg>, toml::Value),
    EnsureLine(String),
    RemoveLine(String),
}

impl Op {
    /// Check one `[[patch.op]]`: exactly one operation, `value` where it belongs, a path that
    /// parses. The error is for the op's table.
    pub fn new(op: &PatchOp) -> Result<Op, String> {
        let given: Vec<&str> = [
            ("set", op.set.is_some()),
            ("remove", op.remove.is_some()),
            ("append", op.append.is_some()),
            ("ensure_line", op.ensure_line.is_some()),
            ("remove_line", op.remove_line.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        if given.len() != 1 {
            return Err(if given.is_empty() {
                "an op needs one of `set`, `remove`, `append`, `ensure_line`, `remove_line`".into()
            } else {
                format!("an op does one thing; this one has {}", given.join(", "))
            });
        }
        let needs_value = op.set.is_some() || op.append.is_some();
        match (&op.value, needs_value) {
            (None, true) => return Err(format!("`{}` needs a `value`", given[0])),
            (Some(_), false) => return Err(format!("`{}` takes no `value`", given[0])),
            (Some(v), true) => check_value(v)?,
            _ => {}
        }
        let path =
            |p: &serde_spanned::Spanned<String>| parse_path(p.get_ref()).map_err(|e| format!("bad key path {e}"));
        let value = || op.value.clone().unwrap_or(toml::Value::Boolean(false));
        Ok(if let Some(p) = &op.set {
            Op::Set(path(p)?, value())
        } else if let Some(p) = &op.remove {
            Op::Remove(path(p)?)
        } else if let Some(p) = &op.append {
            Op::Append(path(p)?, value())
        } else if let Some(l) = &op.ensure_line {
            Op::EnsureLine(check_line(l.get_ref())?)
        } else if let Some(l) = &op.remove_line {
            Op::RemoveLine(check_line(l.get_ref())?)
        } else {
            return Err("an op needs an operation".into());
        })
    }

    fn is_line_op(&self) -> bool {
        matches!(self, Op::EnsureLine(_) | Op::RemoveLine(_))
    }

    fn describe(&self) -> String {
        match self {
            Op::Set(p, _) => format!("set {}", show_path(p)),
            Op::Remove(p) => format!("remove {}", show_path(p)),
            Op::Append(p, _) => format!("append to {}", show_path(p)),
            Op::EnsureLine(l) => format!("ensure line `{l}`"),
            Op::RemoveLine(l) => format!("remove line `{l}`"),
        }
    }
}

fn check_line(line: &str) -> Result<String, String> {
    if line.contains(['\n', '\r']) {
        return Err("a line cannot hold a line break; give one op per line".into());
    }
    Ok(line.to_string())
}

/// Values every format can hold: no NaN or infinity (JSON has none), no dates (YAML and JSON
/// would read them as strings; write them as strings).
fn check_value(v: &toml::Value) -> Result<(), String> {
    match v {
        toml::Value::Float(f) if !f.is_finite() => Err("`value`: NaN and infinite numbers are refused".into()),
        toml::Value::Datetime(_) => Err("`value`: write dates as strings".into()),
        toml::Value::Array(a) => a.iter().try_for_each(check_value),
        toml::Value::Table(t) => t.values().try_for_each(check_value),
        _ => Ok(()),
    }
}

/// One `[[patch]]`, compiled.
pub struct Compiled {
    files: globset::GlobSet,
    pub format: PatchFormat,
    ops: Vec<Op>,
}

/// What is wrong with an entry, and which key of it (for the manifest's line and column).
#[derive(Debug)]
pub enum EntryError {
    Files(String),
    Format(String),
    /// The op at this index.
    Op(usize, String),
}

impl Compiled {
    pub fn new(entry: &PatchEntry) -> Result<Compiled, EntryError> {
        if entry.files.is_empty() {
            return Err(EntryError::Files("a [[patch]] needs `files`".into()));
        }
        let mut set = globset::GlobSetBuilder::new();
        for g in &entry.files {
            let glob = globset::GlobBuilder::new(g.get_ref())
                .literal_separator(true)
                .build()
                .map_err(|e| EntryError::Files(format!("`files` glob `{}`: {e}", g.get_ref())))?;
            set.add(glob);
        }
        let files = set.build().map_err(|e| EntryError::Files(format!("`files`: {e}")))?;
        if entry.ops.is_empty() {
            return Err(EntryError::Files("a [[patch]] needs at least one [[patch.op]]".into()));
        }
        let ops = entry
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| Op::new(op.get_ref()).map_err(|e| EntryError::Op(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let format = match &entry.format {
            Some(f) => *f.get_ref(),
            None if ops.iter().all(Op::is_line_op) => PatchFormat::Lines,
            None => infer_format(entry).map_err(EntryError::Format)?,
        };
        for (i, op) in ops.iter().enumerate() {
            if op.is_line_op() != (format == PatchFormat::Lines) {
                let what = if op.is_line_op() {
                    "a line op needs format = \"lines\""
                } else {
                    "`lines` files take `ensure_line` and `remove_line`, not key paths"
                };
                return Err(EntryError::Op(i, what.into()));
            }
        }
        Ok(Compiled { files, format, ops })
    }

    /// `text` with every op applied, and what changed; `Ok(None)` when nothing changes.
    pub fn apply(&self, text: &[u8]) -> Result<Option<Patched>, PatchError> {
        if self.format == PatchFormat::Lines {
            let mut current = text.to_vec();
            let mut done = Vec::new();
            for op in &self.ops {
                if let Some(next) = lines(&current, op) {
                    current = next;
                    done.push(op.describe());
                }
            }
            return Ok((!done.is_empty()).then_some((current, done)));
        }
        let mut current =
            std::str::from_utf8(text).map_err(|e| PatchError::Parse(format!("not UTF-8 text: {e}")))?.to_string();
        let mut done = Vec::new();
        for op in &self.ops {
            let before = meaning(self.format, &current).map_err(PatchError::Parse)?;
            let expected = expect(&before, op).map_err(|e| PatchError::Cannot(format!("{}: {e}", op.describe())))?;
            if expected == before {
                continue;
            }
            let next = match self.format {
                PatchFormat::Yaml => yaml::apply(&current, op),
                PatchFormat::Json => json::apply(&current, op),
                PatchFormat::Toml => toml_file::apply(&current, op),
                PatchFormat::Lines => unreachable_lines(),
            }
            .map_err(|e| PatchError::Cannot(format!("{}: {e}", op.describe())))?;
            // The check by meaning: the edited file must read as the old one with the op applied.
            match meaning(self.format, &next) {
                Ok(after) if after == expected => {}
                _ => {
                    return Err(PatchError::Cannot(format!(
                        "{}: convoy cannot make this change while keeping the file's format",
                        op.describe()
                    )));
                }
            }
            current = next;
            done.push(op.describe());
        }
        Ok((!done.is_empty()).then_some((current.into_bytes(), done)))
    }
}

fn unreachable_lines() -> Result<String, String> {
    Err("line ops are applied as bytes".into())
}

/// A patched file and what was done to it.
pub type Patched = (Vec<u8>, Vec<String>);

/// Why a file was not patched.
#[derive(Debug, PartialEq)]
pub enum PatchError {
    /// The file does not parse: the repository's error.
    Parse(String),
    /// This change cannot be made keeping the format: a note, the file left as it is.
    Cannot(String),
}

fn infer_format(entry: &PatchEntry) -> Result<PatchFormat, String> {
    let mut found = None;
    for g in &entry.files {
        let glob = g.get_ref();
        let f = if glob.ends_with(".yml") || glob.ends_with(".yaml") {
            PatchFormat::Yaml
        } else if glob.ends_with(".json") {
            PatchFormat::Json
        } else if glob.ends_with(".toml") {
            PatchFormat::Toml
        } else {
            return Err(format!(
                "cannot tell the format of `{glob}` from its extension; add format = \"yaml\", \"json\", \"toml\" or \"lines\""
            ));
        };
        if found.is_some_and(|x| x != f) {
            return Err("`files` mixes formats; give one [[patch]] per format".into());
        }
        found = Some(f);
    }
    found.ok_or_else(|| "a [[patch]] needs `files`".into())
}

/// The meaning of a file: its data as JSON values (YAML's first document, anchors expanded).
fn meaning(format: PatchFormat, text: &str) -> Result<Json, String> {
    match format {
        PatchFormat::Yaml => yaml::meaning(text),
        PatchFormat::Json => json::meaning(text),
        PatchFormat::Toml => {
            let v: toml::Table = toml::from_str(text).map_err(|e| e.message().trim_end().to_string())?;
            Ok(to_json(&toml::Value::Table(v)))
        }
        PatchFormat::Lines => Ok(Json::Null),
    }
}

/// A manifest value as JSON.
pub fn to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// `before` with `op` applied: what the edited file must mean.
fn expect(before: &Json, op: &Op) -> Result<Json, String> {
    let mut out = before.clone();
    match op {
        Op::Set(path, v) => *slot(&mut out, path, true)?.ok_or("the path cannot be created")? = to_json(v),
        Op::Remove(path) => {
            let (last, parent) = path.split_last().ok_or("empty path")?;
            if let Some(p) = slot(&mut out, parent, false)? {
                match (p, last) {
                    (Json::Object(m), Seg::Key(k)) => {
                        m.remove(k);
                    }
                    (Json::Array(a), Seg::Index(i)) if *i < a.len() => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        Op::Append(path, v) => {
            let item = to_json(v);
            let s = slot(&mut out, path, true)?.ok_or("the path cannot be created")?;
            match s {
                Json::Null => *s = Json::Array(vec![item]),
                Json::Array(a) => {
                    if !a.contains(&item) {
                        a.push(item);
                    }
                }
                other => return Err(format!("`{}` is {}, not a sequence", show_path(path), kind(other))),
            }
        }
        Op::EnsureLine(_) | Op::RemoveLine(_) => {}
    }
    Ok(out)
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a sequence",
        Json::Object(_) => "a mapping",
    }
}

/// The value at `path`; with `create`, missing keys are created (as null, mappings on the way).
fn slot<'v>(root: &'v mut Json, path: &[Seg], create: bool) -> Result<Option<&'v mut Json>, String> {
    let mut node = root;
    for (i, seg) in path.iter().enumerate() {
        let here = show_path(&path[..i]);
        let here = if here.is_empty() { "the document".to_string() } else { format!("`{here}`") };
        if create && node.is_null() && matches!(seg, Seg::Key(_)) {
            *node = Json::Object(serde_json::Map::new());
        }
        node = match (node, seg) {
            (Json::Object(m), Seg::Key(k)) => {
                if !m.contains_key(k) {
                    if !create {
                        return Ok(None);
                    }
                    m.insert(k.clone(), Json::Null);
                }
                m.get_mut(k).ok_or("lost key")?
            }
            (Json::Array(a), Seg::Index(n)) => {
                let len = a.len();
                match a.get_mut(*n) {
                    Some(v) => v,
                    None if create => return Err(format!("{here} has {len} items, no [{n}]")),
                    None => return Ok(None),
                }
            }
            (other, Seg::Key(_)) => return Err(format!("{here} is {}, not a mapping", kind(other))),
            (other, Seg::Index(_)) => return Err(format!("{here} is {}, not a sequence", kind(other))),
        };
    }
    Ok(Some(node))
}

/// A line op on bytes; `None` when it changes nothing.
fn lines(text: &[u8], op: &Op) -> Option<Vec<u8>> {
    let strip = |l: &[u8]| -> Vec<u8> { l.strip_suffix(b"\r").unwrap_or(l).to_vec() };
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    match op {
        Op::EnsureLine(line) => {
            if !text.is_empty() && body.split(|b| *b == b'\n').any(|l| strip(l) == line.as_bytes()) {
                return None;
            }
            let crlf = text.windows(2).any(|w| w == b"\r\n");
            let nl: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut out = text.to_vec();
            if text.is_empty() || text.ends_with(b"\n") {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(nl);
            } else {
                // No final newline before: none after either.
                out.extend_from_slice(nl);
                out.extend_from_slice(line.as_bytes());
            }
            Some(out)
        }
        Op::RemoveLine(line) => {
            let mut out = Vec::with_capacity(text.len());
            let mut removed = false;
            for piece in text.split_inclusive(|b| *b == b'\n') {
                let content = piece.strip_suffix(b"\n").unwrap_or(piece);
                if strip(content) == line.as_bytes() {
                    removed = true;
                } else {
                    out.extend_from_slice(piece);
                }
            }
            removed.then_some(out)
        }
        _ => None,
    }
}

pub struct Patch;

impl Producer for Patch {
    fn name(&self) -> &str {
        "patch"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let owner = &input.manifest.model.org.name;
        let mut changed: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut lists = Vec::new();
        let mut notes = Vec::new();
        for (n, entry) in input.manifest.model.patches.iter().enumerate() {
            if !input.selection.applies(&entry.repos, owner, input.target) {
                continue;
            }
            // Checked when the manifest was loaded.
            let compiled = Compiled::new(entry).map_err(|e| format!("[[patch]] #{}: {e:?}", n + 1))?;
            let paths: Vec<String> = input
                .snapshot
                .paths()
                .filter(|p| matches!(input.snapshot.kind(p), Some(EntryKind::File | EntryKind::Executable)))
                .filter(|p| compiled.files.is_match(p))
                .map(str::to_string)
                .collect();
            for path in paths {
                let current = match changed.get(&path) {
                    Some(bytes) => bytes.clone(),
                    None => input.snapshot.read(&path)?.unwrap_or_default(),
                };
                if crate::workspace::paths::MAX_INPUT_FILE < current.len() as u64 {
                    return Err(format!(
                        "{path}: larger than {} bytes, not patched",
                        crate::workspace::paths::MAX_INPUT_FILE
                    ));
                }
                match compiled.apply(&current) {
                    Ok(None) => {}
                    Ok(Some((next, done))) => {
                        lists.push(format!("{path}: {}", done.join(", ")));
                        changed.insert(path, next);
                    }
                    Err(PatchError::Parse(e)) => {
                        let format = format_name(compiled.format);
                        return Err(format!("[[patch]]: {path} does not parse as {format}: {e}"));
                    }
                    Err(PatchError::Cannot(e)) => notes.push(format!("[[patch]] {path}: {e}; left as it is")),
                }
            }
        }
        let mut edits = Vec::new();
        for (path, content) in changed {
            edits.push(Edit {
                path: RepoPath::parse(&path)?,
                want: Want::Content(content),
                origin: format!("[[patch]] {path}"),
            });
        }
        let mut changes = Changes { edits, notes, ..Changes::default() };
        if !lists.is_empty() {
            changes.lists.insert("changes".into(), lists);
        }
        Ok(changes)
    }
}

fn format_name(f: PatchFormat) -> &'static str {
    match f {
        PatchFormat::Yaml => "YAML",
        PatchFormat::Json => "JSON",
        PatchFormat::Toml => "TOML",
        PatchFormat::Lines => "lines",
    }
}

/// Line endings of a file: CRLF when it has any.
fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

mod json {
    //! JSON through `jsonc-parser`'s CST.

    use jsonc_parser::ParseOptions;
    use jsonc_parser::cst::{CstInputValue, CstNode, CstRootNode};

    use super::{Json, Op, Seg, show_path};

    fn options() -> ParseOptions {
        // Comments and trailing commas (JSONC: tsconfig, renovate.json5-like files) are kept;
        // nothing looser, so a broken file is an error rather than a guess.
        ParseOptions {
            allow_comments: true,
            allow_trailing_commas: true,
            allow_loose_object_property_names: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        }
    }

    pub fn meaning(text: &str) -> Result<Json, String> {
        let root = CstRootNode::parse(text, &options()).map_err(|e| e.to_string())?;
        Ok(root.to_serde_value().unwrap_or(Json::Null))
    }

    fn input(v: &toml::Value) -> CstInputValue {
        match v {
            toml::Value::String(s) => CstInputValue::String(s.clone()),
            toml::Value::Integer(i) => CstInputValue::Number(i.to_string()),
            toml::Value::Float(f) => CstInputValue::Number(super::to_json(&toml::Value::Float(*f)).to_string()),
            toml::Value::Boolean(b) => CstInputValue::Bool(*b),
            toml::Value::Datetime(d) => CstInputValue::String(d.to_string()),
            toml::Value::Array(a) => CstInputValue::Array(a.iter().map(input).collect()),
            toml::Value::Table(t) => CstInputValue::Object(t.iter().map(|(k, v)| (k.clone(), input(v))).collect()),
        }
    }

    /// The value `v` under the keys `rest` (for keys that do not exist yet).
    fn nested(rest: &[Seg], v: CstInputValue) -> Result<CstInputValue, String> {
        let mut out = v;
        for seg in rest.iter().rev() {
            match seg {
                Seg::Key(k) => out = CstInputValue::Object(vec![(k.clone(), out)]),
                Seg::Index(_) => return Err("an index that does not exist".into()),
            }
        }
        Ok(out)
    }

    /// The value node of a property or an element.
    fn child(node: &CstNode, seg: &Seg) -> Option<CstNode> {
        match seg {
            Seg::Key(k) => node.as_object()?.get(k)?.value(),
            Seg::Index(i) => node.as_array()?.elements().get(*i).cloned(),
        }
    }

    pub fn apply(text: &str, op: &Op) -> Result<String, String> {
        let root = CstRootNode::parse(text, &options()).map_err(|e| e.to_string())?;
        let (path, value) = match op {
            Op::Set(p, v) | Op::Append(p, v) => (p, Some(v)),
            Op::Remove(p) => (p, None),
            _ => return Err("not a JSON op".into()),
        };
        let Some(mut node) = root.value() else { return Err("the file has no value".into()) };
        // Walk as far as the path exists.
        let mut depth = 0;
        while depth < path.len() {
            match child(&node, &path[depth]) {
                Some(next) => {
                    node = next;
                    depth += 1;
                }
                None => break,
            }
        }
        let append = matches!(op, Op::Append(..));
        match (op, depth == path.len()) {
            (Op::Remove(_), true) => {
                if let Some(prop) = node.parent().and_then(|p| p.as_object_prop()) {
                    prop.remove();
                } else {
                    node.remove();
                }
            }
            (Op::Remove(_), false) => {}
            (_, true) if append && node.as_array().is_some() => {
                let v = value.ok_or("no value")?;
                node.as_array().ok_or("not an array")?.append(input(v));
            }
            (_, true) => {
                let v = value.ok_or("no value")?;
                let new = if append { CstInputValue::Array(vec![input(v)]) } else { input(v) };
                let parent = node.parent();
                if let Some(prop) = parent.as_ref().and_then(|p| p.as_object_prop()) {
                    prop.set_value(new);
                } else if let Some(array) = parent.as_ref().and_then(|p| p.as_array()) {
                    let index = node.element_index().ok_or("the item has no index")?;
                    node.remove();
                    array.insert(index, new);
                } else {
                    root.set_value(new);
                }
            }
            (_, false) => {
                let v = value.ok_or("no value")?;
                let v = if append { CstInputValue::Array(vec![input(v)]) } else { input(v) };
                let Some(Seg::Key(k)) = path.get(depth) else {
                    return Err(format!("`{}` does not exist", show_path(&path[..=depth])));
                };
                let obj =
                    node.as_object().ok_or_else(|| format!("`{}` is not an object", show_path(&path[..depth])))?;
                obj.append(k, nested(&path[depth + 1..], v)?);
            }
        }
        Ok(root.to_string())
    }
}

mod toml_file {
    //! TOML through `toml_edit`. Key paths start and end with a key; `[N]` steps into an array
    //! of tables (`[[bin]]`) or an inline table in an array.

    use toml_edit::{DocumentMut, Item, TableLike, Value};

    use super::{Op, Seg};

    fn value(v: &toml::Value) -> Value {
        match v {
            toml::Value::String(s) => Value::from(s.as_str()),
            toml::Value::Integer(i) => Value::from(*i),
            toml::Value::Float(f) => Value::from(*f),
            toml::Value::Boolean(b) => Value::from(*b),
            toml::Value::Datetime(d) => Value::from(d.to_string()),
            toml::Value::Array(a) => Value::Array(a.iter().map(value).collect()),
            toml::Value::Table(t) => Value::InlineTable(t.iter().map(|(k, v)| (k.as_str(), value(v))).collect()),
        }
    }

    pub fn apply(text: &str, op: &Op) -> Result<String, String> {
        let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
        let (path, v) = match op {
            Op::Set(p, v) | Op::Append(p, v) => (p, Some(v)),
            Op::Remove(p) => (p, None),
            _ => return Err("not a TOML op".into()),
        };
        walk(doc.as_table_mut(), false, path, op, v)?;
        Ok(doc.to_string())
    }

    const SHAPE: &str = "a TOML key path starts and ends with a key (`[N]` only after an array)";

    /// Down `path` from table `t` (`inline`: an inline table, where new tables are inline too).
    fn walk(t: &mut dyn TableLike, inline: bool, path: &[Seg], op: &Op, v: Option<&toml::Value>) -> Result<(), String> {
        let Some((Seg::Key(k), rest)) = path.split_first() else { return Err(SHAPE.into()) };
        if rest.is_empty() {
            return finish(t, k, op, v);
        }
        if t.get(k).is_none() {
            if v.is_none() {
                return Ok(()); // removing under a key that is not there
            }
            let new = if inline {
                Item::Value(Value::InlineTable(toml_edit::InlineTable::new()))
            } else {
                let mut table = toml_edit::Table::new();
                table.set_implicit(true);
                Item::Table(table)
            };
            t.insert(k, new);
        }
        let item = t.get_mut(k).ok_or("the key went missing")?;
        let (next, inline, rest): (&mut dyn TableLike, bool, &[Seg]) = match (item, rest.first()) {
            (Item::ArrayOfTables(a), Some(Seg::Index(n))) => {
                (a.get_mut(*n).ok_or(format!("the array has no [{n}]"))?, false, &rest[1..])
            }
            (Item::Value(Value::Array(a)), Some(Seg::Index(n))) => {
                let t = a.get_mut(*n).and_then(Value::as_inline_table_mut);
                (t.ok_or(format!("[{n}] is not an inline table in the array"))?, true, &rest[1..])
            }
            (Item::Value(Value::InlineTable(t)), _) => (t, true, rest),
            (item, _) => (item.as_table_like_mut().ok_or("not a table")?, false, rest),
        };
        if rest.is_empty() {
            return Err(SHAPE.into());
        }
        walk(next, inline, rest, op, v)
    }

    fn finish(t: &mut dyn TableLike, k: &str, op: &Op, v: Option<&toml::Value>) -> Result<(), String> {
        match op {
            Op::Remove(_) => {
                t.remove(k);
            }
            Op::Set(..) => {
                let mut new = value(v.ok_or("no value")?);
                match t.get_mut(k) {
                    // In place: the key keeps its position, its comments and its spacing.
                    Some(Item::Value(old)) => {
                        *new.decor_mut() = old.decor().clone();
                        *old = new;
                    }
                    Some(slot) => *slot = Item::Value(new),
                    None => {
                        t.insert(k, Item::Value(new));
                    }
                }
            }
            Op::Append(..) => {
                let item = value(v.ok_or("no value")?);
                match t.get_mut(k) {
                    None => {
                        t.insert(k, Item::Value(Value::Array([item].into_iter().collect())));
                    }
                    Some(Item::Value(Value::Array(a))) => a.push_formatted(decorated_like(a, item)),
                    Some(Item::ArrayOfTables(a)) => {
                        let Value::InlineTable(it) = item else {
                            return Err("the items of an array of tables are tables".into());
                        };
                        a.push(it.into_table());
                    }
                    Some(_) => return Err("not an array".into()),
                }
            }
            _ => return Err("not a TOML op".into()),
        }
        Ok(())
    }

    /// A new array item spaced like the last one (a multi-line array stays one item a line).
    fn decorated_like(a: &toml_edit::Array, mut item: Value) -> Value {
        if let Some(last) = a.iter().last() {
            *item.decor_mut() = last.decor().clone();
        }
        let bare = item.decor().prefix().and_then(|p| p.as_str()).is_none_or(str::is_empty);
        if bare && !a.is_empty() {
            item.decor_mut().set_prefix(" ");
        }
        item
    }
}

mod yaml;

#[cfg(test)]
mod tests;
