//! Writes seed inputs for the targets whose inputs cannot be cut out of captured tokens: exported contexts and
//! session security states (from real in-process exchanges), exported credentials, exported names, user files,
//! and configuration/mutation prefixes for `fuzz_exchange`. Usage: `gen_seeds <corpus dir>` (one sub-directory
//! per target). Deterministic apart from the exchanges' random challenges.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::{self, CredStore, CredUsage};
use gss_negotiate::names::{Name, NameSystem};
use gss_negotiate::ntlm::acceptor::{AcceptorConfig, AcceptorStart, CredentialLookup, UserSecrets};
use gss_negotiate::ntlm::config::LmCompatLevel;
use gss_negotiate::ntlm::crypto::{lmowfv1, ntowfv1};
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::initiator::{
    InitiatorConfig, InitiatorCredential, InitiatorStart, Requested,
};
use gss_negotiate::ntlm::secret::Password;

struct Store(HashMap<String, UserSecrets>);
impl CredentialLookup for Store {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

fn put(dir: &Path, target: &str, name: &str, data: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join(name), data).expect("write seed");
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: gen_seeds <corpus dir>");
    let dir = Path::new(&dir);
    let pw = Password::new("Passw0rd!");
    let secrets = UserSecrets {
        user: "alice".into(),
        domain: "TESTDOM".into(),
        nt_hash: ntowfv1(&pw),
        lm_hash: Some(lmowfv1(&pw)),
    };
    let store = Arc::new(Store(HashMap::from([("alice".to_string(), secrets)])));
    let env = Arc::new(SystemEnvironment);
    // Exported contexts and session states over a few modes: (level, sign, seal, kx, datagram).
    for (i, (level, sign, seal, kx, datagram)) in [
        (3, true, true, true, false),
        (3, true, false, false, false),
        (3, false, false, false, false),
        (3, true, true, true, true),
        (2, true, true, true, false),
        (0, true, true, false, false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut icfg = InitiatorConfig::new(
            InitiatorCredential::User {
                user: "alice".into(),
                domain: "TESTDOM".into(),
                nt_hash: ntowfv1(&pw),
                lm_hash: Some(lmowfv1(&pw)),
            },
            env.clone(),
        );
        icfg.lm_compat_level = LmCompatLevel::new(level).expect("level");
        icfg.key_exchange = kx;
        icfg.requested = Requested {
            sign,
            seal,
            datagram,
            identify: false,
        };
        let mut acfg = AcceptorConfig::new(store.clone(), env.clone());
        acfg.lm_compat_level = LmCompatLevel::new(level.min(2)).expect("level");
        if level >= 3 {
            acfg.lm_compat_level = LmCompatLevel::DEFAULT;
        }
        let (wait, neg) = InitiatorStart::new(icfg).negotiate();
        let (acc, chal) = AcceptorStart::new(acfg).challenge(&neg).expect("challenge");
        let (mut client, auth) = wait.authenticate(&chal, None).expect("authenticate");
        let mut server = acc.finish(&auth, None).expect("finish");
        let msg = b"seed message".to_vec();
        let mut sealed = msg.clone();
        let sig = client.security.seal_in_place(&mut sealed);
        let _ = server.security.unseal_in_place(&mut sealed, &sig);
        for (side, ctx) in [("client", &client), ("server", &server)] {
            put(
                dir,
                "fuzz_context_import",
                &format!("ctx{i}_{side}"),
                &ctx.export(),
            );
            let mut st = Vec::new();
            ctx.security.export(&mut st);
            let mut with_sig = st.clone();
            with_sig.extend_from_slice(&sig);
            with_sig.extend_from_slice(&sealed);
            put(
                dir,
                "fuzz_session_import",
                &format!("ss{i}_{side}"),
                &with_sig,
            );
        }
    }
    // Credentials: an initiator from a password, an acceptor with a keyfile, both, and anonymous.
    struct Sys;
    impl NameSystem for Sys {
        fn hostname(&self) -> Option<String> {
            Some("host.example".into())
        }
        fn user_of_uid(&self, _uid: u32) -> Option<String> {
            Some("alice".into())
        }
    }
    let alice = Name::User {
        user: "alice".into(),
        domain: Some("TESTDOM".into()),
    };
    let cfg = Config::from_lookup(|_| None, Some("host.example".into()));
    if let Ok(c) = creds::acquire_with_password(&alice, &pw, CredUsage::Initiate) {
        put(dir, "fuzz_cred_import", "cred_password", &c.export());
    }
    let store = CredStore::from_pairs([("ntlmssp_keyfile", "/etc/ntlm_users"), ("password", "pw")])
        .expect("store");
    let http = Name::Service {
        spn: Some("HTTP/web.example".into()),
        host: "web.example".into(),
    };
    for (i, (name, usage)) in [
        (Some(&http), CredUsage::Accept),
        (None, CredUsage::Accept),
        (Some(&alice), CredUsage::Both),
        (Some(&Name::Anonymous), CredUsage::Initiate),
    ]
    .into_iter()
    .enumerate()
    {
        if let Ok(c) = creds::acquire(name, usage, Some(&store), &cfg, &Sys) {
            put(dir, "fuzz_cred_import", &format!("cred{i}"), &c.export());
        }
    }
    // Names.
    for (i, n) in [
        Name::User {
            user: "alice".into(),
            domain: Some("TESTDOM".into()),
        },
        Name::User {
            user: "bob@example.com".into(),
            domain: None,
        },
        Name::Anonymous,
    ]
    .iter()
    .enumerate()
    {
        if let Ok(t) = n.export() {
            put(dir, "fuzz_names", &format!("exported{i}"), &t);
        }
    }
    for (i, s) in [
        "TESTDOM\\alice",
        "alice@TESTDOM",
        "bob\\@example.com@DOM",
        "HTTP@web.example",
        "1000",
    ]
    .iter()
    .enumerate()
    {
        put(dir, "fuzz_names", &format!("text{i}"), s.as_bytes());
    }
    // User files.
    put(
        dir,
        "fuzz_userfile",
        "heimdal",
        b"# comment\nTESTDOM:alice:Passw0rd!\n:bob:secret\n",
    );
    put(
        dir,
        "fuzz_userfile",
        "smbpasswd",
        b"TESTDOM\\carol:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C:[U          ]:LCT-00000000:\n",
    );
    // Exchange prefixes: config byte, policy byte, then no mutations; every response kind and service.
    for c in 0u8..=255 {
        if c % 17 == 0 {
            for d in [0x02u8, 0x08, 0x20, 0x50] {
                put(
                    dir,
                    "fuzz_exchange",
                    &format!("cfg{c:02x}_{d:02x}"),
                    &[c, d],
                );
            }
        }
    }
}
