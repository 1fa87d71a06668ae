//! The value type shared by every history format.
//!
//! JSON has no keywords or sets and EDN has no distinction between a JSON
//! string key and a keyword key, so `Value` carries the union of both: a
//! history read from EDN and written back as EDN round-trips exactly, and
//! one written as JSON degrades keywords to strings and sets to arrays.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A float with total equality, ordering and hashing (by bit pattern via
/// `total_cmp`), so `Value` can be a hash-map key.
#[derive(Clone, Copy, Debug)]
pub struct Float(pub f64);

impl PartialEq for Float {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for Float {}
impl PartialOrd for Float {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Float {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl Hash for Float {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(Float),
    Str(String),
    /// An EDN keyword, stored without its leading colon.
    Keyword(String),
    /// A JSON array, EDN vector or EDN list.
    List(Vec<Value>),
    /// An EDN set, in the order it was read.
    Set(Vec<Value>),
    /// A JSON object or EDN map, in the order it was read.
    Map(Vec<(Value, Value)>),
}

impl Value {
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text of a string or keyword (the two are interchangeable names).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Keyword(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a list, vector or set.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Looks a key up in a map by its name (string or keyword).
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(name))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A canonical form in which strings and keywords with the same text
    /// are equal and sets compare regardless of order: what checkers use
    /// when a value read from EDN (`:x`) must match one read from JSON (`"x"`).
    pub fn normalized(&self) -> Value {
        match self {
            Value::Keyword(s) => Value::Str(s.clone()),
            Value::List(v) => Value::List(v.iter().map(Value::normalized).collect()),
            Value::Set(v) => {
                let mut v: Vec<Value> = v.iter().map(Value::normalized).collect();
                v.sort();
                v.dedup();
                Value::Set(v)
            }
            Value::Map(entries) => {
                let mut e: Vec<(Value, Value)> = entries
                    .iter()
                    .map(|(k, v)| (k.normalized(), v.normalized()))
                    .collect();
                e.sort();
                Value::Map(e)
            }
            other => other.clone(),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}

/// Displays the value as EDN, the notation Jepsen users read.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::edn::write_value(f, self)
    }
}

// ---- JSON (serde) ---------------------------------------------------------

impl Value {
    /// Whether a float at or beyond 2^63 with no fractional part is in
    /// the value: what an integer literal too large for 64 bits becomes
    /// when read as JSON.
    pub fn has_huge_integral_float(&self) -> bool {
        match self {
            Value::Float(x) => x.0.fract() == 0.0 && x.0.abs() >= i64::MAX as f64,
            Value::List(v) | Value::Set(v) => v.iter().any(Value::has_huge_integral_float),
            Value::Map(m) => m
                .iter()
                .any(|(k, v)| k.has_huge_integral_float() || v.has_huge_integral_float()),
            _ => false,
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(x.0),
            Value::Str(x) | Value::Keyword(x) => s.serialize_str(x),
            Value::List(v) | Value::Set(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    // JSON object keys are strings: non-string keys are
                    // written in their EDN notation.
                    match k.as_str() {
                        Some(name) => map.serialize_entry(name, v)?,
                        None => map.serialize_entry(&k.to_string(), v)?,
                    }
                }
                map.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    // Integers are compared exactly, so one beyond i64 is refused: as a
    // float, 2^64 and 2^64 + 1 would be the same value, and a read of the
    // wrong one would pass.
    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u)
            .map(Value::Int)
            .map_err(|_| E::custom(format!("integer {u} does not fit in 64 signed bits")))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        // serde_json hands an integer literal beyond u64 over as a float:
        // the JSON Lines reader looks for one when a value is this large
        // ([`Value::has_huge_integral_float`]) and refuses the line.
        Ok(Value::Float(Float(x)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(Value::List(v))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.push((Value::Str(k), v));
        }
        Ok(Value::Map(entries))
    }
}
