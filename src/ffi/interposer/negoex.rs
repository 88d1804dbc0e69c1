//! NegoEx hand-off: a negotiation that needs NegoEx (MS-NEGOEX) goes to MIT's own SPNEGO, reached through the
//! mechglue with the concatenated OID (ARCHITECTURE.md §7), and the interposer context keeps MIT's context.
//!
//! **Which mechanisms need NegoEx.** MIT's SPNEGO puts a mechanism into NegoEx when the mechglue's
//! `gssspi_query_mechanism_info` succeeds for it (krb5 `spnego_mech.c`, `get_negotiable_mechs`), i.e. when the
//! mechanism's module exports that SPI; `GSS_C_MA_NEGOEX_AND_SPNEGO` only says the mechanism is *also* offered
//! directly. The mechglue does not export `gssspi_query_mechanism_info`, so [`local`] asks the public API
//! which mechanisms the process has (`gss_indicate_mechs`; `gss_inquire_attrs_for_mech` on each, which also
//! makes the mechglue load its module) and then looks, among the loaded modules, for one that defines
//! `gssspi_query_mechanism_info` itself (`dl_iterate_phdr`, `dlsym`, `dladdr`). The answer is computed once
//! per process.
//!
//! **When.** Initiator: the process has a NegoEx mechanism, the credential (if any) may offer one of the
//! mechanisms our engine does not carry (`gss_set_neg_mechs`), and the target name has a mechglue form.
//! Acceptor: the process has a NegoEx mechanism and the client's `NegTokenInit` lists the NegoEx OID. Then the
//! whole negotiation (Kerberos and NTLM included) is MIT's; otherwise nothing changes.
//!
//! **Fallback.** If MIT's SPNEGO fails on the first step (before anything of it reached the peer on the initiator;
//! on the acceptor its answer is dropped), our engine negotiates from the same input, as without the hand-off
//! (the session is built with the context, [`Handed::take_fallback`]). Measured with MIT's NegoEx test
//! mechanism, which returns no credential object: MIT's SPNEGO can use it only when called without a credential,
//! and the interposer's acceptor has to give one, so there our engine takes over (tests/interposer_negoex.rs).
//!
//! **Credentials.** No credential: the initiator passes `GSS_C_NO_CREDENTIAL` to MIT's SPNEGO (which acquires
//! its own, skipping this interposer: it asserts `GSS_C_MA_MECH_NEGO`); the acceptor acquires one through the
//! concatenated OID (a `GSS_C_NO_CREDENTIAL` acceptor call would come back here). A program's credential
//! ([`super::creds`]) carries a second, mechglue credential acquired through the concatenated OID with the same
//! name, usage, store or password, and `gss_set_neg_mechs` is applied to it too.
//!
//! **Policy and audit.** Our SPNEGO engine's NTLM policy does not run inside MIT's SPNEGO; if NTLM is chosen
//! there, it is this library's NTLM mechanism, whose own (raw-path) policy and audit apply. The interposer
//! writes one record with `protocol` `"mit-spnego"` per handed-off negotiation: the mechanisms of the
//! `NegTokenInit`, the mechanism MIT reported (when it reported one), and the outcome.

use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex, OnceLock};

use super::super::mechglue::{classify, empty, input, mechglue, take, KerberosMech, KRB5_OID};
use super::super::mechglue::{GlueBindings, GlueCred, GlueName};
use super::super::types::*;
use super::super::util::oid_bytes;
use super::context::{policy_and_audit, Stepped};
use super::creds::ICred;
use super::names::IName;
use super::{concatenated_oid, SPNEGO};
use crate::audit::{KerberosSkip, Record, Role};
use crate::spnego::oid::Oid;
use crate::spnego::session::Session;
use crate::spnego::{SpnegoToken, OID_NEGOEX};
use crate::status::*;

/// GSS_C_MA_NEGOEX_AND_SPNEGO, 1.2.840.113554.1.2.2.5.18 (MIT).
const MA_NEGOEX_AND_SPNEGO: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x12";

/// Mechanisms our engine carries (or that are not negotiated): krb5 under its three OIDs, IAKERB, NTLMSSP,
/// SPNEGO. Any other mechanism of the process is "foreign".
const KNOWN: &[&[u8]] = &[
    &KRB5_OID,
    b"\x2a\x86\x48\x82\xf7\x12\x01\x02\x02",
    b"\x2b\x05\x01\x05\x02",
    b"\x2b\x06\x01\x05\x02\x05",
    crate::oids::NTLMSSP,
    SPNEGO,
];

