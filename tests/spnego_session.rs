//! `gss_negotiate::spnego::session::Session`: the per-handle SPNEGO state the interposer's `gssi_*` entry points
//! keep, driven as GSSAPI callers drive a context (the same handle stepped again and again), in process with the
//! real NTLM mechanism and the Kerberos stand-in of tests/spnego_common.

mod spnego_common;

use std::sync::Arc;

use gss_negotiate::audit::MemoryAudit;
use gss_negotiate::context::SecContext;
use gss_negotiate::policy::Policy;
use gss_negotiate::spnego::acceptor::AcceptorConfig;
use gss_negotiate::spnego::error::SpnegoError;
use gss_negotiate::spnego::initiator::InitiatorConfig;
use gss_negotiate::spnego::session::{Progress, Session};
use spnego_common::*;

fn init_session(mechs: Vec<gss_negotiate::spnego::mech::MechEntry>, p: Arc<Policy>) -> Session {
    Session::initiator(InitiatorConfig {
        mechs,
        target: Some("HTTP/server.testdom.test".into()),
        policy: p,
        audit: Arc::new(MemoryAudit::default()),
    })
}

fn accept_session(krb: Krb, p: Arc<Policy>, audit: Arc<MemoryAudit>) -> Session {
    Session::acceptor(Box::new(move || AcceptorConfig {
        mechs: vec![krb_entry(krb, true), ntlm_acceptor_for("alice", "pw1")],
        peer_addr: None,
        policy: p.clone(),
        audit: audit.clone(),
    }))
}

/// Drives both sessions to completion; returns the number of tokens exchanged.
fn drive(ini: &mut Session, acc: &mut Session) -> Result<usize, SpnegoError> {
    let mut tok = match ini.step(None).map_err(|e| e.error)? {
        Progress::Continue(t) => t,
        Progress::Complete(_) => panic!("an initiator cannot be complete before any reply"),
    };
    let mut n = 1;
    for _ in 0..10 {
        let reply = match acc.step(Some(&tok)) {
            Ok(Progress::Continue(t)) | Ok(Progress::Complete(Some(t))) => t,
            Ok(Progress::Complete(None)) => return Ok(n),
            Err(e) => match e.token {
                Some(t) => t,
                None => return Err(e.error),
            },
        };
        n += 1;
        match ini.step(Some(&reply)).map_err(|e| e.error)? {
            Progress::Continue(t) | Progress::Complete(Some(t)) => {
                tok = t;
                n += 1;
            }
            Progress::Complete(None) => return Ok(n),
        }
    }
    panic!("no end after 10 rounds");
}

#[test]
fn ntlm_session_completes_and_per_message_calls_reach_the_negotiated_mech() {
    let mut ini = init_session(vec![ntlm_initiator("alice", "pw1")], allow());
    let mut acc = accept_session(Krb::Works, allow(), Arc::default());
    let n = drive(&mut ini, &mut acc).expect("NTLM through SPNEGO");
    assert!(n >= 3, "{n} tokens");
    assert!(ini.is_complete() && acc.is_complete());
    let a = acc.negotiated().unwrap();
    assert_eq!(a.mech_oid, ntlm_oid());
    assert!(a.peer.as_deref().unwrap_or_default().contains("alice"));
    let mic = ini.negotiated().unwrap().mech.get_mic(b"hello").unwrap();
    let a = acc.negotiated().unwrap();
    a.mech.verify_mic(b"hello", &mic).unwrap();
    assert!(a.mech.verify_mic(b"hellO", &mic).is_err());
    // A further call on an established handle is refused, and the context stays usable.
    assert_eq!(acc.step(Some(b"x")).unwrap_err().error, SpnegoError::Spent);
    assert!(acc.is_complete());
    // The negotiated NTLM contexts become ordinary NTLM contexts (what the interposer hands per-message
    // calls to): wrap/unwrap both ways, sealed, and export/import keeps the keys and sequence numbers.
    let i = ini.into_negotiated().unwrap();
    assert_eq!(i.mech_oid, ntlm_oid());
    let mut ic = SecContext::from_spnego_ntlm(i.mech, None, None).expect("NTLM context");
    let mut ac = SecContext::from_spnego_ntlm(acc.into_negotiated().unwrap().mech, None, None)
        .expect("NTLM context");
    assert!(ic.is_open() && ic.is_initiator() && !ac.is_initiator());
    let (tok, sealed) = ic.wrap(0, b"secret payload").unwrap();
    assert!(sealed && !tok.windows(6).any(|w| w == b"secret"));
    assert_eq!(ac.unwrap(&tok).unwrap(), (b"secret payload".to_vec(), true));
    let (tok, _) = ac.wrap(0, b"reply").unwrap();
    assert_eq!(ic.unwrap(&tok).unwrap().0, b"reply");
    let mut ac = SecContext::import(&ac.export().unwrap()).unwrap();
    let (tok, _) = ic.wrap(0, b"after export").unwrap();
    assert_eq!(ac.unwrap(&tok).unwrap().0, b"after export");
    let mut bad = ic.wrap(0, b"tampered").unwrap().0;
    bad[20] ^= 1;
    assert!(ac.unwrap(&bad).is_err());
}

