//! The built cdylib as the mechglue sees it: its dynamic symbol table (only `gss_*` / `gssspi_*`, no
//! `gss_mech_initialize` / `gssspi_query_mechanism_info`, `gssspi_set_cred_option` present — ARCHITECTURE.md §2),
//! no `DT_NEEDED` on libgssapi_krb5, and the exports called through `dlopen`/`dlsym` with NULL and garbage
//! arguments: errors, never crashes.

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn cdylib() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // `cargo test` links the cdylib as target/<profile>/deps/libgss_negotiate.so (beside this test
        // executable) without copying it up to target/<profile>/; take the newest of the two, or build it.
        let exe = std::env::current_exe().expect("test exe");
        let deps = exe.parent().expect("deps dir").to_path_buf();
        let candidates = [
            deps.join("libgss_negotiate.so"),
            deps.parent()
                .expect("profile dir")
                .join("libgss_negotiate.so"),
        ];
        let newest = |c: &[PathBuf]| {
            c.iter()
                .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p.clone())))
                .max()
                .map(|(_, p)| p)
        };
        if let Some(p) = newest(&candidates) {
            return p;
        }
        let status = Command::new(env!("CARGO"))
            .args(["build", "--lib"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --lib");
        assert!(status.success());
        newest(&candidates).expect("libgss_negotiate.so not built")
    })
    .clone()
}

fn dynamic_symbols() -> Vec<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(cdylib())
        .output()
        .expect("run nm (binutils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(String::from))
        .collect()
}

#[test]
fn cdylib_exports_only_gss_and_gssspi_symbols() {
    let syms = dynamic_symbols();
    assert!(!syms.is_empty());
    for s in &syms {
        assert!(
            s.starts_with("gss_") || s.starts_with("gssspi_") || s.starts_with("gssi_"),
            "unexpected exported symbol {s}"
        );
    }
    // Every entry point issue 3 requires (MIT 1.20 `build_dynamicMech` names that apply to NTLM).
    for must in [
        "gss_acquire_cred",
        "gss_acquire_cred_from",
        "gssspi_acquire_cred_with_password",
        "gss_release_cred",
        "gss_inquire_cred",
        "gss_inquire_cred_by_mech",
        "gss_export_cred",
        "gss_import_cred",
        "gssspi_import_cred_by_mech",
        "gssspi_set_cred_option",
        "gss_init_sec_context",
        "gss_accept_sec_context",
        "gss_delete_sec_context",
        "gss_process_context_token",
        "gss_context_time",
        "gss_inquire_context",
        "gss_inquire_sec_context_by_oid",
        "gss_set_sec_context_option",
        "gss_export_sec_context",
        "gss_import_sec_context",
        "gssspi_import_sec_context_by_mech",
        "gss_get_mic",
        "gss_verify_mic",
        "gss_wrap",
        "gss_unwrap",
        "gss_wrap_size_limit",
        "gss_wrap_iov",
        "gss_unwrap_iov",
        "gss_wrap_iov_length",
        "gss_import_name",
        "gssspi_import_name_by_mech",
        "gss_display_name",
        "gss_compare_name",
        "gss_duplicate_name",
        "gss_export_name",
        "gss_release_name",
        "gss_inquire_name",
        "gss_get_name_attribute",
        "gss_localname",
        "gss_inquire_names_for_mech",
        "gss_indicate_mechs",
        "gss_inquire_attrs_for_mech",
        "gss_inquire_saslname_for_mech",
        "gss_inquire_mech_for_saslname",
        "gss_display_status",
        "gssspi_mech_invoke",
        // The SPNEGO interposer (ARCHITECTURE.md §7: needed, or used by real programs).
        "gss_mech_interposer",
        "gssi_acquire_cred",
        "gssi_acquire_cred_from",
        "gssi_acquire_cred_with_password",
        "gssi_release_cred",
        "gssi_set_neg_mechs",
        "gssi_inquire_cred",
        "gssi_import_name_by_mech",
        "gssi_release_name",
        "gssi_display_name",
        "gssi_inquire_name",
        "gssi_get_name_attribute",
        "gssi_localname",
        "gssi_export_name",
        "gssi_init_sec_context",
        "gssi_accept_sec_context",
        "gssi_delete_sec_context",
        "gssi_inquire_context",
        "gssi_context_time",
        "gssi_export_sec_context",
        "gssi_import_sec_context_by_mech",
        "gssi_get_mic",
        "gssi_verify_mic",
        "gssi_wrap",
        "gssi_unwrap",
        "gssi_wrap_size_limit",
        "gssi_display_status",
        "gssi_inquire_attrs_for_mech",
        "gssi_internal_release_oid",
        // Issue 11: what MIT's SPNEGO forwards to the negotiated mechanism (spnego_mech.c's method table).
        "gssi_inquire_sec_context_by_oid",
        "gssi_set_sec_context_option",
        "gssi_pseudo_random",
        "gssi_process_context_token",
        "gssi_wrap_iov",
        "gssi_unwrap_iov",
        "gssi_wrap_iov_length",
        "gssi_get_mic_iov",
        "gssi_verify_mic_iov",
        "gssi_get_mic_iov_length",
        "gssi_compare_name",
        "gssi_inquire_names_for_mech",
        "gssi_inquire_cred_by_oid",
        "gssi_store_cred",
        "gssi_store_cred_into",
        "gssi_acquire_cred_impersonate_name",
        "gssi_export_cred",
        "gssi_import_cred",
        "gssi_import_cred_by_mech",
    ] {
        assert!(syms.iter().any(|s| s == must), "{must} not exported");
    }
    for never in ["gss_mech_initialize", "gssspi_query_mechanism_info"] {
        assert!(
            !syms.iter().any(|s| s == never),
            "{never} must not be exported"
        );
    }
}

