//! NTLM policy, the Linux counterpart of Windows' "Network security: Restrict NTLM" settings: whether NTLM may be
//! used outgoing (initiator) and incoming (acceptor) — `allow`, `audit` or `deny` — with the exceptions Windows
//! has (target servers where NTLM stays allowed; exempt clients, here by name or network), whether NTLM requires
//! channel bindings, and whether SPNEGO may restart with the remaining mechanisms after a server rejected
//! Kerberos. Both SPNEGO engines and the raw NTLM mechanism ([`crate::context`]) ask it.
//!
//! The file is `/etc/gss-negotiate/policy.conf`, or the file named by `GSS_NEGOTIATE_POLICY` (which must then
//! exist). The format is documented in `docs/policy.md`; the parser is strict: an unknown key, a repeated key, a
//! malformed value or an over-long line is an error naming its line, and a policy that does not parse is not
//! used at all — callers fail closed.
#![forbid(unsafe_code)]

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub mod raw;

/// The default policy file.
pub const DEFAULT_PATH: &str = "/etc/gss-negotiate/policy.conf";
/// The variable that names another policy file.
pub const ENV_VAR: &str = "GSS_NEGOTIATE_POLICY";
/// [`ENV_VAR`] for `getenv`.
const ENV_VAR_C: &std::ffi::CStr = c"GSS_NEGOTIATE_POLICY";
/// The largest policy file read.
pub const MAX_FILE_LEN: usize = 64 * 1024;
/// The longest line accepted.
pub const MAX_LINE_LEN: usize = 4096;
/// The most entries in one list.
pub const MAX_LIST_LEN: usize = 256;

/// What a rule says about NTLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rule {
    /// NTLM is used silently.
    #[default]
    Allow,
    /// NTLM is used, and every use is audited as such.
    Audit,
    /// NTLM is refused (unless an exception applies).
    Deny,
}

/// The decision for one negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by the rule `allow`.
    Allow,
    /// Allowed, under the rule `audit`.
    Audit,
    /// Refused by the rule `deny`.
    Deny,
    /// Allowed by an exception although the rule is `audit` or `deny`.
    Exempt,
}

impl Decision {
    /// True unless NTLM is refused.
    pub fn allowed(self) -> bool {
        self != Decision::Deny
    }

    /// The word used in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Audit => "audit",
            Decision::Deny => "deny",
            Decision::Exempt => "exempt",
        }
    }
}

/// Which negotiations go to syslog (`audit.syslog`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogScope {
    /// Every negotiation.
    #[default]
    All,
    /// Only negotiations where NTLM was offered, chosen or refused.
    Ntlm,
    /// None.
    None,
}

/// An address range `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `a.b.c.d[/n]` or `ipv6[/n]`.
    pub fn parse(s: &str) -> Option<Network> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse().ok().filter(|n| *n <= max)?
            }
            Some(_) => return None,
        };
        Some(Network { addr, prefix })
    }

    /// True when `ip` is inside the range (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let (a, b, bits) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                (u128::from(u32::from(n)), u128::from(u32::from(i)), 32u32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128u32),
            _ => return false,
        };
        let host_bits = bits - u32::from(self.prefix);
        a.checked_shr(host_bits).unwrap_or(0) == b.checked_shr(host_bits).unwrap_or(0)
    }
}

/// The parsed policy. [`Policy::default`] is what applies without a policy file: NTLM allowed both ways, no
/// restart, channel bindings as the application gives them, every negotiation to syslog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `ntlm.outgoing`.
    pub outgoing: Rule,
    /// `ntlm.incoming`.
    pub incoming: Rule,
    /// `ntlm.outgoing.allowed-hosts`: target host patterns where NTLM stays allowed.
    pub allowed_hosts: Vec<String>,
    /// `ntlm.incoming.exempt-clients`: client name patterns (`DOMAIN\user` or `user`) that may use NTLM.
    pub exempt_clients: Vec<String>,
    /// `ntlm.incoming.exempt-networks`: client address ranges that may use NTLM.
    pub exempt_networks: Vec<Network>,
    /// `ntlm.channel-bindings = required`.
    pub require_channel_bindings: bool,
    /// `spnego.restart = yes`.
    pub restart: bool,
    /// `audit.syslog`.
    pub syslog: SyslogScope,
}

