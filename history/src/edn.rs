//! Jepsen's `history.edn`: one op map per line (or per form), or one vector
//! (or list) of op maps as Knossos writes them.
//!
//! ```edn
//! {:index 0, :time 123, :type :invoke, :process 3, :f :write, :value 4}
//! #jepsen.history.Op{:index 1, :type :ok, :process 3, :f :write, :value 4}
//! ```
//!
//! The reader is streaming: it reads through a fixed 64 KiB buffer, keeps
//! one op in memory at a time (one element at a time of a top-level
//! vector), and tracks line and column (in characters) for errors.
//!
//! EDN to [`Value`] mapping:
//!
//! - `nil`, `true`/`false`, integers (`N` bigints that fit in 64 bits),
//!   floats (`M` decimals become floats, `1/3` ratios too, `##Inf`, `##NaN`);
//! - strings (escapes `\" \\ \n \t \r \b \f \uXXXX`) and characters
//!   (`\a`, `\newline`, `\u00e9`), both as [`Value::Str`];
//! - keywords as [`Value::Keyword`] without the colon;
//! - **symbols as [`Value::Str`]** (their text): histories use them only for
//!   names such as exception classes, and checkers compare names as text;
//! - vectors and lists as [`Value::List`], sets as [`Value::Set`], maps as
//!   [`Value::Map`];
//! - tagged literals (`#inst "..."`, `#jepsen.history.Op{...}`) as the
//!   value that follows the tag (the tag is dropped); `#_` discards a form;
//!   `;` comments and commas are whitespace.
//!
//! Nesting deeper than [`MAX_DEPTH`] is an error (values are recursive data
//! and would overflow the stack when dropped or printed).
//!
//! Op maps: `:type` must be a keyword (`:invoke`, `:ok`, `:fail`, `:info`);
//! `:process` an integer or a keyword/string (`:nemesis`); `:f` a keyword or
//! string; `:index`/`:time` non-negative integers; `:key`, `:node`,
//! `:error` optional; every other entry goes to [`Op::extra`] under its
//! name without the colon. A missing `:index` is the op's ordinal position.
//!
//! Ops without `:f` or `:process`, as in the Elle paper's example history
//! (`{:index 0 :type :invoke :value [[:append 253 1] ...]}`):
//!
//! - a missing `:f` is `"txn"` when the value is a vector of micro-op
//!   vectors (`[[:append k v] [:r k nil]]`); otherwise it is an error;
//! - a missing `:process` is synthesised so the history can still be
//!   paired: each invocation without `:process` gets a fresh client process
//!   `SYNTHETIC_PROCESS_BASE + n` (n = 0, 1, 2 ...), and a completion
//!   without `:process` completes the oldest still-open such invocation
//!   with the same `f` (for the sequential histories these files hold,
//!   the invocation just before it). A completion with no such open
//!   invocation is an error.

use crate::error::{Error, ParseError};
use crate::op::{Op, OpType, Process};
use crate::value::{Float, Value};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, Write};

/// Deepest nesting of collections accepted (the top-level vector of a
/// Knossos file does not count).
pub const MAX_DEPTH: usize = 256;

/// First process id given to ops that have no `:process` (see the module
/// documentation); far above any real client number.
pub const SYNTHETIC_PROCESS_BASE: u64 = 1 << 32;

const BUF_SIZE: usize = 1 << 16;

// ---- writing ----------------------------------------------------------------

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

/// True when `s` can be written as a keyword (`:s`) and read back as the
/// same name: letters, digits and `* + ! - _ ? < > = . /`, not starting
/// with a digit or `/`.
pub fn is_keyword_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        None => return false,
        Some(c) if c.is_ascii_digit() || c == '/' => return false,
        _ => {}
    }
    // `:+1` / `:-1` read back fine but look like numbers to Clojure.
    if (s.starts_with('+') || s.starts_with('-'))
        && s[1..].starts_with(|c: char| c.is_ascii_digit())
    {
        return false;
    }
    s.chars()
        .all(|c| c.is_alphanumeric() || "*+!-_?<>=./".contains(c))
}

fn write_name(f: &mut dyn fmt::Write, name: &str) -> fmt::Result {
    if is_keyword_name(name) {
        f.write_char(':')?;
        f.write_str(name)
    } else {
        write_string(f, name)
    }
}

