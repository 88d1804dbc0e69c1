//! AV pairs (MS-NLMP §2.2.2.1): the attribute/value list carried in the CHALLENGE's TargetInfo and, with
//! additions by the client, in the NTLMv2 client challenge (§2.2.2.7).
//!
//! Decoding rules:
//! - the list ends with `MsvAvEOL` (length 0); a list without it is an error;
//! - values of fixed-size ids must have their size: `MsvAvFlags` 4, `MsvAvTimestamp` 8,
//!   `MsvAvChannelBindings` 16, `MsvAvSingleHost` at least 48 (§2.2.2.2); the string ids (1–5, 9) must have
//!   an even length (UTF-16LE);
//! - unknown ids are kept in place and re-encoded unchanged;
//! - duplicate ids are all kept; [`AvPairs::get`] returns the first;
//! - bytes after the EOL are accepted only when they are all zero: Windows 7 follows the list in the NTLMv2
//!   client challenge with 8 zero bytes (captured token `gssntlmssp_authenticate_v2_cbt_mic.bin`), every
//!   other peer with the 4 reserved zero bytes; no captured CHALLENGE has anything after the EOL.
#![forbid(unsafe_code)]

use super::reader::Reader;
use crate::ntlm::error::WireError;

/// `MsvAvEOL`: end of the list.
pub const MSV_AV_EOL: u16 = 0;
/// `MsvAvNbComputerName`: NetBIOS computer name (UTF-16LE).
pub const MSV_AV_NB_COMPUTER_NAME: u16 = 1;
/// `MsvAvNbDomainName`: NetBIOS domain name (UTF-16LE).
pub const MSV_AV_NB_DOMAIN_NAME: u16 = 2;
/// `MsvAvDnsComputerName`: FQDN of the computer (UTF-16LE).
pub const MSV_AV_DNS_COMPUTER_NAME: u16 = 3;
/// `MsvAvDnsDomainName`: FQDN of the domain (UTF-16LE).
pub const MSV_AV_DNS_DOMAIN_NAME: u16 = 4;
/// `MsvAvDnsTreeName`: FQDN of the forest (UTF-16LE).
pub const MSV_AV_DNS_TREE_NAME: u16 = 5;
/// `MsvAvFlags`: 32-bit flags (`MSV_AV_FLAG_*`).
pub const MSV_AV_FLAGS: u16 = 6;
/// `MsvAvTimestamp`: FILETIME (100 ns since 1601-01-01 UTC).
pub const MSV_AV_TIMESTAMP: u16 = 7;
/// `MsvAvSingleHost`: a Single_Host_Data structure (§2.2.2.2).
pub const MSV_AV_SINGLE_HOST: u16 = 8;
/// `MsvAvTargetName`: the SPN of the target (UTF-16LE).
pub const MSV_AV_TARGET_NAME: u16 = 9;
/// `MsvAvChannelBindings`: MD5 of the gss_channel_bindings_struct.
pub const MSV_AV_CHANNEL_BINDINGS: u16 = 10;

/// `MsvAvFlags` bit: the client's account authentication is constrained.
pub const MSV_AV_FLAG_CONSTRAINED: u32 = 0x1;
/// `MsvAvFlags` bit: the AUTHENTICATE carries a MIC.
pub const MSV_AV_FLAG_MIC_PRESENT: u32 = 0x2;
/// `MsvAvFlags` bit: the client's MsvAvTargetName comes from an untrusted source.
pub const MSV_AV_FLAG_UNVERIFIED_SPN: u32 = 0x4;

/// The AV ids as associated constants (`AvId::TIMESTAMP`), equal to the `MSV_AV_*` constants.
#[derive(Clone, Copy, Debug)]
pub struct AvId;

impl AvId {
    pub const EOL: u16 = MSV_AV_EOL;
    pub const NB_COMPUTER_NAME: u16 = MSV_AV_NB_COMPUTER_NAME;
    pub const NB_DOMAIN_NAME: u16 = MSV_AV_NB_DOMAIN_NAME;
    pub const DNS_COMPUTER_NAME: u16 = MSV_AV_DNS_COMPUTER_NAME;
    pub const DNS_DOMAIN_NAME: u16 = MSV_AV_DNS_DOMAIN_NAME;
    pub const DNS_TREE_NAME: u16 = MSV_AV_DNS_TREE_NAME;
    pub const FLAGS: u16 = MSV_AV_FLAGS;
    pub const TIMESTAMP: u16 = MSV_AV_TIMESTAMP;
    pub const SINGLE_HOST: u16 = MSV_AV_SINGLE_HOST;
    pub const TARGET_NAME: u16 = MSV_AV_TARGET_NAME;
    pub const CHANNEL_BINDINGS: u16 = MSV_AV_CHANNEL_BINDINGS;

