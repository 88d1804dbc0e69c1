//! `gss-negotiate hash`: the NT hash (NTOWFv1, MS-NLMP §3.3.1) of a password read without echo, printed as an
//! smbpasswd-style user-file line that `NTLM_USER_FILE` accepts. The password and hash are zeroized.

use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::secret::{NtHash, Password};
use std::io::BufRead as _;
use std::process::ExitCode;
use zeroize::Zeroizing;

use crate::render::hex;

/// Splits `DOMAIN\user` (or `user@DOMAIN`) into (domain, user).
pub fn split_account(account: &str) -> (Option<String>, String) {
    if let Some((d, u)) = account.split_once('\\') {
        return ((!d.is_empty()).then(|| d.to_string()), u.to_string());
    }
    (None, account.to_string())
}

/// Reads a password: from the terminal without echo, or the first line of standard input.
pub fn read_password(prompt: &str, from_stdin: bool) -> Result<Password, String> {
    let line = if from_stdin {
        let mut s = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut s)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_string())
    } else {
        Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| {
            format!("cannot read the password from the terminal: {e} (use --stdin)")
        })?)
    };
    if line.is_empty() {
        return Err("empty password".into());
    }
    Ok(Password::new(line.as_str()))
}

/// Reads the account name from the terminal when it was not given.
pub fn read_account(given: Option<&str>) -> Result<String, String> {
    if let Some(a) = given {
        return Ok(a.to_string());
    }
    eprint!("Account (USER or DOMAIN\\USER): ");
    let mut s = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut s)
        .map_err(|e| format!("cannot read the account: {e}"))?;
    let s = s.trim().to_string();
    if s.is_empty() {
        return Err("no account given".into());
    }
    Ok(s)
}

/// The user-file line for an NT hash: `[DOMAIN\]USER:0:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:NTHASH:` (no LM hash).
pub fn user_file_line(domain: Option<&str>, user: &str, nt: &NtHash) -> Zeroizing<String> {
    let name = match domain {
        Some(d) => format!("{d}\\{user}"),
        None => user.to_string(),
    };
    Zeroizing::new(format!(
        "{name}:0:{}:{}:",
        "X".repeat(32),
        Zeroizing::new(hex(nt.as_bytes())).as_str()
    ))
}

pub fn run(user: Option<&str>, stdin: bool) -> Result<ExitCode, String> {
    let account = if stdin && user.is_none() {
        return Err("with --stdin, give the account on the command line".into());
    } else {
        read_account(user)?
    };
    let (domain, user) = split_account(&account);
    if user.is_empty() || user.contains(':') || domain.as_deref().is_some_and(|d| d.contains(':')) {
        return Err(format!(
            "invalid account {account:?}: the user must be non-empty and without ':'"
        ));
    }
    let password = read_password(&format!("Password for {account}: "), stdin)?;
    let nt = ntowfv1(&password);
    drop(password);
    println!("{}", user_file_line(domain.as_deref(), &user, &nt).as_str());
    Ok(ExitCode::SUCCESS)
}
