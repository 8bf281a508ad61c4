//! Every environment variable convoy reads, in one place (README, "Environment").

/// Path of the org manifest when `--manifest` is not given.
pub const CONVOY_MANIFEST: &str = "CONVOY_MANIFEST";
/// `tracing` filter for diagnostics on stderr, e.g. `CONVOY_LOG=debug` or `convoy=trace`.
pub const CONVOY_LOG: &str = "CONVOY_LOG";
/// Any non-empty value turns off colour under `--color auto` (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Set and not `0`: colour under `--color auto` even when the stream is not a terminal
/// (<https://bixense.com/clicolors/>); `NO_COLOR` wins over it.
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";

/// GitHub token (classic, fine-grained or installation), first choice for `kind = "github"`.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// GitHub token, used when `GITHUB_TOKEN` is unset (the `gh` CLI's variable).
pub const GH_TOKEN: &str = "GH_TOKEN";
/// PEM text of a GitHub App's private key (instead of `private_key_path` in the manifest).
pub const CONVOY_GITHUB_APP_PRIVATE_KEY: &str = "CONVOY_GITHUB_APP_PRIVATE_KEY";

/// The run identity `convoy audit --shard` records (as `--run-id`), so that `report merge`
/// refuses shards of different runs.
pub const CONVOY_RUN_ID: &str = "CONVOY_RUN_ID";
/// Set by GitHub Actions: the workflow run's id, the default run identity of `audit --shard`.
pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";

/// `1` renders templates in the convoy process instead of memory-capped render processes
/// (`render::sandbox`): for benchmarks and debugging only, since it removes the memory bound.
pub const CONVOY_RENDER_IN_PROCESS: &str = "CONVOY_RENDER_IN_PROCESS";

/// An RFC 3339 time that replaces the system clock for the whole run (`crate::clock`): soak
/// periods, hourly caps and claim leases are tested with it instead of sleeping.
pub const CONVOY_NOW: &str = "CONVOY_NOW";

/// Test only: `N` (0-based) makes the process send itself `SIGKILL` just before its N-th append
/// to a campaign journal (`journal::Journal`), counting the appends of this process: before an
/// intent's append is a crash before the forge call, before an outcome's is a forge write that
/// happened but was not recorded. `tests/it/resume.rs` kills a run at every step this way. Not
/// in `--help`: nothing but a test should set it.
pub const CONVOY_TEST_KILL_AT_JOURNAL_STEP: &str = "CONVOY_TEST_KILL_AT_JOURNAL_STEP";

/// Benchmark only: `off` runs a journaled command (`apply`, `merge`, ...) without its journal
/// and without the campaign's claim, so `bench/journal.sh` can time the journal's share of a
/// run. It says so on stderr; it removes the record and the exclusion a real run needs. Not in
/// `--help`.
pub const CONVOY_TEST_JOURNAL: &str = "CONVOY_TEST_JOURNAL";

/// `(name, meaning)` for `--help` and the README (the test-only variables above are left out).
pub const ALL: &[(&str, &str)] = &[
    (CONVOY_MANIFEST, "path of org.toml when --manifest is not given"),
    (CONVOY_LOG, "log filter for stderr diagnostics (default: warn; error with -q)"),
    (NO_COLOR, "non-empty: no colour with --color auto"),
    (CLICOLOR_FORCE, "set and not 0: colour with --color auto even in pipes (NO_COLOR wins)"),
    (GITHUB_TOKEN, "GitHub token for kind = \"github\" (checked first)"),
    (GH_TOKEN, "GitHub token, when GITHUB_TOKEN is unset"),
    (CONVOY_GITHUB_APP_PRIVATE_KEY, "PEM of the GitHub App key, instead of private_key_path"),
    (CONVOY_RUN_ID, "run identity recorded by audit --shard (as --run-id), checked by report merge"),
    (GITHUB_RUN_ID, "set by GitHub Actions: the default run identity of audit --shard"),
    (CONVOY_NOW, "RFC 3339 time used instead of the system clock (tests, dry runs of soak periods)"),
    (CONVOY_RENDER_IN_PROCESS, "1: render templates without the memory-capped render process (benchmarks, debugging)"),
];
