//! MIT krb5 1.20's own generic GSSAPI test programs (`src/tests/gssapi`) against our plugin, with NTLM as their
//! mechanism. `scripts/mit-gssapi-tests.sh build` fetches the programs from Debian's krb5 source package (enabling
//! `deb-src` when needed; nothing lands in the repository) and builds them into the target directory with
//! `tests/c/mit_suite_ntlm_mech.c`, which turns their "krb5" mechanism into NTLM. Every case of
//! `tests/data/mit_gssapi_cases.txt` then runs in a private GSSAPI environment (tests/common `GssEnv`) and must end
//! exactly as recorded there: a program that meets MIT's expectation is `pass`; one that cannot is recorded with
//! its exit, the text it fails with, and why (`xfail-ntlm`: Kerberos-only; `xfail-ours`: our open defect). An
//! `xfail` that starts passing fails this test too, so the record is kept true.
//!
//! Skips (with a notice) only when the programs cannot be had here: not root / no apt-get / no gcc.

mod common;

use common::peers::target_dir;
use common::{hostname, plugin, run_bounded, skip, GssEnv, Plugin, TEST_DOMAIN, TEST_USER};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TEST: &str = "mit_gssapi_programs_end_as_recorded_with_ntlm";
/// Fetching krb5's source (first run only) and building the programs.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
/// One program run.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// Build the programs (fetching them first if needed); their directory, or `None` after a skip notice.
fn build_programs(log_dir: &Path) -> Option<PathBuf> {
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mit-gssapi-tests.sh"))
        .arg("build")
        .env("CARGO_TARGET_DIR", target_dir());
    let out = run_bounded(cmd, &log_dir.join("build.log"), BUILD_TIMEOUT);
    match out.status.and_then(|s| s.code()) {
        Some(0) => {}
        Some(2) => {
            skip(
                TEST,
                &format!(
                    "MIT's test programs cannot be had here: {}",
                    out.output.trim()
                ),
            );
            return None;
        }
        _ => panic!(
            "scripts/mit-gssapi-tests.sh build failed ({:?}):\n{}",
            out.status, out.output
        ),
    }
    let bin = out
        .output
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("bin: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no 'bin:' line from the build:\n{}", out.output));
    Some(bin)
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Pass,
    XfailNtlm,
    XfailOurs,
}

#[derive(Debug)]
struct Case {
    line: usize,
    verdict: Verdict,
    /// Expected exit: `Some(code)`, or `None` for SIGABRT (an `assert()` fired).
    exit: Option<i32>,
    needle: String,
    command: String,
    reason: String,
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.splitn(5, '|').map(str::trim).collect();
        assert_eq!(
            f.len(),
            5,
            "mit_gssapi_cases.txt:{}: five |-separated fields: {raw}",
            i + 1
        );
        let verdict = match f[0] {
            "pass" => Verdict::Pass,
            "xfail-ntlm" => Verdict::XfailNtlm,
            "xfail-ours" => Verdict::XfailOurs,
            v => panic!("mit_gssapi_cases.txt:{}: unknown verdict {v}", i + 1),
        };
        let exit = match f[1] {
            "abort" => None,
            n => Some(
                n.parse()
                    .unwrap_or_else(|_| panic!("mit_gssapi_cases.txt:{}: exit {n}", i + 1)),
            ),
        };
        assert!(
            verdict == Verdict::Pass || !f[4].is_empty(),
            "mit_gssapi_cases.txt:{}: an xfail case needs its reason",
            i + 1
        );
        cases.push(Case {
            line: i + 1,
            verdict,
            exit,
            needle: f[2].to_string(),
            command: f[3].to_string(),
            reason: f[4].to_string(),
        });
    }
    cases
}

fn expand(s: &str, host: &str, tmp: &Path) -> String {
    s.replace("{svc_export}", &export_token_hex(&format!("host/{host}")))
        .replace("{svc}", &format!("h:host@{host}"))
        .replace("{host}", host)
        .replace("{user}", &format!("u:{TEST_DOMAIN}\\{TEST_USER}"))
        .replace("{tmp}", &tmp.display().to_string())
}

