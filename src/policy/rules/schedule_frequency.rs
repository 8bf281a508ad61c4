//! `schedule-frequency`: a cron schedule more frequent than the configured minimum interval
//! (default 30 minutes), or one that can never fire (`0 0 31 2 *`: GitHub accepts it and never
//! runs the workflow; see [`Schedule::never_fires`]). Every frequency finding says how many runs
//! a month the schedule implies.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::policy::cron::Schedule;

pub struct ScheduleFrequency;

impl Rule for ScheduleFrequency {
    fn id(&self) -> &'static str {
        "schedule-frequency"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "Scheduled workflows run no more often than the configured minimum interval (default every 30 minutes)."
    }
    fn help(&self) -> &'static str {
        "Each scheduled run costs at least a runner minute; relax the cron, or trigger on the event the schedule polls for."
    }
    fn check_file(&self, file: &FileCtx<'_>, options: &Options, out: &mut Vec<Hit>) {
        let min = options.min_interval_minutes;
        for cron in &file.workflow.schedules {
            let schedule = match Schedule::parse(&cron.value) {
                Ok(s) => s,
                Err(e) => {
                    out.push(Hit::new(
                        cron.pos,
                        format!("cron `{}` is not valid for GitHub Actions: {e}", cron.value),
                        "GitHub takes five fields: minute hour day-of-month month day-of-week (UTC)",
                    ));
                    continue;
                }
            };
            if let Some(why) = schedule.never_fires() {
                out.push(Hit::new(
                    cron.pos,
                    format!("cron `{}` can never fire: {why}", cron.value),
                    "fix the day-of-month or month field (GitHub accepts the schedule and never runs it), or remove it",
                ));
                continue;
            }
            let Some(gap) = schedule.min_interval() else { continue };
            let gap_minutes = gap.as_secs() / 60;
            if gap_minutes >= u64::from(min) {
                continue;
            }
            let runs = schedule.runs_per_month();
            let relaxed = schedule.relax(min);
            let hint = match &relaxed {
                Some(r) => format!("relax it to `{r}` (every {min} minutes or less often)"),
                None => format!("space the runs at least {min} minutes apart"),
            };
            let hit = Hit::new(
                cron.pos,
                format!("cron `{}` runs every {gap_minutes} minutes at its closest: {runs} runs a month", cron.value),
                hint,
            );
            out.push(if relaxed.is_some() { hit.fixable() } else { hit });
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
        let wf = |cron: &str| format!("on:\n  schedule:\n    - cron: '{cron}'\njobs:\n  a:\n    runs-on: x\n");
        let h = hits(&ScheduleFrequency, &wf("*/5 * * * *"), &o);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, 3);
        // 12 runs an hour, 24 hours, 30 days.
        assert!(h[0].1.contains("every 5 minutes") && h[0].1.contains("8640 runs a month"), "{h:?}");
        assert!(hits(&ScheduleFrequency, &wf("*/30 * * * *"), &o).is_empty());
        assert!(hits(&ScheduleFrequency, &wf("0 3 * * *"), &o).is_empty());
        // Closest gap counts, not the average: 0 and 10 past are 10 minutes apart.
        assert_eq!(hits(&ScheduleFrequency, &wf("0,10 * * * *"), &o).len(), 1);
        let lax = Options { min_interval_minutes: 5, ..Options::default() };
        assert!(hits(&ScheduleFrequency, &wf("*/5 * * * *"), &lax).is_empty());
        let bad = hits(&ScheduleFrequency, &wf("61 * * * *"), &o);
        assert!(bad[0].1.contains("not valid"), "{bad:?}");
    }

    #[test]
    fn a_cron_that_can_never_fire_is_a_finding() {
        let o = Options::default();
        let wf = |cron: &str| format!("on:\n  schedule:\n    - cron: '{cron}'\njobs:\n  a:\n    runs-on: x\n");
        for never in ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "*/5 * 31 11 *"] {
            let h = hits(&ScheduleFrequency, &wf(never), &o);
            assert_eq!(h.len(), 1, "{never}: {h:?}");
            assert!(h[0].1.starts_with(&format!("cron `{never}` can never fire: ")), "{h:?}");
        }
        // Day-of-month OR day-of-week: the 31st of February, or any Monday, fires on Mondays.
        for fires in ["0 0 31 2 1", "0 0 29 2 *", "0 0 31 1,2 *"] {
            assert!(hits(&ScheduleFrequency, &wf(fires), &o).is_empty(), "{fires}");
        }
    }
}
