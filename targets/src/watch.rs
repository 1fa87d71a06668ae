//! Records which nodes are primary as the run goes, beside the faults:
//! the target's [`Target::watch_primaries`](crate::Target::watch_primaries)
//! is asked every [`PERIOD`] from the start of the run to the end of its
//! recovery, and each change is an
//! `info` op of process `primaries` (f `primaries`, value the node names),
//! so the history and the report's timeline show a failover (or a split
//! brain: two primaries) next to the partition that caused it.

use crate::PrimariesFn;
use harness::control::Cluster;
use harness::run::{Cancel, Nemesis, Recorder};
use history::{Op, OpType, Process, Value};
use std::time::Duration;

/// How often the primaries are asked.
pub const PERIOD: Duration = Duration::from_millis(500);
/// The history process the observations are recorded under.
pub const PROCESS: &str = "primaries";

/// A nemesis that also watches the primaries (or, with no watch, is just
/// the nemesis).
pub struct WatchPrimaries<N> {
    inner: N,
    watch: Option<(PrimariesFn, Cluster)>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// How long watching goes on after the nemesis is dropped (after the
    /// heal): the run's recovery time, when failed-over nodes rejoin.
    linger: Duration,
}

impl<N> WatchPrimaries<N> {
    pub fn new(
        inner: N,
        watch: Option<PrimariesFn>,
        cluster: Cluster,
        linger: Duration,
    ) -> WatchPrimaries<N> {
        WatchPrimaries {
            inner,
            watch: watch.map(|w| (w, cluster)),
            task: None,
            linger,
        }
    }
}

impl<N> Drop for WatchPrimaries<N> {
    /// Watching goes on through the recovery (the old primary rejoining
    /// is part of the story), then stops.
    fn drop(&mut self) {
        let Some(task) = self.task.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if !self.linger.is_zero() => {
                let linger = self.linger;
                rt.spawn(async move {
                    tokio::time::sleep(linger).await;
                    task.abort();
                });
            }
            _ => task.abort(),
        }
    }
}

/// The op recording an observation.
pub fn observation(primaries: &[String]) -> Op {
    Op::new(
        OpType::Info,
        Process::Named(PROCESS.into()),
        PROCESS,
        Value::List(primaries.iter().map(|p| Value::from(p.as_str())).collect()),
    )
}

/// Asks every [`PERIOD`] and records each change, until aborted. Errors
/// (no node answered) are logged, not recorded: the timeline shows what
/// was seen.
async fn watch(ask: PrimariesFn, cluster: Cluster, rec: Recorder) {
    let mut last: Option<Vec<String>> = None;
    loop {
        match ask(cluster.clone()).await {
            Ok(mut now) => {
                now.sort();
                if last.as_ref() != Some(&now) {
                    tracing::info!("primaries: {now:?}");
                    rec.record(observation(&now));
                    last = Some(now);
                }
            }
            Err(e) => tracing::debug!("asking for the primaries: {e}"),
        }
        tokio::time::sleep(PERIOD).await;
    }
}

impl<N: Nemesis> Nemesis for WatchPrimaries<N> {
    /// Watching starts with the run and goes on through the heal and the
    /// recovery (see `Drop`).
    async fn run(&mut self, rec: Recorder, stop: Cancel) {
        if let Some((ask, cluster)) = &self.watch {
            self.task = Some(tokio::spawn(watch(
                ask.clone(),
                cluster.clone(),
                rec.clone(),
            )));
        }
        self.inner.run(rec, stop).await
    }

    async fn heal(&mut self, rec: Recorder) {
        self.inner.heal(rec).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::run::{NoNemesis, RecorderConfig, RecorderThread};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Asked n1, n1, n1+n2, n2, n2 ..., the watch records only the three
    /// changes, as `info` ops of process `primaries`; it goes on after the
    /// nemesis is dropped for `linger`, then stops. (Real time: about 4 s.)
    #[tokio::test]
    async fn records_each_change_once_and_stops_after_lingering() {
        let answers = [
            vec!["n1"],
            vec!["n1"],
            vec!["n2", "n1"],
            vec!["n2"],
            vec!["n2"],
        ];
        let asked = Arc::new(AtomicUsize::new(0));
        let ask: PrimariesFn = {
            let asked = asked.clone();
            Arc::new(move |_| {
                let i = asked.fetch_add(1, Ordering::SeqCst);
                let a: Vec<String> = answers[i.min(answers.len() - 1)]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                Box::pin(async move { Ok(a) })
            })
        };
        let recorder =
            RecorderThread::start(RecorderConfig::default(), std::time::Instant::now()).unwrap();
        let rec = recorder.handle();
        let mut w = WatchPrimaries::new(
            NoNemesis,
            Some(ask),
            Cluster::from_remotes(Vec::new()),
            PERIOD * 3,
        );
        let stop = Cancel::new();
        let run = {
            let (rec, stop) = (rec.clone(), stop.clone());
            async move {
                w.run(rec, stop).await;
                w
            }
        };
        let stopper = async {
            tokio::time::sleep(PERIOD * 2 + PERIOD / 2).await;
            stop.cancel();
        };
        let (mut w, ()) = tokio::join!(run, stopper);
        w.heal(rec.clone()).await;
        drop(w);
        tokio::time::sleep(PERIOD * 4).await;
        let after = asked.load(Ordering::SeqCst);
        tokio::time::sleep(PERIOD * 3).await;
        assert_eq!(
            asked.load(Ordering::SeqCst),
            after,
            "still asking after linger"
        );
        assert!(after >= 4, "asked {after} times");
        drop(rec);
        let h = tokio::task::spawn_blocking(move || recorder.finish())
            .await
            .unwrap()
            .history;
        let seen: Vec<String> = h.ops().iter().map(|o| o.value.to_string()).collect();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(h
            .ops()
            .iter()
            .all(|o| o.process == Process::Named(PROCESS.into()) && o.kind == OpType::Info));
        assert_eq!(
            h.ops()[1].value,
            Value::List(vec![Value::from("n1"), Value::from("n2")]),
            "sorted"
        );
    }
}
