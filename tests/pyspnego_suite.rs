//! pyspnego 0.6.3's own test suite (the `tests/` of its PyPI source distribution) with NTLM through GSSAPI served
//! by our plugin. pyspnego 0.6 is the last line whose GSSAPI path uses an NTLM mechanism, and its suite runs its
//! GSSAPI NTLM tests (both directions, channel bindings, LM_COMPAT_LEVEL 0–3 via `test_gssapi_ntlm_lm_compat`) only
//! when its probe finds NTLM through GSSAPI. `scripts/pyspnego-suite.sh run` prepares a venv in the target directory
//! (Debian's python3 with its python3-gssapi; pyspnego 0.6.3 and what the suite imports, k5test included, from
//! PyPI), runs pytest with a private mech config naming our plugin and reports every test's outcome; the tests here
//! compare them with the committed records. Any difference fails: an unexpected pass, an unexpected failure or skip,
//! a test that disappeared or a new one.
//!
//! - `pyspnego_063_suite_outcomes_match_the_record`: the whole suite, `tests/data/pyspnego_0.6.3_expected.txt`.
//! - `pyspnego_063_ntlm_tests_at_lm_compat_levels_0_to_2_match_the_record`: the NTLM tests again with
//!   LM_COMPAT_LEVEL set for the whole run (both sides NTLMv1), `tests/data/pyspnego_0.6.3_lm_compat_expected.txt`.
//! - `pyspnego_06_spnego_over_our_ntlm_completes_at_every_level`: pyspnego's SPNEGO ↔ MIT's SPNEGO over our NTLM run
//!   to completion at levels 0–3 (`tests/python/pyspnego06_spnego_levels.py`), which the record's reasons cite.
//!
//! Skips (with a notice) only when the suite cannot be had here (no Debian python3/python3-gssapi/python3-venv, or
//! PyPI unreachable); scripts/install-deps.sh installs what CI needs.

mod common;

use common::peers::target_dir;
use common::{
    plugin, run_bounded, skip, GssEnv, Plugin, TempDir, TEST_DOMAIN, TEST_PASSWORD, TEST_USER,
};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// First run: venv, pip installs (pyspnego's `krb5` dependency may be compiled), sdist download. Later runs: ~15 s.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);
const OUTCOMES: [&str; 4] = ["passed", "failed", "error", "skipped"];
const REASONS: [&str; 5] = ["windows", "env", "ntlm", "peer", "ours"];
/// The suite's tests that use NTLM through GSSAPI, and the pure-Python NTLM ones parametrized beside them.
const NTLM_SELECT: &str = "gssapi_ntlm or negotiate_through_python_ntlm or ntlm_bad_bindings or \
                           ntlm_invalid_password or ntlm_verify_fail or ntlm_hash";

/// `test id → (outcome, reason)`.
type Record = BTreeMap<String, (String, String)>;

fn our_plugin(test: &str) -> Option<PathBuf> {
    match plugin() {
        Plugin::Found { path, .. } => Some(path),
        Plugin::NoEntryPoints(p) => {
            skip(
                test,
                &format!("{} exports no GSSAPI entry points", p.display()),
            );
            None
        }
        Plugin::Missing(why) => panic!("plugin not built: {why}"),
    }
}

