//! Fuzzes the exported-context parser behind `gss_import_sec_context` (`Established::import`, the layout of
//! `Established::export` around the MS-NLMP §3.4 session security state): no panic, anything accepted
//! re-exports to the same bytes, and the imported state can sign, verify, seal and unseal without panicking.
#![no_main]

use gss_negotiate::ntlm::context::Established;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut ctx) = Established::import(data) {
        assert_eq!(
            ctx.export().as_slice(),
            data,
            "import accepted a non-canonical blob"
        );
        let mut msg = data.get(..64).unwrap_or(data).to_vec();
        let sig = ctx.security.sign(&msg);
        let _ = ctx.security.verify(&msg, &sig);
        let sig = ctx.security.seal_in_place(&mut msg);
        let _ = ctx.security.unseal_in_place(&mut msg, &sig);
        ctx.security.reset_rc4(true);
        ctx.security.reset_rc4(false);
    }
});
