//! What an interposer handle holds once its negotiation is over — the negotiated mechanism's own context
//! ([`Inner`]: our NTLM context or a mechglue Kerberos context) — and the calls that only read it:
//! `gssi_context_time` and `gssi_inquire_context` (which also answers for a context still negotiating). The
//! per-message calls ([`super::messages`], [`super::iov`], [`super::ext`]) and export ([`super::export`]) reach
//! it through [`super::context::with_inner`]; [`super::context`] makes it when the negotiation completes.

use std::sync::Arc;

use super::super::mechglue::KerberosMech;
use super::super::types::*;
use super::super::util::*;
use super::context::{krb_error, with_ictx, with_inner, Phase};
use super::names::{iname_handle, IName, NtlmName};
use super::{KRB5_MECH_OID, SPNEGO_OID};
use crate::context::SecContext;
use crate::spnego::gss_ntlm::GssNtlmMech;
use crate::spnego::session::Negotiated;
use crate::status::*;
use core::ffi::c_int;

/// The negotiated mechanism's context.
pub(crate) enum Inner {
    /// NTLM, this library's own context.
    Ntlm(NtlmInner),
    /// Kerberos, a mechglue context.
    Krb(KerberosMech),
}

/// The NTLM context kept in the box the SPNEGO engine negotiated it in: when the negotiation ends only the
/// pointer moves, not the context (a few hundred bytes copied several times before).
pub(crate) struct NtlmInner(Box<GssNtlmMech>);

impl NtlmInner {
    /// An imported context.
    pub(super) fn imported(ctx: SecContext) -> NtlmInner {
        NtlmInner(Box::new(GssNtlmMech::established(ctx)))
    }
}

impl std::ops::Deref for NtlmInner {
    type Target = SecContext;
    fn deref(&self) -> &SecContext {
        self.0.context()
    }
}

impl std::ops::DerefMut for NtlmInner {
    fn deref_mut(&mut self) -> &mut SecContext {
        self.0.context_mut()
    }
}

/// The negotiated mechanism's context, out of the negotiation's result.
pub(super) fn inner_of(n: Negotiated) -> Result<Inner, GssError> {
    match n.mech.into_any().downcast::<GssNtlmMech>() {
        Ok(m) => Ok(Inner::Ntlm(NtlmInner(m))),
        Err(any) => any
            .downcast::<KerberosMech>()
            .map(|k| Inner::Krb(*k))
            .map_err(|_| GssError::new(GSS_S_FAILURE, Minor::WrongMech)),
    }
}

impl Inner {
    pub(super) fn mech_oid(&self) -> gss_OID {
        match self {
            Inner::Ntlm(_) => NTLMSSP_OID.as_oid(),
            Inner::Krb(k) => k.reported_mech().unwrap_or(KRB5_MECH_OID.as_oid()),
        }
    }

    pub(super) fn flags(&self) -> u32 {
        match self {
            Inner::Ntlm(sc) => sc.gss_flags(),
            Inner::Krb(k) => k.flags(),
        }
    }

    pub(super) fn lifetime(&self) -> u32 {
        match self {
            Inner::Ntlm(_) => GSS_C_INDEFINITE,
            Inner::Krb(k) => k.context_time().unwrap_or(0),
        }
    }

    pub(super) fn is_initiator(&self) -> bool {
        match self {
            Inner::Ntlm(sc) => sc.is_initiator(),
            Inner::Krb(k) => k.is_initiator(),
        }
    }
}

/// `gssi_context_time` (RFC 2744 §5.7).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_context_time(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    // SAFETY: the handle is checked; time_rec is NULL or writable.
    guard(minor_status, || unsafe {
        put(time_rec, 0);
        let t = with_inner(context_handle, |i| Ok(i.lifetime()))?;
        put(time_rec, t);
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_inquire_context` (RFC 2744 §5.33): the *negotiated* mechanism (krb5 or NTLM), as MIT's SPNEGO reports.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_inquire_context(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    src_name: *mut gss_name_t,
    targ_name: *mut gss_name_t,
    lifetime_rec: *mut OM_uint32,
    mech_type: *mut gss_OID,
    ctx_flags: *mut OM_uint32,
    locally_initiated: *mut c_int,
    open: *mut c_int,
) -> OM_uint32 {
    // SAFETY: outputs are NULL or writable; the handle is checked.
    guard(minor_status, || unsafe {
        put(src_name, core::ptr::null_mut());
        put(targ_name, core::ptr::null_mut());
        let (names, life, mech, flags, local, is_open) = with_ictx(context_handle, |c| {
            Ok(match &c.phase {
                Phase::Negotiating(_) | Phase::Handed(_) | Phase::Spent => {
                    (None, 0, SPNEGO_OID.as_oid(), 0, c.initiator, false)
                }
                Phase::Done(inner) => {
                    if let Inner::Krb(k) = inner {
                        if k.reported_mech().is_some() {
                            // A context handed to MIT's SPNEGO: its answer, errors included.
                            k.inquire_check().map_err(krb_error)?;
                        }
                    }
                    let want = !src_name.is_null() || !targ_name.is_null();
                    let names = if want { Some(names_of(inner)?) } else { None };
                    (
                        names,
                        inner.lifetime(),
                        inner.mech_oid(),
                        inner.flags(),
                        inner.is_initiator(),
                        true,
                    )
                }
            })
        })?;
        if let Some((s, t)) = names {
            if let (Some(s), false) = (s, src_name.is_null()) {
                src_name.write(iname_handle(s));
            }
            if let (Some(t), false) = (t, targ_name.is_null()) {
                targ_name.write(iname_handle(t));
            }
        }
        put(lifetime_rec, life);
        put(mech_type, mech);
        put(ctx_flags, flags);
        put(locally_initiated, c_int::from(local));
        put(open, c_int::from(is_open));
        Ok(GSS_S_COMPLETE)
    })
}

fn names_of(inner: &Inner) -> Result<(Option<IName>, Option<IName>), GssError> {
    match inner {
        Inner::Ntlm(sc) => {
            let wrap = |n: crate::names::Name, a| IName::Ntlm(Arc::new(NtlmName::new(n, a)));
            let src = sc.source_name().map(|n| wrap(n, sc.source_attrs()));
            let targ = sc.target_name().map(|n| wrap(n, Default::default()));
            Ok((src, targ))
        }
        Inner::Krb(k) => {
            let (s, t) = k.names().map_err(krb_error)?;
            Ok((
                s.map(|n| IName::Krb(Arc::new(n))),
                t.map(|n| IName::Krb(Arc::new(n))),
            ))
        }
    }
}
