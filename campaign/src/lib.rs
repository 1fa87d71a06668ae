//! Campaigns: many tests, many settings, many seeds, one answer.
//!
//! ```yaml
//! name: nightly
//! tests: [etcd-register.yaml, etcd-list-append.yaml]   # relative to this file
//! matrix:                     # every combination is a cell
//!   seed: [1, 2, 3]
//!   nemesis.faults: [[partition], [kill, pause], [partition, clock]]
//! set:                        # overrides for every cell
//!   time-limit: 60s
//! repeat: 1                   # runs per cell
//! ```
//!
//! - [`Campaign::load`] reads the file; [`Campaign::cells`] expands it:
//!   tests × the cartesian product of the matrix × repeats, each [`Cell`]
//!   with a stable id and its test file with every override applied
//!   ([`apply`], dotted keys for nested settings).
//! - [`shard`]: a fixed, balanced share of the cells: cells are ordered by
//!   id (so the file's order does not matter) and dealt round-robin, so
//!   every cell is in exactly one of N shards and shard sizes differ by at
//!   most one.
//! - [`record`]: one file per finished cell under the campaign directory,
//!   written atomically, so an interrupted campaign run again skips cells
//!   whose run is complete, and shards on one file system never write the
//!   same file.
//! - [`junit`]: one testcase per run, named by test and cell.
//! - [`merge`]: the results directories of many machines (CI shards)
//!   gathered into one, records following their runs.
//!
//! The records are read back, and drawn as a grid of cells with the flaky
//! ones flagged, by `results::grid` (for `serve` and `merge`).

pub mod junit;
pub mod merge;
pub mod record;

use results::redact;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A campaign file: what `shakedown campaign` reads. Every cell is a
/// test file with the cell's settings applied; a setting is a test-file
/// key, dotted for nested ones (`nemesis.faults`, `workload.keys`).
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({
    "name": "nightly",
    "tests": ["etcd-register.yaml", "etcd-list-append.yaml"],
    "matrix": {"seed": [1, 2], "nemesis.faults": [["partition"], ["kill", "pause"]]},
    "set": {"time-limit": "60s"},
    "repeat": 1,
}))]
pub struct Campaign {
    /// The campaign's name.
    #[schemars(length(min = 1), example = &"nightly")]
    pub name: String,
    /// Test files, relative to the campaign file.
    #[schemars(length(min = 1), example = ["etcd-register.yaml"])]
    pub tests: Vec<PathBuf>,
    /// Setting (dotted key) to the values it takes: every combination of
    /// every setting's values is a cell, for every test.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"seed": [1, 2, 3]}))]
    pub matrix: BTreeMap<String, Vec<Value>>,
    /// Setting (dotted key) to the value every cell gets.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"time-limit": "60s"}))]
    pub set: BTreeMap<String, Value>,
    /// Runs per cell.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 10_000))]
    pub repeat: u32,
    /// The campaign file's directory.
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Campaign {
    /// The JSON Schema of a campaign file (`shakedown schema campaign`).
    pub fn schema() -> Value {
        // Draft 7, as the test file's (`harness::config::root_schema`).
        let mut schema = schemars::generate::SchemaSettings::draft07()
            .into_generator()
            .into_root_schema_for::<Campaign>();
        schema.insert("title".into(), "shakedown campaign file".into());
        schema.to_value()
    }
}

/// The most cells a campaign may have.
pub const MAX_CELLS: usize = 100_000;

fn one() -> u32 {
    1
}

/// One run of a campaign: a test file with some settings, repeat `r`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Stable across runs and file orders: `test.yaml[seed=1,x.y=[..]]#1`.
    /// A secret value shows as `"<redacted-N>"`, N its place among its
    /// setting's values (see [`Cell::settings`]).
    pub id: String,
    /// The test file as named in the campaign.
    pub test: PathBuf,
    /// The matrix settings of this cell, sorted by key, as they may be
    /// shown and written: a value holding a secret (under a secret key,
    /// or a URL with a password; see `results::redact`) is the string
    /// `<redacted-N>` instead, N its 1-based place in the matrix's list.
    pub settings: Vec<(String, Value)>,
    /// 1-based repeat number.
    pub repeat: u32,
    /// The test file with `set` and the cell's settings applied, as JSON
    /// text (JSON is YAML: the test-file reader takes it as it is). It
    /// holds the secrets: it is run, never written as it is.
    pub text: String,
    /// What the cell's run is of: a hash of `text` with its secrets taken
    /// out. A record of another fingerprint is of another test (the test
    /// file or a setting changed since) and is run again. A changed
    /// secret alone changes no test, and a hash of one, published in the
    /// records, could be searched for it.
    pub fingerprint: String,
    /// The secret texts of `set` and of this cell's settings, for
    /// scrubbing text that may quote the test file (`results::redact::scrub`).
    pub secrets: Vec<String>,
}

