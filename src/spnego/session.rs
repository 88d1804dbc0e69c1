//! One SPNEGO context as a GSSAPI caller drives it (`gss_init_sec_context` / `gss_accept_sec_context` called
//! again and again on the same handle): the state the interposer's `gssi_*` entry points keep behind a context
//! handle. It owns the engine between calls, starts a fresh acceptor when the initiator restarts with a new
//! `NegTokenInit` (the restart of issue 11), and after establishment hands per-message calls to the negotiated
//! mechanism.

use super::acceptor::{self, AcceptorConfig, AcceptorStart, AcceptorStep};
use super::error::SpnegoError;
use super::initiator::{self, InitiatorConfig, InitiatorStart, InitiatorStep};
use super::mech::{MechEntry, MechSet, Mechanism};
use super::{Oid, SpnegoToken, TokenView};

/// Builds the acceptor's configuration afresh for each `NegTokenInit` (mech entries are not `Clone`).
pub type AcceptorFactory<M = Vec<MechEntry>> = Box<dyn Fn() -> AcceptorConfig<M> + Send + Sync>;

/// Where an acceptor's configuration for each `NegTokenInit` comes from.
enum AcceptorSource<M: MechSet> {
    /// Built by a function.
    Factory(AcceptorFactory<M>),
    /// Copied from a configuration kept here (a mechanism set that is cheap to clone: no allocation).
    Template(
        AcceptorConfig<M>,
        fn(&AcceptorConfig<M>) -> AcceptorConfig<M>,
    ),
}

impl<M: MechSet> AcceptorSource<M> {
    fn config(&self) -> AcceptorConfig<M> {
        match self {
            AcceptorSource::Factory(f) => f(),
            AcceptorSource::Template(cfg, clone) => clone(cfg),
        }
    }
}

/// The negotiated context, once complete.
#[derive(Debug)]
pub struct Negotiated {
    /// The mechanism chosen.
    pub mech_oid: Oid,
    /// Its context: per-message calls go here.
    pub mech: Box<dyn Mechanism>,
    /// The authenticated initiator (acceptor side).
    pub peer: Option<String>,
}

/// What one call produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Send the token; more are expected (GSS_S_CONTINUE_NEEDED).
    Continue(Vec<u8>),
    /// Established (GSS_S_COMPLETE); send the token when there is one.
    Complete(Option<Vec<u8>>),
}

/// A failed call: the error, and the token owed to the peer (an acceptor's `reject`) when there is one.
#[derive(Debug)]
pub struct SessionError {
    /// Why.
    pub error: SpnegoError,
    /// The token to send anyway.
    pub token: Option<Vec<u8>>,
}

impl From<SpnegoError> for SessionError {
    fn from(error: SpnegoError) -> SessionError {
        SessionError { error, token: None }
    }
}

enum State<M: MechSet> {
    /// Boxed: every step moves the state, and a configuration (with an inline mechanism set) is large.
    InitStart(Box<InitiatorStart<M>>),
    Init(initiator::Initiator<M>),
    Accept(Option<acceptor::Acceptor<M>>),
    Done(Negotiated),
    Failed,
}

/// One SPNEGO context, over the mechanism set `M`.
pub struct Session<M: MechSet = Vec<MechEntry>> {
    state: State<M>,
    acceptor: Option<AcceptorSource<M>>,
}

impl<M: MechSet> std::fmt::Debug for Session<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match &self.state {
            State::InitStart(_) => "initiator, nothing sent",
            State::Init(_) => "initiator, negotiating",
            State::Accept(_) => "acceptor, negotiating",
            State::Done(_) => "established",
            State::Failed => "failed",
        };
        f.debug_struct("Session").field("state", &s).finish()
    }
}

impl<M: MechSet> Session<M> {
    /// An initiator; the first [`Session::step`] (with no token) produces the `NegTokenInit`.
    pub fn initiator(cfg: InitiatorConfig<M>) -> Session<M> {
        Session {
            state: State::InitStart(Box::new(InitiatorStart::new(cfg))),
            acceptor: None,
        }
    }

    /// An initiator that builds its `NegTokenInit` at once (what the first [`Session::step`] of
    /// [`Session::initiator`] returns): the token to send and the session waiting for the answer.
    pub fn initiator_started(
        cfg: InitiatorConfig<M>,
    ) -> Result<(Session<M>, Vec<u8>), SessionError> {
        let (ini, token) = InitiatorStart::new(cfg).start()?;
        Ok((
            Session {
                state: State::Init(ini),
                acceptor: None,
            },
            token,
        ))
    }