/// What the process's mechglue offers beyond our engine.
#[derive(Debug, Default)]
pub(crate) struct Local {
    /// Mechanisms (DER contents) our engine does not carry.
    pub(crate) foreign: Vec<Vec<u8>>,
    /// Whether one of them negotiates through NegoEx.
    pub(crate) negoex: bool,
}

static LOCAL: OnceLock<Local> = OnceLock::new();

/// The process's NegoEx situation (computed on first use).
pub(crate) fn local() -> &'static Local {
    LOCAL.get_or_init(|| probe().unwrap_or_default())
}

fn probe() -> Option<Local> {
    let g = mechglue().ok()?;
    let (mut minor, mut set): (OM_uint32, gss_OID_set) = (0, core::ptr::null_mut());
    // SAFETY: set receives a new OID set, released below.
    if unsafe { (g.indicate_mechs)(&mut minor, &mut set) } != GSS_S_COMPLETE || set.is_null() {
        return None;
    }
    let mut local = Local::default();
    // SAFETY: set is the mechglue's valid OID set; each element is a valid OID.
    unsafe {
        let s = &*set;
        for i in 0..s.count.min(256) {
            let o = s.elements.add(i);
            let Some(bytes) = oid_bytes(o) else { continue };
            if KNOWN.contains(&bytes) {
                continue;
            }
            local.foreign.push(bytes.to_vec());
            let mut attrs: gss_OID_set = core::ptr::null_mut();
            // Also makes the mechglue load the mechanism's module.
            if (g.inquire_attrs_for_mech)(&mut minor, o, &mut attrs, core::ptr::null_mut())
                == GSS_S_COMPLETE
                && !attrs.is_null()
            {
                let a = &*attrs;
                for j in 0..a.count.min(256) {
                    if oid_bytes(a.elements.add(j)) == Some(MA_NEGOEX_AND_SPNEGO) {
                        local.negoex = true;
                    }
                }
                (g.release_oid_set)(&mut minor, &mut attrs);
            }
        }
        (g.release_oid_set)(&mut minor, &mut set);
    }
    if !local.foreign.is_empty() && !local.negoex {
        local.negoex = loaded_module_defines(c"gssspi_query_mechanism_info");
    }
    Some(local)
}

/// Whether a loaded object (not the main program) defines `sym` itself.
fn loaded_module_defines(sym: &CStr) -> bool {
    unsafe extern "C" fn collect(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: dl_iterate_phdr passes a valid info and our data pointer (a Vec<CString>).
        unsafe {
            let names = &mut *(data as *mut Vec<CString>);
            let name = (*info).dlpi_name;
            if !name.is_null() && *name != 0 {
                names.push(CStr::from_ptr(name).to_owned());
            }
        }
        0
    }
    let mut names: Vec<CString> = Vec::new();
    // SAFETY: collect only reads the info it is given and appends to names.
    unsafe { libc::dl_iterate_phdr(Some(collect), &mut names as *mut Vec<CString> as *mut _) };
    names.iter().any(|path| {
        // SAFETY: RTLD_NOLOAD only takes a reference on an object already loaded; it is dropped below.
        unsafe {
            let h = libc::dlopen(path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD);
            if h.is_null() {
                return false;
            }
            let p = libc::dlsym(h, sym.as_ptr());
            let mut info: libc::Dl_info = core::mem::zeroed();
            let own = !p.is_null()
                && libc::dladdr(p, &mut info) != 0
                && !info.dli_fname.is_null()
                && CStr::from_ptr(info.dli_fname) == path.as_c_str();
            libc::dlclose(h);
            own
        }
    })
}

/// Whether a credential restricted by `gss_set_neg_mechs` still allows a foreign mechanism.
fn cred_allows_foreign(cred: Option<&ICred>) -> bool {
    let foreign = &local().foreign;
    cred.and_then(|c| c.neg_mechs.as_ref()).map_or(true, |m| {
        m.iter()
            .any(|o| foreign.iter().any(|f| f.as_slice() == o.as_der_content()))
    })
}

/// A negotiation handed to MIT's SPNEGO, until it completes.
pub(super) struct Handed {
    initiator: bool,
    ctx: gss_ctx_id_t,
    mech: Vec<u8>,
    cred: Option<Arc<GlueCred>>,
    target: Option<Arc<GlueName>>,
    target_text: Option<String>,
    req_flags: OM_uint32,
    bindings: Option<GlueBindings>,
    offered: Vec<Oid>,
    /// The last mechanism MIT's SPNEGO reported (interned), or NULL.
    reported: gss_OID,
    /// Before the first step: our own engine's session, for when MIT's SPNEGO fails at once.
    pub(super) fallback: Option<Session<super::mechs::IMechs>>,
}

