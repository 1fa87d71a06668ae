//! Test kit for the nemesis integration tests and benchmark (not a user tool).
//!
//! ```text
//! nemesis-testkit serve ADDR PORT PID_FILE     TCP: answers "<unix time> <pid>\n" and closes;
//!                                              UDP: echoes datagrams. Writes its pid file.
//! nemesis-testkit probe TIMEOUT_MS HOST:PORT...  parallel TCP connects: "HOST:PORT ok|fail" lines
//! nemesis-testkit udp-loss HOST:PORT COUNT      sends COUNT datagrams, prints "sent N received M"
//! nemesis-testkit hold-partition NODES_FILE STATE_FILE NODE
//!                                              isolates NODE, saves the state, prints "applied",
//!                                              then sleeps until killed (a controller to SIGKILL)
//! nemesis-testkit panic-partition NODES_FILE STATE_FILE NODE
//!                                              the same with `nemesis::install_panic_heal`, then
//!                                              gives up the injector's guard and panics
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    match a.as_slice() {
        ["serve", addr, port, pid_file] => serve(addr, port.parse().expect("port"), pid_file),
        ["probe", timeout, targets @ ..] => probe(timeout.parse().expect("timeout ms"), targets),
        ["udp-loss", target, count] => udp_loss(target, count.parse().expect("count")),
        ["hold-partition", nodes, state, node] => hold_partition(nodes, state, node, false),
        ["panic-partition", nodes, state, node] => hold_partition(nodes, state, node, true),
        _ => {
            eprintln!("usage: see the source of nemesis-testkit");
            std::process::exit(2);
        }
    }
}

fn serve(addr: &str, port: u16, pid_file: &str) {
    let tcp = TcpListener::bind((addr, port)).expect("bind tcp");
    let udp = UdpSocket::bind((addr, port)).expect("bind udp");
    let pid = std::process::id();
    let tmp = format!("{pid_file}.tmp");
    std::fs::write(&tmp, format!("{pid}\n")).expect("pid file");
    std::fs::rename(&tmp, pid_file).expect("pid file");
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    });
    for s in tcp.incoming() {
        let Ok(mut s) = s else { continue };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let _ = s.write_all(format!("{now:.6} {pid}\n").as_bytes());
    }
}

fn probe(timeout_ms: u64, targets: &[&str]) {
    let handles: Vec<_> = targets
        .iter()
        .map(|t| {
            let t = t.to_string();
            std::thread::spawn(move || {
                let addr: SocketAddr = t
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .expect("address");
                let ok =
                    TcpStream::connect_timeout(&addr, Duration::from_millis(timeout_ms)).is_ok();
                format!("{t} {}", if ok { "ok" } else { "fail" })
            })
        })
        .collect();
    for h in handles {
        println!("{}", h.join().unwrap());
    }
}

fn udp_loss(target: &str, count: u32) {
    let sock = UdpSocket::bind("0.0.0.0:0").expect("bind");
    sock.connect(target).expect("connect");
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut seen = vec![false; count as usize];
    let mut buf = [0u8; 64];
    let mut drain = |seen: &mut Vec<bool>| {
        while let Ok(n) = sock.recv(&mut buf) {
            if n == 4 {
                let i = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
                if i < seen.len() {
                    seen[i] = true;
                }
            }
        }
    };
    for i in 0..count {
        let _ = sock.send(&i.to_be_bytes());
        if i % 20 == 19 {
            drain(&mut seen);
        }
    }
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        drain(&mut seen);
    }
    let got = seen.iter().filter(|s| **s).count();
    println!("sent {count} received {got}");
}

fn hold_partition(nodes_file: &str, state_file: &str, node: &str, panic: bool) {
    if panic {
        nemesis::install_panic_heal(nemesis::StateFile::new(state_file));
    }
    let nodes = harness::control::Nodes::load(std::path::Path::new(nodes_file)).expect("nodes");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cluster = harness::control::Cluster::new(&nodes);
        let mut inj = nemesis::Injector::new(
            &nodes,
            cluster,
            nemesis::Hooks::default(),
            Some(nemesis::StateFile::new(state_file)),
        )
        .expect("injector");
        let g = nemesis::Grudge::isolate(&nodes.names(), node);
        inj.apply(&nemesis::FaultOp::StartPartition {
            target: nemesis::PartitionTarget::Grudge(g),
        })
        .await
        .expect("partition");
        println!("applied");
        if panic {
            // Only the panic hook can heal now: the guard is disarmed.
            let _ = inj.leave_active();
            panic!("controller bug");
        }
        std::io::stdout().flush().unwrap();
        // Wait to be killed; never heal (the test SIGKILLs us).
        let mut sink = [0u8; 1];
        let _ = std::io::stdin().read(&mut sink);
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}
