//! The SPNEGO interposer from python-gssapi (tests/python/interposer_loopback.py): initiator and acceptor in one
//! Python process with the interposer configuration, NTLM from the user file. Python loads its extension
//! modules without `RTLD_GLOBAL`, the case where a plugin's plain call to a `gss_*` name can bind to the wrong
//! function (ARCHITECTURE.md §7). The acceptor runs once with no credential (the interposer acquires its own)
//! and once with a SPNEGO credential; wrap/unwrap both ways, a MIC, and export/import of the acceptor context.

mod common;
mod interposer_common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{hostname, plugin, run_bounded, skip, GssEnv, Plugin};
use interposer_common::*;

/// python3 with python-gssapi and a private environment for the plugin; `None` after a visible SKIP.
fn start(test: &str) -> Option<(PathBuf, GssEnv)> {
    let Some(python) = common::peers::python_with_module("gssapi") else {
        skip(test, "no python3 can import gssapi (Debian python3-gssapi)");
        return None;
    };
    let so = match plugin() {
        Plugin::Found { path, .. } => path,
        Plugin::NoEntryPoints(p) => panic!("{} exports no gss_* entry points", p.display()),
        Plugin::Missing(why) => {
            skip(test, &why);
            return None;
        }
    };
    Some((python, GssEnv::new(test, &so).expect("temp env")))
}

#[test]
fn python_gssapi_negotiates_ntlm_through_the_interposer() {
    let test = "python_gssapi_negotiates_ntlm_through_the_interposer";
    let Some((python, env)) = start(test) else {
        return;
    };
    for mode in ["nocred", "cred"] {
        let side = Side::new(&env, Spnego::Ours, mode);
        let mut cmd = Command::new(&python);
        env.apply(&mut cmd);
        cmd.env("GSS_MECH_CONFIG", mech_conf(&env, Spnego::Ours))
            .env("GSS_NEGOTIATE_AUDIT", &side.audit)
            .arg(repo("tests/python/interposer_loopback.py"))
            .arg(hostname())
            .arg(mode);
        let log = env.dir.path().join(format!("python-{mode}.log"));
        let out = run_bounded(cmd, &log, Duration::from_secs(30));
        assert!(out.success(), "{mode}:\n{}", out.output);
        let line = out.output.lines().last().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON result");
        assert_eq!(v["mech"], "1.3.6.1.4.1.311.2.2.10", "{mode}: {v}");
        assert_eq!(v["initiator_mech"], "1.3.6.1.4.1.311.2.2.10", "{mode}: {v}");
        assert_eq!(v["peer"], "TESTDOM\\testuser", "{mode}: {v}");
        assert_eq!(v["to_acceptor"], "to the acceptor", "{mode}: {v}");
        assert_eq!(v["to_initiator"], "to the initiator", "{mode}: {v}");
        assert_eq!(v["imported_mech"], "1.3.6.1.4.1.311.2.2.10", "{mode}: {v}");
        assert_eq!(v["after_import"], "after import", "{mode}: {v}");
        if mode == "cred" {
            let first = out
                .output
                .lines()
                .find(|l| l.contains("cred_name"))
                .unwrap_or_default();
            let c: serde_json::Value = serde_json::from_str(first).expect("cred JSON");
            assert_eq!(c["cred_usage"], "accept", "{c}");
            let name = c["cred_name"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            // The default acceptor of the NTLM half is this host (displayed as the host name).
            assert!(name.contains(&hostname().to_ascii_lowercase()), "{c}");
        }
        let recs = side.spnego_records();
        assert_eq!(recs.len(), 2, "{mode}: {:#?}", side.records());
        assert!(recs
            .iter()
            .all(|r| r["chosen"] == "ntlm" && r["outcome"] == "success"));
        assert_eq!(
            side.records().len(),
            2,
            "{mode}: one record per side: {:#?}",
            side.records()
        );
    }
}

#[test]
fn a_context_exported_through_the_interposer_imports_in_another_process_with_it_only() {
    let test = "a_context_exported_through_the_interposer_imports_in_another_process_with_it_only";
    let Some((python, env)) = start(test) else {
        return;
    };
    let file = env.dir.path().join("exported.bin");
    let run = |spnego: Spnego, args: &[&str], tag: &str| {
        let mut cmd = Command::new(&python);
        env.apply(&mut cmd);
        cmd.env("GSS_MECH_CONFIG", mech_conf(&env, spnego))
            .arg(repo("tests/python/interposer_loopback.py"))
            .arg(hostname())
            .args(args)
            .arg(&file);
        let out = run_bounded(
            cmd,
            &env.dir.path().join(format!("{tag}.log")),
            Duration::from_secs(30),
        );
        assert!(out.success(), "{tag}:\n{}", out.output);
        let line = out.output.lines().last().unwrap_or_default().to_string();
        serde_json::from_str::<serde_json::Value>(&line).expect("JSON result")
    };
    run(Spnego::Ours, &["export"], "export");
    let v = run(Spnego::Ours, &["import"], "import-ours");
    assert_eq!(v["mech"], "1.3.6.1.4.1.311.2.2.10", "{v}");
    assert_eq!(v["message"], "for another process", "{v}");
    // Without the interposer line the mechglue does not know the concatenated OID it stamped the token with:
    // the import is refused cleanly (a limitation of MIT's stamping, README "SPNEGO interposer").
    let mut cmd = Command::new(&python);
    env.apply(&mut cmd);
    cmd.env("GSS_MECH_CONFIG", mech_conf(&env, Spnego::Mit))
        .arg(repo("tests/python/interposer_loopback.py"))
        .arg(hostname())
        .arg("import")
        .arg(&file);
    let out = run_bounded(
        cmd,
        &env.dir.path().join("import-mit.log"),
        Duration::from_secs(30),
    );
    assert!(!out.success(), "{}", out.output);
    assert!(out.output.contains("BadMechanismError"), "{}", out.output);
}
