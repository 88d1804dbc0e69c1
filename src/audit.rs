//! Audit records: one per negotiation (SPNEGO, or raw NTLM), saying who talked to whom, which mechanisms were
//! offered and chosen, the outcome, why Kerberos was not used, and what the NTLM policy ([`crate::policy`])
//! decided. Records go to syslog (facility `authpriv`, as the policy's `audit.syslog` says) and, when
//! `GSS_NEGOTIATE_AUDIT=<path>` is set, as JSON lines appended to that file (created mode 0600).
//!
//! Never a secret: a record holds names, OIDs, decisions and error texts only. Text that came from a peer (a
//! client or target name, an error detail) is escaped: in JSON every non-printable or non-ASCII character
//! becomes `\uXXXX`; in the syslog line it becomes `\xNN` and quotes are escaped, so a peer cannot forge fields
//! or lines.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::policy::{Decision, SyslogScope};
use crate::spnego::mech::{is_kerberos, is_ntlm};
use crate::spnego::oid::Oid;

/// The variable naming the JSON-lines audit file.
pub const ENV_VAR: &str = "GSS_NEGOTIATE_AUDIT";
/// [`ENV_VAR`] for `getenv`.
const ENV_VAR_C: &std::ffi::CStr = c"GSS_NEGOTIATE_AUDIT";

/// Which side of the negotiation wrote the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `gss_init_sec_context`.
    Initiator,
    /// `gss_accept_sec_context`.
    Acceptor,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Initiator => "initiator",
            Role::Acceptor => "acceptor",
        }
    }
}

/// Why Kerberos was not the mechanism used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KerberosSkip {
    /// Kerberos was not in the list (not configured here, or not offered by the client).
    NotOffered,
    /// The initiator had no ticket and could get none.
    NoTicket,
    /// The KDC could not be reached.
    KdcUnreachable,
    /// The server does not know the target principal.
    UnknownPrincipal,
    /// The acceptor rejected the Kerberos token (missing key, stale kvno, clock skew, …).
    ServerRejected,
    /// The acceptor chose another mechanism (it does not do Kerberos).
    NotSelected,
    /// Another failure of the Kerberos mechanism.
    Failed,
}

impl KerberosSkip {
    /// The word used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            KerberosSkip::NotOffered => "not-offered",
            KerberosSkip::NoTicket => "no-ticket",
            KerberosSkip::KdcUnreachable => "kdc-unreachable",
            KerberosSkip::UnknownPrincipal => "unknown-principal",
            KerberosSkip::ServerRejected => "server-rejected",
            KerberosSkip::NotSelected => "not-selected",
            KerberosSkip::Failed => "failed",
        }
    }
}

/// How a negotiation ended when the application deleted its context before the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfinished {
    /// The initiator sent its final mechanism token, but the acceptor's final answer (and its mechListMIC) was
    /// never processed: HTTP clients such as curl stop after their last token.
    Unconfirmed,
    /// Given up earlier, with more tokens of the mechanism still to come.
    Abandoned,
}

impl Unfinished {
    /// The outcome word used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Unfinished::Unconfirmed => "unconfirmed",
            Unfinished::Abandoned => "abandoned",
        }
    }
}

/// One negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When it ended.
    pub time: SystemTime,
    /// Our side.
    pub role: Role,
    /// `"spnego"`, `"ntlm"` (raw NTLM, e.g. under MIT's SPNEGO) or `"mit-spnego"` (a negotiation the
    /// interposer handed to MIT's SPNEGO for NegoEx).
    pub protocol: &'static str,
    /// The target (initiator) or the authenticated client (acceptor), when known. Peer text.
    pub peer: Option<String>,
    /// The client's address (acceptor), when the application gave one.
    pub peer_addr: Option<IpAddr>,
    /// The mechanisms offered by the initiator, in order.
    pub offered: Vec<Oid>,
    /// The mechanism used (or being used when the negotiation failed).
    pub chosen: Option<Oid>,
    /// `None` on success, else why it failed. May hold peer text.
    pub failure: Option<String>,
    /// Set when the context was deleted before the negotiation finished (then `failure` says so too).
    pub unfinished: Option<Unfinished>,
    /// Why Kerberos was not used; `None` when it was.
    pub kerberos: Option<KerberosSkip>,
    /// What the NTLM policy decided, when NTLM was considered.
    pub ntlm_policy: Option<Decision>,
    /// True when the negotiation restarted after a rejected Kerberos token (or the acceptor moved on to the
    /// next mechanism instead of rejecting).
    pub restarted: bool,
    /// Acceptor: the back-end that validated the NTLM response (`user file`, `winbind`), when one was asked.
    pub backend: Option<String>,
    /// Acceptor: why that back-end refused ([`crate::ntlm::validator::Refusal::reason`]), when it did.
    pub refusal: Option<&'static str>,
}

