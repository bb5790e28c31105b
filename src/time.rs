//! Simulated time: integer nanoseconds, never floats.
//!
//! Float clocks leak epsilons into every comparison; an integer clock makes
//! "the same instant" exact, so tie-breaking is a property of the event queue
//! rather than of rounding. Durations in scenario files are human strings
//! (`"250ms"`, `"1.5s"`, `"5m"`, `"24h"`), parsed once by [`parse_duration`].

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The order key of a scheduled event: its time, then the sequence number
/// it was scheduled with, so simultaneous events run in scheduling order.
pub type EventKey = (SimTime, u64);

/// An instant on the simulated clock, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any event; used as "never".
    pub const NEVER: SimTime = SimTime(u64::MAX);

    /// Seconds since the start, for reports and charts.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration from whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * 1_000_000)
    }

    /// A duration from whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * NANOS_PER_SEC)
    }

    /// A duration from (possibly fractional) seconds, rounded to the nearest nanosecond.
    pub fn from_secs_f64(s: f64) -> Self {
        SimDuration((s * NANOS_PER_SEC as f64).round().max(0.0) as u64)
    }

    /// The duration in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// The duration in milliseconds.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    /// The time `d` earlier (never before time zero).
    fn sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }
}

impl std::ops::Mul<u64> for SimDuration {
    type Output = SimDuration;
    fn mul(self, k: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(k))
    }
}

/// Units accepted in duration strings, longest suffix first so `ms` wins over `m`.
const UNITS: &[(&str, u64)] = &[
    ("min", 60 * NANOS_PER_SEC),
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
    ("d", 86_400 * NANOS_PER_SEC),
];

/// The longest duration a scenario may give: 100 years (36500 days).
///
/// Simulated time is a `u64` of nanoseconds, which ends after about 584 years;
/// keeping every duration (run length, TTL, timeout, event time...) below a
/// sixth of that leaves room for the sums the engine makes (an event's start
/// plus its length, a TTL stretched by jitter plus a stale period) without
/// ever reaching [`SimTime::NEVER`].
pub const MAX_DURATION: SimDuration = SimDuration(36_500 * 86_400 * NANOS_PER_SEC);

/// What a duration string may look like; used in error messages.
pub const DURATION_HELP: &str = "a duration such as \"250ms\", \"1.5s\", \"5m\", \"24h\" or \"1m30s\" (units ns, us, ms, s, m, h, d)";

/// Parses a human duration: one or more `<number><unit>` parts, e.g. `"1m30s"`.
///
/// Fractions are allowed (`"0.5ms"`) and rounded to the nearest nanosecond.
/// Durations longer than [`MAX_DURATION`] are refused, never wrapped.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("empty duration; expected {DURATION_HELP}"));
    }
    let too_long = || {
        format!(
            "`{text}` is too long; the longest allowed duration is {} (100 years)",
            format_duration(MAX_DURATION)
        )
    };
    let mut rest = s;
    let mut total_ns: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` has no unit; expected {DURATION_HELP}"))?;
        let (number, tail) = rest.split_at(number_len);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not {DURATION_HELP}"))?;
        let (unit, scale) = UNITS
            .iter()
            .find(|(unit, _)| tail.starts_with(unit))
            .ok_or_else(|| {
                let spaced = tail.trim_start();
                if spaced.len() < tail.len() && UNITS.iter().any(|(u, _)| spaced.starts_with(u)) {
                    format!(
                        "`{text}` has a space between the number and its unit; write it without one, e.g. \"{number}{}\"",
                        spaced.trim_end()
                    )
                } else {
                    format!("`{text}` has an unknown unit; expected {DURATION_HELP}")
                }
            })?;
        let part_ns = value * *scale as f64;
        // A number of hundreds of digits parses as infinity: refuse it here,
        // before the conversion to an integer could saturate and the sum wrap.
        if !part_ns.is_finite() || part_ns > MAX_DURATION.0 as f64 {
            return Err(too_long());
        }
        total_ns += part_ns.round() as u128;
        if total_ns > MAX_DURATION.0 as u128 {
            return Err(too_long());
        }
        rest = tail[unit.len()..].trim_start();
    }
    Ok(SimDuration(
        u64::try_from(total_ns).expect("total_ns was checked against MAX_DURATION"),
    ))
}

/// Formats a duration with the largest unit that represents it exactly (`"1m"`, `"500us"`).
///
/// The inverse of [`parse_duration`]: `parse_duration(&format_duration(d)) == Ok(d)`.
pub fn format_duration(d: SimDuration) -> String {
    const ORDER: &[(&str, u64)] = &[
        ("d", 86_400 * NANOS_PER_SEC),
        ("h", 3_600 * NANOS_PER_SEC),
        ("m", 60 * NANOS_PER_SEC),
        ("s", NANOS_PER_SEC),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    if d.0 == 0 {
        return "0s".to_string();
    }
    let (unit, scale) = ORDER
        .iter()
        .find(|(_, scale)| d.0.is_multiple_of(*scale))
        .expect("every duration is a whole number of nanoseconds");
    format!("{}{unit}", d.0 / scale)
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("250ms"), Ok(SimDuration(250_000_000)));
        assert_eq!(parse_duration("0.5ms"), Ok(SimDuration(500_000)));
        assert_eq!(parse_duration("500us"), Ok(SimDuration(500_000)));
        assert_eq!(parse_duration("5m"), Ok(SimDuration::from_secs(300)));
        assert_eq!(parse_duration("2min"), Ok(SimDuration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(SimDuration::from_secs(90)));
        assert_eq!(parse_duration("7d"), Ok(SimDuration::from_secs(604_800)));
    }

    #[test]
    fn refuses_durations_beyond_the_ceiling_instead_of_wrapping() {
        assert_eq!(parse_duration("36500d"), Ok(MAX_DURATION));
        let huge = format!("1{}s1s", "0".repeat(400));
        for bad in ["36501d", "300000000000d", huge.as_str(), "36500d1ns"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains("36500d"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_space_before_the_unit_is_named_as_such() {
        let err = parse_duration("5 s").unwrap_err();
        assert!(
            err.contains("a space between the number and its unit"),
            "{err}"
        );
        assert!(err.contains("\"5s\""), "{err}");
        let err = parse_duration("5 parsecs").unwrap_err();
        assert!(err.contains("unknown unit"), "{err}");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "10", "ms", "10 parsecs", "1.2.3s", "-5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn format_round_trips() {
        for ns in [
            1,
            999,
            1_000,
            500_000,
            20_000_000,
            60 * NANOS_PER_SEC,
            90 * NANOS_PER_SEC,
        ] {
            let d = SimDuration(ns);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
