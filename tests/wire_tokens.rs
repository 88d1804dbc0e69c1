//! The NTLM wire codecs (MS-NLMP §2.2) against captured and generated tokens (tests/data/tokens, facts from
//! tokens.json) and the MS-NLMP §4.2 example messages (tests/data/ms-nlmp-4.2.json).

use gss_negotiate::ntlm::error::WireError;
use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::wire::{
    self, split_ntlmv2_response, Authenticate, AvId, AvPairs, Challenge, Negotiate,
    NtlmV2ClientChallenge, Version,
};
use serde_json::Value;
use std::path::PathBuf;

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn tokens() -> Vec<Value> {
    let text = std::fs::read_to_string(data("tokens/tokens.json")).expect("tokens.json");
    serde_json::from_str::<Value>(&text)
        .expect("json")
        .as_array()
        .expect("array")
        .clone()
}

fn vectors() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(data("ms-nlmp-4.2.json")).expect("ms-nlmp-4.2.json"),
    )
    .expect("json")
}

fn version_text(v: &Version) -> String {
    format!("{}.{}.{} rev{}", v.major, v.minor, v.build, v.revision)
}

fn flags_of(facts: &Value) -> NegotiateFlags {
    let s = facts["flags"].as_str().expect("flags");
    NegotiateFlags(u32::from_str_radix(s.trim_start_matches("0x"), 16).expect("flags hex"))
}

/// One NTLM message of the token set: the raw NTLM bytes and the facts that describe them. For SPNEGO
/// tokens the NTLM message is the inner mechToken/responseToken: it is located by its `NTLMSSP\0` signature
/// and cut to the length tokens.json gives.
struct NtlmToken {
    file: String,
    bytes: Vec<u8>,
    facts: Value,
}

fn ntlm_tokens() -> Vec<NtlmToken> {
    let mut out = Vec::new();
    for t in tokens() {
        let file = t["file"].as_str().expect("file").to_string();
        let raw = std::fs::read(data(&format!("tokens/{file}"))).expect("token file");
        assert_eq!(
            hex(&raw),
            t["hex"].as_str().expect("hex"),
            "{file}: .bin differs from tokens.json"
        );
        let facts = &t["facts"];
        let inner = [&facts["mechToken"], &facts["responseToken"]]
            .into_iter()
            .find(|v| v["ntlm_message"].is_string());
        if facts["ntlm_message"].is_string() {
            out.push(NtlmToken {
                file,
                bytes: raw,
                facts: facts.clone(),
            });
        } else if let Some(inner) = inner {
            let len = inner["length"].as_u64().expect("length") as usize;
            let at = raw
                .windows(8)
                .position(|w| w == wire::SIGNATURE)
                .expect("inner NTLMSSP signature");
            let bytes = raw[at..at + len].to_vec();
            out.push(NtlmToken {
                file,
                bytes,
                facts: inner.clone(),
            });
        }
    }
    out
}

/// Checks an AV pair list against tokens.json's rendering ("MsvAvName=value", last "MsvAvEOL=").
fn check_av_pairs(file: &str, av: &AvPairs, expected: &Value) {
    let expected: Vec<&str> = expected
        .as_array()
        .expect("av list")
        .iter()
        .map(|v| v.as_str().expect("str"))
        .collect();
    assert_eq!(expected.last(), Some(&"MsvAvEOL="), "{file}");
    assert_eq!(av.len(), expected.len() - 1, "{file}: number of AV pairs");
    for (pair, exp) in av.iter().zip(&expected) {
        let (name, value) = exp.split_once('=').expect("name=value");
        assert_eq!(AvId::name(pair.id), name, "{file}: AV id order");
        let first_word = value.split(' ').next().unwrap_or("");
        match pair.id {
            AvId::TIMESTAMP => assert_eq!(hex(&pair.value), first_word, "{file}: {name}"),
            AvId::FLAGS => {
                let want =
                    u32::from_str_radix(first_word.trim_start_matches("0x"), 16).expect("flags");
                assert_eq!(av.flags(), Some(want), "{file}: {name}");
            }
            AvId::CHANNEL_BINDINGS | AvId::SINGLE_HOST => {
                assert_eq!(hex(&pair.value), value, "{file}: {name}")
            }
            id if AvId::is_string(id) => {
                let s = wire::decode_string(&pair.value, true, "av").expect("utf16");
                assert_eq!(s, value, "{file}: {name}");
            }
            other => panic!("{file}: unexpected AV id {other}"),
        }
    }
}

