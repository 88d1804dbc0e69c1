//! `decode` for NTLM messages (MS-NLMP §2.2): turns the crate's own wire decoders' output into a JSON tree
//! with MS-NLMP names. No parsing happens here beyond calling [`gss_negotiate::ntlm::wire`].

use gss_negotiate::ntlm::error::WireError;
use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::wire::{
    self, split_ntlmv2_response, Authenticate, AvId, AvPairs, Challenge, Negotiate,
    NtlmV2ClientChallenge, Version,
};
use serde_json::{json, Map, Value};

use crate::decode::DecodeError;
use crate::render::{filetime_to_iso, hex};

/// The NegotiateFlags bits by their MS-NLMP §2.2.2.5 names, lowest bit first.
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (0x0000_0001, "NTLMSSP_NEGOTIATE_UNICODE"),
    (0x0000_0002, "NTLM_NEGOTIATE_OEM"),
    (0x0000_0004, "NTLMSSP_REQUEST_TARGET"),
    (0x0000_0010, "NTLMSSP_NEGOTIATE_SIGN"),
    (0x0000_0020, "NTLMSSP_NEGOTIATE_SEAL"),
    (0x0000_0040, "NTLMSSP_NEGOTIATE_DATAGRAM"),
    (0x0000_0080, "NTLMSSP_NEGOTIATE_LM_KEY"),
    (0x0000_0200, "NTLMSSP_NEGOTIATE_NTLM"),
    (0x0000_0800, "NTLMSSP_NEGOTIATE_ANONYMOUS"),
    (0x0000_1000, "NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED"),
    (0x0000_2000, "NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED"),
    (0x0000_8000, "NTLMSSP_NEGOTIATE_ALWAYS_SIGN"),
    (0x0001_0000, "NTLMSSP_TARGET_TYPE_DOMAIN"),
    (0x0002_0000, "NTLMSSP_TARGET_TYPE_SERVER"),
    (0x0008_0000, "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY"),
    (0x0010_0000, "NTLMSSP_NEGOTIATE_IDENTIFY"),
    (0x0040_0000, "NTLMSSP_REQUEST_NON_NT_SESSION_KEY"),
    (0x0080_0000, "NTLMSSP_NEGOTIATE_TARGET_INFO"),
    (0x0200_0000, "NTLMSSP_NEGOTIATE_VERSION"),
    (0x2000_0000, "NTLMSSP_NEGOTIATE_128"),
    (0x4000_0000, "NTLMSSP_NEGOTIATE_KEY_EXCH"),
    (0x8000_0000, "NTLMSSP_NEGOTIATE_56"),
];

/// The MS-NLMP names of the bits set in `flags`; a reserved bit is shown as `reserved bit 0x…`.
pub fn flag_names(flags: u32) -> Vec<String> {
    (0..32)
        .map(|i| 1u32 << i)
        .filter(|bit| flags & bit != 0)
        .map(|bit| match FLAG_NAMES.iter().find(|(b, _)| *b == bit) {
            Some((_, name)) => (*name).to_string(),
            None => format!("reserved bit 0x{bit:08x}"),
        })
        .collect()
}

fn flags_fields(m: &mut Map<String, Value>, flags: NegotiateFlags) {
    m.insert("flags".into(), json!(format!("0x{:08x}", flags.bits())));
    m.insert("flag_names".into(), json!(flag_names(flags.bits())));
}

fn version_value(v: &Option<Version>) -> Value {
    match v {
        Some(v) => json!(format!(
            "{}.{}.{} rev{}",
            v.major, v.minor, v.build, v.revision
        )),
        None => Value::Null,
    }
}