/// Why a policy could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file, when the policy came from one.
    pub path: Option<PathBuf>,
    /// The 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}", p.display())?,
            None => f.write_str("policy")?,
        }
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PolicyError {}

fn err(line: usize, message: impl Into<String>) -> PolicyError {
    PolicyError {
        path: None,
        line: Some(line),
        message: message.into(),
    }
}

/// Matches `text` against a glob `pattern` (`*` any run, `?` one character), ASCII case-insensitively.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

fn parse_rule(line: usize, v: &str) -> Result<Rule, PolicyError> {
    match v {
        "allow" => Ok(Rule::Allow),
        "audit" => Ok(Rule::Audit),
        "deny" => Ok(Rule::Deny),
        _ => Err(err(
            line,
            format!("expected allow, audit or deny, not {v:?}"),
        )),
    }
}

fn parse_bool(line: usize, v: &str) -> Result<bool, PolicyError> {
    match v {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err(err(line, format!("expected yes or no, not {v:?}"))),
    }
}

fn parse_list(line: usize, v: &str) -> Result<Vec<String>, PolicyError> {
    let items: Vec<String> = v
        .split([',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if items.len() > MAX_LIST_LEN {
        return Err(err(line, format!("more than {MAX_LIST_LEN} entries")));
    }
    Ok(items)
}

fn check_pattern(line: usize, p: &str, what: &str, extra: &[char]) -> Result<(), PolicyError> {
    let ok = p.len() <= 255
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.*?".contains(c) || extra.contains(&c));
    if ok {
        Ok(())
    } else {
        Err(err(line, format!("invalid {what} pattern {p:?}")))
    }
}

impl Policy {
    /// Parses the text of a policy file.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut p = Policy::default();
        let mut seen: Vec<&str> = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            if raw.len() > MAX_LINE_LEN {
                return Err(err(line, format!("line longer than {MAX_LINE_LEN} bytes")));
            }
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            if content.chars().any(|c| c.is_control() && c != '\t') {
                return Err(err(line, "control character"));
            }
            let (key, value) = content
                .split_once('=')
                .ok_or_else(|| err(line, "expected `key = value`"))?;
            let (key, value) = (key.trim(), value.trim());
            if value.is_empty() {
                return Err(err(line, format!("{key}: empty value")));
            }
            if seen.contains(&key) {
                return Err(err(line, format!("{key} given twice")));
            }
            match key {
                "ntlm.outgoing" => p.outgoing = parse_rule(line, value)?,
                "ntlm.incoming" => p.incoming = parse_rule(line, value)?,
                "ntlm.outgoing.allowed-hosts" => {
                    p.allowed_hosts = parse_list(line, value)?;
                    for h in &p.allowed_hosts {
                        check_pattern(line, h, "host", &[':'])?;
                    }
                }
                "ntlm.incoming.exempt-clients" => {
                    p.exempt_clients = parse_list(line, value)?;
                    for c in &p.exempt_clients {
                        check_pattern(line, c, "client", &['\\', '@', '$'])?;
                    }
                }
                "ntlm.incoming.exempt-networks" => {
                    p.exempt_networks = parse_list(line, value)?
                        .iter()
                        .map(|n| {
                            Network::parse(n)
                                .ok_or_else(|| err(line, format!("invalid network {n:?}")))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "ntlm.channel-bindings" => {
                    p.require_channel_bindings = match value {
                        "required" => true,
                        "optional" => false,
                        _ => {
                            return Err(err(
                                line,
                                format!("expected required or optional, not {value:?}"),
                            ))
                        }
                    }
                }
                "spnego.restart" => p.restart = parse_bool(line, value)?,
                "audit.syslog" => {
                    p.syslog = match value {
                        "all" => SyslogScope::All,
                        "ntlm" => SyslogScope::Ntlm,
                        "none" => SyslogScope::None,
                        _ => {
                            return Err(err(
                                line,
                                format!("expected all, ntlm or none, not {value:?}"),
                            ))
                        }
                    }
                }
                _ => return Err(err(line, format!("unknown key {key:?}"))),
            }
            seen.push(key);
        }
        Ok(p)
    }

    /// Reads and parses `path`. A file that others can write is refused (it would let them lift the policy).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let with_path = |mut e: PolicyError| {
            e.path = Some(path.to_path_buf());
            e
        };
        let io = |e: std::io::Error| PolicyError {
            path: Some(path.to_path_buf()),
            line: None,
            message: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o002 != 0 {
                return Err(with_path(PolicyError {
                    path: None,
                    line: None,
                    message: "writable by others; refusing it".into(),
                }));
            }
        }
        if meta.len() > MAX_FILE_LEN as u64 {
            return Err(with_path(PolicyError {
                path: None,
                line: None,
                message: format!("larger than {MAX_FILE_LEN} bytes"),
            }));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            with_path(PolicyError {
                path: None,
                line: None,
                message: "not UTF-8".into(),
            })
        })?;
        Policy::parse(&text).map_err(with_path)
    }

    /// The NTLM decision for an outgoing negotiation to `target_host` (the host part of the target name).
    pub fn outgoing_ntlm(&self, target_host: Option<&str>) -> Decision {
        let exempt =
            target_host.is_some_and(|h| self.allowed_hosts.iter().any(|p| glob_match(p, h)));
        decide(self.outgoing, exempt)
    }

    /// The NTLM decision for an incoming negotiation from `client` (`DOMAIN\user`, when known) at `addr`.
    pub fn incoming_ntlm(&self, client: Option<&str>, addr: Option<IpAddr>) -> Decision {
        let by_addr = addr.is_some_and(|a| self.exempt_networks.iter().any(|n| n.contains(a)));
        let by_name = client.is_some_and(|c| self.client_exempt(c));
        decide(self.incoming, by_addr || by_name)
    }

    /// [`Policy::incoming_ntlm`] for `client`, from `unnamed`, the decision for a client not known by name at the
    /// same address: an `allow` rule and an address exemption stand whatever the name, so only a name exemption
    /// can change the answer (the acceptor asks once before and once after NTLM has named the client).
    pub fn incoming_ntlm_named(&self, unnamed: Decision, client: Option<&str>) -> Decision {
        match unnamed {
            Decision::Allow | Decision::Exempt => unnamed,
            Decision::Audit | Decision::Deny => {
                decide(self.incoming, client.is_some_and(|c| self.client_exempt(c)))
            }
        }
    }

    /// Whether NTLM can still be allowed for a client not yet known by name (the acceptor selects NTLM only
    /// then, and checks the name once NTLM has authenticated it).
    pub fn incoming_ntlm_possible(&self, addr: Option<IpAddr>) -> bool {
        self.incoming_ntlm_possible_given(self.incoming_ntlm(None, addr))
    }

    /// [`Policy::incoming_ntlm_possible`] from `unnamed`, the decision for a client not known by name there.
    pub fn incoming_ntlm_possible_given(&self, unnamed: Decision) -> bool {
        unnamed.allowed() || !self.exempt_clients.is_empty()
    }

    fn client_exempt(&self, client: &str) -> bool {
        let user = client.rsplit('\\').next().unwrap_or(client);
        self.exempt_clients.iter().any(|p| {
            if p.contains('\\') {
                glob_match(p, client)
            } else {
                glob_match(p, user)
            }
        })
    }
}

