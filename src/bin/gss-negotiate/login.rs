//! `gss-negotiate login` / `logout` / `status`: the `kinit` / `kdestroy` / `klist` of NTLM. `login` keeps the
//! account's NT hash (never the password) in the login file of [`gss_negotiate::creds::login`], which the
//! plugin uses as the default initiator credential. The file is created beside its final name with
//! `O_EXCL` and mode 0600, then renamed over it; `logout` overwrites it with zeros before removing it.

use gss_negotiate::creds::login::{login_file_path, LOGIN_FILE_ENV};
use gss_negotiate::creds::userfile::ParsedUserFile;
use gss_negotiate::ntlm::crypto::ntowfv1;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::PathBuf;
use std::process::ExitCode;
use zeroize::Zeroizing;

use crate::hash::{read_account, read_password, split_account, user_file_line};

fn path() -> Result<PathBuf, String> {
    login_file_path(|k| std::env::var(k).ok()).ok_or_else(|| {
        format!("neither {LOGIN_FILE_ENV} nor XDG_RUNTIME_DIR is set: there is nowhere private to keep a login")
    })
}

pub fn login(account: Option<&str>, stdin: bool) -> Result<ExitCode, String> {
    let target = path()?;
    if stdin && account.is_none() {
        return Err("with --stdin, give the account on the command line".into());
    }
    let account = read_account(account)?;
    let (domain, user) = split_account(&account);
    if user.is_empty() || account.contains(':') || account.len() > 512 {
        return Err(format!("invalid account {account:?}"));
    }
    let password = read_password(&format!("Password for {account}: "), stdin)?;
    let nt = ntowfv1(&password);
    drop(password);
    // Room for everything at once: a String that grows leaves copies of its old buffer behind.
    let mut body = Zeroizing::new(String::with_capacity(1024));
    body.push_str(
        "# gss-negotiate login: the NT hash of one account; `gss-negotiate logout` removes it\n",
    );
    body.push_str(user_file_line(domain.as_deref(), &user, &nt).as_str());
    body.push('\n');

    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("login"),
        std::process::id()
    ));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let written = f.write_all(body.as_bytes()).and_then(|_| f.sync_all());
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, &target)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", target.display()));
    }
    println!(
        "Logged in as {account}: NT hash kept in {} (mode 0600). GSSAPI programs using the NTLM mechanism \
         now authenticate as this account when given no other credential.",
        target.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn logout() -> Result<ExitCode, String> {
    let target = path()?;
    let meta = match std::fs::symlink_metadata(&target) {
        Ok(m) => m,
        Err(_) => {
            eprintln!("No login ({} does not exist)", target.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    if meta.is_file() {
        // Overwrite in place before unlinking, so the hash does not linger in the freed blocks of a tmpfs page.
        let mut f = OpenOptions::new()
            .write(true)
            .open(&target)
            .map_err(|e| format!("cannot open {}: {e}", target.display()))?;
        let zeros = vec![0u8; usize::try_from(meta.len()).unwrap_or(0)];
        f.write_all(&zeros)
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot overwrite {}: {e}", target.display()))?;
    }
    std::fs::remove_file(&target)
        .map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
    println!("Logged out: {} overwritten and removed", target.display());
    Ok(ExitCode::SUCCESS)
}

pub fn status() -> Result<ExitCode, String> {
    let target = path()?;
    let meta = match std::fs::metadata(&target) {
        Ok(m) => m,
        Err(_) => {
            println!("Not logged in ({} does not exist)", target.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let text = Zeroizing::new(
        std::fs::read_to_string(&target)
            .map_err(|e| format!("cannot read {}: {e}", target.display()))?,
    );
    let parsed = ParsedUserFile::parse(&text);
    let mode = meta.permissions().mode() & 0o777;
    println!(
        "Login file: {} (mode {mode:04o}, owner uid {})",
        target.display(),
        meta.uid()
    );
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    if let Some(d) = modified {
        let ft = (d.as_secs() + 11_644_473_600) * 10_000_000;
        println!("Written: {}", crate::render::filetime_to_iso(ft));
    }
    let mut ok = true;
    match parsed.first() {
        Some(e) => match &e.domain {
            Some(d) => println!("Account: {d}\\{}", e.user),
            None => println!("Account: {}", e.user),
        },
        None => {
            println!("The file holds no usable account");
            ok = false;
        }
    }
    if mode & 0o077 != 0 {
        println!("Problem: others can access the file; the plugin refuses it if they can write. Fix: chmod 600 {}", target.display());
        ok = false;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
