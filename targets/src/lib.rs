//! Databases under test: install, start, kill, pause, and a client per workload (etcd first).

pub mod etcd;
