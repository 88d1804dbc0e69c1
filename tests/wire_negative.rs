//! The NTLM decoders (MS-NLMP §2.2) reject malformed messages with typed errors: truncation, bad signature,
//! wrong type, fields overlapping / past the end / inside the header, bad AV lists, odd UTF-16.

use gss_negotiate::ntlm::error::WireError;
use gss_negotiate::ntlm::wire::{
    self, Authenticate, AvPairs, Challenge, Negotiate, NtlmV2ClientChallenge,
};
use std::path::PathBuf;

fn token(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/tokens")
            .join(name),
    )
    .expect(name)
}

const NEGOTIATES: &[&str] = &["pyspnego_ntlm_negotiate.bin", "gen_ntlm_v2_1_client.bin"];
const CHALLENGES: &[&str] = &[
    "pyspnego_ntlm_challenge.bin",
    "gontlm_challenge_win2003_reuters.bin",
    "gssntlmssp_challenge_ws2008r2_cbt.bin",
    "gen_ntlm_v2_2_server.bin",
];
const AUTHENTICATES: &[&str] = &[
    "pyspnego_ntlm_authenticate.bin",
    "pyspnego_ntlm_authenticate_no_sign_seal.bin",
    "gontlm_authenticate_v1_reuters.bin",
    "gssntlmssp_authenticate_v2_cbt_mic.bin",
    "gen_ntlm_v2_3_client.bin",
    "gen_ntlm_v1_ess_3_client.bin",
];

fn decode_any(b: &[u8]) -> Result<(), WireError> {
    match wire::message_type(b)? {
        wire::NEGOTIATE_TYPE => Negotiate::decode(b).map(drop),
        wire::CHALLENGE_TYPE => Challenge::decode(b).map(drop),
        wire::AUTHENTICATE_TYPE => Authenticate::decode(b).map(drop),
        _ => unreachable!("test tokens are NTLM messages"),
    }
}

fn set_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Sets a security buffer (Len, MaxLen, BufferOffset) at `at`.
fn set_field(b: &mut [u8], at: usize, len: u16, offset: u32) {
    set_u16(b, at, len);
    set_u16(b, at + 2, len);
    set_u32(b, at + 4, offset);
}

#[test]
fn negotiate_decoder_rejects_truncated_header_and_treats_missing_version_as_absent() {
    // §2.2.1.1: the fixed part is 32 bytes; VERSION (8 more) is optional, so a captured 40-byte NEGOTIATE
    // without payload cut anywhere from 32 on is still a NEGOTIATE, just without VERSION.
    for name in NEGOTIATES {
        let full = token(name);
        for len in 0..full.len() {
            let r = Negotiate::decode(&full[..len]);
            if len < 32 {
                assert!(
                    matches!(r, Err(WireError::Truncated { .. })),
                    "{name} cut at {len}: {r:?}"
                );
            } else {
                assert_eq!(r.map(|n| n.version), Ok(None), "{name} cut at {len}");
            }
        }
    }
}

#[test]
fn decoders_reject_every_truncation_of_captured_challenges_and_authenticates() {
    // Every captured message ends with its last payload field, so every strict prefix is invalid (§2.2.1).
    for name in CHALLENGES.iter().chain(AUTHENTICATES) {
        let full = token(name);
        assert_eq!(decode_any(&full), Ok(()), "{name}");
        for len in 0..full.len() {
            let err = decode_any(&full[..len]).expect_err(&format!("{name} cut at {len}"));
            assert!(
                matches!(
                    err,
                    WireError::Truncated { .. } | WireError::FieldOutOfRange { .. }
                ),
                "{name} cut at {len}: {err:?}"
            );
        }
    }
}

#[test]
fn decoders_reject_bad_signature() {
    for name in NEGOTIATES.iter().chain(CHALLENGES).chain(AUTHENTICATES) {
        let mut b = token(name);
        b[7] = b'X';
        assert_eq!(decode_any(&b), Err(WireError::BadSignature), "{name}");
        assert_eq!(Negotiate::decode(&b), Err(WireError::BadSignature));
        assert_eq!(Challenge::decode(&b), Err(WireError::BadSignature));
        assert_eq!(Authenticate::decode(&b), Err(WireError::BadSignature));
    }
}

