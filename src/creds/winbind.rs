//! The winbind back-end: a domain member (or DC) validates NTLM logons through Samba's winbindd, which passes
//! the challenge and the client's responses to the domain controller (NetLogon) and returns the account's
//! canonical name, the session base key and the SIDs — or an NT status, mapped here to a typed [`Refusal`].
#![forbid(unsafe_code)]

use crate::ffi::wbclient::{self, WbcFailure, WbcLogon, Winbind};
use crate::name_attrs::NameAttrs;
use crate::ntlm::secret::{Key16, LmHash};
use crate::ntlm::validator::{LogonRequest, Refusal, Validated, Validator};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// NT status codes (MS-ERREF §2.3.1) that winbind reports for refused logons.
pub mod nt_status {
    pub const NO_SUCH_USER: u32 = 0xC000_0064;
    pub const WRONG_PASSWORD: u32 = 0xC000_006A;
    pub const LOGON_FAILURE: u32 = 0xC000_006D;
    pub const ACCOUNT_RESTRICTION: u32 = 0xC000_006E;
    pub const INVALID_LOGON_HOURS: u32 = 0xC000_006F;
    pub const INVALID_WORKSTATION: u32 = 0xC000_0070;
    pub const PASSWORD_EXPIRED: u32 = 0xC000_0071;
    pub const ACCOUNT_DISABLED: u32 = 0xC000_0072;
    pub const NO_SUCH_DOMAIN: u32 = 0xC000_00DF;
    pub const NO_LOGON_SERVERS: u32 = 0xC000_005E;
    pub const ACCOUNT_EXPIRED: u32 = 0xC000_0193;
    pub const PASSWORD_MUST_CHANGE: u32 = 0xC000_0224;
    pub const ACCOUNT_LOCKED_OUT: u32 = 0xC000_0234;
    pub const NTLM_BLOCKED: u32 = 0xC000_0418;
    pub const DOMAIN_CONTROLLER_NOT_FOUND: u32 = 0xC000_0233;
    pub const TRUSTED_RELATIONSHIP_FAILURE: u32 = 0xC000_018D;
}

/// `wbcAuthUserInfo.user_flags`: the DC mapped the logon to the guest account.
const USER_INFO_GUEST: u32 = 0x0000_0001;

/// The typed refusal for a domain controller's NT status; `text` is winbind's name for it (e.g.
/// `NT_STATUS_ACCOUNT_RESTRICTION`), kept for the ones without a type of their own.
pub fn refusal_for(status: u32, text: &str) -> Refusal {
    use nt_status::*;
    match status {
        NO_SUCH_USER => Refusal::UnknownUser,
        WRONG_PASSWORD | LOGON_FAILURE => Refusal::WrongPassword,
        ACCOUNT_DISABLED => Refusal::AccountDisabled,
        ACCOUNT_EXPIRED => Refusal::AccountExpired,
        ACCOUNT_LOCKED_OUT => Refusal::AccountLockedOut,
        PASSWORD_EXPIRED => Refusal::PasswordExpired,
        PASSWORD_MUST_CHANGE => Refusal::PasswordMustChange,
        INVALID_LOGON_HOURS => Refusal::InvalidLogonHours,
        INVALID_WORKSTATION => Refusal::InvalidWorkstation,
        NTLM_BLOCKED => Refusal::ResponseTypeRefused,
        NO_LOGON_SERVERS | DOMAIN_CONTROLLER_NOT_FOUND | TRUSTED_RELATIONSHIP_FAILURE => {
            Refusal::Unavailable(format!(
                "no domain controller reachable ({})",
                label(status, text)
            ))
        }
        _ => Refusal::Other {
            status,
            text: label(status, text),
        },
    }
}

fn label(status: u32, text: &str) -> String {
    if text.is_empty() {
        format!("NT status {status:#010x}")
    } else {
        // winbind's own text; keep it printable (it reaches logs and gss_display_status).
        text.chars().filter(|c| !c.is_control()).take(120).collect()
    }
}

/// The refusal for any winbind failure.
pub fn refusal_of(f: WbcFailure) -> Refusal {
    match f {
        WbcFailure::Unavailable(why) => Refusal::Unavailable(why),
        WbcFailure::Auth {
            nt_status,
            nt_string,
            ..
        } => refusal_for(nt_status, &nt_string),
        WbcFailure::Error { code, text } => {
            Refusal::Unavailable(format!("winbind error {code}: {text}"))
        }
    }
}

/// Validates logons through winbindd.
pub struct WinbindValidator {
    wb: &'static Winbind,
}

impl WinbindValidator {
    /// The validator, or why winbind cannot be used (libwbclient absent).
    pub fn new() -> Result<WinbindValidator, String> {
        Ok(WinbindValidator {
            wb: wbclient::winbind()?,
        })
    }
}