    /// The spec name of an id (`"MsvAvTimestamp"`), or `"unknown"`.
    pub fn name(id: u16) -> &'static str {
        match id {
            MSV_AV_EOL => "MsvAvEOL",
            MSV_AV_NB_COMPUTER_NAME => "MsvAvNbComputerName",
            MSV_AV_NB_DOMAIN_NAME => "MsvAvNbDomainName",
            MSV_AV_DNS_COMPUTER_NAME => "MsvAvDnsComputerName",
            MSV_AV_DNS_DOMAIN_NAME => "MsvAvDnsDomainName",
            MSV_AV_DNS_TREE_NAME => "MsvAvDnsTreeName",
            MSV_AV_FLAGS => "MsvAvFlags",
            MSV_AV_TIMESTAMP => "MsvAvTimestamp",
            MSV_AV_SINGLE_HOST => "MsvAvSingleHost",
            MSV_AV_TARGET_NAME => "MsvAvTargetName",
            MSV_AV_CHANNEL_BINDINGS => "MsvAvChannelBindings",
            _ => "unknown",
        }
    }

    /// True for the ids whose value is a UTF-16LE string.
    pub fn is_string(id: u16) -> bool {
        matches!(id, 1..=5 | MSV_AV_TARGET_NAME)
    }
}

/// The minimum size of a `Single_Host_Data` value (§2.2.2.2): Size, Z4, CustomData (8), MachineID (32).
pub const SINGLE_HOST_MIN_LEN: usize = 48;

/// One attribute: its id and raw value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvPair {
    pub id: u16,
    pub value: Vec<u8>,
}

/// An ordered AV pair list, without its terminating `MsvAvEOL`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AvPairs {
    pairs: Vec<AvPair>,
}

fn check_value(id: u16, len: usize) -> Result<(), WireError> {
    let ok = match id {
        MSV_AV_FLAGS => len == 4,
        MSV_AV_TIMESTAMP => len == 8,
        MSV_AV_CHANNEL_BINDINGS => len == 16,
        MSV_AV_SINGLE_HOST => len >= SINGLE_HOST_MIN_LEN,
        _ if AvId::is_string(id) => len % 2 == 0,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(WireError::BadFieldLength {
            field: AvId::name(id),
            len,
        })
    }
}

impl AvPairs {
    /// An empty list.
    pub fn new() -> Self {
        AvPairs::default()
    }

    /// Decodes a list that ends with `MsvAvEOL` (see the module documentation for the rules).
    pub fn decode(b: &[u8]) -> Result<AvPairs, WireError> {
        let mut r = Reader::new(b, "AV pair list");
        // Every pair takes at least 4 bytes; reserve for the list at once (bounded: a CHALLENGE or an NTLMv2
        // response carries about ten).
        let mut pairs = Vec::with_capacity((b.len() / 4).min(16));
        loop {
            let (id, len) = match (r.u16(), r.u16()) {
                (Ok(id), Ok(len)) => (id, usize::from(len)),
                _ => return Err(WireError::BadAvPairs("list ends without MsvAvEOL")),
            };
            if id == MSV_AV_EOL {
                if len != 0 {
                    return Err(WireError::BadAvPairs("MsvAvEOL with a non-zero length"));
                }
                break;
            }
            let value = r
                .take(len)
                .map_err(|_| WireError::BadAvPairs("AV pair value runs past the end"))?;
            check_value(id, len)?;
            pairs.push(AvPair {
                id,
                value: value.to_vec(),
            });
        }
        let rest = b.get(r.pos()..).unwrap_or(&[]);
        if rest.iter().any(|&x| x != 0) {
            return Err(WireError::BadAvPairs("non-zero bytes after MsvAvEOL"));
        }
        Ok(AvPairs { pairs })
    }

