//! The policy applied to raw NTLM contexts ([`crate::context::SecContext`]), e.g. when MIT's SPNEGO drives our
//! NTLM mechanism: the same rules as inside our SPNEGO engine, and an audit record per negotiation whenever
//! the decision is not a plain `allow` or `GSS_NEGOTIATE_AUDIT` is set (so a busy server without either pays
//! nothing for it). A context that our SPNEGO engine drives passes `audit: false`: the engine writes the one
//! record of that negotiation, so the checks here stay silent.
#![forbid(unsafe_code)]

use crate::audit::{self, AuditSink, Record, Role, SystemAudit};
use crate::ntlm::validator::BackendAnswer;
use crate::spnego::oid::Oid;
use crate::spnego::OID_NTLMSSP;
use crate::status::{GssError, Minor, GSS_S_FAILURE, GSS_S_UNAUTHORIZED};

use super::{current, target_host, Decision, Policy};

fn policy() -> Result<std::sync::Arc<Policy>, GssError> {
    current().map_err(|e| GssError::with_detail(GSS_S_FAILURE, Minor::BadPolicy, e.to_string()))
}

/// What the audit record of a raw NTLM negotiation says beyond the policy decision.
struct Outcome<'a> {
    role: Role,
    peer: Option<String>,
    failure: Option<String>,
    /// Acceptor: which back-end validated the response and whether it refused.
    answer: Option<&'a BackendAnswer>,
}

fn write(policy: &Policy, decision: Decision, o: Outcome<'_>) {
    let to_file = audit::file_is_set();
    if decision == Decision::Allow && !to_file {
        return;
    }
    let Outcome {
        role,
        peer,
        failure,
        answer,
    } = o;
    let mut r = Record::new(role, "ntlm");
    r.peer = peer;
    if let Ok(ntlm) = Oid::from_dotted(OID_NTLMSSP) {
        r.offered = vec![ntlm.clone()];
        r.chosen = Some(ntlm);
    }
    r.ntlm_policy = Some(decision);
    r.failure = failure;
    if let Some(a) = answer {
        r.backend = Some(a.backend.to_string());
        r.refusal = a.refusal;
    }
    SystemAudit {
        scope: policy.syslog,
    }
    .record(&r);
}

fn denied(what: String) -> GssError {
    GssError::with_detail(GSS_S_UNAUTHORIZED, Minor::PolicyDenied, what)
}

/// Before an NTLM initiator starts: refuses when the outgoing rule denies NTLM to `target_spn`'s host (and
/// writes the record of that refusal when `audit`).
pub fn check_outgoing(target_spn: Option<&str>, audit: bool) -> Result<(), GssError> {
    let p = policy()?;
    let decision = p.outgoing_ntlm(target_spn.map(target_host));
    if decision.allowed() {
        return Ok(());
    }
    let e = denied(format!(
        "outgoing NTLM to {} denied",
        target_spn.unwrap_or("(no target)")
    ));
    if audit {
        let o = Outcome {
            role: Role::Initiator,
            peer: target_spn.map(str::to_string),
            failure: Some(e.to_string()),
            answer: None,
        };
        write(&p, decision, o);
    }
    Err(e)
}

/// Before an NTLM acceptor starts: refuses when incoming NTLM is denied with no exemption that could apply,
/// and returns whether the policy requires channel bindings (a refusal is recorded when `audit`).
pub fn check_incoming_start(audit: bool) -> Result<bool, GssError> {
    let p = policy()?;
    if p.incoming_ntlm_possible(None) {
        return Ok(p.require_channel_bindings);
    }
    let e = denied("incoming NTLM denied".into());
    if audit {
        let o = Outcome {
            role: Role::Acceptor,
            peer: None,
            failure: Some(e.to_string()),
            answer: None,
        };
        write(&p, Decision::Deny, o);
    }
    Err(e)
}

/// Once NTLM authenticated `client` (`DOMAIN\user`) with the back-end `answer`: refuses a client the policy
/// does not exempt, and writes the audit record of the negotiation when `audit`.
pub fn check_incoming_client(
    client: &str,
    answer: Option<&BackendAnswer>,
    audit: bool,
) -> Result<(), GssError> {
    let p = policy()?;
    let decision = p.incoming_ntlm(Some(client), None);
    let result = if decision.allowed() {
        Ok(())
    } else {
        Err(denied(format!("incoming NTLM from {client} denied")))
    };
    if audit {
        let o = Outcome {
            role: Role::Acceptor,
            peer: Some(client.to_string()),
            failure: result.as_ref().err().map(ToString::to_string),
            answer,
        };
        write(&p, decision, o);
    }
    result
}

/// The audit record of an initiator that finished (`failure` is `None`) or failed.
pub fn initiator_done(target_spn: Option<&str>, failure: Option<&GssError>) {
    if let Ok(p) = policy() {
        let decision = p.outgoing_ntlm(target_spn.map(target_host));
        let o = Outcome {
            role: Role::Initiator,
            peer: target_spn.map(str::to_string),
            failure: failure.map(ToString::to_string),
            answer: None,
        };
        write(&p, decision, o);
    }
}

/// The audit record of an acceptor that failed before the client was known to the policy; `answer` says
/// which back-end refused (or vouched for a response that then failed the acceptor's own checks).
pub fn acceptor_failed(failure: &GssError, answer: Option<&BackendAnswer>) {
    if let Ok(p) = policy() {
        let decision = p.incoming_ntlm(None, None);
        let o = Outcome {
            role: Role::Acceptor,
            peer: None,
            failure: Some(failure.to_string()),
            answer,
        };
        write(&p, decision, o);
    }
}
