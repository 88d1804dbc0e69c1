//! Process configuration from the environment, with the variable names gss-ntlmssp users already know
//! (ARCHITECTURE.md §5): `NTLM_USER_FILE`, `LM_COMPAT_LEVEL` (MS-NLMP §3.1.1.1 / the Windows LmCompatibilityLevel,
//! 0–5, default 3 = NTLMv2 only), `NETBIOS_COMPUTER_NAME`, `NETBIOS_DOMAIN_NAME`, `GSSNTLMSSP_DEBUG`, and our own
//! `GSS_NEGOTIATE_DEBUG` (a log file path; it wins over `GSSNTLMSSP_DEBUG`).
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// The default `LM_COMPAT_LEVEL`: send and accept NTLMv2 only.
pub const DEFAULT_LM_COMPAT_LEVEL: u8 = 3;
/// The NetBIOS domain used when none is configured (gss-ntlmssp's `DEF_NB_DOMAIN`).
pub const DEFAULT_NETBIOS_DOMAIN: &str = "WORKSTATION";

/// Every variable [`Config::from_env`] reads (the plugin re-reads the configuration only when one of them, or
/// the host name, changed).
pub const ENV_VARS: [&str; 9] = [
    "NTLM_USER_FILE",
    "LM_COMPAT_LEVEL",
    "NETBIOS_COMPUTER_NAME",
    "NETBIOS_DOMAIN_NAME",
    "GSS_NEGOTIATE_DEBUG",
    "GSSNTLMSSP_DEBUG",
    "GSS_NEGOTIATE_ALLOW_ANONYMOUS",
    "GSS_NEGOTIATE_REQUIRE_CHANNEL_BINDINGS",
    "GSS_NEGOTIATE_BACKEND",
];

/// Which back-end validates the acceptor's logons (`GSS_NEGOTIATE_BACKEND`, or the cred store key
/// `gss_negotiate_backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// The user file first, then winbind for users the file does not know (gss-ntlmssp's order); winbind only
    /// when there is no user file; the user file only when libwbclient is absent.
    #[default]
    Auto,
    /// The user file only.
    File,
    /// winbind only (the domain controller validates every logon).
    Winbind,
}

impl Backend {
    /// Parses `auto`, `file` or `winbind` (any case).
    pub fn parse(v: &str) -> Option<Backend> {
        match v.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Backend::Auto),
            "file" => Some(Backend::File),
            "winbind" => Some(Backend::Winbind),
            _ => None,
        }
    }
    /// The value's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::File => "file",
            Backend::Winbind => "winbind",
        }
    }
}

