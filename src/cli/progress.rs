//! The CLI's [`Reporter`]: indicatif bars on a terminal, plain lines elsewhere, nothing with
//! `--quiet` (failures still reach the summary).

#![allow(clippy::print_stderr)]

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{Reporter, Silent};

/// The reporter for a command that works on up to `jobs` repositories at once.
pub fn reporter(quiet: bool, jobs: usize) -> Box<dyn Reporter> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::new(ProgressDrawTarget::stderr(), jobs))
    } else {
        Box::new(Lines::default())
    }
}

/// One line per finished item: `STAGE ITEM: DETAIL`, or `STAGE ITEM: FAILED: FIRST LINE`.
#[derive(Default)]
struct Lines {
    stage: Mutex<String>,
}

impl Reporter for Lines {
    fn stage(&self, name: &str, _total: usize) {
        if let Ok(mut s) = self.stage.lock() {
            *s = name.to_string();
        }
    }
    fn item_finished(&self, item: &str, ok: bool, detail: &str) {
        let stage = self.stage.lock().map(|s| s.clone()).unwrap_or_default();
        let first = detail.lines().next().unwrap_or_default();
        if ok { eprintln!("{stage} {item}: {first}") } else { eprintln!("{stage} {item}: FAILED: {first}") }
    }
}

/// Bars on a terminal: one overall bar at the bottom for the stage (`NAME [====>  ] done/total
/// elapsed ETA, N failed`), and above it one spinner row per item in flight (`ITEM  STAGE`), at
/// most `jobs` of them. A finished item's row goes away; a failure is printed as a line above
/// the bars, which stay at the bottom.
struct Bars {
    multi: MultiProgress,
    /// The most spinner rows shown at once (`--jobs`); items started beyond it wait for a row.
    jobs: usize,
    state: Mutex<BarsState>,
}

#[derive(Default)]
struct BarsState {
    stage: String,
    overall: Option<ProgressBar>,
    failed: usize,
    /// Items in flight with a row, in the order they got it.
    rows: Vec<(String, ProgressBar)>,
    /// Items in flight without a row (more than `jobs` started), with their current stage.
    waiting: Vec<(String, String)>,
}

impl Bars {
    fn new(target: ProgressDrawTarget, jobs: usize) -> Self {
        Bars { multi: MultiProgress::with_draw_target(target), jobs: jobs.max(1), state: Mutex::default() }
    }

