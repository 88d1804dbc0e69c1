//! The NTLM policy file (`GSS_NEGOTIATE_POLICY`, docs/policy.md) applied to raw NTLM contexts through the
//! context API (`gss_negotiate::context::SecContext`, what `gss_init_sec_context` / `gss_accept_sec_context`
//! run), with the audit lines it writes to `GSS_NEGOTIATE_AUDIT`. One test function: the variables are
//! process-wide, so the scenarios run in sequence.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gss_negotiate::context::{AuditBy, SecContext};
use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::{acquire_with_password, CredUsage};
use gss_negotiate::names::{parse_hostbased, Name, NameSystem};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::status::{GssError, Minor, GSS_S_FAILURE, GSS_S_UNAUTHORIZED};

struct Host;

impl NameSystem for Host {
    fn hostname(&self) -> Option<String> {
        Some("server.test".into())
    }
    fn user_of_uid(&self, _uid: u32) -> Option<String> {
        None
    }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Path) -> Config {
    let users = dir.join("users");
    std::fs::write(&users, "TESTDOM:testuser:Passw0rd!\n").unwrap();
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", users.display().to_string());
    Config::from_lookup(|k| vars.get(k).cloned(), Some("server.test".into()))
}

/// Runs a handshake to `target`, the acceptor given `server_cb`; returns where it failed, if it did.
fn handshake(cfg: &Config, target: &str, server_cb: Option<[u8; 16]>) -> Result<(), GssError> {
    handshake_as(
        cfg,
        "testuser",
        "Passw0rd!",
        target,
        server_cb,
        AuditBy::Context,
    )
}

/// [`handshake`] as `TESTDOM\user` with `password`, both contexts audited by `audit`.
fn handshake_as(
    cfg: &Config,
    user: &str,
    password: &str,
    target: &str,
    server_cb: Option<[u8; 16]>,
    audit: AuditBy,
) -> Result<(), GssError> {
    let cred = acquire_with_password(
        &Name::User {
            user: user.into(),
            domain: Some("TESTDOM".into()),
        },
        &Password::new(password),
        CredUsage::Initiate,
    )?;
    let target = parse_hostbased(target, &Host)?;
    let (mut client, first) =
        SecContext::initiate_audited(Some(cred), Some(target), 0, cfg, audit)?;
    let mut server = SecContext::accept_audited(None, cfg, &Host, audit)?;
    let challenge = server.accept_step(&first.output, server_cb)?;
    let auth = client.init_step(Some(&challenge.output), None)?;
    let done = server.accept_step(&auth.output, server_cb)?;
    assert!(auth.complete && done.complete);
    Ok(())
}

/// Writes `text` as a new policy file and points `GSS_NEGOTIATE_POLICY` at it.
fn use_policy(dir: &Path, n: usize, text: &str) {
    let p = dir.join(format!("policy-{n}.conf"));
    std::fs::write(&p, text).unwrap();
    std::env::set_var("GSS_NEGOTIATE_POLICY", &p);
}

