//! The NTLMv2 response (MS-NLMP §2.2.2.8) and the NTLMv2 client challenge it carries (§2.2.2.7): the bytes
//! that §3.3.2 calls `temp`, MACed by NTProofStr.
//!
//! `NTLMv2_RESPONSE` = NTProofStr (16) || NTLMv2_CLIENT_CHALLENGE, and `NTLMv2_CLIENT_CHALLENGE` =
//! RespType (1) = 1, HiRespType (1) = 1, Reserved1 (2), Reserved2 (4), TimeStamp (8), ChallengeFromClient (8),
//! Reserved3 (4), AvPairs (ending with MsvAvEOL), then zero padding (§3.3.2 appends Z(4); Windows 7 sends 8
//! zero bytes). The reserved fields are ignored on input; anything non-zero after the EOL is an error.
//!
//! The MAC is computed over the bytes as received, never over a re-encoding: use [`split_ntlmv2_response`]
//! for the raw blob and [`NtlmV2ClientChallenge::decode`] only to read its fields.
#![forbid(unsafe_code)]

use super::reader::Reader;
use super::AvPairs;
use crate::ntlm::error::WireError;

/// The fields of an `NTLMv2_CLIENT_CHALLENGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NtlmV2ClientChallenge {
    /// FILETIME.
    pub timestamp: u64,
    pub client_challenge: [u8; 8],
    pub av_pairs: AvPairs,
}

impl NtlmV2ClientChallenge {
    /// Size of the fixed part before the AV pairs.
    pub const FIXED_LEN: usize = 28;

    /// Decodes the blob that follows NTProofStr in an NTLMv2 response.
    pub fn decode(blob: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(blob, "NTLMv2_CLIENT_CHALLENGE");
        let resp_type = r.u8()?;
        let hi_resp_type = r.u8()?;
        r.take(6)?;
        let timestamp = r.u64()?;
        let client_challenge = r.array::<8>()?;
        r.take(4)?;
        if resp_type != 1 || hi_resp_type != 1 {
            return Err(WireError::Invalid(
                "NTLMv2 client challenge RespType/HiRespType is not 1",
            ));
        }
        let av_pairs = AvPairs::decode(blob.get(r.pos()..).unwrap_or(&[]))?;
        Ok(NtlmV2ClientChallenge {
            timestamp,
            client_challenge,
            av_pairs,
        })
    }

    /// `0x01 0x01 Z(6) Time ClientChallenge Z(4) AvPairs Z(4)` (MS-NLMP §3.3.2 `temp`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::FIXED_LEN + self.av_pairs.encoded_len() + 4);
        out.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.client_challenge);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.av_pairs.encode());
        out.extend_from_slice(&[0; 4]);
        out
    }
}

/// Splits an NTLMv2 `NtChallengeResponse` into NTProofStr and the client-challenge blob. The response must be
/// longer than 16 + 28 bytes (an NTLMv1 response is 24).
pub fn split_ntlmv2_response(nt_response: &[u8]) -> Result<([u8; 16], &[u8]), WireError> {
    let too_short = WireError::BadFieldLength {
        field: "NtChallengeResponse",
        len: nt_response.len(),
    };
    if nt_response.len() <= 16 + NtlmV2ClientChallenge::FIXED_LEN {
        return Err(too_short);
    }
    let (proof, blob) = nt_response.split_at_checked(16).ok_or(too_short.clone())?;
    Ok((proof.try_into().map_err(|_| too_short)?, blob))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_ms_nlmp_4_2_4_temp() {
        // MS-NLMP §4.2.4.1.3: temp with Time = 0, ClientChallenge = aa*8 and the §4.2.4 TargetInfo.
        let mut av = AvPairs::new();
        av.set_string(super::super::av_pairs::MSV_AV_NB_DOMAIN_NAME, "Domain");
        av.set_string(super::super::av_pairs::MSV_AV_NB_COMPUTER_NAME, "Server");
        let cc = NtlmV2ClientChallenge {
            timestamp: 0,
            client_challenge: [0xaa; 8],
            av_pairs: av,
        };
        let temp = cc.encode();
        assert_eq!(temp.len(), 68);
        assert_eq!(NtlmV2ClientChallenge::decode(&temp), Ok(cc));
    }

    #[test]
    fn rejects_wrong_resp_type() {
        let cc = NtlmV2ClientChallenge {
            timestamp: 5,
            client_challenge: [1; 8],
            av_pairs: AvPairs::new(),
        };
        let mut b = cc.encode();
        b[1] = 2;
        assert!(matches!(
            NtlmV2ClientChallenge::decode(&b),
            Err(WireError::Invalid(_))
        ));
    }

    #[test]
    fn split_requires_more_than_44_bytes() {
        assert!(split_ntlmv2_response(&[0; 24]).is_err());
        assert!(split_ntlmv2_response(&[0; 44]).is_err());
        let mut v = vec![9u8; 16];
        v.extend([1u8; 29]);
        let (proof, blob) = split_ntlmv2_response(&v).unwrap();
        assert_eq!(proof, [9; 16]);
        assert_eq!(blob, &[1u8; 29][..]);
    }
}
