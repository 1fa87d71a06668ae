//! One JUnit testcase per run of a campaign, named by test and cell: CI
//! systems show each cell's verdict and link to its run directory.

use crate::record::CellRecord;
use results::junit::xml_escape;

/// A JUnit document for the records of one invocation (or shard).
pub fn render(campaign: &str, records: &[CellRecord]) -> String {
    let failures = records.iter().filter(|r| r.verdict == "invalid").count();
    let errors = records
        .iter()
        .filter(|r| matches!(r.verdict.as_str(), "unknown" | "error"))
        .count();
    let time: f64 = records.iter().map(|r| r.duration_s).sum();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{n}\" tests=\"{t}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">\n  <testsuite name=\"{n}\" tests=\"{t}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">\n",
        n = xml_escape(campaign),
        t = records.len(),
    );
    for r in records {
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
        match r.verdict.as_str() {
            "valid" => {}
            "invalid" => x.push_str(&format!(
                "      <failure message=\"invalid\">{}</failure>\n",
                xml_escape(&format!("the checker found the history invalid{where_}"))
            )),
            other => x.push_str(&format!(
                "      <error message=\"{}\">{}</error>\n",
                xml_escape(other),
                xml_escape(&format!(
                    "{}{where_}",
                    if other == "unknown" {
                        "the verdict is unknown"
                    } else {
                        "the harness failed (see the campaign's output)"
                    }
                ))
            )),
        }
        if let Some(d) = &r.run_dir {
            x.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml_escape(&format!("{d}/report.html"))
            ));
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
