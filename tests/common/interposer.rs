//! Helpers for tests that run through our SPNEGO interposer (issue 11): the `<interposer>` line of the shipped
//! `mech.d/gss-negotiate-spnego.conf`, added to a private `GSS_MECH_CONFIG` beside the NTLM plugin line, and the
//! JSON-lines audit file (`GSS_NEGOTIATE_AUDIT`) that proves which SPNEGO negotiated: our engine writes records
//! with `"protocol":"spnego"`; under MIT's SPNEGO only our NTLM mechanism writes records (`"protocol":"ntlm"`).
//!
//! Harness validation: `GSS_TEST_INTERPOSER=off` runs the same tests against MIT's own SPNEGO (no interposer
//! line); the checks that prove our engine ran (audit records, strict calling-error rules) are then left out and
//! the test says so. tests/interposer_hostile.rs passes that way; tests/interposer_http.rs then fails where only
//! our engine gets 200 (MIT's SPNEGO answers the rejected ticket with 401). Never set in CI.
#![allow(dead_code)]

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// False when `GSS_TEST_INTERPOSER=off` (harness validation against MIT's SPNEGO).
pub fn enabled() -> bool {
    let on = std::env::var("GSS_TEST_INTERPOSER").map_or(true, |v| v != "off");
    if !on {
        eprintln!("GSS_TEST_INTERPOSER=off: harness validation against MIT's SPNEGO, our engine's checks left out");
    }
    on
}

/// The shipped configuration file with the interposer line.
pub fn shipped_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mech.d/gss-negotiate-spnego.conf")
}

/// The interposer's OID from the shipped file's `<interposer>` line.
pub fn interposer_oid() -> Result<String, String> {
    let path = shipped_conf();
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains("<interposer>"))
        .find_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .ok_or_else(|| format!("{}: no <interposer> line", path.display()))
}

/// The line that makes `plugin` the SPNEGO interposer.
pub fn interposer_line(plugin: &Path) -> String {
    let oid = interposer_oid().unwrap_or_else(|e| panic!("{e}"));
    format!(
        "gss_negotiate_spnego {oid} {} <interposer>\n",
        plugin.display()
    )
}

/// Panics unless `plugin` exports the interposer's entry point (the library under test must have it).
pub fn assert_exports_interposer(plugin: &Path) {
    assert_ne!(
        crate::common::exports_symbol(plugin, "gss_mech_interposer"),
        Some(false),
        "{} does not export gss_mech_interposer",
        plugin.display()
    );
}

/// Appends the interposer line to a mech config file.
pub fn add_interposer_line(mech_conf: &Path, plugin: &Path) {
    let mut text = fs::read_to_string(mech_conf).unwrap_or_default();
    text.push_str(&interposer_line(plugin));
    fs::write(mech_conf, text).expect("write mech config");
}

/// Every JSON record of an audit file (unparsable lines make the test fail).
pub fn audit_records(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The records our SPNEGO engine wrote.
pub fn spnego_records(records: &[Value]) -> Vec<&Value> {
    records
        .iter()
        .filter(|r| r["protocol"] == "spnego")
        .collect()
}

/// Number of records with `role` and `outcome`.
pub fn count(records: &[&Value], role: &str, outcome: &str) -> usize {
    records
        .iter()
        .filter(|r| r["role"] == role && r["outcome"] == outcome)
        .count()
}
