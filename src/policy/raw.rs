//! The policy applied to raw NTLM contexts ([`crate::context::SecContext`]), e.g. when MIT's SPNEGO drives our
//! NTLM mechanism: the same rules as inside our SPNEGO engine, and an audit record per negotiation whenever
//! the decision is not a plain `allow` or `GSS_NEGOTIATE_AUDIT` is set (so a busy server without either pays
//! nothing for it).
#![forbid(unsafe_code)]

use crate::audit::{self, AuditSink, Record, Role, SystemAudit};
use crate::spnego::oid::Oid;
use crate::spnego::OID_NTLMSSP;
use crate::status::{GssError, Minor, GSS_S_FAILURE, GSS_S_UNAUTHORIZED};

use super::{current, target_host, Decision, Policy};

fn policy() -> Result<std::sync::Arc<Policy>, GssError> {
    current().map_err(|e| GssError::with_detail(GSS_S_FAILURE, Minor::BadPolicy, e.to_string()))
}

fn write(
    policy: &Policy,
    role: Role,
    peer: Option<String>,
    decision: Decision,
    failure: Option<String>,
) {
    let to_file = std::env::var_os(audit::ENV_VAR).is_some_and(|v| !v.is_empty());
    if decision == Decision::Allow && !to_file {
        return;
    }
    let mut r = Record::new(role, "ntlm");
    r.peer = peer;
    if let Ok(ntlm) = Oid::from_dotted(OID_NTLMSSP) {
        r.offered = vec![ntlm.clone()];
        r.chosen = Some(ntlm);
    }
    r.ntlm_policy = Some(decision);
    r.failure = failure;
    SystemAudit {
        scope: policy.syslog,
    }
    .record(&r);
}

fn denied(what: String) -> GssError {
    GssError::with_detail(GSS_S_UNAUTHORIZED, Minor::PolicyDenied, what)
}

/// Before an NTLM initiator starts: refuses when the outgoing rule denies NTLM to `target_spn`'s host.
pub fn check_outgoing(target_spn: Option<&str>) -> Result<(), GssError> {
    let p = policy()?;
    let decision = p.outgoing_ntlm(target_spn.map(target_host));
    if decision.allowed() {
        return Ok(());
    }
    let e = denied(format!(
        "outgoing NTLM to {} denied",
        target_spn.unwrap_or("(no target)")
    ));
    write(
        &p,
        Role::Initiator,
        target_spn.map(str::to_string),
        decision,
        Some(e.to_string()),
    );
    Err(e)
}

/// Before an NTLM acceptor starts: refuses when incoming NTLM is denied with no exemption that could apply,
/// and returns whether the policy requires channel bindings.
pub fn check_incoming_start() -> Result<bool, GssError> {
    let p = policy()?;
    if p.incoming_ntlm_possible(None) {
        return Ok(p.require_channel_bindings);
    }
    let e = denied("incoming NTLM denied".into());
    write(
        &p,
        Role::Acceptor,
        None,
        Decision::Deny,
        Some(e.to_string()),
    );
    Err(e)
}

/// Once NTLM authenticated `client` (`DOMAIN\user`): refuses a client the policy does not exempt, and writes the
/// audit record of the negotiation.
pub fn check_incoming_client(client: &str) -> Result<(), GssError> {
    let p = policy()?;
    let decision = p.incoming_ntlm(Some(client), None);
    if decision.allowed() {
        write(&p, Role::Acceptor, Some(client.to_string()), decision, None);
        return Ok(());
    }
    let e = denied(format!("incoming NTLM from {client} denied"));
    write(
        &p,
        Role::Acceptor,
        Some(client.to_string()),
        decision,
        Some(e.to_string()),
    );
    Err(e)
}

/// The audit record of an initiator that finished (`failure` is `None`) or failed.
pub fn initiator_done(target_spn: Option<&str>, failure: Option<&GssError>) {
    if let Ok(p) = policy() {
        let decision = p.outgoing_ntlm(target_spn.map(target_host));
        write(
            &p,
            Role::Initiator,
            target_spn.map(str::to_string),
            decision,
            failure.map(ToString::to_string),
        );
    }
}

/// The audit record of an acceptor that failed before the client was known to the policy.
pub fn acceptor_failed(failure: &GssError) {
    if let Ok(p) = policy() {
        let decision = p.incoming_ntlm(None, None);
        write(
            &p,
            Role::Acceptor,
            None,
            decision,
            Some(failure.to_string()),
        );
    }
}
