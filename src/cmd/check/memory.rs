//! The backstop behind `--memory-limit`: a thread that reads the process's
//! resident memory from `/proc/self/status` every few milliseconds and, if
//! it comes near the limit, ends the check with `unknown` (exit 2) and the
//! reason, before the kernel (a cgroup limit, the OOM killer) kills it with
//! no verdict at all. The checkers estimate what a history needs and stop
//! earlier on their own; this guard is there for when an estimate is off
//! (a history of a shape the estimates were not measured on).

use std::sync::Mutex;
use std::time::Duration;

/// How often resident memory is read. A read of the status file takes microseconds;
/// allocating and touching memory runs at a few GB/s at most, so in 5 ms
/// the process grows by some tens of MB, well inside the margin below.
const POLL: Duration = Duration::from_millis(5);

/// The guard fires at this fraction of the limit (15/16: 64 MB below a
/// limit of 1 GB), so that growth between two polls stays within it.
fn threshold(limit: usize) -> usize {
    limit - limit / 16
}

/// Resident memory of this process in bytes, if /proc says: `VmRSS` of
/// /proc/self/status is in kB, so no page size is needed.
pub fn rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}

/// What the guard does when it fires (given the resident bytes seen): it
/// ends the process, printing the verdict for the file being checked (and
/// the results of the files before it) itself; if it returns instead (the
/// check is over), the guard stops watching.
pub type OnOver = Box<dyn Fn(usize) + Send>;

static STARTED: Mutex<bool> = Mutex::new(false);

/// Starts the guard for `limit` bytes (once per process).
pub fn start(limit: usize, on_over: OnOver) {
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if *started || rss_bytes().is_none() {
        // Not Linux (no /proc): the checkers' own estimates still apply.
        return;
    }
    *started = true;
    let at = threshold(limit);
    let spawned = std::thread::Builder::new()
        .name("memory-guard".into())
        .spawn(move || loop {
            if let Some(rss) = rss_bytes() {
                if rss >= at {
                    on_over(rss);
                    return;
                }
            }
            std::thread::sleep(POLL);
        });
    if spawned.is_err() {
        eprintln!("warning: cannot start the --memory-limit guard thread; only the checkers' estimates apply");
    }
}

/// `1.5 GB`, `512 MB`: sizes in reasons, in binary units as the flag reads
/// them (`4G` is 4 GiB).
pub fn human_bytes(b: usize) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    let f = b as f64;
    if f >= GIB {
        format!("{:.1} GB", f / GIB)
    } else if b >= 1 << 20 {
        format!("{:.0} MB", f / (1u64 << 20) as f64)
    } else if b >= 1 << 10 {
        format!("{:.0} KB", f / 1024.0)
    } else {
        format!("{b} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_and_plausible() {
        let rss = rss_bytes().expect("Linux has /proc/self/statm");
        // A test binary holds at least a MB and (here) far less than a TB.
        assert!(rss > 1 << 20 && rss < 1 << 40, "{rss}");
    }

    #[test]
    fn sizes_read_as_the_flag_writes_them() {
        assert_eq!(human_bytes(2 << 30), "2.0 GB");
        assert_eq!(human_bytes(512 << 20), "512 MB");
        assert_eq!(human_bytes(512 << 10), "512 KB");
        assert_eq!(human_bytes(100), "100 bytes");
        assert_eq!(threshold(1 << 30), (1 << 30) - (64 << 20));
    }
}
