//! Real mounts: each test starts the daemon in a process of its own (this
//! test binary re-run as `daemon_entry`, which calls `diskfs::serve`), works
//! through the mount as a database would, and checks the effect both
//! through the mount and in the backing directory. They need root and
//! /dev/fuse; elsewhere they print why they skip and pass.

use serde_json::Value;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVE_ENV: &str = "DISKFS_TEST_SERVE";

/// Not a test: the daemon's entry point when re-run with `SERVE_ENV` set
/// (backing, mount, control and cache limit, one a line).
#[test]
fn daemon_entry() {
    let Ok(spec) = std::env::var(SERVE_ENV) else {
        return;
    };
    let f: Vec<&str> = spec.lines().collect();
    let opts = diskfs::ServeOptions {
        backing: f[0].into(),
        mountpoint: f[1].into(),
        control: f[2].into(),
        cache_limit: f[3].parse().unwrap(),
    };
    if let Err(e) = diskfs::serve(opts) {
        eprintln!("daemon: {e}");
        std::process::exit(3);
    }
}

fn skip() -> bool {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting FUSE needs root");
        return true;
    }
    if !Path::new("/dev/fuse").exists() {
        eprintln!("skipped: no /dev/fuse");
        return true;
    }
    let fusermount = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("fusermount3").is_file()));
    if !fusermount {
        eprintln!("skipped: no fusermount3 (apt-get install fuse3)");
        return true;
    }
    false
}

struct Daemon {
    child: Child,
    _dir: tempfile::TempDir,
    backing: PathBuf,
    mount: PathBuf,
    control: PathBuf,
}

impl Daemon {
    fn start(cache_limit: u64) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        // Traversable by everyone: one test writes as `nobody`.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let backing = dir.path().join("backing");
        let mount = dir.path().join("mnt");
        let control = dir.path().join("ctl.sock");
        fs::create_dir(&backing).unwrap();
        fs::create_dir(&mount).unwrap();
        fs::set_permissions(&backing, fs::Permissions::from_mode(0o755)).unwrap();
        let spec = format!(
            "{}\n{}\n{}\n{cache_limit}",
            backing.display(),
            mount.display(),
            control.display()
        );
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["daemon_entry", "--exact", "--nocapture", "--test-threads=1"])
            .env(SERVE_ENV, spec)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child,
            _dir: dir,
            backing,
            mount,
            control,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if diskfs::request(&d.control, "stats").is_ok() {
                return d;
            }
            if let Ok(Some(status)) = d.child.try_wait() {
                let mut err = String::new();
                d.child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("daemon exited ({status}) before answering: {err}");
            }
            assert!(Instant::now() < deadline, "daemon did not answer in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ctl(&self, cmd: &str) -> Value {
        diskfs::request(&self.control, cmd).unwrap()
    }

    fn m(&self, rel: &str) -> PathBuf {
        self.mount.join(rel)
    }

    fn b(&self, rel: &str) -> PathBuf {
        self.backing.join(rel)
    }

    /// Waits for the daemon to exit; its exit code.
    fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "daemon did not exit in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if mounted(&self.mount) {
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        }
    }
}

fn mounted(mount: &Path) -> bool {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    let m = mount.display().to_string();
    mounts
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(m.as_str()))
}

fn write_file(path: &Path, data: &[u8], sync: bool) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
    if sync {
        f.sync_all().unwrap();
    }
}

#[test]
fn drop_loses_exactly_the_unsynced_writes() {
    if skip() {
        return;
    }
    let d = Daemon::start(diskfs::DEFAULT_CACHE_LIMIT);
    write_file(&d.m("a"), b"synced-A", true);
    write_file(&d.m("b"), b"unsynced-B", false);
    write_file(&d.m("a"), b"+more", false);
    // Before the drop the mount shows everything; the backing only A's
    // synced part.
    assert_eq!(fs::read(d.m("a")).unwrap(), b"synced-A+more");
    assert_eq!(fs::read(d.m("b")).unwrap(), b"unsynced-B");
    assert_eq!(fs::metadata(d.m("a")).unwrap().len(), 13);
    assert_eq!(fs::read(d.b("a")).unwrap(), b"synced-A");
    let s = d.ctl("stats");
    assert_eq!(
        (s["dirty_files"].as_u64(), s["dirty_bytes"].as_u64()),
        (Some(2), Some(15))
    );
    assert_eq!(s["mount"], d.mount.display().to_string());

    // A descriptor open across the drop must see the dropped state too
    // (the kernel's cached pages and size are invalidated).
    let mut held = File::open(d.m("a")).unwrap();
    let mut buf = Vec::new();
    held.read_to_end(&mut buf).unwrap();
    assert_eq!(buf, b"synced-A+more");

    let r = d.ctl("drop");
    assert_eq!(r["bytes"], 15);
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{r}");
    assert_eq!(files[0]["path"], "a");
    assert_eq!(files[0]["bytes"], 5);
    assert_eq!(files[0]["size_before"], 13);
    assert_eq!(files[0]["size_after"], 8);
    assert_eq!(files[1]["path"], "b");
    assert_eq!(files[1]["bytes"], 10);
    assert_eq!(files[1]["size_after"], 0);

    // Names are not dropped: B exists, empty.
    for p in [d.m("a"), d.b("a")] {
        assert_eq!(fs::read(&p).unwrap(), b"synced-A", "{}", p.display());
    }
    for p in [d.m("b"), d.b("b")] {
        assert_eq!(fs::read(&p).unwrap(), b"", "{}", p.display());
    }
    assert_eq!(fs::metadata(d.m("a")).unwrap().len(), 8);
    let mut buf = vec![0u8; 64];
    let n = std::os::unix::fs::FileExt::read_at(&held, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"synced-A");
    assert_eq!(d.ctl("stats")["dirty_files"], 0);
}

