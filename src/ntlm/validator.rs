//! The acceptor's back-end seam (MS-NLMP §3.2.5.1.2, "the server ... validates the response"): a [`Validator`]
//! takes the server challenge, the client's responses and the names the client sent, and answers with the
//! canonical account, the session base key and the account's SIDs — or with a typed [`Refusal`]. A domain
//! controller never reveals a hash, so the seam is at this level; a local user file implements it too
//! ([`HashValidator`], which computes the expected responses from the NT/LM hash). The acceptor itself keeps
//! checking the MIC, the channel bindings, the timestamp and the SPN after the validator answered.
#![forbid(unsafe_code)]

use core::fmt;
use std::borrow::Cow;

use super::crypto;
use super::secret::{ct_eq, LmHash, NtHash, SessionKey};
use super::wire::split_ntlmv2_response;

/// A user's secrets as a hash-based back-end knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSecrets {
    /// The account name as the source stores it.
    pub user: String,
    /// The source's domain for the account ("" when it has none).
    pub domain: String,
    /// NTOWFv1 of the password.
    pub nt_hash: NtHash,
    /// LMOWFv1 of the password, when known (only LM responses need it).
    pub lm_hash: Option<LmHash>,
}

/// Why a [`CredentialLookup`] found no secrets, for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupFailure {
    /// The source has no such user; `note` is what else the operator should know (e.g. skipped lines).
    NotFound {
        /// Extra text for the status and the log (never a secret).
        note: Option<String>,
    },
    /// The source itself cannot be used (a missing, empty or insecure user file): why, as a sentence.
    Unavailable(String),
}

/// Where a hash-based back-end finds users: (user, domain) → secrets. Names compare case-insensitively; an
/// empty `domain` matches an entry of any domain.
pub trait CredentialLookup: Send + Sync {
    /// The secrets of `domain\user`, if known.
    fn lookup(&self, user: &str, domain: &str) -> Option<UserSecrets>;

    /// Like [`CredentialLookup::lookup`], saying why nothing was found. The validator calls this one; the
    /// default knows no more than "not found".
    fn find_user(&self, user: &str, domain: &str) -> Result<UserSecrets, LookupFailure> {
        self.lookup(user, domain)
            .ok_or(LookupFailure::NotFound { note: None })
    }
}

/// Which response the client sent, as the acceptor classified it before asking the back-end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// NTLMv2: `nt_response` is NTProofStr || client challenge blob (§2.2.2.8).
    V2,
    /// NTLMv1 (with extended session security the acceptor already folded the client challenge into the
    /// challenge: MD5(ServerChallenge || ClientChallenge)[0..8], §3.3.1, and gives no LM response).
    V1,
    /// An LM response only (§3.3.1).
    Lm,
}

/// One logon to validate. The strings are as the client sent them (peer data: escape before logging).
#[derive(Clone, Copy, Debug)]
pub struct LogonRequest<'a> {
    /// The account name the client sent.
    pub user: &'a str,
    /// The domain the client sent ("" when none).
    pub domain: &'a str,
    /// The workstation the client sent.
    pub workstation: &'a str,
    /// The challenge the response answers (the server challenge, or the NTLMv1-ESS challenge).
    pub challenge: [u8; 8],
    /// The response kind.
    pub kind: Response,
    /// NtChallengeResponse.
    pub nt_response: &'a [u8],
    /// LmChallengeResponse (empty for NTLMv1 with extended session security).
    pub lm_response: &'a [u8],
}

/// A successful validation.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The account as the directory spells it ("" = keep what the client sent).
    pub user: String,
    /// The account's domain as the back-end vouches for it; "" = none (the client's claimed domain is never
    /// reported in its place: a domainless user-file entry does not authenticate it).
    pub domain: String,
    /// SessionBaseKey (§3.3.1 / §3.3.2).
    pub session_base_key: SessionKey,
    /// LMOWFv1 (only its first 8 bytes are used: LM_KEY and non-NT key derivation of NTLMv1), when known.
    pub lm_key: Option<LmHash>,
    /// What the back-end vouches for beyond the name: the account's SIDs (`S-1-5-21-…`, the user's first,
    /// then its groups) and group names; empty for a user file.
    pub attrs: crate::name_attrs::NameAttrs,
}