/// The records of a file, by section: lines before any `[LM_COMPAT_LEVEL=N]` header go to `None`.
fn records(file: &str) -> BTreeMap<Option<u8>, Record> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut all: BTreeMap<Option<u8>, Record> = BTreeMap::new();
    let mut section = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(level) = line
            .strip_prefix("[LM_COMPAT_LEVEL=")
            .and_then(|r| r.strip_suffix(']'))
        {
            section = Some(
                level
                    .parse()
                    .unwrap_or_else(|_| panic!("{file}:{}: bad level {level}", i + 1)),
            );
            continue;
        }
        let f: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        assert!(
            f.len() == 3,
            "{file}:{}: OUTCOME | TEST-ID | REASON: {raw}",
            i + 1
        );
        let (outcome, id, reason) = (f[0], f[1], f[2]);
        assert!(
            OUTCOMES.contains(&outcome),
            "{file}:{}: unknown outcome {outcome}",
            i + 1
        );
        if outcome != "passed" {
            let kind = reason.split(':').next().unwrap_or("");
            assert!(
                REASONS.contains(&kind),
                "{file}:{}: a {outcome} test needs a reason starting with one of {REASONS:?}: {raw}",
                i + 1
            );
        }
        let dup = all
            .entry(section)
            .or_default()
            .insert(id.to_string(), (outcome.to_string(), reason.to_string()));
        assert!(dup.is_none(), "{file}:{}: {id} listed twice", i + 1);
    }
    all
}

/// Run the suite (or the tests `select` picks) against `plugin`; `None` after a skip notice.
fn run_suite(
    test: &str,
    plugin: &Path,
    level: Option<u8>,
    select: Option<&str>,
) -> Option<(Record, String)> {
    let dir = TempDir::new("pyspnego-suite").expect("temp dir");
    let outcomes_file = dir.path().join("outcomes.tsv");
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pyspnego-suite.sh"))
        .arg("run")
        .arg(plugin)
        .arg(&outcomes_file)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("PYSPNEGO_SUITE_LM_COMPAT_LEVEL")
        .env_remove("PYSPNEGO_SUITE_SELECT");
    if let Some(l) = level {
        cmd.env("PYSPNEGO_SUITE_LM_COMPAT_LEVEL", l.to_string());
    }
    if let Some(k) = select {
        cmd.env("PYSPNEGO_SUITE_SELECT", k);
    }
    let out = run_bounded(cmd, &dir.path().join("run.log"), RUN_TIMEOUT);
    match out.status.and_then(|s| s.code()) {
        Some(0) => {}
        Some(2) => {
            skip(
                test,
                &format!(
                    "pyspnego 0.6.3's suite cannot be had here: {}",
                    out.output.trim()
                ),
            );
            return None;
        }
        _ => panic!(
            "scripts/pyspnego-suite.sh run failed ({:?}, timed out: {}):\n{}",
            out.status, out.timed_out, out.output
        ),
    }
    let text = fs::read_to_string(&outcomes_file).expect("outcomes written");
    let mut got = Record::new();
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
    Some((got, out.output))
}

/// Every way `got` differs from `expected`.
fn differences(expected: &Record, got: &Record) -> Vec<String> {
    let mut diffs = Vec::new();
    let paren = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!(" ({s})")
        }
    };
    for (id, (want, reason)) in expected {
        match got.get(id) {
            None => diffs.push(format!(
                "{id}: expected {want} but the run has no such test"
            )),
            Some((outcome, why)) if outcome != want => diffs.push(format!(
                "{id}: {outcome}{} but recorded {want}{}",
                paren(why),
                paren(reason)
            )),
            Some(_) => {}
        }
    }
    for (id, (outcome, _)) in got {
        if !expected.contains_key(id) {
            diffs.push(format!("{id}: {outcome}, not on the expected list"));
        }
    }
    diffs
}

fn summary(label: &str, expected: &Record, got: &Record, diffs: &[String]) -> String {
    let count = |o: &str| got.values().filter(|(x, _)| x == o).count();
    let ours = expected
        .values()
        .filter(|(o, r)| o != "passed" && r.starts_with("ours"))
        .count();
    format!(
        "{label}: {} tests: {} passed, {} failed, {} error, {} skipped; {ours} recorded against our open defects; \
         {} differ from the record",
        got.len(),
        count("passed"),
        count("failed"),
        count("error"),
        count("skipped"),
        diffs.len()
    )
}

