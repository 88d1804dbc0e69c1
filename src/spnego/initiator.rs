//! The SPNEGO initiator (RFC 4178 §3.2, §4.2, §5; MS-SPNG §3.1.5, §3.3.5): one state per expected message, each
//! step consuming the old state.
//!
//! - [`InitiatorStart::start`] builds the mechanism list from the configured mechanisms (NTLM only where the
//!   policy allows it), runs the first mechanism to get the optimistic token, and falls back to the next one
//!   when a mechanism fails before producing a token (no ticket, KDC unreachable, unknown principal) — a failed
//!   mechanism is left out of the list (as MIT does). It sends `NegTokenInit`.
//! - [`AwaitFirstReply`] takes the acceptor's first `NegTokenResp`: the optimistic mechanism accepted, another
//!   one selected from our list (`request-mic`; `accept-incomplete` only for NTLM, which Windows Server 2003
//!   sends), or `reject`. On a `reject` of the first mechanism, when the policy allows restarts
//!   (`spnego.restart = yes`), it answers with a fresh `NegTokenInit` of the remaining mechanisms — once.
//! - [`AwaitReply`] takes every later `NegTokenResp` until the mechanism is complete and the mechListMIC
//!   exchange (`src/spnego/mic.rs`) is settled.
//!
//! [`InitiatorStart::with_hint`] takes a server's `NegTokenInit2` (MS-SPNG §2.2.1, sent before the first client
//! token in SMB) and keeps only the mechanisms the server listed. Every negotiation ends with one audit record
//! (`spnego::pending`): on success, on failure, or — when the state is dropped first because the application deleted
//! its context — with the outcome `unconfirmed` (our final mechanism token was sent, the acceptor's final answer
//! never processed, as curl does) or `abandoned` (given up earlier). Its `offered` is the mechTypes of the
//! first `NegTokenInit` sent: a mechanism that failed before producing a token is not in it.
#![forbid(unsafe_code)]

use std::sync::Arc;

use super::error::SpnegoError;
use super::mech::{
    is_kerberos, is_ntlm, same_mech, MechEntry, MechError, MechFailure, MechSet, Mechanism,
};
use super::mic::{peer_mic, Mic, MicState};
use super::oid::Oid;
use super::pending::Pending;
use super::{encode_init_around, encode_resp_around, NegState, RespView, SpnegoToken, TokenView};
use crate::audit::{AuditSink, KerberosSkip, Record, Role};
use crate::policy::{target_host, Policy};

/// What the initiator needs.
pub struct InitiatorConfig<M = Vec<MechEntry>> {
    /// Our mechanisms, most preferred first.
    pub mechs: M,
    /// The target name (`HTTP/host` or `HTTP@host`), for the policy's host exceptions and the audit record
    /// (moved into the record when the negotiation starts).
    pub target: Option<String>,
    /// The policy in force.
    pub policy: Arc<Policy>,
    /// Where the audit record goes.
    pub audit: Arc<dyn AuditSink>,
}

impl<M: MechSet> std::fmt::Debug for InitiatorConfig<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitiatorConfig")
            .field("mechs", &self.mechs.oids().collect::<Vec<_>>())
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The negotiated context.
#[derive(Debug)]
pub struct Established {
    /// The mechanism that was negotiated.
    pub mech_oid: Oid,
    /// Its context, for the per-message calls.
    pub mech: Box<dyn Mechanism>,
    /// Whether mechListMICs were exchanged.
    pub mic_exchanged: bool,
}

/// What a step produced.
// `Done` is built once per negotiation and taken apart by the caller at once: inline, it costs a move;
// boxed, an allocation and a free per negotiation (~290 instructions per SPNEGO handshake, callgrind).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum InitiatorStep<M: MechSet = Vec<MechEntry>> {
    /// Send the token and call again with the acceptor's answer.
    Continue(Initiator<M>, Vec<u8>),
    /// Established; send the token when there is one (a final mechListMIC).
    Done(Established, Option<Vec<u8>>),
}

