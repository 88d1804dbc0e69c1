//! The direct decoder against the general one: the same value for every token it takes, `None` for every
//! rejection (the general decoder then says what is wrong) and for the rare valid forms it leaves out.

use proptest::prelude::*;

use super::decode;
use crate::spnego::der::tag;
use crate::spnego::{
    BitString, DerError, DerWriter, Framing, NegHints, NegState, NegTokenInit, NegTokenResp, Oid,
    SpnegoToken, TokenView, OID_KRB5, OID_KRB5_MS, OID_NEGOEX, OID_NTLMSSP,
};

fn general(b: &[u8]) -> Result<(TokenView<'_>, Framing), DerError> {
    TokenView::decode_general(b)
}

fn oid(s: &str) -> Oid {
    Oid::from_dotted(s).unwrap()
}

/// An element with identifier octet `t` around the concatenation of `parts` (minimal DER length).
fn tlv(t: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut w = DerWriter::new();
    w.write_tlv(t, &parts.concat());
    w.into_bytes()
}

/// `[n] { inner }`.
fn field(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(tag::context(n), &[inner])
}

/// A bare NegTokenResp around the encoded fields `fields` (whatever they are).
fn resp_of(fields: &[&[u8]]) -> Vec<u8> {
    tlv(tag::context(1), &[&tlv(tag::SEQUENCE, fields)])
}

/// A GSS-framed NegTokenInit around the encoded fields `fields`.
fn init_of(fields: &[&[u8]]) -> Vec<u8> {
    let choice = tlv(tag::context(0), &[&tlv(tag::SEQUENCE, fields)]);
    tlv(
        super::GSS_FRAMING,
        &[&tlv(tag::OID, &[&super::SPNEGO_OID_CONTENT]), &choice],
    )
}

fn mech_list(oids: &[&[u8]]) -> Vec<u8> {
    let each: Vec<Vec<u8>> = oids.iter().map(|o| tlv(tag::OID, &[o])).collect();
    let refs: Vec<&[u8]> = each.iter().map(Vec::as_slice).collect();
    field(0, &tlv(tag::SEQUENCE, &refs))
}

fn ntlm_list() -> Vec<u8> {
    mech_list(&[crate::oids::NTLMSSP])
}

fn usual_resps() -> Vec<NegTokenResp> {
    let long =
        oid("2.25.340282366920938463463374607431768211455.340282366920938463463374607431768211455");
    let mut out = Vec::new();
    for state in NegState::OPTIONS {
        for mech in [
            None,
            Some(oid(OID_NTLMSSP)),
            Some(oid(OID_KRB5)),
            Some(oid("1.2.3")),
            Some(long.clone()),
        ] {
            for token in [
                None,
                Some(0usize),
                Some(1),
                Some(127),
                Some(128),
                Some(255),
                Some(256),
                Some(600),
            ] {
                for mic in [None, Some(16usize), Some(0)] {
                    out.push(NegTokenResp {
                        neg_state: state,
                        supported_mech: mech.clone(),
                        response_token: token.map(|n| vec![0x5A; n]),
                        mech_list_mic: mic.map(|n| vec![0xC3; n]),
                    });
                }
            }
        }
    }
    out
}

fn usual_inits() -> Vec<NegTokenInit> {
    let lists = [
        vec![oid(OID_NTLMSSP)],
        vec![oid(OID_KRB5)],
        vec![
            oid(OID_KRB5_MS),
            oid(OID_KRB5),
            oid(OID_NEGOEX),
            oid(OID_NTLMSSP),
        ],
        vec![oid("1.2.3"); 9],
    ];
    let mut out = Vec::new();
    for mechs in &lists {
        for token in [None, Some(0usize), Some(40), Some(200), Some(300)] {
            for mic in [None, Some(16usize)] {
                out.push(NegTokenInit {
                    mech_types: mechs.clone(),
                    mech_token: token.map(|n| vec![0x11; n]),
                    mech_list_mic: mic.map(|n| vec![0x22; n]),
                    ..NegTokenInit::default()
                });
            }
        }
    }
    out
}

