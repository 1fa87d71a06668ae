//! shakedown's native format: JSON Lines, one operation per line, written
//! as the run goes so a crash still leaves a checkable history.
//!
//! ```json
//! {"index":0,"time":1200345,"type":"invoke","process":3,"f":"write","value":4}
//! ```

use crate::error::ParseError;
use crate::lines::{LineReader, Peek};
use crate::op::{Op, OpType, Process, KNOWN_FIELDS};
use crate::value::Value;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use std::fmt;
use std::io::{self, BufRead, Write};

impl serde::Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("index", &self.index)?;
        if let Some(t) = self.time {
            m.serialize_entry("time", &t)?;
        }
        m.serialize_entry("type", self.kind.name())?;
        match &self.process {
            Process::Client(p) => m.serialize_entry("process", p)?,
            Process::Named(n) => m.serialize_entry("process", n)?,
        }
        m.serialize_entry("f", &self.f)?;
        m.serialize_entry("value", &self.value)?;
        if let Some(k) = &self.key {
            m.serialize_entry("key", k)?;
        }
        if let Some(n) = &self.node {
            m.serialize_entry("node", n)?;
        }
        if let Some(e) = &self.error {
            m.serialize_entry("error", e)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// An op as read from JSON, remembering whether it carried an index.
struct WireOp {
    op: Op,
    has_index: bool,
}

impl<'de> serde::Deserialize<'de> for WireOp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(OpVisitor)
    }
}

struct OpVisitor;

impl<'de> Visitor<'de> for OpVisitor {
    type Value = WireOp;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an operation object with \"type\", \"process\" and \"f\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireOp, A::Error> {
        let mut index = None;
        let mut time = None;
        let mut kind = None;
        let mut process = None;
        let mut f = None;
        let mut value = Value::Nil;
        let mut key = None;
        let mut node = None;
        let mut error = None;
        let mut extra = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            match name.as_str() {
                "index" => index = Some(map.next_value::<u64>().map_err(field_err("index"))?),
                "time" => time = map.next_value::<Option<u64>>().map_err(field_err("time"))?,
                "type" => {
                    let t: String = map.next_value()?;
                    kind = Some(OpType::parse(&t).ok_or_else(|| {
                        de::Error::custom(format!(
                            "field \"type\": expected invoke, ok, fail or info, found {t:?}"
                        ))
                    })?);
                }
                "process" => {
                    process = Some(match map.next_value::<Value>()? {
                        Value::Int(p) if p >= 0 => Process::Client(p as u64),
                        Value::Str(n) => Process::Named(n),
                        other => {
                            return Err(de::Error::custom(format!(
                                "field \"process\": expected a non-negative integer or a name such as \"nemesis\", found {other}"
                            )))
                        }
                    })
                }
                "f" => {
                    f = Some(match map.next_value::<Value>()? {
                        Value::Str(s) => s,
                        other => {
                            return Err(de::Error::custom(format!(
                                "field \"f\": expected a string, found {other}"
                            )))
                        }
                    })
                }
                "value" => value = map.next_value()?,
                "key" => key = Some(map.next_value()?),
                "node" => node = map.next_value::<Option<String>>().map_err(field_err("node"))?,
                "error" => error = Some(map.next_value()?),
                _ => extra.push((name, map.next_value()?)),
            }
        }
        let missing = |field: &str| de::Error::custom(format!("missing field \"{field}\""));
        Ok(WireOp {
            has_index: index.is_some(),
            op: Op {
                index: index.unwrap_or(0),
                time,
                kind: kind.ok_or_else(|| missing("type"))?,
                process: process.ok_or_else(|| missing("process"))?,
                f: f.ok_or_else(|| missing("f"))?,
                value,
                key,
                node,
                error,
                extra,
            },
        })
    }
}

fn field_err<E: de::Error>(field: &'static str) -> impl Fn(E) -> E {
    move |e| E::custom(format!("field \"{field}\": {e}"))
}

