//! The GitHub Actions workflow model, shared by the policy rules and fixes (`policy/`) and by
//! the action inventory and alignment (`deps/actions.rs`): which files are workflows
//! ([`files`]), what a `uses:` names ([`uses`]), and a workflow (or composite action) read into
//! the few things the rules look at, each with its place in the file ([`parse`], [`Workflow`]).
//!
//! Parsing goes through saphyr's marked loader (YAML 1.2, so `on:` stays the string "on"; anchors
//! and aliases are expanded, with a budget; a file of several documents is read as its first
//! document, which is what GitHub runs). Positions are 1-based lines and columns plus a byte
//! offset, so findings can point at a line and fixes can edit the bytes around it.
//!
//! The model is deliberately loose: a value of an unexpected shape (an expression where a map
//! was expected, say) is kept as text or left out rather than rejected, because GitHub accepts
//! much that a strict schema would not, and a rule should only speak about what it understands.

pub mod files;
pub mod uses;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// Where a node starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Byte offset into the file.
    pub offset: usize,
}

/// A scalar value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

/// A trigger (`on:` entry), e.g. `push`, `schedule`, `workflow_dispatch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub event: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    /// The group, or the whole value when `concurrency:` is a plain string.
    pub group: Option<String>,
    /// `cancel-in-progress` as written (`true`, `false` or an expression).
    pub cancel_in_progress: Option<String>,
    /// `queue` as written: how many runs wait in the group instead of replacing each other
    /// (a deliberate choice of queued runs, so cancelling is not demanded).
    pub queue: Option<String>,
    pub pos: Pos,
}

/// `permissions:` at workflow or job level.
#[derive(Debug, Clone, PartialEq)]
pub enum Permissions {
    /// `read-all`, `write-all`, or an expression.
    All(Located<String>),
    /// A map of scope to `read`/`write`/`none` (`{}` gives none at all).
    Scopes { scopes: Vec<(String, Located<String>)>, pos: Pos },
}

