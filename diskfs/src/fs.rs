//! The FUSE file system: a passthrough over the backing directory whose
//! regular files keep their written data and size changes in a
//! [`FileCache`] until fsync (see the crate doc for what is and is not
//! dropped).
//!
//! Inodes. Each inode the kernel knows holds an `O_PATH` descriptor of its
//! backing file, opened at lookup; every operation goes through it (the
//! `*at` calls, or `/proc/self/fd/N` for the calls that take no
//! descriptor), so a rename never loses track of a file and its dirty
//! data. The FUSE inode number is the backing inode number (swapped with 1
//! for the root, which FUSE numbers 1), so hard links are one inode and
//! share their dirty state, and `stat` and `readdir` agree. That needs one
//! backing file system: an entry on another device (a mount point inside
//! the backing directory) is refused with EXDEV.
//!
//! Locking. The inode table is an `RwLock`; each inode's data a `Mutex`.
//! The table lock is taken before an inode's, never while holding one, and
//! the dirty index (oldest first, for write-back under memory pressure) is
//! taken last, briefly.

use crate::cache::{Dropped, FileCache};
use fuser::{
    FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    Notifier, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow,
    WriteFlags,
};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel may cache attributes and names. Short: after a drop
/// the kernel is told to forget what it cached, but a short TTL also bounds
/// staleness for anything that notification misses.
const TTL: Duration = Duration::from_secs(1);

/// The state shared by the FUSE threads and the control socket.
pub(crate) struct Shared {
    /// The backing directory, canonical (paths in reports are relative to it).
    backing: PathBuf,
    /// Its device: every inode must be on it (see the module doc).
    dev: u64,
    /// Its inode number, swapped with 1 in FUSE inode numbers.
    root_ino: u64,
    inodes: RwLock<HashMap<u64, Arc<Inode>>>,
    /// Dirty files by the sequence number of when they became dirty: the
    /// oldest is written back first under memory pressure.
    dirty: Mutex<BTreeMap<u64, u64>>,
    seq: AtomicU64,
    /// Dirty bytes held in memory, over every file.
    dirty_bytes: AtomicU64,
    cache_limit: u64,
    /// Open directories: a listing taken at opendir, served by index.
    dirs: Mutex<HashMap<u64, Vec<DirEntry>>>,
    next_fh: AtomicU64,
    /// Set once mounted; used to make the kernel forget dropped state.
    pub(crate) notifier: OnceLock<Notifier>,
}

struct Inode {
    nodeid: u64,
    /// `O_PATH` descriptor of the backing file.
    path_fd: OwnedFd,
    /// Kernel references (lookups not yet forgotten). Changed only under the
    /// table's write lock.
    lookups: AtomicU64,
    data: Mutex<Data>,
}

#[derive(Default)]
struct Data {
    /// The backing file opened for I/O (read-write, or read-only when the
    /// backing refuses writing), opened at first use.
    file: Option<File>,
    /// Unsynced state: `Some` exactly while the file is dirty.
    cache: Option<FileCache>,
    /// When it became dirty (key in `Shared::dirty`).
    seq: u64,
    /// The mtime of the last unsynced change, shown by stat while dirty.
    mtime: Option<SystemTime>,
    /// Open file handles.
    opens: u32,
}

struct DirEntry {
    ino: u64,
    kind: FileType,
    name: OsString,
}

/// The changes of one setattr request that diskfs applies.
struct SetAttr {
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    atime: Option<TimeOrNow>,
    mtime: Option<TimeOrNow>,
}

/// One file in a drop report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DroppedFile {
    /// Relative to the mount point.
    pub path: String,
    pub bytes: u64,
    pub size_before: u64,
    pub size_after: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one request must not wedge every later one: the data is
    // still consistent at every await-free step, so take it anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cname(name: &OsStr) -> Result<CString, fuser::Errno> {
    CString::new(name.as_bytes()).map_err(|_| fuser::Errno::EINVAL)
}

/// The path that reopens a descriptor (also an `O_PATH` one).
fn proc_path(fd: RawFd) -> CString {
    CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL in a number")
}

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

