//! Builds the clock shim (`clockshim/shakedown_clock.c`) that the clock
//! nemesis preloads into databases on local-cluster nodes; the library's
//! bytes are embedded in the crate (`clock::SHIM`) and written out where a
//! run needs them, so the shakedown binary stays the only thing to ship.
//!
//! It is compiled with the C compiler Rust links with (`$CC`, else `cc`),
//! freestanding: no libc headers or startup files are needed.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "clockshim/shakedown_clock.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("libshakedown-clock.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&cc)
        .args([
            "-shared",
            "-fPIC",
            "-O2",
            "-nostdlib",
            "-ffreestanding",
            "-fno-stack-protector",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-o",
        ])
        .arg(&out)
        .arg(src)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{cc} could not build the clock shim {src} ({s})"),
        Err(e) => panic!(
            "cannot run the C compiler {cc:?} to build the clock shim {src}: {e} \
             (Debian: apt-get install gcc; Rust needs it to link anyway)"
        ),
    }
}
