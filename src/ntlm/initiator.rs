//! The NTLM initiator (client) state machine, MS-NLMP §3.1.5: NEGOTIATE → (CHALLENGE) → AUTHENTICATE.
//!
//! Each state is its own type and each step consumes it, so a message can never be processed twice or out of
//! order. [`Initiator`] wraps the states in an enum for callers (the GSS layer) that keep one value per context.
#![forbid(unsafe_code)]

use std::sync::Arc;

use super::config::LmCompatLevel;
use super::context::{Established, ResponseKind};
use super::crypto::{self, Side};
use super::env::{random_array, Environment};
use super::error::NtlmError;
use super::flags::NegotiateFlags;
use super::secret::{LmHash, NtHash, SessionKey};
use super::security::SessionSecurity;
use super::wire::{
    av_pairs, Authenticate, Challenge, Negotiate, NtlmV2ClientChallenge, Version,
    MSV_AV_FLAG_MIC_PRESENT, MSV_AV_FLAG_UNVERIFIED_SPN,
};

/// Who the initiator is.
#[derive(Clone, Debug)]
pub enum InitiatorCredential {
    /// A user with their NT hash (and LM hash, needed only for LM responses at levels 0–1).
    User {
        user: String,
        domain: String,
        nt_hash: NtHash,
        lm_hash: Option<LmHash>,
    },
    /// Anonymous logon (§3.1.5.1.2: empty user, empty NT response, LM response Z(1)).
    Anonymous,
    /// A user whose password another party keeps (winbind's cached credentials): `source` turns the CHALLENGE
    /// into the AUTHENTICATE. It cannot carry channel bindings, and decides the flags and the MIC itself.
    Cached {
        user: String,
        domain: String,
        source: Arc<dyn CachedCredential>,
    },
}

/// A credential whose secret stays with another party.
pub trait CachedCredential: Send + Sync + std::fmt::Debug {
    /// The AUTHENTICATE message answering `challenge` (after `negotiate`) and the ExportedSessionKey.
    fn authenticate(
        &self,
        negotiate: &[u8],
        challenge: &[u8],
    ) -> Result<(Vec<u8>, SessionKey), NtlmError>;
}

/// What the caller asks for (the GSS `req_flags` that NTLM can honour).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requested {
    /// Message integrity (NTLMSSP_NEGOTIATE_SIGN).
    pub sign: bool,
    /// Confidentiality (NTLMSSP_NEGOTIATE_SEAL).
    pub seal: bool,
    /// Connectionless session security (NTLMSSP_NEGOTIATE_DATAGRAM).
    pub datagram: bool,
    /// Identify-level token (NTLMSSP_NEGOTIATE_IDENTIFY).
    pub identify: bool,
}

/// Initiator settings.
#[derive(Clone)]
pub struct InitiatorConfig {
    /// The credential to authenticate with.
    pub credential: InitiatorCredential,
    /// Our workstation name (sent in the AUTHENTICATE).
    pub workstation: String,
    /// The target SPN (`HTTP/host`), sent as MsvAvTargetName and compared with the CHALLENGE's.
    pub target_spn: Option<String>,
    /// LM compatibility level.
    pub lm_compat_level: LmCompatLevel,
    /// Requested services.
    pub requested: Requested,
    /// Ask for key exchange (on by default; required for datagram mode).
    pub key_exchange: bool,
    /// Add a MIC when the CHALLENGE carries MsvAvTimestamp (what Windows does; on by default).
    pub mic: bool,
    /// The VERSION we put in our messages.
    pub version: Version,
    /// Replaces [`InitiatorConfig::DEFAULT_FLAGS`] as the base of the NEGOTIATE flags (gss-ntlmssp's credential
    /// option `…655.1.5`); the requested services and the LM_COMPAT_LEVEL policy (extended session security,
    /// LM_KEY) are applied on top, as there.
    pub base_flags: Option<NegotiateFlags>,
    /// Randomness and clock.
    pub env: Arc<dyn Environment>,
}

impl std::fmt::Debug for InitiatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitiatorConfig")
            .field("credential", &self.credential)
            .field("workstation", &self.workstation)
            .field("target_spn", &self.target_spn)
            .field("lm_compat_level", &self.lm_compat_level)
            .field("requested", &self.requested)
            .finish_non_exhaustive()
    }
}

