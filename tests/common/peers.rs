//! Interop peers: drives `tests/interop/peer.py` (python-gssapi over MIT's mechglue, pyspnego's own NTLM/SPNEGO,
//! impacket's NTLM encoder) as two separate processes, each with its own GSSAPI environment, and records every
//! feature's outcome in `<target dir>/interop-results.jsonl` for `scripts/interop-report.py`.
//!
//! Python: Debian's `/usr/bin/python3` (python3-gssapi is built for it); `GSS_INTEROP_PYTHON` overrides.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{run_bounded, GssEnv, Outcome, TEST_DOMAIN, TEST_PASSWORD, TEST_USER};

/// Where gss-ntlmssp's plugin is on Debian (package `gss-ntlmssp`).
pub const GSSNTLMSSP_SO: &str = "/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so";
/// Upper bound for one client process (all its sessions).
pub const PAIR_TIMEOUT: Duration = Duration::from_secs(60);

/// The Python interpreter that has python3-gssapi.
pub fn python() -> PathBuf {
    std::env::var_os("GSS_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

/// The first of `/usr/bin/python3` and `python3` on `PATH` that can `import module` (a pyenv `python3` usually
/// cannot import Debian's python3-gssapi).
pub fn python_with_module(module: &str) -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/bin/python3")];
    candidates.extend(crate::common::find_program("python3"));
    candidates.into_iter().find(|p| {
        p.is_file()
            && Command::new(p)
                .args(["-c", &format!("import {module}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}

/// `Ok(version)` when `python()` can import `module` (its `__version__`, or the distribution's version).
pub fn python_module_version(module: &str, dist: &str) -> Result<String, String> {
    let code = format!(
        "import importlib.metadata as m, {module}\ntry:\n print(m.version('{dist}'))\nexcept Exception:\n print(getattr({module}, '__version__', '?'))"
    );
    let out = Command::new(python())
        .args(["-c", &code])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python().display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "{} cannot import {module}: {}",
            python().display(),
            err.lines().last().unwrap_or("").trim()
        ))
    }
}

/// Version of an installed Debian package, via dpkg-query.
pub fn deb_version(pkg: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", pkg])
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

pub fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/peer.py")
}

/// One side of a pair.
#[derive(Clone, Debug)]
pub struct Side {
    /// `gssapi`, `pyspnego` or `impacket` (see peer.py).
    pub implementation: &'static str,
    /// For `gssapi`: the mechanism library the mechglue loads for this process.
    pub plugin: Option<PathBuf>,
    /// Extra environment (e.g. `LM_COMPAT_LEVEL`).
    pub env: Vec<(String, String)>,
}

impl Side {
    pub fn gssapi(plugin: &Path) -> Side {
        Side {
            implementation: "gssapi",
            plugin: Some(plugin.to_path_buf()),
            env: Vec::new(),
        }
    }
    pub fn python_impl(name: &'static str) -> Side {
        Side {
            implementation: name,
            plugin: None,
            env: Vec::new(),
        }
    }
    pub fn with_env(mut self, k: &str, v: &str) -> Side {
        self.env.push((k.into(), v.into()));
        self
    }
}

/// One feature result as peer.py reported it.
#[derive(Clone, Debug)]
pub struct FeatureResult {
    pub session: String,
    pub feature: String,
    pub ok: bool,
    pub detail: String,
}

/// What both processes said.
#[derive(Debug)]
pub struct PairRun {
    pub client: Vec<FeatureResult>,
    pub server: Vec<FeatureResult>,
    pub client_log: String,
    pub server_log: String,
}

impl PairRun {
    /// The client-side result of `feature` in `session`.
    pub fn get(&self, session: &str, feature: &str) -> Option<&FeatureResult> {
        self.client
            .iter()
            .find(|r| r.session == session && r.feature == feature)
    }
}

fn parse_results(output: &str) -> Option<Vec<FeatureResult>> {
    let line = output.lines().rev().find(|l| l.starts_with("{\"role\""))?;
    let v: Value = serde_json::from_str(line).ok()?;
    Some(
        v.get("results")?
            .as_array()?
            .iter()
            .map(|r| FeatureResult {
                session: r["session"].as_str().unwrap_or("").to_string(),
                feature: r["feature"].as_str().unwrap_or("").to_string(),
                ok: r["ok"].as_bool().unwrap_or(false),
                detail: r["detail"].as_str().unwrap_or("").to_string(),
            })
            .collect(),
    )
}

/// A session spec for peer.py with the test user and `host@<hostname>` as target.
pub fn session(name: &str, ops: &[&str]) -> Value {
    json!({
        "name": name,
        "hostname": super::hostname(),
        "domain": TEST_DOMAIN,
        "user": TEST_USER,
        "password": TEST_PASSWORD,
        "ops": ops,
    })
}

fn side_env(tag: &str, side: &Side) -> Result<GssEnv, String> {
    // GssEnv wants a plugin path; pure-Python sides still get the user file and an inert krb5.conf, with a mech
    // config naming gss-ntlmssp (unused by them).
    let plugin = side
        .plugin
        .clone()
        .unwrap_or_else(|| PathBuf::from(GSSNTLMSSP_SO));
    GssEnv::new(tag, &plugin).map_err(|e| format!("cannot write the test environment: {e}"))
}

fn command(env: &GssEnv, side: &Side, role: &str, mode: &str) -> Command {
    let mut cmd = Command::new(python());
    env.apply(&mut cmd);
    for (k, v) in &side.env {
        cmd.env(k, v);
    }
    cmd.env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(peer_script())
        .arg(role)
        .args(["--impl", side.implementation, "--mode", mode]);
    cmd
}

/// Run `client` against `server` in `mode` (`raw`/`spnego`) over the given sessions.
pub fn run_pair(
    tag: &str,
    server: &Side,
    client: &Side,
    mode: &str,
    sessions: &[Value],
) -> Result<PairRun, String> {
    let senv = side_env(&format!("{tag}-srv"), server)?;
    let cenv = side_env(&format!("{tag}-cli"), client)?;
    let port_file = senv.dir.path().join("port");
    let server_log = senv.dir.path().join("server.log");
    let mut scmd = command(&senv, server, "server", mode);
    scmd.arg("--port-file").arg(&port_file);
    let out = fs::File::create(&server_log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut child = scmd
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("cannot start the server peer: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let port = loop {
        if let Ok(p) = fs::read_to_string(&port_file) {
            if let Ok(p) = p.trim().parse::<u16>() {
                break p;
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!(
                "server peer exited ({st}) before listening:\n{}",
                fs::read_to_string(&server_log).unwrap_or_default()
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("server peer did not start listening in time".into());
        }
        sleep(Duration::from_millis(20));
    };
    let mut ccmd = command(&cenv, client, "client", mode);
    ccmd.arg("--port")
        .arg(port.to_string())
        .arg("--sessions")
        .arg(Value::Array(sessions.to_vec()).to_string());
    let client_out: Outcome = run_bounded(ccmd, &cenv.dir.path().join("client.log"), PAIR_TIMEOUT);
    // The server ends when the client says bye or closes the connection.
    let sdeadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < sdeadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        sleep(Duration::from_millis(20));
    }
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let server_text = fs::read_to_string(&server_log).unwrap_or_default();
    let client_results = parse_results(&client_out.output).ok_or_else(|| {
        format!(
            "client peer printed no results (timed out: {}):\n{}\n--- server:\n{}",
            client_out.timed_out, client_out.output, server_text
        )
    })?;
    Ok(PairRun {
        client: client_results,
        server: parse_results(&server_text).unwrap_or_default(),
        client_log: client_out.output,
        server_log: server_text,
    })
}

/// The target directory this test binary lives in (`target/<profile>/deps/<bin>` → `target`).
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Upper bound for `scripts/pyspnego-suite.sh prepare`: the first one makes the venv (pip may compile pyspnego's
/// `krb5` dependency); later ones may wait for the script's lock while another process runs the suite (its pytest
/// is bounded to 600 s).
pub const PYSPNEGO06_PREPARE_TIMEOUT: Duration = Duration::from_secs(1500);

/// pyspnego 0.6.3's venv, one for every test binary (tests/pyspnego_suite.rs, tests/interop_pyspnego06.rs):
/// `scripts/pyspnego-suite.sh prepare` makes it once under the target dir (`$PYSPNEGO_SUITE_CACHE`, else
/// `<target>/peer-suites/pyspnego/venv`) while holding `flock` on the cache's `.lock`, so concurrent test binaries
/// and threads never build it at the same time or use a half-built one. Its python, or `None` after a skip notice
/// when the venv cannot be had here (the script's exit 2: no Debian python3/python3-gssapi/python3-venv, PyPI
/// unreachable); any other failure panics.
pub fn pyspnego06_python(test: &str) -> Option<PathBuf> {
    let mut prep = Command::new("bash");
    prep.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pyspnego-suite.sh"))
        .arg("prepare")
        .env("CARGO_TARGET_DIR", target_dir());
    let logs = super::TempDir::new("pyspnego06-prepare").expect("temp dir");
    let out = run_bounded(
        prep,
        &logs.path().join("prepare.log"),
        PYSPNEGO06_PREPARE_TIMEOUT,
    );
    match out.status.and_then(|s| s.code()) {
        Some(0) => {}
        Some(2) => {
            super::skip(
                test,
                &format!(
                    "pyspnego 0.6.3's venv cannot be had here: {}",
                    out.output.trim()
                ),
            );
            return None;
        }
        _ => panic!(
            "scripts/pyspnego-suite.sh prepare failed ({:?}):\n{}",
            out.status, out.output
        ),
    }
    let py = std::env::var_os("PYSPNEGO_SUITE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("peer-suites/pyspnego"))
        .join("venv/bin/python");
    assert!(
        py.is_file(),
        "prepare succeeded but {} is missing",
        py.display()
    );
    Some(py)
}

/// One row of the interop matrix.
pub struct Row<'a> {
    pub peer: &'a str,
    pub version: &'a str,
    /// `ours->peer` (we initiate) or `peer->ours`.
    pub direction: &'a str,
    /// `raw`, `spnego` or `in-process`.
    pub mode: &'a str,
    pub feature: &'a str,
    /// `pass`, `fail`, `peer-defect`, `n/a`, `skip`.
    pub outcome: &'a str,
    pub detail: &'a str,
}

/// Append one row to `<target>/interop-results.jsonl` (one `write` per line; tests run in parallel).
pub fn record(row: &Row<'_>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let line = json!({
        "time": now,
        "peer": row.peer,
        "version": row.version,
        "direction": row.direction,
        "mode": row.mode,
        "feature": row.feature,
        "outcome": row.outcome,
        "detail": row.detail.chars().take(400).collect::<String>(),
    })
    .to_string()
        + "\n";
    let path = std::env::var_os("GSS_INTEROP_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("interop-results.jsonl"));
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(line.as_bytes());
    }
}
