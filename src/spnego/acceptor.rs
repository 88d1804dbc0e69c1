//! The SPNEGO acceptor (RFC 4178 §3.2, §4.2, §5; MS-SPNG §3.2.5, §3.3.5): one state per expected message, each
//! step consuming the old state.
//!
//! - [`AcceptorStart::step`] takes the initiator's `NegTokenInit` and selects the first mechanism of the
//!   initiator's list that we accept (NTLM only where the incoming policy may allow it). When that is the
//!   initiator's first mechanism, its optimistic token is used (`accept-incomplete` or, if the mechanism is
//!   already complete, `accept-completed`); otherwise the token is dropped and the answer is `request-mic` with
//!   `supportedMech` (RFC 4178 §5: the MICs are then mandatory). When the optimistic token fails (a Kerberos
//!   ticket we cannot use) and the policy allows restarts, the acceptor selects the initiator's next acceptable
//!   mechanism with `request-mic` instead of answering `reject` — to the initiator this is an ordinary
//!   counter-proposal.
//! - [`AwaitResponse`] takes every later `NegTokenResp` until the mechanism is complete and the mechListMIC
//!   exchange (`src/spnego/mic.rs`) is settled. A client authenticated by NTLM is checked against the policy's
//!   exempt clients before anything is answered.
//!
//! [`AcceptorStart::advertise`] builds the `NegTokenInit2` (MS-SPNG §2.2.1) a server may send first. A failure
//! comes with the `reject` token to send ([`Failure`]). Every negotiation ends with one audit record
//! (`abandoned` when the state is dropped before the end: the client went away).
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::sync::Arc;

use super::error::SpnegoError;
use super::mech::{
    is_kerberos, is_ntlm, same_mech, MechEntry, MechError, MechFailure, MechSet, Mechanism,
};
use super::mic::{peer_mic, MicState};
use super::oid::Oid;
use super::pending::Pending;
use super::{
    encode_resp_around, DerError, Framing, NegHints, NegState, NegTokenInit, NegTokenResp,
    TokenView,
};

/// A token as [`TokenView::decode`] gave it: what the steps take when the caller has decoded it already.
pub(crate) type Decoded<'a> = Result<(TokenView<'a>, Framing), DerError>;
use crate::audit::{AuditSink, KerberosSkip, Record, Role};
use crate::policy::{Decision, Policy};

/// The hint name Windows puts in `NegTokenInit2` (MS-SPNG §3.2.5.2).
pub const HINT_NAME: &[u8] = b"not_defined_in_RFC4178@please_ignore";

/// What the acceptor needs.
#[derive(Clone)]
pub struct AcceptorConfig<M = Vec<MechEntry>> {
    /// The mechanisms we accept, most preferred first (for [`AcceptorStart::advertise`]; selection follows the
    /// initiator's order, RFC 4178 §3.2).
    pub mechs: M,
    /// The client's address, when the application knows it (policy exemptions, audit).
    pub peer_addr: Option<IpAddr>,
    /// The policy in force.
    pub policy: Arc<Policy>,
    /// Where the audit record goes.
    pub audit: Arc<dyn AuditSink>,
}

impl<M: MechSet> std::fmt::Debug for AcceptorConfig<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptorConfig")
            .field("mechs", &self.mechs.oids().collect::<Vec<_>>())
            .field("peer_addr", &self.peer_addr)
            .finish_non_exhaustive()
    }
}

/// A failed negotiation: the error and the `reject` token to send, when one is owed.
#[derive(Debug)]
pub struct Failure {
    /// Why.
    pub error: SpnegoError,
    /// `NegTokenResp { negState reject }`, when the initiator expects an answer.
    pub token: Option<Vec<u8>>,
}

/// The negotiated context.
#[derive(Debug)]
pub struct Established {
    /// The mechanism, as the initiator spelled its OID.
    pub mech_oid: Oid,
    /// Its context, for the per-message calls.
    pub mech: Box<dyn Mechanism>,
    /// Whether mechListMICs were exchanged.
    pub mic_exchanged: bool,
    /// The authenticated client, when the mechanism says (the `peer` of the audit record written).
    pub peer: Option<String>,
}

impl Established {
    /// The authenticated client, when the mechanism says.
    pub fn peer(&self) -> Option<&str> {
        self.peer.as_deref()
    }
}

