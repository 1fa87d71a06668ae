//! Settings shared by every config file: durations written `90`, `90s`,
//! `1.5m`, `500ms` or `2h`, bounded so no later arithmetic overflows.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// The longest duration any setting accepts (a week): beyond it a number
/// is a mistake, and `Instant + Duration` could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses `90`, `90s`, `1.5m`, `500ms`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    // The unit is the trailing run of letters ("1e3s" is 1000 seconds).
    let split = s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len();
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected a duration such as 90s, 5m or 500ms"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?}, expected ms, s, m or h"
            ))
        }
    };
    seconds(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// A number of seconds as a duration, refusing negative, non-finite and
/// huge values.
pub fn seconds(secs: f64) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err("expected a non-negative duration".into());
    }
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "expected at most {} s (a week), found {secs} s",
            MAX_DURATION.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Serde: a duration setting, as a number of seconds or text.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => seconds(s).map_err(serde::de::Error::custom),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

/// JSON Schema of a duration setting (`90`, `90s`, `1.5m`, `500ms`,
/// `2h`): a number of seconds from `min` (0 allowed when `zero_ok`) to
/// `max_secs`, or text [`parse_duration`] reads. Text's range cannot be
/// written as a schema: the reader checks it, and `range` says it.
pub fn duration_schema(zero_ok: bool, max_secs: u64, range: &str) -> schemars::Schema {
    let number = if zero_ok {
        schemars::json_schema!({"type": "number", "minimum": 0, "maximum": max_secs})
    } else {
        schemars::json_schema!({"type": "number", "exclusiveMinimum": 0, "maximum": max_secs})
    };
    schemars::json_schema!({
        "description": format!("A duration: seconds (`90`) or text with a unit: ms, s, m (or min), h (`500ms`, `1.5m`, `2h`); {range}."),
        "anyOf": [number, {"type": "string", "pattern": DURATION_PATTERN}],
        "x-range": range,
    })
}

/// What [`parse_duration`] reads: a non-negative decimal number (an
/// exponent allowed) and an optional unit.
pub const DURATION_PATTERN: &str =
    r"^\s*\+?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*(ms|s|m|min|h)?$";

/// The JSON Schema (draft 7, which editors' YAML language servers read) of
/// a config file read as `T`, titled `title`.
pub fn root_schema<T: schemars::JsonSchema>(title: &str) -> serde_json::Value {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("title".into(), title.into());
    let mut v = schema.to_value();
    drop_null_defaults(&mut v);
    add_aliases(&mut v);
    v
}

/// A property marked `"x-alias": "old_name"` (beside its `#[serde(alias)]`)
/// gets a deprecated twin of that name, so the schema takes every key the
/// reader takes.
pub fn add_aliases(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Object(props)) = m.get_mut("properties") {
                let twins: Vec<(String, serde_json::Value)> = props
                    .iter()
                    .filter_map(|(k, p)| {
                        let alias = p.get("x-alias")?.as_str()?.to_string();
                        let mut twin = p.clone();
                        let t = twin.as_object_mut()?;
                        t.remove("x-alias");
                        t.insert("deprecated".into(), true.into());
                        t.insert(
                            "description".into(),
                            format!("The old spelling of `{k}`.").into(),
                        );
                        Some((alias, twin))
                    })
                    .collect();
                props.extend(twins);
            }
            m.values_mut().for_each(add_aliases);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(add_aliases),
        _ => {}
    }
}

/// `"default": null` is what an absent optional setting deserializes to,
/// not a value to write: left out.
pub fn drop_null_defaults(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("default") == Some(&serde_json::Value::Null) {
                m.remove("default");
            }
            m.values_mut().for_each(drop_null_defaults);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_null_defaults),
        _ => {}
    }
}

/// [`duration`]'s schema: 0 to a week.
pub fn duration_any(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    duration_schema(true, MAX_DURATION.as_secs(), "0 to 7 days")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_are_bounded() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
        assert!(parse_duration("3d").unwrap_err().contains("unit"));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e20").unwrap_err().contains("at most"));
        assert_eq!(parse_duration("1e3s").unwrap(), Duration::from_secs(1000));
        assert!(parse_duration("NaN").is_err());
    }
}
