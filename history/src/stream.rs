//! Reading a history file without holding it: each op is handed to the
//! caller and dropped, and the few ops needed later (for the evidence of
//! a failure) are fetched back by position with a second pass.

use crate::error::{Error, ParseError};
use crate::lines::{Peek, MAX_LINE_BYTES};
use crate::op::Op;
use crate::txn_line::{self, RawMops, TxnLine};
use crate::{jsonl, open, Format, OpSource};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// Reads `path` op by op (format detected when `None`), handing each op to
/// `each`, in order, which may stop early (`Break`) or reject the op with
/// a message (reported at the op's line). Returns the format read.
///
/// JSON Lines are parsed on every core: the file is cut into chunks at line
/// ends, parsed in parallel, and handed over in order (at most a few chunks
/// in flight, so memory stays bounded).
pub fn for_each_op(
    path: &Path,
    format: Option<Format>,
    mut each: impl FnMut(Op) -> Result<ControlFlow<()>, String>,
) -> Result<Format, Error> {
    for_each_op_text(path, format, |op, _| each(op))
}

/// [`for_each_op`], also handing over each op's line as it is in the file
/// when the file is JSON Lines (`None` for the other formats), so a caller
/// that copies ops elsewhere need not encode them again.
pub fn for_each_op_text(
    path: &Path,
    format: Option<Format>,
    mut each: impl FnMut(Op, Option<&[u8]>) -> Result<ControlFlow<()>, String>,
) -> Result<Format, Error> {
    let (format, mut source) = open(path, format)?;
    if format == Format::Jsonl {
        drop(source);
        jsonl_ops(path, CHUNK, &mut each)?;
        return Ok(format);
    }
    while let Some(op) = source.next() {
        let op = op.map_err(|e| e.in_file(path))?;
        match each(op, None) {
            Ok(ControlFlow::Continue(())) => {}
            Ok(ControlFlow::Break(())) => break,
            Err(msg) => {
                return Err(ParseError::new(source.line(), 0, msg).in_file(path).into());
            }
        }
    }
    Ok(format)
}

/// One op of a transactional history as [`for_each_txn_line`] hands it
/// over: read by the fast path, or (any other shape) as a general op.
pub enum TxnItem<'a> {
    Fast(&'a TxnLine, &'a RawMops),
    Op(Box<Op>),
}

