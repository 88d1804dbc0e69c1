//! GSSAPI status codes: the major codes of RFC 2744 §3.9.1 / RFC 2743 §1.2.1 and this mechanism's minor codes.
//!
//! Every minor code lives in the one [`Minor`] enum with a stable number (base `0x4E54_0000`, "NT", so it does not
//! collide with errno or krb5 com_err values) and the text `gss_display_status` prints. A thread-local "last error
//! detail" lets `gss_display_status` add the specifics (a user name, a parser message, a line number) of the last
//! error returned on this thread.
#![forbid(unsafe_code)]

use core::fmt;
use std::cell::RefCell;

/// `GSS_S_COMPLETE`.
pub const GSS_S_COMPLETE: u32 = 0;

const CALLING_ERROR_OFFSET: u32 = 24;
const ROUTINE_ERROR_OFFSET: u32 = 16;
/// Mask of the calling-error field (RFC 2744 §3.9.1).
pub const CALLING_ERROR_MASK: u32 = 0o377 << CALLING_ERROR_OFFSET;
/// Mask of the routine-error field.
pub const ROUTINE_ERROR_MASK: u32 = 0o377 << ROUTINE_ERROR_OFFSET;
/// Mask of the supplementary-information field.
pub const SUPPLEMENTARY_MASK: u32 = 0o177777;

/// A parameter required for reading could not be read (NULL pointer).
pub const GSS_S_CALL_INACCESSIBLE_READ: u32 = 1 << CALLING_ERROR_OFFSET;
/// A parameter required for writing could not be written (NULL pointer).
pub const GSS_S_CALL_INACCESSIBLE_WRITE: u32 = 2 << CALLING_ERROR_OFFSET;
/// A parameter was malformed.
pub const GSS_S_CALL_BAD_STRUCTURE: u32 = 3 << CALLING_ERROR_OFFSET;

/// An unsupported mechanism was requested.
pub const GSS_S_BAD_MECH: u32 = 1 << ROUTINE_ERROR_OFFSET;
/// An invalid name was supplied.
pub const GSS_S_BAD_NAME: u32 = 2 << ROUTINE_ERROR_OFFSET;
/// A supplied name was of an unsupported type.
pub const GSS_S_BAD_NAMETYPE: u32 = 3 << ROUTINE_ERROR_OFFSET;
/// Incorrect channel bindings were supplied.
pub const GSS_S_BAD_BINDINGS: u32 = 4 << ROUTINE_ERROR_OFFSET;
/// An invalid status code was supplied.
pub const GSS_S_BAD_STATUS: u32 = 5 << ROUTINE_ERROR_OFFSET;
/// A token had an invalid MIC.
pub const GSS_S_BAD_SIG: u32 = 6 << ROUTINE_ERROR_OFFSET;
/// Same as [`GSS_S_BAD_SIG`].
pub const GSS_S_BAD_MIC: u32 = GSS_S_BAD_SIG;
/// No credentials were supplied, or they were unavailable or inaccessible.
pub const GSS_S_NO_CRED: u32 = 7 << ROUTINE_ERROR_OFFSET;
/// Invalid context has been supplied.
pub const GSS_S_NO_CONTEXT: u32 = 8 << ROUTINE_ERROR_OFFSET;
/// A supplied token was invalid.
pub const GSS_S_DEFECTIVE_TOKEN: u32 = 9 << ROUTINE_ERROR_OFFSET;
/// A supplied credential was invalid.
pub const GSS_S_DEFECTIVE_CREDENTIAL: u32 = 10 << ROUTINE_ERROR_OFFSET;
/// The referenced credentials have expired.
pub const GSS_S_CREDENTIALS_EXPIRED: u32 = 11 << ROUTINE_ERROR_OFFSET;
/// The context has expired.
pub const GSS_S_CONTEXT_EXPIRED: u32 = 12 << ROUTINE_ERROR_OFFSET;
/// Miscellaneous failure (see the minor code).
pub const GSS_S_FAILURE: u32 = 13 << ROUTINE_ERROR_OFFSET;
/// The quality-of-protection requested could not be provided.
pub const GSS_S_BAD_QOP: u32 = 14 << ROUTINE_ERROR_OFFSET;
/// The operation is forbidden by local security policy.
pub const GSS_S_UNAUTHORIZED: u32 = 15 << ROUTINE_ERROR_OFFSET;
/// The operation or option is unavailable.
pub const GSS_S_UNAVAILABLE: u32 = 16 << ROUTINE_ERROR_OFFSET;
/// The requested credential element already exists.
pub const GSS_S_DUPLICATE_ELEMENT: u32 = 17 << ROUTINE_ERROR_OFFSET;
/// The provided name was not a mechanism name.
pub const GSS_S_NAME_NOT_MN: u32 = 18 << ROUTINE_ERROR_OFFSET;
/// An unsupported mechanism attribute was requested (RFC 5587).
pub const GSS_S_BAD_MECH_ATTR: u32 = 19 << ROUTINE_ERROR_OFFSET;
/// MIT's alias: credentials unavailable is reported as a failure.
pub const GSS_S_CRED_UNAVAIL: u32 = GSS_S_FAILURE;

