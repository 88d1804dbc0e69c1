//! The SPNEGO engines with real Kerberos: `gss_negotiate::mechglue::KerberosMech` reaches MIT's krb5 mechanism
//! through the mechglue by function pointers, against a loopback MIT KDC (scripts/http-env.sh: realm
//! GSSNEG.TEST, testuser, HTTP/<host> in a keytab, HTTP/nokey.gssneg.test known to the KDC but not in the
//! keytab). Covers RFC 4178 with Kerberos preferred and accepted, the fallback to NTLM when there is no ticket or
//! the KDC is down (with the reason in the audit record), and a server that rejects the ticket: `reject`
//! without restart, NTLM with the initiator's or the acceptor's restart (docs/policy.md `spnego.restart`); and
//! Kerberos between our engine and MIT's own SPNEGO (python-gssapi, tests/python/spnego_peer.py) both ways.
//! Needs root (the environment script runs Apache as www-data) and skips elsewhere.

mod common;
#[path = "common/http.rs"]
mod http;
mod spnego_common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use common::peers::{python, python_module_version};
use common::{hostname, skip, TEST_PASSWORD, TEST_USER};
use gss_negotiate::audit::{KerberosSkip, MemoryAudit};
use gss_negotiate::mechglue::KerberosMech;
use gss_negotiate::spnego::acceptor::AcceptorStep;
use gss_negotiate::spnego::error::SpnegoError;
use gss_negotiate::spnego::initiator::InitiatorStep;
use gss_negotiate::spnego::mech::{MechEntry, Mechanism};
use gss_negotiate::spnego::NegState;
use http::{kdc_setup, HttpEnv, Options};
use spnego_common::*;

fn krb_initiator(target: String) -> MechEntry {
    MechEntry::new(krb_oid(), move || {
        Ok(Box::new(KerberosMech::initiator(&target)?) as Box<dyn Mechanism>)
    })
}

fn krb_acceptor() -> MechEntry {
    MechEntry::new(krb_oid(), || {
        Ok(Box::new(KerberosMech::acceptor()?) as Box<dyn Mechanism>)
    })
}

fn start(test: &str) -> Option<HttpEnv> {
    let so = kdc_setup(test)?;
    let env = HttpEnv::start("spnego-kerberos", &so, &Options::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let client_env = std::fs::read_to_string(env.dir.join("client.env")).unwrap();
    for line in client_env.lines() {
        if let Some((k, v)) = line.trim_start_matches("export ").split_once('=') {
            std::env::set_var(k, v);
        }
    }
    std::env::set_var(
        "KRB5_KTNAME",
        format!("FILE:{}", env.dir.join("http.keytab").display()),
    );
    std::env::set_var("KRB5RCACHETYPE", "none");
    Some(env)
}

fn kinit() {
    let mut child = Command::new("kinit")
        .arg("testuser@GSSNEG.TEST")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("kinit runs");
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "Passw0rd!").unwrap();
    assert!(child.wait().unwrap().success(), "kinit failed");
}

