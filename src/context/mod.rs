//! GSSAPI security contexts over the NTLM core: what `gss_init_sec_context`, `gss_accept_sec_context`, the
//! per-message calls (RFC 2743 §2.3) and the context queries do, as safe Rust. The C boundary (`ffi::context`)
//! only translates pointers into calls here.
//!
//! Token formats follow gss-ntlmssp and Windows SSPI: context tokens are raw NTLMSSP messages (no RFC 2743
//! framing); a MIC token is the 16-byte NTLMSSP signature (MS-NLMP §2.2.2.9); a wrap token is that signature
//! followed by the sealed (or, without confidentiality, plain) message.
#![forbid(unsafe_code)]

use std::sync::{Arc, OnceLock};

use crate::creds::config::Config;
use crate::creds::{self, Credential, Initiator as CredInitiator};
use crate::names::{Name, NameSystem};
use crate::ntlm::acceptor::{Acceptor, AcceptorConfig, AcceptorStep};
use crate::ntlm::config::LmCompatLevel;
use crate::ntlm::context::Established;
use crate::ntlm::crypto::Side;
use crate::ntlm::env::SystemEnvironment;
use crate::ntlm::error::NtlmError;
use crate::ntlm::flags::NegotiateFlags;
use crate::ntlm::initiator::{
    Initiator, InitiatorConfig, InitiatorCredential, InitiatorStep, Requested,
};
use crate::ntlm::security::{SecurityError, SessionSecurity};
use crate::ntlm::validator::{BackendAnswer, Refusal};
use crate::oids;
use crate::status::*;

mod errors;
mod establish;
mod export;
mod message;

pub use errors::ntlm_error;
use errors::*;
use export::*;
use message::*;

/// GSS context flags (RFC 2744 §5.19, MIT `gssapi.h`).
pub mod flags {
    /// GSS_C_DELEG_FLAG.
    pub const DELEG: u32 = 1;
    /// GSS_C_MUTUAL_FLAG.
    pub const MUTUAL: u32 = 2;
    /// GSS_C_REPLAY_FLAG.
    pub const REPLAY: u32 = 4;
    /// GSS_C_SEQUENCE_FLAG.
    pub const SEQUENCE: u32 = 8;
    /// GSS_C_CONF_FLAG.
    pub const CONF: u32 = 16;
    /// GSS_C_INTEG_FLAG.
    pub const INTEG: u32 = 32;
    /// GSS_C_ANON_FLAG.
    pub const ANON: u32 = 64;
    /// GSS_C_PROT_READY_FLAG.
    pub const PROT_READY: u32 = 128;
    /// GSS_C_TRANS_FLAG.
    pub const TRANS: u32 = 256;
    /// GSS_C_CHANNEL_BOUND_FLAG (MIT krb5 ≥ 1.19 `gssapi_ext.h`): acceptor only, when its channel bindings
    /// were matched by the initiator's.
    pub const CHANNEL_BOUND: u32 = 2048;
    /// GSS_C_IDENTIFY_FLAG (SSPI extension).
    pub const IDENTIFY: u32 = 0x2000;
    /// GSS_C_DATAGRAM_FLAG (gss-ntlmssp's private value).
    pub const DATAGRAM: u32 = 0x1_0000;
}

/// Where a context is.
#[derive(Debug)]
enum State {
    Initiating(Initiator),
    Accepting(Acceptor),
    Established(Box<Established>),
}

/// A security context, on either side.
#[derive(Debug)]
pub struct SecContext {
    state: State,
    /// Our own name (initiator: the user; acceptor: the service), when known.
    local: Option<Name>,
    /// The target: initiator — the service we authenticate to; acceptor without a service name of its own
    /// (no credential name, or a host only) — the SPN the initiator targeted, once its AUTHENTICATE verified.
    target: Option<Name>,
    /// The debug log file (`GSS_NEGOTIATE_DEBUG` / `GSSNTLMSSP_DEBUG`), if any.
    log: Option<std::path::PathBuf>,
    /// Who writes the negotiation's audit record.
    audit: AuditBy,
    /// Acceptor: which back-end validated the AUTHENTICATE, and whether it refused.
    answer: Option<BackendAnswer>,
}

