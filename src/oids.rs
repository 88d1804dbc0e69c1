//! Object identifiers and option values of this mechanism, as DER content bytes (the `elements` of a
//! `gss_OID_desc`, X.690 §8.19) and, for C programs, as documented constants in `include/gss_negotiate.h`.
//!
//! The private OIDs under `1.3.6.1.4.1.7165.655.1` are the ones gss-ntlmssp defined, so programs written for it
//! keep working: `.1` set sequence number, `.2` "SPNEGO: does the mech require a mechListMIC", `.3` reset the
//! RC4 state, `.4` debug log file, `.5` default NEGOTIATE flags of a credential.
#![forbid(unsafe_code)]

/// Dotted form of the NTLMSSP mechanism OID (MS-NLMP §1.9 / the OID registered by Microsoft).
pub const GSS_NEGOTIATE_NTLMSSP_OID_DOTTED: &str = "1.3.6.1.4.1.311.2.2.10";
/// Length in bytes of the DER content of the NTLMSSP mechanism OID.
pub const GSS_NEGOTIATE_NTLMSSP_OID_LENGTH: u32 = 10;
/// Dotted form of the private OID base (space donated by the Samba project, used by gss-ntlmssp).
pub const GSS_NEGOTIATE_PRIVATE_BASE_OID_DOTTED: &str = "1.3.6.1.4.1.7165.655.1";
/// Length in bytes of the DER content of each private OID (`base` + 1 arc).
pub const GSS_NEGOTIATE_PRIVATE_OID_LENGTH: u32 = 11;
/// Last arc of the private OID used with `gss_set_sec_context_option` to set the sequence number
/// (value: 4-byte host-order unsigned integer).
pub const GSS_NEGOTIATE_OPT_SET_SEQ_NUM: u32 = 1;
/// Last arc of the private OID used with `gss_inquire_sec_context_by_oid`: answers one byte, `0x01` when the
/// mechanism requires a SPNEGO mechListMIC.
pub const GSS_NEGOTIATE_OPT_SPNEGO_REQUIRE_MIC: u32 = 2;
/// Last arc of the private OID used with `gss_set_sec_context_option` to reset the RC4 state after a MIC
/// (value: 4-byte host-order unsigned integer; 1 after verify, 0 after get).
pub const GSS_NEGOTIATE_OPT_RESET_CRYPTO: u32 = 3;
/// Last arc of the private OID used with `gssspi_mech_invoke`: value is the path of a debug log file.
pub const GSS_NEGOTIATE_OPT_DEBUG: u32 = 4;
/// Last arc of the private OID used with `gssspi_set_cred_option`: value is a 4-byte host-order NEGOTIATE flags
/// word (MS-NLMP §2.2.2.5) to use instead of the defaults; an empty value restores the defaults.
pub const GSS_NEGOTIATE_OPT_NEG_FLAGS: u32 = 5;

/// DER content of 1.3.6.1.4.1.311.2.2.10 (NTLMSSP).
pub const NTLMSSP: &[u8] = b"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a";
/// DER content of the private base 1.3.6.1.4.1.7165.655.1 (without the last arc).
pub const PRIVATE_BASE: &[u8] = b"\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01";
/// 1.3.6.1.4.1.7165.655.1.1: set sequence number (context option).
pub const SET_SEQ_NUM: &[u8] = b"\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01\x01";
/// 1.3.6.1.4.1.7165.655.1.2: SPNEGO asks whether a mechListMIC is required.
pub const SPNEGO_REQUIRE_MIC: &[u8] = b"\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01\x02";
/// 1.3.6.1.4.1.7165.655.1.3: reset the RC4 state (context option).
pub const RESET_CRYPTO: &[u8] = b"\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01\x03";
/// 1.3.6.1.4.1.7165.655.1.4: debug log file (mech invoke).
pub const DEBUG: &[u8] = b"\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01\x04";
/// 1.3.6.1.4.1.7165.655.1.5: default NEGOTIATE flags (credential option).
pub const NEG_FLAGS: &[u8] = b"\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01\x05";
/// 1.2.840.113554.1.2.2.5.5: GSS_C_INQ_SSPI_SESSION_KEY.
pub const INQ_SSPI_SESSION_KEY: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05";
/// 1.2.840.113554.1.2.2.5.15: GSS_C_SEC_CONTEXT_SASL_SSF.
pub const SEC_CONTEXT_SASL_SSF: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x0f";