fn fstatat(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

fn open_path(dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    let fd = cvt(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn kind_of(mode: libc::mode_t) -> FileType {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => FileType::Directory,
        libc::S_IFLNK => FileType::Symlink,
        libc::S_IFIFO => FileType::NamedPipe,
        libc::S_IFSOCK => FileType::Socket,
        libc::S_IFCHR => FileType::CharDevice,
        libc::S_IFBLK => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH - Duration::new(secs.unsigned_abs(), 0) + Duration::from_nanos(nsecs as u64)
    }
}

fn timespec(t: Option<TimeOrNow>) -> libc::timespec {
    match t {
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        Some(TimeOrNow::Now) => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        Some(TimeOrNow::SpecificTime(t)) => {
            let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
            libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            }
        }
    }
}

impl Shared {
    /// Opens the backing directory (kept open: the mount may hide it).
    pub(crate) fn new(backing: &Path, cache_limit: u64) -> io::Result<Shared> {
        let backing = backing.canonicalize()?;
        let c = CString::new(backing.as_os_str().as_bytes())
            .map_err(|_| io::Error::other("NUL in the backing path"))?;
        let fd = open_path(libc::AT_FDCWD, &c)?;
        let st = fstat(fd.as_raw_fd())?;
        let root = Inode {
            nodeid: 1,
            path_fd: fd,
            // The kernel never forgets the root.
            lookups: AtomicU64::new(1 << 62),
            data: Mutex::new(Data::default()),
        };
        Ok(Shared {
            backing,
            dev: st.st_dev,
            root_ino: st.st_ino,
            inodes: RwLock::new(HashMap::from([(1, Arc::new(root))])),
            dirty: Mutex::new(BTreeMap::new()),
            seq: AtomicU64::new(1),
            dirty_bytes: AtomicU64::new(0),
            cache_limit,
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            notifier: OnceLock::new(),
        })
    }

    /// FUSE inode number of a backing inode number (an involution).
    fn nodeid(&self, backing_ino: u64) -> u64 {
        if backing_ino == self.root_ino {
            1
        } else if backing_ino == 1 {
            self.root_ino
        } else {
            backing_ino
        }
    }

    fn inode(&self, ino: INodeNo) -> Result<Arc<Inode>, fuser::Errno> {
        let t = self.inodes.read().unwrap_or_else(|e| e.into_inner());
        t.get(&ino.0).cloned().ok_or(fuser::Errno::ESTALE)
    }

    // ---- dirty state ----

    /// Opens the inode's backing file for I/O if not yet open.
    fn file<'a>(inode: &Inode, slot: &'a mut Option<File>) -> io::Result<&'a File> {
        if slot.is_none() {
            let p = proc_path(inode.path_fd.as_raw_fd());
            let mut fd = unsafe { libc::open(p.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
            if fd < 0 {
                // An immutable file or a read-only backing: reads still work.
                fd = cvt(unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
            }
            *slot = Some(unsafe { File::from_raw_fd(fd) });
        }
        Ok(slot.as_ref().expect("just opened"))
    }

    /// Applies `f` to the inode's cache (created from the backing file's
    /// size if the file was clean), keeping the global accounting and the
    /// dirty index right.
    fn mutate(
        &self,
        inode: &Inode,
        d: &mut Data,
        f: impl FnOnce(&mut FileCache),
    ) -> io::Result<()> {
        let mut c = match d.cache.take() {
            Some(c) => c,
            None => {
                let len = Self::file(inode, &mut d.file)?.metadata()?.len();
                FileCache::new(len)
            }
        };
        let was_dirty = c.is_dirty();
        let before = c.dirty_bytes();
        f(&mut c);
        let after = c.dirty_bytes();
        if after >= before {
            self.dirty_bytes
                .fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.dirty_bytes
                .fetch_sub(before - after, Ordering::Relaxed);
        }
        match (was_dirty, c.is_dirty()) {
            (false, true) => {
                d.seq = self.seq.fetch_add(1, Ordering::Relaxed);
                lock(&self.dirty).insert(d.seq, inode.nodeid);
                d.cache = Some(c);
                d.mtime = Some(SystemTime::now());
            }
            (true, true) => {
                d.cache = Some(c);
                d.mtime = Some(SystemTime::now());
            }
            // Back to the backing file's content (say, truncated to the
            // size it has): clean again.
            (true, false) => {
                lock(&self.dirty).remove(&d.seq);
                d.mtime = None;
            }
            (false, false) => {}
        }
        Ok(())
    }

    /// Forgets the inode's cache after it was written back or dropped.
    fn forget_cache(&self, d: &mut Data) -> Option<FileCache> {
        let c = d.cache.take()?;
        self.dirty_bytes
            .fetch_sub(c.dirty_bytes(), Ordering::Relaxed);
        lock(&self.dirty).remove(&d.seq);
        d.mtime = None;
        Some(c)
    }

    /// Writes the inode's dirty state to the backing file (no fsync).
    fn write_back(&self, inode: &Inode, d: &mut Data) -> io::Result<u64> {
        let Some(c) = d.cache.as_mut() else {
            return Ok(0);
        };
        let file = Self::file(inode, &mut d.file)?;
        let written = c.write_back(file)?;
        // Clean now: only the accounting is left.
        let c = d.cache.take().expect("checked above");
        self.dirty_bytes.fetch_sub(written, Ordering::Relaxed);
        debug_assert_eq!(c.dirty_bytes(), 0);
        lock(&self.dirty).remove(&d.seq);
        d.mtime = None;
        Ok(written)
    }

    /// Over the memory cap: writes back the oldest dirty files (without
    /// fsync, as the kernel's writeback would) until under it again.
    fn relieve_pressure(&self) {
        while self.dirty_bytes.load(Ordering::Relaxed) > self.cache_limit {
            let Some((seq, nodeid)) = lock(&self.dirty).pop_first() else {
                return;
            };
            let Ok(inode) = self.inode(INodeNo(nodeid)) else {
                continue;
            };
            let mut d = lock(&inode.data);
            if d.cache.is_none() || d.seq != seq {
                continue;
            }
            if let Err(e) = self.write_back(&inode, &mut d) {
                tracing::warn!(
                    nodeid,
                    "diskfs: write-back under memory pressure failed: {e}"
                );
                lock(&self.dirty).insert(seq, nodeid);
                return;
            }
        }
    }

    /// A dirty inode whose last name was removed loses its dirty data at
    /// the last close (it is gone after a power failure either way).
    fn after_unlink(&self, nodeid: u64) {
        let Ok(inode) = self.inode(INodeNo(nodeid)) else {
            return;
        };
        let mut d = lock(&inode.data);
        let unlinked = fstat(inode.path_fd.as_raw_fd()).is_ok_and(|st| st.st_nlink == 0);
        if unlinked && d.opens == 0 {
            self.forget_cache(&mut d);
            d.file = None;
        }
    }

    /// Drops an inode the kernel forgot once it is clean.
    fn collect(&self, nodeid: u64) {
        let mut t = self.inodes.write().unwrap_or_else(|e| e.into_inner());
        if let Some(inode) = t.get(&nodeid) {
            // Table before inode: the one lock order used everywhere.
            let clean = lock(&inode.data).cache.is_none();
            if inode.lookups.load(Ordering::Relaxed) == 0 && clean {
                t.remove(&nodeid);
            }
        }
    }

    /// The inode's path relative to the mount (from its descriptor, so
    /// current after renames); `None` once unlinked.
    fn rel_path(&self, inode: &Inode) -> Option<String> {
        let st = fstat(inode.path_fd.as_raw_fd()).ok()?;
        if st.st_nlink == 0 {
            return None;
        }
        let link =
            std::fs::read_link(format!("/proc/self/fd/{}", inode.path_fd.as_raw_fd())).ok()?;
        // The name the descriptor was opened by is gone but another hard
        // link lives on: find it (a walk, but only in this rare case).
        if link.to_string_lossy().ends_with(" (deleted)") {
            return self
                .find_by_ino(st.st_ino)
                .map(|p| p.to_string_lossy().into_owned());
        }
        let rel = link.strip_prefix(&self.backing).unwrap_or(&link);
        Some(rel.to_string_lossy().into_owned())
    }

    /// A path, relative to the backing directory, of the file with backing
    /// inode number `ino`.
    fn find_by_ino(&self, ino: u64) -> Option<PathBuf> {
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(self.backing.join(&rel)) else {
                continue;
            };
            for e in entries.flatten() {
                let path = rel.join(e.file_name());
                if e.ino() == ino {
                    return Some(path);
                }
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(path);
                }
            }
        }
        None
    }

    fn dirty_inodes(&self) -> Vec<u64> {
        lock(&self.dirty).values().copied().collect()
    }

    // ---- control-socket operations ----

    /// (dirty files, dirty bytes).
    pub(crate) fn stats(&self) -> (usize, u64) {
        (
            lock(&self.dirty).len(),
            self.dirty_bytes.load(Ordering::Relaxed),
        )
    }

    /// Writes back and fsyncs every dirty file: (files, bytes). Every file
    /// is tried; the first error is returned after.
    pub(crate) fn flush_all(&self) -> io::Result<(usize, u64)> {
        let (mut files, mut bytes) = (0, 0);
        let mut first_err = None;
        for nodeid in self.dirty_inodes() {
            let Ok(inode) = self.inode(INodeNo(nodeid)) else {
                continue;
            };
            let mut d = lock(&inode.data);
            if d.cache.is_none() {
                continue;
            }
            let res = self.write_back(&inode, &mut d).and_then(|n| {
                Self::file(&inode, &mut d.file)?.sync_all()?;
                Ok(n)
            });
            drop(d);
            match res {
                Ok(n) => {
                    files += 1;
                    bytes += n;
                }
                Err(e) => {
                    let path = self.rel_path(&inode).unwrap_or_default();
                    first_err.get_or_insert(io::Error::new(e.kind(), format!("{path}: {e}")));
                }
            }
            self.collect(nodeid);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok((files, bytes)),
        }
    }

    /// Forgets every unsynced write and size change, as a power failure
    /// would, and makes the kernel forget its cached pages and attributes
    /// of those files. Reports the files still linked.
    pub(crate) fn drop_all(&self) -> Vec<DroppedFile> {
        let mut report = Vec::new();
        for nodeid in self.dirty_inodes() {
            let Ok(inode) = self.inode(INodeNo(nodeid)) else {
                continue;
            };
            let mut d = lock(&inode.data);
            let Some(mut c) = self.forget_cache(&mut d) else {
                continue;
            };
            let Dropped {
                bytes,
                size_before,
                size_after,
            } = c.drop_dirty();
            let path = self.rel_path(&inode);
            // Unlock before notifying: the kernel may wait on a read of
            // this file that needs the lock to finish.
            drop(d);
            if let Some(n) = self.notifier.get() {
                if let Err(e) = n.inval_inode(INodeNo(nodeid), 0, 0) {
                    tracing::warn!(nodeid, "diskfs: invalidating the kernel's cache: {e}");
                }
            }
            if let Some(path) = path {
                report.push(DroppedFile {
                    path,
                    bytes,
                    size_before,
                    size_after,
                });
            }
            self.collect(nodeid);
        }
        report.sort_by(|a, b| a.path.cmp(&b.path));
        report
    }
}

