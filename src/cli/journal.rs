//! `convoy journal verify`: check a campaign's journal, beside the manifest or on the `[state]`
//! branch (see [`crate::journal`]).

use clap::{Args, Subcommand};

use super::{Cli, Failure, load_manifest, print_result};
use crate::journal::{Campaign, JournalStore, LocalStore, Progress, VerifyReport};
use crate::report::Envelope;

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Check the hash chain of a campaign's journal (`.convoy/campaigns/<branch>/` beside the
    /// manifest): edited, deleted, moved or cut-off entries, and a torn last line.
    ///
    /// Exit 0 when it verifies (a torn last line, the leftover of a crash, is reported and cut
    /// away by the next run; pending steps, intents a stopped run left without an outcome, are
    /// listed and are no problem), 1 when it does not, 2 for a bad campaign name or manifest.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The campaign's branch (default: `[campaign] branch` of the manifest).
    #[arg(long, value_name = "BRANCH")]
    pub campaign: Option<String>,
}

pub async fn journal(cli: &Cli, command: &JournalCommand) -> Result<bool, Failure> {
    let JournalCommand::Verify(args) = command;
    // The manifest says where the journal is (`[state]`); without one, beside `--manifest`.
    let manifest = load_manifest(cli);
    let branch = match (&args.campaign, &manifest) {
        (Some(b), _) => b.clone(),
        (None, Ok(m)) => m.campaign().branch.get_ref().clone(),
        (None, Err(_)) => return Err(manifest.err().unwrap_or_else(|| Failure::usage("no manifest"))),
    };
    let campaign = Campaign::new(&branch).map_err(|e| Failure::usage(e.to_string()))?;
    let (report, location, exists) = match manifest.as_ref().ok().filter(|m| m.model.state.repo.is_some()) {
        Some(m) => {
            let mut store = super::state::store_of(m, &branch)?;
            let report = store.verify().await.map_err(|e| Failure::run(e.to_string()))?;
            let exists = !report.entries.is_empty() || report.torn.is_some();
            (report, store.location(), exists)
        }
        None => {
            let manifest_path = cli.manifest_path().unwrap_or_default();
            let root = match manifest_path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            let store = LocalStore::new(&root, &campaign);
            let path = store.journal_path();
            let exists = path.is_file();
            let report = store.verify_sync().map_err(|e| Failure::run(e.to_string()))?;
            (report, path.display().to_string(), exists)
        }
    };
    let progress = Progress::of(&report.entries);
    print_result(
        cli,
        None,
        || json(&branch, &location, exists, &report, &progress),
        || text(&location, exists, &report, &progress),
    );
    Ok(report.is_intact())
}

/// `results`: the problems found in the hash chain, each with its `message`.
fn json(branch: &str, location: &str, exists: bool, report: &VerifyReport, progress: &Progress) -> Envelope {
    Envelope::new("journal verify")
        .with("campaign", branch)
        .with("journal", location)
        .with("exists", exists)
        .with("intact", report.is_intact())
        .with("pending", &progress.pending)
        .with("torn", &report.torn)
        .count("entries", report.entries.len())
        .count("done", progress.done.len())
        .count("pending", progress.pending.len())
        .count("problems", report.problems.len())
        .results(report.problems.iter().map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            v["message"] = serde_json::Value::String(p.to_string());
            v
        }))
}

fn text(location: &str, exists: bool, report: &VerifyReport, progress: &Progress) -> String {
    if !exists {
        return format!("{location}: no journal yet (the campaign has not been applied with a journal)\n");
    }
    let mut out = format!(
        "{location}: {} entries, {} side effects done, {} pending\n",
        report.entries.len(),
        progress.done.len(),
        progress.pending.len()
    );
    for p in &progress.pending {
        out.push_str(&format!("  pending: seq {} by run {}: {}\n", p.intent, p.run, p.op));
    }
    if !progress.pending.is_empty() {
        out.push_str(
            "  (a pending step is one whose run stopped before recording how it ended, e.g. killed; it is no problem:\n   the next run of the command reads the forge, finds it done or does it, and its outcome stays unwritten)\n",
        );
    }
    if let Some(torn) = &report.torn {
        out.push_str(&format!(
            "  a torn last line ({} bytes at offset {}), left by a crash mid-append; the next run cuts it away\n",
            torn.len, torn.offset
        ));
    }
    if report.is_intact() {
        out.push_str("verified: the hash chain is intact\n");
    } else {
        out.push_str(&format!("NOT verified: {} problem(s)\n", report.problems.len()));
        for p in &report.problems {
            out.push_str(&format!("  {p}\n"));
        }
    }
    out
}
