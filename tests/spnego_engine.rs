//! The SPNEGO engines against each other (RFC 4178 §3–§5, MS-SPNG §3): in-process NTLM on both sides and a
//! scripted Kerberos stand-in, over every negState path, the mechListMIC rules, fallback before the first token,
//! the restart after a rejected Kerberos token (initiator and acceptor variants), and the NTLM policy with its
//! audit records.

mod spnego_common;

use std::sync::Arc;

use gss_negotiate::audit::{KerberosSkip, MemoryAudit, Role};
use gss_negotiate::policy::Decision;
use gss_negotiate::spnego::acceptor::AcceptorStep;
use gss_negotiate::spnego::error::SpnegoError;
use gss_negotiate::spnego::initiator::{Initiator, InitiatorStep};
use gss_negotiate::spnego::{NegState, NegTokenResp, Oid, SpnegoToken};
use spnego_common::*;

#[test]
fn ntlm_only_exchanges_mics_and_keys_match() {
    let (ia, aa) = (
        Arc::new(MemoryAudit::default()),
        Arc::new(MemoryAudit::default()),
    );
    let o = run(
        initiator(vec![ntlm_initiator(USER, PASSWORD)], allow(), ia.clone()),
        || acceptor(vec![ntlm_acceptor()], allow(), aa.clone()),
        no_tamper,
    );
    let ie = o.initiator.expect("initiator established");
    let ae = o
        .acceptor
        .expect("acceptor ran")
        .expect("acceptor established");
    // NegTokenInit(NEGOTIATE) → accept-incomplete(CHALLENGE) → AUTHENTICATE+MIC → accept-completed+MIC.
    assert_eq!(o.t.tokens.len(), 4);
    assert_eq!(o.t.init_mechs(0), vec![ntlm_oid()]);
    let r1 = o.t.resp(1);
    assert_eq!(r1.neg_state, Some(NegState::AcceptIncomplete));
    assert_eq!(r1.supported_mech, Some(ntlm_oid()));
    assert!(r1.response_token.unwrap().starts_with(b"NTLMSSP\0\x02"));
    let r2 = o.t.resp(2);
    assert!(r2.response_token.unwrap().starts_with(b"NTLMSSP\0\x03"));
    assert_eq!(r2.mech_list_mic.as_ref().map(Vec::len), Some(16));
    let r3 = o.t.resp(3);
    assert_eq!(r3.neg_state, Some(NegState::AcceptCompleted));
    assert!(r3.response_token.is_none() && r3.mech_list_mic.is_some());
    assert!(ie.mic_exchanged && ae.mic_exchanged);
    assert_eq!(ae.peer(), Some("TESTDOM\\alice"));
    // After the MIC exchange both sides reset RC4 (MS-SPNG §3.3.5.1): messages still verify both ways.
    let (mut im, mut am) = (ie.mech, ae.mech);
    let mic = im.get_mic(b"after negotiation").unwrap();
    am.verify_mic(b"after negotiation", &mic).unwrap();
    let mic = am.get_mic(b"reply").unwrap();
    im.verify_mic(b"reply", &mic).unwrap();
    assert_eq!(ntlm_session_key(im), ntlm_session_key(am));
    let (ir, ar) = (ia.records(), aa.records());
    let (ir, ar) = (only(&ir), only(&ar));
    assert_eq!((ir.role, ar.role), (Role::Initiator, Role::Acceptor));
    assert!(ir.failure.is_none() && ar.failure.is_none());
    assert_eq!(ir.kerberos, Some(KerberosSkip::NotOffered));
    assert_eq!(ar.ntlm_policy, Some(Decision::Allow));
    assert_eq!(ar.peer.as_deref(), Some("TESTDOM\\alice"));
    assert_eq!(ir.peer.as_deref(), Some("HTTP/server.testdom.test"));
    // The acceptor's record names the back-end that validated the response; the initiator's has none.
    assert_eq!(
        (ar.backend.as_deref(), ar.refusal),
        (Some("user file"), None)
    );
    assert_eq!((ir.backend.as_deref(), ir.refusal), (None, None));
}