/// Why a back-end refused a logon. Each is one reason an operator can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such account.
    UnknownUser,
    /// No such account, with what else the operator should know (e.g. skipped user-file lines).
    UnknownUserNoted(String),
    /// The user database itself cannot be used (a missing, empty or insecure user file).
    UserDatabaseUnavailable(String),
    /// The response does not prove the password.
    WrongPassword,
    /// The account is disabled.
    AccountDisabled,
    /// The account has expired.
    AccountExpired,
    /// The account is locked out.
    AccountLockedOut,
    /// The password has expired.
    PasswordExpired,
    /// The password must be changed before the first logon.
    PasswordMustChange,
    /// The account may not log on at this time of day.
    InvalidLogonHours,
    /// The account may not log on from this workstation.
    InvalidWorkstation,
    /// An LM response, and the back-end has no LM hash to check it with.
    LmUnavailable,
    /// The back-end refused the response type (e.g. a DC configured for NTLMv2 only refusing NTLMv1).
    ResponseTypeRefused,
    /// The back-end could not be asked (winbind absent or not answering); the text says why.
    Unavailable(String),
    /// Any other refusal, with the back-end's status code and text.
    Other { status: u32, text: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownUser => f.write_str("unknown user"),
            Refusal::UnknownUserNoted(note) => write!(f, "unknown user ({note})"),
            Refusal::UserDatabaseUnavailable(why) => write!(f, "user database unavailable: {why}"),
            Refusal::WrongPassword => f.write_str("password does not match"),
            Refusal::AccountDisabled => f.write_str("account disabled"),
            Refusal::AccountExpired => f.write_str("account expired"),
            Refusal::AccountLockedOut => f.write_str("account locked out"),
            Refusal::PasswordExpired => f.write_str("password expired"),
            Refusal::PasswordMustChange => f.write_str("password must be changed before logon"),
            Refusal::InvalidLogonHours => f.write_str("logon not allowed at this time"),
            Refusal::InvalidWorkstation => f.write_str("logon not allowed from this workstation"),
            Refusal::LmUnavailable => f.write_str("LM-only response and no LM hash to check it"),
            Refusal::ResponseTypeRefused => {
                f.write_str("the domain controller refused this response type")
            }
            Refusal::Unavailable(why) => write!(f, "authentication back-end unavailable: {why}"),
            Refusal::Other { status, text } => {
                write!(
                    f,
                    "logon refused by the domain controller: {text} ({status:#010x})"
                )
            }
        }
    }
}

impl Refusal {
    /// A short stable word for audit records (never holds the detail text).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::UnknownUser | Refusal::UnknownUserNoted(_) => "unknown-user",
            Refusal::UserDatabaseUnavailable(_) => "user-database-unavailable",
            Refusal::WrongPassword => "wrong-password",
            Refusal::AccountDisabled => "account-disabled",
            Refusal::AccountExpired => "account-expired",
            Refusal::AccountLockedOut => "account-locked-out",
            Refusal::PasswordExpired => "password-expired",
            Refusal::PasswordMustChange => "password-must-change",
            Refusal::InvalidLogonHours => "logon-hours",
            Refusal::InvalidWorkstation => "workstation-not-allowed",
            Refusal::LmUnavailable => "lm-unavailable",
            Refusal::ResponseTypeRefused => "response-type-refused",
            Refusal::Unavailable(_) => "backend-unavailable",
            Refusal::Other { .. } => "other",
        }
    }
}

/// Which back-end answered a logon and, when it refused, the [`Refusal::reason`] word: what an audit record
/// says about the validation (no secret, no peer text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendAnswer {
    /// The back-end's [`Validator::name`]; for a [`Chain`] the member whose answer counts, or every member
    /// (joined by `,`) when none knew the user.
    pub backend: Cow<'static, str>,
    /// `None`: the back-end vouched for the response (the acceptor's own checks may still fail the logon).
    pub refusal: Option<&'static str>,
}

/// The acceptor's back-end: validates one logon.
pub trait Validator: Send + Sync {
    /// A short name for logs ("user file", "winbind").
    fn name(&self) -> &'static str;
    /// Validates `req`: the canonical account and session base key, or why not.
    fn validate(&self, req: &LogonRequest<'_>) -> Result<Validated, Refusal>;
    /// [`Validator::validate`], also naming the back-end that answered (for the audit record).
    fn validate_answered(
        &self,
        req: &LogonRequest<'_>,
    ) -> (Result<Validated, Refusal>, Cow<'static, str>) {
        (self.validate(req), Cow::Borrowed(self.name()))
    }
    /// The NetBIOS domain the back-end belongs to, when it has one (a domain member's), for the CHALLENGE.
    fn netbios_domain(&self) -> Option<String> {
        None
    }
    /// A line about the back-end's use so far (connections, round trips) for the debug log.
    fn stats(&self) -> Option<String> {
        None
    }
}

/// A [`Validator`] over a [`CredentialLookup`]: computes each expected response from the user's hash.
pub struct HashValidator<L: ?Sized>(pub std::sync::Arc<L>);

impl<L: CredentialLookup + ?Sized> Validator for HashValidator<L> {
    fn name(&self) -> &'static str {
        "user file"
    }

