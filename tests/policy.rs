//! Security policy of the NTLM core, each rule with a test that would fail if the rule were dropped
//! (issue 6 §5; SECURITY.md lists the same rules and the knobs that change them):
//! - NTLMv1 and LM responses refused by the acceptor at the default LM_COMPAT_LEVEL (MS-NLMP §3.2.5.1.2);
//! - anonymous logons refused unless enabled (§3.2.5.1.2);
//! - a MIC announced in MsvAvFlags must be present and verify, and cannot be stripped by clearing the flag (§3.2.5.1.2);
//! - channel bindings enforced when given, required when configured (§3.2.5.1.2, Extended Protection);
//! - the NTLMv2 timestamp window, to the second, in both directions;
//! - replayed, reordered and skipped messages rejected with the session-security error the GSS layer maps
//!   (§3.4.4: SeqNum);
//! - secrets wiped before their memory is released (a scanning global allocator watches every free);
//! - secret comparisons constant-time (a scan of the sources for `==`/`!=` on proofs, MICs, keys);
//! - the user file refused with a clear error when others can write it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::userfile::UserFileStore;
use gss_negotiate::ntlm::acceptor::{
    AcceptorAwaitAuthenticate, AcceptorConfig, AcceptorStart, CredentialLookup, UserSecrets,
};
use gss_negotiate::ntlm::config::LmCompatLevel;
use gss_negotiate::ntlm::context::{Established, ResponseKind};
use gss_negotiate::ntlm::crypto::{lmowfv1, ntowfv1, Side};
use gss_negotiate::ntlm::env::{Environment, SystemEnvironment, FILETIME_TICKS_PER_SEC};
use gss_negotiate::ntlm::error::NtlmError;
use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::initiator::{
    InitiatorConfig, InitiatorCredential, InitiatorStart, Requested,
};
use gss_negotiate::ntlm::secret::{Key16, Password};
use gss_negotiate::ntlm::security::{SecurityError, SessionSecurity};
use gss_negotiate::ntlm::wire::{
    split_ntlmv2_response, Authenticate, NtlmV2ClientChallenge, MSV_AV_FLAG_MIC_PRESENT,
};
use gss_negotiate::status::Minor;
use zeroize::Zeroize;

const USER: &str = "alice";
const DOMAIN: &str = "TESTDOM";
const PASSWORD: &str = "Policy-Passw0rd";

#[path = "common/scan.rs"]
mod scan;
use scan::Scan;

// ---------------------------------------------------------------------------------------------------------
// Exchange helpers.

struct Store(HashMap<String, UserSecrets>);