/// How long an unanswered question for the machine's NetBIOS domain is not asked again (winbindd unreachable,
/// or no domain): a winbindd started after the server is seen within this time.
const DOMAIN_RETRY: Duration = Duration::from_secs(5);

/// How long a SID's name is remembered (group names change rarely; a rename shows after this).
const NAME_TTL: Duration = Duration::from_secs(300);
/// Most names remembered; the cache is emptied when full.
const NAME_CACHE_MAX: usize = 4096;

/// SID → `DOMAIN\name`, shared by the process: a logon asks winbind (one `wbcCtxLookupSids` request) only for
/// the SIDs not named within [`NAME_TTL`], so a busy server's logons usually cost no request beyond the logon.
fn name_cache() -> &'static Mutex<HashMap<String, (String, Instant)>> {
    static CACHE: OnceLock<Mutex<HashMap<String, (String, Instant)>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

impl WinbindValidator {
    /// The name attributes of a validated account: its SIDs and its groups' names (`sids[1..]`, each group
    /// once, `DOMAIN\name`; a group of the account's own domain for which winbind names no domain gets the
    /// account's `domain`).
    fn attrs_of(&self, sids: &[String], domain: &str) -> NameAttrs {
        let mut groups: Vec<&String> = Vec::new();
        for s in sids.get(1..).unwrap_or_default() {
            if !groups.contains(&s) {
                groups.push(s);
            }
        }
        let own_prefix = sids
            .first()
            .and_then(|u| u.rsplit_once('-'))
            .map(|(p, _)| format!("{p}-"));
        let now = Instant::now();
        let mut names: Vec<Option<String>> = {
            let cache = name_cache().lock().unwrap_or_else(|p| p.into_inner());
            groups
                .iter()
                .map(|s| match cache.get(*s) {
                    Some((n, at)) if now.duration_since(*at) < NAME_TTL => Some(n.clone()),
                    _ => None,
                })
                .collect()
        };
        let missing: Vec<String> = groups
            .iter()
            .zip(&names)
            .filter(|(_, n)| n.is_none())
            .map(|(s, _)| (*s).clone())
            .collect();
        if !missing.is_empty() {
            if let Ok(found) = self.wb.lookup_sids(&missing) {
                let mut cache = name_cache().lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() + found.len() > NAME_CACHE_MAX {
                    cache.clear();
                }
                let mut found = missing.iter().zip(found);
                for (sid, slot) in groups.iter().zip(names.iter_mut()) {
                    if slot.is_some() {
                        continue;
                    }
                    if let Some((s, n)) = found.next() {
                        debug_assert_eq!(s, *sid);
                        let n = n.map(|(d, n)| {
                            let own = own_prefix.as_deref().is_some_and(|p| s.starts_with(p));
                            match (d.is_empty(), own && !domain.is_empty()) {
                                (false, _) => format!("{d}\\{n}"),
                                (true, true) => format!("{domain}\\{n}"),
                                (true, false) => n,
                            }
                        });
                        if let Some(n) = &n {
                            cache.insert(s.clone(), (n.clone(), now));
                        }
                        *slot = n;
                    }
                }
            }
        }
        let complete = names.iter().all(Option::is_some);
        NameAttrs {
            sids: sids.to_vec(),
            groups: names.into_iter().flatten().collect(),
            groups_complete: complete,
            from_directory: true,
        }
    }
}

/// An initiator credential from winbind's cached password (`wbinfo --ccache-save`, or a winbind PAM logon):
/// winbind turns the CHALLENGE into the AUTHENTICATE (`wbcCtxCredentialCache` with the `negotiate_blob` and
/// `challenge_blob`; Samba then adds a MIC over the three messages) and returns the session key. No password
/// is ever seen by this process.
#[derive(Debug)]
pub struct WinbindCached {
    /// Account name.
    pub user: String,
    /// NetBIOS domain.
    pub domain: String,
}

impl crate::ntlm::initiator::CachedCredential for WinbindCached {
    fn authenticate(
        &self,
        negotiate: &[u8],
        challenge: &[u8],
    ) -> Result<(Vec<u8>, crate::ntlm::secret::SessionKey), crate::ntlm::error::NtlmError> {
        use crate::ntlm::error::NtlmError;
        let wb = wbclient::winbind().map_err(NtlmError::CachedCredential)?;
        let out = wb
            .credential_cache(
                &self.user,
                &self.domain,
                &[
                    (c"challenge_blob", challenge),
                    (c"negotiate_blob", negotiate),
                ],
            )
            .map_err(|f| NtlmError::CachedCredential(failure_text(f)))?;
        let find = |name: &str| out.iter().find(|(n, _)| n == name).map(|(_, b)| b);
        let auth = find("auth_blob").ok_or_else(|| {
            NtlmError::CachedCredential("winbind returned no AUTHENTICATE message".into())
        })?;
        let key = find("session_key")
            .and_then(|k| crate::ntlm::secret::SessionKey::from_slice(k))
            .ok_or_else(|| {
                NtlmError::CachedCredential("winbind returned no 16-byte session key".into())
            })?;
        Ok((auth.to_vec(), key))
    }
}

