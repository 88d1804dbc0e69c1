//! The handshake of `tests/python/test_plugin.py`, from python-gssapi (Debian `python3-gssapi`), with our
//! plugin selected by `GSS_MECH_CONFIG`: raw NTLMSSP and SPNEGO, context flags, names on both sides, the SSPI
//! session key equal on both sides, export/import mid-stream, zero-length wrap/MIC, `get_wrap_size_limit`
//! against real wraps, 0/1/1024/65536-byte wraps both ways, tampered tokens and a wrong password refused.
//!
//! The interpreter is the first of `/usr/bin/python3`, `python3` on `PATH` that can `import gssapi` (a pyenv
//! `python3` usually cannot); the test prints SKIP only when none can.

mod common;
#[path = "common/cprog.rs"]
mod cprog;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn python_with_gssapi() -> Option<PathBuf> {
    common::peers::python_with_module("gssapi")
}

#[test]
fn python_gssapi_handshake_raw_and_spnego_through_the_mechglue() {
    let test = "python_gssapi_handshake_raw_and_spnego_through_the_mechglue";
    let Some(python) = python_with_gssapi() else {
        return common::skip(
            test,
            "no python3 with the gssapi module (Debian package python3-gssapi; scripts/install-deps.sh installs it)",
        );
    };
    let Some(plugin) = cprog::plugin_path(test) else {
        return;
    };
    let env = common::GssEnv::new("python-gssapi", &plugin).expect("temp env");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/test_plugin.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script);
    env.apply(&mut cmd);
    cmd.env("HANDSHAKE_HOST", common::hostname())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let log = env.dir.path().join("python.log");
    let out = common::run_bounded(cmd, &log, Duration::from_secs(60));
    println!("{} {}\n{}", python.display(), script.display(), out.output);
    assert!(
        out.success(),
        "python-gssapi handshake failed: {:?}\n{}",
        out.status,
        out.output
    );
    for phase in ["[ntlmssp]", "[spnego]"] {
        for step in [
            "context established",
            "initiator context: complete",
            "acceptor after import context: complete",
            "SSPI session key: 16 bytes, equal on both sides",
            "both contexts exported",
            "wrap/unwrap init->acc 0 bytes",
            "wrap/unwrap acc->init 65536 bytes",
            "MIC init->acc 0 bytes",
            "get_wrap_size_limit(1000) = 984",
            "tampered wrap token rejected",
            "MIC over a changed message rejected",
        ] {
            assert!(
                out.output
                    .lines()
                    .any(|l| l.starts_with(&format!("ok {phase} {step}"))),
                "missing `ok {phase} {step}` in:\n{}",
                out.output
            );
        }
    }
    assert!(
        out.output.contains("ok [wrong password] refused"),
        "{}",
        out.output
    );
    assert!(
        out.output.contains("python-gssapi: 53 checks passed"),
        "{}",
        out.output
    );
}
