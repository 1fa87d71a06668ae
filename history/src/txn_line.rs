//! A fast path for the JSON lines of transactional histories: one line is
//! read into a [`TxnLine`], its micro-ops as plain numbers in flat vectors
//! shared by many lines ([`RawMops`]), without building a [`Value`] tree.
//!
//! Only the common shape is read here: keys and values that are integers,
//! `[append k v]` / `[r k [..]]` (lists) or `[w k v]` / `[r k v]`
//! (registers), strings without escapes, plain ASCII. Anything else
//! (string keys, escapes, floats, other micro-op names, malformed text)
//! gives `None`, and the caller parses that line with the general
//! [`jsonl::parse_line`](crate::jsonl::parse_line), which also words the
//! errors. So this path never accepts a line the general one rejects, and
//! reads every line it accepts the way the general one does (tested
//! below).
//!
//! [`Value`]: crate::Value

use crate::op::{OpType, Process};
use std::ops::Range;

/// A micro-op's function, as named in the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MopName {
    /// `append` (list-append).
    Append,
    /// `w` (rw-register).
    W,
    /// `r`.
    R,
}

/// A micro-op's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawVal {
    Nil,
    Int(i64),
    /// A list of integers: `RawMops::ints[start..start + len]`.
    List {
        start: u32,
        len: u32,
    },
}

/// `[name key value]` with an integer key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawMop {
    pub name: MopName,
    pub key: i64,
    pub val: RawVal,
}

/// The micro-ops of many lines, stored flat.
#[derive(Debug, Default)]
pub struct RawMops {
    pub mops: Vec<RawMop>,
    pub ints: Vec<i64>,
}

impl RawMops {
    pub fn list(&self, val: RawVal) -> &[i64] {
        match val {
            RawVal::List { start, len } => &self.ints[start as usize..(start + len) as usize],
            _ => &[],
        }
    }

    pub fn clear(&mut self) {
        self.mops.clear();
        self.ints.clear();
    }
}

/// An op's `f`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FName {
    Txn,
    Other(Box<str>),
}

impl FName {
    pub fn as_str(&self) -> &str {
        match self {
            FName::Txn => "txn",
            FName::Other(s) => s,
        }
    }
}

/// What the transactional checker needs of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnLine {
    /// The op's index (its position when the line has none).
    pub index: u64,
    pub kind: OpType,
    /// The client process; `None` for a named one (the nemesis).
    pub process: Option<u64>,
    pub f: FName,
    /// Its micro-ops in [`RawMops::mops`] (none unless `f` is `txn`).
    pub mops: Range<u32>,
}