// SAFETY: the mechglue context is a plain heap object without thread affinity, owned by this value and used
// under the interposer context's lock.
unsafe impl Send for Handed {}

impl Drop for Handed {
    fn drop(&mut self) {
        if self.ctx.is_null() {
            return;
        }
        if let Ok(g) = mechglue() {
            let mut minor = 0;
            // SAFETY: ctx is this value's own context.
            unsafe { (g.delete_sec_context)(&mut minor, &mut self.ctx, core::ptr::null_mut()) };
        }
    }
}

/// The mechanisms of a `NegTokenInit` (empty for anything else).
fn offered_in(token: &[u8]) -> Vec<Oid> {
    match SpnegoToken::decode(token) {
        Ok(SpnegoToken::Init(init)) => init.mech_types,
        _ => Vec::new(),
    }
}

fn negoex_oid() -> Oid {
    Oid::from_dotted(OID_NEGOEX).unwrap_or_else(|_| unreachable!("constant OID"))
}

/// The hand-off for a new initiator context, when it applies.
pub(super) fn initiator(
    cred: Option<&ICred>,
    target: Option<&IName>,
    req_flags: OM_uint32,
    bindings: &Option<GlueBindings>,
) -> Option<Handed> {
    if !local().negoex || !cred_allows_foreign(cred) {
        return None;
    }
    let mech = concatenated_oid()?;
    let gcred = match cred {
        Some(c) => Some(c.negoex.clone()?),
        None => None,
    };
    Some(Handed {
        initiator: true,
        ctx: core::ptr::null_mut(),
        mech,
        cred: gcred,
        target: Some(target?.krb()?),
        target_text: target.and_then(IName::text),
        req_flags,
        bindings: bindings.clone(),
        offered: Vec::new(),
        reported: core::ptr::null_mut(),
        fallback: None,
    })
}

/// The hand-off for a new acceptor context whose first token is `token`, when it applies.
pub(super) fn acceptor(
    cred: Option<&ICred>,
    token: &[u8],
    bindings: &Option<GlueBindings>,
) -> Option<Handed> {
    if !local().negoex || !cred_allows_foreign(cred) {
        return None;
    }
    let offered = offered_in(token);
    if !offered.contains(&negoex_oid()) {
        return None;
    }
    let mech = concatenated_oid()?;
    let gcred = match cred {
        Some(c) => c.negoex.clone()?,
        // SAFETY: NULL name and store are valid arguments.
        None => Arc::new(unsafe { acquire(&mech, core::ptr::null_mut(), 2, None, None) }.ok()?),
    };
    Some(Handed {
        initiator: false,
        ctx: core::ptr::null_mut(),
        mech,
        cred: Some(gcred),
        target: None,
        target_text: None,
        req_flags: 0,
        bindings: bindings.clone(),
        offered,
        reported: core::ptr::null_mut(),
        fallback: None,
    })
}

/// Acquires a mechglue credential for `mech` (DER content): with `password`, or from `store`.
///
/// # Safety
/// `name` is NULL or a mechglue name; `store` is NULL or a valid cred store.
pub(crate) unsafe fn acquire(
    mech: &[u8],
    name: gss_name_t,
    usage: gss_cred_usage_t,
    store: Option<gss_const_key_value_set_t>,
    password: Option<&[u8]>,
) -> Result<GlueCred, String> {
    // SAFETY: forwarded under this function's contract.
    unsafe {
        super::creds::acquire_glue(
            mech,
            name,
            usage,
            store.unwrap_or(core::ptr::null()),
            password,
        )
    }?
    .ok_or_else(|| "no credential".into())
}

/// `gss_set_neg_mechs` on the hand-off credential.
///
/// # Safety
/// `set` is NULL or a valid OID set.
pub(crate) unsafe fn set_neg_mechs(cred: &GlueCred, set: gss_OID_set) {
    if let Ok(g) = mechglue() {
        let mut minor = 0;
        // SAFETY: cred is a live mechglue credential; set is NULL or valid per the contract.
        unsafe { (g.set_neg_mechs)(&mut minor, cred.raw(), set) };
    }
}

/// OIDs MIT's SPNEGO reported, copied to memory that lives as long as the process (a context's own OID may
/// be freed with it), at most [`INTERNED_MAX`] distinct ones.
static INTERNED: Mutex<Vec<&'static StaticOidBox>> = Mutex::new(Vec::new());
const INTERNED_MAX: usize = 32;