#[test]
fn size_changes_are_unsynced_too() {
    if skip() {
        return;
    }
    let d = Daemon::start(diskfs::DEFAULT_CACHE_LIMIT);
    let data: Vec<u8> = (0..100u8).collect();
    write_file(&d.m("t"), &data, true);
    // Truncate down, grow again with a hole, write past the end.
    let f = OpenOptions::new().write(true).open(d.m("t")).unwrap();
    f.set_len(10).unwrap();
    f.set_len(50).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"zz", 200).unwrap();
    let now = fs::read(d.m("t")).unwrap();
    assert_eq!(now.len(), 202);
    assert_eq!(&now[..10], &data[..10]);
    assert!(
        now[10..200].iter().all(|&b| b == 0),
        "cut bytes read as zeros"
    );
    assert_eq!(fs::read(d.b("t")).unwrap(), data, "backing untouched");
    // O_TRUNC is a size change like any other.
    write_file(&d.m("o"), b"kept", true);
    File::create(d.m("o")).unwrap();
    assert_eq!(fs::read(d.m("o")).unwrap(), b"");
    d.ctl("drop");
    assert_eq!(fs::read(d.m("t")).unwrap(), data);
    assert_eq!(fs::read(d.b("t")).unwrap(), data);
    assert_eq!(fs::read(d.m("o")).unwrap(), b"kept");
}

#[test]
fn rename_of_a_dirty_file_keeps_its_data() {
    if skip() {
        return;
    }
    let d = Daemon::start(diskfs::DEFAULT_CACHE_LIMIT);
    fs::create_dir(d.m("dir")).unwrap();
    // The write-temp-then-rename pattern, fsync after the rename.
    write_file(&d.m("dir/f.tmp"), b"payload", false);
    fs::rename(d.m("dir/f.tmp"), d.m("dir/f")).unwrap();
    File::open(d.m("dir/f")).unwrap().sync_all().unwrap();
    assert_eq!(fs::read(d.b("dir/f")).unwrap(), b"payload");
    // A dirty file renamed and not synced: the drop names its new path,
    // the name stays, the data goes.
    write_file(&d.m("g.tmp"), b"lost", false);
    fs::rename(d.m("g.tmp"), d.m("g")).unwrap();
    let r = d.ctl("drop");
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{r}");
    assert_eq!(files[0]["path"], "g");
    assert_eq!(fs::read(d.m("dir/f")).unwrap(), b"payload");
    assert_eq!(fs::read(d.m("g")).unwrap(), b"");
    assert!(!d.b("g.tmp").exists());
    // A hard link keeps the inode (and its dirty data) when the name it
    // was written through goes: the drop names the surviving link.
    write_file(&d.m("x"), b"linked", false);
    fs::hard_link(d.m("x"), d.m("y")).unwrap();
    assert_eq!(fs::read(d.m("y")).unwrap(), b"linked");
    fs::remove_file(d.m("x")).unwrap();
    let r = d.ctl("drop");
    assert_eq!(r["files"][0]["path"], "y", "{r}");
    assert_eq!(r["files"][0]["bytes"], 6);
    // Unlinking a dirty file discards its dirty data with it.
    write_file(&d.m("h"), b"gone", false);
    fs::remove_file(d.m("h")).unwrap();
    assert_eq!(d.ctl("stats")["dirty_files"], 0);
}