fn check_negotiate(t: &NtlmToken) -> Negotiate {
    let n = Negotiate::decode(&t.bytes).unwrap_or_else(|e| panic!("{}: {e}", t.file));
    assert_eq!(n.flags, flags_of(&t.facts), "{}", t.file);
    assert_eq!(
        n.version.as_ref().map(version_text),
        t.facts["version"].as_str().map(String::from),
        "{}",
        t.file
    );
    assert_eq!(
        n.domain.as_deref(),
        t.facts["oem_domain"].as_str(),
        "{}",
        t.file
    );
    assert_eq!(
        n.workstation.as_deref(),
        t.facts["oem_workstation"].as_str(),
        "{}",
        t.file
    );
    n
}

fn check_challenge(t: &NtlmToken) -> Challenge {
    let c = Challenge::decode(&t.bytes).unwrap_or_else(|e| panic!("{}: {e}", t.file));
    assert_eq!(c.flags, flags_of(&t.facts), "{}", t.file);
    assert_eq!(
        c.version.as_ref().map(version_text),
        t.facts["version"].as_str().map(String::from),
        "{}",
        t.file
    );
    assert_eq!(
        c.target_name,
        t.facts["target_name"].as_str().expect("target_name"),
        "{}",
        t.file
    );
    assert_eq!(
        hex(&c.server_challenge),
        t.facts["server_challenge"].as_str().expect("challenge"),
        "{}",
        t.file
    );
    check_av_pairs(
        &t.file,
        c.target_info.as_ref().expect("target_info"),
        &t.facts["target_info"],
    );
    c
}

fn check_authenticate(t: &NtlmToken) -> Authenticate {
    let f = &t.facts;
    let a = Authenticate::decode(&t.bytes).unwrap_or_else(|e| panic!("{}: {e}", t.file));
    assert_eq!(a.flags, flags_of(f), "{}", t.file);
    assert_eq!(
        a.version.as_ref().map(version_text),
        f["version"].as_str().map(String::from),
        "{}",
        t.file
    );
    assert_eq!(
        a.domain,
        f["domain"].as_str().expect("domain"),
        "{}",
        t.file
    );
    assert_eq!(a.user, f["user"].as_str().expect("user"), "{}", t.file);
    assert_eq!(
        a.workstation,
        f["workstation"].as_str().expect("workstation"),
        "{}",
        t.file
    );
    assert_eq!(
        a.lm_response.len() as u64,
        f["lm_response_len"].as_u64().expect("lm len"),
        "{}",
        t.file
    );
    assert_eq!(
        a.nt_response.len() as u64,
        f["nt_response_len"].as_u64().expect("nt len"),
        "{}",
        t.file
    );
    let esk = f["encrypted_random_session_key"]
        .as_str()
        .map(unhex)
        .unwrap_or_default();
    assert_eq!(a.encrypted_random_session_key, esk, "{}", t.file);
    assert_eq!(
        a.mic.map(|m| hex(&m)),
        f["mic"].as_str().map(String::from),
        "{}: MIC",
        t.file
    );
    // The MIC slot exists exactly when the payload starts at or after byte 88.
    let payload_offset = f["payload_offset"].as_u64().expect("payload_offset");
    assert_eq!(a.mic.is_some(), payload_offset >= 88, "{}", t.file);
    match f["nt_response_kind"].as_str().expect("kind") {
        "NTLMv2" => {
            let (proof, blob) = split_ntlmv2_response(&a.nt_response).expect("NTLMv2 split");
            assert_eq!(
                hex(&proof),
                f["nt_proof_str"].as_str().expect("proof"),
                "{}",
                t.file
            );
            let cc = NtlmV2ClientChallenge::decode(blob)
                .unwrap_or_else(|e| panic!("{}: blob {e}", t.file));
            assert_eq!(
                hex(&cc.client_challenge),
                f["client_challenge"].as_str().expect("cc"),
                "{}",
                t.file
            );
            let ts = f["client_timestamp"]
                .as_str()
                .expect("ts")
                .split(' ')
                .next()
                .expect("ts hex");
            assert_eq!(hex(&cc.timestamp.to_le_bytes()), ts, "{}", t.file);
            check_av_pairs(&t.file, &cc.av_pairs, &f["ntlmv2_av_pairs"]);
            // The MIC is announced in MsvAvFlags exactly when the message carries one.
            let announced = cc.av_pairs.flags().unwrap_or(0) & wire::MSV_AV_FLAG_MIC_PRESENT != 0;
            assert_eq!(announced, a.mic.is_some(), "{}", t.file);
        }
        "NTLMv1" => assert_eq!(a.nt_response.len(), 24, "{}", t.file),
        "NTLMv1-ESS" => {
            // NTLMv1 with ESS: LmChallengeResponse = ClientChallenge || Z(16) (MS-NLMP §3.3.1).
            assert_eq!(a.nt_response.len(), 24, "{}", t.file);
            assert_eq!(
                hex(&a.lm_response[..8]),
                f["client_challenge(ESS)"].as_str().expect("ess cc"),
                "{}",
                t.file
            );
            assert_eq!(a.lm_response[8..], [0u8; 16], "{}", t.file);
        }
        other => panic!("{}: unknown kind {other}", t.file),
    }
    a
}