impl Permissions {
    pub fn pos(&self) -> Pos {
        match self {
            Permissions::All(l) => l.pos,
            Permissions::Scopes { pos, .. } => *pos,
        }
    }
    /// Scopes granted `write` (all of them for `write-all`, as `*`).
    pub fn writes(&self) -> Vec<(String, Pos)> {
        match self {
            Permissions::All(l) if l.value == "write-all" => vec![("*".to_string(), l.pos)],
            Permissions::All(_) => Vec::new(),
            Permissions::Scopes { scopes, .. } => {
                scopes.iter().filter(|(_, v)| v.value == "write").map(|(k, v)| (k.clone(), v.pos)).collect()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: Option<String>,
    /// `uses:` as written, e.g. `actions/checkout@v4`.
    pub uses: Option<Located<String>>,
    pub run: Option<String>,
    /// `with:` inputs, values as text.
    pub with: Vec<(String, Located<String>)>,
    pub pos: Pos,
    /// Some text of the step (an input, `env:`, the script) names the workflow's token:
    /// see [`mentions_token`].
    pub mentions_token: bool,
}

impl Step {
    pub fn input(&self, name: &str) -> Option<&Located<String>> {
        self.with.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    /// The action named by `uses:` without its ref, lowercased (`actions/checkout`).
    pub fn action(&self) -> Option<String> {
        let uses = &self.uses.as_ref()?.value;
        Some(uses.split('@').next().unwrap_or(uses).to_ascii_lowercase())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub name: Option<String>,
    /// Position of the job's key (`build:`).
    pub pos: Pos,
    /// Position of the first key inside the job (where new keys are inserted).
    pub body_pos: Option<Pos>,
    /// `timeout-minutes` as written (a number or an expression).
    pub timeout: Option<Located<String>>,
    pub runs_on: Vec<String>,
    /// `needs:` (one job id or a list), in order as written.
    pub needs: Vec<String>,
    pub permissions: Option<Permissions>,
    /// A reusable-workflow call (`uses:` at job level).
    pub uses: Option<Located<String>>,
    pub steps: Vec<Step>,
    /// Job-level `concurrency:`.
    pub concurrency: Option<Concurrency>,
    /// Some text of the job outside its steps (`env:`, `container.credentials`, `with:` of a
    /// reusable-workflow call...) names the workflow's token: see [`mentions_token`].
    pub mentions_token: bool,
}

impl Job {
    pub fn timeout_minutes(&self) -> Option<f64> {
        self.timeout.as_ref().and_then(|t| t.value.trim().parse().ok())
    }
}

/// What kind of file this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Workflow,
    /// `action.yml` with `runs.using: composite`.
    CompositeAction,
    /// An `action.yml` of another kind (JavaScript, Docker): only its metadata is read.
    OtherAction,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub kind: FileKind,
    pub name: Option<String>,
    /// Position of the `on:` key, if any.
    pub on_pos: Option<Pos>,
    pub triggers: Vec<Trigger>,
    /// `on.schedule[].cron` entries.
    pub schedules: Vec<Located<String>>,
    /// `on.workflow_dispatch.inputs` names: a manual run that takes inputs is a request of its
    /// own, not a rerun of the same thing.
    pub dispatch_inputs: Vec<String>,
    pub concurrency: Option<Concurrency>,
    pub permissions: Option<Permissions>,
    /// Position of the `jobs:` key.
    pub jobs_pos: Option<Pos>,
    pub jobs: Vec<Job>,
    /// Steps of a composite action (`runs.steps`).
    pub action_steps: Vec<Step>,
    /// Position of the first top-level key.
    pub top_pos: Pos,
    /// Text at workflow level outside `on:` and `jobs:` (`env:`, `defaults:`) names the
    /// workflow's token, handing it to every job: see [`mentions_token`].
    pub mentions_token: bool,
    /// `(start, end)` byte ranges of every scalar in the file as the parser read it, sorted
    /// and without repeats (an alias's subtree points back at its anchor's scalars). The end
    /// is exclusive and includes a quoted scalar's closing quote, so the text after a value is
    /// found from the parser, not by searching for ` #`.
    pub scalar_spans: Vec<(usize, usize)>,
}

impl Workflow {
    pub fn has_trigger(&self, event: &str) -> bool {
        self.triggers.iter().any(|t| t.event == event)
    }
    /// Every step of every job, plus a composite action's steps.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.jobs.iter().flat_map(|j| j.steps.iter()).chain(self.action_steps.iter())
    }
    /// A reusable workflow: `on:` includes `workflow_call` ("Reusing workflows", GitHub docs
    /// `actions/using-workflows/reusing-workflows`).
    pub fn is_reusable(&self) -> bool {
        self.has_trigger("workflow_call")
    }
    /// The scalar that starts at byte `start`: its end (exclusive byte offset) and how it is
    /// written there.
    pub fn scalar_at(&self, source: &str, start: usize) -> Option<ScalarSpan> {
        let i = self.scalar_spans.partition_point(|(s, _)| *s < start);
        let (s, end) = *self.scalar_spans.get(i)?;
        if s != start {
            return None;
        }
        let style = match source.as_bytes().get(start) {
            _ if block_indicator_before(source, start) => ScalarStyle::Block,
            Some(b'\'') => ScalarStyle::SingleQuoted,
            Some(b'"') => ScalarStyle::DoubleQuoted,
            Some(b'|' | b'>') => ScalarStyle::Block,
            // An alias, an anchor or a tag in front of the value.
            Some(b'*' | b'&' | b'!') => ScalarStyle::Other,
            _ => ScalarStyle::Plain,
        };
        Some(ScalarSpan { start, end, style })
    }
    /// Whether byte `offset` lies inside some scalar (a quoted string, a block scalar's text).
    pub fn inside_scalar(&self, offset: usize) -> bool {
        // Scalars never overlap: only the last one starting at or before `offset` can hold it.
        let i = self.scalar_spans.partition_point(|(s, _)| *s <= offset);
        i > 0 && offset < self.scalar_spans[i - 1].1
    }
    /// Where a comment starts between byte `from` and the end of its line, if there is one:
    /// the first `#` after a space or tab (or at the line start) that is not inside a scalar
    /// (YAML 1.2 §6.6, "Comments"), so `ref: "main #1"` is a string, not a comment.
    pub fn comment_after(&self, source: &str, from: usize) -> Option<usize> {
        let line_start = source[..from].rfind('\n').map_or(0, |i| i + 1);
        let end = source[from..].find('\n').map_or(source.len(), |i| from + i);
        source[from..end].char_indices().map(|(i, c)| (from + i, c)).find_map(|(i, c)| {
            let after_blank = i == line_start || matches!(source.as_bytes()[i - 1], b' ' | b'\t');
            (c == '#' && after_blank && !self.inside_scalar(i)).then_some(i)
        })
    }
}

/// How a scalar is written in the source (YAML 1.2 §7–8: flow scalar styles and block
/// scalars).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>`: the text is on the following lines.
    Block,
    /// Behind an alias, anchor or tag: not edited in place.
    Other,
}

/// One scalar's place: `start..end` in bytes (end exclusive, after a closing quote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalarSpan {
    pub start: usize,
    pub end: usize,
    pub style: ScalarStyle,
}

/// Whether `text` names the workflow's `GITHUB_TOKEN`: `secrets.GITHUB_TOKEN` or
/// `github.token` in an expression (both forms, GitHub docs "Automatic token authentication",
/// `actions/security-for-github-actions/security-guides/automatic-token-authentication`), or
/// the `GITHUB_TOKEN`/`GH_TOKEN` variable names a script reads it from. Case-insensitive, as
/// expressions are.
pub fn mentions_token(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["github_token", "github.token", "github['token']", "github[\"token\"]", "gh_token"]
        .iter()
        .any(|t| lower.contains(t))
}

/// A file that is not a usable workflow: not YAML, or YAML of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Maps saphyr's character indexes to byte offsets (identical for ASCII files).
struct Offsets<'s> {
    bytes: Option<Vec<usize>>,
    source: &'s str,
}

