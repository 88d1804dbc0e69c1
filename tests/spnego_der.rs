//! Hostile and edge-case inputs for the strict DER reader (X.690 §8, §10) and the SPNEGO codec (RFC 4178 §4.2,
//! MS-SPNG §2.2.1): every malformed input yields its own typed error, never a panic; OID dotted/DER conversions
//! (X.690 §8.19) round trip, including very large arcs.

use gss_negotiate::spnego::der::{tag, MAX_DEPTH};
use gss_negotiate::spnego::{
    encode_mech_type_list, BitString, DerError, DerReader, DerWriter, Framing, NegHints, NegState,
    NegTokenInit, NegTokenResp, Oid, SpnegoToken, OID_KRB5, OID_KRB5_MS, OID_NEGOEX, OID_NTLMSSP,
    OID_SPNEGO,
};

fn decode(b: &[u8]) -> Result<SpnegoToken, DerError> {
    SpnegoToken::decode(b)
}

/// The 9-byte accept-completed NegTokenResp (`[1] { SEQUENCE { [0] ENUMERATED 0 } }`).
const ACCEPT_COMPLETED: [u8; 9] = [0xA1, 0x07, 0x30, 0x05, 0xA0, 0x03, 0x0A, 0x01, 0x00];

fn resp_with_state(v: &[u8]) -> Vec<u8> {
    let mut w = DerWriter::new();
    w.write_context(1, |w| {
        w.write_sequence(|w| w.write_context(0, |w| w.write_tlv(tag::ENUMERATED, v)))
    });
    w.into_bytes()
}

// ---- GSS framing (RFC 2743 §3.1) ----

/// picky-krb panics on these bytes (ARCHITECTURE.md §4): `[APPLICATION 0]` holding an INTEGER, not an OID.
#[test]
fn decoder_rejects_application0_holding_an_integer() {
    assert_eq!(
        decode(&[0x60, 0x03, 0x02, 0x01, 0x05]),
        Err(DerError::UnexpectedTag {
            what: "thisMech",
            expected: tag::OID,
            got: 0x02
        })
    );
}

#[test]
fn decoder_rejects_empty_input() {
    assert_eq!(
        decode(&[]),
        Err(DerError::Missing {
            what: "SPNEGO token"
        })
    );
}

#[test]
fn decoder_rejects_gss_framing_for_another_mechanism() {
    let init = NegTokenInit {
        mech_types: vec![Oid::from_dotted(OID_NTLMSSP).unwrap()],
        ..Default::default()
    };
    let mut w = DerWriter::new();
    w.write_constructed(tag::application(0), |w| {
        w.write_oid(&Oid::from_dotted(OID_NTLMSSP).unwrap());
        w.write_tlv(tag::context(0), &init.encode()[10..]); // any contents: the OID check comes first
    });
    assert_eq!(
        decode(&w.into_bytes()),
        Err(DerError::WrongMechanism {
            got: OID_NTLMSSP.to_string()
        })
    );
}

#[test]
fn decoder_rejects_gss_framing_around_a_negtokenresp() {
    let mut w = DerWriter::new();
    w.write_constructed(tag::application(0), |w| {
        w.write_oid(&Oid::spnego());
        w.write_tlv(tag::context(1), &ACCEPT_COMPLETED[2..]);
    });
    assert!(matches!(
        decode(&w.into_bytes()),
        Err(DerError::UnexpectedTag {
            what: "negTokenInit",
            got: 0xA1,
            ..
        })
    ));
}

#[test]
fn decoder_rejects_gss_framing_with_only_the_oid() {
    let mut w = DerWriter::new();
    w.write_constructed(tag::application(0), |w| w.write_oid(&Oid::spnego()));
    assert_eq!(
        decode(&w.into_bytes()),
        Err(DerError::Missing {
            what: "negTokenInit"
        })
    );
}

#[test]
fn decoder_accepts_a_bare_negtokeninit_and_says_so() {
    let init = NegTokenInit {
        mech_types: vec![Oid::from_dotted(OID_NTLMSSP).unwrap()],
        mech_token: Some(b"NTLMSSP\0\x01\0\0\0".to_vec()),
        ..Default::default()
    };
    let bare = SpnegoToken::Init(init.clone()).encode_negotiation_token();
    assert_eq!(bare.first(), Some(&0xA0));
    let (token, framing) = SpnegoToken::decode_framed(&bare).unwrap();
    assert_eq!(framing, Framing::Bare);
    assert_eq!(token, SpnegoToken::Init(init.clone()));
    assert_eq!(token.encode_negotiation_token(), bare);
    // The wire encoding adds the framing.
    assert_eq!(
        SpnegoToken::decode_framed(&init.encode()).unwrap().1,
        Framing::GssInitialContextToken
    );
}