/// The configuration read from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `NTLM_USER_FILE`.
    pub user_file: Option<PathBuf>,
    /// `LM_COMPAT_LEVEL`, 0–5.
    pub lm_compat_level: u8,
    /// `NETBIOS_COMPUTER_NAME`, else the short host name in upper case.
    pub netbios_computer_name: String,
    /// `NETBIOS_DOMAIN_NAME`, else [`DEFAULT_NETBIOS_DOMAIN`].
    pub netbios_domain_name: String,
    /// `GSS_NEGOTIATE_DEBUG`, else `GSSNTLMSSP_DEBUG`: where to write the debug log.
    pub debug_file: Option<PathBuf>,
    /// `GSS_NEGOTIATE_ALLOW_ANONYMOUS=1`: the acceptor accepts anonymous NTLM logons (refused by default).
    pub allow_anonymous: bool,
    /// `GSS_NEGOTIATE_REQUIRE_CHANNEL_BINDINGS=1`: when the application gives channel bindings, the acceptor
    /// refuses an AUTHENTICATE that carries none (Windows' Extended Protection "required").
    pub require_channel_bindings: bool,
    /// `GSS_NEGOTIATE_BACKEND`: `auto` (default), `file` or `winbind`.
    pub backend: Backend,
    /// Problems found while reading the configuration (an invalid value falls back to its default).
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env(hostname: Option<String>) -> Config {
        Config::from_lookup(|k| std::env::var(k).ok(), hostname)
    }

    /// Builds the configuration from any variable lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>, hostname: Option<String>) -> Config {
        let mut warnings = Vec::new();
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let flag = |k: &str| {
            nonempty(k).is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "yes" | "true" | "on"
                )
            })
        };
        let lm_compat_level = match nonempty("LM_COMPAT_LEVEL") {
            None => DEFAULT_LM_COMPAT_LEVEL,
            Some(v) => match v.trim().parse::<u8>() {
                Ok(n) if n <= 5 => n,
                _ => {
                    warnings.push(format!(
                        "LM_COMPAT_LEVEL={v:?} is not 0-5; using {DEFAULT_LM_COMPAT_LEVEL}"
                    ));
                    DEFAULT_LM_COMPAT_LEVEL
                }
            },
        };
        let netbios_computer_name = nonempty("NETBIOS_COMPUTER_NAME").unwrap_or_else(|| {
            let host = hostname.unwrap_or_default();
            host.split('.')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase()
        });
        let backend = match nonempty("GSS_NEGOTIATE_BACKEND") {
            None => Backend::Auto,
            Some(v) => Backend::parse(&v).unwrap_or_else(|| {
                warnings.push(format!(
                    "GSS_NEGOTIATE_BACKEND={v:?} is not auto, file or winbind; using auto"
                ));
                Backend::Auto
            }),
        };
        Config {
            user_file: nonempty("NTLM_USER_FILE").map(PathBuf::from),
            backend,
            lm_compat_level,
            netbios_computer_name,
            netbios_domain_name: nonempty("NETBIOS_DOMAIN_NAME")
                .unwrap_or_else(|| DEFAULT_NETBIOS_DOMAIN.into()),
            debug_file: nonempty("GSS_NEGOTIATE_DEBUG")
                .or_else(|| nonempty("GSSNTLMSSP_DEBUG"))
                .map(PathBuf::from),
            allow_anonymous: flag("GSS_NEGOTIATE_ALLOW_ANONYMOUS"),
            require_channel_bindings: flag("GSS_NEGOTIATE_REQUIRE_CHANNEL_BINDINGS"),
            warnings,
        }
    }

    /// True when LM and NTLMv1 responses may be sent (levels 0–2).
    pub fn allows_ntlmv1_client(&self) -> bool {
        self.lm_compat_level < 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)], host: Option<&str>) -> Config {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned(), host.map(String::from))
    }

    #[test]
    fn defaults_follow_gss_ntlmssp() {
        let c = cfg(&[], Some("vm1.example.com"));
        assert_eq!(c.lm_compat_level, 3);
        assert_eq!(c.netbios_computer_name, "VM1");
        assert_eq!(c.netbios_domain_name, "WORKSTATION");
        assert_eq!(c.user_file, None);
        assert_eq!(c.debug_file, None);
        assert!(!c.allows_ntlmv1_client());
    }

    #[test]
    fn environment_overrides_defaults() {
        let c = cfg(
            &[
                ("LM_COMPAT_LEVEL", "1"),
                ("NETBIOS_COMPUTER_NAME", "SRV"),
                ("NETBIOS_DOMAIN_NAME", "CORP"),
                ("NTLM_USER_FILE", "/etc/ntlm"),
                ("GSSNTLMSSP_DEBUG", "/tmp/a"),
                ("GSS_NEGOTIATE_DEBUG", "/tmp/b"),
            ],
            None,
        );
        assert_eq!(c.lm_compat_level, 1);
        assert!(c.allows_ntlmv1_client());
        assert_eq!(c.netbios_computer_name, "SRV");
        assert_eq!(c.netbios_domain_name, "CORP");
        assert_eq!(c.user_file, Some(PathBuf::from("/etc/ntlm")));
        assert_eq!(c.debug_file, Some(PathBuf::from("/tmp/b")));
    }

    #[test]
    fn env_vars_lists_every_variable_read() {
        let asked = std::cell::RefCell::new(Vec::new());
        Config::from_lookup(
            |k| {
                asked.borrow_mut().push(k.to_string());
                None
            },
            None,
        );
        for k in asked.borrow().iter() {
            assert!(ENV_VARS.contains(&k.as_str()), "{k} missing from ENV_VARS");
        }
        for k in ENV_VARS {
            assert!(asked.borrow().iter().any(|a| a == k), "{k} is never read");
        }
    }

    #[test]
    fn invalid_lm_compat_level_falls_back_with_warning() {
        for bad in ["6", "-1", "three"] {
            let c = cfg(&[("LM_COMPAT_LEVEL", bad)], None);
            assert_eq!(c.lm_compat_level, 3);
            assert_eq!(c.warnings.len(), 1, "{bad}");
        }
    }
}
