//! `gss-negotiate decode` on every token of tests/data/tokens (text and `--json`), its fields checked against
//! tokens.json (an independent decoder's facts, cross-checked with pyspnego); header-line and base64 input;
//! errors with byte offsets (exit status 1, no panic) on truncated, bit-flipped and picky-krb's panic input.
#![cfg(feature = "cli")]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn data(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write as _;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gss-negotiate"));
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn gss-negotiate");
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(stdin.unwrap_or_default())
        .expect("write stdin");
    drop(pipe);
    child.wait_with_output().expect("wait")
}

fn tokens() -> Vec<Value> {
    let text = std::fs::read_to_string(data("tokens/tokens.json")).expect("tokens.json");
    serde_json::from_str::<Value>(&text)
        .expect("json")
        .as_array()
        .expect("array")
        .clone()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// "MsvAvName=value" as tokens.json writes it, from one decoded AV pair.
fn av_text(p: &Value) -> String {
    let name = s(&p["name"]);
    match name {
        "MsvAvTimestamp" => format!("{name}={} ({})", s(&p["raw"]), s(&p["value"])),
        "MsvAvFlags" => {
            let names: Vec<String> = p["flag_names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| format!("'{}'", s(n)))
                .collect();
            format!("{name}={} [{}]", s(&p["value"]), names.join(", "))
        }
        _ => format!("{name}={}", s(&p["value"])),
    }
}

fn check_av(file: &str, got: &Value, want: &Value) {
    let got: Vec<String> = got
        .as_array()
        .expect("av_pairs")
        .iter()
        .map(av_text)
        .collect();
    let want: Vec<&str> = want.as_array().unwrap().iter().map(s).collect();
    assert_eq!(got, want, "{file}: AV pairs");
}

/// Compares a decoded NTLM node with the facts of tokens.json.
fn check_ntlm(file: &str, n: &Value, f: &Value) {
    assert_eq!(n["type"], "ntlm", "{file}");
    let want_type = s(&f["ntlm_message"]);
    assert_eq!(
        format!("{} ({})", s(&n["message_name"]), n["message_type"]),
        want_type,
        "{file}"
    );
    assert_eq!(n["length"], f["length"], "{file}: length");
    assert_eq!(n["flags"], f["flags"], "{file}: flags");
    if !f["flag_names"].is_null() {
        assert_eq!(n["flag_names"], f["flag_names"], "{file}: flag_names");
    }
    if !f["version"].is_null() {
        assert_eq!(n["version"], f["version"], "{file}: version");
    }
    for (ours, theirs) in [
        ("target_name", "target_name"),
        ("server_challenge", "server_challenge"),
        ("user", "user"),
        ("workstation", "workstation"),
        ("lm_response_len", "lm_response_len"),
        ("nt_response_len", "nt_response_len"),
        ("nt_response_kind", "nt_response_kind"),
        (
            "encrypted_random_session_key",
            "encrypted_random_session_key",
        ),
        ("mic", "mic"),
        ("domain", "oem_domain"),
        ("workstation", "oem_workstation"),
        ("client_challenge", "client_challenge(ESS)"),
    ] {
        if f.get(theirs).is_some() {
            assert_eq!(n[ours], f[theirs], "{file}: {ours}");
        }
    }
    if f.get("domain").is_some() {
        assert_eq!(n["domain"], f["domain"], "{file}: domain");
    }
    if let Some(ti) = f.get("target_info") {
        check_av(file, &n["av_pairs"], ti);
    }
    if let Some(proof) = f.get("nt_proof_str") {
        let v2 = &n["ntlmv2_response"];
        assert_eq!(&v2["nt_proof_str"], proof, "{file}");
        assert_eq!(v2["client_challenge"], f["client_challenge"], "{file}");
        let ts = s(&f["client_timestamp"]);
        assert_eq!(
            format!("{} ({})", s(&v2["timestamp_raw"]), s(&v2["timestamp"])),
            ts,
            "{file}"
        );
        check_av(file, &v2["av_pairs"], &f["ntlmv2_av_pairs"]);
    }
    if n["message_type"] == 3 {
        assert_eq!(n["mic_present"], !f["mic"].is_null(), "{file}: mic_present");
    }
}

fn mech_text(m: &Value) -> String {
    s(&m["oid"]).to_string()
}

/// Compares a decoded token node (any kind) with the facts.
fn check_node(file: &str, n: &Value, f: &Value) {
    if f.get("ntlm_message").is_some() {
        return check_ntlm(file, n, f);
    }
    let framing = f["framing"].as_str().unwrap_or("");
    if let Some(ty) = f.get("type") {
        assert_eq!(n["type"], "spnego", "{file}");
        let want = match s(ty) {
            "NegTokenInit2 (MS-SPNG)" => "NegTokenInit2",
            other => other,
        };
        assert_eq!(s(&n["choice"]), want, "{file}: choice");
        assert_eq!(
            n["framing"].as_str().unwrap().starts_with("GSS-API"),
            framing.starts_with("GSS-API"),
            "{file}: framing"
        );
        if let Some(m) = f.get("mechTypes") {
            let got: Vec<String> = n["mech_types"]
                .as_array()
                .unwrap()
                .iter()
                .map(mech_text)
                .collect();
            let want: Vec<String> = m
                .as_array()
                .unwrap()
                .iter()
                .map(|x| s(x).split(' ').next().unwrap().to_string())
                .collect();
            assert_eq!(got, want, "{file}: mech_types");
        }
        match f.get("negState") {
            Some(st) => {
                let got = format!(
                    "{} ({})",
                    n["neg_state"]["value"],
                    s(&n["neg_state"]["name"])
                );
                assert_eq!(got, s(st), "{file}: neg_state");
            }
            None => assert!(n["neg_state"].is_null(), "{file}: neg_state"),
        }
        match f.get("supportedMech") {
            Some(m) => assert_eq!(
                s(&n["supported_mech"]["oid"]),
                s(m).split(' ').next().unwrap(),
                "{file}"
            ),
            None => assert!(
                n["supported_mech"].is_null() || n["choice"] != "NegTokenResp",
                "{file}"
            ),
        }
        if let Some(mic) = f.get("mechListMIC") {
            assert_eq!(&n["mech_list_mic"], mic, "{file}: mech_list_mic");
        }
        if let Some(h) = f.get("negHints") {
            assert_eq!(
                n["neg_hints"]["hint_name"], h["hintName"],
                "{file}: neg_hints"
            );
        }
        for (ours, theirs) in [
            ("mech_token", "mechToken"),
            ("response_token", "responseToken"),
        ] {
            match f.get(theirs) {
                Some(inner) => check_node(file, &n[ours], inner),
                None => assert!(n[ours].is_null(), "{file}: {ours} should be absent"),
            }
        }
        return;
    }
    // A Kerberos token in GSS framing: TOK_ID and the mechanism.
    assert_eq!(n["type"], "gss", "{file}");
    assert!(
        framing.contains(s(&n["this_mech"]["oid"])),
        "{file}: this_mech"
    );
    let tok_id = s(&f["inner"])
        .rsplit(' ')
        .next()
        .unwrap()
        .to_ascii_lowercase();
    assert_eq!(s(&n["kerberos"]["tok_id"]), tok_id, "{file}: TOK_ID");
    let msg = if tok_id == "0100" { "AP-REQ" } else { "AP-REP" };
    assert_eq!(n["kerberos"]["message"], msg, "{file}");
}

#[test]
fn decode_every_token_matches_tokens_json() {
    let mut checked = 0;
    for t in tokens() {
        let file = s(&t["file"]).to_string();
        let path = data(&format!("tokens/{file}"));
        let path = path.to_str().unwrap();
        let out = run(&["decode", "--json", path], None);
        let text = run(&["decode", path], None);
        if t["facts"].get("encoding_notes").is_some() {
            // BER (non-minimal lengths): the strict DER decoder refuses it, with the offset.
            assert_eq!(out.status.code(), Some(1), "{file}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("at byte 0") && err.contains("not minimally encoded"),
                "{file}: {err}"
            );
            assert_eq!(text.status.code(), Some(1), "{file}");
            checked += 1;
            continue;
        }
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.status.success(), "{file}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
        assert_eq!(v["length"], t["len"], "{file}");
        assert_eq!(v["encoding"], "binary", "{file}");
        check_node(&file, &v["token"], &t["facts"]);
        // The text form shows the same facts.
        let text = String::from_utf8_lossy(&text.stdout);
        for key in ["user", "target_name", "server_challenge"] {
            if let Some(want) = t["facts"]
                .get(key)
                .and_then(Value::as_str)
                .filter(|x| !x.is_empty())
            {
                assert!(
                    text.contains(&format!("{key}: {want}")),
                    "{file}: text lacks {key}: {want}\n{text}"
                );
            }
        }
        for name in t["facts"]["flag_names"].as_array().into_iter().flatten() {
            assert!(
                text.contains(&format!("- {}", s(name))),
                "{file}: text lacks flag {name}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 28, "every token of the set is checked");
}

#[test]
fn decode_accepts_header_lines_base64_and_stdin() {
    let raw = std::fs::read(data("tokens/gen_spnego_ntlm_2_server.bin")).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let header = format!("WWW-Authenticate: Negotiate {b64}\r\n");
    let out = run(&["decode", "--json", "-"], Some(header.as_bytes()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scheme"], "Negotiate");
    assert_eq!(v["encoding"], "base64");
    assert_eq!(
        v["token"]["response_token"]["server_challenge"],
        "04c7747dda367544"
    );
    let ntlm = std::fs::read(data("tokens/pyspnego_ntlm_negotiate.bin")).unwrap();
    let arg = format!(
        "Authorization: NTLM {}",
        base64::engine::general_purpose::STANDARD.encode(&ntlm)
    );
    let out = run(&["decode", "--json", &arg], None);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["token"]["message_name"], "NEGOTIATE_MESSAGE");
}

fn expect_error_at(out: &Output, what: &str) -> usize {
    assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    let at = err
        .split("at byte ")
        .nth(1)
        .unwrap_or_else(|| panic!("{what}: no offset in {err:?}"));
    at.split(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .expect("offset")
}

#[test]
fn decode_reports_offsets_for_truncated_and_corrupt_tokens() {
    // picky-krb 0.13 panics on this well-formed [APPLICATION 0] with wrong contents (ARCHITECTURE.md §4).
    let out = run(&["decode", "-"], Some(&[0x60, 0x03, 0x02, 0x01, 0x05]));
    assert_eq!(expect_error_at(&out, "60 03 02 01 05"), 2);
    // An NTLM CHALLENGE cut inside its TargetInfo: the field descriptor (byte 40) is named.
    let raw = std::fs::read(data("tokens/pyspnego_ntlm_challenge.bin")).unwrap();
    let out = run(&["decode", "-"], Some(&raw[..100]));
    assert_eq!(expect_error_at(&out, "cut challenge"), 40);
    // A SPNEGO token cut short: DER reports where the element that runs past the end starts.
    let raw = std::fs::read(data("tokens/gen_spnego_ntlm_3_client.bin")).unwrap();
    let out = run(&["decode", "-"], Some(&raw[..200]));
    assert_eq!(expect_error_at(&out, "cut SPNEGO"), 0);
    // Garbage base64 and an unknown first byte.
    let out = run(&["decode", "Negotiate YII*"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("offset 3"));
    let out = run(&["decode", "-"], Some(b"\x05\x01"));
    assert_eq!(expect_error_at(&out, "unknown"), 0);
}
