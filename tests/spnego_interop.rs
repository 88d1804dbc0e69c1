//! Our SPNEGO engine (src/spnego/initiator.rs, acceptor.rs, with in-process NTLM) against independent SPNEGO
//! implementations in a separate process (tests/python/spnego_peer.py), both directions:
//! - MIT krb5's own SPNEGO through python-gssapi, its NTLM being our plugin loaded by the mechglue from a
//!   private `GSS_MECH_CONFIG` (RFC 4178 as MIT reads it: mechListMIC rules, NTLM's RC4 reset after the MIC);
//! - pyspnego's pure-Python Negotiate (`NegotiateOptions.use_negotiate`) with its own NTLM. (Not tested: our
//!   initiator offering Kerberos first to pyspnego 0.12's acceptor — pyspnego selects NTLM but feeds the Kerberos
//!   optimistic token to its NTLM context and fails with `KeyError`, a pyspnego bug: RFC 4178 §3.2 says the
//!   optimistic token of a mechanism that was not selected is discarded.)
//!
//! After each negotiation both sides sign a message and verify the other's signature: the NTLM keys and the RC4
//! state after the mechListMIC exchange (MS-SPNG §3.3.5.1) agree.

mod common;
mod spnego_common;

use std::sync::Arc;

use common::peers::{python, python_module_version};
use common::{plugin, skip, GssEnv, Plugin, TEST_PASSWORD, TEST_USER};
use gss_negotiate::audit::MemoryAudit;
use gss_negotiate::spnego::acceptor::AcceptorStep;
use gss_negotiate::spnego::initiator::InitiatorStep;
use gss_negotiate::spnego::mech::MechEntry;
use spnego_common::*;

fn setup(test: &str, module: &str, dist: &str) -> Option<GssEnv> {
    let so = match plugin() {
        Plugin::Found { path, .. } => path,
        Plugin::NoEntryPoints(p) => panic!("{test}: {} exports no gss_* entry points", p.display()),
        Plugin::Missing(why) => {
            skip(test, &why);
            return None;
        }
    };
    if let Err(why) = python_module_version(module, dist) {
        skip(test, &why);
        return None;
    }
    Some(GssEnv::new(test, &so).expect("test environment"))
}

fn our_initiator_against(test: &str, implementation: &str, with_krb: bool) {
    let (module, dist) = if implementation == "mit" {
        ("gssapi", "gssapi")
    } else {
        ("spnego", "pyspnego")
    };
    let Some(env) = setup(test, module, dist) else {
        return;
    };
    let mut peer = Peer::start(&python(), &[implementation, "acceptor"], |c| env.apply(c));
    let mut mechs: Vec<MechEntry> = Vec::new();
    if with_krb {
        mechs.push(krb_entry(Krb::Works, false));
    }
    mechs.push(ntlm_initiator(TEST_USER, TEST_PASSWORD));
    let (mut ini, first) = initiator(mechs, policy(""), Arc::new(MemoryAudit::default()))
        .start()
        .unwrap();
    peer.send("TOKEN", &first);
    let mut est = loop {
        let (tag, tok) = peer.recv();
        assert_eq!(tag, "TOKEN", "peer finished before us");
        match ini
            .step(&unb64(&tok))
            .unwrap_or_else(|e| panic!("{implementation}: {e}"))
        {
            InitiatorStep::Continue(next, out) => {
                peer.send("TOKEN", &out);
                ini = next;
            }
            InitiatorStep::Done(est, out) => {
                if let Some(out) = out {
                    peer.send("TOKEN", &out);
                }
                break est;
            }
        }
    };
    assert_eq!(est.mech_oid, ntlm_oid());
    assert!(est.mic_exchanged, "NTLM with a MIC: mechListMICs exchanged");
    let negotiated = peer.finish(est.mech.as_mut());
    assert!(
        negotiated.to_ascii_lowercase().contains("ntlm")
            || negotiated.contains("1.3.6.1.4.1.311.2.2.10"),
        "{negotiated}"
    );
}

fn our_acceptor_against(test: &str, implementation: &str) {
    let (module, dist) = if implementation == "mit" {
        ("gssapi", "gssapi")
    } else {
        ("spnego", "pyspnego")
    };
    let Some(env) = setup(test, module, dist) else {
        return;
    };
    let mut peer = Peer::start(&python(), &[implementation, "initiator"], |c| env.apply(c));
    let audit = Arc::new(MemoryAudit::default());
    let start = acceptor(
        vec![
            krb_entry(Krb::Works, true),
            ntlm_acceptor_for(TEST_USER, TEST_PASSWORD),
        ],
        policy(""),
        audit.clone(),
    );
    let (tag, tok) = peer.recv();
    assert_eq!(tag, "TOKEN");
    let mut step = start.step(&unb64(&tok));
    let mut est = loop {
        match step.unwrap_or_else(|f| panic!("{implementation}: {}", f.error)) {
            AcceptorStep::Continue(next, out) => {
                peer.send("TOKEN", &out);
                let (tag, tok) = peer.recv();
                assert_eq!(tag, "TOKEN");
                step = next.step(&unb64(&tok));
            }
            AcceptorStep::Done(est, out) => {
                if let Some(out) = out {
                    peer.send("TOKEN", &out);
                }
                break est;
            }
        }
    };
    assert_eq!(est.mech_oid, ntlm_oid());
    assert_eq!(est.peer(), Some("TESTDOM\\testuser"));
    peer.finish(est.mech.as_mut());
    let records = audit.records();
    assert_eq!(records.len(), 1);
    assert!(records[0].failure.is_none());
}

#[test]
fn our_initiator_with_mit_spnego_acceptor() {
    our_initiator_against("our_initiator_with_mit_spnego_acceptor", "mit", false);
}

#[test]
fn our_initiator_offering_kerberos_first_gets_ntlm_from_mit() {
    our_initiator_against(
        "our_initiator_offering_kerberos_first_gets_ntlm_from_mit",
        "mit",
        true,
    );
}

#[test]
fn our_acceptor_with_mit_spnego_initiator() {
    our_acceptor_against("our_acceptor_with_mit_spnego_initiator", "mit");
}

#[test]
fn our_initiator_with_pyspnego_acceptor() {
    our_initiator_against("our_initiator_with_pyspnego_acceptor", "pyspnego", false);
}

#[test]
fn our_acceptor_with_pyspnego_initiator() {
    our_acceptor_against("our_acceptor_with_pyspnego_initiator", "pyspnego");
}
