//! The AUTHENTICATE_MESSAGE (MS-NLMP §2.2.1.3): the client's responses, names, encrypted session key and
//! (optionally) VERSION and MIC.
//!
//! Layout: Signature (8), MessageType = 3 (4), LmChallengeResponseFields (8), NtChallengeResponseFields (8),
//! DomainNameFields (8), UserNameFields (8), WorkstationFields (8), EncryptedRandomSessionKeyFields (8),
//! NegotiateFlags (4) — 64 bytes — then Version (8) and MIC (16) when present, then the payload.
//!
//! Decoding: where the header ends is taken from the first non-empty payload field (or the message length
//! when every field is empty):
//! - `mic` is `Some(bytes 72..88)` when the header is at least 88 bytes long. Whether the MIC is really
//!   meant is for the caller to confirm with `MSV_AV_FLAG_MIC_PRESENT` in the NTLMv2 AV pairs (pyspnego's
//!   NTLMv1 sends an all-zero MIC slot, captured token `gen_ntlm_v1_ess_3_client.bin`);
//! - `version` is `Some` when the header is at least 72 bytes long **and** `NTLMSSP_NEGOTIATE_VERSION` is set
//!   (Chromium writes a zero VERSION slot without the flag before its MIC).
//!
//! Strings are UTF-16LE when `NTLMSSP_NEGOTIATE_UNICODE` is set, OEM otherwise.
//!
//! Encoding: the header (72 bytes with `version`, 88 with `mic`, VERSION written as zeros when only `mic`
//! is set), then the payload in Windows' order — DomainName, UserName, Workstation, LmChallengeResponse,
//! NtChallengeResponse, EncryptedRandomSessionKey — empty fields pointing at the payload cursor.
#![forbid(unsafe_code)]

use super::reader::{check_fields, field_bytes, Reader, Writer};
use super::{check_message, decode_string, Version, AUTHENTICATE_TYPE, SIGNATURE};
use crate::ntlm::error::WireError;
use crate::ntlm::flags::NegotiateFlags;

/// A decoded AUTHENTICATE_MESSAGE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticate {
    pub flags: NegotiateFlags,
    pub lm_response: Vec<u8>,
    pub nt_response: Vec<u8>,
    pub domain: String,
    pub user: String,
    pub workstation: String,
    pub encrypted_random_session_key: Vec<u8>,
    pub version: Option<Version>,
    pub mic: Option<[u8; 16]>,
}

impl Authenticate {
    /// Where the MIC sits in the message.
    pub const MIC_OFFSET: usize = 72;
    /// Size of the MIC.
    pub const MIC_LEN: usize = 16;
    /// Size of the fixed part without VERSION and MIC.
    pub const FIXED_LEN: usize = 64;

    /// Decodes and checks an AUTHENTICATE_MESSAGE.
    pub fn decode(b: &[u8]) -> Result<Authenticate, WireError> {
        check_message(
            b,
            AUTHENTICATE_TYPE,
            "AUTHENTICATE_MESSAGE",
            Self::FIXED_LEN,
        )?;
        let mut r = Reader::new(b, "AUTHENTICATE_MESSAGE");
        r.take(12)?;
        let lm_f = r.field("LmChallengeResponse")?;
        let nt_f = r.field("NtChallengeResponse")?;
        let domain_f = r.field("DomainName")?;
        let user_f = r.field("UserName")?;
        let ws_f = r.field("Workstation")?;
        let key_f = r.field("EncryptedRandomSessionKey")?;
        let flags = NegotiateFlags(r.u32()?);
        let header_end = check_fields(
            &[lm_f, nt_f, domain_f, user_f, ws_f, key_f],
            Self::FIXED_LEN,
            b.len(),
        )?;

        let version = if flags.contains(NegotiateFlags::VERSION) && header_end >= Self::MIC_OFFSET {
            Some(Version::decode(b.get(Self::FIXED_LEN..).unwrap_or(&[]))?)
        } else {
            None
        };
        let mic = if header_end >= Self::MIC_OFFSET + Self::MIC_LEN {
            let mut r = Reader::new(b.get(Self::MIC_OFFSET..).unwrap_or(&[]), "MIC");
            Some(r.array::<16>()?)
        } else {
            None
        };
        let unicode = flags.contains(NegotiateFlags::UNICODE);
        let string = |f| -> Result<String, WireError> {
            let raw = field_bytes(b, f)?;
            decode_string(raw, unicode, f.name)
        };
        Ok(Authenticate {
            flags,
            lm_response: field_bytes(b, &lm_f)?.to_vec(),
            nt_response: field_bytes(b, &nt_f)?.to_vec(),
            domain: string(&domain_f)?,
            user: string(&user_f)?,
            workstation: string(&ws_f)?,
            encrypted_random_session_key: field_bytes(b, &key_f)?.to_vec(),
            version,
            mic,
        })
    }

