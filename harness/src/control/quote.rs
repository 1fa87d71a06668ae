//! POSIX shell quoting that is correct for every byte.
//!
//! A word is wrapped in single quotes; inside single quotes a POSIX shell
//! takes every byte literally except `'` itself, which is written as
//! `'\''` (close the quote, an escaped quote, reopen). Newlines, `$`, `\`,
//! backticks, non-UTF-8 bytes, leading dashes: all literal. The one byte no
//! command line can carry is NUL (argv strings are NUL-terminated), so
//! [`quote`] refuses it instead of silently truncating.

use std::fmt;

/// A NUL byte was found in something that must go on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NulByte {
    /// Byte offset of the first NUL.
    pub at: usize,
}

impl fmt::Display for NulByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a NUL byte (offset {}) cannot be part of a shell command line",
            self.at
        )
    }
}

impl std::error::Error for NulByte {}

/// Quote `word` as one shell word. Non-empty words made only of characters
/// that are never special to a POSIX shell (`[A-Za-z0-9_./:,+@%-]`) are
/// returned unchanged so logs stay readable; everything else is single-quoted.
pub fn quote(word: &[u8]) -> Result<Vec<u8>, NulByte> {
    if let Some(at) = word.iter().position(|&b| b == 0) {
        return Err(NulByte { at });
    }
    if !word.is_empty() && word.iter().all(|&b| is_plain(b)) {
        return Ok(word.to_vec());
    }
    let mut out = Vec::with_capacity(word.len() + 2);
    out.push(b'\'');
    for &b in word {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    Ok(out)
}

/// [`quote`] for text. Panics on a NUL character, which can never be part
/// of a command line; use [`quote`] for bytes you do not control.
pub fn q(word: &str) -> String {
    match quote(word.as_bytes()) {
        Ok(v) => String::from_utf8(v).expect("quoting UTF-8 keeps it UTF-8"),
        Err(e) => panic!("{e}: {word:?}"),
    }
}

/// Quote every word and join them with spaces: an argv as one command line.
pub fn join<I, W>(words: I) -> Result<Vec<u8>, NulByte>
where
    I: IntoIterator<Item = W>,
    W: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for (i, w) in words.into_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend(quote(w.as_ref())?);
    }
    Ok(out)
}

fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_./:,+@%-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    #[cfg(unix)]
    fn through_sh(word: &[u8]) -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt;
        let mut script = b"printf %s ".to_vec();
        script.extend(quote(word).unwrap());
        let out = Command::new("sh")
            .arg("-c")
            .arg(std::ffi::OsStr::from_bytes(&script))
            .output()
            .unwrap();
        assert!(out.status.success(), "sh failed: {out:?}");
        out.stdout
    }

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(q("abc-1.2_x/y"), "abc-1.2_x/y");
        assert_eq!(q(""), "''");
        assert_eq!(q("a b"), "'a b'");
        assert_eq!(q("it's"), "'it'\\''s'");
    }

    #[test]
    fn nasty_words_round_trip() {
        for w in [
            &b"'"[..],
            b"''",
            b"\\",
            b"$(rm -rf /)",
            b"`id`",
            b"a\nb",
            b"-n",
            b"%s %d",
            b"\xff\xfe\x80",
            b"*",
            b"~",
            b"!",
            b" leading",
        ] {
            assert_eq!(through_sh(w), w, "word {w:?}");
        }
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(quote(b"a\0b"), Err(NulByte { at: 1 }));
    }

    #[test]
    fn join_quotes_each_word() {
        assert_eq!(join(["ls", "-l", "a b"]).unwrap(), b"ls -l 'a b'");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_bytes_round_trip_through_sh(word in proptest::collection::vec(1u8..=255, 0..64)) {
            prop_assert_eq!(through_sh(&word), word);
        }

        #[test]
        fn any_bytes_with_nul_are_refused(mut word in proptest::collection::vec(any::<u8>(), 0..32), at in any::<prop::sample::Index>()) {
            let i = at.index(word.len() + 1);
            word.insert(i, 0);
            prop_assert!(quote(&word).is_err());
        }
    }
}
