//! Audit records really reach syslog (issue 11: the audit's own `/dev/log` client, src/ffi/syslog.rs).
//!
//! Each program runs in a private mount namespace (`unshare -m`) whose `/dev` is a fresh tmpfs holding the
//! usual device nodes (bind-mounted from the real `/dev`) and, as `/dev/log`, a datagram socket this test binds
//! and reads — so the host's `/dev` and syslog are untouched. Checked: one line per side, facility `authpriv`
//! (priority 85 = notice for a success, 84 = warning for a refusal), glibc's framing with the program's name and
//! pid, and the record's fields, for MIT's `gss-client` (which exits right after its handshake) against
//! `gss-server` through our interposer, for a child made with `fork()` that leaves with `_exit()`, and for a
//! negotiation the NTLM policy refuses. Needs root (mount namespaces); skips with a message elsewhere.

mod common;
mod interposer_common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{hostname, plugin, run_bounded, samples, skip, GssEnv, Plugin, Samples};
use interposer_common::*;

/// Inside the namespace: a tmpfs over /dev with the usual nodes and our socket as /dev/log, then the program.
const NS_SCRIPT: &str = r#"#!/bin/sh
set -e
sock=$1; shift
old=$(dirname "$sock")/olddev
mkdir -p "$old"
mount --bind /dev "$old"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty; do
  if [ -e "$old/$n" ]; then touch "/dev/$n"; mount --bind "$old/$n" "/dev/$n"; fi
done
ln -s /proc/self/fd /dev/fd
touch /dev/log
mount --bind "$sock" /dev/log
umount -l "$old"
exec "$@"
"#;

struct Syslog {
    sock: UnixDatagram,
    path: PathBuf,
    wrap: PathBuf,
}

impl Syslog {
    fn new(dir: &Path) -> Syslog {
        let path = dir.join("log.sock");
        let sock = UnixDatagram::bind(&path).expect("bind the test's /dev/log");
        sock.set_nonblocking(true).unwrap();
        let wrap = dir.join("in-ns.sh");
        fs::write(&wrap, NS_SCRIPT).unwrap();
        fs::set_permissions(&wrap, fs::Permissions::from_mode(0o755)).unwrap();
        Syslog { sock, path, wrap }
    }

