//! Per-message helpers (RFC 2743 §2.3 over MS-NLMP §3.4): QOP check, wrap-token layout, sealing with or
//! without NTLMSSP_NEGOTIATE_SEAL, and the SASL strength.

use super::*;

pub(super) fn check_qop(qop: u32) -> Result<(), GssError> {
    if qop != 0 {
        return Err(GssError::with_detail(
            GSS_S_BAD_QOP,
            Minor::BadOptionValue,
            "only the default QOP (0) exists",
        ));
    }
    Ok(())
}

pub(super) fn too_long() -> GssError {
    GssError::with_detail(
        GSS_S_FAILURE,
        Minor::MalformedToken,
        "message buffer too small",
    )
}

pub(super) fn split_wrap_token(token: &[u8]) -> Result<(&[u8], &[u8]), GssError> {
    if token.len() < SessionSecurity::SIGNATURE_LEN {
        return Err(GssError::with_detail(
            GSS_S_DEFECTIVE_TOKEN,
            Minor::MalformedToken,
            format!(
                "wrap token is {} bytes, shorter than its 16-byte signature",
                token.len()
            ),
        ));
    }
    Ok(token.split_at(SessionSecurity::SIGNATURE_LEN))
}

pub(super) fn wrap_in_place(
    est: &mut Established,
    body: &mut [u8],
    header: &mut [u8],
) -> Result<bool, GssError> {
    if header.len() != SessionSecurity::SIGNATURE_LEN {
        return Err(GssError::with_detail(
            GSS_S_FAILURE,
            Minor::MalformedToken,
            "header must be 16 bytes",
        ));
    }
    let neg = est.flags;
    let (sig, sealed) = if seals(neg) {
        (est.security.seal_in_place(body), true)
    } else {
        return Err(GssError::with_detail(
            GSS_S_UNAVAILABLE,
            Minor::InsufficientSecurity,
            "neither signing nor sealing was negotiated",
        ));
    };
    header.copy_from_slice(&sig);
    Ok(sealed)
}

/// Whether `gss_wrap` seals: whenever SIGN or SEAL was negotiated. Without SEAL this is what gss-ntlmssp,
/// pyspnego, .NET's managed NTLM and Windows' LDAP client send, and what Samba accepts (its unwrap falls back to
/// unsealing and then seals too); a signed-only token would be refused by all of the former. See INTEROP.md,
/// "Wrap tokens when SEAL was not negotiated".
pub(super) fn seals(neg: NegotiateFlags) -> bool {
    neg.intersects(NegotiateFlags::SIGN | NegotiateFlags::SEAL)
}

pub(super) fn unwrap_in_place(
    est: &mut Established,
    body: &mut [u8],
    sig: &[u8],
) -> Result<bool, GssError> {
    let neg = est.flags;
    if neg.contains(NegotiateFlags::SEAL) {
        est.security
            .unseal_in_place(body, sig)
            .map_err(security_error)?;
        Ok(true)
    } else if neg.contains(NegotiateFlags::SIGN) {
        // SEAL not negotiated: the token is signed-only (MS-NLMP, Samba) or sealed anyway (gss-ntlmssp, pyspnego,
        // .NET, Windows' LDAP client). Try the signed form first, then the sealed one, each from the same starting
        // state (Samba's `ntlmssp_unwrap` does the same); once a sealed token verified, only the sealed form is
        // tried (Samba sets SEAL too).
        let mut signed = est.security.clone();
        let signed_err = match signed.verify(body, sig) {
            Ok(()) => {
                est.security = signed;
                est.peer_wraps_signed = true;
                return Ok(false);
            }
            Err(e) => e,
        };
        let mut sealed = est.security.clone();
        match sealed.unseal_in_place(body, sig) {
            Ok(()) => {
                est.security = sealed;
                est.flags |= NegotiateFlags::SEAL;
                Ok(true)
            }
            Err(sealed_err) => {
                // Refused in both forms: spend the slot in the form this peer sends (sealed until it has sent a
                // signed-only token: every peer but Samba seals, and Samba ends its own fallback the same way).
                est.security = if est.peer_wraps_signed {
                    signed
                } else {
                    sealed
                };
                Err(security_error(match sealed_err {
                    SecurityError::Duplicate { .. } | SecurityError::Gap { .. } => sealed_err,
                    _ => signed_err,
                }))
            }
        }
    } else {
        Err(GssError::with_detail(
            GSS_S_UNAVAILABLE,
            Minor::InsufficientSecurity,
            "neither signing nor sealing was negotiated",
        ))
    }
}

/// The SASL security strength factor (RFC 4422): key bits when sealing, 1 for integrity only, 0 for none.
pub(super) fn sasl_ssf(neg: NegotiateFlags) -> u32 {
    if neg.contains(NegotiateFlags::SEAL) {
        if neg.contains(NegotiateFlags::KEY_128) {
            128
        } else if neg.contains(NegotiateFlags::KEY_56) {
            56
        } else {
            40
        }
    } else if neg.contains(NegotiateFlags::SIGN) {
        1
    } else {
        0
    }
}
