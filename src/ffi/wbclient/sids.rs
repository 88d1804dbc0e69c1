//! SIDs: their text form (MS-DTYP §2.4.2.1) and the two winbindd requests about them — names for group
//! SIDs (`wbcCtxLookupSids`) and the Unix account of a user SID (`wbcCtxGetpwsid`).

use core::ffi::c_int;
use std::sync::atomic::Ordering;

use super::abi::*;
use super::{opt_string, WbcFailure, WbcResult, Winbind};

/// `S-1-5-21-…` (MS-DTYP §2.4.2.1: the authority in decimal below 2^32, else in hex).
pub(super) fn sid_string(sid: &DomainSid) -> String {
    let auth = sid
        .id_auth
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut s = if auth < (1 << 32) {
        format!("S-{}-{auth}", sid.sid_rev_num)
    } else {
        format!("S-{}-{auth:#014X}", sid.sid_rev_num)
    };
    let n = usize::from(sid.num_auths).min(sid.sub_auths.len());
    for a in sid.sub_auths.iter().take(n) {
        s.push_str(&format!("-{a}"));
    }
    s
}

/// Parses `S-1-5-21-…` (the form [`sid_string`] writes; a hex authority `0x…` too). `None` for anything else.
pub(super) fn parse_sid(text: &str) -> Option<DomainSid> {
    let mut parts = text.strip_prefix("S-")?.split('-');
    let rev: u8 = parts.next()?.parse().ok()?;
    let auth_text = parts.next()?;
    let auth = match auth_text
        .strip_prefix("0x")
        .or_else(|| auth_text.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => auth_text.parse().ok()?,
    };
    if auth >= 1 << 48 {
        return None;
    }
    let mut sid = DomainSid {
        sid_rev_num: rev,
        num_auths: 0,
        id_auth: [0; 6],
        sub_auths: [0; 15],
    };
    sid.id_auth.copy_from_slice(&auth.to_be_bytes()[2..]);
    for p in parts {
        let slot = sid.sub_auths.get_mut(usize::from(sid.num_auths))?;
        *slot = p.parse().ok()?;
        sid.num_auths += 1;
    }
    Some(sid)
}