/// Like [`for_each_op`], for the transactional checker: JSON lines of the
/// common shape are read by [`txn_line::scan`] (no [`Op`] built), the rest
/// as ops. `lists`: list-append (reads return lists) rather than
/// rw-register.
pub fn for_each_txn_line(
    path: &Path,
    format: Option<Format>,
    lists: bool,
    mut each: impl FnMut(TxnItem<'_>) -> Result<ControlFlow<()>, String>,
) -> Result<Format, Error> {
    let (format, mut source) = open(path, format)?;
    if format != Format::Jsonl {
        while let Some(op) = source.next() {
            let op = op.map_err(|e| e.in_file(path))?;
            match each(TxnItem::Op(Box::new(op))) {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => break,
                Err(msg) => {
                    return Err(ParseError::new(source.line(), 0, msg).in_file(path).into());
                }
            }
        }
        return Ok(format);
    }
    drop(source);
    jsonl_txn_lines(path, CHUNK, lists, &mut each)?;
    Ok(format)
}

/// The JSON Lines part of [`for_each_op_text`], in chunks of `chunk_size`.
fn jsonl_ops(
    path: &Path,
    chunk_size: usize,
    each: &mut impl FnMut(Op, Option<&[u8]>) -> Result<ControlFlow<()>, String>,
) -> Result<(), Error> {
    parallel_jsonl(path, chunk_size, &parse_ops, &mut |chunk: OpChunk| {
        for (line, op, text) in chunk.ops {
            let text = &chunk.bytes[text.0 as usize..text.1 as usize];
            match each(op, Some(text)) {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => return Ok(ControlFlow::Break(())),
                Err(msg) => return Err(ParseError::new(line, 0, msg).in_file(path).into()),
            }
        }
        Ok(ControlFlow::Continue(()))
    })
}

/// The JSON Lines part of [`for_each_txn_line`].
fn jsonl_txn_lines(
    path: &Path,
    chunk_size: usize,
    lists: bool,
    each: &mut impl FnMut(TxnItem<'_>) -> Result<ControlFlow<()>, String>,
) -> Result<(), Error> {
    let parse = |c: Chunk| parse_txn_lines(&c, lists);
    parallel_jsonl(path, chunk_size, &parse, &mut |chunk: TxnChunk| {
        for (line, item) in chunk.items {
            let result = match item {
                Item::Fast(l) => each(TxnItem::Fast(&l, &chunk.raw)),
                Item::Op(op) => each(TxnItem::Op(op)),
            };
            match result {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => return Ok(ControlFlow::Break(())),
                Err(msg) => return Err(ParseError::new(line, 0, msg).in_file(path).into()),
            }
        }
        Ok(ControlFlow::Continue(()))
    })
}

/// The ops at `positions` (the n-th op of the file, from 0), read again.
pub fn ops_at(path: &Path, format: Format, positions: &[u32]) -> Result<FxHashMap<u32, Op>, Error> {
    let mut wanted: Vec<u32> = positions.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found = FxHashMap::default();
    if wanted.is_empty() {
        return Ok(found);
    }
    if format == Format::Jsonl {
        jsonl_ops_at(path, &wanted, &mut found)?;
        return Ok(found);
    }
    let (_, source) = open(path, Some(format))?;
    let mut next = 0;
    for (pos, op) in source.enumerate() {
        if pos as u32 == wanted[next] {
            found.insert(pos as u32, op.map_err(|e| e.in_file(path))?);
            next += 1;
            if next == wanted.len() {
                break;
            }
        }
    }
    Ok(found)
}

/// [`ops_at`] for JSON Lines: only the wanted lines are parsed, the rest
/// only counted, so reading back a few ops costs about a pass of reading
/// the file.
fn jsonl_ops_at(path: &Path, wanted: &[u32], found: &mut FxHashMap<u32, Op>) -> Result<(), Error> {
    let mut file = File::open(path).map_err(|source| Error::Io {
        file: Some(path.to_path_buf()),
        source,
    })?;
    let mut next = 0;
    let mut failed = None;
    cut_chunks(&mut file, CHUNK, |chunk| {
        for (line, position, text) in lines(&chunk) {
            if position as u32 != wanted[next] {
                continue;
            }
            match jsonl::parse_line(text, line, position) {
                Ok(op) => found.insert(position as u32, op),
                Err(e) => {
                    failed = Some(Error::from(e).in_file(path));
                    return false;
                }
            };
            next += 1;
            if next == wanted.len() {
                return false;
            }
        }
        true
    })
    .map_err(|e| e.in_file(path))?;
    failed.map_or(Ok(()), Err)
}

/// A piece of a JSON Lines file: whole lines, with the line number and op
/// position (non-blank lines before it) where it starts.
struct Chunk {
    seq: usize,
    bytes: Vec<u8>,
    line: usize,
    position: u64,
}

/// A parsed chunk: what was read (with line numbers), then the error that
/// stopped it, if any.
struct Parsed<T> {
    seq: usize,
    items: T,
    error: Option<Error>,
}

/// A chunk read for the transactional checker.
struct TxnChunk {
    items: Vec<(usize, Item)>,
    raw: RawMops,
}

enum Item {
    Fast(TxnLine),
    Op(Box<Op>),
}

const CHUNK: usize = 4 << 20;

/// Cuts the file into chunks, parses them on every core with `parse`, and
/// hands what each gave to `each` in file order (which may stop early).
fn parallel_jsonl<T: Send>(
    path: &Path,
    chunk_size: usize,
    parse: &(impl Fn(Chunk) -> (T, Option<Error>) + Sync),
    each: &mut impl FnMut(T) -> Result<ControlFlow<()>, Error>,
) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        file: Some(path.to_path_buf()),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(workers);
        let (parsed_tx, parsed_rx) = sync_channel::<Parsed<T>>(workers);
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let reader =
            scope.spawn(move || cut_chunks(&mut file, chunk_size, |c| chunk_tx.send(c).is_ok()));
        for _ in 0..workers {
            let rx = Arc::clone(&chunk_rx);
            let tx = parsed_tx.clone();
            scope.spawn(move || parse_chunks(&rx, parse, |p| tx.send(p).is_ok()));
        }
        // Only the workers hold the chunk receiver (so the reader stops
        // when they do) and the result sender (so the loop below ends).
        drop(chunk_rx);
        drop(parsed_tx);
        // hand_over consumes the receiver: if it stops early, the workers'
        // sends fail, they stop, and so does the reader.
        let result = hand_over(parsed_rx, each).map_err(|e| e.in_file(path));
        match reader.join() {
            Ok(Err(e)) if result.is_ok() => Err(e.in_file(path)),
            _ => result,
        }
    })
}