/// A matrix value: as run, as shown, and the secrets taken out of it.
#[derive(Clone)]
struct Choice {
    value: Value,
    shown: Value,
    secrets: Vec<String>,
}

impl Campaign {
    /// Reads a campaign file; errors name the file, line and key.
    pub fn load(path: &Path) -> Result<Campaign, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the campaign file: {e}", path.display()))?;
        let mut c: Campaign =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        c.dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        c.validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name: expected a campaign name".into());
        }
        if self.tests.is_empty() {
            return Err("tests: expected at least one test file".into());
        }
        if self.repeat == 0 || self.repeat > 10_000 {
            return Err(format!(
                "repeat: expected 1 to 10000, found {}",
                self.repeat
            ));
        }
        for (key, values) in &self.matrix {
            if values.is_empty() {
                return Err(format!("matrix.{key}: expected at least one value"));
            }
            check_key(key).map_err(|e| format!("matrix: {e}"))?;
        }
        for key in self.set.keys() {
            check_key(key).map_err(|e| format!("set: {e}"))?;
            if self.matrix.contains_key(key) {
                return Err(format!("{key} is both in `matrix` and in `set`"));
            }
        }
        // Checked: a product past any integer (130 settings of two values
        // is 2^130) must be refused, not wrapped into a small number.
        let cells = std::iter::once(self.tests.len())
            .chain(self.matrix.values().map(Vec::len))
            .chain(std::iter::once(self.repeat as usize))
            .try_fold(1usize, |n, k| n.checked_mul(k).filter(|n| *n <= MAX_CELLS));
        if cells.is_none() {
            let biggest = self.matrix.iter().max_by_key(|(_, v)| v.len());
            return Err(format!(
                "the matrix makes more than {MAX_CELLS} cells: {} test(s) x {} setting(s){} x {} repeat(s)",
                self.tests.len(),
                self.matrix.len(),
                biggest.map_or(String::new(), |(k, v)| format!(" (the largest, {k}, with {} values)", v.len())),
                self.repeat
            ));
        }
        Ok(())
    }

    /// The path of a test file named in the campaign.
    pub fn test_path(&self, test: &Path) -> PathBuf {
        self.dir.join(test)
    }

    /// Every cell, ordered by id. Reads each test file once; an error names
    /// the test file.
    pub fn cells(&self) -> Result<Vec<Cell>, String> {
        let matrix: BTreeMap<&str, Vec<Choice>> = self
            .matrix
            .iter()
            .map(|(key, values)| {
                let choices = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let mut secrets = Vec::new();
                        let shown = match redact::redact_setting(key, v, &mut secrets) {
                            // Numbered, not just `<redacted>`: two secrets
                            // are two cells, with two ids.
                            Some(_) => Value::String(format!("<redacted-{}>", i + 1)),
                            None => v.clone(),
                        };
                        Choice {
                            value: v.clone(),
                            shown,
                            secrets,
                        }
                    })
                    .collect();
                (key.as_str(), choices)
            })
            .collect();
        let mut set_secrets = Vec::new();
        for (k, v) in &self.set {
            redact::redact_setting(k, v, &mut set_secrets);
        }
        let combos = combinations(&matrix);
        let mut cells = Vec::new();
        for test in &self.tests {
            let path = self.test_path(test);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: cannot read the test file: {e}", path.display()))?;
            let base: Value =
                serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            for combo in &combos {
                let mut doc = base.clone();
                let chosen = combo.iter().map(|(k, c)| (*k, &c.value));
                for (k, v) in self.set.iter().map(|(k, v)| (k.as_str(), v)).chain(chosen) {
                    apply(&mut doc, k, v.clone())
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                let settings: Vec<(String, Value)> = combo
                    .iter()
                    .map(|(k, c)| (k.to_string(), c.shown.clone()))
                    .collect();
                let mut secrets = set_secrets.clone();
                secrets.extend(combo.iter().flat_map(|(_, c)| c.secrets.iter().cloned()));
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                let fingerprint = fingerprint(&redact::redact_secrets(&text));
                for repeat in 1..=self.repeat {
                    cells.push(Cell {
                        id: cell_id(test, &settings, repeat),
                        test: test.clone(),
                        settings: settings.clone(),
                        repeat,
                        text: text.clone(),
                        fingerprint: fingerprint.clone(),
                        secrets: secrets.clone(),
                    });
                }
            }
        }
        cells.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = cells.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(format!(
                "two cells are the same: {} (a test listed twice?)",
                w[0].id
            ));
        }
        Ok(cells)
    }
}