/// 1.2.840.113554.1.2.1.1: GSS_C_NT_USER_NAME.
pub const NT_USER_NAME: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x01";
/// 1.2.840.113554.1.2.1.2: GSS_C_NT_MACHINE_UID_NAME.
pub const NT_MACHINE_UID_NAME: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x02";
/// 1.2.840.113554.1.2.1.3: GSS_C_NT_STRING_UID_NAME.
pub const NT_STRING_UID_NAME: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x03";
/// 1.2.840.113554.1.2.1.4: GSS_C_NT_HOSTBASED_SERVICE.
pub const NT_HOSTBASED_SERVICE: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04";
/// 1.3.6.1.5.6.2: GSS_C_NT_HOSTBASED_SERVICE_X (the old RFC 2078 OID).
pub const NT_HOSTBASED_SERVICE_X: &[u8] = b"\x2b\x06\x01\x05\x06\x02";
/// 1.3.6.1.5.6.3: GSS_C_NT_ANONYMOUS.
pub const NT_ANONYMOUS: &[u8] = b"\x2b\x06\x01\x05\x06\x03";
/// 1.3.6.1.5.6.4: GSS_C_NT_EXPORT_NAME.
pub const NT_EXPORT_NAME: &[u8] = b"\x2b\x06\x01\x05\x06\x04";

/// RFC 5587 mechanism attributes, 1.3.6.1.5.5.13.N: the DER content for arc `n` (< 128).
pub const fn mech_attr(n: u8) -> [u8; 7] {
    [0x2b, 0x06, 0x01, 0x05, 0x05, 0x0d, n]
}
/// GSS_C_MA_MECH_CONCRETE.
pub const MA_MECH_CONCRETE: [u8; 7] = mech_attr(1);
/// GSS_C_MA_AUTH_INIT.
pub const MA_AUTH_INIT: [u8; 7] = mech_attr(10);
/// GSS_C_MA_AUTH_INIT_ANON.
pub const MA_AUTH_INIT_ANON: [u8; 7] = mech_attr(14);
/// GSS_C_MA_INTEG_PROT.
pub const MA_INTEG_PROT: [u8; 7] = mech_attr(17);
/// GSS_C_MA_CONF_PROT.
pub const MA_CONF_PROT: [u8; 7] = mech_attr(18);
/// GSS_C_MA_MIC.
pub const MA_MIC: [u8; 7] = mech_attr(19);
/// GSS_C_MA_WRAP.
pub const MA_WRAP: [u8; 7] = mech_attr(20);
/// GSS_C_MA_OOS_DET.
pub const MA_OOS_DET: [u8; 7] = mech_attr(23);
/// GSS_C_MA_CBINDINGS.
pub const MA_CBINDINGS: [u8; 7] = mech_attr(24);
/// GSS_C_MA_CTX_TRANS.
pub const MA_CTX_TRANS: [u8; 7] = mech_attr(27);
/// The attributes we assert — the same set as gss-ntlmssp (ARCHITECTURE.md §2). We deliberately do not assert
/// MECH_NEGO, NOT_DFLT_MECH or DEPRECATED: MIT SPNEGO would then leave us out.
pub const MECH_ATTRS: [[u8; 7]; 9] = [
    MA_MECH_CONCRETE,
    MA_AUTH_INIT,
    MA_INTEG_PROT,
    MA_CONF_PROT,
    MA_MIC,
    MA_WRAP,
    MA_OOS_DET,
    MA_CBINDINGS,
    MA_CTX_TRANS,
];
/// The name types `gss_inquire_names_for_mech` reports.
pub const NAME_TYPES: [&[u8]; 6] = [
    NT_USER_NAME,
    NT_HOSTBASED_SERVICE,
    NT_ANONYMOUS,
    NT_EXPORT_NAME,
    NT_MACHINE_UID_NAME,
    NT_STRING_UID_NAME,
];