/// What a step produced.
// `Done` is built once per negotiation and taken apart by the caller at once: inline, it costs a move;
// boxed, an allocation and a free per negotiation (~290 instructions per SPNEGO handshake, callgrind).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AcceptorStep<M: MechSet = Vec<MechEntry>> {
    /// Send the token and wait for the initiator's next one.
    Continue(Acceptor<M>, Vec<u8>),
    /// Established; send the token when there is one.
    Done(Established, Option<Vec<u8>>),
}

/// The acceptor between messages.
#[derive(Debug)]
pub enum Acceptor<M: MechSet = Vec<MechEntry>> {
    /// A mechanism is selected; the initiator's next `NegTokenResp` is expected.
    AwaitResponse(AwaitResponse<M>),
}

impl<M: MechSet> Acceptor<M> {
    /// Advances with the initiator's token.
    pub fn step(self, token: &[u8]) -> Result<AcceptorStep<M>, Failure> {
        self.step_decoded(TokenView::decode(token))
    }

    /// [`Acceptor::step`] with the token already decoded.
    pub(crate) fn step_decoded(self, token: Decoded<'_>) -> Result<AcceptorStep<M>, Failure> {
        match self {
            Acceptor::AwaitResponse(s) => s.step_decoded(token),
        }
    }
}

/// Waiting for the initiator's `NegTokenInit`.
#[derive(Debug)]
pub struct AcceptorStart<M: MechSet = Vec<MechEntry>> {
    cfg: AcceptorConfig<M>,
}

/// A selected mechanism and the rest of the negotiation's state.
#[derive(Debug)]
struct Session<M: MechSet> {
    cfg: AcceptorConfig<M>,
    list_der: super::MechListDer,
    /// The selected mechanism as the initiator spelled it.
    selected: Oid,
    mech: Box<dyn Mechanism>,
    mech_complete: bool,
    /// NTLM was selected before the client's name was known; check it once authenticated.
    ntlm_name_check: bool,
    /// Written once: at the end, or as `abandoned` when the context is deleted before it
    /// ([`super::pending::Pending`]).
    record: Pending,
}

/// The initiator's next `NegTokenResp` is expected.
#[derive(Debug)]
pub struct AwaitResponse<M: MechSet = Vec<MechEntry>> {
    /// Boxed once for the whole negotiation (with the mechanism set inline): the steps pass the pointer on,
    /// not the state.
    session: Box<Session<M>>,
    mic: MicState,
}

fn reject_token() -> Vec<u8> {
    NegTokenResp {
        neg_state: Some(NegState::Reject),
        ..NegTokenResp::default()
    }
    .encode()
}

#[cold]
#[inline(never)]
fn record_failure<M>(cfg: &AcceptorConfig<M>, mut record: Record, error: SpnegoError) -> Failure {
    record.time = std::time::SystemTime::now();
    record.failure = Some(error.to_string());
    cfg.audit.record(&record);
    Failure {
        error,
        token: Some(reject_token()),
    }
}

impl<M: MechSet> AcceptorStart<M> {
    /// A new acceptor.
    pub fn new(cfg: AcceptorConfig<M>) -> AcceptorStart<M> {
        AcceptorStart { cfg }
    }

    /// The `NegTokenInit2` advertising our mechanisms (NTLM left out where the policy denies it outright).
    pub fn advertise(&self) -> Vec<u8> {
        let mech_types = self
            .cfg
            .mechs
            .oids()
            .filter(|oid| {
                !is_ntlm(oid) || self.cfg.policy.incoming_ntlm_possible(self.cfg.peer_addr)
            })
            .cloned()
            .collect();
        NegTokenInit {
            mech_types,
            neg_hints: Some(NegHints {
                hint_name: Some(HINT_NAME.to_vec()),
                hint_address: None,
            }),
            ..NegTokenInit::default()
        }
        .encode()
    }

    /// Whether we accept `oid` (NTLM: while the policy may still allow it, `ntlm_possible`), and which entry
    /// does it.
    fn acceptable(&self, oid: &Oid, ntlm_possible: bool) -> Option<usize> {
        let idx = self.cfg.mechs.position(|m| same_mech(m, oid))?;
        if is_ntlm(oid) && !ntlm_possible {
            return None;
        }
        Some(idx)
    }

