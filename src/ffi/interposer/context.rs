//! The interposer's contexts: `gssi_init_sec_context` / `gssi_accept_sec_context` drive one
//! [`Session`] per handle (Kerberos through the mechglue with the caller's Kerberos credential, target name,
//! flags and channel bindings; NTLM in-process), and once the negotiation is over the handle holds the
//! negotiated mechanism's own context ([`Inner`], in [`super::established`] with `gssi_inquire_context` and
//! `gssi_context_time`), which the per-message calls and export use.
//!
//! Export and import are in [`super::export`].

use std::sync::{Arc, Mutex, MutexGuard};

use super::super::handles::{self, borrow, discard, into_raw, Handled, Kind};
use super::super::mechglue::GlueBindings;
use super::super::sys::config;
use super::super::types::*;
use super::super::util::*;
use super::creds::{acquire_krb, icred_snapshot, ICred};
use super::established::{inner_of, Inner};
use super::mechs::{IMechs, KrbStart, NtlmStart};
use super::names::{iname_handle, iname_ref, IName, NtlmName};
use super::SPNEGO_OID;
use crate::audit::{AuditSink, SystemAudit};
use crate::ntlm::crypto::ChannelBindings;
use crate::spnego::acceptor::AcceptorConfig;
use crate::spnego::initiator::InitiatorConfig;
use crate::spnego::mech::{MechError, MechFailure};
use crate::spnego::oid::Oid;
use crate::spnego::session::{Progress, Session, SessionError};
use crate::status::*;

pub(super) enum Phase {
    /// (Not boxed: a session is smaller than the established context the enum holds anyway.)
    Negotiating(Session<IMechs>),
    /// Handed to MIT's SPNEGO for NegoEx ([`super::negoex`]).
    Handed(Box<super::negoex::Handed>),
    Done(Inner),
    /// Between the end of the negotiation and the negotiated context taking its place.
    Spent,
}

/// What an interposer context handle holds.
pub(crate) struct ICtx {
    pub(super) initiator: bool,
    pub(super) phase: Phase,
}

pub(crate) struct ICtxCell(pub(super) Mutex<ICtx>);

impl Handled for ICtxCell {
    const KIND: Kind = Kind::SpnegoContext;
}

pub(super) fn bad_handle() -> GssError {
    GssError::new(GSS_S_NO_CONTEXT, Minor::InvalidHandle)
}

fn lock(cell: &ICtxCell) -> MutexGuard<'_, ICtx> {
    cell.0.lock().unwrap_or_else(|p| p.into_inner())
}

/// Borrows and locks the context behind a handle.
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn with_ictx<R>(
    h: gss_ctx_id_t,
    f: impl FnOnce(&mut ICtx) -> Result<R, GssError>,
) -> Result<R, GssError> {
    // SAFETY: forwarded contract.
    let cell = unsafe { borrow::<ICtxCell, _>(h, bad_handle())? };
    f(&mut lock(cell))
}

/// Borrows the negotiated mechanism of an established context.
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn with_inner<R>(
    h: gss_ctx_id_t,
    f: impl FnOnce(&mut Inner) -> Result<R, GssError>,
) -> Result<R, GssError> {
    // SAFETY: forwarded contract.
    unsafe {
        with_ictx(h, |c| match &mut c.phase {
            Phase::Done(inner) => f(inner),
            Phase::Negotiating(_) | Phase::Handed(_) | Phase::Spent => {
                Err(GssError::new(GSS_S_NO_CONTEXT, Minor::ContextIncomplete))
            }
        })
    }
}

/// A Kerberos failure of an established context as a GSS error.
pub(crate) fn krb_error(e: MechError) -> GssError {
    let mapped = match e.kind {
        MechFailure::Defective => GSS_S_DEFECTIVE_TOKEN,
        MechFailure::Rejected => GSS_S_BAD_SIG,
        _ => GSS_S_FAILURE,
    };
    // The mechglue's own routine error when it gave one (e.g. GSS_S_UNAVAILABLE from a mechanism that lacks
    // the call), else the category's.
    let major = e
        .major
        .map(|m| m & ROUTINE_ERROR_MASK)
        .filter(|m| *m != 0)
        .unwrap_or(mapped);
    GssError::with_detail(major, Minor::None, e.to_string())
}

/// Releases the context behind `*h` (if any) and sets `*h` to NULL.
///
/// # Safety
/// `h` is NULL or valid for reading and writing a handle.
unsafe fn release(h: *mut gss_ctx_id_t) {
    // SAFETY: forwarded contract.
    unsafe { discard::<ICtxCell, _>(h, bad_handle()) }
}

