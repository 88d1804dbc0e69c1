//! The seam between the SPNEGO engine and the mechanisms it negotiates (RFC 4178 §3: SPNEGO only carries
//! another mechanism's context tokens and protects the mechanism list with that mechanism's MIC).
//!
//! A [`Mechanism`] is one context of one mechanism: it is stepped with the peer's tokens, and once complete
//! signs and verifies the mechListMIC. The engine never looks inside: NTLM runs in-process ([`NtlmMech`], over
//! the crate's NTLM core), Kerberos will be reached through the mechglue by the C boundary, and tests plug in
//! scripted mechanisms. A [`MechEntry`] says which OID a mechanism has and how to start a fresh context of it,
//! so that the engine can fall back to the next mechanism or restart the negotiation.
#![forbid(unsafe_code)]

use std::any::Any;
use std::fmt;

use super::oid::Oid;
use crate::ntlm::acceptor::{Acceptor, AcceptorConfig, AcceptorStep};
use crate::ntlm::context::Established;
use crate::ntlm::error::NtlmError;
use crate::ntlm::initiator::{Initiator, InitiatorConfig, InitiatorStep};
use crate::ntlm::validator::BackendAnswer;

/// What one step of a mechanism produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MechStep {
    /// The token to send to the peer (empty: nothing to send).
    pub output: Vec<u8>,
    /// True when the mechanism's context is established.
    pub complete: bool,
}

/// Why a mechanism failed, in the categories that the audit record and the fallback rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechFailure {
    /// No credentials for this mechanism (Kerberos: no ticket; NTLM: no user file entry).
    NoCredentials,
    /// The credential source could not be reached (Kerberos: KDC unreachable).
    Unreachable,
    /// The peer or target is unknown to the mechanism (Kerberos: unknown server principal).
    UnknownPrincipal,
    /// The peer's token is malformed or out of sequence.
    Defective,
    /// Authentication failed: wrong password, bad MIC, expired or unusable ticket, skewed clock.
    Rejected,
    /// Refused by the NTLM policy.
    PolicyDenied,
    /// Anything else.
    Other,
}

impl MechFailure {
    /// A short stable word for logs and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            MechFailure::NoCredentials => "no-credentials",
            MechFailure::Unreachable => "unreachable",
            MechFailure::UnknownPrincipal => "unknown-principal",
            MechFailure::Defective => "defective-token",
            MechFailure::Rejected => "rejected",
            MechFailure::PolicyDenied => "policy-denied",
            MechFailure::Other => "failure",
        }
    }
}

/// A mechanism's error: its category and an operator-readable detail (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MechError {
    /// The category.
    pub kind: MechFailure,
    /// What happened, for logs.
    pub detail: String,
    /// The GSS major status, when the error is the mechglue's (the interposer passes it on as it is).
    pub major: Option<u32>,
}

impl MechError {
    /// An error of `kind` with `detail`.
    pub fn new(kind: MechFailure, detail: impl Into<String>) -> MechError {
        MechError {
            kind,
            detail: detail.into(),
            major: None,
        }
    }
}

impl fmt::Display for MechError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.kind.as_str())
    }
}

