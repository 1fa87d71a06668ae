//! How long writing the report takes for big histories:
//! `cargo bench -p results --bench report`.
//!
//! (How fast the page opens in a browser is measured with headless
//! Chromium; see results/README.md.)

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::OnceLock;

fn main() {
    divan::main();
}

struct Run {
    history: history::History,
    summary: results::RunSummary,
}

fn run(ops: usize) -> &'static Run {
    static SMALL: OnceLock<Run> = OnceLock::new();
    static BIG: OnceLock<Run> = OnceLock::new();
    let cell = if ops <= 100_000 { &SMALL } else { &BIG };
    cell.get_or_init(|| {
        let history = common::timed_history(ops, 3, 10, 100);
        let lin = common::lin_check(&history);
        let info = results::RunInfo {
            test: "bench".into(),
            ..Default::default()
        };
        let summary = results::RunSummary::new(&info, &history, vec![lin]);
        Run { history, summary }
    })
}

/// Statistics, faults and the summary (what results.json holds).
#[divan::bench(args = [100_000, 1_000_000], sample_count = 5, sample_size = 1)]
fn summary(bencher: divan::Bencher, ops: usize) {
    let r = run(ops);
    let checkers = r.summary.checkers.clone();
    bencher.bench(|| results::RunSummary::new(&r.summary.info(), &r.history, checkers.clone()));
}

/// The whole report.html (columnar data, JSON, HTML).
#[divan::bench(args = [100_000, 1_000_000], sample_count = 5, sample_size = 1)]
fn report_html(bencher: divan::Bencher, ops: usize) {
    let r = run(ops);
    bencher.bench(|| results::report::render(&r.summary, &r.history).len());
}