/// Supplementary: the routine must be called again to complete its function.
pub const GSS_S_CONTINUE_NEEDED: u32 = 1 << 0;
/// Supplementary: the token was a duplicate of an earlier token.
pub const GSS_S_DUPLICATE_TOKEN: u32 = 1 << 1;
/// Supplementary: the token's validity period has expired.
pub const GSS_S_OLD_TOKEN: u32 = 1 << 2;
/// Supplementary: a later token has already been processed.
pub const GSS_S_UNSEQ_TOKEN: u32 = 1 << 3;
/// Supplementary: an expected per-message token was not received.
pub const GSS_S_GAP_TOKEN: u32 = 1 << 4;

/// `GSS_C_GSS_CODE` status type of `gss_display_status`.
pub const GSS_C_GSS_CODE: i32 = 1;
/// `GSS_C_MECH_CODE` status type of `gss_display_status`.
pub const GSS_C_MECH_CODE: i32 = 2;

/// True when the major status carries a calling or routine error.
pub const fn is_error(major: u32) -> bool {
    major & (CALLING_ERROR_MASK | ROUTINE_ERROR_MASK) != 0
}

/// The base of our minor codes: "NT" in the high half.
pub const MINOR_BASE: u32 = 0x4E54_0000;

macro_rules! minor_codes {
    ($( $(#[$doc:meta])* $name:ident = $off:expr => $text:expr, )*) => {
        /// This mechanism's minor status codes. The numbers are stable: `MINOR_BASE + offset`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Minor {
            $( $(#[$doc])* $name = MINOR_BASE + $off, )*
        }

        impl Minor {
            /// Every code, in number order.
            pub const ALL: &'static [Minor] = &[$(Minor::$name,)*];

            /// The operator-readable text printed by `gss_display_status`.
            pub const fn text(self) -> &'static str {
                match self { $(Minor::$name => $text,)* }
            }
        }
    };
}

minor_codes! {
    /// No error.
    None = 0 => "no error",
    /// A required pointer argument was NULL.
    NullArgument = 1 => "NULL pointer argument",
    /// A Rust panic was caught at the C boundary.
    InternalPanic = 2 => "internal error (panic caught)",
    /// An allocation failed.
    OutOfMemory = 3 => "out of memory",
    /// A handle is not one of ours or was already released.
    InvalidHandle = 4 => "invalid or already released handle",
    /// The OID asked for is not the NTLMSSP mechanism.
    WrongMech = 5 => "mechanism is not NTLMSSP",
    /// The name type is not supported.
    UnsupportedNameType = 6 => "unsupported name type",
    /// The name could not be parsed.
    BadName = 7 => "malformed name",
    /// The name is too long.
    NameTooLong = 8 => "name too long",
    /// The exported name token is malformed.
    BadExportedName = 9 => "malformed exported name token",
    /// A name of the wrong kind for the operation (e.g. a service where a user is needed).
    WrongNameKind = 10 => "name of the wrong kind for this operation",
    /// No local account matches the name.
    NoLocalName = 11 => "no local account matches this name",
    /// The name has no such attribute.
    NoSuchAttribute = 12 => "name attribute not available",
    /// No credentials could be found.
    NoCredentials = 20 => "NTLM: no credentials found (set NTLM_USER_FILE, run gss-negotiate login, or pass a password / cred store)",
    /// The user is not in the credential source.
    UnknownUser = 21 => "NTLM: unknown user",
    /// The user file could not be used.
    UserFile = 22 => "NTLM: user file",
    /// The user file is writable by others.
    UserFileInsecure = 23 => "NTLM: user file is writable by others; refusing it",
    /// A hex NT hash could not be parsed.
    BadHash = 24 => "NTLM: malformed NT hash (need 32 hex digits)",
    /// The credential usage requested cannot be provided.
    BadCredUsage = 25 => "NTLM: credential usage not supported for this name",
    /// An exported credential token is malformed.
    BadCredToken = 26 => "NTLM: malformed exported credential",
    /// The credential option value is malformed.
    BadOptionValue = 27 => "NTLM: malformed option value",
    /// An unknown OID was passed to an extension call.
    UnknownOption = 28 => "NTLM: unknown option OID",
    /// A configuration value is invalid.
    BadConfig = 29 => "NTLM: invalid configuration value",
    /// The password does not match.
    WrongPassword = 40 => "NTLM: password does not match",
    /// A MIC was announced but missing.
    MicMissing = 41 => "NTLM: MIC missing although announced",
    /// The MIC does not verify.
    BadMic = 42 => "NTLM: MIC does not verify",
    /// Channel bindings do not match.
    BadChannelBindings = 43 => "NTLM: channel bindings do not match",
    /// The target SPN does not match.
    BadTargetName = 44 => "NTLM: target SPN does not match",
    /// NTLMv1 refused by policy.
    NtlmV1Refused = 45 => "NTLM: NTLMv1 refused by LM_COMPAT_LEVEL",
    /// Anonymous logon refused by policy.
    AnonymousRefused = 46 => "NTLM: anonymous logon refused",
    /// The CHALLENGE timestamp is outside the allowed skew.
    ClockSkew = 47 => "NTLM: CHALLENGE timestamp outside allowed skew",
    /// A token is malformed.
    MalformedToken = 48 => "NTLM: malformed token",
    /// The negotiated flags do not meet the required security.
    InsufficientSecurity = 49 => "NTLM: negotiated flags do not meet the required security",
    /// A message arrived out of sequence.
    BadSequence = 50 => "NTLM: message out of sequence",
    /// The context is not established yet.
    ContextIncomplete = 51 => "NTLM: security context not established",
    /// A wrap or MIC token does not verify.
    BadSignature = 52 => "NTLM: message signature does not verify (tampered, replayed or out of order)",
    /// An exported context token is malformed.
    BadContextToken = 53 => "NTLM: malformed exported security context",
    /// The CHALLENGE was altered in transit.
    ChallengeAltered = 54 => "NTLM: CHALLENGE altered in transit",
    /// The account is disabled.
    AccountDisabled = 55 => "NTLM: account disabled",
    /// The account has expired.
    AccountExpired = 56 => "NTLM: account expired",
    /// The account is locked out.
    AccountLockedOut = 57 => "NTLM: account locked out",
    /// The password has expired.
    PasswordExpired = 58 => "NTLM: password expired",
    /// The password must be changed before the first logon.
    PasswordMustChange = 59 => "NTLM: password must be changed before logon",
    /// The operation is not implemented yet.
    NotImplemented = 60 => "operation not implemented by this mechanism",
    /// The account may not log on at this time.
    InvalidLogonHours = 61 => "NTLM: logon not allowed at this time",
    /// The account may not log on from this workstation.
    InvalidWorkstation = 62 => "NTLM: logon not allowed from this workstation",
    /// The domain controller refused the logon for another reason (its NT status is in the detail).
    LogonRefused = 63 => "NTLM: logon refused by the domain controller",
    /// The back-end that validates logons (winbind) is absent or does not answer.
    BackendUnavailable = 64 => "NTLM: authentication back-end unavailable",
    /// The domain controller refused the response type (e.g. NTLMv1 where only NTLMv2 is allowed).
    ResponseTypeRefused = 65 => "NTLM: the domain controller refused this response type",
    /// winbind's cached credentials could not do what was asked (channel bindings, or winbind refused).
    CachedCredential = 66 => "NTLM: winbind's cached credentials",
    /// NTLM refused by the policy file (`/etc/gss-negotiate/policy.conf` or `GSS_NEGOTIATE_POLICY`).
    PolicyDenied = 90 => "NTLM refused by policy (see /etc/gss-negotiate/policy.conf or GSS_NEGOTIATE_POLICY)",
    /// The policy file could not be used.
    BadPolicy = 91 => "policy file invalid; NTLM refused until it is fixed",
}

impl Minor {
    /// The stable number.
    pub const fn code(self) -> u32 {
        self as u32
    }
    /// The code for a number, if it is one of ours.
    pub fn from_code(code: u32) -> Option<Minor> {
        Minor::ALL.iter().copied().find(|m| m.code() == code)
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// An error to hand back through the C boundary: major code, minor code, optional detail for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GssError {
    /// The GSS major status.
    pub major: u32,
    /// The mechanism minor status.
    pub minor: Minor,
    /// Specifics (user name, parser message, line number); never secret material.
    pub detail: Option<String>,
}

impl GssError {
    /// An error without detail.
    pub const fn new(major: u32, minor: Minor) -> Self {
        GssError {
            major,
            minor,
            detail: None,
        }
    }
    /// An error with a detail text.
    pub fn with_detail(major: u32, minor: Minor, detail: impl Into<String>) -> Self {
        GssError {
            major,
            minor,
            detail: Some(detail.into()),
        }
    }
    /// Sets the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl fmt::Display for GssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(d) => f.write_str(&join_detail(self.minor.text(), d)),
            None => f.write_str(self.minor.text()),
        }
    }
}

impl std::error::Error for GssError {}

thread_local! {
    static LAST_DETAIL: RefCell<Option<(u32, String)>> = const { RefCell::new(None) };
}

/// Remembers the detail of the error just returned on this thread (or forgets it when there is none).
pub fn record_last_error(err: &GssError) {
    let value = err.detail.clone().map(|d| (err.minor.code(), d));
    let _ = LAST_DETAIL.try_with(|c| *c.borrow_mut() = value);
}

/// The detail of the last error returned on this thread, if it carried `minor`.
pub fn last_detail_for(minor: u32) -> Option<String> {
    LAST_DETAIL
        .try_with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(m, _)| *m == minor)
                .map(|(_, d)| d.clone())
        })
        .ok()
        .flatten()
}