    /// The first acceptable mechanism of the initiator's list `offered` other than our entry `skip`: (its
    /// position in the initiator's list, our entry).
    fn candidate(
        &self,
        offered: &[Oid],
        skip: Option<usize>,
        ntlm_possible: bool,
    ) -> Option<(usize, usize)> {
        offered
            .iter()
            .enumerate()
            .filter_map(|(pos, oid)| self.acceptable(oid, ntlm_possible).map(|idx| (pos, idx)))
            .find(|c| Some(c.1) != skip)
    }

    /// The failure when no mechanism of the initiator's list is acceptable.
    #[cold]
    #[inline(never)]
    fn no_common(&self, record: Record, ntlm_offered: bool) -> Failure {
        let e = if ntlm_offered && record.ntlm_policy == Some(Decision::Deny) {
            SpnegoError::PolicyDenied("incoming NTLM denied".into())
        } else {
            SpnegoError::NoCommonMechanism
        };
        record_failure(&self.cfg, record, e)
    }

    /// The optimistic token of the initiator's first mechanism (our entry `idx`) failed with `e`. Restart: move
    /// on to the initiator's next acceptable mechanism instead of rejecting (skipping other spellings of the
    /// failed mechanism, e.g. both Kerberos OIDs) when the policy allows it. Returns the started mechanism and
    /// its (position, entry).
    #[cold]
    #[inline(never)]
    #[allow(clippy::type_complexity)]
    fn restart(
        &self,
        record: &mut Record,
        pos: usize,
        idx: usize,
        e: MechError,
        ntlm_possible: bool,
    ) -> Result<(Box<dyn Mechanism>, (usize, usize)), Failure> {
        let next = self.candidate(&record.offered, Some(idx), ntlm_possible);
        if is_kerberos(&record.offered[pos]) {
            record.kerberos = Some(match e.kind {
                MechFailure::Defective | MechFailure::Rejected => KerberosSkip::ServerRejected,
                MechFailure::UnknownPrincipal => KerberosSkip::UnknownPrincipal,
                _ => KerberosSkip::Failed,
            });
        }
        let blank = || Record::untimed(Role::Acceptor, "spnego");
        let Some(next) = next.filter(|_| self.cfg.policy.restart) else {
            let r = std::mem::replace(record, blank());
            return Err(record_failure(&self.cfg, r, e.into()));
        };
        match self.cfg.mechs.start(next.1) {
            Ok(m) => {
                record.restarted = true;
                Ok((m, next))
            }
            Err(e) => {
                let r = std::mem::replace(record, blank());
                Err(record_failure(&self.cfg, r, e.into()))
            }
        }
    }

    /// Takes the initiator's `NegTokenInit`.
    pub fn step(self, token: &[u8]) -> Result<AcceptorStep<M>, Failure> {
        self.step_decoded(TokenView::decode(token))
    }