#[test]
fn kerberos_first_completes_in_one_round_trip() {
    let (ia, aa) = (
        Arc::new(MemoryAudit::default()),
        Arc::new(MemoryAudit::default()),
    );
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            allow(),
            ia.clone(),
        ),
        || {
            acceptor(
                vec![krb_entry(Krb::Works, true), ntlm_acceptor()],
                allow(),
                aa.clone(),
            )
        },
        no_tamper,
    );
    let ie = o.initiator.unwrap();
    assert!(o.acceptor.unwrap().is_ok());
    assert_eq!(o.t.tokens.len(), 2);
    let r = o.t.resp(1);
    assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
    assert_eq!(r.supported_mech, Some(krb_oid()));
    assert_eq!(r.response_token.as_deref(), Some(AP_REP));
    assert!(
        r.mech_list_mic.is_none(),
        "preferred mech of both: MIC optional, not sent"
    );
    assert_eq!(ie.mech_oid, krb_oid());
    assert!(!ie.mic_exchanged);
    let ir = ia.records();
    assert_eq!(only(&ir).kerberos, None);
    assert_eq!(only(&ir).chosen, Some(krb_oid()));
}

#[test]
fn kerberos_without_mutual_completes_on_accept_completed() {
    let aa = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(
            vec![krb_entry(Krb::NoMutual, false)],
            allow(),
            Arc::default(),
        ),
        || acceptor(vec![krb_entry(Krb::Works, true)], allow(), aa.clone()),
        no_tamper,
    );
    assert!(o.initiator.is_ok());
    assert!(o.acceptor.unwrap().is_ok());
    let r = o.t.resp(1);
    assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
    assert!(r.response_token.is_none());
    // A response token for a mechanism that already completed is refused.
    let (ini, _) = initiator(
        vec![krb_entry(Krb::NoMutual, false)],
        allow(),
        Arc::default(),
    )
    .start()
    .unwrap();
    let spurious = NegTokenResp {
        neg_state: Some(NegState::AcceptCompleted),
        supported_mech: Some(krb_oid()),
        response_token: Some(AP_REP.to_vec()),
        mech_list_mic: None,
    };
    assert!(matches!(
        ini.step(&spurious.encode()),
        Err(SpnegoError::Unexpected(_))
    ));
}

#[test]
fn acceptor_without_kerberos_counter_proposes_ntlm_with_request_mic() {
    let (ia, aa) = (
        Arc::new(MemoryAudit::default()),
        Arc::new(MemoryAudit::default()),
    );
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            allow(),
            ia.clone(),
        ),
        || acceptor(vec![ntlm_acceptor()], allow(), aa.clone()),
        no_tamper,
    );
    let ie = o.initiator.unwrap();
    assert!(o.acceptor.unwrap().is_ok());
    let r1 = o.t.resp(1);
    assert_eq!(r1.neg_state, Some(NegState::RequestMic));
    assert_eq!(r1.supported_mech, Some(ntlm_oid()));
    assert!(r1.response_token.is_none());
    assert!(o
        .t
        .resp(2)
        .response_token
        .unwrap()
        .starts_with(b"NTLMSSP\0\x01"));
    assert!(ie.mic_exchanged);
    assert_eq!(
        only(&ia.records()).kerberos,
        Some(KerberosSkip::NotSelected)
    );
    assert_eq!(
        only(&aa.records()).kerberos,
        Some(KerberosSkip::NotSelected)
    );
}

#[test]
fn initiator_falls_back_when_kerberos_fails_before_a_token() {
    for (krb, why) in [
        (Krb::NoTicket, KerberosSkip::NoTicket),
        (Krb::KdcDown, KerberosSkip::KdcUnreachable),
    ] {
        let ia = Arc::new(MemoryAudit::default());
        let o = run(
            initiator(
                vec![krb_entry(krb, false), ntlm_initiator(USER, PASSWORD)],
                allow(),
                ia.clone(),
            ),
            || {
                acceptor(
                    vec![krb_entry(Krb::Works, true), ntlm_acceptor()],
                    allow(),
                    Arc::default(),
                )
            },
            no_tamper,
        );
        assert!(o.initiator.is_ok(), "{krb:?}");
        // The failed mechanism is not offered: the list, and the MIC over it, hold NTLM only.
        assert_eq!(o.t.init_mechs(0), vec![ntlm_oid()]);
        let r = ia.records();
        assert_eq!(only(&r).kerberos, Some(why));
        // `offered` is what the NegTokenInit carried.
        assert_eq!(only(&r).offered, o.t.init_mechs(0), "{krb:?}");
        assert_eq!(only(&r).offered, vec![ntlm_oid()]);
        assert_eq!(only(&r).chosen, Some(ntlm_oid()));
    }
}

