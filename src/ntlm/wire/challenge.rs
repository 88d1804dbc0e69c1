//! The CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2): the server's answer, with the negotiated flags, the 8-byte
//! server challenge, the target name and the TargetInfo AV pairs.
//!
//! Layout: Signature (8), MessageType = 2 (4), TargetNameFields (8), NegotiateFlags (4),
//! ServerChallenge (8), Reserved (8), TargetInfoFields (8), Version (8, only with
//! `NTLMSSP_NEGOTIATE_VERSION`), payload.
//!
//! Decoding: the VERSION is read when the flag is set and the first payload field (if any) starts at or
//! after byte 56. TargetName is UTF-16LE when `NTLMSSP_NEGOTIATE_UNICODE` is set, OEM otherwise.
//! `target_info` is `Some` exactly when the TargetInfo field is non-empty (whatever the TARGET_INFO flag says).
//!
//! Encoding: payload TargetName then TargetInfo; an empty TargetName is written with the payload offset
//! (Windows Server 2003 capture), an absent TargetInfo as an all-zero field (MS-NLMP §4.2.2.3).
#![forbid(unsafe_code)]

use super::reader::{check_fields, field_bytes, Reader, Writer};
use super::{check_message, decode_string, AvPairs, Version, CHALLENGE_TYPE, SIGNATURE};
use crate::ntlm::error::WireError;
use crate::ntlm::flags::NegotiateFlags;

/// A decoded CHALLENGE_MESSAGE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub flags: NegotiateFlags,
    /// `""` when absent.
    pub target_name: String,
    pub server_challenge: [u8; 8],
    pub reserved: [u8; 8],
    pub target_info: Option<AvPairs>,
    pub version: Option<Version>,
}

impl Challenge {
    /// Size of the fixed part without VERSION.
    pub const FIXED_LEN: usize = 48;

    /// Decodes and checks a CHALLENGE_MESSAGE (including its AV pair list).
    pub fn decode(b: &[u8]) -> Result<Challenge, WireError> {
        check_message(b, CHALLENGE_TYPE, "CHALLENGE_MESSAGE", Self::FIXED_LEN)?;
        let mut r = Reader::new(b, "CHALLENGE_MESSAGE");
        r.take(12)?;
        let name_f = r.field("TargetName")?;
        let flags = NegotiateFlags(r.u32()?);
        let server_challenge = r.array::<8>()?;
        let reserved = r.array::<8>()?;
        let info_f = r.field("TargetInfo")?;
        let header_end = check_fields(&[name_f, info_f], Self::FIXED_LEN, b.len())?;

        let version = if flags.contains(NegotiateFlags::VERSION)
            && header_end >= Self::FIXED_LEN + Version::LEN
        {
            Some(Version::decode(b.get(Self::FIXED_LEN..).unwrap_or(&[]))?)
        } else {
            None
        };
        let unicode = flags.contains(NegotiateFlags::UNICODE);
        let target_name = decode_string(field_bytes(b, &name_f)?, unicode, name_f.name)?;
        let info = field_bytes(b, &info_f)?;
        let target_info = if info.is_empty() {
            None
        } else {
            Some(AvPairs::decode(info)?)
        };
        Ok(Challenge {
            flags,
            target_name,
            server_challenge,
            reserved,
            target_info,
            version,
        })
    }

    /// Encodes the message as Windows does (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let header_len = Self::FIXED_LEN
            + if self.version.is_some() {
                Version::LEN
            } else {
                0
            };
        let unicode = self.flags.contains(NegotiateFlags::UNICODE);
        let mut w = Writer::new(header_len);
        w.bytes(SIGNATURE);
        w.u32(CHALLENGE_TYPE);
        w.field_string(&self.target_name, unicode);
        w.u32(self.flags.bits());
        w.bytes(&self.server_challenge);
        w.bytes(&self.reserved);
        match &self.target_info {
            Some(av) => w.field(&av.encode()),
            None => w.absent_field(),
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

    #[test]
    fn round_trips_with_target_info() {
        let mut av = AvPairs::new();
        av.set_string(super::super::av_pairs::MSV_AV_NB_COMPUTER_NAME, "SRV");
        av.set_timestamp(1);
        let c = Challenge {
            flags: NegotiateFlags::UNICODE | NegotiateFlags::TARGET_INFO | NegotiateFlags::VERSION,
            target_name: "DOM".into(),
            server_challenge: [1, 2, 3, 4, 5, 6, 7, 8],
            reserved: [0; 8],
            target_info: Some(av),
            version: Some(Version::DEFAULT),
        };
        let b = c.encode();
        assert_eq!(
            b.len(),
            56 + 6 + c.target_info.as_ref().map_or(0, AvPairs::encoded_len)
        );
        assert_eq!(Challenge::decode(&b), Ok(c));
    }

    #[test]
    fn rejects_target_info_without_eol() {
        let c = Challenge {
            flags: NegotiateFlags::UNICODE,
            target_name: String::new(),
            server_challenge: [0; 8],
            reserved: [0; 8],
            target_info: Some(AvPairs::new()),
            version: None,
        };
        let mut b = c.encode();
        b.truncate(b.len() - 2); // keep half of the EOL
        b[40] = 2; // TargetInfoLen
        b[42] = 2;
        assert!(matches!(
            Challenge::decode(&b),
            Err(WireError::BadAvPairs(_))
        ));
    }
}