/// A copy of the caller's channel bindings.
///
/// # Safety
/// `cb` is NULL or a valid `gss_channel_bindings_struct` whose buffers are valid.
unsafe fn bindings_of(cb: gss_channel_bindings_t) -> Option<GlueBindings> {
    if cb.is_null() {
        return None;
    }
    // SAFETY: cb is non-NULL and valid; each buffer is valid for its length.
    unsafe {
        let b = &*cb;
        Some(GlueBindings {
            initiator_addrtype: b.initiator_addrtype,
            initiator_address: buffer_bytes(&b.initiator_address).to_vec(),
            acceptor_addrtype: b.acceptor_addrtype,
            acceptor_address: buffer_bytes(&b.acceptor_address).to_vec(),
            application_data: buffer_bytes(&b.application_data).to_vec(),
        })
    }
}

fn ntlm_bindings(b: &GlueBindings) -> [u8; 16] {
    ChannelBindings {
        initiator_addrtype: b.initiator_addrtype,
        initiator_address: b.initiator_address.clone(),
        acceptor_addrtype: b.acceptor_addrtype,
        acceptor_address: b.acceptor_address.clone(),
        application_data: b.application_data.clone(),
    }
    .md5()
}

pub(super) fn policy_and_audit(
) -> Result<(Arc<crate::policy::Policy>, Arc<dyn AuditSink>), GssError> {
    let policy = crate::policy::current()
        .map_err(|e| GssError::with_detail(GSS_S_FAILURE, Minor::BadPolicy, e.to_string()))?;
    let audit = SystemAudit::shared(policy.syslog);
    Ok((policy, audit))
}

fn initiator_config(
    cred: Option<ICred>,
    target: Option<&IName>,
    req_flags: u32,
    bindings: Option<GlueBindings>,
) -> Result<InitiatorConfig<IMechs>, GssError> {
    let (policy, audit) = policy_and_audit()?;
    let (krb_oid, ntlm_oid) = (Oid::KRB5, Oid::NTLMSSP);
    let bindings = bindings.map(Arc::new);
    let krb_ok = cred
        .as_ref()
        .map_or(true, |c| c.krb.is_some() && c.allows(&krb_oid));
    // The Kerberos form of the target (an import through the mechglue) only when Kerberos may be offered.
    let krb = target
        .filter(|_| krb_ok)
        .and_then(IName::krb)
        .map(|name| KrbStart {
            cred: cred.as_ref().and_then(|c| c.krb.clone()),
            target: Some(name),
            bindings: bindings.clone(),
        });
    let ntlm_ok = cred
        .as_ref()
        .map_or(true, |c| c.ntlm.is_some() && c.allows(&ntlm_oid));
    let ntlm = ntlm_ok.then(|| NtlmStart {
        cred: cred.and_then(|c| c.ntlm),
        // The NTLM name is parsed here (no NTLM name handle) and copied when the mechanism starts.
        target: target.and_then(IName::ntlm_name),
        cfg: config(),
        bindings: bindings.as_deref().map(ntlm_bindings),
        require_bindings: false,
    });
    Ok(InitiatorConfig {
        mechs: IMechs {
            initiator: true,
            req_flags,
            krb,
            ntlm,
        },
        target: target.and_then(IName::text),
        policy,
        audit,
    })
}

fn acceptor_session(
    cred: Option<ICred>,
    bindings: Option<GlueBindings>,
) -> Result<Session<IMechs>, GssError> {
    let (policy, audit) = policy_and_audit()?;
    let (krb_oid, ntlm_oid) = (Oid::KRB5, Oid::NTLMSSP);
    let explicit = cred.is_some();
    // Without a credential we acquire our own: never GSS_C_NO_CREDENTIAL into the mechglue for SPNEGO
    // (it would come back here). No keytab: Kerberos is not accepted, NTLM is.
    let cred = cred.unwrap_or_else(|| ICred {
        // SAFETY: NULL name and store are valid arguments.
        krb: unsafe { acquire_krb(core::ptr::null_mut(), 2, core::ptr::null(), None) }
            .ok()
            .map(Arc::new),
        ..ICred::default()
    });
    let bindings = bindings.map(Arc::new);
    let krb = cred
        .krb
        .clone()
        .filter(|_| cred.allows(&krb_oid))
        .map(|k| KrbStart {
            cred: Some(k),
            target: None,
            bindings: bindings.clone(),
        });
    let ntlm_ok = (!explicit || cred.ntlm.is_some()) && cred.allows(&ntlm_oid);
    let ntlm = ntlm_ok.then(|| NtlmStart {
        cred: cred.ntlm.clone(),
        target: None,
        cfg: config(),
        bindings: bindings.as_deref().map(ntlm_bindings),
        require_bindings: policy.require_channel_bindings,
    });
    Ok(Session::acceptor_cloning(AcceptorConfig {
        mechs: IMechs {
            initiator: false,
            req_flags: 0,
            krb,
            ntlm,
        },
        peer_addr: None,
        policy,
        audit,
    }))
}