impl<'s> Offsets<'s> {
    fn new(text: &'s str) -> Self {
        if text.is_ascii() {
            return Offsets { bytes: None, source: text };
        }
        let mut v: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        v.push(text.len());
        Offsets { bytes: Some(v), source: text }
    }
    fn pos(&self, node: &MarkedYaml<'_>) -> Pos {
        let m = node.span.start;
        Pos { line: m.line(), column: m.col() + 1, offset: self.byte(m.index()) }
    }
    fn byte(&self, index: usize) -> usize {
        match &self.bytes {
            None => index,
            Some(v) => v.get(index).copied().unwrap_or_default(),
        }
    }
}

type Node<'a> = MarkedYaml<'a>;

fn text(node: &Node<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        YamlData::Tagged(_, inner) => text(inner),
        _ => None,
    }
}

fn entries<'n, 'a>(node: &'n Node<'a>) -> Vec<(&'n Node<'a>, &'n Node<'a>)> {
    match &node.data {
        YamlData::Mapping(m) => m.iter().collect(),
        YamlData::Tagged(_, inner) => entries(inner),
        _ => Vec::new(),
    }
}

fn items<'n, 'a>(node: &'n Node<'a>) -> Vec<&'n Node<'a>> {
    match &node.data {
        YamlData::Sequence(s) => s.iter().collect(),
        YamlData::Tagged(_, inner) => items(inner),
        _ => Vec::new(),
    }
}

fn get<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<(&'n Node<'a>, &'n Node<'a>)> {
    entries(node).into_iter().find(|(k, _)| text(k).as_deref() == Some(key))
}

fn is_null(node: &Node<'_>) -> bool {
    matches!(node.data, YamlData::Value(Scalar::Null))
}

