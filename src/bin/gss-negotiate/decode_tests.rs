//! In-process robustness tests of `decode` over the whole token set: every prefix and every single-bit flip
//! of every token decodes or fails with an offset inside the input — never a panic.

use crate::decode::token_value;
use std::path::PathBuf;

fn tokens() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokens");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tokens dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("token")))
        .collect();
    out.sort();
    out
}

#[test]
fn every_truncated_token_fails_with_an_offset_inside_it() {
    let all = tokens();
    assert_eq!(all.len(), 28);
    for (file, raw) in &all {
        let der = !raw.starts_with(b"NTLMSSP\0");
        for cut in 0..raw.len() {
            let part = &raw[..cut];
            match token_value(part, 0) {
                Err(e) => assert!(
                    e.offset <= cut,
                    "{file}[..{cut}]: offset {} past the end",
                    e.offset
                ),
                // DER lengths make every strict prefix of a GSS/SPNEGO token invalid; an NTLM message has no
                // overall length, so a cut in trailing padding can still decode.
                Ok(_) => assert!(!der, "{file}[..{cut}] decoded although truncated"),
            }
        }
    }
}

#[test]
fn bit_flipped_tokens_never_panic_and_errors_stay_inside() {
    let mut errors = 0usize;
    for (file, raw) in tokens() {
        let mut b = raw.clone();
        for i in 0..b.len() {
            for bit in 0..8 {
                b[i] ^= 1 << bit;
                if let Err(e) = token_value(&b, 0) {
                    assert!(
                        e.offset <= b.len(),
                        "{file} byte {i} bit {bit}: offset {}",
                        e.offset
                    );
                    errors += 1;
                }
                b[i] ^= 1 << bit;
            }
        }
    }
    assert!(errors > 1000, "bit flips were detected ({errors} errors)");
}
