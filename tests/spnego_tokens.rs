//! Captured and generated SPNEGO tokens (tests/data/tokens, described in INDEX.md / tokens.json) decoded with the
//! strict codec of `gss_negotiate::spnego` and checked against the independently decoded facts: RFC 4178 §4.2
//! (NegotiationToken, NegTokenInit §4.2.1, NegTokenResp §4.2.2), MS-SPNG §2.2.1 (NegTokenInit2 negHints),
//! RFC 2743 §3.1 (GSS framing), RFC 4178 §5 (mechListMIC input).

use std::path::PathBuf;

use gss_negotiate::spnego::{
    encode_mech_type_list, DerError, Framing, NegTokenInit, NegTokenResp, Oid, SpnegoToken,
    OID_KRB5,
};
use serde_json::Value;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokens")
}

fn index() -> Vec<Value> {
    let text =
        std::fs::read_to_string(data_dir().join("tokens.json")).expect("tokens.json readable");
    match serde_json::from_str(&text).expect("tokens.json parses") {
        Value::Array(v) => v,
        other => panic!("tokens.json is not an array: {other}"),
    }
}

fn read_token(entry: &Value) -> Vec<u8> {
    let file = entry["file"].as_str().expect("file name");
    std::fs::read(data_dir().join(file)).expect("token file readable")
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// `"1.3.6.1.4.1.311.2.2.10 (NTLMSSP)"` → the OID.
fn fact_oid(v: &Value) -> Oid {
    let s = v.as_str().expect("OID fact is a string");
    let dotted = s.split_whitespace().next().expect("dotted OID first");
    Oid::from_dotted(dotted).expect("fact OID parses")
}

/// `"3 (request-mic)"` → 3.
fn fact_leading_int(v: &Value) -> i64 {
    let s = v.as_str().expect("string fact");
    s.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("leading integer")
}

fn spnego_entries() -> Vec<Value> {
    let entries: Vec<Value> = index()
        .into_iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("spnego-")))
        .collect();
    // The set has twelve SPNEGO tokens; a silently emptied filter must not make these tests vacuous.
    assert!(
        entries.len() >= 12,
        "only {} SPNEGO tokens in tokens.json",
        entries.len()
    );
    entries
}

fn is_ber(entry: &Value) -> bool {
    entry["facts"]["encoding_notes"]
        .as_array()
        .is_some_and(|notes| {
            notes
                .iter()
                .any(|n| n.as_str().is_some_and(|s| s.contains("BER")))
        })
}

/// Checks an opaque inner token against its facts: length, leading bytes, and for NTLM the `NTLMSSP\0`
/// signature and MessageType (MS-NLMP §2.2.1).
fn check_inner_token(name: &str, field: &str, token: Option<&Vec<u8>>, facts: &Value) {
    let Some(facts) = facts.get(field) else {
        assert!(
            token.is_none(),
            "{name}: {field} present but not in the facts"
        );
        return;
    };
    let token = token.unwrap_or_else(|| panic!("{name}: {field} missing"));
    if let Some(len) = facts
        .get("len")
        .or_else(|| facts.get("length"))
        .and_then(Value::as_u64)
    {
        assert_eq!(token.len() as u64, len, "{name}: {field} length");
    }
    if let Some(starts) = facts.get("starts").and_then(Value::as_str) {
        assert!(
            token.starts_with(&hex(starts)),
            "{name}: {field} does not start with {starts}"
        );
    }
    if let Some(msg) = facts.get("ntlm_message").and_then(Value::as_str) {
        let expected_type = msg
            .rsplit('(')
            .next()
            .and_then(|s| s.trim_end_matches(')').parse::<u32>().ok())
            .expect("NTLM message type number");
        assert!(
            token.starts_with(b"NTLMSSP\0"),
            "{name}: {field} lacks the NTLMSSP signature"
        );
        let ty = token
            .get(8..12)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        assert_eq!(ty, Some(expected_type), "{name}: {field} NTLM MessageType");
    }
    if facts
        .get("framing")
        .and_then(Value::as_str)
        .is_some_and(|f| f.contains("thisMech=1.2.840.113554.1.2.2"))
    {
        // A Kerberos GSS token inside SPNEGO is framed like SPNEGO but for another mechanism.
        assert_eq!(
            SpnegoToken::decode(token),
            Err(DerError::WrongMechanism {
                got: OID_KRB5.to_string()
            }),
            "{name}: {field} is a krb5 token"
        );
    }
}