/// Parses one JSON line into an op. `line` is the 1-based line number used
/// in errors; `position` is the op's ordinal, its index when it has none.
pub fn parse_line(text: &[u8], line: usize, position: u64) -> Result<Op, ParseError> {
    match serde_json::from_slice::<WireOp>(text) {
        Ok(mut w) => {
            if !w.has_index {
                w.op.index = position;
            }
            let huge = |v: &Option<Value>| v.as_ref().is_some_and(Value::has_huge_integral_float);
            if w.op.value.has_huge_integral_float() || huge(&w.op.key) {
                if let Some((column, digits)) = huge_integer_literal(text) {
                    return Err(ParseError::new(
                        line,
                        column,
                        format!("integer {digits} does not fit in 64 signed bits: it cannot be compared exactly (as a float it would equal its neighbours)"),
                    ));
                }
            }
            Ok(w.op)
        }
        Err(e) => Err(json_error(&e, line)),
    }
}

/// The first integer literal in a JSON line beyond the i64 range, with its
/// 1-based column: a run of digits with no fraction or exponent after it
/// and none before it. A digit run inside a string could match too; this
/// is only asked when a value already holds a float that large.
fn huge_integer_literal(text: &[u8]) -> Option<(usize, String)> {
    let mut i = 0;
    while i < text.len() {
        if !text[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            i += 1;
        }
        let before = start.checked_sub(1).map(|b| text[b]);
        let after = text.get(i).copied();
        let part_of_float = matches!(before, Some(b'.' | b'e' | b'E' | b'+'))
            || matches!(before, Some(b'-') if start >= 2 && matches!(text[start - 2], b'e' | b'E'))
            || matches!(after, Some(b'.' | b'e' | b'E'));
        let sign = if before == Some(b'-') { "-" } else { "" };
        let literal = format!("{sign}{}", std::str::from_utf8(&text[start..i]).ok()?);
        if !part_of_float && i - start >= 19 && literal.parse::<i64>().is_err() {
            return Some((start + 1, literal));
        }
    }
    None
}

fn json_error(e: &serde_json::Error, line: usize) -> ParseError {
    // serde_json's own line is relative to the slice: always 1 here.
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    ParseError::new(line, e.column(), msg)
}

/// Bytes at the end of a line's start in which a syntax error may be an
/// artefact of the cut (`1e` of `1e5`, `-` of `-3`) rather than garbage.
const CUT_MARGIN: usize = 64;

/// Judges the start of a long line: garbage fails at once, with the
/// column of the first bad byte, instead of after the whole line is read.
pub(crate) fn peek_json(start: &[u8], line: usize) -> Peek {
    let text = start.trim_ascii_start();
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Err(e)
            if e.classify() != serde_json::error::Category::Eof
                && e.column() + CUT_MARGIN < text.len() =>
        {
            Peek::Fail(json_error(&e, line))
        }
        _ => Peek::Continue,
    }
}

/// A streaming reader: one op per non-blank line, never more than one line
/// (of at most [`MAX_LINE_BYTES`](crate::lines::MAX_LINE_BYTES)) in memory.
pub struct JsonlReader<R> {
    lines: LineReader<R>,
    position: u64,
    failed: bool,
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(input: R) -> Self {
        JsonlReader {
            lines: LineReader::new(input),
            position: 0,
            failed: false,
        }
    }

    /// Sets the longest line accepted (default 64 MiB).
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.lines.max = bytes;
        self
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = Result<Op, crate::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            match self.lines.next_line(peek_json) {
                Ok(None) => return None,
                Ok(Some(_)) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
            let text = self.lines.buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let result =
                parse_line(text, self.lines.line, self.position).map_err(crate::Error::from);
            self.position += 1;
            self.failed = result.is_err();
            return Some(result);
        }
    }
}

/// Appends ops as JSON lines. The caller decides when to flush.
pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }

    pub fn write(&mut self, op: &Op) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, op)?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// True for a field name that `Op` stores in a field of its own.
pub fn is_known_field(name: &str) -> bool {
    KNOWN_FIELDS.contains(&name)
}

impl<R: BufRead> crate::OpSource for JsonlReader<R> {
    fn line(&self) -> usize {
        self.lines.line
    }
}
