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

/// Why an NTLM exchange or an established context failed. Every variant is one distinct reason that an operator
/// can act on; the GSS layer gives each its own minor status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtlmError {
    /// A message could not be decoded.
    Wire(WireError),
    /// A message arrived in a state that does not expect it (or after a fatal error).
    UnexpectedMessage { expected: &'static str },
    /// The operating system's random generator failed.
    RandomUnavailable,
    /// The acceptor does not know this user.
    UnknownUser { user: String, domain: String },
    /// The acceptor does not know this user, and its user database has more to say (e.g. skipped lines).
    UnknownUserNoted {
        user: String,
        domain: String,
        note: String,
    },
    /// The acceptor's user database cannot be used (a missing, empty or insecure user file).
    UserDatabaseUnavailable { reason: String },
    /// The response does not prove knowledge of the user's password.
    WrongPassword { user: String, domain: String },
    /// The back-end refused the logon for a reason other than an unknown user or a wrong password (account
    /// disabled, expired, locked out, ...).
    LogonRefused {
        reason: super::validator::Refusal,
        user: String,
        domain: String,
    },
    /// The back-end that validates logons could not be asked (e.g. winbind absent or not answering).
    BackendUnavailable(String),
    /// An initiator credential held by another party (winbind's cached password) could not do what was asked:
    /// the text says what (e.g. channel bindings) or what that party answered.
    CachedCredential(String),
    /// MsvAvFlags announced a MIC but the AUTHENTICATE carries none.
    MicMissing,
    /// The MIC does not match the three messages.
    MicMismatch,
    /// The channel-binding hash of the AUTHENTICATE differs from the acceptor's bindings.
    ChannelBindingsMismatch,
    /// The acceptor requires channel bindings and the initiator sent none.
    ChannelBindingsMissing,
    /// The target name (SPN) does not match.
    SpnMismatch { expected: String, got: String },
    /// NTLMv1 (or LM) refused by the configured LM compatibility level.
    NtlmV1Refused { level: u8 },
    /// LM-only response refused.
    LmRefused,
    /// Anonymous logon refused by configuration.
    AnonymousRefused,
    /// An anonymous context was asked for but anonymous NTLM is disabled on this side.
    AnonymousNotAllowed,
    /// The NTLMv2 timestamp is outside the allowed window.
    TimestampSkew { skew_secs: u64, max_secs: u64 },
    /// The AUTHENTICATE asks for security flags the CHALLENGE did not offer.
    FlagsNotOffered { flags: u32 },
    /// The peer did not agree to a flag this side requires (for example 128-bit keys or NTLMv2 session security).
    RequiredFlagMissing { flags: u32 },
    /// Key exchange was negotiated but the encrypted session key is missing or has the wrong size.
    BadKeyExchange,
    /// The NTLMv2 response does not carry the MsvAvTimestamp the CHALLENGE sent: the CHALLENGE was altered in
    /// transit (for example to make the client drop its MIC).
    ChallengeAltered,
    /// An exported context blob is malformed or from another version.
    BadContextBlob(&'static str),
}

impl fmt::Display for NtlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NtlmError::Wire(e) => write!(f, "malformed token: {e}"),
            NtlmError::UnexpectedMessage { expected } => {
                write!(f, "unexpected token (expected {expected})")
            }
            NtlmError::RandomUnavailable => f.write_str("the system random generator failed"),
            NtlmError::UnknownUser { user, domain } => {
                write!(f, "unknown user {}", display_user(domain, user))
            }
            NtlmError::UnknownUserNoted { user, domain, note } => {
                write!(f, "unknown user {}; {note}", display_user(domain, user))
            }
            NtlmError::UserDatabaseUnavailable { reason } => f.write_str(reason),
            NtlmError::WrongPassword { user, domain } => {
                write!(
                    f,
                    "password does not match for {}",
                    display_user(domain, user)
                )
            }
            NtlmError::LogonRefused {
                reason,
                user,
                domain,
            } => write!(f, "{reason} for {}", display_user(domain, user)),
            NtlmError::BackendUnavailable(why) => {
                write!(f, "authentication back-end unavailable: {why}")
            }
            NtlmError::CachedCredential(why) => write!(f, "winbind's cached credentials: {why}"),
            NtlmError::MicMissing => f.write_str("MIC announced in MsvAvFlags but missing"),
            NtlmError::MicMismatch => f.write_str("MIC does not match the exchanged messages"),
            NtlmError::ChannelBindingsMismatch => f.write_str("channel bindings do not match"),
            NtlmError::ChannelBindingsMissing => {
                f.write_str("channel bindings required but not sent")
            }
            NtlmError::SpnMismatch { expected, got } => {
                write!(
                    f,
                    "target name \"{}\" does not match \"{}\"",
                    escape(got),
                    escape(expected)
                )
            }
            NtlmError::NtlmV1Refused { level } => {
                write!(f, "NTLMv1/LM response refused at LM_COMPAT_LEVEL {level}")
            }
            NtlmError::LmRefused => f.write_str("LM-only response refused"),
            NtlmError::AnonymousRefused => f.write_str("anonymous logon refused"),
            NtlmError::AnonymousNotAllowed => f.write_str("anonymous NTLM is not enabled"),
            NtlmError::TimestampSkew {
                skew_secs,
                max_secs,
            } => {
                write!(f, "NTLMv2 timestamp is {skew_secs} s away from now (at most {max_secs} s allowed)")
            }
            NtlmError::FlagsNotOffered { flags } => {
                write!(
                    f,
                    "AUTHENTICATE asks for flags {flags:#010x} that the CHALLENGE did not offer"
                )
            }
            NtlmError::RequiredFlagMissing { flags } => {
                write!(f, "the peer did not agree to required flags {flags:#010x}")
            }
            NtlmError::BadKeyExchange => {
                f.write_str("key exchange negotiated but the encrypted session key is invalid")
            }
            NtlmError::ChallengeAltered => f.write_str(
                "the NTLMv2 response does not carry the CHALLENGE's timestamp (CHALLENGE altered in transit)",
            ),
            NtlmError::BadContextBlob(why) => write!(f, "invalid exported context: {why}"),
        }
    }
}

