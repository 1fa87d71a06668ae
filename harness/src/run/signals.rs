//! The signals that interrupt a run: Ctrl-C (SIGINT), SIGTERM (what
//! `timeout`, CI cancellation and `docker stop` send) and SIGHUP (a closed
//! terminal). All three mean the same: the first stops the clients, heals
//! the faults and lets the caller tear the database down and write its
//! results; the second quits at once.
//!
//! Signals are counted process-wide from [`install`] on, by a thread of
//! its own, so that no signal is lost between two phases that watch them
//! (the setup of a run, then its run loop): a phase asks "has the first
//! signal come?" by number, not by catching it itself. Once installed, the
//! process no longer dies of these signals; every caller decides.

use super::Cancel;
use std::io;
use std::sync::OnceLock;
use tokio::sync::watch;

/// How many interrupting signals arrived since [`install`], and the name
/// of the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub count: usize,
    pub last: &'static str,
}

static RECEIVED: OnceLock<watch::Sender<Received>> = OnceLock::new();

/// Starts counting SIGINT, SIGTERM and SIGHUP (idempotent). The handlers
/// are in place when this returns. Works inside or outside a runtime.
pub fn install() -> io::Result<()> {
    if RECEIVED.get().is_some() {
        return Ok(());
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
    std::thread::Builder::new()
        .name("shakedown-signals".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(listen(ready_tx));
        })?;
    ready_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("the signal thread ended")))
}

async fn listen(ready: std::sync::mpsc::Sender<io::Result<()>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let kinds = [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
    ];
    let mut streams = Vec::new();
    for (kind, name) in kinds {
        match signal(kind) {
            Ok(s) => streams.push((s, name)),
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        }
    }
    let sender = RECEIVED.get_or_init(|| watch::channel(Received { count: 0, last: "" }).0);
    let _ = ready.send(Ok(()));
    let [(int, int_name), (term, term_name), (hup, hup_name)] = &mut streams[..] else {
        unreachable!("three signal kinds");
    };
    loop {
        let name = tokio::select! {
            _ = int.recv() => *int_name,
            _ = term.recv() => *term_name,
            _ = hup.recv() => *hup_name,
        };
        sender.send_modify(|r| {
            r.count += 1;
            r.last = name;
        });
    }
}

/// The signals received so far (none when [`install`] was not called).
pub fn received() -> Received {
    RECEIVED
        .get()
        .map_or(Received { count: 0, last: "" }, |s| *s.borrow())
}

/// Waits until at least `n` signals have arrived since [`install`] (forever
/// when it was not called) and returns the count and the last one's name.
pub async fn wait_for(n: usize) -> Received {
    let Some(sender) = RECEIVED.get() else {
        return std::future::pending().await;
    };
    let mut rx = sender.subscribe();
    let reached = rx.wait_for(|r| r.count >= n).await.map(|r| *r);
    match reached {
        Ok(r) => r,
        // The sender lives in a static: it is never dropped.
        Err(_) => std::future::pending().await,
    }
}

/// What a second signal does: say which command heals what may be left,
/// and exit with status 130 (after `flush`, e.g. the history's).
pub fn quit(heal_command: &str, flush: impl FnOnce()) -> ! {
    let last = received().last;
    eprintln!("\nquitting on a second {last}: faults may remain; run `{heal_command}`");
    flush();
    std::process::exit(130);
}

/// Watches the signals outside the run loop (while a run sets up, or tears
/// down) until dropped: the first cancels `interrupt` and prints `what`
/// (what happens next), the second quits naming `heal_command`. A signal
/// that came before counts. Must be called inside a tokio runtime.
pub fn watch(interrupt: Cancel, heal_command: String, what: &'static str) -> Watch {
    Watch(tokio::spawn(async move {
        let first = wait_for(1).await;
        if !interrupt.is_cancelled() {
            eprintln!(
                "\ninterrupted by {}: {what} (signal again to quit at once)",
                first.last
            );
            tracing::warn!("interrupted by {}: {what}", first.last);
            interrupt.cancel();
        }
        wait_for(2).await;
        quit(&heal_command, || {});
    }))
}

/// Stops watching when dropped (see [`watch`]).
pub struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}
