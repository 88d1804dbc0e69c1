//! The two SPNEGO decoders side by side for tests/spnego_picky.rs: ours (`gss_negotiate::spnego`) and picky-krb's
//! RFC 4178 types (`picky_krb::gss_api`), reduced to the fields both can express; picky-krb's encoder for the
//! same fields; and [`explain`], the list of known disagreements with the rule that decides each.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use gss_negotiate::spnego::{
    BitString, Framing, NegTokenInit, NegTokenResp, Oid, SpnegoToken, OID_SPNEGO,
};
use picky_asn1::bit_string::BitString as PickyBits;
use picky_asn1::wrapper::{
    Asn1SequenceOf, BitStringAsn1, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2,
    ExplicitContextTag3, ObjectIdentifierAsn1, OctetStringAsn1, Optional,
};
use picky_asn1_der::Asn1RawDer;
use picky_krb::gss_api::{
    ApplicationTag0, GssApiNegInit, NegTokenInit as PInit, NegTokenTarg, NegTokenTarg1,
};

/// The fields both codecs can express (picky-krb has no negHints), compared between them. OIDs as dotted
/// text, reqFlags as the BIT STRING contents (unused-bit count, then the octets), negState as the DER of the
/// ENUMERATED (picky keeps it as raw DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    Init {
        framed: bool,
        mech_types: Option<Vec<String>>,
        req_flags: Option<Vec<u8>>,
        mech_token: Option<Vec<u8>>,
        mech_list_mic: Option<Vec<u8>>,
    },
    Resp {
        neg_state: Option<Vec<u8>>,
        supported_mech: Option<String>,
        response_token: Option<Vec<u8>>,
        mech_list_mic: Option<Vec<u8>>,
    },
}

/// Our decode: the fields, and whether the token carried MS-SPNG negHints (which picky cannot express).
pub fn ours(b: &[u8]) -> Result<(Fields, bool), String> {
    let (token, framing) = SpnegoToken::decode_framed(b).map_err(|e| e.to_string())?;
    Ok(match token {
        SpnegoToken::Init(i) => (
            Fields::Init {
                framed: framing == Framing::GssInitialContextToken,
                mech_types: Some(i.mech_types.iter().map(Oid::to_dotted).collect()),
                req_flags: i.req_flags.map(|f| bit_string_contents(&f)),
                mech_token: i.mech_token,
                mech_list_mic: i.mech_list_mic,
            },
            i.neg_hints.is_some(),
        ),
        SpnegoToken::Resp(r) => (
            Fields::Resp {
                neg_state: r.neg_state.map(|s| vec![0x0A, 0x01, s.value() as u8]),
                supported_mech: r.supported_mech.as_ref().map(Oid::to_dotted),
                response_token: r.response_token,
                mech_list_mic: r.mech_list_mic,
            },
            false,
        ),
    })
}

pub fn bit_string_contents(f: &BitString) -> Vec<u8> {
    let mut v = vec![f.unused_bits()];
    v.extend_from_slice(f.bytes());
    v
}

pub fn dotted(o: &ObjectIdentifierAsn1) -> String {
    o.0.clone().into()
}

pub fn picky_init_fields(i: &PInit, framed: bool) -> Fields {
    Fields::Init {
        framed,
        mech_types: i
            .mech_types
            .0
            .as_ref()
            .map(|m| m.0 .0.iter().map(dotted).collect()),
        req_flags: i.req_flags.0.as_ref().map(|f| f.0 .0.as_bytes().to_vec()),
        mech_token: i.mech_token.0.as_ref().map(|t| t.0 .0.clone()),
        mech_list_mic: i.mech_list_mic.0.as_ref().map(|t| t.0 .0.clone()),
    }
}

pub fn picky_resp_fields(t: &NegTokenTarg) -> Fields {
    Fields::Resp {
        neg_state: t.neg_result.0.as_ref().map(|r| r.0 .0.clone()),
        supported_mech: t.supported_mech.0.as_ref().map(|m| dotted(&m.0)),
        response_token: t.response_token.0.as_ref().map(|t| t.0 .0.clone()),
        mech_list_mic: t.mech_list_mic.0.as_ref().map(|t| t.0 .0.clone()),
    }
}

