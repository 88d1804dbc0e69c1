//! The debug log (`GSS_NEGOTIATE_DEBUG` / `GSSNTLMSSP_DEBUG`): one line per context event, never a secret.

use std::collections::HashMap;
use std::path::PathBuf;

use gss_negotiate::context::SecContext;
use gss_negotiate::creds::config::Config;
use gss_negotiate::names::{Name, NameSystem};
use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::secret::Password;

struct Host;

impl NameSystem for Host {
    fn hostname(&self) -> Option<String> {
        Some("server.test".into())
    }
    fn user_of_uid(&self, _uid: u32) -> Option<String> {
        None
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "gss-negotiate-debuglog-{}-{name}",
        std::process::id()
    ))
}

fn run(password_used: &str) -> (String, Option<String>) {
    let users = temp(&format!("users-{password_used}"));
    let log = temp(&format!("log-{password_used}"));
    let _ = std::fs::remove_file(&log);
    std::fs::write(&users, "TESTDOM:testuser:Passw0rd!\n").expect("user file");
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", users.display().to_string());
    vars.insert("GSSNTLMSSP_DEBUG", log.display().to_string());
    let cfg = Config::from_lookup(|k| vars.get(k).cloned(), Some("server.test".into()));

    let cred = gss_negotiate::creds::acquire_with_password(
        &Name::User {
            user: "testuser".into(),
            domain: Some("TESTDOM".into()),
        },
        &Password::new(password_used),
        gss_negotiate::creds::CredUsage::Initiate,
    )
    .expect("initiator credential");
    let target = Name::Service {
        spn: Some("host/server.test".into()),
        host: "server.test".into(),
    };
    let (mut client, first) =
        SecContext::initiate(Some(cred), Some(target), 0x30, &cfg).expect("initiate");
    let mut server = SecContext::accept(None, &cfg, &Host).expect("accept");
    let challenge = server.accept_step(&first.output, None).expect("challenge");
    let auth = client
        .init_step(Some(&challenge.output), None)
        .expect("authenticate");
    let outcome = server.accept_step(&auth.output, None);
    let key = client
        .established()
        .map(|e| hex(e.session_key.as_bytes()))
        .ok();
    let _ = outcome;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&users);
    (text, key)
}

#[test]
fn debug_log_records_each_step_without_secrets() {
    let (text, key) = run("Passw0rd!");
    for needle in [
        "initiator: TESTDOM\\testuser -> host/server.test",
        "initiator: NEGOTIATE sent",
        "acceptor: CHALLENGE sent",
        "initiator: AUTHENTICATE sent (V2, MIC true",
        "acceptor: authenticated TESTDOM\\testuser",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let nt = hex(ntowfv1(&Password::new("Passw0rd!")).as_bytes());
    let key = key.expect("established");
    for secret in ["Passw0rd!", nt.as_str(), key.as_str()] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "secret {secret:?} in the log:\n{text}"
        );
    }
}

#[test]
fn debug_log_says_why_a_logon_was_refused() {
    let (text, _) = run("wrong-password");
    assert!(
        text.contains("acceptor: refused: NTLM: password does not match for TESTDOM\\testuser"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");
}

fn log_of_failed_initiator(tag: &str, file: Option<&str>, user: Option<&str>) -> (String, String) {
    let users = temp(&format!("users-{tag}"));
    let log = temp(&format!("log-{tag}"));
    let _ = std::fs::remove_file(&log);
    let mut vars = HashMap::new();
    if let Some(text) = file {
        std::fs::write(&users, text).expect("user file");
        vars.insert("NTLM_USER_FILE", users.display().to_string());
    }
    vars.insert("GSS_NEGOTIATE_DEBUG", log.display().to_string());
    let cfg = Config::from_lookup(|k| vars.get(k).cloned(), Some("client.test".into()));
    let cred = user.map(|u| {
        gss_negotiate::creds::acquire(
            Some(&Name::User {
                user: u.into(),
                domain: Some("TESTDOM".into()),
            }),
            gss_negotiate::creds::CredUsage::Initiate,
            None,
            &cfg,
            &Host,
        )
    });
    let err = match cred {
        Some(Err(e)) => e,
        Some(Ok(c)) => SecContext::initiate(Some(c), None, 0x30, &cfg).expect_err("fails"),
        None => SecContext::initiate(None, None, 0x30, &cfg).expect_err("fails"),
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&users);
    (err.to_string(), text)
}

#[test]
fn initiator_failures_reach_the_debug_log() {
    // No credential anywhere: gss_init_sec_context fails before any message.
    let (err, log) = log_of_failed_initiator("nocred", None, None);
    assert!(
        log.contains(&format!("initiator: failed: {err}")),
        "{err}\n{log}"
    );
    // The default credential from an empty user file.
    let (err, log) = log_of_failed_initiator("empty", Some("# nobody\n"), None);
    assert!(err.contains("has no entries"), "{err}");
    assert!(
        log.contains(&format!("initiator: failed: {err}")),
        "{err}\n{log}"
    );
}

#[test]
fn initiator_failures_on_the_challenge_reach_the_debug_log() {
    let users = temp("users-challenge");
    let log = temp("log-challenge");
    let _ = std::fs::remove_file(&log);
    std::fs::write(&users, "TESTDOM:testuser:Passw0rd!\n").expect("user file");
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", users.display().to_string());
    vars.insert("GSS_NEGOTIATE_DEBUG", log.display().to_string());
    let cfg = Config::from_lookup(|k| vars.get(k).cloned(), Some("client.test".into()));
    let (mut client, _) = SecContext::initiate(None, None, 0x30, &cfg).expect("initiate");
    let err = client
        .init_step(Some(b"NTLMSSP\0garbage"), None)
        .expect_err("a broken CHALLENGE");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&users);
    assert!(
        text.contains(&format!("initiator: failed: {err}")),
        "{err}\n{text}"
    );
}

/// Run by [`an_unwritable_debug_log_path_is_reported_once_on_stderr`] in a child process (it needs the real
/// stderr); ignored in the normal run, where it would only repeat what the parent checks.
#[test]
#[ignore = "child of an_unwritable_debug_log_path_is_reported_once_on_stderr"]
fn child_logs_to_an_unwritable_path() {
    let path = std::env::var_os("GSSNEG_UNWRITABLE_LOG").expect("run by the parent test");
    for i in 0..3 {
        gss_negotiate::debug::event(Some(std::path::Path::new(&path)), format_args!("event {i}"));
    }
}

#[test]
fn an_unwritable_debug_log_path_is_reported_once_on_stderr() {
    // A directory cannot be opened for appending, even by root.
    let dir = temp("log-is-a-directory");
    std::fs::create_dir_all(&dir).expect("dir");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_logs_to_an_unwritable_path",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GSSNEG_UNWRITABLE_LOG", &dir)
        .output()
        .expect("child");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    let warning = format!("cannot write the debug log {}", dir.display());
    assert_eq!(
        stderr.matches(&warning).count(),
        1,
        "expected the warning once on stderr, got:\n{stderr}"
    );
}