fn decide(rule: Rule, exempt: bool) -> Decision {
    match (rule, exempt) {
        (Rule::Allow, _) => Decision::Allow,
        (_, true) => Decision::Exempt,
        (Rule::Audit, false) => Decision::Audit,
        (Rule::Deny, false) => Decision::Deny,
    }
}

/// The host part of a target: `HTTP/host.example.com` or `HTTP@host.example.com` → `host.example.com`
/// (a port after the host, `host:8080`, is dropped).
pub fn target_host(target: &str) -> &str {
    let host = target
        .split_once('/')
        .or_else(|| target.split_once('@'))
        .map_or(target, |(_, h)| h);
    let host = host.split('/').next().unwrap_or(host);
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Which file applies: `GSS_NEGOTIATE_POLICY` when set, else [`DEFAULT_PATH`] (and whether it must exist).
fn policy_path() -> (PathBuf, bool) {
    match std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        Some(p) => (PathBuf::from(p), true),
        None => (PathBuf::from(DEFAULT_PATH), false),
    }
}

type CacheKey = (PathBuf, Option<(std::time::SystemTime, u64)>);

/// How long the policy in force is used before its file is looked at again: a change to the file takes effect
/// within this time; a change of `GSS_NEGOTIATE_POLICY` takes effect at once.
pub const RECHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The policy last returned by [`current`], when, and for which value of `GSS_NEGOTIATE_POLICY`.
struct Fresh {
    env: Option<Vec<u8>>,
    at: std::time::Instant,
    policy: Arc<Policy>,
}

