//! `~/.ssh/config`: what shakedown takes from it for a node's host.
//!
//! The file is read the way ssh(1) reads it, for the options shakedown
//! honours: keywords are case-insensitive, `Keyword value` or
//! `Keyword=value`, arguments may be quoted, the lines before the first
//! `Host` apply to every host, a `Host` line's patterns may use `*`, `?`
//! and `!` (negation), and the first value found for an option wins.
//!
//! Honoured: `HostName` (the address to connect to; `%h` is the name
//! given), `User`, `Port` and `IdentityFile` (the first that exists, as
//! ssh skips missing ones; `~` and the tokens `%d %u %h %n %r %p %%`
//! expanded). What the test file sets itself
//! beats the file: a node's own `port`, `user` and `identity-file`, and the
//! `ssh:` section's `user`, `port` and `auth` when given.
//!
//! Nothing else is silently dropped. `ProxyJump` and `ProxyCommand` for a
//! node's host are errors (connecting directly would reach another machine,
//! or none); other options that apply to the host, `Match` blocks and
//! `Include` lines are warnings naming the option and its line.

use super::nodes::{expand_home, home_dir, Node, SshConfig};
use std::path::{Path, PathBuf};

/// One parsed line: `Keyword args...`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Line {
    number: usize,
    /// As written, for messages.
    keyword: String,
    args: Vec<String>,
}

/// A parsed ssh_config(5) file.
#[derive(Clone, Debug)]
pub struct SshConfigFile {
    path: PathBuf,
    lines: Vec<Line>,
}

/// What the file says for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostSettings {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// In order, as written (tokens and `~` not yet expanded), each with
    /// its line.
    pub identity_files: Vec<(String, usize)>,
    /// Lines that apply to the host but are not honoured, one message each
    /// (`~/.ssh/config line 7: ForwardAgent is not read by shakedown`).
    pub ignored: Vec<String>,
}

impl SshConfigFile {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<SshConfigFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        SshConfigFile::parse(path, &text)
    }

    /// Parse `text` (named `path` in messages). Errors name the line.
    pub fn parse(path: &Path, text: &str) -> Result<SshConfigFile, String> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let number = i + 1;
            let at = |what: String| format!("{} line {number}: {what}", path.display());
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The keyword ends at whitespace or `=`.
            let end = line
                .find(|c: char| c.is_whitespace() || c == '=')
                .unwrap_or(line.len());
            let keyword = line[..end].to_string();
            let mut rest = line[end..].trim_start();
            if let Some(r) = rest.strip_prefix('=') {
                rest = r.trim_start();
            }
            let args = split_args(rest).map_err(at)?;
            if args.is_empty() {
                return Err(at(format!("{keyword} has no value")));
            }
            lines.push(Line {
                number,
                keyword,
                args,
            });
        }
        Ok(SshConfigFile {
            path: path.to_path_buf(),
            lines,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings for `host` (the name given, before `HostName`).
    pub fn lookup(&self, host: &str) -> Result<HostSettings, String> {
        let mut out = HostSettings::default();
        // Lines before the first Host apply to every host.
        let mut applies = true;
        // ssh: the first value obtained wins, also for `ProxyJump none`.
        let mut proxy_decided = false;
        for l in &self.lines {
            let at = format!("{} line {}", self.path.display(), l.number);
            let arg = l.args[0].clone();
            match l.keyword.to_ascii_lowercase().as_str() {
                "host" => applies = host_matches(&l.args, host),
                "match" => {
                    // Its conditions (exec, user, canonical ...) are not
                    // evaluated, so nothing under it is used.
                    applies = false;
                    out.ignored.push(format!(
                        "{at}: `Match` blocks are not read by shakedown (the options under it are ignored)"
                    ));
                }
                "include" => out.ignored.push(format!(
                    "{at}: `Include {}` is not followed by shakedown",
                    l.args.join(" ")
                )),
                _ if !applies => {}
                "hostname" => {
                    if out.host_name.is_none() {
                        out.host_name =
                            Some(expand_hostname(&arg, host).map_err(|e| format!("{at}: {e}"))?);
                    }
                }
                "user" => {
                    out.user.get_or_insert(arg);
                }
                "port" => {
                    if out.port.is_none() {
                        let p: u16 = arg.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                            format!("{at}: Port {arg:?} is not a port number (1 to 65535)")
                        })?;
                        out.port = Some(p);
                    }
                }
                "identityfile" => out.identity_files.push((arg, l.number)),
                "proxyjump" | "proxycommand" => {
                    if !proxy_decided && !arg.eq_ignore_ascii_case("none") {
                        return Err(format!(
                            "{at}: `{} {}` applies to host {host}, but shakedown does not support {}: it would connect to {host} directly. Reach the nodes from a machine that can connect to them directly, or set `ssh: {{config-file: none}}` to ignore this file",
                            l.keyword,
                            l.args.join(" "),
                            l.keyword
                        ));
                    }
                    proxy_decided = true;
                }
                _ => out.ignored.push(format!(
                    "{at}: {} is not read by shakedown (ignored)",
                    l.keyword
                )),
            }
        }
        Ok(out)
    }
}