/// Tokens whose payload layout is exactly our encoder's (Windows') layout: they must re-encode byte for byte.
/// Every other token must still survive decode → encode → decode unchanged; why each differs:
/// - gen_ntlm_v2_1_client, gen_ntlm_v1_ess_1_client, gen_spnego_ntlm_1_client (pyspnego NEGOTIATE): empty
///   name fields carry offset 40 where Windows writes 0;
/// - pyspnego_ntlm_authenticate: payload LM, NT, User, Workstation, key and an empty domain at offset 0;
/// - pyspnego_ntlm_authenticate_no_sign_seal, gen_ntlm_v2_3_client, gen_ntlm_v1_ess_3_client,
///   gen_spnego_ntlm_3_client (pyspnego), impacket_spnego_negtokenresp_ntlm_authenticate: payload starts
///   with LM and NT responses, Windows starts with the domain name.
const BYTE_IDENTICAL: &[&str] = &[
    "pyspnego_ntlm_negotiate.bin",
    "impacket_spnego_negtokeninit_ntlm_negotiate.bin",
    "pyspnego_ntlm_challenge.bin",
    "gontlm_challenge_win2003_reuters.bin",
    "impacket_spnego_negtokenresp_ntlm_challenge.bin",
    "gssntlmssp_challenge_ws2008r2_cbt.bin",
    "gen_ntlm_v2_2_server.bin",
    "gen_ntlm_v1_ess_2_server.bin",
    "gen_spnego_ntlm_2_server.bin",
    "gontlm_authenticate_v1_reuters.bin",
    "gssntlmssp_authenticate_v2_cbt_mic.bin",
];

#[test]
fn every_captured_ntlm_token_decodes_with_its_documented_facts_and_reencodes() {
    let all = ntlm_tokens();
    let mut counts = [0usize; 4];
    for t in &all {
        let ty = wire::message_type(&t.bytes).expect("message type");
        counts[ty as usize] += 1;
        let reencoded = match ty {
            wire::NEGOTIATE_TYPE => {
                let n = check_negotiate(t);
                let e = n.encode();
                assert_eq!(
                    Negotiate::decode(&e).as_ref(),
                    Ok(&n),
                    "{}: decode(encode(decode(x)))",
                    t.file
                );
                e
            }
            wire::CHALLENGE_TYPE => {
                let c = check_challenge(t);
                let e = c.encode();
                assert_eq!(
                    Challenge::decode(&e).as_ref(),
                    Ok(&c),
                    "{}: decode(encode(decode(x)))",
                    t.file
                );
                e
            }
            wire::AUTHENTICATE_TYPE => {
                let a = check_authenticate(t);
                let e = a.encode();
                assert_eq!(
                    Authenticate::decode(&e).as_ref(),
                    Ok(&a),
                    "{}: decode(encode(decode(x)))",
                    t.file
                );
                e
            }
            other => panic!("{}: message type {other}", t.file),
        };
        let identical = reencoded == t.bytes;
        assert_eq!(
            identical,
            BYTE_IDENTICAL.contains(&t.file.as_str()),
            "{}: byte-identical re-encoding",
            t.file
        );
    }
    // 6 raw NEGOTIATE/CHALLENGE/AUTHENTICATE groups + the NTLM tokens inside 5 SPNEGO tokens.
    assert_eq!(counts, [0, 5, 7, 8], "NTLM tokens found per type");
}

