//! The NTLM acceptor (server) state machine, MS-NLMP §3.2.5: NEGOTIATE → CHALLENGE → (AUTHENTICATE).
//!
//! The acceptor never sees passwords or hashes: it hands the client's responses to a [`Validator`]
//! (`super::validator`): the user file computes with the user's hash, a domain controller (winbind) validates
//! remotely. After the validator's answer the acceptor checks the MIC, channel bindings, timestamp and SPN
//! itself. Every proof (MIC, channel-binding hash) is compared in constant time.
#![forbid(unsafe_code)]

use std::sync::Arc;

use super::config::{LmCompatLevel, DEFAULT_MAX_TIMESTAMP_SKEW_SECS};
use super::context::{Established, ResponseKind};
use super::crypto::{self, Side};
use super::env::{random_array, Environment, FILETIME_TICKS_PER_SEC};
use super::error::NtlmError;
use super::flags::NegotiateFlags;
use super::secret::{ct_eq, LmHash, SessionKey};
use super::security::SessionSecurity;
use super::wire::{
    av_pairs, split_ntlmv2_response, Authenticate, AvPairs, Challenge, Negotiate,
    NtlmV2ClientChallenge, Version, MSV_AV_FLAG_MIC_PRESENT, MSV_AV_FLAG_UNVERIFIED_SPN,
};

pub use super::validator::BackendAnswer;
pub use super::validator::{CredentialLookup, LookupFailure, UserSecrets};
use super::validator::{HashValidator, LogonRequest, Refusal, Response, Validated, Validator};

/// Acceptor settings.
#[derive(Clone)]
pub struct AcceptorConfig {
    /// NetBIOS computer name (MsvAvNbComputerName).
    pub netbios_computer: String,
    /// NetBIOS domain name (MsvAvNbDomainName, and the CHALLENGE's TargetName).
    pub netbios_domain: String,
    /// DNS computer name (MsvAvDnsComputerName).
    pub dns_computer: String,
    /// DNS domain name (MsvAvDnsDomainName).
    pub dns_domain: String,
    /// Our SPN (`host/server.example`): sent as MsvAvTargetName and compared with the client's when set.
    pub target_spn: Option<String>,
    /// LM compatibility level: NTLMv1 and LM are accepted only at levels 0–2.
    pub lm_compat_level: LmCompatLevel,
    /// Accept anonymous logons.
    pub allow_anonymous: bool,
    /// Refuse an AUTHENTICATE without channel bindings when the application gave bindings (Windows' Extended
    /// Protection "required").
    pub require_channel_bindings: bool,
    /// How far the NTLMv2 timestamp may be from our clock.
    pub max_skew_secs: u64,
    /// The VERSION we put in the CHALLENGE.
    pub version: Version,
    /// The negotiable flags (signing, sealing, key exchange, key strengths, datagram, identify) the CHALLENGE
    /// may grant: gss-ntlmssp's credential option `…655.1.5` on an acceptor credential. All by default.
    pub allowed_flags: NegotiateFlags,
    /// The back-end that validates responses (user file, winbind, or a chain of them).
    pub validator: Arc<dyn Validator>,
    /// Randomness and clock.
    pub env: Arc<dyn Environment>,
}

impl std::fmt::Debug for AcceptorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptorConfig")
            .field("netbios_computer", &self.netbios_computer)
            .field("netbios_domain", &self.netbios_domain)
            .field("target_spn", &self.target_spn)
            .field("lm_compat_level", &self.lm_compat_level)
            .field("allow_anonymous", &self.allow_anonymous)
            .field("validator", &self.validator.name())
            .finish_non_exhaustive()
    }
}

impl AcceptorConfig {
    /// Defaults (level 3, anonymous refused, bindings checked when given, 36 h timestamp window) over a
    /// hash lookup.
    pub fn new(store: Arc<dyn CredentialLookup>, env: Arc<dyn Environment>) -> Self {
        Self::with_validator(Arc::new(HashValidator(store)), env)
    }

