//! The C handshake of `tests/c/handshake.c`: one process, initiator and acceptor through MIT's mechglue with
//! our plugin selected by `GSS_MECH_CONFIG`, raw NTLMSSP and SPNEGO. The program asserts (and prints one
//! `ok` line per check): `gss_inquire_context` flags/open/locally_initiated, `TESTDOM\testuser` display names
//! on both sides (no NUL) and the target, the `GSS_C_INQ_SSPI_SESSION_KEY` equal on both sides, export/import
//! of both contexts in the middle of the message stream, zero-length wrap and MIC, `gss_wrap_size_limit`
//! against real wraps, wrap/unwrap both ways at 0/1/1024/65536 bytes, tampered wrap/MIC rejected, and a
//! wrong password refused with a `gss_display_status` text that says so; and the IOV forms (`gss_wrap_iov`
//! with an allocated HEADER and two DATA buffers, `gss_unwrap_iov`, a STREAM unwrap of a plain wrap token).

mod common;
#[path = "common/cprog.rs"]
mod cprog;

use std::time::Duration;

#[test]
fn c_handshake_raw_and_spnego_through_the_mechglue() {
    let test = "c_handshake_raw_and_spnego_through_the_mechglue";
    let Some(plugin) = cprog::plugin_path(test) else {
        return;
    };
    let Some(exe) = cprog::compile_or_skip(test, "handshake.c", "handshake", &[]) else {
        return;
    };
    let env = common::GssEnv::new("c-handshake", &plugin).expect("temp env");
    let out = cprog::run_in_env(&env, &[], &exe, Duration::from_secs(30));
    println!("{}", out.output);
    assert!(
        out.success(),
        "handshake failed: {:?}\n{}",
        out.status,
        out.output
    );
    // Both mechanisms ran every step, and the wrong password was refused.
    for phase in ["[ntlmssp]", "[spnego]"] {
        for step in [
            "context established",
            "initiator inquire_context",
            "acceptor inquire_context",
            "SSPI session key: 16 bytes, equal on both sides",
            "initiator context exported",
            "acceptor after import inquire_context",
            "wrap/unwrap init->acc 65536 bytes",
            "wrap/unwrap acc->init 65536 bytes",
            "wrap/unwrap init->acc 0 bytes",
            "get_mic/verify_mic init->acc 0 bytes",
            "wrap_size_limit(1000) = 984",
            "tampered wrap token rejected",
            "MIC over a changed message rejected",
            "wrap_iov/unwrap_iov init->acc 1000 bytes",
            "wrap_iov/unwrap_iov acc->init 0 bytes",
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
    assert!(out.output.contains("ok [wrong password] minor status"));
    assert!(
        out.output.contains("handshake: 66 checks passed"),
        "{}",
        out.output
    );
}