/// One context of one mechanism, as the SPNEGO engine drives it.
pub trait Mechanism: Send + fmt::Debug {
    /// Consumes the peer's token (`None` for the initiator's first call) and produces the next one.
    fn step(&mut self, input: Option<&[u8]>) -> Result<MechStep, MechError>;
    /// Signs `msg` (the DER MechTypeList) once the context is complete (`gss_get_mic`).
    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, MechError>;
    /// [`Mechanism::get_mic`] for a mechanism whose MICs are 16 bytes (NTLM's), without an allocation;
    /// `None` (the default) when it has no such form, and [`Mechanism::get_mic`] is used.
    fn get_mic16(&mut self, _msg: &[u8]) -> Option<Result<[u8; 16], MechError>> {
        None
    }
    /// Told, before the mechListMIC exchange, that both a [`Mechanism::get_mic`] and a
    /// [`Mechanism::verify_mic`] of `msg` are coming (now or with the peer's next token), so that a mechanism
    /// can compute the two together (NTLM: two HMAC_MD5 chains side by side). The default does nothing.
    fn prime_mic(&mut self, _msg: &[u8]) {}
    /// Verifies the peer's `mic` over `msg` (`gss_verify_mic`).
    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), MechError>;
    /// Whether the mechanism provides integrity (can sign the mechListMIC; RFC 4178 §5: without it no MIC is
    /// exchanged).
    fn integrity(&self) -> bool;
    /// Whether the mechanism demands the mechListMIC exchange although SPNEGO's own rules would not (NTLM when
    /// its AUTHENTICATE carried a MIC, MS-SPNG §3.3.5.1; what MIT asks with the OID 1.3.6.1.4.1.7165.655.1.2).
    fn requires_mic(&self) -> bool {
        false
    }
    /// Called after the mechListMIC was verified (`verified`) or produced: NTLM resets its RC4 state there, as
    /// Windows does (MS-SPNG §3.3.5.1).
    fn after_mic(&mut self, _verified: bool) {}
    /// The authenticated peer (acceptor side, once complete), for policy and audit.
    fn peer_name(&self) -> Option<String> {
        None
    }
    /// Acceptor side: the back-end that validated the peer's response and whether it refused, for the audit
    /// record (NTLM; `None` for mechanisms without one).
    fn backend(&self) -> Option<BackendAnswer> {
        None
    }
    /// The context itself, so that the owner can take it back after the negotiation.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// Starts a fresh context of a mechanism.
pub type MechStart = Box<dyn Fn() -> Result<Box<dyn Mechanism>, MechError> + Send + Sync>;

/// A mechanism the engine may negotiate: its OID and how to start a context of it.
pub struct MechEntry {
    /// The mechanism OID as it goes on the wire.
    pub oid: Oid,
    /// Starts a context.
    pub start: MechStart,
}

impl MechEntry {
    /// An entry for `oid` started by `start`.
    pub fn new(
        oid: Oid,
        start: impl Fn() -> Result<Box<dyn Mechanism>, MechError> + Send + Sync + 'static,
    ) -> MechEntry {
        MechEntry {
            oid,
            start: Box::new(start),
        }
    }
}

/// The mechanisms one negotiation may use, most preferred first: their OIDs and how to start a context of
/// each. A `Vec<MechEntry>` is the general form; the interposer has its own, which the negotiation's state
/// holds inline (no allocation per mechanism and per negotiation).
pub trait MechSet: Send {
    /// How many mechanisms.
    fn count(&self) -> usize;
    /// The OID of mechanism `i` (`i < count()`) as it goes on the wire.
    fn oid(&self, i: usize) -> &Oid;
    /// Starts a context of mechanism `i`.
    fn start(&self, i: usize) -> Result<Box<dyn Mechanism>, MechError>;
    /// The OIDs, in order.
    fn oids(&self) -> impl Iterator<Item = &Oid> + Clone + '_ {
        (0..self.count()).map(move |i| self.oid(i))
    }
    /// The index of the first mechanism for which `f` holds.
    fn position(&self, mut f: impl FnMut(&Oid) -> bool) -> Option<usize> {
        (0..self.count()).find(|&i| f(self.oid(i)))
    }
}

impl MechSet for Vec<MechEntry> {
    fn count(&self) -> usize {
        self.len()
    }

    fn oid(&self, i: usize) -> &Oid {
        &self[i].oid
    }

    fn start(&self, i: usize) -> Result<Box<dyn Mechanism>, MechError> {
        (self[i].start)()
    }
}

impl fmt::Debug for MechEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MechEntry({})", self.oid.to_dotted())
    }
}

/// DER contents of [`crate::spnego::OID_KRB5`].
const KRB5_DER: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x02];
/// DER contents of [`crate::spnego::OID_KRB5_MS`].
const KRB5_MS_DER: [u8; 9] = [0x2A, 0x86, 0x48, 0x82, 0xF7, 0x12, 0x01, 0x02, 0x02];
/// DER contents of [`crate::spnego::OID_NTLMSSP`].
const NTLMSSP_DER: [u8; 10] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0A];