/// The initiator between messages.
#[derive(Debug)]
pub enum Initiator<M: MechSet = Vec<MechEntry>> {
    /// `NegTokenInit` sent.
    AwaitFirstReply(AwaitFirstReply<M>),
    /// The mechanism is selected; more tokens are expected.
    AwaitReply(AwaitReply<M>),
}

impl<M: MechSet> Initiator<M> {
    /// Advances with the acceptor's token.
    pub fn step(self, token: &[u8]) -> Result<InitiatorStep<M>, SpnegoError> {
        match self {
            Initiator::AwaitFirstReply(s) => s.step(token),
            Initiator::AwaitReply(s) => s.step(token),
        }
    }
}

/// Nothing sent yet.
#[derive(Debug)]
pub struct InitiatorStart<M: MechSet = Vec<MechEntry>> {
    cfg: InitiatorConfig<M>,
}

/// What every state after the start carries.
#[derive(Debug)]
struct Round<M: MechSet> {
    cfg: InitiatorConfig<M>,
    /// The DER MechTypeList sent: what the mechListMIC signs.
    list_der: super::MechListDer,
    /// Indices of mechanisms that failed or were rejected (never offered again). The list sent is every
    /// other entry of `cfg.mechs`, in order ([`Round::listed`]).
    dropped: Vec<usize>,
    /// The selected (or optimistic) mechanism.
    current: usize,
    mech: Box<dyn Mechanism>,
    mech_complete: bool,
    restarted: bool,
    record: Pending,
}

/// `NegTokenInit` sent; the acceptor's first `NegTokenResp` is expected.
#[derive(Debug)]
pub struct AwaitFirstReply<M: MechSet = Vec<MechEntry>> {
    /// Boxed once for the whole negotiation (with the mechanism set inline): the states pass the pointer on,
    /// not the state.
    round: Box<Round<M>>,
}

/// A mechanism is selected; the acceptor's next `NegTokenResp` is expected.
#[derive(Debug)]
pub struct AwaitReply<M: MechSet = Vec<MechEntry>> {
    round: Box<Round<M>>,
    mic: MicState,
}

fn kerberos_skip(kind: MechFailure) -> KerberosSkip {
    match kind {
        MechFailure::NoCredentials => KerberosSkip::NoTicket,
        MechFailure::Unreachable => KerberosSkip::KdcUnreachable,
        MechFailure::UnknownPrincipal => KerberosSkip::UnknownPrincipal,
        MechFailure::Rejected | MechFailure::Defective => KerberosSkip::ServerRejected,
        MechFailure::PolicyDenied | MechFailure::Other => KerberosSkip::Failed,
    }
}

fn decode_resp(token: &[u8]) -> Result<RespView<'_>, SpnegoError> {
    match TokenView::decode(token)?.0 {
        TokenView::Resp(r) => Ok(r),
        TokenView::Init(_) => Err(SpnegoError::Unexpected(
            "NegTokenInit where a NegTokenResp was expected",
        )),
    }
}

impl<M: MechSet> InitiatorStart<M> {
    /// A new initiator.
    pub fn new(cfg: InitiatorConfig<M>) -> InitiatorStart<M> {
        InitiatorStart { cfg }
    }
}

impl InitiatorStart {
    /// Keeps only the mechanisms that the server's `NegTokenInit2` (or `NegTokenInit`) advertisement lists.
    pub fn with_hint(mut self, hint: &[u8]) -> Result<InitiatorStart, SpnegoError> {
        let SpnegoToken::Init(init) = SpnegoToken::decode(hint)? else {
            return Err(SpnegoError::Unexpected(
                "a server hint must be a NegTokenInit",
            ));
        };
        self.cfg
            .mechs
            .retain(|m| init.mech_types.iter().any(|o| same_mech(o, &m.oid)));
        if self.cfg.mechs.is_empty() {
            return Err(SpnegoError::NoCommonMechanism);
        }
        Ok(self)
    }
}

