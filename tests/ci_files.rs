//! The ready-to-use CI files are valid and say what the README says:
//! `.github/workflows/nightly.yml` (a scheduled workflow, a matrix of N
//! shards, artifacts, a merge job) and `deploy/kubernetes/campaign-job.yaml`
//! (an Indexed Job of N privileged pods). Each is parsed; their structure
//! is checked; every command they run appears in the README, the
//! documentation of record; the shakedown commands are accepted by the
//! binary; and the campaign file they run lists its cells. No root needed.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shakedown() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shakedown"));
    c.current_dir(repo());
    c
}

fn yaml(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs of spaces and newlines as one space.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn readme() -> String {
    squeeze(&std::fs::read_to_string(repo().join("README.md")).unwrap())
}

fn assert_in_readme(what: &str, line: &str) {
    let line = squeeze(line);
    assert!(
        readme().contains(&line),
        "{what} runs `{line}`, which the README does not document"
    );
}

/// The `shakedown SUBCOMMAND ...` commands in a script, each from
/// `shakedown` to the end of its line (an `exec` before it dropped).
fn shakedown_commands(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in script.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let next = words.get(i + 1).copied().unwrap_or("");
            if *w == "shakedown" && next.chars().all(|c| c.is_ascii_lowercase()) && !next.is_empty()
            {
                out.push(words[i..].join(" ").trim_end_matches('\'').to_string());
                break;
            }
        }
    }
    out
}

/// The N of `--shard .../N` in a command (the I may be `${{ matrix.shard }}`).
fn shard_count(command: &str) -> usize {
    let (_, rest) = command
        .split_once("--shard ")
        .unwrap_or_else(|| panic!("no --shard in {command}"));
    let arg = rest.split(" --").next().unwrap().trim().trim_matches('"');
    arg.rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("--shard {arg}: expected I/N"))
}

fn steps(job: &Value) -> &Vec<Value> {
    job["steps"].as_array().expect("steps")
}

fn uses<'a>(job: &'a Value, action: &str) -> Vec<&'a Value> {
    steps(job)
        .iter()
        .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
        .collect()
}

fn run_scripts(job: &Value) -> Vec<&str> {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect()
}

#[test]
fn the_nightly_workflow_is_a_scheduled_matrix_of_shards_and_a_merge() {
    let docs = yaml(".github/workflows/nightly.yml");
    assert_eq!(docs.len(), 1);
    let w = &docs[0];
    // `on` is a key here (YAML 1.2), not the boolean YAML 1.1 made of it.
    let cron = w["on"]["schedule"][0]["cron"]
        .as_str()
        .expect("on.schedule[0].cron");
    assert_eq!(cron.split_whitespace().count(), 5, "cron {cron:?}");
    let jobs = &w["jobs"];

    // The shards: a matrix 1..=N, each privileged, running shard I of N
    // and uploading its results even when the campaign failed.
    let shard = &jobs["shard"];
    let list: Vec<u64> = shard["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("matrix.shard")
        .iter()
        .map(|v| v.as_u64().expect("shard numbers"))
        .collect();
    let n = list.len();
    assert!(n >= 2, "{list:?}");
    assert_eq!(list, (1..=n as u64).collect::<Vec<_>>());
    assert_eq!(
        shard["strategy"]["fail-fast"], false,
        "one bad shard must not cancel the rest"
    );
    assert!(
        shard["container"]["options"]
            .as_str()
            .is_some_and(|o| o.contains("--privileged")),
        "network namespaces need a privileged container"
    );
    let campaign: Vec<String> = run_scripts(shard)
        .iter()
        .flat_map(|s| shakedown_commands(s))
        .filter(|c| c.starts_with("shakedown campaign "))
        .collect();
    assert_eq!(campaign.len(), 1, "{campaign:?}");
    let campaign = &campaign[0];
    assert!(
        campaign.contains("--shard ${{ matrix.shard }}/"),
        "{campaign}"
    );
    assert_eq!(
        shard_count(campaign),
        n,
        "--shard I/N with N = the matrix's size"
    );
    assert!(campaign.contains("--results results") && campaign.contains("--junit results/"));
    let upload = uses(shard, "actions/upload-artifact");
    assert_eq!(upload.len(), 1);
    assert_eq!(upload[0]["if"], "always()");
    assert!(upload[0]["with"]["name"]
        .as_str()
        .unwrap()
        .contains("${{ matrix.shard }}"));
    assert!(upload[0]["with"]["path"]
        .as_str()
        .unwrap()
        .contains("results/"));

    // The merge: after every shard, whatever they did; it downloads their
    // artifacts and merges them against the campaign file.
    let merge = &jobs["merge"];
    assert_eq!(merge["needs"], "shard");
    assert_eq!(merge["if"], "always()");
    assert!(uses(merge, "actions/download-artifact")
        .iter()
        .any(|s| s["with"]["pattern"] == "results-shard-*"));
    let merges: Vec<String> = run_scripts(merge)
        .iter()
        .flat_map(|s| shakedown_commands(s))
        .collect();
    assert_eq!(merges.len(), 1, "{merges:?}");
    assert!(merges[0].starts_with("shakedown merge shards/* --out merged --campaign "));

    // Every line the workflow runs is in the README.
    for (name, job) in jobs.as_object().unwrap() {
        for script in run_scripts(job) {
            for line in script.lines().filter(|l| !l.trim().is_empty()) {
                if name != "build" {
                    assert_in_readme(&format!("nightly.yml job {name}"), line);
                }
            }
        }
    }
}

#[test]
fn the_kubernetes_job_is_indexed_privileged_and_shards_by_completion_index() {
    let docs = yaml("deploy/kubernetes/campaign-job.yaml");
    let job = docs
        .iter()
        .find(|d| d["kind"] == "Job")
        .expect("a Job document");
    assert_eq!(job["apiVersion"], "batch/v1");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().expect("completions");
    assert_eq!(
        spec["parallelism"], spec["completions"],
        "every shard at once"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["securityContext"]["privileged"], true);
    let script: String = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        script.contains("SHARD=$((JOB_COMPLETION_INDEX + 1))"),
        "{script}"
    );
    let commands = shakedown_commands(&script);
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(commands[0].starts_with("shakedown campaign "));
    assert!(commands[0].contains("--shard \"$SHARD/"));
    assert_eq!(
        shard_count(&commands[0]) as u64,
        n,
        "--shard I/N with N = completions"
    );
    // Results on the claimed volume, a directory per shard.
    let mount = &c["volumeMounts"][0];
    assert!(commands[0].contains(&format!(
        "--results \"{}/shard-$SHARD\"",
        mount["mountPath"].as_str().unwrap()
    )));
    let claim = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mounted volume")["persistentVolumeClaim"]["claimName"]
        .clone();
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "PersistentVolumeClaim" && d["metadata"]["name"] == claim),
        "the claim {claim} is in the manifest"
    );
    assert_in_readme("campaign-job.yaml", "SHARD=$((JOB_COMPLETION_INDEX + 1))");
    assert_in_readme("campaign-job.yaml", &commands[0]);

    // The results pod's gathering command is the README's too.
    let text = std::fs::read_to_string(repo().join("deploy/kubernetes/results-pod.yaml")).unwrap();
    let pod = &yaml("deploy/kubernetes/results-pod.yaml")[0];
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        claim
    );
    let gather: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#   kubectl"))
        .collect();
    assert_eq!(gather.len(), 2);
    for g in gather {
        assert_in_readme("results-pod.yaml", &format!("kubectl{g}"));
    }
}

