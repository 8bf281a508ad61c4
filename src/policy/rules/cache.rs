//! `cache`: a build or test job of a known ecosystem (Cargo, npm/pnpm/yarn, pip/poetry/uv, Go)
//! that caches nothing downloads and builds its dependencies from scratch on every run; a cache
//! whose key is not derived from the lockfile restores stale dependencies or never hits.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::workflow::{Job, Step};

pub struct Cache;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ecosystem {
    Cargo,
    Node,
    Python,
    Go,
}

impl Ecosystem {
    fn name(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "Cargo",
            Ecosystem::Node => "npm/pnpm/yarn",
            Ecosystem::Python => "pip/poetry/uv",
            Ecosystem::Go => "Go",
        }
    }
    fn lockfiles(self) -> &'static [&'static str] {
        match self {
            Ecosystem::Cargo => &["Cargo.lock"],
            Ecosystem::Node => &["package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock"],
            Ecosystem::Python => &["requirements", "poetry.lock", "uv.lock", "Pipfile.lock", "pyproject.toml"],
            Ecosystem::Go => &["go.sum"],
        }
    }
    /// Path fragments of the folders a dependency cache of this ecosystem holds.
    fn cache_dirs(self) -> &'static [&'static str] {
        match self {
            Ecosystem::Cargo => &[".cargo", "target"],
            Ecosystem::Node => &["node_modules", ".npm", "npm-cache", "pnpm", "yarn"],
            Ecosystem::Python => &["pip", "pypoetry", "uv", ".venv", "virtualenvs"],
            Ecosystem::Go => &["go/pkg/mod", "go-build"],
        }
    }
    fn hint(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "add `Swatinem/rust-cache` (keyed on Cargo.lock) after the toolchain step",
            Ecosystem::Node => "set `cache: npm` (or pnpm/yarn) on `actions/setup-node`",
            Ecosystem::Python => {
                "set `cache: pip` (or poetry) on `actions/setup-python`, or `enable-cache: true` on setup-uv"
            }
            Ecosystem::Go => "use `actions/setup-go` v4 or later, which caches on go.sum",
        }
    }
}

/// The ecosystems a shell script builds or tests with.
fn ecosystems_of(run: &str) -> Vec<Ecosystem> {
    let mut out = Vec::new();
    for line in run.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            let found = match (pair[0], pair[1]) {
                ("cargo", "build" | "test" | "clippy" | "check" | "nextest" | "doc" | "bench" | "run") => {
                    Some(Ecosystem::Cargo)
                }
                ("npm", "ci" | "install" | "i" | "test" | "run") => Some(Ecosystem::Node),
                ("pnpm", "install" | "i" | "test" | "run" | "build") => Some(Ecosystem::Node),
                ("yarn", "install" | "test" | "build" | "run") => Some(Ecosystem::Node),
                ("pip" | "pip3", "install") => Some(Ecosystem::Python),
                ("poetry", "install") => Some(Ecosystem::Python),
                ("uv", "sync" | "pip" | "run") => Some(Ecosystem::Python),
                ("go", "build" | "test" | "vet") => Some(Ecosystem::Go),
                _ => None,
            };
            if let Some(e) = found
                && !out.contains(&e)
            {
                out.push(e);
            }
        }
    }
    out
}

/// Whether `step` caches `eco`'s dependencies by itself (setup actions with caching built in).
fn caches_by_itself(step: &Step, eco: Ecosystem) -> bool {
    let Some(action) = step.action() else { return false };
    let input = |name: &str| step.input(name).map(|v| v.value.trim().to_ascii_lowercase());
    match (eco, action.as_str()) {
        (Ecosystem::Cargo, "swatinem/rust-cache" | "mozilla-actions/sccache-action") => true,
        (Ecosystem::Node, "actions/setup-node") => input("cache").is_some_and(|v| !v.is_empty()),
        (Ecosystem::Python, "actions/setup-python") => input("cache").is_some_and(|v| !v.is_empty()),
        (Ecosystem::Python, "astral-sh/setup-uv") => input("enable-cache").is_none_or(|v| v != "false"),
        // setup-go caches by default from v4 on.
        (Ecosystem::Go, "actions/setup-go") => {
            let major = step
                .uses
                .as_ref()
                .and_then(|u| u.value.split('@').nth(1))
                .and_then(|r| r.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok()));
            input("cache").is_none_or(|v| v != "false") && major.is_none_or(|m| m >= 4)
        }
        _ => false,
    }
}

fn is_cache_action(step: &Step) -> bool {
    matches!(step.action().as_deref(), Some("actions/cache" | "actions/cache/restore"))
}

