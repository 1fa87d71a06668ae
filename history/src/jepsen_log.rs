//! The `jepsen.util` log lines Jepsen and Maelstrom write for every
//! operation, in each logging layout they have used:
//!
//! ```text
//! INFO  jepsen.util - 3<TAB>:invoke<TAB>:cas<TAB>[1 2]
//! INFO [2024-01-06 15:00:19,037] jepsen worker 0 - jepsen.util 0<TAB>:invoke<TAB>:write<TAB>1
//! 2021-02-26 23:39:01,300{GMT}<TAB>INFO<TAB>[jepsen worker 1] jepsen.util: 1<TAB>:invoke<TAB>:write<TAB>[0 2]
//! ```
//!
//! After `jepsen.util` and its separator (` - `, `: ` or just a space) come
//! the fields, separated by whitespace: tabs as Jepsen writes them, or runs
//! of spaces where a copy turned the tabs into spaces (Porcupine reads them
//! that way too). The fields are the process (an integer, or `:nemesis`),
//! the type (`:invoke`, `:ok`, `:fail`, `:info`), `f`, the value (EDN;
//! `nil` when absent) and optionally an error: the rest of the line, read
//! as EDN when it is one value and kept as text otherwise (Jepsen prints
//! the error with `str`, so `connection refused` comes without quotes).
//!
//! jepsen.util also logs other things (`jepsen.util Waiting for ...`): a
//! line is an operation when the first field after the marker is a process
//! or the second a type. Other lines are skipped; an operation line that
//! does not fit is an error naming line and column, and a file without a
//! single operation line is an error, not an empty history. Ops are
//! indexed by their position; the logs carry no time.
//!
//! `:info` completions in these logs carry `:timed-out` instead of the
//! value: it is kept as read, and checkers use the invocation's value.

use crate::edn::{describe, parse_value, Lexer, Pos};
use crate::error::{Error, ParseError};
use crate::lines::{Line, LineReader, Peek};
use crate::op::{Op, OpType, Process};
use crate::value::Value;
use std::io::{self, BufRead};

const MARKER: &[u8] = b"jepsen.util";
const TYPES: [&[u8]; 4] = [b":invoke", b":ok", b":fail", b":info"];

/// What an operation line looks like, for errors.
pub const EXAMPLES: &str = "`INFO  jepsen.util - 3<TAB>:invoke<TAB>:cas<TAB>[1 2]` or `INFO [2024-01-06 15:00:19,037] jepsen worker 0 - jepsen.util 0<TAB>:invoke<TAB>:write<TAB>1`";

/// Streaming jepsen.util log reader: one line in memory at a time.
pub struct LogReader<R> {
    lines: LineReader<R>,
    position: u64,
    failed: bool,
    lx: Lexer<io::Empty>,
}

impl<R: BufRead> LogReader<R> {
    pub fn new(input: R) -> Self {
        LogReader {
            lines: LineReader::new(input),
            position: 0,
            failed: false,
            lx: Lexer::over(b"", Pos { line: 1, col: 1 }),
        }
    }

