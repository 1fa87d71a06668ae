//! `shakedown run --replay RUN_DIR [TEST]`: run a test again exactly as a
//! stored run ran it (see `runner::replay`). Only where it runs may
//! change: a flag that would change the run itself is refused here.

use super::exit;
use super::run::Args;
use std::path::Path;
use std::process::ExitCode;

/// `shakedown run --replay RUN_DIR [TEST] [cluster options]`.
pub fn run(args: Args, run_dir: &Path) -> ExitCode {
    let plan = match plan(&args, run_dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let report = runtime.block_on(runner::run::run_test_with(
        &plan.test,
        &plan.text,
        args.results.as_deref(),
        plan.seed,
        Some((plan.steps, plan.run_dir)),
    ));
    super::run::print_report(&plan.test, &report);
    ExitCode::from(report.code)
}

/// Reads and checks everything the replay needs, touching no node.
pub fn plan(args: &Args, run_dir: &Path) -> Result<runner::replay::Plan, String> {
    let refused: Vec<&str> = [
        ("--time-limit", args.time_limit.is_some()),
        ("--concurrency", args.concurrency.is_some()),
        ("--rate", args.rate.is_some()),
        ("--nemesis", args.nemesis.is_some()),
        ("--seed", args.seed.is_some()),
        ("--test-count", args.test_count != 1),
        ("--stop-on-invalid", args.stop_on_invalid),
    ]
    .into_iter()
    .filter(|(_, given)| *given)
    .map(|(flag, _)| flag)
    .collect();
    if !refused.is_empty() {
        return Err(format!(
            "--replay runs the test as it was run: {} would change it (only where it runs may change: --cluster, --subnet, --nodes-file, --nodes, --results, --leave-db-running)",
            refused.join(", ")
        ));
    }
    runner::replay::plan(args.test.as_deref(), &args.placement(), run_dir)
}
