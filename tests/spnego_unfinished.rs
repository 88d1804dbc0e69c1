//! The audit record when the application deletes its context before the negotiation finished (issue 11):
//! written once, when the state is dropped — an initiator's with the outcome `unconfirmed` (its final mechanism
//! token was sent, the acceptor's final answer never processed — curl's way) or `abandoned` (given up earlier),
//! an acceptor's `abandoned` (the client went away) — never a second record for a negotiation that ended. And
//! the initiator's `offered` is what its `NegTokenInit` carried.

mod spnego_common;

use std::sync::Arc;

use gss_negotiate::audit::{KerberosSkip, MemoryAudit, Unfinished};
use gss_negotiate::spnego::acceptor::AcceptorStep;
use gss_negotiate::spnego::initiator::{Initiator, InitiatorStep};
use spnego_common::*;

/// Runs the initiator up to (and including) its AUTHENTICATE; returns the state awaiting the final answer.
fn up_to_final_token(ia: Arc<MemoryAudit>) -> Initiator {
    let (ini, tok) = initiator(vec![ntlm_initiator(USER, PASSWORD)], allow(), ia)
        .start()
        .expect("NegTokenInit");
    let acc = acceptor(vec![ntlm_acceptor()], allow(), Arc::default());
    let Ok(AcceptorStep::Continue(_acc, challenge)) = acc.step(&tok) else {
        panic!("acceptor did not answer with a challenge");
    };
    match ini.step(&challenge).expect("AUTHENTICATE") {
        InitiatorStep::Continue(next, _authenticate) => next,
        InitiatorStep::Done(..) => panic!("SPNEGO+NTLM cannot finish before the acceptor's answer"),
    }
}

#[test]
fn deleted_after_the_final_token_is_unconfirmed_once() {
    let ia = Arc::new(MemoryAudit::default());
    let ini = up_to_final_token(ia.clone());
    assert!(ia.records().is_empty(), "no record while negotiating");
    drop(ini);
    let r = ia.records();
    assert_eq!(r.len(), 1, "exactly one record: {r:?}");
    assert_eq!(r[0].unfinished, Some(Unfinished::Unconfirmed));
    assert_eq!(r[0].outcome(), "unconfirmed");
    assert_eq!(r[0].chosen, Some(ntlm_oid()));
    assert_eq!(r[0].offered, vec![ntlm_oid()]);
    assert!(r[0].failure.as_deref().unwrap().contains("final answer"));
    let json = r[0].to_json();
    assert!(json.contains("\"outcome\":\"unconfirmed\""), "{json}");
    assert!(r[0]
        .to_syslog()
        .starts_with("gss-negotiate: spnego initiator outcome=unconfirmed"));
}

#[test]
fn kerberos_deleted_after_the_ap_req_is_unconfirmed() {
    // Mutual authentication: the AP-REP never processed (curl after its 200). Without mutual likewise.
    for krb in [Krb::Works, Krb::NoMutual] {
        let ia = Arc::new(MemoryAudit::default());
        let (ini, _tok) = initiator(
            vec![krb_entry(krb, false), ntlm_initiator(USER, PASSWORD)],
            allow(),
            ia.clone(),
        )
        .start()
        .expect("NegTokenInit");
        drop(ini);
        let r = ia.records();
        assert_eq!(r.len(), 1, "{krb:?}: {r:?}");
        assert_eq!(r[0].outcome(), "unconfirmed", "{krb:?}");
        assert_eq!(r[0].chosen, Some(krb_oid()));
        assert_eq!(r[0].offered, vec![krb_oid(), ntlm_oid()]);
    }
}

#[test]
fn deleted_after_the_first_token_is_abandoned_once() {
    let ia = Arc::new(MemoryAudit::default());
    let (ini, _tok) = initiator(vec![ntlm_initiator(USER, PASSWORD)], allow(), ia.clone())
        .start()
        .expect("NegTokenInit");
    drop(ini);
    let r = ia.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].unfinished, Some(Unfinished::Abandoned));
    assert_eq!(r[0].outcome(), "abandoned");
    assert!(r[0].to_json().contains("\"outcome\":\"abandoned\""));
}