#[test]
fn usual_tokens_decode_directly_to_what_the_general_decoder_gives() {
    for resp in usual_resps() {
        let b = resp.encode();
        let direct = decode(&b);
        assert!(direct.is_some(), "{resp:?}");
        assert_eq!(direct.map(Ok), Some(general(&b)), "{resp:?}");
        // And through the public decoder, to the owned token.
        assert_eq!(SpnegoToken::decode(&b), Ok(SpnegoToken::Resp(resp)));
    }
    for init in usual_inits() {
        let token = SpnegoToken::Init(init.clone());
        for (b, framing) in [
            (token.encode(), Framing::GssInitialContextToken),
            (token.encode_negotiation_token(), Framing::Bare),
        ] {
            let direct = decode(&b);
            assert!(matches!(direct, Some((_, f)) if f == framing), "{init:?}");
            assert_eq!(direct.map(Ok), Some(general(&b)), "{init:?}");
            assert_eq!(SpnegoToken::decode_framed(&b), Ok((token.clone(), framing)));
        }
    }
}

#[test]
fn rare_valid_forms_are_left_to_the_general_decoder() {
    let mic = tlv(tag::OCTET_STRING, &[&[1; 16]]);
    let flags = BitString::new(1, vec![0x02]).unwrap();
    let hints = NegHints {
        hint_name: Some(b"not_defined_in_RFC4178@please_ignore".to_vec()),
        hint_address: None,
    };
    let big = vec![0x77; 0x1_0000];
    let cases = [
        // reqFlags.
        SpnegoToken::Init(NegTokenInit {
            mech_types: vec![oid(OID_NTLMSSP)],
            req_flags: Some(flags),
            ..NegTokenInit::default()
        })
        .encode(),
        // negHints, with and without the [4] mechListMIC after it.
        SpnegoToken::Init(NegTokenInit {
            mech_types: vec![oid(OID_NTLMSSP)],
            neg_hints: Some(hints.clone()),
            ..NegTokenInit::default()
        })
        .encode(),
        SpnegoToken::Init(NegTokenInit {
            mech_types: vec![oid(OID_NTLMSSP)],
            neg_hints: Some(hints),
            mech_list_mic: Some(vec![1; 16]),
            ..NegTokenInit::default()
        })
        .encode(),
        // NegTokenInit2's [4] mechListMIC without negHints.
        init_of(&[&ntlm_list(), &field(4, &mic)]),
        // Lengths of three octets.
        NegTokenResp {
            response_token: Some(big.clone()),
            ..NegTokenResp::default()
        }
        .encode(),
        SpnegoToken::Init(NegTokenInit {
            mech_types: vec![oid(OID_NTLMSSP)],
            mech_token: Some(big),
            ..NegTokenInit::default()
        })
        .encode(),
    ];
    for b in cases {
        assert_eq!(decode(&b), None, "{:02x?}", &b[..b.len().min(32)]);
        assert!(general(&b).is_ok(), "{:02x?}", &b[..b.len().min(32)]);
    }
}