impl<M: MechSet> InitiatorStart<M> {
    /// Builds and returns the `NegTokenInit` with the optimistic token of the first mechanism that starts.
    pub fn start(mut self) -> Result<(Initiator<M>, Vec<u8>), SpnegoError> {
        let mut record = Record::untimed(Role::Initiator, "spnego");
        // The target is needed only here and in the record: moved there, not copied.
        record.peer = self.cfg.target.take();
        if !self.cfg.mechs.oids().any(is_kerberos) {
            record.kerberos = Some(KerberosSkip::NotOffered);
        }
        let mut dropped = Vec::new();
        if self.cfg.mechs.oids().any(is_ntlm) {
            let host = record.peer.as_deref().map(target_host);
            let decision = self.cfg.policy.outgoing_ntlm(host);
            record.ntlm_policy = Some(decision);
            if !decision.allowed() {
                let mechs = &self.cfg.mechs;
                dropped.extend((0..mechs.count()).filter(|&i| is_ntlm(mechs.oid(i))));
            }
        }
        match open_round(self.cfg, dropped, record, false) {
            Ok((round, token)) => {
                Ok((Initiator::AwaitFirstReply(AwaitFirstReply { round }), token))
            }
            Err(failed) => {
                let (e, cfg, record) = *failed;
                fail(&cfg, record, &e);
                Err(e)
            }
        }
    }
}

/// Whether our side has sent its last mechanism token, so that only the acceptor's final answer is missing:
/// the mechanism is complete (NTLM after AUTHENTICATE), or it is Kerberos and its token (the AP-REQ) went out —
/// a Kerberos initiator sends no other, the AP-REP is the acceptor's answer (RFC 4121 §4.1, no DCE style here).
fn last_token_sent(oid: &Oid, complete: bool, sent: bool) -> bool {
    complete || (sent && is_kerberos(oid))
}

/// Writes the failure record. Out of line: the success path stays dense.
#[cold]
#[inline(never)]
fn fail<M>(cfg: &InitiatorConfig<M>, mut record: Record, e: &SpnegoError) {
    record.time = std::time::SystemTime::now();
    record.failure = Some(e.to_string());
    cfg.audit.record(&record);
}

type RoundError<M> = Box<(SpnegoError, InitiatorConfig<M>, Record)>;
/// An opened round and its `NegTokenInit`.
type Opened<M> = (Box<Round<M>>, Vec<u8>);

/// Notes in the record why a mechanism could not start.
#[cold]
#[inline(never)]
fn mech_failed(record: &mut Record, why: &mut Vec<String>, oid: &Oid, e: &MechError) {
    if is_kerberos(oid) {
        record.kerberos = Some(kerberos_skip(e.kind));
    }
    why.push(format!("{}: {e}", crate::audit::mech_name(oid)));
}

/// The error of a round where no mechanism started.
#[cold]
#[inline(never)]
fn no_mechanism<M>(cfg: InitiatorConfig<M>, record: Record, why: &[String]) -> RoundError<M> {
    let e = if why.is_empty() && record.ntlm_policy.is_some_and(|d| !d.allowed()) {
        SpnegoError::PolicyDenied("outgoing NTLM denied and no other mechanism".into())
    } else {
        SpnegoError::NoMechanismAvailable(why.join("; "))
    };
    Box::new((e, cfg, record))
}

