//! The live progress line: elapsed, ops/s, ok / fail / info, active faults.
//! Redrawn in place on a terminal; a plain log line every few seconds
//! otherwise (CI logs, `shakedown.log`).

use super::recorder::{Counts, Recorder};
use std::io::{IsTerminal, Write};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Progress {
    /// A redrawn line on a terminal, log lines every 10 s otherwise.
    #[default]
    Auto,
    /// Log lines at this interval, terminal or not.
    Lines(Duration),
    Off,
}

pub(crate) async fn run(
    mode: Progress,
    rec: Recorder,
    phase: tokio::sync::watch::Receiver<&'static str>,
) {
    let tty = std::io::stderr().is_terminal();
    let (interval, redraw) = match mode {
        Progress::Off => return,
        Progress::Auto if tty => (Duration::from_millis(250), true),
        Progress::Auto => (Duration::from_secs(10), false),
        Progress::Lines(d) => (d, false),
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut last = (rec.elapsed(), Counts::default());
    loop {
        ticker.tick().await;
        let now = (rec.elapsed(), rec.counts());
        let dt = (now.0 - last.0).as_secs_f64().max(1e-9);
        let rate = (now.1.completed() - last.1.completed()) as f64 / dt;
        let mut line = format_line(*phase.borrow(), now.0, rate, &now.1, &rec.faults());
        let online = rec.online();
        if !online.is_empty() {
            line.push_str("  ");
            line.push_str(&online);
        }
        let mut err = std::io::stderr().lock();
        if redraw {
            let _ = write!(err, "\r\x1b[K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
        last = now;
    }
}

/// Clears a redrawn line (called when the run ends).
pub(crate) fn finish(mode: Progress) {
    if mode == Progress::Auto && std::io::stderr().is_terminal() {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
}

pub fn format_line(phase: &str, elapsed: Duration, rate: f64, c: &Counts, faults: &str) -> String {
    let secs = elapsed.as_secs();
    let faults = if faults.is_empty() { "none" } else { faults };
    format!(
        "[{:02}:{:02}] {phase:<8} {rate:>9.0} ops/s  ok {}  fail {}  info {}  faults: {faults}",
        secs / 60,
        secs % 60,
        c.ok,
        c.fail,
        c.info
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_time_rate_counts_and_faults() {
        let c = Counts {
            invoke: 10,
            ok: 7,
            fail: 2,
            info: 1,
            nemesis: 3,
        };
        let line = format_line(
            "main",
            Duration::from_secs(75),
            1234.4,
            &c,
            "partition n1|n2",
        );
        assert_eq!(
            line,
            "[01:15] main          1234 ops/s  ok 7  fail 2  info 1  faults: partition n1|n2"
        );
        assert!(format_line("heal", Duration::ZERO, 0.0, &c, "").ends_with("faults: none"));
    }
}