/// Every refusal of the direct pass on bytes the general decoder rejects: each check it makes, at each level.
#[test]
fn every_rejection_is_left_to_the_general_decoder() {
    let state = |v: &[u8]| field(0, &tlv(tag::ENUMERATED, &[v]));
    let mech = |c: &[u8]| field(1, &tlv(tag::OID, &[c]));
    let token = field(2, &tlv(tag::OCTET_STRING, &[b"NTLMSSP\0"]));
    let mic = field(3, &tlv(tag::OCTET_STRING, &[&[9; 16]]));
    let ntlm = mech(crate::oids::NTLMSSP);
    let good_resp = resp_of(&[&state(&[1]), &ntlm, &token, &mic]);
    let good_init = init_of(&[&ntlm_list(), &token, &mic]);
    assert!(decode(&good_resp).is_some() && decode(&good_init).is_some());

    let with = |b: &[u8], i: usize, v: u8| {
        let mut b = b.to_vec();
        b[i] = v;
        b
    };
    let plus = |b: &[u8], tail: &[u8]| [b, tail].concat();
    let inner_seq = |b: &[u8]| -> Vec<u8> {
        // [1] len SEQUENCE len .. with one more byte inside [1] after the SEQUENCE.
        let seq = &b[2..];
        tlv(tag::context(1), &[seq, &[0x00]])
    };
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("unknown first tag", with(&good_resp, 0, tag::SEQUENCE)),
        ("high tag number", with(&good_resp, 0, 0xBF)),
        ("trailing byte after the token", plus(&good_resp, &[0])),
        (
            "trailing byte after the framed token",
            plus(&good_init, &[0]),
        ),
        ("trailing byte inside [1]", inner_seq(&good_resp)),
        ("truncated", good_resp[..good_resp.len() - 1].to_vec()),
        ("truncated header", vec![tag::context(1)]),
        ("truncated long length", vec![tag::context(1), 0x82, 0x01]),
        ("length past the end", with(&good_resp, 1, good_resp[1] + 1)),
        (
            "indefinite length",
            [&[tag::context(1), 0x80][..], &good_resp[2..], &[0, 0]].concat(),
        ),
        (
            "non-minimal one-octet long form",
            [&[tag::context(1), 0x81][..], &good_resp[1..]].concat(),
        ),
        (
            "non-minimal two-octet long form",
            [&[tag::context(1), 0x82, 0x00][..], &good_resp[1..]].concat(),
        ),
        ("reserved length octet", vec![tag::context(1), 0xFF, 0, 0]),
        ("negState 4", resp_of(&[&state(&[4])])),
        ("negState -1", resp_of(&[&state(&[0xFF])])),
        ("negState not minimal", resp_of(&[&state(&[0, 1])])),
        ("negState empty", resp_of(&[&state(&[])])),
        (
            "negState as INTEGER",
            resp_of(&[&field(0, &tlv(0x02, &[&[1]]))]),
        ),
        ("supportedMech empty", resp_of(&[&mech(&[])])),
        (
            "supportedMech not minimal",
            resp_of(&[&mech(&[0x2A, 0x80, 0x01])]),
        ),
        (
            "supportedMech unterminated",
            resp_of(&[&mech(&[0x2A, 0x86])]),
        ),
        (
            "supportedMech as OCTET STRING",
            resp_of(&[&field(1, &tlv(tag::OCTET_STRING, &[crate::oids::NTLMSSP]))]),
        ),
        ("fields out of order", resp_of(&[&ntlm, &state(&[1])])),
        ("field repeated", resp_of(&[&token, &token])),
        (
            "unknown [4]",
            resp_of(&[&token, &field(4, &tlv(tag::OCTET_STRING, &[b"x"]))]),
        ),
        (
            "universal element among the fields",
            resp_of(&[&token, &tlv(tag::OCTET_STRING, &[b"x"])]),
        ),
        (
            "bytes after the element inside [2]",
            resp_of(&[&field(
                2,
                &[tlv(tag::OCTET_STRING, &[b"x"]), vec![0x05, 0x00]].concat(),
            )]),
        ),
        ("empty [2]", resp_of(&[&field(2, &[])])),
        (
            "constructed OCTET STRING",
            resp_of(&[&field(2, &tlv(0x24, &[&tlv(tag::OCTET_STRING, &[b"x"])]))]),
        ),
        (
            "primitive SEQUENCE tag",
            tlv(tag::context(1), &[&tlv(0x10, &[&token])]),
        ),
        (
            "NegTokenResp without its SEQUENCE",
            tlv(tag::context(1), &[&token]),
        ),
        // NegTokenInit and its framing.
        (
            "another mechanism's framing",
            tlv(
                super::GSS_FRAMING,
                &[
                    &tlv(tag::OID, &[Oid::KRB5.as_der_content()]),
                    &good_init[10..],
                ],
            ),
        ),
        (
            "framing without its OID",
            tlv(super::GSS_FRAMING, &[&good_init[10..]]),
        ),
        (
            "framing around a NegTokenResp",
            tlv(super::GSS_FRAMING, &[&good_init[2..10], &good_resp]),
        ),
        (
            "trailing byte inside the framing",
            tlv(super::GSS_FRAMING, &[&good_init[2..], &[0]]),
        ),
        ("mechTypes missing", init_of(&[&token])),
        ("mechTypes empty", init_of(&[&mech_list(&[])])),
        (
            "mechTypes with a bad OID",
            init_of(&[&mech_list(&[crate::oids::NTLMSSP, &[0x2A, 0x86]])]),
        ),
        (
            "mechTypes with an OCTET STRING",
            init_of(&[&field(
                0,
                &tlv(tag::SEQUENCE, &[&tlv(tag::OCTET_STRING, &[b"x"])]),
            )]),
        ),
        (
            "mechTypes not a SEQUENCE",
            init_of(&[&field(0, &tlv(tag::OID, &[crate::oids::NTLMSSP]))]),
        ),
        (
            "mechToken repeated",
            init_of(&[&ntlm_list(), &token, &token]),
        ),
        (
            "[4] after the [3] mechListMIC",
            init_of(&[
                &ntlm_list(),
                &mic,
                &field(4, &tlv(tag::OCTET_STRING, &[b"x"])),
            ]),
        ),
        (
            "mechListMIC before mechToken",
            init_of(&[&ntlm_list(), &mic, &token]),
        ),
        (
            "reqFlags not a BIT STRING",
            init_of(&[&ntlm_list(), &field(1, &tlv(tag::OCTET_STRING, &[b"x"]))]),
        ),
        (
            "a NegTokenResp field in a NegTokenInit",
            init_of(&[&ntlm_list(), &field(1, &ntlm[2..])]),
        ),
    ];
    // A bare NegTokenInit with a byte after it, and a bare one with an empty mechTypes.
    let bare = good_init[10..].to_vec();
    assert!(matches!(decode(&bare), Some((_, Framing::Bare))));
    cases.push(("trailing byte after a bare NegTokenInit", plus(&bare, &[0])));
    cases.push((
        "bare NegTokenInit truncated",
        bare[..bare.len() - 1].to_vec(),
    ));
    for (why, b) in cases {
        assert_eq!(decode(&b), None, "{why}: {b:02x?}");
        assert!(general(&b).is_err(), "{why}: {b:02x?}");
        assert_eq!(TokenView::decode(&b), general(&b), "{why}");
    }
}

