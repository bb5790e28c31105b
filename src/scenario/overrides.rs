//! `--set PATH=VALUE` overrides: dotted paths into the scenario's TOML tree.
//!
//! The value is read as a TOML value when it parses as one (`40000`, `0.8`,
//! `true`, `{ dist = "constant", value = "5ms" }`) and as a string otherwise
//! (`allkeys-lfu`, `30s`). The overridden tree is then deserialised exactly like
//! a file, so an unknown path or a wrongly typed value is the same error.

use toml::{Table, Value};

use crate::error::{Error, Result};

/// Applies `sets` to the scenario `text` from `file`.
///
/// Returns the resulting TOML text (to be deserialised like a file) and the
/// overridden paths (so validation errors on them name `--set` rather than a
/// line of the file), as error messages write them (`events[0].factor`).
pub fn apply(text: &str, file: &str, sets: &[String]) -> Result<(String, Vec<String>)> {
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
        paths.push(message_path(&path));
    }
    // Deserialised from its own text, so that an error's position names the key
    // it is about; the error then points at the `--set` or the file's line.
    let merged = toml::to_string(&table)
        .map_err(|e| Error::BadInput(format!("{file} with --set {}: {e}", sets.join(" --set "))))?;
    Ok((merged, paths))
}

/// A `--set` path as error messages write it: `events.0.factor` is `events[0].factor`.
pub fn message_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    for part in path.split('.') {
        if part.parse::<usize>().is_ok() && !out.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
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
///
/// A whole number steps into an array: `events.0.factor` is the `factor` of
/// the first `[[events]]`, `clients.classes.1.ttl` the `ttl` of the second
/// class. The item must exist (an override changes a fault or a class, it
/// does not add one).
pub fn set_path(table: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut current = table;
    let mut depth = 0;
    while depth + 1 < parts.len() {
        let part = parts[depth];
        let indexed = parts[depth + 1].parse::<usize>().is_ok();
        if indexed && !current.contains_key(part) {
            return Err(format!(
                "the scenario has no `{}`, so it has no item {}",
                parts[..=depth].join("."),
                parts[depth + 1]
            ));
        }
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        // Array items: `name.INDEX.` steps into the INDEX-th table.
        if let Value::Array(items) = entry {
            let Some(index) = parts.get(depth + 1).and_then(|i| i.parse::<usize>().ok()) else {
                return Err(format!(
                    "`{}` is an array: give an item's index, e.g. `{}.0{}`",
                    parts[..=depth].join("."),
                    parts[..=depth].join("."),
                    parts
                        .get(depth + 1)
                        .map_or(String::new(), |rest| format!(".{rest}"))
                ));
            };
            let len = items.len();
            let item = items.get_mut(index).ok_or_else(|| {
                format!(
                    "`{}` has {len} items (indices 0 to {}), so `{path}` cannot be set",
                    parts[..=depth].join("."),
                    len.saturating_sub(1)
                )
            })?;
            if depth + 2 == parts.len() {
                *item = value;
                return Ok(());
            }
            current = match item {
                Value::Table(t) => t,
                _ => {
                    return Err(format!(
                        "`{}` is a value, not a table, so `{path}` cannot be set",
                        parts[..=depth + 1].join(".")
                    ));
                }
            };
            depth += 2;
            continue;
        }
        current = match entry {
            Value::Table(t) => t,
            _ => {
                return Err(format!(
                    "`{}` is a value, not a table, so `{path}` cannot be set",
                    parts[..=depth].join(".")
                ));
            }
        };
        depth += 1;
    }
    let last = parts[parts.len() - 1];
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

    #[test]
    fn set_reaches_array_items_by_index() {
        let mut t: Table =
            toml::from_str("[[events]]\nkind = \"flush\"\n[[events]]\nfactor = 2.0\n").unwrap();
        set_path(&mut t, "events.1.factor", Value::Float(8.0)).unwrap();
        assert_eq!(t["events"][1]["factor"].as_float(), Some(8.0));
        let err = set_path(&mut t, "events.2.factor", Value::Float(8.0)).unwrap_err();
        assert!(err.contains("has 2 items"), "{err}");
        let err = set_path(&mut t, "events.factor", Value::Float(8.0)).unwrap_err();
        assert!(err.contains("give an item's index"), "{err}");
        assert_eq!(message_path("events.0.factor"), "events[0].factor");
        assert_eq!(
            message_path("clients.classes.1.ttl"),
            "clients.classes[1].ttl"
        );
    }
}