    /// The same defaults over any validator.
    pub fn with_validator(validator: Arc<dyn Validator>, env: Arc<dyn Environment>) -> Self {
        AcceptorConfig {
            netbios_computer: String::new(),
            netbios_domain: String::new(),
            dns_computer: String::new(),
            dns_domain: String::new(),
            target_spn: None,
            lm_compat_level: LmCompatLevel::DEFAULT,
            allow_anonymous: false,
            require_channel_bindings: false,
            max_skew_secs: DEFAULT_MAX_TIMESTAMP_SKEW_SECS,
            version: Version::DEFAULT,
            allowed_flags: NegotiateFlags(u32::MAX),
            validator,
            env,
        }
    }
}

/// Security-relevant flags that the AUTHENTICATE may not add to what the CHALLENGE offered.
const SECURITY_FLAGS: NegotiateFlags = NegotiateFlags(
    NegotiateFlags::SIGN.0
        | NegotiateFlags::SEAL.0
        | NegotiateFlags::KEY_EXCH.0
        | NegotiateFlags::EXTENDED_SESSIONSECURITY.0
        | NegotiateFlags::KEY_128.0
        | NegotiateFlags::KEY_56.0
        | NegotiateFlags::LM_KEY.0
        | NegotiateFlags::DATAGRAM.0,
);

/// The acceptor before the NEGOTIATE.
#[derive(Debug)]
pub struct AcceptorStart {
    cfg: AcceptorConfig,
}

/// The acceptor after sending the CHALLENGE.
#[derive(Debug)]
pub struct AcceptorAwaitAuthenticate {
    cfg: AcceptorConfig,
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    offered: NegotiateFlags,
    server_challenge: [u8; 8],
    /// The MsvAvTimestamp of our CHALLENGE.
    sent_timestamp: u64,
}

impl AcceptorStart {
    /// A new acceptor.
    pub fn new(cfg: AcceptorConfig) -> Self {
        AcceptorStart { cfg }
    }

    /// Processes the NEGOTIATE and produces the CHALLENGE (§3.2.5.1.1).
    pub fn challenge(
        self,
        negotiate_bytes: &[u8],
    ) -> Result<(AcceptorAwaitAuthenticate, Vec<u8>), NtlmError> {
        let cfg = self.cfg;
        let negotiate = Negotiate::decode(negotiate_bytes)?;
        let asked = negotiate.flags;
        let mut flags = NegotiateFlags::NTLM
            | NegotiateFlags::TARGET_INFO
            | NegotiateFlags::VERSION
            | NegotiateFlags::TARGET_TYPE_DOMAIN
            | NegotiateFlags::REQUEST_TARGET;
        flags |= if asked.contains(NegotiateFlags::UNICODE) {
            NegotiateFlags::UNICODE
        } else {
            NegotiateFlags::OEM
        };
        flags |= asked
            & cfg.allowed_flags
            & (NegotiateFlags::SIGN
                | NegotiateFlags::SEAL
                | NegotiateFlags::ALWAYS_SIGN
                | NegotiateFlags::KEY_EXCH
                | NegotiateFlags::KEY_128
                | NegotiateFlags::KEY_56
                | NegotiateFlags::DATAGRAM
                | NegotiateFlags::IDENTIFY);
        if asked.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
            flags |= NegotiateFlags::EXTENDED_SESSIONSECURITY;
        }
        // LM_KEY is never granted: its KeyExchangeKey is DES over the account's LMOWF (§3.4.5.1, §4.2.2.1.3), which
        // the acceptor does not know to exist before the AUTHENTICATE names the account (an NT-hash-only account
        // has none), and it weakens the keys. Clients must cope with a server that does not set it (issue 10,
        // defect 5: an NT-hash-only account got a KeyExchangeKey from a zero LMOWF and every wrap failed).

