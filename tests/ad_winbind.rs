//! NTLM validated by an Active Directory domain controller through winbind, end to end: a Samba AD DC
//! (`scripts/ad-env.sh`: realm AD.TEST, NetBIOS domain ADTEST, in private network and mount namespaces) and
//! MIT's `gss-server` / `gss-client` with our plugin loaded from a private `GSS_MECH_CONFIG`, with no user file
//! on the server: every logon goes to the DC.
//!
//! Needs root (namespaces, bind mounts, samba) and the `ad` packages of scripts/install-deps.sh; skips with a
//! clear message otherwise. One DC serves the whole file (one test function, so it is stopped at the end).

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const TEST: &str = "ad_winbind";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ad-env.sh")
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The running DC in its own temporary directory (not inside the test's, which is removed first); stopped
/// and removed on drop.
struct Dc {
    dir: PathBuf,
}

impl Dc {
    fn start() -> Result<Dc, String> {
        let out = Command::new(script())
            .arg("start")
            .env("AD_ENV_LIFETIME", "900")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ad-env.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ad-env.sh start failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = stdout.lines().last().unwrap_or_default().trim();
        if !Path::new(dir).join("state").is_file() {
            return Err(format!("ad-env.sh start printed no directory: {stdout}"));
        }
        Ok(Dc { dir: dir.into() })
    }

    /// A command run inside the DC's namespaces.
    fn exec(&self, env: &GssEnv, program: &str) -> Command {
        let mut c = Command::new(script());
        env.apply(&mut c);
        c.arg("exec").arg(&self.dir).arg(program);
        c
    }

    fn samba(&self, what: &str) {
        let st = Command::new(script())
            .arg(what)
            .arg(&self.dir)
            .stdin(Stdio::null())
            .status();
        assert!(st.is_ok_and(|s| s.success()), "ad-env.sh {what} failed");
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .status();
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Raw,
    Spnego,
}

/// One logon: what the server printed (its acceptance line or its error) and the client's outcome.
struct Logon {
    server: String,
    client: Outcome,
}

impl Logon {
    fn accepted(&self) -> Option<String> {
        self.server
            .lines()
            .find_map(|l| l.strip_prefix("Accepted connection: "))
            .map(|s| s.trim().trim_matches('"').to_string())
    }
    /// The server's "GSS-API error accepting context" text that is ours (not the major status line).
    fn refusal(&self) -> Option<String> {
        self.server
            .lines()
            .filter_map(|l| l.strip_prefix("GSS-API error accepting context: "))
            .find(|t| t.starts_with("NTLM: "))
            .map(str::to_string)
    }
}

struct Harness<'a> {
    dc: &'a Dc,
    samples: Samples,
    env: GssEnv,
    port: u16,
}

fn wait_for(path: &Path, needle: &str, child: &mut Child, limit: Duration) -> bool {
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
    fn logon(
        &mut self,
        mode: Mode,
        user: &str,
        password: &str,
        server_env: &[(&str, &str)],
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

fn expect_accepted(l: &Logon, mode: Mode, who: &str, canonical: &str) {
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

fn expect_refused(l: &Logon, mode: Mode, who: &str, text: &str) -> String {
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

#[test]
fn ntlm_logons_validated_by_the_domain_controller() {
    if !is_root() {
        skip(
            TEST,
            "needs root (network/mount namespaces and a Samba AD DC)",
        );
        return;
    }
    for (prog, pkg) in [
        ("samba", "samba-ad-dc"),
        ("samba-tool", "samba-ad-provision"),
        ("wbinfo", "winbind"),
        ("ldbmodify", "ldb-tools"),
        ("nsenter", "util-linux"),
    ] {
        if find_program(prog).is_none() {
            skip(
                TEST,
                &format!(
                    "{prog} not installed (package {pkg}; scripts/install-deps.sh --group ad)"
                ),
            );
            return;
        }
    }
    let Some(samples) = samples(TEST) else { return };
    let plugin = match plugin() {
        Plugin::Found { path, .. } => path,
        other => panic!("no plugin to test: {other:?}"),
    };
    let env = GssEnv::new(TEST, &plugin).expect("test environment");
    let dc = match Dc::start() {
        Ok(dc) => dc,
        Err(e) => panic!("{e}"),
    };
    let mut h = Harness {
        dc: &dc,
        samples,
        env,
        port: 6000,
    };
    let debug_log = h.env.dir.path().join("debug.log");
    let debug = debug_log.display().to_string();
    let winbind_only: [(&str, &str); 2] = [
        ("GSS_NEGOTIATE_BACKEND", "winbind"),
        ("GSS_NEGOTIATE_DEBUG", &debug),
    ];

    for mode in [Mode::Raw, Mode::Spnego] {
        // Default back-end (auto) with no user file: winbind.
        let l = h.logon(mode, "alice", "Passw0rd!alice", &[]);
        expect_accepted(&l, mode, "alice", "ADTEST\\alice");
        let l = h.logon(mode, "ADTEST\\bob", "Passw0rd!bob", &winbind_only);
        expect_accepted(&l, mode, "bob", "ADTEST\\bob");
        // A UPN logon is reported as the directory's account, not as AD.TEST\alice.
        let l = h.logon(mode, "alice@AD.TEST", "Passw0rd!alice", &winbind_only);
        expect_accepted(&l, mode, "alice@AD.TEST", "ADTEST\\alice");

        let cases = [
            ("alice", "wrong", "NTLM: password does not match"),
            ("carol", "Passw0rd!carol", "NTLM: account disabled"),
            ("dave", "Passw0rd!dave", "NTLM: account expired"),
            ("mallory", "Passw0rd!mallory", "NTLM: account locked out"),
            ("erin", "Passw0rd!erin", "NTLM: password must be changed"),
            (
                "frank",
                "Passw0rd!frank",
                "NTLM: logon not allowed at this time",
            ),
            (
                "grace",
                "Passw0rd!grace",
                "NTLM: logon not allowed from this workstation",
            ),
            ("nobody", "Passw0rd!x", "NTLM: unknown user"),
        ];
        let mut texts = Vec::new();
        for (user, password, text) in cases {
            let l = h.logon(mode, user, password, &winbind_only);
            texts.push(expect_refused(&l, mode, user, text));
        }
        // Each reason is told apart (the stems differ, not only the user names).
        let mut stems: Vec<&str> = cases.iter().map(|c| c.2).collect();
        stems.sort_unstable();
        stems.dedup();
        assert_eq!(stems.len(), cases.len(), "{texts:?}");
    }

    // One winbind connection per process, one request per logon (plus the domain name, asked once).
    let log = fs::read_to_string(&debug_log).unwrap_or_default();
    assert!(
        log.contains("back-end winbind") && log.contains("winbind: 1 connection(s), 2 request(s)"),
        "debug log:\n{log}"
    );
    assert!(
        !log.contains("connection(s), 3 request(s)"),
        "debug log:\n{log}"
    );

    // The DC goes away: winbind-only logons fail with a clear "back-end unavailable", the user file still
    // works; after the DC is back, domain logons work again.
    dc.samba("samba-stop");
    let user_file = h.env.user_file.display().to_string();
    let l = h.logon(Mode::Raw, "alice", "Passw0rd!alice", &winbind_only);
    expect_refused(
        &l,
        Mode::Raw,
        "alice (DC down)",
        "NTLM: authentication back-end unavailable",
    );
    let with_file = [("NTLM_USER_FILE", user_file.as_str())];
    let l = h.logon(Mode::Spnego, "TESTDOM\\testuser", "Passw0rd!", &with_file);
    expect_accepted(&l, Mode::Spnego, "testuser (DC down)", "TESTDOM\\testuser");
    let file_only = [
        ("NTLM_USER_FILE", user_file.as_str()),
        ("GSS_NEGOTIATE_BACKEND", "file"),
    ];
    let l = h.logon(Mode::Raw, "alice", "Passw0rd!alice", &file_only);
    expect_refused(&l, Mode::Raw, "alice (file only)", "NTLM: unknown user");
    dc.samba("samba-start");
    let l = h.logon(Mode::Spnego, "alice", "Passw0rd!alice", &with_file);
    expect_accepted(
        &l,
        Mode::Spnego,
        "alice (DC back, file + winbind)",
        "ADTEST\\alice",
    );
}