/// A change to an encoded token.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn apply(b: &mut Vec<u8>, m: &Mutation) {
    let len = b.len().max(1);
    match *m {
        Mutation::Flip(i, x) => {
            if let Some(v) = b.get_mut(i % len) {
                *v ^= x.max(1);
            }
        }
        Mutation::Set(i, x) => {
            if let Some(v) = b.get_mut(i % len) {
                *v = x;
            }
        }
        Mutation::Insert(i, x) => b.insert(i % (b.len() + 1), x),
        Mutation::Remove(i) => {
            if !b.is_empty() {
                b.remove(i % len);
            }
        }
        Mutation::Truncate(i) => b.truncate(i % len),
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        0x00u8, 0x01, 0x02, 0x03, 0x04, 0x06, 0x0A, 0x30, 0x60, 0x7F, 0x80, 0x81, 0x82, 0x83, 0xA0,
        0xA1, 0xA2, 0xA3, 0xA4, 0xFF,
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), special.clone()).prop_map(|(i, x)| Mutation::Set(i, x)),
        (any::<usize>(), special).prop_map(|(i, x)| Mutation::Insert(i, x)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn some_oid() -> impl Strategy<Value = Oid> {
    prop::sample::select(vec![
        oid(OID_NTLMSSP),
        oid(OID_KRB5),
        oid(OID_KRB5_MS),
        oid(OID_NEGOEX),
        oid("1.2.3"),
        oid("2.25.340282366920938463463374607431768211455.1"),
    ])
}

fn token_bytes() -> impl Strategy<Value = Vec<u8>> {
    let resp = (
        prop::option::of(0u8..4),
        prop::option::of(some_oid()),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
    )
        .prop_map(|(state, mech, token, mic)| {
            NegTokenResp {
                neg_state: state.and_then(|v| NegState::from_value(i64::from(v))),
                supported_mech: mech,
                response_token: token,
                mech_list_mic: mic,
            }
            .encode()
        });
    let init = (
        prop::collection::vec(some_oid(), 1..5),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
        any::<bool>(),
    )
        .prop_map(|(mechs, token, mic, framed)| {
            let t = SpnegoToken::Init(NegTokenInit {
                mech_types: mechs,
                mech_token: token,
                mech_list_mic: mic,
                ..NegTokenInit::default()
            });
            if framed {
                t.encode()
            } else {
                t.encode_negotiation_token()
            }
        });
    prop_oneof![resp, init]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Whatever the direct pass answers, the general decoder answers the same; untouched tokens of the usual
    /// shapes always take the direct pass.
    #[test]
    fn direct_answers_equal_the_general_decoder(
        b in token_bytes(),
        muts in prop::collection::vec(mutation(), 0..4),
    ) {
        let untouched = muts.is_empty();
        let mut b = b;
        for m in &muts {
            apply(&mut b, m);
        }
        let direct = decode(&b);
        if untouched {
            prop_assert!(direct.is_some());
        }
        if let Some(d) = direct {
            prop_assert_eq!(Ok(d), general(&b));
        }
        prop_assert_eq!(TokenView::decode(&b), general(&b));
    }

    #[test]
    fn direct_answers_on_arbitrary_bytes_equal_the_general_decoder(
        first in prop::sample::select(vec![0x60u8, 0xA0, 0xA1]),
        rest in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let b = [&[first][..], &rest].concat();
        if let Some(d) = decode(&b) {
            prop_assert_eq!(Ok(d), general(&b));
        }
        prop_assert_eq!(TokenView::decode(&b), general(&b));
    }
}
