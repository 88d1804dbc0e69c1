//! Core benchmarks: a full in-memory NTLMv2 handshake (initiator + acceptor, three messages, key exchange, MIC),
//! and seal+unseal / sign+verify at 1 KiB and 1 MiB. Run with `cargo bench --bench core`.

use std::collections::HashMap;
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gss_negotiate::ntlm::acceptor::{AcceptorConfig, AcceptorStart, CredentialLookup, UserSecrets};
use gss_negotiate::ntlm::context::Established;
use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::initiator::{
    InitiatorConfig, InitiatorCredential, InitiatorStart, Requested,
};
use gss_negotiate::ntlm::secret::Password;

struct OneUser(HashMap<String, UserSecrets>);

impl CredentialLookup for OneUser {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

fn configs() -> (InitiatorConfig, AcceptorConfig) {
    let nt = ntowfv1(&Password::new("Passw0rd!"));
    let mut users = HashMap::new();
    users.insert(
        "testuser".to_string(),
        UserSecrets {
            user: "testuser".into(),
            domain: "TESTDOM".into(),
            nt_hash: nt.clone(),
            lm_hash: None,
        },
    );
    let env = Arc::new(SystemEnvironment);
    let cred = InitiatorCredential::User {
        user: "testuser".into(),
        domain: "TESTDOM".into(),
        nt_hash: nt,
        lm_hash: None,
    };
    let mut icfg = InitiatorConfig::new(cred, env.clone());
    icfg.requested = Requested {
        sign: true,
        seal: true,
        ..Requested::default()
    };
    icfg.target_spn = Some("host/bench".into());
    let mut acfg = AcceptorConfig::new(Arc::new(OneUser(users)), env);
    acfg.netbios_computer = "BENCH".into();
    acfg.netbios_domain = "TESTDOM".into();
    acfg.target_spn = Some("host/bench".into());
    (icfg, acfg)
}

fn handshake(icfg: &InitiatorConfig, acfg: &AcceptorConfig) -> (Established, Established) {
    let (wait, negotiate) = InitiatorStart::new(icfg.clone()).negotiate();
    let (acc, challenge) = AcceptorStart::new(acfg.clone())
        .challenge(&negotiate)
        .expect("challenge");
    let (client, auth) = wait.authenticate(&challenge, None).expect("authenticate");
    let server = acc.finish(&auth, None).expect("finish");
    (client, server)
}

fn bench_handshake(c: &mut Criterion) {
    let (icfg, acfg) = configs();
    c.bench_function("handshake/ntlmv2_full", |b| {
        b.iter(|| black_box(handshake(&icfg, &acfg)))
    });
}

fn bench_messages(c: &mut Criterion) {
    let (icfg, acfg) = configs();
    let mut group = c.benchmark_group("messages");
    for size in [1024usize, 1024 * 1024] {
        let (mut client, mut server) = handshake(&icfg, &acfg);
        let data = vec![0x5Au8; size];
        let mut buf = data.clone();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("seal_unseal/{size}"), |b| {
            b.iter(|| {
                let sig = client.security.seal_in_place(&mut buf);
                server
                    .security
                    .unseal_in_place(&mut buf, &sig)
                    .expect("unseal");
            })
        });
        group.bench_function(format!("sign_verify/{size}"), |b| {
            b.iter(|| {
                let sig = client.security.sign(&data);
                server.security.verify(&data, &sig).expect("verify");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_handshake, bench_messages);
criterion_main!(benches);