#[test]
fn ntlmv2_client_challenge_of_captured_tokens_is_reproduced_up_to_padding() {
    // §2.2.2.7: our encoder writes Z(4) after the AV pairs; Windows 7 (gssntlmssp CBT capture) wrote Z(8).
    for t in ntlm_tokens() {
        if t.facts["nt_response_kind"].as_str() != Some("NTLMv2") {
            continue;
        }
        let a = Authenticate::decode(&t.bytes).expect("decode");
        let (_, blob) = split_ntlmv2_response(&a.nt_response).expect("split");
        let cc = NtlmV2ClientChallenge::decode(blob).expect("blob");
        let ours = cc.encode();
        assert_eq!(&blob[..ours.len()], &ours[..], "{}", t.file);
        assert!(blob[ours.len()..].iter().all(|&b| b == 0), "{}", t.file);
    }
}

fn vector_hex(v: &Value, section: &str, key: &str) -> Vec<u8> {
    unhex(
        v[section][key]["hex"]
            .as_str()
            .unwrap_or_else(|| panic!("{section}/{key}")),
    )
}

#[test]
fn ms_nlmp_4_2_2_and_4_2_3_ntlmv1_messages_decode() {
    let v = vectors();
    for (section, flags_c, flags_a, lm_key, esk_key) in [
        (
            "4.2.2_NTLMv1",
            0xe202_8233,
            0xe280_8235,
            "LMv1Response",
            Some("EncryptedSessionKey"),
        ),
        (
            "4.2.3_NTLMv1_with_client_challenge",
            0x820a_8233,
            0x8208_8235,
            "LMv1Response",
            None,
        ),
    ] {
        // §4.2.2.3 / §4.2.3.3 CHALLENGE_MESSAGE.
        let raw = vector_hex(&v, section, "CHALLENGE_MESSAGE");
        let c = Challenge::decode(&raw).expect(section);
        assert_eq!(c.flags, NegotiateFlags(flags_c), "{section}");
        assert_eq!(c.target_name, "Server");
        assert_eq!(hex(&c.server_challenge), "0123456789abcdef");
        assert_eq!(c.target_info, None);
        assert_eq!(
            c.version,
            Some(Version {
                major: 6,
                minor: 0,
                build: 6000,
                revision: 15
            })
        );
        assert_eq!(c.encode(), raw, "{section} CHALLENGE re-encodes");

        // §4.2.2.3 / §4.2.3.3 AUTHENTICATE_MESSAGE.
        let raw = vector_hex(&v, section, "AUTHENTICATE_MESSAGE");
        let a = Authenticate::decode(&raw).expect(section);
        assert_eq!(a.flags, NegotiateFlags(flags_a), "{section}");
        assert_eq!(
            (a.domain.as_str(), a.user.as_str(), a.workstation.as_str()),
            ("Domain", "User", "COMPUTER")
        );
        assert_eq!(a.lm_response, vector_hex(&v, section, lm_key));
        assert_eq!(a.nt_response, vector_hex(&v, section, "NTLMv1Response"));
        let esk = esk_key
            .map(|k| vector_hex(&v, section, k))
            .unwrap_or_default();
        assert_eq!(a.encrypted_random_session_key, esk);
        assert_eq!(
            a.version,
            Some(Version {
                major: 5,
                minor: 1,
                build: 2600,
                revision: 15
            })
        );
        assert_eq!(a.mic, None);
        assert_eq!(a.encode(), raw, "{section} AUTHENTICATE re-encodes");
    }
}

