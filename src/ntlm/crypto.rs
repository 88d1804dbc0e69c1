//! NTLM cryptographic functions, named after MS-NLMP: the one-way functions and responses of §3.3
//! (NTOWFv1/LMOWFv1, NTOWFv2, DESL, NTProofStr, LMv2), the key functions of §3.4.5 (KXKEY, SIGNKEY, SEALKEY),
//! the MIC of §3.1.5.1.2 and the channel-binding hash of §2.2.2.1 (MsvAvChannelBindings), plus the helper
//! primitives of §6 (MD5, HMAC_MD5, DES, RC4K).
//!
//! Every function is pure: same inputs, same output, no state. Secrets come in and go out in the types of
//! [`crate::ntlm::secret`], which zeroize on drop.
#![forbid(unsafe_code)]

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockEncrypt, KeyInit};
use zeroize::Zeroizing;

use crate::ntlm::bulk::{HmacKey, HmacMd5, Md5};
use crate::ntlm::flags::NegotiateFlags;
use crate::ntlm::md4::Md4;
use crate::ntlm::rc4::Rc4;
use crate::ntlm::secret::{utf16le, Key16, LmHash, NtHash, Password, SessionKey, Wiped};

/// Which end of the connection is computing keys: SIGNKEY/SEALKEY take a `Mode` ("Client" or "Server",
/// MS-NLMP §3.4.5.2, §3.4.5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The initiator.
    Client,
    /// The acceptor.
    Server,
}

impl Side {
    /// The other end.
    pub const fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// MS-NLMP §3.4.5.2: "session key to client-to-server signing key magic constant" with its NUL.
const CLIENT_SIGN_MAGIC: &[u8] = b"session key to client-to-server signing key magic constant\0";
/// MS-NLMP §3.4.5.2: the server-to-client signing constant with its NUL.
const SERVER_SIGN_MAGIC: &[u8] = b"session key to server-to-client signing key magic constant\0";
/// MS-NLMP §3.4.5.3: the client-to-server sealing constant with its NUL.
const CLIENT_SEAL_MAGIC: &[u8] = b"session key to client-to-server sealing key magic constant\0";
/// MS-NLMP §3.4.5.3: the server-to-client sealing constant with its NUL.
const SERVER_SEAL_MAGIC: &[u8] = b"session key to server-to-client sealing key magic constant\0";
/// The LMOWFv1 plaintext "KGS!@#$%" (MS-NLMP §3.3.1).
const LM_MAGIC: &[u8; 8] = b"KGS!@#$%";

/// MD5 over the concatenation of `parts` (MS-NLMP §6), with [`crate::ntlm::bulk`]'s MD5 (its state and buffer are
/// wiped on drop: the inputs here are keys).
pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// MD4 over the concatenation of `parts` (MS-NLMP §6), with [`crate::ntlm::md4`] (wiped on drop: the input is
/// the password).
fn md4(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md4::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// HMAC_MD5(key, concatenation of `parts`) (RFC 2104, MS-NLMP §6). The key schedule and the MD5 states are
/// [`crate::ntlm::bulk`]'s, which wipe themselves.
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let schedule = HmacKey::new(key);
    if let Some(mac) = schedule.mac_short(parts) {
        return mac;
    }
    let mut mac = HmacMd5::with_key(&schedule);
    for p in parts {
        mac.update(p);
    }
    mac.finalize()
}

/// Spreads 56 key bits over the 8 bytes DES takes (the low bit of each byte, the parity bit, is ignored by DES).
fn des_key_from_7(k: &[u8; 7]) -> [u8; 8] {
    [
        k[0],
        (k[0] << 7) | (k[1] >> 1),
        (k[1] << 6) | (k[2] >> 2),
        (k[2] << 5) | (k[3] >> 3),
        (k[3] << 4) | (k[4] >> 4),
        (k[4] << 3) | (k[5] >> 5),
        (k[5] << 2) | (k[6] >> 6),
        k[6] << 1,
    ]
}

/// DES(K, D): single-block DES-ECB of `data` with a 7-byte key (MS-NLMP §6).
fn des7(key: &[u8; 7], data: &[u8; 8]) -> [u8; 8] {
    let k8 = Zeroizing::new(des_key_from_7(key));
    let cipher = des::Des::new(GenericArray::from_slice(&k8[..]));
    let mut block = GenericArray::clone_from_slice(data);
    cipher.encrypt_block(&mut block);
    block.into()
}

/// Copies `N` bytes of `src` starting at `at`, zero-filling whatever lies beyond its end.
fn take<const N: usize>(src: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        if let Some(b) = at.checked_add(i).and_then(|k| src.get(k)) {
            *o = *b;
        }
    }
    out
}