struct StaticOidBox(gss_OID_desc, &'static [u8]);
// SAFETY: the descriptor points to leaked, immutable bytes.
unsafe impl Sync for StaticOidBox {}
// SAFETY: as above.
unsafe impl Send for StaticOidBox {}

/// A process-lifetime copy of `bytes` as a `gss_OID` (the SPNEGO OID when the table is full).
fn intern(bytes: &[u8]) -> gss_OID {
    let mut t = INTERNED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(o) = t.iter().find(|o| o.1 == bytes) {
        return &o.0 as *const gss_OID_desc as gss_OID;
    }
    if t.len() >= INTERNED_MAX {
        return super::SPNEGO_OID.as_oid();
    }
    let leaked: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    let b: &'static StaticOidBox = Box::leak(Box::new(StaticOidBox(
        gss_OID_desc {
            length: leaked.len() as OM_uint32,
            elements: leaked.as_ptr() as *mut core::ffi::c_void,
        },
        leaked,
    )));
    t.push(b);
    &b.0 as *const gss_OID_desc as gss_OID
}

/// Whether `oid` is one of the interned OIDs (the mechglue must not free it).
pub(crate) fn is_interned(oid: gss_OID) -> bool {
    let t = INTERNED.lock().unwrap_or_else(|p| p.into_inner());
    t.iter()
        .any(|o| core::ptr::eq(&o.0 as *const gss_OID_desc, oid))
}

/// What one hand-off step produced.
pub(super) enum HandedStep {
    Continue(Stepped),
    Complete(Stepped, KerberosMech),
}

impl Handed {
    /// After a failed first step: the arguments for our own engine, which then takes the negotiation over
    /// (nothing has reached the peer from MIT's SPNEGO yet on the initiator; on the acceptor MIT's answer is
    /// dropped and ours goes out instead). `None` after the first step.
    pub(super) fn take_fallback(&mut self) -> Option<Session<super::mechs::IMechs>> {
        self.fallback.take()
    }