/// Writes one op as an EDN map in Jepsen's field order:
/// `{:index 0, :time 123, :type :invoke, :process 3, :f :write, :value 4}`,
/// then `:key`, `:node`, `:error` when present and the extra fields.
pub fn write_op(f: &mut dyn fmt::Write, op: &Op) -> fmt::Result {
    write!(f, "{{:index {}", op.index)?;
    if let Some(t) = op.time {
        write!(f, ", :time {t}")?;
    }
    write!(f, ", :type :{}, :process ", op.kind.name())?;
    match &op.process {
        Process::Client(p) => write!(f, "{p}")?,
        Process::Named(n) => write_name(f, n)?,
    }
    f.write_str(", :f ")?;
    write_name(f, &op.f)?;
    f.write_str(", :value ")?;
    write_value(f, &op.value)?;
    if let Some(k) = &op.key {
        f.write_str(", :key ")?;
        write_value(f, k)?;
    }
    if let Some(n) = &op.node {
        f.write_str(", :node ")?;
        write_string(f, n)?;
    }
    if let Some(e) = &op.error {
        f.write_str(", :error ")?;
        write_value(f, e)?;
    }
    for (k, v) in &op.extra {
        f.write_str(", ")?;
        write_name(f, k)?;
        f.write_char(' ')?;
        write_value(f, v)?;
    }
    f.write_char('}')
}

/// Writes ops as EDN, one map per line. The caller decides when to flush.
pub struct EdnWriter<W: Write> {
    out: W,
    buf: String,
}

impl<W: Write> EdnWriter<W> {
    pub fn new(out: W) -> Self {
        EdnWriter {
            out,
            buf: String::new(),
        }
    }

