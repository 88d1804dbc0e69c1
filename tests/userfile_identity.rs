//! Identity in the user file (issue 10, defect 6): which entry a client's (user, domain) selects, which name
//! the acceptor then reports, and which local account `gss_localname` maps it to.

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

const FILE: &str = ":bob:secret\nCORP:bob:corp-pw\n";

fn config(tag: &str, text: &str) -> Config {
    let path: PathBuf = std::env::temp_dir().join(format!(
        "gss-negotiate-identity-{}-{tag}",
        std::process::id()
    ));
    std::fs::write(&path, text).expect("user file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", path.display().to_string());
    vars.insert("NETBIOS_DOMAIN_NAME", "SERVERDOM".to_string());
    Config::from_lookup(|k| vars.get(k).cloned(), Some("server.test".into()))
}

/// Logs on as `domain\user` with `password`; the acceptor's `src_name` on success.
fn logon(cfg: &Config, domain: Option<&str>, user: &str, password: &str) -> Result<Name, GssError> {
    let name = Name::User {
        user: user.into(),
        domain: domain.map(String::from),
    };
    let cred = acquire_with_password(&name, &Password::new(password), CredUsage::Initiate)?;
    let (mut client, first) = SecContext::initiate(Some(cred), None, 0x30, cfg)?;
    let mut server = SecContext::accept(None, cfg, &Host)?;
    let challenge = server.accept_step(&first.output, None)?;
    let auth = client.init_step(Some(&challenge.output), None)?;
    server.accept_step(&auth.output, None)?;
    let name = server.source_name().expect("source name");
    // The display form made without the name (what SPNEGO's policy check and audit record use) is the same.
    assert_eq!(server.source_display(), Some(name.display()));
    assert_eq!(
        client.source_display(),
        client.source_name().map(|n| n.display())
    );
    Ok(name)
}

fn user(domain: Option<&str>, user: &str) -> Name {
    Name::User {
        user: user.into(),
        domain: domain.map(String::from),
    }
}

#[test]
fn an_entry_for_the_clients_domain_wins_over_a_domainless_one() {
    let cfg = config("wins", FILE);
    assert_eq!(
        logon(&cfg, Some("CORP"), "bob", "corp-pw").expect("CORP\\bob's own password"),
        user(Some("CORP"), "bob")
    );
    let err = logon(&cfg, Some("CORP"), "bob", "secret").expect_err("the domainless password");
    assert!(err.to_string().contains("password does not match"), "{err}");
    // Case-insensitive domains.
    assert_eq!(
        logon(&cfg, Some("corp"), "BOB", "corp-pw").expect("any case"),
        user(Some("CORP"), "bob")
    );
}

#[test]
fn a_domainless_entry_reports_no_domain_the_file_did_not_vouch_for() {
    let cfg = config("vouch", FILE);
    // ADMINS has no entry: the domainless one answers, and the reported name is the bare user, never ADMINS\bob.
    assert_eq!(
        logon(&cfg, Some("ADMINS"), "bob", "secret").expect("domainless entry"),
        user(None, "bob")
    );
    assert_eq!(
        logon(&cfg, None, "bob", "secret").expect("no domain sent"),
        user(None, "bob")
    );
    assert!(logon(&cfg, Some("ADMINS"), "bob", "corp-pw").is_err());
}

#[test]
fn a_domain_entry_names_its_domain_whatever_the_client_sent() {
    let cfg = config("named", "CORP:carol:pw\n");
    assert_eq!(
        logon(&cfg, Some("corp"), "CAROL", "pw").expect("logon"),
        user(Some("CORP"), "carol")
    );
    assert!(logon(&cfg, Some("OTHER"), "carol", "pw").is_err());
}

#[test]
fn localname_does_not_merge_same_named_users_of_other_domains() {
    // The machine's own domains (NETBIOS_DOMAIN_NAME, NETBIOS_COMPUTER_NAME) map to bare local accounts.
    let local = ["SERVERDOM", "SERVER"];
    let cands = |n: Name| n.localname_candidates(&local).unwrap();
    assert_eq!(
        cands(user(Some("CORP"), "bob")),
        ["CORP\\bob"],
        "CORP\\bob must not fall back to the local bob"
    );
    assert_eq!(cands(user(Some("ADMINS"), "bob")), ["ADMINS\\bob"]);
    assert_eq!(
        cands(user(Some("serverdom"), "bob")),
        ["serverdom\\bob", "bob"]
    );
    assert_eq!(cands(user(None, "bob")), ["bob"]);
    // The name a domainless entry yields (see above) maps to the bare account.
    let cfg = config("localname", FILE);
    let reported = logon(&cfg, Some("ADMINS"), "bob", "secret").expect("logon");
    assert_eq!(cands(reported), ["bob"]);
}