        let now = cfg.env.now_filetime();
        let mut info = AvPairs::new();
        info.set_string(av_pairs::MSV_AV_NB_DOMAIN_NAME, &cfg.netbios_domain);
        info.set_string(av_pairs::MSV_AV_NB_COMPUTER_NAME, &cfg.netbios_computer);
        if !cfg.dns_domain.is_empty() {
            info.set_string(av_pairs::MSV_AV_DNS_DOMAIN_NAME, &cfg.dns_domain);
        }
        if !cfg.dns_computer.is_empty() {
            info.set_string(av_pairs::MSV_AV_DNS_COMPUTER_NAME, &cfg.dns_computer);
        }
        info.set_timestamp(now);
        if let Some(spn) = &cfg.target_spn {
            info.set_string(av_pairs::MSV_AV_TARGET_NAME, spn);
        }
        let server_challenge = random_array::<8>(&*cfg.env)?;
        let challenge = Challenge {
            flags,
            target_name: cfg.netbios_domain.clone(),
            server_challenge,
            reserved: [0; 8],
            target_info: Some(info),
            version: Some(cfg.version),
        }
        .encode();
        let next = AcceptorAwaitAuthenticate {
            cfg,
            negotiate: negotiate_bytes.to_vec(),
            challenge: challenge.clone(),
            offered: flags,
            server_challenge,
            sent_timestamp: now,
        };
        Ok((next, challenge))
    }
}

/// The outcome of checking the client's response: who, how, and the key exchange key.
struct Verified {
    kind: ResponseKind,
    key_exchange_key: SessionKey,
    blob: Option<NtlmV2ClientChallenge>,
    /// The account as the user database spells it (user, domain); `None` for anonymous.
    account: Option<(String, String)>,
    /// What the back-end vouched for beyond the name.
    attrs: crate::name_attrs::NameAttrs,
}

/// The account name to report: the back-end's spelling of the user where it has one, else what the client
/// sent, and the back-end's domain only — `testdom\TESTUSER` comes out as the stored `TESTDOM\testuser`, a
/// UPN logon as the directory's `ADTEST\alice`, and a domainless user-file entry yields the bare user whatever
/// domain the client claimed (the client's domain is not authenticated by a domainless entry: reporting it
/// would let `ADMINS\bob` be claimed with `bob`'s password).
fn canonical(v: &Validated, auth: &Authenticate) -> (String, String) {
    let user = if v.user.is_empty() {
        auth.user.clone()
    } else {
        v.user.clone()
    };
    (user, v.domain.clone())
}

/// Asks `validator` about `req`, noting in `answer` who answered and how.
fn validate(
    validator: &dyn Validator,
    req: &LogonRequest<'_>,
    answer: &mut Option<BackendAnswer>,
) -> Result<Validated, Refusal> {
    let (result, backend) = validator.validate_answered(req);
    *answer = Some(BackendAnswer {
        backend,
        refusal: result.as_ref().err().map(Refusal::reason),
    });
    result
}

/// The core error for a back-end's refusal of `auth`'s account.
fn refused(r: Refusal, auth: &Authenticate) -> NtlmError {
    let (user, domain) = (auth.user.clone(), auth.domain.clone());
    match r {
        Refusal::UnknownUser => NtlmError::UnknownUser { user, domain },
        Refusal::UnknownUserNoted(note) => NtlmError::UnknownUserNoted { user, domain, note },
        Refusal::UserDatabaseUnavailable(reason) => NtlmError::UserDatabaseUnavailable { reason },
        Refusal::WrongPassword => NtlmError::WrongPassword { user, domain },
        Refusal::LmUnavailable => NtlmError::LmRefused,
        Refusal::Unavailable(why) => NtlmError::BackendUnavailable(why),
        reason => NtlmError::LogonRefused {
            reason,
            user,
            domain,
        },
    }
}