/// Starts the first mechanism not in `dropped` that produces a token, and encodes the `NegTokenInit` listing it
/// and the untried mechanisms after it.
fn open_round<M: MechSet>(
    cfg: InitiatorConfig<M>,
    mut dropped: Vec<usize>,
    mut record: Record,
    restarted: bool,
) -> Result<Opened<M>, RoundError<M>> {
    let mut why = Vec::new();
    let mut started = None;
    for i in 0..cfg.mechs.count() {
        if dropped.contains(&i) {
            continue;
        }
        let oid = cfg.mechs.oid(i);
        let attempt = cfg
            .mechs
            .start(i)
            .and_then(|mut m| m.step(None).map(|s| (m, s)));
        match attempt {
            Ok((mech, step)) => {
                started = Some((i, mech, step));
                break;
            }
            Err(e) => {
                mech_failed(&mut record, &mut why, oid, &e);
                dropped.push(i);
            }
        }
    }
    let Some((current, mech, step)) = started else {
        return Err(no_mechanism(cfg, record, &why));
    };
    let listed = cfg
        .mechs
        .oids()
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .map(|(_, oid)| oid);
    if !restarted {
        // What went on the wire, not what was considered (a mechanism that failed first is not listed).
        record.offered = listed.clone().cloned().collect();
    }
    let sent = !step.output.is_empty();
    let (token, list_der) = encode_init_around(listed, sent.then_some(step.output));
    record.chosen = Some(cfg.mechs.oid(current).clone());
    let mut record = Pending::new(record, cfg.audit.clone());
    record.final_sent = last_token_sent(cfg.mechs.oid(current), step.complete, sent);
    Ok((
        Box::new(Round {
            list_der,
            dropped,
            current,
            mech,
            mech_complete: step.complete,
            restarted,
            record,
            cfg,
        }),
        token,
    ))
}

impl<M: MechSet> Round<M> {
    /// Whether entry `i` of `cfg.mechs` is in the list sent.
    fn listed(&self, i: usize) -> bool {
        i < self.cfg.mechs.count() && !self.dropped.contains(&i)
    }

    fn oid(&self) -> &Oid {
        self.cfg.mechs.oid(self.current)
    }

    // The round stays in its box (taking `Self` would move it out first).
    #[allow(clippy::boxed_local)]
    #[cold]
    #[inline(never)]
    fn fail(mut self: Box<Self>, e: SpnegoError) -> SpnegoError {
        let record = self.record.take();
        fail(&self.cfg, record, &e);
        e
    }

    #[allow(clippy::boxed_local)]
    fn finish(mut self: Box<Self>, mic: MicState) -> Established {
        let kerberos = is_kerberos(self.oid());
        // Written where it lies, and dropped with the round.
        self.record.write_done(|record| {
            record.time = std::time::SystemTime::now();
            if kerberos {
                record.kerberos = None;
            }
        });
        Established {
            mech_oid: self.oid().clone(),
            mech: self.mech,
            mic_exchanged: mic.sent && mic.received,
        }
    }
}

impl<M: MechSet> AwaitFirstReply<M> {
    /// Takes the acceptor's first `NegTokenResp`.
    pub fn step(self, token: &[u8]) -> Result<InitiatorStep<M>, SpnegoError> {
        let mut resp = match decode_resp(token) {
            Ok(r) => r,
            Err(e) => return Err(self.round.fail(e)),
        };
        let Some(state) = resp.neg_state else {
            return Err(self.round.fail(SpnegoError::Unexpected(
                "negState missing from the first reply",
            )));
        };
        if state == NegState::Reject {
            return self.rejected();
        }
        let Some(supported) = resp.supported_mech.as_ref() else {
            return Err(self.round.fail(SpnegoError::Unexpected(
                "supportedMech missing from the first reply",
            )));
        };
        let round = self.round;
        if !same_mech(supported, round.oid()) {
            return counter_proposal(round, supported, state, &resp);
        }
        // Checked: what AwaitReply checks of every reply (supportedMech, when present, is the selected
        // mechanism) holds, and is not compared again.
        resp.supported_mech = None;
        let mic = MicState {
            required: state == NegState::RequestMic,
            ..MicState::default()
        };
        AwaitReply { round, mic }.step_resp(resp)
    }