    /// Encodes the message as Windows does (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let header_len = match (self.version.is_some(), self.mic.is_some()) {
            (_, true) => Self::MIC_OFFSET + Self::MIC_LEN,
            (true, false) => Self::MIC_OFFSET,
            (false, false) => Self::FIXED_LEN,
        };
        let unicode = self.flags.contains(NegotiateFlags::UNICODE);
        let mut w = Writer::new(header_len);
        let domain = w.payload_string(&self.domain, unicode);
        let user = w.payload_string(&self.user, unicode);
        let ws = w.payload_string(&self.workstation, unicode);
        let lm = w.payload(&self.lm_response);
        let nt = w.payload(&self.nt_response);
        let key = w.payload(&self.encrypted_random_session_key);
        w.bytes(SIGNATURE);
        w.u32(AUTHENTICATE_TYPE);
        for desc in [lm, nt, domain, user, ws, key] {
            w.bytes(&desc);
        }
        w.u32(self.flags.bits());
        if self.version.is_some() || self.mic.is_some() {
            w.bytes(&self.version.map_or([0; 8], |v| v.encode()));
        }
        if let Some(mic) = &self.mic {
            w.bytes(mic);
        }
        w.finish()
    }

    /// A copy of a raw AUTHENTICATE_MESSAGE with its MIC slot (bytes 72..88) set to zero, as the MIC
    /// computation of MS-NLMP §3.1.5.1.2 / §3.2.5.1.2 needs. Fails when the message is too short to hold a MIC.
    pub fn with_zeroed_mic(raw: &[u8]) -> Result<Vec<u8>, WireError> {
        let mut out = raw.to_vec();
        let slot = out
            .get_mut(Self::MIC_OFFSET..Self::MIC_OFFSET + Self::MIC_LEN)
            .ok_or(WireError::Truncated {
                what: "AUTHENTICATE_MESSAGE MIC",
                need: Self::MIC_OFFSET + Self::MIC_LEN,
                have: raw.len(),
            })?;
        slot.fill(0);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Authenticate {
        Authenticate {
            flags: NegotiateFlags::UNICODE | NegotiateFlags::VERSION,
            lm_response: vec![0; 24],
            nt_response: vec![1; 50],
            domain: "Domain".into(),
            user: "User".into(),
            workstation: "COMPUTER".into(),
            encrypted_random_session_key: vec![],
            version: Some(Version::DEFAULT),
            mic: Some([3; 16]),
        }
    }

    #[test]
    fn round_trips_with_mic_and_puts_payload_in_windows_order() {
        let a = sample();
        let b = a.encode();
        assert_eq!(
            b.get(88..100),
            Some(&super::super::encode_string("Domain", true)[..])
        );
        assert_eq!(b.get(72..88), Some(&[3u8; 16][..]));
        assert_eq!(Authenticate::decode(&b), Ok(a));
    }

    #[test]
    fn zero_version_slot_before_mic_without_version_flag() {
        let a = Authenticate {
            flags: NegotiateFlags::UNICODE,
            version: None,
            ..sample()
        };
        let b = a.encode();
        assert_eq!(b.get(64..72), Some(&[0u8; 8][..]));
        assert_eq!(Authenticate::decode(&b), Ok(a));
    }

    #[test]
    fn with_zeroed_mic_clears_only_the_slot() {
        let b = sample().encode();
        let z = Authenticate::with_zeroed_mic(&b).unwrap();
        assert_eq!(z.get(72..88), Some(&[0u8; 16][..]));
        assert_eq!(z.get(..72), b.get(..72));
        assert_eq!(z.get(88..), b.get(88..));
        assert!(Authenticate::with_zeroed_mic(&b[..87]).is_err());
    }

    #[test]
    fn rejects_odd_length_unicode_user() {
        let mut b = sample().encode();
        b[36] = 7; // UserNameLen
        assert!(matches!(
            Authenticate::decode(&b),
            Err(WireError::BadFieldLength {
                field: "UserName",
                len: 7
            })
        ));
    }
}
