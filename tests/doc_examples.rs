//! The examples of `docs/gss-negotiate.7.md` run as written (issue 10, defect 15: the example started
//! `gss-server -once` and then ran two clients, so the second was refused). The shell block of EXAMPLES is
//! taken from the document itself; only the library path, the port and the `/tmp` files are this test's own.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{free_port, plugin, run_bounded, samples, GssEnv, Plugin};

/// The first ```sh block after `## EXAMPLES`.
fn examples_shell_block() -> String {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/gss-negotiate.7.md"
    ))
    .expect("docs/gss-negotiate.7.md");
    let examples = doc
        .split_once("## EXAMPLES")
        .expect("an EXAMPLES section")
        .1;
    let block = examples.split_once("```sh\n").expect("a ```sh block").1;
    block
        .split_once("```")
        .expect("a closed block")
        .0
        .to_string()
}

#[test]
fn the_sample_programs_example_runs_as_written() {
    let test = "the_sample_programs_example_runs_as_written";
    let Some(samples) = samples(test) else { return };
    let lib = match plugin() {
        Plugin::Found { path, .. } => path,
        other => panic!("{test}: no plugin to test: {other:?}"),
    };
    let env = GssEnv::new(test, &lib).expect("test environment");
    let block = examples_shell_block();
    let first = block.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("LIB=") && first.contains(" PORT="),
        "the example's first line sets LIB and PORT (the test replaces it): {first}"
    );
    let port = free_port().expect("port");
    let script = block
        .replacen(first, &format!("LIB={} PORT={port}", lib.display()), 1)
        .replace("/tmp/", &format!("{}/", env.dir.path().display()));
    assert!(
        !script.contains("-once"),
        "the server must serve both clients:\n{script}"
    );
    // Line-buffered output (the server is stopped by a signal and would lose a full buffer).
    let mut cmd = match samples.stdbuf.as_ref() {
        Some(stdbuf) => {
            let mut c = Command::new(stdbuf);
            c.args(["-oL", "-eL", "bash", "-e", "-c"]);
            c
        }
        None => {
            let mut c = Command::new("bash");
            c.args(["-e", "-c"]);
            c
        }
    };
    cmd.arg(&script);
    env.apply(&mut cmd);
    let out = run_bounded(
        cmd,
        &env.dir.path().join("example.log"),
        Duration::from_secs(60),
    );
    assert!(
        out.success(),
        "the example failed:\n{script}\n---\n{}",
        out.output
    );
    assert_eq!(
        out.output.matches("Signature verified.").count(),
        2,
        "both clients must verify the server's signature:\n{}",
        out.output
    );
    if samples.stdbuf.is_some() {
        assert_eq!(
            out.output
                .matches("Accepted connection: \"TESTDOM\\testuser\"")
                .count(),
            2,
            "{}",
            out.output
        );
    }
}
