//! Progress reporting from the core, without the core knowing about terminals.
//!
//! The CLI implements [`Reporter`] with indicatif bars on a terminal and plain lines elsewhere
//! (`cli::progress`); tests and library users pass [`Silent`].

pub trait Reporter: Send + Sync {
    /// A stage over `total` items begins (`fetch`, `plan`, `apply`).
    fn stage(&self, _name: &str, _total: usize) {}
    /// `item` begins its work (it holds one of the `jobs` slots from now until it finishes).
    fn item_started(&self, _item: &str) {}
    /// `item`, started, moves to the next step of its work (`fetch`, `plan`, `write`), for
    /// reporters that show what each item in flight is doing. Default: nothing.
    fn item_stage(&self, _item: &str, _stage: &str) {}
    /// `detail` is a short outcome (`cloned`, `up to date`, or the error).
    fn item_finished(&self, _item: &str, _ok: bool, _detail: &str) {}
    fn stage_done(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Reporter for Silent {}
