//! Run directories: creating them, writing and regenerating their files,
//! and listing the runs stored under a results directory.

use crate::summary::{CheckerOutput, RunInfo, RunSummary, Verdict};
use history::History;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub const HISTORY_FILE: &str = "history.jsonl";
pub const RESULTS_FILE: &str = "results.json";
pub const REPORT_FILE: &str = "report.html";
pub const JUNIT_FILE: &str = "junit.xml";
pub const TEST_FILE: &str = "test.yaml";
pub const LOG_FILE: &str = "shakedown.log";
/// Every anomaly the checkers found, a JSON object a line (`checker`,
/// `kind`, `ops`, `key` ...): results.json and the report keep examples.
pub const ANOMALIES_FILE: &str = "anomalies.jsonl";
pub const LATEST: &str = "latest";

/// Errors of this crate: which file, and what went wrong.
#[derive(Debug)]
pub enum Error {
    Io(PathBuf, io::Error),
    History(history::Error),
    Json(PathBuf, serde_json::Error),
    Missing(PathBuf, &'static str),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(p, e) => write!(f, "{}: {e}", p.display()),
            Error::History(e) => write!(f, "{e}"),
            Error::Json(p, e) => write!(f, "{}: {e}", p.display()),
            Error::Missing(p, what) => write!(f, "{}: {what}", p.display()),
        }
    }
}

impl std::error::Error for Error {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |e| Error::Io(path.to_path_buf(), e)
}

/// A test name made safe as one directory name: letters, digits, `-`,
/// `_` and `.` kept, anything else `_`; never empty, `.` or `..`.
pub fn safe_name(test: &str) -> String {
    let s: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.trim_matches('.') {
        "" => "test".to_string(),
        _ => s,
    }
}

/// One run's directory, `<results>/<test>/<timestamp>/`.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `<results>/<test>/<timestamp>/` for a run starting at
    /// `start_unix_ms` and points `<results>/latest` and
    /// `<results>/<test>/latest` at it. Two runs in the same millisecond
    /// get `-1`, `-2` ... suffixes.
    pub fn create(results: &Path, test: &str, start_unix_ms: u64) -> Result<RunDir, Error> {
        let test_dir = results.join(safe_name(test));
        fs::create_dir_all(&test_dir).map_err(io_err(&test_dir))?;
        let stamp = crate::time::run_stamp(start_unix_ms);
        let mut path = test_dir.join(&stamp);
        let mut n = 0;
        loop {
            match fs::create_dir(&path) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => {
                    n += 1;
                    path = test_dir.join(format!("{stamp}-{n}"));
                }
                Err(e) => return Err(Error::Io(path, e)),
            }
        }
        let name = path.file_name().unwrap().to_owned();
        let rel = Path::new(test_dir.file_name().unwrap()).join(&name);
        point_latest(&results.join(LATEST), &rel)?;
        point_latest(&test_dir.join(LATEST), Path::new(&name))?;
        Ok(RunDir { path })
    }

    /// An existing run directory.
    pub fn open(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// Replaces the symlink `link` with one to `target` (relative), atomically
/// where the platform allows.
fn point_latest(link: &Path, target: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let tmp = link.with_extension(format!("tmp{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp).map_err(io_err(&tmp))?;
        fs::rename(&tmp, link).map_err(io_err(link))?;
    }
    #[cfg(not(unix))]
    {
        let _ = (link, target);
    }
    Ok(())
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename, so
/// a reader (or `serve`) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = BufWriter::new(fs::File::create(&tmp).map_err(io_err(&tmp))?);
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.flush().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// Writes a history as `history.jsonl` in `dir`.
pub fn write_history(dir: &Path, history: &History) -> Result<(), Error> {
    let path = dir.join(HISTORY_FILE);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let file = fs::File::create(&tmp).map_err(io_err(&tmp))?;
    let mut w = history::jsonl::JsonlWriter::new(BufWriter::with_capacity(1 << 16, file));
    for op in history.ops() {
        w.write(op).map_err(io_err(&tmp))?;
    }
    w.flush().map_err(io_err(&tmp))?;
    drop(w);
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// Writes `results.json`, `junit.xml` and `report.html` of a run whose
/// summary is computed.
pub fn write_results(dir: &Path, summary: &RunSummary, history: &History) -> Result<(), Error> {
    let json =
        serde_json::to_vec_pretty(summary).map_err(|e| Error::Json(dir.join(RESULTS_FILE), e))?;
    write_atomic(&dir.join(RESULTS_FILE), &json)?;
    write_atomic(
        &dir.join(JUNIT_FILE),
        crate::junit::render(summary).as_bytes(),
    )?;
    let html = crate::report::render(summary, history);
    write_atomic(&dir.join(REPORT_FILE), html.as_bytes())
}

/// Everything a run directory needs after the run: `history.jsonl` (unless
/// the runner already wrote it), `results.json`, `junit.xml`, `report.html`.
/// Returns the summary (its `valid` is the run's verdict).
///
/// This is what `shakedown check --out DIR` and the runner call once the
/// checkers are done.
pub fn write_run(
    dir: &Path,
    info: &RunInfo,
    history: &History,
    checkers: Vec<CheckerOutput>,
) -> Result<RunSummary, Error> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    if !dir.join(HISTORY_FILE).exists() {
        write_history(dir, history)?;
    }
    write_anomalies(dir, &checkers)?;
    let summary = RunSummary::new(info, history, checkers);
    write_results(dir, &summary, history)?;
    Ok(summary)
}

/// `anomalies.jsonl`: every anomaly of every checker that lists them, a
/// line each with the checker's name first; no file when there are none
/// (and none left from an earlier check into the same directory).
/// `shakedown report` leaves it alone: stored results carry only examples.
fn write_anomalies(dir: &Path, checkers: &[CheckerOutput]) -> Result<(), Error> {
    let path = dir.join(ANOMALIES_FILE);
    if checkers.iter().all(|c| c.every_anomaly.is_empty()) {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&path)(e)),
            _ => Ok(()),
        };
    }
    #[derive(serde::Serialize)]
    struct Line<'a> {
        checker: &'a str,
        #[serde(flatten)]
        record: &'a checkers::result::AnomalyRecord,
    }
    let mut out = Vec::new();
    for c in checkers {
        for record in &c.every_anomaly {
            serde_json::to_writer(
                &mut out,
                &Line {
                    checker: &c.name,
                    record,
                },
            )
            .map_err(|e| Error::Json(path.clone(), e))?;
            out.push(b'\n');
        }
    }
    write_atomic(&path, &out)
}