fn failure_text(f: WbcFailure) -> String {
    match f {
        WbcFailure::Unavailable(why) => why,
        WbcFailure::Auth {
            nt_status,
            nt_string,
            ..
        } => format!("winbind refused: {}", label(nt_status, &nt_string)),
        WbcFailure::Error { code, text } => format!("winbind error {code}: {text}"),
    }
}

/// The default initiator from winbind's cache: `user` (else `$NTLMUSER`, else `$USER`) in `domain` (else
/// winbind's NetBIOS domain), if winbind holds cached credentials for that account (one request, plus the
/// domain when not given). `Err` says why not.
pub fn cached_initiator(user: Option<&str>, domain: Option<&str>) -> Result<WinbindCached, String> {
    let wb = wbclient::winbind()?;
    let user = match user {
        Some(u) => u.to_string(),
        None => std::env::var("NTLMUSER")
            .or_else(|_| std::env::var("USER"))
            .map_err(|_| "no user name (the name, $NTLMUSER or $USER)".to_string())?,
    };
    let domain = match domain {
        Some(d) => d.to_string(),
        None => wb.interface_details().map_err(failure_text)?.1,
    };
    wb.credential_cache(&user, &domain, &[]).map_err(|f| {
        format!(
            "no cached credentials for {domain}\\{user} ({})",
            failure_text(f)
        )
    })?;
    Ok(WinbindCached { user, domain })
}

/// The Unix account winbind maps a domain SID to (`gss_localname` for a name a DC vouched for).
pub fn local_account_of_sid(sid: &str) -> Result<String, String> {
    let wb = wbclient::winbind()?;
    wb.account_of_sid(sid).map_err(|f| match f {
        WbcFailure::Unavailable(why) => why,
        other => failure_text(other),
    })
}

