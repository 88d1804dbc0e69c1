//! Text from an unauthenticated AUTHENTICATE (user, domain, workstation) reaches status texts and the debug log
//! escaped (issue 10, defect 9): an embedded newline cannot forge a log line, and control and other
//! non-printable characters (terminal escapes, bidi overrides) are shown as `\u{..}` escapes.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

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

const FORGED: &str = "\n1700000000.000 gss-negotiate[1]: acceptor: authenticated CORP\\admin";

/// One logon as `domain\user` from `workstation`; the acceptor's error and the debug log.
fn logon(
    tag: &str,
    domain: &str,
    user: &str,
    workstation: &str,
    password: &str,
) -> (Option<GssError>, String) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("gss-negotiate-inject-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let users = dir.join("users");
    let log = dir.join("debug.log");
    let _ = std::fs::remove_file(&log);
    std::fs::write(&users, ":alice:pw\n").expect("users");
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", users.display().to_string());
    vars.insert("GSS_NEGOTIATE_DEBUG", log.display().to_string());
    let server_cfg = Config::from_lookup(|k| vars.get(k).cloned(), Some("server.test".into()));
    let mut client_vars = HashMap::new();
    client_vars.insert("NETBIOS_COMPUTER_NAME", workstation.to_string());
    let client_cfg =
        Config::from_lookup(|k| client_vars.get(k).cloned(), Some("client.test".into()));
    let name = Name::User {
        user: user.into(),
        domain: Some(domain.into()),
    };
    let cred = acquire_with_password(&name, &Password::new(password), CredUsage::Initiate).unwrap();
    let (mut client, first) = SecContext::initiate(Some(cred), None, 0x30, &client_cfg).unwrap();
    let mut server = SecContext::accept(None, &server_cfg, &Host).expect("accept");
    let challenge = server.accept_step(&first.output, None).expect("challenge");
    let auth = client
        .init_step(Some(&challenge.output), None)
        .expect("authenticate");
    let err = server.accept_step(&auth.output, None).err();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (err, text)
}

/// Every line of the log is one of ours, and none is the forged one.
fn assert_no_forged_line(log: &str) {
    assert!(!log.is_empty());
    for line in log.lines() {
        assert!(
            line.split_once(' ')
                .is_some_and(|(_, rest)| rest
                    .starts_with(&format!("gss-negotiate[{}]: ", std::process::id()))),
            "a line the plugin did not write:\n{line}\nin:\n{log}"
        );
    }
    assert!(
        log.contains("\\n1700000000.000"),
        "the newline was not shown escaped:\n{log}"
    );
}

#[test]
fn a_newline_in_the_user_name_cannot_forge_a_log_line_or_status_line() {
    let (err, log) = logon("user", "CORP", &format!("mallory{FORGED}"), "WS", "pw");
    let status = err.expect("unknown user").to_string();
    assert!(!status.contains('\n'), "status text: {status:?}");
    assert!(status.contains("mallory\\n1700000000.000"), "{status}");
    assert_no_forged_line(&log);
}

#[test]
fn a_newline_in_the_domain_cannot_forge_a_log_line_or_status_line() {
    // The domainless entry matches any domain; the wrong password names the client's domain.
    let (err, log) = logon("domain", &format!("CORP{FORGED}"), "alice", "WS", "wrong");
    let status = err.expect("wrong password").to_string();
    assert!(status.contains("password does not match"), "{status}");
    assert!(!status.contains('\n'), "status text: {status:?}");
    assert_no_forged_line(&log);
}

#[test]
fn a_newline_in_the_workstation_cannot_forge_a_log_line() {
    let (err, log) = logon("workstation", "CORP", "alice", &format!("WS{FORGED}"), "pw");
    assert!(err.is_none(), "{err:?}");
    assert!(log.contains("acceptor: authenticated alice"), "{log}");
    assert_no_forged_line(&log);
}

#[test]
fn terminal_escapes_and_bidi_overrides_are_escaped() {
    let (err, log) = logon(
        "controls",
        "CORP",
        "eve\u{1b}[2J\u{202e}nimda",
        "WS\u{7}",
        "pw",
    );
    let status = err.expect("unknown user").to_string();
    for text in [&status, &log] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }
    assert!(status.contains("eve\\u{1b}[2J\\u{202e}nimda"), "{status}");
}