#[test]
fn cdylib_does_not_link_libgssapi_krb5() {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(cdylib())
        .output()
        .expect("run readelf (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NEEDED"),
        "readelf output unexpected:\n{text}"
    );
    assert!(
        !text.contains("gssapi"),
        "the plugin must not depend on the mechglue:\n{text}"
    );
}

#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
}
#[repr(C)]
struct Oid {
    length: u32,
    elements: *mut c_void,
}
#[repr(C)]
struct OidSet {
    count: usize,
    elements: *mut Oid,
}
#[repr(C)]
struct KeyValue {
    key: *const c_char,
    value: *const c_char,
}
#[repr(C)]
struct KeyValueSet {
    count: u32,
    elements: *mut KeyValue,
}

type Handle = *mut c_void;
const GSS_S_BAD_NAME: u32 = 2 << 16;
const GSS_S_NO_CRED: u32 = 7 << 16;
const GSS_S_CALL_INACCESSIBLE_READ: u32 = 1 << 24;
const GSS_S_CALL_INACCESSIBLE_WRITE: u32 = 2 << 24;
const GSS_S_UNAVAILABLE: u32 = 16 << 16;
const NT_USER_NAME: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x01";
const NTLMSSP: &[u8] = b"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a";

struct Lib(*mut c_void);
// SAFETY: the handle from dlopen may be used from any thread.
unsafe impl Sync for Lib {}
unsafe impl Send for Lib {}

fn lib() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let path = CString::new(cdylib().to_string_lossy().as_bytes()).unwrap();
        // SAFETY: path is NUL-terminated; loading our own library runs no foreign initialisers.
        let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!h.is_null(), "dlopen failed");
        Lib(h)
    })
}

