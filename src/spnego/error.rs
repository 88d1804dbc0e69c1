//! Why a SPNEGO negotiation failed (RFC 4178 §3–§5, MS-SPNG §3), and the GSS status each failure maps to.
#![forbid(unsafe_code)]

use std::fmt;

use super::der::DerError;
use super::mech::MechError;
use crate::status::{
    GssError, Minor, GSS_S_BAD_MECH, GSS_S_BAD_SIG, GSS_S_DEFECTIVE_TOKEN, GSS_S_FAILURE,
    GSS_S_NO_CRED, GSS_S_UNAUTHORIZED, ROUTINE_ERROR_MASK,
};

/// A failed negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpnegoError {
    /// The token is not strict DER or not a SPNEGO token.
    Decode(DerError),
    /// A well-formed token that does not fit the state (wrong choice, a field missing or forbidden here).
    Unexpected(&'static str),
    /// The acceptor supports none of the initiator's mechanisms (or policy refuses the ones it supports).
    NoCommonMechanism,
    /// The initiator could start none of its mechanisms; the text lists why, per mechanism.
    NoMechanismAvailable(String),
    /// The peer answered `reject` (RFC 4178 §4.2.2).
    Rejected,
    /// The selected mechanism failed.
    Mechanism(MechError),
    /// A mechListMIC was required and the peer sent none with its final token (RFC 4178 §5).
    MicMissing,
    /// The peer's mechListMIC does not verify: the mechanism list may have been altered (RFC 4178 §5).
    BadMic(String),
    /// The peer sent a second mechListMIC.
    DuplicateMic,
    /// NTLM refused by the policy.
    PolicyDenied(String),
    /// The context already finished or failed.
    Spent,
}

impl From<DerError> for SpnegoError {
    fn from(e: DerError) -> SpnegoError {
        SpnegoError::Decode(e)
    }
}

impl From<MechError> for SpnegoError {
    fn from(e: MechError) -> SpnegoError {
        SpnegoError::Mechanism(e)
    }
}

impl fmt::Display for SpnegoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpnegoError::Decode(e) => write!(f, "SPNEGO: malformed token: {e}"),
            SpnegoError::Unexpected(what) => write!(f, "SPNEGO: unexpected token: {what}"),
            SpnegoError::NoCommonMechanism => f.write_str("SPNEGO: no common mechanism"),
            SpnegoError::NoMechanismAvailable(why) => {
                write!(f, "SPNEGO: no mechanism could start: {why}")
            }
            SpnegoError::Rejected => f.write_str("SPNEGO: the acceptor rejected the negotiation"),
            SpnegoError::Mechanism(e) => write!(f, "SPNEGO: mechanism failed: {e}"),
            SpnegoError::MicMissing => f.write_str("SPNEGO: required mechListMIC missing"),
            SpnegoError::BadMic(d) => write!(f, "SPNEGO: mechListMIC does not verify: {d}"),
            SpnegoError::DuplicateMic => f.write_str("SPNEGO: second mechListMIC"),
            SpnegoError::PolicyDenied(d) => write!(f, "SPNEGO: NTLM refused by policy: {d}"),
            SpnegoError::Spent => f.write_str("SPNEGO: context already finished"),
        }
    }
}

impl std::error::Error for SpnegoError {}

impl SpnegoError {
    /// The GSS major/minor status and text for this failure.
    pub fn to_gss(&self) -> GssError {
        let (major, minor) = match self {
            SpnegoError::Decode(_) | SpnegoError::Unexpected(_) | SpnegoError::DuplicateMic => {
                (GSS_S_DEFECTIVE_TOKEN, Minor::MalformedToken)
            }
            SpnegoError::NoCommonMechanism => (GSS_S_BAD_MECH, Minor::WrongMech),
            // The acceptor's reject ends the initiator's context with GSS_S_FAILURE, as MIT's SPNEGO does
            // (`interposer_python` `channel_bindings_with_ntlm_answer_as_under_mits_spnego`).
            SpnegoError::Rejected => (GSS_S_FAILURE, Minor::None),
            SpnegoError::NoMechanismAvailable(_) => (GSS_S_NO_CRED, Minor::NoCredentials),
            // The mechglue's routine error when the mechanism is one of its own (Kerberos: e.g.
            // GSS_S_BAD_BINDINGS), as MIT's SPNEGO returns the mechanism's status; else GSS_S_FAILURE.
            SpnegoError::Mechanism(e) => (
                e.major
                    .map(|m| m & ROUTINE_ERROR_MASK)
                    .filter(|m| *m != 0)
                    .unwrap_or(GSS_S_FAILURE),
                Minor::None,
            ),
            SpnegoError::MicMissing => (GSS_S_DEFECTIVE_TOKEN, Minor::MicMissing),
            SpnegoError::BadMic(_) => (GSS_S_BAD_SIG, Minor::BadMic),
            SpnegoError::PolicyDenied(_) => (GSS_S_UNAUTHORIZED, Minor::PolicyDenied),
            SpnegoError::Spent => (GSS_S_FAILURE, Minor::BadSequence),
        };
        GssError::with_detail(major, minor, self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spnego::mech::MechFailure;
    use crate::status::{GSS_S_BAD_BINDINGS, GSS_S_CALL_BAD_STRUCTURE};

    #[test]
    fn a_mechglue_mechanism_failure_keeps_its_routine_error() {
        let glue = MechError {
            major: Some(GSS_S_BAD_BINDINGS | GSS_S_CALL_BAD_STRUCTURE | 1),
            ..MechError::new(MechFailure::Rejected, "Kerberos: bad bindings")
        };
        assert_eq!(
            SpnegoError::Mechanism(glue).to_gss().major,
            GSS_S_BAD_BINDINGS
        );
        let own = MechError::new(MechFailure::Rejected, "NTLM: bad response");
        assert_eq!(SpnegoError::Mechanism(own).to_gss().major, GSS_S_FAILURE);
    }
}