/// Uppercases a string the way Windows' `RtlUpcaseUnicodeString` does: character by character, keeping a
/// character unchanged when its uppercase form is not a single character (so `ß` stays `ß`).
fn upcase_simple(s: &str) -> String {
    upcase_chars(s).collect()
}

/// The characters of `s`, each replaced by its upper case when that is a single character.
fn upcase_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().map(|c| {
        let mut up = c.to_uppercase();
        match (up.next(), up.next()) {
            (Some(u), None) => u,
            _ => c,
        }
    })
}

/// NTOWFv1(password) = MD4(UNICODE(password)) (MS-NLMP §3.3.1). Also the NTOWFv2 input of §3.3.2.
pub fn ntowfv1(password: &Password) -> NtHash {
    Key16::new(md4(&[&password.utf16le()]))
}

/// LMOWFv1(password) = DES(UPPER(pw)[0..6], "KGS!@#$%") || DES(UPPER(pw)[7..13], "KGS!@#$%") (MS-NLMP §3.3.1).
///
/// The password is uppercased and converted to the OEM character set, then zero-padded or cut to 14 bytes.
/// Only ASCII has a fixed OEM encoding; any other character becomes `?`, as a lossy OEM conversion does.
pub fn lmowfv1(password: &Password) -> LmHash {
    let mut oem = Zeroizing::new([0u8; 14]);
    for (dst, c) in oem.iter_mut().zip(password.expose().chars()) {
        *dst = if c.is_ascii() {
            c.to_ascii_uppercase() as u8
        } else {
            b'?'
        };
    }
    let first = Zeroizing::new(take::<7>(&oem[..], 0));
    let second = Zeroizing::new(take::<7>(&oem[..], 7));
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&des7(&first, LM_MAGIC));
    out[8..].copy_from_slice(&des7(&second, LM_MAGIC));
    let key = Key16::new(out);
    zeroize::Zeroize::zeroize(&mut out);
    key
}

/// NTOWFv2 = HMAC_MD5(NTOWFv1, UNICODE(Uppercase(user) || domain)) (MS-NLMP §3.3.2); LMOWFv2 is the same value.
pub fn ntowfv2(nt_hash: &NtHash, user: &str, domain: &str) -> Key16 {
    // UTF-16LE of Uppercase(user) || domain, built in a stack buffer when it fits (names are short), so the
    // common case allocates nothing.
    let mut stack = Wiped::new([0u8; 512]);
    let mut len = 0usize;
    let mut fits = true;
    let units = upcase_chars(user).chain(domain.chars()).flat_map(|c| {
        let mut b = [0u16; 2];
        let n = c.encode_utf16(&mut b).len();
        b.into_iter().take(n)
    });
    for u in units {
        match stack.get_mut(len..len + 2) {
            Some(dst) => dst.copy_from_slice(&u.to_le_bytes()),
            None => {
                fits = false;
                break;
            }
        }
        len += 2;
    }
    if fits {
        return Key16::new(hmac_md5(
            nt_hash.as_bytes(),
            &[stack.get(..len).unwrap_or_default()],
        ));
    }
    let mut text = upcase_simple(user);
    text.push_str(domain);
    Key16::new(hmac_md5(nt_hash.as_bytes(), &[&utf16le(&text)]))
}

/// DESL(K, D) = DES(K[0..6], D) || DES(K[7..13], D) || DES(K[14..15] || Z(5), D) (MS-NLMP §6).
pub fn desl(key16: &[u8; 16], data: &[u8; 8]) -> [u8; 24] {
    let k1: [u8; 7] = take(key16, 0);
    let k2: [u8; 7] = take(key16, 7);
    let k3: [u8; 7] = take(key16, 14);
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&des7(&k1, data));
    out[8..16].copy_from_slice(&des7(&k2, data));
    out[16..].copy_from_slice(&des7(&k3, data));
    out
}

/// LmChallengeResponse of NTLMv1 without extended session security: DESL(LMOWFv1, ServerChallenge)
/// (MS-NLMP §3.3.1).
pub fn lmv1_response(lm_hash: &LmHash, server_challenge: &[u8; 8]) -> [u8; 24] {
    desl(lm_hash.as_bytes(), server_challenge)
}