/// Resolves `name` as a function pointer of type `F`.
unsafe fn sym<F: Copy>(name: &str) -> F {
    let cname = CString::new(name).unwrap();
    // SAFETY: the library handle is valid; cname is NUL-terminated.
    let p = unsafe { libc::dlsym(lib().0, cname.as_ptr()) };
    assert!(!p.is_null(), "{name} not found");
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: F is a function pointer type matching the C signature of `name` (caller's responsibility).
    unsafe { std::mem::transmute_copy(&p) }
}

fn oid(bytes: &[u8]) -> Oid {
    Oid {
        length: bytes.len() as u32,
        elements: bytes.as_ptr() as *mut c_void,
    }
}

fn take_buffer(b: &mut Buffer) -> Vec<u8> {
    // SAFETY: the plugin filled b with a malloc'd value of `length` bytes (or NULL when empty).
    let v = if b.value.is_null() {
        Vec::new()
    } else {
        unsafe { std::slice::from_raw_parts(b.value as *const u8, b.length) }.to_vec()
    };
    // SAFETY: malloc'd by the plugin (the mechglue frees these with free()).
    unsafe { libc::free(b.value) };
    v
}

type ImportName = unsafe extern "C" fn(*mut u32, *mut Buffer, *mut Oid, *mut Handle) -> u32;
type DisplayName = unsafe extern "C" fn(*mut u32, Handle, *mut Buffer, *mut *mut Oid) -> u32;
type ReleaseHandle = unsafe extern "C" fn(*mut u32, *mut Handle) -> u32;
type DisplayStatus =
    unsafe extern "C" fn(*mut u32, u32, c_int, *mut Oid, *mut u32, *mut Buffer) -> u32;
type IndicateMechs = unsafe extern "C" fn(*mut u32, *mut *mut OidSet) -> u32;
type AcquireFrom = unsafe extern "C" fn(
    *mut u32,
    Handle,
    u32,
    *mut OidSet,
    c_int,
    *const KeyValueSet,
    *mut Handle,
    *mut *mut OidSet,
    *mut u32,
) -> u32;
type InquireCred = unsafe extern "C" fn(
    *mut u32,
    Handle,
    *mut Handle,
    *mut u32,
    *mut c_int,
    *mut *mut OidSet,
) -> u32;
type SetCredOption = unsafe extern "C" fn(*mut u32, *mut Handle, *mut Oid, *mut Buffer) -> u32;

fn import_user(name: &str) -> Handle {
    let import: ImportName = unsafe { sym("gss_import_name") };
    let mut buf = Buffer {
        length: name.len(),
        value: name.as_ptr() as *mut c_void,
    };
    let mut ty = oid(NT_USER_NAME);
    let (mut minor, mut out) = (0u32, std::ptr::null_mut());
    // SAFETY: all pointers are valid locals.
    assert_eq!(
        unsafe { import(&mut minor, &mut buf, &mut ty, &mut out) },
        0
    );
    out
}

#[test]
fn name_round_trip_through_dlsym() {
    let display: DisplayName = unsafe { sym("gss_display_name") };
    let release: ReleaseHandle = unsafe { sym("gss_release_name") };
    let mut n = import_user("alice@CORP");
    let (mut minor, mut out, mut ty) = (
        0u32,
        Buffer {
            length: 0,
            value: std::ptr::null_mut(),
        },
        std::ptr::null_mut(),
    );
    // SAFETY: valid locals and a live handle.
    assert_eq!(unsafe { display(&mut minor, n, &mut out, &mut ty) }, 0);
    assert_eq!(take_buffer(&mut out), b"CORP\\alice");
    assert!(!ty.is_null());
    let stale = n;
    // SAFETY: as above.
    assert_eq!(unsafe { release(&mut minor, &mut n) }, 0);
    assert!(n.is_null());
    let mut again = stale;
    // SAFETY: releasing a stale handle must be detected, not freed twice.
    assert_eq!(unsafe { release(&mut minor, &mut again) }, GSS_S_BAD_NAME);
}

#[test]
fn null_and_garbage_handles_are_errors_not_crashes() {
    let display: DisplayName = unsafe { sym("gss_display_name") };
    let release: ReleaseHandle = unsafe { sym("gss_release_name") };
    let release_cred: ReleaseHandle = unsafe { sym("gss_release_cred") };
    let inquire: InquireCred = unsafe { sym("gss_inquire_cred") };
    let mut garbage_mem = [0x41u64; 8];
    let garbage = garbage_mem.as_mut_ptr() as Handle;
    let mut out = Buffer {
        length: 0,
        value: std::ptr::null_mut(),
    };
    let mut minor = 0u32;
    // SAFETY: every pointer is either NULL or a valid local; the garbage handle is readable memory that is not ours.
    unsafe {
        assert_eq!(
            display(&mut minor, garbage, &mut out, std::ptr::null_mut()),
            GSS_S_BAD_NAME
        );
        assert_ne!(minor, 0);
        assert_eq!(
            display(
                &mut minor,
                std::ptr::null_mut(),
                &mut out,
                std::ptr::null_mut()
            ),
            GSS_S_BAD_NAME
        );
        assert_eq!(
            display(
                std::ptr::null_mut(),
                garbage,
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            GSS_S_CALL_INACCESSIBLE_WRITE
        );
        assert_eq!(
            release(&mut minor, std::ptr::null_mut()),
            GSS_S_CALL_INACCESSIBLE_READ
        );
        let mut g = garbage;
        assert_eq!(release(&mut minor, &mut g), GSS_S_BAD_NAME);
        assert_eq!(release_cred(&mut minor, &mut g), GSS_S_NO_CRED);
        // A name handle is not a credential handle.
        let mut n = import_user("bob");
        let mut as_cred = n;
        assert_eq!(release_cred(&mut minor, &mut as_cred), GSS_S_NO_CRED);
        assert_eq!(
            inquire(
                &mut minor,
                n,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            GSS_S_NO_CRED
        );
        assert_eq!(release(&mut minor, &mut n), 0);
    }
    assert_eq!(
        garbage_mem, [0x41u64; 8],
        "garbage memory must not be written"
    );
}

#[test]
fn display_status_explains_the_last_minor_code() {
    let display: DisplayName = unsafe { sym("gss_display_name") };
    let status: DisplayStatus = unsafe { sym("gss_display_status") };
    let mut minor = 0u32;
    let mut out = Buffer {
        length: 0,
        value: std::ptr::null_mut(),
    };
    // SAFETY: valid locals.
    unsafe {
        assert_eq!(
            display(
                &mut minor,
                std::ptr::null_mut(),
                &mut out,
                std::ptr::null_mut()
            ),
            GSS_S_BAD_NAME
        );
        let (mut m2, mut ctx) = (0u32, 0u32);
        let mut mech = oid(NTLMSSP);
        assert_eq!(status(&mut m2, minor, 2, &mut mech, &mut ctx, &mut out), 0);
        let text = String::from_utf8(take_buffer(&mut out)).unwrap();
        assert!(text.contains("handle"), "{text}");
        assert_eq!(ctx, 0);
        // Major code with a supplementary bit: two messages through message_context.
        assert_eq!(
            status(
                &mut m2,
                GSS_S_BAD_NAME | 1,
                1,
                std::ptr::null_mut(),
                &mut ctx,
                &mut out
            ),
            0
        );
        assert!(String::from_utf8(take_buffer(&mut out))
            .unwrap()
            .contains("invalid name"));
        assert_eq!(ctx, 1);
        assert_eq!(
            status(
                &mut m2,
                GSS_S_BAD_NAME | 1,
                1,
                std::ptr::null_mut(),
                &mut ctx,
                &mut out
            ),
            0
        );
        assert!(String::from_utf8(take_buffer(&mut out))
            .unwrap()
            .contains("called again"));
        assert_eq!(ctx, 0);
    }
}

#[test]
fn indicate_mechs_returns_a_malloced_ntlmssp_set() {
    let indicate: IndicateMechs = unsafe { sym("gss_indicate_mechs") };
    let (mut minor, mut set) = (0u32, std::ptr::null_mut());
    // SAFETY: valid locals; the set is freed the way MIT's gss_release_oid_set does.
    unsafe {
        assert_eq!(indicate(&mut minor, &mut set), 0);
        assert_eq!((*set).count, 1);
        let o = &*(*set).elements;
        assert_eq!(
            std::slice::from_raw_parts(o.elements as *const u8, o.length as usize),
            NTLMSSP
        );
        libc::free(o.elements);
        libc::free((*set).elements as *mut c_void);
        libc::free(set as *mut c_void);
        assert_eq!(
            indicate(&mut minor, std::ptr::null_mut()),
            GSS_S_CALL_INACCESSIBLE_WRITE
        );
    }
}

#[test]
fn acceptor_cred_from_store_without_name_is_usable() {
    let acquire: AcquireFrom = unsafe { sym("gss_acquire_cred_from") };
    let inquire: InquireCred = unsafe { sym("gss_inquire_cred") };
    let set_opt: SetCredOption = unsafe { sym("gssspi_set_cred_option") };
    let release_cred: ReleaseHandle = unsafe { sym("gss_release_cred") };
    let (k, v) = (
        CString::new("keytab").unwrap(),
        CString::new("/etc/krb5.keytab").unwrap(),
    );
    let mut kv = [KeyValue {
        key: k.as_ptr(),
        value: v.as_ptr(),
    }];
    let store = KeyValueSet {
        count: 1,
        elements: kv.as_mut_ptr(),
    };
    let (mut minor, mut cred, mut usage) = (0u32, std::ptr::null_mut(), -1 as c_int);
    // SAFETY: valid locals and handles made by the plugin.
    unsafe {
        let major = acquire(
            &mut minor,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            2,
            &store,
            &mut cred,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        assert_eq!(major, 0, "minor {minor:#x}");
        assert_eq!(
            inquire(
                &mut minor,
                cred,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut usage,
                std::ptr::null_mut()
            ),
            0
        );
        assert_eq!(usage, 2);
        let mut neg_flags_oid = oid(b"\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01\x05");
        let mut flags = 0x6208_8215u32.to_ne_bytes();
        let mut value = Buffer {
            length: 4,
            value: flags.as_mut_ptr() as *mut c_void,
        };
        assert_eq!(
            set_opt(&mut minor, &mut cred, &mut neg_flags_oid, &mut value),
            0
        );
        let mut other = oid(NTLMSSP);
        assert_eq!(
            set_opt(&mut minor, &mut cred, &mut other, &mut value),
            GSS_S_UNAVAILABLE
        );
        assert_eq!(release_cred(&mut minor, &mut cred), 0);
    }
}

#[test]
fn initiator_cred_from_store_password() {
    let acquire: AcquireFrom = unsafe { sym("gss_acquire_cred_from") };
    let inquire: InquireCred = unsafe { sym("gss_inquire_cred") };
    let display: DisplayName = unsafe { sym("gss_display_name") };
    let release: ReleaseHandle = unsafe { sym("gss_release_name") };
    let release_cred: ReleaseHandle = unsafe { sym("gss_release_cred") };
    let keys = [
        ("password", "Passw0rd"),
        ("ntlmssp_domain", "CORP"),
        ("ccache", "FILE:/nonexistent"),
    ];
    let owned: Vec<(CString, CString)> = keys
        .iter()
        .map(|(k, v)| (CString::new(*k).unwrap(), CString::new(*v).unwrap()))
        .collect();
    let mut kv: Vec<KeyValue> = owned
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.as_ptr(),
            value: v.as_ptr(),
        })
        .collect();
    let store = KeyValueSet {
        count: kv.len() as u32,
        elements: kv.as_mut_ptr(),
    };
    let mut name = import_user("carol");
    let (mut minor, mut cred, mut cname, mut usage) = (
        0u32,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        -1 as c_int,
    );
    let mut out = Buffer {
        length: 0,
        value: std::ptr::null_mut(),
    };
    // SAFETY: valid locals and handles made by the plugin.
    unsafe {
        assert_eq!(
            acquire(
                &mut minor,
                name,
                0,
                std::ptr::null_mut(),
                1,
                &store,
                &mut cred,
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            0
        );
        assert_eq!(
            inquire(
                &mut minor,
                cred,
                &mut cname,
                std::ptr::null_mut(),
                &mut usage,
                std::ptr::null_mut()
            ),
            0
        );
        assert_eq!(usage, 1);
        assert_eq!(
            display(&mut minor, cname, &mut out, std::ptr::null_mut()),
            0
        );
        assert_eq!(take_buffer(&mut out), b"CORP\\carol");
        assert_eq!(release(&mut minor, &mut cname), 0);
        assert_eq!(release(&mut minor, &mut name), 0);
        assert_eq!(release_cred(&mut minor, &mut cred), 0);
    }
}
