//! Credentials: what `gss_acquire_cred*` produce and the acceptor's user lookup (MS-NLMP §3.1.1.1 / §3.2.1.1:
//! the initiator needs the user's NTOWF; the acceptor needs a way to find each user's NTOWF).
//!
//! Sources, in the order gss-ntlmssp users expect (ARCHITECTURE.md §5): a password given to
//! `gssspi_acquire_cred_with_password`; the cred store keys `ntlmssp_password` / `password`, `ntlmssp_nthash`
//! (32 hex digits), `ntlmssp_domain`, `ntlmssp_keyfile` (a user file); otherwise `NTLM_USER_FILE`, then the file of `gss-negotiate login` ([`login`]). Unknown store
//! keys (Apache passes `keytab`, `ccache`, `client_keytab`) are ignored. An acceptor credential always has a name
//! (the default is the host service of this machine) — a cred store that names no acceptor yields that default
//! rather than a half-built credential (the gss-ntlmssp crash we must not repeat).
#![forbid(unsafe_code)]

pub mod config;
mod export;
pub mod login;
pub mod userfile;
pub mod winbind;

use crate::names::{Name, NameSystem};
use crate::ntlm::secret::{LmHash, NtHash, Password};
use crate::ntlm::validator::{Chain, HashValidator, Validator};
use crate::status::{GssError, Minor, GSS_S_BAD_NAMETYPE, GSS_S_FAILURE, GSS_S_NO_CRED};
use config::{Backend, Config};
use std::path::PathBuf;
use std::sync::Arc;
use userfile::{parse_hex_key, UserFileStore};

pub(crate) use crate::ntlm::crypto::ntowfv1 as nt_hash_of;
pub use crate::ntlm::validator::{CredentialLookup, LookupFailure, UserSecrets};

/// `gss_cred_usage_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredUsage {
    /// GSS_C_BOTH (0).
    Both,
    /// GSS_C_INITIATE (1).
    Initiate,
    /// GSS_C_ACCEPT (2).
    Accept,
}

impl CredUsage {
    /// From the C value.
    pub fn from_c(v: i32) -> Option<CredUsage> {
        match v {
            0 => Some(CredUsage::Both),
            1 => Some(CredUsage::Initiate),
            2 => Some(CredUsage::Accept),
            _ => None,
        }
    }
    /// The C value.
    pub fn to_c(self) -> i32 {
        match self {
            CredUsage::Both => 0,
            CredUsage::Initiate => 1,
            CredUsage::Accept => 2,
        }
    }
}

/// The initiator half of a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// A user with its NTOWF (and LMOWF when known).
    User {
        /// Account name.
        user: String,
        /// Domain, if any.
        domain: Option<String>,
        /// NTOWFv1.
        nt_hash: NtHash,
        /// LMOWFv1.
        lm_hash: Option<LmHash>,
    },
    /// Anonymous (MS-NLMP §3.1.5.1.2 with empty responses).
    Anonymous,
    /// A domain user whose password winbind has cached (`wbinfo --ccache-save`, a winbind PAM logon): winbind
    /// builds the AUTHENTICATE (see [`winbind::WinbindCached`]).
    Winbind {
        /// Account name.
        user: String,
        /// NetBIOS domain.
        domain: String,
    },
}

/// The acceptor half of a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptor {
    /// The service name this acceptor answers as (used for MsvAvTargetName checks).
    pub name: Name,
    /// A user file given in the cred store (`ntlmssp_keyfile`); otherwise `NTLM_USER_FILE` is used.
    pub keyfile: Option<PathBuf>,
    /// The back-end given in the cred store (`gss_negotiate_backend`); otherwise `GSS_NEGOTIATE_BACKEND`.
    pub backend: Option<Backend>,
}

/// A credential handle's contents.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Credential {
    /// Present when the credential can initiate.
    pub initiator: Option<Initiator>,
    /// Present when the credential can accept.
    pub acceptor: Option<Acceptor>,
    /// NTLMSSP flags set with `gssspi_set_cred_option` (private OID .5; see [`set_neg_flags`]); `None` = the
    /// defaults.
    pub neg_flags: Option<u32>,
}

