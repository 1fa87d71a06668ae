//! What diskfs costs a database: writes through the mount against the same
//! writes straight to the backing directory (on disk under /var/tmp).
//! 4 KiB writes each followed by fsync (a WAL commit), plain 4 KiB writes
//! (kept in diskfs's memory until fsync), and 1 MiB sequential writes.
//! divan reports time per write and MB/s (bytes counter).
//!
//! The daemon runs in this process (`diskfs::serve` on a thread) and is
//! unmounted at the end. Needs root and /dev/fuse; elsewhere it says so
//! and exits.
//!
//! `cargo bench -p diskfs --bench overhead`

use divan::counter::BytesCount;
use divan::Bencher;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SMALL: usize = 4096;
const LARGE: usize = 1 << 20;
/// Writes wrap around within this much of the file, so the dirty cache of
/// the unsynced benches stays bounded (overwrites merge into one extent).
const SPAN: u64 = 64 << 20;

struct Setup {
    _dir: tempfile::TempDir,
    backing: PathBuf,
    mount: PathBuf,
    control: PathBuf,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

fn setup() -> &'static Setup {
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir_in("/var/tmp").expect("a temp dir in /var/tmp");
        let backing = dir.path().join("backing");
        let mount = dir.path().join("mnt");
        let control = dir.path().join("ctl.sock");
        std::fs::create_dir(&backing).unwrap();
        std::fs::create_dir(&mount).unwrap();
        let opts = diskfs::ServeOptions {
            backing: backing.clone(),
            mountpoint: mount.clone(),
            control: control.clone(),
            cache_limit: diskfs::DEFAULT_CACHE_LIMIT,
        };
        std::thread::spawn(move || {
            if let Err(e) = diskfs::serve(opts) {
                eprintln!("diskfs bench: {e}");
                std::process::exit(1);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while diskfs::request(&control, "stats").is_err() {
            assert!(Instant::now() < deadline, "diskfs did not answer in 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Setup {
            _dir: dir,
            backing,
            mount,
            control,
        }
    })
}

fn main() {
    if unsafe { libc::geteuid() } != 0 || !Path::new("/dev/fuse").exists() {
        eprintln!("skipped: the diskfs benchmark mounts FUSE (needs root and /dev/fuse)");
        return;
    }
    divan::main();
    if let Some(s) = SETUP.get() {
        if let Err(e) = diskfs::request(&s.control, "unmount") {
            eprintln!("diskfs bench: unmount: {e}");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while s.control.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A fresh file in the mount or in the backing directory.
fn open(place: &str, name: &str) -> File {
    let s = setup();
    let dir = if place == "mount" {
        &s.mount
    } else {
        &s.backing
    };
    OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(dir.join(format!("{name}-{place}")))
        .unwrap()
}

/// Writes `size` bytes at a rolling offset, optionally fsyncing each.
fn writes(bencher: Bencher, place: &str, name: &str, size: usize, fsync: bool) {
    let f = open(place, name);
    let buf = vec![0x5Au8; size];
    let mut off = 0u64;
    bencher.counter(BytesCount::new(size)).bench_local(|| {
        f.write_all_at(&buf, off).unwrap();
        if fsync {
            f.sync_data().unwrap();
        }
        off = (off + size as u64) % SPAN;
    });
}

#[divan::bench(args = ["mount", "direct"], sample_count = 20, sample_size = 50)]
fn write_4k_fsync(bencher: Bencher, place: &str) {
    writes(bencher, place, "wal", SMALL, true);
}

#[divan::bench(args = ["mount", "direct"], sample_count = 20, sample_size = 500)]
fn write_4k(bencher: Bencher, place: &str) {
    writes(bencher, place, "small", SMALL, false);
}

#[divan::bench(args = ["mount", "direct"], sample_count = 20, sample_size = 10)]
fn write_1m_sequential(bencher: Bencher, place: &str) {
    writes(bencher, place, "large", LARGE, false);
}

/// Reading back 1 MiB of data written (and not synced) through the mount.
#[divan::bench(args = ["mount", "direct"], sample_count = 20, sample_size = 10)]
fn read_1m(bencher: Bencher, place: &str) {
    let f = open(place, "read");
    let data = vec![0xA5u8; 8 * LARGE];
    f.write_all_at(&data, 0).unwrap();
    let mut buf = vec![0u8; LARGE];
    let mut off = 0u64;
    bencher.counter(BytesCount::new(LARGE)).bench_local(|| {
        f.read_exact_at(&mut buf, off).unwrap();
        off = (off + LARGE as u64) % data.len() as u64;
    });
}
