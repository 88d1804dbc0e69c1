//! Shared helpers for integration tests that drive real GSSAPI programs (MIT's `gss-client` /
//! `gss-server` from Debian's `krb5-gss-samples`) through MIT's mechglue with our plugin loaded.
//!
//! Everything a test needs is private to it: a temporary directory (removed on drop) holding a
//! `GSS_MECH_CONFIG` file that names the plugin, an `NTLM_USER_FILE`, a `krb5.conf` that can reach no
//! KDC (so nothing ever leaves the machine), its own loopback port, and processes that are killed
//! after a bounded time. Nothing here reads or writes `/etc/gss`.
//!
//! Environment knobs:
//! - `GSS_NEGOTIATE_SO=/path/to/plugin.so`: test that library instead of the one cargo built (used to
//!   validate the harness against gss-ntlmssp:
//!   `/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so`).
//! - `GSS_SAMPLES_QUIET=1`: pass `-q` to gss-client (a harness-validation aid for plugins that fail
//!   gss-client's verbose mode); client-side output checks are then skipped.
//! - `GSS_TEST_KEEP_TMP=1`: keep the temporary directories and print where they are.
#![allow(dead_code)]

pub mod ad;
pub mod matrix;
pub mod memcheck;
pub mod peers;

use std::fs::{self, File};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The NTLMSSP mechanism OID (MS-NLMP §1.9), dotted form as in mech config files.
pub const NTLMSSP_OID: &str = "1.3.6.1.4.1.311.2.2.10";
/// The same OID as gss-client's `-mech` option wants it (braces and spaces; the dotted form fails
/// there and gss-client then silently falls back to the default mechanism, Kerberos).
pub const NTLMSSP_OID_BRACES: &str = "{ 1 3 6 1 4 1 311 2 2 10 }";
/// The mechanism name written in the temporary mech config.
pub const MECH_NAME: &str = "ntlmssp_gss_negotiate";

pub const TEST_DOMAIN: &str = "TESTDOM";
pub const TEST_USER: &str = "testuser";
pub const TEST_PASSWORD: &str = "Passw0rd!";

/// Upper bound for one gss-client run.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(12);
/// How long to wait for gss-server to say it is listening.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long gss-server may take to finish after the client is done.
pub const SERVER_FINISH_TIMEOUT: Duration = Duration::from_secs(4);

/// Print a visible skip notice. Written to the stderr handle in one piece, not with `eprintln!`, so
/// libtest's output capture does not hide it in a normal `cargo test` run. When `GSS_TEST_SKIP_LOG`
/// names a file (scripts/test.sh sets it), the test's name is appended there too, for the summary.
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIP {test}: {reason}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("GSS_TEST_SKIP_LOG") {
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{test}\n").as_bytes());
        }
    }
}

/// True when `GSS_SAMPLES_QUIET=1`: gss-client runs with `-q` and prints nothing on success.
pub fn quiet() -> bool {
    std::env::var("GSS_SAMPLES_QUIET").is_ok_and(|v| v == "1")
}

/// The machine's host name, as `gss-server` uses it for `host@<name>`.
pub fn hostname() -> String {
    if let Ok(s) = fs::read_to_string("/proc/sys/kernel/hostname") {
        let s = s.trim();
        if !s.is_empty() {
            return s.to_string();
        }
    }
    if let Ok(out) = Command::new("hostname").output() {
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !s.is_empty() {
            return s;
        }
    }
    "localhost".to_string()
}

/// The acceptor-side service name the tests target: `host@<hostname>`.
pub fn target_service() -> String {
    format!("host@{}", hostname())
}

/// True when the test runs as root (namespaces, bind mounts, packages).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Look a program up in `PATH` (and the usual system directories).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Where the plugin under test is, or why it cannot be had.
#[derive(Clone, Debug)]
pub enum Plugin {
    /// The library to load, and whether it came from `GSS_NEGOTIATE_SO`.
    Found {
        path: PathBuf,
        overridden: bool,
    },
    /// Our own library was built but does not export the GSSAPI entry points yet.
    NoEntryPoints(PathBuf),
    Missing(String),
}

