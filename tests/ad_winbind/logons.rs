//! tests/ad_winbind's scenarios beyond the plain logons: NTLMv1 against the DC's `ntlm auth`, the name
//! attributes (SIDs, groups, `gss_localname`) and the initiator's single sign-on from winbind's cached
//! credentials.

use crate::common::peers::python;
use crate::common::*;
use crate::harness::*;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// NTLMv1 (LM_COMPAT_LEVEL 2: with extended session security; 0: without) validated by the DC. Samba's
/// default `ntlm auth = ntlmv2-only` answers a correct NTLMv1 response with NT_STATUS_WRONG_PASSWORD (so
/// does `wbinfo --ntlmv1 -a`): the acceptor can only report that. With `ntlm auth = yes` both forms are
/// accepted, and the session key the DC returns works: gss-client's messages are unwrapped and the server's
/// MIC verified (gss-client fails otherwise).
pub(crate) fn ntlmv1_through_winbind(h: &mut Harness<'_>, winbind_only: &[(&str, &str)]) {
    let mut server = winbind_only.to_vec();
    server.push(("LM_COMPAT_LEVEL", "2"));
    let ess = [("LM_COMPAT_LEVEL", "2")];
    let plain = [("LM_COMPAT_LEVEL", "0")];
    let alice = ("alice", "Passw0rd!alice");
    let l = h.logon_with(Mode::Raw, alice.0, alice.1, &server, &ess);
    expect_refused(
        &l,
        Mode::Raw,
        "alice NTLMv1 (DC ntlmv2-only)",
        "NTLM: password does not match",
    );
    h.dc.ntlm_auth("yes");
    for mode in [Mode::Raw, Mode::Spnego] {
        for (form, client) in [("NTLMv1-ESS", &ess), ("NTLMv1", &plain)] {
            let l = h.logon_with(mode, alice.0, alice.1, &server, client);
            expect_accepted(&l, mode, &format!("alice {form}"), "ADTEST\\alice");
            let debug = fs::read_to_string(
                server
                    .iter()
                    .find(|(k, _)| *k == "GSS_NEGOTIATE_DEBUG")
                    .map_or("", |(_, v)| v),
            )
            .unwrap_or_default();
            let kind = if form == "NTLMv1" { "(V1," } else { "(V1Ess," };
            assert!(
                debug
                    .lines()
                    .rfind(|l| l.contains("acceptor: authenticated "))
                    .is_some_and(|l| l.contains("authenticated ADTEST\\alice") && l.contains(kind)),
                "{mode:?} {form}: last debug line:\n{debug}"
            );
        }
        let l = h.logon_with(mode, "alice", "wrong", &server, &ess);
        expect_refused(
            &l,
            mode,
            "alice NTLMv1 wrong",
            "NTLM: password does not match",
        );
        let l = h.logon_with(mode, "carol", "Passw0rd!carol", &server, &plain);
        expect_refused(&l, mode, "carol NTLMv1", "NTLM: account disabled");
    }
    // An acceptor at the default level 3 refuses NTLMv1 itself, before the DC is asked.
    let l = h.logon_with(Mode::Raw, alice.0, alice.1, winbind_only, &ess);
    expect_refused(&l, Mode::Raw, "alice NTLMv1 (level 3)", "NTLM: NTLMv1");
    h.dc.ntlm_auth("ntlmv2-only");
}
/// SIDs and group names as name attributes, `gss_localname` through winbind, and both kept across a context
/// export/import: python-gssapi (tests/python/ad_attrs.py) inside the DC's namespaces, raw and SPNEGO.
pub(crate) fn name_attributes(h: &Harness<'_>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/ad_attrs.py");
    for (user, password, groups) in [
        (
            "alice",
            "Passw0rd!alice",
            "ADTEST\\Domain Users,ADTEST\\webusers",
        ),
        ("bob", "Passw0rd!bob", "ADTEST\\Domain Users"),
    ] {
        let mut c = h.dc.exec(&h.env, &python().display().to_string());
        c.arg(&script).arg(user).arg(password);
        let out = run_bounded(
            c,
            &h.env.dir.path().join(format!("attrs-{user}.log")),
            Duration::from_secs(60),
        );
        assert!(out.success(), "ad_attrs.py {user}:\n{}", out.output);
        let results: Vec<serde_json::Value> = out
            .output
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(results.len(), 2, "raw and SPNEGO:\n{}", out.output);
        for r in &results {
            let ctx = format!("{user} {}: {r}", r["mode"]);
            assert_eq!(r["name"], format!("ADTEST\\{user}"), "{ctx}");
            assert_eq!(
                r["attrs"],
                serde_json::json!(["urn:gssntlmssp:sids", "urn:gss-negotiate:groups"]),
                "{ctx}"
            );
            let sids = &r["values"]["urn:gssntlmssp:sids"];
            let value = sids["values"][0].as_str().unwrap_or_default();
            // gss-ntlmssp's format: the SIDs joined by ',', the user's first, one trailing NUL counted.
            let text = value
                .strip_suffix('\0')
                .unwrap_or_else(|| panic!("no trailing NUL: {ctx}"));
            let list: Vec<&str> = text.split(',').collect();
            assert!(list.len() >= 2, "{ctx}");
            assert!(list.iter().all(|s| s.starts_with("S-1-5-21-")), "{ctx}");
            assert_eq!(sids["display"][0], text, "{ctx}");
            assert_eq!(sids["authenticated"], true, "{ctx}");
            assert_eq!(sids["complete"], true, "{ctx}");
            let g = &r["values"]["urn:gss-negotiate:groups"];
            assert_eq!(g["values"][0], groups, "{ctx}");
            assert_eq!(g["display"][0], groups, "{ctx}");
            assert_eq!(
                (&g["authenticated"], &g["complete"]),
                (&true.into(), &true.into()),
                "{ctx}"
            );
            assert!(
                r["unknown_attribute"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("error")),
                "{ctx}"
            );
            // winbind's mapping of the user's SID (its passwd name for the account).
            assert_eq!(r["localname"], format!("ADTEST\\{user}"), "{ctx}");
            assert_eq!(r["after_import"]["attrs"], r["attrs"], "{ctx}");
            assert_eq!(r["after_import"]["values"], r["values"], "{ctx}");
        }
    }
}

