//! The C headers: include/gss_negotiate.h must equal what cbindgen generates from src/oids.rs (regenerate with
//! `GSS_NEGOTIATE_BLESS=1 cargo test --test header`), and tests/c/abi_check.c must compile against MIT's
//! <gssapi/gssapi.h> with both our public header and a test-only header that declares every export with MIT's
//! types — so gcc compares our signatures with MIT's declarations (ARCHITECTURE.md §4).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(config: &Path, sources: &[&str]) -> String {
    let cfg = cbindgen::Config::from_file(config).expect("cbindgen config");
    let mut b = cbindgen::Builder::new().with_config(cfg);
    for s in sources {
        b = b.with_src(root().join(s));
    }
    let mut out = Vec::new();
    b.generate().expect("cbindgen generation").write(&mut out);
    String::from_utf8(out).expect("UTF-8 header")
}

fn public_header() -> String {
    generate(&root().join("cbindgen.toml"), &["src/oids.rs"])
}

#[test]
fn public_header_is_up_to_date() {
    let generated = public_header();
    let path = root().join("include/gss_negotiate.h");
    if std::env::var_os("GSS_NEGOTIATE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write header");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/gss_negotiate.h is stale: run GSS_NEGOTIATE_BLESS=1 cargo test --test header"
    );
}

#[test]
fn public_header_declares_no_functions() {
    let h = public_header();
    assert!(h.contains("GSS_NEGOTIATE_NTLMSSP_OID_STRING"));
    let code = h
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with("/*") && !l.starts_with('*'));
    for line in code {
        assert!(
            !line.contains('('),
            "the public header must stay constants-only: {line}"
        );
    }
}

/// Decodes the `"\xNN..."` string of `#define name "..."` in the header.
fn define_bytes(header: &str, name: &str) -> Vec<u8> {
    let line = header
        .lines()
        .find(|l| l.starts_with(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("{name} not in header"));
    let quoted = line.split('"').nth(1).expect("quoted value");
    quoted
        .split("\\x")
        .filter(|s| !s.is_empty())
        .map(|h| u8::from_str_radix(h, 16).expect("hex escape"))
        .collect()
}

#[test]
fn header_oid_strings_match_the_rust_constants() {
    use gss_negotiate::oids;
    let h = public_header();
    let pairs: [(&str, &[u8]); 6] = [
        ("GSS_NEGOTIATE_NTLMSSP_OID_STRING", oids::NTLMSSP),
        (
            "GSS_NEGOTIATE_SPNEGO_REQUIRE_MIC_OID_STRING",
            oids::SPNEGO_REQUIRE_MIC,
        ),
        ("GSS_NEGOTIATE_SET_SEQ_NUM_OID_STRING", oids::SET_SEQ_NUM),
        ("GSS_NEGOTIATE_RESET_CRYPTO_OID_STRING", oids::RESET_CRYPTO),
        ("GSS_NEGOTIATE_DEBUG_OID_STRING", oids::DEBUG),
        ("GSS_NEGOTIATE_NEG_FLAGS_OID_STRING", oids::NEG_FLAGS),
    ];
    for (name, bytes) in pairs {
        assert_eq!(define_bytes(&h, name), bytes, "{name}");
    }
}

#[test]
fn abi_check_compiles_against_mit_headers() {
    if !Path::new("/usr/include/gssapi/gssapi.h").exists() {
        panic!("MIT GSSAPI headers missing: install libkrb5-dev");
    }
    let tmp = std::env::temp_dir().join(format!("gssneg-abi-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let exports = generate(
        &root().join("tests/c/cbindgen-exports.toml"),
        &["src/ffi/mech.rs", "src/ffi/name.rs", "src/ffi/cred.rs"],
    );
    for f in [
        "gss_display_status",
        "gss_acquire_cred_from",
        "gssspi_set_cred_option",
        "gss_localname",
    ] {
        assert!(
            exports.contains(f),
            "{f} missing from the generated export declarations"
        );
    }
    std::fs::write(tmp.join("gss_negotiate_exports.h"), exports).unwrap();
    let exe = tmp.join("abi_check");
    let out = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("include"))
        .arg("-I")
        .arg(&tmp)
        .arg(root().join("tests/c/abi_check.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "abi_check.c failed to compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run abi_check");
    assert!(
        run.status.success(),
        "abi_check failed:\n{}",
        String::from_utf8_lossy(&run.stdout)
    );
}