#[test]
fn a_kerberos_mech_is_not_turned_into_an_ntlm_context() {
    let mut ini = init_session(vec![krb_entry(Krb::Works, false)], allow());
    let mut acc = accept_session(Krb::Works, allow(), Arc::default());
    drive(&mut ini, &mut acc).unwrap();
    let n = ini.into_negotiated().unwrap();
    assert!(SecContext::from_spnego_ntlm(n.mech, None, None).is_none());
}

#[test]
fn kerberos_stand_in_completes_in_one_round_trip() {
    let mut ini = init_session(
        vec![krb_entry(Krb::Works, false), ntlm_initiator("alice", "pw1")],
        allow(),
    );
    let mut acc = accept_session(Krb::Works, allow(), Arc::default());
    assert_eq!(drive(&mut ini, &mut acc).unwrap(), 2);
    assert_eq!(ini.negotiated().unwrap().mech_oid, krb_oid());
    assert_eq!(acc.negotiated().unwrap().mech_oid, krb_oid());
}

#[test]
fn initiator_restart_reaches_a_fresh_acceptor_on_the_same_handle() {
    // The server rejects Kerberos; with restart allowed the initiator answers the reject with a new
    // NegTokenInit, which the same acceptor handle must take as a new negotiation and finish with NTLM.
    let mut ini = init_session(
        vec![krb_entry(Krb::Works, false), ntlm_initiator("alice", "pw1")],
        policy("spnego.restart = yes\n"),
    );
    let audit = Arc::new(MemoryAudit::default());
    let mut acc = accept_session(Krb::Rejects, allow(), audit.clone());
    drive(&mut ini, &mut acc).expect("restart to NTLM");
    assert_eq!(ini.negotiated().unwrap().mech_oid, ntlm_oid());
    assert_eq!(acc.negotiated().unwrap().mech_oid, ntlm_oid());
    assert!(audit.records().len() >= 2, "{:?}", audit.records());
    // Without restart: the reject ends both.
    let mut ini = init_session(
        vec![krb_entry(Krb::Works, false), ntlm_initiator("alice", "pw1")],
        allow(),
    );
    let mut acc = accept_session(Krb::Rejects, allow(), Arc::default());
    assert_eq!(
        drive(&mut ini, &mut acc).unwrap_err(),
        SpnegoError::Rejected
    );
    assert!(!ini.is_complete() && !acc.is_complete());
}

#[test]
fn misuse_and_hostile_tokens_fail_cleanly() {
    let mut acc = accept_session(Krb::Works, allow(), Arc::default());
    assert!(acc.step(None).is_err());
    // Garbage, truncated and empty tokens: errors, never panics; a failed handle stays failed.
    for bad in [
        &b""[..],
        b"\x60",
        b"\x60\x80\x06",
        b"\xa1\x03\x30\x01",
        &[0xff; 64],
    ] {
        let mut acc = accept_session(Krb::Works, allow(), Arc::default());
        assert!(acc.step(Some(bad)).is_err(), "{bad:?}");
        assert!(acc.step(Some(bad)).is_err(), "{bad:?}");
        assert!(!acc.is_complete());
    }
    // After the acceptor answered `reject`, only a new NegTokenInit restarts it; a NegTokenResp is refused.
    let mut ini = init_session(vec![ntlm_initiator("alice", "pw1")], allow());
    let Progress::Continue(first) = ini.step(None).unwrap() else {
        panic!("NegTokenInit expected")
    };
    let mut acc = accept_session(Krb::Works, allow(), Arc::default());
    let Progress::Continue(_) = acc.step(Some(&first)).unwrap() else {
        panic!("CHALLENGE expected")
    };
    assert!(acc.step(Some(&[0xa1, 0x03, 0x30, 0x01, 0x00])).is_err());
    assert_eq!(
        acc.step(Some(&[0xa1, 0x03, 0x30, 0x01, 0x00]))
            .unwrap_err()
            .error,
        SpnegoError::Spent
    );
    assert!(matches!(acc.step(Some(&first)), Ok(Progress::Continue(_))));
    let mut ini = init_session(vec![ntlm_initiator("alice", "pw1")], allow());
    assert!(ini.step(Some(b"x")).is_err());
    let mut ini = init_session(vec![ntlm_initiator("alice", "pw1")], allow());
    ini.step(None).unwrap();
    assert!(ini.step(Some(&[0x30; 40])).is_err());
    assert!(!ini.is_complete());
}