/// Where each payload field's 8-byte descriptor sits in the message (MS-NLMP §2.2.1): an error about a field
/// points there.
fn descriptor_offset(message_type: u32, field: &str) -> Option<usize> {
    let table: &[(&str, usize)] = match message_type {
        wire::NEGOTIATE_TYPE => &[("DomainName", 16), ("WorkstationName", 24)],
        wire::CHALLENGE_TYPE => &[("TargetName", 12), ("TargetInfo", 40)],
        _ => &[
            ("LmChallengeResponse", 12),
            ("NtChallengeResponse", 20),
            ("DomainName", 28),
            ("UserName", 36),
            ("Workstation", 44),
            ("EncryptedRandomSessionKey", 52),
        ],
    };
    table.iter().find(|(n, _)| *n == field).map(|(_, o)| *o)
}

/// A wire error inside the NTLM message that starts at byte `base` of the input, with the offset of the
/// byte (or field descriptor) it concerns.
fn wire_error(e: WireError, message_type: u32, base: usize, len: usize) -> DecodeError {
    let rel = match &e {
        WireError::Truncated { have, .. } => (*have).min(len),
        WireError::BadSignature => 0,
        WireError::WrongMessageType { .. } => 8,
        WireError::FieldOutOfRange { field }
        | WireError::FieldOverlap { field, .. }
        | WireError::FieldTooLong { field, .. }
        | WireError::BadFieldLength { field, .. } => {
            descriptor_offset(message_type, field).unwrap_or(0)
        }
        WireError::BadAvPairs(_) => descriptor_offset(message_type, "TargetInfo")
            .or(descriptor_offset(message_type, "NtChallengeResponse"))
            .unwrap_or(0),
        WireError::Invalid(_) => 0,
    };
    DecodeError::new(base + rel, format!("NTLM: {e}"))
}

/// One AV pair (MS-NLMP §2.2.2.1) as `{id, name, value}`; timestamps become dates, flags get names.
fn av_pair_value(id: u16, raw: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("name".into(), json!(AvId::name(id)));
    match id {
        _ if AvId::is_string(id) => {
            let v = wire::decode_string(raw, true, "AV pair")
                .map(Value::from)
                .unwrap_or_else(|_| json!(format!("(not UTF-16LE) {}", hex(raw))));
            m.insert("value".into(), v);
        }
        AvId::TIMESTAMP => {
            let t = <[u8; 8]>::try_from(raw).map(u64::from_le_bytes).ok();
            m.insert(
                "value".into(),
                t.map(filetime_to_iso).map_or(Value::Null, Value::from),
            );
            m.insert("raw".into(), json!(hex(raw)));
        }
        AvId::FLAGS => {
            let f = <[u8; 4]>::try_from(raw)
                .map(u32::from_le_bytes)
                .unwrap_or(0);
            let names: Vec<&str> = [
                (wire::MSV_AV_FLAG_CONSTRAINED, "CONSTRAINED"),
                (wire::MSV_AV_FLAG_MIC_PRESENT, "MIC_PRESENT"),
                (wire::MSV_AV_FLAG_UNVERIFIED_SPN, "UNVERIFIED_SPN"),
            ]
            .iter()
            .filter(|(b, _)| f & b != 0)
            .map(|(_, n)| *n)
            .collect();
            m.insert("value".into(), json!(format!("0x{f:08x}")));
            m.insert("flag_names".into(), json!(names));
        }
        _ => {
            m.insert("value".into(), json!(hex(raw)));
        }
    }
    Value::Object(m)
}

fn av_pairs_value(av: &AvPairs) -> Value {
    let mut list: Vec<Value> = av.iter().map(|p| av_pair_value(p.id, &p.value)).collect();
    list.push(json!({"id": 0, "name": "MsvAvEOL", "value": ""}));
    Value::Array(list)
}