/// NtChallengeResponse of NTLMv1 without extended session security: DESL(NTOWFv1, ServerChallenge)
/// (MS-NLMP §3.3.1).
pub fn ntlmv1_response(nt_hash: &NtHash, server_challenge: &[u8; 8]) -> [u8; 24] {
    desl(nt_hash.as_bytes(), server_challenge)
}

/// NtChallengeResponse of NTLMv1 with extended session security:
/// DESL(NTOWFv1, MD5(ServerChallenge || ClientChallenge)[0..7]) (MS-NLMP §3.3.1). The matching LM response
/// is ClientChallenge || Z(16) (see [`ntlmv1_ess_lm_response`]).
pub fn ntlmv1_ess_response(
    nt_hash: &NtHash,
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> [u8; 24] {
    desl(
        nt_hash.as_bytes(),
        &ess_challenge(server_challenge, client_challenge),
    )
}

/// The challenge an NTLMv1 response with extended session security answers:
/// MD5(ServerChallenge || ClientChallenge)[0..8] (MS-NLMP §3.3.1).
pub fn ess_challenge(server_challenge: &[u8; 8], client_challenge: &[u8; 8]) -> [u8; 8] {
    take::<8>(&md5(&[server_challenge, client_challenge]), 0)
}

/// LmChallengeResponse of NTLMv1 with extended session security: ClientChallenge || Z(16) (MS-NLMP §3.3.1).
pub fn ntlmv1_ess_lm_response(client_challenge: &[u8; 8]) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(client_challenge);
    out
}

/// NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp) (MS-NLMP §3.3.2), where `temp` is the
/// NTLMv2_CLIENT_CHALLENGE (0x01 0x01 Z(6) Time ClientChallenge Z(4) AvPairs Z(4)).
pub fn ntproofstr(response_key_nt: &Key16, server_challenge: &[u8; 8], temp: &[u8]) -> [u8; 16] {
    hmac_md5(response_key_nt.as_bytes(), &[server_challenge, temp])
}

/// LMv2 response = HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge
/// (MS-NLMP §3.3.2).
pub fn lmv2_response(
    response_key_lm: &Key16,
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(&hmac_md5(
        response_key_lm.as_bytes(),
        &[server_challenge, client_challenge],
    ));
    out[16..].copy_from_slice(client_challenge);
    out
}

/// SessionBaseKey of NTLMv1 = MD4(NTOWFv1) (MS-NLMP §3.3.1).
pub fn session_base_key_v1(nt_hash: &NtHash) -> SessionKey {
    Key16::new(md4(&[nt_hash.as_bytes()]))
}

/// SessionBaseKey of NTLMv2 = HMAC_MD5(ResponseKeyNT, NTProofStr) (MS-NLMP §3.3.2).
pub fn session_base_key_v2(response_key_nt: &Key16, ntproofstr: &[u8; 16]) -> SessionKey {
    Key16::new(hmac_md5(response_key_nt.as_bytes(), &[ntproofstr]))
}

/// KXKEY for NTLMv1 (MS-NLMP §3.4.5.1); for NTLMv2 the KeyExchangeKey is the SessionBaseKey itself.
///
/// - extended session security: `HMAC_MD5(SessionBaseKey, ServerChallenge || LmChallengeResponse[0..7])`;
/// - else LM_KEY: `DES(LMOWF[0..6], LmResp[0..7]) || DES(LMOWF[7] || 0xBD×6, LmResp[0..7])`;
/// - else REQUEST_NON_NT_SESSION_KEY: `LMOWF[0..7] || Z(8)`;
/// - else the SessionBaseKey.
///
/// A `lm_response` shorter than 8 bytes is zero-filled (the wire layer always supplies 24).
pub fn kxkey_v1(
    flags: NegotiateFlags,
    session_base_key: &SessionKey,
    lm_hash: &LmHash,
    lm_response: &[u8],
    server_challenge: &[u8; 8],
) -> SessionKey {
    let lm8: [u8; 8] = take(lm_response, 0);
    if flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
        Key16::new(hmac_md5(
            session_base_key.as_bytes(),
            &[server_challenge, &lm8],
        ))
    } else if flags.contains(NegotiateFlags::LM_KEY) {
        let lm = lm_hash.as_bytes();
        let k1 = Zeroizing::new(take::<7>(lm, 0));
        let mut k2 = Zeroizing::new([0xBDu8; 7]);
        k2[0] = lm[7];
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&des7(&k1, &lm8));
        out[8..].copy_from_slice(&des7(&k2, &lm8));
        let key = Key16::new(out);
        zeroize::Zeroize::zeroize(&mut out);
        key
    } else if flags.contains(NegotiateFlags::REQUEST_NON_NT_SESSION_KEY) {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&lm_hash.as_bytes()[..8]);
        let key = Key16::new(out);
        zeroize::Zeroize::zeroize(&mut out);
        key
    } else {
        session_base_key.clone()
    }
}