/// Initiator SSO from winbind's cached credentials (tests/python/ad_sso.py): alice's password saved with
/// `wbinfo --ccache-save`, then a default initiator credential (no name, no password, no user file;
/// `NTLMUSER=alice`) logs on, raw and SPNEGO, with a MIC (Samba builds it from the NEGOTIATE we pass) and
/// sealing; channel bindings are refused with a clear text; bob, with nothing cached, gets "no credentials"
/// saying what winbind answered.
pub(crate) fn initiator_sso(h: &Harness<'_>) {
    let mut save = h.dc.exec(&h.env, "wbinfo");
    save.arg("--ccache-save=ADTEST\\alice%Passw0rd!alice");
    let saved = run_bounded(
        save,
        &h.env.dir.path().join("ccache-save.log"),
        Duration::from_secs(30),
    );
    assert!(saved.success(), "wbinfo --ccache-save:\n{}", saved.output);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/ad_sso.py");
    let log = h.env.dir.path().join("sso-debug.log");
    let run = |user: &str| -> Vec<serde_json::Value> {
        let mut c = h.dc.exec(&h.env, "env");
        c.args(["-u", "NTLM_USER_FILE"])
            .arg(format!("NTLMUSER={user}"))
            .arg(format!("GSS_NEGOTIATE_DEBUG={}", log.display()))
            .arg(python())
            .arg(&script);
        let out = run_bounded(
            c,
            &h.env.dir.path().join(format!("sso-{user}.log")),
            Duration::from_secs(60),
        );
        assert!(out.success(), "ad_sso.py as {user}:\n{}", out.output);
        out.output
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    };
    let alice = run("alice");
    assert_eq!(alice.len(), 3, "{alice:?}");
    for r in &alice[..2] {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["name"], "ADTEST\\alice", "{r}");
        assert_eq!(r["wrap"], "sealed by the initiator", "{r}");
        assert_eq!(r["encrypted"], true, "{r}");
    }
    assert_eq!(alice[2]["ok"], false, "{}", alice[2]);
    assert!(
        alice[2]["error"]
            .as_str()
            .is_some_and(|e| e.contains("channel bindings cannot be sent")),
        "{}",
        alice[2]
    );
    let log_text = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        log_text.contains("acceptor: authenticated ADTEST\\alice")
            && log_text.contains("(V2, MIC true"),
        "the acceptor checked a MIC from winbind's AUTHENTICATE:\n{log_text}"
    );
    let bob = run("bob");
    assert_eq!(bob[0]["ok"], false, "{}", bob[0]);
    assert!(
        bob[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no cached credentials for ADTEST\\bob")),
        "{}",
        bob[0]
    );
}
