//! `convoy run -- COMMAND...`: a read-only preview. The command runs in a scratch checkout of
//! each selected repository (the `[[script]]` machinery: `workspace::scratch`, the environment
//! of `transform::script::environment` with `CONVOY_DRY_RUN=1`), its output is printed per
//! repository, and whatever it changed is thrown away with the checkout. Nothing is fetched (the
//! cache is read as it is: `convoy fetch` first), nothing is written to the forge or the cache.
//!
//! Exit 1 when a command exited non-zero, timed out, wrote outside its checkout, or could not
//! run in a repository.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::{Cli, Failure, SelectArgs, open};
use crate::report;
use crate::transform::script;
use crate::workspace::Depth;
use crate::workspace::scratch::{self, RunSpec, Scratch};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Time limit per repository (`30s`, `5m`, `1h`); the command's process group is killed then.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// The program and its arguments, after `--`, run as given (no shell: `-- sh -c '...'` for
    /// pipes and globs).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// One repository's run.
#[derive(Debug, Serialize)]
struct RunResult {
    repo: String,
    /// `null` when the command was killed (timeout or signal).
    exit_code: Option<i32>,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

#[derive(Debug, Serialize)]
struct RunError {
    repo: String,
    error: String,
}

pub async fn run(cli: &Cli, args: &RunArgs) -> Result<bool, Failure> {
    let secs = crate::manifest::parse_duration(&args.timeout).map_err(|e| Failure::usage(format!("--timeout: {e}")))?;
    if secs < 1 {
        return Err(Failure::usage("--timeout must be at least 1s"));
    }
    let session = open(cli, &args.select, Depth::Keep).await?;
    let outcomes = tokio::task::block_in_place(|| {
        crate::parallel::map(session.targets(), session.options.jobs, |t| {
            let snapshot = session.cache.snapshot(&t.repo).map_err(|e| e.to_string())?;
            let checkout = Scratch::checkout(&snapshot)?;
            let spec = RunSpec {
                argv: args.command.clone(),
                env: script::environment(&session.manifest, t, true),
                timeout: Duration::from_secs(secs as u64),
                max_output: script::MAX_OUTPUT,
            };
            let ran = checkout.run(&spec)?;
            let escaped = checkout.escaped();
            if !escaped.is_empty() {
                return Err(format!("the command wrote outside its checkout ({})", escaped.join(", ")));
            }
            Ok(ran)
        })
    });
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (t, outcome) in session.targets().iter().zip(outcomes) {
        let repo = t.repo.id.full_name();
        match outcome.and_then(|r| r) {
            Ok(ran) => results.push(RunResult {
                repo,
                exit_code: ran.exit_code,
                timed_out: ran.timed_out,
                stdout: ran.stdout.text(),
                stderr: ran.stderr.text(),
            }),
            Err(error) => errors.push(RunError { repo, error }),
        }
    }
    let failed = results.iter().filter(|r| r.exit_code != Some(0)).count();
    let ok = failed == 0 && errors.is_empty();
    if cli.json {
        let mut env = report::Envelope::new("run")
            .count("repos", results.len() + errors.len())
            .count("succeeded", results.len() - failed)
            .count("failed", failed)
            .count("errors", errors.len())
            .with("sandbox", scratch::sandbox())
            .results(&results)
            .skipped(&session.selection.skipped);
        for e in &errors {
            env = env.error(report::ErrorItem::repo(&e.repo, &e.error));
        }
        super::print_json(cli, session.forge.api_usage(), env);
    } else {
        for r in &results {
            let status = match (r.exit_code, r.timed_out) {
                (_, true) => format!("timed out after {}", args.timeout),
                (Some(code), _) => format!("exit {code}"),
                (None, _) => "killed by a signal".into(),
            };
            println!("==> {} ({status}) <==", r.repo);
            print!("{}", r.stdout);
            if !r.stdout.is_empty() && !r.stdout.ends_with('\n') {
                println!();
            }
            print!("{}", r.stderr);
            if !r.stderr.is_empty() && !r.stderr.ends_with('\n') {
                println!();
            }
        }
        for e in &errors {
            println!("==> {} (error) <==", e.repo);
            eprintln!("error: {}: {}", e.repo, e.error);
        }
        if !cli.quiet {
            eprintln!(
                "{}: {} succeeded, {} failed, {} could not run",
                crate::report::table::count(results.len() + errors.len(), "repository", "repositories"),
                results.len() - failed,
                failed,
                errors.len()
            );
        }
    }
    Ok(ok)
}
