//! `shakedown completions SHELL` and `shakedown man` are generated from the
//! CLI definition: each names every subcommand.

use std::process::Command;

fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

const SUBCOMMANDS: [&str; 12] = [
    "check",
    "cluster",
    "run",
    "campaign",
    "merge",
    "fault",
    "heal",
    "report",
    "serve",
    "completions",
    "man",
    "schema",
];

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = shakedown().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
        // Options of subcommands too, e.g. `run --time-limit`.
        assert!(script.contains("time-limit"), "{shell}: no --time-limit");
    }
    let bash = shakedown().args(["completions", "bash"]).output().unwrap();
    assert!(String::from_utf8_lossy(&bash.stdout).contains("complete -F _shakedown"));
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = shakedown().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tcsh") && stderr.contains("bash"),
        "{stderr}"
    );
}

#[test]
fn the_man_page_names_the_subcommands() {
    let out = shakedown().arg("man").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH shakedown"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("shakedown\\-{sub}")),
            "man lacks {sub}"
        );
    }

    let run = shakedown().args(["man", "run"]).output().unwrap();
    assert!(run.status.success(), "{run:?}");
    let page = String::from_utf8(run.stdout).unwrap();
    assert!(page.contains(".TH shakedown-run 1"), "{page}");
    assert!(page.contains("shakedown 0.1.0"), "{page}");
    assert!(page.contains("time\\-limit"), "{page}");

    let bad = shakedown().args(["man", "nope"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no subcommand \"nope\""));
}