/// Whether a `Host` line's patterns select `host`: some pattern matches
/// and no negated one does (case-insensitive, like ssh).
fn host_matches(patterns: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let mut any = false;
    for p in patterns {
        let p = p.to_ascii_lowercase();
        match p.strip_prefix('!') {
            Some(neg) if glob(neg.as_bytes(), host.as_bytes()) => return false,
            Some(_) => {}
            None => any |= glob(p.as_bytes(), host.as_bytes()),
        }
    }
    any
}

/// `*` (any run) and `?` (one character) wildcards.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Whitespace-separated arguments; double quotes group (ssh_config has no
/// escapes inside quotes).
fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else {
            return Ok(args);
        };
        if c == '#' {
            // A comment after the arguments.
            return Ok(args);
        }
        let mut arg = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => arg.push(c),
                    None => return Err("a quote is not closed".into()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        args.push(arg);
    }
}

fn expand_hostname(v: &str, host: &str) -> Result<String, String> {
    expand_tokens(v, &[('h', host), ('n', host)], "HostName")
}

/// Replace `%x` tokens from `values` (`%%` is `%`); an unknown token is an
/// error naming it.
fn expand_tokens(v: &str, values: &[(char, &str)], option: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(t) => match values.iter().find(|(k, _)| *k == t) {
                Some((_, val)) => out.push_str(val),
                None => {
                    return Err(format!(
                        "the token %{t} in {option} {v:?} is not supported by shakedown"
                    ))
                }
            },
            None => return Err(format!("{option} {v:?} ends with a lone %")),
        }
    }
    Ok(out)
}