impl InitiatorConfig {
    /// A configuration with the defaults: NTLMv2 at level 3, key exchange, MIC, sign+seal not requested.
    pub fn new(credential: InitiatorCredential, env: Arc<dyn Environment>) -> Self {
        InitiatorConfig {
            credential,
            workstation: String::new(),
            target_spn: None,
            lm_compat_level: LmCompatLevel::DEFAULT,
            requested: Requested::default(),
            key_exchange: true,
            mic: true,
            version: Version::DEFAULT,
            base_flags: None,
            env,
        }
    }

    /// The NEGOTIATE flags before the requested services and the policy are added (gss-ntlmssp's
    /// `NTLMSSP_DEFAULT_CLIENT_FLAGS`).
    pub const DEFAULT_FLAGS: NegotiateFlags = NegotiateFlags(
        NegotiateFlags::UNICODE.0
            | NegotiateFlags::OEM.0
            | NegotiateFlags::REQUEST_TARGET.0
            | NegotiateFlags::NTLM.0
            | NegotiateFlags::ALWAYS_SIGN.0
            | NegotiateFlags::VERSION.0
            | NegotiateFlags::KEY_128.0
            | NegotiateFlags::KEY_56.0,
    );

    fn negotiate_flags(&self) -> NegotiateFlags {
        let mut f = self.base_flags.unwrap_or(Self::DEFAULT_FLAGS);
        // The requested services add their flags (never remove one the base has).
        let add = |f: &mut NegotiateFlags, flag: NegotiateFlags, on: bool| {
            if on {
                *f = f.with(flag);
            }
        };
        add(
            &mut f,
            NegotiateFlags::KEY_EXCH,
            self.key_exchange || self.requested.datagram,
        );
        add(
            &mut f,
            NegotiateFlags::SIGN,
            self.requested.sign || self.requested.seal,
        );
        add(&mut f, NegotiateFlags::SEAL, self.requested.seal);
        add(&mut f, NegotiateFlags::DATAGRAM, self.requested.datagram);
        add(&mut f, NegotiateFlags::IDENTIFY, self.requested.identify);
        // The policy decides the session security protocol, whatever the base says.
        f.set(
            NegotiateFlags::EXTENDED_SESSIONSECURITY,
            self.lm_compat_level.initiator_requests_ess(),
        );
        // LM_KEY only makes sense without ESS (§2.2.2.5: ESS wins when both are set), and only with an LM hash:
        // its KeyExchangeKey is DES over LMOWF (§3.4.5.1, §4.2.2.1.3); a credential from a password given to
        // gss_acquire_cred_with_password or an NT hash has none (issue 10, defect 5).
        let has_lm_hash = matches!(
            &self.credential,
            InitiatorCredential::User {
                lm_hash: Some(_),
                ..
            }
        );
        f.set(
            NegotiateFlags::LM_KEY,
            !self.lm_compat_level.initiator_requests_ess() && has_lm_hash,
        );
        f
    }
}

/// The initiator before anything was sent.
#[derive(Debug)]
pub struct InitiatorStart {
    cfg: InitiatorConfig,
}

/// The initiator after sending NEGOTIATE, waiting for the CHALLENGE.
#[derive(Debug)]
pub struct InitiatorAwaitChallenge {
    cfg: InitiatorConfig,
    offered: NegotiateFlags,
    negotiate: Vec<u8>,
}

impl InitiatorStart {
    /// A new initiator.
    pub fn new(cfg: InitiatorConfig) -> Self {
        InitiatorStart { cfg }
    }

    /// Produces the NEGOTIATE message (§3.1.5.1.1).
    pub fn negotiate(self) -> (InitiatorAwaitChallenge, Vec<u8>) {
        let offered = self.cfg.negotiate_flags();
        let msg = Negotiate {
            flags: offered,
            domain: None,
            workstation: None,
            version: Some(self.cfg.version),
        };
        let bytes = msg.encode();
        (
            InitiatorAwaitChallenge {
                cfg: self.cfg,
                offered,
                negotiate: bytes.clone(),
            },
            bytes,
        )
    }
}

/// The client's responses and keys, computed from the CHALLENGE.
struct Responses {
    lm: Vec<u8>,
    nt: Vec<u8>,
    key_exchange_key: SessionKey,
    kind: ResponseKind,
    mic: bool,
}

impl InitiatorAwaitChallenge {
    /// The NEGOTIATE bytes that were sent (part of the MIC input).
    pub fn negotiate_bytes(&self) -> &[u8] {
        &self.negotiate
    }

