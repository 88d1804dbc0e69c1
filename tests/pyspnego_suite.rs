//! pyspnego 0.6.3's own test suite (the `tests/` of its PyPI source distribution) with NTLM through GSSAPI served
//! by our plugin. pyspnego 0.6 is the last line whose GSSAPI path uses an NTLM mechanism, and its suite runs its
//! GSSAPI NTLM tests (both directions, channel bindings, LM_COMPAT_LEVEL 0–3 via `test_gssapi_ntlm_lm_compat`) only
//! when its probe finds NTLM through GSSAPI. `scripts/pyspnego-suite.sh run` prepares a venv in the target directory
//! (Debian's python3 with its python3-gssapi; pyspnego 0.6.3 and what the suite imports from PyPI), runs pytest with
//! a private mech config naming our plugin and reports every test's outcome; this test compares them with
//! `tests/data/pyspnego_0.6.3_expected.txt`. Any difference fails: an unexpected pass, an unexpected failure or skip,
//! a test that disappeared or a new one.
//!
//! Skips (with a notice) only when the suite cannot be had here (no Debian python3/python3-gssapi/python3-venv, or
//! PyPI unreachable); scripts/install-deps.sh installs what CI needs.

mod common;

use common::peers::target_dir;
use common::{plugin, run_bounded, skip, Plugin, TempDir};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TEST: &str = "pyspnego_063_suite_outcomes_match_the_record";
/// First run: venv, pip installs (pyspnego's `krb5` dependency may be compiled), sdist download. Later runs: ~10 s.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);
const OUTCOMES: [&str; 4] = ["passed", "failed", "error", "skipped"];
const REASONS: [&str; 5] = ["windows", "env", "ntlm", "peer", "ours"];

/// `test id → (outcome, reason)` from the committed list.
fn expected() -> BTreeMap<String, (String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyspnego_0.6.3_expected.txt");
    let text = fs::read_to_string(&path).expect("tests/data/pyspnego_0.6.3_expected.txt");
    let mut map = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        assert!(
            f.len() >= 2,
            "expected.txt:{}: OUTCOME | TEST-ID | REASON: {raw}",
            i + 1
        );
        let (outcome, id) = (f[0], f[1]);
        let reason = f.get(2).copied().unwrap_or("");
        assert!(
            OUTCOMES.contains(&outcome),
            "expected.txt:{}: unknown outcome {outcome}",
            i + 1
        );
        if outcome != "passed" {
            let kind = reason.split(':').next().unwrap_or("");
            assert!(
                REASONS.contains(&kind),
                "expected.txt:{}: a {outcome} test needs a reason starting with one of {REASONS:?}: {raw}",
                i + 1
            );
        }
        let dup = map.insert(id.to_string(), (outcome.to_string(), reason.to_string()));
        assert!(dup.is_none(), "expected.txt:{}: {id} listed twice", i + 1);
    }
    map
}

#[test]
fn pyspnego_063_suite_outcomes_match_the_record() {
    let plugin = match plugin() {
        Plugin::Found { path, .. } => path,
        Plugin::NoEntryPoints(p) => {
            skip(
                TEST,
                &format!("{} exports no GSSAPI entry points", p.display()),
            );
            return;
        }
        Plugin::Missing(why) => panic!("plugin not built: {why}"),
    };
    let expected = expected();
    // The suite's own LM_COMPAT_LEVEL runs must be on the list (they run once NTLM through GSSAPI is found).
    for level in 0..=3 {
        let id = format!("tests.test_auth::test_gssapi_ntlm_lm_compat[{level}]");
        assert!(
            expected.contains_key(&id),
            "{id} missing from the expected list"
        );
    }

    let dir = TempDir::new("pyspnego-suite").expect("temp dir");
    let outcomes_file = dir.path().join("outcomes.tsv");
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pyspnego-suite.sh"))
        .arg("run")
        .arg(&plugin)
        .arg(&outcomes_file)
        .env("CARGO_TARGET_DIR", target_dir());
    let out = run_bounded(cmd, &dir.path().join("run.log"), RUN_TIMEOUT);
    match out.status.and_then(|s| s.code()) {
        Some(0) => {}
        Some(2) => {
            skip(
                TEST,
                &format!(
                    "pyspnego 0.6.3's suite cannot be had here: {}",
                    out.output.trim()
                ),
            );
            return;
        }
        _ => panic!(
            "scripts/pyspnego-suite.sh run failed ({:?}, timed out: {}):\n{}",
            out.status, out.timed_out, out.output
        ),
    }
    let text = fs::read_to_string(&outcomes_file).expect("outcomes written");
    let mut got = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut f = line.split('\t');
        let (Some(outcome), Some(id)) = (f.next(), f.next()) else {
            panic!("bad outcome line {line:?}");
        };
        got.insert(
            id.to_string(),
            (outcome.to_string(), f.next().unwrap_or("").to_string()),
        );
    }
    assert!(!got.is_empty(), "pytest ran no test:\n{}", out.output);

    let mut diffs = Vec::new();
    for (id, (want, reason)) in &expected {
        match got.get(id) {
            None => diffs.push(format!(
                "{id}: expected {want} but the run has no such test"
            )),
            Some((outcome, why)) if outcome != want => diffs.push(format!(
                "{id}: {outcome}{} but recorded {want}{}",
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                },
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({reason})")
                },
            )),
            Some(_) => {}
        }
    }
    for (id, (outcome, _)) in &got {
        if !expected.contains_key(id) {
            diffs.push(format!("{id}: {outcome}, not on the expected list"));
        }
    }
    let count = |o: &str| got.values().filter(|(x, _)| x == o).count();
    let ours = expected
        .values()
        .filter(|(o, r)| o != "passed" && r.starts_with("ours"))
        .count();
    eprintln!(
        "pyspnego 0.6.3 suite: {} tests: {} passed, {} failed, {} error, {} skipped; {} recorded against our open \
         defects; {} differ from the record",
        got.len(),
        count("passed"),
        count("failed"),
        count("error"),
        count("skipped"),
        ours,
        diffs.len()
    );
    assert!(
        diffs.is_empty(),
        "{} test(s) differ from tests/data/pyspnego_0.6.3_expected.txt:\n{}\n--- pytest:\n{}",
        diffs.len(),
        diffs.join("\n"),
        out.output
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