/// RC4K(key, data): RC4 with a fresh key schedule over `data` (MS-NLMP §6); used to encrypt and decrypt the
/// EncryptedRandomSessionKey with the KeyExchangeKey.
pub fn rc4k(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    Rc4::new(key).apply(&mut out);
    out
}

/// SIGNKEY (MS-NLMP §3.4.5.2): MD5(ExportedSessionKey || magic of `side`) with extended session security,
/// `None` without it (NTLMv1 signatures use CRC32, no signing key).
pub fn signkey(flags: NegotiateFlags, exported: &SessionKey, side: Side) -> Option<Key16> {
    if !flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
        return None;
    }
    let magic = match side {
        Side::Client => CLIENT_SIGN_MAGIC,
        Side::Server => SERVER_SIGN_MAGIC,
    };
    Some(Key16::new(md5(&[exported.as_bytes(), magic])))
}

/// With extended session security, the four keys of one end at once: (our SIGNKEY, our SEALKEY, the peer's
/// SIGNKEY, the peer's SEALKEY) for `side` — exactly [`signkey`] and [`sealkey`] for `side` and
/// `side.peer()`, but the four MD5s run side by side ([`crate::ntlm::md5x4::md5_x4`]: about 2.25× the time
/// of one instead of 4×). `None` without extended session security.
pub fn session_keys_ess(
    flags: NegotiateFlags,
    exported: &SessionKey,
    side: Side,
) -> Option<[Key16; 4]> {
    if !flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
        return None;
    }
    let len = if flags.contains(NegotiateFlags::KEY_128) {
        16
    } else if flags.contains(NegotiateFlags::KEY_56) {
        7
    } else {
        5
    };
    let (sign_ours, seal_ours, sign_peer, seal_peer) = match side {
        Side::Client => (
            CLIENT_SIGN_MAGIC,
            CLIENT_SEAL_MAGIC,
            SERVER_SIGN_MAGIC,
            SERVER_SEAL_MAGIC,
        ),
        Side::Server => (
            SERVER_SIGN_MAGIC,
            SERVER_SEAL_MAGIC,
            CLIENT_SIGN_MAGIC,
            CLIENT_SEAL_MAGIC,
        ),
    };
    // Each input is K || magic: 75, 66 or 64 bytes, two MD5 blocks once padded.
    let mut bufs = [
        Wiped::new([0u8; 80]),
        Wiped::new([0u8; 80]),
        Wiped::new([0u8; 80]),
        Wiped::new([0u8; 80]),
    ];
    let mut lens = [0usize; 4];
    let k = exported.as_bytes();
    let parts: [(&[u8], &[u8]); 4] = [
        (k, sign_ours),
        (&k[..len], seal_ours),
        (k, sign_peer),
        (&k[..len], seal_peer),
    ];
    for ((buf, n), (key, magic)) in bufs.iter_mut().zip(lens.iter_mut()).zip(parts) {
        *n = key.len() + magic.len();
        buf.get_mut(..key.len())?.copy_from_slice(key);
        buf.get_mut(key.len()..*n)?.copy_from_slice(magic);
    }
    let mut d = crate::ntlm::md5x4::md5_x4([
        bufs[0].get(..lens[0])?,
        bufs[1].get(..lens[1])?,
        bufs[2].get(..lens[2])?,
        bufs[3].get(..lens[3])?,
    ])?;
    let keys = [
        Key16::new(d[0]),
        Key16::new(d[1]),
        Key16::new(d[2]),
        Key16::new(d[3]),
    ];
    zeroize::Zeroize::zeroize(&mut d);
    Some(keys)
}

