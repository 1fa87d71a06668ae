//! File corruption, modeled on Jepsen's file-corruption nemesis
//! (`corrupt-file`): files are seen as chunks (1 MiB by default), every
//! chunk is eligible (Jepsen's default modulus of 1), and each mode damages
//! them in its own way:
//!
//! - `bitflip`: each bit of the file flips with probability P (default
//!   1e-6, roughly eight flips per MiB). Positions are drawn with geometric
//!   gaps, so the cost is in the flips, not the file size. Reported: the
//!   offset of every changed byte and the number of bits flipped.
//! - `truncate`: each file, with probability P (default 1), loses a tail of
//!   a uniformly random length in 1..=min(size, chunk size) bytes (so at
//!   most one chunk, never the whole file unless it fits in one chunk).
//!   Reported: the new size as the one offset.
//! - `rollback`: each chunk of the file's snapshot (taken by [`snapshot`])
//!   is, with probability P (default 1), written back over the file;
//!   bytes the file gained beyond the snapshot stay. Reported: the offsets
//!   of the chunks that changed. A file without a snapshot is an error
//!   naming it.
//!
//! Every write is fsync'ed. For a given seed and the same files the choice
//! is the same (files are visited in sorted order).

use crate::glob;
use crate::rng::Rng;
use crate::Error;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Chunk size of corruption and rollback: 1 MiB, as Jepsen's.
pub const DEFAULT_CHUNK_SIZE: u64 = 1 << 20;

/// Jepsen's default per-bit flip probability.
pub const DEFAULT_BITFLIP_PROBABILITY: f64 = 1e-6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bitflip,
    Truncate,
    Rollback,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Bitflip => "bitflip",
            Mode::Truncate => "truncate",
            Mode::Rollback => "rollback",
        }
    }

    /// P when none is given.
    pub fn default_probability(self) -> f64 {
        match self {
            Mode::Bitflip => DEFAULT_BITFLIP_PROBABILITY,
            Mode::Truncate | Mode::Rollback => 1.0,
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Mode, Error> {
        match s {
            "bitflip" => Ok(Mode::Bitflip),
            "truncate" => Ok(Mode::Truncate),
            "rollback" => Ok(Mode::Rollback),
            _ => Err(Error::new(format!(
                "diskfs: unknown corruption mode {s:?} (one of bitflip, truncate, rollback)"
            ))),
        }
    }
}

/// What to corrupt, and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// The directory the globs are relative to.
    pub dir: PathBuf,
    /// Globs of the files to corrupt (see [`crate::glob`]).
    pub files: Vec<String>,
    pub mode: Mode,
    /// Per bit (bitflip), per file (truncate) or per chunk (rollback);
    /// `None`: the mode's default.
    pub probability: Option<f64>,
    pub seed: u64,
    /// Where snapshots are (rollback); `None`: [`default_snapshots`].
    pub snapshots: Option<PathBuf>,
    pub chunk_size: u64,
}

/// One corrupted (or snapshotted) file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileReport {
    /// Relative to the directory.
    pub path: String,
    /// Changed bytes (bitflip), the new size (truncate), changed chunks'
    /// starts (rollback); empty for a snapshot.
    pub offsets: Vec<u64>,
    /// Bytes changed, cut, restored or copied.
    pub bytes: u64,
    /// Bits flipped (bitflip only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits: Option<u64>,
    pub size_before: u64,
    pub size_after: u64,
}

/// The JSON report of a corruption or snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub mode: String,
    pub dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub files: Vec<FileReport>,
    /// Sum of the files' bytes.
    pub bytes: u64,
}

/// Where snapshots of `dir` go by default:
/// `/tmp/shakedown-diskfs/snapshots/<absolute dir>`, one tree per directory.
pub fn default_snapshots(dir: &Path) -> PathBuf {
    let abs = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let rel = abs.strip_prefix("/").unwrap_or(&abs).to_path_buf();
    Path::new("/tmp/shakedown-diskfs/snapshots").join(rel)
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(format!("diskfs: {what} {}: {e}", path.display()))
}

fn check_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::new(format!(
            "diskfs: --dir {} is not a directory",
            dir.display()
        ))),
        Err(e) => Err(io_err("--dir", dir, e)),
    }
}