/// What `gss_acquire_cred_from` understood of the cred store.
#[derive(Clone, Debug, Default)]
pub struct CredStore {
    /// `ntlmssp_domain`.
    pub domain: Option<String>,
    /// `ntlmssp_nthash`, parsed.
    pub nt_hash: Option<NtHash>,
    /// `ntlmssp_password` or `password`.
    pub password: Option<Password>,
    /// `ntlmssp_keyfile`.
    pub keyfile: Option<PathBuf>,
    /// `gss_negotiate_backend`: `auto`, `file` or `winbind`.
    pub backend: Option<Backend>,
}

impl CredStore {
    /// Reads the store's key/value pairs; unknown keys are ignored, a malformed hash is an error.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CredStore, GssError> {
        let mut cs = CredStore::default();
        for (k, v) in pairs {
            match k {
                "ntlmssp_domain" => cs.domain = Some(v.to_string()),
                "ntlmssp_nthash" => {
                    cs.nt_hash =
                        Some(parse_hex_key(v).ok_or(GssError::new(GSS_S_NO_CRED, Minor::BadHash))?)
                }
                "ntlmssp_password" | "password" => cs.password = Some(Password::new(v)),
                "ntlmssp_keyfile" => cs.keyfile = Some(PathBuf::from(v)),
                "gss_negotiate_backend" => {
                    cs.backend = Some(Backend::parse(v).ok_or_else(|| {
                        GssError::with_detail(
                            GSS_S_NO_CRED,
                            Minor::BadOptionValue,
                            format!("gss_negotiate_backend={v:?} is not auto, file or winbind"),
                        )
                    })?)
                }
                _ => {}
            }
        }
        Ok(cs)
    }
}

fn user_parts(name: Option<&Name>) -> Result<(Option<String>, Option<String>), GssError> {
    match name {
        None => Ok((None, None)),
        Some(Name::User { user, domain }) => Ok((Some(user.clone()), domain.clone())),
        Some(_) => Err(GssError::with_detail(
            GSS_S_BAD_NAMETYPE,
            Minor::BadCredUsage,
            "an initiator needs a user name",
        )),
    }
}

fn from_file(
    path: &std::path::Path,
    user: Option<&str>,
    domain: Option<&str>,
    cfg: &Config,
) -> Result<Initiator, GssError> {
    let store = UserFileStore::shared(path);
    store.set_debug_log(cfg.debug_file.as_deref());
    let s = store.find(user, domain)?;
    // The initiator speaks as the name it was asked for: a domainless entry takes the requested domain.
    let domain = (!s.domain.is_empty())
        .then_some(s.domain)
        .or_else(|| domain.map(String::from));
    Ok(Initiator::User {
        user: s.user,
        domain,
        nt_hash: s.nt_hash,
        lm_hash: s.lm_hash,
    })
}

/// Builds the initiator half for `name` from a store (if any) and the configuration.
pub fn acquire_initiator(
    name: Option<&Name>,
    store: Option<&CredStore>,
    cfg: &Config,
) -> Result<Initiator, GssError> {
    // An initiator that cannot get a credential fails before any message: the debug log says why.
    initiator_from_sources(name, store, cfg).inspect_err(|e| {
        crate::debug::event(
            cfg.debug_file.as_deref(),
            format_args!("initiator: failed: {e}"),
        )
    })
}