    pub fn write(&mut self, op: &Op) -> io::Result<()> {
        self.buf.clear();
        // Writing to a String cannot fail.
        let _ = write_op(&mut self.buf, op);
        self.buf.push('\n');
        self.out.write_all(self.buf.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

// ---- lexing and values ------------------------------------------------------

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

fn err_at(pos: Pos, msg: impl Into<String>) -> ParseError {
    ParseError::new(pos.line, pos.col, msg)
}

/// Shows a value in an error message, shortened if long.
pub(crate) fn describe(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 60 {
        let mut cut = 57;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else if b == b' ' {
        "a space".to_string()
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Token ends. Control bytes are too: they belong in no token, and
/// stopping at them makes binary input (`/dev/zero`) fail at its first byte.
fn is_delimiter(b: u8) -> bool {
    b < 0x20
        || b == 0x7f
        || matches!(
            b,
            b' ' | b'\t'
                | b'\n'
                | b'\r'
                | 0x0c
                | b','
                | b'"'
                | b';'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
        )
}

fn closer_name(b: u8) -> &'static str {
    match b {
        b']' => "vector",
        b')' => "list",
        _ => "map",
    }
}

/// A byte cursor over a stream with its own buffer, tracking line and
/// column, and an EDN value parser on top.
pub(crate) struct Lexer<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Whether `input` is read at all (false: `buf` holds the whole text).
    streaming: bool,
    line: usize,
    col: usize,
    pub(crate) io_error: Option<io::Error>,
    scratch: Vec<u8>,
    /// Offset in the input of `buf[0]`.
    base: u64,
    /// Offset in the input past which no more is read (see
    /// [`Lexer::limit_from_here`]), and the length it allows.
    limit: u64,
    limit_len: usize,
    /// Set when reading stopped at `limit`.
    pub(crate) overlong: Option<ParseError>,
}

impl<R: io::Read> Lexer<R> {
    pub(crate) fn new(input: R) -> Self {
        Lexer {
            input,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            streaming: true,
            line: 1,
            col: 1,
            io_error: None,
            scratch: Vec::new(),
            base: 0,
            limit: u64::MAX,
            limit_len: usize::MAX,
            overlong: None,
        }
    }
}

impl Lexer<io::Empty> {
    /// A lexer over a piece of text that starts at `start` in its file.
    pub(crate) fn over(text: &[u8], start: Pos) -> Self {
        let mut lx = Lexer::new(io::empty());
        lx.reset(text, start);
        lx
    }

    /// Points the lexer at a new piece of text, reusing its buffers.
    pub(crate) fn reset(&mut self, text: &[u8], start: Pos) {
        self.buf.clear();
        self.buf.extend_from_slice(text);
        self.pos = 0;
        self.end = text.len();
        self.base = 0;
        self.streaming = false;
        self.line = start.line;
        self.col = start.col;
    }
}

impl<R: io::Read> Lexer<R> {
    #[inline]
    pub(crate) fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    /// Bytes consumed so far (for a lexer over text: the offset in it).
    pub(crate) fn offset(&self) -> usize {
        (self.base + self.pos as u64) as usize
    }

    /// Reads at most `len` more bytes of the input (to within one buffer):
    /// past that, the input ends and [`Lexer::overlong`] says why.
    pub(crate) fn limit_from_here(&mut self, len: usize) {
        self.limit = (self.base + self.pos as u64).saturating_add(len as u64);
        self.limit_len = len;
    }

    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        if self.pos < self.end {
            Some(self.buf[self.pos])
        } else {
            self.refill()
        }
    }

    #[cold]
    fn refill(&mut self) -> Option<u8> {
        if !self.streaming || self.io_error.is_some() || self.overlong.is_some() {
            return None;
        }
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        if self.base >= self.limit {
            self.overlong = Some(err_at(
                self.pos(),
                format!(
                    "operation longer than {}: expected one operation map per line (is this a history file?)",
                    crate::lines::show_bytes(self.limit_len)
                ),
            ));
            return None;
        }
        if self.buf.len() < BUF_SIZE {
            self.buf.resize(BUF_SIZE, 0);
        }
        loop {
            match self.input.read(&mut self.buf) {
                Ok(0) => {
                    self.pos = 0;
                    self.end = 0;
                    self.streaming = false;
                    return None;
                }
                Ok(n) => {
                    self.pos = 0;
                    self.end = n;
                    return Some(self.buf[0]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.io_error = Some(e);
                    self.pos = 0;
                    self.end = 0;
                    return None;
                }
            }
        }
    }

    /// Advances past the byte `peek` returned.
    #[inline]
    pub(crate) fn bump(&mut self) {
        let b = self.buf[self.pos];
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if b & 0xC0 != 0x80 {
            self.col += 1;
        }
    }

    /// Skips whitespace, commas and `;` comments.
    pub(crate) fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' | 0x0c => self.bump(),
                b';' => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                _ => break,
            }
        }
    }

    /// Reads bytes up to the next delimiter into `scratch`.
    fn token(&mut self) {
        self.scratch.clear();
        loop {
            if self.pos == self.end && self.refill().is_none() {
                return;
            }
            // Tokens hold no newlines: scan the buffered run at once.
            let run = &self.buf[self.pos..self.end];
            let n = run
                .iter()
                .position(|&b| is_delimiter(b))
                .unwrap_or(run.len());
            let run = &run[..n];
            self.scratch.extend_from_slice(run);
            self.col += run.iter().filter(|&&b| b & 0xC0 != 0x80).count();
            self.pos += n;
            if self.pos < self.end {
                return;
            }
        }
    }

    fn scratch_str(&self, start: Pos) -> Result<&str, ParseError> {
        std::str::from_utf8(&self.scratch).map_err(|_| err_at(start, "invalid UTF-8"))
    }

    /// One value, skipping `#_` discarded forms before it. `what` names
    /// what the value is for, in the error at the end of the input.
    pub(crate) fn value(&mut self, depth: usize, what: &str) -> Result<Value, ParseError> {
        loop {
            self.skip_ws();
            if self.peek().is_none() {
                return Err(err_at(
                    self.pos(),
                    format!("unexpected end of input: expected {what}"),
                ));
            }
            if let Some(v) = self.form(depth)? {
                return Ok(v);
            }
        }
    }

    /// One form starting at the current (non-whitespace) byte: `None` when
    /// it was a `#_` discard.
    pub(crate) fn form(&mut self, depth: usize) -> Result<Option<Value>, ParseError> {
        let start = self.pos();
        let Some(b) = self.peek() else {
            return Err(err_at(start, "unexpected end of input: expected a value"));
        };
        let v = match b {
            b'"' => {
                self.bump();
                Value::Str(self.string(start)?)
            }
            b':' => {
                self.bump();
                self.token();
                if self.scratch.is_empty() {
                    return Err(err_at(start, "expected a keyword name after `:`"));
                }
                Value::Keyword(self.scratch_str(start)?.to_owned())
            }
            b'[' | b'(' | b'{' => {
                self.bump();
                self.check_depth(depth, start)?;
                match b {
                    b'[' => Value::List(self.seq(b']', "vector", start, depth)?),
                    b'(' => Value::List(self.seq(b')', "list", start, depth)?),
                    _ => self.map(start, depth)?,
                }
            }
            b')' | b']' | b'}' => {
                return Err(err_at(
                    start,
                    format!(
                        "unexpected `{}`: no {} is open here",
                        b as char,
                        closer_name(b)
                    ),
                ))
            }
            b'#' => {
                self.bump();
                return self.dispatch(start, depth);
            }
            b'\\' => {
                self.bump();
                Value::Str(self.character(start)?)
            }
            _ => {
                self.token();
                if self.scratch.is_empty() {
                    // Only a delimiter handled above can get here.
                    return Err(err_at(start, format!("unexpected {}", describe_byte(b))));
                }
                self.atom(start)?
            }
        };
        Ok(Some(v))
    }

    fn check_depth(&self, depth: usize, start: Pos) -> Result<(), ParseError> {
        if depth >= MAX_DEPTH {
            Err(err_at(
                start,
                format!("collections nested more than {MAX_DEPTH} deep"),
            ))
        } else {
            Ok(())
        }
    }

    /// After `#`: sets, discards, `##Inf`, tagged literals.
    fn dispatch(&mut self, start: Pos, depth: usize) -> Result<Option<Value>, ParseError> {
        match self.peek() {
            Some(b'{') => {
                self.bump();
                self.check_depth(depth, start)?;
                Ok(Some(Value::Set(self.seq(b'}', "set", start, depth)?)))
            }
            Some(b'_') => {
                self.bump();
                self.check_depth(depth, start)?;
                self.value(depth + 1, "a form to discard after `#_`")?;
                Ok(None)
            }
            Some(b'#') => {
                self.bump();
                self.token();
                let x = match &self.scratch[..] {
                    b"Inf" => f64::INFINITY,
                    b"-Inf" => f64::NEG_INFINITY,
                    b"NaN" => f64::NAN,
                    _ => return Err(err_at(start, "expected ##Inf, ##-Inf or ##NaN after `##`")),
                };
                Ok(Some(Value::Float(Float(x))))
            }
            Some(b'"') => {
                // A regex literal: kept as its source text.
                self.bump();
                Ok(Some(Value::Str(self.string(start)?)))
            }
            Some(b) if b.is_ascii_alphabetic() => {
                self.token();
                self.check_depth(depth, start)?;
                // The tag is dropped: `#inst "..."` is its string,
                // `#jepsen.history.Op{...}` its map.
                let v = self.value(depth + 1, "a value after the tag")?;
                Ok(Some(v))
            }
            Some(b) => Err(err_at(
                start,
                format!(
                    "unexpected {} after `#`: expected `#{{`, `#_`, `##Inf` or a tag such as #inst",
                    describe_byte(b)
                ),
            )),
            None => Err(err_at(self.pos(), "unexpected end of input after `#`")),
        }
    }

    fn seq(
        &mut self,
        close: u8,
        what: &str,
        open: Pos,
        depth: usize,
    ) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.unterminated(what, open, close)),
                Some(b) if b == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(b @ (b')' | b']' | b'}')) => {
                    return Err(err_at(
                        self.pos(),
                        format!(
                            "expected `{}` to close the {what} opened at {open}, found `{}`",
                            close as char, b as char
                        ),
                    ))
                }
                Some(_) => {
                    if let Some(v) = self.form(depth + 1)? {
                        items.push(v);
                    }
                }
            }
        }
    }

    fn unterminated(&self, what: &str, open: Pos, close: u8) -> ParseError {
        if let Some(e) = &self.io_error {
            return err_at(
                self.pos(),
                format!("read error inside the {what} opened at {open}: {e}"),
            );
        }
        err_at(
            self.pos(),
            format!(
                "unterminated {what} opened at {open}: expected `{}` before the end of the input",
                close as char
            ),
        )
    }

    fn map(&mut self, open: Pos, depth: usize) -> Result<Value, ParseError> {
        let items = self.seq(b'}', "map", open, depth)?;
        if items.len() % 2 == 1 {
            // The closing brace is just behind us.
            let at = Pos {
                line: self.line,
                col: self.col.saturating_sub(1).max(1),
            };
            return Err(err_at(
                at,
                format!(
                    "the map opened at {open} has a key without a value: {}",
                    describe(&items[items.len() - 1])
                ),
            ));
        }
        let mut entries = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
    }

    /// After the opening quote.
    fn string(&mut self, open: Pos) -> Result<String, ParseError> {
        self.scratch.clear();
        loop {
            let Some(b) = self.peek() else {
                return Err(err_at(
                    self.pos(),
                    format!("unterminated string opened at {open}: expected `\"` before the end of the input"),
                ));
            };
            match b {
                b'"' => {
                    self.bump();
                    break;
                }
                b'\\' => {
                    let at = self.pos();
                    self.bump();
                    let Some(e) = self.peek() else { continue };
                    self.bump();
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'/' => '/',
                        b'u' => self.unicode_escape(at)?,
                        other => {
                            return Err(err_at(
                                at,
                                format!(
                                    "unknown escape `\\{}` in string: expected \\\" \\\\ \\n \\t \\r \\b \\f or \\uXXXX",
                                    if other.is_ascii_graphic() { other as char } else { '?' }
                                ),
                            ))
                        }
                    };
                    let mut tmp = [0u8; 4];
                    self.scratch
                        .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
                b if b < 0x80 && b != b'\n' => {
                    // A run of plain ASCII: copy it at once.
                    let run = &self.buf[self.pos..self.end];
                    let n = run
                        .iter()
                        .position(|&b| b >= 0x80 || b == b'"' || b == b'\\' || b == b'\n')
                        .unwrap_or(run.len());
                    self.scratch.extend_from_slice(&run[..n]);
                    self.col += n;
                    self.pos += n;
                }
                b'\n' => {
                    self.scratch.push(b'\n');
                    self.bump();
                }
                _ => self.utf8_char()?,
            }
        }
        String::from_utf8(std::mem::take(&mut self.scratch))
            .map_err(|_| err_at(open, "invalid UTF-8 in string"))
    }

    /// Copies one multi-byte UTF-8 character into `scratch`, checking it.
    fn utf8_char(&mut self) -> Result<(), ParseError> {
        let at = self.pos();
        let lead = self.peek().unwrap_or(0);
        let width = match lead {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        let bad = || err_at(at, "invalid UTF-8 in string");
        if width == 0 {
            return Err(bad());
        }
        let mut bytes = [0u8; 4];
        for (i, slot) in bytes.iter_mut().enumerate().take(width) {
            match self.peek() {
                Some(b) if i == 0 || b & 0xC0 == 0x80 => {
                    *slot = b;
                    self.bump();
                }
                _ => return Err(bad()),
            }
        }
        if std::str::from_utf8(&bytes[..width]).is_err() {
            return Err(bad());
        }
        self.scratch.extend_from_slice(&bytes[..width]);
        Ok(())
    }

    fn hex4(&mut self, at: Pos) -> Result<u32, ParseError> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = self.peek().and_then(|b| (b as char).to_digit(16));
            match d {
                Some(d) => {
                    self.bump();
                    n = n * 16 + d;
                }
                None => return Err(err_at(at, "expected four hex digits after `\\u`")),
            }
        }
        Ok(n)
    }

    /// After `\u` in a string.
    fn unicode_escape(&mut self, at: Pos) -> Result<char, ParseError> {
        let hi = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            // A surrogate pair: `\uD83D\uDE00`.
            if self.peek() == Some(b'\\') {
                self.bump();
                if self.peek() == Some(b'u') {
                    self.bump();
                    let lo = self.hex4(at)?;
                    if (0xDC00..0xE000).contains(&lo) {
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        u32::MAX
                    }
                } else {
                    u32::MAX
                }
            } else {
                u32::MAX
            }
        } else {
            hi
        };
        char::from_u32(code)
            .ok_or_else(|| err_at(at, "invalid \\u escape: not a Unicode scalar value"))
    }

    /// After `\` outside a string: a character literal, kept as a string.
    fn character(&mut self, start: Pos) -> Result<String, ParseError> {
        self.scratch.clear();
        match self.peek() {
            None => {
                return Err(err_at(
                    self.pos(),
                    "unexpected end of input: expected a character after `\\`",
                ))
            }
            Some(b' ' | b'\t' | b'\n' | b'\r') => {
                return Err(err_at(
                    start,
                    "expected a character after `\\`, found whitespace",
                ))
            }
            Some(b) => {
                // The first character may be a delimiter: `\(`, `\"`.
                self.scratch.push(b);
                self.bump();
                if b >= 0x80 {
                    while let Some(c) = self.peek() {
                        if c & 0xC0 != 0x80 {
                            break;
                        }
                        self.scratch.push(c);
                        self.bump();
                    }
                }
            }
        }
        while let Some(b) = self.peek() {
            if is_delimiter(b) {
                break;
            }
            self.scratch.push(b);
            self.bump();
        }
        let name = self.scratch_str(start)?;
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(c.to_string());
        }
        let c = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ if name.len() == 5 && name.starts_with('u') => u32::from_str_radix(&name[1..], 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| err_at(start, format!("invalid character literal \\{name}")))?,
            _ => {
                return Err(err_at(
                    start,
                    format!("unknown character literal \\{name}: expected a single character, \\newline, \\space, \\tab or \\uXXXX"),
                ))
            }
        };
        Ok(c.to_string())
    }

    /// A number, `nil`, `true`, `false` or a symbol, from `scratch`.
    fn atom(&mut self, start: Pos) -> Result<Value, ParseError> {
        let t = &self.scratch[..];
        let first = t[0];
        let numeric = first.is_ascii_digit()
            || ((first == b'+' || first == b'-') && t.len() > 1 && t[1].is_ascii_digit());
        if numeric {
            return number(t).map_err(|msg| err_at(start, msg));
        }
        Ok(match t {
            b"nil" => Value::Nil,
            b"true" => Value::Bool(true),
            b"false" => Value::Bool(false),
            _ => Value::Str(self.scratch_str(start)?.to_owned()),
        })
    }
}

