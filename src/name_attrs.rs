//! Name attributes (RFC 6680) of an authenticated NTLM peer: what the domain controller said about the account.
//!
//! - [`SIDS_ATTR`] `urn:gssntlmssp:sids` — gss-ntlmssp's attribute, in its value format: the account's SIDs
//!   (the user's first, then its primary group's and the other groups', in the DC's order) in string form,
//!   joined by `,`, the value's length counting one trailing NUL byte as gss-ntlmssp's does.
//! - [`GROUPS_ATTR`] `urn:gss-negotiate:groups` — the names of those groups as winbind resolves them,
//!   `DOMAIN\name` joined by `,` (no trailing NUL). A `sAMAccountName` cannot contain `,`, so the list splits
//!   unambiguously. SIDs winbind cannot name are left out, and the attribute is then reported incomplete.
//!
//! Both are single-valued, authenticated (they come from the DC's answer to this logon, not from the peer),
//! and present only for a logon a domain controller validated.
#![forbid(unsafe_code)]

/// gss-ntlmssp's SID attribute.
pub const SIDS_ATTR: &str = "urn:gssntlmssp:sids";
/// The group-name attribute of gss-negotiate.
pub const GROUPS_ATTR: &str = "urn:gss-negotiate:groups";
/// Most entries kept in each list (Windows caps a token at 1024 SIDs).
pub const MAX_ENTRIES: usize = 1024;
/// Longest entry, in bytes.
pub const MAX_ENTRY_LEN: usize = 512;

/// What a back-end vouched for about an authenticated account, beyond its name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameAttrs {
    /// The SIDs, user first (`S-1-5-21-…`); empty when the back-end has none.
    pub sids: Vec<String>,
    /// The group names (`DOMAIN\name`) of `sids[1..]`, those winbind could name.
    pub groups: Vec<String>,
    /// Every group SID was named.
    pub groups_complete: bool,
    /// A domain controller validated the logon (`gss_localname` then asks winbind for the mapping).
    pub from_directory: bool,
}

/// One attribute value as `gss_get_name_attribute` hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrValue {
    /// The value.
    pub value: Vec<u8>,
    /// Its display form.
    pub display: String,
    /// Authenticated by the mechanism.
    pub authenticated: bool,
    /// All values the source has.
    pub complete: bool,
}

