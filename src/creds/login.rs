//! The NTLM "login" file: what `gss-negotiate login` writes (the NT hash of one account, never the password) and
//! the plugin uses as the default initiator credential when nothing else is configured — no credential store
//! entry, no `NTLM_USER_FILE`. It is an ordinary user file (smbpasswd form, read by [`super::userfile`], which
//! refuses a file that others can write).
//!
//! Where: `$GSS_NEGOTIATE_LOGIN_FILE` if set, else `$XDG_RUNTIME_DIR/gss-negotiate-login` (the per-user runtime
//! directory, mode 0700, emptied at logout of the session). Without either there is no login file: a daemon
//! without a user session never picks one up by accident.
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// The variable that names the login file explicitly.
pub const LOGIN_FILE_ENV: &str = "GSS_NEGOTIATE_LOGIN_FILE";
/// The file's name inside `$XDG_RUNTIME_DIR`.
pub const LOGIN_FILE_NAME: &str = "gss-negotiate-login";

/// Where the login file is for the environment `get` (whether or not it exists).
pub fn login_file_path(get: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    nonempty(LOGIN_FILE_ENV)
        .map(PathBuf::from)
        .or_else(|| nonempty("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join(LOGIN_FILE_NAME)))
}

/// The login file of this process's environment, when it exists.
pub fn default_login_file() -> Option<PathBuf> {
    login_file_path(|k| std::env::var(k).ok()).filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_variable_wins_over_runtime_dir() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            login_file_path(env(&[("XDG_RUNTIME_DIR", "/run/user/7")])),
            Some(PathBuf::from("/run/user/7/gss-negotiate-login"))
        );
        assert_eq!(
            login_file_path(env(&[
                ("XDG_RUNTIME_DIR", "/run/user/7"),
                (LOGIN_FILE_ENV, "/tmp/x")
            ])),
            Some(PathBuf::from("/tmp/x"))
        );
        assert_eq!(login_file_path(env(&[("XDG_RUNTIME_DIR", " ")])), None);
    }
}