    fn overall_style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix:>7} [{bar:30}] {pos}/{len} {elapsed} (ETA {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    /// A spinner row for `item` at `stage`, just above the overall bar.
    fn row(&self, state: &BarsState, item: &str, stage: &str) -> ProgressBar {
        let style =
            ProgressStyle::with_template("  {spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressBar::new_spinner().with_style(style).with_message(row_message(item, stage));
        let bar = match &state.overall {
            Some(overall) => self.multi.insert_before(overall, bar),
            None => self.multi.add(bar),
        };
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// Give free rows to waiting items, oldest first.
    fn fill_rows(&self, state: &mut BarsState) {
        while state.rows.len() < self.jobs && !state.waiting.is_empty() {
            let (item, stage) = state.waiting.remove(0);
            let bar = self.row(state, &item, &stage);
            state.rows.push((item, bar));
        }
    }

    fn set_failed_message(state: &BarsState) {
        if let Some(overall) = &state.overall
            && state.failed > 0
        {
            overall.set_message(format!("{} failed", state.failed));
        }
    }

    #[cfg(test)]
    fn rows(&self) -> usize {
        self.state.lock().map(|s| s.rows.len()).unwrap_or_default()
    }

    #[cfg(test)]
    fn overall(&self) -> Option<(u64, Option<u64>, String)> {
        let state = self.state.lock().ok()?;
        state.overall.as_ref().map(|b| (b.position(), b.length(), b.message()))
    }
}

fn row_message(item: &str, stage: &str) -> String {
    format!("{item}  {stage}")
}

impl Reporter for Bars {
    fn stage(&self, name: &str, total: usize) {
        let Ok(mut state) = self.state.lock() else { return };
        for (_, bar) in state.rows.drain(..) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        state.waiting.clear();
        state.stage = name.to_string();
        state.failed = 0;
        // One overall bar for the whole command: a new stage restarts it in place.
        match state.overall.clone() {
            Some(bar) => {
                bar.reset();
                bar.set_length(total as u64);
                bar.set_prefix(name.to_string());
                bar.set_message("");
            }
            None => {
                let bar =
                    ProgressBar::new(total as u64).with_style(Self::overall_style()).with_prefix(name.to_string());
                state.overall = Some(self.multi.add(bar));
            }
        }
    }

    fn item_started(&self, item: &str) {
        let Ok(mut state) = self.state.lock() else { return };
        let stage = state.stage.clone();
        state.waiting.push((item.to_string(), stage));
        self.fill_rows(&mut state);
    }

    fn item_stage(&self, item: &str, stage: &str) {
        let Ok(mut state) = self.state.lock() else { return };
        if let Some((_, bar)) = state.rows.iter().find(|(i, _)| i == item) {
            bar.set_message(row_message(item, stage));
        } else if let Some((_, s)) = state.waiting.iter_mut().find(|(i, _)| i == item) {
            *s = stage.to_string();
        }
    }

    fn item_finished(&self, item: &str, ok: bool, detail: &str) {
        let Ok(mut state) = self.state.lock() else { return };
        if let Some(at) = state.rows.iter().position(|(i, _)| i == item) {
            let (_, bar) = state.rows.remove(at);
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        state.waiting.retain(|(i, _)| i != item);
        if !ok {
            state.failed += 1;
            let stage = &state.stage;
            let _ =
                self.multi.println(format!("{stage} {item}: FAILED: {}", detail.lines().next().unwrap_or_default()));
        }
        if let Some(bar) = &state.overall {
            bar.inc(1);
        }
        Self::set_failed_message(&state);
        self.fill_rows(&mut state);
    }

    fn stage_done(&self) {
        let Ok(mut state) = self.state.lock() else { return };
        for (_, bar) in state.rows.drain(..) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        state.waiting.clear();
        if let Some(bar) = state.overall.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_never_exceed_jobs_and_the_overall_bar_counts_every_item() {
        let jobs = 3;
        let bars = Bars::new(ProgressDrawTarget::hidden(), jobs);
        let items: Vec<String> = (0..10).map(|i| format!("acme/r{i}")).collect();
        bars.stage("apply", items.len());
        assert_eq!(bars.overall(), Some((0, Some(10), String::new())));
        // Everything is started at once (as `apply` hands out its tasks): only `jobs` rows.
        for item in &items {
            bars.item_started(item);
            assert!(bars.rows() <= jobs, "{} rows", bars.rows());
        }
        assert_eq!(bars.rows(), jobs);
        for (n, item) in items.iter().enumerate() {
            bars.item_stage(item, "write");
            bars.item_finished(item, n % 4 != 0, "boom");
            assert!(bars.rows() <= jobs);
            assert_eq!(bars.rows(), jobs.min(items.len() - n - 1), "a finished item leaves no row");
            let (pos, len, _) = bars.overall().expect("the overall bar stays");
            assert_eq!((pos, len), ((n + 1) as u64, Some(10)));
        }
        assert_eq!(bars.overall().map(|o| o.2), Some("3 failed".to_string()));
        // The next stage reuses the bar, from zero.
        bars.stage("plan", 4);
        assert_eq!(bars.overall(), Some((0, Some(4), String::new())));
        bars.stage_done();
        assert_eq!((bars.rows(), bars.overall()), (0, None));
    }

    #[test]
    fn a_waiting_item_takes_a_freed_row_with_its_latest_stage() {
        let bars = Bars::new(ProgressDrawTarget::hidden(), 1);
        bars.stage("apply", 2);
        bars.item_started("acme/a");
        bars.item_started("acme/b");
        bars.item_stage("acme/b", "plan");
        assert_eq!(bars.rows(), 1);
        bars.item_finished("acme/a", true, "opened PR #1");
        let state = bars.state.lock().unwrap();
        assert_eq!(state.rows.len(), 1);
        assert_eq!(state.rows[0].0, "acme/b");
        assert_eq!(state.rows[0].1.message(), "acme/b  plan");
    }
}
