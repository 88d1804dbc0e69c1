//! Secret material: passwords, NT/LM hashes, session keys.
//!
//! Every type here zeroizes its bytes on drop, prints `<redacted>` in `Debug`, and compares in constant time.
#![forbid(unsafe_code)]

use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Compares two byte strings in constant time (the lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A fixed-size stack buffer that holds secret bytes and is wiped on drop. Like `Zeroizing<[u8; N]>`, but
/// wiped as one slice (a `memset` behind an optimisation barrier, zeroize's slice path) instead of `N`
/// single volatile byte writes (its array path), which matters for the 256- to 512-byte buffers of the
/// handshake.
pub struct Wiped<const N: usize>(pub [u8; N]);

impl<const N: usize> Wiped<N> {
    /// Takes ownership of `bytes`.
    pub const fn new(bytes: [u8; N]) -> Self {
        Wiped(bytes)
    }
}

impl<const N: usize> core::ops::Deref for Wiped<N> {
    type Target = [u8; N];
    fn deref(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> core::ops::DerefMut for Wiped<N> {
    fn deref_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }
}

impl<const N: usize> Wiped<N> {
    /// Overwrites every byte with zero (what drop does).
    pub fn wipe(&mut self) {
        self.0.as_mut_slice().zeroize();
    }
}

impl<const N: usize> Drop for Wiped<N> {
    fn drop(&mut self) {
        self.wipe();
    }
}

/// A 16-byte secret: an NT hash, an LM hash, a session key, a signing or sealing key.
#[derive(Clone, Zeroize, ZeroizeOnDrop, Default)]
pub struct Key16([u8; 16]);

/// NTOWFv1(password) = MD4(UNICODE(password)) (MS-NLMP §3.3.1).
pub type NtHash = Key16;
/// LMOWFv1(password) (MS-NLMP §3.3.1).
pub type LmHash = Key16;
/// A session key (SessionBaseKey, KeyExchangeKey, ExportedSessionKey) or a derived signing/sealing key.
pub type SessionKey = Key16;

impl Key16 {
    /// Wraps 16 bytes.
    pub const fn new(bytes: [u8; 16]) -> Self {
        Key16(bytes)
    }
    /// Copies from a slice of exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 16] = bytes.try_into().ok()?;
        Some(Key16(arr))
    }
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
    /// Constant-time comparison with any byte string.
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        ct_eq(&self.0, other)
    }
    /// True when every byte is zero (constant time).
    pub fn is_zero(&self) -> bool {
        ct_eq(&self.0, &[0u8; 16])
    }
}

impl PartialEq for Key16 {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}
impl Eq for Key16 {}

impl fmt::Debug for Key16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key16(<redacted>)")
    }
}

/// A password as the user typed it; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, Default)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(p: impl Into<String>) -> Self {
        Password(p.into())
    }
    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The password as UTF-16LE bytes (zeroized on drop).
    pub fn utf16le(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(utf16le(&self.0))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A variable-length secret byte string; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps bytes.
    pub fn new(v: Vec<u8>) -> Self {
        SecretBytes(v)
    }
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// Encodes a string as UTF-16LE (the "UNICODE" of MS-NLMP).
pub fn utf16le(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secret_bytes() {
        let k = Key16::new([0xAB; 16]);
        let p = Password::new("Passw0rd!");
        let s = SecretBytes::new(vec![0xCD; 5]);
        let all = format!("{k:?} {p:?} {s:?}");
        assert!(!all.contains("ab") && !all.contains("AB") && !all.contains("171"));
        assert!(!all.contains("Passw0rd"));
        assert!(!all.contains("cd") && !all.contains("205"));
    }

    #[test]
    fn key_compares_by_value() {
        assert_eq!(Key16::new([1; 16]), Key16::new([1; 16]));
        assert_ne!(Key16::new([1; 16]), Key16::new([2; 16]));
        assert!(Key16::new([1; 16]).ct_eq(&[1; 16]));
        assert!(!Key16::new([1; 16]).ct_eq(&[1; 15]));
        assert!(Key16::default().is_zero());
    }

    #[test]
    fn wiped_buffer_wipes_every_byte() {
        let mut w = Wiped::new([0x5A; 300]);
        w[299] = 1;
        w.wipe();
        assert!(w.iter().all(|b| *b == 0));
    }

    #[test]
    fn zeroize_clears_key() {
        let mut k = Key16::new([7; 16]);
        k.zeroize();
        assert_eq!(k.as_bytes(), &[0u8; 16]);
    }

    #[test]
    fn utf16le_encodes_non_ascii() {
        assert_eq!(utf16le("Aé"), vec![0x41, 0x00, 0xE9, 0x00]);
    }
}