    /// An acceptor whose configuration `factory` builds for each `NegTokenInit` it receives.
    pub fn acceptor(factory: AcceptorFactory<M>) -> Session<M> {
        Session {
            state: State::Accept(None),
            acceptor: Some(AcceptorSource::Factory(factory)),
        }
    }

    /// An acceptor that takes a copy of `cfg` for each `NegTokenInit` it receives (no factory to allocate).
    pub fn acceptor_cloning(cfg: AcceptorConfig<M>) -> Session<M>
    where
        M: Clone,
    {
        Session {
            state: State::Accept(None),
            acceptor: Some(AcceptorSource::Template(cfg, AcceptorConfig::clone)),
        }
    }

    /// Whether the context is established.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// The negotiated context, once established.
    pub fn negotiated(&mut self) -> Option<&mut Negotiated> {
        match &mut self.state {
            State::Done(n) => Some(n),
            _ => None,
        }
    }

    /// Takes the negotiated context out (export, or handing it to the caller).
    pub fn into_negotiated(self) -> Option<Negotiated> {
        match self.state {
            State::Done(n) => Some(n),
            _ => None,
        }
    }

    /// [`Session::into_negotiated`] without moving the session: the negotiated mechanism is taken out and the
    /// session is left failed (`None`, and the session unchanged, before the negotiation is over).
    pub fn take_negotiated(&mut self) -> Option<Negotiated> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Done(n) => Some(n),
            other => {
                self.state = other;
                None
            }
        }
    }

    /// Advances with the peer's token (`None` only for the initiator's first call). After a failure the
    /// session stays failed; a call on an established context is an error.
    pub fn step(&mut self, token: Option<&[u8]>) -> Result<Progress, SessionError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let (next, progress) = match (state, token) {
            (State::InitStart(start), None) => {
                let (ini, tok) = (*start).start()?;
                (State::Init(ini), Progress::Continue(tok))
            }
            (State::Init(ini), Some(tok)) => match ini.step(tok)? {
                InitiatorStep::Continue(ini, out) => (State::Init(ini), Progress::Continue(out)),
                InitiatorStep::Done(est, out) => (
                    State::Done(Negotiated {
                        mech_oid: est.mech_oid,
                        mech: est.mech,
                        peer: None,
                    }),
                    Progress::Complete(out),
                ),
            },
            // An acceptor whose negotiation failed (it sent `reject`) takes a new `NegTokenInit` as the
            // initiator's restart; anything else after a failure is refused below.
            (State::Failed, Some(tok)) if self.acceptor.is_some() && SpnegoToken::is_init(tok) => {
                self.state = State::Accept(None);
                return self.step(Some(tok));
            }
            (State::Accept(acc), Some(tok)) => {
                // Decoded once: whether it is a restart, and then by the step that takes it.
                let decoded = TokenView::decode(tok);
                let restart = matches!(decoded, Ok((TokenView::Init(_), _)));
                let step = match (acc, restart) {
                    (Some(a), false) => a.step_decoded(decoded),
                    (_, true) => {
                        let source = self
                            .acceptor
                            .as_ref()
                            .ok_or(SpnegoError::Unexpected("no acceptor configuration"))?;
                        AcceptorStart::new(source.config()).step_decoded(decoded)
                    }
                    (None, false) => {
                        return Err(SpnegoError::Unexpected(
                            "the first token must be a NegTokenInit",
                        )
                        .into())
                    }
                };
                match step {
                    Ok(AcceptorStep::Continue(a, out)) => {
                        (State::Accept(Some(a)), Progress::Continue(out))
                    }
                    Ok(AcceptorStep::Done(est, out)) => (
                        State::Done(Negotiated {
                            mech_oid: est.mech_oid,
                            mech: est.mech,
                            peer: est.peer,
                        }),
                        Progress::Complete(out),
                    ),
                    Err(f) => {
                        return Err(SessionError {
                            error: f.error,
                            token: f.token,
                        })
                    }
                }
            }
            (State::Done(n), _) => {
                self.state = State::Done(n);
                return Err(SpnegoError::Spent.into());
            }
            (State::InitStart(_), Some(_)) | (State::Init(_), None) | (State::Accept(_), None) => {
                return Err(SpnegoError::Unexpected("a token is missing or unexpected").into())
            }
            (State::Failed, _) => return Err(SpnegoError::Spent.into()),
        };
        self.state = next;
        Ok(progress)
    }
}
