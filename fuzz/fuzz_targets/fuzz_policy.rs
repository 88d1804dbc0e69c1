//! The policy file parser (`gss_negotiate::policy`, docs/policy.md): arbitrary text must give a policy or an
//! error naming a line inside the text, and a parsed policy answers every question without panicking.
#![no_main]

use gss_negotiate::policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::parse(text) {
        Ok(p) => {
            for probe in text.split_whitespace().take(8) {
                let _ = p.outgoing_ntlm(Some(probe));
                let _ = p.incoming_ntlm(Some(probe), probe.parse().ok());
            }
            let _ = p.incoming_ntlm_possible(None);
        }
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(e.line.is_some_and(|l| l >= 1 && l <= lines), "{e}");
        }
    }
});
