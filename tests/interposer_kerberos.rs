//! The SPNEGO interposer with Kerberos from a loopback MIT KDC (scripts/http-env.sh: realm GSSNEG.TEST,
//! testuser, HTTP/<host> in a keytab): MIT's `gss-client -spnego` / `gss-server HTTP` through our SPNEGO on both
//! sides (-export, -ccount 2 -mcount 3, delegation: the delegated credential stored and used again), our SPNEGO against MIT's in both directions, and the
//! fallback to NTLM when the client has no ticket. The audit files prove which engine negotiated and what it
//! chose. Needs root (the environment script runs the KDC and Apache as www-data) and skips elsewhere.

mod common;
#[path = "common/http.rs"]
mod http;
mod interposer_common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{hostname, samples, skip, GssEnv};
use http::{kdc_setup, HttpEnv, Options};
use interposer_common::*;

/// The loopback KDC (and Apache, unused here) of scripts/http-env.sh.
type Kdc = HttpEnv;

fn start(test: &str) -> Option<(Kdc, GssEnv, common::Samples)> {
    let so = kdc_setup(test)?;
    let s = samples(test)?;
    let kdc =
        HttpEnv::start("kerberos", &so, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let env = GssEnv::new(test, &so).expect("temp env");
    Some((kdc, env, s))
}

/// A side that uses the KDC's realm, the keytab, and `ccache`.
fn side(env: &GssEnv, kdc: &Kdc, spnego: Spnego, tag: &str, ccache: &str) -> Side {
    let mut s = Side::new(env, spnego, tag);
    let d = &kdc.dir;
    s.env = vec![
        (
            "KRB5_CONFIG".into(),
            d.join("krb5.conf").display().to_string(),
        ),
        (
            "KRB5_KTNAME".into(),
            format!("FILE:{}", d.join("http.keytab").display()),
        ),
        (
            "KRB5CCNAME".into(),
            format!("FILE:{}", env.dir.path().join(ccache).display()),
        ),
        ("KRB5RCACHETYPE".into(), "none".into()),
    ];
    s
}

fn kinit(env: &GssEnv, kdc: &Kdc, ccache: &str) {
    let mut child = Command::new("kinit")
        .arg("-f")
        .arg("testuser@GSSNEG.TEST")
        .env("KRB5_CONFIG", kdc.dir.join("krb5.conf"))
        .env(
            "KRB5CCNAME",
            format!("FILE:{}", env.dir.path().join(ccache).display()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("kinit runs");
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "Passw0rd!").unwrap();
    assert!(child.wait().unwrap().success(), "kinit failed");
}

fn target() -> String {
    format!("HTTP@{}", hostname())
}

const KRB5_OID_BRACES: &str = "{ 1 2 840 113554 1 2 2 }";

#[test]
fn kerberos_through_the_interposer_with_export_counts_and_delegation() {
    let test = "kerberos_through_the_interposer_with_export_counts_and_delegation";
    let Some((kdc, env, s)) = start(test) else {
        return;
    };
    kinit(&env, &kdc, "cc");
    let srv = side(&env, &kdc, Spnego::Ours, "srv", "cc-srv");
    let cli = side(&env, &kdc, Spnego::Ours, "cli", "cc");
    let (out, log) = exchange(
        &env,
        &s,
        &srv,
        &cli,
        &["-export", "-verbose"],
        &["-ccount", "2", "-mcount", "3", "-d"],
        "HTTP",
        &target(),
        2,
    );
    assert_exchange_ok("", &out, &log, 6);
    assert!(
        out.output.contains("\"testuser@GSSNEG.TEST\" to \"HTTP/"),
        "{}",
        out.output
    );
    assert_eq!(
        common::count_lines(
            &log,
            &format!("Accepted connection using mechanism OID {KRB5_OID_BRACES}")
        ),
        2,
        "{log}"
    );
    assert_eq!(
        common::count_lines(&log, "Accepted connection: \"testuser@GSSNEG.TEST\""),
        2,
        "{log}"
    );
    assert_eq!(common::count_lines(&log, "Exported context"), 6, "{log}");
    // gss-server's verbose mode reads the Kerberos name's attributes (the PAC) through gssi_get_name_attribute.
    assert!(log.contains("Attribute urn:mspac:"), "{log}");
    assert_negotiated(&srv.spnego_records(), 2, "acceptor", "krb5", "server");
    assert_negotiated(&cli.spnego_records(), 2, "initiator", "krb5", "client");
}

#[test]
fn kerberos_between_our_spnego_and_mit_spnego_both_directions() {
    let test = "kerberos_between_our_spnego_and_mit_spnego_both_directions";
    let Some((kdc, env, s)) = start(test) else {
        return;
    };
    kinit(&env, &kdc, "cc");
    for (server, client, tag) in [
        (Spnego::Ours, Spnego::Mit, "a"),
        (Spnego::Mit, Spnego::Ours, "b"),
    ] {
        let srv = side(&env, &kdc, server, &format!("srv-{tag}"), "cc-srv");
        let cli = side(&env, &kdc, client, &format!("cli-{tag}"), "cc");
        let (out, log) = exchange(
            &env,
            &s,
            &srv,
            &cli,
            &["-export", "-verbose"],
            &["-ccount", "2", "-mcount", "3"],
            "HTTP",
            &target(),
            2,
        );
        let ctx = format!("server {server:?}, client {client:?}");
        assert_ours_against_mit(&ctx, &out, &log, server, &srv, &cli, 6, 2, "krb5");
        assert_eq!(
            common::count_lines(
                &log,
                &format!("Accepted connection using mechanism OID {KRB5_OID_BRACES}")
            ),
            2,
            "{ctx}: {log}"
        );
    }
}

#[test]
fn without_a_ticket_our_spnego_falls_back_to_ntlm_and_says_why() {
    let test = "without_a_ticket_our_spnego_falls_back_to_ntlm_and_says_why";
    let Some((kdc, env, s)) = start(test) else {
        return;
    };
    let srv = side(&env, &kdc, Spnego::Ours, "srv", "cc-srv");
    let cli = side(&env, &kdc, Spnego::Ours, "cli", "cc-empty");
    let (out, log) = exchange(&env, &s, &srv, &cli, &["-once"], &[], "HTTP", &target(), 1);
    assert!(out.success(), "client:\n{}\nserver:\n{log}", out.output);
    assert!(
        log.contains("Accepted connection: \"TESTDOM\\testuser\""),
        "{log}"
    );
    let recs = cli.spnego_records();
    assert_negotiated(&recs, 1, "initiator", "ntlm", "client");
    assert_eq!(recs[0]["kerberos_not_used"], "no-ticket", "{}", recs[0]);
    assert_negotiated(&srv.spnego_records(), 1, "acceptor", "ntlm", "server");
}

#[test]
fn delegated_kerberos_credentials_come_back_and_authenticate_again() {
    let test = "delegated_kerberos_credentials_come_back_and_authenticate_again";
    let Some((kdc, env, _)) = start(test) else {
        return;
    };
    let python = PathBuf::from("/usr/bin/python3");
    let gssapi_ok = Command::new(&python)
        .args(["-c", "import gssapi"])
        .status()
        .is_ok_and(|s| s.success());
    if !gssapi_ok {
        return skip(
            test,
            "/usr/bin/python3 cannot import gssapi (Debian python3-gssapi)",
        );
    }
    kinit(&env, &kdc, "cc");
    let side = side(&env, &kdc, Spnego::Ours, "py", "cc");
    let mut cmd = Command::new(&python);
    env.apply(&mut cmd);
    cmd.env("GSS_MECH_CONFIG", mech_conf(&env, Spnego::Ours))
        .env("GSS_NEGOTIATE_AUDIT", &side.audit);
    for (k, v) in &side.env {
        cmd.env(k, v);
    }
    let stored = env.dir.path().join("stored-ccache");
    cmd.arg(repo("tests/python/interposer_delegation.py"))
        .arg(hostname())
        .arg(&stored);
    let out = common::run_bounded(
        cmd,
        &env.dir.path().join("deleg.log"),
        std::time::Duration::from_secs(30),
    );
    assert!(out.success(), "{}", out.output);
    // Releasing the delegated credential works (it is a real mechglue credential, not one of our handles).
    assert!(!out.output.contains("Exception ignored"), "{}", out.output);
    let line = out
        .output
        .lines()
        .rfind(|l| l.starts_with('{'))
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("no JSON result ({e}):\n{}", out.output));
    assert_eq!(v["mech"], "1.2.840.113554.1.2.2", "{v}");
    assert_eq!(v["peer"], "testuser@GSSNEG.TEST", "{v}");
    assert_eq!(v["deleg_flag"], true, "{v}");
    assert_eq!(v["delegated"], true, "{v}");
    assert_eq!(v["delegated_name"], "testuser@GSSNEG.TEST", "{v}");
    assert_eq!(v["second_mech"], "1.2.840.113554.1.2.2", "{v}");
    assert_eq!(v["second_peer"], "testuser@GSSNEG.TEST", "{v}");
    // The stored credential is the user's, in the ccache the program named (gssi_store_cred_into).
    assert_eq!(v["stored"], true, "{v}");
    let klist = Command::new("klist")
        .arg("-c")
        .arg(format!("FILE:{}", stored.display()))
        .env("KRB5_CONFIG", kdc.dir.join("krb5.conf"))
        .output()
        .expect("klist runs");
    let text = String::from_utf8_lossy(&klist.stdout);
    assert!(
        text.contains("Default principal: testuser@GSSNEG.TEST"),
        "{text}"
    );
    // The SPNEGO negotiation is audited once per side (the second one used the krb5 mechanism directly).
    let recs = side.spnego_records();
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert!(recs
        .iter()
        .all(|r| r["chosen"] == "krb5" && r["outcome"] == "success"));
}
