//! Concurrency through MIT's mechglue (`tests/c/concurrency.c`, linked with `-lgssapi_krb5 -lpthread`, never
//! with the plugin): threads doing whole handshakes with wrap/unwrap and MIC both ways, each as its own user;
//! contexts begun or established in one thread and continued, used and deleted in another (through a queue);
//! and handshakes while another thread rewrites `NTLM_USER_FILE` by atomic rename and in place. The program
//! fails on any wrong result: a wrong password or unknown user authenticated, an acceptor naming another user
//! than the initiator's, a failure for a user every version of the file has (rename), a calling error, or an
//! answer that differs from the file on disk while it stood still for a whole handshake.
//!
//! `GSS_CONC_THREADS` / `GSS_CONC_HANDSHAKES` (default 8 × 100, about 2 s in a debug build) set the size;
//! SECURITY.md records the full 8 × 500 run.

mod common;
#[path = "common/cprog.rs"]
mod cprog;

use cprog::number_after;
use std::time::Duration;

fn count(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

#[test]
fn threads_handoff_and_user_file_rewrites_give_no_wrong_result() {
    let test = "threads_handoff_and_user_file_rewrites_give_no_wrong_result";
    let Some(plugin) = cprog::plugin_path(test) else {
        return;
    };
    let threads = count("GSS_CONC_THREADS", 8);
    let handshakes = count("GSS_CONC_HANDSHAKES", 100);
    let env = common::GssEnv::new("concurrency", &plugin).expect("temp env");
    let Some(out) = cprog::run_concurrency(
        test,
        "concurrency",
        &env,
        &[],
        (u64::from(threads), u64::from(handshakes)),
        Duration::from_secs(120),
    ) else {
        return;
    };
    let producers = u64::from(threads / 2) * u64::from(handshakes);
    assert_eq!(
        number_after(&out.output, "ok handoff: "),
        Some(producers / 2),
        "established contexts handed off:\n{}",
        out.output
    );
    for mode in ["rename", "in place"] {
        let prefix = format!("ok reload ({mode}): ");
        assert!(
            number_after(&out.output, &prefix).is_some_and(|n| n > 0),
            "no rewrites in mode {mode}:\n{}",
            out.output
        );
        assert!(
            out.output
                .lines()
                .any(|l| l.starts_with(&prefix) && l.ends_with(", 0 wrong results")),
            "{}",
            out.output
        );
    }
}
