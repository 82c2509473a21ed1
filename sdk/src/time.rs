//! The wall clock, for timestamped signatures, OAuth 1.0a's `oauth_timestamp` and JWT `iat`/`exp`.
//!
//! The sandbox gives plugins WASI's wall clock and monotonic clock, and both work. What does
//! not is waiting: `std::thread::sleep`, or any timed poll, **traps** at once (the host refuses
//! it, because a sleeping call would hold one of its integration's slots). A plugin that must
//! wait returns an error and lets the caller retry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long it has been since the Unix epoch (1970-01-01T00:00:00Z) by the host's wall clock.
/// A clock set before the epoch reads as zero rather than failing.
///
/// ```
/// let now = keyway_sdk::time::now();
/// assert!(now.as_secs() > 1_700_000_000);
/// ```
pub fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// The current Unix time in whole seconds: a JWT `iat`, an `oauth_timestamp`, an `X-Timestamp`
/// header. [`Expiry::ExpiresAt`](crate::Expiry::ExpiresAt) counts in these units too.
pub fn now_seconds() -> u64 {
    now().as_secs()
}

/// The current Unix time in milliseconds, for apps that sign with a millisecond timestamp.
pub fn now_millis() -> u64 {
    u64::try_from(now().as_millis()).unwrap_or(u64::MAX)
}

/// Reads an RFC 3339 date-time (`2025-06-01T12:00:00Z`, `2025-06-01T14:00:00.5+02:00`) as Unix
/// seconds, the fraction dropped; `None` when the text is not RFC 3339. Parsed by the `time`
/// crate.
///
/// ```
/// assert_eq!(keyway_sdk::time::parse_rfc3339("2025-06-01T14:00:00+02:00"), Some(1_748_779_200));
/// assert_eq!(keyway_sdk::time::parse_rfc3339("June 1st"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let parsed = ::time::OffsetDateTime::parse(text.trim(), &::time::format_description::well_known::Rfc3339);
    parsed.ok().map(::time::OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_after_this_code_was_written_and_agrees_across_units() {
        let (seconds, millis) = (now_seconds(), now_millis());
        // 2025-01-01: a clock reading zero or garbage would fail here.
        assert!(seconds >= 1_735_689_600, "{seconds}");
        assert!(millis / 1000 >= seconds && millis / 1000 - seconds <= 5, "{millis} vs {seconds}");
    }

    #[test]
    fn rfc_3339_offsets_and_fractions_are_read_and_other_text_is_not() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2025-06-01T12:00:00.999Z"), Some(1_748_779_200));
        assert_eq!(parse_rfc3339(" 2025-06-01T12:00:00-00:30 "), Some(1_748_781_000));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1));
        for text in ["", "2025-06-01", "2025-06-01 12:00:00", "1748779200", "2025-13-01T00:00:00Z"] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }
}