/// The [`Filesystem`] given to fuser; the state is shared with the control
/// socket.
pub(crate) struct DiskFs(pub(crate) Arc<Shared>);

impl DiskFs {
    /// Finds (or adds) the inode of `name` in `parent`, counting a kernel
    /// reference, and returns its attributes.
    fn lookup_entry(&self, parent: INodeNo, name: &CStr) -> Result<FileAttr, fuser::Errno> {
        let s = &*self.0;
        let parent = s.inode(parent)?;
        let fd = open_path(parent.path_fd.as_raw_fd(), name)?;
        let st = fstat(fd.as_raw_fd())?;
        if st.st_dev != s.dev {
            return Err(fuser::Errno::EXDEV);
        }
        let nodeid = s.nodeid(st.st_ino);
        let inode = {
            let mut t = s.inodes.write().unwrap_or_else(|e| e.into_inner());
            let inode = t.entry(nodeid).or_insert_with(|| {
                Arc::new(Inode {
                    nodeid,
                    path_fd: fd,
                    lookups: AtomicU64::new(0),
                    data: Mutex::new(Data::default()),
                })
            });
            inode.lookups.fetch_add(1, Ordering::Relaxed);
            inode.clone()
        };
        Ok(self.attr(&inode, &st))
    }

    fn attr(&self, inode: &Inode, st: &libc::stat) -> FileAttr {
        let d = lock(&inode.data);
        let (size, mtime) = match &d.cache {
            Some(c) => (c.size(), d.mtime),
            None => (st.st_size as u64, None),
        };
        let mtime = mtime.unwrap_or_else(|| time(st.st_mtime, st.st_mtime_nsec));
        FileAttr {
            ino: INodeNo(inode.nodeid),
            size,
            blocks: (st.st_blocks as u64).max(size.div_ceil(512)),
            atime: time(st.st_atime, st.st_atime_nsec),
            mtime,
            ctime: time(st.st_ctime, st.st_ctime_nsec),
            crtime: UNIX_EPOCH,
            kind: kind_of(st.st_mode),
            perm: (st.st_mode & 0o7777) as u16,
            nlink: st.st_nlink as u32,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev as u32,
            blksize: st.st_blksize as u32,
            flags: 0,
        }
    }

