//! `gss-negotiate man DIR`: the roff pages (gss-negotiate(1), one per subcommand, gss-negotiate(5) from
//! docs/gss-negotiate.5.md) render with `man` without a groff warning, and have whatis-style NAME lines.
#![cfg(feature = "cli")]

mod common;

use common::*;
use std::process::Command;

#[test]
fn man_pages_render_without_warnings() {
    let Some(man) = find_program("man") else {
        skip(
            "man_pages_render_without_warnings",
            "man is not installed (install-deps group deb: man-db)",
        );
        return;
    };
    let tmp = TempDir::new("man").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gss-negotiate"))
        .args(["man"])
        .arg(tmp.path())
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut pages: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for want in [
        "gss-negotiate.1",
        "gss-negotiate.5",
        "gss-negotiate-decode.1",
        "gss-negotiate-login.1",
        "gss-negotiate-check.1",
        "gss-negotiate-selftest.1",
    ] {
        assert!(pages.iter().any(|p| p == want), "{want} missing: {pages:?}");
    }
    for page in &pages {
        let path = tmp.path().join(page);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("2026-01-01"),
            "{page}: SOURCE_DATE_EPOCH not used"
        );
        let name = text
            .split(".SH NAME")
            .nth(1)
            .unwrap_or_else(|| panic!("{page}: no NAME"));
        assert!(
            name.lines().take(3).any(|l| l.contains("\\- ")),
            "{page}: NAME is not 'name \\- text'"
        );
        let r = Command::new(&man)
            .args(["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let warnings = String::from_utf8_lossy(&r.stderr);
        assert!(
            r.status.success() && warnings.trim().is_empty(),
            "{page}: {warnings}"
        );
    }
    // The plugin page carries the reference sections of the source document.
    let p5 = std::fs::read_to_string(tmp.path().join("gss-negotiate.5")).unwrap();
    for section in ["ENVIRONMENT", "FILES", "CREDENTIAL STORE", "SEE ALSO"] {
        assert!(
            p5.contains(&format!(".SH \"{section}\"")) || p5.contains(&format!(".SH {section}")),
            "{section}"
        );
    }
    assert!(p5.contains("GSS_NEGOTIATE_LOGIN_FILE"));
}