    /// The acceptor rejected our first mechanism: restart without it when the policy allows it.
    #[cold]
    #[inline(never)]
    fn rejected(self) -> Result<InitiatorStep<M>, SpnegoError> {
        let mut round = self.round;
        let rejected_is_krb = is_kerberos(round.oid());
        if rejected_is_krb {
            round.record.kerberos = Some(KerberosSkip::ServerRejected);
        }
        let others = (0..round.cfg.mechs.count()).any(|i| i != round.current && round.listed(i));
        if !round.cfg.policy.restart || round.restarted || !others {
            return Err(round.fail(SpnegoError::Rejected));
        }
        let mut dropped = std::mem::take(&mut round.dropped);
        dropped.push(round.current);
        let mut record = round.record.take();
        record.restarted = true;
        match open_round(round.cfg, dropped, record, true) {
            Ok((round, token)) => Ok(InitiatorStep::Continue(
                Initiator::AwaitFirstReply(AwaitFirstReply { round }),
                token,
            )),
            Err(failed) => {
                let (e, cfg, record) = *failed;
                fail(&cfg, record, &e);
                Err(e)
            }
        }
    }
}

/// The acceptor selected another mechanism of our list (RFC 4178 §3.2 d): start it from scratch.
#[cold]
#[inline(never)]
fn counter_proposal<M: MechSet>(
    mut round: Box<Round<M>>,
    supported: &Oid,
    state: NegState,
    resp: &RespView<'_>,
) -> Result<InitiatorStep<M>, SpnegoError> {
    if let Err(e) = reselect(&mut round, supported, state, resp) {
        return Err(round.fail(e));
    }
    let mic = MicState {
        required: true,
        ..MicState::default()
    };
    let step = match round.mech.step(None) {
        Ok(s) => s,
        Err(e) => return Err(round.fail(e.into())),
    };
    round.mech_complete = step.complete;
    AwaitReply { round, mic }.send(Some(step.output), None, false)
}

/// Switches `round` to the mechanism the acceptor selected.
fn reselect<M: MechSet>(
    round: &mut Round<M>,
    supported: &Oid,
    state: NegState,
    resp: &RespView<'_>,
) -> Result<(), SpnegoError> {
    let idx = (0..round.cfg.mechs.count())
        .find(|&i| round.listed(i) && same_mech(round.cfg.mechs.oid(i), supported))
        .ok_or(SpnegoError::Unexpected(
            "the acceptor selected a mechanism we did not offer",
        ))?;
    // RFC 4178 §5 wants request-mic here; Windows Server 2003 sends accept-incomplete when it falls back to
    // NTLM, which MIT tolerates for NTLM only.
    let ok = state == NegState::RequestMic
        || (state == NegState::AcceptIncomplete && is_ntlm(supported));
    if !ok {
        return Err(SpnegoError::Unexpected(
            "a counter-proposal must carry negState request-mic",
        ));
    }
    if resp.response_token.is_some() || resp.mech_list_mic.is_some() {
        return Err(SpnegoError::Unexpected(
            "a counter-proposal carries no token and no MIC",
        ));
    }
    if is_kerberos(round.oid()) {
        round.record.kerberos = Some(KerberosSkip::NotSelected);
    }
    round.mech = round.cfg.mechs.start(idx)?;
    round.current = idx;
    round.mech_complete = false;
    round.record.chosen = Some(round.cfg.mechs.oid(idx).clone());
    Ok(())
}

impl<M: MechSet> AwaitReply<M> {
    /// Takes the acceptor's next `NegTokenResp`.
    pub fn step(self, token: &[u8]) -> Result<InitiatorStep<M>, SpnegoError> {
        match decode_resp(token) {
            Ok(resp) => self.step_resp(resp),
            Err(e) => Err(self.round.fail(e)),
        }
    }

    fn step_resp(mut self, resp: RespView<'_>) -> Result<InitiatorStep<M>, SpnegoError> {
        match self.advance(&resp) {
            Ok((out, acceptor_done)) => self.send(out, peer_mic(&resp), acceptor_done),
            Err(e) => Err(self.round.fail(e)),
        }
    }

