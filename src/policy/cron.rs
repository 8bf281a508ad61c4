//! Schedule arithmetic for GitHub Actions `on.schedule[].cron` expressions.
//!
//! GitHub takes POSIX five-field cron in UTC, with Vixie cron's rule that a day runs when
//! EITHER the day-of-month or the day-of-week field matches if both are restricted. The
//! calendar arithmetic (which instants match) is done by the `croner` crate; this module only
//! adds what croner does not give us for this dialect:
//!
//! * a syntax gate. croner is deliberately more permissive than GitHub: it accepts a seconds
//!   field and a year field (six or seven fields), `@hourly` style nicknames, Quartz's `L`, `W`,
//!   `#` and `?`, a `+` prefix that switches day matching to AND, empty list elements (`1,,2`),
//!   and it replaces weekday and month names anywhere in the string, so `0 0 * MON *` would be
//!   read as January. We reject all of those ourselves, before croner sees the expression, and
//!   hand croner a purely numeric form. The gate also checks ranges so that every error names
//!   the field it is about; croner's own messages ("Number out of bounds.") do not.
//! * the parser configuration: `Seconds::Disallowed` and `Year::Disallowed` so that five fields
//!   mean minute..day-of-week (croner's default treats a sixth leading field as seconds), and
//!   `dom_and_dow(false)`, which is croner's default, so the OR rule applies.
//!
//! croner counts a day field as unrestricted only when it is exactly `*`, which is the rule as
//! GitHub states it. Vixie cron treats any field starting with `*` (such as `*/2`) that way, so
//! `0 0 */2 * 1` runs on odd days OR Mondays here but on odd Mondays under Vixie; we follow croner.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Start of the window behind [`Schedule::runs_per_month`] and [`Schedule::min_interval`]:
/// 2026-06-01T00:00:00Z (a Monday). June has exactly 30 days, so the 30-day window is a real
/// calendar month and "per month" is not an artefact of a window straddling two months; a fixed
/// instant keeps reports reproducible from run to run.
pub const REFERENCE_INSTANT: DateTime<Utc> = match DateTime::from_timestamp(1_780_272_000, 0) {
    Some(instant) => instant,
    None => panic!("2026-06-01T00:00:00Z is representable"),
};

/// Length of the "month" window: June 2026 is 30 days, and 30 days is what people mean by a
/// month when they budget Actions minutes.
pub const MONTH_WINDOW_DAYS: i64 = 30;

/// Length of the window searched by [`Schedule::min_interval`]: four years from the reference
/// instant (2026-06-01 to 2030-06-01) include a leap day (2028-02-29) and every month four
/// times, so patterns that only get close together around month ends or leap days are seen.
pub const MIN_INTERVAL_WINDOW_DAYS: i64 = 4 * 365 + 1;

/// A parsed GitHub Actions schedule, kept together with the text it came from so findings can
/// quote the workflow byte for byte.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    /// The same day-of-month, month and day-of-week fields at 00:00: one run per matching day,
    /// which lets [`Schedule::min_interval`] walk days instead of every run.
    days: Cron,
    expression: String,
}

/// Why an expression is not one GitHub Actions would accept. The message names the offending
/// field because workflow authors fix one field at a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CronError {
    /// Human readable, e.g. "minute field: 61 is out of range 0-59".
    pub message: String,
}

impl CronError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    fn in_field(field: &Field, detail: impl std::fmt::Display) -> Self {
        Self::new(format!("{} field: {detail}", field.name))
    }
}

/// What one of the five positions accepts; the bounds are the POSIX ones (day-of-week allows 7
/// as a second Sunday, as Vixie cron and GitHub do).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value of `names[0]`.
    first_name_value: u32,
}

const MONTH_NAMES: &[&str] = &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAY_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[], first_name_value: 0 },
    Field { name: "hour", min: 0, max: 23, names: &[], first_name_value: 0 },
    Field { name: "day-of-month", min: 1, max: 31, names: &[], first_name_value: 0 },
    Field { name: "month", min: 1, max: 12, names: MONTH_NAMES, first_name_value: 1 },
    Field { name: "day-of-week", min: 0, max: 7, names: WEEKDAY_NAMES, first_name_value: 0 },
];