/// Parse `source` as a workflow (`kind` decides whether `jobs` or `runs` is read).
pub fn parse(source: &str, action_file: bool) -> Result<Workflow, ParseError> {
    // Size and depth first: a deep tree would overflow the stack when built or dropped.
    crate::limits::check_yaml(source).map_err(|e| ParseError { line: e.line, column: e.column, message: e.message })?;
    let docs = Node::load_from_str(source).map_err(|e| ParseError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    let offsets = Offsets::new(source);
    let Some(doc) = docs.into_iter().find(|d| !is_null(d)) else {
        return Err(ParseError { line: 1, column: 1, message: "the file is empty".into() });
    };
    if !matches!(doc.data, YamlData::Mapping(_)) {
        let p = offsets.pos(&doc);
        return Err(ParseError {
            line: p.line,
            column: p.column,
            message: "a workflow is a mapping of keys (name, on, jobs...), this is not".into(),
        });
    }
    let top = entries(&doc);
    let top_pos = top.first().map(|(k, _)| offsets.pos(k)).unwrap_or_default();
    let mut wf = Workflow {
        kind: FileKind::Workflow,
        name: get(&doc, "name").and_then(|(_, v)| text(v)),
        on_pos: None,
        triggers: Vec::new(),
        schedules: Vec::new(),
        dispatch_inputs: Vec::new(),
        concurrency: None,
        permissions: None,
        jobs_pos: None,
        jobs: Vec::new(),
        action_steps: Vec::new(),
        top_pos,
        mentions_token: top.iter().any(|(k, v)| {
            !matches!(text(k).as_deref(), Some("on" | "jobs" | "name" | "run-name")) && any_text(v, &mentions_token)
        }),
        scalar_spans: Vec::new(),
    };
    collect_spans(&doc, &offsets, &mut wf.scalar_spans);
    wf.scalar_spans.sort_unstable();
    wf.scalar_spans.dedup();
    if action_file {
        let runs = get(&doc, "runs").map(|(_, v)| v);
        let using = runs.and_then(|r| get(r, "using")).and_then(|(_, v)| text(v));
        if using.as_deref() == Some("composite") {
            wf.kind = FileKind::CompositeAction;
            if let Some((_, steps)) = runs.and_then(|r| get(r, "steps")) {
                wf.action_steps = items(steps).into_iter().map(|s| step(s, &offsets)).collect();
            }
        } else {
            wf.kind = FileKind::OtherAction;
        }
        return Ok(wf);
    }
    if let Some((k, on)) = get(&doc, "on") {
        wf.on_pos = Some(offsets.pos(k));
        match &on.data {
            YamlData::Sequence(_) => {
                for item in items(on) {
                    if let Some(event) = text(item) {
                        wf.triggers.push(Trigger { event, pos: offsets.pos(item) });
                    }
                }
            }
            YamlData::Mapping(_) => {
                for (k, v) in entries(on) {
                    let Some(event) = text(k) else { continue };
                    if event == "workflow_dispatch"
                        && let Some((_, inputs)) = get(v, "inputs")
                    {
                        wf.dispatch_inputs = entries(inputs).into_iter().filter_map(|(k, _)| text(k)).collect();
                    }
                    if event == "schedule" {
                        for entry in items(v) {
                            if let Some((_, cron)) = get(entry, "cron")
                                && let Some(expr) = text(cron)
                            {
                                wf.schedules.push(Located { value: expr, pos: offsets.pos(cron) });
                            }
                        }
                    }
                    wf.triggers.push(Trigger { event, pos: offsets.pos(k) });
                }
            }
            _ => {
                if let Some(event) = text(on) {
                    wf.triggers.push(Trigger { event, pos: offsets.pos(on) });
                }
            }
        }
    }
    if let Some((k, v)) = get(&doc, "concurrency") {
        wf.concurrency = Some(concurrency(k, v, &offsets));
    }
    if let Some((_, v)) = get(&doc, "permissions") {
        wf.permissions = Some(permissions(v, &offsets));
    }
    if let Some((k, jobs)) = get(&doc, "jobs") {
        wf.jobs_pos = Some(offsets.pos(k));
        for (id, body) in entries(jobs) {
            let Some(id_text) = text(id) else { continue };
            wf.jobs.push(job(id_text, id, body, &offsets));
        }
    }
    Ok(wf)
}

/// Every scalar's byte range, keys included.
fn collect_spans(node: &Node<'_>, o: &Offsets<'_>, out: &mut Vec<(usize, usize)>) {
    match &node.data {
        YamlData::Mapping(m) => {
            for (k, v) in m {
                collect_spans(k, o, out);
                collect_spans(v, o, out);
            }
        }
        YamlData::Sequence(s) => s.iter().for_each(|n| collect_spans(n, o, out)),
        YamlData::Tagged(_, inner) => collect_spans(inner, o, out),
        _ => {
            let (start, end) = (o.byte(node.span.start.index()), o.byte(node.span.end.index()));
            out.push((start, scalar_end(o.source, start, end)));
        }
    }
}

/// The real end of the scalar starting at byte `start`. The parser's span may run on over the
/// blanks and the comment after a value, so the end is found by YAML's rules (1.2 §7.3): a
/// quoted scalar ends at its closing quote (`\"` escapes in double quotes, `''` in single
/// quotes), a plain one before ` #` or the line's end, and never after `parser_end`.
fn scalar_end(source: &str, start: usize, parser_end: usize) -> usize {
    let bytes = source.as_bytes();
    let parser_end = parser_end.clamp(start, source.len());
    match bytes.get(start) {
        Some(b'"') => {
            let mut i = start + 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
            parser_end
        }
        Some(b'\'') => {
            let mut i = start + 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return i + 1;
                }
                i += 1;
            }
            parser_end
        }
        _ if block_indicator_before(source, start) => parser_end,
        _ => {
            let text = &source[start..parser_end];
            let line = text.find(['\n', '\r']).unwrap_or(text.len());
            let comment = [" #", "\t#"].iter().filter_map(|c| text[..line].find(c)).min().unwrap_or(line);
            start + text[..comment].trim_end().len()
        }
    }
}

