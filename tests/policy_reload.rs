//! The policy in force is kept for at most `policy::RECHECK_AFTER` (one second) between looks at the file
//! (docs/policy.md "Where the policy comes from"): a file changed in place mid-process is honoured within that
//! time; pointing `GSS_NEGOTIATE_POLICY` at another file is honoured at once; a file that turns invalid is
//! refused (fail closed) within that time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gss_negotiate::policy::{current, Rule, RECHECK_AFTER};

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `current()` until `done` holds; returns how long that took (panics after 3 × RECHECK_AFTER).
fn until(mut done: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !done() {
        assert!(
            t0.elapsed() < RECHECK_AFTER * 3,
            "policy change not seen after {:?}",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

#[test]
fn a_changed_policy_file_is_honoured_within_the_recheck_time() {
    let dir =
        Dir(std::env::temp_dir().join(format!("gssneg-policy-reload-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let a = dir.0.join("a.conf");
    std::fs::write(&a, "ntlm.outgoing = deny\n").unwrap();
    std::env::set_var("GSS_NEGOTIATE_POLICY", &a);
    assert_eq!(current().unwrap().outgoing, Rule::Deny);

    // The same file rewritten in place (another size, so the change is seen even with a coarse mtime).
    let changed = Instant::now();
    std::fs::write(&a, "ntlm.outgoing = audit   \n").unwrap();
    let took = until(|| current().unwrap().outgoing == Rule::Audit);
    assert!(
        changed.elapsed() <= RECHECK_AFTER + Duration::from_millis(500),
        "took {took:?}"
    );

    // Another file through the variable: at once, without waiting.
    let b = dir.0.join("b.conf");
    std::fs::write(&b, "ntlm.outgoing = allow\n").unwrap();
    std::env::set_var("GSS_NEGOTIATE_POLICY", &b);
    assert_eq!(current().unwrap().outgoing, Rule::Allow);
    std::env::set_var("GSS_NEGOTIATE_POLICY", &a);
    assert_eq!(current().unwrap().outgoing, Rule::Audit);

    // The file turns invalid: refused within the recheck time, and kept refused (errors are not cached).
    std::fs::write(&a, "ntlm.outgoing = perhaps\n").unwrap();
    until(|| current().is_err());
    assert!(current().is_err());
    std::env::remove_var("GSS_NEGOTIATE_POLICY");
}