impl Validator for WinbindValidator {
    fn name(&self) -> &'static str {
        "winbind"
    }

    fn validate(&self, req: &LogonRequest<'_>) -> Result<Validated, Refusal> {
        let user = self
            .wb
            .authenticate(&WbcLogon {
                account: req.user,
                domain: req.domain,
                workstation: req.workstation,
                challenge: req.challenge,
                nt_response: req.nt_response,
                lm_response: req.lm_response,
            })
            .map_err(refusal_of)?;
        if user.user_flags & USER_INFO_GUEST != 0 {
            return Err(Refusal::Other {
                status: 0,
                text: "the domain controller mapped the logon to the guest account".into(),
            });
        }
        let mut lm = [0u8; 16];
        lm[..8].copy_from_slice(&user.lm_session_key[..]);
        let lm_key = LmHash::new(lm);
        zeroize::Zeroize::zeroize(&mut lm);
        Ok(Validated {
            user: user.account.clone(),
            domain: user.domain.clone(),
            session_base_key: Key16::new(*user.user_session_key),
            lm_key: Some(lm_key),
            attrs: self.attrs_of(&user.sids, &user.domain),
        })
    }

    fn netbios_domain(&self) -> Option<String> {
        // Asked until winbind first answers, then never again in this process (the machine's domain does not
        // change under a running server). An unreachable winbindd (a host that is no domain member, or whose
        // winbindd has not started yet) is asked again only after DOMAIN_RETRY: on such a host the question
        // cost every acceptor context ~20,000 instructions and four system calls inside libwbclient.
        static DOMAIN: OnceLock<String> = OnceLock::new();
        // When to ask again, in milliseconds since EPOCH (0: ask); read with a plain load on every context.
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        static NOT_BEFORE_MS: AtomicU64 = AtomicU64::new(0);
        if let Some(d) = DOMAIN.get() {
            return Some(d.clone());
        }
        let epoch = *EPOCH.get_or_init(Instant::now);
        let ms =
            |t: Instant| u64::try_from(t.duration_since(epoch).as_millis()).unwrap_or(u64::MAX);
        if ms(Instant::now()) < NOT_BEFORE_MS.load(Ordering::Relaxed) {
            return None;
        }
        match self.wb.interface_details() {
            Ok((_, domain, _)) if !domain.is_empty() => Some(DOMAIN.get_or_init(|| domain).clone()),
            _ => {
                NOT_BEFORE_MS.store(ms(Instant::now() + DOMAIN_RETRY), Ordering::Relaxed);
                None
            }
        }
    }

    fn stats(&self) -> Option<String> {
        Some(format!(
            "winbind: {} connection(s), {} request(s) in this process",
            self.wb.contexts_created(),
            self.wb.calls()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::nt_status::*;
    use super::*;

    #[test]
    fn an_unreachable_winbindd_is_not_asked_again_within_the_retry_time() {
        let Ok(v) = WinbindValidator::new() else {
            eprintln!("skipped: libwbclient is not installed");
            return;
        };
        let first = v.wb.calls();
        if v.netbios_domain().is_some() {
            eprintln!("skipped: a winbindd answers on this machine");
            return;
        }
        let asked = v.wb.calls();
        assert!(asked <= first + 1);
        for _ in 0..3 {
            assert_eq!(v.netbios_domain(), None);
        }
        assert_eq!(
            v.wb.calls(),
            asked,
            "winbind asked again within DOMAIN_RETRY"
        );
    }

    #[test]
    fn each_refusal_status_has_its_own_type() {
        let cases = [
            (NO_SUCH_USER, Refusal::UnknownUser),
            (WRONG_PASSWORD, Refusal::WrongPassword),
            (LOGON_FAILURE, Refusal::WrongPassword),
            (ACCOUNT_DISABLED, Refusal::AccountDisabled),
            (ACCOUNT_EXPIRED, Refusal::AccountExpired),
            (ACCOUNT_LOCKED_OUT, Refusal::AccountLockedOut),
            (PASSWORD_EXPIRED, Refusal::PasswordExpired),
            (PASSWORD_MUST_CHANGE, Refusal::PasswordMustChange),
            (INVALID_LOGON_HOURS, Refusal::InvalidLogonHours),
            (INVALID_WORKSTATION, Refusal::InvalidWorkstation),
            (NTLM_BLOCKED, Refusal::ResponseTypeRefused),
        ];
        for (status, want) in cases {
            assert_eq!(refusal_for(status, "x"), want, "{status:#x}");
        }
        assert!(matches!(
            refusal_for(NO_LOGON_SERVERS, "NT_STATUS_NO_LOGON_SERVERS"),
            Refusal::Unavailable(t) if t.contains("NT_STATUS_NO_LOGON_SERVERS")
        ));
        assert_eq!(
            refusal_for(ACCOUNT_RESTRICTION, "NT_STATUS_ACCOUNT_RESTRICTION\n"),
            Refusal::Other {
                status: ACCOUNT_RESTRICTION,
                text: "NT_STATUS_ACCOUNT_RESTRICTION".into()
            }
        );
        assert_eq!(
            refusal_for(NO_SUCH_DOMAIN, ""),
            Refusal::Other {
                status: NO_SUCH_DOMAIN,
                text: "NT status 0xc00000df".into()
            }
        );
    }

    #[test]
    fn winbind_failures_map_to_refusals() {
        assert_eq!(
            refusal_of(WbcFailure::Unavailable("down".into())),
            Refusal::Unavailable("down".into())
        );
        assert_eq!(
            refusal_of(WbcFailure::Auth {
                nt_status: ACCOUNT_LOCKED_OUT,
                nt_string: "NT_STATUS_ACCOUNT_LOCKED_OUT".into(),
                display: String::new()
            }),
            Refusal::AccountLockedOut
        );
        assert!(matches!(
            refusal_of(WbcFailure::Error { code: 8, text: "bad".into() }),
            Refusal::Unavailable(t) if t.contains("winbind error 8")
        ));
    }

    #[test]
    fn every_refusal_has_a_distinct_gss_text() {
        use crate::context::ntlm_error;
        use crate::ntlm::error::NtlmError;
        let reasons = [
            Refusal::AccountDisabled,
            Refusal::AccountExpired,
            Refusal::AccountLockedOut,
            Refusal::PasswordExpired,
            Refusal::PasswordMustChange,
            Refusal::InvalidLogonHours,
            Refusal::InvalidWorkstation,
            Refusal::ResponseTypeRefused,
            Refusal::Other {
                status: 1,
                text: "x".into(),
            },
        ];
        let mut minors = std::collections::HashSet::new();
        for r in reasons {
            let e = ntlm_error(NtlmError::LogonRefused {
                reason: r.clone(),
                user: "alice".into(),
                domain: "ADTEST".into(),
            });
            assert!(minors.insert(e.minor), "{r:?} shares {:?}", e.minor);
            let text = e.to_string();
            assert!(text.ends_with("for ADTEST\\alice"), "{text}");
            assert!(text.starts_with(e.minor.text()), "{text}");
        }
        let unknown = ntlm_error(NtlmError::UnknownUser {
            user: "a".into(),
            domain: String::new(),
        });
        let wrong = ntlm_error(NtlmError::WrongPassword {
            user: "a".into(),
            domain: String::new(),
        });
        let down = ntlm_error(NtlmError::BackendUnavailable("winbindd down".into()));
        for e in [unknown, wrong, down] {
            assert!(minors.insert(e.minor), "{:?} shared", e.minor);
        }
    }
}
