//! HTTP "Negotiate" single sign-on end to end (RFC 4559 over RFC 4178 SPNEGO, MS-NLMP NTLM): a real
//! MIT KDC and Apache httpd with mod_auth_gssapi, started by `scripts/http-env.sh` on loopback in a
//! temporary directory, and real clients — curl, python-gssapi, pyspnego — going through MIT's
//! mechglue, which loads the NTLMSSP plugin under test from a private `GSS_MECH_CONFIG` (on both the
//! client and the server side).
//!
//! The story checked: Kerberos is used when the client has a ticket; NTLM inside SPNEGO takes over when
//! it has none or when Kerberos fails on the client side; the raw NTLM token and the `NTLM` scheme work;
//! wrong passwords get 401; NTLM needs `GssapiConnectionBound`; an authenticated connection serves many
//! requests; many connections authenticate at once.
//!
//! Needs root (Apache's workers switch to www-data) and Debian's krb5-kdc, krb5-admin-server,
//! krb5-user, apache2, libapache2-mod-auth-gssapi, curl, python3-gssapi, pyspnego (scripts/install-deps.sh
//! installs them). A missing prerequisite prints a visible SKIP. Cases where the software under test
//! does not do what the story wants print a `KNOWN GAP` line, assert the documented current behaviour,
//! and are counted as skipped (not passed) by scripts/test.sh.
//!
//! `GSS_NEGOTIATE_SO` (tests/common/mod.rs) runs everything against another plugin, e.g. Debian's
//! gss-ntlmssp; `GSS_TEST_KEEP_TMP=1` keeps the environment directories (servers are stopped anyway).

mod common;

use common::{find_program, plugin, run_bounded, skip, Plugin, TempDir};
use serde_json::Value;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::thread::sleep;
use std::time::{Duration, Instant};

const REALM: &str = "GSSNEG.TEST";
const KRB5_USER: &str = "testuser@GSSNEG.TEST";
const NTLM_USER: &str = r"TESTDOM\testuser";
const PASSWORD: &str = "Passw0rd!";
/// Host whose HTTP/ principal the KDC has but Apache's keytab lacks (scripts/http-env.sh).
const NOKEY_HOST: &str = "nokey.gssneg.test";
/// What mod_auth_gssapi publishes in GSS_MECH (`<scheme>/<mech name from gss_inquire_saslname_for_mech>`).
const GSS_MECH_KRB5: &str = "Negotiate/krb5";
/// The NTLM mech's name as gss-ntlmssp reports it; a plugin may publish its OID instead.
const NTLM_MECH_NAMES: &[&str] = &["NTLM", "1.3.6.1.4.1.311.2.2.10"];

const ENV_START_TIMEOUT: Duration = Duration::from_secs(60);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