#[test]
fn no_mechanism_left_is_an_error_with_reasons() {
    let ia = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(vec![krb_entry(Krb::NoTicket, false)], allow(), ia.clone()),
        || unreachable!(),
        no_tamper,
    );
    match o.initiator {
        Err(SpnegoError::NoMechanismAvailable(why)) => {
            assert!(why.contains("krb5: no credentials"))
        }
        other => panic!("{other:?}"),
    }
    let r = ia.records();
    assert!(only(&r).failure.is_some());
    // Nothing started: nothing went on the wire, nothing is listed as offered.
    assert!(only(&r).offered.is_empty(), "{r:?}");
    assert_eq!(only(&r).kerberos, Some(KerberosSkip::NoTicket));
}

#[test]
fn rejected_kerberos_without_restart_fails_both_sides() {
    let (ia, aa) = (
        Arc::new(MemoryAudit::default()),
        Arc::new(MemoryAudit::default()),
    );
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            allow(),
            ia.clone(),
        ),
        || {
            acceptor(
                vec![krb_entry(Krb::Rejects, true), ntlm_acceptor()],
                allow(),
                aa.clone(),
            )
        },
        no_tamper,
    );
    assert_eq!(o.initiator.unwrap_err(), SpnegoError::Rejected);
    assert!(matches!(o.acceptor, Some(Err(SpnegoError::Mechanism(_)))));
    assert_eq!(o.t.resp(1).neg_state, Some(NegState::Reject));
    for r in [ia.records(), aa.records()] {
        assert_eq!(only(&r).kerberos, Some(KerberosSkip::ServerRejected));
        assert!(only(&r).failure.is_some() && !only(&r).restarted);
    }
}

#[test]
fn initiator_restarts_with_remaining_mechs_after_reject_when_policy_allows() {
    let (ia, aa) = (
        Arc::new(MemoryAudit::default()),
        Arc::new(MemoryAudit::default()),
    );
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            policy("spnego.restart = yes\n"),
            ia.clone(),
        ),
        || {
            acceptor(
                vec![krb_entry(Krb::Rejects, true), ntlm_acceptor()],
                allow(),
                aa.clone(),
            )
        },
        no_tamper,
    );
    let ie = o.initiator.expect("restart succeeded");
    assert_eq!(ie.mech_oid, ntlm_oid());
    assert_eq!(o.t.init_mechs(0), vec![krb_oid(), ntlm_oid()]);
    assert_eq!(o.t.resp(1).neg_state, Some(NegState::Reject));
    assert_eq!(o.t.init_mechs(2), vec![ntlm_oid()]);
    assert!(o.acceptor.unwrap().is_ok());
    let r = ia.records();
    assert!(only(&r).restarted && only(&r).failure.is_none());
    assert_eq!(only(&r).kerberos, Some(KerberosSkip::ServerRejected));
    // The first acceptor recorded its failure, the second its success.
    let ar = aa.records();
    assert_eq!(ar.len(), 2);
    assert!(ar[0].failure.is_some() && ar[1].failure.is_none());
}

#[test]
fn initiator_restarts_only_once() {
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            policy("spnego.restart = yes\n"),
            Arc::default(),
        ),
        // An acceptor that rejects everything.
        || acceptor(vec![krb_entry(Krb::Rejects, true)], allow(), Arc::default()),
        no_tamper,
    );
    assert_eq!(o.initiator.unwrap_err(), SpnegoError::Rejected);
    assert_eq!(o.t.tokens.len(), 4);
}

#[test]
fn acceptor_selects_next_mech_instead_of_reject_when_policy_allows() {
    let aa = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            allow(),
            Arc::default(),
        ),
        || {
            acceptor(
                vec![krb_entry(Krb::Rejects, true), ntlm_acceptor()],
                policy("spnego.restart = yes\n"),
                aa.clone(),
            )
        },
        no_tamper,
    );
    let ie = o
        .initiator
        .expect("counter-proposal accepted by a plain RFC 4178 initiator");
    assert_eq!(ie.mech_oid, ntlm_oid());
    let r1 = o.t.resp(1);
    assert_eq!(r1.neg_state, Some(NegState::RequestMic));
    assert_eq!(r1.supported_mech, Some(ntlm_oid()));
    assert!(ie.mic_exchanged);
    let r = aa.records();
    assert!(only(&r).restarted);
    assert_eq!(only(&r).kerberos, Some(KerberosSkip::ServerRejected));
}

