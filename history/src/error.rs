//! Errors that say where: file, line, column, and what was expected.

use std::fmt;
use std::path::PathBuf;

/// Malformed input. Displayed as `file:line:column: message`, the form
/// editors and terminals turn into a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub file: Option<PathBuf>,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            file: None,
            line,
            column,
            message: message.into(),
        }
    }

    pub fn in_file(mut self, file: impl Into<PathBuf>) -> ParseError {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
        }
        match (self.line, self.column) {
            (0, _) => {}
            (l, 0) => write!(f, "{l}:")?,
            (l, c) => write!(f, "{l}:{c}:")?,
        }
        if self.file.is_some() || self.line > 0 {
            f.write_str(" ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Reading a history can fail because of the file system or the content.
#[derive(Debug)]
pub enum Error {
    Io {
        file: Option<PathBuf>,
        source: std::io::Error,
    },
    Parse(ParseError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                file: Some(p),
                source,
            } => write!(f, "{}: {source}", p.display()),
            Error::Io { file: None, source } => write!(f, "{source}"),
            Error::Parse(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::Parse(e)
    }
}

impl Error {
    pub fn in_file(self, file: impl Into<PathBuf>) -> Error {
        match self {
            Error::Io { file: None, source } => Error::Io {
                file: Some(file.into()),
                source,
            },
            Error::Parse(e) if e.file.is_none() => Error::Parse(e.in_file(file)),
            other => other,
        }
    }
}
