//! Globs over relative paths: `*` matches any run of characters within one
//! path segment, `?` one character, and a `**` segment any number of
//! segments (also none): `member/**/*.wal` matches `member/wal/0.wal` and
//! `member/0.wal`. No character classes or escapes.

use crate::Error;
use std::path::{Path, PathBuf};

/// Whether the relative `path` (segments separated by `/`) matches
/// `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let s: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&p, &s)
}

fn match_segments(p: &[&str], s: &[&str]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((&"**", rest)) => (0..=s.len()).any(|i| match_segments(rest, &s[i..])),
        Some((seg, rest)) => {
            !s.is_empty() && match_segment(seg, s[0]) && match_segments(rest, &s[1..])
        }
    }
}

/// One segment: `*` and `?` by the classic greedy match with backtracking
/// to the last `*` (linear for patterns with one star, never exponential).
fn match_segment(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < s.len() {
        if i < p.len() && (p[i] == '?' || p[i] == s[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            // Let the last star eat one more character.
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// Refuses a glob that could name files outside the directory.
pub fn check(pattern: &str) -> Result<(), Error> {
    if pattern.is_empty() {
        return Err(Error::new("diskfs: an empty glob matches nothing"));
    }
    if pattern.starts_with('/') || pattern.split('/').any(|s| s == "..") {
        return Err(Error::new(format!(
            "diskfs: glob {pattern:?} must be relative to the directory, without `..`"
        )));
    }
    Ok(())
}

/// The regular files under `dir` (not following symlinks) whose path
/// relative to `dir` matches one of `globs`, sorted. Matching no file is
/// an error naming the globs and the directory.
pub fn find(dir: &Path, globs: &[String]) -> Result<Vec<PathBuf>, Error> {
    for g in globs {
        check(g)?;
    }
    if globs.is_empty() {
        return Err(Error::new("diskfs: no glob given (--files)"));
    }
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        let entries = std::fs::read_dir(&abs)
            .map_err(|e| Error::new(format!("diskfs: reading {}: {e}", abs.display())))?;
        for e in entries {
            let e = e.map_err(|e| Error::new(format!("diskfs: reading {}: {e}", abs.display())))?;
            let Ok(t) = e.file_type() else { continue };
            let path = rel.join(e.file_name());
            if t.is_dir() {
                stack.push(path);
            } else if t.is_file() {
                let s = path.to_string_lossy();
                if globs.iter().any(|g| matches(g, &s)) {
                    found.push(path);
                }
            }
        }
    }
    if found.is_empty() {
        return Err(Error::new(format!(
            "diskfs: no file in {} matches {}",
            dir.display(),
            globs.join(" ")
        )));
    }
    found.sort();
    Ok(found)
}

/// What a directory holds, seen through some globs: how many regular files
/// each glob matches, and the first few files (for an error that shows
/// what is there).
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Survey {
    /// Per glob, in order: matching regular files.
    pub matched: Vec<usize>,
    /// Regular files under the directory.
    pub total: usize,
    /// The first [`SURVEY_SAMPLE`] of them, sorted.
    pub sample: Vec<String>,
}

/// How many file names a [`Survey`] keeps.
pub const SURVEY_SAMPLE: usize = 12;

/// Counts, per glob, the regular files under `dir` it matches (a missing
/// directory holds nothing). Unlike [`find`], matching nothing is not an
/// error here: the caller decides what it means.
pub fn survey(dir: &Path, globs: &[String]) -> Result<Survey, Error> {
    for g in globs {
        check(g)?;
    }
    let mut all = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        let entries = match std::fs::read_dir(&abs) {
            Ok(e) => e,
            Err(e) if rel.as_os_str().is_empty() && e.kind() == std::io::ErrorKind::NotFound => {
                break
            }
            Err(e) => {
                return Err(Error::new(format!(
                    "diskfs: reading {}: {e}",
                    abs.display()
                )))
            }
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            let path = rel.join(e.file_name());
            if t.is_dir() {
                stack.push(path);
            } else if t.is_file() {
                all.push(path.to_string_lossy().into_owned());
            }
        }
    }
    all.sort();
    Ok(Survey {
        matched: globs
            .iter()
            .map(|g| all.iter().filter(|f| matches(g, f)).count())
            .collect(),
        total: all.len(),
        sample: all.into_iter().take(SURVEY_SAMPLE).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_survey_counts_matches_per_glob_and_a_missing_directory_holds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("member/wal")).unwrap();
        for f in ["member/wal/0.wal", "member/wal/1.wal", "member/snap.db"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let globs = ["**/*.wal".to_string(), "*.wall".into(), "**".into()];
        let s = survey(dir.path(), &globs).unwrap();
        assert_eq!(s.matched, vec![2, 0, 3]);
        assert_eq!(s.total, 3);
        assert_eq!(s.sample[0], "member/snap.db");
        let none = survey(&dir.path().join("absent"), &globs).unwrap();
        assert_eq!((none.matched, none.total), (vec![0, 0, 0], 0));
        assert!(survey(dir.path(), &["../x".into()]).is_err());
    }

    #[test]
    fn stars_and_question_marks_stay_in_a_segment() {
        assert!(matches("*.wal", "0000.wal"));
        assert!(!matches("*.wal", "wal/0000.wal"));
        assert!(matches("wal/????.wal", "wal/0000.wal"));
        assert!(!matches("wal/???.wal", "wal/0000.wal"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("*", "x"));
        assert!(!matches("*", "x/y"));
        assert!(
            matches("base/*/[]", "base/16384/[]"),
            "no classes: [ is literal"
        );
    }

    #[test]
    fn double_star_spans_segments() {
        assert!(matches("**", "a/b/c"));
        assert!(matches("**/*.wal", "0.wal"));
        assert!(matches("**/*.wal", "member/wal/0.wal"));
        assert!(matches("member/**/0.wal", "member/0.wal"));
        assert!(matches("member/**/0.wal", "member/a/b/0.wal"));
        assert!(!matches("member/**/0.wal", "other/0.wal"));
        assert!(matches("a/**/b/**/c", "a/x/b/y/z/c"));
    }

    #[test]
    fn find_lists_matching_files_and_refuses_no_match() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("member/wal")).unwrap();
        std::fs::write(d.path().join("member/wal/0000.wal"), b"x").unwrap();
        std::fs::write(d.path().join("member/wal/0001.wal"), b"x").unwrap();
        std::fs::write(d.path().join("member/snap.db"), b"x").unwrap();
        let got = find(d.path(), &["**/*.wal".into()]).unwrap();
        assert_eq!(
            got,
            vec![
                PathBuf::from("member/wal/0000.wal"),
                PathBuf::from("member/wal/0001.wal")
            ]
        );
        let e = find(d.path(), &["*.log".into(), "x/**".into()]).unwrap_err();
        assert!(e.message().contains("*.log x/**"), "{e}");
        assert!(e.message().contains(&d.path().display().to_string()), "{e}");
        assert!(find(d.path(), &["../etc/*".into()]).is_err());
        assert!(find(d.path(), &["/etc/*".into()]).is_err());
    }
}
