//! The `jepsen.util` log lines of older Jepsen runs:
//! `INFO  jepsen.util - 3<TAB>:invoke<TAB>:cas<TAB>[1 2]` (fields separated by tabs).
//!
//! After `jepsen.util - ` come tab-separated fields: the process (an
//! integer, or `:nemesis`), the type (`:invoke`, `:ok`, `:fail`, `:info`),
//! `f`, the value (EDN; `nil` when the field is absent) and optionally an
//! error (EDN). Lines without `jepsen.util - ` are other log output and are
//! skipped; a line with it that does not fit is an error naming the line
//! and column. Ops are indexed by their position; the logs carry no time.
//!
//! `:info` completions in these logs carry `:timed-out` instead of the
//! value: it is kept as read, and checkers use the invocation's value.

use crate::edn::{describe, Lexer, Pos};
use crate::error::{Error, ParseError};
use crate::op::{Op, OpType, Process};
use crate::value::Value;
use std::io::{self, BufRead};

const MARKER: &[u8] = b"jepsen.util - ";

/// Streaming jepsen.util log reader: one line in memory at a time.
pub struct LogReader<R> {
    input: R,
    buf: Vec<u8>,
    line: usize,
    position: u64,
    failed: bool,
    lx: Lexer<io::Empty>,
}

impl<R: BufRead> LogReader<R> {
    pub fn new(input: R) -> Self {
        LogReader {
            input,
            buf: Vec::new(),
            line: 0,
            position: 0,
            failed: false,
            lx: Lexer::over(b"", Pos { line: 1, col: 1 }),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The 1-based column (in characters) of byte `off` of `text`.
fn column(text: &[u8], off: usize) -> usize {
    1 + text[..off.min(text.len())]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
}

/// Parses one field as a single EDN value.
fn field(
    lx: &mut Lexer<io::Empty>,
    text: &[u8],
    (start, end): (usize, usize),
    line: usize,
    what: &str,
) -> Result<Value, ParseError> {
    let at = Pos {
        line,
        col: column(text, start),
    };
    let bytes = &text[start..end];
    if bytes.trim_ascii().is_empty() {
        return Err(ParseError::new(
            line,
            at.col,
            format!("expected {what}, found an empty field"),
        ));
    }
    lx.reset(bytes, at);
    let v = lx.value(0, what)?;
    lx.skip_ws();
    if lx.peek().is_some() {
        let p = lx.pos();
        return Err(ParseError::new(
            p.line,
            p.col,
            format!("unexpected text after {what} (fields are separated by tabs)"),
        ));
    }
    Ok(v)
}

impl<R: BufRead> LogReader<R> {
    fn parse_line(&mut self, after_marker: usize) -> Result<Op, ParseError> {
        let line = self.line;
        let mut text = &self.buf[..];
        while let [rest @ .., b'\n' | b'\r'] = text {
            text = rest;
        }
        let mut fields = Vec::with_capacity(5);
        let mut start = after_marker;
        for (i, &b) in text.iter().enumerate().skip(after_marker) {
            if b == b'\t' {
                fields.push((start, i));
                start = i + 1;
            }
        }
        fields.push((start, text.len()));
        if fields.len() < 3 {
            return Err(ParseError::new(
                line,
                column(text, text.len()),
                format!(
                    "expected process, type, f and value separated by tabs after `jepsen.util - `, found {} field{}",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        if fields.len() > 5 {
            return Err(ParseError::new(
                line,
                column(text, fields[5].0),
                "unexpected sixth field: expected process, type, f, value and an optional error",
            ));
        }
        let lx = &mut self.lx;
        let err =
            |range: (usize, usize), msg: String| ParseError::new(line, column(text, range.0), msg);

        let process = match field(lx, text, fields[0], line, "a process")? {
            Value::Int(p) if p >= 0 => Process::Client(p as u64),
            Value::Keyword(n) => Process::Named(n),
            other => {
                return Err(err(
                    fields[0],
                    format!(
                        "expected a process number or :nemesis, found {}",
                        describe(&other)
                    ),
                ))
            }
        };
        let ty = field(lx, text, fields[1], line, "a type")?;
        let kind = match ty
            .as_str()
            .filter(|_| matches!(ty, Value::Keyword(_)))
            .and_then(OpType::parse)
        {
            Some(kind) => kind,
            None => {
                let other = ty;
                return Err(err(
                    fields[1],
                    format!(
                        "expected :invoke, :ok, :fail or :info, found {}",
                        describe(&other)
                    ),
                ));
            }
        };
        let f = match field(lx, text, fields[2], line, "f")? {
            Value::Keyword(s) | Value::Str(s) => s,
            other => {
                return Err(err(
                    fields[2],
                    format!("expected a keyword for f, found {}", describe(&other)),
                ))
            }
        };
        let value = match fields.get(3) {
            Some(&r) => field(lx, text, r, line, "a value")?,
            None => Value::Nil,
        };
        let error = match fields.get(4) {
            Some(&r) => Some(field(lx, text, r, line, "an error")?),
            None => None,
        };
        let mut op = Op::new(kind, process, f, value);
        op.error = error;
        op.index = self.position;
        self.position += 1;
        Ok(op)
    }
}

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = Result<Op, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    self.failed = true;
                    return Some(Err(Error::Io { file: None, source }));
                }
            }
            self.line += 1;
            let Some(at) = find(&self.buf, MARKER) else {
                continue;
            };
            let result = self.parse_line(at + MARKER.len()).map_err(Error::from);
            self.failed = result.is_err();
            return Some(result);
        }
    }
}

impl<R: BufRead> crate::OpSource for LogReader<R> {
    fn line(&self) -> usize {
        self.line
    }
}
