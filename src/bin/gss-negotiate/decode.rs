//! `gss-negotiate decode`: a token (GSS framing, SPNEGO, NTLM, Kerberos header) as a tree, printed as text or
//! JSON. Every byte is parsed by the crate's own decoders (`ntlm::wire`, `spnego`, `spnego::der`); this module
//! only dispatches, names things and locates errors.

use gss_negotiate::spnego::der::{tag, DerError, DerReader};
use gss_negotiate::spnego::{
    self, Framing, NegHints, NegState, NegTokenInit, NegTokenResp, Oid, SpnegoToken,
};
use serde_json::{json, Map, Value};

use crate::krb5_view::krb5_value;
use crate::ntlm_view::ntlm_value;
use crate::render::hex;

/// Why a token could not be decoded, and the byte of the input where decoding stopped.
#[derive(Debug)]
pub struct DecodeError {
    pub offset: usize,
    pub message: String,
}

impl DecodeError {
    pub fn new(offset: usize, message: String) -> DecodeError {
        DecodeError { offset, message }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

/// Well-known mechanism OIDs by name.
pub fn mech_name(dotted: &str) -> &'static str {
    match dotted {
        spnego::OID_SPNEGO => "SPNEGO",
        spnego::OID_NTLMSSP => "NTLMSSP",
        spnego::OID_KRB5 => "Kerberos 5",
        spnego::OID_KRB5_MS => "Kerberos 5 (Microsoft's truncated OID)",
        spnego::OID_NEGOEX => "NEGOEX",
        "1.2.840.113554.1.2.2.3" => "Kerberos 5 user-to-user",
        "1.3.6.1.5.2.5" => "IAKERB",
        _ => "unknown",
    }
}

fn oid_value(oid: &Oid) -> Value {
    let dotted = oid.to_dotted();
    json!({"name": mech_name(&dotted), "oid": dotted})
}

/// Where `inner` (a copy of bytes inside `outer`) starts in `outer`, searching from the end of the header.
fn find(outer: &[u8], inner: &[u8]) -> Option<usize> {
    if inner.is_empty() {
        return None;
    }
    outer.windows(inner.len()).position(|w| w == inner)
}

/// Where `part` (a sub-slice of `all`) starts in `all`.
fn offset_of(all: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .wrapping_sub(all.as_ptr() as usize)
        .min(all.len())
}

/// Finds the first offset in `b` where the DER element structure breaks (a bad identifier or length, or an
/// element that runs past its parent); with `want_tag`, the first element with that identifier octet instead.
fn der_locate(b: &[u8], want_tag: Option<u8>) -> Option<usize> {
    fn walk(all: &[u8], mut r: DerReader<'_>, want: Option<u8>, depth: u8) -> Option<usize> {
        while !r.is_empty() {
            let at = offset_of(all, r.rest());
            let (t, content) = match r.read_tlv() {
                Ok(x) => x,
                Err(_) => return want.is_none().then_some(at),
            };
            if want == Some(t) {
                return Some(at);
            }
            if t & tag::CONSTRUCTED != 0 && depth < 16 {
                if let Some(x) = walk(all, DerReader::new(content), want, depth + 1) {
                    return Some(x);
                }
            }
        }
        None
    }
    walk(b, DerReader::new(b), want_tag, 0)
}

/// A DER error in the structure that starts at byte `base` of the input.
fn der_error(b: &[u8], base: usize, what: &str, e: DerError) -> DecodeError {
    let rel = match &e {
        DerError::UnexpectedTag { got, .. } => der_locate(b, Some(*got)),
        DerError::UnknownElement { tag, .. } => der_locate(b, Some(*tag)),
        _ => der_locate(b, None),
    };
    DecodeError::new(base + rel.unwrap_or(0), format!("{what}: {e}"))
}

/// Decodes any token: raw NTLMSSP, a GSS InitialContextToken (SPNEGO, Kerberos, NTLMSSP), or a bare
/// SPNEGO NegotiationToken. `base` is where `b` starts in the user's input.
pub fn token_value(b: &[u8], base: usize) -> Result<Value, DecodeError> {
    match b.first() {
        None => Err(DecodeError::new(base, "empty token".into())),
        Some(_) if b.starts_with(gss_negotiate::ntlm::wire::SIGNATURE) => ntlm_value(b, base),
        Some(0x60) => gss_framed(b, base),
        Some(0xa0) | Some(0xa1) => spnego_value(b, base),
        Some(x) => Err(DecodeError::new(
            base,
            format!(
                "not a token this tool knows: first byte 0x{x:02x} (expected 'NTLMSSP\\0', 0x60 GSS framing, \
                 or 0xa0/0xa1 SPNEGO)"
            ),
        )),
    }
}

/// A GSS-API InitialContextToken (RFC 2743 §3.1): `[APPLICATION 0] { thisMech, innerContextToken }`.
fn gss_framed(b: &[u8], base: usize) -> Result<Value, DecodeError> {
    let mut r = DerReader::new(b);
    let mut framed = r
        .read_constructed(
            tag::application(0) | tag::CONSTRUCTED,
            "InitialContextToken",
        )
        .map_err(|e| der_error(b, base, "GSS framing", e))?;
    let mech = framed
        .read_oid("thisMech")
        .map_err(|e| der_error(b, base, "GSS framing", e))?;
    if !r.is_empty() {
        let at = b.len() - r.remaining();
        return Err(DecodeError::new(
            base + at,
            "GSS framing: trailing bytes after the InitialContextToken".into(),
        ));
    }
    let dotted = mech.to_dotted();
    let inner = framed.rest();
    let inner_at = b.len() - inner.len();
    let mut m = Map::new();
    m.insert("type".into(), json!("gss"));
    m.insert("offset".into(), json!(base));
    m.insert("length".into(), json!(b.len()));
    m.insert(
        "framing".into(),
        json!("GSS-API InitialContextToken (RFC 2743 §3.1)"),
    );
    m.insert("this_mech".into(), oid_value(&mech));
    match dotted.as_str() {
        spnego::OID_SPNEGO => return spnego_value(b, base),
        spnego::OID_KRB5 | spnego::OID_KRB5_MS => {
            let (id, rest) = inner.split_first_chunk::<2>().ok_or_else(|| {
                DecodeError::new(
                    base + b.len(),
                    "Kerberos: no TOK_ID after the mechanism OID".into(),
                )
            })?;
            let v = krb5_value(*id, rest)
                .map_err(|e| der_error(rest, base + inner_at + 2, "Kerberos", e))?;
            m.insert("kerberos".into(), v);
        }
        spnego::OID_NTLMSSP => {
            m.insert("inner_token".into(), ntlm_value(inner, base + inner_at)?);
        }
        _ => {
            m.insert("inner_token_len".into(), json!(inner.len()));
        }
    }
    Ok(Value::Object(m))
}

/// A mechanism token nested in SPNEGO: decoded when it is NTLM, Kerberos or SPNEGO, otherwise shown opaque.
fn nested(outer: &[u8], base: usize, tok: &[u8]) -> Result<Value, DecodeError> {
    let at = base + find(outer, tok).unwrap_or(0);
    let known = tok.starts_with(gss_negotiate::ntlm::wire::SIGNATURE)
        || matches!(tok.first(), Some(0x60) | Some(0xa0) | Some(0xa1));
    if known {
        token_value(tok, at)
    } else {
        Ok(json!({"type": "opaque", "offset": at, "length": tok.len(), "hex": hex(tok)}))
    }
}

fn neg_state_value(s: NegState) -> Value {
    let name = match s {
        NegState::AcceptCompleted => "accept-completed",
        NegState::AcceptIncomplete => "accept-incomplete",
        NegState::Reject => "reject",
        NegState::RequestMic => "request-mic",
    };
    json!({"value": s.value(), "name": name})
}

fn hints_value(h: &NegHints) -> Value {
    json!({
        "hint_name": h.hint_name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()),
        "hint_address": h.hint_address.as_ref().map(|a| hex(a)),
    })
}

