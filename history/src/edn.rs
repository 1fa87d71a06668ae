//! Jepsen's `history.edn`: one op map per line, or one vector of op maps.

use crate::value::Value;
use std::fmt;

/// Writes a value in EDN notation.
pub fn write_value(f: &mut dyn fmt::Write, v: &Value) -> fmt::Result {
    match v {
        Value::Nil => f.write_str("nil"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Int(i) => write!(f, "{i}"),
        Value::Float(x) if x.0.is_finite() => {
            let s = format!("{:?}", x.0);
            f.write_str(&s)
        }
        Value::Float(x) if x.0.is_nan() => f.write_str("##NaN"),
        Value::Float(x) if x.0 > 0.0 => f.write_str("##Inf"),
        Value::Float(_) => f.write_str("##-Inf"),
        Value::Str(s) => write_string(f, s),
        Value::Keyword(k) => write!(f, ":{k}"),
        Value::List(items) => write_seq(f, "[", items, "]"),
        Value::Set(items) => write_seq(f, "#{", items, "}"),
        Value::Map(entries) => {
            f.write_str("{")?;
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_value(f, k)?;
                f.write_str(" ")?;
                write_value(f, v)?;
            }
            f.write_str("}")
        }
    }
}

fn write_seq(f: &mut dyn fmt::Write, open: &str, items: &[Value], close: &str) -> fmt::Result {
    f.write_str(open)?;
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write_value(f, x)?;
    }
    f.write_str(close)
}

fn write_string(f: &mut dyn fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Streaming EDN history reader (placeholder until the parser lands).
pub struct EdnReader<R> {
    _input: R,
    done: bool,
}

impl<R: std::io::BufRead> EdnReader<R> {
    pub fn new(input: R) -> Self {
        EdnReader { _input: input, done: false }
    }
}

impl<R: std::io::BufRead> Iterator for EdnReader<R> {
    type Item = Result<crate::Op, crate::Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.done = true;
        Some(Err(crate::ParseError::new(0, 0, "EDN reader not implemented yet").into()))
    }
}

impl<R: std::io::BufRead> crate::OpSource for EdnReader<R> {
    fn line(&self) -> usize {
        0
    }
}
