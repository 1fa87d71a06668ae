//! Secrets out of the test file before a copy of it is written.
//!
//! The run directory keeps the test file as run (`test.yaml`), and `serve`
//! publishes run directories, so a literal password must not reach it.
//! [`redact_secrets`] walks the YAML events (not the lines, so flow maps,
//! block maps, quoted, multi-line and anchored values are all found) and
//! replaces every value under a secret-looking key (`password`,
//! `sudo-password`, `passphrase`, `secret`, `token`, ... in any case, `-` or
//! `_`) with `"<redacted>"`, keeping everything else as written. Names of
//! environment variables (`env:`, `passphrase-env:`) are not secrets and
//! stay. As a last guard, a line that still contains a secret's value
//! afterwards (a comment, a key) is replaced whole.

use harness::control::REDACTED;
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// `text` with the values of secret keys replaced by `"<redacted>"`.
pub fn redact_secrets(text: &str) -> String {
    match find_secrets(text) {
        Ok(found) => replace(text, found),
        // Unreadable YAML never reaches a run; do not copy what we cannot
        // vet.
        Err(e) => format!(
            "# the test file is not reproduced here: it could not be read to remove secrets ({e})\n"
        ),
    }
}

/// A key whose value is a secret: `sudo-password`, `api_token`, `passphrase`.
/// `...-env` keys and `env` name environment variables, not secrets.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('_', "-");
    if k == "env" || k.ends_with("-env") {
        return false;
    }
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "api-key",
        "private-key",
    ]
    .iter()
    .any(|s| k.contains(s))
}

fn is_env_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('_', "-");
    k == "env" || k.ends_with("-env")
}

/// One open collection while walking the events.
struct Frame {
    mapping: bool,
    /// Inside a secret's value: every scalar in it is secret.
    secret: bool,
    /// Mapping only: the next node is a key.
    at_key: bool,
    key: String,
}

/// A scalar to redact.
#[derive(Clone)]
struct Secret {
    span: Span,
    value: String,
    /// A `|` or `>` scalar: its span runs to the next line's content.
    block: bool,
}

type Found = Vec<Secret>;

