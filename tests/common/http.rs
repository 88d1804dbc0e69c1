//! The HTTP Negotiate environment of `scripts/http-env.sh` (loopback MIT KDC + Apache mod_auth_gssapi) for tests
//! that choose its options (interposer line, policy, audit, a skewed server clock), and curl clients with their
//! own private GSSAPI configuration. The same pieces `tests/http_negotiate.rs` defines privately, as a module.
#![allow(dead_code)]

use crate::common::{run_bounded, TempDir};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const REALM: &str = "GSSNEG.TEST";
pub const PASSWORD: &str = "Passw0rd!";
pub const KRB5_USER: &str = "testuser@GSSNEG.TEST";
pub const NTLM_USER: &str = r"TESTDOM\testuser";
/// The HTTP/ principal the KDC has but Apache's keytab lacks.
pub const NOKEY_HOST: &str = "nokey.gssneg.test";
/// The HTTP/ principal whose key in Apache's keytab is one version behind the KDC's.
pub const STALE_HOST: &str = "stale.gssneg.test";
pub const GSS_MECH_KRB5: &str = "Negotiate/krb5";
pub const NTLM_MECH_NAMES: &[&str] = &["NTLM", "1.3.6.1.4.1.311.2.2.10"];
pub const OID_KRB5: &str = "1.2.840.113554.1.2.2";
pub const OID_NTLMSSP: &str = "1.3.6.1.4.1.311.2.2.10";

const START_TIMEOUT: Duration = Duration::from_secs(90);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Options of `scripts/http-env.sh start`.
#[derive(Default, Clone)]
pub struct Options {
    /// `HTTP_ENV_INTERPOSER_OID`: Apache loads our SPNEGO interposer.
    pub interposer_oid: Option<String>,
    /// `HTTP_ENV_POLICY`: the server's policy file contents.
    pub policy: Option<String>,
    /// `HTTP_ENV_AUDIT=1`.
    pub audit: bool,
    /// `HTTP_ENV_FAKETIME`, e.g. "+2h".
    pub faketime: Option<String>,
}

/// A running environment; stopped (and removed, unless `GSS_TEST_KEEP_TMP`) on drop.
pub struct HttpEnv {
    pub dir: PathBuf,
    pub host: String,
    pub port: u16,
}

impl HttpEnv {
    pub fn start(tag: &str, plugin: &Path, opts: &Options) -> Result<HttpEnv, String> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!(
            "gss-negotiate-http-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&base);
        let log = base.with_extension("start.log");
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("scripts/http-env.sh"))
            .arg("start")
            .arg(&base)
            .env("GSS_NEGOTIATE_SO", plugin)
            .env("HTTP_ENV_LIFETIME", "600")
            .stdin(Stdio::null());
        if let Some(oid) = &opts.interposer_oid {
            cmd.env("HTTP_ENV_INTERPOSER_OID", oid);
        }
        if let Some(p) = &opts.policy {
            let file = base.with_extension("policy");
            fs::write(&file, p).map_err(|e| format!("policy file: {e}"))?;
            cmd.env("HTTP_ENV_POLICY", file);
        }
        if opts.audit {
            cmd.env("HTTP_ENV_AUDIT", "1");
        }
        if let Some(f) = &opts.faketime {
            cmd.env("HTTP_ENV_FAKETIME", f);
        }
        let out = run_bounded(cmd, &log, START_TIMEOUT);
        let _ = fs::remove_file(&log);
        let _ = fs::remove_file(base.with_extension("policy"));
        let mut env = HttpEnv {
            dir: base.clone(),
            host: String::new(),
            port: 0,
        };
        if !out.success() {
            return Err(format!("scripts/http-env.sh start failed:\n{}", out.output));
        }
        let state = fs::read_to_string(base.join("state")).map_err(|e| format!("no state: {e}"))?;
        for line in state.lines() {
            if let Some(v) = line.strip_prefix("HOST=") {
                env.host = v.to_string();
            }
            if let Some(v) = line.strip_prefix("HTTP_PORT=") {
                env.port = v.parse().map_err(|e| format!("bad port {v}: {e}"))?;
            }
        }
        if env.host.is_empty() || env.port == 0 {
            return Err(format!("incomplete state file:\n{state}"));
        }
        Ok(env)
    }

    pub fn url_for(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    pub fn resolve(&self, host: &str) -> String {
        format!("{host}:{}:127.0.0.1", self.port)
    }

    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.dir.join("logs").join(name)).unwrap_or_default()
    }

    /// Replace the server's policy (Apache honours it within `policy::RECHECK_AFTER`; this waits that long).
    pub fn set_policy(&self, text: &str) {
        let tmp = self.dir.join("policy.conf.new");
        fs::write(&tmp, text).expect("write policy");
        fs::rename(&tmp, self.dir.join("policy.conf")).expect("replace policy");
        // A running server looks at the file at most once per RECHECK_AFTER (docs/policy.md): wait for it.
        std::thread::sleep(gss_negotiate::policy::RECHECK_AFTER + Duration::from_millis(100));
    }

    /// `scripts/http-env.sh <what> DIR` (kdc-stop, kdc-start).
    pub fn script(&self, what: &str) -> bool {
        let log = self.dir.with_extension(format!("{what}.log"));
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("scripts/http-env.sh"))
            .arg(what)
            .arg(&self.dir)
            .stdin(Stdio::null());
        let out = run_bounded(cmd, &log, Duration::from_secs(30));
        let _ = fs::remove_file(&log);
        out.success()
    }
}

