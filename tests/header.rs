//! The C headers: include/gss_negotiate.h must equal what cbindgen generates from src/oids.rs (regenerate with
//! `GSS_NEGOTIATE_BLESS=1 cargo test --test header`), and tests/c/abi_check.c must compile against MIT's
//! <gssapi/gssapi.h> with both our public header and a test-only header that declares every export with MIT's
//! types — so gcc compares our signatures with MIT's declarations (ARCHITECTURE.md §4). Every `#[no_mangle]`
//! function of `src/ffi/` is declared (names, credentials, mechanism, contexts, IOV), and each SPI entry point
//! MIT's public headers do not declare is checked against the type of its mechglue slot (`CHECK_SPI`).

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

/// The `#[no_mangle]` functions of `src/ffi/*.rs` — what the cdylib exports — and the files that define them.
fn ffi_exports() -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut files = Vec::new();
    // src/ffi and its subdirectories (the interposer's gssi_* live in src/ffi/interposer/).
    let mut dir = Vec::new();
    let mut todo = vec![root().join("src/ffi")];
    while let Some(d) = todo.pop() {
        for p in std::fs::read_dir(&d)
            .expect("src/ffi")
            .flatten()
            .map(|e| e.path())
        {
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                dir.push(p);
            }
        }
    }
    dir.sort();
    for path in dir {
        let text = std::fs::read_to_string(&path).expect("source");
        let lines: Vec<&str> = text.lines().collect();
        let mut any = false;
        for (i, line) in lines.iter().enumerate() {
            if line.trim() != "#[no_mangle]" {
                continue;
            }
            let decl = lines.get(i + 1).copied().unwrap_or_default();
            let name = decl
                .split("fn ")
                .nth(1)
                .and_then(|r| r.split('(').next())
                .unwrap_or_else(|| panic!("#[no_mangle] not followed by a fn: {decl}"));
            names.push(name.to_string());
            any = true;
        }
        if any {
            files.push(
                path.strip_prefix(root())
                    .expect("under root")
                    .display()
                    .to_string(),
            );
        }
    }
    names.sort();
    (names, files)
}

/// The functions a generated C header declares (`... name(` at the start of a declaration).
fn declared_functions(header: &str) -> Vec<String> {
    let mut names: Vec<String> = header
        .lines()
        .filter_map(|l| {
            let head = l.split('(').next()?;
            (l.contains('(') && !l.trim_start().starts_with(['*', '/', '#']))
                .then(|| {
                    head.split_whitespace()
                        .last()
                        .map(|n| n.trim_start_matches('*').to_string())
                })
                .flatten()
        })
        .filter(|n| n.starts_with("gss"))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether MIT's public headers declare `name`.
fn mit_declares(name: &str) -> bool {
    ["gssapi.h", "gssapi_ext.h", "gssapi_krb5.h"]
        .iter()
        .any(|h| {
            std::fs::read_to_string(Path::new("/usr/include/gssapi").join(h))
                .unwrap_or_default()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|w| w == name)
        })
}

#[test]
fn every_export_is_checked_against_mit() {
    if !Path::new("/usr/include/gssapi/gssapi.h").exists() {
        panic!("MIT GSSAPI headers missing: install libkrb5-dev");
    }
    let (exports, files) = ffi_exports();
    assert!(exports.len() >= 40, "only {} exports found", exports.len());
    let sources: Vec<&str> = files.iter().map(String::as_str).collect();
    let declared = declared_functions(&generate(
        &root().join("tests/c/cbindgen-exports.toml"),
        &sources,
    ));
    let undeclared: Vec<&String> = exports.iter().filter(|e| !declared.contains(e)).collect();
    assert!(
        undeclared.is_empty(),
        "exports the ABI check does not declare with MIT's types: {undeclared:?}"
    );
    // An export MIT's public headers do not declare (a mechglue SPI entry point) has no public prototype
    // to conflict with: abi_check.c must check it against the SPI's type (`CHECK_SPI(<name>, ...)`).
    let abi_check =
        std::fs::read_to_string(root().join("tests/c/abi_check.c")).expect("abi_check.c");
    let unchecked: Vec<&String> = exports
        .iter()
        .filter(|e| !mit_declares(e) && !abi_check.contains(&format!("CHECK_SPI({e},")))
        .collect();
    assert!(
        unchecked.is_empty(),
        "SPI exports without a type check in tests/c/abi_check.c: {unchecked:?}"
    );
}

#[test]
fn abi_check_compiles_against_mit_headers() {
    if !Path::new("/usr/include/gssapi/gssapi.h").exists() {
        panic!("MIT GSSAPI headers missing: install libkrb5-dev");
    }
    let tmp = std::env::temp_dir().join(format!("gssneg-abi-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (_, files) = ffi_exports();
    let sources: Vec<&str> = files.iter().map(String::as_str).collect();
    let exports = generate(&root().join("tests/c/cbindgen-exports.toml"), &sources);
    for f in [
        "gss_display_status",
        "gss_acquire_cred_from",
        "gssspi_set_cred_option",
        "gss_localname",
        "gss_init_sec_context",
        "gss_wrap_iov",
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