/// Hex sha256 of a cell's text (secrets out).
fn fingerprint(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Keys are `word(.word)*`.
fn check_key(key: &str) -> Result<(), String> {
    if key.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }) {
        Ok(())
    } else {
        Err(format!(
            "{key:?} is not a setting: expected a key such as `seed` or `nemesis.faults`"
        ))
    }
}

/// The cartesian product of the matrix, keys sorted.
fn combinations<'a>(matrix: &'a BTreeMap<&'a str, Vec<Choice>>) -> Vec<Vec<(&'a str, &'a Choice)>> {
    let mut out: Vec<Vec<(&str, &Choice)>> = vec![Vec::new()];
    for (key, values) in matrix {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((*key, v));
                    next
                })
            })
            .collect();
    }
    out
}

fn cell_id(test: &Path, settings: &[(String, Value)], repeat: u32) -> String {
    let parts: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}[{}]#{repeat}", test.display(), parts.join(","))
}

/// Sets a dotted key in a test file. A target given by name
/// (`target: etcd`) becomes `{name: etcd}` when one of its settings is set.
pub fn apply(doc: &mut Value, key: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut at = doc;
    for (i, part) in parts.iter().enumerate() {
        if let Value::String(name) = at {
            if i == 1 && parts[0] == "target" {
                *at = serde_json::json!({ "name": name.clone() });
            }
        }
        if at.is_null() {
            *at = Value::Object(Default::default());
        }
        let Value::Object(map) = at else {
            return Err(format!(
                "{key}: {} is not a map of settings",
                parts[..i].join(".")
            ));
        };
        if i + 1 == parts.len() {
            map.insert(part.to_string(), value);
            return Ok(());
        }
        at = map.entry(part.to_string()).or_insert(Value::Null);
    }
    Ok(())
}

/// Parses `I/N` (1-based: `1/4` .. `4/4`).
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard {s:?}: expected I/N with 1 <= I <= N, e.g. 1/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Shard `i` of `n` (1-based): cells `i-1`, `i-1+n`, ... of the cells
/// ordered by id. Every cell is in exactly one shard, and the shards'
/// sizes differ by at most one.
pub fn shard(cells: Vec<Cell>, i: usize, n: usize) -> Vec<Cell> {
    cells
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % n == i - 1)
        .map(|(_, c)| c)
        .collect()
}