/// Who writes the audit record ([`crate::audit`]) of a negotiation a context takes part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditBy {
    /// The context itself (raw NTLM, e.g. under MIT's SPNEGO): [`crate::policy::raw`].
    #[default]
    Context,
    /// Our SPNEGO engine, which drives the context and writes the negotiation's one record itself.
    Spnego,
}

/// What one step of context establishment produced.
#[derive(Debug)]
pub struct Step {
    /// The token to send (may be empty).
    pub output: Vec<u8>,
    /// True when the context is established.
    pub complete: bool,
}

impl SecContext {
    /// Acceptor: which back-end validated the initiator's AUTHENTICATE and whether it refused (`None` before
    /// the AUTHENTICATE, or when no back-end was asked). For the audit record of a negotiation that drives
    /// this context (our SPNEGO engine, [`AuditBy::Spnego`]).
    pub fn backend_answer(&self) -> Option<&BackendAnswer> {
        self.answer.as_ref()
    }

    fn log(&self, message: std::fmt::Arguments<'_>) {
        crate::debug::event(self.log.as_deref(), message);
    }

    /// The established state, or `GSS_S_NO_CONTEXT` while the exchange is in progress.
    pub fn established(&self) -> Result<&Established, GssError> {
        match &self.state {
            State::Established(e) => Ok(e),
            _ => Err(no_context()),
        }
    }

    fn established_mut(&mut self) -> Result<&mut Established, GssError> {
        match &mut self.state {
            State::Established(e) => Ok(e),
            _ => Err(no_context()),
        }
    }