    /// The list as sent: each pair (`AvId`, `AvLen`, value) then `MsvAvEOL`. A value longer than 65535 bytes
    /// is cut at 65535 (such a value cannot be sent).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        for p in &self.pairs {
            let value = p.value.get(..usize::from(u16::MAX)).unwrap_or(&p.value);
            out.extend_from_slice(&p.id.to_le_bytes());
            out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_le_bytes());
            out.extend_from_slice(value);
        }
        out.extend_from_slice(&[0, 0, 0, 0]);
        out
    }

    /// Size of [`AvPairs::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| 4 + p.value.len().min(usize::from(u16::MAX)))
            .sum::<usize>()
            + 4
    }

    /// The pairs in order (duplicates included, EOL excluded).
    pub fn iter(&self) -> impl Iterator<Item = &AvPair> {
        self.pairs.iter()
    }

    /// Number of pairs (EOL excluded).
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when the list holds only the EOL.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of the first pair with this id.
    pub fn get(&self, id: u16) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.value.as_slice())
    }

    /// Appends a pair even if the id is already present (for building lists as a peer sent them).
    pub fn push(&mut self, id: u16, value: Vec<u8>) {
        self.pairs.push(AvPair { id, value });
    }

    /// Sets the value of `id`: replaces the first pair with this id in place (and drops any later duplicate),
    /// or appends a new pair. `MsvAvEOL` is never stored (setting it does nothing). The caller gives
    /// fixed-size ids their size; use the typed setters.
    pub fn set(&mut self, id: u16, value: Vec<u8>) {
        if id == MSV_AV_EOL {
            return;
        }
        match self.pairs.iter().position(|p| p.id == id) {
            Some(i) => {
                let mut seen = 0usize;
                self.pairs.retain(|p| {
                    if p.id != id {
                        return true;
                    }
                    seen += 1;
                    seen == 1
                });
                if let Some(p) = self.pairs.get_mut(i) {
                    p.value = value;
                }
            }
            None => self.pairs.push(AvPair { id, value }),
        }
    }

    /// Removes every pair with this id.
    pub fn remove(&mut self, id: u16) {
        self.pairs.retain(|p| p.id != id);
    }

    /// The first value of `id` as a UTF-16LE string; `None` when absent or not valid UTF-16.
    pub fn get_string(&self, id: u16) -> Option<String> {
        super::decode_string(self.get(id)?, true, "AV pair").ok()
    }

    /// Sets `id` to `s` in UTF-16LE.
    pub fn set_string(&mut self, id: u16, s: &str) {
        self.set(id, super::encode_string(s, true));
    }

    /// `MsvAvTimestamp` (FILETIME), when present with 8 bytes.
    pub fn timestamp(&self) -> Option<u64> {
        Some(u64::from_le_bytes(
            self.get(MSV_AV_TIMESTAMP)?.try_into().ok()?,
        ))
    }

    /// Sets `MsvAvTimestamp`.
    pub fn set_timestamp(&mut self, t: u64) {
        self.set(MSV_AV_TIMESTAMP, t.to_le_bytes().to_vec());
    }

    /// `MsvAvFlags`, when present with 4 bytes.
    pub fn flags(&self) -> Option<u32> {
        Some(u32::from_le_bytes(self.get(MSV_AV_FLAGS)?.try_into().ok()?))
    }

    /// Sets `MsvAvFlags`.
    pub fn set_flags(&mut self, f: u32) {
        self.set(MSV_AV_FLAGS, f.to_le_bytes().to_vec());
    }

    /// `MsvAvChannelBindings`, when present with 16 bytes.
    pub fn channel_bindings(&self) -> Option<[u8; 16]> {
        self.get(MSV_AV_CHANNEL_BINDINGS)?.try_into().ok()
    }

    /// Sets `MsvAvChannelBindings`.
    pub fn set_channel_bindings(&mut self, h: [u8; 16]) {
        self.set(MSV_AV_CHANNEL_BINDINGS, h.to_vec());
    }
}