#[test]
fn a_finished_negotiation_writes_one_record_only() {
    // Success: the established context (and everything else) dropped afterwards adds nothing.
    let ia = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(vec![ntlm_initiator(USER, PASSWORD)], allow(), ia.clone()),
        || acceptor(vec![ntlm_acceptor()], allow(), Arc::default()),
        no_tamper,
    );
    assert!(o.initiator.is_ok());
    drop(o);
    let r = ia.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].outcome(), "success");
    assert_eq!(r[0].unfinished, None);

    // Failure (wrong password): the failure record only.
    let ia = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(vec![ntlm_initiator(USER, "wrong")], allow(), ia.clone()),
        || acceptor(vec![ntlm_acceptor()], allow(), Arc::default()),
        no_tamper,
    );
    assert!(o.initiator.is_err());
    drop(o);
    let r = ia.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].outcome(), "failure");
    assert_eq!(r[0].unfinished, None);
}

#[test]
fn restarted_then_deleted_still_writes_one_record() {
    // Kerberos rejected, restart with NTLM allowed, then the context is deleted after the new NegTokenInit.
    let ia = Arc::new(MemoryAudit::default());
    let (ini, tok) = initiator(
        vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
        policy("spnego.restart = yes\n"),
        ia.clone(),
    )
    .start()
    .expect("NegTokenInit");
    let acc = acceptor(
        vec![krb_entry(Krb::Rejects, true), ntlm_acceptor()],
        policy("spnego.restart = no\n"),
        Arc::default(),
    );
    let reject = match acc.step(&tok) {
        Err(f) => f.token.expect("reject token"),
        Ok(other) => panic!("acceptor should reject: {other:?}"),
    };
    let ini = match ini.step(&reject).expect("restart") {
        InitiatorStep::Continue(next, _init) => next,
        InitiatorStep::Done(..) => panic!("not done"),
    };
    assert!(ia.records().is_empty());
    drop(ini);
    let r = ia.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].outcome(), "abandoned");
    assert!(r[0].restarted);
    // `offered` is the first NegTokenInit's list.
    assert_eq!(r[0].offered, vec![krb_oid(), ntlm_oid()]);
    assert_eq!(r[0].kerberos, Some(KerberosSkip::ServerRejected));
}

#[test]
fn an_acceptor_deleted_mid_negotiation_is_abandoned_once() {
    // The client sent NEGOTIATE, got the CHALLENGE and went away (a probe that never authenticates).
    let aa = Arc::new(MemoryAudit::default());
    let (_ini, tok) = initiator(
        vec![ntlm_initiator(USER, PASSWORD)],
        allow(),
        Arc::default(),
    )
    .start()
    .expect("NegTokenInit");
    let acc = acceptor(vec![ntlm_acceptor()], allow(), aa.clone());
    let Ok(AcceptorStep::Continue(acc, _challenge)) = acc.step(&tok) else {
        panic!("acceptor did not answer with a challenge");
    };
    assert!(aa.records().is_empty(), "no record while negotiating");
    drop(acc);
    let r = aa.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].outcome(), "abandoned");
    assert_eq!(r[0].offered, vec![ntlm_oid()]);
    assert_eq!(r[0].chosen, Some(ntlm_oid()));
    assert_eq!(r[0].peer_addr, "192.0.2.10".parse().ok());

    // A completed acceptor writes its success only.
    let aa = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(
            vec![ntlm_initiator(USER, PASSWORD)],
            allow(),
            Arc::default(),
        ),
        || acceptor(vec![ntlm_acceptor()], allow(), aa.clone()),
        no_tamper,
    );
    assert!(matches!(o.acceptor, Some(Ok(_))));
    drop(o);
    let r = aa.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].outcome(), "success");
}
