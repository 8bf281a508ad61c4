//! The CLI's [`Reporter`]: indicatif bars on a terminal, plain lines elsewhere, nothing with
//! `--quiet` (failures still reach the summary).

#![allow(clippy::print_stderr)]

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::progress::{Reporter, Silent};

pub fn reporter(quiet: bool) -> Box<dyn Reporter> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::default())
    } else {
        Box::new(Lines::default())
    }
}

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

#[derive(Default)]
struct Bars {
    multi: MultiProgress,
    overall: Mutex<Option<ProgressBar>>,
    items: Mutex<HashMap<String, ProgressBar>>,
}

impl Reporter for Bars {
    fn stage(&self, name: &str, total: usize) {
        let style = ProgressStyle::with_template("{prefix:>7} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = self.multi.add(ProgressBar::new(total as u64).with_style(style).with_prefix(name.to_string()));
        if let Ok(mut o) = self.overall.lock() {
            *o = Some(bar);
        }
    }
    fn item_started(&self, item: &str) {
        let style =
            ProgressStyle::with_template("  {spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = self.multi.add(ProgressBar::new_spinner().with_style(style).with_message(item.to_string()));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut items) = self.items.lock() {
            items.insert(item.to_string(), bar);
        }
    }
    fn item_finished(&self, item: &str, ok: bool, detail: &str) {
        if let Some(bar) = self.items.lock().ok().and_then(|mut m| m.remove(item)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        if !ok {
            let _ = self.multi.println(format!("  {item}: FAILED: {}", detail.lines().next().unwrap_or_default()));
        }
        if let Ok(o) = self.overall.lock()
            && let Some(bar) = o.as_ref()
        {
            bar.inc(1);
            bar.set_message(item.to_string());
        }
    }
    fn stage_done(&self) {
        if let Some(bar) = self.overall.lock().ok().and_then(|mut o| o.take()) {
            bar.finish_and_clear();
        }
    }
}