fn push_once(warnings: &mut Vec<String>, w: String) {
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

/// Fill in from `file` what the test file leaves open for each node: its
/// address (`HostName`), port, user and key. Returns the warnings to show
/// (options that apply but are not honoured); errors name the file, line
/// and node.
pub fn apply(
    file: &SshConfigFile,
    ssh: &SshConfig,
    nodes: &mut [Node],
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for node in nodes.iter_mut() {
        let given = node.host.clone();
        let s = file
            .lookup(&given)
            .map_err(|e| format!("node {}: {e}", node.name))?;
        for w in s.ignored {
            push_once(&mut warnings, w);
        }
        if let Some(h) = s.host_name {
            node.host = h;
        }
        if node.port.is_none() && !ssh.given.port {
            node.port = s.port;
        }
        if node.user.is_none() && !ssh.given.user {
            node.user = s.user;
        }
        if node.identity_file.is_none() && !ssh.given.auth {
            let home = home_dir().display().to_string();
            let local_user = std::env::var("USER").unwrap_or_else(|_| "root".into());
            let remote_user = node.user.clone().unwrap_or_else(|| ssh.user.clone());
            let port = node.port.unwrap_or(ssh.port).to_string();
            let values = [
                ('d', home.as_str()),
                ('u', local_user.as_str()),
                ('h', node.host.as_str()),
                ('n', given.as_str()),
                ('r', remote_user.as_str()),
                ('p', port.as_str()),
            ];
            // The first key file that exists, as ssh skips missing ones.
            for (raw, line) in &s.identity_files {
                let at = format!("{} line {line}", file.path.display());
                let path = expand_tokens(raw, &values, "IdentityFile")
                    .map_err(|e| format!("node {}: {at}: {e}", node.name))?;
                let expanded = expand_home(Path::new(&path))
                    .map_err(|e| format!("node {}: {at}: IdentityFile {e}", node.name))?;
                if node.identity_file.is_some() {
                    push_once(
                        &mut warnings,
                        format!("{at}: IdentityFile {raw}: shakedown uses only the first key file found for {given}"),
                    );
                } else if expanded.exists() {
                    node.identity_file = Some(PathBuf::from(path));
                } else {
                    push_once(
                        &mut warnings,
                        format!(
                            "{at}: IdentityFile {} does not exist (skipped)",
                            expanded.display()
                        ),
                    );
                }
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# global
ServerAliveInterval 30

Host db? !db9
    HostName 10.0.0.%h
    User admin
    Port=2222
    IdentityFile ~/.ssh/%r_%h
    IdentityFile ~/.ssh/other

Host db9
  HostName \"10.0.0.9\"
  ProxyJump bastion

Host *.lab
  ProxyJump none
  ProxyCommand ssh -W %h:%p gw
  User labuser

Match exec \"true\"
  User nobody

Host *
  User fallback
  Include ~/.ssh/more
";

    fn file() -> SshConfigFile {
        SshConfigFile::parse(Path::new("~/.ssh/config"), CONFIG).unwrap()
    }

    #[test]
    fn host_blocks_first_value_wins_and_patterns() {
        let f = file();
        let s = f.lookup("db1").unwrap();
        assert_eq!(s.host_name.as_deref(), Some("10.0.0.db1"));
        assert_eq!(s.user.as_deref(), Some("admin"));
        assert_eq!(s.port, Some(2222));
        assert_eq!(
            s.identity_files,
            vec![
                ("~/.ssh/%r_%h".to_string(), 8),
                ("~/.ssh/other".to_string(), 9)
            ]
        );
        let joined = s.ignored.join("\n");
        assert!(
            joined.contains("line 2: ServerAliveInterval is not read"),
            "{joined}"
        );
        assert!(
            joined.contains("line 20: `Match` blocks are not read"),
            "{joined}"
        );
        assert!(
            joined.contains("line 25: `Include ~/.ssh/more` is not followed"),
            "{joined}"
        );
        // Case-insensitive hosts; the catch-all supplies only what is left.
        let s = f.lookup("DB2").unwrap();
        assert_eq!(s.user.as_deref(), Some("admin"));
        let s = f.lookup("other").unwrap();
        assert_eq!(s.user.as_deref(), Some("fallback"));
        assert_eq!(s.host_name, None);
        assert_eq!(s.port, None);
        // `ProxyJump none` first: the later ProxyCommand is not used.
        let s = f.lookup("x.lab").unwrap();
        assert_eq!(s.user.as_deref(), Some("labuser"));
    }

    #[test]
    fn proxy_jump_is_an_error_naming_option_line_and_host() {
        let e = file().lookup("db9").unwrap_err();
        assert!(
            e.starts_with("~/.ssh/config line 13: `ProxyJump bastion` applies to host db9"),
            "{e}"
        );
        assert!(e.contains("does not support ProxyJump"), "{e}");
        let f =
            SshConfigFile::parse(Path::new("cfg"), "Host *\n  proxycommand nc %h %p\n").unwrap();
        let e = f.lookup("anything").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("does not support proxycommand"),
            "{e}"
        );
    }

    #[test]
    fn bad_lines_are_errors_with_their_line() {
        for (text, want) in [
            ("Host a\n  Port\n", "line 2: Port has no value"),
            ("Host a\n  User \"bob\n", "line 2: a quote is not closed"),
        ] {
            let e = SshConfigFile::parse(Path::new("c"), text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let f = SshConfigFile::parse(Path::new("c"), "Host a\n  Port 99999\n").unwrap();
        let e = f.lookup("a").unwrap_err();
        assert!(
            e.contains("line 2: Port \"99999\" is not a port number"),
            "{e}"
        );
        let f = SshConfigFile::parse(Path::new("c"), "Host a\n  HostName %z.x\n").unwrap();
        assert!(f.lookup("a").unwrap_err().contains("token %z"));
    }

    #[test]
    fn globs() {
        assert!(glob(b"*", b""));
        assert!(glob(b"db*", b"db12"));
        assert!(glob(b"d?1", b"db1"));
        assert!(!glob(b"d?1", b"d1"));
        assert!(glob(b"*.lab", b"x.y.lab"));
        assert!(!glob(b"*.lab", b"lab"));
        assert!(host_matches(&["a".into(), "b*".into()], "bb"));
        assert!(!host_matches(&["*".into(), "!b*".into()], "bb"));
        assert!(!host_matches(&["!b".into()], "a"));
    }

    #[test]
    fn apply_fills_only_what_the_test_file_leaves_open() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().display().to_string();
        for k in ["admin_10.0.0.db1", "me_10.0.0.db1", "other"] {
            std::fs::write(dir.path().join(k), "").unwrap();
        }
        let text = CONFIG
            .replace("~/.ssh/%r_%h", &format!("{keys}/%r_%h"))
            .replace("~/.ssh/other", &format!("{keys}/other"))
            + &format!("Host x3\n  IdentityFile {keys}/missing\n  IdentityFile {keys}/other\n");
        let f = SshConfigFile::parse(Path::new("~/.ssh/config"), &text).unwrap();
        // Nothing given: the file decides address, port, user and key.
        let mut nodes = vec![
            Node::new("n1", "db1"),
            Node::new("n2", "plain.example"),
            Node::new("n3", "x3"),
        ];
        let warnings = apply(&f, &SshConfig::default(), &mut nodes).unwrap();
        assert_eq!(nodes[0].host, "10.0.0.db1");
        assert_eq!(nodes[0].port, Some(2222));
        assert_eq!(nodes[0].user.as_deref(), Some("admin"));
        assert_eq!(
            nodes[0].identity_file,
            Some(dir.path().join("admin_10.0.0.db1"))
        );
        assert_eq!(nodes[1].host, "plain.example");
        assert_eq!(nodes[1].user.as_deref(), Some("fallback"));
        assert_eq!(nodes[1].identity_file, None);
        // A missing key file is skipped for the next one, with a warning.
        assert_eq!(nodes[2].identity_file, Some(dir.path().join("other")));
        let joined = warnings.join("\n");
        assert!(
            joined.contains(&format!(
                "line 27: IdentityFile {keys}/missing does not exist (skipped)"
            )),
            "{joined}"
        );
        assert!(
            joined.contains("line 9: IdentityFile")
                && joined.contains("only the first key file found"),
            "{joined}"
        );
        // Warnings are not repeated per node.
        let n = warnings
            .iter()
            .filter(|w| w.contains("ServerAliveInterval"))
            .count();
        assert_eq!(n, 1);
        // The test file's own values win.
        let ssh: SshConfig =
            serde_json::from_str(r#"{"user": "root", "port": 22, "auth": {"method": "agent"}}"#)
                .unwrap();
        let mut nodes = vec![Node::new("n1", "db1")];
        apply(&f, &ssh, &mut nodes).unwrap();
        assert_eq!(nodes[0].host, "10.0.0.db1");
        assert_eq!((nodes[0].port, nodes[0].user.as_deref()), (None, None));
        assert_eq!(nodes[0].identity_file, None);
        let mut own = Node::new("n1", "db1");
        own.port = Some(22);
        own.user = Some("me".into());
        let mut nodes = vec![own];
        apply(&f, &SshConfig::default(), &mut nodes).unwrap();
        assert_eq!(
            (nodes[0].port, nodes[0].user.as_deref()),
            (Some(22), Some("me"))
        );
        assert_eq!(
            nodes[0].identity_file,
            Some(dir.path().join("me_10.0.0.db1"))
        );
        // A ProxyJump host stops everything, naming the node.
        let mut nodes = vec![Node::new("n9", "db9")];
        let e = apply(&f, &SshConfig::default(), &mut nodes).unwrap_err();
        assert!(e.starts_with("node n9: ~/.ssh/config line 13"), "{e}");
    }
}