/// A SPNEGO token (RFC 4178 §4.2, MS-SPNG §2.2.1), framed or bare.
fn spnego_value(b: &[u8], base: usize) -> Result<Value, DecodeError> {
    let (tok, framing) =
        SpnegoToken::decode_framed(b).map_err(|e| der_error(b, base, "SPNEGO", e))?;
    let mut m = Map::new();
    m.insert("type".into(), json!("spnego"));
    m.insert("offset".into(), json!(base));
    m.insert("length".into(), json!(b.len()));
    m.insert(
        "framing".into(),
        json!(match framing {
            Framing::GssInitialContextToken =>
                "GSS-API InitialContextToken, thisMech SPNEGO (1.3.6.1.5.5.2)",
            Framing::Bare => "bare NegotiationToken",
        }),
    );
    match tok {
        SpnegoToken::Init(init) => init_fields(&mut m, &init, b, base)?,
        SpnegoToken::Resp(resp) => resp_fields(&mut m, &resp, b, base)?,
    }
    Ok(Value::Object(m))
}

fn init_fields(
    m: &mut Map<String, Value>,
    init: &NegTokenInit,
    b: &[u8],
    base: usize,
) -> Result<(), DecodeError> {
    let choice = if init.neg_hints.is_some() {
        "NegTokenInit2"
    } else {
        "NegTokenInit"
    };
    m.insert("choice".into(), json!(choice));
    let mechs: Vec<Value> = init.mech_types.iter().map(oid_value).collect();
    m.insert("mech_types".into(), Value::Array(mechs));
    m.insert(
        "req_flags".into(),
        json!(init.req_flags.as_ref().map(|f| hex(f.bytes()))),
    );
    m.insert(
        "neg_hints".into(),
        init.neg_hints.as_ref().map_or(Value::Null, hints_value),
    );
    let token = match &init.mech_token {
        Some(t) => nested(b, base, t)?,
        None => Value::Null,
    };
    m.insert("mech_token".into(), token);
    m.insert(
        "mech_list_mic".into(),
        json!(init.mech_list_mic.as_ref().map(|x| hex(x))),
    );
    Ok(())
}

fn resp_fields(
    m: &mut Map<String, Value>,
    resp: &NegTokenResp,
    b: &[u8],
    base: usize,
) -> Result<(), DecodeError> {
    m.insert("choice".into(), json!("NegTokenResp"));
    m.insert(
        "neg_state".into(),
        resp.neg_state.map_or(Value::Null, neg_state_value),
    );
    m.insert(
        "supported_mech".into(),
        resp.supported_mech.as_ref().map_or(Value::Null, oid_value),
    );
    let token = match &resp.response_token {
        Some(t) => nested(b, base, t)?,
        None => Value::Null,
    };
    m.insert("response_token".into(), token);
    m.insert(
        "mech_list_mic".into(),
        json!(resp.mech_list_mic.as_ref().map(|x| hex(x))),
    );
    Ok(())
}
