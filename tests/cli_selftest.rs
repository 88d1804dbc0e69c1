//! `gss-negotiate selftest`: real handshakes through MIT's mechglue with the plugin under test, raw NTLMSSP and
//! SPNEGO, every leg decoded by `decode`'s tree (so `decode` also runs on live tokens).
#![cfg(feature = "cli")]

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

fn selftest(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write as _;
    let plugin = match plugin() {
        Plugin::Found { path, .. } => path,
        other => panic!("no plugin: {other:?}"),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_gss-negotiate"))
        .arg("selftest")
        .arg("--plugin")
        .arg(&plugin)
        .args(args)
        .env_remove("GSS_MECH_CONFIG")
        .env_remove("NTLM_USER_FILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The NTLM message names of the legs, in order (inside SPNEGO when wrapped).
fn ntlm_names(legs: &[Value]) -> Vec<String> {
    legs.iter()
        .filter_map(|l| {
            let t = &l["token"];
            [
                &t["message_name"],
                &t["mech_token"]["message_name"],
                &t["response_token"]["message_name"],
            ]
            .into_iter()
            .find_map(|v| v.as_str().map(str::to_string))
        })
        .collect()
}

#[test]
fn selftest_raw_ntlm_through_the_mechglue() {
    let (code, out, err) = selftest(&["--json", "--stdin", "CORP\\alice"], "Secret-1\n");
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let legs = v["legs"].as_array().unwrap();
    assert_eq!(
        ntlm_names(legs),
        [
            "NEGOTIATE_MESSAGE",
            "CHALLENGE_MESSAGE",
            "AUTHENTICATE_MESSAGE"
        ]
    );
    assert_eq!(legs[2]["token"]["user"], "alice");
    assert_eq!(legs[2]["token"]["domain"], "CORP");
    assert_eq!(legs[2]["token"]["nt_response_kind"], "NTLMv2");
    let spn = format!("host/{}", hostname());
    let av = legs[1]["token"]["av_pairs"].as_array().unwrap();
    assert!(
        av.iter()
            .any(|p| p["name"] == "MsvAvTargetName" && p["value"] == spn.as_str()),
        "{av:?}"
    );
    assert_eq!(v["authenticated_as"], "CORP\\alice");
    assert_eq!(v["wrap_unwrap"], true);
    assert!(!out.contains("Secret-1"));
}

#[test]
fn selftest_spnego_prints_each_leg_decoded() {
    let (code, out, err) = selftest(&["--spnego"], "");
    assert_eq!(code, 0, "{out}{err}");
    for needle in [
        "leg 1: initiator -> acceptor",
        "leg 4: acceptor -> initiator",
        "choice: NegTokenInit",
        "neg_state: 0 (accept-completed)",
        "message_name: AUTHENTICATE_MESSAGE",
        "context established: the acceptor authenticated SELFTEST\\selftest",
        "gss_wrap -> gss_unwrap: message intact",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}