fn check_init(name: &str, init: &NegTokenInit, facts: &Value) {
    let expected: Vec<Oid> = facts["mechTypes"]
        .as_array()
        .expect("mechTypes fact")
        .iter()
        .map(fact_oid)
        .collect();
    assert_eq!(init.mech_types, expected, "{name}: mechTypes");
    check_inner_token(name, "mechToken", init.mech_token.as_ref(), facts);
    let mic = facts.get("mechListMIC").and_then(Value::as_str).map(hex);
    assert_eq!(init.mech_list_mic, mic, "{name}: mechListMIC");
    assert_eq!(
        init.req_flags, None,
        "{name}: no token in the set carries reqFlags"
    );
    let is_init2 = facts["type"]
        .as_str()
        .is_some_and(|t| t.contains("NegTokenInit2"));
    match facts.get("negHints") {
        Some(hints) => {
            assert!(is_init2, "{name}: negHints only exist in NegTokenInit2");
            let got = init
                .neg_hints
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: negHints missing"));
            let name_fact = hints
                .get("hintName")
                .and_then(Value::as_str)
                .map(|s| s.as_bytes().to_vec());
            assert_eq!(got.hint_name, name_fact, "{name}: hintName");
            let addr_fact = hints.get("hintAddress").and_then(Value::as_str).map(hex);
            assert_eq!(got.hint_address, addr_fact, "{name}: hintAddress");
        }
        None => assert_eq!(init.neg_hints, None, "{name}: unexpected negHints"),
    }
}

fn check_resp(name: &str, resp: &NegTokenResp, facts: &Value) {
    let state = resp.neg_state.map(|s| s.value());
    assert_eq!(
        state,
        facts.get("negState").map(fact_leading_int),
        "{name}: negState"
    );
    assert_eq!(
        resp.supported_mech,
        facts.get("supportedMech").map(fact_oid),
        "{name}: supportedMech"
    );
    check_inner_token(name, "responseToken", resp.response_token.as_ref(), facts);
    let mic = facts.get("mechListMIC").and_then(Value::as_str).map(hex);
    assert_eq!(resp.mech_list_mic, mic, "{name}: mechListMIC");
}

/// RFC 4178 §4.2 / MS-SPNG §2.2.1: every DER token decodes, and each indexed fact holds; a field absent from the
/// facts must be absent from the token.
#[test]
fn every_der_spnego_token_decodes_with_the_indexed_facts() {
    let mut checked = 0;
    for entry in spnego_entries().iter().filter(|e| !is_ber(e)) {
        let name = entry["file"].as_str().unwrap_or("?");
        let bytes = read_token(entry);
        let facts = &entry["facts"];
        let (token, framing) = SpnegoToken::decode_framed(&bytes)
            .unwrap_or_else(|e| panic!("{name}: decode failed: {e}"));
        let framing_fact = facts["framing"].as_str().expect("framing fact");
        let expected_framing = if framing_fact.starts_with("GSS-API InitialContextToken") {
            Framing::GssInitialContextToken
        } else {
            Framing::Bare
        };
        assert_eq!(
            framing, expected_framing,
            "{name}: framing ({framing_fact})"
        );
        let ty = facts["type"].as_str().expect("type fact");
        match &token {
            SpnegoToken::Init(init) => {
                assert!(
                    ty.starts_with("NegTokenInit"),
                    "{name}: decoded Init, facts say {ty}"
                );
                check_init(name, init, facts);
            }
            SpnegoToken::Resp(resp) => {
                assert_eq!(ty, "NegTokenResp", "{name}: decoded Resp");
                check_resp(name, resp, facts);
            }
        }
        checked += 1;
    }
    assert!(checked >= 11, "only {checked} DER tokens checked");
}