impl NameAttrs {
    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.sids.is_empty() && self.groups.is_empty()
    }

    /// The attribute names present (`gss_inquire_name`).
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if !self.sids.is_empty() {
            v.push(SIDS_ATTR);
        }
        if self.sids.len() > 1 {
            v.push(GROUPS_ATTR);
        }
        v
    }

    /// The value of `attr` (the name as bytes; one trailing NUL tolerated), if present.
    pub fn get(&self, attr: &[u8]) -> Option<AttrValue> {
        let attr = attr.strip_suffix(b"\0").unwrap_or(attr);
        if attr == SIDS_ATTR.as_bytes() && !self.sids.is_empty() {
            let display = self.sids.join(",");
            let mut value = display.clone().into_bytes();
            value.push(0);
            return Some(AttrValue {
                value,
                display,
                authenticated: true,
                complete: true,
            });
        }
        if attr == GROUPS_ATTR.as_bytes() && self.sids.len() > 1 {
            let display = self.groups.join(",");
            return Some(AttrValue {
                value: display.clone().into_bytes(),
                display,
                authenticated: true,
                complete: self.groups_complete,
            });
        }
        None
    }

    /// Serialised for an exported context: each list as a count (u16 LE) of strings (u16 LE length + bytes),
    /// then one flags byte (bit 0 groups complete, bit 1 from the directory).
    pub fn export(&self, out: &mut Vec<u8>) {
        for list in [&self.sids, &self.groups] {
            let n = list.len().min(MAX_ENTRIES);
            out.extend_from_slice(&(n as u16).to_le_bytes());
            for s in list.iter().take(n) {
                let b = s.as_bytes();
                let b = b.get(..MAX_ENTRY_LEN).unwrap_or(b);
                out.extend_from_slice(&(b.len() as u16).to_le_bytes());
                out.extend_from_slice(b);
            }
        }
        out.push(u8::from(self.groups_complete) | (u8::from(self.from_directory) << 1));
    }

    /// Parses what [`NameAttrs::export`] wrote at the start of `b`; returns the rest. Bounds every count and length.
    pub fn import(mut b: &[u8]) -> Result<(NameAttrs, &[u8]), &'static str> {
        fn u16_at(b: &mut &[u8]) -> Result<usize, &'static str> {
            let (h, t) = b
                .split_first_chunk::<2>()
                .ok_or("truncated name attributes")?;
            *b = t;
            Ok(usize::from(u16::from_le_bytes(*h)))
        }
        let mut lists: [Vec<String>; 2] = Default::default();
        for list in &mut lists {
            let n = u16_at(&mut b)?;
            if n > MAX_ENTRIES {
                return Err("too many name attribute values");
            }
            for _ in 0..n {
                let len = u16_at(&mut b)?;
                if len > MAX_ENTRY_LEN || b.len() < len {
                    return Err("bad name attribute value length");
                }
                let (s, t) = b.split_at(len);
                b = t;
                let s = String::from_utf8(s.to_vec()).map_err(|_| "name attribute is not UTF-8")?;
                list.push(s);
            }
        }
        let (&flags, rest) = b.split_first().ok_or("truncated name attributes")?;
        if flags > 3 {
            return Err("bad name attribute flags");
        }
        let [sids, groups] = lists;
        Ok((
            NameAttrs {
                sids,
                groups,
                groups_complete: flags & 1 != 0,
                from_directory: flags & 2 != 0,
            },
            rest,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> NameAttrs {
        NameAttrs {
            sids: vec![
                "S-1-5-21-1-2-3-1103".into(),
                "S-1-5-21-1-2-3-513".into(),
                "S-1-5-21-1-2-3-1105".into(),
            ],
            groups: vec!["ADTEST\\Domain Users".into(), "ADTEST\\webusers".into()],
            groups_complete: true,
            from_directory: true,
        }
    }

    #[test]
    fn values_in_gss_ntlmssp_format_and_ours() {
        let a = alice();
        assert_eq!(a.names(), [SIDS_ATTR, GROUPS_ATTR]);
        let sids = a.get(SIDS_ATTR.as_bytes()).unwrap();
        assert_eq!(
            sids.value,
            b"S-1-5-21-1-2-3-1103,S-1-5-21-1-2-3-513,S-1-5-21-1-2-3-1105\0"
        );
        assert!(sids.authenticated && sids.complete);
        let groups = a.get(b"urn:gss-negotiate:groups\0").unwrap();
        assert_eq!(groups.display, "ADTEST\\Domain Users,ADTEST\\webusers");
        assert_eq!(groups.value, groups.display.as_bytes());
        assert!(a.get(b"urn:gssntlmssp:sid").is_none());
        assert!(NameAttrs::default().names().is_empty());
        assert!(NameAttrs::default().get(SIDS_ATTR.as_bytes()).is_none());
        let incomplete = NameAttrs {
            groups_complete: false,
            ..alice()
        };
        assert!(!incomplete.get(GROUPS_ATTR.as_bytes()).unwrap().complete);
    }

    #[test]
    fn export_import_round_trip_and_reject_garbage() {
        let mut out = Vec::new();
        alice().export(&mut out);
        out.extend_from_slice(b"tail");
        let (back, rest) = NameAttrs::import(&out).unwrap();
        assert_eq!(back, alice());
        assert_eq!(rest, b"tail");
        for cut in 0..out.len() - 4 {
            assert!(NameAttrs::import(&out[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = Vec::new();
        NameAttrs::default().export(&mut bad);
        *bad.last_mut().unwrap() = 9;
        assert!(NameAttrs::import(&bad).is_err());
        assert!(NameAttrs::import(&[0xff, 0xff]).is_err());
    }
}