    /// A script that runs `program` in its own mount namespace with our socket as /dev/log.
    fn wrapper(&self, program: &Path, name: &str) -> PathBuf {
        let p = self.path.with_file_name(name);
        fs::write(
            &p,
            format!(
                "#!/bin/sh\nexec unshare -m {} {} {} \"$@\"\n",
                self.wrap.display(),
                self.path.display(),
                program.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// Every datagram received so far.
    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = self.sock.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}

/// Parses `<PRI>Mmm dd hh:mm:ss ident[pid]: message` into (priority, ident, pid, message).
fn parse(line: &str) -> (u32, String, u32, String) {
    let rest = line.strip_prefix('<').unwrap_or_else(|| panic!("{line:?}"));
    let (pri, rest) = rest.split_once('>').unwrap_or_else(|| panic!("{line:?}"));
    let b = rest.as_bytes();
    assert!(b.len() > 16, "{line:?}");
    assert!(
        b[..3].iter().all(u8::is_ascii_alphabetic),
        "month: {line:?}"
    );
    assert_eq!(
        (b[3], b[6], b[9], b[12], b[15]),
        (b' ', b' ', b':', b':', b' '),
        "time stamp: {line:?}"
    );
    let (head, msg) = rest[16..]
        .split_once("]: ")
        .unwrap_or_else(|| panic!("{line:?}"));
    let (ident, pid) = head.split_once('[').unwrap_or_else(|| panic!("{line:?}"));
    (
        pri.parse().unwrap_or_else(|_| panic!("{line:?}")),
        ident.to_string(),
        pid.parse().unwrap_or_else(|_| panic!("{line:?}")),
        msg.to_string(),
    )
}

fn setup(test: &str) -> Option<GssEnv> {
    if !is_root() {
        skip(test, "needs root (a private mount namespace for /dev/log)");
        return None;
    }
    if common::find_program("unshare").is_none() {
        skip(test, "no unshare (util-linux)");
        return None;
    }
    let so = match plugin() {
        Plugin::Found { path, .. } => path,
        Plugin::NoEntryPoints(p) => panic!("{} exports no gss_* entry points", p.display()),
        Plugin::Missing(why) => {
            skip(test, &why);
            return None;
        }
    };
    Some(GssEnv::new(test, &so).expect("temp env"))
}

#[test]
fn gss_client_and_server_lines_reach_syslog_through_the_interposer() {
    let test = "gss_client_and_server_lines_reach_syslog_through_the_interposer";
    let Some(env) = setup(test) else { return };
    let Some(real) = samples(test) else { return };
    let log = Syslog::new(env.dir.path());
    let s = Samples {
        server: log.wrapper(&real.server, "gss-server"),
        client: log.wrapper(&real.client, "gss-client"),
        stdbuf: real.stdbuf.clone(),
    };
    let (srv, cli) = (
        Side::new(&env, Spnego::Ours, "srv"),
        Side::new(&env, Spnego::Ours, "cli"),
    );
    let target = format!("host@{}", hostname());
    let (out, slog) = exchange(&env, &s, &srv, &cli, &["-once"], &[], "host", &target, 1);
    assert!(out.success(), "client:\n{}\nserver:\n{slog}", out.output);
    // The JSON file agrees that our engine negotiated, once per side.
    assert_negotiated(&srv.spnego_records(), 1, "acceptor", "ntlm", "server");
    assert_negotiated(&cli.spnego_records(), 1, "initiator", "ntlm", "client");

    let lines = log.lines();
    assert_eq!(lines.len(), 2, "one line per side: {lines:#?}");
    let parsed: Vec<_> = lines.iter().map(|l| parse(l)).collect();
    for ident in ["gss-client", "gss-server"] {
        let mine: Vec<_> = parsed.iter().filter(|p| p.1 == ident).collect();
        assert_eq!(mine.len(), 1, "{ident}: {lines:#?}");
        let (pri, _, pid, msg) = mine[0];
        assert_eq!(*pri, 10 << 3 | 5, "authpriv.notice: {msg}");
        assert!(*pid > 1, "{msg}");
        let role = if ident == "gss-client" {
            "initiator"
        } else {
            "acceptor"
        };
        assert!(
            msg.starts_with(&format!("gss-negotiate: spnego {role} outcome=success")),
            "{msg}"
        );
        assert!(msg.contains(" chosen=ntlm"), "{msg}");
        assert!(msg.contains(" offered=") && msg.contains("ntlm"), "{msg}");
    }
    let client = parsed.iter().find(|p| p.1 == "gss-client").unwrap();
    assert!(client.3.contains(" peer=\"host@"), "{}", client.3);
    let server = parsed.iter().find(|p| p.1 == "gss-server").unwrap();
    assert!(
        server.3.contains("peer=\"TESTDOM\\\\testuser\""),
        "{}",
        server.3
    );
}

fn python_with_gssapi() -> Option<PathBuf> {
    common::peers::python_with_module("gssapi")
}

#[test]
fn a_forked_child_that_exits_at_once_logs_with_its_own_pid() {
    let test = "a_forked_child_that_exits_at_once_logs_with_its_own_pid";
    let Some(env) = setup(test) else { return };
    let Some(python) = python_with_gssapi() else {
        return skip(test, "no python3 can import gssapi (Debian python3-gssapi)");
    };
    let log = Syslog::new(env.dir.path());
    let side = Side::new(&env, Spnego::Ours, "fork");
    let mut cmd = Command::new(log.wrapper(&python, "python-in-ns"));
    env.apply(&mut cmd);
    cmd.env("GSS_MECH_CONFIG", mech_conf(&env, Spnego::Ours))
        .env("GSS_NEGOTIATE_AUDIT", &side.audit)
        .arg(repo("tests/python/audit_fork.py"))
        .arg(hostname());
    let out = run_bounded(cmd, &env.dir.path().join("py.log"), Duration::from_secs(30));
    assert!(out.success(), "{}", out.output);
    let v: serde_json::Value =
        serde_json::from_str(out.output.lines().last().unwrap_or_default()).expect("JSON");
    assert_eq!(v["parent_ok"], true, "{v}");
    assert_eq!(v["child_ok"], true, "{v}");
    let (parent, child) = (v["parent"].as_u64().unwrap(), v["child"].as_u64().unwrap());
    assert_ne!(parent, child);
    assert_eq!(side.spnego_records().len(), 4, "{:#?}", side.records());

    let lines = log.lines();
    let parsed: Vec<_> = lines.iter().map(|l| parse(l)).collect();
    for pid in [parent, child] {
        let mine: Vec<_> = parsed.iter().filter(|p| u64::from(p.2) == pid).collect();
        assert_eq!(mine.len(), 2, "pid {pid}: {lines:#?}");
        for role in ["initiator", "acceptor"] {
            assert_eq!(
                mine.iter()
                    .filter(|p| p.0 == 85
                        && p.3
                            .starts_with(&format!("gss-negotiate: spnego {role} outcome=success")))
                    .count(),
                1,
                "pid {pid}, {role}: {lines:#?}"
            );
        }
    }
    assert_eq!(lines.len(), 4, "{lines:#?}");
}

#[test]
fn a_refused_negotiation_logs_a_warning() {
    let test = "a_refused_negotiation_logs_a_warning";
    let Some(env) = setup(test) else { return };
    let Some(python) = python_with_gssapi() else {
        return skip(test, "no python3 can import gssapi (Debian python3-gssapi)");
    };
    let log = Syslog::new(env.dir.path());
    let policy = env
        .write_file("policy.conf", b"ntlm.outgoing = deny\n")
        .unwrap();
    fs::set_permissions(&policy, fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = Command::new(log.wrapper(&python, "python-in-ns"));
    env.apply(&mut cmd);
    cmd.env("GSS_MECH_CONFIG", mech_conf(&env, Spnego::Ours))
        .env("GSS_NEGOTIATE_POLICY", &policy)
        .arg(repo("tests/python/audit_fork.py"))
        .arg(hostname())
        .arg("once");
    let out = run_bounded(cmd, &env.dir.path().join("py.log"), Duration::from_secs(30));
    assert!(!out.success(), "NTLM denied, yet: {}", out.output);
    let lines = log.lines();
    let parsed: Vec<_> = lines.iter().map(|l| parse(l)).collect();
    let refused: Vec<_> = parsed
        .iter()
        .filter(|p| {
            p.3.starts_with("gss-negotiate: spnego initiator outcome=failure")
        })
        .collect();
    assert_eq!(refused.len(), 1, "{lines:#?}");
    assert_eq!(refused[0].0, 10 << 3 | 4, "authpriv.warning: {lines:#?}");
    assert!(refused[0].3.contains("ntlm-policy=deny"), "{lines:#?}");
}