impl Oid {
    /// The NTLMSSP OID, [`crate::spnego::OID_NTLMSSP`] (no parsing, no allocation).
    pub fn ntlmssp() -> Oid {
        Oid::from_valid(&NTLMSSP_DER)
    }

    /// The Kerberos OID of RFC 4121, [`crate::spnego::OID_KRB5`].
    pub fn krb5() -> Oid {
        Oid::from_valid(&KRB5_DER)
    }

    /// The Windows 2000 Kerberos OID, [`crate::spnego::OID_KRB5_MS`].
    pub fn krb5_ms() -> Oid {
        Oid::from_valid(&KRB5_MS_DER)
    }
}

/// True for either Kerberos OID (RFC 4121 and the Windows 2000 one, MS-SPNG §3.3.5.3).
pub fn is_kerberos(oid: &Oid) -> bool {
    let d = oid.as_der_content();
    d == KRB5_DER || d == KRB5_MS_DER
}

/// True for the NTLMSSP OID.
pub fn is_ntlm(oid: &Oid) -> bool {
    oid.as_der_content() == NTLMSSP_DER
}

/// True when `a` and `b` name the same mechanism: equal, or both Kerberos.
pub fn same_mech(a: &Oid, b: &Oid) -> bool {
    a == b || (is_kerberos(a) && is_kerberos(b))
}

/// Where an [`NtlmMech`] is.
#[derive(Debug)]
enum NtlmState {
    Initiating(Initiator),
    Accepting(Acceptor),
    Established(Box<Established>),
    Failed,
}

/// NTLM (MS-NLMP) as a [`Mechanism`], over the crate's NTLM core, in-process.
#[derive(Debug)]
pub struct NtlmMech {
    state: NtlmState,
    channel_bindings: Option<[u8; 16]>,
    answer: Option<BackendAnswer>,
}

fn ntlm_failure(e: &NtlmError) -> MechFailure {
    match e {
        NtlmError::Wire(_) | NtlmError::UnexpectedMessage { .. } | NtlmError::BadKeyExchange => {
            MechFailure::Defective
        }
        NtlmError::UnknownUser { .. } => MechFailure::UnknownPrincipal,
        NtlmError::RandomUnavailable | NtlmError::BadContextBlob(_) => MechFailure::Other,
        _ => MechFailure::Rejected,
    }
}

fn ntlm_error(e: NtlmError) -> MechError {
    MechError::new(ntlm_failure(&e), e.to_string())
}

impl NtlmMech {
    /// An NTLM initiator with `cfg`; `channel_bindings` is the MD5 of the application's bindings, if any.
    pub fn initiator(cfg: InitiatorConfig, channel_bindings: Option<[u8; 16]>) -> NtlmMech {
        NtlmMech {
            state: NtlmState::Initiating(Initiator::new(cfg)),
            channel_bindings,
            answer: None,
        }
    }

    /// An NTLM acceptor with `cfg`.
    pub fn acceptor(cfg: AcceptorConfig, channel_bindings: Option<[u8; 16]>) -> NtlmMech {
        NtlmMech {
            state: NtlmState::Accepting(Acceptor::new(cfg)),
            channel_bindings,
            answer: None,
        }
    }

    /// The established NTLM context (for wrap/unwrap after the negotiation).
    pub fn established(&self) -> Option<&Established> {
        match &self.state {
            NtlmState::Established(e) => Some(e),
            _ => None,
        }
    }

    /// Takes the established NTLM context out.
    pub fn into_established(self) -> Option<Box<Established>> {
        match self.state {
            NtlmState::Established(e) => Some(e),
            _ => None,
        }
    }

    fn established_mut(&mut self) -> Result<&mut Established, MechError> {
        match &mut self.state {
            NtlmState::Established(e) => Ok(e),
            _ => Err(MechError::new(
                MechFailure::Other,
                "NTLM context not established",
            )),
        }
    }
}

