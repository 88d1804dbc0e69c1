//! Shared helpers for the SPNEGO interposer tests (tests/interposer_*.rs): mechglue configurations with and
//! without the interposer line (`mech.d/gss-negotiate-spnego.conf`'s OID), MIT's `gss-server` / `gss-client`
//! with a configuration and an audit file per side, and reading the `GSS_NEGOTIATE_AUDIT` JSON lines.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::{free_port, run_bounded, GssEnv, Outcome, Samples, MECH_NAME, NTLMSSP_OID};

/// The interposer's OID as shipped in `mech.d/gss-negotiate-spnego.conf`.
pub fn interposer_oid() -> String {
    let conf = fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mech.d/gss-negotiate-spnego.conf"),
    )
    .expect("mech.d/gss-negotiate-spnego.conf is readable");
    let line = conf
        .lines()
        .find(|l| !l.starts_with('#') && l.contains("<interposer>"))
        .expect("the conf file has an interposer line");
    line.split_whitespace().nth(1).expect("an OID").to_string()
}

/// Which SPNEGO a side runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spnego {
    /// Ours: the configuration has the plugin line and the interposer line.
    Ours,
    /// MIT's built-in SPNEGO: the plugin line only (NTLM is still our mechanism, under MIT's SPNEGO).
    Mit,
}

/// Writes the mechglue configuration for `which` into the environment's directory.
pub fn mech_conf(env: &GssEnv, which: Spnego) -> PathBuf {
    let mut text = format!("{MECH_NAME} {NTLMSSP_OID} {}\n", env.plugin.display());
    if which == Spnego::Ours {
        text.push_str(&format!(
            "spnego_gss_negotiate {} {} <interposer>\n",
            interposer_oid(),
            env.plugin.display()
        ));
    }
    let name = match which {
        Spnego::Ours => "mech-ours.conf",
        Spnego::Mit => "mech-mit.conf",
    };
    env.write_file(name, text.as_bytes()).expect("conf written")
}