/// `text: detail`, or — when the detail already starts with the text's words (a core error's own sentence) —
/// the text's prefix and the detail, so nothing is said twice: "NTLM: password does not match for DOM\\alice".
fn join_detail(text: &str, detail: &str) -> String {
    let stem = text.strip_prefix("NTLM: ").unwrap_or(text);
    if !stem.is_empty() && detail.starts_with(stem) {
        format!(
            "{}{detail}",
            text.get(..text.len() - stem.len()).unwrap_or_default()
        )
    } else {
        format!("{text}: {detail}")
    }
}

/// The text for a minor code: ours with the last detail of this thread, or a generic one for a foreign code.
pub fn minor_message(minor: u32) -> String {
    match Minor::from_code(minor) {
        Some(m) => match last_detail_for(minor) {
            Some(d) => join_detail(m.text(), &d),
            None => m.text().to_string(),
        },
        None => format!("unknown NTLM mechanism status code {minor:#x}"),
    }
}

const CALLING_TEXT: [&str; 4] = [
    "",
    "A required input parameter could not be read",
    "A required output parameter could not be written",
    "A parameter was malformed",
];

const ROUTINE_TEXT: [&str; 20] = [
    "",
    "An unsupported mechanism was requested",
    "An invalid name was supplied",
    "A supplied name was of an unsupported type",
    "Incorrect channel bindings were supplied",
    "An invalid status code was supplied",
    "A token had an invalid MIC",
    "No credentials were supplied, or the credentials were unavailable or inaccessible",
    "Invalid context has been supplied",
    "A supplied token was invalid",
    "A supplied credential was invalid",
    "The referenced credentials have expired",
    "The context has expired",
    "Unspecified GSS failure.  Minor code may provide more information",
    "The quality-of-protection requested could not be provided",
    "The operation is forbidden by local security policy",
    "The operation or option is unavailable",
    "The requested credential element already exists",
    "The provided name was not a mechanism name",
    "An unsupported mechanism attribute was requested",
];

