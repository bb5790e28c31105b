//! Reading a mitigation's options from the `[strategy]` table.
//!
//! Each mitigation reads its own options with its own defaults; a value of
//! the wrong type or out of range is a [`Problem`] naming the key, which the
//! scenario turns into an error at the key's line.

use std::collections::BTreeMap;

use crate::time::{SimDuration, parse_duration};

/// The options given in `[strategy]` (besides `kind`).
pub struct Options<'a> {
    given: &'a BTreeMap<String, toml::Value>,
}

/// A bad option value: which key, and what is wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The dotted key, `strategy.<option>`.
    pub key: String,
    /// What is wrong and what is allowed, completing "`key` ...".
    pub message: String,
}

impl<'a> Options<'a> {
    /// The options as the scenario file (and its `--set` overrides) give them.
    pub fn new(given: &'a BTreeMap<String, toml::Value>) -> Self {
        Options { given }
    }

    /// The raw value of `name`, if given.
    pub fn value(&self, name: &str) -> Option<&'a toml::Value> {
        self.given.get(name)
    }

    /// A problem with option `name`.
    pub fn problem(&self, name: &str, message: impl Into<String>) -> Problem {
        Problem {
            key: format!("strategy.{name}"),
            message: message.into(),
        }
    }

    /// A duration longer than zero, such as `"10s"`; `default` when absent.
    pub fn duration(&self, name: &str, default: &str) -> Result<SimDuration, Problem> {
        let text = match self.value(name) {
            None => default,
            Some(toml::Value::String(text)) => text,
            Some(other) => {
                return Err(self.problem(
                    name,
                    format!("is {other}; it must be a duration in quotes such as \"10s\""),
                ));
            }
        };
        self.positive_duration(name, text)
    }

    /// Parses `text` as the value of option `name`: a duration longer than zero.
    pub fn positive_duration(&self, name: &str, text: &str) -> Result<SimDuration, Problem> {
        let d = parse_duration(text).map_err(|why| self.problem(name, why))?;
        if d.0 == 0 {
            return Err(self.problem(name, format!("is `{text}`; it must be longer than zero")));
        }
        Ok(d)
    }

    /// A number (integers are accepted); `default` when absent.
    pub fn number(&self, name: &str, default: f64) -> Result<f64, Problem> {
        match self.value(name) {
            None => Ok(default),
            Some(toml::Value::Float(x)) => Ok(*x),
            Some(toml::Value::Integer(i)) => Ok(*i as f64),
            Some(other) => Err(self.problem(name, format!("is {other}; it must be a number"))),
        }
    }

    /// `true` or `false`; `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, Problem> {
        match self.value(name) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.problem(name, format!("is {other}; it must be true or false"))),
        }
    }

    /// A word from a fixed list; `default` when absent. `allowed` pairs each
    /// word with what it means, for the error message.
    pub fn choice(
        &self,
        name: &str,
        default: &'static str,
        allowed: &[(&'static str, &str)],
    ) -> Result<&'a str, Problem> {
        let word = match self.value(name) {
            None => return Ok(default),
            Some(toml::Value::String(word)) => Some(word.as_str()),
            Some(_) => None,
        };
        if let Some(word) = word
            && allowed.iter().any(|(w, _)| *w == word)
        {
            return Ok(word);
        }
        let shown = self
            .value(name)
            .map(ToString::to_string)
            .unwrap_or_default();
        let options: Vec<String> = allowed
            .iter()
            .map(|(w, meaning)| format!("\"{w}\" ({meaning})"))
            .collect();
        Err(self.problem(
            name,
            format!("is {shown}; allowed: {}", options.join(" or ")),
        ))
    }
}
