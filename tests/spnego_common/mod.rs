//! Helpers for the SPNEGO engine tests: in-process NTLM on both sides, a scripted Kerberos stand-in, and the
//! configurations of both engines.
#![allow(dead_code)]

use std::any::Any;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use gss_negotiate::audit::{MemoryAudit, Record};
use gss_negotiate::ntlm::acceptor::{
    AcceptorConfig as NtlmAcceptorConfig, CredentialLookup, UserSecrets,
};
use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::initiator::{
    InitiatorConfig as NtlmInitiatorConfig, InitiatorCredential, Requested,
};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::policy::Policy;
use gss_negotiate::spnego::acceptor::{AcceptorConfig, AcceptorStart};
use gss_negotiate::spnego::acceptor::{AcceptorStep, Failure};
use gss_negotiate::spnego::error::SpnegoError;
use gss_negotiate::spnego::initiator::InitiatorStep;
use gss_negotiate::spnego::initiator::{InitiatorConfig, InitiatorStart};
use gss_negotiate::spnego::mech::{
    MechEntry, MechError, MechFailure, MechStep, Mechanism, NtlmMech,
};
use gss_negotiate::spnego::{NegTokenResp, SpnegoToken};
use gss_negotiate::spnego::{Oid, OID_KRB5, OID_NTLMSSP};

pub const USER: &str = "alice";
pub const DOMAIN: &str = "TESTDOM";
pub const PASSWORD: &str = "Passw0rd!";
pub const AP_REQ: &[u8] = b"fake AP-REQ";
pub const AP_REP: &[u8] = b"fake AP-REP";
pub const AP_REQ_NO_MUTUAL: &[u8] = b"fake AP-REQ without mutual authentication";

pub fn ntlm_oid() -> Oid {
    Oid::from_dotted(OID_NTLMSSP).unwrap()
}

pub fn krb_oid() -> Oid {
    Oid::from_dotted(OID_KRB5).unwrap()
}

pub struct Users(pub Vec<(String, String, String)>);

impl CredentialLookup for Users {
    fn lookup(&self, user: &str, domain: &str) -> Option<UserSecrets> {
        self.0
            .iter()
            .find(|(u, d, _)| {
                u.eq_ignore_ascii_case(user)
                    && (domain.is_empty() || d.eq_ignore_ascii_case(domain))
            })
            .map(|(u, d, p)| UserSecrets {
                user: u.clone(),
                domain: d.clone(),
                nt_hash: ntowfv1(&Password::new(p.as_str())),
                lm_hash: None,
            })
    }
}

/// An NTLM initiator entry for `user` with `password`.
pub fn ntlm_initiator(user: &'static str, password: &'static str) -> MechEntry {
    ntlm_initiator_with(user, password, true)
}

/// An NTLM initiator entry that asks for signing and sealing only when `protect`.
pub fn ntlm_initiator_with(user: &'static str, password: &'static str, protect: bool) -> MechEntry {
    MechEntry::new(ntlm_oid(), move || {
        let mut cfg = NtlmInitiatorConfig::new(
            InitiatorCredential::User {
                user: user.into(),
                domain: DOMAIN.into(),
                nt_hash: ntowfv1(&Password::new(password)),
                lm_hash: None,
            },
            Arc::new(SystemEnvironment),
        );
        cfg.workstation = "CLIENT".into();
        cfg.requested = Requested {
            sign: protect,
            seal: protect,
            ..Requested::default()
        };
        Ok(Box::new(NtlmMech::initiator(cfg, None)) as Box<dyn Mechanism>)
    })
}

/// An NTLM acceptor entry knowing alice.
pub fn ntlm_acceptor() -> MechEntry {
    ntlm_acceptor_for(USER, PASSWORD)
}

/// An NTLM acceptor entry knowing `DOMAIN\user` with `password`.
pub fn ntlm_acceptor_for(user: &'static str, password: &'static str) -> MechEntry {
    MechEntry::new(ntlm_oid(), move || {
        let store = Arc::new(Users(vec![(user.into(), DOMAIN.into(), password.into())]));
        let mut cfg = NtlmAcceptorConfig::new(store, Arc::new(SystemEnvironment));
        cfg.netbios_computer = "SERVER".into();
        cfg.netbios_domain = DOMAIN.into();
        cfg.dns_computer = "server.testdom.test".into();
        Ok(Box::new(NtlmMech::acceptor(cfg, None)) as Box<dyn Mechanism>)
    })
}

/// How the Kerberos stand-in behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Krb {
    /// Initiator: AP-REQ, then expects AP-REP (mutual). Acceptor: accepts AP-REQ, answers AP-REP.
    Works,
    /// Initiator without mutual authentication: complete after the AP-REQ.
    NoMutual,
    /// Initiator: no ticket (fails before producing a token).
    NoTicket,
    /// Initiator: KDC unreachable.
    KdcDown,
    /// Acceptor: rejects every AP-REQ (missing keytab entry, stale kvno, skew).
    Rejects,
}

