//! The NEGOTIATE_MESSAGE (MS-NLMP §2.2.1.1): the client's first message, with the flags it asks for and,
//! optionally, its OEM domain and workstation names and its VERSION.
//!
//! Layout: Signature (8), MessageType = 1 (4), NegotiateFlags (4), DomainNameFields (8),
//! WorkstationFields (8), Version (8, only when `NTLMSSP_NEGOTIATE_VERSION`), payload.
//!
//! Decoding: the 32-byte form without VERSION (curl, Chromium, impacket) is accepted; the VERSION is read
//! when the flag is set and the first payload field (if any) starts at or after byte 40. A name is returned
//! when its `NTLMSSP_NEGOTIATE_OEM_*_SUPPLIED` flag is set, or when its field is non-empty even without the
//! flag (impacket sends names without the flags). Names are OEM strings, read as Latin-1.
//!
//! Encoding: an absent name is written as an all-zero field (Len, MaxLen and offset 0), as Windows does.
#![forbid(unsafe_code)]

use super::reader::{check_fields, field_bytes, FieldRef, Reader, Writer};
use super::{check_message, decode_string, Version, NEGOTIATE_TYPE, SIGNATURE};
use crate::ntlm::error::WireError;
use crate::ntlm::flags::NegotiateFlags;

/// A decoded NEGOTIATE_MESSAGE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiate {
    pub flags: NegotiateFlags,
    pub domain: Option<String>,
    pub workstation: Option<String>,
    pub version: Option<Version>,
}

impl Negotiate {
    /// Size of the fixed part without VERSION.
    pub const FIXED_LEN: usize = 32;

    /// Decodes and checks a NEGOTIATE_MESSAGE.
    pub fn decode(b: &[u8]) -> Result<Negotiate, WireError> {
        check_message(b, NEGOTIATE_TYPE, "NEGOTIATE_MESSAGE", Self::FIXED_LEN)?;
        let mut r = Reader::new(b, "NEGOTIATE_MESSAGE");
        r.take(12)?;
        let flags = NegotiateFlags(r.u32()?);
        let domain_f = r.field("DomainName")?;
        let ws_f = r.field("WorkstationName")?;
        let header_end = check_fields(&[domain_f, ws_f], Self::FIXED_LEN, b.len())?;

        let version = if flags.contains(NegotiateFlags::VERSION)
            && header_end >= Self::FIXED_LEN + Version::LEN
        {
            Some(Version::decode(b.get(Self::FIXED_LEN..).unwrap_or(&[]))?)
        } else {
            None
        };
        let name = |f: FieldRef, flag: NegotiateFlags| -> Result<Option<String>, WireError> {
            let raw = field_bytes(b, &f)?;
            if flags.contains(flag) || !raw.is_empty() {
                Ok(Some(decode_string(raw, false, f.name)?))
            } else {
                Ok(None)
            }
        };
        Ok(Negotiate {
            flags,
            domain: name(domain_f, NegotiateFlags::OEM_DOMAIN_SUPPLIED)?,
            workstation: name(ws_f, NegotiateFlags::OEM_WORKSTATION_SUPPLIED)?,
            version,
        })
    }

    /// Encodes the message: header (with VERSION when `version` is set), then domain, then workstation.
    /// The flags are written as given; set `OEM_*_SUPPLIED` yourself when sending names.
    pub fn encode(&self) -> Vec<u8> {
        let header_len = Self::FIXED_LEN
            + if self.version.is_some() {
                Version::LEN
            } else {
                0
            };
        let mut w = Writer::new(header_len);
        w.bytes(SIGNATURE);
        w.u32(NEGOTIATE_TYPE);
        w.u32(self.flags.bits());
        for name in [&self.domain, &self.workstation] {
            match name {
                Some(s) => w.field_string(s, false),
                None => w.absent_field(),
            }
        }
        if let Some(v) = &self.version {
            w.bytes(&v.encode());
        }
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curl_style(flags: u32) -> Vec<u8> {
        let mut b = b"NTLMSSP\0\x01\0\0\0".to_vec();
        b.extend(flags.to_le_bytes());
        b.extend([0u8; 16]);
        b
    }

    #[test]
    fn decodes_32_byte_negotiate_without_version() {
        let n = Negotiate::decode(&curl_style(0xa208_8207)).unwrap();
        assert_eq!(n.flags, NegotiateFlags(0xa208_8207));
        assert_eq!((n.domain, n.workstation, n.version), (None, None, None));
    }

    #[test]
    fn encodes_absent_names_as_zero_fields() {
        let n = Negotiate {
            flags: NegotiateFlags(0xa208_8207),
            domain: None,
            workstation: None,
            version: None,
        };
        assert_eq!(n.encode(), curl_style(0xa208_8207));
    }

    #[test]
    fn names_round_trip_in_oem() {
        let n = Negotiate {
            flags: NegotiateFlags::OEM_DOMAIN_SUPPLIED
                | NegotiateFlags::OEM_WORKSTATION_SUPPLIED
                | NegotiateFlags::VERSION,
            domain: Some("DOM".into()),
            workstation: Some("".into()),
            version: Some(Version::DEFAULT),
        };
        let b = n.encode();
        assert_eq!(b.get(40..43), Some(&b"DOM"[..]));
        assert_eq!(Negotiate::decode(&b), Ok(n));
    }

    #[test]
    fn rejects_challenge_type() {
        let mut b = curl_style(0);
        b[8] = 2;
        assert_eq!(
            Negotiate::decode(&b),
            Err(WireError::WrongMessageType {
                expected: 1,
                got: 2
            })
        );
    }
}