    /// [`AcceptorStart::step`] with the token already decoded.
    pub(crate) fn step_decoded(self, token: Decoded<'_>) -> Result<AcceptorStep<M>, Failure> {
        let mut record = Record::untimed(Role::Acceptor, "spnego");
        record.peer_addr = self.cfg.peer_addr;
        let mut init = match token {
            Ok((TokenView::Init(i), _)) => i,
            Ok((TokenView::Resp(_), _)) => {
                let e = SpnegoError::Unexpected("NegTokenResp where a NegTokenInit was expected");
                return Err(record_failure(&self.cfg, record, e));
            }
            Err(e) => return Err(record_failure(&self.cfg, record, e.into())),
        };
        // The record keeps the initiator's list; selection reads it from there.
        record.offered = std::mem::take(&mut init.mech_types);
        let offered = &record.offered;
        if !offered.iter().any(is_kerberos) {
            record.kerberos = Some(KerberosSkip::NotOffered);
        }
        let ntlm_offered = offered.iter().any(is_ntlm) && self.cfg.mechs.oids().any(is_ntlm);
        if ntlm_offered {
            record.ntlm_policy = Some(self.cfg.policy.incoming_ntlm(None, self.cfg.peer_addr));
        }
        // NTLM is considered only when both sides have it; the policy's answer for a client not yet known by name
        // is asked once and serves the record, the selection and the name check.
        let unnamed = record.ntlm_policy;
        let ntlm_possible = match unnamed {
            Some(d) => self.cfg.policy.incoming_ntlm_possible_given(d),
            None => false,
        };
        let Some((pos, idx)) = self.candidate(&record.offered, None, ntlm_possible) else {
            return Err(self.no_common(record, ntlm_offered));
        };
        let list_der = super::MechListDer::new(init.mech_types_der);
        let optimistic = if pos == 0 { init.mech_token } else { None };
        let mut chosen = (pos, idx);
        let mut mech_out = None;
        let mut mech = match self.cfg.mechs.start(idx) {
            Ok(m) => m,
            Err(e) => return Err(record_failure(&self.cfg, record, e.into())),
        };
        let mut complete = false;
        if let Some(t) = optimistic {
            match mech.step(Some(t)) {
                Ok(step) => {
                    complete = step.complete;
                    mech_out = Some(step.output).filter(|o| !o.is_empty());
                }
                Err(e) => match self.restart(&mut record, pos, idx, e, ntlm_possible) {
                    Ok((m, next)) => {
                        mech = m;
                        chosen = next;
                    }
                    Err(f) => return Err(f),
                },
            }
        } else if pos != 0 && is_kerberos(&record.offered[0]) {
            record.kerberos = Some(KerberosSkip::NotSelected);
        }
        let selected = record.offered[chosen.0].clone();
        record.chosen = Some(selected.clone());
        // (NTLM selected: NTLM was offered by both sides, and `unnamed` is known.)
        let ntlm_name_check = is_ntlm(&selected) && unnamed.is_some_and(|d| !d.allowed());
        let first_reply_state = if chosen.0 == 0 {
            NegState::AcceptIncomplete
        } else {
            NegState::RequestMic
        };
        let audit = self.cfg.audit.clone();
        let reply = AwaitResponse {
            session: Box::new(Session {
                cfg: self.cfg,
                list_der,
                selected,
                mech,
                mech_complete: complete,
                ntlm_name_check,
                record: Pending::new(record, audit),
            }),
            mic: MicState {
                required: chosen.0 != 0,
                ..MicState::default()
            },
        };
        reply.answer(mech_out, init.mech_list_mic, Some(first_reply_state))
    }
}

/// The back-end's part of the record: which one validated the NTLM response, and why it refused.
fn note_backend(record: &mut Record, mech: &dyn Mechanism) {
    if let Some(a) = mech.backend() {
        record.backend = Some(a.backend.into_owned());
        record.refusal = a.refusal;
    }
}

impl<M: MechSet> Session<M> {
    // The session stays in its box (taking `Self` would move it out first).
    #[allow(clippy::boxed_local)]
    #[cold]
    #[inline(never)]
    fn fail(mut self: Box<Self>, error: SpnegoError) -> Failure {
        let mut record = self.record.take();
        note_backend(&mut record, self.mech.as_ref());
        record_failure(&self.cfg, record, error)
    }

    /// Once the mechanism completed: the policy check of an NTLM client that needed its name.
    fn check_client(&mut self) -> Result<(), SpnegoError> {
        self.record.peer = self.mech.peer_name();
        if is_ntlm(&self.selected) {
            let record = &mut *self.record;
            let peer = record.peer.as_deref();
            // `ntlm_policy` holds the decision for the unnamed client (NTLM selected: it was asked).
            let decision = match record.ntlm_policy {
                Some(unnamed) => self.cfg.policy.incoming_ntlm_named(unnamed, peer),
                None => self.cfg.policy.incoming_ntlm(peer, self.cfg.peer_addr),
            };
            record.ntlm_policy = Some(decision);
            if self.ntlm_name_check && !decision.allowed() {
                return Err(SpnegoError::PolicyDenied(format!(
                    "client {} is not exempt",
                    peer.unwrap_or("(unknown)")
                )));
            }
        }
        Ok(())
    }
}

impl<M: MechSet> AwaitResponse<M> {
    /// Takes the initiator's next `NegTokenResp`.
    pub fn step(self, token: &[u8]) -> Result<AcceptorStep<M>, Failure> {
        self.step_decoded(TokenView::decode(token))
    }

