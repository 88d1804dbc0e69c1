//! HTTP Negotiate through our SPNEGO interposer (issue 11): curl → Apache mod_auth_gssapi with a real loopback MIT
//! KDC (scripts/http-env.sh), our interposer on both sides and on each side alone — each side has its own
//! `GSS_MECH_CONFIG` (Apache's written by http-env.sh with `HTTP_ENV_INTERPOSER_OID`, curl's by the test), its own
//! policy (`GSS_NEGOTIATE_POLICY`) and its own audit file (`GSS_NEGOTIATE_AUDIT`).
//!
//! The story: Kerberos first; NTLM when there is no ticket or the KDC is down; **200 instead of 401** when the
//! server rejects the ticket — service key missing from the keytab (`nokey.gssneg.test`), stale key version
//! (`stale.gssneg.test`), server clock two hours ahead (Apache under libfaketime) — with `spnego.restart = yes`
//! on the side(s) running our SPNEGO; 401 when the server's policy says `ntlm.incoming = deny` (and when the
//! client's says `ntlm.outgoing = deny`). The audit records are checked field by field: role, mechs offered,
//! chosen, outcome, why Kerberos was not used, the NTLM policy decision, whether the negotiation restarted.
//! Control runs without any interposer show the old 401 in the same environments.
//!
//! Needs root (Apache's workers switch to www-data) and the packages of scripts/install-deps.sh (groups http and
//! interposer); skips visibly elsewhere.

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/interposer.rs"]
mod interposer;

use http::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const RESTART: &str = "spnego.restart = yes\n";

fn setup(test: &str) -> Option<PathBuf> {
    let faketime = (
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "libfaketime",
    );
    let s = http::setup(test, false, &[faketime])?;
    assert!(
        s.ntlm,
        "{} exports no GSSAPI entry points",
        s.plugin.display()
    );
    if interposer::enabled() {
        interposer::assert_exports_interposer(&s.plugin);
    }
    Some(s.plugin)
}

/// Options for Apache: our SPNEGO (unless `GSS_TEST_INTERPOSER=off`) or MIT's, a policy, the audit file.
fn server_opts(ours: bool, policy: &str, faketime: Option<&str>) -> Options {
    Options {
        interposer_oid: (ours && interposer::enabled())
            .then(|| interposer::interposer_oid().unwrap_or_else(|e| panic!("{e}"))),
        policy: Some(policy.to_string()),
        audit: true,
        faketime: faketime.map(str::to_string),
    }
}

/// A curl client with our SPNEGO (the interposer line) or MIT's, and a policy.
fn client(tag: &str, plugin: &Path, ours: bool, policy: &str) -> Client {
    let mut conf = format!("{} {OID_NTLMSSP} {}\n", common::MECH_NAME, plugin.display());
    if ours && interposer::enabled() {
        conf.push_str(&interposer::interposer_line(plugin));
    }
    Client::new(tag, &conf, Some(policy))
}

/// Apache's audit records written since `before` records were there.
fn server_records(env: &HttpEnv, before: usize) -> Vec<Value> {
    interposer::audit_records(&env.dir.join("logs/audit.jsonl"))
        .into_iter()
        .skip(before)
        .collect()
}

fn server_record_count(env: &HttpEnv) -> usize {
    interposer::audit_records(&env.dir.join("logs/audit.jsonl")).len()
}

/// The one SPNEGO record of `role` among `records` (panics when there is none or more than one).
fn spnego_record<'a>(records: &'a [Value], role: &str, ctx: &str) -> &'a Value {
    let mine: Vec<&Value> = records
        .iter()
        .filter(|r| r["protocol"] == "spnego" && r["role"] == role)
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "{ctx}: want one SPNEGO {role} record, got {records:#?}"
    );
    mine[0]
}

/// Every SPNEGO record of `role` (at least one): a client that retries (curl after a 401, our initiator's
/// restart) makes one per negotiation.
fn spnego_records_of<'a>(records: &'a [Value], role: &str, ctx: &str) -> Vec<&'a Value> {
    let mine: Vec<&Value> = records
        .iter()
        .filter(|r| r["protocol"] == "spnego" && r["role"] == role)
        .collect();
    assert!(
        !mine.is_empty(),
        "{ctx}: no SPNEGO {role} record: {records:#?}"
    );
    mine
}