/// One side of an exchange: its SPNEGO, extra environment, and where its audit lines go.
pub struct Side {
    pub spnego: Spnego,
    pub audit: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Side {
    pub fn new(env: &GssEnv, spnego: Spnego, tag: &str) -> Side {
        Side {
            spnego,
            audit: env.dir.path().join(format!("audit-{tag}.jsonl")),
            env: Vec::new(),
        }
    }

    pub fn apply(&self, genv: &GssEnv, cmd: &mut Command) {
        genv.apply(cmd);
        cmd.env("GSS_MECH_CONFIG", mech_conf(genv, self.spnego))
            .env("GSS_NEGOTIATE_AUDIT", &self.audit);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// The audit records (JSON) this side wrote.
    pub fn records(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    /// The records of our SPNEGO engine.
    pub fn spnego_records(&self) -> Vec<serde_json::Value> {
        self.records()
            .into_iter()
            .filter(|r| r["protocol"] == "spnego")
            .collect()
    }
}

/// A running gss-server, killed on drop.
pub struct Server {
    child: Child,
    log: PathBuf,
    pub port: u16,
}

impl Server {
    /// `gss-server -port <free> <args> <service>` with `side`'s configuration; waits until it listens.
    pub fn start(
        genv: &GssEnv,
        samples: &Samples,
        side: &Side,
        args: &[&str],
        service: &str,
    ) -> Server {
        let port = free_port().expect("a free port");
        let log = genv.dir.path().join(format!("server-{port}.log"));
        let out = fs::File::create(&log).expect("log");
        let mut cmd = Command::new(&samples.server);
        side.apply(genv, &mut cmd);
        cmd.arg("-port")
            .arg(port.to_string())
            .args(args)
            .arg(service)
            .stdout(Stdio::from(out.try_clone().expect("log")))
            .stderr(Stdio::from(out));
        let mut child = cmd.spawn().expect("gss-server starts");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if text.contains("starting...") {
                break;
            }
            if let Ok(Some(s)) = child.try_wait() {
                panic!("gss-server exited ({s}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "gss-server did not start:\n{text}"
            );
            sleep(Duration::from_millis(20));
        }
        Server { child, log, port }
    }

    /// Waits until the log has `count` lines containing `marker` (at most `limit`), stops the server and
    /// returns its log.
    pub fn stop_after(mut self, marker: &str, count: usize, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = fs::read_to_string(&self.log).unwrap_or_default();
            let done = text.lines().filter(|l| l.contains(marker)).count() >= count;
            if done || Instant::now() >= deadline || matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gss-client -port <port> -spnego <args> 127.0.0.1 <service> hello` with `side`'s configuration.
pub fn client(
    genv: &GssEnv,
    samples: &Samples,
    side: &Side,
    port: u16,
    args: &[&str],
    service: &str,
) -> Outcome {
    let mut cmd = Command::new(&samples.client);
    side.apply(genv, &mut cmd);
    cmd.arg("-port")
        .arg(port.to_string())
        .arg("-spnego")
        .args(args)
        .arg("127.0.0.1")
        .arg(service)
        .arg("hello");
    let log = genv.dir.path().join(format!("client-{port}.log"));
    run_bounded(cmd, &log, Duration::from_secs(20))
}

/// Runs one exchange: a server (`server_args`, stopped after `contexts` accepted connections) and a client
/// (`client_args`). Returns the client's outcome and the server's log.
#[allow(clippy::too_many_arguments)]
pub fn exchange(
    genv: &GssEnv,
    samples: &Samples,
    server: &Side,
    client_side: &Side,
    server_args: &[&str],
    client_args: &[&str],
    service: &str,
    target: &str,
    contexts: usize,
) -> (Outcome, String) {
    let srv = Server::start(genv, samples, server, server_args, service);
    let out = client(genv, samples, client_side, srv.port, client_args, target);
    let log = srv.stop_after("NOOP token", contexts, Duration::from_secs(5));
    (out, log)
}

/// Asserts that `records` are `n` successful negotiations of `role` that chose `mech`.
pub fn assert_negotiated(
    records: &[serde_json::Value],
    n: usize,
    role: &str,
    mech: &str,
    ctx: &str,
) {
    assert_eq!(
        records.len(),
        n,
        "{ctx}: SPNEGO audit records: {records:#?}"
    );
    for r in records {
        assert_eq!(r["role"], role, "{ctx}: {r}");
        assert_eq!(r["chosen"], mech, "{ctx}: {r}");
        assert_eq!(r["outcome"], "success", "{ctx}: {r}");
    }
}

/// The client of an exchange succeeded and verified `signatures` MICs (gss-client's "Signature verified").
pub fn assert_exchange_ok(ctx: &str, out: &Outcome, server_log: &str, signatures: usize) {
    assert!(
        out.success(),
        "{ctx}: client:\n{}\nserver:\n{server_log}",
        out.output
    );
    assert_eq!(
        crate::common::count_lines(&out.output, "Signature verified"),
        signatures,
        "{ctx}: {}",
        out.output
    );
}

/// The common checks of an exchange between our SPNEGO and MIT's (`server` says which side is ours): the client
/// succeeded with `signatures` verified MICs, our side's audit file holds `contexts` successful negotiations that
/// chose `mech`, and MIT's side wrote no SPNEGO record (its own SPNEGO negotiated there).
#[allow(clippy::too_many_arguments)]
pub fn assert_ours_against_mit(
    ctx: &str,
    out: &Outcome,
    server_log: &str,
    server: Spnego,
    srv: &Side,
    cli: &Side,
    signatures: usize,
    contexts: usize,
    mech: &str,
) {
    assert_exchange_ok(ctx, out, server_log, signatures);
    let (ours, mit, role) = match server {
        Spnego::Ours => (srv, cli, "acceptor"),
        Spnego::Mit => (cli, srv, "initiator"),
    };
    assert_negotiated(&ours.spnego_records(), contexts, role, mech, ctx);
    assert!(
        mit.spnego_records().is_empty(),
        "{ctx}: {:#?}",
        mit.records()
    );
}

/// The root check the KDC-based tests need.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A path inside the repository.
pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Runs tests/python/interposer_extras.py (the GSS calls beyond the handshake on a SPNEGO context) with `side`'s
/// configuration: target `target`, expected peer `peer` of type `peer_type` ("user" or "krb5"). Returns its
/// JSON answer; panics when it fails or crashes.
pub fn run_extras(
    python: &Path,
    genv: &GssEnv,
    side: &Side,
    target: &str,
    peer: &str,
    peer_type: &str,
) -> serde_json::Value {
    let mut cmd = Command::new(python);
    side.apply(genv, &mut cmd);
    cmd.arg(repo("tests/python/interposer_extras.py"))
        .args([target, peer, peer_type]);
    let tag = match side.spnego {
        Spnego::Ours => "ours",
        Spnego::Mit => "mit",
    };
    let log = genv
        .dir
        .path()
        .join(format!("extras-{tag}-{peer_type}.log"));
    run_json(cmd, &log, tag)
}

/// Runs a test script (bounded, logged to `log`) that must succeed and print a JSON object as its last `{` line;
/// that object.
pub fn run_json(cmd: Command, log: &Path, tag: &str) -> serde_json::Value {
    let out = run_bounded(cmd, log, Duration::from_secs(60));
    assert!(out.success(), "{tag}:\n{}", out.output);
    let line = out
        .output
        .lines()
        .rfind(|l| l.starts_with('{'))
        .unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{tag}: no JSON ({e}):\n{}", out.output))
}

/// The fields of two interposer_extras.py answers that must be the same under both SPNEGOs: every value, and for
/// a failed call its major status (the minor texts differ: ours say "SPNEGO: …"); `except` names the fields left
/// out.
pub fn same_answers(
    ours: &serde_json::Value,
    mit: &serde_json::Value,
    except: &[&str],
) -> Vec<String> {
    let mut diffs = Vec::new();
    let (Some(o), Some(m)) = (ours.as_object(), mit.as_object()) else {
        return vec!["not JSON objects".into()];
    };
    for (k, mv) in m.iter().filter(|(k, _)| !except.contains(&k.as_str())) {
        let ov = &o.get(k).cloned().unwrap_or_default();
        let same = match (ov.get("maj"), mv.get("maj")) {
            (Some(a), Some(b)) => a == b,
            _ => ov == mv,
        };
        if !same {
            diffs.push(format!("{k}: ours {ov}, MIT's {mv}"));
        }
    }
    diffs
}

/// Runs tests/c/interposer_prf.c's program (`exe`, compiled by the caller) with `side`'s configuration against
/// `target`: its `prf <key> <major> <equal|differ> <length>` lines.
pub fn run_prf(exe: &Path, genv: &GssEnv, side: &Side, target: &str) -> Vec<String> {
    let mut cmd = Command::new(exe);
    side.apply(genv, &mut cmd);
    cmd.arg(target);
    let tag = match side.spnego {
        Spnego::Ours => "ours",
        Spnego::Mit => "mit",
    };
    let out = run_bounded(
        cmd,
        &genv.dir.path().join(format!("prf-{tag}.log")),
        Duration::from_secs(30),
    );
    assert!(out.success(), "{tag}:\n{}", out.output);
    out.output
        .lines()
        .filter(|l| l.starts_with("prf ") || l.starts_with("peer "))
        .map(str::to_string)
        .collect()
}