    /// Feeds the response token to the mechanism; returns its output and whether the acceptor said it is done.
    fn advance(&mut self, resp: &RespView<'_>) -> Result<(Option<Vec<u8>>, bool), SpnegoError> {
        let round = &mut self.round;
        match resp.neg_state {
            Some(NegState::Reject) => {
                if let (Some(t), false) = (resp.response_token, round.mech_complete) {
                    // An error token: let the mechanism explain the failure.
                    round.mech.step(Some(t))?;
                }
                return Err(SpnegoError::Rejected);
            }
            Some(NegState::RequestMic) => self.mic.required = true,
            _ => {}
        }
        if resp
            .supported_mech
            .as_ref()
            .is_some_and(|m| !same_mech(m, round.oid()))
        {
            return Err(SpnegoError::Unexpected("supportedMech changed"));
        }
        let mut out = None;
        match (resp.response_token, round.mech_complete) {
            (Some(t), false) => {
                let step = round.mech.step(Some(t))?;
                round.mech_complete = step.complete;
                out = Some(step.output).filter(|o| !o.is_empty());
            }
            (None, false) => return Err(SpnegoError::Unexpected("responseToken missing")),
            (Some(_), true) => {
                return Err(SpnegoError::Unexpected(
                    "responseToken after the mechanism completed",
                ))
            }
            (None, true) => {}
        }
        Ok((out, resp.neg_state == Some(NegState::AcceptCompleted)))
    }

    /// Runs the MIC exchange (when the mechanism is complete) and decides what to send.
    fn send(
        mut self,
        mech_out: Option<Vec<u8>>,
        mic_in: Option<&[u8]>,
        acceptor_done: bool,
    ) -> Result<InitiatorStep<M>, SpnegoError> {
        let mech_out = mech_out.filter(|o| !o.is_empty());
        let mut mic_out = None;
        let round = &mut self.round;
        if round.mech_complete && round.mech.requires_mic() {
            self.mic.required = true;
        }
        if round.mech_complete && round.mech.integrity() {
            match self.mic.exchange(
                round.mech.as_mut(),
                &round.list_der,
                mic_in,
                mech_out.is_some(),
            ) {
                Ok(m) => mic_out = m,
                Err(e) => return Err(self.round.fail(e)),
            }
        }
        self.conclude(mech_out, mic_out, acceptor_done)
    }

    fn conclude(
        self,
        mech_out: Option<Vec<u8>>,
        mic_out: Option<Mic>,
        acceptor_done: bool,
    ) -> Result<InitiatorStep<M>, SpnegoError> {
        let round = &self.round;
        // Without integrity no MIC can be exchanged (MIT: no GSS_C_INTEG_FLAG), whatever was required.
        let done = round.mech_complete
            && mech_out.is_none()
            && (self.mic.settled() || !round.mech.integrity());
        if acceptor_done && !done {
            return Err(self.round.fail(SpnegoError::Unexpected(
                "the acceptor completed but our mechanism has not",
            )));
        }
        let token = (mech_out.is_some() || mic_out.is_some())
            .then(|| encode_resp_around(None, None, mech_out, mic_out.as_deref()));
        match (done, token) {
            (true, token) => {
                let mic = self.mic;
                Ok(InitiatorStep::Done(self.round.finish(mic), token))
            }
            (false, Some(token)) => {
                let mut next = self;
                let r = &mut next.round;
                r.record.final_sent =
                    last_token_sent(r.cfg.mechs.oid(r.current), r.mech_complete, true);
                Ok(InitiatorStep::Continue(Initiator::AwaitReply(next), token))
            }
            (false, None) => Err(self.round.fail(SpnegoError::Unexpected(
                "the acceptor expects more but the mechanism has nothing to send",
            ))),
        }
    }
}
