//! Kerberos for the SPNEGO engine, reached through MIT's mechglue by function pointers (ARCHITECTURE.md §7):
//! `dlopen("libgssapi_krb5.so.2", RTLD_NOLOAD)` — the mechglue that loaded us — and `dlsym` of the public
//! `gss_*` functions, so that no call can bind to this library's own exported `gss_*` symbols. (Outside a
//! mechglue process, e.g. in tests, the library is loaded with `RTLD_LOCAL`.)
//!
//! [`KerberosMech`] is a [`Mechanism`] over those pointers with the krb5 OID (RFC 4121): one mechglue context,
//! its target name, and the error classification the SPNEGO fallback and the audit need (no ticket, KDC
//! unreachable, unknown principal, rejected).

use core::ffi::c_int;
use std::any::Any;
use std::sync::Arc;

use super::types::{
    gss_buffer_t, gss_channel_bindings_t, gss_cred_id_t, gss_ctx_id_t, gss_name_t, OM_uint32,
};
use crate::spnego::mech::{MechError, MechFailure, MechStep, Mechanism};

mod api;

use api::*;
pub(crate) use api::{classify, empty, input, mechglue, oid, take, Mechglue, KRB5_OID};
pub use api::{GlueBindings, GlueCred, GlueName};

/// A Kerberos context of the mechglue, as a SPNEGO [`Mechanism`].
#[derive(Debug)]
pub struct KerberosMech {
    initiator: bool,
    ctx: gss_ctx_id_t,
    target: Option<Arc<GlueName>>,
    cred: Option<Arc<GlueCred>>,
    bindings: Option<Arc<GlueBindings>>,
    req_flags: OM_uint32,
    peer: Option<String>,
    src: Option<GlueName>,
    delegated: Option<GlueCred>,
    flags: OM_uint32,
    complete: bool,
    /// Set when the context was adopted from a NegoEx hand-off ([`KerberosMech::adopt`]).
    reported_mech: Option<super::types::gss_OID>,
}

// SAFETY: an MIT context and name are plain heap objects without thread affinity; KerberosMech owns them
// exclusively and the engine uses it from one thread at a time.
unsafe impl Send for KerberosMech {}

/// The flags asked for when the caller gave none (HTTP Negotiate, tests).
const DEFAULT_REQ_FLAGS: OM_uint32 = GSS_C_MUTUAL_FLAG
    | GSS_C_INTEG_FLAG
    | GSS_C_CONF_FLAG
    | GSS_C_SEQUENCE_FLAG
    | GSS_C_REPLAY_FLAG;

impl KerberosMech {
    fn blank(initiator: bool) -> KerberosMech {
        KerberosMech {
            initiator,
            ctx: std::ptr::null_mut(),
            target: None,
            cred: None,
            bindings: None,
            req_flags: DEFAULT_REQ_FLAGS,
            peer: None,
            src: None,
            delegated: None,
            flags: 0,
            complete: false,
            reported_mech: None,
        }
    }

    /// An initiator for the host-based service `target` (`HTTP@host`), with the default credentials.
    pub fn initiator(target: &str) -> Result<KerberosMech, MechError> {
        let name = GlueName::import(target.as_bytes(), Some(&HOSTBASED_OID))?;
        let mut m = KerberosMech::blank(true);
        m.target = Some(Arc::new(name));
        Ok(m)
    }

    /// An initiator as a program asked for it: its credential (`None`: the default ccache), its target name,
    /// its request flags (integrity is always added: SPNEGO signs the mechanism list) and channel bindings.
    pub fn initiator_with(
        cred: Option<Arc<GlueCred>>,
        target: Option<Arc<GlueName>>,
        req_flags: OM_uint32,
        bindings: Option<Arc<GlueBindings>>,
    ) -> Result<KerberosMech, MechError> {
        mechglue()?;
        let mut m = KerberosMech::blank(true);
        m.cred = cred;
        m.target = target;
        m.req_flags = req_flags | GSS_C_INTEG_FLAG;
        m.bindings = bindings;
        Ok(m)
    }

    /// An acceptor with the default acceptor credentials (the keytab).
    pub fn acceptor() -> Result<KerberosMech, MechError> {
        mechglue()?;
        Ok(KerberosMech::blank(false))
    }

