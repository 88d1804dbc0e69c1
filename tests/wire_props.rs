//! Properties of the NTLM wire codecs (MS-NLMP §2.2): decoders never panic on arbitrary or mutated input,
//! anything they accept survives a re-encoding, and generated structures round-trip through encode/decode.

use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::wire::{
    self, av_pairs, Authenticate, AvPairs, Challenge, Negotiate, NtlmV2ClientChallenge, Version,
};
use proptest::prelude::*;
use std::path::PathBuf;

fn token(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/tokens")
            .join(name),
    )
    .expect(name)
}

const SEEDS: &[&str] = &[
    "pyspnego_ntlm_negotiate.bin",
    "gen_ntlm_v2_1_client.bin",
    "pyspnego_ntlm_challenge.bin",
    "gontlm_challenge_win2003_reuters.bin",
    "gssntlmssp_challenge_ws2008r2_cbt.bin",
    "pyspnego_ntlm_authenticate.bin",
    "pyspnego_ntlm_authenticate_no_sign_seal.bin",
    "gontlm_authenticate_v1_reuters.bin",
    "gssntlmssp_authenticate_v2_cbt_mic.bin",
    "gen_ntlm_v2_3_client.bin",
];

/// Decodes with every decoder; whatever one accepts must come back unchanged from its own encoding.
fn decode_all_and_check_reencoding(b: &[u8]) {
    let _ = wire::message_type(b);
    if let Ok(n) = Negotiate::decode(b) {
        assert_eq!(Negotiate::decode(&n.encode()), Ok(n));
    }
    if let Ok(c) = Challenge::decode(b) {
        assert_eq!(Challenge::decode(&c.encode()), Ok(c));
    }
    if let Ok(a) = Authenticate::decode(b) {
        assert_eq!(Authenticate::decode(&a.encode()), Ok(a.clone()));
        if let Ok((_, blob)) = wire::split_ntlmv2_response(&a.nt_response) {
            if let Ok(cc) = NtlmV2ClientChallenge::decode(blob) {
                assert_eq!(NtlmV2ClientChallenge::decode(&cc.encode()), Ok(cc));
            }
        }
    }
    if let Ok(av) = AvPairs::decode(b) {
        assert_eq!(AvPairs::decode(&av.encode()), Ok(av));
    }
    if let Ok(cc) = NtlmV2ClientChallenge::decode(b) {
        assert_eq!(NtlmV2ClientChallenge::decode(&cc.encode()), Ok(cc));
    }
    let _ = Version::decode(b);
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    SetU16(usize, u16),
}

fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if b.is_empty() {
            break;
        }
        match *m {
            Mutation::Set(i, v) => {
                let i = i % b.len();
                b[i] = v;
            }
            Mutation::Truncate(n) => b.truncate(n % (b.len() + 1)),
            Mutation::Insert(i, v) => b.insert(i % (b.len() + 1), v),
            Mutation::SetU16(i, v) => {
                // Mostly hit the header, where lengths and offsets live.
                let i = i % b.len().min(96);
                for (k, x) in v.to_le_bytes().into_iter().enumerate() {
                    if let Some(slot) = b.get_mut(i + k) {
                        *slot = x;
                    }
                }
            }
        }
    }
    b
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Insert(i, v)),
        (
            any::<usize>(),
            prop_oneof![Just(0u16), Just(1), Just(0xffff), 0u16..600]
        )
            .prop_map(|(i, v)| Mutation::SetU16(i, v)),
    ]
}

fn latin1() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..40)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

fn text(unicode: bool) -> BoxedStrategy<String> {
    if unicode {
        proptest::collection::vec(any::<char>(), 0..30)
            .prop_map(|v| v.into_iter().collect())
            .boxed()
    } else {
        latin1().boxed()
    }
}

fn version() -> impl Strategy<Value = Version> {
    (any::<u8>(), any::<u8>(), any::<u16>(), any::<u8>()).prop_map(
        |(major, minor, build, revision)| Version {
            major,
            minor,
            build,
            revision,
        },
    )
}

/// A valid AV pair: fixed-size ids get their size, string ids an even length, unknown ids anything.
fn av_pair() -> impl Strategy<Value = (u16, Vec<u8>)> {
    prop_oneof![
        (1u16..=5, text(true)).prop_map(|(id, s)| (id, wire::encode_string(&s, true))),
        text(true).prop_map(|s| (av_pairs::MSV_AV_TARGET_NAME, wire::encode_string(&s, true))),
        any::<u32>().prop_map(|f| (av_pairs::MSV_AV_FLAGS, f.to_le_bytes().to_vec())),
        any::<u64>().prop_map(|t| (av_pairs::MSV_AV_TIMESTAMP, t.to_le_bytes().to_vec())),
        any::<[u8; 16]>().prop_map(|h| (av_pairs::MSV_AV_CHANNEL_BINDINGS, h.to_vec())),
        proptest::collection::vec(any::<u8>(), 48..80)
            .prop_map(|v| (av_pairs::MSV_AV_SINGLE_HOST, v)),
        (
            11u16..=u16::MAX,
            proptest::collection::vec(any::<u8>(), 0..40)
        ),
    ]
}

