use super::*;
use crate::manifest::{PatchEntry, PatchFormat, PatchOp};

fn s(v: &str) -> serde_spanned::Spanned<String> {
    serde_spanned::Spanned::new(0..0, v.to_string())
}

fn value(v: &str) -> toml::Value {
    let t: toml::Table = toml::from_str(&format!("v = {v}")).unwrap();
    t["v"].clone()
}

fn set(path: &str, v: &str) -> PatchOp {
    PatchOp { set: Some(s(path)), value: Some(value(v)), ..PatchOp::default() }
}
fn remove(path: &str) -> PatchOp {
    PatchOp { remove: Some(s(path)), ..PatchOp::default() }
}
fn append(path: &str, v: &str) -> PatchOp {
    PatchOp { append: Some(s(path)), value: Some(value(v)), ..PatchOp::default() }
}

fn compiled(file: &str, ops: Vec<PatchOp>) -> Compiled {
    let entry = PatchEntry {
        files: vec![s(file)],
        format: None,
        ops: ops.into_iter().map(|o| serde_spanned::Spanned::new(0..0, o)).collect(),
        repos: vec![s("*")],
    };
    Compiled::new(&entry).unwrap()
}

/// The patched text; and applying again changes nothing.
fn patched(file: &str, ops: Vec<PatchOp>, text: &str) -> String {
    let c = compiled(file, ops);
    let (out, _) = c.apply(text.as_bytes()).unwrap().expect("a change");
    assert_eq!(c.apply(&out).unwrap(), None, "idempotent");
    String::from_utf8(out).unwrap()
}

const DEPENDABOT: &str = "# Dependabot, managed by hand\nversion: 2\nupdates:\n  - package-ecosystem: \"cargo\"  # crates\n    directory: /\n    schedule:\n      interval: daily # too often\n\n  - package-ecosystem: npm\n    directory: '/web'\n# the end\n";

#[test]
fn yaml_set_replaces_a_value_in_place_keeping_comments_and_quotes() {
    let out = patched("dependabot.yml", vec![set("updates[0].schedule.interval", "\"weekly\"")], DEPENDABOT);
    assert_eq!(out, DEPENDABOT.replace("interval: daily # too often", "interval: weekly # too often"));
}

#[test]
fn yaml_set_creates_missing_maps_after_the_last_sibling() {
    let out = patched(
        "dependabot.yml",
        vec![set("updates[1].schedule.interval", "\"weekly\""), set("updates[1].labels", "[\"deps\", \"on\"]")],
        DEPENDABOT,
    );
    assert_eq!(
        out,
        DEPENDABOT.replace(
            "    directory: '/web'\n",
            "    directory: '/web'\n    schedule:\n      interval: weekly\n    labels:\n      - deps\n      - \"on\"\n"
        )
    );
}

#[test]
fn yaml_remove_takes_the_entry_s_lines_only() {
    let out = patched("dependabot.yml", vec![remove("updates[0].schedule")], DEPENDABOT);
    assert_eq!(out, DEPENDABOT.replace("    schedule:\n      interval: daily # too often\n", ""));
    let out = patched("dependabot.yml", vec![remove("updates[1]")], DEPENDABOT);
    assert_eq!(out, DEPENDABOT.replace("  - package-ecosystem: npm\n    directory: '/web'\n", ""));
}

#[test]
fn yaml_append_adds_an_item_once_with_the_sibling_s_indentation_and_crlf() {
    let crlf = DEPENDABOT.replace('\n', "\r\n");
    let item = "{ package-ecosystem = \"github-actions\", directory = \"/\" }";
    let out = patched("dependabot.yml", vec![append("updates", item)], &crlf);
    // The manifest's tables reach convoy with their keys sorted (the `toml` crate's map).
    let added = "  - directory: /\r\n    package-ecosystem: github-actions\r\n";
    assert_eq!(out, crlf.replace("# the end\r\n", &format!("{added}# the end\r\n")));
    // A value that is not a sequence: a note, not a rewrite.
    let err = compiled("d.yml", vec![append("a", "1")]).apply(b"a: 1\n").unwrap_err();
    assert!(matches!(&err, PatchError::Cannot(e) if e.contains("not a sequence")), "{err:?}");
}