impl Mechanism for NtlmMech {
    fn step(&mut self, input: Option<&[u8]>) -> Result<MechStep, MechError> {
        let cb = self.channel_bindings;
        let (next, out) = match std::mem::replace(&mut self.state, NtlmState::Failed) {
            NtlmState::Initiating(init) => match init.step(input, cb).map_err(ntlm_error)? {
                InitiatorStep::Continue(next, token) => {
                    (NtlmState::Initiating(next), (token, false))
                }
                InitiatorStep::Done(est, token) => (NtlmState::Established(est), (token, true)),
            },
            NtlmState::Accepting(acc) => {
                let input = input.ok_or_else(|| {
                    MechError::new(MechFailure::Defective, "NTLM acceptor needs a token")
                })?;
                match acc
                    .step_answered(input, cb, &mut self.answer)
                    .map_err(ntlm_error)?
                {
                    AcceptorStep::Continue(next, token) => {
                        (NtlmState::Accepting(next), (token, false))
                    }
                    AcceptorStep::Done(est) => (NtlmState::Established(est), (Vec::new(), true)),
                }
            }
            NtlmState::Established(_) | NtlmState::Failed => {
                return Err(MechError::new(
                    MechFailure::Defective,
                    "NTLM context already finished",
                ))
            }
        };
        self.state = next;
        Ok(MechStep {
            output: out.0,
            complete: out.1,
        })
    }

    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, MechError> {
        Ok(self.established_mut()?.security.sign(msg).to_vec())
    }

    fn get_mic16(&mut self, msg: &[u8]) -> Option<Result<[u8; 16], MechError>> {
        Some(self.established_mut().map(|e| e.security.sign(msg)))
    }

    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), MechError> {
        self.established_mut()?
            .security
            .verify(msg, mic)
            .map_err(|e| MechError::new(MechFailure::Rejected, format!("mechListMIC: {e}")))
    }

    fn integrity(&self) -> bool {
        // As MIT reads GSS_C_INTEG_FLAG: a context that negotiated neither SIGN nor SEAL makes no MICs, and then
        // no mechListMIC is exchanged (RFC 4178 §5), even if the AUTHENTICATE carried an NTLM MIC.
        match &self.state {
            NtlmState::Established(e) => e.flags.intersects(
                crate::ntlm::flags::NegotiateFlags::SIGN | crate::ntlm::flags::NegotiateFlags::SEAL,
            ),
            _ => true,
        }
    }

    fn requires_mic(&self) -> bool {
        matches!(&self.state, NtlmState::Established(e) if e.mic_present)
    }

    fn after_mic(&mut self, verified: bool) {
        if let NtlmState::Established(e) = &mut self.state {
            e.security.reset_rc4(verified);
        }
    }

    fn peer_name(&self) -> Option<String> {
        match &self.state {
            NtlmState::Established(e) if e.side == crate::ntlm::crypto::Side::Server => {
                Some(crate::ntlm::error::display_user(&e.domain, &e.user))
            }
            _ => None,
        }
    }

    fn backend(&self) -> Option<BackendAnswer> {
        self.answer.clone()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spnego::{OID_KRB5, OID_KRB5_MS, OID_NTLMSSP};

    #[test]
    fn oid_constants_match_the_dotted_forms() {
        let o = |s| Oid::from_dotted(s).unwrap();
        assert!(is_kerberos(&o(OID_KRB5)) && is_kerberos(&o(OID_KRB5_MS)));
        assert!(is_ntlm(&o(OID_NTLMSSP)) && !is_ntlm(&o(OID_KRB5)));
        assert!(!is_kerberos(&o(OID_NTLMSSP)) && !is_kerberos(&o("1.2.840.113554.1.2.3")));
        assert!(same_mech(&o(OID_KRB5), &o(OID_KRB5_MS)));
        assert_eq!(Oid::ntlmssp(), o(OID_NTLMSSP));
        assert_eq!(Oid::krb5(), o(OID_KRB5));
        assert_eq!(Oid::krb5_ms(), o(OID_KRB5_MS));
    }
}