fn number(t: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(t).map_err(|_| "invalid number".to_string())?;
    let bad = || format!("invalid number {text:?}");
    if let Some(digits) = text.strip_suffix('N') {
        if digits.is_empty() || !digits.bytes().skip(1).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        return int(digits).ok_or_else(|| format!("integer {text} does not fit in 64 bits"));
    }
    if let Some(dec) = text.strip_suffix('M') {
        return float(dec).ok_or_else(bad);
    }
    if let Some((n, d)) = text.split_once('/') {
        let (Some(Value::Int(n)), Some(Value::Int(d))) = (int(n), int(d)) else {
            return Err(bad());
        };
        if d == 0 {
            return Err(format!("ratio {text} divides by zero"));
        }
        return Ok(Value::Float(Float(n as f64 / d as f64)));
    }
    if t.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return float(text).ok_or_else(bad);
    }
    if t[1..].iter().all(u8::is_ascii_digit) {
        return int(text)
            .ok_or_else(|| format!("integer {text} does not fit in 64 bits (use a float)"));
    }
    Err(bad())
}

fn int(text: &str) -> Option<Value> {
    text.parse::<i64>().ok().map(Value::Int)
}

fn float(text: &str) -> Option<Value> {
    // Rust accepts "inf"/"nan" spellings EDN does not: require digits.
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    text.parse::<f64>().ok().map(|x| Value::Float(Float(x)))
}