/// Reads the file in chunks cut after a newline; `send` returns false when
/// nobody listens any more. Lines are bounded as [`crate::lines`] bounds
/// them: a line longer than [`MAX_LINE_BYTES`] is an error, and so is a
/// long line whose start is already not JSON (`/dev/zero` fails at once).
fn cut_chunks(
    file: &mut File,
    chunk_size: usize,
    mut send: impl FnMut(Chunk) -> bool,
) -> Result<(), Error> {
    let (mut seq, mut line, mut position) = (0, 1, 0u64);
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut bytes = std::mem::take(&mut carry);
        let start = bytes.len();
        bytes.resize(start + chunk_size, 0);
        let mut got = start;
        while got < bytes.len() {
            match file.read(&mut bytes[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Error::Io { file: None, source }),
            }
        }
        bytes.truncate(got);
        let eof = got < start + chunk_size;
        if !eof {
            // Keep the last partial line for the next chunk.
            let cut = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            carry = bytes[cut..].to_vec();
            bytes.truncate(cut);
        }
        if bytes.is_empty() && eof {
            return Ok(());
        }
        let (lines, ops) = count_lines(&bytes);
        if eof {
            // The last line has no newline to be cut at: bound it here (it
            // is the chunk's last counted line).
            let cut = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            if cut < bytes.len() {
                check_partial_line(&bytes[cut..], line + lines - 1)?;
            }
        }
        let chunk = Chunk {
            seq,
            bytes,
            line,
            position,
        };
        if !send(chunk) {
            return Ok(());
        }
        seq += 1;
        line += lines;
        position += ops;
        check_partial_line(&carry, line)?;
        if eof {
            return Ok(());
        }
    }
}

/// A line still being read, `partial` so far (at line `line`): too long, or
/// a long one that already is not JSON, is an error.
fn check_partial_line(partial: &[u8], line: usize) -> Result<(), Error> {
    const PEEK: usize = 64 << 10;
    if partial.len() > MAX_LINE_BYTES {
        return Err(ParseError::new(
            line,
            MAX_LINE_BYTES + 1,
            "line longer than 64 MiB: expected one operation per line (is this a history file?)",
        )
        .into());
    }
    if partial.len() >= PEEK {
        if let Peek::Fail(e) = jsonl::peek_json(&partial[..PEEK], line) {
            return Err(e.into());
        }
    }
    Ok(())
}

/// Lines and non-blank lines (ops) in whole lines of text.
fn count_lines(bytes: &[u8]) -> (usize, u64) {
    // The common case, branch-free: every line starts with `{`, so none
    // is blank.
    let Some((&first, rest)) = bytes.split_first() else {
        return (0, 0);
    };
    // Counted over all but the last byte: then every line ends in a
    // counted newline except the last, whether or not it has one.
    let body = &bytes[..bytes.len() - 1];
    let (newlines, braces) = newlines_and_braces(body, rest);
    let lines = newlines + 1;
    if braces + usize::from(first == b'{') == lines {
        return (lines, lines as u64);
    }
    let (mut lines, mut ops) = (0, 0);
    for l in bytes.split_inclusive(|&b| b == b'\n') {
        lines += 1;
        ops += u64::from(!l.trim_ascii().is_empty());
    }
    (lines, ops)
}