    /// Processes the CHALLENGE and produces the AUTHENTICATE (§3.1.5.1.2). `channel_bindings` is the MD5 hash of
    /// the GSS channel bindings (`None` when the application gave none).
    pub fn authenticate(
        self,
        challenge_bytes: &[u8],
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<(Established, Vec<u8>), NtlmError> {
        let cfg = &self.cfg;
        let mut challenge = Challenge::decode(challenge_bytes)?;
        let flags = self.agreed_flags(&challenge)?;

        if let (Some(ours), Some(info)) = (&cfg.target_spn, &challenge.target_info) {
            if let Some(theirs) = info.get_string(av_pairs::MSV_AV_TARGET_NAME) {
                let unverified = info.flags().unwrap_or(0) & MSV_AV_FLAG_UNVERIFIED_SPN != 0;
                if !theirs.is_empty() && !theirs.eq_ignore_ascii_case(ours) && !unverified {
                    return Err(NtlmError::SpnMismatch {
                        expected: ours.clone(),
                        got: theirs,
                    });
                }
            }
        }

        let (user, domain) = match &cfg.credential {
            InitiatorCredential::User { user, domain, .. } => (user.clone(), domain.clone()),
            InitiatorCredential::Anonymous => (String::new(), String::new()),
            InitiatorCredential::Cached { source, .. } => {
                return self.authenticate_cached(source.as_ref(), challenge_bytes, channel_bindings)
            }
        };
        // The client challenge and the ExportedSessionKey in one read of the system's randomness (a system
        // call each otherwise); wiped when this function returns.
        let rnd = zeroize::Zeroizing::new(random_array::<24>(&*cfg.env)?);
        let (client_challenge, exported_key) = rnd.split_at(8);
        let mut cc = [0u8; 8];
        cc.copy_from_slice(client_challenge);
        let resp = self.responses(&mut challenge, flags, channel_bindings, cc)?;

        // §3.1.5.1.2: with key exchange the client picks ExportedSessionKey and sends it RC4'd with KXKEY.
        let (session_key, encrypted_key) = if flags.contains(NegotiateFlags::KEY_EXCH) {
            let exported =
                SessionKey::from_slice(exported_key).ok_or(NtlmError::RandomUnavailable)?;
            let enc = crypto::rc4k(resp.key_exchange_key.as_bytes(), exported.as_bytes());
            (exported, enc)
        } else {
            (resp.key_exchange_key.clone(), Vec::new())
        };

        let mut auth = Authenticate {
            flags,
            lm_response: resp.lm,
            nt_response: resp.nt,
            domain,
            user,
            workstation: cfg.workstation.clone(),
            encrypted_random_session_key: encrypted_key,
            version: Some(cfg.version),
            mic: resp.mic.then_some([0u8; 16]),
        };
        let mut bytes = auth.encode();
        if resp.mic {
            let mic = crypto::mic(&session_key, &self.negotiate, challenge_bytes, &bytes);
            let slot = bytes
                .get_mut(Authenticate::MIC_OFFSET..Authenticate::MIC_OFFSET + 16)
                .ok_or(NtlmError::UnexpectedMessage {
                    expected: "MIC slot in AUTHENTICATE",
                })?;
            slot.copy_from_slice(&mic);
            auth.mic = Some(mic);
        }
        let security = SessionSecurity::new(flags, &session_key, Side::Client);
        let established = Established {
            side: Side::Client,
            flags,
            user: auth.user,
            domain: auth.domain,
            workstation: auth.workstation,
            kind: resp.kind,
            mic_present: resp.mic,
            channel_bound: false,
            peer_wraps_signed: false,
            session_key,
            security,
            established_at: cfg.env.now_filetime(),
            client_target_spn: None,
            attrs: Default::default(),
        };
        Ok((established, bytes))
    }

    /// The AUTHENTICATE from a cached credential: its flags, MIC and keys are the source's; the acceptor's
    /// answer is checked as usual by the acceptor. Channel bindings cannot be put into a message another party
    /// builds (its NTLMv2 client challenge carries them), so a context that asks for them is refused.
    fn authenticate_cached(
        &self,
        source: &dyn CachedCredential,
        challenge_bytes: &[u8],
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<(Established, Vec<u8>), NtlmError> {
        if channel_bindings.is_some() {
            return Err(NtlmError::CachedCredential(
                "channel bindings cannot be sent: winbind builds the AUTHENTICATE message without them"
                    .into(),
            ));
        }
        let (bytes, session_key) = source.authenticate(&self.negotiate, challenge_bytes)?;
        let auth = Authenticate::decode(&bytes)?;
        let flags = auth.flags;
        let kind = if auth.nt_response.len() > 24 {
            ResponseKind::V2
        } else if flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
            ResponseKind::V1Ess
        } else {
            ResponseKind::V1
        };
        let security = SessionSecurity::new(flags, &session_key, Side::Client);
        let established = Established {
            side: Side::Client,
            flags,
            user: auth.user,
            domain: auth.domain,
            workstation: auth.workstation,
            kind,
            mic_present: auth.mic.is_some(),
            channel_bound: false,
            peer_wraps_signed: false,
            session_key,
            security,
            established_at: self.cfg.env.now_filetime(),
            attrs: Default::default(),
            client_target_spn: None,
        };
        Ok((established, bytes))
    }

    /// The flags for the AUTHENTICATE and session security: what we offered and the server agreed to.
    fn agreed_flags(&self, challenge: &Challenge) -> Result<NegotiateFlags, NtlmError> {
        let server = challenge.flags;
        let mut flags = self.offered & server;
        // Character set: Unicode when the server picked it, OEM otherwise.
        flags.set(
            NegotiateFlags::OEM,
            !server.contains(NegotiateFlags::UNICODE),
        );
        if flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
            flags = flags.without(NegotiateFlags::LM_KEY);
        }
        flags.set(
            NegotiateFlags::TARGET_INFO,
            server.contains(NegotiateFlags::TARGET_INFO),
        );
        flags.set(NegotiateFlags::VERSION, true);
        if matches!(self.cfg.credential, InitiatorCredential::Anonymous) {
            flags |= NegotiateFlags::ANONYMOUS;
        }
        // Datagram session security needs key exchange (§3.1.5.2.1). An acceptor that does not grant DATAGRAM
        // (gss-ntlmssp's, whose datagram mode is the connectionless handshake only) gets a connection-oriented
        // context, which detects replays and reordering, and the GSS flags say so — a request the peer did not
        // grant, as RFC 2743 handles every optional service.
        if flags.contains(NegotiateFlags::DATAGRAM) && !flags.contains(NegotiateFlags::KEY_EXCH) {
            return Err(NtlmError::RequiredFlagMissing {
                flags: NegotiateFlags::KEY_EXCH.bits(),
            });
        }
        Ok(flags)
    }