/// Whether a cache step holds `eco`'s dependencies (a cache of something else, a clone cache or
/// build outputs of another tool, is not judged by this rule). A step without `path` counts.
fn caches_dependencies_of(step: &Step, eco: Ecosystem) -> bool {
    step.input("path").is_none_or(|p| eco.cache_dirs().iter().any(|d| p.value.contains(d)))
}

impl Rule for Cache {
    fn id(&self) -> &'static str {
        "cache"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "Build and test jobs cache their dependencies, with a cache key derived from the lockfile."
    }
    fn help(&self) -> &'static str {
        "Use the setup action's built-in cache or `actions/cache` with `key: ${{ runner.os }}-${{ hashFiles('**/<lockfile>') }}`."
    }
    fn check_file(&self, file: &FileCtx<'_>, _options: &Options, out: &mut Vec<Hit>) {
        for job in &file.workflow.jobs {
            check_job(job, out);
        }
    }
}

fn check_job(job: &Job, out: &mut Vec<Hit>) {
    let mut ecosystems: Vec<Ecosystem> = Vec::new();
    for step in &job.steps {
        for e in step.run.as_deref().map(ecosystems_of).unwrap_or_default() {
            if !ecosystems.contains(&e) {
                ecosystems.push(e);
            }
        }
    }
    if ecosystems.is_empty() {
        return;
    }
    let caches: Vec<&Step> = job
        .steps
        .iter()
        .filter(|s| is_cache_action(s) && ecosystems.iter().any(|e| caches_dependencies_of(s, *e)))
        .collect();
    for step in &caches {
        let Some(key) = step.input("key") else { continue };
        let keyed_on_lockfile = key.value.contains("hashFiles(")
            && ecosystems.iter().any(|e| e.lockfiles().iter().any(|l| key.value.contains(l)));
        if !keyed_on_lockfile {
            out.push(Hit::new(
                key.pos,
                format!("cache key `{}` is not derived from a lockfile", key.value.trim()),
                "include `${{ hashFiles('**/<lockfile>') }}` in the key so it changes when dependencies do",
            ));
        }
    }
    if !caches.is_empty() {
        return;
    }
    for eco in ecosystems {
        if !job.steps.iter().any(|s| caches_by_itself(s, eco)) {
            out.push(Hit::new(
                job.pos,
                format!("job `{}` builds with {} but caches no dependencies", job.id, eco.name()),
                eco.hint(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::testing::hits;

    fn job(steps: &str) -> String {
        format!("on: push\njobs:\n  test:\n    runs-on: x\n    steps:\n{steps}")
    }

    #[test]
    fn fires_and_stays_quiet() {
        let o = Options::default();
        let h = hits(&Cache, &job("      - uses: actions/checkout@v4\n      - run: cargo test --locked\n"), &o);
        assert_eq!(h, [(3, "job `test` builds with Cargo but caches no dependencies".to_string())]);
        assert!(hits(&Cache, &job("      - uses: Swatinem/rust-cache@v2\n      - run: cargo test\n"), &o).is_empty());
        let npm = "      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n      - run: |\n          npm ci\n          npm test\n";
        assert_eq!(hits(&Cache, &job(npm), &o).len(), 1);
        assert!(
            hits(&Cache, &job(&npm.replace("node-version: 20", "node-version: 20\n          cache: npm")), &o)
                .is_empty()
        );
        assert!(hits(&Cache, &job("      - uses: actions/setup-go@v5\n      - run: go test ./...\n"), &o).is_empty());
        assert_eq!(hits(&Cache, &job("      - uses: actions/setup-go@v3\n      - run: go test ./...\n"), &o).len(), 1);
        let bad_key = "      - uses: actions/cache@v4\n        with:\n          path: ~/.cargo\n          key: cargo-${{ runner.os }}\n      - run: cargo build\n";
        let h = hits(&Cache, &job(bad_key), &o);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, 9);
        let good_key = bad_key.replace("cargo-${{ runner.os }}", "cargo-${{ hashFiles('**/Cargo.lock') }}");
        assert!(hits(&Cache, &job(&good_key), &o).is_empty());
        // A cache of something else is not a dependency cache, and its key is its own business.
        let other = bad_key.replace("path: ~/.cargo", "path: cache/clones");
        let h = hits(&Cache, &job(&other), &o);
        assert_eq!(h, [(3, "job `test` builds with Cargo but caches no dependencies".to_string())]);
        // Jobs that build nothing are left alone.
        assert!(hits(&Cache, &job("      - run: echo hello\n"), &o).is_empty());
    }
}