/// Locate the plugin once per test binary: `GSS_NEGOTIATE_SO`, else `libgss_negotiate.so` in the
/// target directory this test binary was built into (`target/<profile>/deps/<test>` → `target/<profile>/`);
/// if it is not there, build it with `cargo build --lib` (same profile and target dir).
pub fn plugin() -> Plugin {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    PLUGIN.get_or_init(locate_plugin).clone()
}

fn locate_plugin() -> Plugin {
    if let Some(p) = std::env::var_os("GSS_NEGOTIATE_SO").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(p);
        return match path.canonicalize() {
            Ok(abs) if abs.is_file() => Plugin::Found {
                path: abs,
                overridden: true,
            },
            _ => Plugin::Missing(format!("GSS_NEGOTIATE_SO={} is not a file", path.display())),
        };
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Plugin::Missing(format!("cannot find the test binary: {e}")),
    };
    let Some(profile_dir) = exe.parent().and_then(Path::parent) else {
        return Plugin::Missing(format!("unexpected test binary location {}", exe.display()));
    };
    // `cargo test` rebuilds the cdylib in `deps/`; only `cargo build` copies it up to the profile directory.
    // Take the newer of the two so a stale copy is never tested.
    let candidates = [
        profile_dir.join("deps").join("libgss_negotiate.so"),
        profile_dir.join("libgss_negotiate.so"),
    ];
    let newest = candidates
        .iter()
        .filter_map(|p| Some((fs::metadata(p).ok()?.modified().ok()?, p.clone())))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p);
    let so = newest.unwrap_or_else(|| profile_dir.join("libgss_negotiate.so"));
    if !so.is_file() {
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--lib", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env(
                "CARGO_TARGET_DIR",
                profile_dir.parent().unwrap_or(profile_dir),
            );
        if release {
            cmd.arg("--release");
        }
        eprintln!("building the plugin: {cmd:?}");
        match cmd.status() {
            Ok(s) if s.success() => {}
            Ok(s) => return Plugin::Missing(format!("cargo build --lib failed: {s}")),
            Err(e) => return Plugin::Missing(format!("cannot run cargo: {e}")),
        }
    }
    match so.canonicalize() {
        Ok(abs) if abs.is_file() => {
            if exports_symbol(&abs, "gss_accept_sec_context") == Some(false) {
                Plugin::NoEntryPoints(abs)
            } else {
                Plugin::Found {
                    path: abs,
                    overridden: false,
                }
            }
        }
        _ => Plugin::Missing(format!("{} was not built", so.display())),
    }
}

/// Whether `lib` defines the dynamic symbol `name` (via `nm -D`); `None` when nm is unavailable.
pub fn exports_symbol(lib: &Path, name: &str) -> Option<bool> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .any(|l| l.split_whitespace().last() == Some(name)),
    )
}