/// Whether the scalar at `start` is the text of a block scalar: the last thing before it (over
/// blanks and line breaks) is a `|` or `>` header, with its optional chomping and indentation
/// indicators (YAML 1.2 §8.1.1).
fn block_indicator_before(source: &str, start: usize) -> bool {
    let before = &source[..start];
    let Some(nl) = before.trim_end_matches([' ', '\t']).rfind('\n') else { return false };
    // A block scalar's text starts on a line after its header, after blanks only.
    if !before[nl + 1..].chars().all(|c| c == ' ' || c == '\t') {
        return false;
    }
    let header_line = before[..nl].trim_end().rsplit('\n').next().unwrap_or("");
    // A comment may follow the header on its line.
    let header = header_line.split(" #").next().unwrap_or("").trim_end();
    let word = header.rsplit([' ', '\t']).next().unwrap_or("");
    let mut chars = word.chars();
    matches!(chars.next(), Some('|' | '>')) && chars.all(|c| c == '-' || c == '+' || c.is_ascii_digit())
}

/// Whether some scalar under `node` (keys included) satisfies `test`.
fn any_text(node: &Node<'_>, test: &dyn Fn(&str) -> bool) -> bool {
    match &node.data {
        YamlData::Mapping(m) => m.iter().any(|(k, v)| any_text(k, test) || any_text(v, test)),
        YamlData::Sequence(s) => s.iter().any(|n| any_text(n, test)),
        YamlData::Tagged(_, inner) => any_text(inner, test),
        _ => text(node).is_some_and(|t| test(&t)),
    }
}

fn concurrency(key: &Node<'_>, v: &Node<'_>, o: &Offsets<'_>) -> Concurrency {
    match &v.data {
        YamlData::Mapping(_) => Concurrency {
            group: get(v, "group").and_then(|(_, g)| text(g)),
            cancel_in_progress: get(v, "cancel-in-progress").and_then(|(_, c)| text(c)),
            queue: get(v, "queue").and_then(|(_, q)| text(q)),
            pos: o.pos(key),
        },
        _ => Concurrency { group: text(v), cancel_in_progress: None, queue: None, pos: o.pos(key) },
    }
}

fn permissions(v: &Node<'_>, o: &Offsets<'_>) -> Permissions {
    match &v.data {
        YamlData::Mapping(_) => Permissions::Scopes {
            scopes: entries(v)
                .into_iter()
                .filter_map(|(k, val)| Some((text(k)?, Located { value: text(val)?, pos: o.pos(val) })))
                .collect(),
            pos: o.pos(v),
        },
        _ => Permissions::All(Located { value: text(v).unwrap_or_default(), pos: o.pos(v) }),
    }
}

