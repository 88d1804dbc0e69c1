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
    let users = std::env::temp_dir().join(format!(
        "gss-negotiate-gssctx-{}-{req_flags}",
        std::process::id()
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
    let challenge = server.accept_step(&first.output, None).expect("challenge");
    let auth = client
        .init_step(Some(&challenge.output), None)
        .expect("authenticate");
    assert!(auth.complete);
    assert!(
        server
            .accept_step(&auth.output, None)
            .expect("accepted")
            .complete
    );
    let _ = std::fs::remove_file(&users);
    (client, server)
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
