//! Helpers for the SPNEGO engine tests: in-process NTLM on both sides, a scripted Kerberos stand-in, and the
//! configurations of both engines.
#![allow(dead_code)]

use std::any::Any;
use std::sync::Arc;

use gss_negotiate::audit::MemoryAudit;
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
use gss_negotiate::spnego::initiator::{InitiatorConfig, InitiatorStart};
use gss_negotiate::spnego::mech::{
    MechEntry, MechError, MechFailure, MechStep, Mechanism, NtlmMech,
};
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
            sign: true,
            seal: true,
            ..Requested::default()
        };
        Ok(Box::new(NtlmMech::initiator(cfg, None)) as Box<dyn Mechanism>)
    })
}

/// An NTLM acceptor entry knowing alice.
pub fn ntlm_acceptor() -> MechEntry {
    MechEntry::new(ntlm_oid(), || {
        let store = Arc::new(Users(vec![(USER.into(), DOMAIN.into(), PASSWORD.into())]));
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