fn job(id: String, key: &Node<'_>, body: &Node<'_>, o: &Offsets<'_>) -> Job {
    let runs_on = match get(body, "runs-on") {
        Some((_, v)) => match &v.data {
            YamlData::Sequence(_) => items(v).into_iter().filter_map(text).collect(),
            YamlData::Mapping(_) => get(v, "labels")
                .map(|(_, l)| match &l.data {
                    YamlData::Sequence(_) => items(l).into_iter().filter_map(text).collect(),
                    _ => text(l).into_iter().collect(),
                })
                .unwrap_or_default(),
            _ => text(v).into_iter().collect(),
        },
        None => Vec::new(),
    };
    Job {
        id,
        name: get(body, "name").and_then(|(_, v)| text(v)),
        pos: o.pos(key),
        body_pos: entries(body).first().map(|(k, _)| o.pos(k)),
        timeout: get(body, "timeout-minutes").and_then(|(_, v)| Some(Located { value: text(v)?, pos: o.pos(v) })),
        runs_on,
        needs: match get(body, "needs") {
            Some((_, v)) => match &v.data {
                YamlData::Sequence(_) => items(v).into_iter().filter_map(text).collect(),
                _ => text(v).into_iter().collect(),
            },
            None => Vec::new(),
        },
        permissions: get(body, "permissions").map(|(_, v)| permissions(v, o)),
        uses: get(body, "uses").and_then(|(_, v)| Some(Located { value: text(v)?, pos: o.pos(v) })),
        steps: get(body, "steps").map(|(_, s)| items(s).into_iter().map(|s| step(s, o)).collect()).unwrap_or_default(),
        concurrency: get(body, "concurrency").map(|(k, v)| concurrency(k, v, o)),
        mentions_token: entries(body)
            .iter()
            .any(|(k, v)| text(k).as_deref() != Some("steps") && any_text(v, &mentions_token)),
    }
}

