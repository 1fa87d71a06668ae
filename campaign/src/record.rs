//! What a campaign keeps on disk, under `<results>/campaigns/<name>/`:
//!
//! ```text
//! cells/<cell>.json        one record per finished cell (atomic write)
//! runs/<test>/<timestamp>/ the cells' run directories (normal runs)
//! summary.json             the last invocation's cells (summary-I-of-N.json for a shard)
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How one cell's run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CellRecord {
    pub campaign: String,
    pub cell: String,
    pub test: String,
    pub settings: BTreeMap<String, serde_json::Value>,
    pub repeat: u32,
    /// `valid`, `invalid`, `unknown`, or `error` (the harness failed).
    pub verdict: String,
    pub exit_code: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
    pub duration_s: f64,
    /// Stopped by a signal: run again on resume.
    #[serde(default)]
    pub interrupted: bool,
}

impl CellRecord {
    /// A run that finished with a verdict: a resumed campaign skips it.
    pub fn complete(&self) -> bool {
        !self.interrupted && matches!(self.verdict.as_str(), "valid" | "invalid" | "unknown")
    }
}

/// The campaign's directory under a results directory.
pub fn campaign_dir(results: &Path, name: &str) -> PathBuf {
    results
        .join("campaigns")
        .join(results::rundir::safe_name(name))
}

/// Writes a cell's record.
pub fn save(dir: &Path, record: &CellRecord) -> Result<(), String> {
    let path = dir
        .join("cells")
        .join(format!("{}.json", crate::slug(&record.cell)));
    std::fs::create_dir_all(path.parent().unwrap())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
    results::rundir::write_atomic(&path, &json).map_err(|e| e.to_string())
}

/// Every record in the campaign directory, by cell id (unreadable files
/// are skipped: their cells simply run again).
pub fn load_all(dir: &Path) -> BTreeMap<String, CellRecord> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join("cells")) else {
        return out;
    };
    for e in entries.flatten() {
        if let Ok(bytes) = std::fs::read(e.path()) {
            if let Ok(r) = serde_json::from_slice::<CellRecord>(&bytes) {
                out.insert(r.cell.clone(), r);
            }
        }
    }
    out
}