    fn getattr_of(&self, ino: INodeNo) -> Result<FileAttr, fuser::Errno> {
        let inode = self.0.inode(ino)?;
        let st = fstat(inode.path_fd.as_raw_fd())?;
        Ok(self.attr(&inode, &st))
    }

    /// Gives a file just created as root to the user who asked: uid, and
    /// gid unless the directory is setgid (the backing kept its group).
    fn chown_new(&self, req: &Request, parent: &Inode, name: &CStr, mode: u32) -> io::Result<()> {
        let pst = fstat(parent.path_fd.as_raw_fd())?;
        let gid = if pst.st_mode & libc::S_ISGID != 0 {
            u32::MAX // -1: unchanged
        } else {
            req.gid()
        };
        cvt(unsafe {
            libc::fchownat(
                parent.path_fd.as_raw_fd(),
                name.as_ptr(),
                req.uid(),
                gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        // chown clears set-id bits of a regular file, even as root: restore.
        if mode & (libc::S_ISUID | libc::S_ISGID) != 0 && mode & libc::S_IFMT != libc::S_IFDIR {
            cvt(unsafe {
                libc::fchmodat(parent.path_fd.as_raw_fd(), name.as_ptr(), mode & 0o7777, 0)
            })?;
        }
        Ok(())
    }

    fn do_setattr(&self, ino: INodeNo, a: SetAttr) -> Result<FileAttr, fuser::Errno> {
        let SetAttr {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
        } = a;
        let s = &*self.0;
        let inode = s.inode(ino)?;
        let fd = inode.path_fd.as_raw_fd();
        let st = fstat(fd)?;
        let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        if let Some(mode) = mode {
            if !is_link {
                let p = proc_path(fd);
                cvt(unsafe { libc::chmod(p.as_ptr(), mode & 0o7777) })?;
            }
        }
        if uid.is_some() || gid.is_some() {
            let empty = c"";
            cvt(unsafe {
                libc::fchownat(
                    fd,
                    empty.as_ptr(),
                    uid.unwrap_or(u32::MAX),
                    gid.unwrap_or(u32::MAX),
                    libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
                )
            })?;
        }
        if let Some(size) = size {
            match st.st_mode & libc::S_IFMT {
                libc::S_IFREG => {}
                libc::S_IFDIR => return Err(fuser::Errno::EISDIR),
                _ => return Err(fuser::Errno::EINVAL),
            }
            let mut d = lock(&inode.data);
            s.mutate(&inode, &mut d, |c| c.set_size(size))?;
        }
        if (atime.is_some() || mtime.is_some()) && !is_link {
            let times = [timespec(atime), timespec(mtime)];
            let p = proc_path(fd);
            cvt(unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), times.as_ptr(), 0) })?;
            if mtime.is_some() {
                // An explicit mtime wins over the one of unsynced changes.
                lock(&inode.data).mtime = None;
            }
        }
        self.getattr_of(ino)
    }

