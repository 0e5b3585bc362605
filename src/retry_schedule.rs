//! Retry schedules: the delay before each retry of something that failed for now, written
//! `5s,5m,30m,...`. Webhook deliveries (`IPLS_WEBHOOK_RETRY_SCHEDULE`, default
//! `5s,5m,30m,2h,5h,10h,10h`: a delivery's first attempt is made as soon as its change commits;
//! after the last retry fails, the endpoint is disabled) and mail (`IPLS_MAIL_RETRY_SCHEDULE`)
//! read theirs here.

use std::time::Duration;

/// The webhook deliveries' default.
pub const DEFAULT_WEBHOOK_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// `DELAY[,DELAY...]`, each a whole number with `ms`, `s`, `m` or `h`; at least one.
pub fn parse(text: &str) -> Result<Vec<Duration>, String> {
    let delays: Result<Vec<Duration>, String> = text.split(',').map(delay).collect();
    let delays = delays?;
    if delays.is_empty() || delays.len() > 50 {
        return Err(format!("{text:?}: expected 1 to 50 delays"));
    }
    Ok(delays)
}

fn delay(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and ms, s, m or h (e.g. 5m)"))?;
    let per_unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("{text:?}: the unit is ms, s, m or h")),
    };
    let ms = n
        .checked_mul(per_unit_ms)
        .filter(|ms| *ms <= 7 * 24 * 3_600_000)
        .ok_or_else(|| format!("{text:?}: at most a week"))?;
    Ok(Duration::from_millis(ms))
}

/// After `failures` failed attempts (at least one), how long until the next; None once the
/// schedule is used up.
pub fn next_delay(schedule: &[Duration], failures: usize) -> Option<Duration> {
    failures
        .checked_sub(1)
        .and_then(|retry| schedule.get(retry))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_has_eight_attempts() {
        let schedule = parse(DEFAULT_WEBHOOK_SCHEDULE).expect("valid");
        assert_eq!(schedule.len(), 7, "seven retries after the first attempt");
        assert_eq!(next_delay(&schedule, 1), Some(Duration::from_secs(5)));
        assert_eq!(next_delay(&schedule, 2), Some(Duration::from_secs(300)));
        assert_eq!(next_delay(&schedule, 7), Some(Duration::from_secs(36_000)));
        assert_eq!(
            next_delay(&schedule, 8),
            None,
            "the eighth failure disables"
        );
        assert_eq!(next_delay(&schedule, 0), None);
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in ["", "5", "5d", "-1s", "1s,,2s", "999999h", "€"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("0ms, 200ms").expect("valid"),
            vec![Duration::ZERO, Duration::from_millis(200)]
        );
    }
}