#[test]
fn the_nightly_campaign_lists_its_cells_whole_and_by_shard() {
    let list = |shard: Option<String>| -> Vec<String> {
        let mut cmd = shakedown();
        cmd.args(["campaign", "examples/campaign-nightly.yaml", "--list"]);
        if let Some(s) = shard {
            cmd.args(["--shard", &s]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    let all = list(None);
    assert_eq!(all.len(), 8, "2 tests x 2 seeds x 2 fault sets: {all:?}");
    let mut union = Vec::new();
    for i in 1..=4 {
        let part = list(Some(format!("{i}/4")));
        assert_eq!(part.len(), 2, "shard {i}/4: {part:?}");
        union.extend(part);
    }
    union.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(union, sorted);
}

/// The workflow's own commands, as it writes them (matrix value 1), are
/// accepted: the shard's campaign with `--list`, and the merge, which
/// over shards that ran nothing names every cell not run and is no pass.
#[test]
fn the_workflow_commands_are_accepted_and_merging_nothing_is_not_a_pass() {
    let w = &yaml(".github/workflows/nightly.yml")[0];
    let commands: Vec<String> = ["shard", "merge"]
        .iter()
        .flat_map(|j| {
            run_scripts(&w["jobs"][j])
                .into_iter()
                .flat_map(shakedown_commands)
                .collect::<Vec<_>>()
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().display().to_string();
    for c in &commands {
        let c = c
            .replace("${{ matrix.shard }}", "1")
            .replace("\"$GITHUB_STEP_SUMMARY\"", &format!("{t}/summary.md"))
            .replace("--results results", &format!("--results {t}/results"))
            .replace("--junit results/", &format!("--junit {t}/results/"))
            .replace("--out merged", &format!("--out {t}/merged"))
            .replace("--junit merged/", &format!("--junit {t}/merged/"))
            .replace("shards/*", &format!("{t}/shards/1 {t}/shards/2"));
        let mut words: Vec<&str> = c.split_whitespace().skip(1).collect();
        let campaign = words[0] == "campaign";
        if campaign {
            words.push("--list");
        } else {
            for s in ["shards/1", "shards/2"] {
                std::fs::create_dir_all(tmp.path().join(s)).unwrap();
            }
        }
        let out = shakedown().args(&words).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if campaign {
            assert_eq!(out.status.code(), Some(0), "{c}: {text}");
            assert_eq!(text.lines().count(), 2, "{c}: {text}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{c}: {text}");
            let md = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
            assert!(md.contains("## Campaign nightly: unknown"), "{md}");
            assert_eq!(md.matches("\n- etcd-").count(), 8, "{md}");
            let junit = std::fs::read_to_string(tmp.path().join("merged/junit.xml")).unwrap();
            // Every cell not run is an error, so no CI system shows green.
            assert!(
                junit.contains("tests=\"8\" failures=\"0\" errors=\"8\" time=\"0.000\""),
                "{junit}"
            );
        }
    }
    assert_eq!(commands.len(), 2, "{commands:?}");
}