impl Schedule {
    /// Parses an expression the way GitHub Actions reads it, rejecting what GitHub rejects
    /// even where croner would accept it (see the module documentation).
    pub fn parse(expr: &str) -> Result<Schedule, CronError> {
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err(CronError::new("cron expression is empty"));
        }
        if trimmed.starts_with('@') {
            return Err(CronError::new(format!(
                "'{trimmed}': macros such as @hourly are not supported by GitHub Actions; \
                 write the five fields, e.g. '0 * * * *'"
            )));
        }
        let raw: Vec<&str> = trimmed.split_whitespace().collect();
        if raw.len() != FIELDS.len() {
            return Err(CronError::new(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}; \
                 GitHub Actions has no seconds or year field",
                raw.len()
            )));
        }
        let mut numeric = Vec::with_capacity(FIELDS.len());
        for (field, text) in FIELDS.iter().zip(&raw) {
            numeric.push(normalize_field(field, text)?);
        }
        let cron = parser().parse(&numeric.join(" ")).map_err(|err| locate_croner_error(&numeric, &err))?;
        let days = parser()
            .parse(&format!("0 0 {} {} {}", numeric[2], numeric[3], numeric[4]))
            .map_err(|err| locate_croner_error(&numeric, &err))?;
        Ok(Schedule { cron, days, expression: expr.to_string() })
    }

    /// The text exactly as given to [`Schedule::parse`], for quoting in reports.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Exact count of runs in `[start, end)` (UTC), honouring every field. Counts what the
    /// expression asks for; GitHub may additionally delay or drop runs under load, and never
    /// runs a schedule more often than every 5 minutes.
    pub fn runs_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
        let mut count = 0;
        self.for_each_run(&self.cron, start, end, |_| {
            count += 1;
            true
        });
        count
    }

    /// Runs in the 30-day window that is June 2026 ([`REFERENCE_INSTANT`] plus
    /// [`MONTH_WINDOW_DAYS`]). A fixed window keeps reports reproducible; the price is that a
    /// schedule restricted to the 31st, or to other months, counts as 0 here.
    pub fn runs_per_month(&self) -> u64 {
        self.runs_between(REFERENCE_INSTANT, REFERENCE_INSTANT + TimeDelta::days(MONTH_WINDOW_DAYS))
    }

    /// Smallest gap between two consecutive runs within [`MIN_INTERVAL_WINDOW_DAYS`] from
    /// [`REFERENCE_INSTANT`]; `None` if the schedule runs at most once there, since then there
    /// is no gap to police.
    ///
    /// Walking every run of `*/5 * * * *` over four years costs about a second, too slow for an
    /// org-wide audit, so the gaps are split in two kinds. Every matching day has the same
    /// times of day (the minute and hour fields), so gaps within a day are the gaps between
    /// consecutive times of day; a gap across days is from the last time on one matching day
    /// to the first on the next, so only the smallest distance between consecutive matching
    /// days matters, and croner walks just those days. A test checks this against walking
    /// every run.
    pub fn min_interval(&self) -> Option<Duration> {
        let pattern = &self.cron.pattern;
        let minutes = pattern.minutes.values();
        let times: Vec<u32> = pattern
            .hours
            .values()
            .iter()
            .flat_map(|&hour| minutes.iter().map(move |&minute| u32::from(hour) * 60 + u32::from(minute)))
            .collect();
        let (&first, &last) = (times.first()?, times.last()?);

        let mut matching_days = 0u32;
        let mut previous_day: Option<DateTime<Utc>> = None;
        let mut closest_days: Option<i64> = None;
        let end = REFERENCE_INSTANT + TimeDelta::days(MIN_INTERVAL_WINDOW_DAYS);
        self.for_each_run(&self.days, REFERENCE_INSTANT, end, |day| {
            matching_days += 1;
            if let Some(previous) = previous_day {
                let apart = (day - previous).num_days();
                closest_days = Some(closest_days.map_or(apart, |c| c.min(apart)));
            }
            previous_day = Some(day);
            // Consecutive days are as close as matching days get.
            closest_days != Some(1)
        });
        if matching_days == 0 {
            return None;
        }
        let within_day = times.windows(2).map(|pair| pair[1] - pair[0]).min();
        let across_days =
            closest_days.and_then(|days| u32::try_from(days).ok()).map(|days| days * 24 * 60 - (last - first));
        let smallest = match (within_day, across_days) {
            (Some(a), Some(b)) => a.min(b),
            (Some(gap), None) | (None, Some(gap)) => gap,
            (None, None) => return None,
        };
        Some(Duration::from_secs(u64::from(smallest) * 60))
    }

    /// A relaxed expression whose minimum interval is at least `min_minutes`, rewriting only the
    /// minute field (and the hour field when `min_minutes >= 60`) and keeping the other fields
    /// byte for byte, so a fix never changes which days a workflow runs on.
    ///
    /// The result only drops runs, never adds new times: it keeps the first minute (and hour)
    /// of the original and then every later value at least `min_minutes` after the previous
    /// kept one, including the wrap into the next hour (or day). `None` when the schedule already
    /// satisfies `min_minutes`, or when no such rewrite is safe: sub-hour minimums must divide
    /// 60 and longer ones must be whole hours dividing 24, otherwise evenly spaced runs cannot
    /// be expressed in these two fields and callers should report "cannot fix safely" rather
    /// than guess. The candidate is re-parsed and its [`Schedule::min_interval`] checked before
    /// it is returned.
    pub fn relax(&self, min_minutes: u32) -> Option<String> {
        let wanted = Duration::from_secs(u64::from(min_minutes) * 60);
        if self.min_interval()? >= wanted {
            return None;
        }
        let fields: Vec<&str> = self.expression.split_whitespace().collect();
        let [minute_text, hour_text, dom, month, dow] = fields.as_slice() else {
            return None;
        };
        let minutes = self.cron.pattern.minutes.values();
        let hours = self.cron.pattern.hours.values();
        let (minute_field, hour_field) = if min_minutes < 60 {
            if !60u32.is_multiple_of(min_minutes) {
                return None;
            }
            let kept = spaced(&minutes, u16::try_from(min_minutes).ok()?, 60);
            (render_values(minute_text, &kept, &minutes, 0, 59), (*hour_text).to_string())
        } else {
            let step_hours = min_minutes / 60;
            if !min_minutes.is_multiple_of(60) || !24u32.is_multiple_of(step_hours) {
                return None;
            }
            let first_minute = [*minutes.first()?];
            let kept_hours = spaced(&hours, u16::try_from(step_hours).ok()?, 24);
            (
                render_values(minute_text, &first_minute, &minutes, 0, 59),
                render_values(hour_text, &kept_hours, &hours, 0, 23),
            )
        };
        let candidate = format!("{minute_field} {hour_field} {dom} {month} {dow}");
        let relaxed = Schedule::parse(&candidate).ok()?;
        match relaxed.min_interval() {
            Some(gap) if gap < wanted => None,
            _ => Some(candidate),
        }
    }

    /// Calls `visit` for each run of `cron` (this schedule's, or its matching days) in
    /// `[start, end)` in order until it returns false. croner reports "no further run" as an
    /// error, which simply ends the walk.
    fn for_each_run(
        &self,
        cron: &Cron,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        mut visit: impl FnMut(DateTime<Utc>) -> bool,
    ) {
        if start >= end || self.never_runs() {
            return;
        }
        let mut next = cron.find_next_occurrence(&start, true);
        while let Ok(run) = next {
            if run >= end {
                return;
            }
            // croner works in whole seconds, so a start with a fraction can yield the run just
            // before it; the window is half-open and must not count that one.
            if run >= start && !visit(run) {
                return;
            }
            next = cron.find_next_occurrence(&run, false);
        }
    }

    /// True when the day-of-month/month combination cannot occur (e.g. `30 2`, `31 4,6`) and
    /// the day-of-week field cannot rescue it. croner would search thousands of years for such
    /// a run before giving up, which turns a count into a stall.
    fn never_runs(&self) -> bool {
        self.never_fires().is_some()
    }

    /// Why this schedule can never fire, or `None` when it fires at least once every four years.
    ///
    /// The minute and hour fields always match some time of day, so only the days decide. With
    /// the day-of-month and the day-of-week fields both restricted (neither is `*`), a day
    /// matches when EITHER does (POSIX/Vixie cron, as GitHub documents it), and every weekday
    /// occurs in every month, so such a schedule always fires. With only the day-of-month
    /// restricted, it fires when its smallest day exists in one of the selected months in some
    /// year (February counts 29 days, as in leap years): `0 0 31 2 *`, `0 0 30 2 *` and
    /// `0 0 31 4,6,9,11 *` never fire. GitHub accepts such a workflow and silently never runs it
    /// (GitHub Docs, "Events that trigger workflows", `schedule`).
    pub fn never_fires(&self) -> Option<String> {
        let pattern = &self.cron.pattern;
        if !pattern.is_dow_wildcard() && !pattern.is_dom_wildcard() {
            // OR rule: every weekday in the field occurs in every month.
            return pattern.days_of_week.values().is_empty().then(|| "the day-of-week field matches no day".into());
        }
        if pattern.is_dom_wildcard() {
            return None;
        }
        // Longest length of each month, counting February 29.
        const MONTH_DAYS: [u16; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        const FULL_MONTH_NAMES: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let Some(&first_day) = pattern.days.values().first() else {
            return Some("the day-of-month field matches no day".into());
        };
        let months = pattern.months.values();
        let fires = months
            .iter()
            .any(|&m| MONTH_DAYS.get(usize::from(m).saturating_sub(1)).is_some_and(|&len| first_day <= len));
        if fires {
            return None;
        }
        let names: Vec<&str> =
            months.iter().filter_map(|&m| FULL_MONTH_NAMES.get(usize::from(m).saturating_sub(1)).copied()).collect();
        let longest = months.iter().filter_map(|&m| MONTH_DAYS.get(usize::from(m).saturating_sub(1))).max();
        Some(match (names.as_slice(), longest) {
            ([one], Some(len)) => format!("{one} never has a day {first_day} (it has at most {len} days)"),
            (_, Some(len)) => {
                format!("none of {} ever has a day {first_day} (they have at most {len} days)", names.join(", "))
            }
            _ => "the month field matches no month".into(),
        })
    }
}