/// The exported name token (RFC 2743 §3.2) of `name` under NTLM's OID, in upper-case hex as MIT's `print_hex`
/// writes it: `04 01`, the OID's DER length and DER, the name's 4-byte length, the name.
fn export_token_hex(name: &str) -> String {
    let mut tok = b"\x04\x01\x00\x0c\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a".to_vec();
    tok.extend_from_slice(&u32::try_from(name.len()).expect("short").to_be_bytes());
    tok.extend_from_slice(name.as_bytes());
    tok.iter().map(|b| format!("{b:02X}")).collect()
}

/// Run one case; `Err` says how it differed from the record.
fn run_case(case: &Case, bin: &Path, plugin: &Path, host: &str) -> Result<String, String> {
    let env = GssEnv::new("mit-suite", plugin).map_err(|e| format!("temp env: {e}"))?;
    let command = expand(&case.command, host, env.dir.path());
    let mut words = command.split_whitespace().peekable();
    let mut vars = Vec::new();
    while let Some(w) = words.next_if(|w| w.contains('=')) {
        let (k, v) = w.split_once('=').unwrap_or((w, ""));
        vars.push((k.to_string(), v.to_string()));
    }
    let program = words.next().ok_or("no program")?;
    let mut cmd = Command::new(bin.join(program));
    env.apply(&mut cmd);
    cmd.args(words).envs(vars);
    let out = run_bounded(cmd, &env.dir.path().join("case.log"), CASE_TIMEOUT);
    let got = match out.status {
        _ if out.timed_out => "timed out".to_string(),
        Some(s) if s.signal() == Some(6) => "abort".to_string(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => c.to_string(),
            (None, Some(sig)) => format!("signal {sig}"),
            _ => "unknown".to_string(),
        },
        None => "not run".to_string(),
    };
    let want = case.exit.map_or("abort".to_string(), |c| c.to_string());
    let needle = expand(&case.needle, host, env.dir.path());
    let needle_ok = needle == "-" || out.output.contains(&needle);
    if got == want && needle_ok {
        return Ok(got);
    }
    let what = if case.verdict != Verdict::Pass && got == "0" && case.exit != Some(0) {
        "UNEXPECTED PASS (fixed? make it a pass case)"
    } else {
        "unexpected result"
    };
    Err(format!(
        "line {}: {command}: {what}: exit {got} (recorded {want}){}\n  recorded as {:?}: {}\n  output:\n{}",
        case.line,
        if needle_ok { String::new() } else { format!(", output lacks {needle:?}") },
        case.verdict,
        case.reason,
        out.output.lines().take(12).map(|l| format!("    {l}\n")).collect::<String>()
    ))
}

#[test]
fn mit_gssapi_programs_end_as_recorded_with_ntlm() {
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
    let logs = common::TempDir::new("mit-suite-build").expect("temp dir");
    let Some(bin) = build_programs(logs.path()) else {
        return;
    };
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mit_gssapi_cases.txt"),
    )
    .expect("tests/data/mit_gssapi_cases.txt");
    let cases = parse_cases(&text);

    // Every program the script built has at least one recorded case.
    let mut built: Vec<String> = fs::read_dir(&bin)
        .expect("bin dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| (n.starts_with("t_") && !n.contains('.')) || n == "reload")
        .collect();
    built.sort();
    let uncovered: Vec<&String> = built
        .iter()
        .filter(|p| {
            !cases
                .iter()
                .any(|c| c.command.split_whitespace().any(|w| w == p.as_str()))
        })
        .collect();
    assert!(
        uncovered.is_empty(),
        "built programs without a recorded case: {uncovered:?}"
    );

    let host = hostname();
    let (mut failures, mut counts) = (Vec::new(), [0usize; 3]);
    for case in &cases {
        match run_case(case, &bin, &plugin, &host) {
            Ok(_) => {
                counts[match case.verdict {
                    Verdict::Pass => 0,
                    Verdict::XfailNtlm => 1,
                    Verdict::XfailOurs => 2,
                }] += 1
            }
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "MIT gssapi programs ({} built): {} cases as recorded: {} pass, {} fail where NTLM cannot meet MIT's check, \
         {} fail on our open defects; {} differ",
        built.len(),
        counts.iter().sum::<usize>(),
        counts[0],
        counts[1],
        counts[2],
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} case(s) differ from tests/data/mit_gssapi_cases.txt:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
