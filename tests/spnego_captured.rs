//! The captured and generated SPNEGO tokens of tests/data/tokens (INDEX.md says where each comes from: Windows
//! peers through pyspnego's and impacket's test data, Samba's NegTokenInit2 blob, pyspnego 0.12 exchanges)
//! decoded and answered by the SPNEGO engines (RFC 4178 §4.2, §5; MS-SPNG §2.2.1, §3.3.5).

mod spnego_common;

use std::path::PathBuf;
use std::sync::Arc;

use gss_negotiate::audit::{KerberosSkip, MemoryAudit};
use gss_negotiate::spnego::acceptor::AcceptorStep;
use gss_negotiate::spnego::error::SpnegoError;
use gss_negotiate::spnego::initiator::InitiatorStep;
use gss_negotiate::spnego::mech::MechEntry;
use gss_negotiate::spnego::{NegState, NegTokenResp, SpnegoToken};
use spnego_common::*;

fn token(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tokens")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn resp(bytes: &[u8]) -> NegTokenResp {
    match SpnegoToken::decode(bytes).expect("our answer decodes") {
        SpnegoToken::Resp(r) => r,
        other => panic!("not a NegTokenResp: {other:?}"),
    }
}

fn is_reject(bytes: &[u8]) -> bool {
    resp(bytes).neg_state == Some(NegState::Reject)
}

/// The account of the pyspnego-generated exchange (INDEX.md: TESTDOM\testuser, Passw0rd!).
fn gen_acceptor() -> MechEntry {
    use gss_negotiate::ntlm::acceptor::AcceptorConfig;
    use gss_negotiate::ntlm::env::SystemEnvironment;
    use gss_negotiate::spnego::mech::{Mechanism, NtlmMech};
    MechEntry::new(ntlm_oid(), || {
        let store = Arc::new(Users(vec![(
            "testuser".into(),
            "TESTDOM".into(),
            "Passw0rd!".into(),
        )]));
        let cfg = AcceptorConfig::new(store, Arc::new(SystemEnvironment));
        Ok(Box::new(NtlmMech::acceptor(cfg, None)) as Box<dyn Mechanism>)
    })
}

#[test]
fn ntlm_neg_token_inits_get_a_challenge() {
    for name in [
        "gen_spnego_ntlm_1_client.bin",
        "impacket_spnego_negtokeninit_ntlm_negotiate.bin",
    ] {
        let acc = acceptor(vec![gen_acceptor()], policy(""), Arc::default());
        let Ok(AcceptorStep::Continue(_, answer)) = acc.step(&token(name)) else {
            panic!("{name}: not answered with a continuation");
        };
        let r = resp(&answer);
        assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete), "{name}");
        assert_eq!(r.supported_mech, Some(ntlm_oid()), "{name}");
        assert!(
            r.response_token
                .unwrap()
                .starts_with(b"NTLMSSP\0\x02\0\0\0"),
            "{name}: CHALLENGE expected"
        );
        assert!(r.mech_list_mic.is_none());
    }
}

#[test]
fn pyspnego_authenticate_for_another_challenge_is_rejected() {
    // gen_spnego_ntlm_3 answers pyspnego's CHALLENGE, not ours: its NTProofStr and MIC cannot verify here.
    let aa = Arc::new(MemoryAudit::default());
    let acc = acceptor(vec![gen_acceptor()], policy(""), aa.clone());
    let Ok(AcceptorStep::Continue(acc, _)) = acc.step(&token("gen_spnego_ntlm_1_client.bin"))
    else {
        panic!("first token not answered");
    };
    let f = acc
        .step(&token("gen_spnego_ntlm_3_client.bin"))
        .expect_err("a foreign AUTHENTICATE must fail");
    assert!(
        matches!(f.error, SpnegoError::Mechanism(_)),
        "{:?}",
        f.error
    );
    assert!(is_reject(&f.token.unwrap()));
    assert!(aa.records()[0].failure.is_some());
}