/// The parser configuration for GitHub's dialect; see the module documentation.
fn parser() -> CronParser {
    CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).dom_and_dow(false).build()
}

/// Our gate accepts a subset of what croner accepts, so croner rejecting a gated expression
/// would be a gap in the gate; still name the field, by parsing each field on its own.
fn locate_croner_error(numeric: &[String], err: &croner::errors::CronError) -> CronError {
    let parser = parser();
    for (index, field) in FIELDS.iter().enumerate() {
        let alone: Vec<&str> = (0..FIELDS.len()).map(|i| if i == index { numeric[i].as_str() } else { "*" }).collect();
        if parser.parse(&alone.join(" ")).is_err() {
            return CronError::in_field(field, err);
        }
    }
    CronError::new(format!("cron expression: {err}"))
}

/// Checks one field against POSIX/Vixie syntax and returns it with names replaced by numbers,
/// so croner never applies its whole-string name substitution.
fn normalize_field(field: &Field, text: &str) -> Result<String, CronError> {
    if text == "*" {
        // Exactly `*` is what croner (and the OR rule) treats as unrestricted; keep it verbatim.
        return Ok(text.to_string());
    }
    if let Some(special) = text.chars().find(|c| matches!(c, '#' | '?' | '+')) {
        return Err(CronError::in_field(
            field,
            format!("'{special}' in '{text}' is a non-standard extension that GitHub Actions rejects"),
        ));
    }
    let mut items = Vec::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(CronError::in_field(field, format!("empty list element in '{text}'")));
        }
        items.push(normalize_item(field, item)?);
    }
    Ok(items.join(","))
}