/// The number of meaningful bytes of [`sealkey`]'s result for `flags` (MS-NLMP §3.4.5.3): 16 with extended
/// session security (an MD5 output) and for the plain NTLMv1 key; 8 for the NTLMv1 40/56-bit keys used with
/// LM_KEY or DATAGRAM. The RC4 key is `sealkey(..).as_bytes()[..sealkey_len(flags)]`.
pub fn sealkey_len(flags: NegotiateFlags) -> usize {
    if !flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) && non_ess_short_key(flags) {
        8
    } else {
        16
    }
}

/// MS-NLMP §3.4.5.3: the 40/56-bit NTLMv1 sealing key applies with LM_KEY, or with DATAGRAM when
/// NTLMRevisionCurrent >= NTLMSSP_REVISION_W2K3 (ours is W2K3, 0x0F).
fn non_ess_short_key(flags: NegotiateFlags) -> bool {
    flags.intersects(NegotiateFlags::LM_KEY | NegotiateFlags::DATAGRAM)
}

/// SEALKEY (MS-NLMP §3.4.5.3).
///
/// - extended session security: MD5(K || magic of `side`) with K = ExportedSessionKey cut to 16 (KEY_128),
///   7 (KEY_56) or 5 (otherwise) bytes;
/// - else LM_KEY or DATAGRAM: K[0..6] || 0xA0 (KEY_56) or K[0..4] || 0xE5 0x38 0xB0 (40-bit), an 8-byte key
///   returned zero-padded ([`sealkey_len`] is 8);
/// - else the ExportedSessionKey (both directions share it).
pub fn sealkey(flags: NegotiateFlags, exported: &SessionKey, side: Side) -> Key16 {
    let k = exported.as_bytes();
    if flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
        let len = if flags.contains(NegotiateFlags::KEY_128) {
            16
        } else if flags.contains(NegotiateFlags::KEY_56) {
            7
        } else {
            5
        };
        let magic = match side {
            Side::Client => CLIENT_SEAL_MAGIC,
            Side::Server => SERVER_SEAL_MAGIC,
        };
        Key16::new(md5(&[&k[..len], magic]))
    } else if non_ess_short_key(flags) {
        let mut out = [0u8; 16];
        if flags.contains(NegotiateFlags::KEY_56) {
            out[..7].copy_from_slice(&k[..7]);
            out[7] = 0xA0;
        } else {
            out[..5].copy_from_slice(&k[..5]);
            out[5..8].copy_from_slice(&[0xE5, 0x38, 0xB0]);
        }
        let key = Key16::new(out);
        zeroize::Zeroize::zeroize(&mut out);
        key
    } else {
        exported.clone()
    }
}

/// MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE) where the AUTHENTICATE_MESSAGE
/// has its MIC field zeroed (MS-NLMP §3.1.5.1.2, §3.2.5.1.2).
pub fn mic(
    exported: &SessionKey,
    negotiate: &[u8],
    challenge: &[u8],
    authenticate_zero_mic: &[u8],
) -> [u8; 16] {
    hmac_md5(
        exported.as_bytes(),
        &[negotiate, challenge, authenticate_zero_mic],
    )
}

/// GSS channel bindings (RFC 2744 `gss_channel_bindings_struct`), as the application passed them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelBindings {
    /// `initiator_addrtype`.
    pub initiator_addrtype: u32,
    /// `initiator_address`.
    pub initiator_address: Vec<u8>,
    /// `acceptor_addrtype`.
    pub acceptor_addrtype: u32,
    /// `acceptor_address`.
    pub acceptor_address: Vec<u8>,
    /// `application_data` (e.g. `tls-server-end-point:` || hash of the server certificate).
    pub application_data: Vec<u8>,
}

