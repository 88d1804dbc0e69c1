//! Fuzzes `gss-negotiate decode`'s dispatcher and views (src/bin/gss-negotiate: GSS framing, SPNEGO, NTLM,
//! Kerberos AP-REQ/AP-REP header) and its text rendering: no panic, and an error's offset stays inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/bin/gss-negotiate/decode.rs"]
mod decode;
#[path = "../../src/bin/gss-negotiate/krb5_view.rs"]
mod krb5_view;
#[path = "../../src/bin/gss-negotiate/ntlm_view.rs"]
mod ntlm_view;
#[path = "../../src/bin/gss-negotiate/render.rs"]
mod render;

fuzz_target!(|data: &[u8]| {
    match decode::token_value(data, 0) {
        Ok(tree) => {
            let mut out = String::new();
            render::text(&tree, 0, &mut out);
        }
        Err(e) => assert!(
            e.offset <= data.len(),
            "offset {} past {}",
            e.offset,
            data.len()
        ),
    }
});