/// The policy in force for this process: the file is parsed once and re-read when its path, size or
/// modification time changes, looked at (one `stat`) at most once per [`RECHECK_AFTER`] by each thread while
/// `GSS_NEGOTIATE_POLICY` keeps its value. Without `GSS_NEGOTIATE_POLICY` and without the default file, the
/// default policy. Errors are not kept: every call after one tries again. The policy last returned is kept per
/// thread (several calls per negotiation; threads take no common lock for it).
pub fn current() -> Result<Arc<Policy>, PolicyError> {
    use std::cell::RefCell;
    thread_local! {
        static FRESH: RefCell<Option<Fresh>> = const { RefCell::new(None) };
    }
    let env_var = ENV_VAR_C;
    let now = std::time::Instant::now();
    let kept = FRESH.try_with(|cell| {
        let fresh = cell.try_borrow().ok()?;
        let f = fresh.as_ref()?;
        let same_env =
            crate::ffi::sys::with_env(env_var, |v| v.filter(|v| !v.is_empty()) == f.env.as_deref());
        (same_env && now.saturating_duration_since(f.at) < RECHECK_AFTER).then(|| f.policy.clone())
    });
    if let Ok(Some(policy)) = kept {
        return Ok(policy);
    }
    // Read before the file is looked at: if the variable changes in between, the next call sees the
    // difference and looks again.
    let env =
        crate::ffi::sys::with_env(env_var, |v| v.filter(|v| !v.is_empty()).map(<[u8]>::to_vec));
    let policy = current_uncached()?;
    // A call from a thread-local destructor (thread exit) keeps nothing.
    let _ = FRESH.try_with(|cell| {
        if let Ok(mut fresh) = cell.try_borrow_mut() {
            *fresh = Some(Fresh {
                env,
                at: now,
                policy: policy.clone(),
            });
        }
    });
    Ok(policy)
}