#[test]
fn files_belong_to_the_user_who_made_them() {
    if skip() {
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: no setpriv");
        return;
    }
    let d = Daemon::start(diskfs::DEFAULT_CACHE_LIMIT);
    fs::create_dir(d.m("shared")).unwrap();
    fs::set_permissions(d.m("shared"), fs::Permissions::from_mode(0o777)).unwrap();
    let script = format!(
        "umask 027 && echo x > {0}/f && mkdir {0}/d && ln -s f {0}/l",
        d.m("shared").display()
    );
    let st = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
        ])
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success());
    for name in ["f", "d", "l"] {
        let m = fs::symlink_metadata(d.b("shared").join(name)).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534), "{name}");
    }
    let mode = |p: PathBuf| fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(d.b("shared/f")), 0o640, "the user's umask applies");
    assert_eq!(mode(d.b("shared/d")), 0o750);
    // default_permissions: nobody may not write root's 0644 file.
    write_file(&d.m("shared/root"), b"r", true);
    let st = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
        ])
        .arg(format!("echo y >> {}", d.m("shared/root").display()))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!st.success());
}

#[test]
fn read_only_mmap_sees_the_current_content() {
    if skip() {
        return;
    }
    let d = Daemon::start(diskfs::DEFAULT_CACHE_LIMIT);
    let data = vec![7u8; 3 * 4096 + 10];
    write_file(&d.m("db"), &data, false);
    let f = File::open(d.m("db")).unwrap();
    let len = data.len();
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            std::os::fd::AsRawFd::as_raw_fd(&f),
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    let mapped = unsafe { std::slice::from_raw_parts(p as *const u8, len) };
    assert_eq!(mapped, &data[..]);
    unsafe { libc::munmap(p, len) };
}

#[test]
fn over_the_cache_limit_the_oldest_data_is_written_back() {
    if skip() {
        return;
    }
    let d = Daemon::start(64 * 1024);
    let old = vec![1u8; 100 * 1024];
    write_file(&d.m("old"), &old, false);
    write_file(&d.m("new"), b"recent", false);
    let s = d.ctl("stats");
    assert!(s["dirty_bytes"].as_u64().unwrap() <= 64 * 1024, "{s}");
    // Written back (not fsync'ed, not dropped): the drop cannot undo it.
    assert_eq!(fs::read(d.b("old")).unwrap(), old);
    d.ctl("drop");
    assert_eq!(fs::read(d.m("old")).unwrap(), old);
    assert_eq!(fs::read(d.m("new")).unwrap(), b"");
}

#[test]
fn unmount_command_flushes_and_unmounts() {
    if skip() {
        return;
    }
    let mut d = Daemon::start(diskfs::DEFAULT_CACHE_LIMIT);
    write_file(&d.m("w"), b"at unmount", false);
    let r = d.ctl("unmount");
    assert_eq!(
        (r["files"].as_u64(), r["bytes"].as_u64()),
        (Some(1), Some(10))
    );
    assert_eq!(d.wait(), 0);
    assert!(!mounted(&d.mount), "still in /proc/self/mounts");
    assert!(!d.control.exists(), "socket left behind");
    assert_eq!(fs::read(d.b("w")).unwrap(), b"at unmount");
}

#[test]
fn sigterm_flushes_and_unmounts() {
    if skip() {
        return;
    }
    let mut d = Daemon::start(diskfs::DEFAULT_CACHE_LIMIT);
    write_file(&d.m("w"), b"at sigterm", false);
    unsafe { libc::kill(d.child.id() as i32, libc::SIGTERM) };
    assert_eq!(d.wait(), 0);
    assert!(!mounted(&d.mount));
    assert!(!d.control.exists());
    assert_eq!(fs::read(d.b("w")).unwrap(), b"at sigterm");
}

#[test]
fn bad_options_are_refused_with_the_path() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = |b: &Path, m: &Path| diskfs::ServeOptions {
        backing: b.into(),
        mountpoint: m.into(),
        control: dir.path().join("c.sock"),
        cache_limit: 1 << 20,
    };
    let missing = dir.path().join("missing");
    let e = diskfs::serve(opts(&missing, dir.path())).unwrap_err();
    assert!(
        e.message().contains("backing directory") && e.message().contains("missing"),
        "{e}"
    );
    let full = dir.path().join("full");
    fs::create_dir(&full).unwrap();
    fs::write(full.join("x"), b"").unwrap();
    let back = dir.path().join("back");
    fs::create_dir(&back).unwrap();
    let e = diskfs::serve(opts(&back, &full)).unwrap_err();
    assert!(
        e.message().contains("not empty") && e.message().contains("full"),
        "{e}"
    );
    let e = diskfs::request(&dir.path().join("none.sock"), "stats").unwrap_err();
    assert!(e.message().contains("none.sock"), "{e}");
}