    fn responses(
        &self,
        challenge: &mut Challenge,
        flags: NegotiateFlags,
        channel_bindings: Option<[u8; 16]>,
        client_challenge: [u8; 8],
    ) -> Result<Responses, NtlmError> {
        let cfg = &self.cfg;
        let (user, domain, nt_hash, lm_hash) = match &cfg.credential {
            InitiatorCredential::Anonymous => {
                // §3.1.5.1.2: anonymous — NtChallengeResponse empty, LmChallengeResponse Z(1), keys zero.
                return Ok(Responses {
                    lm: vec![0],
                    nt: Vec::new(),
                    key_exchange_key: SessionKey::default(),
                    kind: ResponseKind::Anonymous,
                    mic: false,
                });
            }
            InitiatorCredential::User {
                user,
                domain,
                nt_hash,
                lm_hash,
            } => (user, domain, nt_hash, lm_hash),
            InitiatorCredential::Cached { .. } => {
                return Err(NtlmError::CachedCredential(
                    "no responses to compute: the source builds the AUTHENTICATE".into(),
                ))
            }
        };
        let sc = &challenge.server_challenge;
        let level = cfg.lm_compat_level;

        if level.initiator_uses_v2() {
            // The CHALLENGE is not needed after this: take its list instead of copying it.
            let mut info = challenge.target_info.take().unwrap_or_default();
            let server_time = info.timestamp();
            let mic = cfg.mic && server_time.is_some();
            // Our own target name replaces whatever the server put there.
            info.remove(av_pairs::MSV_AV_TARGET_NAME);
            if let Some(spn) = &cfg.target_spn {
                info.set_string(av_pairs::MSV_AV_TARGET_NAME, spn);
            }
            let mut av_flags = info.flags().unwrap_or(0) & !MSV_AV_FLAG_UNVERIFIED_SPN;
            if mic {
                av_flags |= MSV_AV_FLAG_MIC_PRESENT;
            }
            if av_flags != 0 || mic {
                info.set_flags(av_flags);
            }
            // An all-zero hash says "no channel bindings" (§2.2.2.1).
            info.set_channel_bindings(channel_bindings.unwrap_or([0u8; 16]));
            let blob = NtlmV2ClientChallenge {
                timestamp: server_time.unwrap_or_else(|| cfg.env.now_filetime()),
                client_challenge,
                av_pairs: info,
            }
            .encode();
            let key = crypto::ntowfv2(nt_hash, user, domain);
            let proof = crypto::ntproofstr(&key, sc, &blob);
            let mut nt = Vec::with_capacity(16 + blob.len());
            nt.extend_from_slice(&proof);
            nt.extend_from_slice(&blob);
            // §3.1.5.1.2: with a server timestamp the LmChallengeResponse is Z(24).
            let lm = if server_time.is_some() {
                vec![0u8; 24]
            } else {
                crypto::lmv2_response(&key, sc, &client_challenge).to_vec()
            };
            let base = crypto::session_base_key_v2(&key, &proof);
            return Ok(Responses {
                lm,
                nt,
                key_exchange_key: base,
                kind: ResponseKind::V2,
                mic,
            });
        }

        // NTLMv1 (§3.3.1).
        let zero_lm = LmHash::default();
        let lm_key = lm_hash.as_ref().unwrap_or(&zero_lm);
        let base = crypto::session_base_key_v1(nt_hash);
        let (lm, nt, kind) = if flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
            let cc = client_challenge;
            let nt = crypto::ntlmv1_ess_response(nt_hash, sc, &cc);
            let mut lm = vec![0u8; 24];
            if let Some(head) = lm.get_mut(..8) {
                head.copy_from_slice(&cc);
            }
            (lm, nt.to_vec(), ResponseKind::V1Ess)
        } else {
            let nt = crypto::ntlmv1_response(nt_hash, sc);
            let lm = match lm_hash {
                Some(h) if level.initiator_sends_lm() => crypto::lmv1_response(h, sc),
                _ => nt,
            };
            (lm.to_vec(), nt.to_vec(), ResponseKind::V1)
        };
        let kxkey = crypto::kxkey_v1(flags, &base, lm_key, &lm, sc);
        Ok(Responses {
            lm,
            nt,
            key_exchange_key: kxkey,
            kind,
            mic: false,
        })
    }
}

