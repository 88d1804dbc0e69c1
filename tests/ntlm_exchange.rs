//! Initiator ↔ acceptor loops over the feature matrix (MS-NLMP §3.1.5, §3.2.5, §3.4), and the negative cases
//! that an acceptor must refuse.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gss_negotiate::ntlm::acceptor::{
    Acceptor, AcceptorConfig, AcceptorStart, AcceptorStep, CredentialLookup, UserSecrets,
};
use gss_negotiate::ntlm::config::LmCompatLevel;
use gss_negotiate::ntlm::context::{Established, ResponseKind};
use gss_negotiate::ntlm::crypto::{lmowfv1, ntowfv1};
use gss_negotiate::ntlm::env::{Environment, SystemEnvironment};
use gss_negotiate::ntlm::error::NtlmError;
use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::initiator::{
    Initiator, InitiatorConfig, InitiatorCredential, InitiatorStart, InitiatorStep, Requested,
};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::ntlm::wire::Authenticate;

const USER: &str = "testuser";
const DOMAIN: &str = "TESTDOM";
const PASSWORD: &str = "Passw0rd!";

struct MemStore(HashMap<String, UserSecrets>);

impl MemStore {
    fn with_user(user: &str, password: &str) -> Arc<MemStore> {
        let pw = Password::new(password);
        let mut m = HashMap::new();
        m.insert(
            user.to_ascii_lowercase(),
            UserSecrets {
                user: user.into(),
                domain: DOMAIN.into(),
                nt_hash: ntowfv1(&pw),
                lm_hash: Some(lmowfv1(&pw)),
            },
        );
        Arc::new(MemStore(m))
    }
}

