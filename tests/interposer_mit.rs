//! The SPNEGO interposer with MIT's sample programs and NTLM (user file): `gss-client -spnego` / `gss-server`
//! in separate processes, each with its own `GSS_MECH_CONFIG` — ours (plugin line + the interposer line of
//! `mech.d/gss-negotiate-spnego.conf`) or MIT's SPNEGO (plugin line only) — and its own `GSS_NEGOTIATE_AUDIT`
//! file. The audit file proves which engine negotiated: our SPNEGO writes one `"protocol":"spnego"` line per
//! negotiation (and the NTLM context inside it none of its own); MIT's SPNEGO writes none.

mod common;
mod interposer_common;

use common::{hostname, plugin, samples, skip, GssEnv, Plugin};
use interposer_common::*;

const NTLM: &str = "ntlm";

fn setup(test: &str) -> Option<(GssEnv, common::Samples)> {
    let so = match plugin() {
        Plugin::Found { path, .. } => path,
        Plugin::NoEntryPoints(p) => panic!("{} exports no gss_* entry points", p.display()),
        Plugin::Missing(why) => {
            skip(test, &why);
            return None;
        }
    };
    let s = samples(test)?;
    Some((GssEnv::new(test, &so).expect("temp env"), s))
}

fn target() -> String {
    format!("host@{}", hostname())
}

#[test]
fn ntlm_through_the_interposer_plain_export_verbose_and_counts() {
    let Some((env, s)) = setup("ntlm_through_the_interposer_plain_export_verbose_and_counts")
    else {
        return;
    };
    // Plain: one context, one message.
    let (srv, cli) = (
        Side::new(&env, Spnego::Ours, "srv1"),
        Side::new(&env, Spnego::Ours, "cli1"),
    );
    let (out, log) = exchange(&env, &s, &srv, &cli, &["-once"], &[], "host", &target(), 1);
    assert!(out.success(), "client:\n{}\nserver:\n{log}", out.output);
    assert!(out.output.contains("Signature verified"), "{}", out.output);
    assert!(
        log.contains("Accepted connection: \"TESTDOM\\testuser\""),
        "{log}"
    );
    assert_negotiated(&srv.spnego_records(), 1, "acceptor", NTLM, "plain, server");
    assert_negotiated(&cli.spnego_records(), 1, "initiator", NTLM, "plain, client");
    // Only our SPNEGO wrote: the NTLM context inside it wrote no record of its own.
    assert_eq!(srv.records().len(), 1, "{:#?}", srv.records());
    assert_eq!(cli.records().len(), 1, "{:#?}", cli.records());

    // Verbose both sides, -export (three export/import rounds per context), -ccount 2 -mcount 3.
    let (srv, cli) = (
        Side::new(&env, Spnego::Ours, "srv2"),
        Side::new(&env, Spnego::Ours, "cli2"),
    );
    let (out, log) = exchange(
        &env,
        &s,
        &srv,
        &cli,
        &["-export", "-verbose"],
        &["-ccount", "2", "-mcount", "3"],
        "host",
        &target(),
        2,
    );
    assert_exchange_ok("", &out, &log, 6);
    // gss-client's verbose mode inquires the context and the negotiated mechanism's name types.
    assert!(
        out.output.contains("\"TESTDOM\\testuser\" to \"host/"),
        "{}",
        out.output
    );
    assert!(
        out.output
            .contains("Mechanism { 1 3 6 1 4 1 311 2 2 10 } supports"),
        "{}",
        out.output
    );
    assert_eq!(
        common::count_lines(
            &log,
            "Accepted connection using mechanism OID { 1 3 6 1 4 1 311 2 2 10 }"
        ),
        2,
        "{log}"
    );
    assert_eq!(common::count_lines(&log, "Exported context"), 6, "{log}");
    assert_eq!(
        common::count_lines(&log, "Received message: \"hello\""),
        6,
        "{log}"
    );
    assert_negotiated(&srv.spnego_records(), 2, "acceptor", NTLM, "export, server");
    assert_negotiated(
        &cli.spnego_records(),
        2,
        "initiator",
        NTLM,
        "export, client",
    );
}

#[test]
fn without_the_interposer_line_mit_spnego_negotiates_and_writes_no_spnego_record() {
    let test = "without_the_interposer_line_mit_spnego_negotiates_and_writes_no_spnego_record";
    let Some((env, s)) = setup(test) else { return };
    let (srv, cli) = (
        Side::new(&env, Spnego::Mit, "srv"),
        Side::new(&env, Spnego::Mit, "cli"),
    );
    let (out, log) = exchange(&env, &s, &srv, &cli, &["-once"], &[], "host", &target(), 1);
    assert!(out.success(), "client:\n{}\nserver:\n{log}", out.output);
    assert!(out.output.contains("Signature verified"), "{}", out.output);
    assert!(srv.spnego_records().is_empty(), "{:#?}", srv.records());
    assert!(cli.spnego_records().is_empty(), "{:#?}", cli.records());
    // Our NTLM mechanism under MIT's SPNEGO still audits raw NTLM (GSS_NEGOTIATE_AUDIT is set).
    assert!(
        srv.records().iter().all(|r| r["protocol"] == "ntlm"),
        "{:#?}",
        srv.records()
    );
}

