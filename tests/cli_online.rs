//! The online checking contract on the command line (no cluster): the
//! `--stop-on-invalid` flag of `run` and `campaign`, `stop-on` in the test
//! file, and what `--replay` refuses.

use std::process::Command;

fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = shakedown().args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn run_and_campaign_take_stop_on_invalid() {
    for sub in ["run", "campaign"] {
        let (code, help) = run(&[sub, "--help"]);
        assert_eq!(code, Some(0));
        assert!(help.contains("--stop-on-invalid"), "{sub}: {help}");
    }
}

#[test]
fn a_wrong_stop_on_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("t.yaml");
    std::fs::write(
        &test,
        "name: t\ntarget: etcd\ncluster: {local: 1, name: zz}\nworkload: {name: register}\nstop-on: sometimes\n",
    )
    .unwrap();
    let (code, text) = run(&["run", test.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("t.yaml"), "{text}");
    assert!(text.contains("line 5"), "{text}");
    assert!(text.contains("expected one of invalid"), "{text}");
}

#[test]
fn replay_refuses_stop_on_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(&[
        "run",
        "--replay",
        dir.path().to_str().unwrap(),
        "--stop-on-invalid",
    ]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("--stop-on-invalid would change it"), "{text}");
}