    fn do_read(&self, ino: INodeNo, off: u64, size: u32) -> Result<Vec<u8>, fuser::Errno> {
        let inode = self.0.inode(ino)?;
        let mut d = lock(&inode.data);
        let d = &mut *d;
        let file = Shared::file(&inode, &mut d.file)?;
        match &d.cache {
            Some(c) => Ok(c.read(file, off, size as usize)?),
            None => {
                let mut buf = vec![0u8; size as usize];
                let n = crate::cache::Backing::read_at(file, &mut buf, off)?;
                buf.truncate(n);
                Ok(buf)
            }
        }
    }

    fn do_write(&self, ino: INodeNo, off: u64, data: &[u8]) -> Result<u32, fuser::Errno> {
        let s = &*self.0;
        let inode = s.inode(ino)?;
        {
            let mut d = lock(&inode.data);
            s.mutate(&inode, &mut d, |c| c.write(off, data))?;
        }
        s.relieve_pressure();
        Ok(data.len() as u32)
    }

    fn do_fsync(&self, ino: INodeNo, datasync: bool) -> Result<(), fuser::Errno> {
        let s = &*self.0;
        let inode = s.inode(ino)?;
        let mut d = lock(&inode.data);
        s.write_back(&inode, &mut d)?;
        let file = Shared::file(&inode, &mut d.file)?;
        if datasync {
            file.sync_data()?;
        } else {
            file.sync_all()?;
        }
        Ok(())
    }

