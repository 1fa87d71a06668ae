//! `shakedown heal [--cluster NAME | --nodes-file F | --state S]`: undo
//! every fault shakedown left active, also after a controller crash. On
//! every node it removes shakedown's iptables/nftables chains and netem
//! qdisc and resets clock offset files whether or not the state file lists
//! them; from the state file it also resumes paused processes, resets
//! system clocks and restarts killed processes. Idempotent: safe to run at
//! any time. The cluster is always named: `heal` without options is an
//! error, never a default cluster.

use super::exit;
use super::fault::On;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    on: On,
}

pub fn run(args: Args) -> ExitCode {
    match heal(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn heal(args: Args) -> Result<(), String> {
    let (nodes, file) = args.on.resolve()?;
    let _lock = args.on.lock(nodes.as_ref())?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let effects = rt
        .block_on(nemesis::heal(nodes.as_ref(), &file))
        .map_err(|e| e.0)?;
    for e in &effects {
        crate::outln!("{} {}", e.f, e.value);
    }
    crate::outln!(
        "healed: {}",
        if effects.is_empty() {
            "nothing was active (every node checked clean)".to_string()
        } else {
            format!("{} kind(s) of fault undone", effects.len())
        }
    );
    Ok(())
}
