//! The 8-byte VERSION structure (MS-NLMP §2.2.2.10): the sender's OS version and NTLM revision. Purely
//! informational: it takes part in nothing but the MIC (as raw message bytes).
#![forbid(unsafe_code)]

use super::reader::Reader;
use crate::ntlm::error::WireError;

/// `ProductMajorVersion`, `ProductMinorVersion`, `ProductBuild`, 3 reserved bytes, `NTLMRevisionCurrent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
    pub revision: u8,
}

impl Version {
    /// `NTLMSSP_REVISION_W2K3`, the only NTLM revision in use.
    pub const NTLMSSP_REVISION_W2K3: u8 = 15;
    /// What we send: Windows 7 / Server 2008 R2 SP1 (6.1.7601), as gss-ntlmssp does.
    pub const DEFAULT: Version = Version {
        major: 6,
        minor: 1,
        build: 7601,
        revision: Self::NTLMSSP_REVISION_W2K3,
    };
    /// Encoded size.
    pub const LEN: usize = 8;

    /// Reads the first 8 bytes of `b`; the reserved bytes are ignored and any revision is accepted.
    pub fn decode(b: &[u8]) -> Result<Version, WireError> {
        let mut r = Reader::new(b, "VERSION");
        let major = r.u8()?;
        let minor = r.u8()?;
        let build = r.u16()?;
        r.take(3)?;
        let revision = r.u8()?;
        Ok(Version {
            major,
            minor,
            build,
            revision,
        })
    }

    /// The 8 bytes on the wire (reserved bytes zero).
    pub fn encode(&self) -> [u8; 8] {
        let b = self.build.to_le_bytes();
        [self.major, self.minor, b[0], b[1], 0, 0, 0, self.revision]
    }
}

impl Default for Version {
    fn default() -> Self {
        Version::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_ms_nlmp_4_2_2_challenge_bytes() {
        // MS-NLMP §4.2.2.3 CHALLENGE_MESSAGE: Version 06 00 70 17 00 00 00 0f = 6.0.6000 rev 15.
        let v = Version::decode(&[0x06, 0x00, 0x70, 0x17, 0, 0, 0, 0x0f]).unwrap();
        assert_eq!(
            v,
            Version {
                major: 6,
                minor: 0,
                build: 6000,
                revision: 15
            }
        );
        assert_eq!(v.encode(), [0x06, 0x00, 0x70, 0x17, 0, 0, 0, 0x0f]);
    }

    #[test]
    fn version_decode_rejects_short_input_and_ignores_reserved() {
        assert!(matches!(
            Version::decode(&[6, 1, 0xb1, 0x1d, 0, 0, 0]),
            Err(WireError::Truncated { .. })
        ));
        let v = Version::decode(&[6, 1, 0xb1, 0x1d, 9, 9, 9, 15]).unwrap();
        assert_eq!(v, Version::DEFAULT);
    }
}