fn normalize_item(field: &Field, item: &str) -> Result<String, CronError> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(parse_step(field, item, step)?)),
        None => (item, None),
    };
    let base = if base == "*" {
        base.to_string()
    } else if let Some((low, high)) = base.split_once('-') {
        let low_value = parse_value(field, low, false)?;
        let high_value = parse_value(field, high, true)?;
        if low_value > high_value {
            return Err(CronError::in_field(field, format!("range '{base}' runs backwards")));
        }
        format!("{low_value}-{high_value}")
    } else {
        let value = parse_value(field, base, false)?;
        if step.is_some() {
            // Vixie cron (and croner in its strict mode) only step over `*` or a range.
            return Err(CronError::in_field(
                field,
                format!("'{item}' steps from a single value; write '{base}-{}/…' or '*/…'", field.max),
            ));
        }
        value.to_string()
    };
    Ok(match step {
        Some(step) => format!("{base}/{step}"),
        None => base,
    })
}

fn parse_step(field: &Field, item: &str, step: &str) -> Result<u32, CronError> {
    if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CronError::in_field(field, format!("step '{step}' in '{item}' is not a number")));
    }
    // A step larger than the range is legal (it selects only the start), as in Vixie cron.
    match step.parse::<u32>() {
        Ok(0) => Err(CronError::in_field(field, format!("step 0 in '{item}' never advances"))),
        Ok(value) => Ok(value),
        Err(_) => Err(CronError::in_field(field, format!("step {step} in '{item}' is too large"))),
    }
}