fn initiator_from_sources(
    name: Option<&Name>,
    store: Option<&CredStore>,
    cfg: &Config,
) -> Result<Initiator, GssError> {
    if let Some(Name::Anonymous) = name {
        return Ok(Initiator::Anonymous);
    }
    let (user, mut domain) = user_parts(name)?;
    let store = store.cloned().unwrap_or_default();
    if store.domain.is_some() {
        domain = store.domain.clone();
    }
    let secret = store
        .nt_hash
        .clone()
        .or_else(|| store.password.as_ref().map(nt_hash_of));
    if let Some(nt_hash) = secret {
        let user = user.ok_or_else(|| {
            GssError::with_detail(
                GSS_S_NO_CRED,
                Minor::NoCredentials,
                "a password or hash was given without a user name",
            )
        })?;
        return Ok(Initiator::User {
            user,
            domain,
            nt_hash,
            lm_hash: None,
        });
    }
    // The user file first, then winbind's cached credentials (gss-ntlmssp's order), unless the back-end is
    // the user file only.
    let file = store
        .keyfile
        .clone()
        .or_else(|| cfg.user_file.clone())
        .or_else(login::default_login_file);
    let from_user_file = match &file {
        Some(f) => from_file(f, user.as_deref(), domain.as_deref(), cfg),
        None => Err(GssError::new(GSS_S_NO_CRED, Minor::NoCredentials)),
    };
    let mut found = match from_user_file {
        Ok(found) => found,
        Err(e) if store.backend.unwrap_or(cfg.backend) != Backend::File => {
            match winbind::cached_initiator(user.as_deref(), domain.as_deref()) {
                Ok(w) => {
                    return Ok(Initiator::Winbind {
                        user: w.user,
                        domain: w.domain,
                    })
                }
                Err(why) => {
                    crate::debug::event(
                        cfg.debug_file.as_deref(),
                        format_args!("initiator: winbind: {why}"),
                    );
                    // Without a user file, say what winbind answered (with one, the file's reason stays).
                    return Err(if file.is_none() {
                        GssError::with_detail(
                            GSS_S_NO_CRED,
                            Minor::NoCredentials,
                            format!(
                                "no user file (NTLM_USER_FILE), no password, and from winbind: {}",
                                crate::ntlm::error::escape(&why)
                            ),
                        )
                    } else {
                        e
                    });
                }
            }
        }
        Err(e) => return Err(e),
    };
    if let (Initiator::User { domain: d, .. }, Some(forced)) = (&mut found, store.domain) {
        *d = Some(forced);
    }
    Ok(found)
}

/// Builds the acceptor half: the given service name or this host's default, and the store's keyfile.
pub fn acquire_acceptor(
    name: Option<&Name>,
    store: Option<&CredStore>,
    sys: &dyn NameSystem,
) -> Result<Acceptor, GssError> {
    let name = match name {
        Some(n @ Name::Service { .. }) => n.clone(),
        Some(_) => {
            return Err(GssError::with_detail(
                GSS_S_BAD_NAMETYPE,
                Minor::BadCredUsage,
                "an acceptor needs a host-based service name",
            ))
        }
        None => crate::names::parse_hostbased("", sys)?,
    };
    Ok(Acceptor {
        name,
        keyfile: store.and_then(|s| s.keyfile.clone()),
        backend: store.and_then(|s| s.backend),
    })
}

/// `gss_acquire_cred_from` / `gss_acquire_cred` (store `None`). With `Both`, each half is acquired when its
/// name kind allows it; the call fails only when no half could be built.
pub fn acquire(
    name: Option<&Name>,
    usage: CredUsage,
    store: Option<&CredStore>,
    cfg: &Config,
    sys: &dyn NameSystem,
) -> Result<Credential, GssError> {
    let mut cred = Credential::default();
    match usage {
        CredUsage::Initiate => cred.initiator = Some(acquire_initiator(name, store, cfg)?),
        CredUsage::Accept => cred.acceptor = Some(acquire_acceptor(name, store, sys)?),
        CredUsage::Both => {
            // A missing initiator half is no failure while the acceptor half exists: logged only when
            // neither could be built.
            let init = initiator_from_sources(name, store, cfg);
            let acc = acquire_acceptor(name, store, sys);
            match (init, acc) {
                (Err(e), Err(_)) => {
                    crate::debug::event(
                        cfg.debug_file.as_deref(),
                        format_args!("initiator: failed: {e}"),
                    );
                    return Err(e);
                }
                (i, a) => {
                    cred.initiator = i.ok();
                    cred.acceptor = a.ok();
                }
            }
        }
    }
    Ok(cred)
}