    fn do_create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
    ) -> Result<FileAttr, fuser::Errno> {
        let s = &*self.0;
        let name = cname(name)?;
        let p = s.inode(parent)?;
        let pfd = p.path_fd.as_raw_fd();
        let perm = mode & !umask & 0o7777;
        // Create exclusively first, so we know whether to chown; the open
        // is only for creation (I/O goes through the inode's own file).
        let fd = unsafe {
            libc::openat(
                pfd,
                name.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                perm,
            )
        };
        let created = if fd >= 0 {
            unsafe { libc::close(fd) };
            true
        } else {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) || flags & libc::O_EXCL != 0 {
                return Err(e.into());
            }
            false
        };
        if created {
            if let Err(e) = self.chown_new(req, &p, &name, perm) {
                unsafe { libc::unlinkat(pfd, name.as_ptr(), 0) };
                return Err(e.into());
            }
        }
        let attr = self.lookup_entry(parent, &name)?;
        let inode = s.inode(attr.ino)?;
        let mut d = lock(&inode.data);
        d.opens += 1;
        if !created && flags & libc::O_TRUNC != 0 {
            s.mutate(&inode, &mut d, |c| c.set_size(0))?;
        }
        drop(d);
        self.getattr_of(attr.ino)
    }

    fn do_unlink(&self, parent: INodeNo, name: &OsStr, flags: i32) -> Result<(), fuser::Errno> {
        let s = &*self.0;
        let name = cname(name)?;
        let p = s.inode(parent)?;
        let st = fstatat(p.path_fd.as_raw_fd(), &name)?;
        cvt(unsafe { libc::unlinkat(p.path_fd.as_raw_fd(), name.as_ptr(), flags) })?;
        s.after_unlink(s.nodeid(st.st_ino));
        Ok(())
    }

    fn do_rename(
        &self,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
    ) -> Result<(), fuser::Errno> {
        let s = &*self.0;
        let (name, newname) = (cname(name)?, cname(newname)?);
        let (p, np) = (s.inode(parent)?, s.inode(newparent)?);
        // The file a rename replaces loses its name like an unlinked one.
        let replaced = if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            None
        } else {
            fstatat(np.path_fd.as_raw_fd(), &newname).ok()
        };
        cvt(unsafe {
            libc::renameat2(
                p.path_fd.as_raw_fd(),
                name.as_ptr(),
                np.path_fd.as_raw_fd(),
                newname.as_ptr(),
                flags.bits(),
            )
        })?;
        if let Some(st) = replaced {
            s.after_unlink(s.nodeid(st.st_ino));
        }
        Ok(())
    }

    fn do_opendir(&self, ino: INodeNo) -> Result<u64, fuser::Errno> {
        let s = &*self.0;
        let inode = s.inode(ino)?;
        let fd = inode.path_fd.as_raw_fd();
        let parent = if ino.0 == 1 {
            1
        } else {
            fstatat(fd, c"..")
                .map(|st| s.nodeid(st.st_ino))
                .unwrap_or(1)
        };
        let mut entries = vec![
            DirEntry {
                ino: ino.0,
                kind: FileType::Directory,
                name: ".".into(),
            },
            DirEntry {
                ino: parent,
                kind: FileType::Directory,
                name: "..".into(),
            },
        ];
        for e in std::fs::read_dir(format!("/proc/self/fd/{fd}"))? {
            let e = e?;
            let kind = e
                .file_type()
                .ok()
                .and_then(FileType::from_std)
                .unwrap_or(FileType::RegularFile);
            entries.push(DirEntry {
                ino: s.nodeid(e.ino()),
                kind,
                name: e.file_name(),
            });
        }
        let fh = s.next_fh.fetch_add(1, Ordering::Relaxed);
        lock(&s.dirs).insert(fh, entries);
        Ok(fh)
    }

    fn do_mknod_like(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        make: impl FnOnce(RawFd, &CStr) -> libc::c_int,
    ) -> Result<FileAttr, fuser::Errno> {
        let s = &*self.0;
        let name = cname(name)?;
        let p = s.inode(parent)?;
        cvt(make(p.path_fd.as_raw_fd(), &name))?;
        if let Err(e) = self.chown_new(req, &p, &name, mode) {
            let dir = if mode & libc::S_IFMT == libc::S_IFDIR {
                libc::AT_REMOVEDIR
            } else {
                0
            };
            unsafe { libc::unlinkat(p.path_fd.as_raw_fd(), name.as_ptr(), dir) };
            return Err(e.into());
        }
        self.lookup_entry(parent, &name)
    }
}

