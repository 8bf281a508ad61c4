//! `unpinned-actions`: `uses:` on a tag or branch runs whatever the tag points at when the job
//! starts; a full commit SHA is the only immutable reference.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::workflow::Located;
use crate::workflow::uses::{UsesRef, classify_uses, is_full_sha};

pub struct UnpinnedActions;

impl Rule for UnpinnedActions {
    fn id(&self) -> &'static str {
        "unpinned-actions"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "Actions and reusable workflows are pinned to a full commit SHA (local actions and allow-listed owners excepted)."
    }
    fn help(&self) -> &'static str {
        "Pin `uses:` to the commit SHA with the version as a comment, e.g. `actions/checkout@<sha> # v4.2.2`."
    }
    fn check_file(&self, file: &FileCtx<'_>, options: &Options, out: &mut Vec<Hit>) {
        let wf = file.workflow;
        let uses = wf.steps().filter_map(|s| s.uses.as_ref()).chain(wf.jobs.iter().filter_map(|j| j.uses.as_ref()));
        for u in uses {
            if let Some(hit) = check(u, options) {
                out.push(hit);
            }
        }
    }
}

fn check(uses: &Located<String>, options: &Options) -> Option<Hit> {
    let UsesRef::Remote { action, reference } = classify_uses(uses.value.trim()) else { return None };
    if options.allow_unpinned.is_match(action.to_ascii_lowercase()) {
        return None;
    }
    match reference {
        Some(r) if is_full_sha(r) => None,
        Some(r) => Some(
            Hit::new(
                uses.pos,
                format!("`{action}` is used at `{r}`, which can move"),
                format!("pin it to the commit `{r}` points at, keeping `# {r}` as a comment"),
            )
            .fixable(),
        ),
        None => Some(Hit::new(
            uses.pos,
            format!("`{action}` has no ref at all"),
            "add `@<commit sha>` with the version as a comment",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::testing::hits;

    #[test]
    fn fires_and_stays_quiet() {
        let o = Options::default();
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/cache@0400d5f644dc74513175e3cd8d07132dd4860809 # v4.2.4\n      - uses: ./.github/actions/setup\n      - uses: docker://alpine:3\n      - uses: $/.github/actions/build\n  call:\n    uses: acme/workflows/.github/workflows/ci.yml@main\n";
        let h = hits(&UnpinnedActions, src, &o);
        assert_eq!(h.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [6, 12], "{h:?}");
        assert!(h[0].1.contains("`actions/checkout` is used at `v4`"));
        let mut allow = globset::GlobSetBuilder::new();
        allow.add(globset::Glob::new("actions/*").expect("glob"));
        let o = Options { allow_unpinned: allow.build().expect("set"), ..Options::default() };
        assert_eq!(hits(&UnpinnedActions, src, &o).len(), 1);
    }

    #[test]
    fn same_repository_uses_are_local_even_with_a_ref() {
        let o = Options::default();
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: $/.github/actions/setup\n      - uses: $/.github/actions/setup@main\n  call:\n    uses: $/.github/workflows/reusable.yml\n";
        let h = hits(&UnpinnedActions, src, &o);
        assert!(h.is_empty(), "{h:?}");
    }
}
