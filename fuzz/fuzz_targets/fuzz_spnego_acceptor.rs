//! The SPNEGO acceptor state machine (RFC 4178 §3.2, §5; MS-SPNG §3.2.5) fed hostile token sequences.
//!
//! Input: one configuration byte (bit 0: restarts allowed; bit 1: a Kerberos stand-in before NTLM; bit 2:
//! incoming NTLM denied except for the client `alice`; bit 3: the Kerberos stand-in rejects), then tokens as
//! `u16 little-endian length || bytes`. The first goes to `AcceptorStart`, the rest to the states it returns.
//!
//! Properties beyond "no panic": a failure always carries a decodable `reject` token (or none, when the
//! initiator itself rejected); a finished negotiation wrote exactly one audit record, and a successful NTLM one
//! names an authenticated client that the policy allows.
#![no_main]

#[path = "common/spnego.rs"]
mod common;

use std::sync::Arc;

use common::{krb_entry, rejected, tokens};

use gss_negotiate::audit::MemoryAudit;
use gss_negotiate::ntlm::acceptor::{AcceptorConfig as NtlmConfig, CredentialLookup, UserSecrets};
use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::policy::Policy;
use gss_negotiate::spnego::acceptor::{AcceptorConfig, AcceptorStart, AcceptorStep};
use gss_negotiate::spnego::mech::{MechEntry, MechStep, Mechanism, NtlmMech};
use gss_negotiate::spnego::{NegState, Oid, SpnegoToken, OID_NTLMSSP};
use libfuzzer_sys::fuzz_target;

struct Users;
impl CredentialLookup for Users {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        user.eq_ignore_ascii_case("alice").then(|| UserSecrets {
            user: "alice".into(),
            domain: "TESTDOM".into(),
            nt_hash: ntowfv1(&Password::new("Passw0rd!")),
            lm_hash: None,
        })
    }
}

/// The stand-in's accepting side: a token `K…` is accepted (answered with the rest; complete when its length
/// is even), anything else rejected.
fn krb_accepts(input: Option<&[u8]>) -> Result<MechStep, gss_negotiate::spnego::mech::MechError> {
    match input {
        Some(t) if t.first() == Some(&b'K') => Ok(MechStep {
            output: t.get(1..).unwrap_or_default().to_vec(),
            complete: t.len() % 2 == 0,
        }),
        _ => rejected(),
    }
}

fn check_failure(token: &Option<Vec<u8>>) {
    if let Some(t) = token {
        match SpnegoToken::decode(t) {
            Ok(SpnegoToken::Resp(r)) => assert_eq!(r.neg_state, Some(NegState::Reject)),
            other => panic!("failure token is not a reject: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let mut text = String::new();
    if cfg & 1 != 0 {
        text.push_str("spnego.restart = yes\n");
    }
    if cfg & 4 != 0 {
        text.push_str("ntlm.incoming = deny\nntlm.incoming.exempt-clients = alice\n");
    }
    let policy = Arc::new(Policy::parse(&text).unwrap());
    let mut mechs = Vec::new();
    if cfg & 2 != 0 {
        mechs.push(krb_entry(if cfg & 8 != 0 {
            |_| rejected()
        } else {
            krb_accepts
        }));
    }
    mechs.push(MechEntry::new(
        Oid::from_dotted(OID_NTLMSSP).unwrap(),
        || {
            let cfg = NtlmConfig::new(Arc::new(Users), Arc::new(SystemEnvironment));
            Ok(Box::new(NtlmMech::acceptor(cfg, None)) as Box<dyn Mechanism>)
        },
    ));
    let audit = Arc::new(MemoryAudit::default());
    let start = AcceptorStart::new(AcceptorConfig {
        mechs,
        peer_addr: None,
        policy: policy.clone(),
        audit: audit.clone(),
    });
    let _ = start.advertise();
    let toks = tokens(rest);
    let Some((first, later)) = toks.split_first() else {
        return;
    };
    let mut step = start.step(first);
    let mut later = later.iter();
    loop {
        match step {
            Err(f) => {
                check_failure(&f.token);
                assert_eq!(audit.records().len(), 1);
                return;
            }
            Ok(AcceptorStep::Done(est, _)) => {
                assert_eq!(audit.records().len(), 1);
                if est.mech_oid.to_dotted() == OID_NTLMSSP {
                    let peer = est.peer().unwrap_or_default();
                    assert!(peer.to_ascii_lowercase().ends_with("alice"), "{peer:?}");
                    assert!(policy.incoming_ntlm(Some(peer), None).allowed());
                }
                return;
            }
            Ok(AcceptorStep::Continue(next, _)) => {
                assert!(audit.records().is_empty());
                let Some(t) = later.next() else {
                    return;
                };
                step = next.step(t);
            }
        }
    }
});