/// Copies every matching file to `snapshots` (same relative paths),
/// replacing an earlier snapshot, fsync'ed.
pub fn snapshot(dir: &Path, globs: &[String], snapshots: Option<&Path>) -> Result<Report, Error> {
    check_dir(dir)?;
    let root = snapshots.map_or_else(|| default_snapshots(dir), Path::to_path_buf);
    let mut files = Vec::new();
    for rel in glob::find(dir, globs)? {
        let (src, dst) = (dir.join(&rel), root.join(&rel));
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_err("creating", parent, e))?;
        }
        let mut data = Vec::new();
        File::open(&src)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|e| io_err("reading", &src, e))?;
        File::create(&dst)
            .and_then(|mut f| {
                f.write_all(&data)?;
                f.sync_all()
            })
            .map_err(|e| io_err("writing the snapshot", &dst, e))?;
        let n = data.len() as u64;
        files.push(FileReport {
            path: rel.to_string_lossy().into_owned(),
            offsets: Vec::new(),
            bytes: n,
            bits: None,
            size_before: n,
            size_after: n,
        });
    }
    Ok(report("snapshot", dir, None, None, files))
}

fn report(
    mode: &str,
    dir: &Path,
    probability: Option<f64>,
    seed: Option<u64>,
    files: Vec<FileReport>,
) -> Report {
    Report {
        ok: true,
        mode: mode.into(),
        dir: dir.display().to_string(),
        probability,
        seed,
        bytes: files.iter().map(|f| f.bytes).sum(),
        files,
    }
}

/// Corrupts the matching files as `opts` says.
pub fn corrupt(opts: &Options) -> Result<Report, Error> {
    check_dir(&opts.dir)?;
    let p = opts
        .probability
        .unwrap_or_else(|| opts.mode.default_probability());
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::new(format!(
            "diskfs: --probability {p} must be within [0, 1]"
        )));
    }
    if opts.chunk_size == 0 {
        return Err(Error::new("diskfs: chunk size must be at least 1 byte"));
    }
    let snapshots = opts
        .snapshots
        .clone()
        .unwrap_or_else(|| default_snapshots(&opts.dir));
    let rels = glob::find(&opts.dir, &opts.files)?;
    if opts.mode == Mode::Rollback {
        // All or nothing: check every snapshot before changing any file.
        for rel in &rels {
            let snap = snapshots.join(rel);
            if !snap.is_file() {
                return Err(Error::new(format!(
                    "diskfs: no snapshot of {} (expected {}; take one with `shakedown diskfs snapshot`)",
                    rel.display(),
                    snap.display()
                )));
            }
        }
    }
    let mut rng = Rng::seed(opts.seed);
    let mut files = Vec::new();
    for rel in rels {
        let path = opts.dir.join(&rel);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        let size = file
            .metadata()
            .map_err(|e| io_err("reading", &path, e))?
            .len();
        let mut r = match opts.mode {
            Mode::Bitflip => bitflip(&file, size, p, opts.chunk_size, &mut rng),
            Mode::Truncate => truncate(&file, size, p, opts.chunk_size, &mut rng),
            Mode::Rollback => rollback(&file, &snapshots.join(&rel), p, opts.chunk_size, &mut rng),
        }
        .map_err(|e| io_err("corrupting", &path, e))?;
        file.sync_all().map_err(|e| io_err("fsync of", &path, e))?;
        r.path = rel.to_string_lossy().into_owned();
        r.size_before = size;
        files.push(r);
    }
    Ok(report(
        opts.mode.name(),
        &opts.dir,
        Some(p),
        Some(opts.seed),
        files,
    ))
}

fn empty_report(size: u64) -> FileReport {
    FileReport {
        path: String::new(),
        offsets: Vec::new(),
        bytes: 0,
        bits: None,
        size_before: size,
        size_after: size,
    }
}

/// The bit positions (strictly increasing, in `0..total`) that flip when
/// each flips independently with probability `p`: the gaps between flips
/// are geometric, drawn by inversion.
fn flip_positions(total: u64, p: f64, rng: &mut Rng) -> Vec<u64> {
    if p <= 0.0 || total == 0 {
        return Vec::new();
    }
    if p >= 1.0 {
        return (0..total).collect();
    }
    let ln_q = (1.0 - p).ln();
    let mut out = Vec::new();
    let mut pos: u64 = 0;
    loop {
        // Failures before the next success: floor(ln(U) / ln(1-p)), U in (0, 1].
        let u = 1.0 - rng.f64();
        let gap = (u.ln() / ln_q).floor();
        if !gap.is_finite() || gap >= (total - pos) as f64 {
            return out;
        }
        pos += gap as u64;
        out.push(pos);
        pos += 1;
        if pos >= total {
            return out;
        }
    }
}