#[test]
fn altered_mechanism_list_is_detected_by_the_mic() {
    // An attacker strips Kerberos from the initiator's list so that the acceptor picks NTLM as "preferred".
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            allow(),
            Arc::default(),
        ),
        || {
            acceptor(
                vec![krb_entry(Krb::Works, true), ntlm_acceptor()],
                allow(),
                Arc::default(),
            )
        },
        |i, _, tok| {
            if i == 0 {
                let SpnegoToken::Init(mut init) = SpnegoToken::decode(tok).unwrap() else {
                    panic!()
                };
                init.mech_types = vec![ntlm_oid()];
                init.mech_token = None;
                *tok = init.encode();
            }
        },
    );
    // The acceptor selected NTLM as the initiator's first, which the initiator sees as a counter-proposal
    // (it started Kerberos) and MICs become mandatory: the acceptor's MIC over [ntlm] fails ours over
    // [krb5, ntlm] or vice versa.
    assert!(
        matches!(o.acceptor, Some(Err(SpnegoError::BadMic(_)))),
        "downgrade went unnoticed: {:?}",
        o.acceptor.as_ref().map(|a| a.as_ref().err())
    );
    assert_eq!(o.initiator.unwrap_err(), SpnegoError::Rejected);
}

#[test]
fn tampered_or_missing_mic_is_refused() {
    for strip in [false, true] {
        let o = run(
            initiator(
                vec![ntlm_initiator(USER, PASSWORD)],
                allow(),
                Arc::default(),
            ),
            || acceptor(vec![ntlm_acceptor()], allow(), Arc::default()),
            |i, _, tok| {
                if i == 2 {
                    let SpnegoToken::Resp(mut r) = SpnegoToken::decode(tok).unwrap() else {
                        panic!()
                    };
                    if strip {
                        r.mech_list_mic = None;
                    } else if let Some(m) = r.mech_list_mic.as_mut() {
                        m[15] ^= 1;
                    }
                    *tok = r.encode();
                }
            },
        );
        let want_missing = strip;
        match o.acceptor {
            Some(Err(SpnegoError::MicMissing)) if want_missing => {}
            Some(Err(SpnegoError::BadMic(_))) if !want_missing => {}
            other => panic!("strip={strip}: {other:?}"),
        }
        assert_eq!(o.t.resp(3).neg_state, Some(NegState::Reject));
        assert!(o.initiator.is_err());
    }
}

#[test]
fn mic_that_echoes_the_response_token_is_ignored() {
    // Windows 2000 put the response token in the mechListMIC field; MIT ignores such a MIC, so do we.
    let (mut ini, _) = initiator(vec![krb_entry(Krb::Works, false)], allow(), Arc::default())
        .start()
        .unwrap();
    let reply = NegTokenResp {
        neg_state: Some(NegState::AcceptCompleted),
        supported_mech: Some(krb_oid()),
        response_token: Some(AP_REP.to_vec()),
        mech_list_mic: Some(AP_REP.to_vec()),
    }
    .encode();
    match ini.step(&reply) {
        Ok(InitiatorStep::Done(e, None)) => assert!(!e.mic_exchanged),
        other => panic!("{other:?}"),
    }
    // A MIC that differs from the token is verified (and this one is wrong).
    (ini, _) = initiator(vec![krb_entry(Krb::Works, false)], allow(), Arc::default())
        .start()
        .unwrap();
    let reply = NegTokenResp {
        neg_state: Some(NegState::AcceptCompleted),
        supported_mech: Some(krb_oid()),
        response_token: Some(AP_REP.to_vec()),
        mech_list_mic: Some(b"bogus".to_vec()),
    }
    .encode();
    assert!(matches!(ini.step(&reply), Err(SpnegoError::BadMic(_))));
}

fn first_reply(state: NegState, mech: Oid) -> Result<InitiatorStep, SpnegoError> {
    let (ini, _) = initiator(
        vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
        allow(),
        Arc::default(),
    )
    .start()
    .unwrap();
    let reply = NegTokenResp {
        neg_state: Some(state),
        supported_mech: Some(mech),
        ..NegTokenResp::default()
    };
    ini.step(&reply.encode())
}

