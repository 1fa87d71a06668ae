//! Operations, histories and their file formats.
//!
//! A history is a sequence of [`Op`]s: invocations and their completions
//! (`ok`, `fail`, `info`), plus nemesis events. Three formats are read, all
//! streaming (one op in memory at a time while parsing):
//!
//! - [`jsonl`]: shakedown's native JSON Lines (read and write);
//! - [`edn`]: Jepsen's `history.edn`, one map per line or one vector of maps
//!   (read and write);
//! - [`jepsen_log`]: the `jepsen.util` log lines of Jepsen and Maelstrom
//!   runs, in every layout they have used (read).
//!
//! Malformed input yields a [`ParseError`] naming file, line and column.
//! Reading is bounded: no line (and no EDN op) may exceed
//! [`lines::MAX_LINE_BYTES`] (64 MiB), and garbage fails at its first bad
//! byte rather than after the rest of its line was read.

pub mod edn;
pub mod error;
pub mod history;
pub mod jepsen_log;
pub mod jsonl;
pub mod lines;
pub mod op;
pub mod stream;
pub mod txn_line;
pub mod value;

pub use error::{Error, ParseError};
pub use history::{Call, History, HistoryBuilder, Paired, Pairing};
pub use op::{Op, OpType, Process, EVENT_PROCESSES};
pub use value::{Float, Value};

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A streaming source of ops that knows which line it is on.
pub trait OpSource: Iterator<Item = Result<Op, Error>> {
    /// The 1-based line of the op most recently returned.
    fn line(&self) -> usize;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Edn,
    JepsenLog,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
        }
    }

    /// Guesses the format from the start of a file: its first non-blank
    /// line, or any jepsen.util operation line in it (Jepsen logs often
    /// start with pages of other output).
    pub fn sniff(head: &[u8]) -> Option<Format> {
        let text = String::from_utf8_lossy(head);
        let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
        if first.starts_with("{\"") || first == "{" {
            Some(Format::Jsonl)
        } else if first.starts_with(['{', '[', '(', '#', ';']) {
            // `{:type ...}`, a Knossos vector, `#jepsen.history.Op{...}`
            // (Jepsen 0.3), a `;` comment.
            Some(Format::Edn)
        } else if looks_like_log_line(first)
            || head
                .split(|&b| b == b'\n')
                .any(|l| jepsen_log::op_fields(l).is_some())
        {
            Some(Format::JepsenLog)
        } else {
            None
        }
    }
}

/// A line that starts like log output: a level (`INFO`, `WARN` ...) or a
/// date (`2024-01-06 ...`).
fn looks_like_log_line(line: &str) -> bool {
    let level = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        .iter()
        .any(|l| {
            line.strip_prefix(l)
                .is_some_and(|rest| rest.starts_with([' ', '\t', '[']))
        });
    let b = line.as_bytes();
    let date = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    level || date
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "jsonl" | "json" => Ok(Format::Jsonl),
            "edn" => Ok(Format::Edn),
            "jepsen-log" | "log" => Ok(Format::JepsenLog),
            other => Err(format!(
                "unknown history format {other:?}: expected jsonl, edn or jepsen-log"
            )),
        }
    }
}

/// Wraps a buffered reader in the streaming reader for `format`.
pub fn reader<'a, R: BufRead + 'a>(input: R, format: Format) -> Box<dyn OpSource + 'a> {
    match format {
        Format::Jsonl => Box::new(jsonl::JsonlReader::new(input)),
        Format::Edn => Box::new(edn::EdnReader::new(input)),
        Format::JepsenLog => Box::new(jepsen_log::LogReader::new(input)),
    }
}

/// Reads every op of a source into a history, checking the
/// invocation/completion protocol and naming the line of a violation.
pub fn collect(mut source: impl OpSource) -> Result<History, Error> {
    let mut builder = HistoryBuilder::new();
    while let Some(op) = source.next() {
        let op = op?;
        builder
            .push(op)
            .map_err(|msg| ParseError::new(source.line(), 0, msg))?;
    }
    Ok(builder.finish())
}

impl<S: OpSource + ?Sized> OpSource for Box<S> {
    fn line(&self) -> usize {
        (**self).line()
    }
}

/// Opens a history file, detecting its format from its content when
/// `format` is `None`.
pub fn open(path: &Path, format: Option<Format>) -> Result<(Format, Box<dyn OpSource>), Error> {
    let io_err = |source| Error::Io {
        file: Some(path.to_path_buf()),
        source,
    };
    let mut input = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_err)?);
    let format = match format {
        Some(f) => f,
        None => {
            let head = input.fill_buf().map_err(io_err)?;
            if head.is_empty() {
                // An empty history, in the native format: the checkers
                // then say that nothing was checked.
                return Ok((Format::Jsonl, reader(input, Format::Jsonl)));
            }
            Format::sniff(head).ok_or_else(|| {
                ParseError::new(
                    1,
                    1,
                    "cannot tell the format: expected JSON Lines ({\"type\": ...}), EDN ({:type ...} or [...]) or jepsen.util log lines; pass --format",
                )
                .in_file(path)
            })?
        }
    };
    Ok((format, reader(input, format)))
}

/// Reads a whole history file (format detected when `None`). JSON Lines
/// are parsed on every core ([`stream::for_each_op`]).
pub fn read_file(path: &Path, format: Option<Format>) -> Result<History, Error> {
    let mut b = HistoryBuilder::new();
    stream::for_each_op(path, format, |op| {
        b.push(op)?;
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    Ok(b.finish())
}

/// Reads a history from any byte stream (tests, stdin).
pub fn read_from(input: impl Read, format: Format) -> Result<History, Error> {
    collect(reader(BufReader::new(input), format))
}