    /// An acceptor with the program's (or our own acquired) Kerberos credential and channel bindings.
    pub fn acceptor_with(
        cred: Option<Arc<GlueCred>>,
        bindings: Option<Arc<GlueBindings>>,
    ) -> Result<KerberosMech, MechError> {
        mechglue()?;
        let mut m = KerberosMech::blank(false);
        m.cred = cred;
        m.bindings = bindings;
        Ok(m)
    }

    /// The context flags the mechanism reported.
    pub fn flags(&self) -> OM_uint32 {
        self.flags
    }

    /// The authenticated initiator's name (acceptor side, once complete).
    pub fn take_source_name(&mut self) -> Option<GlueName> {
        self.src.take()
    }

    /// The credential the initiator delegated (acceptor side), once.
    pub fn take_delegated(&mut self) -> Option<GlueCred> {
        self.delegated.take()
    }

    /// The context's initiator and acceptor names, from the mechglue (`gss_inquire_context`).
    pub fn names(&self) -> Result<(Option<GlueName>, Option<GlueName>), MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut src, mut targ) = (0, std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: ctx is this value's established context; the names returned are owned by the wrappers.
        let major = unsafe {
            (g.inquire_context)(
                &mut minor,
                self.ctx,
                &mut src,
                &mut targ,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let (src, targ) = (GlueName::from_raw(src), GlueName::from_raw(targ));
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok((src, targ))
    }

    /// `gss_wrap_size_limit` of the established context.
    pub fn wrap_size_limit(&self, conf: bool, max_output: u32) -> Result<u32, MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut max) = (0, 0);
        // SAFETY: ctx is this value's established context; max is a live local.
        let major = unsafe {
            (g.wrap_size_limit)(
                &mut minor,
                self.ctx,
                c_int::from(conf),
                0,
                max_output,
                &mut max,
            )
        };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(max)
    }

    /// Per-message protection after establishment (RFC 2743 §2.3.3): `msg` wrapped by the Kerberos context,
    /// sealed when `conf` is asked for; returns the token and whether it is sealed.
    pub fn wrap(&mut self, msg: &[u8], conf: bool) -> Result<(Vec<u8>, bool), MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut inp, mut out, mut state) = (0, input(msg), empty(), 0);
        // SAFETY: ctx is this value's established context; inp is only read; out is released by take.
        let major = unsafe {
            (g.wrap)(
                &mut minor,
                self.ctx,
                c_int::from(conf),
                0,
                &mut inp,
                &mut state,
                &mut out,
            )
        };
        let token = take(g, &mut out);
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok((token, state != 0))
    }

    /// The message in a token from the peer's `wrap` and whether it was sealed; a token that fails the
    /// integrity check or replay/sequence checks is an error.
    pub fn unwrap(&mut self, token: &[u8]) -> Result<(Vec<u8>, bool), MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut inp, mut out, mut state, mut qop) = (0, input(token), empty(), 0, 0);
        // SAFETY: as in wrap.
        let major = unsafe {
            (g.unwrap)(
                &mut minor, self.ctx, &mut inp, &mut out, &mut state, &mut qop,
            )
        };
        let msg = take(g, &mut out);
        // A gap or an out-of-order token is informational (the message is good); a duplicate or an old
        // token is a replay and refused.
        if major & !(GSS_S_GAP_TOKEN | GSS_S_UNSEQ_TOKEN) != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok((msg, state != 0))
    }

    /// Seconds the established context stays valid (the ticket's remaining lifetime).
    pub fn context_time(&self) -> Result<u32, MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut secs) = (0, 0);
        // SAFETY: ctx is this value's established context; secs is a live local.
        let major = unsafe { (g.context_time)(&mut minor, self.ctx, &mut secs) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(secs)
    }

    /// Exports the established context (`gss_export_sec_context`, RFC 2743 §2.2.8): the mechglue's token,
    /// stamped with the krb5 OID; this value no longer holds a context afterwards.
    pub fn export(mut self) -> Result<Vec<u8>, MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut out) = (0, empty());
        // SAFETY: ctx is this value's established context; on success the mechglue frees it and sets it NULL.
        let major = unsafe { (g.export_sec_context)(&mut minor, &mut self.ctx, &mut out) };
        let token = take(g, &mut out);
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(token)
    }

    /// Imports a context from [`KerberosMech::export`]'s token (in this or another process).
    pub fn import(token: &[u8]) -> Result<KerberosMech, MechError> {
        let g = mechglue()?;
        let (mut minor, mut inp, mut ctx) = (0, input(token), std::ptr::null_mut());
        // SAFETY: inp is only read; ctx receives a new context owned by the value built below.
        let major = unsafe { (g.import_sec_context)(&mut minor, &mut inp, &mut ctx) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        let mut mech = KerberosMech::blank(false);
        mech.ctx = ctx;
        mech.complete = true;
        let (mut flags, mut local, mut open) = (0, 0, 0);
        // SAFETY: ctx is the live context just imported; the outputs are live locals, names not asked for.
        let major = unsafe {
            (g.inquire_context)(
                &mut minor,
                mech.ctx,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut flags,
                &mut local,
                &mut open,
            )
        };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        if open == 0 {
            return Err(MechError::new(
                MechFailure::Other,
                "imported Kerberos context is not established",
            ));
        }
        mech.flags = flags;
        mech.initiator = local != 0;
        Ok(mech)
    }

    /// Adopts an established context of the mechglue that this library did not negotiate itself: a
    /// negotiation the interposer handed to MIT's SPNEGO (`interposer::negoex`). Every later call on it goes to
    /// the mechglue as for a Kerberos context; `reported_mech` is what MIT's SPNEGO said it negotiated (a
    /// pointer that stays valid for the process, or NULL).
    pub(crate) fn adopt(
        ctx: gss_ctx_id_t,
        initiator: bool,
        flags: OM_uint32,
        src: Option<GlueName>,
        delegated: Option<GlueCred>,
        reported_mech: super::types::gss_OID,
    ) -> KerberosMech {
        let mut m = KerberosMech::blank(initiator);
        m.ctx = ctx;
        m.complete = true;
        m.flags = flags;
        m.src = src;
        m.delegated = delegated;
        m.reported_mech = Some(reported_mech);
        m
    }

    /// For an adopted context ([`KerberosMech::adopt`]): the mechanism MIT's SPNEGO reported; `None` for a
    /// Kerberos context of our own engine.
    pub(crate) fn reported_mech(&self) -> Option<super::types::gss_OID> {
        self.reported_mech
    }

    /// Asks the mechglue about the established context (`gss_inquire_context`, nothing returned): the
    /// interposer's `gssi_inquire_context` on an adopted context fails where MIT's would.
    pub(crate) fn inquire_check(&self) -> Result<(), MechError> {
        let g = mechglue()?;
        self.established()?;
        let mut minor = 0;
        // SAFETY: ctx is this value's established context; no output is asked for.
        let major = unsafe {
            (g.inquire_context)(
                &mut minor,
                self.ctx,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(())
    }

    /// The established mechglue context, for calls the interposer forwards as they are (IOV, PRF, context
    /// options). It stays owned by this value.
    pub(crate) fn raw_ctx(&mut self) -> Result<gss_ctx_id_t, MechError> {
        self.established()?;
        Ok(self.ctx)
    }

    /// Whether this side initiated the context.
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    fn established(&self) -> Result<(), MechError> {
        if self.complete && !self.ctx.is_null() {
            Ok(())
        } else {
            Err(MechError::new(
                MechFailure::Other,
                "Kerberos context not established",
            ))
        }
    }

    fn init_step(&mut self, g: &Mechglue, token: Option<&[u8]>) -> Result<MechStep, MechError> {
        let (mut minor, mut out, mut mech) = (0, empty(), oid(&KRB5_OID));
        let mut inp = input(token.unwrap_or_default());
        let inp_ptr: gss_buffer_t = if token.is_some() {
            &mut inp
        } else {
            std::ptr::null_mut()
        };
        let mut cb = self.bindings.as_deref().map(GlueBindings::as_c);
        let cb_ptr: gss_channel_bindings_t = cb.as_mut().map_or(std::ptr::null_mut(), |c| c);
        let cred = self
            .cred
            .as_deref()
            .map_or(std::ptr::null_mut(), GlueCred::raw);
        let target = self
            .target
            .as_deref()
            .map_or(std::ptr::null_mut(), GlueName::raw);
        // SAFETY: every pointer is a live local or this context's own handles; output is released by take.
        let major = unsafe {
            (g.init_sec_context)(
                &mut minor,
                cred,
                &mut self.ctx,
                target,
                &mut mech,
                self.req_flags,
                0,
                cb_ptr,
                inp_ptr,
                std::ptr::null_mut(),
                &mut out,
                &mut self.flags,
                std::ptr::null_mut(),
            )
        };
        let output = take(g, &mut out);
        match major {
            GSS_S_COMPLETE => self.complete = true,
            GSS_S_CONTINUE_NEEDED => {}
            _ => return Err(classify(g, major, minor)),
        }
        Ok(MechStep {
            output,
            complete: self.complete,
        })
    }

    fn accept_step(&mut self, g: &Mechglue, token: &[u8]) -> Result<MechStep, MechError> {
        let (mut minor, mut out) = (0, empty());
        let mut inp = input(token);
        let mut src: gss_name_t = std::ptr::null_mut();
        let mut deleg: gss_cred_id_t = std::ptr::null_mut();
        let mut cb = self.bindings.as_deref().map(GlueBindings::as_c);
        let cb_ptr: gss_channel_bindings_t = cb.as_mut().map_or(std::ptr::null_mut(), |c| c);
        let cred = self
            .cred
            .as_deref()
            .map_or(std::ptr::null_mut(), GlueCred::raw);
        // SAFETY: as in init_step; src and deleg receive objects owned by the wrappers below.
        let major = unsafe {
            (g.accept_sec_context)(
                &mut minor,
                &mut self.ctx,
                cred,
                &mut inp,
                cb_ptr,
                &mut src,
                std::ptr::null_mut(),
                &mut out,
                &mut self.flags,
                std::ptr::null_mut(),
                &mut deleg,
            )
        };
        let output = take(g, &mut out);
        if let Some(d) = GlueCred::from_raw(deleg) {
            self.delegated = Some(d);
        }
        if let Some(name) = GlueName::from_raw(src) {
            if let Ok((text, _)) = name.display() {
                self.peer = Some(String::from_utf8_lossy(&text).into_owned());
            }
            self.src = Some(name);
        }
        match major {
            GSS_S_COMPLETE => self.complete = true,
            GSS_S_CONTINUE_NEEDED => {}
            _ => return Err(classify(g, major, minor)),
        }
        Ok(MechStep {
            output,
            complete: self.complete,
        })
    }
}

impl Drop for KerberosMech {
    fn drop(&mut self) {
        // Names and credentials go before the context: releasing a Kerberos name makes a krb5 context, and
        // a krb5 context made while no other is alive in the process reads and parses krb5.conf again (MIT
        // keeps the parsed profile only as long as some context holds it). While our context lives it does
        // not: an unclaimed peer name released after it cost ~28,000 instructions per SPNEGO+Kerberos
        // handshake (callgrind, BENCHMARKS.md "Stop 19").
        drop(self.src.take());
        drop(self.delegated.take());
        drop(self.target.take());
        drop(self.cred.take());
        let Ok(g) = mechglue() else { return };
        let mut minor = 0;
        if !self.ctx.is_null() {
            // SAFETY: ctx is this value's own context handle.
            unsafe { (g.delete_sec_context)(&mut minor, &mut self.ctx, std::ptr::null_mut()) };
        }
    }
}

impl Mechanism for KerberosMech {
    fn step(&mut self, token: Option<&[u8]>) -> Result<MechStep, MechError> {
        let g = mechglue()?;
        if self.initiator {
            self.init_step(g, token)
        } else {
            let token = token.ok_or_else(|| {
                MechError::new(MechFailure::Defective, "Kerberos acceptor needs a token")
            })?;
            self.accept_step(g, token)
        }
    }

    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, MechError> {
        let g = mechglue()?;
        let (mut minor, mut inp, mut out) = (0, input(msg), empty());
        // SAFETY: ctx is this value's established context; buffers are live locals.
        let major = unsafe { (g.get_mic)(&mut minor, self.ctx, 0, &mut inp, &mut out) };
        let mic = take(g, &mut out);
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(mic)
    }

    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), MechError> {
        let g = mechglue()?;
        let (mut minor, mut m, mut t, mut qop) = (0, input(msg), input(mic), 0);
        // SAFETY: as in get_mic; both buffers are only read.
        let major = unsafe { (g.verify_mic)(&mut minor, self.ctx, &mut m, &mut t, &mut qop) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(())
    }

    fn integrity(&self) -> bool {
        self.flags & GSS_C_INTEG_FLAG != 0
    }

    fn peer_name(&self) -> Option<String> {
        self.peer.clone()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}