struct Host;

impl gss_negotiate::names::NameSystem for Host {
    fn hostname(&self) -> Option<String> {
        Some("server.test".into())
    }
    fn user_of_uid(&self, _uid: u32) -> Option<String> {
        None
    }
}

#[test]
fn ntlm_from_the_gss_layer_objects_negotiates_inside_spnego() {
    use gss_negotiate::creds::config::Config;
    use gss_negotiate::creds::{acquire_with_password, CredUsage};
    use gss_negotiate::names::Name;
    use gss_negotiate::ntlm::secret::Password;
    use gss_negotiate::spnego::gss_ntlm::GssNtlmMech;
    use gss_negotiate::spnego::mech::MechEntry;

    let users = std::env::temp_dir().join(format!("gss-negotiate-session-{}", std::process::id()));
    std::fs::write(&users, "TESTDOM:testuser:Passw0rd!\n").unwrap();
    let path = users.display().to_string();
    fn cfg_of(p: &str) -> Config {
        Config::from_lookup(
            |k| (k == "NTLM_USER_FILE").then(|| p.to_string()),
            Some("server.test".into()),
        )
    }
    let ipath = path.clone();
    let password = move |pw: &'static str| {
        let path = ipath.clone();
        move || {
            let cred = acquire_with_password(
                &Name::User {
                    user: "testuser".into(),
                    domain: Some("TESTDOM".into()),
                },
                &Password::new(pw),
                CredUsage::Initiate,
            )
            .map_err(|e| {
                gss_negotiate::spnego::mech::MechError::new(
                    gss_negotiate::spnego::mech::MechFailure::NoCredentials,
                    e.to_string(),
                )
            })?;
            let m = GssNtlmMech::initiator(Some(cred), None, 2 | 32 | 16, &cfg_of(&path), None)?;
            Ok(Box::new(m) as Box<dyn gss_negotiate::spnego::mech::Mechanism>)
        }
    };
    let audit = Arc::new(MemoryAudit::default());
    let acceptor_audit = audit.clone();
    let acceptor = move || {
        let c = path.clone();
        let audit = acceptor_audit.clone();
        Session::acceptor(Box::new(move || AcceptorConfig {
            mechs: vec![MechEntry::new(ntlm_oid(), {
                let c = c.clone();
                move || {
                    Ok(
                        Box::new(GssNtlmMech::acceptor(None, &cfg_of(&c), &Host, None)?)
                            as Box<dyn gss_negotiate::spnego::mech::Mechanism>,
                    )
                }
            })],
            peer_addr: None,
            policy: allow(),
            audit: audit.clone(),
        }))
    };

    let mut ini = init_session(
        vec![MechEntry::new(ntlm_oid(), password("Passw0rd!"))],
        allow(),
    );
    let mut acc = acceptor();
    drive(&mut ini, &mut acc).expect("NTLM from GSS objects");
    let a = acc.into_negotiated().unwrap();
    assert_eq!(a.mech_oid, ntlm_oid());
    assert_eq!(a.peer.as_deref(), Some("TESTDOM\\testuser"));
    let mut ac = a
        .mech
        .into_any()
        .downcast::<GssNtlmMech>()
        .unwrap()
        .into_context();
    let mut ic = ini
        .into_negotiated()
        .unwrap()
        .mech
        .into_any()
        .downcast::<GssNtlmMech>()
        .unwrap()
        .into_context();
    let (tok, sealed) = ic.wrap(0, b"payload").unwrap();
    assert!(sealed);
    assert_eq!(ac.unwrap(&tok).unwrap().0, b"payload");
    let (tok, _) = ac.wrap(0, b"reply").unwrap();
    assert_eq!(ic.unwrap(&tok).unwrap().0, b"reply");

    // A wrong password: the acceptor refuses, nothing is established.
    let mut ini = init_session(vec![MechEntry::new(ntlm_oid(), password("wrong"))], allow());
    let mut acc = acceptor();
    assert!(drive(&mut ini, &mut acc).is_err());
    assert!(!acc.is_complete());
    // The engine's one record per negotiation names the back-end and, for the refusal, its reason.
    let records = audit.records();
    let seen: Vec<(Option<&str>, Option<&str>, bool)> = records
        .iter()
        .map(|r| (r.backend.as_deref(), r.refusal, r.failure.is_none()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("user file"), None, true),
            (Some("user file"), Some("wrong-password"), false)
        ],
        "{records:?}"
    );
    let _ = std::fs::remove_file(&users);
}
