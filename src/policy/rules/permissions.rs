//! `permissions`: the workflow's `GITHUB_TOKEN` should get only what its jobs need. Without a
//! top-level `permissions` block the token gets the repository's default, which on older orgs
//! is write access to everything. A workflow whose every job sets its own `permissions` needs
//! no top-level block (a job's block replaces the workflow's), and gets no finding for it.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::workflow::{FileKind, Permissions as Perms};

pub struct Permissions;

impl Rule for Permissions {
    fn id(&self) -> &'static str {
        "permissions"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "Workflows declare least-privilege top-level permissions: no `write-all`, and write scopes only in the jobs that need them."
    }
    fn help(&self) -> &'static str {
        "Add `permissions: contents: read` at the top and grant write scopes in the one job that needs them."
    }
    fn check_file(&self, file: &FileCtx<'_>, _options: &Options, out: &mut Vec<Hit>) {
        let wf = file.workflow;
        if wf.kind != FileKind::Workflow || wf.jobs.is_empty() {
            return;
        }
        // A job's own `permissions:` replaces the workflow's ("Assigning permissions to jobs",
        // GitHub docs `actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token`):
        // when every job sets its own, a top-level block changes nothing, so none is asked for.
        let every_job_sets_its_own = wf.jobs.iter().all(|j| j.permissions.is_some());
        match &wf.permissions {
            None if every_job_sets_its_own => {}
            None => out.push(
                Hit::new(
                    wf.top_pos,
                    "no top-level `permissions`: the token gets the repository's default scopes",
                    "add `permissions: {contents: read}` at the top of the workflow",
                )
                .fixable(),
            ),
            Some(p) => {
                let writes = p.writes();
                if writes.iter().any(|(s, _)| s == "*") {
                    out.push(Hit::new(
                        p.pos(),
                        "`write-all` gives every job write access to everything",
                        "list the scopes the workflow needs, read-only at the top",
                    ));
                } else if !writes.is_empty() && wf.jobs.len() > 1 {
                    let scopes: Vec<String> = writes.iter().map(|(s, _)| format!("{s}: write")).collect();
                    out.push(Hit::new(
                        writes[0].1,
                        format!("`{}` is granted to all {} jobs at workflow level", scopes.join("`, `"), wf.jobs.len()),
                        "move write scopes into the `permissions` of the job that needs them",
                    ));
                }
            }
        }
        for job in &wf.jobs {
            if let Some(Perms::All(l)) = &job.permissions
                && l.value == "write-all"
            {
                out.push(Hit::new(
                    l.pos,
                    format!("job `{}` asks for `write-all`", job.id),
                    "list only the scopes the job writes to",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::testing::hits;

    #[test]
    fn fires_and_stays_quiet() {
        let o = Options::default();
        let jobs = "jobs:\n  a:\n    runs-on: x\n  b:\n    runs-on: x\n";
        let h = hits(&Permissions, &format!("on: push\n{jobs}"), &o);
        assert_eq!(h.len(), 1);
        assert!(h[0].1.contains("no top-level"));
        assert_eq!(hits(&Permissions, &format!("on: push\npermissions: write-all\n{jobs}"), &o).len(), 1);
        let broad = format!("on: push\npermissions:\n  contents: read\n  packages: write\n{jobs}");
        let h = hits(&Permissions, &broad, &o);
        assert_eq!((h.len(), h[0].0), (1, 4), "{h:?}");
        assert!(h[0].1.contains("`packages: write` is granted to all 2 jobs"), "{h:?}");
        assert!(hits(&Permissions, &format!("on: push\npermissions:\n  contents: read\n{jobs}"), &o).is_empty());
        assert!(hits(&Permissions, "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n", &o).is_empty());
        // A single job may hold its write scope at the top.
        assert!(
            hits(&Permissions, "on: push\npermissions:\n  contents: write\njobs:\n  a:\n    runs-on: x\n", &o)
                .is_empty()
        );
        let job_all = "on: push\npermissions: read-all\njobs:\n  a:\n    runs-on: x\n    permissions: write-all\n";
        assert_eq!(hits(&Permissions, job_all, &o), [(6, "job `a` asks for `write-all`".to_string())]);
    }

    #[test]
    fn no_top_level_block_is_needed_when_every_job_sets_its_own() {
        let o = Options::default();
        let each = "on: push\njobs:\n  a:\n    runs-on: x\n    permissions:\n      contents: read\n  b:\n    runs-on: x\n    permissions: {}\n";
        assert!(hits(&Permissions, each, &o).is_empty(), "{:?}", hits(&Permissions, each, &o));
        let one_open =
            "on: push\njobs:\n  a:\n    runs-on: x\n    permissions:\n      contents: read\n  b:\n    runs-on: x\n";
        assert_eq!(hits(&Permissions, one_open, &o).len(), 1);
    }
}
