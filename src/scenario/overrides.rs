//! `--set PATH=VALUE` overrides: dotted paths into the scenario's TOML tree.
//!
//! The value is read as a TOML value when it parses as one (`40000`, `0.8`,
//! `true`, `{ dist = "constant", value = "5ms" }`) and as a string otherwise
//! (`allkeys-lfu`, `30s`). The overridden tree is then deserialised exactly like
//! a file, so an unknown path or a wrongly typed value is the same error.

use toml::{Table, Value};

use super::RawScenario;
use crate::error::{Error, Result};

/// Applies `sets` to the scenario `text` from `file`.
///
/// Returns the resulting raw scenario and the overridden paths (so validation
/// errors on them name `--set` rather than a line of the file).
pub fn apply(text: &str, file: &str, sets: &[String]) -> Result<(RawScenario, Vec<String>)> {
    let in_file = super::validate::Source {
        file,
        text,
        overridden: &[],
    };
    let mut table: Table = toml::from_str(text).map_err(|e| in_file.parse_error(&e, text))?;
    let mut paths = Vec::with_capacity(sets.len());
    for set in sets {
        let (path, value) = parse_set(set)?;
        if path == "strategy.kind" {
            drop_foreign_strategy_options(&mut table, value.as_str().unwrap_or_default());
        }
        set_path(&mut table, &path, value)
            .map_err(|why| Error::BadInput(format!("--set {set}: {why}")))?;
        paths.push(path);
    }
    // Deserialised from its own text, so that an error's position names the key
    // it is about; the error then points at the `--set` or the file's line.
    let merged = toml::to_string(&table)
        .map_err(|e| Error::BadInput(format!("{file} with --set {}: {e}", sets.join(" --set "))))?;
    let source = super::validate::Source {
        file,
        text,
        overridden: &paths,
    };
    let raw =
        toml::from_str::<RawScenario>(&merged).map_err(|e| source.parse_error(&e, &merged))?;
    Ok((raw, paths))
}

/// Switching `strategy.kind` from the command line drops the file's options
/// that the new kind does not take, so one file can be run (or swept) under
/// every strategy. Options set after the switch are still checked.
fn drop_foreign_strategy_options(table: &mut Table, kind: &str) {
    let Some(allowed) = crate::strategy::kind(kind).map(|k| k.options) else {
        return; // an unknown kind is reported by validation
    };
    if let Some(Value::Table(strategy)) = table.get_mut("strategy") {
        strategy.retain(|key, _| key == "kind" || allowed.contains(&key));
    }
}

/// Splits `PATH=VALUE` and reads the value as TOML, or as a string if it is not TOML.
pub fn parse_set(set: &str) -> Result<(String, Value)> {
    let (path, value) = set.split_once('=').ok_or_else(|| {
        Error::BadInput(format!(
            "--set {set}: expected PATH=VALUE with a dotted path, e.g. --set clients.rate=40000"
        ))
    })?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(Error::BadInput(format!(
            "--set {set}: `{path}` is not a dotted path such as cache.ttl or strategy.kind"
        )));
    }
    Ok((path.to_string(), parse_value(value.trim())))
}

/// Reads `text` as a TOML value, falling back to a plain string.
pub fn parse_value(text: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// Sets the dotted `path` in `table`, creating missing tables on the way.
pub fn set_path(table: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("split yields at least one part");
    let mut current = table;
    for (depth, part) in parts.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        current = match entry {
            Value::Table(t) => t,
            _ => {
                return Err(format!(
                    "`{}` is a value, not a table, so `{path}` cannot be set",
                    parts[..=depth].join(".")
                ));
            }
        };
    }
    current.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_toml_or_strings() {
        assert_eq!(parse_value("40000"), Value::Integer(40000));
        assert_eq!(parse_value("0.8"), Value::Float(0.8));
        assert_eq!(
            parse_value("allkeys-lfu"),
            Value::String("allkeys-lfu".into())
        );
        assert_eq!(parse_value("30s"), Value::String("30s".into()));
        assert!(parse_value("{ dist = \"constant\", value = \"5ms\" }").is_table());
    }

    #[test]
    fn set_creates_and_replaces() {
        let mut t: Table = toml::from_str("[clients]\nrate = 5").unwrap();
        set_path(&mut t, "clients.rate", Value::Integer(9)).unwrap();
        set_path(&mut t, "database.cores", Value::Integer(4)).unwrap();
        assert_eq!(t["clients"]["rate"].as_integer(), Some(9));
        assert_eq!(t["database"]["cores"].as_integer(), Some(4));
        assert!(set_path(&mut t, "clients.rate.x", Value::Integer(1)).is_err());
    }
}
