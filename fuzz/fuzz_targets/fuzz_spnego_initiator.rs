//! The SPNEGO initiator state machine (RFC 4178 §3.2, §5; MS-SPNG §3.1.5, §3.3.5) fed hostile acceptor replies.
//!
//! Input: one configuration byte (bit 0: restarts allowed; bit 1: a Kerberos stand-in before NTLM; bit 2: a
//! server hint comes first; bit 3: outgoing NTLM denied), then replies as `u16 little-endian length || bytes`.
//!
//! Properties beyond "no panic": an established negotiation wrote exactly one audit record and used a mechanism
//! we offered, NTLM only when the policy allows it; a restart happens at most once.
#![no_main]

#[path = "common/spnego.rs"]
mod common;

use std::sync::Arc;

use common::{krb_entry, rejected, tokens};

use gss_negotiate::audit::MemoryAudit;
use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::initiator::{InitiatorConfig as NtlmConfig, InitiatorCredential};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::policy::Policy;
use gss_negotiate::spnego::initiator::{InitiatorConfig, InitiatorStart, InitiatorStep};
use gss_negotiate::spnego::mech::{MechEntry, MechError, MechStep, Mechanism, NtlmMech};
use gss_negotiate::spnego::{Oid, SpnegoToken, OID_KRB5, OID_NTLMSSP};
use libfuzzer_sys::fuzz_target;

/// The stand-in's initiating side: sends `AP-REQ`, completes on `AP-REP`, rejects anything else.
fn krb_initiates(input: Option<&[u8]>) -> Result<MechStep, MechError> {
    match input {
        None => Ok(MechStep {
            output: b"AP-REQ".to_vec(),
            complete: false,
        }),
        Some(b"AP-REP") => Ok(MechStep {
            output: Vec::new(),
            complete: true,
        }),
        Some(_) => rejected(),
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
    if cfg & 8 != 0 {
        text.push_str("ntlm.outgoing = deny\n");
    }
    let policy = Arc::new(Policy::parse(&text).unwrap());
    let mut mechs = Vec::new();
    if cfg & 2 != 0 {
        mechs.push(krb_entry(krb_initiates));
    }
    mechs.push(MechEntry::new(
        Oid::from_dotted(OID_NTLMSSP).unwrap(),
        || {
            let cred = InitiatorCredential::User {
                user: "alice".into(),
                domain: "TESTDOM".into(),
                nt_hash: ntowfv1(&Password::new("Passw0rd!")),
                lm_hash: None,
            };
            let cfg = NtlmConfig::new(cred, Arc::new(SystemEnvironment));
            Ok(Box::new(NtlmMech::initiator(cfg, None)) as Box<dyn Mechanism>)
        },
    ));
    let audit = Arc::new(MemoryAudit::default());
    let mut start = InitiatorStart::new(InitiatorConfig {
        mechs,
        target: Some("HTTP/fuzz.test".into()),
        policy: policy.clone(),
        audit: audit.clone(),
    });
    let toks = tokens(rest);
    let mut replies = toks.iter();
    if cfg & 4 != 0 {
        let Some(hint) = replies.next() else { return };
        start = match start.with_hint(hint) {
            Ok(s) => s,
            Err(_) => return,
        };
    }
    let Ok((mut state, _)) = start.start() else {
        assert_eq!(audit.records().len(), 1);
        return;
    };
    let mut inits = 1;
    for reply in replies {
        match state.step(reply) {
            Err(_) => {
                assert_eq!(audit.records().len(), 1);
                return;
            }
            Ok(InitiatorStep::Done(est, _)) => {
                assert_eq!(audit.records().len(), 1);
                let ntlm = est.mech_oid.to_dotted() == OID_NTLMSSP;
                assert!(ntlm || est.mech_oid.to_dotted() == OID_KRB5);
                assert!(!ntlm || policy.outgoing_ntlm(Some("fuzz.test")).allowed());
                return;
            }
            Ok(InitiatorStep::Continue(next, out)) => {
                if matches!(SpnegoToken::decode(&out), Ok(SpnegoToken::Init(_))) {
                    inits += 1;
                    assert!(inits <= 2, "restarted twice");
                }
                assert!(audit.records().is_empty());
                state = next;
            }
        }
    }
});