impl Filesystem for DiskFs {
    fn destroy(&mut self) {
        // The kernel is done with the mount: nothing unsynced may be lost by
        // a clean unmount.
        if let Err(e) = self.0.flush_all() {
            tracing::error!("diskfs: flushing at unmount: {e}");
        }
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match cname(name).and_then(|n| self.lookup_entry(parent, &n)) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if ino.0 == 1 {
            return;
        }
        {
            let t = self.0.inodes.write().unwrap_or_else(|e| e.into_inner());
            if let Some(inode) = t.get(&ino.0) {
                let n = inode.lookups.load(Ordering::Relaxed);
                inode
                    .lookups
                    .store(n.saturating_sub(nlookup), Ordering::Relaxed);
            }
        }
        // A dirty inode stays until written back or dropped: its data must
        // survive the kernel forgetting it.
        self.0.collect(ino.0);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.getattr_of(ino) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let a = SetAttr {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
        };
        match self.do_setattr(ino, a) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let res = self.0.inode(ino).and_then(|inode| {
            let mut buf = vec![0u8; libc::PATH_MAX as usize];
            let n = unsafe {
                libc::readlinkat(
                    inode.path_fd.as_raw_fd(),
                    c"".as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error().into());
            }
            buf.truncate(n as usize);
            Ok(buf)
        });
        match res {
            Ok(target) => reply.data(&target),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let mode = mode & !(umask & 0o7777);
        let res = self.do_mknod_like(req, parent, name, mode, |dir, n| unsafe {
            libc::mknodat(dir, n.as_ptr(), mode, rdev as libc::dev_t)
        });
        match res {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let perm = mode & !umask & 0o7777;
        let res = self.do_mknod_like(req, parent, name, perm | libc::S_IFDIR, |dir, n| unsafe {
            libc::mkdirat(dir, n.as_ptr(), perm)
        });
        match res {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.do_unlink(parent, name, 0) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.do_unlink(parent, name, libc::AT_REMOVEDIR) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let res = cname(target.as_os_str()).and_then(|t| {
            self.do_mknod_like(req, parent, link_name, libc::S_IFLNK, |dir, n| unsafe {
                libc::symlinkat(t.as_ptr(), dir, n.as_ptr())
            })
        });
        match res {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        match self.do_rename(parent, name, newparent, newname, flags) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let res = (|| {
            let s = &*self.0;
            let inode = s.inode(ino)?;
            let np = s.inode(newparent)?;
            let newname = cname(newname)?;
            let p = proc_path(inode.path_fd.as_raw_fd());
            cvt(unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    p.as_ptr(),
                    np.path_fd.as_raw_fd(),
                    newname.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            })?;
            self.lookup_entry(newparent, &newname)
        })();
        match res {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let res = (|| {
            let s = &*self.0;
            let inode = s.inode(ino)?;
            let mut d = lock(&inode.data);
            Shared::file(&inode, &mut d.file)?;
            // Only with atomic O_TRUNC does the kernel pass it here (else it
            // sends a setattr): either way the cut is unsynced.
            if flags.0 & libc::O_TRUNC != 0 {
                s.mutate(&inode, &mut d, |c| c.set_size(0))?;
            }
            d.opens += 1;
            Ok::<_, fuser::Errno>(())
        })();
        match res {
            // No FOPEN_KEEP_CACHE: the kernel drops its cached pages at each
            // open, one more guard against stale data after a drop.
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.do_read(ino, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        // The kernel passes the offset, also for O_APPEND (its i_size).
        match self.do_write(ino, offset, data) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close() does not persist anything: only fsync does.
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let s = &*self.0;
        if let Ok(inode) = s.inode(ino) {
            let mut d = lock(&inode.data);
            d.opens = d.opens.saturating_sub(1);
            if d.opens == 0 {
                let unlinked = fstat(inode.path_fd.as_raw_fd()).is_ok_and(|st| st.st_nlink == 0);
                if unlinked {
                    s.forget_cache(&mut d);
                }
                if d.cache.is_none() {
                    // Keep descriptors few: reopened at next use.
                    d.file = None;
                }
            }
        }
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.do_fsync(ino, datasync) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.do_opendir(ino) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let dirs = lock(&self.0.dirs);
        let Some(entries) = dirs.get(&fh.0) else {
            return reply.error(fuser::Errno::EBADF);
        };
        for (i, e) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(e.ino), (i + 1) as u64, e.kind, &e.name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        lock(&self.0.dirs).remove(&fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let res = self.0.inode(ino).and_then(|inode| {
            let dir = File::open(format!("/proc/self/fd/{}", inode.path_fd.as_raw_fd()))?;
            if datasync {
                dir.sync_data()?;
            } else {
                dir.sync_all()?;
            }
            Ok(())
        });
        match res {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, _req: &Request, ino: INodeNo, reply: ReplyStatfs) {
        let res = self.0.inode(ino).and_then(|inode| {
            let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
            cvt(unsafe { libc::fstatvfs(inode.path_fd.as_raw_fd(), &mut st) })?;
            Ok(st)
        });
        match res {
            Ok(st) => reply.statfs(
                st.f_blocks,
                st.f_bfree,
                st.f_bavail,
                st.f_files,
                st.f_ffree,
                st.f_bsize as u32,
                st.f_namemax as u32,
                st.f_frsize as u32,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self.do_create(req, parent, name, mode, umask, flags) {
            Ok(attr) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(0),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }

    // Extended attributes are not passed through. Answering ENOSYS (without
    // fuser's log line) makes the kernel stop asking: it then answers
    // EOPNOTSUPP itself, also for `security.capability` at every write.
    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        reply.error(fuser::Errno::ENOSYS);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, _size: u32, reply: ReplyXattr) {
        reply.error(fuser::Errno::ENOSYS);
    }

    fn setxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _value: &[u8],
        _flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        reply.error(fuser::Errno::ENOSYS);
    }

    fn removexattr(&self, _req: &Request, _ino: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(fuser::Errno::ENOSYS);
    }

    /// No ioctls (isatty() on a file asks for TCGETS): not a terminal.
    fn ioctl(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: fuser::IoctlFlags,
        _cmd: u32,
        _in_data: &[u8],
        _out_size: u32,
        reply: fuser::ReplyIoctl,
    ) {
        reply.error(fuser::Errno::ENOTTY);
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let res = (|| {
            let s = &*self.0;
            let inode = s.inode(ino)?;
            let end = offset.checked_add(length).ok_or(fuser::Errno::EFBIG)?;
            let mut d = lock(&inode.data);
            let d = &mut *d;
            match mode {
                // Reserve the space in the backing file without changing its
                // size; the size change itself is unsynced like a write.
                0 => {
                    let file = Shared::file(&inode, &mut d.file)?;
                    let r = unsafe {
                        libc::fallocate(
                            file.as_raw_fd(),
                            libc::FALLOC_FL_KEEP_SIZE,
                            offset as libc::off_t,
                            length as libc::off_t,
                        )
                    };
                    if r < 0 {
                        let e = io::Error::last_os_error();
                        if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                            return Err(e.into());
                        }
                    }
                    let size = d.cache.as_ref().map(|c| c.size());
                    let size = match size {
                        Some(n) => n,
                        None => file.metadata()?.len(),
                    };
                    if end > size {
                        s.mutate(&inode, d, |c| c.set_size(end))?;
                    }
                    Ok(())
                }
                libc::FALLOC_FL_KEEP_SIZE => {
                    let file = Shared::file(&inode, &mut d.file)?;
                    cvt(unsafe {
                        libc::fallocate(
                            file.as_raw_fd(),
                            mode,
                            offset as libc::off_t,
                            length as libc::off_t,
                        )
                    })?;
                    Ok(())
                }
                // Punching holes and zeroing ranges change data: not modelled.
                _ => Err(fuser::Errno::EOPNOTSUPP),
            }
        })();
        match res {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }
}
