//! The dirty state of one file: what was written or resized since its last
//! write-back, kept in memory and merged over the backing file on reads.
//!
//! This module knows nothing of FUSE: it works on any [`Backing`] (a
//! `std::fs::File` in the file system, a `Vec<u8>` in the tests), so the
//! semantics that power loss depends on are tested here without a mount.
//!
//! A file's content as the application sees it is:
//! - the backing file's bytes below `floor` (the lowest size the file had
//!   since the last write-back: a truncate hides the backing bytes beyond it,
//!   even if the file grows again later, since those bytes read as zeros),
//! - overlaid with the dirty extents (the bytes written since),
//! - zeros elsewhere, up to the pending `size`.
//!
//! [`FileCache::write_back`] makes the backing file equal to that content;
//! [`FileCache::drop_dirty`] forgets it, so the file is again exactly the
//! backing file, as after a power failure.

use std::collections::BTreeMap;
use std::io;

/// Where a cached file's persisted bytes live.
pub trait Backing {
    /// Reads at `off`; a short count means end of file.
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `off`, extending the file if needed.
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()>;
    /// Sets the file's length (cutting, or extending with zeros).
    fn set_len(&self, len: u64) -> io::Result<()>;
}

impl Backing for std::fs::File {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        // Loop over short reads: only a 0 means end of file.
        let mut done = 0;
        while done < buf.len() {
            match FileExt::read_at(self, &mut buf[done..], off + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self, buf, off)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        std::fs::File::set_len(self, len)
    }
}

/// What [`FileCache::drop_dirty`] threw away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// Dirty bytes held in memory (written since the last write-back).
    pub bytes: u64,
    /// The file's size as the application saw it before the drop.
    pub size_before: u64,
    /// Its size after: the backing file's.
    pub size_after: u64,
}

/// The unsynced state of one file. Created with the backing file's size;
/// clean (no effect on reads) until written or resized.
#[derive(Clone, Debug)]
pub struct FileCache {
    /// The backing file's size: at creation, or after the last write-back.
    base_size: u64,
    /// The lowest size since then (`<= base_size`, `<= size`): backing bytes
    /// at or beyond it are no longer part of the file.
    floor: u64,
    /// The file's size as the application sees it.
    size: u64,
    /// Dirty data by offset: non-overlapping and non-adjacent (adjacent
    /// writes are merged, so sequential appends make one growing extent).
    extents: BTreeMap<u64, Vec<u8>>,
    /// Sum of the extents' lengths.
    bytes: u64,
}

impl FileCache {
    /// The state of a file whose backing file is `backing_size` bytes long.
    pub fn new(backing_size: u64) -> FileCache {
        FileCache {
            base_size: backing_size,
            floor: backing_size,
            size: backing_size,
            extents: BTreeMap::new(),
            bytes: 0,
        }
    }

    /// The file's size as the application sees it.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of dirty data held in memory.
    pub fn dirty_bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether anything (data or size) differs from the backing file.
    pub fn is_dirty(&self) -> bool {
        !self.extents.is_empty() || self.size != self.base_size || self.floor != self.base_size
    }

    /// Records a write of `data` at `off` (the file grows to cover it).
    pub fn write(&mut self, off: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = off.saturating_add(data.len() as u64);
        // The extents that overlap or touch [off, end]: they are merged with
        // the write into one, so the map stays non-overlapping.
        let touching: Vec<u64> = self
            .extents
            .range(..=end)
            .rev()
            .take_while(|(s, v)| *s + v.len() as u64 >= off)
            .map(|(s, _)| *s)
            .collect();
        let mut start = off;
        let mut new_end = end;
        for s in &touching {
            let len = self.extents[s].len() as u64;
            start = start.min(*s);
            new_end = new_end.max(s + len);
        }
        // Reuse the buffer of the extent the write starts in (the append
        // case: extend it in place instead of copying it).
        let mut buf = match touching.last() {
            Some(&s) if s == start => {
                let v = self.extents.remove(&s).unwrap_or_default();
                self.bytes -= v.len() as u64;
                v
            }
            _ => Vec::new(),
        };
        buf.resize((new_end - start) as usize, 0);
        for s in &touching {
            if let Some(v) = self.extents.remove(s) {
                self.bytes -= v.len() as u64;
                let at = (s - start) as usize;
                buf[at..at + v.len()].copy_from_slice(&v);
            }
        }
        let at = (off - start) as usize;
        buf[at..at + data.len()].copy_from_slice(data);
        self.bytes += buf.len() as u64;
        self.extents.insert(start, buf);
        self.size = self.size.max(end);
    }