/// `range_end` lets `MON-SUN` mean Monday through Sunday, as croner reads it, instead of a
/// backwards range 1-0.
fn parse_value(field: &Field, token: &str, range_end: bool) -> Result<u32, CronError> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(value) if (field.min..=field.max).contains(&value) => Ok(value),
            _ => Err(CronError::in_field(field, format!("{token} is out of range {}-{}", field.min, field.max))),
        };
    }
    if let Some(position) = field.names.iter().position(|name| name.eq_ignore_ascii_case(token)) {
        let value = field.first_name_value + u32::try_from(position).unwrap_or(u32::MAX);
        return Ok(if range_end && value == 0 { 7 } else { value });
    }
    let upper = token.to_ascii_uppercase();
    let digits = upper.trim_end_matches(['L', 'W']);
    if upper == "L" || upper == "LW" || (digits.len() < upper.len() && digits.bytes().all(|b| b.is_ascii_digit())) {
        return Err(CronError::in_field(
            field,
            format!("'{token}' uses L/W (last day, nearest weekday), extensions that GitHub Actions rejects"),
        ));
    }
    let expected = match field.names {
        [] => format!("a number {}-{}", field.min, field.max),
        names => format!("a number {}-{} or a name {}-{}", field.min, field.max, names[0], names[names.len() - 1]),
    };
    Err(CronError::in_field(field, format!("'{token}' is not {expected}")))
}

/// Keeps the first value and each later one at least `step` after the last kept, then drops
/// kept values from the end until the wrap into the next period (hour or day) is also at
/// least `step`, so consecutive periods cannot produce a shorter gap.
fn spaced(values: &[u16], step: u16, period: u16) -> Vec<u16> {
    let mut kept: Vec<u16> = Vec::new();
    for &value in values {
        if kept.last().is_none_or(|&last| value - last >= step) {
            kept.push(value);
        }
    }
    while let [first, .., last] = kept.as_slice()
        && period - last + first < step
    {
        kept.pop();
    }
    kept
}