fn kdestroy() {
    let _ = Command::new("kdestroy")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn mechs(target: &str) -> Vec<MechEntry> {
    vec![
        krb_initiator(format!("HTTP@{target}")),
        ntlm_initiator(TEST_USER, TEST_PASSWORD),
    ]
}

fn acceptor_mechs() -> Vec<MechEntry> {
    vec![krb_acceptor(), ntlm_acceptor_for(TEST_USER, TEST_PASSWORD)]
}

#[test]
fn spnego_engine_with_kerberos_from_a_real_kdc() {
    let test = "spnego_engine_with_kerberos_from_a_real_kdc";
    let Some(env) = start(test) else {
        return;
    };
    let host = hostname();
    let allow = || policy("");
    let restart = || policy("spnego.restart = yes\n");

    // 1. A ticket for HTTP/<host>: Kerberos, one round trip, the client named by its principal.
    kinit();
    let (ia, aa) = (
        Arc::new(MemoryAudit::default()),
        Arc::new(MemoryAudit::default()),
    );
    let o = run(
        initiator(mechs(&host), allow(), ia.clone()),
        || acceptor(acceptor_mechs(), allow(), aa.clone()),
        no_tamper,
    );
    let ie = o
        .initiator
        .unwrap_or_else(|e| panic!("Kerberos negotiation: {e}"));
    let ae = o.acceptor.unwrap().unwrap();
    assert_eq!(ie.mech_oid, krb_oid());
    assert_eq!(ae.peer(), Some("testuser@GSSNEG.TEST"));
    assert_eq!(o.t.resp(1).neg_state, Some(NegState::AcceptCompleted));
    assert_eq!(ia.records()[0].kerberos, None);
    let (mut im, mut am) = (ie.mech, ae.mech);
    let mic = im.get_mic(b"kerberos works").unwrap();
    am.verify_mic(b"kerberos works", &mic).unwrap();
    assert!(am.verify_mic(b"kerberos worked", &mic).is_err());
    // Per-message calls after establishment go to the Kerberos context itself: wrap/unwrap both ways,
    // sealed and not, a tampered token refused, and the ticket lifetime visible.
    let mut ik = im.into_any().downcast::<KerberosMech>().unwrap();
    let mut ak = am.into_any().downcast::<KerberosMech>().unwrap();
    let (sealed, conf) = ik.wrap(b"secret payload", true).unwrap();
    assert!(conf);
    assert!(!sealed.windows(6).any(|w| w == b"secret"));
    assert_eq!(
        ak.unwrap(&sealed).unwrap(),
        (b"secret payload".to_vec(), true)
    );
    let (signed, conf) = ak.wrap(b"reply", false).unwrap();
    assert!(!conf);
    assert_eq!(ik.unwrap(&signed).unwrap(), (b"reply".to_vec(), false));
    let (mut bad, _) = ik.wrap(b"tamper me", true).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(ak.unwrap(&bad).is_err());
    let secs = ik.context_time().unwrap();
    assert!(secs > 0 && secs <= 24 * 3600, "{secs}");
    // Export and import (as gss-server -export does): the imported contexts keep their roles, sequence
    // state and keys (the tampered token above left a sequence gap, which is reported but not an error).
    let mut ik = KerberosMech::import(&ik.export().unwrap()).unwrap();
    let mut ak = KerberosMech::import(&ak.export().unwrap()).unwrap();
    assert!(ik.is_initiator() && !ak.is_initiator());
    let (tok, _) = ik.wrap(b"after import", true).unwrap();
    assert_eq!(ak.unwrap(&tok).unwrap().0, b"after import");
    assert!(ak.unwrap(&tok).is_err(), "a replayed token is refused");
    assert!(KerberosMech::import(b"not an exported context").is_err());

    // 1b. The same against MIT's own SPNEGO (python-gssapi in a separate process, same KDC, keytab and ticket),
    //     both directions: Kerberos chosen, signatures verified both ways.
    if python_module_version("gssapi", "gssapi").is_ok() {
        let target = format!("HTTP@{host}");
        let mut peer = Peer::start(&python(), &["mit", "acceptor"], |_| {});
        let (ini, first) = initiator(mechs(&host), allow(), Arc::default())
            .start()
            .unwrap();
        peer.send("TOKEN", &first);
        let (tag, tok) = peer.recv();
        assert_eq!(tag, "TOKEN");
        let InitiatorStep::Done(mut est, None) = ini.step(&unb64(&tok)).expect("MIT accepted")
        else {
            panic!("one round trip expected with Kerberos");
        };
        assert_eq!(est.mech_oid, krb_oid());
        peer.finish(est.mech.as_mut());

        let mut peer = Peer::start(&python(), &["mit", "initiator", &target], |_| {});
        let (tag, tok) = peer.recv();
        assert_eq!(tag, "TOKEN");
        let AcceptorStep::Done(mut est, Some(out)) =
            acceptor(acceptor_mechs(), allow(), Arc::default())
                .step(&unb64(&tok))
                .unwrap_or_else(|f| panic!("{}", f.error))
        else {
            panic!("one round trip expected with Kerberos");
        };
        peer.send("TOKEN", &out);
        assert_eq!(est.peer(), Some("testuser@GSSNEG.TEST"));
        let negotiated = peer.finish(est.mech.as_mut());
        assert!(negotiated.contains("1.2.840.113554.1.2.2"), "{negotiated}");
    } else {
        skip(
            test,
            "python3-gssapi missing: the MIT SPNEGO part is not run",
        );
    }

    // 2. The server has no key for the ticket: reject without restart ...
    let nokey = "nokey.gssneg.test";
    let (ia, aa) = (
        Arc::new(MemoryAudit::default()),
        Arc::new(MemoryAudit::default()),
    );
    let o = run(
        initiator(mechs(nokey), allow(), ia.clone()),
        || acceptor(acceptor_mechs(), allow(), aa.clone()),
        no_tamper,
    );
    assert_eq!(o.initiator.unwrap_err(), SpnegoError::Rejected);
    assert_eq!(aa.records()[0].kerberos, Some(KerberosSkip::ServerRejected));
    // ... NTLM when the initiator may restart ...
    let ia = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(mechs(nokey), restart(), ia.clone()),
        || acceptor(acceptor_mechs(), allow(), Arc::default()),
        no_tamper,
    );
    assert_eq!(o.initiator.expect("initiator restart").mech_oid, ntlm_oid());
    let r = &ia.records()[0];
    assert!(r.restarted && r.failure.is_none());
    assert_eq!(r.kerberos, Some(KerberosSkip::ServerRejected));
    // ... or when the acceptor may move on to NTLM.
    let aa = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(mechs(nokey), allow(), Arc::default()),
        || acceptor(acceptor_mechs(), restart(), aa.clone()),
        no_tamper,
    );
    assert_eq!(o.initiator.expect("acceptor restart").mech_oid, ntlm_oid());
    assert_eq!(o.t.resp(1).neg_state, Some(NegState::RequestMic));
    assert!(aa.records()[0].restarted);

    // 3. KDC down with a TGT but no service ticket yet: KDC unreachable, NTLM offered alone.
    assert!(env.script("kdc-stop"), "kdc-stop failed");
    let ia = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(mechs("other.gssneg.test"), allow(), ia.clone()),
        || acceptor(acceptor_mechs(), allow(), Arc::default()),
        no_tamper,
    );
    assert_eq!(o.initiator.expect("NTLM fallback").mech_oid, ntlm_oid());
    assert_eq!(o.t.init_mechs(0), vec![ntlm_oid()]);
    assert_eq!(
        ia.records()[0].kerberos,
        Some(KerberosSkip::KdcUnreachable),
        "{:?}",
        ia.records()
    );

    // 4. No ticket at all: no-ticket, NTLM.
    kdestroy();
    let ia = Arc::new(MemoryAudit::default());
    let o = run(
        initiator(mechs(&host), allow(), ia.clone()),
        || acceptor(acceptor_mechs(), allow(), Arc::default()),
        no_tamper,
    );
    assert_eq!(o.initiator.expect("NTLM fallback").mech_oid, ntlm_oid());
    assert_eq!(
        ia.records()[0].kerberos,
        Some(KerberosSkip::NoTicket),
        "{:?}",
        ia.records()
    );
}