    /// [`AwaitResponse::step`] with the token already decoded.
    fn step_decoded(mut self, token: Decoded<'_>) -> Result<AcceptorStep<M>, Failure> {
        let resp = match token {
            Ok((TokenView::Resp(r), _)) => r,
            Ok((TokenView::Init(_), _)) => {
                return Err(self.session.fail(SpnegoError::Unexpected(
                    "NegTokenInit in the middle of a negotiation",
                )))
            }
            Err(e) => return Err(self.session.fail(e.into())),
        };
        if resp.neg_state == Some(NegState::Reject) {
            let mut f = self.session.fail(SpnegoError::Rejected);
            f.token = None;
            return Err(f);
        }
        if resp
            .supported_mech
            .as_ref()
            .is_some_and(|m| !same_mech(m, &self.session.selected))
        {
            return Err(self.session.fail(SpnegoError::Unexpected(
                "supportedMech in an initiator's token",
            )));
        }
        let mut mech_out = None;
        match (resp.response_token, self.session.mech_complete) {
            (Some(t), false) => match self.session.mech.step(Some(t)) {
                Ok(step) => {
                    self.session.mech_complete = step.complete;
                    mech_out = Some(step.output).filter(|o| !o.is_empty());
                }
                Err(e) => return Err(self.session.fail(e.into())),
            },
            (None, false) => {
                return Err(self
                    .session
                    .fail(SpnegoError::Unexpected("responseToken missing")))
            }
            (Some(_), true) => {
                return Err(self.session.fail(SpnegoError::Unexpected(
                    "responseToken after the mechanism completed",
                )))
            }
            (None, true) => {}
        }
        self.answer(mech_out, peer_mic(&resp), None)
    }

    /// Runs the policy check and the MIC exchange once the mechanism is complete, and builds the answer.
    /// `first` is the negState of a first reply (which also carries `supportedMech`).
    fn answer(
        mut self,
        mech_out: Option<Vec<u8>>,
        mic_in: Option<&[u8]>,
        first: Option<NegState>,
    ) -> Result<AcceptorStep<M>, Failure> {
        let s = &mut self.session;
        let mut mic_out = None;
        if s.mech_complete {
            if let Err(e) = s.check_client() {
                return Err(self.session.fail(e));
            }
            if s.mech.requires_mic() {
                self.mic.required = true;
            }
            if s.mech.integrity() {
                match self
                    .mic
                    .exchange(s.mech.as_mut(), &s.list_der, mic_in, mech_out.is_some())
                {
                    Ok(m) => mic_out = m,
                    Err(e) => return Err(self.session.fail(e)),
                }
            }
        }
        // Without integrity no MIC can be exchanged (MIT: no GSS_C_INTEG_FLAG), whatever was required.
        let done =
            self.session.mech_complete && (self.mic.settled() || !self.session.mech.integrity());
        let neg_state = match (done, first) {
            (true, _) => Some(NegState::AcceptCompleted),
            (false, Some(state)) => Some(state),
            (false, None) => Some(NegState::AcceptIncomplete),
        };
        let nothing_to_say = first.is_none() && mech_out.is_none() && mic_out.is_none();
        // The initiator's final token was its MIC answering ours: it expects no reply. Any other final step
        // (e.g. a last mechanism token without MICs) is answered with accept-completed, as MIT does.
        let initiator_finished = mic_in.is_some() && self.mic.sent && mic_out.is_none();
        let token = || {
            encode_resp_around(
                neg_state,
                first.map(|_| &self.session.selected),
                mech_out,
                mic_out.as_deref(),
            )
        };
        if done {
            let token = (!(nothing_to_say && initiator_finished)).then(token);
            return Ok(AcceptorStep::Done(self.finish(), token));
        }
        if nothing_to_say {
            return Err(self.session.fail(SpnegoError::Unexpected(
                "the mechanism is not complete but has nothing to send",
            )));
        }
        let token = token();
        Ok(AcceptorStep::Continue(Acceptor::AwaitResponse(self), token))
    }

    fn finish(self) -> Established {
        let mut s = self.session;
        let kerberos = is_kerberos(&s.selected);
        // Written where it lies, and dropped with the session; only the client's name is kept.
        let Session { record, mech, .. } = &mut *s;
        record.write_done(|record| {
            record.time = std::time::SystemTime::now();
            if kerberos {
                record.kerberos = None;
            }
            note_backend(record, mech.as_ref());
        });
        let peer = s.record.peer.take();
        Established {
            mech_oid: s.selected,
            mech: s.mech,
            mic_exchanged: self.mic.sent && self.mic.received,
            peer,
        }
    }
}