/// The Kerberos stand-in: tokens are fixed strings, the "MIC" is a keyed tag over the message, so that an
/// altered mechanism list fails to verify.
#[derive(Debug)]
pub struct FakeKrb {
    behaviour: Krb,
    acceptor: bool,
    complete: bool,
}

impl FakeKrb {
    fn tag(msg: &[u8]) -> Vec<u8> {
        let mut t = b"krb-mic:".to_vec();
        t.extend_from_slice(msg);
        t
    }
}

impl Mechanism for FakeKrb {
    fn step(&mut self, input: Option<&[u8]>) -> Result<MechStep, MechError> {
        match (self.acceptor, input) {
            (false, None) => {
                self.complete = self.behaviour == Krb::NoMutual;
                let token = if self.complete {
                    AP_REQ_NO_MUTUAL
                } else {
                    AP_REQ
                };
                Ok(MechStep {
                    output: token.to_vec(),
                    complete: self.complete,
                })
            }
            (false, Some(t)) if t == AP_REP => {
                self.complete = true;
                Ok(MechStep {
                    output: Vec::new(),
                    complete: true,
                })
            }
            (true, Some(t)) if t == AP_REQ && self.behaviour != Krb::Rejects => {
                self.complete = true;
                Ok(MechStep {
                    output: AP_REP.to_vec(),
                    complete: true,
                })
            }
            (true, Some(t)) if t == AP_REQ_NO_MUTUAL && self.behaviour != Krb::Rejects => {
                self.complete = true;
                Ok(MechStep {
                    output: Vec::new(),
                    complete: true,
                })
            }
            (true, Some(_)) => Err(MechError::new(
                MechFailure::Rejected,
                "fake KRB_AP_ERR_NOKEY",
            )),
            _ => Err(MechError::new(
                MechFailure::Defective,
                "unexpected Kerberos token",
            )),
        }
    }
    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, MechError> {
        Ok(Self::tag(msg))
    }
    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), MechError> {
        if mic == Self::tag(msg) {
            Ok(())
        } else {
            Err(MechError::new(MechFailure::Rejected, "fake MIC mismatch"))
        }
    }
    fn integrity(&self) -> bool {
        true
    }
    fn peer_name(&self) -> Option<String> {
        (self.acceptor && self.complete).then(|| "alice@TESTDOM.TEST".into())
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

pub fn krb_entry(behaviour: Krb, acceptor: bool) -> MechEntry {
    MechEntry::new(krb_oid(), move || match behaviour {
        Krb::NoTicket if !acceptor => Err(MechError::new(
            MechFailure::NoCredentials,
            "no credentials cache found",
        )),
        Krb::KdcDown if !acceptor => Err(MechError::new(
            MechFailure::Unreachable,
            "cannot contact any KDC",
        )),
        _ => Ok(Box::new(FakeKrb {
            behaviour,
            acceptor,
            complete: false,
        }) as Box<dyn Mechanism>),
    })
}

pub fn policy(text: &str) -> Arc<Policy> {
    Arc::new(Policy::parse(text).unwrap())
}

pub fn initiator(
    mechs: Vec<MechEntry>,
    policy: Arc<Policy>,
    audit: Arc<MemoryAudit>,
) -> InitiatorStart {
    InitiatorStart::new(InitiatorConfig {
        mechs,
        target: Some("HTTP/server.testdom.test".into()),
        policy,
        audit,
    })
}

pub fn acceptor(
    mechs: Vec<MechEntry>,
    policy: Arc<Policy>,
    audit: Arc<MemoryAudit>,
) -> AcceptorStart {
    AcceptorStart::new(AcceptorConfig {
        mechs,
        peer_addr: "192.0.2.10".parse().ok(),
        policy,
        audit,
    })
}

/// Everything that crossed the wire, in order, and how it ended.
#[derive(Default)]
pub struct Transcript {
    /// (from initiator?, token)
    pub tokens: Vec<(bool, Vec<u8>)>,
}

impl Transcript {
    pub fn resp(&self, n: usize) -> NegTokenResp {
        match SpnegoToken::decode(&self.tokens[n].1).unwrap() {
            SpnegoToken::Resp(r) => r,
            SpnegoToken::Init(i) => panic!("token {n} is a NegTokenInit: {i:?}"),
        }
    }
    pub fn init_mechs(&self, n: usize) -> Vec<Oid> {
        match SpnegoToken::decode(&self.tokens[n].1).unwrap() {
            SpnegoToken::Init(i) => i.mech_types,
            SpnegoToken::Resp(r) => panic!("token {n} is a NegTokenResp: {r:?}"),
        }
    }
}

pub struct Outcome {
    pub initiator: Result<gss_negotiate::spnego::initiator::Established, SpnegoError>,
    pub acceptor: Option<Result<gss_negotiate::spnego::acceptor::Established, SpnegoError>>,
    pub t: Transcript,
}

/// Runs a negotiation; every `NegTokenInit` goes to a fresh acceptor from `new_acceptor` (as a new HTTP request
/// would). `tamper` may change each token in flight (index, from initiator, token).
pub fn run(
    init: InitiatorStart,
    mut new_acceptor: impl FnMut() -> AcceptorStart,
    mut tamper: impl FnMut(usize, bool, &mut Vec<u8>),
) -> Outcome {
    let mut t = Transcript::default();
    let (mut ini, mut tok) = match init.start() {
        Ok(v) => v,
        Err(e) => {
            return Outcome {
                initiator: Err(e),
                acceptor: None,
                t,
            }
        }
    };
    let mut acc: Option<gss_negotiate::spnego::acceptor::Acceptor> = None;
    let mut acc_done = None;
    for _ in 0..10 {
        tamper(t.tokens.len(), true, &mut tok);
        t.tokens.push((true, tok.clone()));
        let is_init = matches!(SpnegoToken::decode(&tok), Ok(SpnegoToken::Init(_)));
        let answer = if is_init {
            new_acceptor().step(&tok)
        } else {
            match acc.take() {
                Some(a) => a.step(&tok),
                None if acc_done.is_some() => break,
                None => panic!("no acceptor for a NegTokenResp"),
            }
        };
        let mut reply = match answer {
            Ok(AcceptorStep::Continue(next, reply)) => {
                acc = Some(next);
                reply
            }
            Ok(AcceptorStep::Done(est, reply)) => {
                acc_done = Some(Ok(est));
                match reply {
                    Some(r) => r,
                    None => break,
                }
            }
            Err(Failure { error, token }) => {
                acc_done = Some(Err(error));
                match token {
                    Some(r) => r,
                    None => break,
                }
            }
        };
        tamper(t.tokens.len(), false, &mut reply);
        t.tokens.push((false, reply.clone()));
        match ini.step(&reply) {
            Ok(InitiatorStep::Continue(next, out)) => {
                ini = next;
                tok = out;
                if matches!(SpnegoToken::decode(&tok), Ok(SpnegoToken::Init(_))) {
                    acc_done = None;
                }
            }
            Ok(InitiatorStep::Done(est, out)) => {
                if let Some(mut out) = out {
                    tamper(t.tokens.len(), true, &mut out);
                    t.tokens.push((true, out.clone()));
                    if let Some(a) = acc.take() {
                        acc_done = Some(match a.step(&out) {
                            Ok(AcceptorStep::Done(e, None)) => Ok(e),
                            Ok(other) => panic!("acceptor did not finish: {other:?}"),
                            Err(f) => Err(f.error),
                        });
                    }
                }
                return Outcome {
                    initiator: Ok(est),
                    acceptor: acc_done,
                    t,
                };
            }
            Err(e) => {
                return Outcome {
                    initiator: Err(e),
                    acceptor: acc_done,
                    t,
                }
            }
        }
    }
    panic!("negotiation did not end");
}

pub fn no_tamper(_: usize, _: bool, _: &mut Vec<u8>) {}

pub fn allow() -> Arc<Policy> {
    policy("")
}

pub fn ntlm_session_key(m: Box<dyn Mechanism>) -> Vec<u8> {
    let ntlm = m
        .into_any()
        .downcast::<NtlmMech>()
        .expect("an NTLM context");
    ntlm.established().unwrap().session_key.as_bytes().to_vec()
}

pub fn only(records: &[Record]) -> &Record {
    assert_eq!(records.len(), 1, "{records:#?}");
    &records[0]
}

/// A `tests/python/spnego_peer.py` process: the other side of a negotiation.
pub struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

pub fn b64(data: &[u8]) -> String {
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

pub fn unb64(s: &str) -> Vec<u8> {
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
    /// Starts `python tests/python/spnego_peer.py ARGS...`; `setup` gives it its environment.
    pub fn start(
        python: &std::path::Path,
        args: &[&str],
        setup: impl FnOnce(&mut Command),
    ) -> Peer {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/spnego_peer.py");
        let mut cmd = Command::new(python);
        cmd.arg(script).args(args);
        setup(&mut cmd);
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

    pub fn send(&mut self, tag: &str, data: &[u8]) {
        writeln!(self.stdin, "{tag} {}", b64(data)).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next line as (tag, payload).
    pub fn recv(&mut self) -> (String, String) {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let mut parts = line.trim_end().splitn(2, ' ');
        let tag = parts.next().unwrap_or("").to_string();
        let rest = parts.next().unwrap_or("").to_string();
        assert!(tag != "ERROR" && !tag.is_empty(), "peer failed: {line:?}");
        (tag, rest)
    }

    /// After establishment: DONE, then both MICs.
    pub fn finish(mut self, mech: &mut dyn Mechanism) -> String {
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
