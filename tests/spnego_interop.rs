//! Our SPNEGO engine (src/spnego/initiator.rs, acceptor.rs, with in-process NTLM) against independent SPNEGO
//! implementations in a separate process (tests/python/spnego_peer.py), both directions:
//! - MIT krb5's own SPNEGO through python-gssapi, its NTLM being our plugin loaded by the mechglue from a
//!   private `GSS_MECH_CONFIG` (RFC 4178 as MIT reads it: mechListMIC rules, NTLM's RC4 reset after the MIC);
//! - pyspnego's pure-Python Negotiate (`NegotiateOptions.use_negotiate`) with its own NTLM. (Not tested: our
//!   initiator offering Kerberos first to pyspnego 0.12's acceptor — pyspnego selects NTLM but feeds the Kerberos
//!   optimistic token to its NTLM context and fails with `KeyError`, a pyspnego bug: RFC 4178 §3.2 says the
//!   optimistic token of a mechanism that was not selected is discarded.)
//!
//! After each negotiation both sides sign a message and verify the other's signature: the NTLM keys and the RC4
//! state after the mechListMIC exchange (MS-SPNG §3.3.5.1) agree.

mod common;
mod spnego_common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use common::peers::{python, python_module_version};
use common::{plugin, skip, GssEnv, Plugin, TEST_PASSWORD, TEST_USER};
use gss_negotiate::audit::MemoryAudit;
use gss_negotiate::spnego::acceptor::AcceptorStep;
use gss_negotiate::spnego::initiator::InitiatorStep;
use gss_negotiate::spnego::mech::{MechEntry, Mechanism};
use spnego_common::*;

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(char::from(A[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn unb64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 {c}"),
        }
    };
    let s: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::new();
    for c in s.chunks(4) {
        let mut n = 0u32;
        for (i, b) in c.iter().enumerate() {
            n |= val(*b) << (18 - 6 * i);
        }
        for i in 0..c.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

impl Peer {
    fn start(env: &GssEnv, implementation: &str, role: &str) -> Peer {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/spnego_peer.py");
        let mut cmd = Command::new(python());
        cmd.arg(script).args([implementation, role]);
        env.apply(&mut cmd);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("python starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, tag: &str, data: &[u8]) {
        writeln!(self.stdin, "{tag} {}", b64(data)).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next line as (tag, payload).
    fn recv(&mut self) -> (String, String) {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let mut parts = line.trim_end().splitn(2, ' ');
        let tag = parts.next().unwrap_or("").to_string();
        let rest = parts.next().unwrap_or("").to_string();
        assert!(tag != "ERROR" && !tag.is_empty(), "peer failed: {line:?}");
        (tag, rest)
    }

    /// After establishment: DONE, then both MICs.
    fn finish(mut self, mech: &mut dyn Mechanism) -> String {
        let (tag, negotiated) = self.recv();
        assert_eq!(tag, "DONE");
        let (tag, mic) = self.recv();
        assert_eq!(tag, "MIC");
        mech.verify_mic(b"from the peer", &unb64(&mic))
            .expect("the peer's signature verifies");
        let ours = mech.get_mic(b"from rust").unwrap();
        self.send("MIC", &ours);
        assert_eq!(self.recv().0, "OK");
        let _ = self.child.wait();
        negotiated
    }
}

fn setup(test: &str, module: &str, dist: &str) -> Option<GssEnv> {
    let so = match plugin() {
        Plugin::Found { path, .. } => path,
        Plugin::NoEntryPoints(p) => panic!("{test}: {} exports no gss_* entry points", p.display()),
        Plugin::Missing(why) => {
            skip(test, &why);
            return None;
        }
    };
    if let Err(why) = python_module_version(module, dist) {
        skip(test, &why);
        return None;
    }
    Some(GssEnv::new(test, &so).expect("test environment"))
}

fn our_initiator_against(test: &str, implementation: &str, with_krb: bool) {
    let (module, dist) = if implementation == "mit" {
        ("gssapi", "gssapi")
    } else {
        ("spnego", "pyspnego")
    };
    let Some(env) = setup(test, module, dist) else {
        return;
    };
    let mut peer = Peer::start(&env, implementation, "acceptor");
    let mut mechs: Vec<MechEntry> = Vec::new();
    if with_krb {
        mechs.push(krb_entry(Krb::Works, false));
    }
    mechs.push(ntlm_initiator(TEST_USER, TEST_PASSWORD));
    let (mut ini, first) = initiator(mechs, policy(""), Arc::new(MemoryAudit::default()))
        .start()
        .unwrap();
    peer.send("TOKEN", &first);
    let mut est = loop {
        let (tag, tok) = peer.recv();
        assert_eq!(tag, "TOKEN", "peer finished before us");
        match ini
            .step(&unb64(&tok))
            .unwrap_or_else(|e| panic!("{implementation}: {e}"))
        {
            InitiatorStep::Continue(next, out) => {
                peer.send("TOKEN", &out);
                ini = next;
            }
            InitiatorStep::Done(est, out) => {
                if let Some(out) = out {
                    peer.send("TOKEN", &out);
                }
                break est;
            }
        }
    };
    assert_eq!(est.mech_oid, ntlm_oid());
    assert!(est.mic_exchanged, "NTLM with a MIC: mechListMICs exchanged");
    let negotiated = peer.finish(est.mech.as_mut());
    assert!(
        negotiated.to_ascii_lowercase().contains("ntlm")
            || negotiated.contains("1.3.6.1.4.1.311.2.2.10"),
        "{negotiated}"
    );
}

fn our_acceptor_against(test: &str, implementation: &str) {
    let (module, dist) = if implementation == "mit" {
        ("gssapi", "gssapi")
    } else {
        ("spnego", "pyspnego")
    };
    let Some(env) = setup(test, module, dist) else {
        return;
    };
    let mut peer = Peer::start(&env, implementation, "initiator");
    let audit = Arc::new(MemoryAudit::default());
    let start = acceptor(
        vec![
            krb_entry(Krb::Works, true),
            ntlm_acceptor_for(TEST_USER, TEST_PASSWORD),
        ],
        policy(""),
        audit.clone(),
    );
    let (tag, tok) = peer.recv();
    assert_eq!(tag, "TOKEN");
    let mut step = start.step(&unb64(&tok));
    let mut est = loop {
        match step.unwrap_or_else(|f| panic!("{implementation}: {}", f.error)) {
            AcceptorStep::Continue(next, out) => {
                peer.send("TOKEN", &out);
                let (tag, tok) = peer.recv();
                assert_eq!(tag, "TOKEN");
                step = next.step(&unb64(&tok));
            }
            AcceptorStep::Done(est, out) => {
                if let Some(out) = out {
                    peer.send("TOKEN", &out);
                }
                break est;
            }
        }
    };
    assert_eq!(est.mech_oid, ntlm_oid());
    assert_eq!(est.peer.as_deref(), Some("TESTDOM\\testuser"));
    peer.finish(est.mech.as_mut());
    let records = audit.records();
    assert_eq!(records.len(), 1);
    assert!(records[0].failure.is_none());
}

#[test]
fn our_initiator_with_mit_spnego_acceptor() {
    our_initiator_against("our_initiator_with_mit_spnego_acceptor", "mit", false);
}

#[test]
fn our_initiator_offering_kerberos_first_gets_ntlm_from_mit() {
    our_initiator_against(
        "our_initiator_offering_kerberos_first_gets_ntlm_from_mit",
        "mit",
        true,
    );
}

#[test]
fn our_acceptor_with_mit_spnego_initiator() {
    our_acceptor_against("our_acceptor_with_mit_spnego_initiator", "mit");
}

#[test]
fn our_initiator_with_pyspnego_acceptor() {
    our_initiator_against("our_initiator_with_pyspnego_acceptor", "pyspnego", false);
}

#[test]
fn our_acceptor_with_pyspnego_initiator() {
    our_acceptor_against("our_acceptor_with_pyspnego_initiator", "pyspnego");
}