/// What one establishment step produced, for the outputs.
pub(super) struct Stepped {
    pub(super) token: Vec<u8>,
    pub(super) complete: bool,
    pub(super) flags: u32,
    pub(super) mech: gss_OID,
    pub(super) lifetime: u32,
}

impl Stepped {
    /// A token of a negotiation that goes on: SPNEGO is the mechanism so far, nothing established yet.
    fn continuing(token: Vec<u8>) -> Stepped {
        Stepped {
            token,
            complete: false,
            flags: 0,
            mech: SPNEGO_OID.as_oid(),
            lifetime: 0,
        }
    }
}

/// A step's outcome: its outputs, or its GSS error and the token owed to the peer.
pub(super) type StepResult = Result<Stepped, (GssError, Option<Vec<u8>>)>;

/// A failed engine step: its GSS error and the token owed to the peer (an acceptor's `reject`).
fn session_error(e: SessionError) -> (GssError, Option<Vec<u8>>) {
    (e.error.to_gss(), e.token)
}

impl ICtx {
    fn step(&mut self, token: Option<&[u8]>) -> StepResult {
        if let Phase::Handed(_) = self.phase {
            if let Some(r) = self.step_handed(token) {
                return r;
            }
        }
        let Phase::Negotiating(session) = &mut self.phase else {
            return Err((GssError::new(GSS_S_FAILURE, Minor::BadSequence), None));
        };
        match session.step(token) {
            Ok(Progress::Continue(t)) => Ok(Stepped::continuing(t)),
            Ok(Progress::Complete(t)) => self.complete(t.unwrap_or_default()),
            Err(e) => Err(session_error(e)),
        }
    }

    /// A step of a negotiation handed to MIT's SPNEGO; `None` when it failed at once and our engine (now in
    /// `self.phase`) takes the token instead. Out of line, as [`ICtx::complete`] is: the steps of our engine keep a
    /// small stack frame.
    #[inline(never)]
    fn step_handed(&mut self, token: Option<&[u8]>) -> Option<StepResult> {
        let Phase::Handed(h) = &mut self.phase else {
            return None;
        };
        match h.step(token) {
            Ok(super::negoex::HandedStep::Continue(s)) => Some(Ok(s)),
            Ok(super::negoex::HandedStep::Complete(s, k)) => {
                self.phase = Phase::Done(Inner::Krb(k));
                Some(Ok(s))
            }
            // MIT's SPNEGO failed at once (e.g. no usable NegoEx mechanism with this credential): our
            // engine negotiates instead, as without the hand-off.
            Err(e) => {
                let Some(session) = h.take_fallback() else {
                    return Some(Err(e));
                };
                self.phase = Phase::Negotiating(session);
                None
            }
        }
    }

    /// The negotiation is over: the negotiated mechanism's context takes its place; `token` is the last one
    /// to send (possibly empty).
    #[inline(never)]
    fn complete(&mut self, token: Vec<u8>) -> StepResult {
        // Only the negotiated mechanism moves out of the session (the session itself is dropped in place).
        let negotiated = match &mut self.phase {
            Phase::Negotiating(session) => session.take_negotiated(),
            _ => None,
        };
        let Some(negotiated) = negotiated else {
            self.phase = Phase::Spent;
            return Err((GssError::new(GSS_S_FAILURE, Minor::BadSequence), None));
        };
        let inner = inner_of(negotiated).map_err(|e| {
            self.phase = Phase::Spent;
            (e, None)
        })?;
        let out = Stepped {
            token,
            complete: true,
            flags: inner.flags(),
            mech: inner.mech_oid(),
            lifetime: inner.lifetime(),
        };
        self.phase = Phase::Done(inner);
        Ok(out)
    }
}

/// Writes a step's outputs; the major status.
///
/// # Safety
/// Outputs are NULL or writable (`output` non-NULL).
unsafe fn finish_step(
    r: StepResult,
    output: gss_buffer_t,
    mech: *mut gss_OID,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
) -> Result<u32, GssError> {
    match r {
        Ok(s) => {
            // SAFETY: per the contract.
            unsafe {
                give_vec(output, s.token)?;
                put(mech, s.mech);
                put(ret_flags, s.flags);
                put(time_rec, s.lifetime);
            }
            Ok(if s.complete {
                GSS_S_COMPLETE
            } else {
                GSS_S_CONTINUE_NEEDED
            })
        }
        Err((e, token)) => {
            if let Some(t) = token {
                // SAFETY: per the contract; the reject token is owed to the peer.
                unsafe { give_vec(output, t)? };
            }
            Err(e)
        }
    }
}

