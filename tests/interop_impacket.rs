//! Interop with impacket's NTLM (PyPI `impacket`): its own NEGOTIATE/AUTHENTICATE encoders
//! (`getNTLMSSPType1`/`getNTLMSSPType3`: other flags, version and AV-pair order than ours) and its SIGN/SEAL helpers,
//! as a raw NTLMSSP initiator against our plugin as acceptor (python-gssapi over MIT's mechglue). impacket has no
//! acceptor, no SPNEGO initiator of this kind, no channel bindings input and no context export.

mod common;

use common::matrix::{our_plugin, skip_peer, Ours, Pairing, FLAG_SETS};
use common::peers::{python_module_version, Side};

const PEER: &str = "impacket";

#[test]
fn impacket_initiates_to_ours_raw() {
    let test = "impacket_initiates_to_ours_raw";
    let version = match python_module_version("impacket", "impacket") {
        Ok(v) => v,
        Err(e) => {
            skip_peer(
                test,
                PEER,
                &format!("{e} (PyPI impacket; scripts/install-deps.sh --group interop)"),
            );
            return;
        }
    };
    let Some(plugin) = our_plugin(test, PEER) else {
        return;
    };
    let p = Pairing {
        peer: PEER,
        version: &version,
        ours: Ours::Acceptor,
        mode: "raw",
        our_side: Side::gssapi(&plugin),
        peer_side: Side::python_impl("impacket"),
        defects: &[],
        peer_exports: false,
        with_cb: false,
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