impl CredentialLookup for Store {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

fn store(lm: bool) -> Arc<Store> {
    let pw = Password::new(PASSWORD);
    Arc::new(Store(HashMap::from([(
        USER.to_string(),
        UserSecrets {
            user: USER.into(),
            domain: DOMAIN.into(),
            nt_hash: ntowfv1(&pw),
            lm_hash: lm.then(|| lmowfv1(&pw)),
        },
    )])))
}

/// The system clock shifted by a settable number of FILETIME ticks (may be negative).
struct Clock(AtomicU64);

impl Environment for Clock {
    fn fill_random(&self, out: &mut [u8]) -> Result<(), NtlmError> {
        SystemEnvironment.fill_random(out)
    }
    fn now_filetime(&self) -> u64 {
        SystemEnvironment
            .now_filetime()
            .wrapping_add(self.0.load(Ordering::SeqCst))
    }
}

fn initiator(level: u8, anonymous: bool) -> InitiatorConfig {
    let pw = Password::new(PASSWORD);
    let cred = if anonymous {
        InitiatorCredential::Anonymous
    } else {
        InitiatorCredential::User {
            user: USER.into(),
            domain: DOMAIN.into(),
            nt_hash: ntowfv1(&pw),
            lm_hash: Some(lmowfv1(&pw)),
        }
    };
    let mut cfg = InitiatorConfig::new(cred, Arc::new(SystemEnvironment));
    cfg.workstation = "CLIENTPC".into();
    cfg.target_spn = Some("host/server.test".into());
    cfg.lm_compat_level = LmCompatLevel::new(level).expect("level");
    cfg.requested = Requested {
        sign: true,
        seal: true,
        datagram: false,
        identify: false,
    };
    cfg
}

/// An acceptor with the library defaults (only names set).
fn acceptor_defaults() -> AcceptorConfig {
    let mut cfg = AcceptorConfig::new(store(true), Arc::new(SystemEnvironment));
    cfg.netbios_computer = "SERVER".into();
    cfg.netbios_domain = DOMAIN.into();
    cfg.target_spn = Some("host/server.test".into());
    cfg
}

/// Runs NEGOTIATE → CHALLENGE → AUTHENTICATE and returns the acceptor waiting for the AUTHENTICATE.
fn until_authenticate(
    icfg: InitiatorConfig,
    acfg: AcceptorConfig,
    icb: Option<[u8; 16]>,
) -> (AcceptorAwaitAuthenticate, Established, Vec<u8>) {
    let (wait, negotiate) = InitiatorStart::new(icfg).negotiate();
    let (acc, challenge) = AcceptorStart::new(acfg)
        .challenge(&negotiate)
        .expect("challenge");
    let (client, auth) = wait.authenticate(&challenge, icb).expect("authenticate");
    (acc, client, auth)
}

fn accept(
    icfg: InitiatorConfig,
    acfg: AcceptorConfig,
    icb: Option<[u8; 16]>,
    acb: Option<[u8; 16]>,
) -> Result<Established, NtlmError> {
    let (acc, _client, auth) = until_authenticate(icfg, acfg, icb);
    acc.finish(&auth, acb)
}

// ---------------------------------------------------------------------------------------------------------
// LM compatibility level.

#[test]
fn default_acceptor_refuses_ntlmv1_and_lm_responses() {
    // Initiator levels 0 (LM + NTLMv1), 1 (NTLMv1 with ESS when offered) and 2 (NTLMv1 only).
    for level in 0..=2 {
        let err = accept(initiator(level, false), acceptor_defaults(), None, None).err();
        assert_eq!(
            err,
            Some(NtlmError::NtlmV1Refused { level: 3 }),
            "initiator level {level}"
        );
    }
    // An LM-only response (empty NT response, 24-byte LM response) is refused the same way.
    let (acc, _c, auth) = until_authenticate(initiator(0, false), acceptor_defaults(), None);
    let mut msg = Authenticate::decode(&auth).expect("decode");
    assert_eq!(msg.lm_response.len(), 24);
    msg.nt_response.clear();
    assert_eq!(
        acc.finish(&msg.encode(), None).err(),
        Some(NtlmError::NtlmV1Refused { level: 3 })
    );
}

#[test]
fn acceptor_level_decides_ntlmv1_from_the_environment_variable() {
    for (text, v1_allowed) in [
        (None, false),
        (Some("0"), true),
        (Some("2"), true),
        (Some("3"), false),
        (Some("5"), false),
        (Some("9"), false), // invalid: falls back to the default, never to a weaker level
        (Some("-1"), false),
    ] {
        let cfg = Config::from_lookup(
            |k| {
                (k == "LM_COMPAT_LEVEL")
                    .then(|| text.map(String::from))
                    .flatten()
            },
            None,
        );
        let mut acfg = acceptor_defaults();
        acfg.lm_compat_level = LmCompatLevel::new(cfg.lm_compat_level).expect("level");
        let result = accept(initiator(2, false), acfg, None, None);
        match result {
            Ok(ctx) => {
                assert!(v1_allowed, "LM_COMPAT_LEVEL={text:?} accepted NTLMv1");
                assert!(
                    matches!(ctx.kind, ResponseKind::V1 | ResponseKind::V1Ess),
                    "{:?}",
                    ctx.kind
                );
            }
            Err(e) => {
                assert!(!v1_allowed, "LM_COMPAT_LEVEL={text:?}: {e}");
                assert!(matches!(e, NtlmError::NtlmV1Refused { .. }), "{e:?}");
            }
        }
    }
}

#[test]
fn ntlmv2_is_accepted_at_every_level() {
    for level in 0..=5 {
        let mut acfg = acceptor_defaults();
        acfg.lm_compat_level = LmCompatLevel::new(level).expect("level");
        let ctx = accept(initiator(3, false), acfg, None, None).expect("NTLMv2 accepted");
        assert_eq!(ctx.kind, ResponseKind::V2, "level {level}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Anonymous.

#[test]
fn anonymous_is_refused_by_default_and_accepted_only_when_enabled() {
    let err = accept(initiator(3, true), acceptor_defaults(), None, None).err();
    assert_eq!(err, Some(NtlmError::AnonymousRefused));

    let mut acfg = acceptor_defaults();
    acfg.allow_anonymous = true;
    let ctx = accept(initiator(3, true), acfg, None, None).expect("anonymous enabled");
    assert!(ctx.is_anonymous());
    assert!(ctx.user.is_empty());
}

#[test]
fn blank_user_with_a_real_response_is_not_taken_for_anonymous() {
    // A user field blanked in transit is not an anonymous logon: the NT response is still there.
    let mut acfg = acceptor_defaults();
    acfg.allow_anonymous = true;
    let (acc, _c, auth) = until_authenticate(initiator(3, false), acfg, None);
    let mut msg = Authenticate::decode(&auth).expect("decode");
    msg.user.clear();
    msg.mic = None;
    let err = acc.finish(&msg.encode(), None).err();
    assert!(
        matches!(err, Some(NtlmError::UnknownUser { .. })),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// MIC.

/// Rewrites the MsvAvFlags of the NTLMv2 blob inside an AUTHENTICATE (without fixing the NTProofStr).
fn with_av_flags(auth: &[u8], f: impl FnOnce(u32) -> u32) -> Vec<u8> {
    let mut msg = Authenticate::decode(auth).expect("decode");
    let (proof, blob) = split_ntlmv2_response(&msg.nt_response).expect("v2 response");
    let proof = proof.to_vec();
    let mut blob = NtlmV2ClientChallenge::decode(blob).expect("blob");
    let flags = blob.av_pairs.flags().unwrap_or(0);
    blob.av_pairs.set_flags(f(flags));
    msg.nt_response = [proof, blob.encode()].concat();
    msg.encode()
}

#[test]
fn announced_mic_must_be_present_and_verify() {
    let (acc, _c, auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    let decoded = Authenticate::decode(&auth).expect("decode");
    assert!(decoded.mic.is_some(), "the initiator sends a MIC here");
    // A zeroed MIC.
    let mut zeroed = auth.clone();
    zeroed[Authenticate::MIC_OFFSET..Authenticate::MIC_OFFSET + 16].fill(0);
    assert_eq!(
        acc.finish(&zeroed, None).err(),
        Some(NtlmError::MicMismatch)
    );

    // The MIC of another exchange with the same user and password.
    let (acc, _c, _auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    let (_acc2, _c2, other) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    let mut spliced = _auth.clone();
    spliced[Authenticate::MIC_OFFSET..Authenticate::MIC_OFFSET + 16]
        .copy_from_slice(&other[Authenticate::MIC_OFFSET..Authenticate::MIC_OFFSET + 16]);
    assert_eq!(
        acc.finish(&spliced, None).err(),
        Some(NtlmError::MicMismatch)
    );

    // The genuine one is accepted and reported (MIT SPNEGO asks for it).
    let (acc, _c, auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    assert!(acc.finish(&auth, None).expect("genuine").mic_present);
}

#[test]
fn clearing_the_mic_flag_breaks_the_ntproofstr() {
    // MsvAvFlags sits inside the NTLMv2 blob, which the NTProofStr covers: a downgrade that clears MIC_PRESENT
    // (to get a tampered message past the MIC check) fails the password proof instead.
    let (acc, _c, auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    let stripped = with_av_flags(&auth, |f| {
        assert_ne!(f & MSV_AV_FLAG_MIC_PRESENT, 0);
        f & !MSV_AV_FLAG_MIC_PRESENT
    });
    let err = acc.finish(&stripped, None).err();
    assert!(
        matches!(err, Some(NtlmError::WrongPassword { .. })),
        "{err:?}"
    );
}

#[test]
fn any_change_to_a_mic_protected_exchange_is_refused() {
    // With a MIC the acceptor checks all three messages as each side saw them: a one-bit change anywhere in the
    // NEGOTIATE, CHALLENGE or AUTHENTICATE (flags downgraded in transit, a name or padding changed) fails.
    let mut checked = 0;
    let (_w, negotiate) = InitiatorStart::new(initiator(3, false)).negotiate();
    for pos in 0..negotiate.len() {
        let (wait, negotiate) = InitiatorStart::new(initiator(3, false)).negotiate();
        let mut neg = negotiate.clone();
        neg[pos] ^= 0x01;
        let Ok((acc, challenge)) = AcceptorStart::new(acceptor_defaults()).challenge(&neg) else {
            continue;
        };
        let Ok((_c, auth)) = wait.authenticate(&challenge, None) else {
            continue;
        };
        assert!(acc.finish(&auth, None).is_err(), "NEGOTIATE byte {pos}");
        checked += 1;
    }
    let (_w, negotiate) = InitiatorStart::new(initiator(3, false)).negotiate();
    let (_a, challenge) = AcceptorStart::new(acceptor_defaults())
        .challenge(&negotiate)
        .expect("challenge");
    for pos in 0..challenge.len() {
        let (wait, negotiate) = InitiatorStart::new(initiator(3, false)).negotiate();
        let (acc, challenge) = AcceptorStart::new(acceptor_defaults())
            .challenge(&negotiate)
            .expect("challenge");
        let Some(byte) = challenge.get(pos) else {
            continue;
        };
        let mut chal = challenge.clone();
        chal[pos] = byte ^ 0x01;
        let Ok((_c, auth)) = wait.authenticate(&chal, None) else {
            continue;
        };
        assert!(acc.finish(&auth, None).is_err(), "CHALLENGE byte {pos}");
        checked += 1;
    }
    let (_a, _c, auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    for pos in 0..auth.len() {
        let (acc, _c, auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
        let Some(byte) = auth.get(pos) else {
            continue;
        };
        let mut bad = auth.clone();
        bad[pos] = byte ^ 0x01;
        assert!(acc.finish(&bad, None).is_err(), "AUTHENTICATE byte {pos}");
        checked += 1;
    }
    assert!(checked > 300, "only {checked} cases ran");
}

// ---------------------------------------------------------------------------------------------------------
// Channel bindings.

/// (require, initiator bindings, acceptor bindings, expected outcome)
type BindingCase = (
    bool,
    Option<[u8; 16]>,
    Option<[u8; 16]>,
    Result<(), NtlmError>,
);

#[test]
fn channel_bindings_are_enforced_when_given_and_required_when_configured() {
    let a = Some([0xA1; 16]);
    let b = Some([0xB2; 16]);
    let zero = Some([0u8; 16]);
    // (require, initiator bindings, acceptor bindings, expected)
    let cases: [BindingCase; 10] = [
        (false, None, None, Ok(())),
        (false, a, a, Ok(())),
        (false, a, b, Err(NtlmError::ChannelBindingsMismatch)),
        (false, None, a, Ok(())), // not required: an old client without bindings passes
        (false, a, None, Ok(())), // the application gave none: nothing to check
        (true, None, a, Err(NtlmError::ChannelBindingsMissing)),
        (true, zero, a, Err(NtlmError::ChannelBindingsMissing)), // all-zero hash = "no bindings"
        (true, a, a, Ok(())),
        (true, a, b, Err(NtlmError::ChannelBindingsMismatch)),
        (true, None, None, Ok(())), // required only when the application gives bindings
    ];
    for (require, icb, acb, want) in cases {
        let mut acfg = acceptor_defaults();
        acfg.require_channel_bindings = require;
        let got = accept(initiator(3, false), acfg, icb, acb).map(|_| ());
        assert_eq!(
            got, want,
            "require={require} initiator={icb:?} acceptor={acb:?}"
        );
    }
}

#[test]
fn required_channel_bindings_refuse_ntlmv1() {
    // NTLMv1 cannot carry bindings: with bindings required it is refused even where v1 is allowed.
    let mut acfg = acceptor_defaults();
    acfg.lm_compat_level = LmCompatLevel::new(2).expect("level");
    acfg.require_channel_bindings = true;
    let err = accept(initiator(2, false), acfg, None, Some([0xA1; 16])).err();
    assert_eq!(err, Some(NtlmError::ChannelBindingsMissing));
}

// ---------------------------------------------------------------------------------------------------------
// Timestamp window.

#[test]
fn timestamp_window_holds_to_the_second_in_both_directions() {
    const MAX: u64 = 300;
    // (acceptor clock shift at AUTHENTICATE time in seconds, accepted)
    for (shift, ok) in [
        (0i64, true),
        (MAX as i64 - 1, true),
        (MAX as i64 + 2, false),
        (-(MAX as i64) + 1, true),
        (-(MAX as i64) - 2, false),
        (i64::from(i32::MAX), false),
    ] {
        let clock = Arc::new(Clock(AtomicU64::new(0)));
        let mut acfg = acceptor_defaults();
        acfg.env = clock.clone();
        acfg.max_skew_secs = MAX;
        let (acc, _c, auth) = until_authenticate(initiator(3, false), acfg, None);
        let ticks = shift.wrapping_mul(FILETIME_TICKS_PER_SEC as i64) as u64;
        clock.0.store(ticks, Ordering::SeqCst);
        let got = acc.finish(&auth, None);
        match (ok, got) {
            (true, Ok(_)) => {}
            (false, Err(NtlmError::TimestampSkew { max_secs, .. })) => assert_eq!(max_secs, MAX),
            (_, other) => panic!("shift {shift}s: {other:?}"),
        }
    }
}

#[test]
fn default_timestamp_window_is_36_hours() {
    let acfg = acceptor_defaults();
    assert_eq!(acfg.max_skew_secs, 36 * 3600);
}

// ---------------------------------------------------------------------------------------------------------
// Replay, reordering, gaps (MS-NLMP §3.4.4 SeqNum). The GSS layer maps: Duplicate → GSS_S_DUPLICATE_TOKEN,
// Gap → GSS_S_GAP_TOKEN, BadSignature → GSS_S_BAD_SIG (see SECURITY.md).

fn security_pair(flags: NegotiateFlags) -> (SessionSecurity, SessionSecurity) {
    let key = Key16::new([0x5A; 16]);
    (
        SessionSecurity::new(flags, &key, Side::Client),
        SessionSecurity::new(flags, &key, Side::Server),
    )
}

const ESS_SIGN: NegotiateFlags = NegotiateFlags(
    NegotiateFlags::SIGN.0 | NegotiateFlags::EXTENDED_SESSIONSECURITY.0 | NegotiateFlags::KEY_128.0,
);

#[test]
fn duplicated_and_skipped_mics_are_reported_as_duplicate_and_gap() {
    // ESS without key exchange: the checksum is not RC4-encrypted, so an authentic signature with the wrong
    // SeqNum is recognised as such.
    let (mut c, mut s) = security_pair(ESS_SIGN);
    let m0 = c.sign(b"zero");
    let m1 = c.sign(b"one");
    let m2 = c.sign(b"two");
    assert_eq!(s.verify(b"zero", &m0), Ok(()));
    assert_eq!(
        s.verify(b"zero", &m0),
        Err(SecurityError::Duplicate {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(
        s.verify(b"two", &m2),
        Err(SecurityError::Gap {
            expected: 1,
            got: 2
        })
    );
    // Neither rejection moved the state: the stream continues in order.
    assert_eq!(s.verify(b"one", &m1), Ok(()));
    assert_eq!(s.verify(b"two", &m2), Ok(()));
}

#[test]
fn with_key_exchange_out_of_order_messages_surface_as_bad_signature() {
    // With KEY_EXCH the checksum is encrypted with the receiver's keystream position: a replayed or early
    // message cannot be told from a forged one. It is still rejected, and the state is kept.
    for seal in [false, true] {
        let flags = ESS_SIGN | NegotiateFlags::KEY_EXCH | NegotiateFlags::SEAL;
        let (mut c, mut s) = security_pair(flags);
        let mut first = b"first".to_vec();
        let mut second = b"second".to_vec();
        let (s1, s2) = if seal {
            (c.seal_in_place(&mut first), c.seal_in_place(&mut second))
        } else {
            (c.sign(&first), c.sign(&second))
        };
        let recv = |s: &mut SessionSecurity, m: &mut Vec<u8>, sig: &[u8; 16]| {
            if seal {
                s.unseal_in_place(m, sig)
            } else {
                s.verify(m, sig)
            }
        };
        let mut early = second.clone();
        assert_eq!(
            recv(&mut s, &mut early, &s2),
            Err(SecurityError::BadSignature),
            "reordered, seal={seal}"
        );
        assert_eq!(early, second, "rejected buffer restored");
        let mut m = first.clone();
        assert_eq!(recv(&mut s, &mut m, &s1), Ok(()));
        let mut again = first.clone();
        assert_eq!(
            recv(&mut s, &mut again, &s1),
            Err(SecurityError::BadSignature),
            "replayed, seal={seal}"
        );
        let mut m = second.clone();
        assert_eq!(recv(&mut s, &mut m, &s2), Ok(()), "stream continues");
    }
}

#[test]
fn ntlmv1_out_of_order_messages_are_rejected_as_bad_signature() {
    // Without ESS the checksum and SeqNum are encrypted with the one shared keystream: a message received out of
    // its place decrypts to garbage, so it is a BadSignature (not a Gap). The state is kept: in order, both pass.
    let flags = NegotiateFlags::SIGN | NegotiateFlags::KEY_128;
    let (mut c, mut s) = security_pair(flags);
    let m0 = c.sign(b"zero");
    let m1 = c.sign(b"one");
    assert_eq!(s.verify(b"one", &m1), Err(SecurityError::BadSignature));
    assert_eq!(s.verify(b"zero", &m0), Ok(()));
    assert_eq!(s.verify(b"zero", &m0), Err(SecurityError::BadSignature));
    assert_eq!(s.verify(b"one", &m1), Ok(()));
}

#[test]
fn datagram_mode_accepts_any_order_so_replay_detection_is_the_callers() {
    // Connectionless NTLM (§3.4: the receiver takes SeqNum from the message) keeps no replay window: the same
    // message verifies twice. The GSS layer must track seen SeqNums when GSS_C_REPLAY_FLAG is asked for.
    let flags = ESS_SIGN | NegotiateFlags::KEY_EXCH | NegotiateFlags::DATAGRAM;
    let (mut c, mut s) = security_pair(flags);
    let sig = c.sign(b"dgram");
    assert_eq!(s.verify(b"dgram", &sig), Ok(()));
    assert_eq!(s.verify(b"dgram", &sig), Ok(()));
    assert_eq!(s.verify(b"dgram!", &sig), Err(SecurityError::BadSignature));
}

// ---------------------------------------------------------------------------------------------------------
// Secrets wiped on release.

#[test]
fn key_zeroize_wipes_the_bytes_in_place() {
    let mut k = Key16::new([0xC3; 16]);
    assert!(!k.is_zero());
    k.zeroize();
    assert!(k.is_zero());
    assert_eq!(k.as_bytes(), &[0u8; 16]);
    let mut p = Password::new("hunter2");
    p.zeroize();
    assert_eq!(p.expose(), "");
}

#[test]
fn scanner_detects_a_secret_freed_without_wiping() {
    // The scanner itself must work, or the tests below prove nothing.
    let secret = [
        0x7E, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE,
        0x01,
    ];
    let scan = Scan::arm(&secret);
    let leaked = std::hint::black_box(secret.to_vec());
    drop(leaked);
    let (hits, scanned) = scan.finish();
    assert!(hits >= 1 && scanned >= 1, "hits {hits}, scanned {scanned}");
}

#[test]
fn released_contexts_leave_no_session_key_in_freed_memory() {
    let (acc, client, auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    let server = acc.finish(&auth, None).expect("accept");
    let key = *client.session_key.as_bytes();
    assert_eq!(&key, server.session_key.as_bytes());
    let scan = Scan::arm(&key);
    let client = Box::new(client);
    let mut server = Box::new(server);
    // Use, export, re-import and release both ends.
    let mut msg = b"payload".to_vec();
    let sig = server.security.seal_in_place(&mut msg);
    let blob = client.export();
    let mut copy = Established::import(&blob).expect("import");
    drop(blob);
    copy.security
        .unseal_in_place(&mut msg, &sig)
        .expect("unseal");
    drop(copy);
    drop(client);
    drop(server);
    let (hits, scanned) = scan.finish();
    assert!(scanned > 0);
    assert_eq!(
        hits, 0,
        "{hits} freed heap blocks still held the session key"
    );
}

#[test]
fn a_handshake_frees_no_copy_of_the_nt_hash_or_session_key_unwiped() {
    let nt = *ntowfv1(&Password::new(PASSWORD)).as_bytes();
    let scan = Scan::arm(&nt);
    let server = accept(initiator(3, false), acceptor_defaults(), None, None).expect("accept");
    drop(server);
    let (hits, scanned) = scan.finish();
    assert!(scanned > 0);
    assert_eq!(hits, 0, "{hits} freed heap blocks still held the NT hash");

    // The acceptor decrypts the ExportedSessionKey from the AUTHENTICATE (KEY_EXCH): that buffer too.
    let (acc, client, auth) = until_authenticate(initiator(3, false), acceptor_defaults(), None);
    let key = *client.session_key.as_bytes();
    let scan = Scan::arm(&key);
    let server = acc.finish(&auth, None).expect("accept");
    let (hits, _) = scan.finish();
    assert_eq!(
        hits, 0,
        "the acceptor freed {hits} heap blocks holding the session key"
    );
    drop((client, server));
}

// ---------------------------------------------------------------------------------------------------------
// Constant-time comparisons.

/// Secret-bearing names: an `==`/`!=` with one of these as an operand compares secret bytes.
const SECRET_WORDS: &[&str] = &[
    "mic",
    "proof",
    "checksum",
    "digest",
    "nt_hash",
    "lm_hash",
    "session_key",
    "sign_key",
    "seal_key",
    "nt_response",
    "lm_response",
    "signature",
    "bindings",
    "want",
    "expected_mic",
    "kxkey",
    "password",
];

/// Comparisons that were reviewed and compare public values.
const REVIEWED: &[&str] = &[
    // The anonymous test compares a public value (an LM response of one zero byte).
    "auth.lm_response == [0]",
    // Signature version field (public).
    "sig[..4] != VERSION",
    // The NTLMSSP\0 message signature (public).
    "sig != SIGNATURE",
    // Key lengths, not key bytes.
    "usize::from(seal_len) != want_len",
];

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn secret_comparisons_use_constant_time_eq() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for sub in ["ntlm", "creds", "spnego"] {
        rust_files(&root.join(sub), &mut files);
    }
    files.push(root.join("names.rs"));
    let mut offenders = Vec::new();
    let mut lines_seen = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        // Unit tests at the end of a file may compare freely.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let l = line.trim();
            if l.starts_with("//") || !(l.contains("==") || l.contains("!=")) {
                continue;
            }
            lines_seen += 1;
            if REVIEWED.iter().any(|r| l.contains(r)) {
                continue;
            }
            for (i, _) in l.match_indices("==").chain(l.match_indices("!=")) {
                let left = l[..i].trim_end();
                let right = l[i + 2..].trim_start();
                // Operands: the identifier path right before and after the operator.
                let lop: String = left
                    .chars()
                    .rev()
                    .take_while(|c| c.is_alphanumeric() || "_.[]()&*".contains(*c))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let rop: String = right
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || "_.[]()&*".contains(*c))
                    .collect();
                let secretish = |op: &str| {
                    let op = op.to_ascii_lowercase();
                    !op.ends_with(".len()")
                        && !op.ends_with("is_empty()")
                        && SECRET_WORDS.iter().any(|w| op.contains(w))
                };
                let numeric = |op: &str| op.chars().next().is_some_and(|c| c.is_ascii_digit());
                if (secretish(&lop) || secretish(&rop)) && !numeric(&rop) && !numeric(&lop) {
                    offenders.push(format!("{}:{}: {l}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(
        lines_seen > 10,
        "the scan saw only {lines_seen} comparisons"
    );
    assert!(
        offenders.is_empty(),
        "secret bytes compared with ==/!= (use secret::ct_eq):\n{}",
        offenders.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------------------
// User file permissions.

#[test]
fn user_file_writable_by_others_is_refused_with_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("gss-negotiate-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("users");
    std::fs::write(&path, format!("{DOMAIN}:{USER}:{PASSWORD}\n")).expect("write");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let store = UserFileStore::new(&path);
    assert!(store.lookup(USER, DOMAIN).is_some(), "0600 file is used");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let store = UserFileStore::new(&path);
    let err = store
        .find(Some(USER), None)
        .expect_err("world-writable file refused");
    assert_eq!(err.minor, Minor::UserFileInsecure);
    let text = err.to_string();
    assert!(text.contains("writable by others"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(store.lookup(USER, DOMAIN).is_none());
    assert!(!text.contains(PASSWORD));

    // A file that became world-writable after a good read is refused from then on, not served from cache.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let store = UserFileStore::new(&path);
    assert!(store.lookup(USER, DOMAIN).is_some());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o602)).expect("chmod");
    assert!(
        store.lookup(USER, DOMAIN).is_none(),
        "cached entries served from an insecure file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
