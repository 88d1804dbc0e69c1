//! MIT's sample programs (`gss-client` / `gss-server`, Debian package `krb5-gss-samples`) with gss-ntlmssp on one
//! side and gss-negotiate on the other, each process with its own `GSS_MECH_CONFIG` — the way users swap one side of
//! a connection at a time. `gss-client` requests no `GSS_C_CONF_FLAG` (only MUTUAL | REPLAY, plus what SPNEGO adds),
//! so gss-ntlmssp's NEGOTIATE carries no SEAL; gss-ntlmssp nevertheless seals every wrap token (issue 10, defect 1).
//! Both directions, raw NTLMSSP and SPNEGO, plain, `-nx` (wrap without confidentiality), `-export` on the server and
//! `-ccount 2 -mcount 3`. Rows go to `interop-results.jsonl` (feature `samples_*`).
//!
//! gss-client runs with `-q` when gss-ntlmssp is the client: in verbose mode it calls `gss_inquire_names_for_mech`,
//! which gss-ntlmssp 1.2.0 lacks (ARCHITECTURE.md §3) — that step is not what this test is about.

mod common;

use std::path::{Path, PathBuf};

use common::matrix::{our_plugin, skip_peer, GSSNTLMSSP_SO};
use common::peers::{deb_version, record, Row};
use common::*;

const PEER: &str = "gss-ntlmssp";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    OursServes,
    OursInitiates,
}

struct Variant {
    name: &'static str,
    client: &'static [&'static str],
    server: &'static [&'static str],
    ccount: usize,
    mcount: usize,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "samples_default",
        client: &[],
        server: &[],
        ccount: 1,
        mcount: 1,
    },
    Variant {
        name: "samples_nx",
        client: &["-nx"],
        server: &[],
        ccount: 1,
        mcount: 1,
    },
    Variant {
        name: "samples_export",
        client: &[],
        server: &["-export"],
        ccount: 1,
        mcount: 1,
    },
    Variant {
        name: "samples_ccount2_mcount3",
        client: &[],
        server: &[],
        ccount: 2,
        mcount: 3,
    },
];

/// One run; `Ok(())` or the reason with both logs.
fn run_one(
    test: &str,
    samples: &Samples,
    ours: &Path,
    who: Who,
    spnego: bool,
    v: &Variant,
) -> Result<(), String> {
    let theirs = PathBuf::from(GSSNTLMSSP_SO);
    let (srv_plugin, cli_plugin) = match who {
        Who::OursServes => (ours, theirs.as_path()),
        Who::OursInitiates => (theirs.as_path(), ours),
    };
    let tag = format!(
        "{test}-{}-{}",
        v.name,
        if spnego { "spnego" } else { "raw" }
    );
    let senv = GssEnv::new(&format!("{tag}-srv"), srv_plugin).map_err(|e| e.to_string())?;
    let cenv = GssEnv::new(&format!("{tag}-cli"), cli_plugin).map_err(|e| e.to_string())?;
    let mut sargs: Vec<&str> = vec!["-verbose"];
    if v.ccount == 1 {
        sargs.push("-once");
    }
    sargs.extend(v.server);
    let server = Server::start(&senv, samples, &sargs)?;
    let mut args: Vec<String> = Vec::new();
    if who == Who::OursServes && !quiet() {
        args.push("-q".into());
    }
    if spnego {
        args.push("-spnego".into());
    }
    args.extend(["-mech".into(), NTLMSSP_OID_BRACES.into()]);
    args.extend([
        "-user".into(),
        format!("{TEST_DOMAIN}\\{TEST_USER}"),
        "-pass".into(),
        TEST_PASSWORD.into(),
    ]);
    if v.ccount != 1 {
        args.extend(["-ccount".into(), v.ccount.to_string()]);
    }
    if v.mcount != 1 {
        args.extend(["-mcount".into(), v.mcount.to_string()]);
    }
    args.extend(v.client.iter().map(|s| s.to_string()));
    let msg = "hello across implementations";
    let client = run_client(&cenv, samples, server.port, &args, &target_service(), msg);
    let server = if v.ccount == 1 {
        server.finish(SERVER_FINISH_TIMEOUT)
    } else {
        let n = if client.success() {
            v.ccount
        } else {
            usize::MAX
        };
        server.stop_after("NOOP token", n, SERVER_FINISH_TIMEOUT)
    };
    let logs = || {
        format!(
            "--- gss-client ({:?}, timed out {}):\n{}\n--- gss-server ({:?}, timed out {}):\n{}",
            client.status,
            client.timed_out,
            client.output,
            server.status,
            server.timed_out,
            server.output
        )
    };
    let received = count_lines(&server.output, &format!("Received message: \"{msg}\""));
    let verified = count_lines(&client.output, "Signature verified.");
    if !client.success() {
        return Err(format!("gss-client failed\n{}", logs()));
    }
    if server.output.contains("GSS-API error") || client.output.contains("GSS-API error") {
        return Err(format!("a GSS-API error was reported\n{}", logs()));
    }
    if received != v.ccount * v.mcount {
        return Err(format!(
            "server received {received} of {} messages\n{}",
            v.ccount * v.mcount,
            logs()
        ));
    }
    if !quiet() && who == Who::OursInitiates && verified != v.ccount * v.mcount {
        return Err(format!(
            "client verified {verified} of {} MICs\n{}",
            v.ccount * v.mcount,
            logs()
        ));
    }
    Ok(())
}

fn run_direction(test: &str, who: Who) {
    if !Path::new(GSSNTLMSSP_SO).is_file() {
        skip_peer(
            test,
            PEER,
            &format!("{GSSNTLMSSP_SO} missing (Debian package gss-ntlmssp)"),
        );
        return;
    }
    let Some(samples) = samples(test) else {
        return;
    };
    let Some(ours) = our_plugin(test, PEER) else {
        return;
    };
    let version = deb_version("gss-ntlmssp").unwrap_or_else(|| "?".into());
    let direction = match who {
        Who::OursServes => "peer->ours",
        Who::OursInitiates => "ours->peer",
    };
    let mut failures = Vec::new();
    for spnego in [false, true] {
        for v in VARIANTS {
            let res = run_one(test, &samples, &ours, who, spnego, v);
            let mode = if spnego { "spnego" } else { "raw" };
            let detail = res.as_ref().err().cloned().unwrap_or_default();
            record(&Row {
                peer: PEER,
                version: &version,
                direction,
                mode,
                feature: v.name,
                outcome: if res.is_ok() { "pass" } else { "fail" },
                detail: &detail,
            });
            if let Err(e) = res {
                failures.push(format!("{mode} {}: {e}", v.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// gss-ntlmssp's gss-client → our gss-server (defect 1 of issue 10: every gss_unwrap failed).
#[test]
fn gssntlmssp_client_to_our_gss_server() {
    run_direction("gssntlmssp_client_to_our_gss_server", Who::OursServes);
}

/// Our gss-client → gss-ntlmssp's gss-server.
#[test]
fn our_gss_client_to_gssntlmssp_gss_server() {
    run_direction(
        "our_gss_client_to_gssntlmssp_gss_server",
        Who::OursInitiates,
    );
}