/// picky-krb's decode: the fields and picky's own re-encoding of what it decoded. The framed form's
/// `thisMech` is checked here (picky's type accepts any OID; a caller of picky must check it).
pub fn picky_decode(b: &[u8]) -> Result<(Fields, Vec<u8>), String> {
    let der = |e: picky_asn1_der::Asn1DerError| format!("{e:?}");
    match b.first() {
        Some(0x60) => {
            let t: ApplicationTag0<GssApiNegInit> = picky_asn1_der::from_bytes(b).map_err(der)?;
            let this_mech = dotted(&t.0.oid);
            if this_mech != OID_SPNEGO {
                return Err(format!("thisMech {this_mech}"));
            }
            let again = picky_asn1_der::to_vec(&t).map_err(der)?;
            Ok((picky_init_fields(&t.0.neg_token_init.0, true), again))
        }
        Some(0xA0) => {
            let t: ExplicitContextTag0<PInit> = picky_asn1_der::from_bytes(b).map_err(der)?;
            let again = picky_asn1_der::to_vec(&t).map_err(der)?;
            Ok((picky_init_fields(&t.0, false), again))
        }
        Some(0xA1) => {
            let t: NegTokenTarg1 = picky_asn1_der::from_bytes(b).map_err(der)?;
            let again = picky_asn1_der::to_vec(&t).map_err(der)?;
            Ok((picky_resp_fields(&t.0), again))
        }
        _ => Err("not a SPNEGO token".into()),
    }
}

#[derive(Debug)]
pub enum Picky {
    Accepted(Fields, Vec<u8>),
    Rejected(#[allow(dead_code)] String),
    Panicked(String),
}

/// Silences the default panic message for picky-krb's own panics (they are caught and counted), keeping it for
/// every other panic.
pub fn quiet_picky_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_picky = info
                .location()
                .is_some_and(|l| l.file().contains("/picky-"));
            if !in_picky {
                default(info);
            }
        }));
    });
}

