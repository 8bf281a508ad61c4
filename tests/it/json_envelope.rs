//! One JSON envelope for every command: each command's `--json` output, on a fresh demo org and
//! against the GitHub test server, validates against its published schema in `docs/schemas/`,
//! and every subcommand of the CLI either has a schema or refuses `--json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use clap::CommandFactory;
use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};
use serde_json::Value;

use crate::support::{Org, Output, convoy_in};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas")
}

fn schema_file(command: &str) -> PathBuf {
    schemas_dir().join(format!("{}.schema.json", command.replace(' ', "-")))
}

/// `doc` against the schema of `command` (which `$ref`s the envelope schema by its `$id`);
/// every violation, with where it is.
fn violations(command: &str, doc: &Value) -> Vec<String> {
    let read = |p: PathBuf| -> Value { serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap() };
    let envelope = read(schemas_dir().join("envelope.schema.json"));
    let id = envelope["$id"].as_str().unwrap().to_string();
    let registry = jsonschema::Registry::new().add(&id, envelope).unwrap().prepare().unwrap();
    let schema = read(schema_file(command));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{command}: the schema does not compile: {e}"));
    validator.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// The one JSON line of `out`, checked against the schema of `command`.
#[track_caller]
fn checked(command: &str, out: &Output) -> Value {
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{command}: one JSON line on stdout\n{out:?}");
    let doc: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{command}: {e}\n{out:?}"));
    assert_eq!(doc["command"], command, "{out:?}");
    assert_eq!(doc["schema_version"], 2);
    let problems = violations(command, &doc);
    assert!(problems.is_empty(), "{command}: the document breaks its schema:\n{}\n{doc:#}", problems.join("\n"));
    doc
}

fn demo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = convoy_in(tmp.path(), &["demo", "-q"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let manifest = tmp.path().join("convoy-demo/org.toml");
    (tmp, manifest)
}

fn on_demo(tmp: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-m", "convoy-demo/org.toml", "--json"];
    all.extend_from_slice(args);
    convoy_in(tmp, &all, &[("CONVOY_RUN_ID", "envelope-test")])
}

#[test]
fn every_command_on_the_demo_prints_the_envelope_of_its_schema() {
    let (tmp, _) = demo();
    let dir = tmp.path();
    // (command path, arguments, exit codes it may end with on the demo)
    let runs: &[(&str, &[&str])] = &[
        ("validate", &["validate"]),
        ("fetch", &["fetch"]),
        ("plan", &["plan"]),
        ("apply", &["apply"]),
        ("status", &["status"]),
        ("merge", &["merge", "--dry-run"]),
        ("close", &["close", "--dry-run"]),
        ("rollback", &["rollback", "--dry-run"]),
        ("rollout status", &["rollout", "status"]),
        ("rollout advance", &["rollout", "advance", "--dry-run"]),
        ("rollout approve", &["rollout", "approve", "pilot"]),
        ("rollout resume", &["rollout", "resume"]),
        ("forge set-status", &["forge", "set-status", "--state", "success"]),
        ("audit", &["audit", "--fail-on", "never"]),
        ("cost", &["cost"]),
        ("deps skew", &["deps", "skew"]),
        ("deps actions", &["deps", "actions"]),
        ("deps align", &["deps", "align"]),
        ("release graph", &["release", "graph"]),
        ("release plan", &["release", "plan"]),
        ("release run", &["release", "run", "--dry-run"]),
        ("release rollback", &["release", "rollback", "--dry-run"]),
        ("journal verify", &["journal", "verify"]),
        ("run", &["run", "--", "true"]),
        ("grep", &["grep", "name:"]),
    ];
    for (command, args) in runs {
        let out = on_demo(dir, args);
        assert!(out.code == 0 || out.code == 1 || out.code == 2, "{command}: {out:?}");
        let doc = checked(command, &out);
        // Every per-repository command covers the demo's selected repositories (the archived
        // one is skipped and never also a result or an error).
        if doc["summary"].get("repos").is_some() && doc.get("ok").is_none() {
            let named: Vec<&str> = doc["results"]
                .as_array()
                .unwrap()
                .iter()
                .chain(doc["errors"].as_array().unwrap())
                .filter_map(|r| r["repo"].as_str())
                .collect();
            assert!(!named.contains(&"acme/legacy-tool"), "{command}: {doc}");
        }
    }
    // An audit's JSON is the input of `report merge`, which prints the same shape.
    let out = on_demo(dir, &["audit", "--fail-on", "never", "--output", "audit.json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let audit: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("audit.json")).unwrap()).unwrap();
    assert!(violations("audit", &audit).is_empty());
    let merged = checked("report merge", &on_demo(dir, &["report", "merge", "--fail-on", "never", "audit.json"]));
    assert_eq!(merged["results"], audit["results"], "merging one whole report keeps its findings");
    assert_eq!(merged["summary"]["findings"], audit["summary"]["findings"]);
    assert!(audit["summary"]["findings"].as_u64().unwrap() > 0, "the demo has findings: {audit}");
}

#[test]
fn a_manifest_error_is_the_failure_envelope_with_its_position() {
    let org = Org::new();
    org.repo("api", &[("README.md", "hi\n")]).manifest(&format!(
        "{}\n[[template]]\nsource = \"ci.yml.j2\"\ndest = \"ci.yml\"\nonly = [\"group:nope\"]\n",
        crate::support::HEAD
    ));
    let out = org.convoy(&["--json", "validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    let doc = checked("validate", &out);
    assert_eq!((doc["ok"].clone(), doc["exit_code"].clone()), (Value::Bool(false), Value::from(2)));
    assert_eq!(doc["results"], serde_json::json!([]));
    let e = &doc["errors"][0];
    assert!(e["file"].as_str().unwrap().ends_with("org.toml"), "{doc}");
    assert!(e["line"].as_u64().unwrap() > 1 && e["column"].as_u64().unwrap() >= 1, "{doc}");
    assert!(out.stderr.contains("error"), "the text goes to stderr too: {out:?}");
}

#[test]
fn a_repository_that_fails_is_an_error_with_its_repo_not_a_result() {
    let org = Org::new();
    org.repo("api", &[("README.md", "hi\n")]).repo("web", &[("README.md", "hi\n")]);
    org.file("x", "x\n").manifest(&format!("{}\n[[file]]\nsource = \"x\"\ndest = \"x\"\n", crate::support::HEAD));
    // A repository the listing names but whose bare repository is not a git repository.
    let broken = org.bare("web");
    std::fs::remove_dir_all(broken.join("objects")).unwrap();
    let out = org.convoy(&["--json", "plan"]);
    assert_eq!(out.code, 1, "{out:?}");
    let doc = checked("plan", &out);
    assert_eq!(doc["summary"]["failed"], 1, "{doc}");
    assert_eq!(doc["summary"]["repos"], 2, "{doc}");
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{doc}");
    assert_eq!(errors[0]["repo"], "acme/web");
    let results: Vec<&str> = doc["results"].as_array().unwrap().iter().map(|r| r["repo"].as_str().unwrap()).collect();
    assert_eq!(results, ["acme/api"]);
}

#[test]
fn a_refused_command_line_is_the_failure_envelope_too() {
    let tmp = tempfile::tempdir().unwrap();
    let out = convoy_in(tmp.path(), &["--json", "plan", "--no-such-flag"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let doc = checked("plan", &out);
    assert_eq!(doc["exit_code"], 2);
    assert!(doc["errors"][0]["message"].as_str().unwrap().contains("--no-such-flag"), "{doc}");
    // Without --json, clap's message only.
    let out = convoy_in(tmp.path(), &["plan", "--no-such-flag"], &[]);
    assert_eq!((out.code, out.stdout.as_str()), (2, ""));
}

/// Commands whose output is for people or for files: `--json` is a usage error (exit 2).
const NO_JSON: &[&str] = &["demo", "init", "schema", "completions", "man"];

/// Every subcommand (leaf of the clap tree) has a schema file, or refuses `--json`; and every
/// schema file belongs to a subcommand. So a new subcommand cannot ship without its schema.
#[test]
fn every_subcommand_has_a_schema_or_refuses_json() {
    fn leaves(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|s| s.get_name() != "help").collect();
        if subs.is_empty() {
            out.push(prefix.trim().to_string());
        }
        for s in subs {
            leaves(s, &format!("{prefix} {}", s.get_name()), out);
        }
    }
    let root = convoy::cli::Cli::command();
    assert!(root.get_arguments().any(|a| a.get_id() == "json" && a.is_global_set()), "--json is global");
    let mut commands = Vec::new();
    leaves(&root, "", &mut commands);
    let tmp = tempfile::tempdir().unwrap();
    for command in &commands {
        if NO_JSON.contains(&command.as_str()) {
            let mut args = vec!["--json"];
            args.extend(command.split(' '));
            args.extend(match command.as_str() {
                "completions" => &["bash"][..],
                "init" => &["--org", "acme"][..],
                _ => &[][..],
            });
            let out = convoy_in(tmp.path(), &args, &[]);
            assert_eq!(out.code, 2, "{command} --json: {out:?}");
            assert_eq!(checked_envelope(&out)["command"], command.as_str());
            assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "{command} --json wrote nothing");
        } else {
            assert!(
                schema_file(command).is_file(),
                "`convoy {command}` takes --json but has no {:?}",
                schema_file(command)
            );
        }
    }
    for entry in std::fs::read_dir(schemas_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_end_matches(".schema.json");
        assert!(
            stem == "envelope" || commands.iter().any(|c| c.replace(' ', "-") == stem),
            "docs/schemas/{name} belongs to no subcommand"
        );
    }
}

/// The one line of `out` against the envelope schema alone (any command).
fn checked_envelope(out: &Output) -> Value {
    let doc: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{out:?}"));
    let envelope: Value =
        serde_json::from_str(&std::fs::read_to_string(schemas_dir().join("envelope.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&envelope).unwrap();
    let problems: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(problems.is_empty(), "{}\n{doc}", problems.join("\n"));
    doc
}

const TOKEN: &str = "ghp_convoyENVELOPEtoken0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_github_the_envelope_carries_the_api_usage() {
    let server = TestServer::start(ServerConfig { require_auth: true, ..Default::default() }).await.unwrap();
    server.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into(), "workflow".into()] });
    for name in ["api", "web"] {
        server.create_repo("acme", name, &[("README.md", b"# hi\n" as &[u8])], RepoOptions::default());
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("files/x"), "x\n").unwrap();
    std::fs::write(
        dir.path().join("org.toml"),
        format!(
            "[org]\nname = \"acme\"\ncache_dir = \"cache\"\n\n[org.forge]\nkind = \"github\"\napi_url = \"{}\"\n\n[[repo]]\nname = \"acme/*\"\n\n[[file]]\nsource = \"x\"\ndest = \"x\"\n",
            server.api_url()
        ),
    )
    .unwrap();
    for (command, args) in [
        ("plan", &["plan"][..]),
        ("apply", &["apply"][..]),
        ("status", &["status"][..]),
        ("auth status", &["auth", "status"][..]),
    ] {
        let mut cmd = Command::new(cargo_bin("convoy"));
        cmd.arg("-m").arg(dir.path().join("org.toml")).arg("--json").args(args).current_dir(dir.path());
        cmd.env_remove("GH_TOKEN")
            .env_remove("CONVOY_LOG")
            .env("GITHUB_TOKEN", TOKEN)
            .env("CONVOY_RUN_ID", "gh-envelope");
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
        let out = Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(out.code, 0, "{command}: {out:?}");
        let doc = checked(command, &out);
        assert_eq!(doc["api"]["kind"], "github", "{command}: {doc}");
        assert!(doc["api"]["requests"].as_u64().unwrap() > 0, "{command}: {doc}");
        assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN), "the token is never printed");
        if command == "apply" {
            assert_eq!(doc["summary"]["opened"], 2, "{doc}");
            assert!(doc["api"]["writes"].as_u64().unwrap() > 0, "{doc}");
        }
    }
}

/// `validate --offline` with no saved listing: the checks that need no forge, and `unchecked`
/// saying what is left, in the validate schema; nothing is sent (the API address is closed).
#[test]
fn validate_offline_without_a_listing_names_what_it_left_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("files/x"), "x\n").unwrap();
    std::fs::write(
        dir.path().join("org.toml"),
        "[org]\nname = \"acme\"\n\n[org.forge]\nkind = \"github\"\napi_url = \"http://127.0.0.1:9/api/v3\"\n\n[[repo]]\nname = \"acme/*\"\n\n[[file]]\nsource = \"x\"\ndest = \"x\"\n",
    )
    .unwrap();
    let out = convoy_in(dir.path(), &["--json", "validate", "--offline"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = checked("validate", &out);
    assert!(doc["unchecked"].as_str().unwrap().starts_with("selectors, branch names"), "{doc}");
    assert_eq!(doc["summary"]["files"], 1, "{doc}");
    assert!(doc["api"].is_null(), "{doc}");
}
