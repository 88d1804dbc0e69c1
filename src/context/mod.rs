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

/// The process-wide [`SystemEnvironment`] (one shared `Arc` instead of one per context).
fn system_environment() -> Arc<SystemEnvironment> {
    static ENV: OnceLock<Arc<SystemEnvironment>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(SystemEnvironment)).clone()
}

fn hostname_parts(sys: &dyn NameSystem) -> (String, String) {
    let host = sys.hostname().unwrap_or_default();
    let domain = host
        .split_once('.')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    (host, domain)
}

fn level(cfg: &Config) -> LmCompatLevel {
    LmCompatLevel::new(cfg.lm_compat_level).unwrap_or_default()
}

/// The SPN for a target name: `service/host` for a host-based service.
fn spn_of(name: Option<&Name>) -> Option<String> {
    match name {
        Some(Name::Service { spn: Some(spn), .. }) => Some(spn.clone()),
        _ => None,
    }
}

fn requested_of(req_flags: u32) -> Requested {
    // NTLM keys are negotiated once: ask for signing and sealing up front (as Windows and gss-ntlmssp do), so
    // that wrap works whatever the caller asked for; the returned flags say what was agreed.
    Requested {
        sign: true,
        seal: true,
        datagram: req_flags & flags::DATAGRAM != 0,
        identify: req_flags & flags::IDENTIFY != 0,
    }
}

impl SecContext {
    /// Starts an initiator: `gss_init_sec_context` with no context yet. Returns the context and its first step.
    pub fn initiate(
        cred: Option<Credential>,
        target: Option<Name>,
        req_flags: u32,
        cfg: &Config,
    ) -> Result<(SecContext, Step), GssError> {
        Self::initiate_audited(cred, target, req_flags, cfg, AuditBy::Context)
    }

    /// [`SecContext::initiate`], with the audit record written by `audit`.
    pub fn initiate_audited(
        cred: Option<Credential>,
        target: Option<Name>,
        req_flags: u32,
        cfg: &Config,
        audit: AuditBy,
    ) -> Result<(SecContext, Step), GssError> {
        let base_flags = cred.as_ref().and_then(|c| c.neg_flags).map(NegotiateFlags);
        // A failure before the context exists is logged here (or by `acquire_initiator`); later ones by
        // `init_step`.
        let init = match cred {
            _ if req_flags & flags::ANON != 0 => CredInitiator::Anonymous,
            Some(Credential {
                initiator: Some(i), ..
            }) => i,
            Some(_) => {
                let e = GssError::with_detail(
                    GSS_S_NO_CRED,
                    Minor::BadCredUsage,
                    "the credential cannot initiate",
                );
                crate::debug::event(
                    cfg.debug_file.as_deref(),
                    format_args!("initiator: failed: {e}"),
                );
                return Err(e);
            }
            None => creds::acquire_initiator(None, None, cfg)?,
        };
        let (credential, local) = match &init {
            CredInitiator::User {
                user,
                domain,
                nt_hash,
                lm_hash,
            } => (
                InitiatorCredential::User {
                    user: user.clone(),
                    domain: domain.clone().unwrap_or_default(),
                    nt_hash: nt_hash.clone(),
                    lm_hash: lm_hash.clone(),
                },
                Name::User {
                    user: user.clone(),
                    domain: domain.clone(),
                },
            ),
            CredInitiator::Anonymous => (InitiatorCredential::Anonymous, Name::Anonymous),
            CredInitiator::Winbind { user, domain } => (
                InitiatorCredential::Cached {
                    user: user.clone(),
                    domain: domain.clone(),
                    source: std::sync::Arc::new(crate::creds::winbind::WinbindCached {
                        user: user.clone(),
                        domain: domain.clone(),
                    }),
                },
                Name::User {
                    user: user.clone(),
                    domain: Some(domain.clone()),
                },
            ),
        };
        // Inside our SPNEGO the engine has applied the policy (once per negotiation).
        if audit == AuditBy::Context {
            crate::policy::raw::check_outgoing(spn_of(target.as_ref()).as_deref(), true)?;
        }
        let mut icfg = InitiatorConfig::new(credential, system_environment());
        icfg.workstation = cfg.netbios_computer_name.clone();
        icfg.target_spn = spn_of(target.as_ref());
        icfg.lm_compat_level = level(cfg);
        icfg.requested = requested_of(req_flags);
        icfg.base_flags = base_flags;
        let mut ctx = SecContext {
            state: State::Initiating(Initiator::new(icfg)),
            local: Some(local),
            target,
            log: cfg.debug_file.clone(),
            audit,
            answer: None,
        };
        if ctx.log.is_some() {
            ctx.log(format_args!(
                "initiator: {} -> {} (req_flags {req_flags:#x}, LM_COMPAT_LEVEL {})",
                ctx.local.as_ref().map(Name::display).unwrap_or_default(),
                ctx.target
                    .as_ref()
                    .map(Name::display)
                    .unwrap_or_else(|| "(no target)".into()),
                cfg.lm_compat_level
            ));
        }
        let step = ctx.init_step(None, None)?;
        Ok((ctx, step))
    }

