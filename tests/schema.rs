//! The JSON Schemas of the test and campaign files (`shakedown schema
//! test|campaign`) and the reference written from them (`shakedown man
//! shakedown-test`, `docs/test-file.md`) say what the parser accepts:
//!
//! - every YAML file in `examples/` validates against its schema
//!   (python3-jsonschema, Draft 7, as editors read it);
//! - every key the schema lists is accepted by the parser (a file with it
//!   set parses, and validates), every value of an enumeration too, and
//!   each map's keys are exactly the keys the parser names when it refuses
//!   an unknown one; every map of the schema is closed
//!   (`additionalProperties: false`) as the parser is (`deny_unknown_fields`);
//! - docs/test-file.md is the generated reference, byte for byte.
//!
//! No root needed; python3 with `jsonschema` is (Debian's
//! python3-jsonschema, installed by scripts/setup).

use runner::reference::{self, Section, Step};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shakedown(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "shakedown {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn schema(file: &str) -> Value {
    serde_json::from_str(&shakedown(&["schema", file])).unwrap()
}

/// The interpreter Debian's python3-jsonschema is installed for.
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

const VALIDATE: &str = r#"
import json, sys
import jsonschema
req = json.load(sys.stdin)
v = jsonschema.Draft7Validator
v.check_schema(req["schema"])
val = v(req["schema"])
out = []
for name, doc in req["docs"]:
    out.append([name, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in val.iter_errors(doc)]])
json.dump(out, sys.stdout)
"#;

