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
#[path = "common/http.rs"]
mod http;

use http::*;
use serde_json::Value;
use std::fs;
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

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
    let Some(setup) = setup(test, false, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("krb5", &env);
    client.kinit(&env);
    for path in ["/bound/whoami", "/unbound/whoami", "/krb5only/whoami"] {
        let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("no-ticket", &env);
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("no-spn", &env);
    client.kinit(&env);
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = HttpEnv::start("kdc-down", &setup.plugin, &Options::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::like_server("kdc-down", &env);
    client.kinit(&env);
    assert!(env.script("kdc-stop"), "kdc-stop failed");
    let c = client.curl_with(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/bound/whoami")],
    );
    assert_ntlm_in_spnego(&c, test);
    // And with the KDC back, the same client is on Kerberos again.
    assert!(env.script("kdc-start"), "kdc-start failed");
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("nokey", &env);
    client.kinit(&env);
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("pygssapi", &env);
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    // No ccache: pyspnego's Negotiate cannot use Kerberos and wraps its own NTLM in its own SPNEGO.
    let client = Client::like_server("pyspnego", &env);
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("curl-ntlm", &env).with_ntlm_password("unused-by-curl");
    // A request without credentials is offered both schemes.
    let c = client.curl_with(&env, &env.host, &[], &[env.url("/bound/whoami")]);
    assert_eq!(c.code, 401);
    assert_eq!(c.received, ["Negotiate", "NTLM"], "{}", c.output);
    let user = format!("{NTLM_USER}:{PASSWORD}");
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    // Its own environment: with a plugin that crashes here, the shared one's error.log stays clean.
    let env = HttpEnv::start("credstore", &setup.plugin, &Options::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::like_server("credstore", &env);
    let c = client.curl_with(
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
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("wrong-pw", &env).with_ntlm_password("WrongPassw0rd!");
    let c = client.curl_with(
        &env,
        &env.host,
        &["--negotiate", "-u", ":"],
        &[env.url("/bound/whoami")],
    );
    assert_eq!(c.code, 401, "{}", c.output);
    assert!(c.var("REMOTE_USER").is_none());
    assert_eq!(c.sent.len(), 2, "NEGOTIATE and AUTHENTICATE were sent");
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("unbound", &env);
    let c = client.curl_with(
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
    let c = client.curl_with(
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("keepalive", &env);
    let tag = format!("ka{}", std::process::id());
    let urls: Vec<String> = (0..20)
        .map(|i| env.url(&format!("/bound/whoami?{tag}={i}")))
        .collect();
    let c = client.curl_with(&env, &env.host, &["--negotiate", "-u", ":"], &urls);
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
    // Apache logs a request after its reply went out: wait for all 20 lines.
    let ok_line = |l: &str| l.contains(&format!("{tag}=")) && l.contains(" 200 ");
    let access = common::read_until(
        &env.dir.join("logs/access.log"),
        Duration::from_secs(10),
        |t| t.lines().filter(|l| ok_line(l)).count() >= 20,
    );
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
    let Some(setup) = setup(test, true, &[]) else {
        return;
    };
    let env = shared_env(test, &setup);
    let client = Client::like_server("parallel", &env);
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