impl AcceptorAwaitAuthenticate {
    /// Verifies the AUTHENTICATE (§3.2.5.1.2). `channel_bindings` is the MD5 hash of the acceptor's GSS channel
    /// bindings, `None` when the application gave none.
    pub fn finish(
        self,
        auth_bytes: &[u8],
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<Established, NtlmError> {
        self.finish_answered(auth_bytes, channel_bindings, &mut None)
    }

    /// [`AcceptorAwaitAuthenticate::finish`], also telling in `answer` which back-end validated the response and
    /// whether it refused (left `None` when no back-end was asked: a malformed message, an anonymous logon, …).
    pub fn finish_answered(
        self,
        auth_bytes: &[u8],
        channel_bindings: Option<[u8; 16]>,
        answer: &mut Option<BackendAnswer>,
    ) -> Result<Established, NtlmError> {
        let cfg = &self.cfg;
        let auth = Authenticate::decode(auth_bytes)?;
        let extra = auth.flags & SECURITY_FLAGS & NegotiateFlags(!self.offered.bits());
        if extra != NegotiateFlags::EMPTY {
            return Err(NtlmError::FlagsNotOffered {
                flags: extra.bits(),
            });
        }
        let flags = auth.flags;
        let verified = if is_anonymous(&auth) {
            if !cfg.allow_anonymous {
                return Err(NtlmError::AnonymousRefused);
            }
            Verified {
                kind: ResponseKind::Anonymous,
                key_exchange_key: SessionKey::default(),
                blob: None,
                account: None,
                attrs: Default::default(),
            }
        } else {
            self.verify_response(&auth, flags, answer)?
        };

        // §3.2.5.1.2 decrypts the client's key only with KEY_EXCH and SIGN or SEAL; pyspnego follows that and,
        // without SIGN/SEAL, sends a 1-byte placeholder and keeps KeyExchangeKey. gss-ntlmssp (and our initiator)
        // send a real 16-byte key whenever KEY_EXCH is set. Without SIGN/SEAL the field's length tells them apart.
        let protects = flags.intersects(NegotiateFlags::SIGN | NegotiateFlags::SEAL);
        let key_sent = protects || auth.encrypted_random_session_key.len() == 16;
        let session_key = if flags.contains(NegotiateFlags::KEY_EXCH) && key_sent {
            if auth.encrypted_random_session_key.len() != 16 {
                return Err(NtlmError::BadKeyExchange);
            }
            // The decrypted ExportedSessionKey: wiped when this buffer is freed.
            let raw = zeroize::Zeroizing::new(crypto::rc4k(
                verified.key_exchange_key.as_bytes(),
                &auth.encrypted_random_session_key,
            ));
            SessionKey::from_slice(&raw).ok_or(NtlmError::BadKeyExchange)?
        } else {
            verified.key_exchange_key.clone()
        };

        let mut mic_present = false;
        let mut channel_bound = false;
        let mut client_target_spn = None;
        if let Some(blob) = &verified.blob {
            let info = &blob.av_pairs;
            let av_flags = info.flags().unwrap_or(0);
            if av_flags & MSV_AV_FLAG_MIC_PRESENT != 0 {
                let Some(mic) = auth.mic else {
                    return Err(NtlmError::MicMissing);
                };
                let zeroed =
                    Authenticate::with_zeroed_mic(auth_bytes).map_err(|_| NtlmError::MicMissing)?;
                let expected = crypto::mic(&session_key, &self.negotiate, &self.challenge, &zeroed);
                if !ct_eq(&expected, &mic) {
                    return Err(NtlmError::MicMismatch);
                }
                mic_present = true;
            }
            self.check_timestamp_echoed(info)?;
            channel_bound = self.check_channel_bindings(info, channel_bindings)?;
            self.check_target_name(info)?;
            // Kept only now that the response (whose blob carries it) verified.
            client_target_spn = info
                .get_string(av_pairs::MSV_AV_TARGET_NAME)
                .filter(|s| !s.is_empty());
        } else if channel_bindings.is_some() && cfg.require_channel_bindings {
            return Err(NtlmError::ChannelBindingsMissing);
        }

        let security = SessionSecurity::new(flags, &session_key, Side::Server);
        Ok(Established {
            side: Side::Server,
            flags,
            user: verified
                .account
                .as_ref()
                .map_or_else(|| auth.user.clone(), |a| a.0.clone()),
            domain: verified
                .account
                .as_ref()
                .map_or_else(|| auth.domain.clone(), |a| a.1.clone()),
            workstation: auth.workstation,
            kind: verified.kind,
            mic_present,
            channel_bound,
            peer_wraps_signed: false,
            session_key,
            security,
            established_at: cfg.env.now_filetime(),
            client_target_spn,
            attrs: verified.attrs,
        })
    }

    fn verify_response(
        &self,
        auth: &Authenticate,
        flags: NegotiateFlags,
        answer: &mut Option<BackendAnswer>,
    ) -> Result<Verified, NtlmError> {
        let cfg = &self.cfg;
        let sc = &self.server_challenge;
        let mut req = LogonRequest {
            user: &auth.user,
            domain: &auth.domain,
            workstation: &auth.workstation,
            challenge: *sc,
            kind: Response::V2,
            nt_response: &auth.nt_response,
            lm_response: &auth.lm_response,
        };

        if auth.nt_response.len() > 24 {
            let (_, blob_bytes) = split_ntlmv2_response(&auth.nt_response)?;
            let v = validate(cfg.validator.as_ref(), &req, answer).map_err(|r| refused(r, auth))?;
            let blob = NtlmV2ClientChallenge::decode(blob_bytes)?;
            self.check_timestamp(blob.timestamp)?;
            return Ok(Verified {
                kind: ResponseKind::V2,
                key_exchange_key: v.session_base_key.clone(),
                blob: Some(blob),
                account: Some(canonical(&v, auth)),
                attrs: v.attrs,
            });
        }

        let level = cfg.lm_compat_level;
        if !level.acceptor_allows_v1() {
            return Err(NtlmError::NtlmV1Refused {
                level: level.value(),
            });
        }
        let ess = flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY);
        let kind = match auth.nt_response.len() {
            24 => match ess_client_challenge(&auth.lm_response) {
                Some(cc) if ess => {
                    // §3.3.1: with extended session security the NT response answers
                    // MD5(ServerChallenge || ClientChallenge)[0..8]; the LM response carries only cc.
                    req.challenge = crypto::ess_challenge(sc, &cc);
                    req.lm_response = &[];
                    req.kind = Response::V1;
                    ResponseKind::V1Ess
                }
                _ => {
                    req.kind = Response::V1;
                    ResponseKind::V1
                }
            },
            0 if auth.lm_response.len() == 24 => {
                req.kind = Response::Lm;
                ResponseKind::Lm
            }
            _ => {
                return Err(NtlmError::Wire(super::error::WireError::Invalid(
                    "NT response of invalid length",
                )))
            }
        };
        let v = validate(cfg.validator.as_ref(), &req, answer).map_err(|r| refused(r, auth))?;
        let zero_lm = LmHash::default();
        let lm_key = v.lm_key.as_ref().unwrap_or(&zero_lm);
        let kxkey = crypto::kxkey_v1(flags, &v.session_base_key, lm_key, &auth.lm_response, sc);
        Ok(Verified {
            kind,
            key_exchange_key: kxkey,
            blob: None,
            account: Some(canonical(&v, auth)),
            attrs: v.attrs,
        })
    }