// ---- DER lengths (X.690 §8.1.3, §10.1) ----

#[test]
fn decoder_rejects_indefinite_lengths() {
    let ber = [
        0xA1, 0x80, 0x30, 0x80, 0xA0, 0x03, 0x0A, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    assert_eq!(decode(&ber), Err(DerError::IndefiniteLength));
    let inner = [
        0xA1, 0x09, 0x30, 0x80, 0xA0, 0x03, 0x0A, 0x01, 0x00, 0x00, 0x00,
    ];
    assert_eq!(decode(&inner), Err(DerError::IndefiniteLength));
}

#[test]
fn decoder_rejects_long_form_lengths_below_128() {
    let ber = [0xA1, 0x81, 0x07, 0x30, 0x05, 0xA0, 0x03, 0x0A, 0x01, 0x00];
    assert_eq!(decode(&ber), Err(DerError::NonMinimalLength));
}

#[test]
fn decoder_rejects_long_form_lengths_with_a_leading_zero() {
    let mut token = vec![
        0xA1, 0x82, 0x00, 0x83, 0x30, 0x81, 0x80, 0xA2, 0x7E, 0x04, 0x7C,
    ];
    token.extend([0u8; 0x7C]);
    assert_eq!(decode(&token), Err(DerError::NonMinimalLength));
}

#[test]
fn decoder_rejects_lengths_past_the_end() {
    assert_eq!(
        decode(&ACCEPT_COMPLETED[..8]),
        Err(DerError::Truncated { need: 7, have: 6 })
    );
    // The inner SEQUENCE claims more than its parent [1] holds.
    let inner = [0xA1, 0x05, 0x30, 0x05, 0xA0, 0x03, 0x0A, 0x01, 0x00];
    assert_eq!(
        decode(&inner),
        Err(DerError::Truncated { need: 5, have: 3 })
    );
    // A four-octet length of nearly 4 GiB.
    assert_eq!(
        decode(&[0xA1, 0x84, 0xFF, 0xFF, 0xFF, 0xF0, 0x30]),
        Err(DerError::Truncated {
            need: 0xFFFF_FFF0,
            have: 1
        })
    );
}

#[test]
fn decoder_rejects_oversized_and_reserved_length_fields() {
    assert_eq!(
        decode(&[0xA1, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00]),
        Err(DerError::LengthTooLarge)
    );
    assert_eq!(decode(&[0xA1, 0xFF]), Err(DerError::LengthTooLarge));
}

#[test]
fn decoder_rejects_a_header_cut_short() {
    assert_eq!(
        decode(&[0xA1]),
        Err(DerError::Truncated { need: 1, have: 0 })
    );
    assert_eq!(
        decode(&[0xA1, 0x82, 0x01]),
        Err(DerError::Truncated { need: 2, have: 1 })
    );
}

// ---- trailing data ----

#[test]
fn decoder_rejects_trailing_bytes_after_the_token() {
    let mut t = ACCEPT_COMPLETED.to_vec();
    t.push(0x00);
    assert_eq!(
        decode(&t),
        Err(DerError::TrailingData {
            what: "SPNEGO token"
        })
    );
    let mut init = NegTokenInit {
        mech_types: vec![Oid::spnego()],
        ..Default::default()
    }
    .encode();
    init.extend([0x05, 0x00]);
    assert_eq!(
        decode(&init),
        Err(DerError::TrailingData {
            what: "SPNEGO token"
        })
    );
}

#[test]
fn decoder_rejects_trailing_bytes_inside_an_explicit_tag() {
    // [0] negState holds ENUMERATED 0 followed by NULL.
    let t = [
        0xA1, 0x09, 0x30, 0x07, 0xA0, 0x05, 0x0A, 0x01, 0x00, 0x05, 0x00,
    ];
    assert_eq!(decode(&t), Err(DerError::TrailingData { what: "negState" }));
    // [1] negTokenResp holds the SEQUENCE followed by NULL.
    let t = [
        0xA1, 0x09, 0x30, 0x05, 0xA0, 0x03, 0x0A, 0x01, 0x00, 0x05, 0x00,
    ];
    assert_eq!(
        decode(&t),
        Err(DerError::TrailingData {
            what: "negTokenResp"
        })
    );
}

// ---- SEQUENCE components (RFC 4178 §4.2; DER order, X.690 §10.3) ----

#[test]
fn decoder_rejects_unknown_context_tags_in_negtokenresp() {
    let t = [
        0xA1, 0x0B, 0x30, 0x09, 0xA0, 0x03, 0x0A, 0x01, 0x00, 0xA4, 0x02, 0x05, 0x00,
    ];
    assert_eq!(
        decode(&t),
        Err(DerError::UnknownElement {
            what: "NegTokenResp",
            tag: 0xA4
        })
    );
}

#[test]
fn decoder_rejects_out_of_order_and_repeated_fields() {
    // responseToken [2] before negState [0].
    let t = [
        0xA1, 0x0B, 0x30, 0x09, 0xA2, 0x02, 0x04, 0x00, 0xA0, 0x03, 0x0A, 0x01, 0x00,
    ];
    assert_eq!(
        decode(&t),
        Err(DerError::UnknownElement {
            what: "NegTokenResp",
            tag: 0xA0
        })
    );
    // negState twice.
    let t = [
        0xA1, 0x0C, 0x30, 0x0A, 0xA0, 0x03, 0x0A, 0x01, 0x00, 0xA0, 0x03, 0x0A, 0x01, 0x01,
    ];
    assert_eq!(
        decode(&t),
        Err(DerError::UnknownElement {
            what: "NegTokenResp",
            tag: 0xA0
        })
    );
}

#[test]
fn decoder_rejects_negtokeninit_without_mech_types_or_with_an_empty_list() {
    let mut w = DerWriter::new();
    w.write_context(0, |w| {
        w.write_sequence(|w| w.write_context(2, |w| w.write_octet_string(b"x")))
    });
    assert_eq!(
        decode(&w.into_bytes()),
        Err(DerError::Missing { what: "mechTypes" })
    );
    let empty = NegTokenInit::default().encode();
    assert_eq!(
        decode(&empty),
        Err(DerError::Invalid("mechTypes lists no mechanism"))
    );
}

#[test]
fn decoder_rejects_rfc4178_mic_at_3_followed_by_init2_mic_at_4() {
    let mut w = DerWriter::new();
    w.write_context(0, |w| {
        w.write_sequence(|w| {
            w.write_context(0, |w| w.write_sequence(|w| w.write_oid(&Oid::spnego())));
            w.write_context(3, |w| w.write_octet_string(b"mic"));
            w.write_context(4, |w| w.write_octet_string(b"mic"));
        })
    });
    assert_eq!(
        decode(&w.into_bytes()),
        Err(DerError::UnknownElement {
            what: "NegTokenInit",
            tag: 0xA4
        })
    );
}

#[test]
fn decoder_rejects_ber_constructed_octet_strings() {
    // responseToken as a constructed OCTET STRING (0x24) made of one primitive segment.
    let t = [
        0xA1, 0x0A, 0x30, 0x08, 0xA2, 0x06, 0x24, 0x04, 0x04, 0x02, 0x41, 0x42,
    ];
    assert_eq!(
        decode(&t),
        Err(DerError::UnexpectedTag {
            what: "responseToken",
            expected: tag::OCTET_STRING,
            got: 0x24
        })
    );
}

#[test]
fn decoder_rejects_primitive_context_tags() {
    // negState with IMPLICIT-style primitive [0] (0x80) instead of the explicit constructed [0].
    let t = [0xA1, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00];
    assert_eq!(
        decode(&t),
        Err(DerError::UnknownElement {
            what: "NegTokenResp",
            tag: 0x80
        })
    );
}

#[test]
fn decoder_rejects_high_tag_number_form() {
    assert_eq!(
        decode(&[0xBF, 0x1F, 0x00]),
        Err(DerError::UnexpectedTag {
            what: "SPNEGO token",
            expected: 0x60,
            got: 0xBF
        })
    );
    let t = [0xA1, 0x05, 0x30, 0x03, 0xBF, 0x20, 0x00];
    assert_eq!(
        decode(&t),
        Err(DerError::UnknownElement {
            what: "NegTokenResp",
            tag: 0xBF
        })
    );
    assert_eq!(
        DerReader::new(&[0xBF, 0x20, 0x00]).read_tlv(),
        Err(DerError::HighTagNumber)
    );
}

// ---- negState (RFC 4178 §4.2.2, ENUMERATED per X.690 §8.4) ----

#[test]
fn decoder_accepts_the_four_neg_states() {
    for (v, state) in [
        (0u8, NegState::AcceptCompleted),
        (1, NegState::AcceptIncomplete),
        (2, NegState::Reject),
        (3, NegState::RequestMic),
    ] {
        let Ok(SpnegoToken::Resp(resp)) = decode(&resp_with_state(&[v])) else {
            panic!("negState {v}")
        };
        assert_eq!(resp.neg_state, Some(state));
    }
}

#[test]
fn decoder_rejects_neg_state_out_of_range() {
    assert_eq!(
        decode(&resp_with_state(&[0x04])),
        Err(DerError::BadNegState(4))
    );
    assert_eq!(
        decode(&resp_with_state(&[0xFF])),
        Err(DerError::BadNegState(-1))
    );
    assert_eq!(
        decode(&resp_with_state(&[0x01, 0x00])),
        Err(DerError::BadNegState(256))
    );
}

#[test]
fn decoder_rejects_non_minimal_or_empty_enumerated() {
    assert!(matches!(
        decode(&resp_with_state(&[0x00, 0x01])),
        Err(DerError::BadInteger(_))
    ));
    assert!(matches!(
        decode(&resp_with_state(&[])),
        Err(DerError::BadInteger(_))
    ));
    assert!(matches!(
        decode(&resp_with_state(&[1; 9])),
        Err(DerError::BadInteger(_))
    ));
}

// ---- nesting depth ----

#[test]
fn reader_refuses_to_nest_deeper_than_max_depth() {
    let mut bytes = vec![0x05, 0x00];
    for _ in 0..=MAX_DEPTH {
        let mut w = DerWriter::new();
        w.write_tlv(tag::SEQUENCE, &bytes);
        bytes = w.into_bytes();
    }
    let mut readers = vec![DerReader::new(&bytes)];
    for level in 1..=MAX_DEPTH {
        let next = readers.last_mut().unwrap().read_sequence("level").unwrap();
        assert_eq!(next.depth(), level);
        readers.push(next);
    }
    let deepest = readers.last_mut().unwrap();
    assert_eq!(
        deepest.read_sequence("level").map(|_| ()),
        Err(DerError::DepthExceeded { max: MAX_DEPTH })
    );
}

#[test]
fn decoder_fails_cleanly_on_very_deep_nesting() {
    // 10,000 nested [1] tags, each with a definite length.
    let mut bytes = vec![0x30, 0x00];
    for _ in 0..10_000 {
        let mut w = DerWriter::new();
        w.write_tlv(tag::context(1), &bytes);
        bytes = w.into_bytes();
    }
    assert!(matches!(
        decode(&bytes),
        Err(DerError::UnexpectedTag {
            what: "NegTokenResp",
            got: 0xA1,
            ..
        })
    ));
}

// ---- BIT STRING (X.690 §8.6, §11.2) and reqFlags ----

#[test]
fn bit_string_rules_are_enforced() {
    assert!(BitString::new(8, vec![0]).is_err());
    assert!(BitString::new(1, vec![]).is_err());
    assert_eq!(
        BitString::new(1, vec![0x01]),
        Err(DerError::BadBitString("padding bits are not zero"))
    );
    let b = BitString::new(1, vec![0x42]).unwrap();
    assert_eq!(b.bit_len(), 7);
    assert!(b.bit(1) && b.bit(6) && !b.bit(0) && !b.bit(7));
    assert!(matches!(
        DerReader::new(&[0x03, 0x00]).read_bit_string("x"),
        Err(DerError::BadBitString(_))
    ));
    assert!(matches!(
        DerReader::new(&[0x03, 0x02, 0x01, 0x01]).read_bit_string("x"),
        Err(DerError::BadBitString(_))
    ));
}

/// MIT krb5 reads reqFlags as `03 02 01 xx` (seven named bits of RFC 4178 §4.2.1's ContextFlags); the codec
/// keeps the BIT STRING as received and writes it back unchanged.
#[test]
fn req_flags_round_trip_in_the_seven_bit_form() {
    let init = NegTokenInit {
        mech_types: vec![
            Oid::from_dotted(OID_KRB5_MS).unwrap(),
            Oid::from_dotted(OID_KRB5).unwrap(),
        ],
        req_flags: Some(BitString::new(1, vec![0x42]).unwrap()), // mutualFlag, integFlag
        ..Default::default()
    };
    let bytes = init.encode();
    let needle = [0xA1, 0x04, 0x03, 0x02, 0x01, 0x42];
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    assert_eq!(decode(&bytes), Ok(SpnegoToken::Init(init)));
}

// ---- NegTokenInit2 (MS-SPNG §2.2.1) ----

#[test]
fn negtokeninit2_with_hints_and_mic_uses_tags_3_and_4() {
    let init = NegTokenInit {
        mech_types: vec![
            Oid::from_dotted(OID_NEGOEX).unwrap(),
            Oid::from_dotted(OID_NTLMSSP).unwrap(),
        ],
        neg_hints: Some(NegHints {
            hint_name: Some(b"host@REALM".to_vec()),
            hint_address: Some(vec![1, 2, 3]),
        }),
        mech_list_mic: Some(vec![9; 16]),
        ..Default::default()
    };
    let bytes = init.encode();
    let mic = [0xA4, 0x12, 0x04, 0x10];
    assert!(bytes.windows(mic.len()).any(|w| w == mic));
    assert_eq!(decode(&bytes), Ok(SpnegoToken::Init(init)));
}

/// A NegTokenInit2 with mechListMIC at [4] and no negHints decodes; it re-encodes in the RFC 4178 layout.
#[test]
fn negtokeninit2_mic_without_hints_decodes_and_reencodes_at_tag_3() {
    let mut w = DerWriter::new();
    w.write_context(0, |w| {
        w.write_sequence(|w| {
            w.write_context(0, |w| {
                w.write_sequence(|w| w.write_oid(&Oid::from_dotted(OID_NTLMSSP).unwrap()))
            });
            w.write_context(4, |w| w.write_octet_string(b"mic"));
        })
    });
    let Ok(SpnegoToken::Init(init)) = decode(&w.into_bytes()) else {
        panic!("decodes")
    };
    assert_eq!(init.mech_list_mic.as_deref(), Some(&b"mic"[..]));
    let again = init.encode();
    assert!(again.windows(4).any(|w| w == [0xA3, 0x05, 0x04, 0x03]));
    assert_eq!(decode(&again), Ok(SpnegoToken::Init(init)));
}

#[test]
fn decoder_rejects_unknown_fields_in_neg_hints() {
    let mut w = DerWriter::new();
    w.write_context(0, |w| {
        w.write_sequence(|w| {
            w.write_context(0, |w| w.write_sequence(|w| w.write_oid(&Oid::spnego())));
            w.write_context(3, |w| {
                w.write_sequence(|w| w.write_context(2, |w| w.write_octet_string(b"")))
            });
        })
    });
    assert_eq!(
        decode(&w.into_bytes()),
        Err(DerError::UnknownElement {
            what: "NegHints",
            tag: 0xA2
        })
    );
}

// ---- MechTypeList (RFC 4178 §4.1, §5) ----

#[test]
fn mech_type_list_encoding_matches_rfc4178_layout() {
    let mechs = [
        Oid::from_dotted(OID_KRB5).unwrap(),
        Oid::from_dotted(OID_NTLMSSP).unwrap(),
    ];
    let mut expected = vec![
        0x30, 0x17, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x02,
    ];
    expected.extend([
        0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0A,
    ]);
    assert_eq!(encode_mech_type_list(&mechs), expected);
}

#[test]
fn negtokenresp_all_absent_encodes_as_an_empty_sequence() {
    let bytes = SpnegoToken::Resp(NegTokenResp::default()).encode();
    assert_eq!(bytes, [0xA1, 0x02, 0x30, 0x00]);
    assert_eq!(
        decode(&bytes),
        Ok(SpnegoToken::Resp(NegTokenResp::default()))
    );
}

// ---- OBJECT IDENTIFIER (X.690 §8.19) ----

#[test]
fn oid_constants_encode_to_their_known_der_contents() {
    assert_eq!(
        Oid::from_dotted(OID_SPNEGO).unwrap().as_der_content(),
        [0x2B, 0x06, 0x01, 0x05, 0x05, 0x02]
    );
    assert_eq!(Oid::from_dotted(OID_SPNEGO).unwrap(), Oid::spnego());
    assert_eq!(
        Oid::from_dotted(OID_KRB5_MS).unwrap().as_der_content(),
        [0x2A, 0x86, 0x48, 0x82, 0xF7, 0x12, 0x01, 0x02, 0x02]
    );
    assert_eq!(
        Oid::from_dotted(OID_NEGOEX).unwrap().as_der_content(),
        [0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1E]
    );
}

/// X.690 §8.19.5's example: {2 999 3} is `88 37 03`.
#[test]
fn oid_with_first_arc_2_uses_the_combined_subidentifier() {
    let oid = Oid::from_dotted("2.999.3").unwrap();
    assert_eq!(oid.as_der_content(), [0x88, 0x37, 0x03]);
    assert_eq!(
        Oid::from_der_content(&[0x88, 0x37, 0x03])
            .unwrap()
            .to_dotted(),
        "2.999.3"
    );
}

#[test]
fn oid_dotted_round_trips_including_large_arcs() {
    let cases = [
        OID_SPNEGO,
        OID_NTLMSSP,
        OID_KRB5,
        OID_KRB5_MS,
        OID_NEGOEX,
        "0.0",
        "1.39",
        "2.0",
        "2.47",
        "1.2.127.128.16383.16384",
        "1.2.4294967295.4294967296",
        "1.2.18446744073709551615.18446744073709551616",
        // A UUID arc (ITU-T X.667): 128 bits.
        "2.25.329800735698586629295641978511506172918",
        "2.25.340282366920938463463374607431768211455",
        "2.340282366920938463463374607431768211375",
    ];
    for dotted in cases {
        let oid = Oid::from_dotted(dotted).unwrap_or_else(|e| panic!("{dotted}: {e}"));
        assert_eq!(oid.to_dotted(), dotted);
        let again = Oid::from_der_content(oid.as_der_content()).unwrap();
        assert_eq!(again, oid);
        let mut w = DerWriter::new();
        w.write_oid(&oid);
        let encoded = w.into_bytes();
        let mut r = DerReader::new(&encoded);
        assert_eq!(r.read_oid("oid").unwrap().to_dotted(), dotted);
    }
}

#[test]
fn oid_parser_rejects_malformed_dotted_strings() {
    for bad in [
        "",
        "1",
        "3.1",
        "1.40",
        "0.40",
        "1..2",
        ".1.2",
        "1.2.",
        "01.2",
        "1.02",
        "a.b",
        "1.2.-3",
        " 1.2",
        "1.2 ",
        "1.2.340282366920938463463374607431768211456",
        "2.340282366920938463463374607431768211376", // 80 + arc overflows the first subidentifier
    ] {
        assert!(
            matches!(Oid::from_dotted(bad), Err(DerError::BadOid(_))),
            "accepted {bad:?}"
        );
    }
}

#[test]
fn oid_contents_must_be_minimal_terminated_and_bounded() {
    assert!(matches!(
        Oid::from_der_content(&[]),
        Err(DerError::BadOid(_))
    ));
    assert!(matches!(
        Oid::from_der_content(&[0x2B, 0x80, 0x01]),
        Err(DerError::BadOid(_))
    ));
    assert!(matches!(
        Oid::from_der_content(&[0x2B, 0x86]),
        Err(DerError::BadOid(_))
    ));
    let mut wide = vec![0x2B];
    wide.extend([0xFF; 19]);
    wide.push(0x7F);
    assert!(matches!(
        Oid::from_der_content(&wide),
        Err(DerError::BadOid(_))
    ));
    // An OID inside a token is checked the same way.
    let t = [
        0xA1, 0x09, 0x30, 0x07, 0xA1, 0x05, 0x06, 0x03, 0x2B, 0x80, 0x01,
    ];
    assert!(matches!(decode(&t), Err(DerError::BadOid(_))));
    let t = [0xA1, 0x06, 0x30, 0x04, 0xA1, 0x02, 0x06, 0x00];
    assert!(matches!(decode(&t), Err(DerError::BadOid(_))));
}

#[test]
fn errors_display_a_reason() {
    let e = decode(&[0x60, 0x03, 0x02, 0x01, 0x05]).unwrap_err();
    assert_eq!(e.to_string(), "thisMech: expected tag 0x06, found 0x02");
    assert!(DerError::WrongMechanism {
        got: OID_KRB5.into()
    }
    .to_string()
    .contains(OID_KRB5));
}
