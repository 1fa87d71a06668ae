//! Clock faults: bump, strobe, reset, and measuring each node's offset.
//!
//! Local-cluster nodes share the kernel's clock, so their clocks are skewed
//! with libfaketime: the target starts the database with
//! [`faketime_env`] (`LD_PRELOAD` of libfaketime, a timestamp file, no
//! caching, monotonic clocks left alone) and the nemesis rewrites the
//! node's timestamp file with a relative offset such as `+5.000`. Only
//! processes started with that environment see the skew, and only if they
//! read the clock through libc (`clock_gettime`, `gettimeofday`, `time`);
//! Go programs read the vDSO directly and are not affected.
//!
//! On real machines ([`ClockMode::System`]) the nemesis stops NTP and sets
//! the clock with `date -s`; reset sets it back by the recorded offset.

use crate::{Error, Result};
use harness::control::{quote::q, Cmd, Node, Remote};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a node's clock is skewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockMode {
    /// libfaketime timestamp file (local clusters: nodes share one clock).
    Faketime,
    /// `date -s` with NTP stopped (real machines; changes the whole host).
    System,
}

impl ClockMode {
    /// Faketime for local-cluster nodes (they have a network namespace),
    /// the system clock otherwise.
    pub fn for_node(node: &Node) -> ClockMode {
        if node.netns.is_some() {
            ClockMode::Faketime
        } else {
            ClockMode::System
        }
    }
}

/// Where Debian's `libfaketime` package puts the library, per architecture.
const LIB_GLOBS: [&str; 3] = ["/usr/lib", "/usr/lib64", "/usr/local/lib"];

/// The path of `libfaketime.so.1` on this machine (the local cluster's
/// nodes share its filesystem). Debian: package `libfaketime` (pulled in by
/// `faketime`), `/usr/lib/<triplet>/faketime/libfaketime.so.1`.
pub fn faketime_lib() -> Option<String> {
    for base in LIB_GLOBS {
        let direct = Path::new(base).join("faketime/libfaketime.so.1");
        if direct.exists() {
            return Some(direct.display().to_string());
        }
        if let Ok(d) = std::fs::read_dir(base) {
            for e in d.flatten() {
                let p = e.path().join("faketime/libfaketime.so.1");
                if p.exists() {
                    return Some(p.display().to_string());
                }
            }
        }
    }
    None
}

/// The node's faketime timestamp file: beside its data directory
/// (`/var/lib/shakedown/NAME/n1.faketime`), or
/// `/var/lib/shakedown/faketime` for a node without one.
pub fn faketime_file(node: &Node) -> String {
    match &node.data_dir {
        Some(d) if !d.trim_end_matches('/').is_empty() => {
            format!("{}.faketime", d.trim_end_matches('/'))
        }
        _ => "/var/lib/shakedown/faketime".to_string(),
    }
}

/// The environment a target starts its database with on a local-cluster
/// node so the clock nemesis can skew it. Empty when libfaketime is not
/// installed (then clock faults on local nodes fail with a clear error).
pub fn faketime_env(node: &Node) -> Vec<(String, String)> {
    let Some(lib) = faketime_lib() else {
        return Vec::new();
    };
    vec![
        ("LD_PRELOAD".into(), lib),
        ("FAKETIME_TIMESTAMP_FILE".into(), faketime_file(node)),
        ("FAKETIME_NO_CACHE".into(), "1".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
    ]
}

/// `+5.000`, `-0.250`: an offset in libfaketime's relative syntax (seconds).
pub fn faketime_spec(offset_ms: i64) -> String {
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
        ClockMode::Faketime => {
            if faketime_lib().is_none() {
                return Err(Error(
                    "libfaketime is not installed (Debian: apt-get install faketime)".into(),
                ));
            }
            let f = faketime_file(remote.node());
            let script = format!(
                "f={}\nmkdir -p \"$(dirname \"$f\")\" && printf '%s\\n' {} > \"$f.tmp\" && mv -f \"$f.tmp\" \"$f\"\n",
                q(&f),
                q(&faketime_spec(offset_ms))
            );
            remote.run_ok(root(script)).await?;
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

/// Remove the faketime file of every local node (no state needed): the
/// stateless part of healing clocks.
pub async fn reset_faketime_file(remote: &Remote) -> Result<()> {
    let f = faketime_file(remote.node());
    remote
        .run_ok(root(format!(
            "f={}\nif [ -e \"$f\" ]; then printf '+0.000\\n' > \"$f.tmp\" && mv -f \"$f.tmp\" \"$f\"; fi\n",
            q(&f)
        )))
        .await?;
    Ok(())
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The node's clock minus the controller's, in ms, as a process on the
/// node sees it (under faketime in [`ClockMode::Faketime`]): `date
/// +%s.%N` there, against the midpoint of the round trip here; the best of
/// three round trips on an open connection (error: half the round trip,
/// a few ms on a LAN).
pub async fn measure_offset(remote: &Remote, mode: ClockMode) -> Result<i64> {
    let mut cmd = Cmd::new("date +%s.%N").timeout(Duration::from_secs(10));
    if mode == ClockMode::Faketime {
        for (k, v) in faketime_env(remote.node()) {
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
        assert_eq!(faketime_spec(5000), "+5.000");
        assert_eq!(faketime_spec(-250), "-0.250");
        assert_eq!(faketime_spec(0), "+0.000");
        let mut n = Node::new("n1", "10.0.0.1");
        assert_eq!(faketime_file(&n), "/var/lib/shakedown/faketime");
        n.data_dir = Some("/var/lib/shakedown/c/n1/".into());
        assert_eq!(faketime_file(&n), "/var/lib/shakedown/c/n1.faketime");
        assert_eq!(ClockMode::for_node(&n), ClockMode::System);
        n.netns = Some("shk-c-n1".into());
        assert_eq!(ClockMode::for_node(&n), ClockMode::Faketime);
    }

    /// libfaketime reads the file we write: a process under the env sees
    /// the offset (skipped without libfaketime).
    #[test]
    fn faketime_file_skews_a_local_process() {
        let Some(_) = faketime_lib() else {
            eprintln!("SKIPPED: libfaketime not installed");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut n = Node::new("n1", "127.0.0.1");
        n.data_dir = Some(dir.path().join("n1").display().to_string());
        std::fs::write(faketime_file(&n), format!("{}\n", faketime_spec(-7_500))).unwrap();
        let out = std::process::Command::new("date")
            .arg("+%s.%N")
            .envs(faketime_env(&n))
            .output()
            .unwrap();
        let theirs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let off = theirs - now_secs();
        assert!((off + 7.5).abs() < 0.5, "offset {off}");
    }
}
