//! What a campaign keeps on disk, under `<results>/campaigns/<name>/`:
//!
//! ```text
//! cells/<cell>.json        one record per finished cell (atomic write)
//! runs/<test>/<timestamp>/ the cells' run directories (normal runs)
//! summary.json             the last invocation's cells (summary-I-of-N.json for a shard)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How one cell's run ended. Defined beside the grid that `serve` draws
/// from these records (the `results` crate reads them; this crate writes
/// them).
pub use results::grid::CellRecord;

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
    results::grid::read_records(dir)
        .into_iter()
        .map(|r| (r.cell.clone(), r))
        .collect()
}