fn find_secrets(text: &str) -> Result<Found, String> {
    let mut found = Found::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Scalars under each anchor (an anchored scalar, or every scalar of an
    // anchored collection), for aliases used as secret values.
    let mut anchored: HashMap<usize, Found> = HashMap::new();
    let mut open_anchors: Vec<(usize, usize)> = Vec::new(); // (anchor, stack depth)
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| e.to_string())?;
        // Where this node stands: a mapping key, or a value (secret or not).
        let (is_key, secret) = match stack.last() {
            Some(f) if f.mapping && f.at_key => (true, false),
            Some(f) if f.mapping => (
                false,
                (f.secret || is_secret_key(&f.key)) && !is_env_key(&f.key),
            ),
            Some(f) => (false, f.secret),
            None => (false, false),
        };
        match ev {
            Event::Scalar(value, style, anchor, _) => {
                if is_key {
                    let top = stack.last_mut().expect("a key is inside a mapping");
                    top.key = value.to_string();
                    top.at_key = false;
                    continue;
                }
                let item = Secret {
                    span,
                    value: value.to_string(),
                    block: matches!(style, ScalarStyle::Literal | ScalarStyle::Folded),
                };
                for (a, _) in &open_anchors {
                    anchored.entry(*a).or_default().push(item.clone());
                }
                if anchor != 0 {
                    anchored.entry(anchor).or_default().push(item.clone());
                }
                if secret {
                    found.push(item);
                }
                value_done(&mut stack);
            }
            Event::Alias(anchor) => {
                if is_key {
                    let top = stack.last_mut().expect("a key is inside a mapping");
                    top.key.clear();
                    top.at_key = false;
                    continue;
                }
                if secret {
                    found.extend(anchored.get(&anchor).cloned().unwrap_or_default());
                }
                value_done(&mut stack);
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                let mapping = matches!(ev, Event::MappingStart(..));
                if is_key {
                    // A collection as a key: no name to judge by.
                    let top = stack.last_mut().expect("a key is inside a mapping");
                    top.key.clear();
                }
                if anchor != 0 {
                    open_anchors.push((anchor, stack.len() + 1));
                }
                stack.push(Frame {
                    mapping,
                    secret,
                    at_key: true,
                    key: String::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                open_anchors.retain(|(_, depth)| *depth < stack.len());
                stack.pop();
                value_done(&mut stack);
            }
            _ => {}
        }
    }
    Ok(found)
}

/// A value ended: the enclosing mapping expects a key next.
fn value_done(stack: &mut [Frame]) {
    if let Some(f) = stack.last_mut() {
        if f.mapping {
            f.at_key = true;
        }
    }
}

fn replace(text: &str, mut found: Found) -> String {
    let offset = |m: Marker| {
        m.byte_offset().unwrap_or_else(|| {
            // Character index to byte offset.
            text.char_indices()
                .nth(m.index())
                .map_or(text.len(), |(b, _)| b)
        })
    };
    found.sort_by_key(|f| offset(f.span.start));
    found.dedup_by_key(|f| offset(f.span.start));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &found {
        let (start, end) = (offset(f.span.start), offset(f.span.end));
        if start < at || end > text.len() || start > end {
            continue;
        }
        out.push_str(&text[at..start]);
        if f.block {
            // Keep the block form: one line of content, then the line
            // break and indentation that lead to the next node.
            out.push_str(REDACTED);
            let tail = text[start..end].rfind('\n').map_or(end, |i| start + i);
            out.push_str(&text[tail..end]);
        } else {
            out.push('"');
            out.push_str(REDACTED);
            out.push('"');
        }
        at = end;
    }
    out.push_str(&text[at..]);
    // The last guard: no line keeps a secret's value.
    let values: Vec<&str> = found
        .iter()
        .flat_map(|f| f.value.lines())
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != REDACTED)
        .collect();
    if values.iter().any(|v| out.contains(v)) {
        out = out
            .split_inclusive('\n')
            .map(|line| {
                if values.iter().any(|v| line.contains(v)) {
                    let nl = if line.ends_with('\n') { "\n" } else { "" };
                    format!("# (a line holding a secret was removed here){nl}")
                } else {
                    line.to_string()
                }
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
name: register-test # a comment stays
target: {name: process, start: 'mydb --listen {host}', ready: 'true', client: {command: [/bin/cat]}}
nodes:
  - {name: n1, host: 10.0.0.1}
ssh:
  user: admin
  sudo-password: {value: 'hunter2 with spaces'}
  auth:
    method: password
    password:
      value: \"s3cr\\u0065t-double\"
other:
  api_token: |
    multi-line-token
    second-line
  passphrase-env: KEYPASS
  sudo-password: {env: SUDO_PW}
  db_password: &pw anchored-pw
  again-password: *pw
  list-password: [one-item-pw, two-item-pw]
workload: {name: register}
";

    #[test]
    fn every_secret_is_gone_and_the_rest_is_kept() {
        let out = redact_secrets(FILE);
        for secret in [
            "hunter2",
            "s3cr",
            "secret-double",
            "multi-line-token",
            "second-line",
            "anchored-pw",
            "one-item-pw",
            "two-item-pw",
        ] {
            assert!(!out.contains(secret), "{secret} left in:\n{out}");
        }
        for kept in [
            "name: register-test # a comment stays",
            "user: admin",
            "method: password",
            "passphrase-env: KEYPASS",
            "{env: SUDO_PW}",
            "&pw",
            "*pw",
            "workload: {name: register}",
        ] {
            assert!(out.contains(kept), "{kept} lost:\n{out}");
        }
        assert!(
            out.contains("sudo-password: {value: \"<redacted>\"}"),
            "{out}"
        );
        // Still YAML, with the same shape.
        let v: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(v["ssh"]["auth"]["password"]["value"], REDACTED);
        assert_eq!(v["other"]["list-password"][1], REDACTED);
        assert_eq!(v["other"]["passphrase-env"], "KEYPASS");
    }

    #[test]
    fn a_secret_repeated_in_a_comment_removes_that_line() {
        let text = "ssh:\n  sudo-password: {value: hunter2}\n# the password is hunter2\nname: x\n";
        let out = redact_secrets(text);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("name: x"), "{out}");
        assert!(
            out.contains("# (a line holding a secret was removed here)"),
            "{out}"
        );
    }

    #[test]
    fn without_secrets_the_text_is_unchanged() {
        let text = "name: x\nssh: {user: root, auth: {method: key, path: ~/.ssh/id}}\n";
        assert_eq!(redact_secrets(text), text);
        assert!(redact_secrets("a: [unclosed\n").starts_with("# the test file is not reproduced"));
    }
}