impl CredentialLookup for MemStore {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

/// The system environment with a clock that can be moved.
struct ShiftedClock(AtomicU64);

impl Environment for ShiftedClock {
    fn fill_random(&self, out: &mut [u8]) -> Result<(), NtlmError> {
        SystemEnvironment.fill_random(out)
    }
    fn now_filetime(&self) -> u64 {
        SystemEnvironment
            .now_filetime()
            .wrapping_add(self.0.load(Ordering::Relaxed))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    V2,
    V1,
    V1Ess,
    Anonymous,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    None,
    Sign,
    Seal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bindings {
    None,
    Equal,
    Different,
}

fn user_credential(password: &str) -> InitiatorCredential {
    let pw = Password::new(password);
    InitiatorCredential::User {
        user: USER.into(),
        domain: DOMAIN.into(),
        nt_hash: ntowfv1(&pw),
        lm_hash: Some(lmowfv1(&pw)),
    }
}

fn initiator_config(auth: Auth, service: Service, kx: bool, datagram: bool) -> InitiatorConfig {
    let cred = if auth == Auth::Anonymous {
        InitiatorCredential::Anonymous
    } else {
        user_credential(PASSWORD)
    };
    let mut cfg = InitiatorConfig::new(cred, Arc::new(SystemEnvironment));
    cfg.workstation = "CLIENTPC".into();
    cfg.target_spn = Some("host/server.test".into());
    cfg.lm_compat_level = LmCompatLevel::new(match auth {
        Auth::V2 | Auth::Anonymous => 3,
        Auth::V1 => 0,
        Auth::V1Ess => 2,
    })
    .expect("level");
    cfg.key_exchange = kx;
    cfg.requested = Requested {
        sign: service != Service::None,
        seal: service == Service::Seal,
        datagram,
        identify: false,
    };
    cfg
}

fn acceptor_config(level: u8) -> AcceptorConfig {
    let mut cfg = AcceptorConfig::new(
        MemStore::with_user(USER, PASSWORD),
        Arc::new(SystemEnvironment),
    );
    cfg.netbios_computer = "SERVER".into();
    cfg.netbios_domain = DOMAIN.into();
    cfg.dns_computer = "server.test".into();
    cfg.target_spn = Some("host/server.test".into());
    cfg.lm_compat_level = LmCompatLevel::new(level).expect("level");
    cfg
}

/// Runs the three legs; returns both ends or the acceptor's error.
fn handshake(
    icfg: InitiatorConfig,
    acfg: AcceptorConfig,
    icb: Option<[u8; 16]>,
    acb: Option<[u8; 16]>,
) -> Result<(Established, Established), NtlmError> {
    let (wait, negotiate) = InitiatorStart::new(icfg).negotiate();
    let (acc, challenge) = AcceptorStart::new(acfg).challenge(&negotiate)?;
    let (client, authenticate) = wait.authenticate(&challenge, icb)?;
    let server = acc.finish(&authenticate, acb)?;
    Ok((client, server))
}

/// One message each way through wrap/unwrap (or sign/verify), at the given sizes.
fn exchange_messages(client: &mut Established, server: &mut Established, seal: bool) {
    for size in [0usize, 1, 1024, 65536] {
        let msg: Vec<u8> = (0..size).map(|i| (i * 7 + 3) as u8).collect();
        one_way(client, server, &msg, seal);
        one_way(server, client, &msg, seal);
    }
}

fn one_way(from: &mut Established, to: &mut Established, msg: &[u8], seal: bool) {
    if seal {
        let mut buf = msg.to_vec();
        let sig = from.security.seal_in_place(&mut buf);
        if msg.len() > 16 {
            assert_ne!(buf, msg, "sealed data must differ from the plaintext");
        }
        to.security.unseal_in_place(&mut buf, &sig).expect("unseal");
        assert_eq!(buf, msg);
    }
    let mic = from.security.sign(msg);
    to.security.verify(msg, &mic).expect("verify_mic");
}

#[test]
fn matrix_of_modes_authenticates_and_protects_messages() {
    let mut runs = 0;
    for auth in [Auth::V2, Auth::V1, Auth::V1Ess, Auth::Anonymous] {
        for service in [Service::None, Service::Sign, Service::Seal] {
            for kx in [false, true] {
                for bindings in [Bindings::None, Bindings::Equal, Bindings::Different] {
                    for datagram in [false, true] {
                        let case = format!(
                            "{auth:?} {service:?} kx={kx} {bindings:?} datagram={datagram}"
                        );
                        let icfg = initiator_config(auth, service, kx, datagram);
                        let mut acfg = acceptor_config(if matches!(auth, Auth::V1 | Auth::V1Ess) {
                            2
                        } else {
                            3
                        });
                        acfg.allow_anonymous = auth == Auth::Anonymous;
                        let (icb, acb) = match bindings {
                            Bindings::None => (None, None),
                            Bindings::Equal => (Some([0x11; 16]), Some([0x11; 16])),
                            Bindings::Different => (Some([0x11; 16]), Some([0x22; 16])),
                        };
                        let result = handshake(icfg, acfg, icb, acb);
                        if bindings == Bindings::Different && auth == Auth::V2 {
                            assert_eq!(
                                result.err(),
                                Some(NtlmError::ChannelBindingsMismatch),
                                "{case}"
                            );
                            continue;
                        }
                        let (mut client, mut server) =
                            result.unwrap_or_else(|e| panic!("{case}: {e}"));
                        let expected_kind = match auth {
                            Auth::V2 => ResponseKind::V2,
                            Auth::V1 => ResponseKind::V1,
                            Auth::V1Ess => ResponseKind::V1Ess,
                            Auth::Anonymous => ResponseKind::Anonymous,
                        };
                        assert_eq!(server.kind, expected_kind, "{case}");
                        assert_eq!(client.session_key, server.session_key, "{case}");
                        assert_eq!(client.flags, server.flags, "{case}");
                        if auth != Auth::Anonymous {
                            assert_eq!(server.user, USER, "{case}");
                            assert_eq!(server.domain, DOMAIN, "{case}");
                            assert_eq!(server.workstation, "CLIENTPC", "{case}");
                        }
                        assert_eq!(
                            server.flags.contains(NegotiateFlags::KEY_EXCH),
                            kx || datagram,
                            "{case}"
                        );
                        assert_eq!(
                            server.flags.contains(NegotiateFlags::DATAGRAM),
                            datagram,
                            "{case}"
                        );
                        assert_eq!(
                            server.flags.contains(NegotiateFlags::SEAL),
                            service == Service::Seal,
                            "{case}"
                        );
                        assert_eq!(
                            server.mic_present,
                            auth == Auth::V2,
                            "{case}: MIC follows the server timestamp"
                        );
                        exchange_messages(&mut client, &mut server, service == Service::Seal);
                        runs += 1;
                    }
                }
            }
        }
    }
    // 4 × 3 × 2 × 3 × 2 = 144 cases, of which the 12 v2 "different bindings" ones fail by design.
    assert_eq!(runs, 144 - 12);
}

#[test]
fn step_api_drives_a_full_exchange() {
    let mut init = Initiator::new(initiator_config(Auth::V2, Service::Seal, true, false));
    let mut acc = Acceptor::new(acceptor_config(3));
    let mut token: Vec<u8> = Vec::new();
    let mut legs = 0;
    let (client, server) = loop {
        legs += 1;
        let input = if token.is_empty() {
            None
        } else {
            Some(token.as_slice())
        };
        match init.step(input, None).expect("initiator step") {
            InitiatorStep::Continue(next, out) => {
                init = next;
                match acc.step(&out, None).expect("acceptor step") {
                    AcceptorStep::Continue(next, out) => {
                        acc = next;
                        token = out;
                    }
                    AcceptorStep::Done(_) => panic!("acceptor finished too early"),
                }
            }
            InitiatorStep::Done(client, out) => {
                match acc.step(&out, None).expect("acceptor last step") {
                    AcceptorStep::Done(server) => break (client, server),
                    AcceptorStep::Continue(..) => panic!("acceptor wants more"),
                }
            }
        }
    };
    assert_eq!(legs, 2);
    assert_eq!(client.session_key, server.session_key);
    assert!(Acceptor::Spent.step(b"x", None).is_err());
}

fn v2_exchange_parts() -> (AcceptorStartPair, Vec<u8>) {
    let (acc, _client, auth) = v2_legs();
    (AcceptorStartPair(acc), auth)
}

/// NTLMv2 with sealing and key exchange up to the AUTHENTICATE: the acceptor waiting for it, the initiator's
/// context, the message.
fn v2_legs() -> (
    gss_negotiate::ntlm::acceptor::AcceptorAwaitAuthenticate,
    Established,
    Vec<u8>,
) {
    let (wait, negotiate) =
        InitiatorStart::new(initiator_config(Auth::V2, Service::Seal, true, false)).negotiate();
    let (acc, challenge) = AcceptorStart::new(acceptor_config(3))
        .challenge(&negotiate)
        .expect("challenge");
    let (client, auth) = wait.authenticate(&challenge, None).expect("authenticate");
    (acc, client, auth)
}

struct AcceptorStartPair(gss_negotiate::ntlm::acceptor::AcceptorAwaitAuthenticate);

#[test]
fn acceptor_rejects_wrong_password() {
    let mut icfg = initiator_config(Auth::V2, Service::Seal, true, false);
    icfg.credential = user_credential("not-the-password");
    let err = handshake(icfg, acceptor_config(3), None, None).err();
    assert_eq!(
        err,
        Some(NtlmError::WrongPassword {
            user: USER.into(),
            domain: DOMAIN.into()
        })
    );
}

#[test]
fn acceptor_rejects_unknown_user() {
    let mut icfg = initiator_config(Auth::V2, Service::Seal, true, false);
    icfg.credential = InitiatorCredential::User {
        user: "mallory".into(),
        domain: DOMAIN.into(),
        nt_hash: ntowfv1(&Password::new(PASSWORD)),
        lm_hash: None,
    };
    let err = handshake(icfg, acceptor_config(3), None, None).err();
    assert_eq!(
        err,
        Some(NtlmError::UnknownUser {
            user: "mallory".into(),
            domain: DOMAIN.into()
        })
    );
}

#[test]
fn acceptor_rejects_tampered_ntproofstr() {
    let (acc, auth) = v2_exchange_parts();
    let mut msg = Authenticate::decode(&auth).expect("decode");
    msg.nt_response[3] ^= 0x01;
    let err = acc.0.finish(&msg.encode(), None).err();
    assert!(
        matches!(err, Some(NtlmError::WrongPassword { .. })),
        "{err:?}"
    );
}

#[test]
fn acceptor_rejects_tampered_mic() {
    let (acc, mut auth) = v2_exchange_parts();
    auth[Authenticate::MIC_OFFSET + 5] ^= 0x80;
    assert_eq!(
        acc.0.finish(&auth, None).err(),
        Some(NtlmError::MicMismatch)
    );
}

#[test]
fn acceptor_rejects_stripped_mic() {
    let (acc, auth) = v2_exchange_parts();
    let mut msg = Authenticate::decode(&auth).expect("decode");
    assert!(
        msg.mic.is_some(),
        "the initiator adds a MIC when the CHALLENGE has a timestamp"
    );
    msg.mic = None;
    msg.version = None;
    assert_eq!(
        acc.0.finish(&msg.encode(), None).err(),
        Some(NtlmError::MicMissing)
    );
}

#[test]
fn acceptor_rejects_garbage_ntproofstr_without_mic_sspi_issue_172() {
    // sspi-rs issue #172: an acceptor that skips the NTProofStr check when no MIC is present accepts any password.
    let (acc, auth) = v2_exchange_parts();
    let mut msg = Authenticate::decode(&auth).expect("decode");
    for b in msg.nt_response.iter_mut().take(16) {
        *b = 0x41;
    }
    msg.mic = None;
    let err = acc.0.finish(&msg.encode(), None).err();
    assert!(
        matches!(err, Some(NtlmError::WrongPassword { .. })),
        "{err:?}"
    );
}

#[test]
fn acceptor_refuses_ntlmv1_at_default_level() {
    for auth in [Auth::V1, Auth::V1Ess] {
        let err = handshake(
            initiator_config(auth, Service::Sign, true, false),
            acceptor_config(3),
            None,
            None,
        )
        .err();
        assert_eq!(err, Some(NtlmError::NtlmV1Refused { level: 3 }), "{auth:?}");
    }
}

#[test]
fn acceptor_refuses_anonymous_unless_enabled() {
    let icfg = initiator_config(Auth::Anonymous, Service::None, true, false);
    assert_eq!(
        handshake(icfg, acceptor_config(3), None, None).err(),
        Some(NtlmError::AnonymousRefused)
    );
}

#[test]
fn initiator_rejects_spn_mismatch() {
    let mut icfg = initiator_config(Auth::V2, Service::Sign, true, false);
    icfg.target_spn = Some("host/elsewhere.test".into());
    let err = handshake(icfg, acceptor_config(3), None, None).err();
    assert_eq!(
        err,
        Some(NtlmError::SpnMismatch {
            expected: "host/elsewhere.test".into(),
            got: "host/server.test".into()
        })
    );
}

#[test]
fn acceptor_requires_bindings_when_configured() {
    let mut acfg = acceptor_config(3);
    acfg.require_channel_bindings = true;
    let icfg = initiator_config(Auth::V2, Service::Sign, true, false);
    let err = handshake(icfg, acfg, None, Some([0x33; 16])).err();
    assert_eq!(err, Some(NtlmError::ChannelBindingsMissing));
}

#[test]
fn acceptor_bounds_timestamp_skew() {
    // The acceptor's clock jumps two days between CHALLENGE and AUTHENTICATE.
    let clock = Arc::new(ShiftedClock(AtomicU64::new(0)));
    let mut acfg = acceptor_config(3);
    acfg.env = clock.clone();
    let (wait, negotiate) =
        InitiatorStart::new(initiator_config(Auth::V2, Service::Sign, true, false)).negotiate();
    let (acc, challenge) = AcceptorStart::new(acfg)
        .challenge(&negotiate)
        .expect("challenge");
    let (_c, auth) = wait.authenticate(&challenge, None).expect("authenticate");
    clock.0.store(48 * 3600 * 10_000_000, Ordering::Relaxed);
    assert!(matches!(
        acc.finish(&auth, None).err(),
        Some(NtlmError::TimestampSkew { .. })
    ));
}

#[test]
fn sealed_messages_replayed_or_reordered_are_rejected() {
    let v2_seal = || {
        handshake(
            initiator_config(Auth::V2, Service::Seal, true, false),
            acceptor_config(3),
            None,
            None,
        )
        .expect("handshake")
    };
    // Reordered: the second message arrives first.
    let (mut client, mut server) = v2_seal();
    let mut m1 = b"first".to_vec();
    let _s1 = client.security.seal_in_place(&mut m1);
    let mut m2 = b"second".to_vec();
    let s2 = client.security.seal_in_place(&mut m2);
    assert!(
        server.security.unseal_in_place(&mut m2, &s2).is_err(),
        "reordered message must fail"
    );

    // Replayed: the same message delivered twice.
    let (mut client, mut server) = v2_seal();
    let mut m1 = b"first".to_vec();
    let s1 = client.security.seal_in_place(&mut m1);
    let mut copy = m1.clone();
    server
        .security
        .unseal_in_place(&mut copy, &s1)
        .expect("first delivery");
    assert_eq!(copy, b"first");
    let mut replay = m1.clone();
    assert!(
        server.security.unseal_in_place(&mut replay, &s1).is_err(),
        "replay must fail"
    );
    // A rejected message leaves the stream intact: the next real message still unseals.
    let mut m2 = b"second".to_vec();
    let s2 = client.security.seal_in_place(&mut m2);
    server
        .security
        .unseal_in_place(&mut m2, &s2)
        .expect("stream continues after a rejected replay");
    assert_eq!(m2, b"second");
}

#[test]
fn context_export_import_continues_the_stream() {
    let (mut client, server) = handshake(
        initiator_config(Auth::V2, Service::Seal, true, false),
        acceptor_config(3),
        None,
        None,
    )
    .expect("handshake");
    let mut server = Established::import(&server.export()).expect("import");
    for round in 0..3 {
        let mut buf = format!("message {round}").into_bytes();
        let sig = client.security.seal_in_place(&mut buf);
        server = Established::import(&server.export()).expect("re-import");
        server
            .security
            .unseal_in_place(&mut buf, &sig)
            .expect("unseal after import");
        assert_eq!(buf, format!("message {round}").into_bytes());
    }
    assert_eq!(server.user, USER);
    assert!(Established::import(b"GNX1garbage").is_err());
    let blob = server.export();
    for cut in 0..blob.len() {
        assert!(
            Established::import(&blob[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
}

#[test]
fn acceptor_reports_the_account_as_the_database_spells_it() {
    // NTOWFv2 upper-cases the user, so a client may type the name in any case; the identity reported is the
    // stored one, and a client that sent no domain gets the stored domain.
    for (user, domain) in [("TESTUSER", "testdom"), ("testuser", "")] {
        let mut icfg = initiator_config(Auth::V2, Service::Sign, true, false);
        icfg.credential = InitiatorCredential::User {
            user: user.into(),
            domain: domain.into(),
            nt_hash: ntowfv1(&Password::new(PASSWORD)),
            lm_hash: None,
        };
        let (_c, server) = handshake(icfg, acceptor_config(3), None, None).expect("handshake");
        assert_eq!(
            (server.user.as_str(), server.domain.as_str()),
            (USER, DOMAIN),
            "sent {domain}\\{user}"
        );
    }
}

/// The client challenge and the ExportedSessionKey are drawn together (one read of the system's randomness):
/// each handshake gets fresh ones, and no byte serves both.
#[test]
fn client_challenge_and_exported_key_are_fresh_and_distinct() {
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (acc, client, auth) = v2_legs();
        let server = acc.finish(&auth, None).expect("finish");
        assert_eq!(client.session_key, server.session_key);
        let msg = Authenticate::decode(&auth).expect("decode");
        assert_eq!(msg.encrypted_random_session_key.len(), 16);
        // NTProofStr (16), RespType, HiRespType, Reserved1 (2), Reserved2 (4), TimeStamp (8), then the
        // client challenge (MS-NLMP §2.2.2.7).
        let cc = msg.nt_response[32..40].to_vec();
        let key = client.session_key.as_bytes().to_vec();
        assert_ne!(&cc[..], &key[..8]);
        assert_ne!(&cc[..], &key[8..]);
        seen.push((cc, key));
    }
    for (i, a) in seen.iter().enumerate() {
        for b in &seen[i + 1..] {
            assert_ne!(a.0, b.0, "a client challenge repeated");
            assert_ne!(a.1, b.1, "an exported session key repeated");
        }
    }
}
