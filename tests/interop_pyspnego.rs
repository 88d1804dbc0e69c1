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