/// Writes a minute or hour field back. Unchanged sets keep the original text; a `*`-based
/// field that became an even progression from the field minimum keeps the `*/n` idiom;
/// anything else becomes an explicit list, which reviewers can check at a glance.
fn render_values(original: &str, kept: &[u16], all: &[u16], min: u16, max: u16) -> String {
    if kept == all {
        return original.to_string();
    }
    if let [single] = kept {
        return single.to_string();
    }
    if original.starts_with('*')
        && let [first, second, ..] = kept
    {
        let step = second - first;
        if *first == min && kept.iter().copied().eq((min..=max).step_by(usize::from(step))) {
            return format!("*/{step}");
        }
    }
    kept.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(expr: &str) -> Schedule {
        Schedule::parse(expr).unwrap_or_else(|err| panic!("{expr:?} should parse: {err}"))
    }

    fn error(expr: &str) -> String {
        match Schedule::parse(expr) {
            Ok(_) => panic!("{expr:?} should be rejected"),
            Err(err) => err.message,
        }
    }

    fn days_from_reference(days: i64) -> DateTime<Utc> {
        REFERENCE_INSTANT + TimeDelta::days(days)
    }

    #[test]
    fn reference_instant_is_june_first_2026() {
        assert_eq!(REFERENCE_INSTANT.to_rfc3339(), "2026-06-01T00:00:00+00:00");
    }

    #[test]
    fn expression_keeps_the_original_text() {
        assert_eq!(schedule(" 0 12 * * mon-fri ").expression(), " 0 12 * * mon-fri ");
    }

    #[test]
    fn every_five_minutes_per_month() {
        // 12 runs an hour * 24 hours * 30 days = 8640.
        assert_eq!(schedule("*/5 * * * *").runs_per_month(), 8640);
    }

    #[test]
    fn every_minute_per_month() {
        // 60 * 24 * 30 = 43200.
        assert_eq!(schedule("* * * * *").runs_per_month(), 43_200);
    }

    #[test]
    fn weekdays_at_nine_in_june_2026() {
        // June 2026: the 1st is a Monday (2026-01-01 is a Thursday, +151 days = 21 weeks + 4 days).
        // Weeks Mon 1-Fri 5, 8-12, 15-19, 22-26 give 4 * 5 = 20, plus Mon 29 and Tue 30 = 22.
        assert_eq!(schedule("0 9 * * 1-5").runs_per_month(), 22);
    }

    #[test]
    fn weekday_names_match_numbers() {
        // Same 22 weekdays as above, at noon.
        assert_eq!(schedule("0 12 * * MON-FRI").runs_per_month(), 22);
        assert_eq!(schedule("0 12 * * mon-fri").runs_per_month(), 22);
    }

    #[test]
    fn seven_is_sunday() {
        // Sundays of June 2026: 7, 14, 21, 28 = 4, for 7, 0 and SUN alike.
        assert_eq!(schedule("0 0 * * 7").runs_per_month(), 4);
        assert_eq!(schedule("0 0 * * 0").runs_per_month(), 4);
        assert_eq!(schedule("0 0 * * SUN").runs_per_month(), 4);
        // Fri-Sun: Fridays 5,12,19,26 + Saturdays 6,13,20,27 + Sundays 7,14,21,28 = 12.
        assert_eq!(schedule("0 0 * * 5-7").runs_per_month(), 12);
        assert_eq!(schedule("0 0 * * FRI-SUN").runs_per_month(), 12);
    }

    #[test]
    fn first_and_fifteenth() {
        // June 1 and June 15 = 2.
        assert_eq!(schedule("0 0 1,15 * *").runs_per_month(), 2);
        // Over 2026-06-01 .. 2027-06-01: 12 months * 2 = 24.
        assert_eq!(schedule("0 0 1,15 * *").runs_between(REFERENCE_INSTANT, days_from_reference(365)), 24);
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // Vixie OR rule: the 13th (a Saturday in June 2026) OR any Friday (5, 12, 19, 26):
        // 1 + 4 = 5. AND would give 0, since June 13 2026 is not a Friday.
        assert_eq!(schedule("0 0 13 * 5").runs_per_month(), 5);
        // With day-of-week `*` only the day of month counts: just the 13th.
        assert_eq!(schedule("0 0 13 * *").runs_per_month(), 1);
        // With day-of-month `*` only the weekday counts: 4 Fridays.
        assert_eq!(schedule("0 0 * * 5").runs_per_month(), 4);
    }

    #[test]
    fn month_restriction_outside_window() {
        // February is not in June: 0.
        assert_eq!(schedule("0 0 * 2 *").runs_per_month(), 0);
        assert_eq!(schedule("0 0 * FEB *").runs_per_month(), 0);
        // Month names: June every day at midnight = 30.
        assert_eq!(schedule("0 0 * JUN *").runs_per_month(), 30);
        // Over a year from the reference, February 2027 has 28 days: 28.
        assert_eq!(schedule("0 0 * 2 *").runs_between(REFERENCE_INSTANT, days_from_reference(365)), 28);
    }

    #[test]
    fn hours_and_steps() {
        // Hours 9..=17 (9 hours) * minutes 0,15,30,45 (4) * 22 weekdays = 792.
        assert_eq!(schedule("*/15 9-17 * * 1-5").runs_per_month(), 792);
        // Minutes 7,12,...,57 (11 values) * 24 * 30 = 7920.
        assert_eq!(schedule("7-59/5 * * * *").runs_per_month(), 7920);
    }

    #[test]
    fn impossible_dates_never_run() {
        // February never has a 30th; April, June, September, November never a 31st.
        assert_eq!(schedule("0 0 30 2 *").runs_between(REFERENCE_INSTANT, days_from_reference(3650)), 0);
        assert_eq!(schedule("0 0 31 4,6,9,11 *").runs_per_month(), 0);
        assert_eq!(schedule("0 0 30 2 *").min_interval(), None);
    }

    #[test]
    fn never_fires_names_the_impossible_days_and_keeps_the_or_rule() {
        let reason = |expr: &str| schedule(expr).never_fires();
        assert_eq!(reason("0 0 31 2 *").as_deref(), Some("February never has a day 31 (it has at most 29 days)"));
        assert_eq!(reason("0 0 30 2 *").as_deref(), Some("February never has a day 30 (it has at most 29 days)"));
        assert_eq!(reason("0 0 30,31 2 *").as_deref(), Some("February never has a day 30 (it has at most 29 days)"));
        assert_eq!(
            reason("15 6 31 4,6,9,11 *").as_deref(),
            Some("none of April, June, September, November ever has a day 31 (they have at most 30 days)")
        );
        // Each of these fires at least once: a leap day, one long month among short ones, the
        // lowest day of a list, and the OR rule of a restricted day-of-week.
        for fires in
            ["0 0 29 2 *", "0 0 31 4,5 *", "0 0 1,31 2 *", "0 0 29-31 2 *", "0 0 31 2 1", "0 0 * 2 *", "0 0 31 * *"]
        {
            assert_eq!(reason(fires), None, "{fires}");
            assert!(
                schedule(fires).runs_between(REFERENCE_INSTANT, days_from_reference(MIN_INTERVAL_WINDOW_DAYS)) > 0,
                "{fires}"
            );
        }
    }

    #[test]
    fn runs_between_is_half_open() {
        // Midnight runs on June 1 and June 2 are inside [June 1 00:00, June 3 00:00); June 3 is not.
        assert_eq!(schedule("0 0 * * *").runs_between(REFERENCE_INSTANT, days_from_reference(2)), 2);
        assert_eq!(schedule("0 0 * * *").runs_between(days_from_reference(2), REFERENCE_INSTANT), 0);
    }

    #[test]
    fn min_interval_cases() {
        let minutes = |m: u64| Some(Duration::from_secs(m * 60));
        // Runs at :00 and :50, so :50 -> next :00 is 10 minutes, not 50.
        assert_eq!(schedule("0,50 * * * *").min_interval(), minutes(10));
        assert_eq!(schedule("*/5 * * * *").min_interval(), minutes(5));
        assert_eq!(schedule("* * * * *").min_interval(), minutes(1));
        assert_eq!(schedule("0 * * * *").min_interval(), minutes(60));
        // 09:00 and 17:00: 8 hours apart within the day, 16 hours overnight.
        assert_eq!(schedule("0 9,17 * * *").min_interval(), minutes(8 * 60));
        // Friday then Monday: 3 days; Monday then Friday: 4 days.
        assert_eq!(schedule("0 0 * * 1,5").min_interval(), minutes(3 * 24 * 60));
        // 13th OR Friday: a Friday 12th followed by Saturday 13th is one day apart.
        assert_eq!(schedule("0 0 13 * 5").min_interval(), minutes(24 * 60));
        // Feb 29 2028 and March 1 2028: only the leap day makes them one day apart.
        assert_eq!(schedule("0 0 29 2 *").min_interval(), None);
        assert_eq!(schedule("0 0 1,29 2,3 *").min_interval(), minutes(24 * 60));
        // January 1 of 2027, 2028, 2029 and 2030 fall in the window: gaps of 365, 366 (2028 is a
        // leap year) and 365 days.
        assert_eq!(schedule("0 0 1 1 *").min_interval(), minutes(365 * 24 * 60));
    }

    /// The definition of min_interval, by walking every run in its window.
    fn min_gap_by_walking(schedule: &Schedule) -> Option<Duration> {
        let mut previous: Option<DateTime<Utc>> = None;
        let mut smallest: Option<TimeDelta> = None;
        let end = days_from_reference(MIN_INTERVAL_WINDOW_DAYS);
        schedule.for_each_run(&schedule.cron, REFERENCE_INSTANT, end, |run| {
            if let Some(previous) = previous {
                let gap = run - previous;
                smallest = Some(smallest.map_or(gap, |s| s.min(gap)));
            }
            previous = Some(run);
            true
        });
        smallest.map(|gap| gap.to_std().expect("runs are in order"))
    }

    #[test]
    fn min_interval_agrees_with_walking_every_run() {
        for expr in [
            "0,50 * * * *",
            "*/20 * * * *",
            "50 23 * * *",
            "10,50 0,23 * * 1,5",
            "0 9,17 * * 1-5",
            "0 0 13 * 5",
            "30 22 1,29 2,3 *",
            "0 12 31 * *",
            "59 23 28-31 * *",
            "0 0 29 2 *",
            "0 0 30 2 *",
            "0 0 1 1 *",
        ] {
            let schedule = schedule(expr);
            assert_eq!(schedule.min_interval(), min_gap_by_walking(&schedule), "{expr}");
        }
    }

    #[test]
    fn relax_sub_hour() {
        assert_eq!(schedule("*/5 * * * *").relax(30).as_deref(), Some("*/30 * * * *"));
        assert_eq!(schedule("0,10,20,30,40,50 * * * *").relax(30).as_deref(), Some("0,30 * * * *"));
        assert_eq!(schedule("*/15 9-17 * * 1-5").relax(30).as_deref(), Some("*/30 9-17 * * 1-5"));
        // Keeps the first run's minute.
        assert_eq!(schedule("7-59/5 * * * *").relax(30).as_deref(), Some("7,37 * * * *"));
        // :59 then the next hour's :00 is a 1-minute gap; only :00 can stay.
        assert_eq!(schedule("0,59 * * * *").relax(30).as_deref(), Some("0 * * * *"));
        // Day, month and weekday fields are kept byte for byte, names and case included.
        assert_eq!(schedule("*/5 * 1,15 jan-mar Mon-Fri").relax(15).as_deref(), Some("*/15 * 1,15 jan-mar Mon-Fri"));
    }

    #[test]
    fn relax_hours() {
        assert_eq!(schedule("*/5 * * * *").relax(60).as_deref(), Some("0 * * * *"));
        assert_eq!(schedule("*/10 * * * *").relax(120).as_deref(), Some("0 */2 * * *"));
        assert_eq!(schedule("0 * * * *").relax(120).as_deref(), Some("0 */2 * * *"));
        // Keeps the working hours instead of spreading runs across the night.
        assert_eq!(schedule("30 9-17 * * 1-5").relax(120).as_deref(), Some("30 9,11,13,15,17 * * 1-5"));
        // 23:00 then the next day's 00:00 is an hour apart; only midnight can stay.
        assert_eq!(schedule("0 0,23 * * *").relax(120).as_deref(), Some("0 0 * * *"));
        assert_eq!(schedule("*/5 * * * *").relax(24 * 60).as_deref(), Some("0 0 * * *"));
    }

    #[test]
    fn relax_none_cases() {
        // Already satisfied.
        assert_eq!(schedule("*/30 * * * *").relax(30), None);
        assert_eq!(schedule("0 0 * * *").relax(60), None);
        assert_eq!(schedule("0 0 1 1 *").relax(60), None);
        assert_eq!(schedule("*/5 * * * *").relax(0), None);
        // 45 does not divide 60; 90 is not whole hours; 5 hours do not divide 24.
        assert_eq!(schedule("*/5 * * * *").relax(45), None);
        assert_eq!(schedule("*/5 * * * *").relax(90), None);
        assert_eq!(schedule("*/5 * * * *").relax(300), None);
        // Two days would need the day fields rewritten.
        assert_eq!(schedule("0 0 * * *").relax(2 * 24 * 60), None);
    }

    #[test]
    fn rejects_six_fields() {
        let message = error("0 */5 * * * *");
        assert!(message.contains("5 fields") && message.contains("found 6"), "{message}");
        assert!(error("0 0 * * * 2026").contains("found 6"));
        assert!(error("0 0 * *").contains("found 4"));
    }

    #[test]
    fn rejects_macros() {
        let message = error("@hourly");
        assert!(message.contains("@hourly") && message.contains("not supported"), "{message}");
        assert!(error("@daily").contains("@daily"));
    }

    #[test]
    fn rejects_out_of_range_values_naming_the_field() {
        assert_eq!(error("61 * * * *"), "minute field: 61 is out of range 0-59");
        assert_eq!(error("0 24 * * *"), "hour field: 24 is out of range 0-23");
        assert_eq!(error("0 0 0 * *"), "day-of-month field: 0 is out of range 1-31");
        assert_eq!(error("0 0 32 * *"), "day-of-month field: 32 is out of range 1-31");
        assert_eq!(error("0 0 * 13 *"), "month field: 13 is out of range 1-12");
        assert_eq!(error("0 0 * * 8"), "day-of-week field: 8 is out of range 0-7");
        assert_eq!(error("99999999999 * * * *"), "minute field: 99999999999 is out of range 0-59");
    }

    #[test]
    fn rejects_quartz_extensions() {
        assert!(error("0 0 L * *").starts_with("day-of-month field: 'L'"));
        assert!(error("0 0 15W * *").starts_with("day-of-month field: '15W'"));
        assert!(error("0 0 LW * *").starts_with("day-of-month field: 'LW'"));
        assert!(error("0 0 * * 5L").starts_with("day-of-week field: '5L'"));
        assert!(error("0 0 * * 5#2").starts_with("day-of-week field: '#'"));
        assert!(error("0 0 ? * 1").starts_with("day-of-month field: '?'"));
        assert!(error("0 0 * * +1").starts_with("day-of-week field: '+'"));
    }

    #[test]
    fn rejects_malformed_fields() {
        assert!(error("1,,2 * * * *").starts_with("minute field: empty list element"));
        assert!(error("5/15 * * * *").starts_with("minute field: '5/15' steps from a single value"));
        assert!(error("*/0 * * * *").starts_with("minute field: step 0"));
        assert!(error("*/x * * * *").starts_with("minute field: step 'x'"));
        // Passes our gate but not croner (its steps are u16): the field is still named.
        assert!(error("*/70000 * * * *").starts_with("minute field: "));
        assert!(error("0 17-9 * * *").starts_with("hour field: range '17-9' runs backwards"));
        // Names only where POSIX allows them: croner alone would read this MON as January.
        assert!(error("0 0 * MON *").starts_with("month field: 'MON' is not a number 1-12 or a name JAN-DEC"));
        assert!(error("0 0 * * JAN").starts_with("day-of-week field: 'JAN'"));
        assert!(error("MON * * * *").starts_with("minute field: 'MON' is not a number 0-59"));
        assert!(error("").contains("empty"));
    }
}