    /// True once the context is established.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Established(_))
    }

    /// True for a context made by `gss_init_sec_context`.
    pub fn is_initiator(&self) -> bool {
        match &self.state {
            State::Initiating(_) => true,
            State::Accepting(_) => false,
            State::Established(e) => e.side == Side::Client,
        }
    }

    /// The GSS flags the context offers (what was negotiated; what will be asked while in progress).
    pub fn gss_flags(&self) -> u32 {
        let State::Established(e) = &self.state else {
            return flags::INTEG | flags::CONF | flags::REPLAY | flags::SEQUENCE | flags::TRANS;
        };
        let mut f = flags::TRANS;
        let neg = e.flags;
        if neg.intersects(NegotiateFlags::SIGN | NegotiateFlags::SEAL) {
            f |= flags::INTEG | flags::REPLAY | flags::SEQUENCE;
        }
        if neg.contains(NegotiateFlags::SEAL) {
            f |= flags::CONF;
        }
        if neg.contains(NegotiateFlags::DATAGRAM) {
            // Datagram session security takes the sequence number from each message and keeps no window of
            // numbers seen, so it detects neither replays nor reordering: say so.
            f = (f | flags::DATAGRAM) & !(flags::SEQUENCE | flags::REPLAY);
        }
        if neg.contains(NegotiateFlags::IDENTIFY) {
            f |= flags::IDENTIFY;
        }
        if e.is_anonymous() {
            f |= flags::ANON;
        }
        if e.channel_bound && e.side == Side::Server {
            f |= flags::CHANNEL_BOUND;
        }
        f
    }

    /// The initiator's name (`src_name`): the authenticated user.
    pub fn source_name(&self) -> Option<Name> {
        match &self.state {
            State::Established(e) if e.side == Side::Server => Some(if e.is_anonymous() {
                Name::Anonymous
            } else {
                Name::User {
                    user: e.user.clone(),
                    domain: (!e.domain.is_empty()).then(|| e.domain.clone()),
                }
            }),
            _ if self.is_initiator() => self.local.clone(),
            _ => None,
        }
    }

    /// The display form of [`SecContext::source_name`] (the same text as its `display()`), without building the
    /// name.
    pub fn source_display(&self) -> Option<String> {
        match &self.state {
            State::Established(e) if e.side == Side::Server => Some(if e.is_anonymous() {
                Name::Anonymous.display()
            } else {
                Name::display_user(&e.user, (!e.domain.is_empty()).then_some(e.domain.as_str()))
            }),
            _ if self.is_initiator() => self.local.as_ref().map(Name::display),
            _ => None,
        }
    }

    /// The name attributes of `source_name` (acceptor side, once established; empty otherwise).
    pub fn source_attrs(&self) -> crate::name_attrs::NameAttrs {
        match &self.state {
            State::Established(e) if e.side == Side::Server => e.attrs.clone(),
            _ => Default::default(),
        }
    }

    /// The acceptor's name (`targ_name`). An acceptor with no service name of its own reports the SPN the
    /// initiator targeted (its verified MsvAvTargetName) once established, else its own name.
    pub fn target_name(&self) -> Option<Name> {
        if self.is_initiator() {
            self.target.clone()
        } else {
            self.target.clone().or_else(|| self.local.clone())
        }
    }

    /// `gss_get_mic`.
    pub fn get_mic(&mut self, qop: u32, msg: &[u8]) -> Result<[u8; 16], GssError> {
        check_qop(qop)?;
        Ok(self.established_mut()?.security.sign(msg))
    }

    /// Makes ahead, side by side, the checksums that the next [`get_mic`](Self::get_mic) and
    /// [`verify_mic`](Self::verify_mic) of `msg` need ([`SessionSecurity::prime`]): for SPNEGO, which signs
    /// the MechTypeList and checks the peer's signature over it. Does nothing on a half-built context.
    pub fn prime_mic(&mut self, msg: &[u8]) {
        if let State::Established(est) = &mut self.state {
            est.security.prime(msg);
        }
    }

    /// `gss_verify_mic`.
    pub fn verify_mic(&mut self, msg: &[u8], token: &[u8]) -> Result<(), GssError> {
        if token.len() != SessionSecurity::SIGNATURE_LEN {
            return Err(GssError::with_detail(
                GSS_S_DEFECTIVE_TOKEN,
                Minor::MalformedToken,
                format!("MIC token is {} bytes, expected 16", token.len()),
            ));
        }
        self.established_mut()?
            .security
            .verify(msg, token)
            .map_err(security_error)
    }

    /// `gss_wrap`: signature || message, sealed when confidentiality was negotiated. Returns the token and
    /// whether it is encrypted.
    pub fn wrap(&mut self, qop: u32, msg: &[u8]) -> Result<(Vec<u8>, bool), GssError> {
        self.wrap_with(qop, msg, |n| Ok(vec![0u8; n]))
    }

    /// `gss_wrap` into storage from `alloc(n)` (`n` = 16 + message length; it must give at least `n` bytes):
    /// a sealed message is encrypted straight into it, a signed-only one copied there.
    pub fn wrap_with<B: AsMut<[u8]>>(
        &mut self,
        qop: u32,
        msg: &[u8],
        alloc: impl FnOnce(usize) -> Result<B, GssError>,
    ) -> Result<(B, bool), GssError> {
        check_qop(qop)?;
        let est = self.established_mut()?;
        let n = SessionSecurity::SIGNATURE_LEN
            .checked_add(msg.len())
            .ok_or_else(too_long)?;
        let mut out = alloc(n)?;
        let buf = out.as_mut().get_mut(..n).ok_or_else(too_long)?;
        let (head, body) = buf.split_at_mut(SessionSecurity::SIGNATURE_LEN);
        if seals(est.flags) {
            // Encrypt straight from the caller's message into the output (no copy pass).
            let sig = est.security.seal_to(msg, body).ok_or_else(too_long)?;
            head.copy_from_slice(&sig);
            return Ok((out, true));
        }
        body.copy_from_slice(msg);
        let sealed = wrap_in_place(est, body, head)?;
        Ok((out, sealed))
    }

    /// `gss_unwrap`: returns the message and whether it was encrypted.
    pub fn unwrap(&mut self, token: &[u8]) -> Result<(Vec<u8>, bool), GssError> {
        self.unwrap_with(token, |n| Ok(vec![0u8; n]))
    }

    /// `gss_unwrap` into storage from `alloc(n)` (`n` = the message length; it must give at least `n` bytes):
    /// a sealed body is decrypted straight into it, a signed-only one copied there and verified.
    pub fn unwrap_with<B: AsMut<[u8]>>(
        &mut self,
        token: &[u8],
        alloc: impl FnOnce(usize) -> Result<B, GssError>,
    ) -> Result<(B, bool), GssError> {
        let est = self.established_mut()?;
        let (sig, body) = split_wrap_token(token)?;
        let mut out = alloc(body.len())?;
        let msg = out.as_mut().get_mut(..body.len()).ok_or_else(too_long)?;
        if est.flags.contains(NegotiateFlags::SEAL) {
            // Decrypt straight from the token into the output (no copy pass); on error the output is zeroed.
            est.security
                .unseal_to(body, msg, sig)
                .map_err(security_error)?;
            return Ok((out, true));
        }
        // SEAL not negotiated: signed-only or sealed anyway, decided in place (`unwrap_in_place`).
        msg.copy_from_slice(body);
        let sealed = unwrap_in_place(est, msg, sig)?;
        Ok((out, sealed))
    }

    /// Seals or signs `body` in place and writes the 16-byte signature into `header` (the IOV form of wrap).
    pub fn wrap_parts(
        &mut self,
        qop: u32,
        body: &mut [u8],
        header: &mut [u8],
    ) -> Result<bool, GssError> {
        check_qop(qop)?;
        wrap_in_place(self.established_mut()?, body, header)
    }

    /// Verifies and unseals `body` in place given its 16-byte signature (the IOV form of unwrap).
    pub fn unwrap_parts(&mut self, body: &mut [u8], signature: &[u8]) -> Result<bool, GssError> {
        unwrap_in_place(self.established_mut()?, body, signature)
    }

    /// `gss_wrap_size_limit`: the largest message whose wrap token fits in `max_output`.
    pub fn wrap_size_limit(&self, qop: u32, max_output: u32) -> Result<u32, GssError> {
        check_qop(qop)?;
        self.established()?;
        Ok(max_output.saturating_sub(SessionSecurity::SIGNATURE_LEN as u32))
    }

    /// Whether the AUTHENTICATE carried an NTLM MIC: what [`oids::SPNEGO_REQUIRE_MIC`] reports, without
    /// building the inquiry's buffers (our SPNEGO asks it directly).
    pub fn mic_present(&self) -> bool {
        matches!(&self.state, State::Established(e) if e.mic_present)
    }

    /// `gss_inquire_sec_context_by_oid`: the buffers answering `oid`.
    pub fn inquire_by_oid(&self, oid: &[u8]) -> Result<Vec<Vec<u8>>, GssError> {
        if oid == oids::SPNEGO_REQUIRE_MIC {
            // MIT SPNEGO asks after every step; the truth is known once the AUTHENTICATE was made or checked.
            return Ok(vec![vec![u8::from(self.mic_present())]]);
        }
        if oid == oids::INQ_SSPI_SESSION_KEY {
            // On a half-built context the key does not exist yet: GSS_S_UNAVAILABLE, as gss-ntlmssp answers
            // (pyspnego 0.6 probes this after the first step and takes NO_CONTEXT for "no NTLM").
            let State::Established(est) = &self.state else {
                return Err(GssError::with_detail(
                    GSS_S_UNAVAILABLE,
                    Minor::ContextIncomplete,
                    "the session key exists once the context is established",
                ));
            };
            return Ok(vec![est.session_key.as_bytes().to_vec()]);
        }
        let est = self.established()?;
        if oid == oids::SEC_CONTEXT_SASL_SSF {
            return Ok(vec![sasl_ssf(est.flags).to_be_bytes().to_vec()]);
        }
        Err(GssError::with_detail(
            GSS_S_UNAVAILABLE,
            Minor::UnknownOption,
            oids::to_dotted(oid).unwrap_or_else(|| "(malformed OID)".into()),
        ))
    }

    /// The `oids::RESET_CRYPTO` option of [`SecContext::set_option`] (value 1: `recv`), which MIT's SPNEGO sets
    /// after each mechListMIC, for a caller that has the direction at hand: resets that RC4 handle to the start
    /// of its keystream. A half-built context has no keystream yet (it starts at the beginning once
    /// established), so a reset there is already true: GSS_S_COMPLETE, as gss-ntlmssp answers (pyspnego 0.6
    /// probes it).
    pub fn reset_crypto(&mut self, recv: bool) {
        if let State::Established(est) = &mut self.state {
            est.security.reset_rc4(recv);
        }
    }

    /// `gss_set_sec_context_option`.
    pub fn set_option(&mut self, oid: &[u8], value: &[u8]) -> Result<(), GssError> {
        let number = || -> Result<u32, GssError> {
            let b: [u8; 4] = value.try_into().map_err(|_| {
                GssError::with_detail(GSS_S_FAILURE, Minor::BadOptionValue, "need a 4-byte value")
            })?;
            Ok(u32::from_ne_bytes(b))
        };
        if oid == oids::RESET_CRYPTO {
            self.reset_crypto(number()? == 1);
            return Ok(());
        }
        if oid == oids::SET_SEQ_NUM {
            let seq = number()?;
            self.established_mut()?.security.set_seq(seq, seq);
            return Ok(());
        }
        Err(GssError::with_detail(
            GSS_S_UNAVAILABLE,
            Minor::UnknownOption,
            oids::to_dotted(oid).unwrap_or_else(|| "(malformed OID)".into()),
        ))
    }

    /// `gss_export_sec_context`: a token that [`SecContext::import`] turns back into the same context.
    pub fn export(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, GssError> {
        let est = self.established()?;
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(700));
        out.extend_from_slice(EXPORT_MAGIC);
        for name in [&self.local, &self.target] {
            write_name(&mut out, name.as_ref());
        }
        out.extend_from_slice(&est.export());
        Ok(out)
    }

    /// The NTLM context a SPNEGO negotiation ended with, as an ordinary NTLM context, so that the interposer's
    /// per-message calls and export reuse the NTLM mechanism's own code (`None` when `mech` is not a complete
    /// NTLM context). `local` and `target` are the names the caller gave the SPNEGO context.
    pub fn from_spnego_ntlm(
        mech: Box<dyn crate::spnego::mech::Mechanism>,
        local: Option<Name>,
        target: Option<Name>,
    ) -> Option<SecContext> {
        let ntlm = mech
            .into_any()
            .downcast::<crate::spnego::mech::NtlmMech>()
            .ok()?;
        let est = ntlm.into_established()?;
        Some(SecContext {
            state: State::Established(est),
            local,
            target,
            log: None,
            audit: AuditBy::Context,
            answer: None,
        })
    }

    /// `gss_import_sec_context`.
    pub fn import(token: &[u8]) -> Result<SecContext, GssError> {
        let bad = |why: &'static str| ntlm_error(NtlmError::BadContextBlob(why));
        let rest = token
            .strip_prefix(EXPORT_MAGIC.as_slice())
            .ok_or_else(|| bad("bad magic"))?;
        let (local, rest) = read_name(rest).map_err(|_| bad("bad local name"))?;
        let (target, rest) = read_name(rest).map_err(|_| bad("bad target name"))?;
        let est = Established::import(rest).map_err(ntlm_error)?;
        Ok(SecContext {
            state: State::Established(Box::new(est)),
            local,
            target,
            log: None,
            audit: AuditBy::Context,
            answer: None,
        })
    }
}