/// What a record must say; `None` fields are not checked.
struct Want<'a> {
    outcome: &'a str,
    chosen: Option<&'a str>,
    offered: Option<&'a [&'a str]>,
    kerberos_not_used: Option<Option<&'a str>>,
    ntlm_policy: Option<Option<&'a str>>,
    restarted: Option<bool>,
}

fn check(rec: &Value, want: &Want, ctx: &str) {
    assert_eq!(rec["outcome"], want.outcome, "{ctx}: {rec}");
    if let Some(c) = want.chosen {
        assert_eq!(rec["chosen"], c, "{ctx}: {rec}");
    }
    if let Some(o) = want.offered {
        // The first mechanism offered, and every one named (MIT's initiator may add other Kerberos OIDs).
        let got: Vec<&str> = rec["offered"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(got.first(), o.first(), "{ctx}: offered first: {rec}");
        assert!(
            o.iter().all(|m| got.contains(m)),
            "{ctx}: offered {got:?}, want {o:?}: {rec}"
        );
    }
    if let Some(k) = want.kerberos_not_used {
        assert_eq!(rec["kerberos_not_used"].as_str(), k, "{ctx}: {rec}");
    }
    if let Some(p) = want.ntlm_policy {
        assert_eq!(rec["ntlm_policy"].as_str(), p, "{ctx}: {rec}");
    }
    if let Some(r) = want.restarted {
        assert_eq!(rec["restarted"], r, "{ctx}: {rec}");
    }
}

fn assert_200(c: &Curl, mech: &str, ctx: &str) {
    assert_eq!(c.code, 200, "{ctx}: want 200:\n{}", c.output);
    assert_eq!(c.mech(), mech, "{ctx}: GSS_MECH\n{}", c.output);
    let user = if mech == "krb5" { KRB5_USER } else { NTLM_USER };
    assert_eq!(c.var("REMOTE_USER").as_deref(), Some(user), "{ctx}");
}

/// One request: curl's result, Apache's new records, curl's records.
fn request(env: &HttpEnv, client: &Client, host: &str) -> (Curl, Vec<Value>, Vec<Value>) {
    let before = server_record_count(env);
    let c = client.curl(env, host, "/bound/whoami");
    let server = server_records(env, before);
    let client_recs = interposer::audit_records(&client.audit);
    (c, server, client_recs)
}

/// curl leaves its initiator context unfinished (it never steps the token of the final 200 response), so its
/// record says `unconfirmed` ([`check_curl_record`]); a client that finishes writes `success`: the same request
/// with python-gssapi (through the interposer: Python loads modules without RTLD_GLOBAL, §7's misbinding case),
/// `--finish 1`. Returns its one
/// SPNEGO initiator record after checking the HTTP status.
fn initiator_record(env: &HttpEnv, client: &Client, host: &str, status: u64, ctx: &str) -> Value {
    let v = client.python_spnego(env, host, "/bound/whoami");
    let statuses = v["statuses"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        statuses.last().and_then(Value::as_u64),
        Some(status),
        "{ctx}: python-gssapi client: {v}"
    );
    let recs = interposer::audit_records(&client.audit);
    spnego_record(&recs, "initiator", &format!("{ctx} (python-gssapi)")).clone()
}

/// curl's own initiator record: curl deletes its context without stepping the token of the final 200, so our
/// initiator writes exactly one record, `unconfirmed` (its final mechanism token went out, the acceptor's final
/// answer was never processed), offering what the first `NegTokenInit` carried.
fn check_curl_record(client_recs: &[Value], want: &Want, ctx: &str) {
    let ctx = format!("{ctx} (curl's own record)");
    check(spnego_record(client_recs, "initiator", &ctx), want, &ctx);
}

const OURS_BOTH: &str = "our SPNEGO on both sides";
const OURS_CLIENT: &str = "our SPNEGO in curl only";
const OURS_SERVER: &str = "our SPNEGO in Apache only";

/// A server that rejects the ticket (`host`): 200 with NTLM after a restart; checks both audit trails.
fn rejected_ticket_gets_200(
    env: &HttpEnv,
    client: &Client,
    host: &str,
    sides: &str,
    why_server: &str,
) {
    let ctx = format!("{sides}, {why_server} ({host})");
    let (c, server, client_recs) = request(env, client, host);
    assert_200(&c, "ntlm", &ctx);
    // curl offered Kerberos first (it had a ticket) and NTLM.
    let lists = c.init_mech_lists();
    assert_eq!(
        lists.first().map(|l| l.first().map(String::as_str)),
        Some(Some(OID_KRB5)),
        "{ctx}: Kerberos first:\n{}",
        c.output
    );
    if !interposer::enabled() {
        return;
    }
    if sides != OURS_CLIENT {
        // Our acceptor moved on to NTLM instead of answering reject.
        let rec = spnego_record(&server, "acceptor", &ctx);
        check(
            rec,
            &Want {
                outcome: "success",
                chosen: Some("ntlm"),
                offered: Some(&["krb5", "ntlm"]),
                kerberos_not_used: Some(Some("server-rejected")),
                ntlm_policy: Some(Some("allow")),
                restarted: Some(true),
            },
            &ctx,
        );
        assert_eq!(rec["peer"], NTLM_USER, "{ctx}: {rec}");
        assert!(
            !c.neg_states().contains(&Some(2)),
            "{ctx}: the server answered reject: {:?}",
            c.neg_states()
        );
    } else {
        // MIT's acceptor answered reject; our initiator restarted with NTLM alone.
        assert!(
            c.neg_states().contains(&Some(2)),
            "{ctx}: MIT's acceptor should have rejected:\n{}",
            c.output
        );
        assert_eq!(
            lists.last().map(Vec::as_slice),
            Some(&[OID_NTLMSSP.to_string()][..]),
            "{ctx}: the restart offers NTLM alone:\n{}",
            c.output
        );
    }
    if sides != OURS_SERVER {
        let rec = &initiator_record(env, client, host, 200, &ctx);
        // Against our acceptor the initiator only sees that NTLM was selected instead of Kerberos; against
        // MIT's it saw the reject itself.
        let why = if sides == OURS_CLIENT {
            "server-rejected"
        } else {
            "not-selected"
        };
        check(
            rec,
            &Want {
                outcome: "success",
                chosen: Some("ntlm"),
                offered: Some(&["krb5", "ntlm"]),
                kerberos_not_used: Some(Some(why)),
                ntlm_policy: Some(Some("allow")),
                restarted: None,
            },
            &ctx,
        );
        if sides == OURS_CLIENT {
            assert_eq!(rec["restarted"], true, "{ctx}: {rec}");
        }
        // curl's own negotiation (one context across its requests, the restart included): one record.
        check_curl_record(
            &client_recs,
            &Want {
                outcome: "unconfirmed",
                chosen: Some("ntlm"),
                offered: Some(&["krb5", "ntlm"]),
                kerberos_not_used: Some(Some(why)),
                ntlm_policy: Some(Some("allow")),
                restarted: Some(sides == OURS_CLIENT),
            },
            &ctx,
        );
    } else {
        assert!(
            interposer::spnego_records(&client_recs).is_empty(),
            "{ctx}: curl with MIT's SPNEGO wrote SPNEGO records: {client_recs:#?}"
        );
    }
}

fn kerberos_first(env: &HttpEnv, client: &Client, sides: &str) {
    let ctx = format!("{sides}, ticket");
    let (c, server, client_recs) = request(env, client, &env.host);
    assert_200(&c, "krb5", &ctx);
    assert_eq!(c.sent.len(), 1, "{ctx}: one leg:\n{}", c.output);
    let lists = c.init_mech_lists();
    let first = lists.first().cloned().unwrap_or_default();
    assert_eq!(first.first().map(String::as_str), Some(OID_KRB5), "{ctx}");
    assert!(
        first.iter().any(|m| m == OID_NTLMSSP),
        "{ctx}: NTLM offered as the fallback: {first:?}"
    );
    if !interposer::enabled() {
        return;
    }
    let want = Want {
        outcome: "success",
        chosen: Some("krb5"),
        offered: Some(&["krb5", "ntlm"]),
        kerberos_not_used: Some(None),
        ntlm_policy: None,
        restarted: Some(false),
    };
    if sides != OURS_CLIENT {
        check(spnego_record(&server, "acceptor", &ctx), &want, &ctx);
    } else {
        assert!(interposer::spnego_records(&server).is_empty(), "{ctx}");
    }
    if sides != OURS_SERVER {
        let unconfirmed = Want {
            outcome: "unconfirmed",
            ..want
        };
        check_curl_record(&client_recs, &unconfirmed, &ctx);
        let rec = initiator_record(env, client, &env.host, 200, &ctx);
        check(&rec, &want, &ctx);
    }
}

fn ntlm_without_ticket(env: &HttpEnv, client: &Client, sides: &str, why: &str) {
    let ctx = format!("{sides}, {why}");
    let (c, server, client_recs) = request(env, client, &env.host);
    assert_200(&c, "ntlm", &ctx);
    assert_eq!(
        c.init_mech_lists().first().map(Vec::as_slice),
        Some(&[OID_NTLMSSP.to_string()][..]),
        "{ctx}: NTLM offered alone:\n{}",
        c.output
    );
    if !interposer::enabled() {
        return;
    }
    if sides != OURS_CLIENT {
        check(
            spnego_record(&server, "acceptor", &ctx),
            &Want {
                outcome: "success",
                chosen: Some("ntlm"),
                offered: Some(&["ntlm"]),
                kerberos_not_used: Some(Some("not-offered")),
                ntlm_policy: Some(Some("allow")),
                restarted: Some(false),
            },
            &ctx,
        );
    }
    if sides != OURS_SERVER {
        // Only NTLM went on the wire (checked above), and the records say so; `kerberos_not_used` says why.
        let want = Want {
            outcome: "success",
            chosen: Some("ntlm"),
            offered: Some(&["ntlm"]),
            kerberos_not_used: Some(Some(why)),
            ntlm_policy: Some(Some("allow")),
            restarted: Some(false),
        };
        let rec = initiator_record(env, client, &env.host, 200, &ctx);
        check(&rec, &want, &ctx);
        let offered = rec["offered"].as_array().map(Vec::len);
        assert_eq!(offered, Some(1), "{ctx}: NTLM alone offered: {rec}");
        check_curl_record(
            &client_recs,
            &Want {
                outcome: "unconfirmed",
                ..want
            },
            &ctx,
        );
    }
}

/// Our SPNEGO in Apache (restart allowed): with our curl and with MIT's curl — Kerberos first, the rejected
/// tickets (missing key, stale kvno) end in 200 with NTLM, no ticket → NTLM; then `ntlm.incoming = deny` → 401
/// for the rejected ticket and for no ticket (audited as deny); last the KDC goes down → NTLM.
#[test]
fn apache_with_our_spnego_falls_back_to_ntlm_when_kerberos_fails_and_obeys_deny() {
    let test = "apache_with_our_spnego_falls_back_to_ntlm_when_kerberos_fails_and_obeys_deny";
    let Some(plugin) = setup(test) else { return };
    let env = HttpEnv::start("ipose-server", &plugin, &server_opts(true, RESTART, None))
        .unwrap_or_else(|e| panic!("{e}"));
    let ours = client("ipose-both", &plugin, true, RESTART);
    let mit = client("mit-curl", &plugin, false, RESTART);
    for (cl, sides) in [(&ours, OURS_BOTH), (&mit, OURS_SERVER)] {
        cl.kinit(&env);
        kerberos_first(&env, cl, sides);
        rejected_ticket_gets_200(&env, cl, NOKEY_HOST, sides, "service key missing");
        rejected_ticket_gets_200(&env, cl, STALE_HOST, sides, "stale kvno");
        cl.kdestroy(&env);
        ntlm_without_ticket(&env, cl, sides, "no-ticket");
    }

    // The server's policy now refuses NTLM: the rejected ticket and the ticket-less client both get 401.
    env.set_policy("spnego.restart = yes\nntlm.incoming = deny\n");
    for (cl, sides) in [(&ours, OURS_BOTH), (&mit, OURS_SERVER)] {
        cl.kinit(&env);
        let ctx = format!("{sides}, deny, rejected ticket");
        let (c, server, _) = request(&env, cl, NOKEY_HOST);
        assert_eq!(c.code, 401, "{ctx}:\n{}", c.output);
        if interposer::enabled() {
            // The Kerberos token was rejected and NTLM may not follow; our curl's restart (NTLM alone) is
            // refused again (a second record).
            let recs = spnego_records_of(&server, "acceptor", &ctx);
            check(
                recs[0],
                &Want {
                    outcome: "failure",
                    chosen: None,
                    offered: Some(&["krb5", "ntlm"]),
                    kerberos_not_used: Some(Some("server-rejected")),
                    ntlm_policy: Some(Some("deny")),
                    restarted: Some(false),
                },
                &ctx,
            );
            for r in &recs[1..] {
                check(
                    r,
                    &Want {
                        outcome: "failure",
                        chosen: None,
                        offered: Some(&["ntlm"]),
                        kerberos_not_used: None,
                        ntlm_policy: Some(Some("deny")),
                        restarted: None,
                    },
                    &ctx,
                );
            }
        }
        cl.kdestroy(&env);
        let ctx = format!("{sides}, deny, no ticket");
        let (c, server, _) = request(&env, cl, &env.host);
        assert_eq!(c.code, 401, "{ctx}:\n{}", c.output);
        if interposer::enabled() {
            let rec = spnego_records_of(&server, "acceptor", &ctx)[0];
            check(
                rec,
                &Want {
                    outcome: "failure",
                    chosen: None,
                    offered: Some(&["ntlm"]),
                    kerberos_not_used: Some(Some("not-offered")),
                    ntlm_policy: Some(Some("deny")),
                    restarted: Some(false),
                },
                &ctx,
            );
        }
    }

    // NTLM allowed again; the KDC goes down after kinit: no service ticket, so NTLM.
    env.set_policy(RESTART);
    ours.kinit(&env);
    mit.kinit(&env);
    assert!(env.script("kdc-stop"), "kdc-stop failed");
    ntlm_without_ticket(&env, &ours, OURS_BOTH, "kdc-unreachable");
    ntlm_without_ticket(&env, &mit, OURS_SERVER, "kdc-unreachable");
}

/// Our SPNEGO in curl only (Apache with MIT's SPNEGO, which answers a rejected ticket with `reject`): our
/// initiator restarts with NTLM (client policy `spnego.restart = yes`) — 200 for the missing key and the stale
/// kvno; MIT's curl in the same environment still gets 401 (the old gap, as a control). Kerberos first, NTLM
/// without a ticket and with the KDC down, and `ntlm.outgoing = deny` on the client → 401.
#[test]
fn curl_with_our_spnego_restarts_after_mits_reject_and_obeys_outgoing_deny() {
    let test = "curl_with_our_spnego_restarts_after_mits_reject_and_obeys_outgoing_deny";
    let Some(plugin) = setup(test) else { return };
    let env = HttpEnv::start("mit-server", &plugin, &server_opts(false, RESTART, None))
        .unwrap_or_else(|e| panic!("{e}"));
    let ours = client("ipose-client", &plugin, true, RESTART);
    ours.kinit(&env);
    kerberos_first(&env, &ours, OURS_CLIENT);
    rejected_ticket_gets_200(&env, &ours, NOKEY_HOST, OURS_CLIENT, "service key missing");
    rejected_ticket_gets_200(&env, &ours, STALE_HOST, OURS_CLIENT, "stale kvno");

    // Control: curl with MIT's SPNEGO against the same server still gets 401 for the rejected ticket.
    let mit = client("mit-control", &plugin, false, RESTART);
    mit.kinit(&env);
    let (c, server, _) = request(&env, &mit, NOKEY_HOST);
    assert_eq!(
        c.code, 401,
        "control (no interposer anywhere):\n{}",
        c.output
    );
    assert_eq!(c.neg_states(), vec![Some(2)], "{}", c.output);
    assert!(interposer::spnego_records(&server).is_empty());

    // Without restart in the client's policy, our initiator stops at the reject too.
    let no_restart = client("ipose-no-restart", &plugin, true, "spnego.restart = no\n");
    no_restart.kinit(&env);
    let (c, _, recs) = request(&env, &no_restart, NOKEY_HOST);
    assert_eq!(c.code, 401, "no restart allowed:\n{}", c.output);
    if interposer::enabled() {
        let ctx = "our curl, restart not allowed";
        // curl stepped the reject (a 401 token): the initiator ended, and wrote its record.
        check(
            spnego_record(&recs, "initiator", ctx),
            &Want {
                outcome: "failure",
                chosen: None,
                offered: Some(&["krb5", "ntlm"]),
                kerberos_not_used: Some(Some("server-rejected")),
                ntlm_policy: None,
                restarted: Some(false),
            },
            ctx,
        );
    }

    ours.kdestroy(&env);
    ntlm_without_ticket(&env, &ours, OURS_CLIENT, "no-ticket");

    // The client's policy refuses NTLM: no ticket → nothing to offer → 401.
    let deny = client("ipose-deny", &plugin, true, "ntlm.outgoing = deny\n");
    let (c, _, recs) = request(&env, &deny, &env.host);
    assert_ne!(c.code, 200, "ntlm.outgoing = deny:\n{}", c.output);
    assert!(
        c.sent
            .iter()
            .all(|(_, t)| !t.windows(8).any(|w| w == b"NTLMSSP\0")),
        "an NTLM message was sent despite deny:\n{}",
        c.output
    );
    if interposer::enabled() {
        for rec in spnego_records_of(&recs, "initiator", "outgoing deny") {
            assert_eq!(rec["outcome"], "failure", "{rec}");
            assert_eq!(rec["ntlm_policy"], "deny", "{rec}");
            assert_eq!(rec["kerberos_not_used"], "no-ticket", "{rec}");
        }
    }

    // A TGT but the KDC is down: no service ticket, our curl goes on with NTLM.
    ours.kinit(&env);
    assert!(env.script("kdc-stop"), "kdc-stop failed");
    ntlm_without_ticket(&env, &ours, OURS_CLIENT, "kdc-unreachable");
}

/// Apache's clock two hours ahead (libfaketime): Kerberos fails at the server with "clock skew too great".
/// With our SPNEGO on both sides, on the server alone, and on the client alone (against an equally skewed Apache
/// with MIT's SPNEGO), the client still gets 200 with NTLM; MIT on both sides gets 401 (control).
#[test]
fn skewed_server_clock_gets_200_with_ntlm_through_our_spnego() {
    let test = "skewed_server_clock_gets_200_with_ntlm_through_our_spnego";
    let Some(plugin) = setup(test) else { return };
    let ours_server = HttpEnv::start(
        "ipose-skew",
        &plugin,
        &server_opts(true, RESTART, Some("+2h")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ours = client("skew-ours", &plugin, true, RESTART);
    let mit = client("skew-mit", &plugin, false, RESTART);
    for (cl, sides) in [(&ours, OURS_BOTH), (&mit, OURS_SERVER)] {
        cl.kinit(&ours_server);
        let host = ours_server.host.clone();
        rejected_ticket_gets_200(&ours_server, cl, &host, sides, "server clock +2h");
    }
    drop(ours_server);

    let mit_server = HttpEnv::start(
        "mit-skew",
        &plugin,
        &server_opts(false, RESTART, Some("+2h")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ours.kinit(&mit_server);
    mit.kinit(&mit_server);
    let host = mit_server.host.clone();
    rejected_ticket_gets_200(&mit_server, &ours, &host, OURS_CLIENT, "server clock +2h");
    let (c, _, _) = request(&mit_server, &mit, &host);
    assert_eq!(c.code, 401, "control (MIT on both sides):\n{}", c.output);
    assert!(
        mit_server.log("error.log").contains("Clock skew too great"),
        "the server should have refused the ticket for clock skew:\n{}",
        mit_server.log("error.log")
    );
}
