//! scripts/install.sh and scripts/uninstall.sh into a DESTDIR, with the build in a CARGO_TARGET_DIR other than
//! ./target (the library, the command and its man pages are taken from there), and the check that follows.
#![cfg(feature = "cli")]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn script(name: &str, destdir: &Path, target: &Path) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts").join(name))
        .env("DESTDIR", destdir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("GSS_MECH_CONFIG")
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .args([
            "--libdir",
            "/usr/lib/x86_64-linux-gnu",
            "--prefix",
            "/usr/local",
        ])
        .output()
        .expect("run script");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn install_sh_takes_the_build_from_cargo_target_dir() {
    let plugin = match plugin() {
        Plugin::Found { path, .. } => path,
        other => panic!("no plugin: {other:?}"),
    };
    let tmp = TempDir::new("install").unwrap();
    // A target directory elsewhere, holding a "release" build (copies of the test build).
    let target = tmp.path().join("elsewhere-target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    std::fs::copy(&plugin, target.join("release/libgss_negotiate.so")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_gss-negotiate"),
        target.join("release/gss-negotiate"),
    )
    .unwrap();
    let dest = tmp.path().join("root");

    let (ok, out) = script("install.sh", &dest, &target);
    assert!(ok, "{out}");
    let lib = dest.join("usr/lib/x86_64-linux-gnu/gss-negotiate/libgss_negotiate.so");
    assert_eq!(
        std::fs::read(&lib).unwrap(),
        std::fs::read(&plugin).unwrap(),
        "library from CARGO_TARGET_DIR"
    );
    let conf = std::fs::read_to_string(dest.join("etc/gss/mech.d/zz-gss-negotiate.conf")).unwrap();
    assert!(
        conf.contains(
            "1.3.6.1.4.1.311.2.2.10    /usr/lib/x86_64-linux-gnu/gss-negotiate/libgss_negotiate.so"
        ),
        "{conf}"
    );
    assert!(dest.join("usr/local/bin/gss-negotiate").is_file(), "{out}");
    assert!(
        dest.join("usr/local/share/man/man1/gss-negotiate.1")
            .is_file(),
        "{out}"
    );
    assert!(
        dest.join("usr/local/share/man/man5/gss-negotiate.5")
            .is_file(),
        "{out}"
    );
    // The check after installing reads the staged tree and finds our library there.
    assert!(out.contains("NTLMSSP is served by gss-negotiate"), "{out}");

    let (ok, out) = script("uninstall.sh", &dest, &target);
    assert!(ok, "{out}");
    assert!(
        !lib.exists() && !dest.join("usr/local/bin/gss-negotiate").exists(),
        "{out}"
    );
    assert!(
        !dest.join("etc/gss/mech.d/zz-gss-negotiate.conf").exists(),
        "{out}"
    );
    assert!(
        !dest
            .join("usr/local/share/man/man1/gss-negotiate.1")
            .exists(),
        "{out}"
    );
    assert!(
        out.contains("no configuration line names the NTLMSSP OID"),
        "{out}"
    );
}
