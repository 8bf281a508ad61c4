//! A bounded worker pool for blocking per-repository work (gix clones, rendering).
//!
//! Plain scoped threads pulling from a shared index: results come back in input order, one
//! repository's panic does not take the others down, and there is no runtime to configure.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Run `work` over `items` on at most `jobs` threads; results keep the order of `items`.
/// A panicking item yields `Err` with the panic message instead of aborting the batch.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, work: impl Fn(&T) -> R + Sync) -> Vec<Result<R, String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, String>>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let workers = jobs.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item))).map_err(|p| {
                        p.downcast_ref::<&str>()
                            .map(|s| (*s).to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "worker panicked".into())
                    });
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(out);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default().into_iter().map(|r| r.unwrap_or_else(|| Err("not run".into()))).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_and_isolates_panics() {
        let items: Vec<u32> = (0..50).collect();
        let out = super::map(&items, 4, |&i| {
            if i == 7 {
                panic!("boom");
            }
            i * 2
        });
        assert_eq!(out.len(), 50);
        assert_eq!(out[7], Err("boom".to_string()));
        assert_eq!(out[8], Ok(16));
        assert_eq!(out[49], Ok(98));
    }
}
