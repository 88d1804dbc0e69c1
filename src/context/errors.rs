//! Core errors (NTLM, back-end refusals, session security) mapped to GSS major/minor codes and their texts.

use super::*;

/// Maps a core error to the GSS major/minor pair with its operator text.
pub fn ntlm_error(e: NtlmError) -> GssError {
    let text = e.to_string();
    let (major, minor) = match &e {
        NtlmError::Wire(_) => (GSS_S_DEFECTIVE_TOKEN, Minor::MalformedToken),
        NtlmError::UnexpectedMessage { .. } => (GSS_S_DEFECTIVE_TOKEN, Minor::BadSequence),
        NtlmError::RandomUnavailable => (GSS_S_FAILURE, Minor::InternalPanic),
        NtlmError::UnknownUser { .. } | NtlmError::UnknownUserNoted { .. } => {
            (GSS_S_FAILURE, Minor::UnknownUser)
        }
        NtlmError::UserDatabaseUnavailable { .. } => (GSS_S_FAILURE, Minor::UserFile),
        NtlmError::WrongPassword { .. } => (GSS_S_FAILURE, Minor::WrongPassword),
        NtlmError::LogonRefused { reason, .. } => (GSS_S_FAILURE, refusal_minor(reason)),
        NtlmError::BackendUnavailable(_) => (GSS_S_FAILURE, Minor::BackendUnavailable),
        NtlmError::CachedCredential(_) => (GSS_S_FAILURE, Minor::CachedCredential),
        NtlmError::MicMissing => (GSS_S_DEFECTIVE_TOKEN, Minor::MicMissing),
        NtlmError::MicMismatch => (GSS_S_DEFECTIVE_TOKEN, Minor::BadMic),
        NtlmError::ChannelBindingsMismatch | NtlmError::ChannelBindingsMissing => {
            (GSS_S_BAD_BINDINGS, Minor::BadChannelBindings)
        }
        NtlmError::SpnMismatch { .. } => (GSS_S_UNAUTHORIZED, Minor::BadTargetName),
        NtlmError::NtlmV1Refused { .. } | NtlmError::LmRefused => {
            (GSS_S_UNAUTHORIZED, Minor::NtlmV1Refused)
        }
        NtlmError::AnonymousRefused | NtlmError::AnonymousNotAllowed => {
            (GSS_S_UNAUTHORIZED, Minor::AnonymousRefused)
        }
        NtlmError::TimestampSkew { .. } => (GSS_S_CONTEXT_EXPIRED, Minor::ClockSkew),
        NtlmError::FlagsNotOffered { .. } | NtlmError::RequiredFlagMissing { .. } => {
            (GSS_S_FAILURE, Minor::InsufficientSecurity)
        }
        NtlmError::BadKeyExchange => (GSS_S_DEFECTIVE_TOKEN, Minor::MalformedToken),
        NtlmError::BadContextBlob(_) => (GSS_S_DEFECTIVE_TOKEN, Minor::BadContextToken),
        NtlmError::ChallengeAltered => (GSS_S_DEFECTIVE_TOKEN, Minor::ChallengeAltered),
    };
    GssError::with_detail(major, minor, text)
}

/// The minor code of a back-end refusal: one per reason.
pub(super) fn refusal_minor(r: &Refusal) -> Minor {
    match r {
        Refusal::UnknownUser | Refusal::UnknownUserNoted(_) => Minor::UnknownUser,
        Refusal::UserDatabaseUnavailable(_) => Minor::UserFile,
        Refusal::WrongPassword => Minor::WrongPassword,
        Refusal::AccountDisabled => Minor::AccountDisabled,
        Refusal::AccountExpired => Minor::AccountExpired,
        Refusal::AccountLockedOut => Minor::AccountLockedOut,
        Refusal::PasswordExpired => Minor::PasswordExpired,
        Refusal::PasswordMustChange => Minor::PasswordMustChange,
        Refusal::InvalidLogonHours => Minor::InvalidLogonHours,
        Refusal::InvalidWorkstation => Minor::InvalidWorkstation,
        Refusal::LmUnavailable => Minor::NtlmV1Refused,
        Refusal::ResponseTypeRefused => Minor::ResponseTypeRefused,
        Refusal::Unavailable(_) => Minor::BackendUnavailable,
        Refusal::Other { .. } => Minor::LogonRefused,
    }
}

pub(super) fn security_error(e: SecurityError) -> GssError {
    match e {
        SecurityError::Duplicate { expected, got } => GssError::with_detail(
            GSS_S_BAD_SIG | GSS_S_DUPLICATE_TOKEN,
            Minor::BadSequence,
            format!("sequence number {got} already received (expected {expected})"),
        ),
        SecurityError::Gap { expected, got } => GssError::with_detail(
            GSS_S_BAD_SIG | GSS_S_GAP_TOKEN,
            Minor::BadSequence,
            format!("sequence number {got} skips ahead (expected {expected})"),
        ),
        SecurityError::BadLength => GssError::with_detail(
            GSS_S_DEFECTIVE_TOKEN,
            Minor::MalformedToken,
            "token too short",
        ),
        other => GssError::with_detail(GSS_S_BAD_SIG, Minor::BadSignature, other.to_string()),
    }
}

pub(super) fn no_context() -> GssError {
    GssError::new(GSS_S_NO_CONTEXT, Minor::ContextIncomplete)
}
