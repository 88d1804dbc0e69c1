//! NTLM inside SPNEGO from the interposer's own credential and name objects: a [`Mechanism`] over the GSS
//! context layer ([`SecContext`]), which is what the `gssi_*` entry points receive (a [`Credential`] from
//! `gssi_acquire_cred*`, a [`Name`] from `gssi_import_name_by_mech`). The mechListMIC interplay is the one MIT's
//! SPNEGO uses with this mechanism: the "MIC required" inquiry and the RC4 reset option (`crate::oids`).

use std::any::Any;

use super::mech::{MechError, MechFailure, MechStep, Mechanism};
use crate::context::{flags, AuditBy, SecContext, Step};
use crate::creds::config::Config;
use crate::creds::Credential;
use crate::names::{Name, NameSystem};
use crate::ntlm::validator::BackendAnswer;
use crate::status::GssError;

/// An NTLM context of the GSS layer as a SPNEGO mechanism.
#[derive(Debug)]
pub struct GssNtlmMech {
    ctx: SecContext,
    /// The initiator's first token, made when the context was created.
    first: Option<Step>,
    channel_bindings: Option<[u8; 16]>,
}

#[cold]
#[inline(never)]
fn mech_error(e: GssError) -> MechError {
    let kind = match e.major >> 16 {
        7 => MechFailure::NoCredentials,
        6 => MechFailure::Rejected,
        9 | 10 => MechFailure::Defective,
        _ => MechFailure::Other,
    };
    MechError::new(kind, e.to_string())
}

impl GssNtlmMech {
    /// An initiator with `cred` (or the default credential) towards `target`.
    pub fn initiator(
        cred: Option<Credential>,
        target: Option<Name>,
        req_flags: u32,
        cfg: &Config,
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<GssNtlmMech, MechError> {
        Self::initiator_borrowed(cred.as_ref(), target, req_flags, cfg, channel_bindings)
    }

    /// [`GssNtlmMech::initiator`] with a borrowed credential (not copied).
    pub fn initiator_borrowed(
        cred: Option<&Credential>,
        target: Option<Name>,
        req_flags: u32,
        cfg: &Config,
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<GssNtlmMech, MechError> {
        // The SPNEGO engine writes the negotiation's one audit record; the NTLM context stays silent.
        let (ctx, first) =
            SecContext::initiate_borrowed(cred, target, req_flags, cfg, AuditBy::Spnego)
                .map_err(mech_error)?;
        Ok(GssNtlmMech {
            ctx,
            first: Some(first),
            channel_bindings,
        })
    }

    /// An acceptor with `cred` (or the default acceptor credential).
    pub fn acceptor(
        cred: Option<Credential>,
        cfg: &Config,
        sys: &dyn NameSystem,
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<GssNtlmMech, MechError> {
        let ctx =
            SecContext::accept_audited(cred, cfg, sys, AuditBy::Spnego).map_err(mech_error)?;
        Ok(GssNtlmMech {
            ctx,
            first: None,
            channel_bindings,
        })
    }

    /// [`GssNtlmMech::acceptor`] with a borrowed credential (not copied) and the policy's
    /// `require_channel_bindings` as the SPNEGO engine read it (not looked up again).
    pub fn acceptor_borrowed(
        cred: Option<&Credential>,
        cfg: &Config,
        sys: &dyn NameSystem,
        channel_bindings: Option<[u8; 16]>,
        require_channel_bindings: bool,
    ) -> Result<GssNtlmMech, MechError> {
        let ctx = SecContext::accept_spnego(cred, cfg, sys, require_channel_bindings)
            .map_err(mech_error)?;
        Ok(GssNtlmMech {
            ctx,
            first: None,
            channel_bindings,
        })
    }

    /// A mechanism over an established context (an imported one: nothing left to negotiate).
    pub fn established(ctx: SecContext) -> GssNtlmMech {
        GssNtlmMech {
            ctx,
            first: None,
            channel_bindings: None,
        }
    }

    /// The context, for per-message calls and export once the negotiation is over.
    pub fn context(&self) -> &SecContext {
        &self.ctx
    }

    /// The context, moved out.
    pub fn into_context(self) -> SecContext {
        self.ctx
    }

    /// [`GssNtlmMech::context`], mutable.
    pub fn context_mut(&mut self) -> &mut SecContext {
        &mut self.ctx
    }
}

impl Mechanism for GssNtlmMech {
    fn step(&mut self, input: Option<&[u8]>) -> Result<MechStep, MechError> {
        let step = match (self.first.take(), input) {
            (Some(first), None) => first,
            (None, Some(tok)) if self.ctx.is_initiator() => self
                .ctx
                .init_step(Some(tok), self.channel_bindings)
                .map_err(mech_error)?,
            (None, Some(tok)) => self
                .ctx
                .accept_step(tok, self.channel_bindings)
                .map_err(mech_error)?,
            _ => {
                return Err(MechError::new(
                    MechFailure::Defective,
                    "NTLM: a token is missing or unexpected",
                ))
            }
        };
        Ok(MechStep {
            output: step.output,
            complete: step.complete,
        })
    }

    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, MechError> {
        Ok(self.ctx.get_mic(0, msg).map_err(mech_error)?.to_vec())
    }

    fn get_mic16(&mut self, msg: &[u8]) -> Option<Result<[u8; 16], MechError>> {
        Some(self.ctx.get_mic(0, msg).map_err(mech_error))
    }

    fn prime_mic(&mut self, msg: &[u8]) {
        self.ctx.prime_mic(msg);
    }

    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), MechError> {
        self.ctx.verify_mic(msg, mic).map_err(mech_error)
    }

    fn integrity(&self) -> bool {
        self.ctx.is_open() && self.ctx.gss_flags() & flags::INTEG != 0
    }

    fn requires_mic(&self) -> bool {
        // What MIT's SPNEGO learns from the inquiry `oids::SPNEGO_REQUIRE_MIC`, asked directly.
        self.ctx.mic_present()
    }

    fn after_mic(&mut self, verified: bool) {
        // MIT's SPNEGO sets the option `oids::RESET_CRYPTO` with the direction the MIC used (1: receive);
        // the context's own reset, without encoding the option and its value to parse them again.
        self.ctx.reset_crypto(verified);
    }

    fn peer_name(&self) -> Option<String> {
        self.ctx.source_display()
    }

    fn backend(&self) -> Option<BackendAnswer> {
        self.ctx.backend_answer().cloned()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}
