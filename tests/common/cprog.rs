//! Building and running the C test programs of `tests/c/` (they link MIT's `libgssapi_krb5`, never the
//! plugin, and reach the plugin through the mechglue and a private `GSS_MECH_CONFIG`).
#![allow(dead_code)]

use crate::common::{find_program, run_bounded, GssEnv, Outcome, Plugin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Compile `tests/c/<src>` into `<CARGO_TARGET_TMPDIR>/<out>` with `-lgssapi_krb5`. `Err` says why it could
/// not be built; when the compiler or MIT's headers are missing the caller skips (visibly).
pub fn compile(src: &str, out: &str) -> Result<PathBuf, CompileError> {
    compile_with(src, out, &[])
}

/// [`compile_with`] for a test: the program, or `None` after a visible SKIP when a build prerequisite is missing;
/// a program that should have compiled and did not fails the test.
pub fn compile_or_skip(test: &str, src: &str, out: &str, libs: &[&str]) -> Option<PathBuf> {
    match compile_with(src, out, libs) {
        Ok(exe) => Some(exe),
        Err(CompileError::Missing(why)) => {
            crate::common::skip(test, &why);
            None
        }
        Err(CompileError::Failed(why)) => panic!("{why}"),
    }
}

/// [`compile`] with extra linker arguments after `-lgssapi_krb5` (e.g. `-lpthread`).
pub fn compile_with(src: &str, out: &str, libs: &[&str]) -> Result<PathBuf, CompileError> {
    let Some(cc) = find_program("cc").or_else(|| find_program("gcc")) else {
        return Err(CompileError::Missing("no C compiler (cc)".into()));
    };
    if !Path::new("/usr/include/gssapi/gssapi_ext.h").is_file() {
        return Err(CompileError::Missing(
            "MIT GSSAPI headers missing (Debian package libkrb5-dev; scripts/install-deps.sh installs it)"
                .into(),
        ));
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(src);
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(out);
    let output = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-lgssapi_krb5")
        .args(libs)
        .output()
        .map_err(|e| CompileError::Failed(format!("cannot run cc: {e}")))?;
    if !output.status.success() {
        return Err(CompileError::Failed(format!(
            "cc {} failed:\n{}{}",
            src.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(exe)
}

/// Why a C program is not available.
#[derive(Debug)]
pub enum CompileError {
    /// A build prerequisite is not installed: skip.
    Missing(String),
    /// It should have compiled: fail.
    Failed(String),
}

/// The plugin to test, or `None` after printing a SKIP notice / panicking as `tests/mit_samples.rs` does.
pub fn plugin_path(test: &str) -> Option<PathBuf> {
    match crate::common::plugin() {
        Plugin::Found { path, .. } => Some(path),
        Plugin::NoEntryPoints(p) => panic!("{} exports no GSSAPI entry points", p.display()),
        Plugin::Missing(why) => {
            crate::common::skip(test, &why);
            None
        }
    }
}

/// Run `program` (with `prefix` before it, e.g. valgrind) in `env`, with `HANDSHAKE_HOST` set to this
/// machine's host name, killed after `limit`.
pub fn run_in_env(env: &GssEnv, prefix: &[String], program: &Path, limit: Duration) -> Outcome {
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    };
    env.apply(&mut cmd);
    cmd.env("HANDSHAKE_HOST", crate::common::hostname());
    let log = env.dir.path().join(format!(
        "{}.log",
        program.file_name().unwrap_or_default().to_string_lossy()
    ));
    run_bounded(cmd, &log, limit)
}

/// The number on the line of `out` that starts with `prefix`, right after it.
pub fn number_after(out: &str, prefix: &str) -> Option<u64> {
    let line = out.lines().find(|l| l.starts_with(prefix))?;
    line[prefix.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Runs tests/c/concurrency.c (built as `exe_name`) in `env` with `threads` x `handshakes` and the `extra`
/// variables, killed after `limit`, and asserts what every run must show: it passed every phase and counted
/// `threads * handshakes` parallel successes. `None` after a visible SKIP when it cannot be built here.
pub fn run_concurrency(
    test: &str,
    exe_name: &str,
    env: &GssEnv,
    extra: &[(&str, &std::ffi::OsStr)],
    (threads, handshakes): (u64, u64),
    limit: Duration,
) -> Option<Outcome> {
    let exe = compile_or_skip(test, "concurrency.c", exe_name, &["-lpthread"])?;
    let mut cmd = Command::new(&exe);
    env.apply(&mut cmd);
    cmd.env("HANDSHAKE_HOST", crate::common::hostname())
        .env("CONC_THREADS", threads.to_string())
        .env("CONC_HANDSHAKES", handshakes.to_string())
        .envs(extra.iter().copied());
    let out = run_bounded(cmd, &env.dir.path().join(format!("{exe_name}.log")), limit);
    println!("{}", out.output);
    assert!(
        out.success(),
        "{test}: concurrency.c failed: {:?}\n{}",
        out.status,
        out.output
    );
    assert_eq!(
        number_after(&out.output, "ok parallel: "),
        Some(threads * handshakes),
        "{}",
        out.output
    );
    assert!(
        out.output.contains("concurrency: all phases passed"),
        "{}",
        out.output
    );
    Some(out)
}