/// Newlines in `body`, and newlines in `body` followed (in `next`, the
/// same bytes one on) by `{`. Each lane counts in a byte, 255 at most,
/// before it is added up, so this vectorizes to 16-32 bytes a step; a
/// plain fold widened every byte to 64-bit counters and took 16% of a
/// 10M-txn check, on the one reading thread.
fn newlines_and_braces(body: &[u8], next: &[u8]) -> (usize, usize) {
    const LANES: usize = 32;
    let (mut newlines, mut braces) = (0, 0);
    for (a, b) in body.chunks(255 * LANES).zip(next.chunks(255 * LANES)) {
        let (mut nl, mut br) = ([0u8; LANES], [0u8; LANES]);
        let (a_rest, b_rest) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        for (&x, &y) in a_rest.remainder().iter().zip(b_rest.remainder()) {
            newlines += usize::from(x == b'\n');
            braces += usize::from((x == b'\n') & (y == b'{'));
        }
        for (x, y) in a_rest.zip(b_rest) {
            for i in 0..LANES {
                let n = x[i] == b'\n';
                nl[i] += u8::from(n);
                br[i] += u8::from(n & (y[i] == b'{'));
            }
        }
        newlines += nl.iter().map(|&n| usize::from(n)).sum::<usize>();
        braces += br.iter().map(|&n| usize::from(n)).sum::<usize>();
    }
    (newlines, braces)
}

fn parse_chunks<T>(
    rx: &Mutex<Receiver<Chunk>>,
    parse: &impl Fn(Chunk) -> (T, Option<Error>),
    mut send: impl FnMut(Parsed<T>) -> bool,
) {
    loop {
        let next = rx.lock().map(|r| r.recv());
        let Ok(Ok(chunk)) = next else {
            return;
        };
        let seq = chunk.seq;
        let (items, error) = parse(chunk);
        if !send(Parsed { seq, items, error }) {
            return;
        }
    }
}

/// The non-blank lines of a chunk: (line number, op position, text).
fn lines(chunk: &Chunk) -> impl Iterator<Item = (usize, u64, &[u8])> {
    let mut position = chunk.position;
    chunk
        .bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(move |(i, l)| {
            let text = l.trim_ascii();
            (!text.is_empty()).then(|| {
                position += 1;
                (chunk.line + i, position - 1, text)
            })
        })
}

/// The ops of a chunk, each with its line number and the span of its text
/// in the chunk's bytes (kept for [`for_each_op_text`]).
struct OpChunk {
    bytes: Vec<u8>,
    ops: Vec<(usize, Op, (u32, u32))>,
}

fn parse_ops(chunk: Chunk) -> (OpChunk, Option<Error>) {
    let mut ops = Vec::new();
    let mut error = None;
    let start = chunk.bytes.as_ptr() as usize;
    for (line, position, text) in lines(&chunk) {
        match jsonl::parse_line(text, line, position) {
            Ok(op) => {
                let from = text.as_ptr() as usize - start;
                ops.push((line, op, (from as u32, (from + text.len()) as u32)));
            }
            Err(e) => {
                error = Some(e.into());
                break;
            }
        }
    }
    let bytes = chunk.bytes;
    (OpChunk { bytes, ops }, error)
}

fn parse_txn_lines(chunk: &Chunk, lists: bool) -> (TxnChunk, Option<Error>) {
    let mut out = TxnChunk {
        items: Vec::with_capacity(chunk.bytes.len() / 128),
        raw: RawMops::default(),
    };
    for (line, position, text) in lines(chunk) {
        if let Some(l) = txn_line::scan(text, position, lists, &mut out.raw) {
            out.items.push((line, Item::Fast(l)));
            continue;
        }
        match jsonl::parse_line(text, line, position) {
            Ok(op) => out.items.push((line, Item::Op(Box::new(op)))),
            Err(e) => return (out, Some(e.into())),
        }
    }
    (out, None)
}

