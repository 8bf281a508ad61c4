//! YAML by splicing text at `saphyr`'s positions, block style only. Written by hand because no
//! crate does this well enough (see the parent module): an edit only ever touches the lines of
//! the entry it changes (a value on its key's line is replaced in place, keeping the line's
//! comment), new entries and items are inserted after the last line of their mapping or
//! sequence with the indentation of their siblings, and the caller parses the result again and
//! compares meanings, so a shape this code misjudges becomes a note instead of a wrong file.
//! Flow-style mappings (`{a: 1}`), anchors, aliases, tags and block scalars are left for a person
//! (a flow sequence, `[a, b]`, can be appended to).

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::{Json, Op, Seg, newline, show_path};

type Node<'a> = MarkedYaml<'a>;

pub fn meaning(text: &str) -> Result<Json, String> {
    crate::limits::check_yaml(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let docs = Node::load_from_str(text)
        .map_err(|e| format!("line {} column {}: {}", e.marker().line(), e.marker().col() + 1, e.info()))?;
    if docs.len() > 1 {
        return Err("the file holds several YAML documents; convoy patches files of one".into());
    }
    Ok(docs.first().map(to_json).unwrap_or(Json::Null))
}

fn to_json(node: &Node<'_>) -> Json {
    match &node.data {
        YamlData::Value(Scalar::Null) => Json::Null,
        YamlData::Value(Scalar::Boolean(b)) => Json::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => Json::from(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => serde_json::Number::from_f64(f.into_inner())
            .map_or_else(|| Json::String(f.into_inner().to_string()), Json::Number),
        YamlData::Value(Scalar::String(s)) => Json::String(s.to_string()),
        YamlData::Representation(s, ..) => Json::String(s.to_string()),
        YamlData::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        YamlData::Mapping(m) => Json::Object(m.iter().map(|(k, v)| (key_text(k), to_json(v))).collect()),
        YamlData::Tagged(_, inner) => to_json(inner),
        _ => Json::Null,
    }
}

fn key_text(k: &Node<'_>) -> String {
    match to_json(k) {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

/// The text, its lines and how it maps saphyr's character indexes to bytes.
struct Text<'s> {
    s: &'s str,
    /// Byte offset of each character (None: ASCII, identical).
    chars: Option<Vec<usize>>,
    /// (start, end without the line break) of each line.
    lines: Vec<(usize, usize)>,
    nl: &'static str,
    unit: usize,
}

impl<'s> Text<'s> {
    fn new(s: &'s str) -> Self {
        let chars = (!s.is_ascii()).then(|| {
            let mut v: Vec<usize> = s.char_indices().map(|(b, _)| b).collect();
            v.push(s.len());
            v
        });
        let mut lines = Vec::new();
        let mut start = 0;
        for piece in s.split_inclusive('\n') {
            let body = piece.strip_suffix('\n').unwrap_or(piece);
            let body = body.strip_suffix('\r').unwrap_or(body);
            lines.push((start, start + body.len()));
            start += piece.len();
        }
        let mut t = Text { s, chars, lines, nl: newline(s), unit: 2 };
        // The indentation step: the smallest indentation of a content line (2 if none).
        t.unit = (0..t.lines.len()).filter(|l| !t.blank(*l)).map(|l| t.indent(l)).filter(|i| *i > 0).min().unwrap_or(2);
        t
    }
    fn byte(&self, node: &Node<'_>) -> usize {
        let i = node.span.start.index();
        match &self.chars {
            None => i,
            Some(v) => v.get(i).copied().unwrap_or(self.s.len()),
        }
    }
    fn line_of(&self, byte: usize) -> usize {
        self.lines.partition_point(|(start, _)| *start <= byte).saturating_sub(1)
    }
    fn col(&self, byte: usize) -> usize {
        byte - self.lines[self.line_of(byte)].0
    }
    fn line(&self, l: usize) -> &'s str {
        let (a, b) = self.lines[l];
        &self.s[a..b]
    }
    fn indent(&self, l: usize) -> usize {
        self.line(l).len() - self.line(l).trim_start_matches(' ').len()
    }
    fn blank(&self, l: usize) -> bool {
        let t = self.line(l).trim();
        t.is_empty() || t.starts_with('#')
    }
    /// Where line `l` ends, after its line break.
    fn next_start(&self, l: usize) -> usize {
        self.lines.get(l + 1).map_or(self.s.len(), |(a, _)| *a)
    }
    /// The end (after the line break) of the last content line of the entry whose key (or
    /// sequence dash, `item`) is at `col` on line `first`: the lines after it indented deeper,
    /// plus, for a key, a sequence written at the key's own indentation. Comment and blank
    /// lines after the last content line stay with what follows.
    fn entry_end(&self, first: usize, col: usize, item: bool) -> usize {
        let mut last = first;
        for l in first + 1..self.lines.len() {
            if self.blank(l) {
                continue;
            }
            let ind = self.indent(l);
            let rest = self.line(l).trim_start_matches(' ');
            let dash = rest == "-" || rest.starts_with("- ");
            if ind > col || (ind == col && !item && dash) {
                last = l;
            } else {
                break;
            }
        }
        self.next_start(last)
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// A string YAML reads back as that string without quotes, in YAML 1.1 and 1.2 alike.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let reserved = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"];
    (first.is_ascii_alphabetic() || first == '_' || first == '/' || first == '$')
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && s.chars().all(|c| c.is_ascii_alphanumeric() || " _-./@$+=:()".contains(c))
}

fn scalar(v: &toml::Value) -> Option<String> {
    Some(match v {
        toml::Value::String(s) if plain_ok(s) => s.clone(),
        toml::Value::String(s) => Json::String(s.clone()).to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => Json::String(d.to_string()).to_string(),
        _ => return None,
    })
}

fn key(k: &str) -> String {
    if plain_ok(k) && !k.contains(':') { k.to_string() } else { Json::String(k.to_string()).to_string() }
}

/// `v` on one line (flow style for collections).
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        toml::Value::Table(t) => {
            let items: Vec<String> = t.iter().map(|(k, v)| format!("{}: {}", key(k), inline(v))).collect();
            if items.is_empty() { "{}".into() } else { format!("{{ {} }}", items.join(", ")) }
        }
        other => scalar(other).unwrap_or_default(),
    }
}

fn nonempty_collection(v: &toml::Value) -> bool {
    match v {
        toml::Value::Array(a) => !a.is_empty(),
        toml::Value::Table(t) => !t.is_empty(),
        _ => false,
    }
}

/// What follows `key:` for value `v` of a key at `col`, with its line break(s).
fn after(v: &toml::Value, col: usize, t: &Text<'_>) -> String {
    match v {
        toml::Value::Table(m) if !m.is_empty() => format!("{}{}", t.nl, block_map(m, col + t.unit, t)),
        toml::Value::Array(a) if !a.is_empty() => format!("{}{}", t.nl, block_seq(a, col + t.unit, t)),
        other => format!(" {}{}", inline(other), t.nl),
    }
}

fn block_map(m: &toml::Table, col: usize, t: &Text<'_>) -> String {
    m.iter().map(|(k, v)| format!("{}{}:{}", spaces(col), key(k), after(v, col, t))).collect()
}

fn block_seq(a: &[toml::Value], col: usize, t: &Text<'_>) -> String {
    a.iter().map(|v| format!("{}-{}", spaces(col), item_after(v, col, t))).collect()
}

/// What follows a sequence's `-` at `col` for item `v`: a mapping or sequence starts on the
/// dash's line (`- a: 1`), its other lines indented under it.
fn item_after(v: &toml::Value, col: usize, t: &Text<'_>) -> String {
    let nested = match v {
        toml::Value::Table(m) if !m.is_empty() => block_map(m, col + 2, t),
        toml::Value::Array(a) if !a.is_empty() => block_seq(a, col + 2, t),
        other => return format!(" {}{}", inline(other), t.nl),
    };
    format!(" {}", &nested[col + 2..])
}

/// `v` under the keys `rest`.
fn nested(rest: &[Seg], v: &toml::Value) -> Result<toml::Value, String> {
    let mut out = v.clone();
    for seg in rest.iter().rev() {
        let Seg::Key(k) = seg else { return Err("an index that does not exist".into()) };
        let mut t = toml::Table::new();
        t.insert(k.clone(), out);
        out = toml::Value::Table(t);
    }
    Ok(out)
}

fn is_flow(node: &Node<'_>, t: &Text<'_>) -> bool {
    matches!(t.s.as_bytes().get(t.byte(node)), Some(b'{' | b'['))
}

fn is_null(node: &Node<'_>) -> bool {
    matches!(node.data, YamlData::Value(Scalar::Null))
}

/// One step down: the key node (for a mapping) and the value node.
fn child<'n, 'a>(node: &'n Node<'a>, seg: &Seg) -> Option<(Option<&'n Node<'a>>, &'n Node<'a>)> {
    match (&node.data, seg) {
        (YamlData::Mapping(m), Seg::Key(k)) => m.iter().find(|(key, _)| key_text(key) == *k).map(|(k, v)| (Some(k), v)),
        (YamlData::Sequence(s), Seg::Index(i)) => s.get(*i).map(|v| (None, v)),
        _ => None,
    }
}

/// The byte just past the scalar starting at `start` on its line, if it is a one-line plain
/// or quoted scalar (YAML 1.2 §7.3: quotes end it, `\"` and `''` escaped; a plain scalar ends
/// before ` #` or the line's end).
fn scalar_end(t: &Text<'_>, start: usize) -> Option<usize> {
    let (_, line_end) = t.lines[t.line_of(start)];
    let b = t.s.as_bytes();
    match b.get(start)? {
        b'"' => {
            let mut i = start + 1;
            while i < line_end {
                match b[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
            None
        }
        b'\'' => {
            let mut i = start + 1;
            while i < line_end {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some(i + 1);
                }
                i += 1;
            }
            None
        }
        b'|' | b'>' | b'&' | b'*' | b'!' | b'[' | b'{' => None,
        _ => {
            let text = &t.s[start..line_end];
            let cut = [" #", "\t#"].iter().filter_map(|p| text.find(p)).min().unwrap_or(text.len());
            Some(start + text[..cut].trim_end().len())
        }
    }
}

/// `text` with `range` replaced by `with`.
fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

/// Insert whole lines at `at` (a line start, or the end of a file that may lack its last break).
fn insert_lines(t: &Text<'_>, at: usize, lines: &str) -> String {
    if at == t.s.len() && !t.s.is_empty() && !t.s.ends_with('\n') {
        return format!("{}{}{lines}", t.s, t.nl);
    }
    splice(t.s, at..at, lines)
}

const FLOW: &str = "a flow-style mapping or sequence (`{...}`, `[...]`) is left for a person";

pub fn apply(text: &str, op: &Op) -> Result<String, String> {
    let docs = Node::load_from_str(text).map_err(|e| e.info().to_string())?;
    let t = Text::new(text);
    // An empty file (or only comments) reads as null, like `~`.
    let null = Node::load_from_str("~").map_err(|e| e.info().to_string())?;
    let root = docs.first().or(null.first()).ok_or("no document")?;
    let (path, v) = match op {
        Op::Set(p, v) | Op::Append(p, v) => (p, Some(v)),
        Op::Remove(p) => (p, None),
        _ => return Err("not a YAML op".into()),
    };
    // Walk as far as the path exists: (key node, value node) of each step.
    let mut chain: Vec<(Option<&Node<'_>>, &Node<'_>)> = vec![(None, root)];
    for seg in path {
        let Some(&(_, node)) = chain.last() else { break };
        if matches!(node.data, YamlData::Alias(_) | YamlData::Tagged(..)) {
            return Err("an anchor, alias or tag is on the way; left for a person".into());
        }
        match child(node, seg) {
            Some(next) => chain.push(next),
            None => break,
        }
    }
    let found = chain.len() - 1;
    let (key_node, target) = chain[found];
    let parent = chain.get(found.wrapping_sub(1)).map(|c| c.1);
    match op {
        Op::Remove(_) => {
            let parent = parent.ok_or("cannot remove the whole document")?;
            if is_flow(parent, &t) {
                return Err(FLOW.into());
            }
            let range = entry_range(&t, key_node, target)?;
            Ok(splice(text, range, ""))
        }
        Op::Append(..) if found == path.len() && matches!(target.data, YamlData::Sequence(_)) => {
            append(&t, target, v.ok_or("no value")?)
        }
        Op::Append(..) => {
            let list = toml::Value::Array(vec![v.ok_or("no value")?.clone()]);
            set(&t, path, &chain, &list)
        }
        Op::Set(..) => set(&t, path, &chain, v.ok_or("no value")?),
        _ => Err("not a YAML op".into()),
    }
}

/// The bytes of a whole entry: a key's lines in a block mapping, or an item's in a block sequence.
fn entry_range(t: &Text<'_>, key: Option<&Node<'_>>, value: &Node<'_>) -> Result<std::ops::Range<usize>, String> {
    match key {
        Some(k) => {
            let at = t.byte(k);
            let line = t.line_of(at);
            Ok(t.lines[line].0..t.entry_end(line, t.col(at), false))
        }
        None => {
            let at = t.byte(value);
            let line = t.line_of(at);
            let dash = t.indent(line);
            if !t.line(line)[dash..].starts_with('-') {
                return Err("the item does not start its line with `-`".into());
            }
            Ok(t.lines[line].0..t.entry_end(line, dash, true))
        }
    }
}

fn set(
    t: &Text<'_>,
    path: &[Seg],
    chain: &[(Option<&Node<'_>>, &Node<'_>)],
    v: &toml::Value,
) -> Result<String, String> {
    let found = chain.len() - 1;
    let (key_node, target) = chain[found];
    if found == path.len() {
        // The key is there: replace its value.
        if let Some(parent) = chain.get(found.wrapping_sub(1)).map(|c| c.1)
            && is_flow(parent, t)
        {
            return Err(FLOW.into());
        }
        let start = t.byte(target);
        let one_line_scalar = matches!(target.data, YamlData::Value(_) | YamlData::Representation(..))
            && key_node.is_none_or(|k| t.line_of(t.byte(k)) == t.line_of(start))
            && !is_null(target);
        if one_line_scalar && !nonempty_collection(v) {
            let end =
                scalar_end(t, start).ok_or("the value is a block scalar, anchor, alias or tag; left for a person")?;
            return Ok(splice(t.s, start..end, &inline(v)));
        }
        let Some(k) = key_node else { return Err("replacing a whole sequence item is left for a person".into()) };
        return replace_entry(t, k, v);
    }
    // Create what is missing under the deepest node that is there.
    let Seg::Key(_) = &path[found] else {
        return Err(format!("`{}` does not exist", show_path(&path[..=found])));
    };
    let Seg::Key(first) = &path[found] else { return Err("no key".into()) };
    let value = nested(&path[found + 1..], v)?;
    match &target.data {
        YamlData::Mapping(m) if !m.is_empty() => {
            if is_flow(target, t) {
                return Err(FLOW.into());
            }
            let (last_key, _) = m.iter().next_back().ok_or("empty mapping")?;
            let at = t.byte(last_key);
            let col = t.col(at);
            let end = t.entry_end(t.line_of(at), col, false);
            let lines = format!("{}{}:{}", spaces(col), key(first), after(&value, col, t));
            Ok(insert_lines(t, end, &lines))
        }
        _ if found == 0 && (is_null(target) || matches!(&target.data, YamlData::Mapping(m) if m.is_empty())) => {
            if !is_null(target) {
                return Err(FLOW.into());
            }
            // An empty document (or only comments): the entry goes at the end.
            Ok(insert_lines(t, t.s.len(), &format!("{}:{}", key(first), after(&value, 0, t))))
        }
        _ if is_null(target) => {
            let k = key_node.ok_or("no key")?;
            let mut whole = toml::Table::new();
            whole.insert(first.clone(), value);
            replace_entry(t, k, &toml::Value::Table(whole))
        }
        _ => Err(format!("`{}` cannot hold keys", show_path(&path[..found]))),
    }
}

/// Rewrite the entry of key `k` as `k:` (as written) with value `v`.
fn replace_entry(t: &Text<'_>, k: &Node<'_>, v: &toml::Value) -> Result<String, String> {
    let at = t.byte(k);
    let key_end = scalar_end(t, at).ok_or("the key is not a plain or quoted scalar; left for a person")?;
    let line = t.line_of(at);
    let rest = &t.s[key_end..t.lines[line].1];
    let colon = rest.find(':').filter(|i| rest[..*i].trim().is_empty()).ok_or("no `:` after the key")?;
    let col = t.col(at);
    let range = t.lines[line].0..t.entry_end(line, col, false);
    let head = &t.s[range.start..key_end + colon + 1];
    Ok(splice(t.s, range, &format!("{head}{}", after(v, col, t))))
}

fn append(t: &Text<'_>, seq: &Node<'_>, v: &toml::Value) -> Result<String, String> {
    let YamlData::Sequence(items) = &seq.data else { return Err("not a sequence".into()) };
    let start = t.byte(seq);
    if t.s.as_bytes().get(start) == Some(&b'[') {
        // A flow sequence: the new item goes before its `]`.
        let close = flow_close(t.s, start).ok_or("cannot find the end of the flow sequence")?;
        let before = t.s[start + 1..close].trim_end();
        let at = start + 1 + before.len();
        let with = if before.trim().is_empty() {
            inline(v)
        } else if before.ends_with(',') {
            format!(" {}", inline(v))
        } else {
            format!(", {}", inline(v))
        };
        return Ok(splice(t.s, at..at, &with));
    }
    let last = items.last().ok_or("an empty block sequence")?;
    let line = t.line_of(t.byte(last));
    let dash = t.indent(line);
    if !t.line(line)[dash..].starts_with('-') {
        return Err("the last item does not start its line with `-`".into());
    }
    let end = t.entry_end(line, dash, true);
    Ok(insert_lines(t, end, &format!("{}-{}", spaces(dash), item_after(v, dash, t))))
}

/// The `]` closing the flow sequence that opens at `open`, skipping quoted strings and nesting.
fn flow_close(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' => {
                i += 1;
                while i < b.len() && !(b[i] == b'\'' && b.get(i + 1) != Some(&b'\'')) {
                    i += if b[i] == b'\'' { 2 } else { 1 };
                }
            }
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}
