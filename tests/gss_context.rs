//! The GSS context layer in-process (`gss_negotiate::context::SecContext`): the flags it reports and the
//! acceptor's view, without the C boundary.

use std::collections::HashMap;

use gss_negotiate::context::{flags, SecContext};
use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::{acquire_with_password, CredUsage};
use gss_negotiate::names::{Name, NameSystem};
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

fn establish(req_flags: u32) -> (SecContext, SecContext) {
    establish_cb(req_flags, None, None).expect("established")
}

/// A handshake with channel bindings (the MD5 hash the C boundary makes of them) on either side.
fn establish_cb(
    req_flags: u32,
    client_cb: Option<[u8; 16]>,
    server_cb: Option<[u8; 16]>,
) -> Result<(SecContext, SecContext), u32> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let users = std::env::temp_dir().join(format!(
        "gss-negotiate-gssctx-{}-{req_flags}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&users, "TESTDOM:testuser:Passw0rd!\n").expect("user file");
    let mut vars = HashMap::new();
    vars.insert("NTLM_USER_FILE", users.display().to_string());
    let cfg = Config::from_lookup(|k| vars.get(k).cloned(), Some("server.test".into()));
    let cred = acquire_with_password(
        &Name::User {
            user: "testuser".into(),
            domain: Some("TESTDOM".into()),
        },
        &Password::new("Passw0rd!"),
        CredUsage::Initiate,
    )
    .expect("credential");
    let (mut client, first) =
        SecContext::initiate(Some(cred), None, req_flags, &cfg).expect("initiate");
    let mut server = SecContext::accept(None, &cfg, &Host).expect("accept");
    let challenge = server
        .accept_step(&first.output, server_cb)
        .expect("challenge");
    let auth = client
        .init_step(Some(&challenge.output), client_cb)
        .expect("authenticate");
    assert!(auth.complete);
    let done = server.accept_step(&auth.output, server_cb);
    let _ = std::fs::remove_file(&users);
    match done {
        Ok(step) => {
            assert!(step.complete);
            Ok((client, server))
        }
        Err(e) => Err(e.major),
    }
}

/// GSS_C_CHANNEL_BOUND_FLAG (MIT krb5 ≥ 1.19 `gssapi_ext.h`).
const CHANNEL_BOUND: u32 = 2048;

/// Issue 10, defect 3: the acceptor reports GSS_C_CHANNEL_BOUND_FLAG exactly when it was given channel bindings
/// and the initiator's matched — MIT's `src/tests/gssapi/t_bindings.py` table (initiator, acceptor):
/// (-, -) no, (a, -) no, (a, a) yes, (-, a) no, (a, x) "Incorrect channel bindings". The flag survives
/// export/import; the initiator never claims it (as in MIT's krb5 mech).
#[test]
fn channel_bound_flag_follows_mit_t_bindings() {
    let a = Some([0xA1; 16]);
    let x = Some([0x0B; 16]);
    for (cli, srv, want) in [
        (None, None, false),
        (a, None, false),
        (a, a, true),
        (None, a, false),
    ] {
        let (client, server) = establish_cb(flags::INTEG, cli, srv).expect("established");
        assert_eq!(
            server.gss_flags() & CHANNEL_BOUND != 0,
            want,
            "acceptor, bindings {:?}/{:?}",
            cli.is_some(),
            srv.is_some()
        );
        assert_eq!(client.gss_flags() & CHANNEL_BOUND, 0, "initiator");
        let back = SecContext::import(&server.export().expect("export")).expect("import");
        assert_eq!(back.gss_flags(), server.gss_flags(), "after export/import");
    }
    assert_eq!(
        establish_cb(flags::INTEG, a, x).err(),
        Some(4 << 16),
        "GSS_S_BAD_BINDINGS"
    );
}

#[test]
fn connection_contexts_offer_replay_and_sequence_detection() {
    let (client, server) = establish(flags::INTEG | flags::CONF);
    for f in [client.gss_flags(), server.gss_flags()] {
        let want = flags::INTEG | flags::CONF | flags::REPLAY | flags::SEQUENCE | flags::TRANS;
        assert_eq!(f & want, want, "{f:#x}");
        assert_eq!(f & flags::DATAGRAM, 0, "{f:#x}");
    }
}

#[test]
fn datagram_contexts_do_not_claim_replay_or_sequence_detection() {
    let (mut client, mut server) =
        establish(flags::INTEG | flags::CONF | flags::REPLAY | flags::DATAGRAM);
    for f in [client.gss_flags(), server.gss_flags()] {
        assert_ne!(f & flags::DATAGRAM, 0, "{f:#x}");
        assert_eq!(f & (flags::REPLAY | flags::SEQUENCE), 0, "{f:#x}");
    }
    // Messages still flow, in any order.
    let (t1, _) = client.wrap(0, b"one").expect("wrap 1");
    let (t2, _) = client.wrap(0, b"two").expect("wrap 2");
    assert_eq!(server.unwrap(&t2).expect("unwrap 2").0, b"two");
    assert_eq!(server.unwrap(&t1).expect("unwrap 1").0, b"one");
}
