//! gss-negotiate: a memory-safe GSSAPI mechanism for NTLM (MS-NLMP), loaded by MIT krb5's mechglue.
//!
//! Layout:
//! - [`ntlm`]: the protocol core (wire formats, crypto, session security, initiator and acceptor state
//!   machines). Plain safe Rust: `#![forbid(unsafe_code)]`, callable in-process.
//! - [`names`], [`creds`], [`status`], [`oids`]: the GSSAPI-level core (names, credentials, user file, status codes).
//! - [`spnego`]: strict DER and SPNEGO token codec (RFC 4178, MS-SPNG) and the SPNEGO initiator and acceptor
//!   state machines over a mechanism trait.
//! - [`policy`], [`audit`]: the NTLM policy (allow / audit / deny, exceptions, restart) and the audit records
//!   both the SPNEGO engines and raw NTLM write.
//! - `ffi` (private): the C boundary — the `gss_*` / `gssspi_*` entry points that the mechglue resolves by name.
//!   It is the only module allowed to use `unsafe`.
#![deny(unsafe_code)]

pub mod audit;
pub mod context;
pub mod creds;
pub mod debug;
mod ffi;
mod inline_bytes;
/// Kerberos through MIT's mechglue by function pointers, as a SPNEGO mechanism ([`mechglue::KerberosMech`]).
pub use ffi::mechglue;
pub mod name_attrs;
pub mod names;
pub mod ntlm;
pub mod oids;
pub mod policy;
pub mod spnego;
pub mod status;