#[test]
fn decoders_reject_wrong_message_type() {
    let mut b = token("gen_ntlm_v2_2_server.bin");
    set_u32(&mut b, 8, 4);
    assert_eq!(
        Challenge::decode(&b),
        Err(WireError::WrongMessageType {
            expected: 2,
            got: 4
        })
    );
    let b = token("gen_ntlm_v2_3_client.bin");
    assert_eq!(
        Challenge::decode(&b),
        Err(WireError::WrongMessageType {
            expected: 2,
            got: 3
        })
    );
    assert_eq!(
        Negotiate::decode(&b),
        Err(WireError::WrongMessageType {
            expected: 1,
            got: 3
        })
    );
}

#[test]
fn authenticate_decoder_rejects_overlapping_fields() {
    // gssntlmssp CBT capture: DomainName (16 bytes) at 88, UserName (26) at 104. Move UserName onto DomainName.
    let mut b = token("gssntlmssp_authenticate_v2_cbt_mic.bin");
    set_field(&mut b, 36, 26, 96);
    assert_eq!(
        Authenticate::decode(&b),
        Err(WireError::FieldOverlap {
            field: "DomainName",
            other: "UserName"
        })
    );
    // Two fields pointing at the same bytes overlap too.
    let mut b = token("gssntlmssp_authenticate_v2_cbt_mic.bin");
    set_field(&mut b, 44, 16, 88);
    assert!(matches!(
        Authenticate::decode(&b),
        Err(WireError::FieldOverlap { .. })
    ));
}

#[test]
fn challenge_decoder_rejects_target_info_overlapping_target_name() {
    let mut b = token("pyspnego_ntlm_challenge.bin"); // TargetName 12 bytes at 56, TargetInfo at 68.
    set_field(&mut b, 40, 138, 66);
    assert_eq!(
        Challenge::decode(&b),
        Err(WireError::FieldOverlap {
            field: "TargetName",
            other: "TargetInfo"
        })
    );
}

#[test]
fn decoders_reject_field_past_end() {
    let mut b = token("gen_ntlm_v2_3_client.bin"); // NtChallengeResponse: 168 bytes at 112, message 344.
    set_field(&mut b, 20, 233, 112);
    assert_eq!(
        Authenticate::decode(&b),
        Err(WireError::FieldOutOfRange {
            field: "NtChallengeResponse"
        })
    );
    let mut b = token("gen_ntlm_v2_3_client.bin");
    set_field(&mut b, 20, 168, u32::MAX);
    assert_eq!(
        Authenticate::decode(&b),
        Err(WireError::FieldOutOfRange {
            field: "NtChallengeResponse"
        })
    );
    let mut b = token("gen_ntlm_v2_2_server.bin");
    set_field(&mut b, 40, 59, 60);
    assert_eq!(
        Challenge::decode(&b),
        Err(WireError::FieldOutOfRange {
            field: "TargetInfo"
        })
    );
    let mut n = token("impacket_spnego_negtokeninit_ntlm_negotiate.bin");
    let at = n
        .windows(8)
        .position(|w| w == wire::SIGNATURE)
        .expect("sig");
    let mut n = n.split_off(at);
    n.truncate(45);
    set_field(&mut n, 24, 5, 41);
    assert_eq!(
        Negotiate::decode(&n),
        Err(WireError::FieldOutOfRange {
            field: "WorkstationName"
        })
    );
}

#[test]
fn decoders_reject_field_inside_fixed_header() {
    let mut b = token("gen_ntlm_v2_3_client.bin");
    set_field(&mut b, 36, 16, 40); // UserName inside the 64-byte fixed header
    assert_eq!(
        Authenticate::decode(&b),
        Err(WireError::FieldOutOfRange { field: "UserName" })
    );
    let mut b = token("gen_ntlm_v2_2_server.bin");
    set_field(&mut b, 12, 4, 0); // TargetName over the signature
    assert_eq!(
        Challenge::decode(&b),
        Err(WireError::FieldOutOfRange {
            field: "TargetName"
        })
    );
}