impl FromIterator<AvPair> for AvPairs {
    /// Collects pairs as given (duplicates kept); an `MsvAvEOL` pair ends nothing and is dropped.
    fn from_iter<I: IntoIterator<Item = AvPair>>(iter: I) -> Self {
        AvPairs {
            pairs: iter.into_iter().filter(|p| p.id != MSV_AV_EOL).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: u16, value: &[u8]) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn decodes_ms_nlmp_4_2_4_target_info() {
        // MS-NLMP §4.2.4 CHALLENGE TargetInfo: NbDomainName "Domain", NbComputerName "Server", EOL.
        let mut b = pair(2, &crate::ntlm::wire::encode_string("Domain", true));
        b.extend(pair(1, &crate::ntlm::wire::encode_string("Server", true)));
        b.extend([0, 0, 0, 0]);
        let av = AvPairs::decode(&b).unwrap();
        assert_eq!(
            av.get_string(MSV_AV_NB_DOMAIN_NAME).as_deref(),
            Some("Domain")
        );
        assert_eq!(
            av.get_string(AvId::NB_COMPUTER_NAME).as_deref(),
            Some("Server")
        );
        assert_eq!(av.len(), 2);
        assert_eq!(av.encode(), b);
    }

    #[test]
    fn rejects_missing_eol() {
        let b = pair(1, b"S\0");
        assert!(matches!(AvPairs::decode(&b), Err(WireError::BadAvPairs(_))));
        assert!(matches!(
            AvPairs::decode(&[]),
            Err(WireError::BadAvPairs(_))
        ));
        assert!(matches!(
            AvPairs::decode(&[0, 0, 0]),
            Err(WireError::BadAvPairs(_))
        ));
    }

    #[test]
    fn rejects_value_running_past_end() {
        let mut b = pair(1, b"S\0");
        b[2] = 40;
        assert!(matches!(AvPairs::decode(&b), Err(WireError::BadAvPairs(_))));
    }

    #[test]
    fn rejects_fixed_size_ids_with_wrong_length() {
        for (id, len) in [
            (MSV_AV_TIMESTAMP, 7),
            (MSV_AV_FLAGS, 3),
            (MSV_AV_CHANNEL_BINDINGS, 15),
            (MSV_AV_SINGLE_HOST, 47),
        ] {
            let mut b = pair(id, &vec![0u8; len]);
            b.extend([0, 0, 0, 0]);
            assert_eq!(
                AvPairs::decode(&b),
                Err(WireError::BadFieldLength {
                    field: AvId::name(id),
                    len
                }),
                "id {id}"
            );
        }
    }

    #[test]
    fn rejects_odd_length_string_value() {
        let mut b = pair(MSV_AV_TARGET_NAME, b"abc");
        b.extend([0, 0, 0, 0]);
        assert!(matches!(
            AvPairs::decode(&b),
            Err(WireError::BadFieldLength { .. })
        ));
    }

    #[test]
    fn rejects_eol_with_length_and_nonzero_trailer() {
        assert!(matches!(
            AvPairs::decode(&[0, 0, 1, 0, 0]),
            Err(WireError::BadAvPairs(_))
        ));
        assert!(matches!(
            AvPairs::decode(&[0, 0, 0, 0, 0, 1]),
            Err(WireError::BadAvPairs(_))
        ));
        assert_eq!(
            AvPairs::decode(&[0, 0, 0, 0, 0, 0, 0, 0]),
            Ok(AvPairs::new())
        );
    }

    #[test]
    fn unknown_ids_and_duplicates_are_carried() {
        let mut b = pair(0x7777, b"xyz");
        b.extend(pair(MSV_AV_FLAGS, &[1, 0, 0, 0]));
        b.extend(pair(MSV_AV_FLAGS, &[2, 0, 0, 0]));
        b.extend([0, 0, 0, 0]);
        let av = AvPairs::decode(&b).unwrap();
        assert_eq!(av.len(), 3);
        assert_eq!(av.get(0x7777), Some(&b"xyz"[..]));
        assert_eq!(av.flags(), Some(1));
        assert_eq!(av.encode(), b);
    }

    #[test]
    fn set_replaces_in_place_and_drops_duplicates() {
        let mut av = AvPairs::new();
        av.push(MSV_AV_FLAGS, vec![1, 0, 0, 0]);
        av.set_string(MSV_AV_TARGET_NAME, "HTTP/x");
        av.push(MSV_AV_FLAGS, vec![2, 0, 0, 0]);
        av.set_flags(MSV_AV_FLAG_MIC_PRESENT);
        let ids: Vec<u16> = av.iter().map(|p| p.id).collect();
        assert_eq!(ids, [MSV_AV_FLAGS, MSV_AV_TARGET_NAME]);
        assert_eq!(av.flags(), Some(MSV_AV_FLAG_MIC_PRESENT));
        av.set_timestamp(0x01d6_1e99_8892_81f8);
        av.set_channel_bindings([7; 16]);
        assert_eq!(av.timestamp(), Some(0x01d6_1e99_8892_81f8));
        assert_eq!(av.channel_bindings(), Some([7; 16]));
        assert_eq!(
            av.iter().last().map(|p| p.id),
            Some(MSV_AV_CHANNEL_BINDINGS)
        );
        av.remove(MSV_AV_FLAGS);
        assert_eq!(av.flags(), None);
        av.set(MSV_AV_EOL, vec![1]);
        assert_eq!(av.get(MSV_AV_EOL), None);
    }
}