    /// Sets the longest line accepted (default 64 MiB).
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.lines.max = bytes;
        self
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_spaces(line: &[u8], mut i: usize) -> usize {
    while line.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// Where the fields of an operation line start, or `None` for any other
/// line (other log output).
pub fn op_fields(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find(&line[from..], MARKER) {
        let at = from + i + MARKER.len();
        from = at;
        if let Some(start) = after_separator(line, at) {
            if looks_like_op(&line[start..]) {
                return Some(start);
            }
        }
    }
    None
}

/// The position after ` - `, `: ` or whitespace following `jepsen.util`.
fn after_separator(line: &[u8], at: usize) -> Option<usize> {
    match *line.get(at)? {
        b':' => {
            let j = skip_spaces(line, at + 1);
            (j > at + 1).then_some(j)
        }
        b if is_space(b) => {
            let j = skip_spaces(line, at);
            if line.get(j) == Some(&b'-') && line.get(j + 1).copied().is_some_and(is_space) {
                Some(skip_spaces(line, j + 1))
            } else {
                Some(j)
            }
        }
        _ => None,
    }
}

/// A process first (`3`, `:nemesis`), or a type second.
fn looks_like_op(fields: &[u8]) -> bool {
    let mut tokens = fields
        .split(|&b| is_space(b) || b == b'\n' || b == b'\r')
        .filter(|t| !t.is_empty());
    let (first, second) = (tokens.next(), tokens.next());
    let process =
        first.is_some_and(|t| t.iter().all(u8::is_ascii_digit) || (t.len() > 1 && t[0] == b':'));
    process || second.is_some_and(|t| TYPES.contains(&t))
}

/// The start of a long line: keep it only if it is an operation line.
fn peek_log(start: &[u8], _line: usize) -> Peek {
    match op_fields(start) {
        Some(_) => Peek::Continue,
        None => Peek::Skip,
    }
}

/// The 1-based column (in characters) of byte `off` of `text`.
fn column(text: &[u8], off: usize) -> usize {
    1 + text[..off.min(text.len())]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
}

/// The next field as a single EDN value.
fn field(lx: &mut Lexer<io::Empty>, what: &str) -> Result<Value, ParseError> {
    lx.skip_ws();
    if lx.peek().is_none() {
        let p = lx.pos();
        return Err(ParseError::new(
            p.line,
            p.col,
            format!("expected {what}, found the end of the line: an operation line has a process, a type, f and a value after `jepsen.util`"),
        ));
    }
    lx.value(0, what)
}

impl<R: BufRead> LogReader<R> {
    fn parse_line(&mut self, start: usize) -> Result<Op, ParseError> {
        let line = self.lines.line;
        let mut text = &self.lines.buf[..];
        while let [rest @ .., b'\n' | b'\r'] = text {
            text = rest;
        }
        let lx = &mut self.lx;
        lx.reset(
            &text[start..],
            Pos {
                line,
                col: column(text, start),
            },
        );
        lx.skip_ws();
        let process_at = lx.pos();
        let process = match field(lx, "a process")? {
            Value::Int(p) if p >= 0 => Process::Client(p as u64),
            Value::Keyword(n) => Process::Named(n),
            other => {
                return Err(ParseError::new(
                    process_at.line,
                    process_at.col,
                    format!(
                        "expected a process number or :nemesis, found {}",
                        describe(&other)
                    ),
                ))
            }
        };
        lx.skip_ws();
        let type_at = lx.pos();
        let ty = field(lx, "a type")?;
        let kind = match ty
            .as_str()
            .filter(|_| matches!(ty, Value::Keyword(_)))
            .and_then(OpType::parse)
        {
            Some(kind) => kind,
            None => {
                return Err(ParseError::new(
                    type_at.line,
                    type_at.col,
                    format!(
                        "expected :invoke, :ok, :fail or :info, found {}",
                        describe(&ty)
                    ),
                ))
            }
        };
        lx.skip_ws();
        let f_at = lx.pos();
        let f = match field(lx, "f")? {
            Value::Keyword(s) | Value::Str(s) => s,
            other => {
                return Err(ParseError::new(
                    f_at.line,
                    f_at.col,
                    format!("expected a keyword for f, found {}", describe(&other)),
                ))
            }
        };
        lx.skip_ws();
        let value = match lx.peek() {
            None => Value::Nil,
            Some(_) => lx.value(0, "a value")?,
        };
        lx.skip_ws();
        let error = match lx.peek() {
            None => None,
            Some(_) => {
                // The rest of the line: one EDN value, or text.
                let rest = &text[start + lx.offset()..];
                let rest = String::from_utf8_lossy(rest);
                let rest = rest.trim();
                Some(parse_value(rest).unwrap_or_else(|_| Value::Str(rest.to_string())))
            }
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
            match self.lines.next_line(peek_log) {
                Ok(None) => {
                    self.failed = true;
                    if self.position > 0 {
                        return None;
                    }
                    let n = self.lines.line;
                    return Some(Err(ParseError::new(
                        0,
                        0,
                        format!(
                            "no operation line found in {n} line{}; expected jepsen.util lines like {EXAMPLES}",
                            if n == 1 { "" } else { "s" }
                        ),
                    )
                    .into()));
                }
                Ok(Some(Line::Skipped)) => continue,
                Ok(Some(Line::Kept)) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
            let Some(start) = op_fields(&self.lines.buf) else {
                continue;
            };
            let result = self.parse_line(start).map_err(Error::from);
            self.failed = result.is_err();
            return Some(result);
        }
    }
}

impl<R: BufRead> crate::OpSource for LogReader<R> {
    fn line(&self) -> usize {
        self.lines.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_lines_in_every_layout_and_other_output() {
        fn start(l: &str) -> Option<&str> {
            op_fields(l.as_bytes()).map(|i| &l[i..])
        }
        assert_eq!(
            start("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]"),
            Some("3\t:invoke\t:cas\t[1 2]")
        );
        assert_eq!(
            start("INFO [2024-01-06 15:00:19,037] jepsen worker 0 - jepsen.util 0\t:invoke\t:write\t1"),
            Some("0\t:invoke\t:write\t1")
        );
        assert_eq!(
            start("2021-02-26 23:39:01,300{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:invoke\t:write\t[0 2]"),
            Some("1\t:invoke\t:write\t[0 2]")
        );
        assert_eq!(
            start("INFO [jepsen worker nemesis] jepsen.util: :nemesis  :info  :start  nil"),
            Some(":nemesis  :info  :start  nil")
        );
        // A malformed process is still an operation line (and an error later).
        assert_eq!(
            start("INFO  jepsen.util - x0\t:invoke\t:read\tnil"),
            Some("x0\t:invoke\t:read\tnil")
        );
        for other in [
            "INFO [2024-01-06 15:00:19,037] jepsen node n1 - jepsen.util Waiting for etcd...",
            "INFO [2024-01-06 15:00:19,030] jepsen test runner - jepsen.core Relative time begins now",
            "INFO  jepsen.utility - 3\t:invoke\t:cas\t[1 2]",
            "INFO  jepsen.util -",
            "",
        ] {
            assert_eq!(start(other), None, "{other:?}");
        }
    }
}
