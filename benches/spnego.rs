//! The cost of the SPNEGO engine over NTLM (issue 11's performance goal: SPNEGO should cost next to nothing):
//! a raw in-memory NTLMv2 handshake (three messages, key exchange, MIC) against the same handshake inside our
//! SPNEGO initiator and acceptor (NegTokenInit, two NegTokenResp each way, mechListMIC both ways, policy
//! lookup, one audit record per side to a sink that discards it). Run with `cargo bench --bench spnego`.
//! It also prints the heap allocations of one handshake of each kind (a counting global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gss_negotiate::audit::{AuditSink, Record};
use gss_negotiate::ntlm::acceptor::{
    Acceptor, AcceptorConfig, AcceptorStep, CredentialLookup, UserSecrets,
};
use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::initiator::{
    Initiator, InitiatorConfig, InitiatorCredential, InitiatorStep, Requested,
};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::policy::Policy;
use gss_negotiate::spnego::acceptor as sa;
use gss_negotiate::spnego::initiator as si;
use gss_negotiate::spnego::mech::{MechEntry, Mechanism, NtlmMech};
use gss_negotiate::spnego::Oid;

/// Counts allocations (and reallocations) so that one handshake's count can be printed.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl Fn()) -> usize {
    f(); // warm caches (policy, lazily built statics)
    let before = ALLOCS.load(Ordering::Relaxed);
    f();
    ALLOCS.load(Ordering::Relaxed) - before
}

struct OneUser(HashMap<String, UserSecrets>);

impl CredentialLookup for OneUser {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

struct Discard;

impl AuditSink for Discard {
    fn record(&self, record: &Record) {
        black_box(record);
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
    let mut acfg = AcceptorConfig::new(Arc::new(OneUser(users)), env);
    acfg.netbios_computer = "BENCH".into();
    acfg.netbios_domain = "TESTDOM".into();
    (icfg, acfg)
}

fn raw(icfg: &InitiatorConfig, acfg: &AcceptorConfig) {
    let Ok(InitiatorStep::Continue(ini, negotiate)) = Initiator::new(icfg.clone()).step(None, None)
    else {
        panic!("negotiate")
    };
    let Ok(AcceptorStep::Continue(acc, challenge)) =
        Acceptor::new(acfg.clone()).step(&negotiate, None)
    else {
        panic!("challenge")
    };
    let Ok(InitiatorStep::Done(c, auth)) = ini.step(Some(&challenge), None) else {
        panic!("authenticate")
    };
    let Ok(AcceptorStep::Done(s)) = acc.step(&auth, None) else {
        panic!("finish")
    };
    black_box((c, s));
}

fn spnego(icfg: &InitiatorConfig, acfg: &AcceptorConfig, policy: &Arc<Policy>) {
    let ntlm = Oid::ntlmssp();
    // Each side's NTLM configuration is cloned once per handshake, as in `raw` (the factory hands it to the
    // one context it starts; `MechStart` is `Fn`, hence the `Mutex<Option<_>>`).
    let ic = Mutex::new(Some(icfg.clone()));
    let ac = Mutex::new(Some(acfg.clone()));
    let ini = si::InitiatorStart::new(si::InitiatorConfig {
        mechs: vec![MechEntry::new(ntlm.clone(), move || {
            let cfg = ic
                .lock()
                .unwrap()
                .take()
                .expect("one NTLM start per handshake");
            Ok(Box::new(NtlmMech::initiator(cfg, None)) as Box<dyn Mechanism>)
        })],
        target: Some("HTTP/bench".into()),
        policy: policy.clone(),
        audit: Arc::new(Discard),
    });
    let acc = sa::AcceptorStart::new(sa::AcceptorConfig {
        mechs: vec![MechEntry::new(ntlm, move || {
            let cfg = ac
                .lock()
                .unwrap()
                .take()
                .expect("one NTLM start per handshake");
            Ok(Box::new(NtlmMech::acceptor(cfg, None)) as Box<dyn Mechanism>)
        })],
        peer_addr: None,
        policy: policy.clone(),
        audit: Arc::new(Discard),
    });
    let (ini, t1) = ini.start().expect("start");
    let Ok(sa::AcceptorStep::Continue(acc, t2)) = acc.step(&t1) else {
        panic!("challenge")
    };
    let Ok(si::InitiatorStep::Continue(ini, t3)) = ini.step(&t2) else {
        panic!("authenticate")
    };
    let Ok(sa::AcceptorStep::Done(s, Some(t4))) = acc.step(&t3) else {
        panic!("accept")
    };
    let Ok(si::InitiatorStep::Done(c, None)) = ini.step(&t4) else {
        panic!("finish")
    };
    black_box((c, s));
}

fn bench(c: &mut Criterion) {
    let (icfg, acfg) = configs();
    let policy = Arc::new(Policy::default());
    // `SPNEGO_BENCH_PROFILE=raw:N` or `spnego:N` runs N handshakes of one kind and nothing else, for
    // instruction counts under callgrind (per handshake: the difference of two runs with different N,
    // divided by the difference of N; see BENCHMARKS.md).
    if let Ok(spec) = std::env::var("SPNEGO_BENCH_PROFILE") {
        let (kind, n) = spec.split_once(':').unwrap_or((spec.as_str(), "1000"));
        let n: usize = n.parse().expect("SPNEGO_BENCH_PROFILE=raw:N or spnego:N");
        for _ in 0..n {
            match kind {
                "raw" => raw(&icfg, &acfg),
                "spnego" => spnego(&icfg, &acfg, &policy),
                _ => panic!("SPNEGO_BENCH_PROFILE=raw:N or spnego:N"),
            }
        }
        return;
    }
    println!(
        "allocations per handshake: ntlm_raw {}, spnego_ntlm {}",
        allocations(|| raw(&icfg, &acfg)),
        allocations(|| spnego(&icfg, &acfg, &policy))
    );
    // Interleaved batches, best of 15: robust against other processes on a shared machine.
    let best = |f: &dyn Fn()| {
        (0..15)
            .map(|_| {
                let t = std::time::Instant::now();
                for _ in 0..200 {
                    f();
                }
                t.elapsed().as_secs_f64() / 200.0
            })
            .fold(f64::MAX, f64::min)
    };
    let (mut r, mut s) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        r = r.min(best(&|| raw(&icfg, &acfg)));
        s = s.min(best(&|| spnego(&icfg, &acfg, &policy)));
    }
    println!(
        "best batch of 200: ntlm_raw {:.1} µs, spnego_ntlm {:.1} µs per handshake; SPNEGO handshakes/s = {:.2}x raw",
        r * 1e6,
        s * 1e6,
        r / s
    );
    let mut g = c.benchmark_group("handshake");
    g.bench_function("ntlm_raw", |b| b.iter(|| raw(&icfg, &acfg)));
    g.bench_function("spnego_ntlm", |b| b.iter(|| spnego(&icfg, &acfg, &policy)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
