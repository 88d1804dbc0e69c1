//! The NTLM protocol core (MS-NLMP): wire formats (§2.2), crypto (§3.3, §3.4.4, §3.4.5), session security
//! (§3.4) and the initiator/acceptor state machines (§3.1, §3.2).
//!
//! Everything here is safe Rust with no C types; the GSSAPI layer drives it in-process.
#![forbid(unsafe_code)]

pub mod acceptor;
pub mod bulk;
pub mod config;
pub mod context;
pub mod crypto;
pub mod env;
pub mod error;
pub mod flags;
pub mod initiator;
pub mod md4;
pub mod md5x2;
pub mod md5x4;
pub mod rc4;
pub mod secret;
pub mod security;
pub mod validator;
pub mod wire;