    fn validate(&self, req: &LogonRequest<'_>) -> Result<Validated, Refusal> {
        let secrets = self
            .0
            .find_user(req.user, req.domain)
            .map_err(|f| match f {
                LookupFailure::NotFound { note: None } => Refusal::UnknownUser,
                LookupFailure::NotFound { note: Some(n) } => Refusal::UnknownUserNoted(n),
                LookupFailure::Unavailable(why) => Refusal::UserDatabaseUnavailable(why),
            })?;
        let ch = &req.challenge;
        let base = match req.kind {
            Response::V2 => {
                let (proof, blob) =
                    split_ntlmv2_response(req.nt_response).map_err(|_| Refusal::WrongPassword)?;
                let key = crypto::ntowfv2(&secrets.nt_hash, req.user, req.domain);
                if !ct_eq(&crypto::ntproofstr(&key, ch, blob), &proof) {
                    return Err(Refusal::WrongPassword);
                }
                crypto::session_base_key_v2(&key, &proof)
            }
            Response::V1 => {
                if !ct_eq(
                    &crypto::ntlmv1_response(&secrets.nt_hash, ch),
                    req.nt_response,
                ) {
                    return Err(Refusal::WrongPassword);
                }
                crypto::session_base_key_v1(&secrets.nt_hash)
            }
            Response::Lm => {
                let lm = secrets.lm_hash.as_ref().ok_or(Refusal::LmUnavailable)?;
                if !ct_eq(&crypto::lmv1_response(lm, ch), req.lm_response) {
                    return Err(Refusal::WrongPassword);
                }
                crypto::session_base_key_v1(&secrets.nt_hash)
            }
        };
        Ok(Validated {
            user: secrets.user.clone(),
            domain: secrets.domain.clone(),
            session_base_key: base,
            lm_key: secrets.lm_hash.clone(),
            attrs: Default::default(),
        })
    }
}

/// Back-ends tried in order (gss-ntlmssp's: user file first, then winbind): the first that knows the user
/// answers; "unknown user", an unusable user file and an unreachable back-end pass the logon to the next.
/// When none knows the user the most useful of those is reported: an unusable user file or an "unknown user"
/// with a note (the first such), else "unknown user" if any back-end said so (an unreachable later back-end
/// does not turn a user file's "unknown user" into an outage), else the last "unavailable".
pub struct Chain(pub Vec<std::sync::Arc<dyn Validator>>);

