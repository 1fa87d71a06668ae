//! Options of the bank, counter, queue, total-queue, unique-ids and
//! long-fork workloads: parsed from YAML by name, defaults filled in,
//! unknown keys and bad values rejected with the workload's name.

use workloads::{ReadMode, Workload};

fn yaml(text: &str) -> Result<Workload, String> {
    serde_saphyr::from_str::<Workload>(text).map_err(|e| e.to_string())
}

#[test]
fn every_new_workload_parses_by_name_and_validates_its_defaults() {
    for name in [
        "bank",
        "counter",
        "queue",
        "total-queue",
        "unique-ids",
        "long-fork",
    ] {
        let w = yaml(&format!("name: {name}\n")).unwrap();
        assert_eq!(w.name(), name);
        w.validate().unwrap();
        assert_eq!(Workload::by_name(name).unwrap(), w);
        let err = yaml(&format!("name: {name}\nbogus: 1\n")).unwrap_err();
        assert!(err.contains("bogus"), "{name}: {err}");
    }
    let err = Workload::by_name("banks").unwrap_err();
    assert!(err.contains("long-fork"), "{err}");
}

#[test]
fn options_are_read_and_checked() {
    let w =
        yaml("name: bank\naccounts: 3\ntotal: 30\nmax-transfer: 2\nread: serializable\n").unwrap();
    let Workload::Bank(o) = &w else { panic!() };
    assert_eq!((o.accounts, o.total, o.max_transfer), (3, 30, 2));
    assert_eq!(w.read_mode(), ReadMode::Serializable);
    let err = yaml("name: bank\naccounts: 1\n")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.starts_with("bank:"), "{err}");

    let w = yaml("name: total-queue\nat-least-once: true\ndequeues: 3\n").unwrap();
    let Workload::TotalQueue(o) = &w else {
        panic!()
    };
    assert!(o.at_least_once && o.dequeues == 3);

    let err = yaml("name: counter\nmax-add: 0\n")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.starts_with("counter:"), "{err}");
    let err = yaml("name: long-fork\ngroup-size: 1\n")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.starts_with("long-fork:"), "{err}");
    let err = yaml("name: unique-ids\nids: 3\n").unwrap_err();
    assert!(err.contains("ids"), "{err}");
}