fn bitflip(
    file: &File,
    size: u64,
    p: f64,
    chunk: u64,
    rng: &mut Rng,
) -> std::io::Result<FileReport> {
    let bits = flip_positions(size.saturating_mul(8), p, rng);
    let mut r = empty_report(size);
    r.bits = Some(bits.len() as u64);
    // Apply chunk by chunk: one read and one write per chunk with flips.
    let mut i = 0;
    while i < bits.len() {
        let start = bits[i] / 8 / chunk * chunk;
        let end = (start + chunk).min(size);
        let mut buf = vec![0u8; (end - start) as usize];
        file.read_exact_at(&mut buf, start)?;
        while i < bits.len() && bits[i] / 8 < end {
            let byte = bits[i] / 8;
            buf[(byte - start) as usize] ^= 1 << (bits[i] % 8);
            if r.offsets.last() != Some(&byte) {
                r.offsets.push(byte);
            }
            i += 1;
        }
        file.write_all_at(&buf, start)?;
    }
    r.bytes = r.offsets.len() as u64;
    Ok(r)
}

fn truncate(
    file: &File,
    size: u64,
    p: f64,
    chunk: u64,
    rng: &mut Rng,
) -> std::io::Result<FileReport> {
    let mut r = empty_report(size);
    // Draw for every file, even empty ones, so one file's size does not
    // shift the choices for the next.
    let hit = rng.chance(p);
    let cut = 1 + rng.below(size.min(chunk).max(1));
    if hit && size > 0 {
        let new = size - cut.min(size);
        file.set_len(new)?;
        r.offsets = vec![new];
        r.bytes = size - new;
        r.size_after = new;
    }
    Ok(r)
}