fn av_list() -> impl Strategy<Value = AvPairs> {
    proptest::collection::vec(av_pair(), 0..8).prop_map(|pairs| {
        let mut av = AvPairs::new();
        for (id, v) in pairs {
            av.push(id, v); // duplicates included on purpose
        }
        av
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn negotiate() -> impl Strategy<Value = Negotiate> {
    (
        any::<u32>(),
        proptest::option::of(latin1()),
        proptest::option::of(latin1()),
        proptest::option::of(version()),
    )
        .prop_map(|(f, domain, workstation, version)| {
            let mut flags = NegotiateFlags(f);
            // Keep the flags consistent with the optional parts, as a sender does: VERSION ⇔ version, and an
            // absent name has its *_SUPPLIED flag cleared (an empty present one has it set).
            flags.set(NegotiateFlags::VERSION, version.is_some());
            for (name, flag) in [
                (&domain, NegotiateFlags::OEM_DOMAIN_SUPPLIED),
                (&workstation, NegotiateFlags::OEM_WORKSTATION_SUPPLIED),
            ] {
                match name {
                    None => flags.set(flag, false),
                    Some(s) if s.is_empty() => flags.set(flag, true),
                    Some(_) => {}
                }
            }
            Negotiate {
                flags,
                domain,
                workstation,
                version,
            }
        })
}

fn challenge() -> impl Strategy<Value = Challenge> {
    (any::<u32>(), any::<bool>())
        .prop_flat_map(|(f, unicode)| {
            let mut flags = NegotiateFlags(f);
            flags.set(NegotiateFlags::UNICODE, unicode);
            (
                Just(flags),
                text(unicode),
                any::<[u8; 8]>(),
                any::<[u8; 8]>(),
                proptest::option::of(av_list()),
                proptest::option::of(version()),
            )
        })
        .prop_map(
            |(mut flags, target_name, server_challenge, reserved, target_info, version)| {
                flags.set(NegotiateFlags::VERSION, version.is_some());
                Challenge {
                    flags,
                    target_name,
                    server_challenge,
                    reserved,
                    target_info,
                    version,
                }
            },
        )
}

fn authenticate() -> impl Strategy<Value = Authenticate> {
    (any::<u32>(), any::<bool>())
        .prop_flat_map(|(f, unicode)| {
            let mut flags = NegotiateFlags(f);
            flags.set(NegotiateFlags::UNICODE, unicode);
            (
                Just(flags),
                (bytes(30), bytes(400), bytes(20)),
                (text(unicode), text(unicode), text(unicode)),
                proptest::option::of(version()),
                proptest::option::of(any::<[u8; 16]>()),
            )
        })
        .prop_map(
            |(mut flags, (lm, nt, key), (domain, user, workstation), version, mic)| {
                flags.set(NegotiateFlags::VERSION, version.is_some());
                Authenticate {
                    flags,
                    lm_response: lm,
                    nt_response: nt,
                    domain,
                    user,
                    workstation,
                    encrypted_random_session_key: key,
                    version,
                    mic,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(b in bytes(300)) {
        decode_all_and_check_reencoding(&b);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes_behind_a_valid_prefix(ty in 1u32..=3, rest in bytes(300)) {
        let mut b = wire::SIGNATURE.to_vec();
        b.extend(ty.to_le_bytes());
        b.extend(rest);
        decode_all_and_check_reencoding(&b);
    }

    #[test]
    fn decoders_never_panic_on_mutated_captured_tokens(
        seed in 0..SEEDS.len(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        decode_all_and_check_reencoding(&apply(token(SEEDS[seed]), &muts));
    }

    #[test]
    fn negotiate_round_trips(n in negotiate()) {
        prop_assert_eq!(Negotiate::decode(&n.encode()), Ok(n));
    }

    #[test]
    fn challenge_round_trips(c in challenge()) {
        prop_assert_eq!(Challenge::decode(&c.encode()), Ok(c));
    }

    #[test]
    fn authenticate_round_trips(a in authenticate()) {
        let b = a.encode();
        if let Some(mic) = a.mic {
            prop_assert_eq!(b.get(Authenticate::MIC_OFFSET..Authenticate::MIC_OFFSET + 16), Some(&mic[..]));
        }
        prop_assert_eq!(Authenticate::decode(&b), Ok(a));
    }

    #[test]
    fn av_pairs_round_trip_and_get_returns_first(av in av_list()) {
        let decoded = AvPairs::decode(&av.encode());
        prop_assert_eq!(decoded.as_ref(), Ok(&av));
        for p in av.iter() {
            let first = av.iter().find(|q| q.id == p.id).map(|q| q.value.as_slice());
            prop_assert_eq!(av.get(p.id), first);
        }
    }

    #[test]
    fn ntlmv2_client_challenge_round_trips(timestamp in any::<u64>(), cc in any::<[u8; 8]>(), av in av_list()) {
        let c = NtlmV2ClientChallenge { timestamp, client_challenge: cc, av_pairs: av };
        let blob = c.encode();
        let mut response = vec![0x5a; 16];
        response.extend_from_slice(&blob);
        let (proof, split) = wire::split_ntlmv2_response(&response).expect("long enough");
        prop_assert_eq!(proof, [0x5a; 16]);
        prop_assert_eq!(split, &blob[..]);
        prop_assert_eq!(NtlmV2ClientChallenge::decode(&blob), Ok(c));
    }

    #[test]
    fn strings_round_trip(s in any::<String>(), l in latin1()) {
        prop_assert_eq!(wire::decode_string(&wire::encode_string(&s, true), true, "s"), Ok(s));
        prop_assert_eq!(wire::decode_string(&wire::encode_string(&l, false), false, "s"), Ok(l));
    }
}