/// Decodes the NTLM message `b`, found at byte `base` of the input.
pub fn ntlm_value(b: &[u8], base: usize) -> Result<Value, DecodeError> {
    let mtype = wire::message_type(b).map_err(|e| wire_error(e, 0, base, b.len()))?;
    let err = |e| wire_error(e, mtype, base, b.len());
    let mut m = Map::new();
    m.insert("type".into(), json!("ntlm"));
    m.insert("offset".into(), json!(base));
    m.insert("length".into(), json!(b.len()));
    m.insert("message_type".into(), json!(mtype));
    match mtype {
        wire::NEGOTIATE_TYPE => {
            let n = Negotiate::decode(b).map_err(err)?;
            m.insert("message_name".into(), json!("NEGOTIATE_MESSAGE"));
            flags_fields(&mut m, n.flags);
            m.insert("version".into(), version_value(&n.version));
            m.insert("domain".into(), json!(n.domain));
            m.insert("workstation".into(), json!(n.workstation));
        }
        wire::CHALLENGE_TYPE => {
            let c = Challenge::decode(b).map_err(err)?;
            m.insert("message_name".into(), json!("CHALLENGE_MESSAGE"));
            flags_fields(&mut m, c.flags);
            m.insert("version".into(), version_value(&c.version));
            m.insert("target_name".into(), json!(c.target_name));
            m.insert("server_challenge".into(), json!(hex(&c.server_challenge)));
            m.insert(
                "av_pairs".into(),
                c.target_info.as_ref().map_or(Value::Null, av_pairs_value),
            );
        }
        wire::AUTHENTICATE_TYPE => {
            let a = Authenticate::decode(b).map_err(err)?;
            m.insert("message_name".into(), json!("AUTHENTICATE_MESSAGE"));
            authenticate_fields(&mut m, &a, base, b.len())?;
        }
        other => {
            return Err(DecodeError::new(
                base + 8,
                format!("NTLM: unknown MessageType {other} (1, 2 or 3 expected)"),
            ))
        }
    }
    Ok(Value::Object(m))
}

/// What kind of response an AUTHENTICATE carries (MS-NLMP §3.3.1, §3.3.2, §3.2.5.1.2 anonymous).
fn response_kind(a: &Authenticate) -> &'static str {
    match a.nt_response.len() {
        0 if a.lm_response.len() <= 1 => "anonymous",
        0 => "LM only",
        24 if a.flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) => "NTLMv1-ESS",
        24 => "NTLMv1",
        _ => "NTLMv2",
    }
}

fn authenticate_fields(
    m: &mut Map<String, Value>,
    a: &Authenticate,
    base: usize,
    len: usize,
) -> Result<(), DecodeError> {
    flags_fields(m, a.flags);
    m.insert("version".into(), version_value(&a.version));
    m.insert("domain".into(), json!(a.domain));
    m.insert("user".into(), json!(a.user));
    m.insert("workstation".into(), json!(a.workstation));
    let kind = response_kind(a);
    m.insert("nt_response_kind".into(), json!(kind));
    m.insert("lm_response_len".into(), json!(a.lm_response.len()));
    m.insert("nt_response_len".into(), json!(a.nt_response.len()));
    if kind == "NTLMv1-ESS" {
        let cc = a.lm_response.get(..8).map(hex);
        m.insert("client_challenge".into(), json!(cc));
    }
    if kind == "NTLMv2" {
        let (proof, blob) = split_ntlmv2_response(&a.nt_response)
            .map_err(|e| wire_error(e, wire::AUTHENTICATE_TYPE, base, len))?;
        let cc = NtlmV2ClientChallenge::decode(blob)
            .map_err(|e| wire_error(e, wire::AUTHENTICATE_TYPE, base, len))?;
        m.insert(
            "ntlmv2_response".into(),
            json!({
                "nt_proof_str": hex(&proof),
                "client_challenge": hex(&cc.client_challenge),
                "timestamp": filetime_to_iso(cc.timestamp),
                "timestamp_raw": hex(&cc.timestamp.to_le_bytes()),
                "av_pairs": av_pairs_value(&cc.av_pairs),
            }),
        );
    }
    m.insert(
        "encrypted_random_session_key".into(),
        if a.encrypted_random_session_key.is_empty() {
            Value::Null
        } else {
            json!(hex(&a.encrypted_random_session_key))
        },
    );
    m.insert("mic_present".into(), json!(a.mic.is_some()));
    m.insert("mic".into(), json!(a.mic.as_ref().map(|x| hex(x))));
    Ok(())
}