impl Drop for HttpEnv {
    fn drop(&mut self) {
        let keep = std::env::var_os("GSS_TEST_KEEP_TMP").is_some();
        let log = self.dir.with_extension("stop.log");
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("scripts/http-env.sh"))
            .arg("stop")
            .arg(&self.dir)
            .env("HTTP_ENV_KEEP", if keep { "1" } else { "0" })
            .stdin(Stdio::null());
        let _ = run_bounded(cmd, &log, Duration::from_secs(30));
        let _ = fs::remove_file(&log);
        if keep {
            eprintln!("kept {}", self.dir.display());
        }
    }
}

/// A client's private side: its own mech config, credential cache, NTLM user file, policy and audit file.
pub struct Client {
    pub dir: TempDir,
    pub mech_conf: PathBuf,
    pub audit: PathBuf,
    policy: Option<PathBuf>,
}

impl Client {
    /// `mech_conf_text`: the client's GSS_MECH_CONFIG contents; `policy`: its GSS_NEGOTIATE_POLICY contents.
    pub fn new(tag: &str, mech_conf_text: &str, policy: Option<&str>) -> Client {
        let dir = TempDir::new(&format!("http-client-{tag}")).expect("temp dir");
        fs::write(
            dir.path().join("ntlm_users"),
            format!("TESTDOM:testuser:{PASSWORD}\n"),
        )
        .expect("user file");
        let mech_conf = dir.path().join("mech.conf");
        fs::write(&mech_conf, mech_conf_text).expect("mech conf");
        let policy = policy.map(|p| {
            let f = dir.path().join("policy.conf");
            fs::write(&f, p).expect("policy");
            f
        });
        let audit = dir.path().join("audit.jsonl");
        Client {
            dir,
            mech_conf,
            audit,
            policy,
        }
    }

    pub fn command(&self, env: &HttpEnv, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("KRB5_CONFIG", env.dir.join("krb5.conf"))
            .env("GSS_MECH_CONFIG", &self.mech_conf)
            .env("NTLM_USER_FILE", self.dir.path().join("ntlm_users"))
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", self.dir.path().join("ccache").display()),
            )
            .env("GSS_NEGOTIATE_AUDIT", &self.audit)
            .env("LC_ALL", "C")
            .env_remove("GSS_NEGOTIATE_POLICY")
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .stdin(Stdio::null());
        if let Some(p) = &self.policy {
            cmd.env("GSS_NEGOTIATE_POLICY", p);
        }
        cmd
    }

    pub fn kinit(&self, env: &HttpEnv) {
        let mut cmd = self.command(env, "sh");
        cmd.args([
            "-c",
            &format!("printf '%s\\n' '{PASSWORD}' | timeout 20 kinit testuser@{REALM}"),
        ]);
        let out = run_bounded(cmd, &self.dir.path().join("kinit.log"), CLIENT_TIMEOUT);
        assert!(out.success(), "kinit failed: {}", out.output);
    }

    pub fn kdestroy(&self, env: &HttpEnv) {
        let _ = fs::remove_file(self.dir.path().join("ccache"));
        let _ = env;
    }

    /// tests/http/negotiate_client.py with python-gssapi's SPNEGO and `--finish 1` (the initiator context also
    /// steps the final token, so it completes); the audit file is emptied first. Returns the client's JSON.
    pub fn python_spnego(&self, env: &HttpEnv, host: &str, path: &str) -> serde_json::Value {
        let _ = fs::remove_file(&self.audit);
        let mut cmd = self.command(env, "/usr/bin/python3");
        cmd.arg(repo().join("tests/http/negotiate_client.py"))
            .args([
                "gssapi-spnego",
                &env.port.to_string(),
                host,
                path,
                "--finish",
                "1",
            ]);
        let out = run_bounded(cmd, &self.dir.path().join("python.log"), CLIENT_TIMEOUT);
        out.output
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("python client printed no JSON:\n{}", out.output))
    }

    /// `curl --negotiate -u :` on `host` (resolved to loopback) and `path`; the audit file is emptied first.
    pub fn curl(&self, env: &HttpEnv, host: &str, path: &str) -> Curl {
        let _ = fs::remove_file(&self.audit);
        let mut cmd = self.command(env, "curl");
        cmd.args(["-sS", "-v", "--max-time", "20", "--negotiate", "-u", ":"])
            .arg("--resolve")
            .arg(env.resolve(host))
            .arg("-w")
            .arg("\nHTTP_CODE=%{http_code}\n")
            .arg(env.url_for(host, path));
        let out = run_bounded(cmd, &self.dir.path().join("curl.log"), CLIENT_TIMEOUT);
        Curl::parse(out.output)
    }
}