const SUPPLEMENTARY_TEXT: [&str; 5] = [
    "The routine must be called again to complete its function",
    "The token was a duplicate of an earlier token",
    "The token's validity period has expired",
    "A later token has already been processed",
    "An expected per-message token was not received",
];

/// The messages describing a major status, in the order `gss_display_status` iterates them:
/// calling error, routine error, then each supplementary bit. An unknown field yields a generic text.
pub fn major_messages(major: u32) -> Vec<String> {
    let mut out = Vec::new();
    let calling = ((major & CALLING_ERROR_MASK) >> CALLING_ERROR_OFFSET) as usize;
    let routine = ((major & ROUTINE_ERROR_MASK) >> ROUTINE_ERROR_OFFSET) as usize;
    if calling != 0 {
        out.push(match CALLING_TEXT.get(calling) {
            Some(t) => (*t).to_string(),
            None => format!("Unknown calling error {calling}"),
        });
    }
    if routine != 0 {
        out.push(match ROUTINE_TEXT.get(routine) {
            Some(t) => (*t).to_string(),
            None => format!("Unknown routine error {routine}"),
        });
    }
    let supp = major & SUPPLEMENTARY_MASK;
    for bit in 0..16u32 {
        if supp & (1 << bit) != 0 {
            out.push(match SUPPLEMENTARY_TEXT.get(bit as usize) {
                Some(t) => (*t).to_string(),
                None => format!("Unknown supplementary status bit {bit}"),
            });
        }
    }
    if out.is_empty() {
        out.push("The routine completed successfully".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn minor_codes_are_unique_and_in_our_range() {
        let mut seen = HashSet::new();
        for m in Minor::ALL {
            assert!(seen.insert(m.code()), "{m:?} duplicated");
            assert_eq!(m.code() & 0xFFFF_0000, MINOR_BASE);
            assert_eq!(Minor::from_code(m.code()), Some(*m));
            assert!(!m.text().is_empty());
        }
    }

    #[test]
    fn minor_numbers_are_stable() {
        assert_eq!(Minor::WrongPassword.code(), 0x4E54_0028);
        assert_eq!(Minor::InternalPanic.code(), 0x4E54_0002);
    }

    #[test]
    fn major_messages_list_routine_then_supplementary() {
        let m = major_messages(GSS_S_FAILURE | GSS_S_CONTINUE_NEEDED | GSS_S_GAP_TOKEN);
        assert_eq!(m.len(), 3);
        assert!(m[0].starts_with("Unspecified GSS failure"));
        assert!(m[1].starts_with("The routine must be called again"));
        assert!(m[2].contains("per-message token"));
        assert_eq!(
            major_messages(GSS_S_CALL_INACCESSIBLE_READ | GSS_S_BAD_NAME).len(),
            2
        );
        assert_eq!(major_messages(GSS_S_COMPLETE).len(), 1);
    }

    #[test]
    fn last_detail_is_shown_only_for_its_minor() {
        record_last_error(&GssError::with_detail(
            GSS_S_NO_CRED,
            Minor::UnknownUser,
            "alice",
        ));
        assert_eq!(
            minor_message(Minor::UnknownUser.code()),
            "NTLM: unknown user: alice"
        );
        assert_eq!(minor_message(Minor::BadName.code()), "malformed name");
        record_last_error(&GssError::with_detail(
            GSS_S_FAILURE,
            Minor::WrongPassword,
            "password does not match for TESTDOM\\alice",
        ));
        assert_eq!(
            minor_message(Minor::WrongPassword.code()),
            "NTLM: password does not match for TESTDOM\\alice"
        );
        record_last_error(&GssError::new(GSS_S_FAILURE, Minor::BadName));
        assert_eq!(
            minor_message(Minor::UnknownUser.code()),
            "NTLM: unknown user"
        );
    }

    #[test]
    fn is_error_ignores_supplementary_bits() {
        assert!(!is_error(GSS_S_CONTINUE_NEEDED));
        assert!(is_error(GSS_S_BAD_MIC | GSS_S_DUPLICATE_TOKEN));
    }
}
