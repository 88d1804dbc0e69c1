//! The harness of tests/ad_winbind: one `gss-server -once` and one `gss-client` logon at a time inside the DC's
//! namespaces, what each side printed, and the checks on it (accepted as the canonical account, refused with
//! a given text, the audit file's lines).

use crate::common::ad::Dc;
use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mode {
    Raw,
    Spnego,
}

/// One logon: what the server printed (its acceptance line or its error) and the client's outcome.
pub(crate) struct Logon {
    pub(crate) server: String,
    pub(crate) client: Outcome,
}

impl Logon {
    pub(crate) fn accepted(&self) -> Option<String> {
        self.server
            .lines()
            .find_map(|l| l.strip_prefix("Accepted connection: "))
            .map(|s| s.trim().trim_matches('"').to_string())
    }
    /// The server's "GSS-API error accepting context" text that is ours (not the major status line).
    pub(crate) fn refusal(&self) -> Option<String> {
        self.server
            .lines()
            .filter_map(|l| l.strip_prefix("GSS-API error accepting context: "))
            .find(|t| t.starts_with("NTLM: "))
            .map(str::to_string)
    }
}

pub(crate) struct Harness<'a> {
    pub(crate) dc: &'a Dc,
    pub(crate) samples: Samples,
    pub(crate) env: GssEnv,
    pub(crate) port: u16,
}

pub(crate) fn wait_for(path: &Path, needle: &str, child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        sleep(Duration::from_millis(20));
    }
    false
}

impl Harness<'_> {
    /// Starts `gss-server -once` inside the namespaces with `server_env`, runs one `gss-client` logon,
    /// and returns both sides' output.
    pub(crate) fn logon(
        &mut self,
        mode: Mode,
        user: &str,
        password: &str,
        server_env: &[(&str, &str)],
    ) -> Logon {
        self.logon_with(mode, user, password, server_env, &[])
    }

    /// [`Harness::logon`] with `client_env` set for `gss-client`.
    pub(crate) fn logon_with(
        &mut self,
        mode: Mode,
        user: &str,
        password: &str,
        server_env: &[(&str, &str)],
        client_env: &[(&str, &str)],
    ) -> Logon {
        self.port += 1;
        let tag = format!("{}-{}", self.port, user.replace(['\\', '@'], "_"));
        let slog = self.env.dir.path().join(format!("server-{tag}.log"));
        let mut srv = self.dc.exec(&self.env, "timeout");
        srv.env_remove("NTLM_USER_FILE");
        for (k, v) in server_env {
            srv.env(k, v);
        }
        srv.args(["20", &self.samples.server.display().to_string()])
            .args(["-port", &self.port.to_string(), "-once", "-verbose", "host"]);
        let out = fs::File::create(&slog).expect("server log");
        let err = out.try_clone().expect("server log");
        let mut child = srv
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("gss-server starts");
        assert!(
            wait_for(&slog, "starting...", &mut child, Duration::from_secs(10)),
            "gss-server did not start:\n{}",
            fs::read_to_string(&slog).unwrap_or_default()
        );
        let mut cli = self
            .dc
            .exec(&self.env, &self.samples.client.display().to_string());
        for (k, v) in client_env {
            cli.env(k, v);
        }
        cli.args(["-port", &self.port.to_string(), "-q"]);
        if mode == Mode::Spnego {
            cli.arg("-spnego");
        }
        cli.args([
            "-mech",
            NTLMSSP_OID_BRACES,
            "-user",
            user,
            "-pass",
            password,
        ])
        .args(["127.0.0.1", "host@dc1.ad.test", "hello from the domain"]);
        let client = run_bounded(
            cli,
            &self.env.dir.path().join(format!("client-{tag}.log")),
            CLIENT_TIMEOUT,
        );
        let deadline = Instant::now() + SERVER_FINISH_TIMEOUT;
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            sleep(Duration::from_millis(20));
        }
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
        }
        let _ = child.wait();
        Logon {
            server: fs::read_to_string(&slog).unwrap_or_default(),
            client,
        }
    }
}

pub(crate) fn expect_accepted(l: &Logon, mode: Mode, who: &str, canonical: &str) {
    assert!(
        l.client.success(),
        "{mode:?} {who}: gss-client failed:\n{}\n---- server ----\n{}",
        l.client.output,
        l.server
    );
    assert_eq!(
        l.accepted().as_deref(),
        Some(canonical),
        "{mode:?} {who}: server log:\n{}",
        l.server
    );
}

pub(crate) fn expect_refused(l: &Logon, mode: Mode, who: &str, text: &str) -> String {
    assert!(
        !l.client.success() && l.accepted().is_none(),
        "{mode:?} {who}: logon was accepted:\n{}",
        l.server
    );
    let refusal = l.refusal().unwrap_or_default();
    assert!(
        refusal.starts_with(text),
        "{mode:?} {who}: expected a refusal starting with {text:?}, server said:\n{}",
        l.server
    );
    refusal
}

/// The audit file holds exactly the `expected` acceptor lines, in order: (outcome, peer, refusal), each from
/// back-end winbind, none with a password.
pub(crate) fn expect_audit_lines(path: &Path, expected: &[(&str, Option<&str>, Option<&str>)]) {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect();
    let seen: Vec<(&str, Option<&str>, Option<&str>)> = lines
        .iter()
        .map(|v| {
            assert_eq!(
                (&v["role"], &v["protocol"], &v["backend"]),
                (&"acceptor".into(), &"ntlm".into(), &"winbind".into()),
                "{v}"
            );
            (
                v["outcome"].as_str().unwrap_or(""),
                v["peer"].as_str(),
                v["refusal"].as_str(),
            )
        })
        .collect();
    assert_eq!(seen, expected, "audit file:\n{text}");
    assert!(!text.contains("Passw0rd"), "audit file:\n{text}");
}