/// What the first `gssi_init_sec_context` call made.
enum Started {
    /// The context handle, and the first token when our engine produced it at once.
    Made(gss_ctx_id_t, Option<Stepped>),
    /// Our engine's first step failed: no context, the error (and a token owed to the peer).
    Failed((GssError, Option<Vec<u8>>)),
}

/// The first `gssi_init_sec_context` call: the negotiation's configuration, the context handle and (with our
/// engine) the `NegTokenInit`. Out of line: its temporaries would otherwise enlarge the stack frame of every
/// call, and the mechanisms run deeper in a colder stack.
///
/// # Safety
/// Handles and bindings are NULL or valid.
#[inline(never)]
unsafe fn start_initiator(
    claimant_cred_handle: gss_cred_id_t,
    target_name: gss_name_t,
    req_flags: OM_uint32,
    input_chan_bindings: gss_channel_bindings_t,
    no_token: bool,
) -> Result<Started, GssError> {
    // SAFETY: forwarded contract.
    unsafe {
        let cred = icred_snapshot(claimant_cred_handle)?;
        let target = if target_name.is_null() {
            None
        } else {
            Some(iname_ref(target_name)?)
        };
        let cb = bindings_of(input_chan_bindings);
        let handed = super::negoex::initiator(cred.as_ref(), target, req_flags, &cb);
        let cfg = initiator_config(cred, target, req_flags, cb)?;
        let (phase, first) = match handed {
            // MIT's SPNEGO takes the first step; ours starts only if it fails at once.
            Some(mut h) => {
                h.fallback = Some(Session::initiator(cfg));
                (Phase::Handed(Box::new(h)), None)
            }
            // A first call with a token: the engine answers it as before (an error).
            None if !no_token => (Phase::Negotiating(Session::initiator(cfg)), None),
            // Our engine's first step at once: its configuration is not kept (nor moved) between calls.
            None => match Session::initiator_started(cfg) {
                Ok((session, token)) => (
                    Phase::Negotiating(session),
                    Some(Stepped::continuing(token)),
                ),
                Err(e) => return Ok(Started::Failed(session_error(e))),
            },
        };
        let handle = into_raw::<ICtxCell, gss_ctx_id_struct>(ICtxCell(Mutex::new(ICtx {
            initiator: true,
            phase,
        })));
        Ok(Started::Made(handle, first))
    }
}

/// The first `gssi_accept_sec_context` call: the acceptor's configuration and the context handle. Out of line
/// for the reason [`start_initiator`] is.
///
/// # Safety
/// Handles and bindings are NULL or valid.
#[inline(never)]
unsafe fn start_acceptor(
    verifier_cred_handle: gss_cred_id_t,
    token: &[u8],
    input_chan_bindings: gss_channel_bindings_t,
) -> Result<gss_ctx_id_t, GssError> {
    // SAFETY: forwarded contract.
    unsafe {
        let cred = icred_snapshot(verifier_cred_handle)?;
        let cb = bindings_of(input_chan_bindings);
        let handed = super::negoex::acceptor(cred.as_ref(), token, &cb);
        let session = acceptor_session(cred, cb)?;
        let phase = match handed {
            Some(mut h) => {
                h.fallback = Some(session);
                Phase::Handed(Box::new(h))
            }
            None => Phase::Negotiating(session),
        };
        Ok(into_raw::<ICtxCell, gss_ctx_id_struct>(ICtxCell(
            Mutex::new(ICtx {
                initiator: false,
                phase,
            }),
        )))
    }
}

