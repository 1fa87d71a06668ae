//! etcd: the client (over the v3 HTTP/JSON gateway) and, on the nodes, the
//! database itself, behind the [`Target`] contract.

pub mod client;
pub mod db;

pub use client::{ClientOptions, EtcdClient, EtcdConnect, EtcdError, EtcdOps};

use crate::{ClientCtx, Ctx, LogFile, PrimariesFn, Process, Target};
use db::EtcdDb;
use harness::control::{daemon, Cluster, Error, Node};
use harness::run::{BoxConnect, BoxFuture};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// `target: {name: etcd, ...}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "EtcdOptions")]
pub struct Options {
    /// Seconds every member gets to answer and agree on a leader.
    #[serde(default = "default_ready_timeout_s")]
    #[schemars(range(min = 1, max = 3600))]
    pub ready_timeout_s: u64,
}

fn default_ready_timeout_s() -> u64 {
    30
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=3600).contains(&self.ready_timeout_s) {
            return Err(format!(
                "target.ready-timeout-s: expected 1 to 3600 seconds, found {}",
                self.ready_timeout_s
            ));
        }
        Ok(())
    }
}

/// etcd on every node of the run, one cluster of all of them.
pub struct EtcdTarget {
    db: EtcdDb,
    options: Options,
    run_id: String,
}

impl EtcdTarget {
    pub fn new(options: Options, ctx: Ctx) -> EtcdTarget {
        let mut db = EtcdDb::new(
            ctx.nodes.clone(),
            "/var/lib/shakedown/etcd",
            format!("shakedown-{}", ctx.run_id),
        );
        db.env = ctx.db_env.clone().into_iter().collect();
        EtcdTarget {
            db,
            options,
            run_id: ctx.run_id,
        }
    }
}

impl Target for EtcdTarget {
    fn name(&self) -> &str {
        "etcd"
    }

    fn packages(&self) -> Vec<String> {
        vec![db::PACKAGE.to_string()]
    }

    fn workloads(&self) -> Vec<&'static str> {
        client::WORKLOADS.to_vec()
    }

    /// Go reads the clock through the vDSO, not libc.
    fn sees_clock_shim(&self) -> bool {
        false
    }

    fn start<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let within = Duration::from_secs(self.options.ready_timeout_s);
            let leader = self.db.start_all(cluster, within).await?;
            tracing::info!("etcd is up; leader {leader}");
            Ok(())
        })
    }

    fn teardown<'a>(
        &'a self,
        cluster: &'a Cluster,
        keep_data: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.db.teardown(cluster, keep_data))
    }

    fn process(&self, node: &Node) -> Option<Process> {
        Some(Process {
            pid_file: self.db.pid_file(node),
            start: daemon::start_script(&self.db.daemon(node)),
            log: self.db.log_file(node),
        })
    }

    /// Asks the members who leads.
    fn primaries(&self) -> Option<PrimariesFn> {
        let endpoints = self.db.endpoints();
        Some(Arc::new(move |_cluster| {
            let endpoints = endpoints.clone();
            Box::pin(async move {
                client::find_leader(&endpoints, Duration::from_secs(2))
                    .await
                    .map(|leader| vec![leader])
            })
        }))
    }

    /// `--data-dir`: the WAL (`member/wal`) and the bbolt store (`member/snap/db`).
    fn data_dirs(&self, node: &Node) -> Vec<String> {
        vec![self.db.data_dir(node)]
    }

    fn logs(&self, node: &Node) -> Vec<LogFile> {
        vec![LogFile {
            remote: self.db.log_file(node),
            name: "etcd.log".into(),
        }]
    }

    fn clients(&self, ctx: &ClientCtx<'_>) -> Result<BoxConnect, String> {
        let workload = client::WORKLOADS
            .iter()
            .find(|w| **w == ctx.workload.name())
            .ok_or_else(|| format!("etcd has no client for {}", ctx.workload.name()))?;
        Ok(BoxConnect::new(EtcdConnect {
            endpoints: self.db.endpoints(),
            options: ClientOptions {
                prefix: format!("{}/", self.run_id),
                serializable_reads: ctx.workload.read_mode() == workloads::ReadMode::Serializable,
                timeout: ctx
                    .op_timeout
                    .saturating_sub(Duration::from_millis(500))
                    .max(Duration::from_millis(500)),
                workload,
                negative_balances: matches!(
                    ctx.workload,
                    workloads::Workload::Bank(o) if o.negative_balances
                ),
            },
        }))
    }
}
