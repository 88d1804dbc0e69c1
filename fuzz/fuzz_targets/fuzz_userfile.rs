//! Fuzzes the `NTLM_USER_FILE` parser (`ParsedUserFile::parse`, the gss-ntlmssp / smbpasswd line formats) and
//! its lookups: no panic; every entry and every error names a line that exists; lookups of the parsed names
//! find an entry.
#![no_main]

use gss_negotiate::creds::userfile::{parse_hex_key, ParsedUserFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = ParsedUserFile::parse(&text);
    let lines = text.lines().count().max(1);
    for e in parsed.entries() {
        assert!(
            e.line >= 1 && e.line <= lines,
            "entry line {} of {lines}",
            e.line
        );
        assert!(
            parsed.find(&e.user, e.domain.as_deref()).is_some(),
            "entry {:?} not found by its own name",
            e.user
        );
    }
    for err in &parsed.errors {
        assert!(err.line >= 1 && err.line <= lines);
    }
    if let Some(first) = parsed.first() {
        assert_eq!(Some(first), parsed.entries().first());
    }
    let _ = parsed.find(&text, None);
    let _ = parse_hex_key(&text);
});