    /// Continues an initiator with the peer's token.
    pub fn init_step(
        &mut self,
        input: Option<&[u8]>,
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<Step, GssError> {
        let State::Initiating(init) = &mut self.state else {
            return Err(GssError::with_detail(
                GSS_S_FAILURE,
                Minor::BadSequence,
                "context is not an initiator in progress",
            ));
        };
        let result = std::mem::take(init)
            .step(input, channel_bindings)
            .map_err(ntlm_error);
        match result {
            Err(e) => {
                self.log(format_args!("initiator: failed: {e}"));
                if self.audit == AuditBy::Context {
                    crate::policy::raw::initiator_done(
                        spn_of(self.target.as_ref()).as_deref(),
                        Some(&e),
                    );
                }
                Err(e)
            }
            Ok(InitiatorStep::Continue(next, output)) => {
                *init = next;
                self.log(format_args!("initiator: NEGOTIATE sent"));
                Ok(Step {
                    output,
                    complete: false,
                })
            }
            Ok(InitiatorStep::Done(est, output)) => {
                self.log(format_args!(
                    "initiator: AUTHENTICATE sent ({:?}, MIC {}, {:?})",
                    est.kind, est.mic_present, est.flags
                ));
                self.state = State::Established(est);
                if self.audit == AuditBy::Context {
                    crate::policy::raw::initiator_done(
                        spn_of(self.target.as_ref()).as_deref(),
                        None,
                    );
                }
                Ok(Step {
                    output,
                    complete: true,
                })
            }
        }
    }

    /// Starts an acceptor: `gss_accept_sec_context` with no context yet.
    pub fn accept(
        cred: Option<Credential>,
        cfg: &Config,
        sys: &dyn NameSystem,
    ) -> Result<SecContext, GssError> {
        Self::accept_audited(cred, cfg, sys, AuditBy::Context)
    }

    /// [`SecContext::accept`], with the audit record written by `audit`.
    pub fn accept_audited(
        cred: Option<Credential>,
        cfg: &Config,
        sys: &dyn NameSystem,
        audit: AuditBy,
    ) -> Result<SecContext, GssError> {
        let log_failure = |e: &GssError| {
            crate::debug::event(
                cfg.debug_file.as_deref(),
                format_args!("acceptor: refused: {e}"),
            )
        };
        let cred = match cred {
            Some(c) if c.acceptor.is_some() => c,
            Some(_) => {
                let e = GssError::with_detail(
                    GSS_S_NO_CRED,
                    Minor::BadCredUsage,
                    "the credential cannot accept",
                );
                log_failure(&e);
                return Err(e);
            }
            None => Credential {
                acceptor: Some(creds::acquire_acceptor(None, None, sys).inspect_err(log_failure)?),
                ..Credential::default()
            },
        };
        let validator = cred.acceptor_validator(cfg).inspect_err(log_failure)?;
        let own = cred.acceptor.as_ref().map(|a| a.name.clone());
        let backend = validator.name();
        let mut acfg = AcceptorConfig::with_validator(validator, system_environment());
        let (host, dns_domain) = hostname_parts(sys);
        acfg.netbios_computer = cfg.netbios_computer_name.clone();
        acfg.netbios_domain = cfg.netbios_domain_name.clone();
        if cfg.netbios_domain_name == crate::creds::config::DEFAULT_NETBIOS_DOMAIN {
            // No NETBIOS_DOMAIN_NAME: a domain member's CHALLENGE names its domain.
            if let Some(d) = acfg.validator.netbios_domain() {
                acfg.netbios_domain = d;
            }
        }
        acfg.dns_computer = host;
        acfg.dns_domain = dns_domain;
        acfg.target_spn = spn_of(own.as_ref());
        acfg.lm_compat_level = level(cfg);
        acfg.allow_anonymous = cfg.allow_anonymous;
        let policy_cb = match audit {
            AuditBy::Context => crate::policy::raw::check_incoming_start(true)?,
            // Our SPNEGO engine decided; the channel bindings the policy requires still hold.
            AuditBy::Spnego => crate::policy::current()
                .map(|p| p.require_channel_bindings)
                .map_err(|e| {
                    GssError::with_detail(GSS_S_FAILURE, Minor::BadPolicy, e.to_string())
                })?,
        };
        acfg.require_channel_bindings = policy_cb || cfg.require_channel_bindings;
        if let Some(allowed) = cred.neg_flags {
            acfg.allowed_flags = NegotiateFlags(allowed);
        }
        let ctx = SecContext {
            state: State::Accepting(Acceptor::new(acfg)),
            local: own,
            target: None,
            log: cfg.debug_file.clone(),
            audit,
            answer: None,
        };
        if ctx.log.is_some() {
            ctx.log(format_args!(
                "acceptor: as {} (LM_COMPAT_LEVEL {}, back-end {backend})",
                ctx.local.as_ref().map(Name::display).unwrap_or_default(),
                cfg.lm_compat_level
            ));
        }
        Ok(ctx)
    }

    /// Continues an acceptor with the initiator's token.
    pub fn accept_step(
        &mut self,
        input: &[u8],
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<Step, GssError> {
        let State::Accepting(acc) = &mut self.state else {
            return Err(GssError::with_detail(
                GSS_S_FAILURE,
                Minor::BadSequence,
                "context is not an acceptor in progress",
            ));
        };
        if input.is_empty() {
            return Err(GssError::with_detail(
                GSS_S_DEFECTIVE_TOKEN,
                Minor::MalformedToken,
                "empty input token",
            ));
        }
        let awaiting_authenticate = matches!(acc, Acceptor::AwaitAuthenticate(_));
        let backend = if self.log.is_some() && awaiting_authenticate {
            acc.validator()
        } else {
            None
        };
        let result = std::mem::take(acc)
            .step_answered(input, channel_bindings, &mut self.answer)
            .map_err(ntlm_error);
        let answer = self.answer.clone();
        let audit = self.audit == AuditBy::Context;
        if let Some(stats) = backend.and_then(|v| v.stats()) {
            crate::debug::event(self.log.as_deref(), format_args!("acceptor: {stats}"));
        }
        match result {
            Err(e) => {
                self.log(format_args!("acceptor: refused: {e}"));
                if audit {
                    crate::policy::raw::acceptor_failed(&e, answer.as_ref());
                }
                Err(e)
            }
            Ok(AcceptorStep::Continue(next, output)) => {
                *acc = next;
                self.log(format_args!("acceptor: CHALLENGE sent"));
                Ok(Step {
                    output,
                    complete: false,
                })
            }
            Ok(AcceptorStep::Done(est)) => {
                let client = crate::ntlm::error::display_user(&est.domain, &est.user);
                let checked = if audit {
                    crate::policy::raw::check_incoming_client(&client, answer.as_ref(), true)
                } else {
                    Ok(())
                };
                if let Err(e) = checked {
                    self.log(format_args!("acceptor: refused: {e}"));
                    return Err(e);
                }
                if self.log.is_some() {
                    // Only with a debug log: building the user's display name allocates.
                    self.log(format_args!(
                        "acceptor: authenticated {} from workstation \"{}\" ({:?}, MIC {}, {:?})",
                        crate::ntlm::error::display_user(&est.domain, &est.user),
                        crate::ntlm::error::escape(&est.workstation),
                        est.kind,
                        est.mic_present,
                        est.flags
                    ));
                }
                if spn_of(self.local.as_ref()).is_none() {
                    // We checked no SPN (there was none to check against): report the one the client
                    // targeted, as MIT's krb5 reports the ticket's server. A client that sent none (or one
                    // that is no `service/host` SPN) leaves our own name in place.
                    self.target = est.client_target_spn.as_deref().and_then(Name::from_spn);
                }
                self.state = State::Established(est);
                Ok(Step {
                    output: Vec::new(),
                    complete: true,
                })
            }
        }
    }

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

    /// `gss_set_sec_context_option`.
    pub fn set_option(&mut self, oid: &[u8], value: &[u8]) -> Result<(), GssError> {
        let number = || -> Result<u32, GssError> {
            let b: [u8; 4] = value.try_into().map_err(|_| {
                GssError::with_detail(GSS_S_FAILURE, Minor::BadOptionValue, "need a 4-byte value")
            })?;
            Ok(u32::from_ne_bytes(b))
        };
        if oid == oids::RESET_CRYPTO {
            let recv = number()? == 1;
            // A half-built context has no keystream yet (it starts at the beginning once established), so a
            // reset there is already true: GSS_S_COMPLETE, as gss-ntlmssp answers (pyspnego 0.6 probes it).
            if let State::Established(est) = &mut self.state {
                est.security.reset_rc4(recv);
            }
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