/// Hands what was parsed to `each` in file order.
fn hand_over<T>(
    parsed: Receiver<Parsed<T>>,
    each: &mut impl FnMut(T) -> Result<ControlFlow<()>, Error>,
) -> Result<(), Error> {
    let mut waiting: BTreeMap<usize, Parsed<T>> = BTreeMap::new();
    let mut next = 0;
    for p in parsed {
        waiting.insert(p.seq, p);
        while let Some(p) = waiting.remove(&next) {
            next += 1;
            if each(p.items)? == ControlFlow::Break(()) {
                return Ok(());
            }
            if let Some(e) = p.error {
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A history with a blank line, ops without an index (numbered by
    /// position) and lines longer than the chunk size used below.
    fn sample(ops: usize) -> String {
        let mut s = String::new();
        for i in 0..ops {
            let p = (i / 2) % 7;
            if i % 2 == 0 {
                s.push_str(&format!(
                    "{{\"type\":\"invoke\",\"process\":{p},\"f\":\"txn\",\"value\":[[\"append\",{i},{i}]]}}\n"
                ));
            } else {
                s.push_str(&format!(
                    "{{\"type\":\"ok\",\"process\":{p},\"f\":\"txn\",\"value\":[[\"append\",{i},{i}]]}}\n"
                ));
            }
            if i == 10 {
                s.push_str("  \n");
            }
        }
        s
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn read_all(path: &Path, chunk: usize) -> Result<Vec<Op>, Error> {
        let mut ops = Vec::new();
        jsonl_ops(path, chunk, &mut |op: Op, _| {
            ops.push(op);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(ops)
    }

    #[test]
    fn chunked_parallel_read_gives_the_ops_of_the_sequential_reader_in_order() {
        let text = sample(1000);
        let f = write(&text);
        let text = std::fs::read(f.path()).unwrap();
        let expected = crate::read_from(&text[..], Format::Jsonl)
            .unwrap()
            .into_ops();
        for chunk in [16, 100, 1 << 10, 1 << 20] {
            let ops = read_all(f.path(), chunk).unwrap();
            assert_eq!(ops, expected, "chunk size {chunk}");
        }
    }

    #[test]
    fn errors_name_the_line_across_chunks() {
        let mut text = sample(400);
        // Line 402 (after 400 ops and one blank line) is garbled.
        text.push_str("{\"type\": \"ok\", oops}\n");
        let f = write(&text);
        let e = read_all(f.path(), 256).unwrap_err().to_string();
        assert!(e.contains(":402:"), "{e}");

        // A protocol error reported by the consumer names its op's line.
        let f = write(&sample(400));
        let mut n = 0;
        let e = jsonl_ops(f.path(), 256, &mut |_: Op, _| {
            n += 1;
            if n == 300 {
                Err("the 300th op".to_string())
            } else {
                Ok(ControlFlow::Continue(()))
            }
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains(":301: the 300th op"), "{e}");
    }

    #[test]
    fn stopping_early_ends_the_threads() {
        let f = write(&sample(2000));
        let mut n = 0;
        jsonl_ops(f.path(), 64, &mut |_: Op, _| {
            n += 1;
            Ok(if n == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })
        .unwrap();
        assert_eq!(n, 5);
    }

    #[test]
    fn line_counts_agree_with_the_plain_count() {
        let plain = |bytes: &[u8]| {
            let (mut lines, mut ops) = (0, 0);
            for l in bytes.split_inclusive(|&b| b == b'\n') {
                lines += 1;
                ops += u64::from(!l.trim_ascii().is_empty());
            }
            (lines, ops)
        };
        for text in [
            "",
            "\n",
            "{}",
            "{}\n",
            "{}\n{}",
            "{}\n\n{}\n",
            " {}\n{}\n",
            "{}\n  \n",
            "x\n{",
            "{\n{\n{\n",
            "\n\n",
        ] {
            assert_eq!(
                count_lines(text.as_bytes()),
                plain(text.as_bytes()),
                "{text:?}"
            );
        }
        // Long texts, past the counter's 32-byte lanes and its blocks of
        // 255 steps, with and without a blank line or a last newline.
        for (n, blank, last) in [
            (1000, None, true),
            (3001, Some(2500), false),
            (9000, Some(7), true),
        ] {
            let mut text = String::new();
            for i in 0..n {
                text.push_str(if blank == Some(i) {
                    "   \n"
                } else {
                    "{\"k\":1}\n"
                });
            }
            if !last {
                text.pop();
            }
            assert_eq!(
                count_lines(text.as_bytes()),
                plain(text.as_bytes()),
                "{n} {blank:?}"
            );
        }
    }

    #[test]
    fn ops_at_reads_back_the_ops_at_positions() {
        let f = write(&sample(100));
        let all = crate::read_file(f.path(), None).unwrap().into_ops();
        let got = ops_at(f.path(), Format::Jsonl, &[99, 3, 3, 50]).unwrap();
        assert_eq!(got.len(), 3);
        for p in [3u32, 50, 99] {
            assert_eq!(got[&p], all[p as usize]);
        }
    }
}
