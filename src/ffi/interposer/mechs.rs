//! The interposer's mechanism set ([`MechSet`]): Kerberos through the mechglue, NTLM in-process, each with
//! what it needs to start a context — the caller's credential, target, flags and channel bindings.
//!
//! The SPNEGO engine keeps the set inline in the negotiation's state, which it allocates anyway: a set of
//! boxed closures in a `Vec` cost two allocations per side and negotiation, and the acceptor's factory a
//! third (callgrind, BENCHMARKS.md "Stop 19"). Starting a mechanism copies what it needs (reference counts,
//! the parsed NTLM target), so the set starts a mechanism again for a fallback or a restart; a clone of the
//! set allocates nothing, so the acceptor takes a fresh copy of its configuration for every `NegTokenInit`.

use std::sync::Arc;

use super::super::mechglue::{GlueBindings, GlueCred, GlueName, KerberosMech};
use super::super::sys::LibcSystem;
use crate::creds::config::Config;
use crate::creds::Credential;
use crate::names::Name;
use crate::spnego::gss_ntlm::GssNtlmMech;
use crate::spnego::mech::{MechError, MechSet, Mechanism};
use crate::spnego::oid::Oid;

static KRB5: Oid = Oid::KRB5;
static NTLMSSP: Oid = Oid::NTLMSSP;

/// What a Kerberos context is started with.
#[derive(Clone)]
pub(crate) struct KrbStart {
    /// The caller's Kerberos credential (the mechglue's default when `None`).
    pub(crate) cred: Option<Arc<GlueCred>>,
    /// Initiator: the target as a mechglue name; acceptor: `None`.
    pub(crate) target: Option<Arc<GlueName>>,
    pub(crate) bindings: Option<Arc<GlueBindings>>,
}

/// What an NTLM context is started with.
#[derive(Clone)]
pub(crate) struct NtlmStart {
    pub(crate) cred: Option<Arc<Credential>>,
    /// Initiator: the target parsed as an NTLM name.
    pub(crate) target: Option<Name>,
    pub(crate) cfg: Arc<Config>,
    /// The MD5 of the channel bindings (MS-NLMP `MsvAvChannelBindings`).
    pub(crate) bindings: Option<[u8; 16]>,
    /// Acceptor: the policy requires channel bindings.
    pub(crate) require_bindings: bool,
}

/// Kerberos first when present, then NTLM; one side of the negotiation for both.
#[derive(Clone, Default)]
pub(crate) struct IMechs {
    pub(crate) initiator: bool,
    /// Initiator: the caller's requested flags.
    pub(crate) req_flags: u32,
    pub(crate) krb: Option<KrbStart>,
    pub(crate) ntlm: Option<NtlmStart>,
}

enum Entry<'a> {
    Krb(&'a KrbStart),
    Ntlm(&'a NtlmStart),
}

impl IMechs {
    fn entry(&self, i: usize) -> Option<Entry<'_>> {
        match (i, &self.krb, &self.ntlm) {
            (0, Some(k), _) => Some(Entry::Krb(k)),
            (0, None, Some(n)) | (1, Some(_), Some(n)) => Some(Entry::Ntlm(n)),
            _ => None,
        }
    }
}

impl MechSet for IMechs {
    fn count(&self) -> usize {
        usize::from(self.krb.is_some()) + usize::from(self.ntlm.is_some())
    }

    fn oid(&self, i: usize) -> &Oid {
        match self.entry(i) {
            Some(Entry::Krb(_)) => &KRB5,
            Some(Entry::Ntlm(_)) => &NTLMSSP,
            // Not an index of this set (the engine asks only below `count()`).
            None => &NTLMSSP,
        }
    }

    fn start(&self, i: usize) -> Result<Box<dyn Mechanism>, MechError> {
        match self.entry(i) {
            Some(Entry::Krb(k)) => self.start_krb(k),
            Some(Entry::Ntlm(n)) if self.initiator => self.start_ntlm_initiator(n),
            Some(Entry::Ntlm(n)) => start_ntlm_acceptor(n),
            None => Err(MechError::new(
                crate::spnego::mech::MechFailure::Other,
                "no such mechanism in the set",
            )),
        }
    }
}

// Each start out of line: a mechanism's context is built on the stack before it is boxed, and inlined together
// the four would give every start (and the mechanism's first step under it) the frame of all four.
impl IMechs {
    #[inline(never)]
    fn start_krb(&self, k: &KrbStart) -> Result<Box<dyn Mechanism>, MechError> {
        Ok(if self.initiator {
            Box::new(KerberosMech::initiator_with(
                k.cred.clone(),
                k.target.clone(),
                self.req_flags,
                k.bindings.clone(),
            )?)
        } else {
            Box::new(KerberosMech::acceptor_with(
                k.cred.clone(),
                k.bindings.clone(),
            )?)
        })
    }

    #[inline(never)]
    fn start_ntlm_initiator(&self, n: &NtlmStart) -> Result<Box<dyn Mechanism>, MechError> {
        Ok(Box::new(GssNtlmMech::initiator_borrowed(
            n.cred.as_deref(),
            n.target.clone(),
            self.req_flags,
            &n.cfg,
            n.bindings,
        )?))
    }
}

#[inline(never)]
fn start_ntlm_acceptor(n: &NtlmStart) -> Result<Box<dyn Mechanism>, MechError> {
    Ok(Box::new(GssNtlmMech::acceptor_borrowed(
        n.cred.as_deref(),
        &n.cfg,
        &LibcSystem,
        n.bindings,
        n.require_bindings,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_lists_kerberos_first_then_ntlm_and_nothing_past_its_end() {
        let cfg = Arc::new(Config::from_lookup(|_| None, None));
        let ntlm = NtlmStart {
            cred: None,
            target: None,
            cfg,
            bindings: None,
            require_bindings: false,
        };
        let krb = KrbStart {
            cred: None,
            target: None,
            bindings: None,
        };
        let both = IMechs {
            krb: Some(krb.clone()),
            ntlm: Some(ntlm.clone()),
            ..IMechs::default()
        };
        assert_eq!(both.count(), 2);
        assert_eq!(
            both.oids().cloned().collect::<Vec<_>>(),
            [Oid::KRB5, Oid::NTLMSSP]
        );
        assert!(both.start(2).is_err());
        let only_ntlm = IMechs {
            ntlm: Some(ntlm),
            ..IMechs::default()
        };
        assert_eq!(only_ntlm.count(), 1);
        assert_eq!(only_ntlm.oid(0), &Oid::NTLMSSP);
        assert!(only_ntlm.start(1).is_err());
        let only_krb = IMechs {
            krb: Some(krb),
            ..IMechs::default()
        };
        assert_eq!(only_krb.oids().cloned().collect::<Vec<_>>(), [Oid::KRB5]);
        assert!(only_krb.start(1).is_err());
        assert_eq!(IMechs::default().count(), 0);
    }
}