#[test]
fn counter_proposal_needs_request_mic_except_windows_2003_ntlm() {
    assert!(first_reply(NegState::RequestMic, ntlm_oid()).is_ok());
    // Windows Server 2003 sends accept-incomplete when falling back to NTLM (tolerated, as MIT does).
    assert!(first_reply(NegState::AcceptIncomplete, ntlm_oid()).is_ok());
    let (ini, _) = initiator(
        vec![ntlm_initiator(USER, PASSWORD), krb_entry(Krb::Works, false)],
        allow(),
        Arc::default(),
    )
    .start()
    .unwrap();
    let reply = NegTokenResp {
        neg_state: Some(NegState::AcceptIncomplete),
        supported_mech: Some(krb_oid()),
        ..NegTokenResp::default()
    };
    assert!(matches!(
        ini.step(&reply.encode()),
        Err(SpnegoError::Unexpected(_))
    ));
    // A mechanism we never offered.
    let other = Oid::from_dotted("1.2.3.4").unwrap();
    assert!(matches!(
        first_reply(NegState::RequestMic, other),
        Err(SpnegoError::Unexpected(_))
    ));
}

#[test]
fn first_reply_needs_neg_state_and_supported_mech() {
    let (ini, _) = initiator(
        vec![ntlm_initiator(USER, PASSWORD)],
        allow(),
        Arc::default(),
    )
    .start()
    .unwrap();
    let bad = NegTokenResp {
        supported_mech: Some(ntlm_oid()),
        ..NegTokenResp::default()
    };
    assert!(matches!(
        ini.step(&bad.encode()),
        Err(SpnegoError::Unexpected(_))
    ));
    let (ini, _) = initiator(
        vec![ntlm_initiator(USER, PASSWORD)],
        allow(),
        Arc::default(),
    )
    .start()
    .unwrap();
    let bad = NegTokenResp {
        neg_state: Some(NegState::AcceptIncomplete),
        ..NegTokenResp::default()
    };
    assert!(matches!(
        ini.step(&bad.encode()),
        Err(SpnegoError::Unexpected(_))
    ));
}

#[test]
fn acceptor_rejects_unsupported_lists_and_wrong_tokens() {
    let acc = acceptor(vec![ntlm_acceptor()], allow(), Arc::default());
    let only_krb = gss_negotiate::spnego::NegTokenInit {
        mech_types: vec![krb_oid()],
        mech_token: Some(AP_REQ.to_vec()),
        ..Default::default()
    };
    let f = acc.step(&only_krb.encode()).unwrap_err();
    assert_eq!(f.error, SpnegoError::NoCommonMechanism);
    assert_eq!(
        SpnegoToken::decode(&f.token.unwrap()).unwrap(),
        SpnegoToken::Resp(NegTokenResp {
            neg_state: Some(NegState::Reject),
            ..Default::default()
        })
    );
    let acc = acceptor(vec![ntlm_acceptor()], allow(), Arc::default());
    let f = acc.step(&NegTokenResp::default().encode()).unwrap_err();
    assert!(matches!(f.error, SpnegoError::Unexpected(_)));
    let acc = acceptor(vec![ntlm_acceptor()], allow(), Arc::default());
    assert!(matches!(
        acc.step(b"\x60\x00").unwrap_err().error,
        SpnegoError::Decode(_)
    ));
}

#[test]
fn wrong_password_is_rejected_with_a_reject_token() {
    let aa = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(vec![ntlm_initiator(USER, "wrong")], allow(), Arc::default()),
        || acceptor(vec![ntlm_acceptor()], allow(), aa.clone()),
        no_tamper,
    );
    assert!(matches!(o.acceptor, Some(Err(SpnegoError::Mechanism(_)))));
    assert_eq!(o.t.resp(3).neg_state, Some(NegState::Reject));
    assert_eq!(o.initiator.unwrap_err(), SpnegoError::Rejected);
    let r = aa.records();
    assert!(only(&r).failure.as_deref().unwrap().contains("password"));
    assert_eq!(
        (only(&r).backend.as_deref(), only(&r).refusal),
        (Some("user file"), Some("wrong-password"))
    );
}

#[test]
fn states_are_consumed_and_initiator_enum_steps() {
    // The public state types are moved into each step; a finished negotiation leaves nothing to call.
    let (ini, _tok) = initiator(
        vec![ntlm_initiator(USER, PASSWORD)],
        allow(),
        Arc::default(),
    )
    .start()
    .unwrap();
    assert!(matches!(ini, Initiator::AwaitFirstReply(_)));
}