/// Each document's schema errors (none: it validates).
fn validate(schema: &Value, docs: &[(String, Value)]) -> Vec<(String, Vec<String>)> {
    let mut child = Command::new(python())
        .args(["-c", VALIDATE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; scripts/setup installs python3 and python3-jsonschema",
                python()
            )
        });
    let req = json!({"schema": schema, "docs": docs.iter().map(|(n, d)| json!([n, d])).collect::<Vec<_>>()});
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the validator failed (is python3-jsonschema installed? scripts/setup installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// Parses a test file as `shakedown run` does, up to the checks that need
/// the files and nodes it names (`TestFile::validate`).
fn parse_test(text: &str) -> Result<(), String> {
    serde_saphyr::from_str::<runner::test_file::TestFile>(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn parse_campaign(text: &str) -> Result<(), String> {
    serde_saphyr::from_str::<campaign::Campaign>(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn every_example_validates_against_its_schema() {
    let mut files = Vec::new();
    yaml_files(&repo().join("examples"), &mut files);
    files.sort();
    let (mut tests, mut campaigns) = (Vec::new(), Vec::new());
    let mut bad_input = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let doc: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.strip_prefix(repo()).unwrap().display().to_string();
        // An example of bad input (its first line says so) is refused by
        // the parser, and so by the schema.
        if text.starts_with("# Bad input") {
            assert!(parse_test(&text).is_err(), "{name}: the parser takes it");
            bad_input.push((name, doc));
            continue;
        }
        // A campaign file lists `tests`; a test file has a `target`.
        if doc.get("tests").is_some() {
            parse_campaign(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            campaigns.push((name, doc));
        } else {
            parse_test(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            tests.push((name, doc));
        }
    }
    assert!(
        tests.len() >= 20 && !campaigns.is_empty(),
        "{tests:?} {campaigns:?}"
    );
    for (schema, docs) in [(schema("test"), &tests), (schema("campaign"), &campaigns)] {
        let bad: Vec<_> = validate(&schema, docs)
            .into_iter()
            .filter(|(_, e)| !e.is_empty())
            .collect();
        assert!(bad.is_empty(), "examples the schema refuses: {bad:#?}");
    }
    assert!(!bad_input.is_empty());
    for (name, errors) in validate(&schema("test"), &bad_input) {
        assert!(
            !errors.is_empty(),
            "{name}: bad input, but the schema takes it"
        );
    }
}

/// A document of `schema` reaching `section`: the least the schema
/// requires on the way, the section's own example (when it has one) at
/// its place. Returns the document and the section's map within it, as a
/// JSON pointer.
fn reach(root: &Value, section: &Section) -> (Value, String) {
    let mut doc = reference::minimal(root, root);
    let mut at = String::new();
    let mut sch = reference::resolve(root, root);
    for step in &section.steps {
        match step {
            Step::Key(k) => {
                sch = reference::resolve(root, &sch["properties"][k]);
                at = format!("{at}/{k}");
                let here = doc.pointer_mut(at.rsplit_once('/').unwrap().0).unwrap();
                here[k] = reference::minimal(root, &sch);
            }
            Step::Form(i) => {
                sch = reference::resolve(root, &reference::branches(&sch).unwrap()[*i]);
                *doc.pointer_mut(&at).unwrap() = reference::minimal(root, &sch);
            }
            Step::Items => {
                sch = reference::resolve(root, &sch["items"]);
                *doc.pointer_mut(&at).unwrap() = json!([reference::minimal(root, &sch)]);
                at = format!("{at}/0");
            }
        }
    }
    if let Some(ex) = &section.example {
        let here = doc.pointer_mut(&at).unwrap();
        for (k, v) in ex.as_object().unwrap() {
            here[k] = v.clone();
        }
    }
    (doc, at)
}

/// The field names a serde error for an unknown field says it expected
/// (`unknown field `x`, expected one of a, b, c`, to the end of the line).
fn expected_fields(err: &str) -> Option<Vec<String>> {
    let line = err.lines().find(|l| l.contains("unknown field"))?;
    let rest = &line[line.find("expected ")? + "expected ".len()..];
    let list = rest.strip_prefix("one of").unwrap_or(rest);
    let mut names: Vec<String> = list
        .split(',')
        .flat_map(|s| s.split(" or "))
        .map(|s| s.trim().trim_matches('`').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    names.sort();
    Some(names)
}

/// Every key of every section parses with its example (and every value
/// of an enumeration), and validates; an unknown key is refused by both,
/// and the parser's list of known keys is the section's.
fn keys_match_the_parser(file: &str, parse: fn(&str) -> Result<(), String>) {
    let root = schema(file);
    let sections = reference::sections(&root);
    assert!(!sections.is_empty());
    let mut docs: Vec<(String, Value)> = Vec::new();
    let mut refused: Vec<(String, Value)> = Vec::new();
    let mut failures = Vec::new();
    for s in &sections {
        let title = format!("{file} {} {:?}", s.path, s.forms);
        if !s.closed {
            failures.push(format!("{title}: the schema allows keys it does not list (no `additionalProperties: false`)"));
        }
        let (base, at) = reach(&root, s);
        let mut try_doc = |name: String, doc: Value, failures: &mut Vec<String>| {
            if let Err(e) = parse(&doc.to_string()) {
                failures.push(format!("{name}: the parser refuses {doc}: {e}"));
            }
            docs.push((name, doc));
        };
        try_doc(
            format!("{title} (its example)"),
            base.clone(),
            &mut failures,
        );
        for k in &s.keys {
            let mut values = vec![k.example.clone()];
            let is_list = k.schema.get("type") == Some(&json!("array"));
            let enum_of = if is_list {
                k.schema.get("items").map(|i| reference::resolve(&root, i))
            } else {
                Some(k.schema.clone())
            };
            if let Some(vs) = enum_of.and_then(|e| reference::enum_values(&root, &e)) {
                for (v, _) in vs {
                    values.push(if is_list { json!([v]) } else { v });
                }
            }
            for v in values {
                let mut doc = base.clone();
                doc.pointer_mut(&at).unwrap()[&k.name] = v.clone();
                try_doc(
                    format!("{title}: {}: {}", k.name, reference::inline(&v)),
                    doc,
                    &mut failures,
                );
            }
        }
        for (old, key) in &s.aliases {
            let k = s.keys.iter().find(|k| &k.name == key).unwrap();
            let mut doc = base.clone();
            let here = doc.pointer_mut(&at).unwrap();
            here.as_object_mut().unwrap().remove(key);
            here[old] = k.example.clone();
            try_doc(format!("{title}: {old} (old spelling)"), doc, &mut failures);
        }
        // An unknown key: refused by the parser, which names the keys it
        // knows: the section's (less the tag, which serde takes first).
        let mut doc = base.clone();
        doc.pointer_mut(&at).unwrap()["zz-not-a-key"] = json!(1);
        match parse(&doc.to_string()) {
            Ok(()) => failures.push(format!("{title}: the parser takes an unknown key: {doc}")),
            // A map of one key (`{env: VAR}`) is refused whole.
            Err(_) if s.brief => {}
            Err(e) if !e.contains("zz-not-a-key") => failures.push(format!(
                "{title}: refused, but not for the unknown key: {e}"
            )),
            Err(e) => {
                let mut ours: Vec<String> = s
                    .keys
                    .iter()
                    .filter(|k| !(k.required && reference::fixed(&k.schema).is_some()))
                    .map(|k| k.name.clone())
                    .chain(s.aliases.iter().map(|(old, _)| old.clone()))
                    .collect();
                ours.sort();
                // A key of several forms may be read as one map of every
                // form's keys, the mix refused after: its forms' keys.
                let mut siblings: Vec<String> = sections
                    .iter()
                    .filter(|o| {
                        o.path == s.path
                            && o.forms[..o.forms.len().saturating_sub(1)]
                                == s.forms[..s.forms.len().saturating_sub(1)]
                    })
                    .flat_map(|o| o.keys.iter().map(|k| k.name.clone()))
                    .collect();
                siblings.sort();
                siblings.dedup();
                match expected_fields(&e) {
                    Some(theirs) if theirs == ours || theirs == siblings => {}
                    Some(theirs) => failures.push(format!(
                        "{title}: the parser knows {theirs:?}, the schema lists {ours:?}"
                    )),
                    None => failures.push(format!("{title}: no list of known keys in: {e}")),
                }
            }
        }
        refused.push((format!("{title} with zz-not-a-key"), doc));
    }
    for (name, errors) in validate(&root, &docs) {
        if !errors.is_empty() {
            failures.push(format!(
                "{name}: the schema refuses what the parser takes: {errors:?}"
            ));
        }
    }
    for (name, errors) in validate(&root, &refused) {
        if errors.is_empty() {
            failures.push(format!("{name}: the schema takes an unknown key"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_test_file_schema_lists_the_keys_the_parser_accepts() {
    keys_match_the_parser("test", parse_test);
}

#[test]
fn the_campaign_file_schema_lists_the_keys_the_parser_accepts() {
    keys_match_the_parser("campaign", parse_campaign);
}

/// Values the reader refuses for their form are refused by the schema
/// too, and the ones it takes are taken (durations, targets, numbers).
#[test]
fn the_schema_refuses_what_the_reader_refuses() {
    let root = schema("test");
    let base = json!({"name": "t", "target": "etcd", "cluster": {"local": 3}, "workload": {"name": "register"}});
    let with = |k: &str, v: Value| {
        let mut d = base.clone();
        d[k] = v;
        d
    };
    let mut good = vec![("base".to_string(), base.clone())];
    for d in [
        "90", "90s", "1.5m", "500ms", "2h", "1e3s", ".5s", "10min", " 5 s",
    ] {
        good.push((format!("time-limit {d:?}"), with("time-limit", json!(d))));
    }
    good.push(("time-limit 90".into(), with("time-limit", json!(90))));
    good.push(("recovery-time 0".into(), with("recovery-time", json!(0))));
    let mut bad = Vec::new();
    for d in ["soon", "5d", "-1s", "s", "", "5s "] {
        bad.push((format!("time-limit {d:?}"), with("time-limit", json!(d))));
    }
    for (k, v) in [
        ("time-limit", json!(0)),
        ("time-limit", json!(604801)),
        ("op-timeout", json!(86401)),
        ("rate", json!(0)),
        ("rate", json!(2e6)),
        ("concurrency", json!(0)),
        ("target", json!("mongo")),
        ("target", json!("process")),
        ("workload", json!({"name": "register", "keyz": 1})),
        (
            "workload",
            json!({"name": "list-append", "consistency": ["snapshot"]}),
        ),
        ("nemesis", json!({"faults": ["partition"], "interval": 0})),
        ("nemesis", json!({"clock": {"targets": ["primaries"]}})),
    ] {
        bad.push((format!("{k}: {v}"), with(k, v)));
    }
    // Read as `shakedown run` reads, every check included.
    let read = |doc: &Value| {
        runner::test_file::TestFile::parse_in(&doc.to_string(), Path::new(".")).map(|_| ())
    };
    for (name, doc) in &good {
        read(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, doc) in &bad {
        assert!(read(doc).is_err(), "the parser takes {name}");
    }
    for (name, errors) in validate(&root, &good) {
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
    for (name, errors) in validate(&root, &bad) {
        assert!(!errors.is_empty(), "the schema takes {name}");
    }
}

/// Numbers as f64, so `10` and `10.0` compare equal.
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_f64).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The reference writes values as YAML flow (`[a, b]`, `{k: v}`, bare
/// strings where YAML reads them back as strings): each example and
/// default it shows reads back as the value the schema holds.
#[test]
fn the_references_values_read_back_as_written() {
    for file in ["test", "campaign"] {
        let root = schema(file);
        let mut values = Vec::new();
        for s in reference::sections(&root) {
            values.extend(s.example.clone());
            for k in &s.keys {
                values.push(k.example.clone());
                if !k.default_is_words {
                    values.extend(k.schema.get("default").cloned());
                }
            }
        }
        assert!(values.len() > 50 || file == "campaign", "{}", values.len());
        for v in values {
            let text = format!("k: {}\n", reference::inline(&v));
            let back: Value =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(numbers_as_f64(&back["k"]), numbers_as_f64(&v), "{text}");
        }
    }
}

/// The README's sentence of defaults says what the schema says.
#[test]
fn the_readme_gives_the_schemas_defaults() {
    let root = schema("test");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let default = |p: &Value| reference::inline(&p["default"]);
    let nemesis = reference::resolve(&root, &root["properties"]["nemesis"]);
    for (key, d) in [
        ("concurrency", default(&root["properties"]["concurrency"])),
        ("time-limit", default(&root["properties"]["time-limit"])),
        ("op-timeout", default(&root["properties"]["op-timeout"])),
        (
            "recovery-time",
            default(&root["properties"]["recovery-time"]),
        ),
        (
            "nemesis.interval",
            default(&nemesis["properties"]["interval"]),
        ),
    ] {
        let said = format!("`{key}` {d}");
        assert!(readme.contains(&said), "README lacks {said:?}");
    }
}

#[test]
fn docs_test_file_md_is_the_generated_reference() {
    let generated = shakedown(&["man", "shakedown-test", "--markdown"]);
    let path = repo().join("docs/test-file.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/test-file.md is not what the types generate; regenerate it with\n  cargo run -- man shakedown-test --markdown > docs/test-file.md"
    );
}

/// Every YAML block of the reference is YAML, and its whole test file
/// parses and validates.
#[test]
fn the_references_yaml_blocks_parse() {
    let md = shakedown(&["man", "shakedown-test", "--markdown"]);
    let blocks: Vec<&str> = md
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() > 10, "{}", blocks.len());
    for b in &blocks {
        let _: Value = serde_saphyr::from_str(b).unwrap_or_else(|e| panic!("{b}: {e}"));
    }
    let whole = blocks[0];
    parse_test(whole).unwrap_or_else(|e| panic!("{whole}: {e}"));
    let doc: Value = serde_saphyr::from_str(whole).unwrap();
    for (name, errors) in validate(
        &schema("test"),
        &[("the reference's test file".into(), doc)],
    ) {
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn the_man_page_is_section_5_and_names_every_key() {
    let page = shakedown(&["man", "shakedown-test"]);
    assert!(page.starts_with(".TH SHAKEDOWN-TEST 5 "), "{}", &page[..80]);
    let root = schema("test");
    for s in reference::sections(&root).iter().filter(|s| !s.brief) {
        for k in &s.keys {
            let roffed = k.name.replace('-', "\\-");
            assert!(
                page.contains(&format!("\\fB{roffed}\\fR (")),
                "man page lacks {} of {}",
                k.name,
                s.path
            );
        }
    }
    for key in [
        "consistency",
        "op\\-timeout",
        "recovery\\-time",
        "interval",
        "rate",
    ] {
        assert!(page.contains(key), "{key}");
    }
    // Not a subcommand's page, and --markdown only for it.
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["man", "run", "--markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
