//! Interop with pyspnego 0.12 (PyPI), forced onto its own pure-Python NTLM (`protocol='ntlm'`,
//! `NegotiateOptions.use_ntlm`) and its own SPNEGO (`use_negotiate | use_ntlm`), so it never calls the system
//! GSSAPI; our side is python-gssapi over MIT's mechglue with only our plugin configured. Both directions, both
//! modes. pyspnego's acceptor reads `NTLM_USER_FILE` like ours. It has no context export (rows say n/a).

mod common;

use common::matrix::{our_plugin, skip_peer, Ours, Pairing, FLAG_SETS, PYSPNEGO_DEFECTS};
use common::peers::{python_module_version, Side};

const PEER: &str = "pyspnego";

fn run_matrix(test: &str, ours: Ours, mode: &str) {
    let version = match python_module_version("spnego", "pyspnego") {
        Ok(v) => v,
        Err(e) => {
            skip_peer(
                test,
                PEER,
                &format!("{e} (PyPI pyspnego; scripts/install-deps.sh --group interop)"),
            );
            return;
        }
    };
    if let Err(e) = python_module_version("gssapi", "gssapi") {
        skip_peer(test, PEER, &format!("{e} (Debian package python3-gssapi)"));
        return;
    }
    let Some(plugin) = our_plugin(test, PEER) else {
        return;
    };
    let p = Pairing {
        peer: PEER,
        version: &version,
        ours,
        mode,
        our_side: Side::gssapi(&plugin),
        peer_side: Side::python_impl("pyspnego"),
        defects: PYSPNEGO_DEFECTS,
        peer_exports: false,
        with_cb: true,
        flag_sets: FLAG_SETS,
    };
    let failures = p.run(test);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ours_initiates_to_pyspnego_raw() {
    run_matrix("ours_initiates_to_pyspnego_raw", Ours::Initiator, "raw");
}

#[test]
fn pyspnego_initiates_to_ours_raw() {
    run_matrix("pyspnego_initiates_to_ours_raw", Ours::Acceptor, "raw");
}

#[test]
fn ours_initiates_to_pyspnego_spnego() {
    run_matrix(
        "ours_initiates_to_pyspnego_spnego",
        Ours::Initiator,
        "spnego",
    );
}

#[test]
fn pyspnego_initiates_to_ours_spnego() {
    run_matrix(
        "pyspnego_initiates_to_ours_spnego",
        Ours::Acceptor,
        "spnego",
    );
}

/// Issue 10, defect 5: NTLMv1 without extended session security (LM_COMPAT_LEVEL 0 on both sides, so pyspnego asks
/// for LM_KEY and no ESS), both directions, raw and SPNEGO, with the flag sets that negotiate signing or sealing;
/// and our acceptor with an account that has only an NT hash (smbpasswd line without LM hash). MS-NLMP §3.4.5.1 /
/// §4.2.2.1.3 (`tests/vectors_4_2.rs` `ntlmv1_4_2_2_1_3_key_exchange_key_variants`): the LM_KEY KeyExchangeKey is
/// DES over LMOWF — an end without an LM hash cannot compute it and must not negotiate LM_KEY.
#[test]
fn ntlmv1_without_ess_at_level_0_both_directions() {
    use common::matrix::{flag_sessions, Judged};
    use common::peers::{run_pair, target_dir};
    let test = "ntlmv1_without_ess_at_level_0_both_directions";
    let Ok(version) = python_module_version("spnego", "pyspnego") else {
        skip_peer(
            test,
            PEER,
            "pyspnego not installed (scripts/install-deps.sh --group interop)",
        );
        return;
    };
    let Some(plugin) = our_plugin(test, PEER) else {
        return;
    };
    // An smbpasswd-style line with no LM hash (XXXX...) and the NT hash of the test password.
    let nt_only = target_dir().join(format!("{test}-nt-only-users"));
    std::fs::write(
        &nt_only,
        format!(
            "{}\\{}:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:fc525c9683e8fe067095ba2ddc971889:[U          ]:LCT-00000000:\n",
            common::TEST_DOMAIN,
            common::TEST_USER
        ),
    )
    .expect("user file");
    let sets = ["integ", "conf_integ", "mutual_replay"];
    let mut failures = Vec::new();
    for (ours, mode, nt_hash_only) in [
        (Ours::Initiator, "raw", false),
        (Ours::Initiator, "spnego", false),
        (Ours::Acceptor, "raw", false),
        (Ours::Acceptor, "spnego", false),
        (Ours::Acceptor, "raw", true),
    ] {
        let mut our_side = Side::gssapi(&plugin).with_env("LM_COMPAT_LEVEL", "0");
        if nt_hash_only {
            our_side = our_side.with_env("NTLM_USER_FILE", &nt_only.display().to_string());
        }
        let p = Pairing {
            peer: PEER,
            version: &version,
            ours,
            mode,
            our_side,
            peer_side: Side::python_impl("pyspnego").with_env("LM_COMPAT_LEVEL", "0"),
            defects: PYSPNEGO_DEFECTS,
            peer_exports: false,
            with_cb: false,
            flag_sets: &[],
        };
        let (server, client) = match ours {
            Ours::Initiator => (&p.peer_side, &p.our_side),
            Ours::Acceptor => (&p.our_side, &p.peer_side),
        };
        let mut sessions = flag_sessions(&sets);
        for s in &mut sessions {
            s["ops"] = serde_json::json!(["name_and_key", "flags_traffic"]);
        }
        let suffix = if nt_hash_only { "_nt_hash_only" } else { "" };
        let rows = match run_pair(
            &format!("{test}-{ours:?}-{mode}{suffix}"),
            server,
            client,
            mode,
            &sessions,
        ) {
            Ok(run) => {
                let mut rows = Vec::new();
                for set in sets {
                    let name = format!("flags_{set}");
                    for f in [
                        "handshake",
                        "session_key",
                        "traffic",
                        "midstream_c2s",
                        "midstream_s2c",
                    ] {
                        let (ok, detail) = run
                            .get(&name, f)
                            .map(|r| (r.ok, r.detail.clone()))
                            .unwrap_or((false, "not run".into()));
                        rows.push(Judged {
                            feature: format!("ntlmv1_level0_{set}_{f}{suffix}"),
                            outcome: if ok { "pass" } else { "fail" },
                            detail,
                        });
                    }
                }
                rows
            }
            Err(e) => vec![Judged {
                feature: format!("ntlmv1_level0_harness{suffix}"),
                outcome: "fail",
                detail: e,
            }],
        };
        failures.extend(p.emit(rows));
    }
    let _ = std::fs::remove_file(&nt_only);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
