//! org.toml's JSON Schema (`convoy schema`) agrees with the loader: every manifest the repository
//! ships or documents satisfies it, and manifests the loader refuses for an unknown key, a wrong
//! type or an unknown value are refused by it too. The schema is the binary's own output,
//! validated with the `jsonschema` crate as draft 7 (what it declares).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde_json::Value;

use crate::docs::{NOT_A_MANIFEST, all_blocks, manifest_text};
use crate::support::{HEAD, convoy_in};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `convoy schema` prints.
static PRINTED: LazyLock<String> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let out = convoy_in(dir.path(), &["schema"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    out.stdout
});

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(&PRINTED).expect("convoy schema prints JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(jsonschema::draft7::meta::is_valid(&schema), "not a valid draft-7 schema");
    jsonschema::draft7::new(&schema).expect("the schema compiles")
});

/// The manifest as the JSON document the schema describes (TOML → `toml::Value` → JSON).
fn as_json(toml_text: &str) -> Value {
    let value: toml::Value = toml::from_str(toml_text).unwrap_or_else(|e| panic!("not TOML: {e}\n{toml_text}"));
    serde_json::to_value(value).unwrap()
}

/// The schema's complaints about `toml_text`, one line each (empty: valid).
fn schema_errors(toml_text: &str) -> Vec<String> {
    let doc = as_json(toml_text);
    VALIDATOR.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// A folder in which the manifests of the docs and of `support::HEAD` load: the project's
/// templates and files, an empty local forge `forge/acme` (as `docs.rs` sets up).
fn org_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["templates", "files"] {
        copy_dir(&root().join(sub), &dir.path().join(sub));
    }
    std::fs::create_dir_all(dir.path().join("forge").join("acme")).unwrap();
    std::fs::create_dir_all(dir.path().join("files").join("ci-kit")).unwrap();
    std::fs::write(dir.path().join("files").join("ci-kit").join("lint.sh"), "#!/bin/sh\n").unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Why the loader refuses `text` in `dir`, or `None` when it loads.
fn loader_error(dir: &Path, text: &str) -> Option<String> {
    convoy::manifest::load_str(&dir.join("org.toml"), text.to_string()).err().map(|e| e.to_string())
}

#[test]
fn committed_schema_is_what_convoy_schema_prints() {
    let committed = std::fs::read_to_string(root().join("docs/org.schema.json")).unwrap_or_default();
    assert!(
        committed == *PRINTED,
        "docs/org.schema.json is not what `convoy schema` prints (a manifest type or its doc comments changed)\n  \
         fix: cargo run -- schema -o docs/org.schema.json"
    );
}

#[test]
fn schema_output_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = convoy_in(dir.path(), &["schema", "-o", "org.schema.json"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "wrote the schema of org.toml to org.schema.json\n");
    assert_eq!(std::fs::read_to_string(dir.path().join("org.schema.json")).unwrap(), *PRINTED);

    // A folder that does not exist: an error, and no file.
    let out = convoy_in(dir.path(), &["schema", "--output", "missing/org.schema.json"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("error: cannot write missing/org.schema.json: "), "{out:?}");
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn schema_describes_keys_defaults_and_values() {
    let schema: Value = serde_json::from_str(&PRINTED).unwrap();
    let defs = &schema["definitions"];
    // Doc comments are descriptions, for editors' hover text.
    assert!(
        defs["Org"]["properties"]["jobs"]["description"].as_str().unwrap().starts_with("How many repositories"),
        "{:#}",
        defs["Org"]
    );
    // Defaults from serde, without the `null` of unset options.
    assert_eq!(defs["Org"]["properties"]["jobs"]["default"], 8);
    assert_eq!(defs["Campaign"]["properties"]["branch"]["default"], "convoy/sync");
    assert_eq!(defs["ForgeConfig"]["properties"]["writes_per_hour"]["default"], 400);
    assert!(!PRINTED.contains("null"), "TOML has no null");
    // Strict tables.
    for name in ["Org", "ForgeConfig", "RepoRule", "Campaign", "Wave", "PatchOp", "GateConfig"] {
        assert_eq!(defs[name]["additionalProperties"], false, "{name}");
    }
    assert_eq!(schema["additionalProperties"], false);
    // Spanned fields are described as their value.
    assert_eq!(defs["TemplateEntry"]["properties"]["dest"]["type"], "string");
    assert_eq!(defs["TemplateEntry"]["required"], serde_json::json!(["source", "dest"]));
    // `[policy.rules]` lists each rule with its own options only.
    let rules = &defs["PolicyConfig"]["properties"]["rules"]["properties"];
    assert!(rules["timeout"]["properties"]["max_minutes"].is_object());
    assert!(rules["timeout"]["properties"]["allow"].is_null());
    assert!(rules["unpinned-actions"]["properties"]["allow"].is_object());
    assert!(rules["invalid-workflow"]["properties"]["severity"].is_object());
}

#[test]
fn the_example_org_and_every_documented_manifest_satisfy_the_schema() {
    let errors = schema_errors(&std::fs::read_to_string(root().join("org.toml")).unwrap());
    assert!(errors.is_empty(), "org.toml:\n{}", errors.join("\n"));
    assert!(schema_errors(HEAD).is_empty());

    let (mut checked, mut failures) = (0, Vec::new());
    for b in all_blocks().into_iter().filter(|b| b.lang == "toml") {
        if b.marker.as_deref() == Some(NOT_A_MANIFEST) {
            continue;
        }
        // docs.rs checks that each of these loads.
        let errors = schema_errors(&manifest_text(&b.text));
        checked += 1;
        if !errors.is_empty() {
            failures.push(format!("{}:\n  {}", b.at(), errors.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "manifests the loader accepts but the schema refuses:\n{}", failures.join("\n"));
    assert!(checked >= 18, "the docs' manifests at least: {checked}");
}

#[test]
fn init_writes_the_schema_and_a_manifest_that_satisfies_it() {
    for forge in ["local", "github"] {
        let dir = tempfile::tempdir().unwrap();
        let out = convoy_in(dir.path(), &["init", "--forge", forge, "--org", "acme"], &[]);
        assert_eq!(out.code, 0, "{forge}: {out:?}");
        assert_eq!(std::fs::read_to_string(dir.path().join("org.schema.json")).unwrap(), *PRINTED, "{forge}");
        let text = std::fs::read_to_string(dir.path().join("org.toml")).unwrap();
        assert_eq!(text.lines().next(), Some("#:schema ./org.schema.json"), "{forge}");
        // The loader takes the directive as the comment it is (init loaded it too).
        assert_eq!(loader_error(dir.path(), &text), None, "{forge}");
        let errors = schema_errors(&text);
        assert!(errors.is_empty(), "{forge}: {}", errors.join("\n"));
    }
}

/// Each case is [`HEAD`] with one change that the loader refuses while parsing: the schema must
/// refuse it as well. `HEAD` itself is accepted by both, so each refusal is the change's.
#[test]
fn manifests_the_loader_refuses_for_a_key_type_or_value_are_refused_by_the_schema() {
    let dir = org_dir();
    assert_eq!(loader_error(dir.path(), HEAD), None);
    let head_with =
        |org_extra: &str, tail: &str| HEAD.replacen("jobs = 2\n", &format!("jobs = 2\n{org_extra}"), 1) + "\n" + tail;
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown top-level table", head_with("", "[campaing]\nbranch = \"x\"\n"), "unknown field `campaing`"),
        ("unknown key in [org]", head_with("job = 3\n", ""), "unknown field `job`"),
        (
            "unknown key in the forge",
            HEAD.replace("root = \"forge\" }", "root = \"forge\", token = \"x\" }"),
            "unknown field `token`",
        ),
        (
            "unknown key in [[repo]]",
            HEAD.replace("name = \"acme/*\"", "name = \"acme/*\"\ntag = [\"x\"]"),
            "unknown field `tag`",
        ),
        (
            "unknown key in [[patch.op]]",
            head_with("", "[[patch]]\nfiles = [\"a.json\"]\n[[patch.op]]\nput = \"a\"\nvalue = 1\n"),
            "unknown field `put`",
        ),
        (
            "unknown policy rule",
            head_with("", "[policy.rules.timeouts]\nmax_minutes = 60\n"),
            "unknown policy rule `timeouts`",
        ),
        (
            "option of another rule",
            head_with("", "[policy.rules.timeout]\nmin_interval_minutes = 60\n"),
            "`min_interval_minutes` is not an option of rule `timeout`",
        ),
        (
            "string for a number",
            head_with("", "").replace("jobs = 2", "jobs = \"two\""),
            "invalid type: string \"two\"",
        ),
        ("negative count", head_with("", "").replace("jobs = 2", "jobs = -1"), "invalid value: integer `-1`"),
        ("zero jobs", head_with("", "").replace("jobs = 2", "jobs = 0"), "`org.jobs` must be at least 1"),
        ("string for a bool", head_with("", "[campaign]\ndraft = \"yes\"\n"), "invalid type: string \"yes\""),
        ("string for a list", head_with("", "[campaign]\nlabels = \"convoy\"\n"), "invalid type: string \"convoy\""),
        ("table for a string", head_with("", "[campaign]\ntitle = { text = \"x\" }\n"), "invalid type: map"),
        ("unknown forge kind", HEAD.replace("kind = \"local\"", "kind = \"gitlab\""), "unknown variant `gitlab`"),
        (
            "unknown merge method",
            head_with("", "[campaign]\nauto_merge = \"fast-forward\"\n"),
            "unknown variant `fast-forward`",
        ),
        (
            "unknown conflict strategy",
            head_with("", "[campaign]\nconflict_strategy = \"merge\"\n"),
            "unknown variant `merge`",
        ),
        (
            "unknown gate requirement",
            head_with("", "[[wave]]\nname = \"all\"\nrest = true\nrequire = \"approved\"\n"),
            "unknown variant `approved`",
        ),
        ("unknown on_halt", head_with("", "[rollout]\non_halt = \"pause\"\n"), "unknown variant `pause`"),
        (
            "unknown file mode",
            head_with("", "[[file]]\nsource = \"editorconfig\"\ndest = \".editorconfig\"\nmode = \"100600\"\n"),
            "unknown variant `100600`",
        ),
        (
            "unknown patch format",
            head_with("", "[[patch]]\nfiles = [\"a.ini\"]\nformat = \"ini\"\n"),
            "unknown variant `ini`",
        ),
        (
            "unknown severity",
            head_with("", "[policy.rules.timeout]\nseverity = \"fatal\"\n"),
            "unknown variant `fatal`",
        ),
        ("unknown release mode", head_with("", "[release]\nmode = \"push\"\n"), "unknown variant `push`"),
        ("unknown gate kind", head_with("", "[release.gate]\nkind = \"manual\"\n"), "unknown variant `manual`"),
        ("missing required key", head_with("", "[[template]]\nsource = \"rust-ci.yml.j2\"\n"), "missing field `dest`"),
    ];
    let mut failures = Vec::new();
    for (what, text, loader_says) in &cases {
        match loader_error(dir.path(), text) {
            Some(e) if e.contains(loader_says) => {}
            other => failures.push(format!("{what}: the loader should say `{loader_says}`, got {other:?}\n{text}")),
        }
        if schema_errors(text).is_empty() {
            failures.push(format!("{what}: the schema accepts what the loader refuses:\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn validate_notes_an_org_schema_json_this_version_would_not_write() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(convoy_in(dir.path(), &["init", "--org", "acme"], &[]).code, 0);
    let out = convoy_in(dir.path(), &["validate"], &[]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");

    // As an older convoy would have left it.
    std::fs::write(dir.path().join("org.schema.json"), "{}\n").unwrap();
    let out = convoy_in(dir.path(), &["validate"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        "note: org.schema.json is not the schema of this convoy version, so editors check org.toml against old rules\n  help: run `convoy schema -o org.schema.json` to refresh it\n"
    );

    let out = convoy_in(dir.path(), &["schema", "-o", "org.schema.json"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = convoy_in(dir.path(), &["validate"], &[]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}
