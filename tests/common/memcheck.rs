//! valgrind memcheck runs of programs that load the plugin through MIT's mechglue: the arguments, MIT's
//! `gss-server` started under memcheck, and the reading of memcheck's report — which loss records and error
//! contexts pass through the plugin (ours) and which belong to MIT, libc or the program (theirs).
//!
//! MIT's one 8-byte plugin-handle leak per loaded module is suppressed by `tests/valgrind/mit.supp`; every other
//! record is judged by its stack.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use super::{find_program, free_port, skip, Samples};

/// valgrind, or `None` after a skip notice.
pub fn valgrind(test: &str) -> Option<PathBuf> {
    let v = find_program("valgrind");
    if v.is_none() {
        skip(
            test,
            "valgrind not installed (Debian package valgrind; scripts/install-deps.sh installs it)",
        );
    }
    v
}

/// memcheck arguments writing its report to `log`: memory errors exit 99; leaks are judged by [`Report`].
pub fn args(log: &Path) -> Vec<String> {
    let mut a = vec!["--error-exitcode=99".to_string()];
    a.extend(report_args(log));
    a
}

/// [`args`] without the exit code for memory errors, for programs (python) whose own code makes memcheck
/// report some: [`assert_nothing_of_ours`] judges the report.
pub fn report_args(log: &Path) -> Vec<String> {
    let supp = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valgrind/mit.supp");
    vec![
        "--leak-check=full".into(),
        "--show-leak-kinds=definite,indirect".into(),
        "--errors-for-leak-kinds=none".into(),
        "--num-callers=50".into(),
        format!("--suppressions={}", supp.display()),
        format!("--log-file={}", log.display()),
    ]
}

/// What one memcheck report says.
#[derive(Debug, Default)]
pub struct Report {
    /// Bytes (direct + indirect) in definitely/indirectly lost records whose stack has a plugin frame.
    pub ours: u64,
    /// The same for records without one (MIT, libc, the program).
    pub theirs: u64,
    /// The loss records and error contexts of ours, for the failure message.
    pub ours_text: String,
    /// Error contexts (invalid reads/writes, uninitialised values, bad frees) whose stack has a plugin frame.
    pub our_errors: usize,
    /// The "ERROR SUMMARY" count: every error context, ours or not.
    pub errors: Option<u64>,
}

/// Whether a stack line is a frame of the plugin: Rust source (only the plugin has any in these processes)
/// or the library itself.
pub fn plugin_frame(line: &str) -> bool {
    line.contains("libgss_negotiate") || line.contains(".rs:") || line.contains("gss_negotiate::")
}

/// Whether the first line of a block opens an error context (not a loss record, not a summary).
fn is_error(head: &str) -> bool {
    head.starts_with("Invalid ")
        || head.starts_with("Conditional jump")
        || head.starts_with("Use of uninitialised")
        || head.contains("uninitialised byte")
        || head.starts_with("Mismatched free")
        || head.starts_with("Source and destination overlap")
}

/// Reads a memcheck report (its `--log-file`).
pub fn parse(report: &str) -> Report {
    let mut out = Report::default();
    let body = |l: &str| l.split_once("== ").map_or(l, |(_, b)| b).to_string();
    let lines: Vec<String> = report.lines().map(body).collect();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if let Some(rest) = l.strip_prefix("ERROR SUMMARY: ") {
            out.errors = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
        let lost = l.contains("are definitely lost in loss record")
            || l.contains("are indirectly lost in loss record");
        if !lost && !is_error(l) {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < lines.len() && !lines[end].trim().is_empty() {
            end += 1;
        }
        let block = &lines[i..end];
        let ours = block.iter().any(|f| plugin_frame(f));
        if lost {
            // "N bytes in ..." or, for a definite block holding others, "N (D direct, I indirect) bytes":
            // count D there (the I bytes have records of their own), so the sums match the LEAK SUMMARY.
            let number = |s: &str| s.replace(',', "").parse::<u64>().ok();
            let mut words = l.split_whitespace();
            let first = words.next().and_then(number).unwrap_or(0);
            let bytes = match words.next() {
                Some(w) if w.starts_with('(') => number(w.trim_start_matches('(')).unwrap_or(first),
                _ => first,
            };
            if ours {
                out.ours += bytes;
            } else {
                out.theirs += bytes;
            }
        } else if ours {
            out.our_errors += 1;
        }
        if ours {
            out.ours_text.push_str(&block.join("\n"));
            out.ours_text.push('\n');
        }
        i = end;
    }
    out
}

/// Asserts that `report` (memcheck's log of `what`) has no memory error at all and loses nothing through the
/// plugin; prints the figures. `output` is the program's own output, for the failure message.
pub fn assert_clean(what: &str, report: &str, output: &str) -> Report {
    let r = assert_nothing_of_ours(what, report);
    assert_eq!(
        r.errors,
        Some(0),
        "{what}: valgrind found memory errors:\n{report}\n{output}"
    );
    r
}

/// Asserts that no loss record and no error context of `report` passes through the plugin (for programs such as
/// python whose own code makes memcheck report errors); prints the figures.
pub fn assert_nothing_of_ours(what: &str, report: &str) -> Report {
    let r = parse(report);
    println!(
        "{what}: memory errors {:?} ({} through the plugin); lost through the plugin {} bytes; lost elsewhere \
         (MIT/libc) {} bytes",
        r.errors, r.our_errors, r.ours, r.theirs
    );
    assert!(
        r.errors.is_some(),
        "{what}: no memcheck summary (did valgrind run to the end?):\n{report}"
    );
    assert!(
        r.ours == 0 && r.our_errors == 0,
        "{what}: through the plugin:\n{}",
        r.ours_text
    );
    r
}

/// Starts MIT's `gss-server` under memcheck (report to `report`, output to `log`) with `args` before the port's
/// and `service`; `apply` sets the environment. Returns it once it listens, and its port.
pub fn start_server(
    vg: &Path,
    samples: &Samples,
    apply: &dyn Fn(&mut Command),
    report: &Path,
    log: &Path,
    args: &[&str],
    service: &str,
) -> (Child, u16) {
    for _ in 0..3 {
        let port = free_port().expect("free port");
        let mut cmd = match &samples.stdbuf {
            Some(sb) => {
                let mut c = Command::new(sb);
                c.args(["-oL", "-eL"]).arg(vg);
                c
            }
            None => Command::new(vg),
        };
        cmd.args(self::args(report))
            .arg(&samples.server)
            .args(["-port", &port.to_string()])
            .args(args)
            .arg(service);
        apply(&mut cmd);
        let file = std::fs::File::create(log).expect("server log");
        let mut child = cmd
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start gss-server under valgrind");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if std::fs::read_to_string(log)
                .unwrap_or_default()
                .contains("starting...")
            {
                return (child, port);
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!(
        "gss-server under valgrind did not start:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Waits up to `limit` for `child` to exit by itself (memcheck writes its report at exit), else kills it.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}
