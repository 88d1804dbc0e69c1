//! Interop with gss-ntlmssp 1.2.0 (Debian package `gss-ntlmssp`): two processes, each with its own
//! `GSS_MECH_CONFIG`, one loading our plugin and the other gss-ntlmssp, talking through python-gssapi over MIT's
//! mechglue (tests/interop/peer.py). Both directions, raw NTLMSSP and SPNEGO (MIT's SPNEGO with only NTLM in it),
//! plus NTLMv1 at `LM_COMPAT_LEVEL` 2 and its refusal by our acceptor at the default level.
//! Results go to `<target>/interop-results.jsonl` (scripts/interop-report.py makes INTEROP.md of them).

mod common;

use std::path::Path;

use common::matrix::{
    our_plugin, skip_peer, Judged, Ours, Pairing, FLAG_SETS, GSSNTLMSSP_DEFECTS, GSSNTLMSSP_SO,
};
use common::peers::{deb_version, python_module_version, run_pair, session, Side};

const PEER: &str = "gss-ntlmssp";

/// Our plugin and gss-ntlmssp's version, or None after a visible SKIP.
fn setup(test: &str) -> Option<(std::path::PathBuf, String)> {
    if !Path::new(GSSNTLMSSP_SO).is_file() {
        skip_peer(test, PEER, &format!("{GSSNTLMSSP_SO} missing (Debian package gss-ntlmssp; scripts/install-deps.sh --group interop)"));
        return None;
    }
    if let Err(e) = python_module_version("gssapi", "gssapi") {
        skip_peer(test, PEER, &format!("{e} (Debian package python3-gssapi)"));
        return None;
    }
    let ours = our_plugin(test, PEER)?;
    Some((
        ours,
        deb_version("gss-ntlmssp").unwrap_or_else(|| "?".into()),
    ))
}

fn pairing<'a>(ours: Ours, mode: &'a str, plugin: &Path, version: &'a str) -> Pairing<'a> {
    Pairing {
        peer: PEER,
        version,
        ours,
        mode,
        our_side: Side::gssapi(plugin),
        peer_side: Side::gssapi(Path::new(GSSNTLMSSP_SO)),
        defects: GSSNTLMSSP_DEFECTS,
        peer_exports: true,
        with_cb: true,
        flag_sets: FLAG_SETS,
    }
}

fn run_matrix(test: &str, ours: Ours, mode: &str) {
    let Some((plugin, version)) = setup(test) else {
        return;
    };
    let failures = pairing(ours, mode, &plugin, &version).run(test);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ours_initiates_to_gssntlmssp_raw() {
    run_matrix("ours_initiates_to_gssntlmssp_raw", Ours::Initiator, "raw");
}

#[test]
fn gssntlmssp_initiates_to_ours_raw() {
    run_matrix("gssntlmssp_initiates_to_ours_raw", Ours::Acceptor, "raw");
}

#[test]
fn ours_initiates_to_gssntlmssp_spnego() {
    run_matrix(
        "ours_initiates_to_gssntlmssp_spnego",
        Ours::Initiator,
        "spnego",
    );
}

#[test]
fn gssntlmssp_initiates_to_ours_spnego() {
    run_matrix(
        "gssntlmssp_initiates_to_ours_spnego",
        Ours::Acceptor,
        "spnego",
    );
}

/// NTLMv1 (MS-NLMP §3.3.1) with both ends at LM_COMPAT_LEVEL 2, in both directions; and a gss-ntlmssp initiator at
/// level 2 refused by our acceptor at the default level 3.
#[test]
fn ntlmv1_at_level_2_both_directions_and_refused_at_default_level() {
    let test = "ntlmv1_at_level_2_both_directions_and_refused_at_default_level";
    let Some((plugin, version)) = setup(test) else {
        return;
    };
    let mut failures = Vec::new();
    let ops = ["name_and_key", "mic", "one_wrap"];
    for ours in [Ours::Initiator, Ours::Acceptor] {
        let mut p = pairing(ours, "raw", &plugin, &version);
        p.our_side = p.our_side.clone().with_env("LM_COMPAT_LEVEL", "2");
        p.peer_side = p.peer_side.clone().with_env("LM_COMPAT_LEVEL", "2");
        let (server, client) = match ours {
            Ours::Initiator => (&p.peer_side, &p.our_side),
            Ours::Acceptor => (&p.our_side, &p.peer_side),
        };
        let rows = match run_pair(
            &format!("{test}-{ours:?}"),
            server,
            client,
            "raw",
            &[session("ntlmv1", &ops)],
        ) {
            Ok(run) => [
                "handshake",
                "acceptor_name",
                "session_key",
                "mic_c2s",
                "mic_s2c",
                "traffic",
            ]
            .iter()
            .map(|f| {
                let (ok, detail) = run
                    .get("ntlmv1", f)
                    .map(|r| (r.ok, r.detail.clone()))
                    .unwrap_or((false, "not run".into()));
                let outcome = if ok {
                    "pass"
                } else if p
                    .defects
                    .iter()
                    .any(|d| f.starts_with(d.feature_prefix) && detail.contains(d.needle))
                {
                    "peer-defect"
                } else {
                    "fail"
                };
                Judged {
                    feature: format!("ntlmv1_{f}"),
                    outcome,
                    detail,
                }
            })
            .collect(),
            Err(e) => vec![Judged {
                feature: "ntlmv1_harness".into(),
                outcome: "fail",
                detail: e,
            }],
        };
        failures.extend(p.emit(rows));
    }
    // gss-ntlmssp sends NTLMv1 at level 2; our acceptor at the default level must refuse it.
    let p = pairing(Ours::Acceptor, "raw", &plugin, &version);
    let client = p.peer_side.clone().with_env("LM_COMPAT_LEVEL", "2");
    let row = match run_pair(
        &format!("{test}-refuse"),
        &p.our_side,
        &client,
        "raw",
        &[session("v1", &[])],
    ) {
        Ok(run) => match run.get("v1", "handshake") {
            Some(h) if !h.ok && h.detail.starts_with("acceptor:") => Judged {
                feature: "ntlmv1_refused_at_level_3".into(),
                outcome: "pass",
                detail: h.detail.clone(),
            },
            Some(h) => Judged {
                feature: "ntlmv1_refused_at_level_3".into(),
                outcome: "fail",
                detail: format!("ok={} {}", h.ok, h.detail),
            },
            None => Judged {
                feature: "ntlmv1_refused_at_level_3".into(),
                outcome: "fail",
                detail: "not run".into(),
            },
        },
        Err(e) => Judged {
            feature: "ntlmv1_refused_at_level_3".into(),
            outcome: "fail",
            detail: e,
        },
    };
    failures.extend(p.emit(vec![row]));
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
