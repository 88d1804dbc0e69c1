//! NTLM wire formats (MS-NLMP §2.2): the NEGOTIATE, CHALLENGE and AUTHENTICATE messages (§2.2.1), AV pairs
//! (§2.2.2.1), VERSION (§2.2.2.10) and the NTLMv2 response structures (§2.2.2.7, §2.2.2.8).
//!
//! Decoders take untrusted bytes and return typed errors, never panic, and allocate at most the size of their
//! input. Encoders produce the layout Windows produces: fixed header, then the payload fields in Windows'
//! order with `MaxLen = Len`.
//!
//! Tolerances (what a decoder accepts beyond the strict letter of the spec), decided from the captured
//! tokens in `tests/data/tokens`:
//! - `MaxLen` is ignored; the offset of an empty field is ignored (peers write 0, the header end or the
//!   payload cursor there);
//! - bytes after the last payload field are ignored (messages have no overall length field);
//! - optional header parts (VERSION, MIC) are recognised from where the first non-empty payload field starts;
//! - an AV pair list may be followed by zero bytes (Windows 7 puts 8 zero bytes after the EOL in the NTLMv2
//!   client challenge), but not by anything else.
#![forbid(unsafe_code)]

pub mod authenticate;
pub mod av_pairs;
pub mod challenge;
pub mod negotiate;
pub mod ntlmv2;
mod reader;
pub mod version;

pub use authenticate::Authenticate;
pub use av_pairs::{
    AvId, AvPair, AvPairs, MSV_AV_CHANNEL_BINDINGS, MSV_AV_DNS_COMPUTER_NAME,
    MSV_AV_DNS_DOMAIN_NAME, MSV_AV_DNS_TREE_NAME, MSV_AV_EOL, MSV_AV_FLAGS,
    MSV_AV_FLAG_CONSTRAINED, MSV_AV_FLAG_MIC_PRESENT, MSV_AV_FLAG_UNVERIFIED_SPN,
    MSV_AV_NB_COMPUTER_NAME, MSV_AV_NB_DOMAIN_NAME, MSV_AV_SINGLE_HOST, MSV_AV_TARGET_NAME,
    MSV_AV_TIMESTAMP,
};
pub use challenge::Challenge;
pub use negotiate::Negotiate;
pub use ntlmv2::{split_ntlmv2_response, NtlmV2ClientChallenge};
pub use version::Version;

use crate::ntlm::error::WireError;

/// The first 8 bytes of every NTLM message (MS-NLMP §2.2.1).
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// MessageType of the NEGOTIATE_MESSAGE (§2.2.1.1).
pub const NEGOTIATE_TYPE: u32 = 1;
/// MessageType of the CHALLENGE_MESSAGE (§2.2.1.2).
pub const CHALLENGE_TYPE: u32 = 2;
/// MessageType of the AUTHENTICATE_MESSAGE (§2.2.1.3).
pub const AUTHENTICATE_TYPE: u32 = 3;

/// The largest message any decoder accepts: 64 KiB of payload plus the largest fixed header (88 bytes).
/// Real messages are a few hundred bytes; the bound keeps a hostile peer from making us hold more.
pub const MAX_MESSAGE_LEN: usize = 65536 + 88;

/// Reads the MessageType of an NTLM message after checking its signature (MS-NLMP §2.2.1).
pub fn message_type(bytes: &[u8]) -> Result<u32, WireError> {
    let mut r = reader::Reader::new(bytes, "NTLM message");
    let sig = r.take(SIGNATURE.len())?;
    if sig != SIGNATURE {
        return Err(WireError::BadSignature);
    }
    r.u32()
}

/// Checks the size bound, signature and MessageType shared by the three message decoders.
pub(crate) fn check_message(
    bytes: &[u8],
    expected: u32,
    what: &'static str,
    fixed: usize,
) -> Result<(), WireError> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(WireError::FieldTooLong {
            field: what,
            len: bytes.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    let got = message_type(bytes)?;
    if got != expected {
        return Err(WireError::WrongMessageType { expected, got });
    }
    if bytes.len() < fixed {
        return Err(WireError::Truncated {
            what,
            need: fixed,
            have: bytes.len(),
        });
    }
    Ok(())
}

/// Decodes a string field: UTF-16LE when `unicode` (an odd length or an unpaired surrogate is an error),
/// otherwise an OEM string, read as Latin-1 (each byte is the code point of the same value).
pub fn decode_string(raw: &[u8], unicode: bool, field: &'static str) -> Result<String, WireError> {
    if !unicode {
        return Ok(raw.iter().map(|&b| char::from(b)).collect());
    }
    if raw.len() % 2 != 0 {
        return Err(WireError::BadFieldLength {
            field,
            len: raw.len(),
        });
    }
    let units = raw
        .chunks_exact(2)
        .map(|c| c.try_into().map(u16::from_le_bytes).unwrap_or(0));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| WireError::Invalid("string field holds an unpaired UTF-16 surrogate"))
}

/// Encodes a string field: UTF-16LE when `unicode`, otherwise OEM as Latin-1 (characters above U+00FF become `?`).
pub fn encode_string(s: &str, unicode: bool) -> Vec<u8> {
    if unicode {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    } else {
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_checks_signature() {
        assert_eq!(message_type(b"NTLMSSP\0\x02\0\0\0"), Ok(2));
        assert_eq!(
            message_type(b"NTLMSSQ\0\x02\0\0\0"),
            Err(WireError::BadSignature)
        );
        assert!(matches!(
            message_type(b"NTLMSSP\0\x02\0"),
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn decode_string_rejects_odd_utf16_and_unpaired_surrogate() {
        assert_eq!(decode_string(b"U\0s\0", true, "f"), Ok("Us".to_string()));
        assert_eq!(
            decode_string(b"U\0s", true, "f"),
            Err(WireError::BadFieldLength { field: "f", len: 3 })
        );
        assert!(matches!(
            decode_string(&[0x00, 0xd8, b'a', 0], true, "f"),
            Err(WireError::Invalid(_))
        ));
    }

    #[test]
    fn oem_strings_are_latin1_and_unmappable_chars_become_question_marks() {
        assert_eq!(
            decode_string(&[b'J', 0xe9], false, "f"),
            Ok("Jé".to_string())
        );
        assert_eq!(encode_string("Jé€", false), vec![b'J', 0xe9, b'?']);
        assert_eq!(encode_string("€", true), vec![0xac, 0x20]);
    }
}
