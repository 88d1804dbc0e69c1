//! The stamp of an exported context token (RFC 2743 §3.2's mechglue form, as MIT's `gss_export_sec_context`
//! writes it: a 4-byte big-endian OID length, the OID's DER content, then the mechanism's token).
//!
//! The SPNEGO interposer's export is `stamp(SPNEGO, stamp(mech, mech token))`: the public SPNEGO OID outside, so
//! that `gss_import_sec_context` — in this process or another, with or without the interposer — reaches a SPNEGO
//! implementation, and inside the negotiated mechanism's own stamped token (ARCHITECTURE.md §7).
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

#[cfg(test)]
mod tests {
    use super::*;

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
