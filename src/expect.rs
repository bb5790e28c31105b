//! Expectations: k6-style thresholds on summary metrics (`[expect]`).
//!
//! `"latency_ms.p99" = "< 50"` holds when the metric, averaged over the
//! replicates of a point, is below 50. The metric is any number of
//! `summary.json`, nested ones by their dotted name, as in `sweep.csv`.

use std::fmt;

use crate::metrics::RunSummary;
use crate::metrics::flatten;

/// A comparison operator of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Every operator with its symbol; two-character ones first, so parsing is greedy.
    const ALL: [(&'static str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    /// The operator as written: "<", ">=".
    pub(crate) fn symbol(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(s, _)| *s)
            .expect("every operator has a symbol")
    }
}

/// One threshold: `metric op threshold`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The metric's dotted name, e.g. `latency_ms.p99`.
    pub metric: String,
    /// The comparison.
    pub op: Op,
    /// The number compared with.
    pub threshold: f64,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric, self.op.symbol(), self.threshold)
    }
}

impl Expectation {
    /// Parses condition `text` (`"< 50"`, `">= 0.9"`) on `metric`.
    ///
    /// The error says what is wrong and what is allowed.
    pub fn parse(metric: &str, text: &str) -> Result<Expectation, String> {
        let names = metric_names();
        if !names.iter().any(|m| m == metric) {
            return Err(format!(
                "is not a summary metric;{} allowed: {}",
                crate::suggest::did_you_mean(metric, names.iter().map(String::as_str))
                    .map_or(String::new(), |m| format!(" did you mean `{m}`?")),
                names.join(", ")
            ));
        }
        let t = text.trim();
        let (symbol, op) = Op::ALL
            .iter()
            .find(|(s, _)| t.starts_with(s))
            .ok_or_else(|| {
                format!(
                    "has condition {text:?}; write an operator (<, <=, >, >=, ==, !=) and a number, e.g. \"< 50\""
                )
            })?;
        let number = t[symbol.len()..].trim();
        let threshold: f64 = number
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| {
                format!("has condition {text:?}; {number:?} is not a number (no units: latencies are in ms, as in summary.json)")
            })?;
        Ok(Expectation {
            metric: metric.to_string(),
            op: *op,
            threshold,
        })
    }

    /// This expectation's metric in `metrics` (a flattened summary); NaN if absent.
    pub fn measure(&self, metrics: &[(String, f64)]) -> f64 {
        metrics
            .iter()
            .find(|(name, _)| *name == self.metric)
            .map_or(f64::NAN, |(_, v)| *v)
    }

    /// Whether `value` meets the condition.
    pub fn holds(&self, value: f64) -> bool {
        let t = self.threshold;
        match self.op {
            Op::Lt => value < t,
            Op::Le => value <= t,
            Op::Gt => value > t,
            Op::Ge => value >= t,
            Op::Eq => value == t,
            Op::Ne => value != t,
        }
    }

    /// How far `value` is inside the threshold, relative to it: 0.2 means 20 %
    /// of the threshold to spare; negative when the condition fails by that much.
    /// Zero for `==` and `!=`, which have no room.
    pub fn margin(&self, value: f64) -> f64 {
        let room = match self.op {
            Op::Lt | Op::Le => self.threshold - value,
            Op::Gt | Op::Ge => value - self.threshold,
            Op::Eq | Op::Ne => return 0.0,
        };
        room / self.threshold.abs().max(f64::MIN_POSITIVE)
    }
}

/// Parses a `--expect` flag of `run` or `plan`: `"latency_ms.p99 < 50"`.
pub fn parse_flag(text: &str) -> crate::Result<Expectation> {
    let at = text.find(['<', '>', '=', '!']).ok_or_else(|| {
        crate::Error::BadInput(format!(
            "--expect {text:?}: write METRIC OP VALUE, e.g. --expect \"latency_ms.p99 < 50\""
        ))
    })?;
    let metric = text[..at].trim();
    Expectation::parse(metric, &text[at..])
        .map_err(|why| crate::Error::BadInput(format!("--expect {text:?}: `{metric}` {why}")))
}

/// The dotted names of the metrics every summary has, in `summary.json` order.
pub fn required_metrics() -> Vec<String> {
    flatten(&RunSummary::default())
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The dotted names of every numeric summary metric, in `summary.json` order
/// (those only some runs have included: server figures, trace counts, local hits).
pub fn metric_names() -> Vec<String> {
    let every = RunSummary {
        cache_utilization: Some(0.0),
        cache_queue_peak: Some(0),
        local_hits: 1,
        writes: 1,
        deletes: 1,
        ..RunSummary::default()
    };
    flatten(&every).into_iter().map(|(name, _)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_passes_and_fails_where_it_should() {
        // (condition, a value that meets it, a value that does not)
        for (text, pass, fail) in [
            ("< 50", 49.9, 50.0),
            ("<= 50", 50.0, 50.1),
            ("> 0.9", 0.91, 0.9),
            (">= 0.9", 0.9, 0.89),
            ("== 0", 0.0, 1.0),
            ("!= 0", 3.0, 0.0),
        ] {
            let e = Expectation::parse("hit_ratio", text).unwrap();
            assert!(e.holds(pass), "{e} should hold for {pass}");
            assert!(!e.holds(fail), "{e} should fail for {fail}");
        }
    }

    #[test]
    fn spacing_is_free_and_the_margin_is_relative_to_the_threshold() {
        let e = Expectation::parse("latency_ms.p99", "<=50").unwrap();
        assert_eq!((e.op, e.threshold), (Op::Le, 50.0));
        assert_eq!(e.to_string(), "latency_ms.p99 <= 50");
        assert!((e.margin(40.0) - 0.2).abs() < 1e-12);
        assert!((e.margin(60.0) + 0.2).abs() < 1e-12);
        let e = Expectation::parse("hit_ratio", "  >  0.8 ").unwrap();
        assert!((e.margin(0.88) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn malformed_conditions_and_unknown_metrics_say_what_is_allowed() {
        let err = Expectation::parse("latency_ms.p98", "< 50").unwrap_err();
        assert!(
            err.contains("allowed:") && err.contains("latency_ms.p99"),
            "{err}"
        );
        for bad in ["50", "< fifty", "=< 5", "< 50ms", "", "< inf"] {
            let err = Expectation::parse("hit_ratio", bad).unwrap_err();
            assert!(err.contains("condition"), "{bad:?}: {err}");
        }
    }
}
