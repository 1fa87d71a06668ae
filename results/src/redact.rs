//! Secrets out of everything shakedown writes.
//!
//! The run directory keeps the test file as run (`test.yaml`), campaigns
//! write their cells' settings into ids, record file names, summaries,
//! grids and JUnit files, and `serve` publishes all of it: a literal
//! password must reach none of them.
//!
//! - [`redact_secrets`] walks a YAML text's events (not the lines, so flow
//!   maps, block maps, quoted, multi-line and anchored values are all
//!   found) and replaces every value under a secret-looking key
//!   ([`is_secret_key`]: `password`, `sudo-password`, `passphrase`,
//!   `secret`, `token`, `DB_PASS`, `REDIS_AUTH`, `PG_PWD` ... in any case,
//!   `-` or `_`) with `"<redacted>"`, and the password of every URL with
//!   credentials (`postgres://user:pw@host`) with `<redacted>`, keeping
//!   everything else as written. Names of environment variables (`env:`,
//!   `passphrase-env:`) are not secrets and stay. As a last guard, a line
//!   that still contains a secret's value afterwards (a comment, a key) is
//!   replaced whole.
//! - [`redact_setting`] does the same for one setting given as a dotted
//!   key and a JSON value (a campaign's `matrix:` and `set:`), and says
//!   which values it took out, so other text (an error quoting the test
//!   file) can be scrubbed of them with [`scrub`].

use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// What a secret is replaced with (the same text as
/// `harness::control::REDACTED`, which the SSH settings print).
pub const REDACTED: &str = "<redacted>";

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

/// A key whose value is a secret: `sudo-password`, `api_token`,
/// `passphrase`, and the environment variables that hold one by
/// convention: `*_PASSWORD`, `*_PASS`, `*_AUTH`, `*_PWD` (`DB_PASS`,
/// `REDIS_AUTH`, `PG_PWD`). `...-env` keys and `env` name environment
/// variables, not secrets; a bare `auth` (the SSH settings' method) or
/// `PWD` (a working directory) is not one either.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('_', "-");
    if is_env_key(&k) {
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
        || ["-pass", "-auth", "-pwd"].iter().any(|s| k.ends_with(s))
}

/// `env` or `...-env`: a key naming environment variables.
pub fn is_env_key(key: &str) -> bool {
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
    /// Empty: the whole scalar is secret. Otherwise the passwords of the
    /// URLs in it, the only part taken out.
    passwords: Vec<String>,
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
                    passwords: Vec::new(),
                };
                for (a, _) in &open_anchors {
                    anchored.entry(*a).or_default().push(item.clone());
                }
                if anchor != 0 {
                    anchored.entry(anchor).or_default().push(item.clone());
                }
                if secret {
                    found.push(item);
                } else {
                    let (_, passwords) = redact_urls(&item.value);
                    if !passwords.is_empty() {
                        found.push(Secret { passwords, ..item });
                    }
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
    // A whole secret before a URL's password at the same place (an
    // anchored URL used as a secret's value).
    found.sort_by_key(|f| (offset(f.span.start), !f.passwords.is_empty()));
    found.dedup_by_key(|f| offset(f.span.start));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &found {
        let (start, end) = (offset(f.span.start), offset(f.span.end));
        if start < at || end > text.len() || start > end {
            continue;
        }
        out.push_str(&text[at..start]);
        let source = &text[start..end];
        if !f.passwords.is_empty() && f.passwords.iter().all(|p| source.contains(p.as_str())) {
            // Only the password goes, the scalar keeps its style.
            let mut s = source.to_string();
            for p in &f.passwords {
                s = s.replace(p.as_str(), REDACTED);
            }
            out.push_str(&s);
        } else if !f.passwords.is_empty() {
            // Escapes in the source hide the password: the value, rewritten.
            let redacted = redact_urls(&f.value).0;
            out.push_str(&serde_json::to_string(&redacted).unwrap_or_default());
            if f.block {
                let tail = source.rfind('\n').map_or(end, |i| start + i);
                out.push_str(&text[tail..end]);
            }
        } else if f.block {
            // Keep the block form: one line of content, then the line
            // break and indentation that lead to the next node.
            out.push_str(REDACTED);
            let tail = source.rfind('\n').map_or(end, |i| start + i);
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
        .flat_map(|f| -> Box<dyn Iterator<Item = &str> + '_> {
            if f.passwords.is_empty() {
                Box::new(f.value.lines())
            } else {
                Box::new(f.passwords.iter().map(String::as_str))
            }
        })
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

/// `s` with the password of every URL with credentials in it
/// (`scheme://user:password@host`) replaced by `<redacted>`, and the
/// passwords taken out. A user name alone (`ssh://git@host`) stays.
pub fn redact_urls(s: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(s.len());
    let mut passwords = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority: up to the path, query, fragment or the end of
        // the word.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority
            .rfind('@')
            .map(|at| (&authority[..at], &authority[at..]))
        {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, pw)) if !pw.is_empty() && pw != REDACTED => {
                    passwords.push(pw.to_string());
                    out.push_str(user);
                    out.push(':');
                    out.push_str(REDACTED);
                    out.push_str(host);
                }
                _ => out.push_str(authority),
            },
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    (out, passwords)
}