fn rollback(
    file: &File,
    snap: &Path,
    p: f64,
    chunk: u64,
    rng: &mut Rng,
) -> std::io::Result<FileReport> {
    let old = std::fs::read(snap)?;
    let size = file.metadata()?.len();
    let mut r = empty_report(size);
    for (k, want) in old.chunks(chunk as usize).enumerate() {
        if !rng.chance(p) {
            continue;
        }
        let off = k as u64 * chunk;
        // Only what differs counts as restored: a chunk that did not change
        // since the snapshot is not damage.
        let mut have = vec![0u8; want.len()];
        let n = crate::cache::Backing::read_at(file, &mut have, off)?;
        if n == want.len() && have == want {
            continue;
        }
        file.write_all_at(want, off)?;
        r.offsets.push(off);
        r.bytes += want.len() as u64;
    }
    r.size_after = file.metadata()?.len();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &Path, mode: Mode, p: Option<f64>, seed: u64) -> Options {
        Options {
            dir: dir.to_path_buf(),
            files: vec!["**/*.dat".into()],
            mode,
            probability: p,
            seed,
            snapshots: Some(dir.join("../snaps")),
            chunk_size: 4096,
        }
    }

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("data");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let a: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
        std::fs::write(dir.join("a.dat"), &a).unwrap();
        std::fs::write(dir.join("sub/b.dat"), vec![0xAAu8; 9000]).unwrap();
        std::fs::write(dir.join("c.txt"), b"not matched").unwrap();
        (t, dir)
    }

    #[test]
    fn bitflip_changes_exactly_the_reported_bytes() {
        let (_t, dir) = setup();
        let before_a = std::fs::read(dir.join("a.dat")).unwrap();
        let r = corrupt(&opts(&dir, Mode::Bitflip, Some(0.001), 7)).unwrap();
        let ra = r.files.iter().find(|f| f.path == "a.dat").unwrap();
        let after_a = std::fs::read(dir.join("a.dat")).unwrap();
        let changed: Vec<u64> = (0..before_a.len())
            .filter(|&i| before_a[i] != after_a[i])
            .map(|i| i as u64)
            .collect();
        assert!(!changed.is_empty(), "p=0.001 over 160,000 bits flips some");
        assert_eq!(changed, ra.offsets);
        assert_eq!(ra.bytes, changed.len() as u64);
        let flipped: u32 = (0..before_a.len())
            .map(|i| (before_a[i] ^ after_a[i]).count_ones())
            .sum();
        assert_eq!(Some(flipped as u64), ra.bits);
        assert_eq!(std::fs::read(dir.join("c.txt")).unwrap(), b"not matched");
    }

    #[test]
    fn bitflip_is_deterministic_for_a_seed() {
        let (_t1, d1) = setup();
        let (_t2, d2) = setup();
        let r1 = corrupt(&opts(&d1, Mode::Bitflip, Some(0.0005), 42)).unwrap();
        let r2 = corrupt(&opts(&d2, Mode::Bitflip, Some(0.0005), 42)).unwrap();
        assert_eq!(r1.files, r2.files);
        let r3 = corrupt(&opts(&d2, Mode::Bitflip, Some(0.0005), 43)).unwrap();
        assert_ne!(r1.files, r3.files);
    }

    #[test]
    fn flip_rate_is_about_p() {
        let mut rng = Rng::seed(1);
        let n = flip_positions(8_000_000, 1e-3, &mut rng).len();
        assert!((7_000..9_000).contains(&n), "{n} flips, expected ~8000");
        assert_eq!(flip_positions(100, 1.0, &mut rng).len(), 100);
        assert!(flip_positions(100, 0.0, &mut rng).is_empty());
    }

    #[test]
    fn truncate_shortens_to_the_reported_size() {
        let (_t, dir) = setup();
        let before = std::fs::read(dir.join("a.dat")).unwrap();
        let r = corrupt(&opts(&dir, Mode::Truncate, None, 3)).unwrap();
        assert_eq!(r.files.len(), 2);
        for f in &r.files {
            let len = std::fs::metadata(dir.join(&f.path)).unwrap().len();
            assert_eq!(f.offsets, vec![len]);
            assert_eq!(f.size_after, len);
            assert_eq!(f.size_before - len, f.bytes);
            assert!(
                (1..=4096).contains(&f.bytes),
                "at most one chunk: {}",
                f.bytes
            );
        }
        let after = std::fs::read(dir.join("a.dat")).unwrap();
        assert_eq!(after[..], before[..after.len()], "a prefix survives");
    }

    #[test]
    fn rollback_restores_snapshot_bytes() {
        let (_t, dir) = setup();
        let snaps = dir.join("../snaps");
        let globs = vec!["**/*.dat".to_string()];
        let s = snapshot(&dir, &globs, Some(&snaps)).unwrap();
        assert_eq!(s.files.len(), 2);
        let old = std::fs::read(dir.join("a.dat")).unwrap();
        // Overwrite the second chunk and grow the file.
        let mut new = old.clone();
        new[5000..6000].fill(0xFF);
        new.extend_from_slice(b"tail");
        std::fs::write(dir.join("a.dat"), &new).unwrap();
        let r = corrupt(&opts(&dir, Mode::Rollback, None, 1)).unwrap();
        let ra = r.files.iter().find(|f| f.path == "a.dat").unwrap();
        assert_eq!(ra.offsets, vec![4096], "only the changed chunk");
        assert_eq!(ra.bytes, 4096);
        let got = std::fs::read(dir.join("a.dat")).unwrap();
        assert_eq!(got[..old.len()], old[..]);
        assert_eq!(&got[old.len()..], b"tail", "bytes beyond the snapshot stay");
        let rb = r.files.iter().find(|f| f.path == "sub/b.dat").unwrap();
        assert!(rb.offsets.is_empty(), "b did not change");
    }

    #[test]
    fn rollback_without_snapshot_names_the_file() {
        let (_t, dir) = setup();
        let e = corrupt(&opts(&dir, Mode::Rollback, None, 1)).unwrap_err();
        assert!(e.message().contains("no snapshot of a.dat"), "{e}");
        assert_eq!(std::fs::read(dir.join("c.txt")).unwrap(), b"not matched");
    }

    #[test]
    fn bad_input_is_an_error() {
        let (_t, dir) = setup();
        let mut o = opts(&dir, Mode::Bitflip, Some(1.5), 1);
        assert!(corrupt(&o).unwrap_err().message().contains("[0, 1]"));
        o.probability = Some(0.5);
        o.files = vec!["*.nothing".into()];
        let e = corrupt(&o).unwrap_err();
        assert!(e.message().contains("*.nothing"), "{e}");
        o.dir = dir.join("missing");
        assert!(corrupt(&o).unwrap_err().message().contains("missing"));
        assert!("flip".parse::<Mode>().is_err());
    }
}