/// Reads one JSON line (trimmed, not blank) at op `position`; `lists`:
/// reads return lists (list-append) rather than single values. Micro-ops
/// are appended to `out`; on `None` (not the common shape) `out` is left
/// as it was.
pub fn scan(text: &[u8], position: u64, lists: bool, out: &mut RawMops) -> Option<TxnLine> {
    let (mops, ints) = (out.mops.len(), out.ints.len());
    let line = Scanner { s: text, i: 0 }.line(position, lists, out);
    if line.is_none() {
        out.mops.truncate(mops);
        out.ints.truncate(ints);
    }
    line
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

const INDEX: u8 = 1;
const TIME: u8 = 2;
const TYPE: u8 = 4;
const PROCESS: u8 = 8;
const F: u8 = 16;
const VALUE: u8 = 32;
const NODE: u8 = 64;

/// Where an op's value is, to be read once `f` is known.
type Span = (usize, usize);

impl<'a> Scanner<'a> {
    fn line(mut self, position: u64, lists: bool, out: &mut RawMops) -> Option<TxnLine> {
        let mut seen = 0u8;
        let (mut index, mut kind, mut process, mut f) = (None, None, None, None);
        let mut value: Option<Span> = None;
        let mut mops_read = false;
        let start = out.mops.len() as u32;
        self.eat(b'{')?;
        if !self.eat_if(b'}') {
            loop {
                let name = self.string()?;
                self.eat(b':')?;
                let bit = match name {
                    b"index" => INDEX,
                    b"time" => TIME,
                    b"type" => TYPE,
                    b"process" => PROCESS,
                    b"f" => F,
                    b"value" => VALUE,
                    b"node" => NODE,
                    _ => 0,
                };
                // A repeated field: serde keeps the last; leave it to it.
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                match bit {
                    INDEX => index = Some(self.uint()?),
                    TIME => {
                        if !self.null() {
                            self.uint()?;
                        }
                    }
                    TYPE => {
                        kind = Some(match self.string()? {
                            b"invoke" => OpType::Invoke,
                            b"ok" => OpType::Ok,
                            b"fail" => OpType::Fail,
                            b"info" => OpType::Info,
                            _ => return None,
                        })
                    }
                    PROCESS => {
                        self.ws();
                        process = Some(if self.peek_is(b'"') {
                            // A named client ("c1") or an event process.
                            let name = std::str::from_utf8(self.string()?).ok()?;
                            Process::named_client_id(name)
                        } else {
                            Some(self.uint()?)
                        });
                    }
                    F => {
                        f = Some(match self.string()? {
                            b"txn" => FName::Txn,
                            // ASCII (checked by `string`).
                            other => FName::Other(std::str::from_utf8(other).ok()?.into()),
                        })
                    }
                    // Read the micro-ops at once when `f` came first (as
                    // shakedown writes it), else find them again below.
                    VALUE
                        if f == Some(FName::Txn)
                            && process.is_some_and(|p: Option<u64>| p.is_some()) =>
                    {
                        self.mops(lists, out)?;
                        value = Some((0, 0));
                        mops_read = true;
                    }
                    VALUE => {
                        self.ws();
                        let start = self.i;
                        self.skip_value(0)?;
                        value = Some((start, self.i));
                    }
                    NODE => {
                        if !self.null() {
                            self.string()?;
                        }
                    }
                    _ => self.skip_value(0)?,
                }
                self.ws();
                match self.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.ws();
        if self.i != self.s.len() {
            return None;
        }
        let (kind, process, f) = (kind?, process?, f?);
        if f == FName::Txn && process.is_some() && !mops_read {
            let (a, b) = value?;
            let mut v = Scanner {
                s: &self.s[..b],
                i: a,
            };
            v.mops(lists, out)?;
        }
        Some(TxnLine {
            index: index.unwrap_or(position),
            kind,
            process,
            f,
            mops: start..out.mops.len() as u32,
        })
    }

    /// `[[name k v], ...]`
    fn mops(&mut self, lists: bool, out: &mut RawMops) -> Option<()> {
        self.eat(b'[')?;
        if self.eat_if(b']') {
            return Some(());
        }
        loop {
            self.eat(b'[')?;
            let name = match (self.string()?, lists) {
                (b"append", true) => MopName::Append,
                (b"w", false) => MopName::W,
                (b"r", _) => MopName::R,
                _ => return None,
            };
            self.eat(b',')?;
            let key = self.int()?;
            self.eat(b',')?;
            self.ws();
            let val = if self.null() {
                RawVal::Nil
            } else if name == MopName::R && lists {
                self.int_list(out)?
            } else {
                RawVal::Int(self.int()?)
            };
            self.eat(b']')?;
            out.mops.push(RawMop { name, key, val });
            self.ws();
            match self.next()? {
                b',' => continue,
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    fn int_list(&mut self, out: &mut RawMops) -> Option<RawVal> {
        self.eat(b'[')?;
        let start = out.ints.len();
        if !self.eat_if(b']') {
            loop {
                out.ints.push(self.int()?);
                self.ws();
                match self.next()? {
                    b',' => continue,
                    b']' => break,
                    _ => return None,
                }
            }
        }
        Some(RawVal::List {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(out.ints.len() - start).ok()?,
        })
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek_is(&mut self, b: u8) -> bool {
        self.ws();
        self.s.get(self.i) == Some(&b)
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.s.get(self.i)?;
        self.i += 1;
        Some(b)
    }

    /// The next byte after whitespace, if it is `b`.
    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.next()? == b).then_some(())
    }

    /// Consumes the next byte after whitespace if it is `b`.
    fn eat_if(&mut self, b: u8) -> bool {
        let yes = self.peek_is(b);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn null(&mut self) -> bool {
        self.ws();
        let yes = self.s[self.i..].starts_with(b"null");
        if yes {
            self.i += 4;
        }
        yes
    }

    /// A string's bytes: printable ASCII, no escapes.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.next()? {
                b'"' => return Some(&self.s[start..self.i - 1]),
                b'\\' | 0..=0x1f | 0x80.. => return None,
                _ => {}
            }
        }
    }

    /// Digits of a JSON integer (no leading zeros), at most 18 of them so
    /// that they fit an i64; not followed by a fraction or exponent.
    fn digits(&mut self) -> Option<u64> {
        let rest = &self.s[self.i..];
        let mut n = 0u64;
        let mut len = 0;
        for &b in rest.iter().take(19) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            n = n * 10 + u64::from(d);
            len += 1;
        }
        if len == 0 || len > 18 || (len > 1 && rest[0] == b'0') {
            return None;
        }
        self.i += len;
        if let Some(b'.' | b'e' | b'E') = self.s.get(self.i) {
            return None;
        }
        Some(n)
    }

    fn uint(&mut self) -> Option<u64> {
        self.ws();
        self.digits()
    }

    fn int(&mut self) -> Option<i64> {
        self.ws();
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
            // "-0" reads as 0 in serde_json; rare enough to leave to it.
            match self.digits()? {
                0 => None,
                n => Some(-(n as i64)),
            }
        } else {
            Some(self.digits()? as i64)
        }
    }

    /// Skips one JSON value (validating it, in the subset read here).
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        if depth > 64 {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.i += 1;
                if self.eat_if(b'}') {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => continue,
                        b'}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                if self.eat_if(b']') {
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => continue,
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b't' | b'f' | b'n' => {
                for word in [&b"true"[..], b"false", b"null"] {
                    if self.s[self.i..].starts_with(word) {
                        self.i += word.len();
                        return Some(());
                    }
                }
                None
            }
            // Integers only; floats go the general way.
            _ => self.int().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonl::parse_line;
    use crate::{Op, Value};

    /// The micro-ops read by the fast path, as the value the general path
    /// reads from the same line.
    fn as_value(line: &TxnLine, raw: &RawMops) -> Value {
        let mops = &raw.mops[line.mops.start as usize..line.mops.end as usize];
        Value::List(
            mops.iter()
                .map(|m| {
                    let name = match m.name {
                        MopName::Append => "append",
                        MopName::W => "w",
                        MopName::R => "r",
                    };
                    let val = match m.val {
                        RawVal::Nil => Value::Nil,
                        RawVal::Int(i) => Value::Int(i),
                        RawVal::List { .. } => {
                            Value::List(raw.list(m.val).iter().map(|&i| Value::Int(i)).collect())
                        }
                    };
                    Value::List(vec![Value::Str(name.into()), Value::Int(m.key), val])
                })
                .collect(),
        )
    }

    /// Scans `text` both ways; when the fast path reads it, it must read
    /// what the general path reads. Returns whether it did.
    fn agrees(text: &str, lists: bool) -> bool {
        let mut raw = RawMops::default();
        raw.ints.push(7); // earlier lines' data stays put
        let fast = scan(text.as_bytes(), 41, lists, &mut raw);
        let general: Result<Op, _> = parse_line(text.as_bytes(), 1, 41);
        let Some(line) = fast else {
            assert_eq!((raw.mops.len(), raw.ints.len()), (0, 1), "{text}");
            return false;
        };
        let op = general.unwrap_or_else(|e| panic!("fast path read {text:?}, general: {e}"));
        assert_eq!(line.index, op.index, "{text}");
        assert_eq!(line.kind, op.kind, "{text}");
        assert_eq!(line.f.as_str(), op.f, "{text}");
        assert_eq!(line.process, op.process.client(), "{text}");
        if op.f == "txn" && op.process.is_client() {
            assert_eq!(as_value(&line, &raw), op.value, "{text}");
        } else {
            assert!(line.mops.is_empty(), "{text}");
        }
        true
    }

    const FAST: &[(&str, bool)] = &[
        (
            r#"{"index":3,"time":120,"type":"invoke","process":2,"f":"txn","value":[["append",5,1],["r",5,null]]}"#,
            true,
        ),
        (
            r#"{"index":4,"time":130,"type":"ok","process":2,"f":"txn","value":[["append",5,1],["r",5,[1]],["r",-6,[]],["r",7,null]]}"#,
            true,
        ),
        (
            r#" { "type" : "fail" , "process" : 0 , "f" : "txn" , "value" : [ [ "r" , 1 , [ 2 , -3 ] ] ] , "index" : 9 } "#,
            true,
        ),
        (r#"{"type":"info","process":1,"f":"txn","value":[]}"#, true),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["w",1,2],["r",1,null],["r",2,2]]}"#,
            false,
        ),
        (
            r#"{"index":2,"time":null,"type":"info","process":"nemesis","f":"start-partition","value":{"n1":["n4","n5"],"x":[true,false,null,{}]}}"#,
            true,
        ),
        (
            r#"{"index":5,"type":"invoke","process":4,"f":"read","value":null,"node":"n1","error":["a",1],"key":7}"#,
            true,
        ),
        (
            r#"{"index":6,"type":"ok","process":4,"f":"txn","node":null,"value":[["append",123456789012345678,-123456789012345678]]}"#,
            true,
        ),
    ];

    const SLOW: &[(&str, bool)] = &[
        // Other shapes: the general path reads them.
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["append","x",1]]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["write",1,2]]}"#,
            false,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["w",1,2]]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["append",1,2]]}"#,
            false,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["r",1,[1.5]]]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["r",1,[-0]]]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["r",1,[1234567890123456789]]]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"t\u0078n","value":[]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[],"value":[]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["r",1]]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":null}"#,
            true,
        ),
        (r#"{"index":1,"type":"ok","process":3,"f":"txn"}"#, true),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"é","value":1}"#,
            true,
        ),
        // Malformed: the general path words the error.
        (
            r#"{"index":1,"type":"ok","process":-3,"f":"txn","value":[]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"done","process":3,"f":"txn","value":[]}"#,
            true,
        ),
        (r#"{"index":1,"process":3,"f":"txn","value":[]}"#, true),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[]} x"#,
            true,
        ),
        (
            r#"{"index":01,"type":"ok","process":3,"f":"txn","value":[]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[],}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[[]]}"#,
            true,
        ),
        (
            r#"{"index":1,"type":"ok","process":3,"f":"txn","value":[["r",1,[1,]]]}"#,
            true,
        ),
    ];

    #[test]
    fn the_fast_path_reads_common_lines_as_the_general_path_does() {
        for &(text, lists) in FAST {
            assert!(agrees(text, lists), "not read by the fast path: {text}");
        }
    }

    #[test]
    fn other_shapes_and_malformed_lines_are_left_to_the_general_path() {
        for &(text, lists) in SLOW {
            assert!(!agrees(text, lists), "read by the fast path: {text}");
        }
    }

    #[test]
    fn a_damaged_line_is_never_read_differently() {
        // Every one-byte deletion or substitution of the common lines:
        // the fast path reads the result as the general path does, or
        // leaves it to it.
        let mut read = 0;
        for &(text, lists) in FAST {
            let bytes = text.as_bytes();
            for i in 0..bytes.len() {
                let mut variants = vec![[&bytes[..i], &bytes[i + 1..]].concat()];
                for b in *b" \",:[]{}0-9x.en" {
                    let mut v = bytes.to_vec();
                    v[i] = b;
                    variants.push(v);
                }
                for v in variants {
                    let Ok(v) = String::from_utf8(v) else {
                        continue;
                    };
                    let v = v.trim();
                    if !v.is_empty() {
                        read += usize::from(agrees(v, lists));
                    }
                }
            }
        }
        assert!(read > 100, "{read}");
    }
}
