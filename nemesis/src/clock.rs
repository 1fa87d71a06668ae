//! Clock faults: bump, strobe, reset, and measuring each node's offset.
//!
//! Local-cluster nodes share the kernel's clock, so a node's clock is
//! skewed inside its database process: the target starts the database
//! with [`clock_env`], which preloads shakedown's clock shim
//! (`clockshim/shakedown_clock.c`, built into this crate) and names the
//! node's offset file; the nemesis rewrites that file with a relative
//! offset such as `+5.000`. Only processes started with that environment
//! see the skew, and only if they read the clock through libc
//! (`clock_gettime`, `gettimeofday`, `time`); Go programs read the vDSO
//! directly and are not affected. The shim replaces libfaketime, which
//! deadlocks programs whose allocator reads the clock (Redis, jemalloc).
//!
//! On real machines ([`ClockMode::System`]) the nemesis stops NTP and sets
//! the clock with `date -s`; reset sets it back by the recorded offset.

use crate::{Error, Result};
use harness::control::{quote::q, Cmd, Node, Remote};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a node's clock is skewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockMode {
    /// The clock shim's offset file (local clusters: nodes share one
    /// clock). State files of earlier versions call it `faketime`.
    #[serde(alias = "faketime")]
    Shim,
    /// `date -s` with NTP stopped (real machines; changes the whole host).
    System,
}

impl ClockMode {
    /// The shim for local-cluster nodes (they have a network namespace),
    /// the system clock otherwise.
    pub fn for_node(node: &Node) -> ClockMode {
        if node.netns.is_some() {
            ClockMode::Shim
        } else {
            ClockMode::System
        }
    }
}

/// The clock shim, a shared library built by `build.rs`.
pub const SHIM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libshakedown-clock.so"));

/// Where the shim is written: local-cluster nodes share this machine's
/// filesystem, and database users (postgres, redis) must be able to read
/// it, so not under a private temporary directory.
const SHIM_DIR: &str = "/var/lib/shakedown/lib";