#[test]
fn yaml_append_to_a_flow_sequence_and_a_flow_mapping_is_a_note() {
    let text = "on:\n  push:\n    branches: [main, 'release/*'] # protected\n";
    let out = patched("ci.yml", vec![append("on.push.branches", "\"next\"")], text);
    assert_eq!(out, "on:\n  push:\n    branches: [main, 'release/*', next] # protected\n");
    let flow = "with: {a: 1}\n";
    let err = compiled("ci.yml", vec![set("with.b", "2")]).apply(flow.as_bytes()).unwrap_err();
    assert!(matches!(&err, PatchError::Cannot(e) if e.contains("flow-style")), "{err:?}");
}

#[test]
fn yaml_that_does_not_parse_is_a_parse_error() {
    let err = compiled("ci.yml", vec![set("a", "1")]).apply(b"a: [1\nb: 2\n").unwrap_err();
    assert!(matches!(err, PatchError::Parse(_)), "{err:?}");
}

const PACKAGE: &str = "{\n  // the app\n  \"name\": \"web\",\n  \"scripts\": {\n    \"test\": \"jest\",\n    \"prepublish\": \"make\"\n  },\n  \"keywords\": [\"a\"]\n}\n";

#[test]
fn json_edits_keep_comments_order_and_indentation() {
    let out = patched(
        "package.json",
        vec![
            set("scripts.lint", "\"eslint .\""),
            set("engines.node", "\">=20\""),
            remove("scripts.prepublish"),
            append("keywords", "\"convoy\""),
            set("name", "\"web-app\""),
        ],
        PACKAGE,
    );
    assert_eq!(
        out,
        "{\n  // the app\n  \"name\": \"web-app\",\n  \"scripts\": {\n    \"test\": \"jest\",\n    \"lint\": \"eslint .\"\n  },\n  \"keywords\": [\"a\", \"convoy\"],\n  \"engines\": {\n    \"node\": \">=20\"\n  }\n}\n"
    );
}

#[test]
fn json_that_does_not_parse_is_a_parse_error() {
    let err = compiled("package.json", vec![set("a", "1")]).apply(b"{\"a\": 1,, }").unwrap_err();
    assert!(matches!(err, PatchError::Parse(_)), "{err:?}");
}

const CARGO: &str = "[package]\nname = \"api\"   # the crate\nversion = \"0.1.0\"\n\n[workspace]\nmembers = [\n    \"a\",\n    \"b\",\n]\n\n[dependencies]\nserde = \"1\" # keep\n";

#[test]
fn toml_edits_keep_comments_and_layout() {
    let out = patched(
        "Cargo.toml",
        vec![
            set("package.name", "\"api2\""),
            set("package.edition", "\"2024\""),
            append("workspace.members", "\"c\""),
            remove("dependencies.serde"),
        ],
        CARGO,
    );
    assert_eq!(
        out,
        "[package]\nname = \"api2\"   # the crate\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\nmembers = [\n    \"a\",\n    \"b\",\n    \"c\",\n]\n\n[dependencies]\n"
    );
}

#[test]
fn lines_keep_crlf_and_the_final_newline_state() {
    let ensure = |l: &str| PatchOp { ensure_line: Some(s(l)), ..PatchOp::default() };
    let drop = |l: &str| PatchOp { remove_line: Some(s(l)), ..PatchOp::default() };
    let c = compiled(".gitignore", vec![ensure("target/"), drop("*.log")]);
    assert_eq!(c.format, PatchFormat::Lines);
    let (out, _) = c.apply(b"*.log\r\nnode_modules/\r\n").unwrap().unwrap();
    assert_eq!(out, b"node_modules/\r\ntarget/\r\n");
    assert_eq!(c.apply(&out).unwrap(), None);
    let (out, _) = c.apply(b"a\nb").unwrap().unwrap();
    assert_eq!(out, b"a\nb\ntarget/", "no final newline before, none after");
    assert_eq!(c.apply(b"target/\r\n").unwrap(), None, "a line's CR is not part of it");
}

#[test]
fn key_paths_parse_and_bad_ones_are_refused() {
    assert_eq!(
        parse_path("updates[0].schedule.\"a.b\"").unwrap(),
        [Seg::Key("updates".into()), Seg::Index(0), Seg::Key("schedule".into()), Seg::Key("a.b".into())]
    );
    assert_eq!(show_path(&parse_path("a[2].\"x y\"").unwrap()), "a[2].\"x y\"");
    for bad in ["", "a..b", "a.", "a[x]", "a[1", "\"a", ".a"] {
        assert!(parse_path(bad).is_err(), "{bad}");
    }
    assert!(Op::new(&PatchOp { set: Some(s("a")), ..PatchOp::default() }).unwrap_err().contains("needs a `value`"));
    assert!(Op::new(&PatchOp::default()).unwrap_err().contains("needs one of"));
}
