//! The SPNEGO engines under the NTLM policy (docs/policy.md): outgoing and incoming allow / audit / deny with
//! host, client and network exceptions, NegTokenInit2 advertisement and hints, and the audit records.

mod spnego_common;

use std::sync::Arc;

use gss_negotiate::audit::MemoryAudit;
use gss_negotiate::policy::Decision;
use gss_negotiate::spnego::acceptor::HINT_NAME;
use gss_negotiate::spnego::error::SpnegoError;
use gss_negotiate::spnego::initiator::InitiatorStart;
use gss_negotiate::spnego::SpnegoToken;
use spnego_common::*;

#[test]
fn outgoing_ntlm_deny_with_host_exceptions() {
    let deny = "ntlm.outgoing = deny\nntlm.outgoing.allowed-hosts = *.legacy.test\n";
    let ia = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(
            vec![ntlm_initiator(USER, PASSWORD)],
            policy(deny),
            ia.clone(),
        ),
        || unreachable!(),
        no_tamper,
    );
    assert!(matches!(o.initiator, Err(SpnegoError::PolicyDenied(_))));
    assert_eq!(only(&ia.records()).ntlm_policy, Some(Decision::Deny));
    // With Kerberos available NTLM is simply not offered.
    let o = run(
        initiator(
            vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
            policy(deny),
            Arc::default(),
        ),
        || acceptor(vec![krb_entry(Krb::Works, true)], allow(), Arc::default()),
        no_tamper,
    );
    assert!(o.initiator.is_ok());
    assert_eq!(o.t.init_mechs(0), vec![krb_oid()]);
    // The exception host keeps NTLM.
    let ia = Arc::new(MemoryAudit::default());
    let start = InitiatorStart::new(gss_negotiate::spnego::initiator::InitiatorConfig {
        mechs: vec![ntlm_initiator(USER, PASSWORD)],
        target: Some("HTTP/fs1.legacy.test".into()),
        policy: policy(deny),
        audit: ia.clone(),
    });
    let o = run(
        start,
        || acceptor(vec![ntlm_acceptor()], allow(), Arc::default()),
        no_tamper,
    );
    assert!(o.initiator.is_ok());
    assert_eq!(only(&ia.records()).ntlm_policy, Some(Decision::Exempt));
}

#[test]
fn incoming_ntlm_deny_audit_and_exemptions() {
    let cases: [(&str, bool, Decision); 5] = [
        ("ntlm.incoming = deny\n", false, Decision::Deny),
        ("ntlm.incoming = audit\n", true, Decision::Audit),
        (
            "ntlm.incoming = deny\nntlm.incoming.exempt-clients = TESTDOM\\al*\n",
            true,
            Decision::Exempt,
        ),
        (
            "ntlm.incoming = deny\nntlm.incoming.exempt-clients = bob\n",
            false,
            Decision::Deny,
        ),
        (
            "ntlm.incoming = deny\nntlm.incoming.exempt-networks = 192.0.2.0/24\n",
            true,
            Decision::Exempt,
        ),
    ];
    for (text, ok, decision) in cases {
        let aa = Arc::new(MemoryAudit::default());
        let o = run(
            initiator(
                vec![ntlm_initiator(USER, PASSWORD)],
                allow(),
                Arc::default(),
            ),
            || acceptor(vec![ntlm_acceptor()], policy(text), aa.clone()),
            no_tamper,
        );
        assert_eq!(o.initiator.is_ok(), ok, "{text}");
        match o.acceptor {
            Some(Ok(_)) if ok => {}
            Some(Err(SpnegoError::PolicyDenied(_))) if !ok => {}
            other => panic!("{text}: {other:?}"),
        }
        let r = aa.records();
        assert_eq!(only(&r).ntlm_policy, Some(decision), "{text}");
        assert_eq!(only(&r).failure.is_none(), ok);
    }
}

#[test]
fn neg_token_init2_advertises_and_filters() {
    let acc = acceptor(
        vec![krb_entry(Krb::Works, true), ntlm_acceptor()],
        allow(),
        Arc::default(),
    );
    let hint = acc.advertise();
    let SpnegoToken::Init(init) = SpnegoToken::decode(&hint).unwrap() else {
        panic!()
    };
    assert_eq!(init.mech_types, vec![krb_oid(), ntlm_oid()]);
    assert_eq!(
        init.neg_hints.unwrap().hint_name.as_deref(),
        Some(HINT_NAME)
    );
    let denied = acceptor(
        vec![krb_entry(Krb::Works, true), ntlm_acceptor()],
        policy("ntlm.incoming = deny\n"),
        Arc::default(),
    );
    let SpnegoToken::Init(init) = SpnegoToken::decode(&denied.advertise()).unwrap() else {
        panic!()
    };
    assert_eq!(init.mech_types, vec![krb_oid()]);
    // The initiator keeps only what the server listed.
    let start = initiator(
        vec![ntlm_initiator(USER, PASSWORD), krb_entry(Krb::Works, false)],
        allow(),
        Arc::default(),
    )
    .with_hint(&denied.advertise())
    .unwrap();
    let o = run(
        start,
        || acceptor(vec![krb_entry(Krb::Works, true)], allow(), Arc::default()),
        no_tamper,
    );
    assert_eq!(o.t.init_mechs(0), vec![krb_oid()]);
    assert!(o.initiator.is_ok());
    let none = initiator(
        vec![ntlm_initiator(USER, PASSWORD)],
        allow(),
        Arc::default(),
    )
    .with_hint(&denied.advertise());
    assert!(matches!(none, Err(SpnegoError::NoCommonMechanism)));
}
