//! `target:` in a test file: a name (`target: etcd`) or a map with a `name`
//! and that target's settings (`target: {name: process, start: ...}`).
//! Unknown keys are errors, reported by the YAML reader with their line.

use crate::{etcd, mariadb, postgres, process, redis, Ctx, Target};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// A target as the test file names it, with its settings.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum TargetSpec {
    /// etcd on every node, one cluster of all of them.
    Etcd(etcd::Options),
    /// MariaDB: one server, or a Galera cluster of every node.
    Mariadb(mariadb::Options),
    /// PostgreSQL: the first node the primary, the rest streaming replicas.
    Postgres(postgres::Options),
    /// Any database, described: packages, files, install, start and ready
    /// commands, and a client (a program, or the built-in SQL client).
    Process(Box<process::Spec>),
    /// Redis: the first node the primary, the rest replicas, Sentinel on
    /// every node.
    Redis(redis::Options),
}

impl TargetSpec {
    /// Every built-in target's name.
    pub const NAMES: &'static [&'static str] = &["etcd", "mariadb", "postgres", "process", "redis"];

    pub fn name(&self) -> &'static str {
        match self {
            TargetSpec::Etcd(_) => "etcd",
            TargetSpec::Mariadb(_) => "mariadb",
            TargetSpec::Postgres(_) => "postgres",
            TargetSpec::Process(_) => "process",
            TargetSpec::Redis(_) => "redis",
        }
    }

    /// Checks what types cannot (before any node is touched); `test_dir`
    /// resolves relative paths, which must exist; `nodes` is how many
    /// nodes the test has.
    pub fn validate(&self, test_dir: &std::path::Path, nodes: usize) -> Result<(), String> {
        match self {
            TargetSpec::Etcd(o) => o.validate(),
            TargetSpec::Mariadb(o) => o.validate(nodes),
            TargetSpec::Postgres(o) => o.validate(),
            TargetSpec::Process(s) => s.validate(test_dir),
            TargetSpec::Redis(o) => o.validate(nodes),
        }
    }

    /// The workloads this target has clients for.
    pub fn workloads(&self) -> Vec<&'static str> {
        match self {
            TargetSpec::Etcd(_) => etcd::client::WORKLOADS.to_vec(),
            TargetSpec::Mariadb(_) => crate::sql::Dialect::Mysql.workloads().to_vec(),
            TargetSpec::Postgres(_) => crate::sql::Dialect::Postgres.workloads().to_vec(),
            TargetSpec::Process(s) => s.workloads(),
            TargetSpec::Redis(_) => redis::client::WORKLOADS.to_vec(),
        }
    }

    /// Refuses a workload the target has no client for, naming what it
    /// does support: checked when the test file is read, before any node
    /// is touched.
    pub fn supports(&self, workload: &workloads::Workload) -> Result<(), String> {
        let supported = self.workloads();
        if supported.contains(&workload.name()) {
            Ok(())
        } else {
            Err(format!(
                "workload {:?}: target {} has no client for it; it supports {}",
                workload.name(),
                self.name(),
                supported.join(", ")
            ))
        }
    }

    /// The target for one run.
    pub fn build(&self, ctx: Ctx) -> Box<dyn Target> {
        match self {
            TargetSpec::Etcd(o) => Box::new(etcd::EtcdTarget::new(o.clone(), ctx)),
            TargetSpec::Mariadb(o) => Box::new(mariadb::MariaDbTarget::new(o.clone(), ctx)),
            TargetSpec::Postgres(o) => Box::new(postgres::PostgresTarget::new(o.clone(), ctx)),
            TargetSpec::Process(s) => Box::new(process::ProcessTarget::new((**s).clone(), ctx)),
            TargetSpec::Redis(o) => Box::new(redis::RedisTarget::new(o.clone(), ctx)),
        }
    }

    /// The schema of `target:` ([`Self::deserialize_either`]): the name of
    /// a target that needs no settings, or a map.
    pub fn either_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use schemars::JsonSchema as _;
        let map = TargetSpec::json_schema(g);
        let bare: Vec<serde_json::Value> = map
            .get("oneOf")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter(|b| b.get("required") == Some(&serde_json::json!(["name"])))
            .filter_map(|b| b.pointer("/properties/name/const").cloned())
            .collect();
        schemars::json_schema!({
            "description": "The database under test: a target's name, or a map with `name` and its settings.",
            "anyOf": [{"type": "string", "enum": bare}, map],
        })
    }

    /// Parses `target:` from either form.
    pub fn deserialize_either<'de, D: Deserializer<'de>>(d: D) -> Result<TargetSpec, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = TargetSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a target name ({}) or a map with `name` and its settings",
                    TargetSpec::NAMES.join(", ")
                )
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<TargetSpec, E> {
                // `target: etcd` is `target: {name: etcd}`.
                let map = de::value::MapDeserializer::new(std::iter::once(("name", name)));
                TargetSpec::deserialize(map)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TargetSpec, A::Error> {
                TargetSpec::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(Either)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        #[serde(deserialize_with = "TargetSpec::deserialize_either")]
        target: TargetSpec,
    }

    fn parse(yaml: &str) -> Result<TargetSpec, String> {
        serde_saphyr::from_str::<File>(yaml)
            .map(|f| f.target)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_name_or_a_map() {
        assert_eq!(parse("target: etcd\n").unwrap().name(), "etcd");
        assert_eq!(parse("target: {name: etcd}\n").unwrap().name(), "etcd");
        let p = parse(
            "target:\n  name: process\n  start: \"mydb --port 7700\"\n  ready: \"true\"\n  client:\n    command: [python3, c.py]\n",
        )
        .unwrap();
        assert_eq!(p.name(), "process");
        let pg =
            parse("target: {name: postgres, isolation: repeatable-read, read-from: replicas}\n")
                .unwrap();
        let TargetSpec::Postgres(o) = &pg else {
            panic!("{pg:?}")
        };
        assert_eq!(o.isolation, postgres::Isolation::RepeatableRead);
        assert_eq!(o.read_from, postgres::ReadFrom::Replicas);
        let TargetSpec::Postgres(o) = parse("target: postgres\n").unwrap() else {
            panic!()
        };
        assert_eq!(o, postgres::Options::default());
        assert_eq!(o.isolation, postgres::Isolation::Serializable);
        assert_eq!(o.read_from, postgres::ReadFrom::Primary);
    }

    #[test]
    fn unknown_names_and_keys_are_errors_with_lines() {
        let e = parse("target: mongo\n").unwrap_err();
        assert!(e.contains("mongo"), "{e}");
        let e = parse("target:\n  name: etcd\n  vresion: 3\n").unwrap_err();
        assert!(e.contains("vresion"), "{e}");
        assert!(e.contains("line 3") || e.contains("3:"), "{e}");
        let e = parse(
            "target:\n  name: process\n  start: x\n  ready: y\n  redy-timeout: 3s\n  client: {command: [c]}\n",
        )
        .unwrap_err();
        assert!(e.contains("redy-timeout"), "{e}");
        let e = parse("target:\n  name: postgres\n  isolation: snapshot\n").unwrap_err();
        assert!(
            e.contains("snapshot") && e.contains("repeatable-read"),
            "{e}"
        );
        assert!(e.contains("line 3") || e.contains("3:"), "{e}");
        let e = parse("target:\n  name: postgres\n  read-form: replicas\n").unwrap_err();
        assert!(e.contains("read-form"), "{e}");
    }

    #[test]
    fn redis_options_parse_and_unknown_keys_are_refused_with_their_line() {
        let t = parse("target: redis\n").unwrap();
        assert_eq!(t, TargetSpec::Redis(redis::Options::default()));
        let t =
            parse("target: {name: redis, sentinel: false, wait: 2, min-replicas-to-write: 1}\n")
                .unwrap();
        let TargetSpec::Redis(o) = t else { panic!() };
        assert!(!o.sentinel);
        assert_eq!((o.wait, o.min_replicas_to_write), (2, 1));
        let e = parse("target:\n  name: redis\n  wiat: 2\n").unwrap_err();
        assert!(
            e.contains("wiat") && (e.contains("line 3") || e.contains("3:")),
            "{e}"
        );
        let e = parse("target: {name: redis, wait: many}\n").unwrap_err();
        assert!(e.contains("wait") || e.contains("many"), "{e}");
        let t = parse("target: {name: redis, sentinel: false, quorum: 2}\n").unwrap();
        let e = t.validate(std::path::Path::new("/"), 3).unwrap_err();
        assert!(e.contains("target.quorum"), "{e}");
        // Against the number of nodes, before any node is touched.
        let check = |yaml: &str, nodes: usize| {
            parse(yaml)
                .unwrap()
                .validate(std::path::Path::new("/"), nodes)
        };
        assert!(check("target: {name: redis, wait: 2}\n", 3).is_ok());
        let e = check("target: {name: redis, wait: 2}\n", 2).unwrap_err();
        assert!(
            e.contains("target.wait: 2") && e.contains("1 replicas"),
            "{e}"
        );
        let e = check("target: {name: redis, quorum: 4}\n", 3).unwrap_err();
        assert!(
            e.contains("target.quorum: 4") && e.contains("3 Sentinels"),
            "{e}"
        );
        assert!(check("target: {name: redis, quorum: 4, sentinel: true}\n", 5).is_ok());
        let e = check("target: {name: redis, min-replicas-to-write: 3}\n", 3).unwrap_err();
        assert!(e.contains("target.min-replicas-to-write: 3"), "{e}");
    }
}
