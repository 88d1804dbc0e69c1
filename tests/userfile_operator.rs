//! What an operator sees when the user file is the problem (issue 10, defects 12 and 13): a missing, empty or
//! insecure `NTLM_USER_FILE`, and malformed lines, are named in the status text and in the debug log.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gss_negotiate::context::SecContext;
use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::{acquire_with_password, CredUsage};
use gss_negotiate::names::{Name, NameSystem};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::status::GssError;

struct Host;

impl NameSystem for Host {
    fn hostname(&self) -> Option<String> {
        Some("server.test".into())
    }
    fn user_of_uid(&self, _uid: u32) -> Option<String> {
        None
    }
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gss-negotiate-operator-{}-{tag}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn config(users: &Path, log: &Path) -> Config {
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", users.display().to_string());
    vars.insert("GSS_NEGOTIATE_DEBUG", log.display().to_string());
    Config::from_lookup(|k| vars.get(k).cloned(), Some("server.test".into()))
}

/// A whole logon as `CORP\user` with `password`: the acceptor's error (if any) and the debug log.
fn logon(
    tag: &str,
    file: Option<(&str, u32)>,
    user: &str,
    password: &str,
) -> (Option<GssError>, String) {
    let dir = temp(tag);
    let users = dir.join("users");
    let log = dir.join("debug.log");
    if let Some((text, mode)) = file {
        std::fs::write(&users, text).expect("user file");
        std::fs::set_permissions(&users, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let cfg = config(&users, &log);
    let name = Name::User {
        user: user.into(),
        domain: Some("CORP".into()),
    };
    let cred = acquire_with_password(&name, &Password::new(password), CredUsage::Initiate).unwrap();
    let (mut client, first) = SecContext::initiate(Some(cred), None, 0x30, &cfg).unwrap();
    let mut server = SecContext::accept(None, &cfg, &Host).expect("accept");
    let challenge = server.accept_step(&first.output, None).expect("challenge");
    let auth = client
        .init_step(Some(&challenge.output), None)
        .expect("authenticate");
    let err = server.accept_step(&auth.output, None).err();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (err, text)
}

fn refused(tag: &str, file: Option<(&str, u32)>, needles: &[&str]) {
    let (err, log) = logon(tag, file, "alice", "pw");
    let status = err.expect("refused").to_string();
    for needle in needles {
        assert!(
            status.contains(needle),
            "status text lacks {needle:?}: {status}"
        );
        assert!(log.contains(needle), "debug log lacks {needle:?}:\n{log}");
    }
    assert!(!status.contains("unknown user"), "{status}");
}

#[test]
fn a_missing_user_file_is_named_not_reported_as_unknown_user() {
    refused("missing", None, &["cannot be read", "No such file"]);
}

#[test]
fn an_empty_user_file_is_named_not_reported_as_unknown_user() {
    refused("empty", Some(("", 0o600)), &["has no entries"]);
    refused(
        "comments",
        Some(("# nobody yet\n\n", 0o600)),
        &["has no entries"],
    );
}

#[test]
fn a_user_file_writable_by_others_is_named_not_reported_as_unknown_user() {
    refused(
        "writable",
        Some(("CORP:alice:pw\n", 0o646)),
        &["writable by others"],
    );
}

#[test]
fn a_file_of_only_malformed_lines_lists_them() {
    refused(
        "allbad",
        Some(("CORP alice pw\n", 0o600)),
        &["has no usable entry", "line 1"],
    );
}

#[test]
fn malformed_lines_are_logged_and_named_when_no_entry_matched() {
    let file = "CORP:alice:pw\nthis line is broken\nCORP:carol:pw\nbob:1000:XX:nothex:\n";
    // A successful logon still logs the skipped lines.
    let (err, log) = logon("malformed-ok", Some((file, 0o600)), "alice", "pw");
    assert!(err.is_none(), "{err:?}");
    for needle in ["line 2", "line 4", "NT hash"] {
        assert!(log.contains(needle), "debug log lacks {needle:?}:\n{log}");
    }
    // No entry matched: the status text says the user is unknown and which lines were skipped.
    let (err, log) = logon("malformed-unknown", Some((file, 0o600)), "bob", "pw");
    let status = err.expect("bob is unknown").to_string();
    assert!(status.contains("unknown user CORP\\bob"), "{status}");
    for needle in ["line 2", "line 4"] {
        assert!(
            status.contains(needle),
            "status text lacks {needle:?}: {status}"
        );
        assert!(log.contains(needle), "debug log lacks {needle:?}:\n{log}");
    }
}
