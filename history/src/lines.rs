//! Bounded line reading for the line-based formats (JSON Lines and
//! jepsen.util logs).
//!
//! A history file holds one operation per line, and no real operation is
//! anywhere near [`MAX_LINE_BYTES`] long. Without a bound, a file with no
//! newline at all (`/dev/zero`, a binary, a 1.4 GB blob) would be read
//! whole into memory before its first byte was judged. So:
//!
//! - a line longer than the limit is an error naming its line;
//! - while a long line is still being read, the reader is shown its start
//!   (at 64 KiB, then each time it doubles, up to 1 MiB) and may fail at
//!   once (the start is already garbage) or skip the rest of the line
//!   without keeping it (a log line that is not an operation).

use crate::error::{Error, ParseError};
use std::io::{BufRead, Read};

/// The longest line any reader accepts: 64 MiB. Far above any real
/// operation (a read of a million-element list is ~8 MiB), low enough that
/// a file without newlines fails quickly and with bounded memory.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// The first look at a long line, in bytes; later looks at each doubling.
const FIRST_PEEK: usize = 64 << 10;
/// No more looks past this: a start this long that is still plausible is
/// read to its end (or to the limit).
const LAST_PEEK: usize = 1 << 20;
/// How much of a skipped line is read at a time.
const SKIP_CHUNK: usize = 64 << 10;

/// What a reader decides from the start of a long line.
pub(crate) enum Peek {
    /// Keep reading the line.
    Continue,
    /// Not an operation line: drop the rest without keeping it.
    Skip,
    /// The start is already malformed.
    Fail(ParseError),
}

/// What [`LineReader::next_line`] found.
pub(crate) enum Line {
    /// The whole line (with its newline, if any) is in `buf`.
    Kept,
    /// The line was skipped; `buf` holds only its start.
    Skipped,
}

/// Reads lines of at most `max` bytes, one in memory at a time.
pub(crate) struct LineReader<R> {
    input: R,
    pub(crate) buf: Vec<u8>,
    /// 1-based number of the line in `buf`.
    pub(crate) line: usize,
    pub(crate) max: usize,
    /// Where the rest of a skipped line passes through, a chunk at a time.
    skipped: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(input: R) -> Self {
        LineReader {
            input,
            buf: Vec::new(),
            line: 0,
            max: MAX_LINE_BYTES,
            skipped: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of the input. `peek` is shown
    /// the start of a line that is not yet complete after 64 KiB.
    pub(crate) fn next_line(
        &mut self,
        mut peek: impl FnMut(&[u8], usize) -> Peek,
    ) -> Result<Option<Line>, Error> {
        self.buf.clear();
        // Bytes of this line read so far (kept or not).
        let mut length = 0usize;
        let mut skipping = false;
        let mut next_peek = FIRST_PEEK;
        loop {
            // Read (with std's fast newline search) up to the next point
            // where something must be decided: a look at the start, or
            // one byte past the limit.
            let stop = if !skipping && next_peek <= LAST_PEEK {
                next_peek.min(self.max + 1)
            } else {
                self.max + 1
            };
            let into = if skipping {
                self.skipped.clear();
                &mut self.skipped
            } else {
                &mut self.buf
            };
            let budget = if skipping { SKIP_CHUNK } else { stop - length };
            let n = (&mut self.input)
                .take(budget as u64)
                .read_until(b'\n', into)
                .map_err(|source| Error::Io { file: None, source })?;
            let ended = n > 0 && into.last() == Some(&b'\n');
            length += n;
            if n == 0 || ended {
                if length == 0 {
                    return Ok(None);
                }
                if length - usize::from(ended) > self.max {
                    return Err(self.too_long().into());
                }
                self.line += 1;
                return Ok(Some(if skipping { Line::Skipped } else { Line::Kept }));
            }
            if length > self.max {
                return Err(self.too_long().into());
            }
            if !skipping && length >= next_peek && next_peek <= LAST_PEEK {
                next_peek *= 2;
                match peek(&self.buf, self.line + 1) {
                    Peek::Continue => {}
                    Peek::Skip => skipping = true,
                    Peek::Fail(e) => return Err(e.into()),
                }
            }
        }
    }

    fn too_long(&self) -> ParseError {
        ParseError::new(
            self.line + 1,
            self.max + 1,
            format!(
                "line longer than {}: expected one operation per line (is this a history file?)",
                show_bytes(self.max)
            ),
        )
    }
}

/// `64 MiB`, `512 KiB`, `100 bytes`.
pub(crate) fn show_bytes(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn lines(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, String>> {
        let mut r = LineReader::new(io::BufReader::with_capacity(16, input));
        r.max = max;
        let mut out = Vec::new();
        loop {
            match r.next_line(|_, _| Peek::Continue) {
                Ok(None) => return out,
                Ok(Some(_)) => out.push(Ok(r.buf.clone())),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn lines_keep_their_newline_and_the_last_may_lack_one() {
        assert_eq!(
            lines(b"ab\n\ncd", 100),
            vec![Ok(b"ab\n".to_vec()), Ok(b"\n".to_vec()), Ok(b"cd".to_vec())]
        );
        assert!(lines(b"", 100).is_empty());
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_naming_it() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 200));
        let got = lines(&input, 100);
        assert_eq!(got[0], Ok(b"short\n".to_vec()));
        assert_eq!(
            got[1],
            Err("2:101: line longer than 100 bytes: expected one operation per line (is this a history file?)".into())
        );
    }

    #[test]
    fn peek_fails_early_or_skips_without_keeping() {
        // 200 KiB without a newline, then a short line.
        let mut input = vec![b'z'; 200 << 10];
        input.extend_from_slice(b"\nnext\n");
        let mut r = LineReader::new(io::BufReader::new(&input[..]));
        let mut looks = Vec::new();
        let got = r.next_line(|start, line| {
            looks.push((start.len(), line));
            Peek::Skip
        });
        assert!(matches!(got, Ok(Some(Line::Skipped))));
        assert_eq!(looks.len(), 1);
        assert!(looks[0].0 >= FIRST_PEEK && looks[0].1 == 1, "{looks:?}");
        assert!(r.buf.len() < 2 * FIRST_PEEK, "kept {} bytes", r.buf.len());
        assert!(matches!(
            r.next_line(|_, _| Peek::Continue),
            Ok(Some(Line::Kept))
        ));
        assert_eq!((&r.buf[..], r.line), (&b"next\n"[..], 2));

        let mut r = LineReader::new(io::BufReader::new(&input[..]));
        let got = r.next_line(|_, line| Peek::Fail(ParseError::new(line, 3, "bad")));
        assert_eq!(got.err().map(|e| e.to_string()), Some("1:3: bad".into()));
    }
}