impl ChannelBindings {
    /// The MsvAvChannelBindings value (MS-NLMP §2.2.2.1): MD5 of the structure flattened as RFC 4121
    /// §4.1.1.2 does — initiator_addrtype, initiator_address.length, initiator_address, acceptor_addrtype,
    /// acceptor_address.length, acceptor_address, application_data.length, application_data — with every
    /// integer a 32-bit little-endian value. Lengths beyond `u32::MAX` are saturated (no such input exists).
    pub fn md5(&self) -> [u8; 16] {
        let len = |v: &Vec<u8>| u32::try_from(v.len()).unwrap_or(u32::MAX).to_le_bytes();
        md5(&[
            &self.initiator_addrtype.to_le_bytes(),
            &len(&self.initiator_address),
            &self.initiator_address,
            &self.acceptor_addrtype.to_le_bytes(),
            &len(&self.acceptor_address),
            &self.acceptor_address,
            &len(&self.application_data),
            &self.application_data,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hmac_md5_matches_rfc2202_vectors() {
        // RFC 2202 §2 test cases 1, 2 and 6 (80-byte key, hashed first).
        assert_eq!(
            hmac_md5(&[0x0b; 16], &[b"Hi There"]).to_vec(),
            hex("9294727a3638bb1c13f48ef8158bfc9d")
        );
        assert_eq!(
            hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]).to_vec(),
            hex("750c783e6ab0b503eaa86e310a5db738")
        );
        assert_eq!(
            hmac_md5(
                &[0xaa; 80],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )
            .to_vec(),
            hex("6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd")
        );
    }

    #[test]
    fn des_key_expansion_matches_known_des_vector() {
        // FIPS 81 / classic vector: key 0x0123456789ABCDEF, plaintext "Now is t" -> 3FA40E8A984D4815.
        // 0x0123456789ABCDEF with parity bits dropped is the 56-bit key 00 91 a3 c5 e6 ad f3 (computed here).
        let k8 = hex("0123456789abcdef");
        let mut bits = 0u64;
        for b in &k8 {
            bits = (bits << 7) | u64::from(b >> 1);
        }
        let k7: [u8; 7] = bits.to_be_bytes()[1..].try_into().unwrap();
        assert_eq!(des7(&k7, b"Now is t").to_vec(), hex("3fa40e8a984d4815"));
    }

    #[test]
    fn upcase_keeps_characters_without_single_uppercase() {
        assert_eq!(upcase_simple("user"), "USER");
        assert_eq!(upcase_simple("straße"), "STRAßE");
        assert_eq!(upcase_simple("élan"), "ÉLAN");
    }

    #[test]
    fn lmowfv1_treats_long_and_padded_passwords_by_14_bytes() {
        let long = lmowfv1(&Password::new("ABCDEFGHIJKLMNOPQ"));
        let cut = lmowfv1(&Password::new("abcdefghijklmn"));
        assert_eq!(long, cut);
        assert_ne!(lmowfv1(&Password::new("a")), lmowfv1(&Password::new("b")));
    }

    #[test]
    fn sealkey_len_follows_flags() {
        let ess = NegotiateFlags::EXTENDED_SESSIONSECURITY;
        assert_eq!(sealkey_len(ess), 16);
        assert_eq!(sealkey_len(ess | NegotiateFlags::LM_KEY), 16);
        assert_eq!(sealkey_len(NegotiateFlags::LM_KEY), 8);
        assert_eq!(sealkey_len(NegotiateFlags::DATAGRAM), 8);
        assert_eq!(sealkey_len(NegotiateFlags::KEY_128), 16);
    }

    #[test]
    fn session_keys_ess_equal_signkey_and_sealkey() {
        let k = Key16::new(*b"0123456789abcdef");
        let ess = NegotiateFlags::EXTENDED_SESSIONSECURITY;
        for strength in [
            NegotiateFlags::KEY_128,
            NegotiateFlags::KEY_56,
            NegotiateFlags(0),
        ] {
            for side in [Side::Client, Side::Server] {
                let f = ess | strength;
                let [a, b, c, d] = session_keys_ess(f, &k, side).unwrap();
                assert_eq!(Some(a), signkey(f, &k, side));
                assert_eq!(b, sealkey(f, &k, side));
                assert_eq!(Some(c), signkey(f, &k, side.peer()));
                assert_eq!(d, sealkey(f, &k, side.peer()));
            }
        }
        assert!(session_keys_ess(NegotiateFlags::KEY_128, &k, Side::Client).is_none());
    }

    #[test]
    fn signkey_is_none_without_ess_and_differs_by_side() {
        let k = Key16::new([0x55; 16]);
        assert!(signkey(NegotiateFlags::SIGN, &k, Side::Client).is_none());
        let f = NegotiateFlags::EXTENDED_SESSIONSECURITY;
        assert_ne!(signkey(f, &k, Side::Client), signkey(f, &k, Side::Server));
    }

    #[test]
    fn kxkey_v1_tolerates_short_lm_response() {
        let k = Key16::new([1; 16]);
        let a = kxkey_v1(NegotiateFlags::LM_KEY, &k, &k, &[], &[0; 8]);
        let b = kxkey_v1(NegotiateFlags::LM_KEY, &k, &k, &[0; 8], &[0; 8]);
        assert_eq!(a, b);
    }
}