fn tail(output: &str, lines: usize) -> String {
    let all: Vec<&str> = output.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn pyspnego_063_suite_outcomes_match_the_record() {
    const TEST: &str = "pyspnego_063_suite_outcomes_match_the_record";
    let Some(plugin) = our_plugin(TEST) else {
        return;
    };
    let expected = records("pyspnego_0.6.3_expected.txt")
        .remove(&None)
        .expect("records");
    // The suite's own LM_COMPAT_LEVEL runs must be on the list (they run once NTLM through GSSAPI is found).
    for level in 0..=3 {
        let id = format!("tests.test_auth::test_gssapi_ntlm_lm_compat[{level}]");
        assert!(
            expected.contains_key(&id),
            "{id} missing from the expected list"
        );
    }
    let Some((got, output)) = run_suite(TEST, &plugin, None, None) else {
        return;
    };
    let diffs = differences(&expected, &got);
    eprintln!(
        "{}",
        summary("pyspnego 0.6.3 suite", &expected, &got, &diffs)
    );
    assert!(
        diffs.is_empty(),
        "{} test(s) differ from tests/data/pyspnego_0.6.3_expected.txt:\n{}\n--- pytest:\n{}",
        diffs.len(),
        diffs.join("\n"),
        tail(&output, 60)
    );
}

#[test]
fn pyspnego_063_ntlm_tests_at_lm_compat_levels_0_to_2_match_the_record() {
    const TEST: &str = "pyspnego_063_ntlm_tests_at_lm_compat_levels_0_to_2_match_the_record";
    let Some(plugin) = our_plugin(TEST) else {
        return;
    };
    let mut sections = records("pyspnego_0.6.3_lm_compat_expected.txt");
    let mut failures = Vec::new();
    for level in 0..=2u8 {
        let expected = sections
            .remove(&Some(level))
            .unwrap_or_else(|| panic!("no [LM_COMPAT_LEVEL={level}]"));
        let Some((got, output)) = run_suite(TEST, &plugin, Some(level), Some(NTLM_SELECT)) else {
            return;
        };
        let diffs = differences(&expected, &got);
        eprintln!(
            "{}",
            summary(&format!("LM_COMPAT_LEVEL={level}"), &expected, &got, &diffs)
        );
        if !diffs.is_empty() {
            failures.push(format!(
                "LM_COMPAT_LEVEL={level}:\n{}\n--- pytest:\n{}",
                diffs.join("\n"),
                tail(&output, 40)
            ));
        }
    }
    assert!(
        sections.is_empty(),
        "sections for levels this test does not run: {:?}",
        sections.keys()
    );
    assert!(
        failures.is_empty(),
        "differences from tests/data/pyspnego_0.6.3_lm_compat_expected.txt:\n{}",
        failures.join("\n")
    );
}

#[test]
fn pyspnego_06_spnego_over_our_ntlm_completes_at_every_level() {
    const TEST: &str = "pyspnego_06_spnego_over_our_ntlm_completes_at_every_level";
    let Some(plugin) = our_plugin(TEST) else {
        return;
    };
    // The venv the suite runs in (prepared by the script; nothing else is installed for this test).
    let Some(python) = common::peers::pyspnego06_python(TEST) else {
        return;
    };
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/pyspnego06_spnego_levels.py");
    let mut failures = Vec::new();
    for level in 0..=3 {
        let env = GssEnv::new("pyspnego06-levels", &plugin).expect("temp env");
        let mut cmd = Command::new(&python);
        env.apply(&mut cmd);
        cmd.arg(&script)
            .arg(format!("{TEST_DOMAIN}\\{TEST_USER}"))
            .arg(TEST_PASSWORD)
            .env("LM_COMPAT_LEVEL", level.to_string());
        let out = run_bounded(
            cmd,
            &env.dir.path().join("run.log"),
            Duration::from_secs(60),
        );
        eprintln!(
            "LM_COMPAT_LEVEL={level}: {}",
            out.output.trim().replace('\n', "; ")
        );
        if !out.success() {
            failures.push(format!(
                "LM_COMPAT_LEVEL={level}: {:?}\n{}",
                out.status, out.output
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
