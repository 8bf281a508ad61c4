//! Every environment variable convoy reads, in one place (README, "Environment").

/// Path of the org manifest when `--manifest` is not given.
pub const CONVOY_MANIFEST: &str = "CONVOY_MANIFEST";
/// `tracing` filter for diagnostics on stderr, e.g. `CONVOY_LOG=debug` or `convoy=trace`.
pub const CONVOY_LOG: &str = "CONVOY_LOG";
/// Any value turns off colour in log output (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";

/// `(name, meaning)` for `--help` and the README.
pub const ALL: &[(&str, &str)] = &[
    (CONVOY_MANIFEST, "path of org.toml when --manifest is not given"),
    (CONVOY_LOG, "log filter for stderr diagnostics (default: warn)"),
    (NO_COLOR, "disable colour in log output"),
];
