//! Thin helpers over `gix` for what the API does to the bare repositories.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::refs::transaction::PreviousValue;

/// Repositories are opened without user, system or environment configuration, so that the machine's
/// git setup cannot change what the server does.
pub(crate) fn open_options() -> gix::open::Options {
    gix::open::Options::isolated()
}

pub(crate) fn signature(name: &str, email: &str, time: gix::date::Time) -> gix::actor::Signature {
    gix::actor::Signature { name: name.into(), email: email.into(), time }
}

/// The developer that [`crate::TestServer::push_commit`] commits as.
pub(crate) fn developer() -> gix::actor::Signature {
    signature("Test Developer", "developer@example.com", gix::date::Time::now_utc())
}

/// GitHub's committer for what it creates itself (merges made on the web or through the API).
pub(crate) fn web_flow() -> gix::actor::Signature {
    signature("GitHub", "noreply@github.com", gix::date::Time::now_utc())
}

pub(crate) fn parse_oid(s: &str) -> Option<ObjectId> {
    if s.len() != 40 {
        return None;
    }
    ObjectId::from_hex(s.as_bytes()).ok()
}

pub(crate) fn write_commit(
    repo: &gix::Repository,
    tree: ObjectId,
    parents: &[ObjectId],
    author: &gix::actor::Signature,
    committer: &gix::actor::Signature,
    message: &str,
) -> Result<ObjectId, String> {
    let commit = gix::objs::Commit {
        tree,
        parents: parents.iter().copied().collect(),
        author: author.clone(),
        committer: committer.clone(),
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    Ok(repo.write_object(&commit).map_err(|e| format!("writing commit: {e}"))?.detach())
}

/// `base` (or the empty tree) with `files` added or replaced.
pub(crate) fn tree_with_files(
    repo: &gix::Repository,
    base: Option<ObjectId>,
    files: &[(&str, &[u8])],
) -> Result<ObjectId, String> {
    let base = base.unwrap_or_else(|| ObjectId::empty_tree(repo.object_hash()));
    let mut editor = repo.edit_tree(base).map_err(|e| format!("tree editor: {e}"))?;
    for (path, content) in files {
        let blob = repo.write_blob(content).map_err(|e| format!("writing {path}: {e}"))?;
        editor.upsert(*path, EntryKind::Blob, blob).map_err(|e| format!("adding {path}: {e}"))?;
    }
    Ok(editor.write().map_err(|e| format!("writing tree: {e}"))?.detach())
}

/// The tree of `commit`.
pub(crate) fn commit_tree(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId, String> {
    let c = repo.find_commit(commit).map_err(|e| format!("commit {commit}: {e}"))?;
    Ok(c.tree_id().map_err(|e| format!("tree of {commit}: {e}"))?.detach())
}

/// The object a reference points to (not peeled), following symbolic references.
pub(crate) fn ref_target(repo: &gix::Repository, name: &str) -> Option<ObjectId> {
    let r = repo.try_find_reference(name).ok()??;
    match r.target() {
        gix::refs::TargetRef::Object(id) => Some(id.to_owned()),
        gix::refs::TargetRef::Symbolic(next) => {
            let next = next.as_bstr().to_str().ok()?.to_string();
            if next == name { None } else { ref_target(repo, &next) }
        }
    }
}

pub(crate) fn set_ref(
    repo: &gix::Repository,
    name: &str,
    id: ObjectId,
    prev: Option<PreviousValue>,
) -> Result<(), String> {
    repo.reference(name, id, prev.unwrap_or(PreviousValue::Any), "github-test-server")
        .map_err(|e| format!("updating {name}: {e}"))?;
    Ok(())
}

pub(crate) fn delete_ref(repo: &gix::Repository, name: &str) -> Result<bool, String> {
    match repo.try_find_reference(name).map_err(|e| format!("finding {name}: {e}"))? {
        Some(r) => {
            r.delete().map_err(|e| format!("deleting {name}: {e}"))?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// All references whose full name starts with `prefix`, sorted by name, with their direct targets.
pub(crate) fn list_refs(repo: &gix::Repository, prefix: &str) -> Result<Vec<(String, ObjectId)>, String> {
    let platform = repo.references().map_err(|e| format!("listing refs: {e}"))?;
    let mut out = Vec::new();
    for r in platform.all().map_err(|e| format!("listing refs: {e}"))? {
        let r = r.map_err(|e| format!("reading a ref: {e}"))?;
        let Ok(name) = r.name().as_bstr().to_str() else { continue };
        if !name.starts_with(prefix) {
            continue;
        }
        let name = name.to_string();
        if let Some(id) = ref_target(repo, &name) {
            out.push((name, id));
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

pub(crate) fn kind_of(repo: &gix::Repository, id: ObjectId) -> Option<gix::object::Kind> {
    repo.try_find_header(id).ok()?.map(|h| h.kind())
}

pub(crate) fn kind_name(kind: gix::object::Kind) -> &'static str {
    match kind {
        gix::object::Kind::Commit => "commit",
        gix::object::Kind::Tree => "tree",
        gix::object::Kind::Blob => "blob",
        gix::object::Kind::Tag => "tag",
    }
}

/// Peel `id` (a commit or a chain of tags) to a commit.
pub(crate) fn peel_to_commit(repo: &gix::Repository, id: ObjectId) -> Option<ObjectId> {
    let obj = repo.find_object(id).ok()?;
    Some(obj.peel_to_kind(gix::object::Kind::Commit).ok()?.id)
}

/// Resolve what GitHub accepts as a `ref` parameter (a full sha, a branch, a tag, `heads/x`,
/// `refs/heads/x`, or an abbreviated sha) to a commit.
pub(crate) fn resolve_commitish(repo: &gix::Repository, spec: &str) -> Option<ObjectId> {
    if spec.is_empty() {
        return None;
    }
    if let Some(id) = parse_oid(spec) {
        return peel_to_commit(repo, id);
    }
    let candidates =
        [format!("refs/heads/{spec}"), format!("refs/tags/{spec}"), format!("refs/{spec}"), spec.to_string()];
    for name in candidates.iter().filter(|n| n.starts_with("refs/")) {
        if let Some(id) = ref_target(repo, name) {
            return peel_to_commit(repo, id);
        }
    }
    if spec.len() >= 7 && spec.chars().all(|c| c.is_ascii_hexdigit()) {
        let id = repo.rev_parse_single(spec).ok()?.detach();
        return peel_to_commit(repo, id);
    }
    None
}

/// Whether `ancestor` is reachable from `descendant` (or equal to it).
pub(crate) fn is_ancestor(repo: &gix::Repository, ancestor: ObjectId, descendant: ObjectId) -> bool {
    if ancestor == descendant {
        return true;
    }
    matches!(repo.merge_base(ancestor, descendant), Ok(Some(b)) if b.detach() == ancestor)
}

/// Commits reachable from `head` but not from `base`, newest first.
pub(crate) fn commits_between(repo: &gix::Repository, base: ObjectId, head: ObjectId) -> Result<Vec<ObjectId>, String> {
    let walk = repo
        .rev_walk([head])
        .with_hidden([base])
        .sorting(gix::revision::walk::Sorting::ByCommitTime(Default::default()))
        .all()
        .map_err(|e| format!("walking {base}..{head}: {e}"))?;
    let mut out = Vec::new();
    for info in walk {
        out.push(info.map_err(|e| format!("walking {base}..{head}: {e}"))?.id);
    }
    Ok(out)
}

/// One entry of a tree as the git data API lists it.
pub(crate) struct TreeEntry {
    pub path: String,
    pub kind: EntryKind,
    pub id: ObjectId,
}

/// The entries of `tree`; with `recursive`, those of its subtrees too (paths joined with `/`).
pub(crate) fn tree_entries(repo: &gix::Repository, tree: ObjectId, recursive: bool) -> Result<Vec<TreeEntry>, String> {
    let mut out = Vec::new();
    collect_entries(repo, tree, "", recursive, &mut out)?;
    Ok(out)
}

fn collect_entries(
    repo: &gix::Repository,
    tree: ObjectId,
    prefix: &str,
    recursive: bool,
    out: &mut Vec<TreeEntry>,
) -> Result<(), String> {
    let t = repo.find_tree(tree).map_err(|e| format!("tree {tree}: {e}"))?;
    let decoded = t.decode().map_err(|e| format!("decoding tree {tree}: {e}"))?;
    let mut subtrees = Vec::new();
    for e in &decoded.entries {
        let name = e.filename.to_str_lossy();
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
        let kind = e.mode.kind();
        if kind == EntryKind::Tree && recursive {
            subtrees.push((out.len() + 1, e.oid.to_owned(), path.clone()));
        }
        out.push(TreeEntry { path, kind, id: e.oid.to_owned() });
    }
    // Children follow their tree, in order, as `git ls-tree -r -t` lists them.
    for (_, id, path) in subtrees.into_iter().rev() {
        let mut children = Vec::new();
        collect_entries(repo, id, &path, true, &mut children)?;
        let at = out.iter().position(|e| e.path == path).map(|i| i + 1).unwrap_or(out.len());
        out.splice(at..at, children);
    }
    Ok(())
}

pub(crate) fn mode_str(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Tree => "040000",
        EntryKind::Blob => "100644",
        EntryKind::BlobExecutable => "100755",
        EntryKind::Link => "120000",
        EntryKind::Commit => "160000",
    }
}

pub(crate) fn type_str(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Tree => "tree",
        EntryKind::Commit => "commit",
        _ => "blob",
    }
}

/// Size of a blob, for tree listings.
pub(crate) fn object_size(repo: &gix::Repository, id: ObjectId) -> Option<u64> {
    repo.try_find_header(id).ok()?.map(|h| h.size())
}

/// Merge the trees of `ours` and `theirs` (with their merge base); `None` on conflicts.
pub(crate) fn merge_commit_trees(
    repo: &gix::Repository,
    ours: ObjectId,
    theirs: ObjectId,
) -> Result<Option<ObjectId>, String> {
    let options = repo.tree_merge_options().map_err(|e| format!("merge options: {e}"))?;
    let mut outcome = repo
        .merge_commits(ours, theirs, Default::default(), options.into())
        .map_err(|e| format!("merging {theirs} into {ours}: {e}"))?;
    if outcome.tree_merge.has_unresolved_conflicts(gix::merge::tree::TreatAsUnresolved::git()) {
        return Ok(None);
    }
    Ok(Some(outcome.tree_merge.tree.write().map_err(|e| format!("writing merged tree: {e}"))?.detach()))
}

/// Three-way merge of trees; `None` on conflicts.
pub(crate) fn merge_trees(
    repo: &gix::Repository,
    ancestor: ObjectId,
    ours: ObjectId,
    theirs: ObjectId,
) -> Result<Option<ObjectId>, String> {
    let options = repo.tree_merge_options().map_err(|e| format!("merge options: {e}"))?;
    let mut outcome = repo
        .merge_trees(ancestor, ours, theirs, Default::default(), options)
        .map_err(|e| format!("merging trees: {e}"))?;
    if outcome.has_unresolved_conflicts(gix::merge::tree::TreatAsUnresolved::git()) {
        return Ok(None);
    }
    Ok(Some(outcome.tree.write().map_err(|e| format!("writing merged tree: {e}"))?.detach()))
}

/// Author, committer, message, tree and parents of a commit.
pub(crate) struct CommitInfo {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub author: SigInfo,
    pub committer: SigInfo,
    pub message: String,
}

pub(crate) struct SigInfo {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch.
    pub seconds: i64,
}

pub(crate) fn commit_info(repo: &gix::Repository, id: ObjectId) -> Option<CommitInfo> {
    let c = repo.find_commit(id).ok()?;
    let decoded = c.decode().ok()?;
    let sig = |s: gix::actor::SignatureRef<'_>| SigInfo {
        name: s.name.to_str_lossy().into_owned(),
        email: s.email.to_str_lossy().into_owned(),
        seconds: s.time().map(|t| t.seconds).unwrap_or(0),
    };
    Some(CommitInfo {
        id,
        tree: decoded.tree(),
        parents: decoded.parents().collect(),
        author: sig(decoded.author().ok()?),
        committer: sig(decoded.committer().ok()?),
        message: decoded.message.to_str_lossy().into_owned(),
    })
}