impl Record {
    /// A record with the time set to now and nothing else known yet.
    pub fn new(role: Role, protocol: &'static str) -> Record {
        Record::new_at(role, protocol, SystemTime::now())
    }

    /// A record whose time the engine sets when the negotiation ends (it always does, before the record is
    /// written or returned): saves reading the clock twice per negotiation.
    pub(crate) fn untimed(role: Role, protocol: &'static str) -> Record {
        Record::new_at(role, protocol, UNIX_EPOCH)
    }

    fn new_at(role: Role, protocol: &'static str, time: SystemTime) -> Record {
        Record {
            time,
            role,
            protocol,
            peer: None,
            peer_addr: None,
            offered: Vec::new(),
            chosen: None,
            failure: None,
            unfinished: None,
            kerberos: None,
            ntlm_policy: None,
            restarted: false,
            backend: None,
            refusal: None,
        }
    }

    /// True when NTLM was offered, chosen or refused in this negotiation.
    pub fn involves_ntlm(&self) -> bool {
        self.ntlm_policy.is_some()
            || self.offered.iter().any(is_ntlm)
            || self.chosen.as_ref().is_some_and(is_ntlm)
    }

    /// `success`, `failure`, or how an unfinished negotiation ended ([`Unfinished`]).
    pub fn outcome(&self) -> &'static str {
        match (self.unfinished, &self.failure) {
            (Some(u), _) => u.as_str(),
            (None, None) => "success",
            (None, Some(_)) => "failure",
        }
    }

    /// The JSON line (without the newline).
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(256);
        let secs = self
            .time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let _ = write!(
            s,
            "{{\"time\":{secs:.3},\"role\":\"{}\",\"protocol\":\"{}\",\"peer\":",
            self.role.as_str(),
            self.protocol
        );
        json_opt(&mut s, self.peer.as_deref());
        s.push_str(",\"peer_addr\":");
        json_opt(&mut s, self.peer_addr.map(|a| a.to_string()).as_deref());
        s.push_str(",\"offered\":[");
        for (i, m) in self.offered.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            json_str(&mut s, &mech_name_cow(m));
        }
        s.push_str("],\"chosen\":");
        json_opt(&mut s, self.chosen.as_ref().map(mech_name_cow).as_deref());
        let _ = write!(s, ",\"outcome\":\"{}\",\"failure\":", self.outcome());
        json_opt(&mut s, self.failure.as_deref());
        s.push_str(",\"backend\":");
        json_opt(&mut s, self.backend.as_deref());
        s.push_str(",\"refusal\":");
        json_opt(&mut s, self.refusal);
        s.push_str(",\"kerberos_not_used\":");
        json_opt(&mut s, self.kerberos.map(KerberosSkip::as_str));
        s.push_str(",\"ntlm_policy\":");
        json_opt(&mut s, self.ntlm_policy.map(Decision::as_str));
        let _ = write!(s, ",\"restarted\":{}}}", self.restarted);
        s
    }

    /// The syslog line: `key=value` pairs, peer text quoted and escaped.
    pub fn to_syslog(&self) -> String {
        let mut s = String::with_capacity(192);
        let _ = write!(
            s,
            "gss-negotiate: {} {} outcome={}",
            self.protocol,
            self.role.as_str(),
            self.outcome()
        );
        if let Some(p) = &self.peer {
            s.push_str(" peer=");
            quoted(&mut s, p);
        }
        if let Some(a) = self.peer_addr {
            let _ = write!(s, " addr={a}");
        }
        s.push_str(" offered=");
        for (i, m) in self.offered.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&mech_name_cow(m));
        }
        if let Some(c) = &self.chosen {
            s.push_str(" chosen=");
            s.push_str(&mech_name_cow(c));
        }
        if let Some(k) = self.kerberos {
            let _ = write!(s, " kerberos-not-used={}", k.as_str());
        }
        if let Some(d) = self.ntlm_policy {
            let _ = write!(s, " ntlm-policy={}", d.as_str());
        }
        if self.restarted {
            s.push_str(" restarted=yes");
        }
        if let Some(b) = &self.backend {
            s.push_str(" backend=");
            quoted(&mut s, b);
        }
        if let Some(r) = self.refusal {
            let _ = write!(s, " refusal={r}");
        }
        if let Some(f) = &self.failure {
            s.push_str(" failure=");
            quoted(&mut s, f);
        }
        s
    }
}

