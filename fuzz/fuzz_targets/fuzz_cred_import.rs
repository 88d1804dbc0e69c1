//! Fuzzes the exported credential parser behind `gss_import_cred` (`Credential::import`): no panic, and anything
//! accepted re-exports to the same bytes (the format is canonical; trailing bytes are refused).
#![no_main]

use gss_negotiate::creds::Credential;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cred) = Credential::import(data) {
        assert_eq!(
            cred.export().as_slice(),
            data,
            "import accepted a non-canonical token"
        );
        let _ = cred.usage();
        let _ = cred.name().map(|n| n.display());
    }
});