    /// Records a size change (truncate down or up).
    pub fn set_size(&mut self, new_size: u64) {
        if new_size < self.size {
            // Cut the extents beyond the new end.
            let beyond: Vec<u64> = self.extents.range(new_size..).map(|(s, _)| *s).collect();
            for s in beyond {
                if let Some(v) = self.extents.remove(&s) {
                    self.bytes -= v.len() as u64;
                }
            }
            if let Some((s, v)) = self.extents.range_mut(..new_size).next_back() {
                let keep = (new_size - s) as usize;
                if v.len() > keep {
                    self.bytes -= (v.len() - keep) as u64;
                    v.truncate(keep);
                }
            }
            self.floor = self.floor.min(new_size);
        }
        self.size = new_size;
    }

    /// Reads up to `len` bytes at `off` of the file as the application sees
    /// it (short at end of file).
    pub fn read(&self, backing: &impl Backing, off: u64, len: usize) -> io::Result<Vec<u8>> {
        if off >= self.size {
            return Ok(Vec::new());
        }
        let end = self.size.min(off.saturating_add(len as u64));
        let mut out = vec![0u8; (end - off) as usize];
        // Backing bytes are visible only below the floor; a short read
        // (the backing file is shorter) leaves zeros.
        let visible_end = end.min(self.floor);
        if off < visible_end {
            backing.read_at(&mut out[..(visible_end - off) as usize], off)?;
        }
        for (s, v) in self.extents.range(..end).rev() {
            let e = s + v.len() as u64;
            if e <= off {
                break;
            }
            let from = (*s).max(off);
            let to = e.min(end);
            out[(from - off) as usize..(to - off) as usize]
                .copy_from_slice(&v[(from - s) as usize..(to - s) as usize]);
        }
        Ok(out)
    }

    /// Makes the backing file equal to the file's content (no fsync: the
    /// caller syncs) and returns the dirty bytes written. Afterwards the
    /// state is clean. On error the state is kept, and a retry rewrites it
    /// all (each step is idempotent).
    pub fn write_back(&mut self, backing: &impl Backing) -> io::Result<u64> {
        if !self.is_dirty() {
            return Ok(0);
        }
        // Cut first, so that backing bytes hidden by a truncate become zeros
        // even where the file later grew again.
        let mut len = self.base_size;
        if self.floor < self.base_size {
            backing.set_len(self.floor)?;
            len = self.floor;
        }
        for (s, v) in &self.extents {
            backing.write_at(v, *s)?;
            len = len.max(s + v.len() as u64);
        }
        if len != self.size {
            backing.set_len(self.size)?;
        }
        let written = self.bytes;
        *self = FileCache::new(self.size);
        Ok(written)
    }