pub fn picky(b: &[u8]) -> Picky {
    quiet_picky_panics();
    match catch_unwind(AssertUnwindSafe(|| picky_decode(b))) {
        Ok(Ok((f, again))) => Picky::Accepted(f, again),
        Ok(Err(e)) => Picky::Rejected(e),
        Err(p) => Picky::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

/// Whether an OID of our decode is one picky's `oid` crate cannot hold or write back (it keeps the first two
/// arcs in one octet, so `2.40` and above fail; arcs must fit a machine word; some large arcs re-encode to
/// other bytes).
pub fn oid_picky_cannot_hold(f: &Fields) -> bool {
    let oids: Vec<&String> = match f {
        Fields::Init { mech_types, .. } => mech_types.iter().flatten().collect(),
        Fields::Resp { supported_mech, .. } => supported_mech.iter().collect(),
    };
    oids.into_iter().any(|d| {
        let oid = Oid::from_dotted(d).expect("our own dotted OID");
        let content = oid.as_der_content();
        let mut der = vec![0x06];
        der.extend(der_len(content.len()));
        der.extend_from_slice(content);
        let back = picky_asn1_der::from_bytes::<ObjectIdentifierAsn1>(&der);
        !matches!(back, Ok(o) if &dotted(&o) == d
            && picky_asn1_der::to_vec(&o).is_ok_and(|again| again == der))
    })
}

/// Why the two decoders may disagree on `input`, with the rule that decides it; `None` when no known reason
/// explains it (a real disagreement: the caller fails).
pub fn explain(
    input: &[u8],
    ours: &Result<(Fields, bool), String>,
    theirs: &Picky,
) -> Option<&'static str> {
    match (ours, theirs) {
        (Err(_), Picky::Rejected(_)) => Some("agree: both reject"),
        (Ok((a, _)), Picky::Accepted(b, again)) if a == b && again.as_slice() == input => {
            Some("agree: same fields")
        }
        (_, Picky::Panicked(_)) => Some("picky-krb panics (ApplicationTag0 unwraps its inner decode)"),
        (Ok((a, true)), Picky::Accepted(b, again))
            if (a == b || without_mic(a) == *b) && again.as_slice() != input =>
        {
            Some(
                "picky-krb skips NegTokenInit2 negHints and the mechListMIC at [4] (MS-SPNG §2.2.1) without \
                 a word; ours decodes them",
            )
        }
        (Ok((a, false)), Picky::Accepted(b, again))
            if without_mic(a) == *b && again.as_slice() != input && reencode_ours(input) != input =>
        {
            Some(
                "picky-krb skips a NegTokenInit2 mechListMIC at [4] (MS-SPNG §2.2.1) without a word; ours \
                 reads it",
            )
        }
        (Ok((a, _)), Picky::Accepted(b, _)) if first_field_raw(a, b) => Some(
            "picky-krb misreads a NegTokenResp without negState (OPTIONAL, RFC 4178 §4.2.2): the next field \
             comes out with its own DER header (its Optional<Asn1RawDer> negResult); ours reads it right",
        ),
        (Ok((a, _)), Picky::Accepted(_, again)) if oid_picky_cannot_hold(a) && again.as_slice() != input => Some(
            "ours accepts an OID picky's oid crate cannot hold (X.660 puts no bound on arcs); picky-krb \
             then reports that field and the ones after it absent (its Optional swallows the error)",
        ),
        (Ok((_, true)), Picky::Rejected(_)) => {
            Some("ours accepts NegTokenInit2 negHints (MS-SPNG §2.2.1); picky-krb has no NegTokenInit2")
        }
        (Ok((f, false)), Picky::Rejected(_)) if oid_picky_cannot_hold(f) => {
            Some("ours accepts an OID picky's oid crate cannot hold (X.660 puts no bound on arcs)")
        }
        (Ok((f @ Fields::Init { mech_list_mic: Some(_), .. }, false)), Picky::Rejected(_))
            if reencode_ours(input) != input && matches!(f, Fields::Init { .. }) =>
        {
            Some("ours accepts NegTokenInit2's mechListMIC at [4] (MS-SPNG §2.2.1); picky-krb only knows [3]")
        }
        (Err(_), Picky::Accepted(_, again)) if again.as_slice() != input && SpnegoToken::decode(again).is_ok() => Some(
            "picky-krb accepts bytes that are not the DER of what it decodes (non-minimal lengths or \
             integers, trailing bytes, sloppy OID subidentifiers): X.690 §10 / RFC 4178 §4.2 require DER",
        ),
        (Err(_), Picky::Accepted(_, again)) if again.as_slice() != input => Some(
            "picky-krb accepts it but does not read it faithfully: its own re-encoding is other bytes, which \
             ours refuses too (dropped elements, OID arcs it cannot write back); not settled by this test",
        ),
        (Err(_), Picky::Accepted(Fields::Init { mech_types: None, .. }, _)) => {
            Some("picky-krb accepts a NegTokenInit without mechTypes: RFC 4178 §4.2.1 makes it mandatory")
        }
        (Err(_), Picky::Accepted(Fields::Init { mech_types: Some(m), .. }, _)) if m.is_empty() => {
            Some("picky-krb accepts an empty mechTypes: RFC 4178 §4.2.1 says 'one or more'")
        }
        (Err(_), Picky::Accepted(Fields::Init { req_flags: Some(f), .. }, _)) if !der_bit_string(f) => Some(
            "picky-krb accepts a BIT STRING DER forbids (unused-bit count above 7 or set in an empty string, \
             padding bits not zero): X.690 §8.6.2.2, §11.2.1",
        ),
        (Err(_), Picky::Accepted(Fields::Resp { neg_state: Some(s), .. }, _))
            if !matches!(s.as_slice(), [0x0A, 0x01, 0..=3]) =>
        {
            Some("picky-krb accepts any element as negState: RFC 4178 §4.2.2 allows ENUMERATED 0..3 only")
        }
        _ => None,
    }
}

/// `f` with the mechListMIC taken out.
pub fn without_mic(f: &Fields) -> Fields {
    match f.clone() {
        Fields::Init {
            framed,
            mech_types,
            req_flags,
            mech_token,
            ..
        } => Fields::Init {
            framed,
            mech_types,
            req_flags,
            mech_token,
            mech_list_mic: None,
        },
        Fields::Resp {
            neg_state,
            supported_mech,
            response_token,
            ..
        } => Fields::Resp {
            neg_state,
            supported_mech,
            response_token,
            mech_list_mic: None,
        },
    }
}

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(der_len(content.len()));
    v.extend_from_slice(content);
    v
}