#[test]
fn ms_nlmp_4_2_4_ntlmv2_messages_decode() {
    let v = vectors();
    let s = "4.2.4_NTLMv2";
    // §4.2.4.3 CHALLENGE_MESSAGE with TargetInfo NbDomainName=Domain, NbComputerName=Server.
    let raw = vector_hex(&v, s, "CHALLENGE_MESSAGE");
    let c = Challenge::decode(&raw).expect("4.2.4 challenge");
    assert_eq!(c.flags, NegotiateFlags(0xe28a_8233));
    assert_eq!(c.target_name, "Server");
    let ti = c.target_info.as_ref().expect("target info");
    assert_eq!(ti.encode(), vector_hex(&v, s, "AV_pairs_ServerName"));
    assert_eq!(
        ti.get_string(wire::av_pairs::MSV_AV_NB_DOMAIN_NAME)
            .as_deref(),
        Some("Domain")
    );
    assert_eq!(
        ti.get_string(wire::av_pairs::MSV_AV_NB_COMPUTER_NAME)
            .as_deref(),
        Some("Server")
    );
    assert_eq!(c.encode(), raw);

    // §4.2.4.3 AUTHENTICATE_MESSAGE: LMv2 (24), NTLMv2 (84), key.
    let raw = vector_hex(&v, s, "AUTHENTICATE_MESSAGE");
    let a = Authenticate::decode(&raw).expect("4.2.4 authenticate");
    assert_eq!(a.flags, NegotiateFlags(0xe288_8235));
    assert_eq!(
        (a.domain.as_str(), a.user.as_str(), a.workstation.as_str()),
        ("Domain", "User", "COMPUTER")
    );
    assert_eq!(a.lm_response, vector_hex(&v, s, "LMv2Response"));
    assert_eq!(a.nt_response, vector_hex(&v, s, "NTLMv2Response"));
    assert_eq!(
        a.encrypted_random_session_key,
        vector_hex(&v, s, "EncryptedSessionKey")
    );
    assert_eq!(a.mic, None);
    let (proof, blob) = split_ntlmv2_response(&a.nt_response).expect("split");
    assert_eq!(proof.to_vec(), vector_hex(&v, s, "NTProofStr"));
    // §4.2.4.1.3 temp = the blob, and our encoder rebuilds it from its fields.
    assert_eq!(blob, vector_hex(&v, s, "temp"));
    let cc = NtlmV2ClientChallenge::decode(blob).expect("temp");
    assert_eq!((cc.timestamp, cc.client_challenge), (0, [0xaa; 8]));
    assert_eq!(&cc.av_pairs, ti);
    assert_eq!(cc.encode(), blob);
    assert_eq!(a.encode(), raw);
}

#[test]
fn channel_binding_capture_decodes_with_mic_and_bindings() {
    // gss-ntlmssp T_NTLMv2_CBT (Windows 7 → Server 2008 R2), MS-NLMP §2.2.1.3 with MIC and §2.2.2.1 CBT.
    let v = vectors();
    let s = "channel_bindings_gss-ntlmssp_T_NTLMv2_CBT";
    let c = Challenge::decode(&vector_hex(&v, s, "CHALLENGE_MESSAGE")).expect("challenge");
    assert_eq!(
        c.target_info.as_ref().map(AvPairs::encode),
        Some(vector_hex(&v, s, "TargetInfo"))
    );
    assert_eq!(
        c.target_info.as_ref().and_then(AvPairs::timestamp),
        Some(0x01cd_de0b_c33f_e77b)
    );
    let raw = vector_hex(&v, s, "AUTHENTICATE_MESSAGE");
    let a = Authenticate::decode(&raw).expect("authenticate");
    assert_eq!(a.mic.map(|m| m.to_vec()), Some(vector_hex(&v, s, "MIC")));
    let (proof, blob) = split_ntlmv2_response(&a.nt_response).expect("split");
    assert_eq!(proof.to_vec(), vector_hex(&v, s, "NTProofStr"));
    let cc = NtlmV2ClientChallenge::decode(blob).expect("blob");
    let cb = v[s]["channel_bindings"]["gss_channel_bindings_struct_md5"]["hex"]
        .as_str()
        .expect("cb");
    assert_eq!(
        cc.av_pairs.channel_bindings().map(|h| hex(&h)).as_deref(),
        Some(cb)
    );
    assert_eq!(
        cc.av_pairs.get_string(AvId::TARGET_NAME).as_deref(),
        Some("HTTP/dc-ws2008r2.ws2008r2.local")
    );
    assert_eq!(
        cc.av_pairs.get(AvId::SINGLE_HOST).map(<[u8]>::len),
        Some(48)
    );
    assert_eq!(a.encode(), raw);
    assert_eq!(
        Authenticate::with_zeroed_mic(&raw).expect("zero")[72..88],
        [0u8; 16]
    );
}

