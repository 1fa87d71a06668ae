//! One JUnit testcase per run of a campaign, named by test and cell: CI
//! systems show each cell's verdict and link to its run directory.
//!
//! Only a valid, complete run passes. An invalid run is a failure; an
//! unknown verdict, a harness error and an interrupted run are errors
//! (whatever verdict an interrupted record claims: the run did not finish,
//! and records are files anyone can write); so is every cell that was not
//! run or whose record could not be read ([`Missing`]). A document with no
//! cell at all holds one error saying so, so an empty shard or a merge of
//! nothing never shows green.

use crate::record::CellRecord;
use results::junit::xml_escape;

/// A cell with no run to show: not run (a time budget, `--fail-fast`, a
/// signal, a shard that never ran), or a record that could not be read.
#[derive(Clone, Debug)]
pub struct Missing {
    pub cell: String,
    /// The test file as named in the campaign (empty when not known).
    pub test: String,
    /// The error's message attribute: `not run`, `unknown`.
    pub message: String,
    /// Why, in words.
    pub why: String,
}

impl Missing {
    pub fn not_run(cell: &str, test: &str, why: &str) -> Missing {
        Missing {
            cell: cell.into(),
            test: test.into(),
            message: "not run".into(),
            why: why.into(),
        }
    }
}

/// A JUnit document for the records of one invocation (or shard), and
/// the cells it has no run of.
pub fn render(campaign: &str, records: &[CellRecord], missing: &[Missing]) -> String {
    let outcomes: Vec<Outcome> = records.iter().map(outcome).collect();
    let nothing = records.is_empty() && missing.is_empty();
    let failures = outcomes.iter().filter(|o| o.failure).count();
    let errors = outcomes.iter().filter(|o| o.error).count() + missing.len() + nothing as usize;
    // `+ 0.0`: an empty float sum is -0.0, which would print as "-0.000".
    let time: f64 = records.iter().map(|r| r.duration_s).sum::<f64>() + 0.0;
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{n}\" tests=\"{t}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">\n  <testsuite name=\"{n}\" tests=\"{t}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">\n",
        n = xml_escape(campaign),
        t = records.len() + missing.len() + nothing as usize,
    );
    for (r, o) in records.iter().zip(&outcomes) {
        x.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">\n",
            xml_escape(&format!("{campaign}.{}", r.test)),
            xml_escape(&r.cell),
            r.duration_s
        ));
        let where_ = r
            .run_dir
            .as_deref()
            .map(|d| format!(" (run directory {d})"))
            .unwrap_or_default();
        if let Some((tag, message, text)) = &o.element {
            x.push_str(&format!(
                "      <{tag} message=\"{}\">{}</{tag}>\n",
                xml_escape(message),
                xml_escape(&format!("{text}{where_}"))
            ));
        }
        if let Some(d) = &r.run_dir {
            x.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml_escape(&format!("{d}/report.html"))
            ));
        }
        x.push_str("    </testcase>\n");
    }
    for m in missing {
        x.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">\n      <error message=\"{}\">{}</error>\n    </testcase>\n",
            xml_escape(&if m.test.is_empty() { campaign.to_string() } else { format!("{campaign}.{}", m.test) }),
            xml_escape(&m.cell),
            xml_escape(&m.message),
            xml_escape(&m.why),
        ));
    }
    if nothing {
        x.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"no cell\" time=\"0.000\">\n      <error message=\"no cell\">no cell of the campaign was run: nothing was tested</error>\n    </testcase>\n",
            xml_escape(campaign)
        ));
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

struct Outcome {
    failure: bool,
    error: bool,
    /// The child element: tag, message attribute, text.
    element: Option<(&'static str, String, String)>,
}

fn outcome(r: &CellRecord) -> Outcome {
    let (failure, error, element) = match (r.verdict.as_str(), r.interrupted) {
        ("valid", false) => (false, false, None),
        // The part that ran found an anomaly: that stands.
        ("invalid", interrupted) => (
            true,
            false,
            Some((
                "failure",
                "invalid".to_string(),
                format!(
                    "the checker found the history invalid{}",
                    if interrupted {
                        " (the run was interrupted)"
                    } else {
                        ""
                    }
                ),
            )),
        ),
        (_, true) => (
            false,
            true,
            Some((
                "error",
                "interrupted".to_string(),
                "the run was interrupted before it finished: nothing was proved".to_string(),
            )),
        ),
        ("unknown", false) => (
            false,
            true,
            Some(("error", "unknown".into(), "the verdict is unknown".into())),
        ),
        (other, false) => (
            false,
            true,
            Some((
                "error",
                other.to_string(),
                "the harness failed (see the campaign's output)".to_string(),
            )),
        ),
    };
    Outcome {
        failure,
        error,
        element,
    }
}