/// A short name for a mechanism OID.
pub fn mech_name(oid: &Oid) -> String {
    mech_name_cow(oid).into_owned()
}

/// [`mech_name`] without an allocation for the known mechanisms.
fn mech_name_cow(oid: &Oid) -> std::borrow::Cow<'static, str> {
    /// 1.3.6.1.4.1.311.2.2.30
    const NEGOEX_DER: [u8; 10] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1E];
    if is_ntlm(oid) {
        "ntlm".into()
    } else if is_kerberos(oid) {
        if *oid == Oid::krb5() {
            "krb5".into()
        } else {
            "krb5-ms".into()
        }
    } else if oid.as_der_content() == NEGOEX_DER {
        "negoex".into()
    } else {
        oid.to_dotted().into()
    }
}

fn json_opt(s: &mut String, v: Option<&str>) {
    match v {
        Some(v) => json_str(s, v),
        None => s.push_str("null"),
    }
}

fn json_str(s: &mut String, v: &str) {
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            ' '..='~' => s.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    let _ = write!(s, "\\u{u:04x}");
                }
            }
        }
    }
    s.push('"');
}

fn quoted(s: &mut String, v: &str) {
    s.push('"');
    for b in v.bytes() {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7E => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
}

/// Where records go.
pub trait AuditSink: Send + Sync {
    /// Writes one record.
    fn record(&self, record: &Record);
}

/// The process's sink: syslog as `scope` says, and the `GSS_NEGOTIATE_AUDIT` file when set.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemAudit {
    /// Which records go to syslog.
    pub scope: SyslogScope,
}

impl SystemAudit {
    /// The process's sink for `scope`, shared (no allocation per negotiation).
    pub fn shared(scope: SyslogScope) -> std::sync::Arc<dyn AuditSink> {
        use std::sync::{Arc, OnceLock};
        static SINKS: OnceLock<[Arc<dyn AuditSink>; 3]> = OnceLock::new();
        let sinks = SINKS.get_or_init(|| {
            [SyslogScope::All, SyslogScope::Ntlm, SyslogScope::None]
                .map(|scope| Arc::new(SystemAudit { scope }) as Arc<dyn AuditSink>)
        });
        let i = match scope {
            SyslogScope::All => 0,
            SyslogScope::Ntlm => 1,
            SyslogScope::None => 2,
        };
        sinks.get(i).map_or_else(
            || Arc::new(SystemAudit { scope }) as Arc<dyn AuditSink>,
            Arc::clone,
        )
    }
}

impl AuditSink for SystemAudit {
    fn record(&self, record: &Record) {
        let to_syslog = match self.scope {
            SyslogScope::All => true,
            SyslogScope::Ntlm => record.involves_ntlm(),
            SyslogScope::None => false,
        };
        if to_syslog {
            crate::ffi::syslog::authpriv(record.failure.is_some(), || record.to_syslog());
        }
        // Read without copying: most processes do not set the variable, and this runs on every negotiation.
        crate::ffi::sys::with_env(ENV_VAR_C, |path| {
            if let Some(path) = path.filter(|p| !p.is_empty()) {
                use std::os::unix::ffi::OsStrExt;
                let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
                append_line(path, &record.to_json());
            }
        });
    }
}

/// True when `GSS_NEGOTIATE_AUDIT` names a file (read without copying the value).
pub fn file_is_set() -> bool {
    crate::ffi::sys::with_env(ENV_VAR_C, |v| v.is_some_and(|v| !v.is_empty()))
}

/// Appends `line` and a newline to `path` in one write (O_APPEND keeps concurrent writers' lines whole).
/// Failures are ignored: an unwritable audit file must not turn into a denial of service.
pub fn append_line(path: &std::path::Path, line: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
    {
        let _ = f.write_all(&buf);
    }
}

/// A sink that keeps records in memory (tests, and callers that want to inspect the last negotiation).
#[derive(Debug, Default)]
pub struct MemoryAudit(Mutex<Vec<Record>>);

impl MemoryAudit {
    /// The records so far.
    pub fn records(&self) -> Vec<Record> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, record: &Record) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record.clone());
    }
}