    /// Forgets every unsynced write and size change: the file is again its
    /// backing file.
    pub fn drop_dirty(&mut self) -> Dropped {
        let dropped = Dropped {
            bytes: self.bytes,
            size_before: self.size,
            size_after: self.base_size,
        };
        *self = FileCache::new(self.base_size);
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use std::cell::RefCell;

    /// An in-memory backing file.
    #[derive(Default)]
    struct Mem(RefCell<Vec<u8>>);

    impl Backing for Mem {
        fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
            let v = self.0.borrow();
            let off = (off as usize).min(v.len());
            let n = buf.len().min(v.len() - off);
            buf[..n].copy_from_slice(&v[off..off + n]);
            Ok(n)
        }
        fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
            let mut v = self.0.borrow_mut();
            let end = off as usize + buf.len();
            if v.len() < end {
                v.resize(end, 0);
            }
            v[off as usize..end].copy_from_slice(buf);
            Ok(())
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            self.0.borrow_mut().resize(len as usize, 0);
            Ok(())
        }
    }

    fn mem(bytes: &[u8]) -> Mem {
        Mem(RefCell::new(bytes.to_vec()))
    }

    fn all(c: &FileCache, b: &Mem) -> Vec<u8> {
        c.read(b, 0, usize::MAX / 2).unwrap()
    }

    #[test]
    fn write_past_end_leaves_a_hole_of_zeros() {
        let b = mem(b"abc");
        let mut c = FileCache::new(3);
        c.write(6, b"xy");
        assert_eq!(all(&c, &b), b"abc\0\0\0xy");
        assert_eq!(c.size(), 8);
        assert_eq!(c.dirty_bytes(), 2);
        // The backing file is untouched until written back.
        assert_eq!(*b.0.borrow(), b"abc");
        assert_eq!(c.write_back(&b).unwrap(), 2);
        assert_eq!(*b.0.borrow(), b"abc\0\0\0xy");
        assert!(!c.is_dirty());
    }

    #[test]
    fn overlapping_and_adjacent_writes_merge() {
        let b = mem(b"");
        let mut c = FileCache::new(0);
        c.write(0, b"aaaa");
        c.write(4, b"bb"); // adjacent: one extent
        c.write(10, b"cc");
        c.write(3, b"XXXXXXXX"); // covers [3, 11): merges all three
        assert_eq!(c.extents.len(), 1);
        assert_eq!(c.dirty_bytes(), 12);
        assert_eq!(all(&c, &b), b"aaaXXXXXXXXc");
    }

    #[test]
    fn truncate_down_then_up_hides_backing_bytes() {
        let b = mem(b"0123456789");
        let mut c = FileCache::new(10);
        c.set_size(4);
        c.set_size(8);
        // Bytes 4..8 were cut: they read as zeros, not as the backing's.
        assert_eq!(all(&c, &b), b"0123\0\0\0\0");
        c.write_back(&b).unwrap();
        assert_eq!(*b.0.borrow(), b"0123\0\0\0\0");
    }

    #[test]
    fn truncate_cuts_extents() {
        let b = mem(b"");
        let mut c = FileCache::new(0);
        c.write(0, b"hello world");
        c.set_size(5);
        assert_eq!(c.dirty_bytes(), 5);
        assert_eq!(all(&c, &b), b"hello");
        c.set_size(0);
        assert_eq!(c.dirty_bytes(), 0);
        assert!(!c.is_dirty(), "back to the backing file: empty");
    }

    #[test]
    fn drop_reports_and_restores_the_backing_content() {
        let b = mem(b"synced");
        let mut c = FileCache::new(6);
        c.write(6, b" and not");
        c.set_size(10);
        let d = c.drop_dirty();
        assert_eq!(
            d,
            Dropped {
                bytes: 4,
                size_before: 10,
                size_after: 6
            }
        );
        assert_eq!(all(&c, &b), b"synced");
        assert!(!c.is_dirty());
    }

    #[test]
    fn reads_are_clipped_to_size() {
        let b = mem(b"abcdef");
        let mut c = FileCache::new(6);
        c.write(2, b"ZZ");
        assert_eq!(c.read(&b, 1, 3).unwrap(), b"bZZ");
        assert_eq!(c.read(&b, 5, 100).unwrap(), b"f");
        assert_eq!(c.read(&b, 6, 100).unwrap(), b"");
        assert_eq!(c.read(&b, 60, 100).unwrap(), b"");
    }

    /// Random writes, truncates, write-backs and drops against a model of
    /// the file's current content and of its content at the last
    /// write-back: reads always equal the current content, and after a
    /// drop the backing file (and reads) equal the last written-back one.
    #[test]
    fn random_ops_match_the_model() {
        for seed in 0..300u64 {
            let mut rng = Rng::seed(seed);
            let initial: Vec<u8> = (0..rng.below(64)).map(|_| rng.below(256) as u8).collect();
            let b = mem(&initial);
            let mut c = FileCache::new(initial.len() as u64);
            let mut current = initial.clone();
            let mut persisted = initial;
            for step in 0..200 {
                match rng.below(10) {
                    0..=4 => {
                        let off = rng.below(160) as usize;
                        let data: Vec<u8> = (0..1 + rng.below(40))
                            .map(|_| rng.below(256) as u8)
                            .collect();
                        c.write(off as u64, &data);
                        if current.len() < off + data.len() {
                            current.resize(off + data.len(), 0);
                        }
                        current[off..off + data.len()].copy_from_slice(&data);
                    }
                    5 | 6 => {
                        let n = rng.below(180) as usize;
                        c.set_size(n as u64);
                        current.resize(n, 0);
                    }
                    7 => {
                        c.write_back(&b).unwrap();
                        persisted = current.clone();
                        assert_eq!(*b.0.borrow(), persisted, "seed {seed} step {step}");
                    }
                    8 => {
                        let d = c.drop_dirty();
                        assert_eq!(d.size_after, persisted.len() as u64);
                        current = persisted.clone();
                        assert_eq!(*b.0.borrow(), persisted, "seed {seed} step {step}");
                    }
                    _ => {
                        let off = rng.below(200);
                        let len = rng.below(100) as usize;
                        let want: Vec<u8> = current
                            .iter()
                            .skip(off as usize)
                            .take(len)
                            .copied()
                            .collect();
                        assert_eq!(
                            c.read(&b, off, len).unwrap(),
                            want,
                            "seed {seed} step {step}"
                        );
                    }
                }
                assert_eq!(c.size(), current.len() as u64);
                assert_eq!(all(&c, &b), current, "seed {seed} step {step}");
                let held: u64 = c.extents.values().map(|v| v.len() as u64).sum();
                assert_eq!(c.dirty_bytes(), held);
            }
        }
    }
}
