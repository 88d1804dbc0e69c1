//! Interop with Devolutions' `sspi` crate (0.23, Rust): its NTLM client against our in-process acceptor, our
//! initiator against its acceptor, and the sspi-rs issue #172 attack (AUTHENTICATE with a wrong NTProofStr and no
//! MIC), which sspi's own acceptor lets through and ours must refuse.
//!
//! sspi lives in its own small crate, tests/sspi-peer (own `[workspace]` and `Cargo.lock`), so that its dependency
//! tree (~70 s to build here with default features off) stays out of the main crate's build. This test builds it
//! into `<target>/sspi-peer` (bounded) and runs it; every line it prints is a matrix row.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::matrix::skip_peer;
use common::peers::{record, target_dir, Row};
use common::run_bounded;

const PEER: &str = "sspi";
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

#[test]
fn sspi_client_and_acceptor_against_our_ntlm_core() {
    let test = "sspi_client_and_acceptor_against_our_ntlm_core";
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sspi-peer/Cargo.toml");
    let peer_target = target_dir().join("sspi-peer");
    let log_dir = common::TempDir::new("sspi").expect("temp dir");
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &peer_target);
    let built = run_bounded(build, &log_dir.path().join("build.log"), BUILD_TIMEOUT);
    if !built.success() {
        // No registry (offline machine) is a skip; a compile error of our API use is a failure.
        if built.output.contains("failed to download")
            || built.output.contains("failed to get")
            || built.output.contains("Unable to update registry")
        {
            skip_peer(
                test,
                PEER,
                &format!(
                    "cannot fetch the sspi crate: {}",
                    built.output.lines().last().unwrap_or("")
                ),
            );
            return;
        }
        panic!(
            "building tests/sspi-peer failed (timed out: {}):\n{}",
            built.timed_out, built.output
        );
    }
    let exe = peer_target.join("debug/sspi-peer");
    let run = run_bounded(
        Command::new(&exe),
        &log_dir.path().join("run.log"),
        Duration::from_secs(60),
    );
    assert!(run.success(), "sspi-peer failed:\n{}", run.output);
    let version = sspi_version(&manifest).unwrap_or_else(|| "?".into());
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in run.output.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad row {line}: {e}"));
        let ok = v["ok"].as_bool() == Some(true);
        let defect = v["peer_defect"].as_bool() == Some(true);
        let outcome = if ok {
            "pass"
        } else if defect {
            "peer-defect"
        } else {
            "fail"
        };
        let (direction, feature, detail) = (
            v["direction"].as_str().unwrap_or(""),
            v["feature"].as_str().unwrap_or(""),
            v["detail"].as_str().unwrap_or(""),
        );
        record(&Row {
            peer: PEER,
            version: &version,
            direction,
            mode: "in-process",
            feature,
            outcome,
            detail,
        });
        rows += 1;
        if outcome == "fail" {
            failures.push(format!("{direction} {feature}: {detail}"));
        }
    }
    assert!(
        rows >= 30,
        "sspi-peer printed only {rows} rows:\n{}",
        run.output
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The sspi version pinned in tests/sspi-peer/Cargo.lock.
fn sspi_version(manifest: &Path) -> Option<String> {
    let lock = std::fs::read_to_string(manifest.with_file_name("Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"sspi\"" {
            return lines.next()?.split('"').nth(1).map(str::to_string);
        }
    }
    None
}
