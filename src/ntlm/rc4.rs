//! RC4 with a state that can be saved and restored: to be filled by the crypto work.
#![forbid(unsafe_code)]
