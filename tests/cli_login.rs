//! `gss-negotiate hash`, `login` / `status` / `logout`, and the plugin using the login file as its default
//! initiator credential: MIT's gss-client authenticates with no password anywhere in its environment, and is
//! refused after `logout`.
#![cfg(feature = "cli")]

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output, Stdio};

fn cli(args: &[&str], stdin: &[u8], env: &[(&str, &std::path::Path)]) -> Output {
    use std::io::Write as _;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gss-negotiate"));
    cmd.args(args)
        .env_remove("GSS_NEGOTIATE_LOGIN_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().expect("wait")
}

#[test]
fn hash_prints_a_user_file_line_with_the_nt_hash() {
    // MS-NLMP §4.2.2.1.2: NTOWFv1("Password") = a4f49c406510bdcab6824ee7c30fd852.
    let out = cli(&["hash", "--stdin", "Domain\\User"], b"Password\n", &[]);
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        line.trim(),
        "Domain\\User:0:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:a4f49c406510bdcab6824ee7c30fd852:"
    );
    // The crate's own user-file parser reads it back.
    let parsed = gss_negotiate::creds::userfile::ParsedUserFile::parse(&line);
    let e = parsed.first().expect("entry");
    assert_eq!(
        (e.user.as_str(), e.domain.as_deref()),
        ("User", Some("Domain"))
    );
    assert!(parsed.errors.is_empty());
}

#[test]
fn login_then_gss_client_without_password_then_logout_refuses() {
    const TEST: &str = "login_then_gss_client_without_password_then_logout_refuses";
    let Some(samples) = samples(TEST) else { return };
    let plugin = match plugin() {
        Plugin::Found { path, .. } => path,
        other => panic!("{TEST}: no plugin: {other:?}"),
    };
    let env = GssEnv::new("cli-login", &plugin).unwrap();
    let runtime = env.dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let xdg = [("XDG_RUNTIME_DIR", runtime.as_path())];

    // Not logged in yet.
    let out = cli(&["status"], b"", &xdg);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    let account = format!("{TEST_DOMAIN}\\{TEST_USER}");
    let out = cli(
        &["login", "--stdin", &account],
        format!("{TEST_PASSWORD}\n").as_bytes(),
        &xdg,
    );
    assert!(out.status.success(), "{out:?}");
    let file = runtime.join("gss-negotiate-login");
    let meta = std::fs::metadata(&file).expect("login file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "login file mode");
    let bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains(TEST_PASSWORD),
        "the password is in the login file"
    );
    let utf16: Vec<u8> = TEST_PASSWORD
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert!(
        !bytes.windows(utf16.len()).any(|w| w == utf16),
        "UTF-16 password in the login file"
    );
    // No temporary file left beside it.
    assert_eq!(std::fs::read_dir(&runtime).unwrap().count(), 1);

    let out = cli(&["status"], b"", &xdg);
    assert!(out.status.success(), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("Account: {account}")) && shown.contains("mode 0600"),
        "{shown}"
    );
    let hash = text
        .lines()
        .last()
        .unwrap()
        .split(':')
        .nth(3)
        .unwrap()
        .to_string();
    assert!(!shown.contains(&hash), "status shows the hash");

    // gss-client with no user, no password and no NTLM_USER_FILE: the plugin takes the login file.
    let client = |tag: &str| {
        let server = Server::start(&env, &samples, &["-once"]).expect("gss-server");
        let mut cmd = Command::new(&samples.client);
        env.apply(&mut cmd);
        cmd.env_remove("NTLM_USER_FILE")
            .env("XDG_RUNTIME_DIR", &runtime)
            .args([
                "-port",
                &server.port.to_string(),
                "-mech",
                NTLMSSP_OID_BRACES,
            ])
            .args(["127.0.0.1", &target_service(), "hello"]);
        let out = run_bounded(
            cmd,
            &env.dir.path().join(format!("client-{tag}.log")),
            CLIENT_TIMEOUT,
        );
        let srv = server.finish(SERVER_FINISH_TIMEOUT);
        (out, srv)
    };
    let (out, srv) = client("in");
    assert!(
        out.success(),
        "gss-client with the login file failed:\n{}\nserver:\n{}",
        out.output,
        srv.output
    );
    assert!(
        srv.output.contains(TEST_USER),
        "server did not see {TEST_USER}:\n{}",
        srv.output
    );

    let out = cli(&["logout"], b"", &xdg);
    assert!(out.status.success(), "{out:?}");
    assert!(!file.exists(), "logout left the file");
    let out = cli(&["logout"], b"", &xdg);
    assert_eq!(out.status.code(), Some(1), "second logout");

    let (out, _) = client("out");
    assert!(
        !out.success(),
        "gss-client succeeded after logout:\n{}",
        out.output
    );
}