#[test]
fn windows_krb5_ntlm_init_gets_ntlm_counter_proposal() {
    let aa = Arc::new(MemoryAudit::default());
    let acc = acceptor(vec![gen_acceptor()], policy(""), aa.clone());
    let Ok(AcceptorStep::Continue(_, answer)) =
        acc.step(&token("pyspnego_spnego_negtokeninit_krb5_ntlm.bin"))
    else {
        panic!("not answered");
    };
    let r = resp(&answer);
    assert_eq!(r.neg_state, Some(NegState::RequestMic));
    assert_eq!(r.supported_mech, Some(ntlm_oid()));
    assert!(r.response_token.is_none());
    // Our Kerberos stand-in refuses the real AP-REQ; with restarts allowed the acceptor moves on to NTLM.
    let acc = acceptor(
        vec![krb_entry(Krb::Rejects, true), gen_acceptor()],
        policy("spnego.restart = yes\n"),
        aa.clone(),
    );
    let Ok(AcceptorStep::Continue(_, answer)) =
        acc.step(&token("pyspnego_spnego_negtokeninit_krb5_ntlm.bin"))
    else {
        panic!("not answered");
    };
    assert_eq!(resp(&answer).neg_state, Some(NegState::RequestMic));
    assert_eq!(resp(&answer).supported_mech, Some(ntlm_oid()));
    // Without restarts: reject.
    let acc = acceptor(
        vec![krb_entry(Krb::Rejects, true), gen_acceptor()],
        policy(""),
        aa.clone(),
    );
    let f = acc
        .step(&token("pyspnego_spnego_negtokeninit_krb5_ntlm.bin"))
        .unwrap_err();
    assert!(is_reject(&f.token.unwrap()));
    // The two acceptors dropped after their first answer wrote `abandoned`; the third its failure.
    let r = aa.records();
    assert_eq!(r.len(), 3, "{r:#?}");
    assert!(r[..2].iter().all(|r| r.outcome() == "abandoned"), "{r:#?}");
    assert_eq!(r[2].outcome(), "failure");
    assert_eq!(r[2].kerberos, Some(KerberosSkip::ServerRejected));
}

#[test]
fn smb_negoex_ntlm_advertisement_selects_ntlm() {
    let acc = acceptor(vec![gen_acceptor()], policy(""), Arc::default());
    let Ok(AcceptorStep::Continue(_, answer)) =
        acc.step(&token("impacket_spnego_negtokeninit_negoex_ntlm.bin"))
    else {
        panic!("not answered");
    };
    let r = resp(&answer);
    assert_eq!(r.neg_state, Some(NegState::RequestMic));
    assert_eq!(r.supported_mech, Some(ntlm_oid()));
}

#[test]
fn responses_and_ber_tokens_are_refused_as_first_token() {
    for (name, decode_error) in [
        ("impacket_spnego_negtokenresp_ntlm_challenge.bin", false),
        ("impacket_spnego_negtokenresp_ntlm_authenticate.bin", false),
        ("impacket_spnego_negtokenresp_accept_completed.bin", false),
        ("pyspnego_spnego_negtokenresp_krb5_aprep.bin", false),
        ("gen_spnego_ntlm_2_server.bin", false),
        ("gen_spnego_ntlm_4_server.bin", false),
        ("gosmb2_spnego_negtokenresp_ber_accept_completed.bin", true),
        ("pyspnego_gss_krb5_apreq_raw.bin", true),
    ] {
        let acc = acceptor(vec![gen_acceptor()], policy(""), Arc::default());
        let f = acc.step(&token(name)).expect_err(name);
        assert_eq!(
            matches!(f.error, SpnegoError::Decode(_)),
            decode_error,
            "{name}: {:?}",
            f.error
        );
        assert!(is_reject(&f.token.unwrap()), "{name}");
    }
}

#[test]
fn initiator_answers_pyspnego_and_windows_challenges() {
    for name in [
        "gen_spnego_ntlm_2_server.bin",
        "impacket_spnego_negtokenresp_ntlm_challenge.bin",
    ] {
        let (ini, _) = initiator(
            vec![ntlm_initiator("testuser", "Passw0rd!")],
            policy(""),
            Arc::default(),
        )
        .start()
        .unwrap();
        let Ok(InitiatorStep::Continue(ini, out)) = ini.step(&token(name)) else {
            panic!("{name}: no AUTHENTICATE");
        };
        let r = resp(&out);
        assert!(r
            .response_token
            .unwrap()
            .starts_with(b"NTLMSSP\0\x03\0\0\0"));
        // Both CHALLENGEs carry a timestamp, so our AUTHENTICATE has a MIC and the mechListMIC goes with it.
        assert_eq!(r.mech_list_mic.map(|m| m.len()), Some(16), "{name}");
        if name == "gen_spnego_ntlm_2_server.bin" {
            // pyspnego's final MIC was made with its own session key, not ours.
            let e = ini
                .step(&token("gen_spnego_ntlm_4_server.bin"))
                .unwrap_err();
            assert!(matches!(e, SpnegoError::BadMic(_)), "{e:?}");
        }
    }
}

#[test]
fn samba_neg_token_init2_hint_is_understood() {
    let start = initiator(
        vec![krb_entry(Krb::Works, false), ntlm_initiator(USER, PASSWORD)],
        policy(""),
        Arc::default(),
    )
    .with_hint(&token("gen_spnego_negtokeninit2_ntlm_1_server.bin"))
    .expect("NegTokenInit2 accepted as a hint");
    let (_, first) = start.start().unwrap();
    let SpnegoToken::Init(init) = SpnegoToken::decode(&first).unwrap() else {
        panic!()
    };
    assert_eq!(init.mech_types, vec![ntlm_oid()]);
}