#[test]
fn zero_length_fields_ignore_their_offset() {
    let mut b = token("gssntlmssp_authenticate_v2_cbt_mic.bin"); // EncryptedRandomSessionKey is empty
    set_field(&mut b, 52, 0, 0xdead_beef);
    let a = Authenticate::decode(&b).expect("empty field with a wild offset");
    assert!(a.encrypted_random_session_key.is_empty());
}

#[test]
fn challenge_decoder_rejects_av_list_without_eol() {
    // gen_ntlm_v2_2_server: TargetInfo (58 bytes at 60) ends with the 4-byte EOL; shorten the field by 4.
    let mut b = token("gen_ntlm_v2_2_server.bin");
    set_field(&mut b, 40, 54, 60);
    assert!(matches!(
        Challenge::decode(&b),
        Err(WireError::BadAvPairs(_))
    ));
}

#[test]
fn challenge_decoder_rejects_seven_byte_timestamp() {
    // Build a §2.2.1.2 CHALLENGE whose TargetInfo holds an MsvAvTimestamp of 7 bytes (§2.2.2.1 wants 8).
    let mut av = AvPairs::new();
    av.push(wire::av_pairs::MSV_AV_TIMESTAMP, vec![1; 7]);
    let c = Challenge {
        flags: gss_negotiate::ntlm::flags::NegotiateFlags::UNICODE,
        target_name: "S".into(),
        server_challenge: [0; 8],
        reserved: [0; 8],
        target_info: Some(av),
        version: None,
    };
    assert_eq!(
        Challenge::decode(&c.encode()),
        Err(WireError::BadFieldLength {
            field: "MsvAvTimestamp",
            len: 7
        })
    );
}

#[test]
fn decoders_reject_odd_length_utf16_strings() {
    let mut b = token("gen_ntlm_v2_2_server.bin"); // UNICODE; TargetName "VM" = 4 bytes at 56
    set_field(&mut b, 12, 3, 56);
    assert_eq!(
        Challenge::decode(&b),
        Err(WireError::BadFieldLength {
            field: "TargetName",
            len: 3
        })
    );
    let mut b = token("gen_ntlm_v2_3_client.bin"); // Workstation 18 bytes at 310
    set_field(&mut b, 44, 17, 310);
    assert_eq!(
        Authenticate::decode(&b),
        Err(WireError::BadFieldLength {
            field: "Workstation",
            len: 17
        })
    );
}

#[test]
fn decoders_reject_oversized_messages() {
    let mut b = token("gen_ntlm_v2_2_server.bin");
    b.resize(wire::MAX_MESSAGE_LEN + 1, 0);
    assert!(matches!(
        Challenge::decode(&b),
        Err(WireError::FieldTooLong { .. })
    ));
}

#[test]
fn ntlmv2_blob_decoder_rejects_garbage_after_eol_and_short_blobs() {
    let a = Authenticate::decode(&token("gen_ntlm_v2_3_client.bin")).expect("decode");
    let (_, blob) = wire::split_ntlmv2_response(&a.nt_response).expect("split");
    let mut bad = blob.to_vec();
    *bad.last_mut().expect("non-empty") = 1;
    assert!(matches!(
        NtlmV2ClientChallenge::decode(&bad),
        Err(WireError::BadAvPairs(_))
    ));
    for len in 0..28 {
        assert!(
            matches!(
                NtlmV2ClientChallenge::decode(&blob[..len]),
                Err(WireError::Truncated { .. })
            ),
            "{len}"
        );
    }
    assert!(matches!(
        NtlmV2ClientChallenge::decode(&blob[..30]),
        Err(WireError::BadAvPairs(_))
    ));
}