/// The shim's path on this machine, writing it there first if needed. The
/// file name carries a hash of its bytes, so a process still running with
/// an older shim keeps its file and a new build never overwrites a library
/// in use.
pub fn shim_path() -> Result<String> {
    let name = format!("libshakedown-clock-{:016x}.so", fnv1a(SHIM));
    let dir = if std::fs::create_dir_all(SHIM_DIR).is_ok() {
        PathBuf::from(SHIM_DIR)
    } else {
        // Not root (unit tests): any directory others can read will do.
        std::env::temp_dir()
    };
    let path = dir.join(name);
    let installed = std::fs::metadata(&path).is_ok_and(|m| m.len() == SHIM.len() as u64);
    if !installed {
        write_readable(&path, SHIM).map_err(|e| {
            Error(format!(
                "cannot write the clock shim {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(path.display().to_string())
}

/// Write via a temporary file and a rename, so no process ever maps half
/// a library; world-readable (the database runs as its own user).
fn write_readable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&tmp, path)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How long after a rewrite of the offset file every process under the
/// shim sees it: the shim rereads the file at most every 10 ms (and a
/// process forked within that time inherits its parent's reading).
pub const SHIM_REREAD: Duration = Duration::from_millis(25);

/// The node's offset file: beside its data directory
/// (`/var/lib/shakedown/NAME/n1.clock`), or `/var/lib/shakedown/clock`
/// for a node without one.
pub fn offset_file(node: &Node) -> String {
    match &node.data_dir {
        Some(d) if !d.trim_end_matches('/').is_empty() => {
            format!("{}.clock", d.trim_end_matches('/'))
        }
        _ => "/var/lib/shakedown/clock".to_string(),
    }
}

/// The environment a target starts its database with on a local-cluster
/// node so the clock nemesis can skew it.
pub fn clock_env(node: &Node) -> Result<Vec<(String, String)>> {
    Ok(vec![
        ("LD_PRELOAD".into(), shim_path()?),
        ("SHAKEDOWN_CLOCK_FILE".into(), offset_file(node)),
    ])
}

/// `+5.000`, `-0.250`: an offset in seconds, as the shim reads it (the
/// relative syntax libfaketime uses too).
pub fn offset_spec(offset_ms: i64) -> String {
    let sign = if offset_ms < 0 { '-' } else { '+' };
    let a = offset_ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

fn root(script: String) -> Cmd {
    Cmd::new(script)
        .sudo("root")
        .timeout(Duration::from_secs(30))
}

/// Set the node's clock offset to `offset_ms` (absolute, relative to true
/// time). `previous_ms` is the offset in place now (System mode moves the
/// clock by the difference).
pub async fn set_offset(
    remote: &Remote,
    mode: ClockMode,
    previous_ms: i64,
    offset_ms: i64,
) -> Result<()> {
    match mode {
        ClockMode::Shim => {
            let f = offset_file(remote.node());
            let script = format!(
                "f={}\nmkdir -p \"$(dirname \"$f\")\" && printf '%s\\n' {} > \"$f.tmp\" && mv -f \"$f.tmp\" \"$f\"\n",
                q(&f),
                q(&offset_spec(offset_ms))
            );
            remote.run_ok(root(script)).await?;
            // Processes see the new offset once their shim rereads the
            // file: the fault has taken effect only after that.
            tokio::time::sleep(SHIM_REREAD).await;
        }
        ClockMode::System => {
            let delta = offset_ms - previous_ms;
            if delta == 0 {
                return Ok(());
            }
            let script = format!(
                "{}now=$(date +%s.%N)\nnew=$(awk -v n=\"$now\" -v d={delta} 'BEGIN {{ printf \"%.6f\", n + d / 1000.0 }}')\ndate -s \"@$new\" >/dev/null\n",
                stop_ntp_script()
            );
            remote.run_ok(root(script)).await?;
        }
    }
    Ok(())
}

/// Stop every NTP daemon we know of so it does not undo the skew.
fn stop_ntp_script() -> &'static str {
    "timedatectl set-ntp false >/dev/null 2>&1 || true\nfor s in ntp ntpsec chrony chronyd systemd-timesyncd openntpd; do systemctl stop \"$s\" >/dev/null 2>&1 || service \"$s\" stop >/dev/null 2>&1 || true; done\n"
}

/// Set the offset file of a local node back to no offset (no state
/// needed): the stateless part of healing clocks.
pub async fn reset_offset_file(remote: &Remote) -> Result<()> {
    let f = offset_file(remote.node());
    remote
        .run_ok(root(format!(
            "f={}\nif [ -e \"$f\" ]; then printf '+0.000\\n' > \"$f.tmp\" && mv -f \"$f.tmp\" \"$f\"; fi\n",
            q(&f)
        )))
        .await?;
    tokio::time::sleep(SHIM_REREAD).await;
    Ok(())
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The node's clock minus the controller's, in ms, as a process on the
/// node sees it (under the shim in [`ClockMode::Shim`]): `date
/// +%s.%N` there, against the midpoint of the round trip here; the best of
/// three round trips on an open connection (error: half the round trip,
/// a few ms on a LAN).
pub async fn measure_offset(remote: &Remote, mode: ClockMode) -> Result<i64> {
    let mut cmd = Cmd::new("date +%s.%N").timeout(Duration::from_secs(10));
    if mode == ClockMode::Shim {
        for (k, v) in clock_env(remote.node())? {
            cmd = cmd.env(k, v);
        }
    }
    remote.connect().await?;
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..3 {
        let t0 = now_secs();
        let out = remote.run_ok(cmd.clone()).await?;
        let t1 = now_secs();
        let theirs: f64 = out.stdout_str().parse().map_err(|_| {
            Error(format!(
                "{}: date printed {:?}",
                remote.name(),
                out.stdout_str()
            ))
        })?;
        let rtt = t1 - t0;
        if best.is_none_or(|(r, _)| rtt < r) {
            best = Some((rtt, theirs - (t0 + t1) / 2.0));
        }
    }
    let (_, off) = best.expect("three samples");
    Ok((off * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_files() {
        assert_eq!(offset_spec(5000), "+5.000");
        assert_eq!(offset_spec(-250), "-0.250");
        assert_eq!(offset_spec(0), "+0.000");
        let mut n = Node::new("n1", "10.0.0.1");
        assert_eq!(offset_file(&n), "/var/lib/shakedown/clock");
        n.data_dir = Some("/var/lib/shakedown/c/n1/".into());
        assert_eq!(offset_file(&n), "/var/lib/shakedown/c/n1.clock");
        assert_eq!(ClockMode::for_node(&n), ClockMode::System);
        n.netns = Some("shk-c-n1".into());
        assert_eq!(ClockMode::for_node(&n), ClockMode::Shim);
        // State files written before the shim replaced libfaketime.
        let old: ClockMode = serde_json::from_str("\"faketime\"").unwrap();
        assert_eq!(old, ClockMode::Shim);
    }

    /// `date` (a C program) started under the shim's environment prints
    /// the clock moved by whatever the offset file says, and follows a
    /// rewrite of the file within the shim's 10 ms re-read interval.
    #[test]
    fn the_shim_skews_a_local_process_and_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = Node::new("n1", "127.0.0.1");
        n.data_dir = Some(dir.path().join("n1").display().to_string());
        let env = clock_env(&n).unwrap();
        let date = |env: &[(String, String)]| {
            let out = std::process::Command::new("date")
                .arg("+%s.%N")
                .envs(env.iter().cloned())
                .output()
                .unwrap();
            let theirs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            theirs - now_secs()
        };
        // No file yet: no offset.
        assert!(date(&env).abs() < 0.5);
        std::fs::write(offset_file(&n), format!("{}\n", offset_spec(-7_500))).unwrap();
        let off = date(&env);
        assert!((off + 7.5).abs() < 0.5, "offset {off}");
        std::fs::write(offset_file(&n), format!("{}\n", offset_spec(86_400_250))).unwrap();
        let off = date(&env);
        assert!((off - 86_400.25).abs() < 0.5, "offset {off}");
        // Garbage in the file means no offset, not a crash.
        std::fs::write(offset_file(&n), "soon\n").unwrap();
        assert!(date(&env).abs() < 0.5);
    }

    /// The monotonic clock is not moved: a database's timeouts keep
    /// working while its wall clock jumps.
    #[test]
    fn the_shim_leaves_monotonic_clocks_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = Node::new("n1", "127.0.0.1");
        n.data_dir = Some(dir.path().join("n1").display().to_string());
        std::fs::write(offset_file(&n), "+1000.000\n").unwrap();
        // /proc/uptime is not a clock call; `cat` of it is unaffected
        // anyway, so compare the monotonic clock through python's libc.
        let script = "import time; print(time.clock_gettime(time.CLOCK_MONOTONIC), time.clock_gettime(time.CLOCK_REALTIME))";
        let run = |env: &[(String, String)]| -> (f64, f64) {
            let out = std::process::Command::new("/usr/bin/python3")
                .args(["-c", script])
                .envs(env.iter().cloned())
                .output()
                .unwrap();
            let s = String::from_utf8_lossy(&out.stdout).to_string();
            let v: Vec<f64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (v[0], v[1])
        };
        let (mono_plain, real_plain) = run(&[]);
        let (mono_shim, real_shim) = run(&clock_env(&n).unwrap());
        assert!(
            (mono_shim - mono_plain).abs() < 5.0,
            "{mono_plain} {mono_shim}"
        );
        assert!(
            (real_shim - real_plain - 1000.0).abs() < 5.0,
            "{real_plain} {real_shim}"
        );
    }
}