/// Whether the value of a dotted setting (`target.client.env.DB_PASS`) is
/// a secret: the rule [`redact_secrets`] applies to nested keys, key by
/// key (under `sudo-password` everything is secret but an `env` name).
pub fn is_secret_setting(key: &str) -> bool {
    key.split('.').fold(false, |secret, k| {
        (secret || is_secret_key(k)) && !is_env_key(k)
    })
}

/// A setting's value with its secrets taken out: all of it under a secret
/// key ([`is_secret_setting`]), else the values of secret keys inside it
/// and the passwords of URLs. Every secret text taken out is added to
/// `secrets` (for [`scrub`]). `None` when nothing was secret.
pub fn redact_setting(key: &str, value: &Value, secrets: &mut Vec<String>) -> Option<Value> {
    let before = secrets.len();
    let v = redact_value(value, is_secret_setting(key), secrets);
    (secrets.len() > before || v != *value).then_some(v)
}

fn redact_value(value: &Value, secret: bool, secrets: &mut Vec<String>) -> Value {
    if secret {
        collect_scalars(value, secrets);
        return Value::String(REDACTED.into());
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let s = is_secret_key(k) && !is_env_key(k);
                    (k.clone(), redact_value(v, s, secrets))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| redact_value(v, false, secrets))
                .collect(),
        ),
        Value::String(s) => {
            let (r, pw) = redact_urls(s);
            secrets.extend(pw);
            Value::String(r)
        }
        other => other.clone(),
    }
}

fn collect_scalars(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| collect_scalars(v, out)),
        Value::Array(items) => items.iter().for_each(|v| collect_scalars(v, out)),
        Value::String(s) => out.push(s.clone()),
        Value::Null => {}
        other => out.push(other.to_string()),
    }
}

/// `text` with every one of `secrets` replaced by `<redacted>`: for text
/// that may quote a secret shakedown knows of (an error showing a line of
/// the test file). Empty secrets are skipped, those under 4 characters are
/// left (they would take line numbers with them), the longest go first
/// (so a secret inside another leaves no part of the longer one).
pub fn scrub(text: &str, secrets: &[String]) -> String {
    // Shorter ones would take digits of line numbers and parts of words
    // with them; they are gone from every file written all the same.
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| s.trim().len() >= 4).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), REDACTED);
        // As a JSON string shows it, escapes and all.
        let quoted = serde_json::to_string(s).unwrap_or_default();
        let inner = &quoted[1..quoted.len() - 1];
        if inner != s.as_str() {
            out = out.replace(inner, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn environment_secrets_and_url_credentials_are_gone() {
        let text = "target:
  client:
    env:
      DB_PASS: env-pass-1
      REDIS_AUTH: \"env-auth-1\"
      PG_PWD: 'env-pwd-1'
      DATABASE_URL: postgres://admin:url-pw-1@db:5432/app?sslmode=require
      MIRROR: \"https://u:url-pw-2@h/x and http://plain@h2/\"
      PWD: /work/dir
      SSH_AUTH_SOCK_DIR: /run
ssh: {auth: {method: key, path: ~/.ssh/id}}
";
        let out = redact_secrets(text);
        for s in [
            "env-pass-1",
            "env-auth-1",
            "env-pwd-1",
            "url-pw-1",
            "url-pw-2",
        ] {
            assert!(!out.contains(s), "{s} left in:\n{out}");
        }
        for kept in [
            "postgres://admin:<redacted>@db:5432/app?sslmode=require",
            "https://u:<redacted>@h/x and http://plain@h2/",
            "PWD: /work/dir",
            "SSH_AUTH_SOCK_DIR: /run",
            "method: key",
        ] {
            assert!(out.contains(kept), "{kept} lost:\n{out}");
        }
        let v: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(v["target"]["client"]["env"]["PG_PWD"], REDACTED);
    }

    #[test]
    fn keys_that_name_secrets() {
        for k in [
            "password",
            "DB_PASSWORD",
            "db_pass",
            "REDIS_AUTH",
            "pg-pwd",
            "api_token",
            "client-secret",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "auth",
            "PWD",
            "bypass",
            "oauth",
            "method",
            "password-env",
            "env",
            "SSH_AUTH_SOCK",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
        assert!(is_secret_setting("target.client.env.DB_PASS"));
        assert!(is_secret_setting("ssh.sudo-password.value"));
        assert!(!is_secret_setting("ssh.sudo-password.env"));
        assert!(!is_secret_setting("target.client.env"));
    }

    #[test]
    fn a_setting_loses_its_secrets_and_says_which() {
        let mut found = Vec::new();
        assert_eq!(redact_setting("seed", &json!(3), &mut found), None);
        assert_eq!(
            redact_setting("target.client.env.DB_PASS", &json!("hunter2"), &mut found),
            Some(json!(REDACTED))
        );
        assert_eq!(
            redact_setting(
                "target.client.env",
                &json!({"URL": "redis://:tok-1@h:6379", "X_AUTH": ["a1b2", 7], "N": 1}),
                &mut found
            ),
            Some(json!({"URL": "redis://:<redacted>@h:6379", "X_AUTH": REDACTED, "N": 1}))
        );
        assert_eq!(found, ["hunter2", "tok-1", "a1b2", "7"]);
        let err = "line 3: \"DB_PASS\": \"hunter2\", x=7, url tok-1, a1b2";
        assert_eq!(
            scrub(err, &found),
            "line 3: \"DB_PASS\": \"<redacted>\", x=7, url <redacted>, <redacted>"
        );
    }
}