/// A directory under the system temp dir, unique per process and call, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> std::io::Result<TempDir> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "gss-negotiate-test-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("GSS_TEST_KEEP_TMP").is_some() {
            eprintln!("kept {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A private GSSAPI environment: mech config naming the plugin, NTLM user file, an inert krb5.conf.
pub struct GssEnv {
    pub dir: TempDir,
    pub plugin: PathBuf,
    pub mech_conf: PathBuf,
    pub user_file: PathBuf,
    pub krb5_conf: PathBuf,
}

impl GssEnv {
    /// Write the files for `plugin` with the single user `TESTDOM:testuser:Passw0rd!`.
    pub fn new(tag: &str, plugin: &Path) -> std::io::Result<GssEnv> {
        let dir = TempDir::new(tag)?;
        let mech_conf = dir.path().join("mech.conf");
        fs::write(
            &mech_conf,
            format!("{MECH_NAME} {NTLMSSP_OID} {}\n", plugin.display()),
        )?;
        let user_file = dir.path().join("ntlm_users");
        fs::write(
            &user_file,
            format!("{TEST_DOMAIN}:{TEST_USER}:{TEST_PASSWORD}\n"),
        )?;
        // No realm has a KDC and DNS lookups are off: a stray Kerberos attempt fails at once, locally.
        let krb5_conf = dir.path().join("krb5.conf");
        fs::write(
            &krb5_conf,
            "[libdefaults]\n  default_realm = GSS-NEGOTIATE.INVALID\n  dns_lookup_kdc = false\n  \
             dns_lookup_realm = false\n  dns_canonicalize_hostname = false\n  rdns = false\n[realms]\n  GSS-NEGOTIATE.INVALID = {\n  }\n",
        )?;
        Ok(GssEnv {
            dir,
            plugin: plugin.to_path_buf(),
            mech_conf,
            user_file,
            krb5_conf,
        })
    }

    /// Give `cmd` this environment (and only this GSSAPI configuration).
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("GSS_MECH_CONFIG", &self.mech_conf)
            .env("NTLM_USER_FILE", &self.user_file)
            .env("KRB5_CONFIG", &self.krb5_conf)
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", self.dir.path().join("ccache").display()),
            )
            .env(
                "KRB5_KTNAME",
                format!("FILE:{}", self.dir.path().join("keytab").display()),
            )
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
    }

    /// Write a file into the environment's directory and return its path.
    pub fn write_file(&self, name: &str, contents: &[u8]) -> std::io::Result<PathBuf> {
        let p = self.dir.path().join(name);
        File::create(&p)?.write_all(contents)?;
        Ok(p)
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Paths of MIT's sample programs, or `None` (after printing a SKIP notice) when not installed.
pub struct Samples {
    pub server: PathBuf,
    pub client: PathBuf,
    /// coreutils' stdbuf, to line-buffer the programs' stdout (so a killed server loses nothing).
    pub stdbuf: Option<PathBuf>,
}

pub fn samples(test: &str) -> Option<Samples> {
    match (find_program("gss-server"), find_program("gss-client")) {
        (Some(server), Some(client)) => Some(Samples {
            server,
            client,
            stdbuf: find_program("stdbuf"),
        }),
        _ => {
            skip(
                test,
                "gss-server/gss-client not installed (Debian package krb5-gss-samples; \
                 scripts/install-deps.sh installs it)",
            );
            None
        }
    }
}

impl Samples {
    fn command(&self, program: &Path) -> Command {
        match &self.stdbuf {
            Some(sb) => {
                let mut c = Command::new(sb);
                c.args(["-oL", "-eL"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

/// How a bounded process run ended.
#[derive(Debug)]
pub struct Outcome {
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    /// stdout and stderr interleaved.
    pub output: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }
}

/// Spawn `cmd` with stdout+stderr into `log`.
fn spawn_logged(cmd: &mut Command, log: &Path) -> std::io::Result<Child> {
    let out = File::create(log)?;
    let err = out.try_clone()?;
    cmd.stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
}

/// Wait for `child` at most `limit`; kill it past that. Returns (status, timed_out).
fn wait_bounded(child: &mut Child, limit: Duration) -> (Option<ExitStatus>, bool) {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return (Some(s), false),
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                return (child.wait().ok(), true);
            }
        }
    }
}

/// Run `cmd` to completion, killed after `limit`.
pub fn run_bounded(mut cmd: Command, log: &Path, limit: Duration) -> Outcome {
    let mut child = match spawn_logged(&mut cmd, log) {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                status: None,
                timed_out: false,
                output: format!("cannot start {cmd:?}: {e}"),
            }
        }
    };
    let (status, timed_out) = wait_bounded(&mut child, limit);
    Outcome {
        status,
        timed_out,
        output: fs::read_to_string(log).unwrap_or_default(),
    }
}

/// A running `gss-server`; killed on drop.
pub struct Server {
    child: Child,
    log: PathBuf,
    pub port: u16,
}

impl Server {
    /// Start `gss-server -port <free port> <args> host` and wait until it listens.
    /// Retries with another port if the chosen one was taken in the meantime.
    pub fn start(env: &GssEnv, samples: &Samples, args: &[&str]) -> Result<Server, String> {
        let mut last = String::new();
        for attempt in 0..3 {
            let port = free_port().map_err(|e| format!("no free port: {e}"))?;
            let log = env.dir.path().join(format!("server-{attempt}.log"));
            let mut cmd = samples.command(&samples.server);
            env.apply(&mut cmd);
            cmd.arg("-port")
                .arg(port.to_string())
                .args(args)
                .arg("host");
            let mut child = spawn_logged(&mut cmd, &log)
                .map_err(|e| format!("cannot start gss-server: {e}"))?;
            let deadline = Instant::now() + SERVER_START_TIMEOUT;
            loop {
                let text = fs::read_to_string(&log).unwrap_or_default();
                if text.contains("starting...") {
                    return Ok(Server { child, log, port });
                }
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!("gss-server exited ({status}) before listening:\n{text}");
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = format!("gss-server did not start listening in time:\n{text}");
                    break;
                }
                sleep(Duration::from_millis(20));
            }
        }
        Err(last)
    }

    /// Let the server finish (or kill it after `limit`) and return everything it printed.
    pub fn finish(mut self, limit: Duration) -> Outcome {
        let (status, timed_out) = wait_bounded(&mut self.child, limit);
        Outcome {
            status,
            timed_out,
            output: fs::read_to_string(&self.log).unwrap_or_default(),
        }
    }
}