/// Parses a single EDN value from text (e.g. a command-line `--initial`).
pub fn parse_value(text: &str) -> Result<Value, ParseError> {
    let mut lx = Lexer::over(text.as_bytes(), Pos { line: 1, col: 1 });
    let v = lx.value(0, "a value")?;
    lx.skip_ws();
    if lx.peek().is_some() {
        return Err(err_at(lx.pos(), "unexpected text after the value"));
    }
    Ok(v)
}

// ---- ops --------------------------------------------------------------------

/// True for a value shaped like a transaction: a vector of micro-op
/// vectors whose first element is a keyword, `[[:append 1 2] [:r 1 nil]]`.
fn is_txn(v: &Value) -> bool {
    match v {
        Value::List(mops) => {
            !mops.is_empty()
                && mops.iter().all(
                    |m| matches!(m, Value::List(x) if matches!(x.first(), Some(Value::Keyword(_)))),
                )
        }
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first form, or after a top-level vector closed.
    Start,
    /// One op map per form.
    Forms,
    /// Inside a top-level vector/list of op maps.
    Vector { close: u8, open: Pos },
}

/// Streaming EDN history reader: op maps one per form, or the elements of
/// a top-level vector or list one at a time.
pub struct EdnReader<R> {
    lx: Lexer<R>,
    state: State,
    /// Line of the op most recently returned.
    op_line: usize,
    position: u64,
    failed: bool,
    next_synthetic: u64,
    /// Open invocations without `:process`: (f, synthetic process).
    open_synthetic: VecDeque<(String, u64)>,
    /// Longest span of input one op (with the blanks before it) may take.
    max_op: usize,
}

impl<R: BufRead> EdnReader<R> {
    pub fn new(input: R) -> Self {
        EdnReader {
            lx: Lexer::new(input),
            state: State::Start,
            op_line: 0,
            position: 0,
            failed: false,
            next_synthetic: 0,
            open_synthetic: VecDeque::new(),
            max_op: crate::lines::MAX_LINE_BYTES,
        }
    }

    /// Sets the longest op accepted (default 64 MiB, as for lines).
    pub fn max_op(mut self, bytes: usize) -> Self {
        self.max_op = bytes;
        self
    }

    fn io_or(&mut self, e: ParseError) -> Error {
        if let Some(e) = self.lx.overlong.take() {
            return Error::Parse(e);
        }
        match self.lx.io_error.take() {
            Some(source) => Error::Io { file: None, source },
            None => Error::Parse(e),
        }
    }

    /// The next op, or `None` at the end of the input.
    fn next_op(&mut self) -> Result<Option<Op>, ParseError> {
        self.lx.limit_from_here(self.max_op);
        loop {
            self.lx.skip_ws();
            let start = self.lx.pos();
            let Some(b) = self.lx.peek() else {
                return match self.state {
                    State::Vector { close, open } => {
                        Err(self.lx.unterminated("vector", open, close))
                    }
                    _ => Ok(None),
                };
            };
            match (self.state, b) {
                (State::Start, b'[' | b'(') => {
                    self.lx.bump();
                    let close = if b == b'[' { b']' } else { b')' };
                    self.state = State::Vector { close, open: start };
                    continue;
                }
                (State::Start, _) => {
                    self.state = State::Forms;
                    continue;
                }
                (State::Vector { close, .. }, _) if b == close => {
                    self.lx.bump();
                    self.state = State::Start;
                    continue;
                }
                _ => {}
            }
            match b {
                b'{' => {
                    self.lx.bump();
                    self.op_line = start.line;
                    return self.op_map(start).map(Some);
                }
                b'#' => {
                    self.lx.bump();
                    match self.lx.peek() {
                        Some(b'_') => {
                            self.lx.bump();
                            self.lx.value(1, "a form to discard after `#_`")?;
                            continue;
                        }
                        Some(c) if c.is_ascii_alphabetic() => {
                            // `#jepsen.history.Op{...}`: the tag is dropped.
                            self.lx.token();
                            self.lx.skip_ws();
                            let at = self.lx.pos();
                            if self.lx.peek() == Some(b'{') {
                                self.lx.bump();
                                self.op_line = start.line;
                                return self.op_map(at).map(Some);
                            }
                            let v = self.lx.value(1, "an operation map after the tag")?;
                            return Err(err_at(
                                at,
                                format!("expected an operation map {{:type ...}} after the tag, found {}", describe(&v)),
                            ));
                        }
                        _ => {
                            let v = self.lx.dispatch(start, 1)?;
                            let found = v.as_ref().map_or("a discarded form".to_string(), describe);
                            return Err(err_at(
                                start,
                                format!("expected an operation map {{:type ...}}, found {found}"),
                            ));
                        }
                    }
                }
                _ => {
                    let v = self.lx.form(1)?;
                    let found = v.as_ref().map_or("a discarded form".to_string(), describe);
                    return Err(err_at(
                        start,
                        format!("expected an operation map {{:type ...}}, found {found}"),
                    ));
                }
            }
        }
    }

    /// Reads an op map after its `{`.
    fn op_map(&mut self, open: Pos) -> Result<Op, ParseError> {
        let lx = &mut self.lx;
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
        #[derive(PartialEq)]
        enum Field {
            Index,
            Time,
            Type,
            Process,
            F,
            Value,
            Key,
            Node,
            Error,
            Extra(String),
        }
        loop {
            lx.skip_ws();
            let kpos = lx.pos();
            let field = match lx.peek() {
                None => return Err(lx.unterminated("map", open, b'}')),
                Some(b'}') => {
                    lx.bump();
                    break;
                }
                Some(b @ (b')' | b']')) => {
                    return Err(err_at(
                        kpos,
                        format!(
                            "expected `}}` to close the map opened at {open}, found `{}`",
                            b as char
                        ),
                    ))
                }
                Some(b':') => {
                    lx.bump();
                    lx.token();
                    match &lx.scratch[..] {
                        b"index" => Field::Index,
                        b"time" => Field::Time,
                        b"type" => Field::Type,
                        b"process" => Field::Process,
                        b"f" => Field::F,
                        b"value" => Field::Value,
                        b"key" => Field::Key,
                        b"node" => Field::Node,
                        b"error" => Field::Error,
                        b"" => return Err(err_at(kpos, "expected a keyword name after `:`")),
                        _ => Field::Extra(lx.scratch_str(kpos)?.to_owned()),
                    }
                }
                Some(_) => match lx.form(1)? {
                    None => continue,
                    Some(k) => Field::Extra(match k {
                        Value::Str(s) | Value::Keyword(s) => s,
                        other => other.to_string(),
                    }),
                },
            };
            let name = || match &field {
                Field::Index => ":index".to_string(),
                Field::Time => ":time".to_string(),
                Field::Type => ":type".to_string(),
                Field::Process => ":process".to_string(),
                Field::F => ":f".to_string(),
                Field::Value => ":value".to_string(),
                Field::Key => ":key".to_string(),
                Field::Node => ":node".to_string(),
                Field::Error => ":error".to_string(),
                Field::Extra(n) => format!(":{n}"),
            };
            // The value, skipping discarded forms.
            let (vpos, v) = loop {
                lx.skip_ws();
                let vpos = lx.pos();
                match lx.peek() {
                    None => return Err(lx.unterminated("map", open, b'}')),
                    Some(b @ (b'}' | b')' | b']')) => {
                        return Err(err_at(
                            vpos,
                            format!("expected a value for {}, found `{}`", name(), b as char),
                        ))
                    }
                    Some(b':') if field == Field::Type => {
                        // Fast path: no allocation for the type keyword.
                        lx.bump();
                        lx.token();
                        let t = match &lx.scratch[..] {
                            b"invoke" => OpType::Invoke,
                            b"ok" => OpType::Ok,
                            b"fail" => OpType::Fail,
                            b"info" => OpType::Info,
                            other => {
                                return Err(err_at(
                                    vpos,
                                    format!(
                                    "expected :invoke, :ok, :fail or :info for :type, found :{}",
                                    String::from_utf8_lossy(other)
                                ),
                                ))
                            }
                        };
                        kind = Some(t);
                        break (vpos, None);
                    }
                    Some(_) => {
                        if let Some(v) = lx.form(1)? {
                            break (vpos, Some(v));
                        }
                    }
                }
            };
            let Some(v) = v else { continue };
            let wrong = |expected: &str, v: &Value| {
                err_at(
                    vpos,
                    format!("expected {expected} for {}, found {}", name(), describe(v)),
                )
            };
            match field {
                Field::Index => match v {
                    Value::Int(i) if i >= 0 => index = Some(i as u64),
                    other => return Err(wrong("a non-negative integer", &other)),
                },
                Field::Time => match v {
                    Value::Int(t) if t >= 0 => time = Some(t as u64),
                    Value::Nil => time = None,
                    other => return Err(wrong("a non-negative integer", &other)),
                },
                Field::Type => return Err(wrong("a keyword", &v)),
                Field::Process => match v {
                    Value::Int(p) if p >= 0 => process = Some(Process::Client(p as u64)),
                    Value::Keyword(n) | Value::Str(n) => process = Some(Process::Named(n)),
                    other => {
                        return Err(wrong(
                            "a non-negative integer or a keyword such as :nemesis",
                            &other,
                        ))
                    }
                },
                Field::F => match v {
                    Value::Keyword(s) | Value::Str(s) => f = Some(s),
                    other => return Err(wrong("a keyword or string", &other)),
                },
                Field::Value => value = v,
                Field::Key => key = Some(v),
                Field::Node => match v {
                    Value::Keyword(s) | Value::Str(s) => node = Some(s),
                    Value::Nil => node = None,
                    other => return Err(wrong("a string", &other)),
                },
                Field::Error => error = Some(v),
                Field::Extra(name) => extra.push((name, v)),
            }
        }
        let Some(kind) = kind else {
            return Err(err_at(
                open,
                "operation map has no :type: expected :type :invoke, :ok, :fail or :info",
            ));
        };
        let f =
            match f {
                Some(f) => f,
                None if is_txn(&value) => "txn".to_string(),
                None => return Err(err_at(
                    open,
                    "operation map has no :f: expected the operation's function, such as :f :read",
                )),
            };
        let process = match process {
            Some(p) => p,
            None => Process::Client(self.synthetic_process(kind, &f, open)?),
        };
        let op = Op {
            index: index.unwrap_or(self.position),
            time,
            kind,
            process,
            f,
            value,
            key,
            node,
            error,
            extra,
        };
        self.position += 1;
        Ok(op)
    }

    fn synthetic_process(&mut self, kind: OpType, f: &str, open: Pos) -> Result<u64, ParseError> {
        if kind == OpType::Invoke {
            let p = SYNTHETIC_PROCESS_BASE + self.next_synthetic;
            self.next_synthetic += 1;
            self.open_synthetic.push_back((f.to_string(), p));
            return Ok(p);
        }
        match self.open_synthetic.iter().position(|(g, _)| g == f) {
            Some(i) => Ok(self.open_synthetic.remove(i).map_or(0, |(_, p)| p)),
            None => Err(err_at(
                open,
                format!(
                    "operation map has no :process and no invocation of {f:?} without :process is open for this {kind} to complete"
                ),
            )),
        }
    }
}

impl<R: BufRead> Iterator for EdnReader<R> {
    type Item = Result<Op, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_op() {
            Ok(Some(op)) => Some(Ok(op)),
            Ok(None) => {
                self.failed = true;
                if let Some(e) = self.lx.overlong.take() {
                    return Some(Err(Error::Parse(e)));
                }
                self.lx
                    .io_error
                    .take()
                    .map(|source| Err(Error::Io { file: None, source }))
            }
            Err(e) => {
                self.failed = true;
                if e.line > 0 {
                    self.op_line = e.line;
                }
                Some(Err(self.io_or(e)))
            }
        }
    }
}

impl<R: BufRead> crate::OpSource for EdnReader<R> {
    fn line(&self) -> usize {
        self.op_line
    }
}
