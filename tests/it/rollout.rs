//! `convoy rollout` on the local forge: three waves, a gate that holds, soak with the injected
//! clock, a halt past the failure ratio that rolls the campaign back (open PRs closed, merged
//! ones reverted), resume.

use crate::support::{HEAD, Org, row};

fn org() -> Org {
    let org = Org::new();
    for name in ["api", "web", "docs", "tools", "site"] {
        org.repo(name, &[("README.md", &format!("{name}\n"))]);
    }
    org.template("ci.yml.j2", "name: ci\non: push\n# {{ repo.full_name }}\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n\
         [campaign]\nbranch = \"convoy/ci\"\n\n\
         [rollout]\nsoak = \"1h\"\n\n\
         [[wave]]\nname = \"pilot\"\nrepos = [\"api\"]\n\n\
         [[wave]]\nname = \"early\"\nrepos = [\"web\", \"docs\"]\nrequire = \"checks-green\"\nmax_failure_ratio = 0.4\non_halt = \"rollback\"\n\n\
         [[wave]]\nname = \"rest\"\nrest = true\n"
    ));
    org
}

const T0: &str = "2026-11-29T10:00:00Z";
const T1: &str = "2026-11-29T10:30:00Z";
const T2: &str = "2026-11-29T12:00:00Z";

#[test]
fn waves_advance_behind_their_gates_and_a_failing_wave_halts_and_rolls_back() {
    let org = org();
    let at = |t: &'static str| [("CONVOY_NOW", t)];

    // Wave 1: the pilot is applied, nothing else.
    let out = org.convoy_env(&["rollout", "advance", "-q"], &at(T0));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(org.pulls("api").len(), 1, "{out:?}");
    assert!(org.pulls("web").is_empty() && org.pulls("site").is_empty(), "{out:?}");

    // The pilot's gate (merged) holds: a second run writes nothing and says why.
    let state = org.path().join(".convoy/campaigns/convoy~ci/rollout.json");
    let before = std::fs::read(&state).unwrap();
    let out = org.convoy_env(&["rollout", "advance", "-q"], &at(T0));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("waiting: wave `pilot` waits: acme/api: PR #1 is not merged (no checks yet)"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(&state).unwrap(), before, "nothing to do writes nothing");

    // Green checks and a merge; then the soak (1h after the merge) holds, until it is over.
    org.convoy(&["forge", "set-status", "-q", "--repo", "api", "--state", "success"]);
    assert_eq!(org.convoy_env(&["merge", "-q"], &at(T0)).code, 0);
    let out = org.convoy_env(&["rollout", "advance", "-q"], &at(T1));
    assert!(out.stdout.contains("soak: 30m left of 1h"), "{out:?}");
    let status = org.convoy_env(&["rollout", "status"], &at(T1));
    assert!(row(&status.stdout, "pilot").starts_with("pilot waiting 1/1 0 1 0 0 soak: 30m left of 1h"), "{status:?}");
    assert!(row(&status.stdout, "early").starts_with("early not started 0/2"), "{status:?}");
    let out = org.convoy_env(&["rollout", "advance", "-q", "--dry-run"], &at(T2));
    assert!(out.stdout.contains("next: apply wave `early` to 2 repositories: acme/docs, acme/web (dry run"), "{out:?}");
    assert!(org.pulls("web").is_empty(), "a dry run writes nothing");
    let out = org.convoy_env(&["rollout", "advance", "-q"], &at(T2));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(org.pulls("web").len(), 1);
    assert_eq!(org.pulls("docs").len(), 1);
    assert!(org.pulls("site").is_empty());
    let status = org.convoy(&["status"]);
    assert!(row(&status.stdout, "acme/web").contains(" early "), "the status shows the wave: {status:?}");

    // Wave 2: one of two fails (50% > 40%): halt, and roll the wave back.
    org.convoy(&["forge", "set-status", "-q", "--repo", "web", "--state", "success"]);
    org.convoy(&["forge", "set-status", "-q", "--repo", "docs", "--state", "failure"]);
    let out = org.convoy_env(&["rollout", "advance", "-q"], &at(T2));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "halted at wave `early`: 1 of 2 pull requests of wave `early` failed (50%, more than max_failure_ratio 0.4)"
        ),
        "{out:?}"
    );
    assert_eq!(org.pulls("web")[0]["state"], "closed");
    assert_eq!(org.pulls("docs")[0]["state"], "closed");
    assert_eq!(org.branch_head("web", "convoy/ci"), None);
    assert_eq!(org.pulls("api")[0]["state"], "merged", "a merged PR stays merged");
    assert_eq!(org.pulls("api")[1]["head"], "revert-1-convoy/ci", "and gets a revert PR: {out:?}");
    assert_eq!(org.pulls("api")[1]["state"], "open");
    assert!(org.pulls("site").is_empty(), "the next wave never started");

    // A halted campaign does nothing until resumed.
    let out = org.convoy_env(&["rollout", "advance", "-q"], &at(T2));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("halted and rolled back"), "{out:?}");
    assert!(org.pulls("site").is_empty());
    let out = org.convoy(&["rollout", "resume", "-q"]);
    assert!(out.stdout.contains("resumed: the halt at wave `early`"), "{out:?}");
    let out = org.convoy_env(&["rollout", "advance", "-q"], &at(T2));
    assert_eq!(out.code, 0, "after resume the rollout starts again from the first wave: {out:?}");
}

#[test]
fn waves_are_checked_where_they_are_written() {
    let org = Org::new();
    org.repo("api", &[("README.md", "x\n")]);
    org.manifest(&format!(
        "{HEAD}\n[[wave]]\nname = \"all\"\nrest = true\nsoak = \"soon\"\n\n[[wave]]\nname = \"late\"\nrepos = [\"api\"]\nmax_failure_ratio = 2.0\n"
    ));
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("org.toml:13:8: invalid `soak`: `soon` is not a duration"), "{out:?}");
    assert!(out.stderr.contains("wave `all` takes the rest, so it must be the last wave"), "{out:?}");
    assert!(out.stderr.contains("`max_failure_ratio` must be between 0 and 1"), "{out:?}");
    let none = Org::new();
    none.repo("api", &[("README.md", "x\n")]);
    none.manifest(HEAD);
    let out = none.convoy(&["rollout", "advance"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("the manifest has no [[wave]]"), "{out:?}");
}

/// A live claim of another run stops `advance` with exit 3 and the holder's name; an expired
/// one is taken over with a warning.
#[test]
fn advance_takes_the_campaigns_claim() {
    let org = org();
    let dir = org.path().join(".convoy/campaigns/convoy~ci");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("claim.json"),
        r#"{"v":1,"campaign":"convoy/ci","holder":"ana","host":"ci-7","pid":4242,"run":"run-9","acquired_at":"2026-11-29T09:50:00Z","expires_at":"2026-11-29T10:20:00Z"}"#,
    )
    .unwrap();
    let out = org.convoy_env(&["rollout", "advance", "-q"], &[("CONVOY_NOW", T0)]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("ana") && out.stderr.contains("run-9"), "{out:?}");
    assert!(org.pulls("api").is_empty(), "the loser writes nothing");
    let out = org.convoy_env(&["rollout", "advance"], &[("CONVOY_NOW", T1)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("took over the expired claim of run run-9"), "{out:?}");
    assert_eq!(org.pulls("api").len(), 1);
    assert!(!dir.join("claim.json").exists(), "released at the end");
}