impl Server {
    /// For a server without `-once`: wait (at most `limit`) until its log has `count` lines
    /// containing `marker`, then kill it and return everything it printed. Being killed is the
    /// normal end here, so the outcome is not marked as timed out; a missing marker shows in the log.
    pub fn stop_after(mut self, marker: &str, count: usize, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let text = fs::read_to_string(&self.log).unwrap_or_default();
            if count_lines(&text, marker) >= count {
                break;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            sleep(Duration::from_millis(20));
        }
        let exited = self.child.try_wait().ok().flatten();
        if exited.is_none() {
            let _ = self.child.kill();
        }
        let status = self.child.wait().ok();
        Outcome {
            status,
            timed_out: false,
            output: fs::read_to_string(&self.log).unwrap_or_default(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run `gss-client -port <port> [-q] <args> 127.0.0.1 <service> <msg>`, bounded by [`CLIENT_TIMEOUT`].
/// The client connects to loopback; the target name is `service` (normally `host@<hostname>`).
pub fn run_client(
    env: &GssEnv,
    samples: &Samples,
    port: u16,
    args: &[String],
    service: &str,
    msg: &str,
) -> Outcome {
    let mut cmd = samples.command(&samples.client);
    env.apply(&mut cmd);
    cmd.arg("-port").arg(port.to_string());
    if quiet() {
        cmd.arg("-q");
    }
    cmd.args(args).arg("127.0.0.1").arg(service).arg(msg);
    let log = env.dir.path().join("client.log");
    run_bounded(cmd, &log, CLIENT_TIMEOUT)
}

/// Number of lines of `text` that contain `needle`.
pub fn count_lines(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

/// Read `path` until `done` holds for its text or `limit` passes; returns the last text read.
///
/// For a server's logs: Apache writes its access-log line in the logging phase, after the
/// response went out, so a client can see the reply before the line exists.
pub fn read_until(path: &Path, limit: Duration, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = fs::read_to_string(path).unwrap_or_default();
        if done(&text) || start.elapsed() >= limit {
            return text;
        }
        sleep(Duration::from_millis(20));
    }
}