    /// One step through MIT's SPNEGO. On an error, the token MIT produced (a reject) comes along.
    pub(super) fn step(
        &mut self,
        token: Option<&[u8]>,
    ) -> Result<HandedStep, (GssError, Option<Vec<u8>>)> {
        let g = mechglue().map_err(|e| (super::glue_error(e), None))?;
        let (mut minor, mut out, mut actual, mut flags) =
            (0, empty(), core::ptr::null_mut::<gss_OID_desc>(), 0);
        let mut inp = input(token.unwrap_or_default());
        let inp_ptr: gss_buffer_t = if token.is_some() {
            &mut inp
        } else {
            core::ptr::null_mut()
        };
        let mut cb = self.bindings.as_ref().map(GlueBindings::as_c);
        let cb_ptr: gss_channel_bindings_t = cb.as_mut().map_or(core::ptr::null_mut(), |c| c);
        let cred = self
            .cred
            .as_deref()
            .map_or(core::ptr::null_mut(), GlueCred::raw);
        let (mut src, mut deleg): (gss_name_t, gss_cred_id_t) =
            (core::ptr::null_mut(), core::ptr::null_mut());
        // SAFETY: every pointer is a live local or this value's own handles; outputs are owned below.
        let major = unsafe {
            if self.initiator {
                let mut mech = gss_OID_desc {
                    length: self.mech.len() as OM_uint32,
                    elements: self.mech.as_ptr() as *mut core::ffi::c_void,
                };
                let target = self
                    .target
                    .as_deref()
                    .map_or(core::ptr::null_mut(), GlueName::raw);
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
                    &mut actual,
                    &mut out,
                    &mut flags,
                    core::ptr::null_mut(),
                )
            } else {
                (g.accept_sec_context)(
                    &mut minor,
                    &mut self.ctx,
                    cred,
                    inp_ptr,
                    cb_ptr,
                    &mut src,
                    &mut actual,
                    &mut out,
                    &mut flags,
                    core::ptr::null_mut(),
                    &mut deleg,
                )
            }
        };
        let output = take(g, &mut out);
        let (src, deleg) = (GlueName::from_raw(src), GlueCred::from_raw(deleg));
        if self.initiator && self.offered.is_empty() {
            self.offered = offered_in(&output);
        }
        // SAFETY: actual is NULL or an OID the mechglue returned, read at once.
        let actual_bytes = unsafe { oid_bytes(actual) }.map(<[u8]>::to_vec);
        // MIT's SPNEGO may leave the mechanism out on some steps (NULL): keep the last one it reported, and
        // never hand a program a NULL mechanism (python-gssapi dereferences it): SPNEGO's until one is known.
        if !actual.is_null() {
            self.reported = intern(actual_bytes.as_deref().unwrap_or_default());
        }
        let reported = if self.reported.is_null() {
            super::SPNEGO_OID.as_oid()
        } else {
            self.reported
        };
        let first = self.fallback.is_some();
        if !is_error(major) {
            self.fallback = None;
        }
        if is_error(major) {
            let detail = classify(g, major, minor).detail;
            let detail = detail
                .strip_prefix("Kerberos: ")
                .unwrap_or(&detail)
                .to_string();
            let note = if first {
                format!("{detail}; our SPNEGO takes over")
            } else {
                detail.clone()
            };
            self.audit(actual_bytes.as_deref(), Some(note), None);
            let e = GssError::with_detail(major & ROUTINE_ERROR_MASK, Minor::None, detail);
            return Err((e, (!output.is_empty()).then_some(output)));
        }
        let stepped = Stepped {
            token: output,
            complete: major == GSS_S_COMPLETE,
            flags,
            mech: reported,
            lifetime: 0,
        };
        if major != GSS_S_COMPLETE {
            return Ok(HandedStep::Continue(stepped));
        }
        let peer = src
            .as_ref()
            .and_then(|n| n.display().ok())
            .map(|(t, _)| String::from_utf8_lossy(&t).into_owned());
        self.audit(actual_bytes.as_deref(), None, peer);
        let ctx = core::mem::replace(&mut self.ctx, core::ptr::null_mut());
        let k = KerberosMech::adopt(ctx, self.initiator, flags, src, deleg, reported);
        Ok(HandedStep::Complete(stepped, k))
    }

    /// The audit record of the handed-off negotiation.
    fn audit(&self, chosen: Option<&[u8]>, failure: Option<String>, peer: Option<String>) {
        let Ok((_, sink)) = policy_and_audit() else {
            return;
        };
        let role = if self.initiator {
            Role::Initiator
        } else {
            Role::Acceptor
        };
        let mut r = Record::new(role, "mit-spnego");
        r.peer = if self.initiator {
            self.target_text.clone()
        } else {
            peer
        };
        r.offered = self.offered.clone();
        r.chosen = chosen
            .filter(|b| !b.is_empty())
            .and_then(|b| Oid::from_der_content(b).ok());
        let krb = chosen.is_some_and(|b| b == KRB5_OID);
        r.kerberos = (!krb).then_some(KerberosSkip::NotSelected);
        r.failure = failure;
        sink.record(&r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spnego::NegTokenInit;

    fn oid(s: &str) -> Oid {
        Oid::from_dotted(s).expect("valid OID")
    }

    #[test]
    fn the_negoex_oid_is_found_only_in_a_neg_token_init() {
        let init = NegTokenInit {
            mech_types: vec![oid(OID_NEGOEX), oid(crate::spnego::OID_NTLMSSP)],
            ..NegTokenInit::default()
        };
        let token = SpnegoToken::Init(init).encode();
        assert_eq!(
            offered_in(&token),
            [oid(OID_NEGOEX), oid(crate::spnego::OID_NTLMSSP)]
        );
        assert!(offered_in(&token).contains(&negoex_oid()));
        let resp = SpnegoToken::Resp(crate::spnego::NegTokenResp::default()).encode();
        assert!(offered_in(&resp).is_empty());
        assert!(offered_in(b"NTLMSSP\0\x01\0\0\0").is_empty());
        assert!(offered_in(&token[..token.len() - 1]).is_empty());
    }

    #[test]
    fn interned_oids_are_shared_static_and_bounded() {
        let a = intern(b"\x2b\x06\x01\x04\x01\x9f\x7f\x01");
        let b = intern(b"\x2b\x06\x01\x04\x01\x9f\x7f\x01");
        assert_eq!(a, b);
        assert!(is_interned(a));
        assert!(!is_interned(super::super::SPNEGO_OID.as_oid()));
        // SAFETY: a points to a leaked, valid descriptor.
        let bytes = unsafe { oid_bytes(a) };
        assert_eq!(bytes, Some(&b"\x2b\x06\x01\x04\x01\x9f\x7f\x01"[..]));
        for i in 0..=INTERNED_MAX as u8 {
            intern(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x9f, 0x7e, i]);
        }
        // Past the bound the table answers with the SPNEGO OID and stays the same size.
        assert_eq!(
            intern(b"\x2b\x06\x01\x04\x01\x9f\x7d\x01"),
            super::super::SPNEGO_OID.as_oid()
        );
        assert!(INTERNED.lock().map(|t| t.len()).unwrap_or(0) <= INTERNED_MAX);
    }
}