    fn check_timestamp(&self, timestamp: u64) -> Result<(), NtlmError> {
        let now = self.cfg.env.now_filetime();
        let skew_secs = now.abs_diff(timestamp) / FILETIME_TICKS_PER_SEC;
        if skew_secs > self.cfg.max_skew_secs {
            return Err(NtlmError::TimestampSkew {
                skew_secs,
                max_secs: self.cfg.max_skew_secs,
            });
        }
        Ok(())
    }

    /// The NTLMv2 blob (covered by the NTProofStr) carries the CHALLENGE's TargetInfo as the initiator saw it
    /// (§3.1.5.1.2). Our CHALLENGE always has an MsvAvTimestamp, and a client that sees one adds a MIC
    /// (§3.1.5.1.2). A blob without our timestamp means the CHALLENGE was altered on its way to the client —
    /// the "drop the MIC" downgrade: strip the timestamp so no MIC is sent, then alter the flags unnoticed.
    fn check_timestamp_echoed(&self, info: &AvPairs) -> Result<(), NtlmError> {
        if info.timestamp() == Some(self.sent_timestamp) {
            return Ok(());
        }
        Err(NtlmError::ChallengeAltered)
    }

    /// Checks the initiator's MsvAvChannelBindings against ours. `Ok(true)` when we were given bindings and the
    /// initiator's matched (the context is channel-bound), `Ok(false)` when either side has none.
    fn check_channel_bindings(
        &self,
        info: &AvPairs,
        ours: Option<[u8; 16]>,
    ) -> Result<bool, NtlmError> {
        let Some(ours) = ours else { return Ok(false) };
        match info.channel_bindings() {
            Some(theirs) if theirs != [0u8; 16] => {
                if ct_eq(&theirs, &ours) {
                    Ok(true)
                } else {
                    Err(NtlmError::ChannelBindingsMismatch)
                }
            }
            _ if self.cfg.require_channel_bindings => Err(NtlmError::ChannelBindingsMissing),
            _ => Ok(false),
        }
    }

