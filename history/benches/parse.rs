//! Parsing throughput: a generated 100,000-op history (kv-corpus style,
//! 10 clients) read from memory in each format.
//!
//! `cargo bench -p history --bench parse`

use divan::counter::ItemsCount;
use divan::Bencher;
use history::edn::EdnWriter;
use history::jsonl::JsonlWriter;
use history::{Format, Op, Value};

const OPS: usize = 100_000;

fn ops() -> Vec<Op> {
    let mut ops = Vec::with_capacity(OPS);
    let mut i = 0u64;
    while ops.len() < OPS {
        let p = i % 10;
        let key = Value::Str(format!("{}", (i * 7) % 10));
        let (f, v): (&str, Value) = match i % 3 {
            0 => ("get", Value::Nil),
            1 => ("put", Value::Str(format!("x {p} {i} y"))),
            _ => ("append", Value::Str(format!("x {p} {i} y"))),
        };
        let inv = Op::invoke(p, f, v.clone())
            .with_key(key.clone())
            .with_index(ops.len() as u64)
            .with_time(i * 1000);
        let ok = Op::ok(p, f, v)
            .with_key(key)
            .with_index(ops.len() as u64 + 1)
            .with_time(i * 1000 + 500);
        ops.push(inv);
        ops.push(ok);
        i += 1;
    }
    ops
}

fn edn_bytes() -> Vec<u8> {
    let mut w = EdnWriter::new(Vec::new());
    for op in ops() {
        w.write(&op).unwrap();
    }
    w.into_inner()
}

fn jsonl_bytes() -> Vec<u8> {
    let mut w = JsonlWriter::new(Vec::new());
    for op in ops() {
        w.write(&op).unwrap();
    }
    w.into_inner()
}

fn log_bytes() -> Vec<u8> {
    let mut s = String::new();
    for op in ops() {
        s.push_str(&format!(
            "INFO  jepsen.util - {}\t:{}\t:{}\t{}\n",
            op.process, op.kind, op.f, op.value
        ));
    }
    s.into_bytes()
}

fn bench_read(b: Bencher, bytes: Vec<u8>, format: Format) {
    b.counter(ItemsCount::new(OPS)).bench(|| {
        let mut n = 0;
        for op in history::reader(&bytes[..], format) {
            divan::black_box(op.unwrap());
            n += 1;
        }
        assert_eq!(n, OPS);
    });
}

#[divan::bench]
fn edn_ops(b: Bencher) {
    bench_read(b, edn_bytes(), Format::Edn);
}

#[divan::bench]
fn jsonl_ops(b: Bencher) {
    bench_read(b, jsonl_bytes(), Format::Jsonl);
}

#[divan::bench]
fn jepsen_log_ops(b: Bencher) {
    bench_read(b, log_bytes(), Format::JepsenLog);
}

/// Reading and pairing into a `History`.
#[divan::bench]
fn edn_history(b: Bencher) {
    let bytes = edn_bytes();
    b.counter(ItemsCount::new(OPS)).bench(|| {
        let h = history::read_from(&bytes[..], Format::Edn).unwrap();
        assert_eq!(h.len(), OPS);
    });
}

fn main() {
    divan::main();
}