impl std::error::Error for NtlmError {}

impl From<WireError> for NtlmError {
    fn from(e: WireError) -> Self {
        NtlmError::Wire(e)
    }
}

/// `DOMAIN\user`, or `user` when the domain is empty — escaped with [`escape`], since both may come from a peer.
pub fn display_user(domain: &str, user: &str) -> String {
    if domain.is_empty() {
        return escape(user).into_owned();
    }
    let (d, u) = (escape(domain), escape(user));
    let mut out = String::with_capacity(d.len() + 1 + u.len());
    out.push_str(&d);
    out.push('\\');
    out.push_str(&u);
    out
}

/// Text from a peer (or any text bound for a status message or the debug log) made safe to show: control
/// characters and every other character Rust does not consider printable (format characters such as bidi
/// overrides and zero-width marks, line and paragraph separators, unassigned code points) become escapes —
/// `\n`, `\r`, `\t`, `\u{1b}` — so a peer cannot forge a log line or drive a terminal. Printable text,
/// backslashes and quotes included, is kept as is (`DOMAIN\user` stays readable); borrowed when unchanged.
/// The one escaping function: every place peer text reaches a status text or the log goes through it.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    // Printable ASCII never needs it (checked first: the common case costs no table lookup).
    let needs = |c: char| {
        !(' '..='~').contains(&c)
            && c != '\\'
            && c != '"'
            && c != '\''
            && c.escape_debug().len() > 1
    };
    if !text.chars().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_shows_controls_and_invisible_characters_and_keeps_the_rest() {
        assert_eq!(
            escape("CORP\\bob \"o'k\" é ü 日本"),
            "CORP\\bob \"o'k\" é ü 日本"
        );
        assert_eq!(escape("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(
            escape("\u{1b}[2J\u{7}\u{0}\u{7f}\u{85}"),
            "\\u{1b}[2J\\u{7}\\0\\u{7f}\\u{85}"
        );
        assert_eq!(
            escape("\u{202e}\u{200b}\u{2028}\u{feff}"),
            "\\u{202e}\\u{200b}\\u{2028}\\u{feff}"
        );
        assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(display_user("D\nX", "u\n"), "D\\nX\\u\\n");
    }
}
