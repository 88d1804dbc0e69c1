//! The C boundary: the `gss_*` / `gssspi_*` symbols MIT's mechglue resolves by name (`build_dynamicMech` in
//! krb5 `src/lib/gssapi/mechglue/g_initialize.c`). The only module with `unsafe`.
//!
//! Each export is thin: NULL checks → [`util::guard`] (panic boundary, minor status) → a safe function returning
//! `Result<u32, GssError>`. We never export `gss_mech_initialize` nor `gssspi_query_mechanism_info`, and we
//! never link libgssapi_krb5 (ARCHITECTURE.md §2).
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod context;
pub mod cred;
pub(crate) mod dl;
pub(crate) mod handles;
pub mod interposer;
pub mod iov;
pub mod mech;
pub mod mechglue;
pub mod name;
pub(crate) mod sys;
pub(crate) mod syslog;
pub mod types;
pub(crate) mod util;
pub mod wbclient;