/// Reads `results.json` of a run directory.
pub fn read_summary(dir: &Path) -> Result<RunSummary, Error> {
    let path = dir.join(RESULTS_FILE);
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Json(path, e))
}

/// The history file of a run directory: `history.jsonl`, or else a
/// `history.edn` / `history.log` from an imported Jepsen run.
pub fn history_path(dir: &Path) -> Option<PathBuf> {
    ["history.jsonl", "history.edn", "history.log", "history.txt"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// `shakedown report RUN_DIR`: re-reads the history and `results.json`,
/// recomputes the statistics and faults from the history, keeps the
/// stored checker results, and rewrites `results.json`, `junit.xml` and
/// `report.html`. Without a `results.json` the report shows the history
/// with an `unknown` verdict (no checker ran).
pub fn regenerate(dir: &Path) -> Result<RunSummary, Error> {
    let hpath = history_path(dir).ok_or_else(|| {
        Error::Missing(
            dir.to_path_buf(),
            "no history.jsonl (or history.edn) in this directory: is it a run directory?",
        )
    })?;
    let history = history::read_file(&hpath, None).map_err(Error::History)?;
    let (info, checkers) = if dir.join(RESULTS_FILE).is_file() {
        let old = read_summary(dir)?;
        (old.info(), old.checkers)
    } else {
        let test = dir
            .parent()
            .and_then(|p| p.file_name())
            .map_or("test".to_string(), |n| n.to_string_lossy().into_owned());
        (
            RunInfo {
                test,
                ..RunInfo::default()
            },
            Vec::new(),
        )
    };
    let summary = RunSummary::new(&info, &history, checkers);
    write_results(dir, &summary, &history)?;
    Ok(summary)
}

/// A stored run, as the `serve` index lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunEntry {
    /// Path relative to the results directory, `/`-separated: `etcd/20261122T053000.123Z`.
    pub path: String,
    /// The campaign that ran it, for a run under `campaigns/<campaign>/runs/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    pub test: String,
    pub stamp: String,
    pub valid: Option<Verdict>,
    pub start_time: Option<String>,
    pub duration_s: Option<f64>,
    pub faults: Vec<String>,
    pub ops: Option<usize>,
    /// Cut short by a signal (results.json says so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Why the run has no readable results.json.
    pub problem: Option<String>,
}

/// Every run directory `<results>/<test>/<timestamp>/` (one holding a
/// `results.json` or a history), and every campaign's,
/// `<results>/campaigns/<campaign>/runs/<test>/<timestamp>/`, newest
/// first. Symlinks (`latest`) are skipped so no run is listed twice.
pub fn list_runs(results: &Path) -> Vec<RunEntry> {
    let mut runs = Vec::new();
    scan_runs(results, "", None, &mut runs);
    if let Ok(campaigns) = fs::read_dir(results.join("campaigns")) {
        for c in campaigns.flatten() {
            if !c.file_type().is_ok_and(|ft| ft.is_dir()) {
                continue;
            }
            let name = c.file_name().to_string_lossy().into_owned();
            scan_runs(
                &c.path().join("runs"),
                &format!("campaigns/{name}/runs/"),
                Some(&name),
                &mut runs,
            );
        }
    }
    // Newest first: by start time when known, else by the directory stamp
    // (which sorts chronologically as text).
    runs.sort_by(|a, b| {
        let ka = a
            .start_time
            .as_deref()
            .map(stamp_key)
            .unwrap_or_else(|| a.stamp.clone());
        let kb = b
            .start_time
            .as_deref()
            .map(stamp_key)
            .unwrap_or_else(|| b.stamp.clone());
        kb.cmp(&ka).then_with(|| b.path.cmp(&a.path))
    });
    runs
}

/// The runs `<dir>/<test>/<timestamp>/`, their paths `prefix` + `test/stamp`.
fn scan_runs(dir: &Path, prefix: &str, campaign: Option<&str>, runs: &mut Vec<RunEntry>) {
    let Ok(tests) = fs::read_dir(dir) else {
        return;
    };
    for t in tests.flatten() {
        if !t.file_type().is_ok_and(|ft| ft.is_dir()) {
            continue;
        }
        let Ok(stamps) = fs::read_dir(t.path()) else {
            continue;
        };
        for r in stamps.flatten() {
            if !r.file_type().is_ok_and(|ft| ft.is_dir()) {
                continue;
            }
            let dir = r.path();
            let has_results = dir.join(RESULTS_FILE).is_file();
            if !has_results && history_path(&dir).is_none() {
                continue;
            }
            let test_name = t.file_name().to_string_lossy().into_owned();
            let stamp = r.file_name().to_string_lossy().into_owned();
            let mut entry = RunEntry {
                path: format!("{prefix}{test_name}/{stamp}"),
                campaign: campaign.map(str::to_string),
                test: test_name,
                stamp,
                valid: None,
                start_time: None,
                duration_s: None,
                faults: Vec::new(),
                ops: None,
                interrupted: false,
                problem: None,
            };
            if has_results {
                match read_summary(&dir) {
                    Ok(s) => {
                        entry.test = s.test;
                        entry.valid = Some(s.valid);
                        entry.start_time = s.start_time;
                        entry.duration_s = s.duration_s;
                        let mut names: Vec<String> = Vec::new();
                        for f in s.faults {
                            if !names.contains(&f.name) {
                                names.push(f.name);
                            }
                        }
                        entry.faults = names;
                        entry.ops = Some(s.ops.ops);
                        entry.interrupted = s.interrupted;
                    }
                    Err(e) => entry.problem = Some(e.to_string()),
                }
            } else {
                entry.problem = Some("no results.json (not checked yet?)".into());
            }
            runs.push(entry);
        }
    }
}

/// `2026-11-22T05:30:00.123Z` -> `20261122T053000.123Z`, comparable with stamps.
fn stamp_key(rfc: &str) -> String {
    rfc.chars().filter(|c| *c != '-' && *c != ':').collect()
}