/// [`current`] without the time bound: the environment, a `stat` of the file, and the file's parse when its
/// path, size or modification time changed.
fn current_uncached() -> Result<Arc<Policy>, PolicyError> {
    static CACHE: Mutex<Option<(CacheKey, Arc<Policy>)>> = Mutex::new(None);
    let (path, required) = policy_path();
    let stamp = std::fs::metadata(&path)
        .ok()
        .map(|m| (m.modified().unwrap_or(std::time::UNIX_EPOCH), m.len()));
    if stamp.is_none() && !required {
        static DEFAULT: std::sync::OnceLock<Arc<Policy>> = std::sync::OnceLock::new();
        return Ok(DEFAULT.get_or_init(Arc::default).clone());
    }
    let key = (path, stamp);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((k, p)) = cache.as_ref() {
        if *k == key {
            return Ok(p.clone());
        }
    }
    let policy = Arc::new(Policy::load(&key.0)?);
    *cache = Some((key, policy.clone()));
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_decision_from_the_unnamed_one_equals_asking_with_the_name() {
        let policies = [
            "",
            "ntlm.incoming = audit\n",
            "ntlm.incoming = deny\n",
            "ntlm.incoming = deny\nntlm.incoming.exempt-clients = EXAMPLE\\svc-* scanner\n",
            "ntlm.incoming = audit\nntlm.incoming.exempt-networks = 10.0.0.0/8\n",
            "ntlm.incoming = deny\nntlm.incoming.exempt-networks = 10.0.0.0/8\n\
             ntlm.incoming.exempt-clients = scanner\n",
        ];
        let addrs: [Option<IpAddr>; 3] = [None, "10.1.2.3".parse().ok(), "192.0.2.1".parse().ok()];
        let peers = [
            None,
            Some("EXAMPLE\\svc-backup"),
            Some("OTHER\\scanner"),
            Some("EXAMPLE\\alice"),
        ];
        let mut seen = Vec::new();
        for text in policies {
            let policy = Policy::parse(text).unwrap();
            for addr in addrs {
                let unnamed = policy.incoming_ntlm(None, addr);
                assert_eq!(
                    policy.incoming_ntlm_possible_given(unnamed),
                    policy.incoming_ntlm_possible(addr),
                    "{text:?} {addr:?}"
                );
                for peer in peers {
                    let want = policy.incoming_ntlm(peer, addr);
                    assert_eq!(
                        policy.incoming_ntlm_named(unnamed, peer),
                        want,
                        "{text:?} {addr:?} {peer:?}"
                    );
                    if !seen.contains(&want) {
                        seen.push(want);
                    }
                }
            }
        }
        // Every kind of decision was compared.
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn c_name_of_the_variable_matches() {
        assert_eq!(ENV_VAR_C.to_str(), Ok(ENV_VAR));
    }

    #[test]
    fn parses_every_key() {
        let p = Policy::parse(
            "# comment\n\
             ntlm.outgoing = deny   # trailing comment\n\
             ntlm.incoming = audit\n\
             ntlm.outgoing.allowed-hosts = *.legacy.example.com, fs01\n\
             ntlm.incoming.exempt-clients = EXAMPLE\\svc-* scanner\n\
             ntlm.incoming.exempt-networks = 10.1.0.0/16 ::1\n\
             ntlm.channel-bindings = required\n\
             spnego.restart = yes\n\
             audit.syslog = ntlm\n",
        )
        .unwrap();
        assert_eq!(p.outgoing, Rule::Deny);
        assert_eq!(p.incoming, Rule::Audit);
        assert_eq!(p.allowed_hosts, ["*.legacy.example.com", "fs01"]);
        assert_eq!(p.exempt_clients, ["EXAMPLE\\svc-*", "scanner"]);
        assert_eq!(p.exempt_networks.len(), 2);
        assert!(p.require_channel_bindings && p.restart);
        assert_eq!(p.syslog, SyslogScope::Ntlm);
    }

    #[test]
    fn empty_text_is_the_default() {
        assert_eq!(Policy::parse("\n  # nothing\n").unwrap(), Policy::default());
        assert!(!Policy::default().restart);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("\n\nntlm.outgoing = maybe\n", 3, "allow, audit or deny"),
            ("ntlm.incoming = deny\nntlm.incoming = allow\n", 2, "twice"),
            ("x = 1\n", 1, "unknown key"),
            ("ntlm.outgoing\n", 1, "key = value"),
            ("ntlm.outgoing =\n", 1, "empty value"),
            (
                "ntlm.incoming.exempt-networks = 10.0.0.0/33\n",
                1,
                "invalid network",
            ),
            ("ntlm.outgoing.allowed-hosts = a;b\n", 1, "invalid host"),
            ("spnego.restart = maybe\n", 1, "yes or no"),
            ("ntlm.channel-bindings = yes\n", 1, "required or optional"),
            ("audit.syslog = some\n", 1, "all, ntlm or none"),
            ("ntlm.outgoing = allow\x07\n", 1, "control"),
        ];
        for (text, line, needle) in cases {
            let e = Policy::parse(text).unwrap_err();
            assert_eq!(e.line, Some(line), "{text:?}: {e}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
        let long = format!("ntlm.outgoing.allowed-hosts = {}\n", "a".repeat(5000));
        assert!(Policy::parse(&long).unwrap_err().message.contains("longer"));
    }

    #[test]
    fn glob_matches_wildcards_case_insensitively() {
        assert!(glob_match("*.example.com", "FS.Example.COM"));
        assert!(glob_match("*.example.com", "a.b.example.com"));
        assert!(!glob_match("*.example.com", "example.com"));
        assert!(glob_match("fs?", "fs1"));
        assert!(!glob_match("fs?", "fs12"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn outgoing_exceptions_lift_deny_and_audit() {
        let p = Policy::parse("ntlm.outgoing = deny\nntlm.outgoing.allowed-hosts = *.old.test\n")
            .unwrap();
        assert_eq!(p.outgoing_ntlm(Some("fs.old.test")), Decision::Exempt);
        assert_eq!(p.outgoing_ntlm(Some("fs.new.test")), Decision::Deny);
        assert_eq!(p.outgoing_ntlm(None), Decision::Deny);
        let a = Policy::parse("ntlm.outgoing = audit\n").unwrap();
        assert_eq!(a.outgoing_ntlm(Some("x")), Decision::Audit);
        assert_eq!(Policy::default().outgoing_ntlm(None), Decision::Allow);
    }

    #[test]
    fn incoming_exemptions_by_name_and_network() {
        let p = Policy::parse(
            "ntlm.incoming = deny\n\
             ntlm.incoming.exempt-clients = EXAMPLE\\svc-* scanner\n\
             ntlm.incoming.exempt-networks = 192.168.5.0/24 fd00::/8\n",
        )
        .unwrap();
        assert_eq!(
            p.incoming_ntlm(Some("example\\SVC-backup"), None),
            Decision::Exempt
        );
        assert_eq!(
            p.incoming_ntlm(Some("OTHER\\svc-backup"), None),
            Decision::Deny
        );
        assert_eq!(
            p.incoming_ntlm(Some("ANY\\scanner"), None),
            Decision::Exempt
        );
        assert_eq!(
            p.incoming_ntlm(None, "192.168.5.77".parse().ok()),
            Decision::Exempt
        );
        assert_eq!(
            p.incoming_ntlm(None, "::ffff:192.168.5.1".parse().ok()),
            Decision::Exempt
        );
        assert_eq!(
            p.incoming_ntlm(None, "fd12::1".parse().ok()),
            Decision::Exempt
        );
        assert_eq!(
            p.incoming_ntlm(None, "192.168.6.1".parse().ok()),
            Decision::Deny
        );
        assert!(p.incoming_ntlm_possible(None));
        let strict = Policy::parse("ntlm.incoming = deny\n").unwrap();
        assert!(!strict.incoming_ntlm_possible(None));
    }

    #[test]
    fn networks_parse_strictly() {
        assert!(Network::parse("10.0.0.0/8").is_some());
        assert!(Network::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        for bad in [
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0/8",
            "::/129",
            "x",
            "1.2.3.4/ 8",
        ] {
            assert!(Network::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn target_host_strips_service_and_port() {
        assert_eq!(target_host("HTTP/www.example.com"), "www.example.com");
        assert_eq!(target_host("HTTP@www.example.com"), "www.example.com");
        assert_eq!(target_host("HTTP/www.example.com:8080"), "www.example.com");
        assert_eq!(target_host("plainhost"), "plainhost");
    }

    #[test]
    fn load_refuses_world_writable_files_and_reports_the_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("gssneg-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("policy.conf");
        std::fs::write(&f, "ntlm.outgoing = deny\nbogus = 1\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Policy::load(&f).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().starts_with(&f.display().to_string()), "{e}");
        std::fs::write(&f, "ntlm.outgoing = deny\n").unwrap();
        assert_eq!(Policy::load(&f).unwrap().outgoing, Rule::Deny);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(Policy::load(&f).unwrap_err().message.contains("writable"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