fn step(s: &Node<'_>, o: &Offsets<'_>) -> Step {
    Step {
        name: get(s, "name").and_then(|(_, v)| text(v)),
        uses: get(s, "uses").and_then(|(_, v)| Some(Located { value: text(v)?, pos: o.pos(v) })),
        run: get(s, "run").and_then(|(_, v)| text(v)),
        with: get(s, "with")
            .map(|(_, w)| {
                entries(w)
                    .into_iter()
                    .filter_map(|(k, v)| Some((text(k)?, Located { value: text(v)?, pos: o.pos(v) })))
                    .collect()
            })
            .unwrap_or_default(),
        pos: o.pos(s),
        mentions_token: any_text(s, &mentions_token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_as_string_list_and_map() {
        let w = parse("on: push\njobs: {}\n", false).expect("parse");
        assert_eq!(w.triggers.iter().map(|t| t.event.as_str()).collect::<Vec<_>>(), ["push"]);
        let w = parse("on: [push, pull_request]\njobs: {}\n", false).expect("parse");
        assert_eq!(w.triggers.len(), 2);
        assert_eq!(w.triggers[1].pos, Pos { line: 1, column: 12, offset: 11 });
        let w = parse("on:\n  push:\n    branches: [main]\n  schedule:\n    - cron: '*/5 * * * *'\n    - cron: \"0 3 * * 1\"\njobs: {}\n", false)
            .expect("parse");
        assert!(w.has_trigger("push") && w.has_trigger("schedule"));
        let crons: Vec<_> = w.schedules.iter().map(|c| (c.value.as_str(), c.pos.line)).collect();
        assert_eq!(crons, [("*/5 * * * *", 5), ("0 3 * * 1", 6)]);
    }

    #[test]
    fn jobs_steps_and_positions() {
        let src = "name: ci\non: push\npermissions:\n  contents: read\n  pull-requests: write\njobs:\n  build:\n    runs-on: ubuntu-latest\n    timeout-minutes: 15\n    steps:\n      - uses: actions/checkout@v4\n      - name: Test\n        run: cargo test\n      - uses: actions/cache@v4\n        with:\n          key: ${{ hashFiles('**/Cargo.lock') }}\n";
        let w = parse(src, false).expect("parse");
        assert_eq!(w.name.as_deref(), Some("ci"));
        let Some(Permissions::Scopes { scopes, .. }) = &w.permissions else { panic!("scopes") };
        assert_eq!(scopes.len(), 2);
        assert_eq!(w.permissions.as_ref().map(Permissions::writes).unwrap_or_default()[0].0, "pull-requests");
        let job = &w.jobs[0];
        assert_eq!((job.id.as_str(), job.pos.line, job.pos.column), ("build", 7, 3));
        assert_eq!(job.timeout_minutes(), Some(15.0));
        assert_eq!(job.runs_on, ["ubuntu-latest"]);
        assert!(job.needs.is_empty());
        assert_eq!(job.steps.len(), 3);
        let uses = job.steps[0].uses.as_ref().expect("uses");
        assert_eq!((uses.value.as_str(), uses.pos.line, uses.pos.column), ("actions/checkout@v4", 11, 15));
        assert_eq!(&src[uses.pos.offset..uses.pos.offset + 8], "actions/");
        assert_eq!(job.steps[2].input("key").map(|k| k.value.contains("Cargo.lock")), Some(true));
        assert_eq!(job.steps[1].run.as_deref(), Some("cargo test"));
    }

    #[test]
    fn anchors_multi_documents_and_unicode_offsets() {
        let src = "# é comment\nname: «ci»\non: push\njobs:\n  a: &job\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n  b: *job\n---\nname: second\n";
        let w = parse(src, false).expect("parse");
        assert_eq!(w.jobs.len(), 2);
        assert_eq!(w.jobs[1].runs_on, ["ubuntu-latest"]);
        let needs = parse(
            "on: push\njobs:\n  a: {runs-on: x}\n  b: {runs-on: x, needs: a}\n  c: {runs-on: x, needs: [a, b]}\n",
            false,
        )
        .expect("parse");
        let needs: Vec<Vec<String>> = needs.jobs.into_iter().map(|j| j.needs).collect();
        assert_eq!(needs, [vec![], vec!["a".to_string()], vec!["a".to_string(), "b".to_string()]]);
        let on = w.on_pos.expect("on");
        assert_eq!(&src[on.offset..on.offset + 3], "on:");
    }

    #[test]
    fn broken_and_odd_files_are_errors_with_positions() {
        let e = parse("on: push\njobs:\n  a:\n    steps: [\n", false).expect_err("broken");
        assert!(e.line >= 4, "{e:?}");
        assert!(parse("", false).is_err());
        assert!(parse("- just\n- a list\n", false).is_err());
    }

    #[test]
    fn composite_actions() {
        let src = "name: setup\nruns:\n  using: composite\n  steps:\n    - uses: actions/setup-node@v3\n      with:\n        node-version: 20\n";
        let w = parse(src, true).expect("parse");
        assert_eq!(w.kind, FileKind::CompositeAction);
        assert_eq!(w.action_steps[0].input("node-version").map(|v| v.value.as_str()), Some("20"));
        assert_eq!(
            parse("runs:\n  using: node20\n  main: index.js\n", true).expect("parse").kind,
            FileKind::OtherAction
        );
    }
}
#[cfg(test)]
mod span_tests {
    #[test]
    fn scalar_ends_and_styles_follow_yaml_rules() {
        use super::ScalarStyle::*;
        let src = "a:\n    - cron: '*/5 * * * *'  # poll\n    - uses: \"a/b@v2\"   # x\n    - {uses: a/c@v4, with: {ref: \"main #1\"}}\n    - uses: >-\n        a/d@v1\n    - uses: a/e@v1 # c\n";
        let w = super::parse(src, false).expect("parse");
        let at = |needle: &str| {
            let i = src.find(needle).expect("in source");
            let s = w.scalar_at(src, i).expect("a scalar starts there");
            (&src[s.start..s.end], s.style)
        };
        assert_eq!(at("'*/5"), ("'*/5 * * * *'", SingleQuoted));
        assert_eq!(at("\"a/b"), ("\"a/b@v2\"", DoubleQuoted));
        assert_eq!(at("a/c@"), ("a/c@v4", Plain));
        assert_eq!(at("\"main #1"), ("\"main #1\"", DoubleQuoted));
        assert_eq!(at("a/d@").1, Block);
        assert_eq!(at("a/e@"), ("a/e@v1", Plain));
        let line = src.find("- {uses").expect("flow");
        assert_eq!(w.comment_after(src, line), None, "the `#` is inside a string");
        let poll = src.find("# poll").expect("comment");
        assert_eq!(w.comment_after(src, src.find("'*/5").expect("cron")), Some(poll));
    }
}