/// SASL mechanism name (RFC 5801).
pub const SASL_NAME: &str = "GS2-NTLM";
/// Short mechanism name.
pub const MECH_NAME: &str = "NTLM";
/// Mechanism description.
///
/// It carries the crate version, so `gss-negotiate check` can tell which version an installed library is by
/// finding this text in the file.
pub const MECH_DESCRIPTION: &str = concat!(
    "NTLM Mechanism (gss-negotiate ",
    env!("CARGO_PKG_VERSION"),
    ")"
);
/// The start of [`MECH_DESCRIPTION`], before the version.
pub const MECH_DESCRIPTION_PREFIX: &str = "NTLM Mechanism (gss-negotiate ";

/// Renders a DER OID content as dotted text (for messages and tests); `None` if it is malformed.
pub fn to_dotted(der: &[u8]) -> Option<String> {
    let (&first, rest) = der.split_first()?;
    let mut arcs: Vec<u64> = vec![u64::from(first / 40).min(2), 0];
    arcs[1] = u64::from(first) - arcs[0] * 40;
    let mut acc: u64 = 0;
    let mut pending = false;
    for &b in rest {
        acc = acc.checked_mul(128)?.checked_add(u64::from(b & 0x7f))?;
        pending = b & 0x80 != 0;
        if !pending {
            arcs.push(acc);
            acc = 0;
        }
    }
    if pending {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_bytes_match_the_dotted_forms() {
        assert_eq!(
            to_dotted(NTLMSSP).as_deref(),
            Some(GSS_NEGOTIATE_NTLMSSP_OID_DOTTED)
        );
        assert_eq!(NTLMSSP.len() as u32, GSS_NEGOTIATE_NTLMSSP_OID_LENGTH);
        assert_eq!(
            to_dotted(PRIVATE_BASE).as_deref(),
            Some(GSS_NEGOTIATE_PRIVATE_BASE_OID_DOTTED)
        );
        let private = [
            (SET_SEQ_NUM, GSS_NEGOTIATE_OPT_SET_SEQ_NUM),
            (SPNEGO_REQUIRE_MIC, GSS_NEGOTIATE_OPT_SPNEGO_REQUIRE_MIC),
            (RESET_CRYPTO, GSS_NEGOTIATE_OPT_RESET_CRYPTO),
            (DEBUG, GSS_NEGOTIATE_OPT_DEBUG),
            (NEG_FLAGS, GSS_NEGOTIATE_OPT_NEG_FLAGS),
        ];
        for (der, arc) in private {
            assert_eq!(der.len() as u32, GSS_NEGOTIATE_PRIVATE_OID_LENGTH);
            assert_eq!(
                to_dotted(der),
                Some(format!("{GSS_NEGOTIATE_PRIVATE_BASE_OID_DOTTED}.{arc}"))
            );
        }
        assert_eq!(
            to_dotted(NT_USER_NAME).as_deref(),
            Some("1.2.840.113554.1.2.1.1")
        );
        assert_eq!(
            to_dotted(NT_HOSTBASED_SERVICE).as_deref(),
            Some("1.2.840.113554.1.2.1.4")
        );
        assert_eq!(to_dotted(NT_EXPORT_NAME).as_deref(), Some("1.3.6.1.5.6.4"));
        assert_eq!(
            to_dotted(INQ_SSPI_SESSION_KEY).as_deref(),
            Some("1.2.840.113554.1.2.2.5.5")
        );
        assert_eq!(
            to_dotted(&MA_CTX_TRANS).as_deref(),
            Some("1.3.6.1.5.5.13.27")
        );
    }

    #[test]
    fn to_dotted_rejects_truncated_arc() {
        assert_eq!(to_dotted(b"\x2b\x86"), None);
        assert_eq!(to_dotted(b""), None);
    }
}