/// `gssspi_acquire_cred_with_password`: a user name and its password (initiator; with `Both` also acceptor is
/// not possible since the name is a user).
pub fn acquire_with_password(
    name: &Name,
    password: &Password,
    usage: CredUsage,
) -> Result<Credential, GssError> {
    if usage == CredUsage::Accept {
        return Err(GssError::with_detail(
            GSS_S_NO_CRED,
            Minor::BadCredUsage,
            "a password credential cannot accept",
        ));
    }
    let (user, domain) = user_parts(Some(name))?;
    let user = user.ok_or(GssError::new(GSS_S_NO_CRED, Minor::NoCredentials))?;
    Ok(Credential {
        initiator: Some(Initiator::User {
            user,
            domain,
            nt_hash: nt_hash_of(password),
            lm_hash: None,
        }),
        acceptor: None,
        neg_flags: None,
    })
}

impl Credential {
    /// The usage this credential supports.
    pub fn usage(&self) -> CredUsage {
        match (&self.initiator, &self.acceptor) {
            (Some(_), Some(_)) => CredUsage::Both,
            (None, Some(_)) => CredUsage::Accept,
            _ => CredUsage::Initiate,
        }
    }

    /// The credential's name: the user for an initiator, else the acceptor's service name.
    pub fn name(&self) -> Option<Name> {
        match (&self.initiator, &self.acceptor) {
            (Some(Initiator::User { user, domain, .. }), _) => Some(Name::User {
                user: user.clone(),
                domain: domain.clone(),
            }),
            (Some(Initiator::Anonymous), _) => Some(Name::Anonymous),
            (Some(Initiator::Winbind { user, domain }), _) => Some(Name::User {
                user: user.clone(),
                domain: Some(domain.clone()),
            }),
            (None, Some(a)) => Some(a.name.clone()),
            (None, None) => None,
        }
    }

    /// The back-end an acceptor made from this credential validates logons with: the cred store's
    /// `gss_negotiate_backend`, else `GSS_NEGOTIATE_BACKEND`; the user file is the store's keyfile, else
    /// `NTLM_USER_FILE`. `auto` chains the user file and winbind (gss-ntlmssp's order), or uses whichever of
    /// the two is there.
    pub fn acceptor_validator(&self, cfg: &Config) -> Result<Arc<dyn Validator>, GssError> {
        let acceptor = self.acceptor.as_ref();
        let path = acceptor
            .and_then(|a| a.keyfile.clone())
            .or_else(|| cfg.user_file.clone());
        let backend = acceptor.and_then(|a| a.backend).unwrap_or(cfg.backend);
        let file = path.map(|p| -> Arc<dyn Validator> {
            let store = UserFileStore::shared(&p);
            store.set_debug_log(cfg.debug_file.as_deref());
            Arc::new(HashValidator(store))
        });
        let winbind =
            || winbind::WinbindValidator::new().map(|w| -> Arc<dyn Validator> { Arc::new(w) });
        match (backend, file) {
            (Backend::File, Some(f)) => Ok(f),
            (Backend::File, None) => Err(GssError::new(GSS_S_NO_CRED, Minor::NoCredentials)),
            (Backend::Winbind, _) => winbind().map_err(|why| {
                GssError::with_detail(GSS_S_NO_CRED, Minor::BackendUnavailable, why)
            }),
            (Backend::Auto, Some(f)) => Ok(match winbind() {
                Ok(w) => Arc::new(Chain(vec![f, w])),
                Err(_) => f,
            }),
            (Backend::Auto, None) => winbind().map_err(|why| {
                GssError::with_detail(
                    GSS_S_NO_CRED,
                    Minor::NoCredentials,
                    format!("no user file, and {why}"),
                )
            }),
        }
    }
}

