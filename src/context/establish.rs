//! Context establishment: `gss_init_sec_context` and `gss_accept_sec_context` over the NTLM initiator and
//! acceptor (MS-NLMP §3.1.5, §3.2.5), with the credential, name and policy checks around them.

use super::*;

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
        Self::initiate_borrowed(cred.as_ref(), target, req_flags, cfg, audit)
    }

    /// [`SecContext::initiate_audited`] with a borrowed credential (one shared by several contexts is not
    /// copied: the context takes what it needs from it).
    pub fn initiate_borrowed(
        cred: Option<&Credential>,
        target: Option<Name>,
        req_flags: u32,
        cfg: &Config,
        audit: AuditBy,
    ) -> Result<(SecContext, Step), GssError> {
        let base_flags = cred.and_then(|c| c.neg_flags).map(NegotiateFlags);
        // A failure before the context exists is logged here (or by `acquire_initiator`); later ones by
        // `init_step`.
        let acquired;
        let init = match cred {
            _ if req_flags & flags::ANON != 0 => &CredInitiator::Anonymous,
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
            None => {
                acquired = creds::acquire_initiator(None, None, cfg)?;
                &acquired
            }
        };
        let (credential, local) = match init {
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
        Self::accept_borrowed(cred.as_ref(), cfg, sys, audit)
    }

    /// [`SecContext::accept_audited`] with a borrowed credential (one shared by several contexts is not
    /// copied: the context takes what it needs from it).
    pub fn accept_borrowed(
        cred: Option<&Credential>,
        cfg: &Config,
        sys: &dyn NameSystem,
        audit: AuditBy,
    ) -> Result<SecContext, GssError> {
        Self::accept_with_policy(cred, cfg, sys, audit, None)
    }

    /// [`SecContext::accept_borrowed`] for our SPNEGO engine, which has read the policy already: its
    /// `require_channel_bindings` is given instead of being looked up again.
    pub fn accept_spnego(
        cred: Option<&Credential>,
        cfg: &Config,
        sys: &dyn NameSystem,
        require_channel_bindings: bool,
    ) -> Result<SecContext, GssError> {
        Self::accept_with_policy(
            cred,
            cfg,
            sys,
            AuditBy::Spnego,
            Some(require_channel_bindings),
        )
    }

    fn accept_with_policy(
        cred: Option<&Credential>,
        cfg: &Config,
        sys: &dyn NameSystem,
        audit: AuditBy,
        policy_cb: Option<bool>,
    ) -> Result<SecContext, GssError> {
        let log_failure = |e: &GssError| {
            crate::debug::event(
                cfg.debug_file.as_deref(),
                format_args!("acceptor: refused: {e}"),
            )
        };
        let acquired;
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
            None => {
                acquired = Credential {
                    acceptor: Some(
                        creds::acquire_acceptor(None, None, sys).inspect_err(log_failure)?,
                    ),
                    ..Credential::default()
                };
                &acquired
            }
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
        let policy_cb = match (audit, policy_cb) {
            (AuditBy::Spnego, Some(given)) => given,
            (AuditBy::Context, _) => crate::policy::raw::check_incoming_start(true)?,
            // Our SPNEGO engine decided; the channel bindings the policy requires still hold.
            (AuditBy::Spnego, None) => crate::policy::current()
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
                // The client's display name only for our own check: under our SPNEGO (audit by the
                // engine) the engine asks for it once it decides (`Mechanism::peer_name`).
                let checked = if audit {
                    let client = crate::ntlm::error::display_user(&est.domain, &est.user);
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
}
