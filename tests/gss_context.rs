//! The GSS context layer in-process (`gss_negotiate::context::SecContext`): the flags it reports and the
//! acceptor's view, without the C boundary.

use std::collections::HashMap;

use gss_negotiate::context::{flags, SecContext};
use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::{acquire, acquire_with_password, CredUsage};
use gss_negotiate::names::{self, Name, NameSystem, NameType};
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
    handshake(req_flags, None, None, "Passw0rd!", (client_cb, server_cb))
        .map(|(c, s)| (c, s.expect("established")))
}

/// A handshake to `target` (none: no MsvAvTargetName) with an acceptor named `acceptor` (none: GSS_C_NO_NAME),
/// the client using `password`. The acceptor is `Err(major)` when it refused the AUTHENTICATE, with the
/// refused context beside it.
#[allow(clippy::type_complexity)]
fn handshake(
    req_flags: u32,
    target: Option<&str>,
    acceptor: Option<&str>,
    password: &str,
    (client_cb, server_cb): (Option<[u8; 16]>, Option<[u8; 16]>),
) -> Result<(SecContext, Result<SecContext, (u32, SecContext)>), u32> {
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
        &Password::new(password),
        CredUsage::Initiate,
    )
    .expect("credential");
    let service = |text: &str| {
        names::import(text.as_bytes(), NameType::Hostbased, &Host).expect("service name")
    };
    let acceptor_cred = acceptor.map(|a| {
        acquire(Some(&service(a)), CredUsage::Accept, None, &cfg, &Host).expect("acceptor cred")
    });
    let (mut client, first) =
        SecContext::initiate(Some(cred), target.map(service), req_flags, &cfg).expect("initiate");
    let mut server = SecContext::accept(acceptor_cred, &cfg, &Host).expect("accept");
    let challenge = server
        .accept_step(&first.output, server_cb)
        .expect("challenge");
    // Half-built, the acceptor reports its own name.
    assert_eq!(
        server.target_name().map(|n| n.display()),
        Some(acceptor.map_or("server.test".into(), |a| service(a).display())),
        "acceptor name before the AUTHENTICATE"
    );
    let auth = client
        .init_step(Some(&challenge.output), client_cb)
        .expect("authenticate");
    assert!(auth.complete);
    let done = server.accept_step(&auth.output, server_cb);
    let _ = std::fs::remove_file(&users);
    match done {
        Ok(step) => {
            assert!(step.complete);
            Ok((client, Ok(server)))
        }
        Err(e) if e.major == 4 << 16 => Err(e.major),
        Err(e) => Ok((client, Err((e.major, server)))),
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

/// Re-imports `ctx` with NTLMSSP_NEGOTIATE_SEAL cleared from its negotiated flags: a context that negotiated
/// signing only, as with a gss-ntlmssp client that MIT's gss-client asked for no confidentiality.
fn without_seal(ctx: &SecContext) -> SecContext {
    let mut blob = ctx.export().expect("export").to_vec();
    let at = blob
        .windows(4)
        .position(|w| w == b"GNX2")
        .expect("NTLM context in the blob")
        + 7; // magic, side, response kind, marker byte
    let mut flags = u32::from_le_bytes(blob[at..at + 4].try_into().unwrap());
    assert_ne!(flags & 0x20, 0, "SEAL was negotiated");
    flags &= !0x20;
    blob[at..at + 4].copy_from_slice(&flags.to_le_bytes());
    SecContext::import(&blob).expect("import")
}

/// Issue 10, defect 1 (INTEROP.md "Wrap tokens when SEAL was not negotiated"): without SEAL, gss_wrap seals (as
/// gss-ntlmssp, pyspnego and .NET do) and gss_unwrap accepts both the signed-only form (signature || plaintext, as
/// MS-NLMP and Samba send it) and the sealed form; a tampered token of either form is refused and the stream goes on.
#[test]
fn without_seal_wrap_seals_and_unwrap_takes_both_forms() {
    let (c, s) = establish(flags::INTEG | flags::CONF);
    let (mut client, mut server) = (without_seal(&c), without_seal(&s));
    assert_eq!(server.gss_flags() & flags::CONF, 0);
    // Signed-only form first: a MIC followed by the plaintext is exactly such a wrap token.
    let msg = b"signed only, in clear".to_vec();
    let mut token = client.get_mic(0, &msg).expect("mic").to_vec();
    token.extend_from_slice(&msg);
    assert_eq!(
        server.unwrap(&token).expect("signed-only"),
        (msg.clone(), false)
    );
    // A tampered signed-only token is refused; the next genuine one is taken.
    let mut token = client.get_mic(0, &msg).expect("mic").to_vec();
    token.extend_from_slice(&msg);
    let last = token.len() - 1;
    token[last] ^= 1;
    assert!(server.unwrap(&token).is_err());
    let (sealed, conf) = client.wrap(0, b"sealed anyway").expect("wrap");
    assert!(conf, "gss_wrap seals whenever SIGN was negotiated");
    assert_eq!(
        server.unwrap(&sealed).expect("sealed form"),
        (b"sealed anyway".to_vec(), true)
    );
    // The peer seals: from now on the server reports confidentiality, expects sealed tokens and seals its own.
    assert_ne!(server.gss_flags() & flags::CONF, 0);
    let (mut bad, _) = client.wrap(0, b"tampered").expect("wrap");
    bad[20] ^= 1;
    assert!(server.unwrap(&bad).is_err());
    let (good, _) = client.wrap(0, b"after the tampered one").expect("wrap");
    assert_eq!(
        server.unwrap(&good).expect("next genuine").0,
        b"after the tampered one"
    );
    let (back, conf) = server.wrap(0, b"reply").expect("wrap");
    assert!(conf);
    assert_eq!(client.unwrap(&back).expect("client unwrap").0, b"reply");
}

fn shown(name: Option<Name>) -> Option<String> {
    name.map(|n| n.display())
}

/// An acceptor without a credential name (GSS_C_NO_NAME) reports, once the AUTHENTICATE verified, the SPN the
/// initiator targeted (its MsvAvTargetName) as its name — what MIT's `t_accname h:host@<host>` expects, as MIT's
/// krb5 reports the ticket's server. A named acceptor keeps its name; a client that targeted nothing, or an
/// AUTHENTICATE that did not verify, leaves this host's name. The name survives export/import and exports
/// (RFC 2743 §3.2) to a token that imports back to it.
#[test]
fn unnamed_acceptor_reports_the_spn_the_client_targeted() {
    let none = (None, None);
    let spn_of = |target, acceptor, password| {
        let (_, server) =
            handshake(flags::INTEG, target, acceptor, password, none).expect("handshake");
        server
            .map(|s| s.target_name())
            .map_err(|(major, s)| (major, s.target_name()))
    };
    // No acceptor name: the client's target.
    let name = spn_of(Some("HTTP@web.test"), None, "Passw0rd!").expect("accepted");
    assert_eq!(shown(name.clone()), Some("HTTP/web.test".into()));
    assert_eq!(
        name,
        Some(Name::Service {
            spn: Some("HTTP/web.test".into()),
            host: "web.test".into()
        })
    );
    let token = name.as_ref().unwrap().export().expect("exportable");
    assert_eq!(names::import_exported(&token).ok(), name);
    // No MsvAvTargetName: this host's name, as before.
    assert_eq!(
        shown(spn_of(None, None, "Passw0rd!").expect("accepted")),
        Some("server.test".into())
    );
    // A named acceptor keeps its own name (its SPN was checked against the client's).
    assert_eq!(
        shown(
            spn_of(
                Some("host@server.test"),
                Some("host@server.test"),
                "Passw0rd!"
            )
            .expect("ok")
        ),
        Some("host/server.test".into())
    );
    // Not verified (wrong password): the name from the refused AUTHENTICATE is not taken.
    let (major, refused) = spn_of(Some("HTTP@web.test"), None, "wrong").expect_err("refused");
    assert_eq!(major, 13 << 16, "GSS_S_FAILURE");
    assert_eq!(shown(refused), Some("server.test".into()));
    // The reported name survives the context's export and import.
    let (_, server) =
        handshake(flags::INTEG, Some("cifs@fs.test"), None, "Passw0rd!", none).expect("handshake");
    let server = server.expect("accepted");
    let back = SecContext::import(&server.export().expect("export")).expect("import");
    assert_eq!(shown(back.target_name()), Some("cifs/fs.test".into()));
}