/// Whether picky's NegTokenResp is ours (which has no negState) except that the first present field holds its
/// whole TLV instead of its contents.
pub fn first_field_raw(ours: &Fields, theirs: &Fields) -> bool {
    let (
        Fields::Resp {
            neg_state: None,
            supported_mech: sm,
            response_token: rt,
            mech_list_mic: mic,
        },
        Fields::Resp {
            neg_state: None,
            supported_mech: psm,
            response_token: prt,
            mech_list_mic: pmic,
        },
    ) = (ours, theirs)
    else {
        return false;
    };
    if let Some(m) = sm {
        let content = Oid::from_dotted(m).expect("ours").as_der_content().to_vec();
        let raw = psm.as_ref().and_then(|p| Oid::from_dotted(p).ok());
        return raw.is_some_and(|r| r.as_der_content() == tlv(0x06, &content))
            && (rt, mic) == (prt, pmic);
    }
    if let Some(t) = rt {
        return prt.as_deref() == Some(&tlv(0x04, t)[..]) && mic == pmic;
    }
    matches!((mic, pmic), (Some(m), Some(p)) if *p == tlv(0x04, m))
}

/// Whether the contents of a BIT STRING (unused-bit count, then the octets) follow X.690 §8.6.2.2 and §11.2.1.
pub fn der_bit_string(contents: &[u8]) -> bool {
    match contents {
        [] => false,
        [unused] => *unused == 0,
        [unused, .., last] => *unused <= 7 && last & ((1u8 << unused) - 1) == 0,
    }
}

pub fn reencode_ours(input: &[u8]) -> Vec<u8> {
    match SpnegoToken::decode_framed(input) {
        Ok((t, Framing::GssInitialContextToken)) => t.encode(),
        Ok((t, Framing::Bare)) => t.encode_negotiation_token(),
        Err(_) => Vec::new(),
    }
}

// ---- our structures → picky's ------------------------------------------------------------------------------

pub fn picky_oid(o: &Oid) -> ObjectIdentifierAsn1 {
    let content = o.as_der_content();
    let mut der = vec![0x06];
    der.extend(der_len(content.len()));
    der.extend_from_slice(content);
    picky_asn1_der::from_bytes(&der).expect("picky holds this OID")
}

pub fn to_picky_init(i: &NegTokenInit) -> PInit {
    assert!(i.neg_hints.is_none(), "picky-krb has no negHints");
    PInit {
        mech_types: Optional(Some(ExplicitContextTag0(Asn1SequenceOf(
            i.mech_types.iter().map(picky_oid).collect(),
        )))),
        req_flags: Optional(i.req_flags.as_ref().map(|f| {
            ExplicitContextTag1(BitStringAsn1(PickyBits::with_bytes_and_len(
                f.bytes().to_vec(),
                f.bit_len(),
            )))
        })),
        mech_token: Optional(
            i.mech_token
                .clone()
                .map(|t| ExplicitContextTag2(OctetStringAsn1(t))),
        ),
        mech_list_mic: Optional(
            i.mech_list_mic
                .clone()
                .map(|t| ExplicitContextTag3(OctetStringAsn1(t))),
        ),
    }
}

pub fn picky_init_framed(i: &NegTokenInit) -> Vec<u8> {
    let t = ApplicationTag0(GssApiNegInit {
        oid: picky_oid(&Oid::spnego()),
        neg_token_init: ExplicitContextTag0(to_picky_init(i)),
    });
    picky_asn1_der::to_vec(&t).expect("picky encodes")
}

pub fn picky_resp(r: &NegTokenResp) -> Vec<u8> {
    let t: NegTokenTarg1 = ExplicitContextTag1(NegTokenTarg {
        neg_result: Optional(
            r.neg_state
                .map(|s| ExplicitContextTag0(Asn1RawDer(vec![0x0A, 0x01, s.value() as u8]))),
        ),
        supported_mech: Optional(
            r.supported_mech
                .as_ref()
                .map(|m| ExplicitContextTag1(picky_oid(m))),
        ),
        response_token: Optional(
            r.response_token
                .clone()
                .map(|t| ExplicitContextTag2(OctetStringAsn1(t))),
        ),
        mech_list_mic: Optional(
            r.mech_list_mic
                .clone()
                .map(|t| ExplicitContextTag3(OctetStringAsn1(t))),
        ),
    });
    picky_asn1_der::to_vec(&t).expect("picky encodes")
}

pub fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=0x7F => vec![n as u8],
        0x80..=0xFF => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

pub fn oid_of(s: &str) -> Oid {
    Oid::from_dotted(s).expect("OID")
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
