//! The HTTP Negotiate environment of `scripts/http-env.sh` (loopback MIT KDC + Apache mod_auth_gssapi) for tests
//! that choose its options (interposer line, policy, audit, a skewed server clock), and curl clients with their
//! own private GSSAPI configuration, python clients (tests/http/negotiate_client.py), and enough token decoding to
//! tell which mechanism a Negotiate token carries. Used by tests/http_negotiate.rs and tests/interposer_http.rs.
#![allow(dead_code)]

use crate::common::{find_program, plugin, run_bounded, skip, Plugin, TempDir};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
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
pub const OID_SPNEGO: &str = "1.3.6.1.5.5.2";

const START_TIMEOUT: Duration = Duration::from_secs(90);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Print a KNOWN GAP notice (and count the test as skipped in scripts/test.sh's summary).
pub fn known_gap(test: &str, what: &str) {
    let line = format!("KNOWN GAP {test}: {what}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("GSS_TEST_SKIP_LOG") {
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{test}\n").as_bytes());
        }
    }
}

/// The plugin under test and what it can do.
#[derive(Clone)]
pub struct Setup {
    pub plugin: PathBuf,
    /// The plugin exports the GSSAPI context entry points (NTLM can work at all).
    pub ntlm: bool,
    /// The plugin is Debian's gss-ntlmssp (the baseline the environment was validated with).
    pub gssntlmssp: bool,
}

/// Root, the programs of the environment (plus `extra` (file, Debian package) pairs) and the plugin; `None` after
/// a visible SKIP when one is missing, or when `needs_ntlm` and the plugin has no context entry points.
pub fn setup(test: &str, needs_ntlm: bool, extra: &[(&str, &str)]) -> Option<Setup> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip(
            test,
            "needs root (Apache switches its workers to www-data; the KDC and httpd run here)",
        );
        return None;
    }
    let needed: &[(&str, &str)] = &[
        ("/usr/sbin/krb5kdc", "krb5-kdc"),
        ("/usr/sbin/kdb5_util", "krb5-kdc"),
        ("/usr/sbin/kadmin.local", "krb5-admin-server"),
        ("/usr/sbin/apache2", "apache2"),
        (
            "/usr/lib/apache2/modules/mod_auth_gssapi.so",
            "libapache2-mod-auth-gssapi",
        ),
    ];
    for (file, pkg) in needed.iter().chain(extra) {
        if !Path::new(file).exists() {
            skip(
                test,
                &format!("{file} missing (Debian package {pkg}; scripts/install-deps.sh)"),
            );
            return None;
        }
    }
    for (prog, pkg) in [
        ("curl", "curl"),
        ("kinit", "krb5-user"),
        ("setsid", "util-linux"),
        ("python3", "python3"),
    ] {
        if find_program(prog).is_none() {
            skip(test, &format!("{prog} not found (Debian package {pkg})"));
            return None;
        }
    }
    let (path, ntlm) = match plugin() {
        Plugin::Found { path, .. } => (path, true),
        Plugin::NoEntryPoints(path) => (path, false),
        Plugin::Missing(why) => {
            skip(test, &format!("no plugin: {why}"));
            return None;
        }
    };
    if needs_ntlm && !ntlm {
        skip(
            test,
            &format!(
                "{} exports no gss_accept_sec_context yet (set GSS_NEGOTIATE_SO to test another plugin)",
                path.display()
            ),
        );
        return None;
    }
    let gssntlmssp = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("gssntlmssp"));
    Some(Setup {
        plugin: path,
        ntlm,
        gssntlmssp,
    })
}

/// What the tests that only need the loopback KDC of scripts/http-env.sh check: root, the KDC and Apache
/// programs, and a plugin with context entry points (a plugin without them fails the test). `None` after a
/// visible SKIP.
pub fn kdc_setup(test: &str) -> Option<PathBuf> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip(
            test,
            "needs root (scripts/http-env.sh runs the KDC and Apache)",
        );
        return None;
    }
    for p in [
        "/usr/sbin/krb5kdc",
        "/usr/sbin/kdb5_util",
        "/usr/sbin/kadmin.local",
        "/usr/sbin/apache2",
    ] {
        if !Path::new(p).exists() {
            skip(
                test,
                &format!("{p} missing (scripts/install-deps.sh --group http)"),
            );
            return None;
        }
    }
    match plugin() {
        Plugin::Found { path, .. } => Some(path),
        Plugin::NoEntryPoints(p) => panic!("{} exports no gss_* entry points", p.display()),
        Plugin::Missing(why) => {
            skip(test, &why);
            None
        }
    }
}

/// The Debian python3 that has `module` (python-gssapi, pyspnego).
pub fn python_with(module: &str) -> Option<PathBuf> {
    crate::common::peers::python_with_module(module)
}

