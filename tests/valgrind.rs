//! Memory checks under valgrind (skipped visibly when valgrind is not installed; CI installs it):
//! - the C handshake of `tests/c/handshake.c` (raw NTLMSSP, SPNEGO, wrong password) through MIT's mechglue;
//! - the `tests/cdylib.rs` test binary, which calls every export through `dlopen` with NULL and garbage
//!   handles.
//!
//! Both run with `--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite`: any invalid
//! read/write, use of uninitialised memory or definite leak fails. One MIT-internal leak is suppressed by
//! `tests/valgrind/mit.supp` (the file explains it); nothing of ours is.

mod common;
#[path = "common/cprog.rs"]
mod cprog;

use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn valgrind(test: &str) -> Option<PathBuf> {
    let v = common::find_program("valgrind");
    if v.is_none() {
        common::skip(
            test,
            "valgrind not installed (Debian package valgrind; scripts/install-deps.sh installs it)",
        );
    }
    v
}

fn valgrind_args(valgrind: &Path) -> Vec<String> {
    let supp = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valgrind/mit.supp");
    vec![
        valgrind.display().to_string(),
        "--error-exitcode=99".into(),
        "--leak-check=full".into(),
        "--errors-for-leak-kinds=definite".into(),
        "--show-leak-kinds=definite".into(),
        format!("--suppressions={}", supp.display()),
    ]
}

/// Bytes reported in valgrind's LEAK SUMMARY line that starts with `kind` (e.g. "definitely lost:").
/// `None` when the line is absent (valgrind prints no summary when nothing was allocated at exit).
fn leak_bytes(output: &str, kind: &str) -> Option<u64> {
    let line = output.lines().find(|l| l.contains(kind))?;
    let after = line.split(kind).nth(1)?;
    after
        .split_whitespace()
        .next()?
        .replace(',', "")
        .parse()
        .ok()
}

fn assert_clean(what: &str, out: &common::Outcome) {
    let definite = leak_bytes(&out.output, "definitely lost:");
    let indirect = leak_bytes(&out.output, "indirectly lost:");
    let suppressed = leak_bytes(&out.output, "suppressed:");
    println!(
        "{what}: definitely lost {definite:?} bytes, indirectly lost {indirect:?} bytes, suppressed {suppressed:?} bytes"
    );
    assert!(
        !out.timed_out,
        "{what} under valgrind took more than {LIMIT:?}:\n{}",
        out.output
    );
    assert!(
        out.success(),
        "{what} under valgrind failed ({:?}; 99 = valgrind found errors):\n{}",
        out.status,
        out.output
    );
    assert!(
        out.output.contains("ERROR SUMMARY: 0 errors"),
        "{}",
        out.output
    );
    assert_eq!(definite.unwrap_or(0), 0, "{}", out.output);
    assert_eq!(indirect.unwrap_or(0), 0, "{}", out.output);
}

#[test]
fn c_handshake_under_valgrind_has_no_errors_and_no_definite_leaks() {
    let test = "c_handshake_under_valgrind_has_no_errors_and_no_definite_leaks";
    let Some(vg) = valgrind(test) else { return };
    let Some(plugin) = cprog::plugin_path(test) else {
        return;
    };
    let Some(exe) = cprog::compile_or_skip(test, "handshake.c", "handshake-vg", &[]) else {
        return;
    };
    let env = common::GssEnv::new("valgrind-handshake", &plugin).expect("temp env");
    let out = cprog::run_in_env(&env, &valgrind_args(&vg), &exe, LIMIT);
    assert!(
        out.output.contains("handshake: 66 checks passed"),
        "{}",
        out.output
    );
    assert_clean("C handshake", &out);
}

/// The newest `tests/cdylib.rs` test executable beside this one (`cargo test --all-targets` builds it).
fn cdylib_test_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("cdylib-"))
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
}

#[test]
fn cdylib_null_and_garbage_handle_tests_under_valgrind_are_clean() {
    let test = "cdylib_null_and_garbage_handle_tests_under_valgrind_are_clean";
    let Some(vg) = valgrind(test) else { return };
    let Some(bin) = cdylib_test_binary() else {
        return common::skip(
            test,
            "the tests/cdylib.rs executable is not built (run `cargo test --all-targets`, as scripts/test.sh does)",
        );
    };
    let plugin = cprog::plugin_path(test);
    let env = match &plugin {
        Some(p) => common::GssEnv::new("valgrind-cdylib", p).expect("temp env"),
        None => return,
    };
    let mut cmd = std::process::Command::new(&vg);
    cmd.args(&valgrind_args(&vg)[1..])
        .arg(&bin)
        .args(["--test-threads=1", "--quiet"]);
    env.apply(&mut cmd);
    let log = env.dir.path().join("cdylib-valgrind.log");
    let out = common::run_bounded(cmd, &log, LIMIT);
    assert!(out.output.contains("test result: ok"), "{}", out.output);
    assert_clean("tests/cdylib.rs", &out);
}