/// Sets the NTLMSSP flags of a credential (gss-ntlmssp's private OID `…655.1.5`): 4 bytes in host order, or
/// empty to restore the defaults (0 means the defaults too, as in gss-ntlmssp). An initiator sends them as the
/// base of its NEGOTIATE flags (the GSS request and the LM_COMPAT_LEVEL policy add theirs); an acceptor grants
/// at most these of the negotiable flags in its CHALLENGE (`tests/neg_flags_option.rs`).
pub fn set_neg_flags(cred: &mut Credential, value: &[u8]) -> Result<(), GssError> {
    cred.neg_flags = match value.len() {
        0 => None,
        4 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(value);
            Some(u32::from_ne_bytes(b)).filter(|f| *f != 0)
        }
        n => {
            return Err(GssError::with_detail(
                GSS_S_FAILURE,
                Minor::BadOptionValue,
                format!("{n} bytes, expected 4 or 0"),
            ))
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::parse_user;
    use std::os::unix::fs::PermissionsExt;

    struct Sys;
    impl NameSystem for Sys {
        fn hostname(&self) -> Option<String> {
            Some("vm".into())
        }
        fn user_of_uid(&self, _: u32) -> Option<String> {
            None
        }
    }

    fn cfg_with_file(name: &str, text: &str) -> Config {
        let dir = std::env::temp_dir().join(format!("gssneg-creds-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        Config::from_lookup(
            |k| (k == "NTLM_USER_FILE").then(|| path.display().to_string()),
            Some("vm".into()),
        )
    }

    fn no_env() -> Config {
        Config::from_lookup(|_| None, Some("vm".into()))
    }

    #[test]
    fn nt_hash_of_matches_ms_nlmp_4_2_2_1_3() {
        // MS-NLMP §4.2.2.1.3: NTOWFv1("Password") = a4f49c406510bdcab6824ee7c30fd852.
        let want = parse_hex_key("a4f49c406510bdcab6824ee7c30fd852").unwrap();
        assert_eq!(nt_hash_of(&Password::new("Password")), want);
    }

    #[test]
    fn default_initiator_is_first_user_file_entry() {
        let cfg = cfg_with_file("default", "# users\nCORP:alice:pw\nCORP:bob:pw2\n");
        let c = acquire(None, CredUsage::Initiate, None, &cfg, &Sys).unwrap();
        assert_eq!(c.name(), Some(parse_user("CORP\\alice").unwrap()));
        let bob = acquire(
            Some(&parse_user("BOB").unwrap()),
            CredUsage::Initiate,
            None,
            &cfg,
            &Sys,
        )
        .unwrap();
        assert!(matches!(bob.initiator, Some(Initiator::User { ref user, .. }) if user == "bob"));
    }

    #[test]
    fn initiator_without_any_source_reports_no_credentials() {
        let err = acquire(None, CredUsage::Initiate, None, &no_env(), &Sys).unwrap_err();
        assert_eq!(
            (err.major, err.minor),
            (GSS_S_NO_CRED, Minor::NoCredentials)
        );
    }

    #[test]
    fn cred_store_password_and_domain_build_an_initiator() {
        let store = CredStore::from_pairs([
            ("keytab", "/etc/krb5.keytab"),
            ("password", "Password"),
            ("ntlmssp_domain", "DOM"),
        ])
        .unwrap();
        let c = acquire(
            Some(&parse_user("user").unwrap()),
            CredUsage::Initiate,
            Some(&store),
            &no_env(),
            &Sys,
        )
        .unwrap();
        let Some(Initiator::User {
            user,
            domain,
            nt_hash,
            ..
        }) = c.initiator
        else {
            panic!("no initiator")
        };
        assert_eq!((user.as_str(), domain.as_deref()), ("user", Some("DOM")));
        assert_eq!(nt_hash, nt_hash_of(&Password::new("Password")));
    }

    #[test]
    fn cred_store_rejects_malformed_nthash() {
        assert_eq!(
            CredStore::from_pairs([("ntlmssp_nthash", "abc")])
                .unwrap_err()
                .minor,
            Minor::BadHash
        );
    }

    #[test]
    fn acceptor_with_store_that_names_no_acceptor_gets_default_service() {
        let store =
            CredStore::from_pairs([("keytab", "/etc/krb5.keytab"), ("ccache", "FILE:/tmp/x")])
                .unwrap();
        let c = acquire(None, CredUsage::Accept, Some(&store), &no_env(), &Sys).unwrap();
        let a = c.acceptor.unwrap();
        assert_eq!(
            a.name,
            Name::Service {
                spn: None,
                host: "vm".into()
            }
        );
        assert_eq!(a.keyfile, None);
        assert!(c.initiator.is_none());
    }

    #[test]
    fn acceptor_keyfile_comes_from_store() {
        let store = CredStore::from_pairs([("ntlmssp_keyfile", "/srv/users")]).unwrap();
        let name = crate::names::parse_hostbased("HTTP@web", &Sys).unwrap();
        let c = acquire(
            Some(&name),
            CredUsage::Accept,
            Some(&store),
            &no_env(),
            &Sys,
        )
        .unwrap();
        assert_eq!(
            c.acceptor.unwrap().keyfile,
            Some(PathBuf::from("/srv/users"))
        );
    }

    #[test]
    fn acceptor_refuses_user_name_and_initiator_refuses_service_name() {
        let user = parse_user("alice").unwrap();
        assert_eq!(
            acquire(Some(&user), CredUsage::Accept, None, &no_env(), &Sys)
                .unwrap_err()
                .major,
            GSS_S_BAD_NAMETYPE
        );
        let svc = crate::names::parse_hostbased("HTTP@web", &Sys).unwrap();
        assert_eq!(
            acquire(Some(&svc), CredUsage::Initiate, None, &no_env(), &Sys)
                .unwrap_err()
                .major,
            GSS_S_BAD_NAMETYPE
        );
    }

    #[test]
    fn both_usage_keeps_whichever_half_is_available() {
        let c = acquire(None, CredUsage::Both, None, &no_env(), &Sys).unwrap();
        assert_eq!(c.usage(), CredUsage::Accept);
        let cfg = cfg_with_file("both", "D:u:p\n");
        let c = acquire(None, CredUsage::Both, None, &cfg, &Sys).unwrap();
        assert_eq!(c.usage(), CredUsage::Both);
    }

    #[test]
    fn anonymous_name_gives_anonymous_initiator() {
        let c = acquire(
            Some(&Name::Anonymous),
            CredUsage::Initiate,
            None,
            &no_env(),
            &Sys,
        )
        .unwrap();
        assert_eq!(c.initiator, Some(Initiator::Anonymous));
    }

    #[test]
    fn password_credential_cannot_accept() {
        let n = parse_user("DOM\\u").unwrap();
        assert!(acquire_with_password(&n, &Password::new("x"), CredUsage::Accept).is_err());
        let c = acquire_with_password(&n, &Password::new("x"), CredUsage::Initiate).unwrap();
        assert_eq!(c.name(), Some(n));
    }

    #[test]
    fn neg_flags_option_takes_four_bytes_or_resets() {
        let mut c = Credential::default();
        set_neg_flags(&mut c, &0x1234_5678u32.to_ne_bytes()).unwrap();
        assert_eq!(c.neg_flags, Some(0x1234_5678));
        set_neg_flags(&mut c, &[]).unwrap();
        assert_eq!(c.neg_flags, None);
        assert!(set_neg_flags(&mut c, &[1, 2, 3]).is_err());
    }

    #[test]
    fn acceptor_validator_uses_the_user_file_when_told_to() {
        let mut cfg = cfg_with_file("lookup", "D:alice:pw\n");
        cfg.backend = Backend::File;
        let c = acquire(None, CredUsage::Accept, None, &cfg, &Sys).unwrap();
        assert_eq!(c.acceptor_validator(&cfg).unwrap().name(), "user file");
        let mut none = no_env();
        none.backend = Backend::File;
        let err = c.acceptor_validator(&none).err().expect("no user file");
        assert_eq!(err.minor, Minor::NoCredentials);
    }

    #[test]
    fn the_cred_store_names_the_back_end() {
        let store = CredStore::from_pairs([("gss_negotiate_backend", "WinBind")]).unwrap();
        assert_eq!(store.backend, Some(Backend::Winbind));
        let a = acquire_acceptor(None, Some(&store), &Sys).unwrap();
        assert_eq!(a.backend, Some(Backend::Winbind));
        let err = CredStore::from_pairs([("gss_negotiate_backend", "ldap")]).expect_err("refused");
        assert_eq!(err.minor, Minor::BadOptionValue);
    }
}