fn audit_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn policy_file_governs_raw_ntlm_and_audits_it() {
    let dir = Dir(std::env::temp_dir().join(format!("gssneg-ntlm-policy-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = config(&dir.0);
    let audit = dir.0.join("audit.jsonl");
    std::env::remove_var("GSS_NEGOTIATE_AUDIT");

    // No policy (and no /etc/gss-negotiate/policy.conf on test machines): NTLM works, nothing is audited.
    std::env::remove_var("GSS_NEGOTIATE_POLICY");
    if !Path::new("/etc/gss-negotiate/policy.conf").exists() {
        handshake(&cfg, "HTTP@www.example.test", None).expect("default policy allows NTLM");
    }
    std::env::set_var("GSS_NEGOTIATE_AUDIT", &audit);

    // Outgoing deny.
    use_policy(&dir.0, 1, "ntlm.outgoing = deny\n");
    let e = handshake(&cfg, "HTTP@www.example.test", None).unwrap_err();
    assert_eq!(
        (e.major, e.minor),
        (GSS_S_UNAUTHORIZED, Minor::PolicyDenied),
        "{e}"
    );
    assert!(e.to_string().contains("HTTP/www.example.test"), "{e}");
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("\"role\":\"initiator\",\"protocol\":\"ntlm\""));
    assert!(
        lines[0].contains("\"ntlm_policy\":\"deny\"")
            && lines[0].contains("\"outcome\":\"failure\"")
    );

    // Outgoing deny with the host excepted.
    use_policy(
        &dir.0,
        2,
        "ntlm.outgoing = deny\nntlm.outgoing.allowed-hosts = *.legacy.test\n",
    );
    handshake(&cfg, "HTTP@www.legacy.test", None).expect("excepted host");
    let lines = audit_lines(&audit);
    assert!(lines.iter().any(|l| l.contains("\"role\":\"initiator\"")
        && l.contains("\"ntlm_policy\":\"exempt\"")
        && l.contains("\"outcome\":\"success\"")));

    // Incoming deny: refused before any token is read.
    use_policy(&dir.0, 3, "ntlm.incoming = deny\n");
    let e = SecContext::accept(None, &cfg, &Host).unwrap_err();
    assert_eq!(e.minor, Minor::PolicyDenied);

    // Incoming deny with the client exempt, or not.
    use_policy(
        &dir.0,
        4,
        "ntlm.incoming = deny\nntlm.incoming.exempt-clients = TESTDOM\\test*\n",
    );
    handshake(&cfg, "HTTP@www.example.test", None).expect("exempt client");
    use_policy(
        &dir.0,
        5,
        "ntlm.incoming = audit\nntlm.incoming.exempt-clients = someone-else\n",
    );
    handshake(&cfg, "HTTP@www.example.test", None).expect("audit allows");
    use_policy(
        &dir.0,
        6,
        "ntlm.incoming = deny\nntlm.incoming.exempt-clients = someone-else\n",
    );
    let e = handshake(&cfg, "HTTP@www.example.test", None).unwrap_err();
    assert_eq!(e.minor, Minor::PolicyDenied);
    assert!(e.to_string().contains("TESTDOM\\testuser"), "{e}");
    let lines = audit_lines(&audit);
    for want in ["\"ntlm_policy\":\"exempt\"", "\"ntlm_policy\":\"audit\""] {
        assert!(
            lines.iter().any(|l| l.contains("\"role\":\"acceptor\"")
                && l.contains("\"peer\":\"TESTDOM\\\\testuser\"")
                && l.contains(want)),
            "{want}: {lines:?}"
        );
    }

    // Channel bindings required: the server has bindings, the client sent none.
    let cb = Some([7u8; 16]);
    use_policy(&dir.0, 7, "ntlm.channel-bindings = optional\n");
    handshake(&cfg, "HTTP@www.example.test", cb).expect("optional bindings");
    use_policy(&dir.0, 8, "ntlm.channel-bindings = required\n");
    let e = handshake(&cfg, "HTTP@www.example.test", cb).unwrap_err();
    assert_eq!(e.minor, Minor::BadChannelBindings, "{e}");

    // A broken or missing policy file refuses NTLM (fail closed) and says where the problem is.
    use_policy(
        &dir.0,
        9,
        "ntlm.outgoing = allow\nntlm.incoming = perhaps\n",
    );
    let e = handshake(&cfg, "HTTP@www.example.test", None).unwrap_err();
    assert_eq!((e.major, e.minor), (GSS_S_FAILURE, Minor::BadPolicy));
    assert!(e.to_string().contains("policy-9.conf:2"), "{e}");
    std::env::set_var("GSS_NEGOTIATE_POLICY", dir.0.join("missing.conf"));
    let e = handshake(&cfg, "HTTP@www.example.test", None).unwrap_err();
    assert_eq!(e.minor, Minor::BadPolicy);

    // Audit lines are JSON.
    for l in audit_lines(&audit) {
        serde_json::from_str::<serde_json::Value>(&l).expect("valid JSON line");
    }

    // Every acceptor line names the back-end that validated the response and, for a refusal, the reason.
    use_policy(
        &dir.0,
        10,
        "ntlm.incoming = allow
",
    );
    let before = audit_lines(&audit).len();
    let t = "HTTP@www.example.test";
    handshake(&cfg, t, None).expect("user file logon");
    let e = handshake_as(&cfg, "testuser", "wrong", t, None, AuditBy::Context).unwrap_err();
    assert_eq!(e.minor, Minor::WrongPassword, "{e}");
    let e = handshake_as(&cfg, "nobody", "x", t, None, AuditBy::Context).unwrap_err();
    assert_eq!(e.minor, Minor::UnknownUser, "{e}");
    let lines = audit_lines(&audit);
    let acceptor: Vec<serde_json::Value> = lines[before..]
        .iter()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .filter(|v: &serde_json::Value| v["role"] == "acceptor")
        .collect();
    let seen: Vec<(&str, &str, Option<&str>)> = acceptor
        .iter()
        .map(|v| {
            (
                v["outcome"].as_str().unwrap_or(""),
                v["backend"].as_str().unwrap_or(""),
                v["refusal"].as_str(),
            )
        })
        .collect();
    // With libwbclient on the machine the default back-end is the user file, then winbind: a user neither
    // knows is refused by both (the audit line names every back-end asked).
    let unknown_by = seen.get(2).map_or("", |s| s.1);
    assert!(
        ["user file", "user file,winbind"].contains(&unknown_by),
        "{lines:?}"
    );
    assert_eq!(
        seen,
        [
            ("success", "user file", None),
            ("failure", "user file", Some("wrong-password")),
            ("failure", unknown_by, Some("unknown-user")),
        ],
        "{lines:?}"
    );
    assert_eq!(acceptor[0]["peer"], "TESTDOM\\testuser");
    assert!(
        acceptor[1]["failure"]
            .as_str()
            .is_some_and(|f| f.contains("password does not match")),
        "{lines:?}"
    );
    // No line holds the password (the wrong one included).
    assert!(
        lines[before..]
            .iter()
            .all(|l| !l.contains("Passw0rd") && !l.contains("wrong\"")),
        "{lines:?}"
    );

    // Contexts that our SPNEGO engine drives (AuditBy::Spnego, as spnego::gss_ntlm makes them) write no line
    // of their own, accepted or refused: the engine writes the negotiation's one record.
    let before = audit_lines(&audit).len();
    handshake_as(&cfg, "testuser", "Passw0rd!", t, None, AuditBy::Spnego).expect("logon");
    handshake_as(&cfg, "testuser", "wrong", t, None, AuditBy::Spnego).unwrap_err();
    assert_eq!(audit_lines(&audit).len(), before);
    std::env::remove_var("GSS_NEGOTIATE_POLICY");
    std::env::remove_var("GSS_NEGOTIATE_AUDIT");
}