const OID_SPNEGO: &str = "1.3.6.1.5.5.2";
const OID_KRB5: &str = "1.2.840.113554.1.2.2";
const OID_NTLMSSP: &str = "1.3.6.1.4.1.311.2.2.10";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Print a KNOWN GAP notice (and count the test as skipped in scripts/test.sh's summary).
fn known_gap(test: &str, what: &str) {
    let line = format!("KNOWN GAP {test}: {what}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("GSS_TEST_SKIP_LOG") {
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{test}\n").as_bytes());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Prerequisites and the plugin under test
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Setup {
    plugin: PathBuf,
    /// The plugin exports the GSSAPI context entry points (NTLM can work at all).
    ntlm: bool,
    /// The plugin is Debian's gss-ntlmssp (the baseline the environment was validated with).
    gssntlmssp: bool,
}

fn setup(test: &str, needs_ntlm: bool) -> Option<Setup> {
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
    for (file, pkg) in needed {
        if !Path::new(file).exists() {
            skip(
                test,
                &format!(
                    "{file} missing (Debian package {pkg}; scripts/install-deps.sh --group http)"
                ),
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

/// The Debian python3 that has python-gssapi (and pyspnego, when installed for it).
fn python_with(module: &str) -> Option<PathBuf> {
    for cand in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(cand)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(PathBuf::from(cand));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The environment (scripts/http-env.sh), stopped on drop
// ---------------------------------------------------------------------------------------------

struct HttpEnv {
    dir: PathBuf,
    host: String,
    port: u16,
}

impl HttpEnv {
    fn start(tag: &str, setup: &Setup) -> Result<HttpEnv, String> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "gss-negotiate-http-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        let log = std::env::temp_dir().join(format!(
            "gss-negotiate-http-{tag}-{}-{n}.start.log",
            std::process::id()
        ));
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("scripts/http-env.sh"))
            .arg("start")
            .arg(&dir)
            .env("GSS_NEGOTIATE_SO", &setup.plugin)
            .env("HTTP_ENV_LIFETIME", "300")
            .stdin(Stdio::null());
        let out = run_bounded(cmd, &log, ENV_START_TIMEOUT);
        let _ = fs::remove_file(&log);
        // From here on the directory may hold running servers: the guard stops them on any exit.
        let mut env = HttpEnv {
            dir: dir.clone(),
            host: String::new(),
            port: 0,
        };
        if !out.success() {
            return Err(format!("scripts/http-env.sh start failed:\n{}", out.output));
        }
        let state = fs::read_to_string(dir.join("state")).map_err(|e| format!("no state: {e}"))?;
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

    fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.host, self.port)
    }

    fn url_for(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    fn resolve(&self, host: &str) -> String {
        format!("{host}:{}:127.0.0.1", self.port)
    }

    fn log(&self, name: &str) -> String {
        fs::read_to_string(self.dir.join("logs").join(name)).unwrap_or_default()
    }

    fn script(&self, what: &str) -> bool {
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
        // scripts/http-env.sh stop kills every process group it started; HTTP_ENV_KEEP=1 keeps the files.
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

/// One environment shared by the tests that do not change it; started by the first, stopped when
/// the last one holding it finishes (it may be started again by a later test).
fn shared_env(test: &str, setup: &Setup) -> Option<Arc<HttpEnv>> {
    static SHARED: Mutex<Weak<HttpEnv>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = slot.upgrade() {
        return Some(env);
    }
    match HttpEnv::start("shared", setup) {
        Ok(env) => {
            let env = Arc::new(env);
            *slot = Arc::downgrade(&env);
            Some(env)
        }
        Err(e) => panic!("{test}: the HTTP environment did not start: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/// A client's private side: its own credential cache and NTLM user file.
struct ClientSide {
    dir: TempDir,
}

impl ClientSide {
    /// `ntlm_password`: the password in the client's NTLM_USER_FILE (first entry = default credential).
    fn new(tag: &str, ntlm_password: &str) -> ClientSide {
        let dir = TempDir::new(&format!("http-client-{tag}")).expect("temp dir");
        fs::write(
            dir.path().join("ntlm_users"),
            format!("TESTDOM:testuser:{ntlm_password}\n"),
        )
        .expect("user file");
        ClientSide { dir }
    }

    fn command(&self, env: &HttpEnv, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("KRB5_CONFIG", env.dir.join("krb5.conf"))
            .env("GSS_MECH_CONFIG", env.dir.join("mech.conf"))
            .env("NTLM_USER_FILE", self.dir.path().join("ntlm_users"))
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", self.dir.path().join("ccache").display()),
            )
            .env("LC_ALL", "C")
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .stdin(Stdio::null());
        cmd
    }

    fn kinit(&self, env: &HttpEnv) {
        let mut cmd = self.command(env, "sh");
        cmd.args([
            "-c",
            &format!("printf '%s\\n' '{PASSWORD}' | timeout 20 kinit testuser@{REALM}"),
        ]);
        let out = run_bounded(cmd, &self.dir.path().join("kinit.log"), CLIENT_TIMEOUT);
        assert!(out.success(), "kinit failed: {}", out.output);
    }

    fn curl(&self, env: &HttpEnv, host: &str, args: &[&str], urls: &[String]) -> Curl {
        let mut cmd = self.command(env, "curl");
        cmd.args(["-sS", "-v", "--max-time", "20", "--resolve"])
            .arg(env.resolve(host))
            .args(args)
            .arg("-w")
            .arg("\nHTTP_CODE=%{http_code}\n")
            .args(urls);
        let log = self.dir.path().join("curl.log");
        let out = run_bounded(cmd, &log, CLIENT_TIMEOUT);
        Curl::parse(out.output, out.status.and_then(|s| s.code()))
    }

    /// Run tests/http/negotiate_client.py; `None` (after a SKIP) when `module` is not importable.
    fn python(&self, env: &HttpEnv, test: &str, module: &str, args: &[&str]) -> Option<Value> {
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
            .and_then(|l| serde_json::from_str::<Value>(l).ok());
        match json {
            Some(v) => Some(v),
            None => panic!("{test}: python client printed no JSON:\n{}", out.output),
        }
    }
}

/// What one curl run showed.
#[derive(Debug)]
struct Curl {
    /// The last status (`-w %{http_code}`), 0 when there was no HTTP response.
    code: u16,
    exit: Option<i32>,
    /// Tokens sent, in order: (scheme, bytes).
    sent: Vec<(String, Vec<u8>)>,
    /// WWW-Authenticate values received, in order.
    received: Vec<String>,
    /// Every line of the run (verbose log, bodies, codes).
    output: String,
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

    fn var(&self, name: &str) -> Option<String> {
        body_var(&self.output, name)
    }
}

/// `NAME=value` from the CGI's output (the last one in `text`).
fn body_var(text: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_end().to_string())
}

fn is_ntlm_mech(gss_mech: &str, scheme: &str) -> bool {
    gss_mech
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|name| NTLM_MECH_NAMES.contains(&name))
}

// ---------------------------------------------------------------------------------------------
// Token decoding: enough base64 and DER to tell which mechanism a Negotiate token carries
// ---------------------------------------------------------------------------------------------

fn b64decode(s: &str) -> Option<Vec<u8>> {
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
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn oid_to_string(b: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v = 0u64;
    for &x in b {
        v = (v << 7) | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            if arcs.is_empty() {
                arcs.push((v / 40).min(2));
                arcs.push(v - 40 * (v / 40).min(2));
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

/// What an initial Negotiate token offers.
#[derive(Debug, PartialEq)]
enum InitialToken {
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

fn ntlm_message_type(b: &[u8]) -> Option<u32> {
    if b.len() >= 12 && &b[..8] == b"NTLMSSP\0" {
        Some(u32::from_le_bytes([b[8], b[9], b[10], b[11]]))
    } else {
        None
    }
}

fn classify_initial(token: &[u8]) -> InitialToken {
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

/// negState of a NegTokenResp (RFC 4178 §4.2.2): 0 accept-completed, 1 accept-incomplete, 2 reject.
fn neg_state(token: &[u8]) -> Option<u8> {
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

fn assert_ntlm_in_spnego(curl: &Curl, ctx: &str) {
    let first = curl
        .sent
        .first()
        .unwrap_or_else(|| panic!("{ctx}: curl sent no Authorization:\n{}", curl.output));
    assert_eq!(first.0, "Negotiate", "{ctx}");
    assert_eq!(
        classify_initial(&first.1),
        InitialToken::Spnego {
            mech_types: vec![OID_NTLMSSP.to_string()],
            ntlm_mech_token: true
        },
        "{ctx}: the first token should be a NegTokenInit offering only NTLMSSP with an NTLM NEGOTIATE"
    );
    assert_eq!(curl.code, 200, "{ctx}:\n{}", curl.output);
    assert_eq!(curl.var("REMOTE_USER").as_deref(), Some(NTLM_USER), "{ctx}");
    let mech = curl.var("GSS_MECH").unwrap_or_default();
    assert!(
        is_ntlm_mech(&mech, "Negotiate"),
        "{ctx}: GSS_MECH={mech}, want NTLM"
    );
    assert_eq!(
        curl.sent.len(),
        2,
        "{ctx}: NTLM takes two legs (NEGOTIATE, AUTHENTICATE)"
    );
}

// ---------------------------------------------------------------------------------------------
// Kerberos first
// ---------------------------------------------------------------------------------------------

#[test]
fn curl_with_ticket_authenticates_with_kerberos_inside_spnego() {
    let test = "curl_with_ticket_authenticates_with_kerberos_inside_spnego";
    let Some(setup) = setup(test, false) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("krb5", PASSWORD);
    client.kinit(&env);
    for path in ["/bound/whoami", "/unbound/whoami", "/krb5only/whoami"] {
        let c = client.curl(
            &env,
            &env.host,
            &["--negotiate", "-u", ":"],
            &[env.url(path)],
        );
        assert_eq!(c.code, 200, "{path}:\n{}", c.output);
        assert_eq!(c.var("REMOTE_USER").as_deref(), Some(KRB5_USER), "{path}");
        assert_eq!(c.var("GSS_MECH").as_deref(), Some(GSS_MECH_KRB5), "{path}");
        // One leg: curl's NegTokenInit prefers Kerberos and carries the AP-REQ optimistically.
        assert_eq!(
            c.sent.len(),
            1,
            "{path}: Kerberos needs one leg:\n{}",
            c.output
        );
        match classify_initial(&c.sent[0].1) {
            InitialToken::Spnego {
                mech_types,
                ntlm_mech_token,
            } => {
                assert_eq!(mech_types.first().map(String::as_str), Some(OID_KRB5));
                assert!(!ntlm_mech_token);
                if setup.ntlm {
                    assert!(
                        mech_types.iter().any(|m| m == OID_NTLMSSP),
                        "{path}: NTLMSSP should be offered as the fallback: {mech_types:?}"
                    );
                }
            }
            other => panic!("{path}: not a SPNEGO NegTokenInit: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// NTLM fallback
// ---------------------------------------------------------------------------------------------

#[test]
fn curl_without_ticket_falls_back_to_ntlm_inside_spnego() {
    let test = "curl_without_ticket_falls_back_to_ntlm_inside_spnego";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("no-ticket", PASSWORD);
    let c = client.curl(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/bound/whoami")],
    );
    assert_ntlm_in_spnego(&c, test);
}

#[test]
fn kerberos_without_service_principal_falls_back_to_ntlm() {
    // The client has a TGT, but the KDC knows no HTTP/localhost: MIT's SPNEGO initiator drops krb5
    // after its first gss_init_sec_context fails and offers NTLMSSP alone.
    let test = "kerberos_without_service_principal_falls_back_to_ntlm";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("no-spn", PASSWORD);
    client.kinit(&env);
    let c = client.curl(
        &env,
        "localhost",
        &["--negotiate", "-u", ":"],
        &[env.url_for("localhost", "/bound/whoami")],
    );
    assert_ntlm_in_spnego(&c, test);
}

#[test]
fn kerberos_with_kdc_down_falls_back_to_ntlm() {
    // The client has a TGT but cannot reach the KDC for a service ticket.
    let test = "kerberos_with_kdc_down_falls_back_to_ntlm";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = HttpEnv::start("kdc-down", &setup).unwrap_or_else(|e| panic!("{e}"));
    let client = ClientSide::new("kdc-down", PASSWORD);
    client.kinit(&env);
    assert!(env.script("kdc-stop"), "kdc-stop failed");
    let c = client.curl(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/bound/whoami")],
    );
    assert_ntlm_in_spnego(&c, test);
    // And with the KDC back, the same client is on Kerberos again.
    assert!(env.script("kdc-start"), "kdc-start failed");
    let c = client.curl(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/bound/whoami")],
    );
    assert_eq!(c.code, 200, "{}", c.output);
    assert_eq!(c.var("GSS_MECH").as_deref(), Some(GSS_MECH_KRB5));
}

#[test]
fn kerberos_failing_at_the_acceptor_does_not_fall_back_known_gap() {
    // The client gets a service ticket (the KDC knows HTTP/nokey.gssneg.test) but Apache's keytab has
    // no key for it. MIT's SPNEGO acceptor answers the failed optimistic krb5 token with negState
    // reject (plus a KRB-ERROR); it does not ask the initiator to continue with NTLMSSP, which was in
    // its mechTypes. Curl stops at 401. Windows' SPNEGO acceptor behaves the same way for a failed
    // optimistic token. This test keeps MIT's SPNEGO on both sides; tests/interposer_http.rs shows the same
    // requests getting 200 through our SPNEGO interposer (issue 11) with `spnego.restart = yes`.
    let test = "kerberos_failing_at_the_acceptor_does_not_fall_back_known_gap";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("nokey", PASSWORD);
    client.kinit(&env);
    let c = client.curl(
        &env,
        NOKEY_HOST,
        &["--negotiate", "-u", ":"],
        &[env.url_for(NOKEY_HOST, "/bound/whoami")],
    );
    if c.code == 200 {
        panic!(
            "{test}: the client now gets in (GSS_MECH={:?}); the gap is closed: turn this test into \
             a fallback test",
            c.var("GSS_MECH")
        );
    }
    assert_eq!(c.code, 401, "{}", c.output);
    assert_eq!(c.sent.len(), 1, "one leg only:\n{}", c.output);
    match classify_initial(&c.sent[0].1) {
        InitialToken::Spnego { mech_types, .. } => {
            assert_eq!(mech_types.first().map(String::as_str), Some(OID_KRB5));
            assert!(
                mech_types.iter().any(|m| m == OID_NTLMSSP),
                "{mech_types:?}"
            );
        }
        other => panic!("not SPNEGO: {other:?}"),
    }
    let reply = c
        .received
        .iter()
        .find_map(|v| v.strip_prefix("Negotiate "))
        .and_then(b64decode)
        .expect("a Negotiate reply token");
    assert_eq!(neg_state(&reply), Some(2), "negState should be reject");
    assert!(
        env.log("error.log")
            .contains(&format!("HTTP/{NOKEY_HOST}@{REALM} not found in keytab")),
        "error.log should name the missing key"
    );
    known_gap(
        test,
        "Kerberos failing at the server (service key missing from the keytab) ends in 401: MIT's \
         SPNEGO acceptor rejects (negState=reject) instead of continuing with NTLMSSP from the \
         client's mechTypes; the client does not retry with NTLM",
    );
}

// ---------------------------------------------------------------------------------------------
// Raw NTLM in Negotiate, the NTLM scheme, Python clients
// ---------------------------------------------------------------------------------------------

fn assert_python_ok(v: &Value, scheme: &str, ctx: &str) {
    assert!(v.get("error").map_or(true, Value::is_null), "{ctx}: {v}");
    let statuses: Vec<u64> = v["statuses"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|&s| s == 200),
        "{ctx}: statuses {statuses:?}: {v}"
    );
    let legs = v["legs"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(legs, 2, "{ctx}: NEGOTIATE/CHALLENGE then AUTHENTICATE: {v}");
    for body in v["bodies"].as_array().into_iter().flatten() {
        let body = body.as_str().unwrap_or_default();
        assert_eq!(
            body_var(body, "REMOTE_USER").as_deref(),
            Some(NTLM_USER),
            "{ctx}"
        );
        let mech = body_var(body, "GSS_MECH").unwrap_or_default();
        assert!(is_ntlm_mech(&mech, scheme), "{ctx}: GSS_MECH={mech}");
        assert_eq!(
            body_var(body, "AUTH_TYPE").as_deref(),
            Some(scheme),
            "{ctx}"
        );
    }
}

fn first_token(v: &Value) -> Vec<u8> {
    v["first_token_b64"]
        .as_str()
        .and_then(b64decode)
        .unwrap_or_default()
}

#[test]
fn python_gssapi_multi_leg_clients_spnego_and_raw_ntlmssp() {
    let test = "python_gssapi_multi_leg_clients_spnego_and_raw_ntlmssp";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("pygssapi", PASSWORD);
    let port = env.port.to_string();
    // SPNEGO with no ticket: NTLM inside SPNEGO, 3 requests on the connection.
    let Some(v) = client.python(
        &env,
        test,
        "gssapi",
        &[
            "gssapi-spnego",
            &port,
            &env.host,
            "/bound/whoami",
            "--requests",
            "3",
        ],
    ) else {
        return;
    };
    assert_python_ok(&v, "Negotiate", "python-gssapi SPNEGO");
    assert!(matches!(
        classify_initial(&first_token(&v)),
        InitialToken::Spnego {
            ntlm_mech_token: true,
            ..
        }
    ));
    // The NTLMSSP mech directly: a raw NTLM NEGOTIATE in the Negotiate header.
    let v = client
        .python(
            &env,
            test,
            "gssapi",
            &["gssapi-ntlmssp", &port, &env.host, "/bound/whoami"],
        )
        .expect("python");
    assert_eq!(classify_initial(&first_token(&v)), InitialToken::RawNtlm(1));
    assert_python_ok(&v, "Negotiate", "python-gssapi raw NTLMSSP in Negotiate");
    // The same tokens under the NTLM scheme.
    let v = client
        .python(
            &env,
            test,
            "gssapi",
            &[
                "gssapi-ntlmssp",
                &port,
                &env.host,
                "/bound/whoami",
                "--scheme",
                "NTLM",
            ],
        )
        .expect("python");
    assert_python_ok(&v, "NTLM", "python-gssapi NTLMSSP under the NTLM scheme");
    // With a ticket, python-gssapi's SPNEGO uses Kerberos (one leg).
    client.kinit(&env);
    let v = client
        .python(
            &env,
            test,
            "gssapi",
            &["gssapi-spnego", &port, &env.host, "/bound/whoami"],
        )
        .expect("python");
    let body = v["bodies"][0].as_str().unwrap_or_default().to_string();
    assert_eq!(
        body_var(&body, "REMOTE_USER").as_deref(),
        Some(KRB5_USER),
        "{v}"
    );
    assert_eq!(
        body_var(&body, "GSS_MECH").as_deref(),
        Some(GSS_MECH_KRB5),
        "{v}"
    );
}

#[test]
fn pyspnego_pure_python_clients_negotiate_and_ntlm() {
    let test = "pyspnego_pure_python_clients_negotiate_and_ntlm";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    // No ccache: pyspnego's Negotiate cannot use Kerberos and wraps its own NTLM in its own SPNEGO.
    let client = ClientSide::new("pyspnego", PASSWORD);
    let port = env.port.to_string();
    let creds = ["--user", NTLM_USER, "--password", PASSWORD];
    let cases: [(&str, &str); 3] = [
        ("pyspnego-negotiate", "Negotiate"),
        ("pyspnego-ntlm", "Negotiate"),
        ("pyspnego-ntlm", "NTLM"),
    ];
    for (engine, scheme) in cases {
        let mut args = vec![
            engine,
            &port,
            &env.host,
            "/bound/whoami",
            "--scheme",
            scheme,
        ];
        args.extend(creds);
        let Some(v) = client.python(&env, test, "spnego", &args) else {
            return;
        };
        assert_python_ok(&v, scheme, &format!("{engine} with scheme {scheme}"));
        let first = classify_initial(&first_token(&v));
        if engine == "pyspnego-ntlm" {
            assert_eq!(first, InitialToken::RawNtlm(1), "{engine}");
        } else {
            assert!(
                matches!(&first, InitialToken::Spnego { mech_types, .. } if mech_types.iter().any(|m| m == OID_NTLMSSP)),
                "{engine}: {first:?}"
            );
        }
    }
}

#[test]
fn curl_ntlm_scheme_with_curls_own_ntlm() {
    // curl --ntlm does not use GSSAPI: it sends its own 32-byte NTLM NEGOTIATE (no Version field)
    // under the `NTLM` scheme, which mod_auth_gssapi accepts (as AUTH_TYPE_RAW_NTLM) when ntlmssp is
    // allowed and the location is connection-bound, handing the raw token to the NTLMSSP mech.
    let test = "curl_ntlm_scheme_with_curls_own_ntlm";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("curl-ntlm", "unused-by-curl");
    // A request without credentials is offered both schemes.
    let c = client.curl(&env, &env.host, &[], &[env.url("/bound/whoami")]);
    assert_eq!(c.code, 401);
    assert_eq!(c.received, ["Negotiate", "NTLM"], "{}", c.output);
    let user = format!("{NTLM_USER}:{PASSWORD}");
    let c = client.curl(
        &env,
        &env.host,
        &["--ntlm", "-u", &user],
        &[env.url("/bound/whoami")],
    );
    let first = c.sent.first().expect("curl sent no Authorization");
    assert_eq!(first.0, "NTLM");
    assert_eq!(ntlm_message_type(&first.1), Some(1));
    assert_eq!(first.1.len(), 32, "curl's NEGOTIATE is 32 bytes");
    if setup.gssntlmssp && c.code == 401 {
        // Measured with Debian's gss-ntlmssp 1.2.0: it rejects curl's NEGOTIATE.
        assert!(env.log("error.log").contains("Failed to decode data"));
        known_gap(
            test,
            "gss-ntlmssp 1.2.0 rejects curl's 32-byte NTLM NEGOTIATE (no Version field): \
             gss_accept_sec_context: Invalid token was supplied (Failed to decode data)",
        );
        return;
    }
    assert_eq!(c.code, 200, "{}", c.output);
    assert_eq!(c.var("REMOTE_USER").as_deref(), Some(NTLM_USER));
    assert_eq!(c.var("AUTH_TYPE").as_deref(), Some("NTLM"));
    let mech = c.var("GSS_MECH").unwrap_or_default();
    assert!(is_ntlm_mech(&mech, "NTLM"), "GSS_MECH={mech}");
}

#[test]
fn acquire_cred_from_cred_store_location_serves_ntlm() {
    // /credstore/ gives the keytab with `GssapiCredStore keytab:...`, so mod_auth_gssapi acquires its
    // acceptor credential with gss_acquire_cred_from(cred_store = {keytab}); the NTLM mech must
    // ignore the key it does not know and still accept.
    let test = "acquire_cred_from_cred_store_location_serves_ntlm";
    let Some(setup) = setup(test, true) else {
        return;
    };
    // Its own environment: with a plugin that crashes here, the shared one's error.log stays clean.
    let env = HttpEnv::start("credstore", &setup).unwrap_or_else(|e| panic!("{e}"));
    let client = ClientSide::new("credstore", PASSWORD);
    let c = client.curl(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/credstore/whoami")],
    );
    if setup.gssntlmssp && c.code == 0 && c.exit == Some(52) {
        // httpd logs the worker's death a moment after the connection drops.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !env.log("error.log").contains("Segmentation fault") && Instant::now() < deadline {
            sleep(Duration::from_millis(100));
        }
        assert!(
            env.log("error.log").contains("Segmentation fault"),
            "{}",
            c.output
        );
        known_gap(
            test,
            "gss-ntlmssp 1.2.0 crashes (SIGSEGV in gss_accept_sec_context, Apache worker dies) when \
             the acceptor credential comes from gss_acquire_cred_from with a cred store",
        );
        return;
    }
    assert_ntlm_in_spnego(&c, test);
    // Kerberos through the cred store too.
    client.kinit(&env);
    let c = client.curl(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/credstore/whoami")],
    );
    assert_eq!(c.code, 200, "{}", c.output);
    assert_eq!(c.var("GSS_MECH").as_deref(), Some(GSS_MECH_KRB5));
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_ntlm_password_gets_401() {
    let test = "wrong_ntlm_password_gets_401";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("wrong-pw", "WrongPassw0rd!");
    let c = client.curl(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/bound/whoami")],
    );
    assert_eq!(c.code, 401, "{}", c.output);
    assert!(c.var("REMOTE_USER").is_none());
    assert_eq!(c.sent.len(), 2, "NEGOTIATE and AUTHENTICATE were sent");
    let c = client.curl(
        &env,
        &env.host,
        &["--ntlm", "-u", &format!("{NTLM_USER}:WrongPassw0rd!")],
        &[env.url("/bound/whoami")],
    );
    assert_eq!(c.code, 401, "{}", c.output);
    assert!(c.var("REMOTE_USER").is_none());
}

#[test]
fn ntlm_needs_connection_binding() {
    // Without GssapiConnectionBound (and without GssapiUseSessions) mod_auth_gssapi cannot keep the
    // half-done NTLM context between the two requests: it logs the documented error, drops the
    // CHALLENGE, answers a bare 401, and does not offer the NTLM scheme at all.
    let test = "ntlm_needs_connection_binding";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("unbound", PASSWORD);
    let c = client.curl(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/unbound/whoami")],
    );
    assert_eq!(c.code, 401, "{}", c.output);
    assert_eq!(c.sent.len(), 1, "the CHALLENGE never came back");
    assert!(
        c.received.iter().all(|v| v == "Negotiate"),
        "only a bare Negotiate offer: {:?}",
        c.received
    );
    assert!(env.log("error.log").contains(
        "Mechanism needs continuation but neither GssapiConnectionBound nor GssapiUseSessions are configured"
    ));
    let c = client.curl(
        &env,
        &env.host,
        &["--ntlm", "-u", &format!("{NTLM_USER}:{PASSWORD}")],
        &[env.url("/unbound/whoami")],
    );
    assert_eq!(c.code, 401, "{}", c.output);
    assert!(env
        .log("error.log")
        .contains("NTLM Authentication is not allowed!"));
}

// ---------------------------------------------------------------------------------------------
// Keep-alive and concurrency
// ---------------------------------------------------------------------------------------------

#[test]
fn twenty_requests_on_one_ntlm_authenticated_connection() {
    let test = "twenty_requests_on_one_ntlm_authenticated_connection";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("keepalive", PASSWORD);
    let tag = format!("ka{}", std::process::id());
    let urls: Vec<String> = (0..20)
        .map(|i| env.url(&format!("/bound/whoami?{tag}={i}")))
        .collect();
    let c = client.curl(&env, &env.host, &["--negotiate", "-u", ":"], &urls);
    assert_eq!(
        common::count_lines(&c.output, &format!("REMOTE_USER={NTLM_USER}")),
        20,
        "{}",
        c.output
    );
    assert_eq!(
        common::count_lines(&c.output, "Connected to "),
        1,
        "one TCP connection"
    );
    // One NTLM handshake (NEGOTIATE + AUTHENTICATE); the other 19 requests ride on the bound context.
    assert_eq!(c.sent.len(), 2, "{}", c.output);
    let access = env.log("access.log");
    let ports: std::collections::BTreeSet<&str> = access
        .lines()
        .filter(|l| l.contains(&format!("{tag}=")) && l.contains(" 200 "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let ok = access
        .lines()
        .filter(|l| l.contains(&format!("{tag}=")) && l.contains(" 200 "))
        .count();
    assert_eq!(ok, 20, "access log:\n{access}");
    assert_eq!(ports.len(), 1, "all from one client port: {ports:?}");
}

#[test]
fn fifty_parallel_connections_each_authenticate_with_ntlm() {
    let test = "fifty_parallel_connections_each_authenticate_with_ntlm";
    let Some(setup) = setup(test, true) else {
        return;
    };
    let env = shared_env(test, &setup).expect("env");
    let client = ClientSide::new("parallel", PASSWORD);
    struct Kids(Vec<Child>);
    impl Drop for Kids {
        fn drop(&mut self) {
            for c in &mut self.0 {
                if let Ok(None) = c.try_wait() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
    }
    let tag = format!("par{}", std::process::id());
    let mut kids = Kids(Vec::new());
    let mut outs = Vec::new();
    for i in 0..50 {
        let out = client.dir.path().join(format!("par-{i}.out"));
        let mut cmd = client.command(&env, "curl");
        cmd.args([
            "-sS",
            "--max-time",
            "30",
            "--negotiate",
            "-u",
            ":",
            "--resolve",
        ])
        .arg(env.resolve(&env.host))
        .arg("-w")
        .arg("\nHTTP_CODE=%{http_code}\n")
        .arg(env.url(&format!("/bound/whoami?{tag}={i}")))
        .stdout(Stdio::from(fs::File::create(&out).expect("out file")))
        .stderr(Stdio::null());
        kids.0.push(cmd.spawn().expect("spawn curl"));
        outs.push(out);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while kids.0.iter_mut().any(|c| matches!(c.try_wait(), Ok(None))) {
        assert!(
            Instant::now() < deadline,
            "50 parallel curls did not finish in 60 s"
        );
        sleep(Duration::from_millis(50));
    }
    let mut ports = std::collections::BTreeSet::new();
    for (i, out) in outs.iter().enumerate() {
        let text = fs::read_to_string(out).unwrap_or_default();
        assert!(text.contains("HTTP_CODE=200"), "request {i}:\n{text}");
        assert_eq!(
            body_var(&text, "REMOTE_USER").as_deref(),
            Some(NTLM_USER),
            "request {i}"
        );
        let mech = body_var(&text, "GSS_MECH").unwrap_or_default();
        assert!(is_ntlm_mech(&mech, "Negotiate"), "request {i}: {mech}");
        ports.insert(body_var(&text, "REMOTE_PORT").unwrap_or_default());
    }
    assert_eq!(ports.len(), 50, "50 distinct connections: {ports:?}");
    assert!(
        !env.log("error.log").contains("Segmentation fault"),
        "no worker crashed"
    );
}