/// `gssi_init_sec_context` (RFC 2744 §5.19).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_init_sec_context(
    minor_status: *mut OM_uint32,
    claimant_cred_handle: gss_cred_id_t,
    context_handle: *mut gss_ctx_id_t,
    target_name: gss_name_t,
    _mech_type: gss_OID,
    req_flags: OM_uint32,
    _time_req: OM_uint32,
    input_chan_bindings: gss_channel_bindings_t,
    input_token: gss_buffer_t,
    actual_mech_type: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    // SAFETY: every pointer is NULL or valid per RFC 2744; handles are checked by the registry.
    let major = guard(minor_status, || unsafe {
        clear_buffer(output_token);
        put(actual_mech_type, SPNEGO_OID.as_oid());
        put(ret_flags, 0);
        put(time_rec, 0);
        if context_handle.is_null() || output_token.is_null() {
            return Err(null_write());
        }
        let token = buffer_bytes(input_token);
        if (*context_handle).is_null() {
            let (handle, first) = match start_initiator(
                claimant_cred_handle,
                target_name,
                req_flags,
                input_chan_bindings,
                token.is_empty(),
            )? {
                Started::Made(handle, first) => (handle, first),
                Started::Failed(e) => {
                    return finish_step(Err(e), output_token, actual_mech_type, ret_flags, time_rec)
                }
            };
            context_handle.write(handle);
            if let Some(first) = first {
                return finish_step(
                    Ok(first),
                    output_token,
                    actual_mech_type,
                    ret_flags,
                    time_rec,
                );
            }
        }
        let input = (!token.is_empty()).then_some(token);
        let r = with_ictx(*context_handle, |c| Ok(c.step(input)))?;
        finish_step(r, output_token, actual_mech_type, ret_flags, time_rec)
    });
    if is_error(major) {
        // SAFETY: context_handle is NULL or valid.
        unsafe { release(context_handle) };
    }
    major
}

/// `gssi_accept_sec_context` (RFC 2744 §5.1). The authenticated name is the negotiated mechanism's; a
/// credential the initiator delegated (Kerberos) comes back as the mechglue's own credential (ARCHITECTURE.md §7).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_accept_sec_context(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    verifier_cred_handle: gss_cred_id_t,
    input_token_buffer: gss_buffer_t,
    input_chan_bindings: gss_channel_bindings_t,
    src_name: *mut gss_name_t,
    mech_type: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
    delegated_cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    // SAFETY: every pointer is NULL or valid per RFC 2744; handles are checked by the registry.
    let major = guard(minor_status, || unsafe {
        clear_buffer(output_token);
        put(src_name, core::ptr::null_mut());
        put(mech_type, SPNEGO_OID.as_oid());
        put(ret_flags, 0);
        put(time_rec, 0);
        put(delegated_cred_handle, core::ptr::null_mut());
        if context_handle.is_null() || output_token.is_null() {
            return Err(null_write());
        }
        if input_token_buffer.is_null() {
            return Err(null_read());
        }
        let token = buffer_bytes(input_token_buffer);
        if (*context_handle).is_null() {
            context_handle.write(start_acceptor(
                verifier_cred_handle,
                token,
                input_chan_bindings,
            )?);
        }
        // The name is made only when the caller asks for it (the mechglue passes a NULL `src_name` on when
        // its caller did): an NTLM name handle made and released unasked cost ~1,100 instructions per handshake.
        let want_name = !src_name.is_null();
        let (r, name, deleg) = with_ictx(*context_handle, |c| {
            let r = c.step(Some(token));
            let (mut name, mut deleg) = (None, None);
            if let (Ok(s), Phase::Done(inner)) = (&r, &mut c.phase) {
                if s.complete {
                    match inner {
                        Inner::Ntlm(sc) => {
                            if want_name {
                                name = sc.source_name().map(|n| {
                                    IName::Ntlm(Arc::new(NtlmName::new(n, sc.source_attrs())))
                                });
                            }
                        }
                        Inner::Krb(k) => {
                            if want_name {
                                name = k.take_source_name().map(|n| IName::Krb(Arc::new(n)));
                            }
                            deleg = k.take_delegated();
                        }
                    }
                }
            }
            Ok((r, name, deleg))
        })?;
        let major = finish_step(r, output_token, mech_type, ret_flags, time_rec)?;
        if let Some(n) = name {
            src_name.write(iname_handle(n));
        }
        // The mechglue hands a delegated credential of a mechanism other than the one it called (krb5 under
        // SPNEGO) to the program as it is, not wrapped in a union credential (g_accept_sec_context.c): so it
        // must be the mechglue's own credential, which the program uses and releases with any gss_* call.
        if let (Some(d), false) = (deleg, delegated_cred_handle.is_null()) {
            delegated_cred_handle.write(d.into_raw());
        }
        Ok(major)
    });
    if is_error(major) {
        // SAFETY: context_handle is NULL or valid.
        unsafe { release(context_handle) };
    }
    major
}

/// `gssi_delete_sec_context` (RFC 2744 §5.9).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_delete_sec_context(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    output_token: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if context_handle.is_null() {
            return Err(null_write());
        }
        // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
        unsafe {
            clear_buffer(output_token);
            handles::release::<ICtxCell, _>(context_handle, bad_handle())?;
        }
        Ok(GSS_S_COMPLETE)
    })
}
