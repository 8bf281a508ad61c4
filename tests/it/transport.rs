//! Cloning over a real network transport: `git daemon` on 127.0.0.1 with a free port.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{HEAD, Org};

pub struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Start `git-daemon` itself (not through the `git` wrapper, which would run it as a child that
/// outlives a kill of the wrapper) serving `base` on a free loopback port.
pub fn start_daemon(base: &std::path::Path) -> (Daemon, u16) {
    let port = free_port();
    let exec_path = crate::support::git(base, &["--exec-path"]);
    let child = Command::new(std::path::Path::new(exec_path.trim()).join("git-daemon"))
        .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1"])
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", base.display()))
        .arg(base)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("git daemon starts");
    let daemon = Daemon(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "git daemon did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    (daemon, port)
}

#[test]
fn fetch_and_apply_through_git_daemon() {
    let org = Org::new();
    org.repo("api", &[("README.md", "api\n")]);
    org.repo("web", &[("README.md", "web\n")]);
    org.template("ci.yml.j2", "name: {{ repo.name }}\n");
    let (_daemon, port) = start_daemon(&org.path().join("forge"));
    let manifest = HEAD.replace(
        "forge = { kind = \"local\", root = \"forge\" }",
        &format!("forge = {{ kind = \"local\", root = \"forge\", clone_url = \"git://127.0.0.1:{port}/{{owner}}/{{name}}.git\" }}"),
    );
    org.manifest(&format!("{manifest}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"ci.yml\"\n"));

    let out = org.convoy(&["fetch", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("2 repositories: 2 cloned, 0 updated, 0 up to date, 0 failed\n"), "{out:?}");
    let apply = org.convoy(&["apply", "-q"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(org.show("web", "convoy/sync", "ci.yml"), "name: web\n");
    let again = org.convoy(&["fetch", "-q"]);
    assert!(again.stdout.ends_with("0 cloned, 0 updated, 2 up to date, 0 failed\n"), "{again:?}");
}

#[test]
fn unreachable_daemon_is_a_per_repo_error() {
    let org = Org::new();
    org.repo("api", &[("README.md", "api\n")]);
    let port = free_port(); // nothing listens there
    let manifest = HEAD.replace(
        "forge = { kind = \"local\", root = \"forge\" }",
        &format!("forge = {{ kind = \"local\", root = \"forge\", clone_url = \"git://127.0.0.1:{port}/{{owner}}/{{name}}.git\" }}"),
    );
    org.manifest(&manifest);
    let out = org.convoy(&["fetch", "-q"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("error: acme/api: cannot fetch acme/api from git://127.0.0.1:{port}/acme/api.git")),
        "{out:?}"
    );
}

#[test]
fn warm_fetch_skips_the_network_for_repositories_whose_head_did_not_move() {
    let org = Org::new();
    org.repo("api", &[("README.md", "api\n")]);
    org.repo("web", &[("README.md", "web\n")]);
    let (daemon, port) = start_daemon(&org.path().join("forge"));
    let manifest = HEAD.replace(
        "forge = { kind = \"local\", root = \"forge\" }",
        &format!("forge = {{ kind = \"local\", root = \"forge\", clone_url = \"git://127.0.0.1:{port}/{{owner}}/{{name}}.git\" }}"),
    );
    org.manifest(&manifest);
    assert_eq!(org.convoy(&["fetch", "-q"]).code, 0);
    drop(daemon); // the transport is gone
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "daemon still listening");

    let out = org.convoy(&["fetch", "-q"]);
    assert_eq!(out.code, 0, "unchanged repositories need no transport: {out:?}");
    assert!(out.stdout.ends_with("0 cloned, 0 updated, 2 up to date, 0 failed\n"), "{out:?}");

    org.commit("web", &[crate::support::Entry::File("README.md", "web v2\n")], "bump");
    let out = org.convoy(&["fetch", "-q"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("error: acme/web: cannot fetch"), "{out:?}");
    assert!(out.stdout.ends_with("0 cloned, 0 updated, 1 up to date, 1 failed\n"), "{out:?}");
}

/// A server that accepts connections and never answers: the command fails within the
/// configured timeouts with a clear error, instead of waiting minutes per retry.
#[test]
fn an_api_that_never_answers_fails_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream); // keep the connection open, say nothing
        }
    });
    let org = Org::new();
    let manifest = HEAD.replace(
        "forge = { kind = \"local\", root = \"forge\" }",
        &format!("forge = {{ kind = \"github\", api_url = \"http://127.0.0.1:{port}\", read_timeout = 1, request_timeout = 2 }}"),
    );
    org.manifest(&manifest);
    let start = Instant::now();
    let out = org.convoy(&["validate"]);
    let took = start.elapsed();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("cannot list the repositories of `acme`"), "{out:?}");
    assert!(out.stderr.contains("no answer within 1 s (read_timeout)"), "{out:?}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {out:?}");
}
