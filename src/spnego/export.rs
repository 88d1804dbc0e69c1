//! The stamp of an exported context token (RFC 2743 §3.2's mechglue form, as MIT's `gss_export_sec_context`
//! writes it: a 4-byte big-endian OID length, the OID's DER content, then the mechanism's token).
//!
//! The SPNEGO interposer's export is `stamp(SPNEGO, stamp(mech, mech token))`: the public SPNEGO OID outside, so
//! that `gss_import_sec_context` — in this process or another, with or without the interposer — reaches a SPNEGO
//! implementation, and inside the negotiated mechanism's own stamped token (ARCHITECTURE.md §7).
//!
//! An exported interposer *credential* ([`encode_cred`], [`decode_cred`]) holds the Kerberos and NTLM parts.
#![forbid(unsafe_code)]

/// The longest OID accepted in a stamp (DER content bytes).
pub const MAX_OID_LEN: usize = 64;

/// `oid` (DER content) stamped on `body`.
pub fn stamp(oid: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + oid.len() + body.len());
    out.extend_from_slice(&(oid.len() as u32).to_be_bytes());
    out.extend_from_slice(oid);
    out.extend_from_slice(body);
    out
}

/// Splits a stamped token into the OID and the body; `None` when the stamp is malformed (short, an empty or
/// overlong OID, a length beyond the token).
pub fn unstamp(token: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = token.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    if len == 0 || len > MAX_OID_LEN || len > rest.len() {
        return None;
    }
    Some(rest.split_at(len))
}

/// The magic and version of an exported interposer credential ([`encode_cred`]).
const CRED_MAGIC: &[u8; 5] = b"GNSC\x01";
/// The largest part accepted in a credential token (a Kerberos ccache with its tickets, an NTLM credential).
pub const MAX_CRED_PART: usize = 1 << 20;
const PART_KRB5: u8 = 1;
const PART_NTLM: u8 = 2;

/// The parts of an exported interposer credential: the mechglue's `gss_export_cred` token of the Kerberos
/// credential, and the NTLM credential's own token (`Credential::export`). Both are as secret as what they hold.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CredParts<'a> {
    /// The Kerberos part, when the credential had one.
    pub krb5: Option<&'a [u8]>,
    /// The NTLM part, when the credential had one.
    pub ntlm: Option<&'a [u8]>,
}

/// The `gss_export_cred` token of an interposer credential: `"GNSC" 1`, then each present part as a kind byte
/// (1 Kerberos, 2 NTLM, in that order), a 4-byte big-endian length and the bytes. Wiped when dropped.
pub fn encode_cred(parts: &CredParts<'_>) -> zeroize::Zeroizing<Vec<u8>> {
    let len = parts.krb5.map_or(0, |p| 5 + p.len()) + parts.ntlm.map_or(0, |p| 5 + p.len());
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(CRED_MAGIC.len() + len));
    out.extend_from_slice(CRED_MAGIC);
    for (kind, part) in [(PART_KRB5, parts.krb5), (PART_NTLM, parts.ntlm)] {
        if let Some(p) = part {
            out.push(kind);
            out.extend_from_slice(&(p.len() as u32).to_be_bytes());
            out.extend_from_slice(p);
        }
    }
    out
}

/// Reads [`encode_cred`]'s token; `None` when it is malformed: another magic or version, an unknown, repeated or
/// out-of-order kind, a part longer than [`MAX_CRED_PART`] or than the token, no part at all.
pub fn decode_cred(token: &[u8]) -> Option<CredParts<'_>> {
    let mut rest = token.strip_prefix(CRED_MAGIC)?;
    let mut parts = CredParts::default();
    let mut last = 0;
    while let Some((&kind, tail)) = rest.split_first() {
        if kind <= last || kind > PART_NTLM {
            return None;
        }
        last = kind;
        let (len, tail) = tail.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if len > MAX_CRED_PART || len > tail.len() {
            return None;
        }
        let (part, tail) = tail.split_at(len);
        match kind {
            PART_KRB5 => parts.krb5 = Some(part),
            _ => parts.ntlm = Some(part),
        }
        rest = tail;
    }
    (parts.krb5.is_some() || parts.ntlm.is_some()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cred_tokens_round_trip_and_malformed_ones_are_refused() {
        for parts in [
            CredParts {
                krb5: Some(b"krb"),
                ntlm: Some(b"ntlm"),
            },
            CredParts {
                krb5: None,
                ntlm: Some(b""),
            },
            CredParts {
                krb5: Some(b"k"),
                ntlm: None,
            },
        ] {
            assert_eq!(decode_cred(&encode_cred(&parts)), Some(parts));
        }
        let t = encode_cred(&CredParts {
            krb5: Some(b"krb"),
            ntlm: Some(b"ntlm"),
        });
        assert_eq!(decode_cred(&t[..t.len() - 1]), None, "truncated");
        assert_eq!(decode_cred(b"GNSC\x01"), None, "no part");
        assert_eq!(decode_cred(b"GNSC\x02\x01\0\0\0\0"), None, "version");
        assert_eq!(decode_cred(b"GNSC\x01\x03\0\0\0\0"), None, "unknown kind");
        assert_eq!(
            decode_cred(b"GNSC\x01\x02\0\0\0\0\x01\0\0\0\0"),
            None,
            "out of order"
        );
        assert_eq!(
            decode_cred(b"GNSC\x01\x01\0\0\0\0\x01\0\0\0\0"),
            None,
            "repeated"
        );
        assert_eq!(
            decode_cred(b"GNSC\x01\x01\xff\xff\xff\xff"),
            None,
            "huge length"
        );
    }

    #[test]
    fn stamp_round_trips_and_malformed_stamps_are_refused() {
        let t = stamp(b"\x2b\x06\x01\x05\x05\x02", b"body");
        assert_eq!(
            unstamp(&t),
            Some((&b"\x2b\x06\x01\x05\x05\x02"[..], &b"body"[..]))
        );
        assert_eq!(unstamp(&[0, 0, 0]), None);
        assert_eq!(unstamp(&[0, 0, 0, 0, 1]), None);
        assert_eq!(unstamp(&[0, 0, 0, 9, 1, 2]), None);
        assert_eq!(unstamp(&[0xff, 0xff, 0xff, 0xff, 1]), None);
        let long = stamp(&[1; 65], b"");
        assert_eq!(unstamp(&long), None);
    }
}