/// One environment with default options shared by the tests of a binary that do not change it; started by the
/// first, stopped when the last one holding it finishes (it may be started again by a later test).
pub fn shared_env(test: &str, setup: &Setup) -> Arc<HttpEnv> {
    static SHARED: Mutex<Weak<HttpEnv>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = slot.upgrade() {
        return env;
    }
    match HttpEnv::start("shared", &setup.plugin, &Options::default()) {
        Ok(env) => {
            let env = Arc::new(env);
            *slot = Arc::downgrade(&env);
            env
        }
        Err(e) => panic!("{test}: the HTTP environment did not start: {e}"),
    }
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

    /// The URL of `path` on the environment's own host name.
    pub fn url(&self, path: &str) -> String {
        self.url_for(&self.host, path)
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

    /// A client with the same GSS_MECH_CONFIG as the server (the environment's mech.conf) and no policy.
    pub fn like_server(tag: &str, env: &HttpEnv) -> Client {
        let conf =
            fs::read_to_string(env.dir.join("mech.conf")).expect("the environment's mech.conf");
        Client::new(tag, &conf, None)
    }

    /// Replace the password of the client's NTLM_USER_FILE entry (its default NTLM credential).
    pub fn with_ntlm_password(self, password: &str) -> Client {
        fs::write(
            self.dir.path().join("ntlm_users"),
            format!("TESTDOM:testuser:{password}\n"),
        )
        .expect("user file");
        self
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
        self.curl_with(
            env,
            host,
            &["--negotiate", "-u", ":"],
            &[env.url_for(host, path)],
        )
    }

    /// curl with `args` on `urls` (one connection when they share a host), `host` resolved to loopback; the audit
    /// file is emptied first.
    pub fn curl_with(&self, env: &HttpEnv, host: &str, args: &[&str], urls: &[String]) -> Curl {
        let _ = fs::remove_file(&self.audit);
        let mut cmd = self.command(env, "curl");
        cmd.args(["-sS", "-v", "--max-time", "20"])
            .args(args)
            .arg("--resolve")
            .arg(env.resolve(host))
            .arg("-w")
            .arg("\nHTTP_CODE=%{http_code}\n")
            .args(urls);
        let out = run_bounded(cmd, &self.dir.path().join("curl.log"), CLIENT_TIMEOUT);
        Curl::parse(out.output, out.status.and_then(|s| s.code()))
    }

    /// tests/http/negotiate_client.py with `args`; `None` (after a SKIP) when `module` is not importable.
    pub fn python(
        &self,
        env: &HttpEnv,
        test: &str,
        module: &str,
        args: &[&str],
    ) -> Option<serde_json::Value> {
        let Some(py) = python_with(module) else {
            skip(
                test,
                &format!(
                    "python module {module} not installed (scripts/install-deps.sh --group http)"
                ),
            );
            return None;
        };
        let mut cmd = self.command(env, &py.to_string_lossy());
        cmd.arg(repo().join("tests/http/negotiate_client.py"))
            .args(args);
        let out = run_bounded(cmd, &self.dir.path().join("python.log"), CLIENT_TIMEOUT);
        let json = out
            .output
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .and_then(|l| serde_json::from_str(l).ok());
        match json {
            Some(v) => Some(v),
            None => panic!("{test}: python client printed no JSON:\n{}", out.output),
        }
    }
}

/// What one curl run showed.
#[derive(Debug)]
pub struct Curl {
    /// The last status (`-w %{http_code}`), 0 when there was no HTTP response.
    pub code: u16,
    /// curl's exit code.
    pub exit: Option<i32>,
    /// Tokens sent, in order: (scheme, bytes).
    pub sent: Vec<(String, Vec<u8>)>,
    /// WWW-Authenticate values received.
    pub received: Vec<String>,
    pub output: String,
}

impl Curl {
    fn parse(output: String, exit: Option<i32>) -> Curl {
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
            exit,
            sent,
            received,
            output,
        }
    }

    /// `NAME=value` from the CGI's output.
    pub fn var(&self, name: &str) -> Option<String> {
        body_var(&self.output, name)
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

/// `NAME=value` from the CGI's output (the last one in `text`).
pub fn body_var(text: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_end().to_string())
}

/// Whether mod_auth_gssapi's GSS_MECH (`<scheme>/<mech name>`) names NTLM.
pub fn is_ntlm_mech(gss_mech: &str, scheme: &str) -> bool {
    gss_mech
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|name| NTLM_MECH_NAMES.contains(&name))
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

/// What an initial Negotiate token offers.
#[derive(Debug, PartialEq)]
pub enum InitialToken {
    /// A raw NTLMSSP message of this type (1 = NEGOTIATE).
    RawNtlm(u32),
    /// RFC 4178 NegTokenInit: the mechTypes in order, and whether an optimistic mechToken is present
    /// that is a raw NTLMSSP message.
    Spnego {
        mech_types: Vec<String>,
        ntlm_mech_token: bool,
    },
    Other,
}

pub fn ntlm_message_type(b: &[u8]) -> Option<u32> {
    if b.len() >= 12 && &b[..8] == b"NTLMSSP\0" {
        Some(u32::from_le_bytes([b[8], b[9], b[10], b[11]]))
    } else {
        None
    }
}

pub fn classify_initial(token: &[u8]) -> InitialToken {
    if let Some(t) = ntlm_message_type(token) {
        return InitialToken::RawNtlm(t);
    }
    let parse = || -> Option<InitialToken> {
        let (tag, app, _) = tlv(token)?;
        if tag != 0x60 {
            return None;
        }
        let (tag, oid, rest) = tlv(app)?;
        if tag != 0x06 || oid_to_string(oid) != OID_SPNEGO {
            return None;
        }
        let (tag, init, _) = tlv(rest)?;
        if tag != 0xa0 {
            return None;
        }
        let (tag, mut fields, _) = tlv(init)?;
        if tag != 0x30 {
            return None;
        }
        let mut mech_types = Vec::new();
        let mut ntlm_mech_token = false;
        while let Some((tag, val, rest)) = tlv(fields) {
            match tag {
                0xa0 => {
                    let (_, mut list, _) = tlv(val)?;
                    while let Some((t, oid, r)) = tlv(list) {
                        if t == 0x06 {
                            mech_types.push(oid_to_string(oid));
                        }
                        list = r;
                    }
                }
                0xa2 => {
                    let (_, mt, _) = tlv(val)?;
                    ntlm_mech_token = ntlm_message_type(mt).is_some();
                }
                _ => {}
            }
            fields = rest;
        }
        Some(InitialToken::Spnego {
            mech_types,
            ntlm_mech_token,
        })
    };
    parse().unwrap_or(InitialToken::Other)
}