    fn check_target_name(&self, info: &AvPairs) -> Result<(), NtlmError> {
        let Some(ours) = &self.cfg.target_spn else {
            return Ok(());
        };
        let unverified = info.flags().unwrap_or(0) & MSV_AV_FLAG_UNVERIFIED_SPN != 0;
        match info.get_string(av_pairs::MSV_AV_TARGET_NAME) {
            Some(theirs)
                if !theirs.is_empty() && !unverified && !theirs.eq_ignore_ascii_case(ours) =>
            {
                Err(NtlmError::SpnMismatch {
                    expected: ours.clone(),
                    got: theirs,
                })
            }
            _ => Ok(()),
        }
    }
}

/// §3.2.5.1.2: an anonymous AUTHENTICATE has an empty user, an empty NT response and an LM response that is
/// empty or Z(1) (the ANONYMOUS flag alone is not trusted: the responses decide).
fn is_anonymous(auth: &Authenticate) -> bool {
    auth.user.is_empty()
        && auth.nt_response.is_empty()
        && (auth.lm_response.is_empty() || auth.lm_response == [0])
}

/// With extended session security the LM response is ClientChallenge || Z(16).
fn ess_client_challenge(lm: &[u8]) -> Option<[u8; 8]> {
    let (cc, rest) = (lm.get(..8)?, lm.get(8..)?);
    (lm.len() == 24 && rest.iter().all(|b| *b == 0))
        .then(|| cc.try_into().ok())
        .flatten()
}

/// The acceptor as one value per context.
#[derive(Debug, Default)]
pub enum Acceptor {
    /// Waiting for the NEGOTIATE.
    Start(Box<AcceptorStart>),
    /// CHALLENGE sent, waiting for the AUTHENTICATE.
    AwaitAuthenticate(Box<AcceptorAwaitAuthenticate>),
    /// Finished or failed.
    #[default]
    Spent,
}

/// What one step of [`Acceptor::step`] produced.
#[derive(Debug)]
pub enum AcceptorStep {
    /// Send this token and wait for the next one.
    Continue(Acceptor, Vec<u8>),
    /// The context is established (NTLM sends nothing back).
    Done(Box<Established>),
}

impl Acceptor {
    /// A new acceptor.
    pub fn new(cfg: AcceptorConfig) -> Self {
        Acceptor::Start(Box::new(AcceptorStart::new(cfg)))
    }

    /// The back-end this acceptor validates with (`None` once spent).
    pub fn validator(&self) -> Option<Arc<dyn Validator>> {
        match self {
            Acceptor::Start(s) => Some(s.cfg.validator.clone()),
            Acceptor::AwaitAuthenticate(s) => Some(s.cfg.validator.clone()),
            Acceptor::Spent => None,
        }
    }

    /// Advances with the initiator's token.
    pub fn step(
        self,
        input: &[u8],
        channel_bindings: Option<[u8; 16]>,
    ) -> Result<AcceptorStep, NtlmError> {
        self.step_answered(input, channel_bindings, &mut None)
    }

    /// [`Acceptor::step`], also telling in `answer` which back-end validated the AUTHENTICATE and whether it
    /// refused (see [`AcceptorAwaitAuthenticate::finish_answered`]).
    pub fn step_answered(
        self,
        input: &[u8],
        channel_bindings: Option<[u8; 16]>,
        answer: &mut Option<BackendAnswer>,
    ) -> Result<AcceptorStep, NtlmError> {
        match self {
            Acceptor::Start(s) => {
                let (next, token) = s.challenge(input)?;
                Ok(AcceptorStep::Continue(
                    Acceptor::AwaitAuthenticate(Box::new(next)),
                    token,
                ))
            }
            Acceptor::AwaitAuthenticate(s) => Ok(AcceptorStep::Done(Box::new(s.finish_answered(
                input,
                channel_bindings,
                answer,
            )?))),
            Acceptor::Spent => Err(NtlmError::UnexpectedMessage {
                expected: "nothing (context spent)",
            }),
        }
    }
}