/// The initiator as one value per context, for callers that step it with each incoming token.
#[derive(Debug, Default)]
pub enum Initiator {
    /// Nothing sent yet.
    Start(Box<InitiatorStart>),
    /// NEGOTIATE sent.
    AwaitChallenge(Box<InitiatorAwaitChallenge>),
    /// A step failed or the exchange finished; the value is spent.
    #[default]
    Spent,
}

/// What one step of [`Initiator::step`] produced.
#[derive(Debug)]
pub enum InitiatorStep {
    /// Send this token and call again with the peer's answer.
    Continue(Initiator, Vec<u8>),
    /// Send this token; the context is established.
    Done(Box<Established>, Vec<u8>),
}

impl Initiator {
    /// A new initiator.
    pub fn new(cfg: InitiatorConfig) -> Self {
        Initiator::Start(Box::new(InitiatorStart::new(cfg)))
    }

    /// Advances with the peer's token (`None` or empty for the first call).
    pub fn step(
        self,
        input: Option<&[u8]>,
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<InitiatorStep, NtlmError> {
        match self {
            Initiator::Start(s) => {
                if input.is_some_and(|i| !i.is_empty()) {
                    return Err(NtlmError::UnexpectedMessage {
                        expected: "no input token on the first call",
                    });
                }
                let (next, token) = s.negotiate();
                Ok(InitiatorStep::Continue(
                    Initiator::AwaitChallenge(Box::new(next)),
                    token,
                ))
            }
            Initiator::AwaitChallenge(s) => {
                let input = input.ok_or(NtlmError::UnexpectedMessage {
                    expected: "CHALLENGE",
                })?;
                let (est, token) = s.authenticate(input, channel_bindings)?;
                Ok(InitiatorStep::Done(Box::new(est), token))
            }
            Initiator::Spent => Err(NtlmError::UnexpectedMessage {
                expected: "nothing (context spent)",
            }),
        }
    }
}