impl Validator for Chain {
    fn name(&self) -> &'static str {
        "chain"
    }

    fn validate(&self, req: &LogonRequest<'_>) -> Result<Validated, Refusal> {
        self.validate_answered(req).0
    }

    fn validate_answered(
        &self,
        req: &LogonRequest<'_>,
    ) -> (Result<Validated, Refusal>, Cow<'static, str>) {
        let mut noted = None;
        let mut unavailable = None;
        let mut unknown = false;
        for v in &self.0 {
            match v.validate_answered(req) {
                (Err(Refusal::UnknownUser), _) => unknown = true,
                (
                    Err(r @ (Refusal::UnknownUserNoted(_) | Refusal::UserDatabaseUnavailable(_))),
                    by,
                ) => noted = noted.or(Some((r, by))),
                (Err(r @ Refusal::Unavailable(_)), by) => unavailable = Some((r, by)),
                other => return other,
            }
        }
        let (refusal, by) = match (noted, unavailable) {
            (Some(r), _) => r,
            (None, Some(r)) if !unknown => r,
            _ => {
                let all: Vec<&str> = self.0.iter().map(|v| v.name()).collect();
                (Refusal::UnknownUser, Cow::Owned(all.join(",")))
            }
        };
        (Err(refusal), by)
    }

    fn netbios_domain(&self) -> Option<String> {
        self.0.iter().find_map(|v| v.netbios_domain())
    }

    fn stats(&self) -> Option<String> {
        let all: Vec<String> = self.0.iter().filter_map(|v| v.stats()).collect();
        (!all.is_empty()).then(|| all.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn nt(p: &str) -> NtHash {
        crypto::ntowfv1(&crate::ntlm::secret::Password::new(p))
    }

    struct One(UserSecrets);
    impl CredentialLookup for One {
        fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
            user.eq_ignore_ascii_case(&self.0.user)
                .then(|| self.0.clone())
        }
    }

    struct Fixed(Refusal);
    impl Validator for Fixed {
        fn name(&self) -> &'static str {
            "fixed"
        }
        fn validate(&self, _req: &LogonRequest<'_>) -> Result<Validated, Refusal> {
            Err(self.0.clone())
        }
    }

    fn file() -> HashValidator<One> {
        HashValidator(Arc::new(One(UserSecrets {
            user: "alice".into(),
            domain: "DOM".into(),
            nt_hash: nt("pw"),
            lm_hash: None,
        })))
    }

    fn v1_request<'a>(user: &'a str, nt: &'a [u8]) -> LogonRequest<'a> {
        LogonRequest {
            user,
            domain: "DOM",
            workstation: "WS",
            challenge: [7; 8],
            kind: Response::V1,
            nt_response: nt,
            lm_response: &[],
        }
    }

    #[test]
    fn hash_validator_checks_ntlmv1_and_reports_the_stored_spelling() {
        let good = crypto::ntlmv1_response(&nt("pw"), &[7; 8]);
        let ok = file().validate(&v1_request("ALICE", &good)).expect("valid");
        assert_eq!((ok.user.as_str(), ok.domain.as_str()), ("alice", "DOM"));
        assert_eq!(ok.session_base_key, crypto::session_base_key_v1(&nt("pw")));
        let bad = crypto::ntlmv1_response(&nt("other"), &[7; 8]);
        assert_eq!(
            file().validate(&v1_request("alice", &bad)).err(),
            Some(Refusal::WrongPassword)
        );
        assert_eq!(
            file().validate(&v1_request("bob", &good)).err(),
            Some(Refusal::UnknownUser)
        );
        let lm = LogonRequest {
            kind: Response::Lm,
            lm_response: &good,
            nt_response: &[],
            ..v1_request("alice", &good)
        };
        assert_eq!(file().validate(&lm).err(), Some(Refusal::LmUnavailable));
    }

    #[test]
    fn chain_passes_unknown_users_on_and_stops_at_a_definite_answer() {
        let good = crypto::ntlmv1_response(&nt("pw"), &[7; 8]);
        let unknown: Arc<dyn Validator> = Arc::new(Fixed(Refusal::UnknownUser));
        let down: Arc<dyn Validator> = Arc::new(Fixed(Refusal::Unavailable("down".into())));
        let disabled: Arc<dyn Validator> = Arc::new(Fixed(Refusal::AccountDisabled));
        let f: Arc<dyn Validator> = Arc::new(file());
        let req = v1_request("alice", &good);
        assert!(Chain(vec![unknown.clone(), f.clone()])
            .validate(&req)
            .is_ok());
        assert_eq!(
            Chain(vec![disabled.clone(), f.clone()])
                .validate(&req)
                .err(),
            Some(Refusal::AccountDisabled)
        );
        let bob = v1_request("bob", &good);
        assert_eq!(
            Chain(vec![f.clone(), down.clone()]).validate(&bob).err(),
            Some(Refusal::UnknownUser)
        );
        assert_eq!(
            Chain(vec![down.clone(), f.clone(), unknown.clone()])
                .validate(&bob)
                .err(),
            Some(Refusal::UnknownUser)
        );
        assert_eq!(
            Chain(vec![down.clone()]).validate(&bob).err(),
            Some(Refusal::Unavailable("down".into()))
        );
        assert!(Chain(vec![down.clone(), f.clone()]).validate(&req).is_ok());
        let broken: Arc<dyn Validator> =
            Arc::new(Fixed(Refusal::UserDatabaseUnavailable("empty file".into())));
        assert_eq!(
            Chain(vec![broken.clone(), unknown.clone(), down])
                .validate(&bob)
                .err(),
            Some(Refusal::UserDatabaseUnavailable("empty file".into()))
        );
        assert!(Chain(vec![broken, f.clone()]).validate(&req).is_ok());
        assert_eq!(
            Chain(vec![f, disabled]).validate(&bob).err(),
            Some(Refusal::AccountDisabled)
        );
    }

    #[test]
    fn chain_names_the_back_end_whose_answer_counts() {
        let good = crypto::ntlmv1_response(&nt("pw"), &[7; 8]);
        let unknown: Arc<dyn Validator> = Arc::new(Fixed(Refusal::UnknownUser));
        let down: Arc<dyn Validator> = Arc::new(Fixed(Refusal::Unavailable("down".into())));
        let f: Arc<dyn Validator> = Arc::new(file());
        let by = |c: Chain, user: &str| {
            let (r, by) = c.validate_answered(&v1_request(user, &good));
            (r.err().map(|r| r.reason()), by.into_owned())
        };
        let chain = || Chain(vec![f.clone(), down.clone()]);
        assert_eq!(by(chain(), "alice"), (None, "user file".into()));
        assert_eq!(
            by(Chain(vec![unknown.clone(), f.clone()]), "alice"),
            (None, "user file".into())
        );
        assert_eq!(
            by(chain(), "bob"),
            (Some("unknown-user"), "user file,fixed".into())
        );
        assert_eq!(
            by(Chain(vec![down.clone()]), "bob"),
            (Some("backend-unavailable"), "fixed".into())
        );
        let bad = crypto::ntlmv1_response(&nt("other"), &[7; 8]);
        let (r, by) = chain().validate_answered(&v1_request("alice", &bad));
        assert_eq!(
            (r.err(), by.as_ref()),
            (Some(Refusal::WrongPassword), "user file")
        );
    }
}