/// A file-system-safe name for a cell (for run directories and records).
pub fn slug(id: &str) -> String {
    let mut replaced = false;
    let mut s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '=' || c == '#' {
                c
            } else {
                replaced = true;
                '_'
            }
        })
        .collect();
    // Ids that differ only in replaced characters (`a b` and `a,b`) or past
    // the cut must not share a file: a hash of the whole id keeps them apart.
    if replaced || s.len() > 150 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        s.truncate(130);
        s.push_str(&format!("-{h:016x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn campaign(dir: &Path, yaml: &str) -> Campaign {
        std::fs::write(
            dir.join("a.yaml"),
            "name: a\ntarget: etcd\nseed: 0\nnemesis:\n  faults: [kill]\n",
        )
        .unwrap();
        std::fs::write(dir.join("b.yaml"), "name: b\ntarget: etcd\n").unwrap();
        let p = dir.join("c.yaml");
        std::fs::write(&p, yaml).unwrap();
        Campaign::load(&p).unwrap()
    }

    const C: &str = "name: n\ntests: [a.yaml]\nmatrix:\n  seed: [1, 2]\n  nemesis.faults: [[partition], [kill, pause]]\nset:\n  time-limit: 5s\n";

    #[test]
    fn the_matrix_expands_into_cells_with_overrides() {
        let d = tempfile::tempdir().unwrap();
        let cells = campaign(d.path(), C).cells().unwrap();
        assert_eq!(cells.len(), 4);
        let c = &cells[0];
        assert_eq!(c.id, "a.yaml[nemesis.faults=[\"kill\",\"pause\"],seed=1]#1");
        let doc: Value = serde_json::from_str(&c.text).unwrap();
        assert_eq!(doc["seed"], json!(1));
        assert_eq!(doc["time-limit"], json!("5s"));
        assert_eq!(doc["nemesis"]["faults"], json!(["kill", "pause"]));
        assert_eq!(doc["target"], json!("etcd"));
    }

    #[test]
    fn shards_cover_every_cell_once_whatever_the_file_order() {
        let d = tempfile::tempdir().unwrap();
        let yaml = "name: n\ntests: [a.yaml, b.yaml]\nmatrix:\n  seed: [1, 2, 3]\n  x: [a, b]\nrepeat: 2\n";
        let all = campaign(d.path(), yaml).cells().unwrap();
        assert_eq!(all.len(), 24);
        // The same campaign written in another order gives the same cells
        // and the same shards.
        let reordered = "name: n\ntests: [b.yaml, a.yaml]\nrepeat: 2\nmatrix:\n  x: [b, a]\n  seed: [3, 1, 2]\n";
        let d2 = tempfile::tempdir().unwrap();
        let again = campaign(d2.path(), reordered).cells().unwrap();
        let ids = |v: &[Cell]| v.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&all), ids(&again));
        for n in 1..=7 {
            let mut seen = Vec::new();
            let mut sizes = Vec::new();
            for i in 1..=n {
                let s = shard(all.clone(), i, n);
                assert_eq!(ids(&s), ids(&shard(again.clone(), i, n)));
                sizes.push(s.len());
                seen.extend(ids(&s));
            }
            seen.sort();
            assert_eq!(seen, ids(&all), "n = {n}");
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn slugs_of_ids_differing_only_in_punctuation_differ() {
        let ids = [
            "a b.yaml[x=\"p q\"]#1",
            "a_b.yaml[x=\"p q\"]#1",
            "a b.yaml[x=\"p,q\"]#1",
            "a b.yaml[x=\"p_q\"]#1",
        ];
        let mut slugs: Vec<String> = ids.iter().map(|i| slug(i)).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), ids.len(), "{slugs:?}");
    }

    #[test]
    fn dotted_keys_reach_nested_settings_and_named_targets() {
        let mut doc = json!({"target": "postgres", "workload": {"name": "register"}});
        apply(&mut doc, "target.isolation", json!("serializable")).unwrap();
        apply(&mut doc, "workload.keys", json!(3)).unwrap();
        apply(&mut doc, "nemesis.interval", json!(5)).unwrap();
        assert_eq!(
            doc,
            json!({"target": {"name": "postgres", "isolation": "serializable"},
                   "workload": {"name": "register", "keys": 3}, "nemesis": {"interval": 5}})
        );
        let e = apply(&mut doc, "workload.name.x", json!(1)).unwrap_err();
        assert!(e.contains("workload.name"), "{e}");
    }

    #[test]
    fn bad_campaigns_are_refused_with_the_field() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.yaml"), "name: a\n").unwrap();
        for (yaml, expect) in [
            ("name: n\ntests: []\n", "tests"),
            ("name: n\ntests: [a.yaml]\nmatrx: {}\n", "matrx"),
            (
                "name: n\ntests: [a.yaml]\nmatrix: {seed: []}\n",
                "matrix.seed",
            ),
            (
                "name: n\ntests: [a.yaml]\nmatrix: {\"a..b\": [1]}\n",
                "a..b",
            ),
            ("name: n\ntests: [a.yaml]\nrepeat: 0\n", "repeat"),
            (
                "name: n\ntests: [a.yaml]\nmatrix: {seed: [1]}\nset: {seed: 2}\n",
                "both",
            ),
        ] {
            let p = d.path().join("c.yaml");
            std::fs::write(&p, yaml).unwrap();
            let e = Campaign::load(&p).unwrap_err();
            assert!(e.contains(expect) && e.contains("c.yaml"), "{yaml}: {e}");
        }
        assert!(
            parse_shard("0/2").is_err() && parse_shard("3/2").is_err() && parse_shard("x").is_err()
        );
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
    }
}
