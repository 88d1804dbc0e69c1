//! Errors of the NTLM core. Each variant is a distinct, operator-readable reason; the GSS layer maps each one
//! to its own minor status code.
#![forbid(unsafe_code)]

use core::fmt;

/// Why a message could not be decoded (MS-NLMP §2.2). Produced by the parsers in [`crate::ntlm::wire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the fixed part of the structure needs.
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// The message does not start with `NTLMSSP\0`.
    BadSignature,
    /// The MessageType field is not the one expected.
    WrongMessageType { expected: u32, got: u32 },
    /// A payload field points outside the message or into its fixed header.
    FieldOutOfRange { field: &'static str },
    /// Two non-empty payload fields overlap.
    FieldOverlap {
        field: &'static str,
        other: &'static str,
    },
    /// A field is longer than the protocol allows.
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// A field has a length the protocol forbids (odd UTF-16 length, wrong fixed size, ...).
    BadFieldLength { field: &'static str, len: usize },
    /// An AV pair list is malformed (MS-NLMP §2.2.2.1).
    BadAvPairs(&'static str),
    /// Any other violation of the message format.
    Invalid(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { what, need, have } => {
                write!(f, "{what} truncated: needs {need} bytes, has {have}")
            }
            WireError::BadSignature => f.write_str("not an NTLMSSP message (bad signature)"),
            WireError::WrongMessageType { expected, got } => {
                write!(
                    f,
                    "unexpected NTLM message type {got} (expected {expected})"
                )
            }
            WireError::FieldOutOfRange { field } => {
                write!(f, "field {field} points outside the message")
            }
            WireError::FieldOverlap { field, other } => {
                write!(f, "field {field} overlaps field {other}")
            }
            WireError::FieldTooLong { field, len, max } => {
                write!(
                    f,
                    "field {field} is {len} bytes long (at most {max} allowed)"
                )
            }
            WireError::BadFieldLength { field, len } => {
                write!(f, "field {field} has invalid length {len}")
            }
            WireError::BadAvPairs(why) => write!(f, "malformed AV pair list: {why}"),
            WireError::Invalid(why) => write!(f, "malformed NTLM message: {why}"),
        }
    }
}

impl std::error::Error for WireError {}