#[test]
fn chromium_negotiate_and_authenticate_decode() {
    // Chromium (net/ntlm) on the §4.2.4 inputs: a 32-byte NEGOTIATE and an AUTHENTICATE with a zero VERSION
    // slot (no VERSION flag) before its MIC, payload order LM, NT, Domain, User, Workstation.
    let v = vectors();
    let s = "extra_chromium_ntlmv2_epa_mic";
    let neg = unhex(v[s]["inputs"]["NEGOTIATE_MESSAGE"].as_str().expect("neg"));
    let n = Negotiate::decode(&neg).expect("negotiate");
    assert_eq!(
        n,
        Negotiate {
            flags: NegotiateFlags(0x0008_8207),
            domain: None,
            workstation: None,
            version: None
        }
    );
    let raw = vector_hex(&v, s, "AUTHENTICATE_MESSAGE");
    let a = Authenticate::decode(&raw).expect("authenticate");
    assert_eq!(a.version, None);
    assert_eq!(a.mic.map(|m| m.to_vec()), Some(vector_hex(&v, s, "MIC")));
    assert_eq!(
        (a.domain.as_str(), a.user.as_str(), a.workstation.as_str()),
        ("Domain", "User", "COMPUTER")
    );
    let (proof, blob) = split_ntlmv2_response(&a.nt_response).expect("split");
    assert_eq!(proof.to_vec(), vector_hex(&v, s, "NTProofStr"));
    let cc = NtlmV2ClientChallenge::decode(blob).expect("blob");
    assert_eq!(cc.av_pairs.encode(), vector_hex(&v, s, "UpdatedTargetInfo"));
    assert_eq!(cc.av_pairs.flags(), Some(wire::MSV_AV_FLAG_MIC_PRESENT));
    // Payload order differs from Windows': check decode(encode(decode(x))) == decode(x).
    assert_eq!(Authenticate::decode(&a.encode()), Ok(a));
}

#[test]
fn curl_style_32_byte_negotiate_decodes() {
    // MS-NLMP §2.2.1.1 without VERSION, both security buffers zero, as curl's built-in NTLM sends it.
    let mut b = b"NTLMSSP\0".to_vec();
    b.extend(1u32.to_le_bytes());
    b.extend(0xa208_8207u32.to_le_bytes());
    b.extend([0u8; 16]);
    let n = Negotiate::decode(&b).expect("curl negotiate");
    assert_eq!(n.flags, NegotiateFlags(0xa208_8207));
    assert!(n
        .flags
        .contains(NegotiateFlags::UNICODE | NegotiateFlags::NTLM | NegotiateFlags::KEY_128));
    assert_eq!((n.domain, n.workstation, n.version), (None, None, None));
    // With the OEM_DOMAIN_SUPPLIED flag but an empty field, the domain is present and empty.
    b[13] |= 0x10;
    assert_eq!(
        Negotiate::decode(&b).expect("flag").domain.as_deref(),
        Some("")
    );
}

#[test]
fn captured_tokens_are_rejected_under_the_wrong_decoder() {
    for t in ntlm_tokens() {
        let ty = wire::message_type(&t.bytes).expect("type");
        let errs = [
            (1, Negotiate::decode(&t.bytes).err()),
            (2, Challenge::decode(&t.bytes).err()),
            (3, Authenticate::decode(&t.bytes).err()),
        ];
        for (expected, err) in errs {
            if expected != ty {
                assert_eq!(
                    err,
                    Some(WireError::WrongMessageType { expected, got: ty }),
                    "{}",
                    t.file
                );
            }
        }
    }
}