#[test]
fn acceptor_restart_skips_the_other_kerberos_oid() {
    // Windows lists both Kerberos OIDs first; after the Kerberos token failed, the next mechanism is NTLM.
    let ms = Oid::from_dotted(gss_negotiate::spnego::OID_KRB5_MS).unwrap();
    let init = gss_negotiate::spnego::NegTokenInit {
        mech_types: vec![ms, krb_oid(), ntlm_oid()],
        mech_token: Some(b"an AP-REQ we cannot use".to_vec()),
        ..Default::default()
    };
    let acc = acceptor(
        vec![krb_entry(Krb::Works, true), ntlm_acceptor()],
        policy("spnego.restart = yes\n"),
        Arc::default(),
    );
    let Ok(AcceptorStep::Continue(_, answer)) = acc.step(&init.encode()) else {
        panic!("no counter-proposal");
    };
    let SpnegoToken::Resp(r) = SpnegoToken::decode(&answer).unwrap() else {
        panic!()
    };
    assert_eq!(r.neg_state, Some(NegState::RequestMic));
    assert_eq!(r.supported_mech, Some(ntlm_oid()));
}

#[test]
fn acceptor_echoes_the_kerberos_oid_spelling_of_the_client() {
    let ms = Oid::from_dotted(gss_negotiate::spnego::OID_KRB5_MS).unwrap();
    let init = gss_negotiate::spnego::NegTokenInit {
        mech_types: vec![ms.clone(), krb_oid()],
        mech_token: Some(AP_REQ.to_vec()),
        ..Default::default()
    };
    let acc = acceptor(vec![krb_entry(Krb::Works, true)], allow(), Arc::default());
    let Ok(AcceptorStep::Done(est, Some(answer))) = acc.step(&init.encode()) else {
        panic!("Kerberos not accepted");
    };
    assert_eq!(est.mech_oid, ms);
    let SpnegoToken::Resp(r) = SpnegoToken::decode(&answer).unwrap() else {
        panic!()
    };
    assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
    assert_eq!(r.supported_mech, Some(ms));
    assert_eq!(r.response_token.as_deref(), Some(AP_REP));
}

#[test]
fn ntlm_without_signing_exchanges_no_mechlistmic() {
    // Neither SIGN nor SEAL negotiated: the NTLM context makes no MICs (MIT: no GSS_C_INTEG_FLAG), so RFC 4178
    // §5 exchanges none, although the AUTHENTICATE carries an NTLM MIC.
    let o = run(
        initiator(
            vec![ntlm_initiator_with(USER, PASSWORD, false)],
            allow(),
            Arc::default(),
        ),
        || acceptor(vec![ntlm_acceptor()], allow(), Arc::default()),
        no_tamper,
    );
    let ie = o.initiator.expect("established");
    let ae = o.acceptor.unwrap().expect("established");
    assert!(!ie.mic_exchanged && !ae.mic_exchanged);
    assert!(o.t.resp(2).mech_list_mic.is_none());
    assert_eq!(o.t.resp(3).neg_state, Some(NegState::AcceptCompleted));
    assert!(o.t.resp(3).mech_list_mic.is_none());
}

#[test]
fn counter_proposed_kerberos_ends_with_the_initiators_mic() {
    // The initiator prefers NTLM; the acceptor only does Kerberos (request-mic). The acceptor completes first and
    // sends its MIC with the AP-REP; the initiator answers with its own MIC and needs no reply.
    let o = run(
        initiator(
            vec![ntlm_initiator(USER, PASSWORD), krb_entry(Krb::Works, false)],
            allow(),
            Arc::default(),
        ),
        || acceptor(vec![krb_entry(Krb::Works, true)], allow(), Arc::default()),
        no_tamper,
    );
    let ie = o.initiator.expect("initiator established");
    let ae = o.acceptor.unwrap().expect("acceptor established");
    assert_eq!(ie.mech_oid, krb_oid());
    assert!(ie.mic_exchanged && ae.mic_exchanged);
    assert_eq!(o.t.resp(1).neg_state, Some(NegState::RequestMic));
    assert_eq!(o.t.resp(2).response_token.as_deref(), Some(AP_REQ));
    let r3 = o.t.resp(3);
    assert_eq!(r3.neg_state, Some(NegState::AcceptIncomplete));
    assert_eq!(r3.response_token.as_deref(), Some(AP_REP));
    assert!(r3.mech_list_mic.is_some());
    let r4 = o.t.resp(4);
    assert!(r4.response_token.is_none() && r4.mech_list_mic.is_some());
    assert_eq!(o.t.tokens.len(), 5);
}