impl Winbind {
    /// Resolves SIDs to (domain, name) with one winbindd request (`wbcCtxLookupSids`); `None` for a SID winbind
    /// does not know (or that does not parse). The domain is "" when winbind gives none (a Samba 4.17 DC names
    /// no domain in this answer).
    pub fn lookup_sids(
        &self,
        sids: &[String],
    ) -> Result<Vec<Option<(String, String)>>, WbcFailure> {
        let parsed: Vec<Option<DomainSid>> = sids.iter().map(|s| parse_sid(s)).collect();
        let valid: Vec<&DomainSid> = parsed.iter().flatten().take(MAX_LOOKUP_SIDS).collect();
        if valid.is_empty() {
            return Ok(vec![None; sids.len()]);
        }
        let raw: Vec<DomainSid> = valid
            .iter()
            .map(|s| DomainSid {
                sid_rev_num: s.sid_rev_num,
                num_auths: s.num_auths,
                id_auth: s.id_auth,
                sub_auths: s.sub_auths,
            })
            .collect();
        let n = c_int::try_from(raw.len()).unwrap_or(0);
        let ctx = self.checkout()?;
        let mut domains = WbcResult::<DomainInfo>::new(self);
        let mut num_domains: c_int = 0;
        let mut names = WbcResult::<TranslatedName>::new(self);
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; raw holds n SIDs that outlive the call; the
        // out-pointers are valid and of the right types.
        let rc = unsafe {
            (self.api.ctx_lookup_sids)(
                ctx.0,
                raw.as_ptr(),
                n,
                domains.out(),
                &mut num_domains,
                names.out(),
            )
        };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        // The raw results, read below; the WbcResult guards (shadowed, not dropped) free them at the end.
        let (names, domains) = (names.ptr, domains.ptr);
        if rc == WBC_ERR_SUCCESS && !names.is_null() {
            let nd = usize::try_from(num_domains)
                .unwrap_or(0)
                .min(MAX_LOOKUP_SIDS);
            // SAFETY: on success libwbclient returns n translated names and num_domains domains (bounded).
            let (tn, dom) = unsafe {
                (
                    std::slice::from_raw_parts(names, raw.len()),
                    if domains.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(domains, nd)
                    },
                )
            };
            let mut resolved = tn.iter().map(|t| {
                if t.sid_type == SID_NAME_UNKNOWN {
                    return None;
                }
                let name = opt_string(t.name)?;
                let domain = usize::try_from(t.domain_index)
                    .ok()
                    .and_then(|i| dom.get(i))
                    .and_then(|d| opt_string(d.short_name))
                    .unwrap_or_default();
                Some((domain, name))
            });
            Ok(parsed
                .iter()
                .map(|p| p.as_ref().and_then(|_| resolved.next().flatten()))
                .collect())
        } else {
            Err(self.failure(rc))
        }
    }

    /// The Unix account winbind maps a SID to (`wbcCtxGetpwsid`: its `pw_name`), one winbindd request.
    pub fn account_of_sid(&self, sid: &str) -> Result<String, WbcFailure> {
        let raw = parse_sid(sid).ok_or_else(|| WbcFailure::Error {
            code: 5,
            text: format!("not a SID: {sid}"),
        })?;
        let ctx = self.checkout()?;
        let mut pwd = WbcResult::<libc::passwd>::new(self);
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; raw outlives the call; pwd gives a valid
        // out-pointer of the right type.
        let rc = unsafe { (self.api.ctx_getpwsid)(ctx.0, &raw, pwd.out()) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        let name = match (rc, pwd.get()) {
            // The NUL-terminated pw_name lives as long as pwd.
            (WBC_ERR_SUCCESS, Some(p)) => opt_string(p.pw_name),
            _ => return Err(self.failure(rc)),
        };
        name.filter(|n| !n.is_empty())
            .ok_or_else(|| WbcFailure::Error {
                code: 0,
                text: "winbind returned an account without a name".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_print_in_ms_dtyp_form() {
        let mut sid = DomainSid {
            sid_rev_num: 1,
            num_auths: 5,
            id_auth: [0, 0, 0, 0, 0, 5],
            sub_auths: [0; 15],
        };
        sid.sub_auths[..5].copy_from_slice(&[21, 1, 2, 3, 1103]);
        assert_eq!(sid_string(&sid), "S-1-5-21-1-2-3-1103");
        sid.num_auths = 200; // bounded by the array
        assert_eq!(sid_string(&sid).matches('-').count(), 2 + 15);
        sid.id_auth = [1, 0, 0, 0, 0, 0];
        sid.num_auths = 0;
        assert_eq!(sid_string(&sid), "S-1-0x010000000000");
    }

    #[test]
    fn sids_parse_back() {
        for text in [
            "S-1-5-21-1-2-3-1103",
            "S-1-5-32-545",
            "S-1-1-0",
            "S-1-0x010000000000",
        ] {
            let sid = parse_sid(text).expect(text);
            assert_eq!(sid_string(&sid), text);
        }
        for bad in [
            "",
            "S-1",
            "S-x-5",
            "X-1-5-1",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
            "S-1-5-1-",
        ] {
            assert!(parse_sid(bad).is_none(), "{bad}");
        }
        assert_eq!(std::mem::size_of::<TranslatedName>(), 24);
        assert_eq!(std::mem::offset_of!(TranslatedName, domain_index), 16);
        assert_eq!(std::mem::size_of::<DomainInfo>(), 104);
        assert_eq!(std::mem::size_of::<NamedBlob>(), 32);
        assert_eq!(std::mem::offset_of!(NamedBlob, blob), 16);
        assert_eq!(std::mem::size_of::<CredentialCacheParams>(), 40);
        assert_eq!(std::mem::offset_of!(CredentialCacheParams, blobs), 32);
        assert_eq!(std::mem::size_of::<CredentialCacheInfo>(), 16);
        assert_eq!(std::mem::offset_of!(DomainInfo, trust_routing), 96);
    }
}