/// DER is canonical (X.690 §10): decoding then encoding a DER token gives back its exact bytes.
#[test]
fn der_spnego_tokens_reencode_byte_identically() {
    for entry in spnego_entries().iter().filter(|e| !is_ber(e)) {
        let name = entry["file"].as_str().unwrap_or("?");
        let bytes = read_token(entry);
        let token = SpnegoToken::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(token.encode(), bytes, "{name}: re-encoding differs");
    }
}

/// go-smb2's captured NegTokenResp uses BER long-form lengths for values below 128 (`a1 82 00 0b ...`). The
/// strict decoder rejects it (X.690 §10.1); no lenient path exists.
#[test]
fn ber_encoded_negtokenresp_is_rejected_by_the_strict_decoder() {
    let ber: Vec<Value> = spnego_entries().into_iter().filter(is_ber).collect();
    assert!(!ber.is_empty(), "the set has a BER token");
    for entry in ber {
        let name = entry["file"].as_str().unwrap_or("?");
        assert_eq!(
            SpnegoToken::decode(&read_token(&entry)),
            Err(DerError::NonMinimalLength),
            "{name}"
        );
    }
}

/// RFC 4178 §5: the mechListMIC signs the DER MechTypeList of the initiator's NegTokenInit. The bytes that the
/// independent verification signed equal `encode_mech_type_list` of the decoded list, and appear verbatim in
/// the received token.
#[test]
fn mech_list_mic_input_is_the_der_mech_type_list_of_the_received_init() {
    let entries = index();
    let find = |file: &str| {
        entries
            .iter()
            .find(|e| e["file"] == file)
            .cloned()
            .expect("token in index")
    };
    let client_init = find("gen_spnego_ntlm_1_client.bin");
    let last = find("gen_spnego_ntlm_4_server.bin");
    let input_fact = last["verification"]["mechListMIC_input"]
        .as_str()
        .expect("mechListMIC_input fact");
    let signed_hex = input_fact
        .split_whitespace()
        .find(|w| w.starts_with("30") && w.chars().all(|c| c.is_ascii_hexdigit()))
        .expect("hex MechTypeList in the fact");
    let signed = hex(signed_hex);

    let bytes = read_token(&client_init);
    let Ok(SpnegoToken::Init(init)) = SpnegoToken::decode(&bytes) else {
        panic!("client token 1 is an Init")
    };
    let list = encode_mech_type_list(&init.mech_types);
    assert_eq!(list, signed);
    assert!(
        bytes.windows(list.len()).any(|w| w == list.as_slice()),
        "received bytes contain the list"
    );
}

/// RFC 2743 §3.1: a raw Kerberos InitialContextToken has the same framing with thisMech = krb5; it is not SPNEGO.
#[test]
fn raw_kerberos_token_is_rejected_as_another_mechanism() {
    let entries = index();
    let krb = entries
        .iter()
        .find(|e| e["kind"] == "krb5-raw")
        .expect("krb5 raw token in the set");
    assert_eq!(
        SpnegoToken::decode(&read_token(krb)),
        Err(DerError::WrongMechanism {
            got: OID_KRB5.to_string()
        })
    );
}

/// Raw NTLMSSP messages (MS-NLMP §2.2.1) start with `N` (0x4e), which is no NegotiationToken tag.
#[test]
fn raw_ntlm_messages_are_not_spnego_tokens() {
    let ntlm: Vec<Value> = index()
        .into_iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("ntlm-")))
        .collect();
    assert!(!ntlm.is_empty());
    for entry in ntlm {
        let err = SpnegoToken::decode(&read_token(&entry));
        assert!(
            matches!(err, Err(DerError::UnexpectedTag { got: 0x4E, .. })),
            "{}: {err:?}",
            entry["file"]
        );
    }
}
