//! etcd: the client (over the v3 HTTP/JSON gateway) and, on the nodes, the
//! database itself.

pub mod client;
pub mod db;

pub use client::{ClientOptions, EtcdClient, EtcdConnect, EtcdError, EtcdOps};
