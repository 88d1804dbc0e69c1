//! The credential option `1.3.6.1.4.1.7165.655.1.5` (gss-ntlmssp's GSS_NTLMSSP_NEG_FLAGS_OID, issue 10 defect 7)
//! changes the NTLMSSP flags on the wire as in gss-ntlmssp: on an initiator credential the value replaces the
//! default NEGOTIATE flags, and what the GSS request and the LM_COMPAT_LEVEL policy need is added on top; on an
//! acceptor credential it is the set of flags the CHALLENGE may grant. An empty value or 0 restores the defaults.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

use gss_negotiate::context::SecContext;
use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::{acquire, acquire_with_password, set_neg_flags, CredUsage, Credential};
use gss_negotiate::names::{Name, NameSystem};
use gss_negotiate::ntlm::flags::NegotiateFlags as F;
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::ntlm::wire::{Challenge, Negotiate};

struct Host;

impl NameSystem for Host {
    fn hostname(&self) -> Option<String> {
        Some("server.test".into())
    }
    fn user_of_uid(&self, _uid: u32) -> Option<String> {
        None
    }
}

fn config(tag: &str) -> Config {
    let path = std::env::temp_dir().join(format!(
        "gss-negotiate-negflags-{}-{tag}",
        std::process::id()
    ));
    std::fs::write(&path, "CORP:alice:pw\n").expect("users");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", path.display().to_string());
    Config::from_lookup(|k| vars.get(k).cloned(), Some("server.test".into()))
}

fn alice(option: Option<&[u8]>) -> Credential {
    let name = Name::User {
        user: "alice".into(),
        domain: Some("CORP".into()),
    };
    let mut cred = acquire_with_password(&name, &Password::new("pw"), CredUsage::Initiate).unwrap();
    if let Some(v) = option {
        set_neg_flags(&mut cred, v).expect("option accepted");
    }
    cred
}

/// The NEGOTIATE the initiator sends with `cred` and GSS `req_flags`.
fn negotiate_flags(cred: Credential, req_flags: u32, cfg: &Config) -> F {
    let (_, first) = SecContext::initiate(Some(cred), None, req_flags, cfg).expect("initiate");
    Negotiate::decode(&first.output).expect("NEGOTIATE").flags
}

const INTEG_CONF: u32 = 0x30;

#[test]
fn the_option_replaces_the_default_negotiate_flags() {
    let cfg = config("replace");
    let default = negotiate_flags(alice(None), INTEG_CONF, &cfg);
    assert!(
        default.contains(F::ALWAYS_SIGN | F::VERSION | F::OEM | F::KEY_56),
        "{default:?}"
    );
    let wanted = F::NTLM | F::UNICODE | F::REQUEST_TARGET | F::KEY_128;
    let wire = negotiate_flags(alice(Some(&wanted.bits().to_ne_bytes())), INTEG_CONF, &cfg);
    // The defaults the option left out are gone...
    for gone in [F::ALWAYS_SIGN, F::VERSION, F::OEM, F::KEY_56] {
        assert!(!wire.contains(gone), "{gone:?} still on the wire: {wire:?}");
    }
    // ...the option's flags are there, with what the request (INTEG|CONF) and level 3 (ESS) add.
    assert!(wire.contains(wanted), "{wire:?}");
    assert!(
        wire.contains(F::SIGN | F::SEAL | F::KEY_EXCH | F::EXTENDED_SESSIONSECURITY),
        "{wire:?}"
    );
}

#[test]
fn the_option_can_add_flags_the_defaults_lack() {
    let cfg = config("add");
    let default = negotiate_flags(alice(None), INTEG_CONF, &cfg);
    assert!(!default.contains(F::IDENTIFY));
    let more = default.with(F::IDENTIFY);
    let wire = negotiate_flags(alice(Some(&more.bits().to_ne_bytes())), INTEG_CONF, &cfg);
    assert_eq!(wire, more);
}

#[test]
fn the_lm_compat_level_policy_still_wins_over_the_option() {
    // Asking for LM_KEY without ESS at level 3 does not downgrade the session security.
    let cfg = config("policy");
    let weak = F::NTLM | F::UNICODE | F::LM_KEY;
    let wire = negotiate_flags(alice(Some(&weak.bits().to_ne_bytes())), INTEG_CONF, &cfg);
    assert!(wire.contains(F::EXTENDED_SESSIONSECURITY), "{wire:?}");
    assert!(!wire.contains(F::LM_KEY), "{wire:?}");
}

#[test]
fn an_empty_or_zero_value_restores_the_defaults() {
    let cfg = config("reset");
    let default = negotiate_flags(alice(None), INTEG_CONF, &cfg);
    assert_eq!(negotiate_flags(alice(Some(&[])), INTEG_CONF, &cfg), default);
    assert_eq!(
        negotiate_flags(alice(Some(&0u32.to_ne_bytes())), INTEG_CONF, &cfg),
        default
    );
}

#[test]
fn a_context_with_replaced_flags_still_establishes_and_wraps() {
    let cfg = config("establish");
    let wanted = F::NTLM | F::UNICODE | F::REQUEST_TARGET | F::KEY_128;
    let (mut client, first) = SecContext::initiate(
        Some(alice(Some(&wanted.bits().to_ne_bytes()))),
        None,
        INTEG_CONF,
        &cfg,
    )
    .unwrap();
    let mut server = SecContext::accept(None, &cfg, &Host).unwrap();
    let challenge = server.accept_step(&first.output, None).unwrap();
    let auth = client.init_step(Some(&challenge.output), None).unwrap();
    server.accept_step(&auth.output, None).expect("established");
    let (token, _) = client.wrap(0, b"hello").unwrap();
    assert_eq!(server.unwrap(&token).unwrap().0, b"hello");
}

#[test]
fn on_an_acceptor_credential_the_option_limits_what_the_challenge_grants() {
    let cfg = config("acceptor");
    let mut acceptor = acquire(None, CredUsage::Accept, None, &cfg, &Host).unwrap();
    let without_seal = F(0xFFFF_FFFF).without(F::SEAL | F::KEY_56);
    set_neg_flags(&mut acceptor, &without_seal.bits().to_ne_bytes()).unwrap();
    let (_, first) = SecContext::initiate(Some(alice(None)), None, INTEG_CONF, &cfg).unwrap();
    assert!(Negotiate::decode(&first.output)
        .unwrap()
        .flags
        .contains(F::SEAL | F::KEY_56));
    let mut server = SecContext::accept(Some(acceptor), &cfg, &Host).unwrap();
    let challenge = server.accept_step(&first.output, None).unwrap();
    let granted = Challenge::decode(&challenge.output).unwrap().flags;
    assert!(!granted.intersects(F::SEAL | F::KEY_56), "{granted:?}");
    assert!(
        granted.contains(F::SIGN | F::KEY_128 | F::KEY_EXCH),
        "{granted:?}"
    );
}
