//! The time convoy reads, in one place, so that time-based rules (soak periods, hourly caps,
//! claim leases) are tested without sleeping: `CONVOY_NOW` (RFC 3339, e.g.
//! `2026-11-29T12:00:00Z`) replaces the system clock for a whole run.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The current time: `CONVOY_NOW` when set (an unparsable value is ignored with a warning), else
/// the system clock, in UTC.
pub fn now() -> OffsetDateTime {
    match std::env::var(crate::env_vars::CONVOY_NOW) {
        Ok(text) => match OffsetDateTime::parse(text.trim(), &Rfc3339) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(
                    "{}={text:?} is not an RFC 3339 time ({e}); using the system clock",
                    crate::env_vars::CONVOY_NOW
                );
                OffsetDateTime::now_utc()
            }
        },
        Err(_) => OffsetDateTime::now_utc(),
    }
}

/// [`now`] as RFC 3339 text, as GitHub writes its timestamps (`2026-11-29T12:00:00Z`).
pub fn now_rfc3339() -> String {
    format_rfc3339(now())
}

/// `t` in UTC as RFC 3339 with whole seconds.
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Parse an RFC 3339 timestamp (GitHub's `created_at`, `merged_at`).
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_githubs_form() {
        let t = parse_rfc3339("2026-11-29T12:00:00Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-29T12:00:00Z");
        let t = parse_rfc3339("2026-11-29T13:00:00.5+01:00").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-29T12:00:00Z");
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