#[test]
fn ntlm_between_our_spnego_and_mit_spnego_both_directions() {
    let test = "ntlm_between_our_spnego_and_mit_spnego_both_directions";
    let Some((env, s)) = setup(test) else { return };
    for (server, client, tag) in [
        (Spnego::Ours, Spnego::Mit, "a"),
        (Spnego::Mit, Spnego::Ours, "b"),
    ] {
        let srv = Side::new(&env, server, &format!("srv-{tag}"));
        let cli = Side::new(&env, client, &format!("cli-{tag}"));
        let (out, log) = exchange(
            &env,
            &s,
            &srv,
            &cli,
            &["-export"],
            &["-ccount", "2", "-mcount", "3"],
            "host",
            &target(),
            2,
        );
        let ctx = format!("server {server:?}, client {client:?}");
        assert_ours_against_mit(&ctx, &out, &log, server, &srv, &cli, 6, 2, NTLM);
        assert_eq!(
            common::count_lines(&log, "Received message: \"hello\""),
            6,
            "{ctx}: {log}"
        );
    }
}

#[test]
fn a_wrong_password_fails_through_the_interposer_with_an_audit_record() {
    let test = "a_wrong_password_fails_through_the_interposer_with_an_audit_record";
    let Some((env, s)) = setup(test) else { return };
    let (srv, cli) = (
        Side::new(&env, Spnego::Ours, "srv"),
        Side::new(&env, Spnego::Ours, "cli"),
    );
    let (out, log) = exchange(
        &env,
        &s,
        &srv,
        &cli,
        &["-once"],
        &["-user", "TESTDOM\\testuser", "-pass", "wrong"],
        "host",
        &target(),
        0,
    );
    assert!(
        !out.success(),
        "a wrong password must fail:\n{}",
        out.output
    );
    assert!(!log.contains("Accepted connection: \""), "{log}");
    let recs = srv.spnego_records();
    assert_eq!(recs.len(), 1, "{:#?}", srv.records());
    assert_eq!(recs[0]["outcome"], "failure", "{}", recs[0]);
    assert_eq!(srv.records().len(), 1, "{:#?}", srv.records());
}

#[test]
fn install_spnego_stages_the_interposer_line_check_reports_it_and_uninstall_removes_it() {
    let test =
        "install_spnego_stages_the_interposer_line_check_reports_it_and_uninstall_removes_it";
    let Some((env, _)) = setup(test) else { return };
    let dest = env.dir.path().join("root");
    let run = |script: &str, args: &[&str]| {
        let out = std::process::Command::new(repo(&format!("scripts/{script}")))
            .args(args)
            .env("DESTDIR", &dest)
            .env("CARGO_TARGET_DIR", env.dir.path().join("no-target"))
            .output()
            .expect("script runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{script} {args:?}:\n{text}");
        text
    };
    let so = env.plugin.display().to_string();
    run(
        "install.sh",
        &[
            "--so",
            &so,
            "--libdir",
            "/usr/lib/x86_64-linux-gnu",
            "--spnego",
        ],
    );
    let conf = dest.join("etc/gss/mech.d/gss-negotiate-spnego.conf");
    let text = std::fs::read_to_string(&conf).expect("interposer conf installed");
    let line = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .expect("a line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        fields,
        [
            "spnego_gss_negotiate",
            interposer_oid().as_str(),
            "/usr/lib/x86_64-linux-gnu/gss-negotiate/libgss_negotiate.so",
            "<interposer>"
        ],
        "{text}"
    );
    // Every arc of the OID fits MIT's 64-bit parser.
    assert!(interposer_oid()
        .split('.')
        .all(|a| a.parse::<u64>().is_ok()));

    // gss-negotiate check names the SPNEGO in force.
    let check = |conf: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gss-negotiate"))
            .arg("check")
            .env("GSS_MECH_CONFIG", conf)
            .output()
            .expect("check runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ours = check(&mech_conf(&env, Spnego::Ours));
    assert!(
        ours.contains("SPNEGO is gss-negotiate's (interposer"),
        "{ours}"
    );
    let mit = check(&mech_conf(&env, Spnego::Mit));
    assert!(mit.contains("SPNEGO is MIT's built-in one"), "{mit}");

    run(
        "uninstall.sh",
        &["--libdir", "/usr/lib/x86_64-linux-gnu", "--spnego"],
    );
    assert!(!conf.exists(), "the interposer line is removed");
    assert!(
        dest.join("etc/gss/mech.d/zz-gss-negotiate.conf").exists(),
        "NTLM stays"
    );
}
