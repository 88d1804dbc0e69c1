//! Every path a password takes is wiped before its memory is released (issue 10, defect 8): the user file
//! (first read, re-read after a change, a file large enough to make a growing read buffer reallocate), the
//! cred store's `password`, and `gss_acquire_cred_with_password`; and the MD4, MD5 and HMAC-MD5 states the
//! NTLM core hashes passwords and keys with (the RustCrypto crates' states are the control that fails). The
//! scanning allocator of `tests/common/scan.rs` checks every freed heap block for the password, as typed and in UTF-16LE (the form
//! NTOWFv1 hashes), and for its NT hash.
//!
//! The C entry points are called in-process: the test binary links the crate, whose `#[no_mangle]` exports
//! are the functions MIT's mechglue calls.

#[path = "common/scan.rs"]
mod scan;

use std::ffi::{c_char, c_void, CString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gss_negotiate::creds::userfile::UserFileStore;
use gss_negotiate::creds::{CredentialLookup, UserSecrets};
use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::secret::{utf16le, Password};
use scan::Scan;

/// 16 bytes, the scanner's needle size.
const PASSWORD: &str = "Wipe-Me-Plz#1616";

#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
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

extern "C" {
    fn gss_import_name(minor: *mut u32, buf: *mut Buffer, ty: *mut c_void, out: *mut Handle)
        -> u32;
    fn gss_release_name(minor: *mut u32, name: *mut Handle) -> u32;
    fn gss_release_cred(minor: *mut u32, cred: *mut Handle) -> u32;
    fn gss_acquire_cred_from(
        minor: *mut u32,
        name: Handle,
        time_req: u32,
        mechs: *mut c_void,
        usage: i32,
        store: *const KeyValueSet,
        out: *mut Handle,
        actual: *mut c_void,
        time_rec: *mut u32,
    ) -> u32;
    fn gssspi_acquire_cred_with_password(
        minor: *mut u32,
        name: Handle,
        password: *mut Buffer,
        time_req: u32,
        mechs: *mut c_void,
        usage: i32,
        out: *mut Handle,
        actual: *mut c_void,
        time_rec: *mut u32,
    ) -> u32;
}

/// The needles: the password as typed, its first 8 characters in UTF-16LE, and its NT hash.
fn needles() -> Vec<(&'static str, [u8; 16])> {
    let typed: [u8; 16] = PASSWORD.as_bytes().try_into().expect("16 bytes");
    let wide: [u8; 16] = utf16le(PASSWORD)[..16].try_into().expect("16 bytes");
    let nt = *ntowfv1(&Password::new(PASSWORD)).as_bytes();
    vec![
        ("the password", typed),
        ("the UTF-16LE password", wide),
        ("the NT hash", nt),
    ]
}

/// Runs `step` once per needle with the scanner armed; fails naming the needle some freed block still held.
fn assert_wiped(what: &str, step: impl FnMut()) {
    assert_wiped_of(what, needles(), step)
}

fn assert_wiped_of(what: &str, needles: Vec<(&'static str, [u8; 16])>, mut step: impl FnMut()) {
    for (needle_name, needle) in needles {
        let scan = Scan::arm(&needle);
        step();
        let (hits, scanned) = scan.finish();
        assert!(
            scanned > 0,
            "{what}: nothing was freed, the scan proves nothing"
        );
        assert_eq!(
            hits, 0,
            "{what}: {hits} freed heap blocks still held {needle_name}"
        );
    }
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gss-negotiate-wipe-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("users")
}

fn write_mode(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// A user file whose password line follows `padding` bytes of comments (a big file makes a growing read
/// buffer reallocate after it has read the password when the line is early; here it is first).
fn user_file(extra_user: bool, padding: usize) -> Vec<u8> {
    let mut text = format!("CORP:alice:{PASSWORD}\n:bob:{PASSWORD}\nalice2:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C:\n");
    if extra_user {
        text.push_str("CORP:carol:other\n");
    }
    while text.len() < padding {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    text.into_bytes()
}

fn found(s: Option<UserSecrets>) {
    assert_eq!(
        s.expect("alice found").nt_hash,
        ntowfv1(&Password::new(PASSWORD))
    );
}

#[test]
fn a_user_file_lookup_frees_no_unwiped_password() {
    let _only_us = scan::exclusive();
    for padding in [0, 200_000] {
        let path = temp(&format!("lookup-{padding}"));
        let bytes = user_file(false, padding);
        write_mode(&path, &bytes);
        assert_wiped(&format!("lookup in a {}-byte file", bytes.len()), || {
            let store = UserFileStore::new(&path);
            found(store.lookup("alice", "CORP"));
            found(store.lookup("bob", "ANY"));
            drop(store);
        });
    }
}

#[test]
fn a_user_file_reload_frees_no_unwiped_password() {
    let _only_us = scan::exclusive();
    let path = temp("reload");
    let v1 = user_file(false, 50_000);
    let v2 = user_file(true, 70_000);
    write_mode(&path, &v1);
    let store = UserFileStore::new(&path);
    found(store.lookup("alice", "CORP"));
    let mut flip = false;
    assert_wiped("a re-read after the file changed", || {
        flip = !flip;
        // Prepared bytes: writing them copies nothing to the heap.
        std::fs::write(&path, if flip { &v2 } else { &v1 }).expect("rewrite");
        found(store.lookup("alice", "CORP"));
        assert_eq!(store.lookup("carol", "CORP").is_some(), flip);
    });
    drop(store);
}

fn import_user(name: &str) -> Handle {
    let text = name.as_bytes();
    let mut buf = Buffer {
        length: text.len(),
        value: text.as_ptr() as *mut c_void,
    };
    let (mut minor, mut out) = (0u32, std::ptr::null_mut());
    // SAFETY: buf points at `text`, alive for the call; out is writable.
    let major = unsafe { gss_import_name(&mut minor, &mut buf, std::ptr::null_mut(), &mut out) };
    assert_eq!(major, 0, "gss_import_name: minor {minor:#x}");
    out
}

fn release(mut name: Handle, mut cred: Handle) {
    let mut minor = 0;
    // SAFETY: both handles came from the plugin and are released once.
    unsafe {
        assert_eq!(gss_release_cred(&mut minor, &mut cred), 0);
        assert_eq!(gss_release_name(&mut minor, &mut name), 0);
    }
}

#[test]
fn a_cred_store_acquire_frees_no_unwiped_password() {
    let _only_us = scan::exclusive();
    let key = CString::new("password").unwrap();
    let value = CString::new(PASSWORD).unwrap();
    let domain_key = CString::new("ntlmssp_domain").unwrap();
    let domain = CString::new("CORP").unwrap();
    let mut elements = [
        KeyValue {
            key: key.as_ptr(),
            value: value.as_ptr(),
        },
        KeyValue {
            key: domain_key.as_ptr(),
            value: domain.as_ptr(),
        },
    ];
    let set = KeyValueSet {
        count: 2,
        elements: elements.as_mut_ptr(),
    };
    assert_wiped("gss_acquire_cred_from with a cred-store password", || {
        let name = import_user("alice");
        let (mut minor, mut cred) = (0u32, std::ptr::null_mut());
        // SAFETY: every pointer is valid or NULL; usage 1 = GSS_C_INITIATE.
        let major = unsafe {
            gss_acquire_cred_from(
                &mut minor,
                name,
                0,
                std::ptr::null_mut(),
                1,
                &set,
                &mut cred,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(major, 0, "gss_acquire_cred_from: minor {minor:#x}");
        release(name, cred);
    });
}

#[test]
fn a_cred_store_nthash_acquire_frees_no_unwiped_hash() {
    let _only_us = scan::exclusive();
    let nt = *ntowfv1(&Password::new(PASSWORD)).as_bytes();
    let hex: String = nt.iter().map(|b| format!("{b:02x}")).collect();
    let key = CString::new("ntlmssp_nthash").unwrap();
    let value = CString::new(hex.clone()).unwrap();
    let mut elements = [KeyValue {
        key: key.as_ptr(),
        value: value.as_ptr(),
    }];
    let set = KeyValueSet {
        count: 1,
        elements: elements.as_mut_ptr(),
    };
    let hex_head: [u8; 16] = hex.as_bytes()[..16].try_into().unwrap();
    let hex_tail: [u8; 16] = hex.as_bytes()[16..].try_into().unwrap();
    let needles = vec![
        ("the hex NT hash (first half)", hex_head),
        ("the hex NT hash (second half)", hex_tail),
        ("the NT hash", nt),
    ];
    assert_wiped_of(
        "gss_acquire_cred_from with a cred-store ntlmssp_nthash",
        needles,
        || {
            let name = import_user("CORP\\alice");
            let (mut minor, mut cred) = (0u32, std::ptr::null_mut());
            // SAFETY: every pointer is valid or NULL; usage 1 = GSS_C_INITIATE.
            let major = unsafe {
                gss_acquire_cred_from(
                    &mut minor,
                    name,
                    0,
                    std::ptr::null_mut(),
                    1,
                    &set,
                    &mut cred,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            assert_eq!(major, 0, "gss_acquire_cred_from: minor {minor:#x}");
            release(name, cred);
        },
    );
}

#[test]
fn an_acquire_with_password_frees_no_unwiped_password() {
    let _only_us = scan::exclusive();
    let password = PASSWORD.as_bytes();
    assert_wiped("gss_acquire_cred_with_password", || {
        let name = import_user("CORP\\alice");
        let mut buf = Buffer {
            length: password.len(),
            value: password.as_ptr() as *mut c_void,
        };
        let (mut minor, mut cred) = (0u32, std::ptr::null_mut());
        // SAFETY: every pointer is valid or NULL; usage 1 = GSS_C_INITIATE.
        let major = unsafe {
            gssspi_acquire_cred_with_password(
                &mut minor,
                name,
                &mut buf,
                0,
                std::ptr::null_mut(),
                1,
                &mut cred,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(major, 0, "gss_acquire_cred_with_password: minor {minor:#x}");
        release(name, cred);
    });
}

/// Boxes the state `make` builds (so its memory is a heap block the scanner sees when it is freed), lets `feed`
/// pass it the secret, then drops it with the scanner armed; returns how many freed blocks still held the secret.
fn hits_when_dropped<T>(
    secret: &[u8; 16],
    make: impl FnOnce() -> T,
    feed: impl FnOnce(&mut T),
) -> usize {
    let mut state = Box::new(make());
    feed(&mut state);
    let scan = Scan::arm(secret);
    drop(state);
    let (hits, scanned) = scan.finish();
    assert!(scanned > 0, "nothing was freed, the scan proves nothing");
    hits
}

#[test]
fn md4_md5_and_hmac_md5_states_are_wiped_when_dropped() {
    // MD4 hashes the password (NTOWFv1), MD5 hashes keys (SEALKEY, KXKEY), HMAC-MD5 is keyed with the NT hash
    // and the session keys: their states and buffered input are key material.
    use gss_negotiate::ntlm::bulk::{HmacMd5, Md5};
    use gss_negotiate::ntlm::md4::Md4;
    let _only_us = scan::exclusive();
    let secret: [u8; 16] = *b"\x8eKey-M4t3r1al\x07!\xc3";
    // The control: the RustCrypto states the NTLM core used before (md4 0.10, md-5 0.10, hmac 0.12 have no
    // zeroize) keep the buffered secret when dropped, so this check can fail.
    {
        use md5::Digest;
        let md4_crate = hits_when_dropped(&secret, md4::Md4::new, |h| h.update(secret));
        let md5_crate = hits_when_dropped(&secret, md5::Md5::new, |h| h.update(secret));
        let hmac_crate = hits_when_dropped(
            &secret,
            || <hmac::Hmac<md5::Md5> as hmac::Mac>::new_from_slice(b"key").expect("any key length"),
            |h| hmac::Mac::update(h, &secret),
        );
        assert!(
            md4_crate > 0 && md5_crate > 0 && hmac_crate > 0,
            "control: the crates' states should still hold the secret ({md4_crate}, {md5_crate}, {hmac_crate})"
        );
    }
    assert_eq!(
        hits_when_dropped(&secret, Md4::new, |h| h.update(&secret)),
        0,
        "src/ntlm/md4.rs"
    );
    assert_eq!(
        hits_when_dropped(&secret, Md5::new, |h| h.update(&secret)),
        0,
        "src/ntlm/bulk.rs Md5"
    );
    assert_eq!(
        hits_when_dropped(&secret, || HmacMd5::new(b"key"), |h| h.update(&secret)),
        0,
        "src/ntlm/bulk.rs HmacMd5"
    );
}
