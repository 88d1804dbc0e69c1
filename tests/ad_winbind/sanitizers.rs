//! The winbind path under valgrind memcheck and ThreadSanitizer (bench/adbench.c inside the DC's namespaces).

use crate::common::*;
use crate::harness::Harness;
use crate::TEST;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// valgrind memcheck on the winbind path: bench/adbench.c (initiator and acceptor through the mechglue, the
/// acceptor validating through winbind, the initiator name with its attributes fetched) with 2 threads × 10
/// logons, raw and SPNEGO: no errors, nothing definitely or indirectly lost (MIT's known leak suppressed).
pub(crate) fn valgrind_winbind_path(h: &Harness<'_>) {
    let Some(valgrind) = find_program("valgrind") else {
        skip(
            TEST,
            "valgrind not installed: the winbind path is not checked under memcheck",
        );
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("adbench-valgrind");
    let cc = Command::new(find_program("cc").expect("a C compiler"))
        .args(["-g", "-O1", "-Wall", "-o"])
        .arg(&exe)
        .arg(root.join("bench/adbench.c"))
        .args(["-lgssapi_krb5", "-lpthread"])
        .output()
        .expect("run cc");
    assert!(
        cc.status.success(),
        "cc bench/adbench.c: {}",
        String::from_utf8_lossy(&cc.stderr)
    );
    for spnego in [false, true] {
        let mut c = h.dc.exec(&h.env, &valgrind.display().to_string());
        c.args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
        ])
        .arg(format!(
            "--suppressions={}",
            root.join("tests/valgrind/mit.supp").display()
        ))
        .arg(&exe)
        .args(["--count", "10", "--threads", "2"]);
        if spnego {
            c.arg("--spnego");
        }
        let out = run_bounded(
            c,
            &h.env.dir.path().join("valgrind-adbench.log"),
            Duration::from_secs(120),
        );
        assert!(
            out.success()
                && out.output.contains("logons=20 ")
                && out.output.contains("ERROR SUMMARY: 0 errors"),
            "adbench (spnego {spnego}) under valgrind in the DC's namespaces:\n{}",
            out.output
        );
    }
}

/// ThreadSanitizer on the winbind path (scripts/tsan-concurrency.sh): first its self-check (a deliberate race in
/// tests/tsan-probe is reported, the same state behind std's sync types is not — std is instrumented), then
/// bench/adbench.c with the instrumented plugin inside the DC's namespaces, 8 threads x 20 logons validated by
/// winbind, raw and SPNEGO: no report, every logon done.
pub(crate) fn tsan_winbind_path(h: &Harness<'_>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tsan-concurrency.sh");
    let available = Command::new(&script)
        .arg("--available")
        .stdin(Stdio::null())
        .output()
        .expect("run tsan-concurrency.sh --available");
    if !available.status.success() {
        skip(
            TEST,
            &format!(
                "ThreadSanitizer on the winbind path not run: {}",
                String::from_utf8_lossy(&available.stderr).trim()
            ),
        );
        return;
    }
    let mut probe = Command::new(&script);
    probe.arg("--probe");
    let out = run_bounded(
        probe,
        &h.env.dir.path().join("tsan-probe.log"),
        Duration::from_secs(900),
    );
    assert!(
        out.success()
            && out
                .output
                .lines()
                .any(|l| l.contains("racy: exit 66, ThreadSanitizer reports: ")
                    && !l.ends_with("reports: 0"))
            && out
                .output
                .contains("guarded: exit 0, ThreadSanitizer reports: 0"),
        "ThreadSanitizer self-check:\n{}",
        out.output
    );
    let mut run = Command::new(&script);
    run.arg("--winbind").arg(&h.dc.dir).args(["8", "20"]);
    let out = run_bounded(
        run,
        &h.env.dir.path().join("tsan-winbind.log"),
        Duration::from_secs(900),
    );
    assert!(
        out.success()
            && out.output.matches("logons=160 ").count() == 2
            && out.output.matches("ThreadSanitizer reports: 0").count() == 2,
        "adbench under ThreadSanitizer in the DC's namespaces:\n{}",
        out.output
    );
}