/// What one curl run showed.
#[derive(Debug)]
pub struct Curl {
    pub code: u16,
    /// Tokens sent, in order: (scheme, bytes).
    pub sent: Vec<(String, Vec<u8>)>,
    /// WWW-Authenticate values received.
    pub received: Vec<String>,
    pub output: String,
}

impl Curl {
    fn parse(output: String) -> Curl {
        let code = output
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("HTTP_CODE="))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0);
        let mut sent = Vec::new();
        let mut received = Vec::new();
        for line in output.lines() {
            if let Some(v) = line.strip_prefix("> Authorization: ") {
                let mut parts = v.split_whitespace();
                let scheme = parts.next().unwrap_or_default().to_string();
                let token = parts.next().and_then(b64decode).unwrap_or_default();
                sent.push((scheme, token));
            }
            if let Some(v) = line.strip_prefix("< WWW-Authenticate: ") {
                received.push(v.trim().to_string());
            }
        }
        Curl {
            code,
            sent,
            received,
            output,
        }
    }

    /// `NAME=value` from the CGI's output.
    pub fn var(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.output
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim_end().to_string())
    }

    /// The mechanism mod_auth_gssapi published: "krb5", "ntlm" or what it said.
    pub fn mech(&self) -> String {
        let m = self.var("GSS_MECH").unwrap_or_default();
        if m == GSS_MECH_KRB5 {
            return "krb5".into();
        }
        match m.strip_prefix("Negotiate/") {
            Some(n) if NTLM_MECH_NAMES.contains(&n) => "ntlm".into(),
            _ => m,
        }
    }

    /// negState of each NegTokenResp the server sent.
    pub fn neg_states(&self) -> Vec<Option<u8>> {
        self.received
            .iter()
            .filter_map(|v| v.strip_prefix("Negotiate "))
            .filter_map(b64decode)
            .map(|t| neg_state(&t))
            .collect()
    }

    /// The mechTypes of every NegTokenInit curl sent, in order.
    pub fn init_mech_lists(&self) -> Vec<Vec<String>> {
        self.sent
            .iter()
            .filter_map(|(_, t)| neg_token_init_mechs(t))
            .collect()
    }
}

pub fn b64decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim().bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// One DER TLV: (tag, contents, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (lb, rest) = rest.split_at(n);
        (
            lb.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
            rest,
        )
    };
    if rest.len() < len {
        return None;
    }
    let (c, rest) = rest.split_at(len);
    Some((tag, c, rest))
}

fn oid_to_string(b: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v = 0u64;
    for &x in b {
        v = (v << 7) | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - 40 * first);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    arcs.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// negState of a NegTokenResp (0 accept-completed, 1 accept-incomplete, 2 reject, 3 request-mic).
pub fn neg_state(token: &[u8]) -> Option<u8> {
    let (tag, resp, _) = tlv(token)?;
    if tag != 0xa1 {
        return None;
    }
    let (_, fields, _) = tlv(resp)?;
    let (tag, val, _) = tlv(fields)?;
    if tag != 0xa0 {
        return None;
    }
    let (tag, e, _) = tlv(val)?;
    (tag == 0x0a && e.len() == 1).then(|| e[0])
}

/// The mechTypes of an InitialContextToken carrying a NegTokenInit.
pub fn neg_token_init_mechs(token: &[u8]) -> Option<Vec<String>> {
    let (tag, app, _) = tlv(token)?;
    if tag != 0x60 {
        return None;
    }
    let (tag, _oid, rest) = tlv(app)?;
    if tag != 0x06 {
        return None;
    }
    let (tag, init, _) = tlv(rest)?;
    if tag != 0xa0 {
        return None;
    }
    let (_, seq, _) = tlv(init)?;
    let (tag, val, _) = tlv(seq)?;
    if tag != 0xa0 {
        return None;
    }
    let (_, mut list, _) = tlv(val)?;
    let mut out = Vec::new();
    while let Some((t, oid, r)) = tlv(list) {
        if t == 0x06 {
            out.push(oid_to_string(oid));
        }
        list = r;
    }
    Some(out)
}