/// Whether `offered` lists Kerberos.
pub fn offers_kerberos(offered: &[Oid]) -> bool {
    offered.iter().any(is_kerberos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spnego::{OID_KRB5, OID_KRB5_MS, OID_NEGOEX, OID_NTLMSSP};

    #[test]
    fn c_name_of_the_variable_matches() {
        assert_eq!(ENV_VAR_C.to_str(), Ok(ENV_VAR));
    }

    #[test]
    fn mech_names_are_short_for_known_mechanisms() {
        for (dotted, name) in [
            (OID_KRB5, "krb5"),
            (OID_KRB5_MS, "krb5-ms"),
            (OID_NTLMSSP, "ntlm"),
            (OID_NEGOEX, "negoex"),
            ("1.3.6.1.5.5.2", "1.3.6.1.5.5.2"),
        ] {
            assert_eq!(mech_name(&oid(dotted)), name);
        }
    }

    fn oid(s: &str) -> Oid {
        Oid::from_dotted(s).unwrap()
    }

    fn sample() -> Record {
        let mut r = Record::new(Role::Acceptor, "spnego");
        r.time = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        r.peer = Some("EVIL\\\"x\",\"outcome\":\"success\n\u{1b}[31m é".into());
        r.peer_addr = "10.0.0.1".parse().ok();
        r.offered = vec![oid(OID_KRB5_MS), oid(OID_NTLMSSP), oid("1.2.3.4")];
        r.chosen = Some(oid(OID_NTLMSSP));
        r.failure = Some("denied\r\nfake line".into());
        r.kerberos = Some(KerberosSkip::ServerRejected);
        r.ntlm_policy = Some(Decision::Deny);
        r.restarted = true;
        r.backend = Some("winbind".into());
        r.refusal = Some("wrong-password");
        r
    }

    #[test]
    fn json_line_is_valid_and_escapes_peer_text() {
        let line = sample().to_json();
        assert!(!line.contains('\n') && !line.contains('\r') && !line.contains('\u{1b}'));
        assert!(line.is_ascii());
        assert!(line.starts_with("{\"time\":1700000000.123,\"role\":\"acceptor\""));
        assert!(line.contains("\"offered\":[\"krb5-ms\",\"ntlm\",\"1.2.3.4\"]"));
        assert!(line.contains("\"chosen\":\"ntlm\",\"outcome\":\"failure\""));
        assert!(line.contains(
            "fake line\",\"backend\":\"winbind\",\"refusal\":\"wrong-password\",\"kerberos_not_used\""
        ));
        assert!(line.contains("\"kerberos_not_used\":\"server-rejected\""));
        assert!(line.contains("\"ntlm_policy\":\"deny\",\"restarted\":true}"));
        assert!(line.contains("EVIL\\\\\\\"x\\\",\\\"outcome"));
        assert!(line.contains("\\u000a\\u001b[31m \\u00e9"));
        // Exactly one "outcome" key: the peer could not inject another.
        assert_eq!(line.matches("\"outcome\":").count(), 1);
    }

    #[test]
    fn syslog_line_is_one_line_with_escaped_peer_text() {
        let line = sample().to_syslog();
        assert!(
            line.starts_with("gss-negotiate: spnego acceptor outcome=failure peer=\"EVIL\\\\\\\"")
        );
        assert!(!line.contains('\n') && !line.contains('\r') && line.is_ascii());
        assert!(line.contains("\\x0a\\x1b[31m \\xc3\\xa9\""));
        assert!(line.contains(" addr=10.0.0.1 offered=krb5-ms,ntlm,1.2.3.4 chosen=ntlm"));
        assert!(line.contains(
            "kerberos-not-used=server-rejected ntlm-policy=deny restarted=yes backend=\"winbind\" \
             refusal=wrong-password failure="
        ));
        assert!(line.ends_with("failure=\"denied\\x0d\\x0afake line\""));
    }

    #[test]
    fn success_record_has_nulls() {
        let mut r = Record::new(Role::Initiator, "ntlm");
        r.time = UNIX_EPOCH;
        assert_eq!(
            r.to_json(),
            "{\"time\":0.000,\"role\":\"initiator\",\"protocol\":\"ntlm\",\"peer\":null,\"peer_addr\":null,\
             \"offered\":[],\"chosen\":null,\"outcome\":\"success\",\"failure\":null,\
             \"backend\":null,\"refusal\":null,\"kerberos_not_used\":null,\"ntlm_policy\":null,\"restarted\":false}"
        );
        assert!(!r.involves_ntlm());
    }

    #[test]
    fn file_lines_append_with_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("gssneg-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("audit.jsonl");
        append_line(&f, &sample().to_json());
        append_line(&f, "{}");
        let text = std::fs::read_to_string(&f).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
