//! The clone cache and read access to repository snapshots.
//!
//! The cache keeps one bare, shallow clone per repository (`<cache>/<owner>/<name>.git`) with the
//! forge's default branch fetched to `refs/remotes/origin/<branch>`. Change producers and the
//! org-wide readers ([`OrgInput`]) read files straight from the tree of that commit
//! ([`Snapshot`]): no checkout is written, so nothing on disk can be half-updated, symlinks are
//! never followed, and the same snapshot is what the commit is built on. Files convoy writes
//! outside git (state, reports) go through [`write::write_atomically`]. Commands that need files on
//! disk (`[[script]]`, `convoy run`) get a [`Scratch`] checkout, removed afterwards.

mod cache;
mod input;
pub mod paths;
pub mod scratch;
mod snapshot;
pub mod write;

pub use cache::{
    Cache, CacheError, Depth, FetchOutcome, FetchStatus, GitCredentials, install_tls_provider, may_send_credentials,
    require_git_for,
};
pub use input::OrgInput;
pub use scratch::Scratch;
pub use snapshot::{EntryKind, Snapshot};
