//! NTLM session security (MS-NLMP §3.4): message signatures (GSS_GetMIC / GSS_VerifyMIC, §3.4.2, §3.4.4) and
//! sealing (GSS_WrapEx / GSS_UnwrapEx, §3.4.3), for NTLMv1 (CRC32, §3.4.4.1) and extended session security
//! (HMAC_MD5, §3.4.4.2), with or without key exchange, connection-oriented or datagram.
//!
//! What the spec leaves to implementations, decided here:
//! - Without extended session security there is one sealing key (§3.4: "half-duplex"): one RC4 handle and one
//!   sequence counter serve both directions, as gss-ntlmssp and Samba do.
//! - The NTLMv1 RandomPad is emitted as 0 (§3.4.4.1 ends MAC() with "Set RandomPad to 0"); on receipt either 0
//!   or RC4(Handle, 0) — what MS-NLMP §4.2.2.4 prints — is accepted.
//! - Datagram mode (NTLMSSP_NEGOTIATE_DATAGRAM): before every message the RC4 handle is re-initialised with
//!   MD5(SealingKey || SeqNum) (§3.4, §3.4.4). The sender uses its send counter and advances it (so a
//!   keystream is never reused unless the application sets the counter back); a receiver with extended
//!   session security takes SeqNum from the signature (it is in clear) and accepts any order; without it the
//!   SeqNum is encrypted, so the receiver uses its own counter.
//! - Connection mode: a rejected message that claims the current slot (without extended session security
//!   every message; with it, one whose SeqNum is the expected one) spends that slot — the sequence number and
//!   the keystream a genuine message would have used — as gss-ntlmssp, Samba, pyspnego and .NET do, so the
//!   sender's next genuine message still verifies. A message with another SeqNum (replayed, reordered) is
//!   rejected and leaves the state exactly as it was. Either way a sealed buffer gets its ciphertext back (in
//!   place) or is zeroed (out of place), and a malformed signature (length, Version) changes nothing.
//! - Neither SIGN nor SEAL negotiated: signatures are the dummy Version 1 || Z(12) (ALWAYS_SIGN, as
//!   gss-ntlmssp emits); sealing still uses the keys.
#![forbid(unsafe_code)]

use core::fmt;

use crate::ntlm::bulk::{HmacKey, HmacMd5};
use crate::ntlm::crypto::{md5, sealkey, sealkey_len, session_keys_ess, signkey, Side};
use crate::ntlm::flags::NegotiateFlags;
use crate::ntlm::rc4::{Rc4, Restartable};
use crate::ntlm::secret::{ct_eq, Key16, SessionKey};

mod export;
mod primed;

use primed::Primed;

/// Why a signature or sealed message was rejected, or an exported state could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityError {
    /// The checksum does not match the message (tampered message or signature, wrong keys, or a replay whose
    /// keystream position no longer matches).
    BadSignature,
    /// The signature is not 16 bytes long.
    BadLength,
    /// The signature's Version field is not 1.
    BadVersion,
    /// Authentic signature, but its SeqNum is below the expected one: the message was already received
    /// (GSS_S_DUPLICATE_TOKEN). Rejected; the state is unchanged (with extended session security; without it
    /// the slot is spent, see `claims_slot`).
    Duplicate { expected: u32, got: u32 },
    /// Authentic signature, but its SeqNum is above the expected one: messages are missing
    /// (GSS_S_GAP_TOKEN). Rejected; as for `Duplicate`.
    Gap { expected: u32, got: u32 },
    /// [`SessionSecurity::import`] was given bytes that are not an exported state.
    BadExport(&'static str),
}

impl fmt::Display for SecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecurityError::BadSignature => f.write_str("message signature does not verify"),
            SecurityError::BadLength => f.write_str("message signature is not 16 bytes long"),
            SecurityError::BadVersion => f.write_str("message signature version is not 1"),
            SecurityError::Duplicate { expected, got } => {
                write!(
                    f,
                    "duplicate message: sequence number {got}, expected {expected}"
                )
            }
            SecurityError::Gap { expected, got } => {
                write!(
                    f,
                    "out-of-sequence message: sequence number {got}, expected {expected}"
                )
            }
            SecurityError::BadExport(why) => {
                write!(f, "invalid exported session security state: {why}")
            }
        }
    }
}

impl std::error::Error for SecurityError {}

/// The NTLMSSP_MESSAGE_SIGNATURE Version (MS-NLMP §2.2.2.9).
const VERSION: [u8; 4] = [1, 0, 0, 0];
/// The signature used when neither SIGN nor SEAL is negotiated: Version 1 and zeros.
const DUMMY_SIGNATURE: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// One direction's keys and state (§3.1.1: Client/ServerSigningKey, Client/ServerSealingKey, the handle, SeqNum).
#[derive(Clone)]
struct Channel {
    /// SIGNKEY (all zero without extended session security, where it is unused).
    sign_key: Key16,
    /// The HMAC_MD5 schedule of `sign_key`, made once (extended session security only).
    mac_key: HmacKey,
    /// SEALKEY, zero-padded; `seal_len` bytes are the key.
    seal_key: Key16,
    seal_len: u8,
    /// The handle, with RC4Init(SealingKey) kept so that a reset (after SPNEGO's mechListMIC) is neither a key
    /// schedule nor, until the handle runs again, a copy.
    rc4: Restartable,
    seq: u32,
    /// The checksum of the next message, when it was made ahead ([`SessionSecurity::prime`]).
    primed: Primed,
}

impl Channel {
    fn new(flags: NegotiateFlags, exported: &SessionKey, side: Side) -> Channel {
        let sign_key = signkey(flags, exported, side);
        let mac_key = sign_key
            .as_ref()
            .map(|k| HmacKey::new(k.as_bytes()))
            .unwrap_or_default();
        let seal_key = sealkey(flags, exported, side);
        Channel::with_keys(
            sign_key.unwrap_or_default(),
            mac_key,
            seal_key,
            sealkey_len(flags),
        )
    }

    fn with_keys(sign_key: Key16, mac_key: HmacKey, seal_key: Key16, seal_len: usize) -> Channel {
        let rc4 = Rc4::new(seal_key.as_bytes().get(..seal_len).unwrap_or_default());
        Channel::with_handle(sign_key, mac_key, seal_key, seal_len, rc4)
    }

    /// A channel whose handle `rc4` is RC4Init(`seal_key`), made by the caller.
    fn with_handle(
        sign_key: Key16,
        mac_key: HmacKey,
        seal_key: Key16,
        seal_len: usize,
        rc4: Rc4,
    ) -> Channel {
        Channel {
            sign_key,
            mac_key,
            seal_key,
            seal_len: seal_len as u8,
            rc4: Restartable::new(rc4),
            seq: 0,
            primed: Primed::default(),
        }
    }

    /// Extended session security: our channel and the peer's, their four keys derived side by side, the two
    /// HMAC schedules made at once and the two RC4 key schedules run interleaved ([`session_keys_ess`],
    /// [`HmacKey::pair`], [`Rc4::new_pair`]).
    fn pair(flags: NegotiateFlags, exported: &SessionKey, side: Side) -> (Channel, Channel) {
        let Some([sign_ours, seal_ours, sign_peer, seal_peer]) =
            session_keys_ess(flags, exported, side)
        else {
            return (
                Channel::new(flags, exported, side),
                Channel::new(flags, exported, side.peer()),
            );
        };
        let (mac_ours, mac_peer) = HmacKey::pair(sign_ours.as_bytes(), sign_peer.as_bytes());
        let len = sealkey_len(flags);
        let (rc4_ours, rc4_peer) = Rc4::new_pair(
            seal_ours.as_bytes().get(..len).unwrap_or_default(),
            seal_peer.as_bytes().get(..len).unwrap_or_default(),
        );
        (
            Channel::with_handle(sign_ours, mac_ours, seal_ours, len, rc4_ours),
            Channel::with_handle(sign_peer, mac_peer, seal_peer, len, rc4_peer),
        )
    }

    fn seal_key_bytes(&self) -> &[u8] {
        self.seal_key
            .as_bytes()
            .get(..usize::from(self.seal_len))
            .unwrap_or_default()
    }

    /// RC4Init(Handle, SealingKey): back to the start of the keystream.
    fn reset(&mut self) {
        self.rc4.restart();
    }

    /// Datagram mode: RC4Init(Handle, MD5(SealingKey || SeqNum)) before each message (MS-NLMP §3.4).
    fn rekey(&mut self, seq: u32) {
        let k = md5(&[self.seal_key_bytes(), &seq.to_le_bytes()]);
        self.rc4.set(Rc4::new(&k));
    }
}

/// What the checksum is computed from, before any RC4: the first 8 bytes of HMAC_MD5(SigningKey, SeqNum ||
/// Message) with extended session security, CRC32(Message) in the first 4 bytes without.
fn digest(ess: bool, ch: &mut Channel, seq: u32, plain: &[u8]) -> [u8; 8] {
    if ess {
        if let Some(d) = ch.primed.take(seq, plain) {
            return d;
        }
        // A short message (a mechListMIC, a small get_mic): two MD5 blocks, nothing buffered.
        if let Some(mac) = ch.mac_key.mac_seq_short(seq, plain) {
            let mut out = [0u8; 8];
            out.copy_from_slice(&mac[..8]);
            return out;
        }
    }
    let mut d = Digester::new(ess, ch, seq);
    d.update(plain);
    d.finish()
}

/// Bytes hashed and encrypted per step of the bulk seal/unseal paths: each chunk is hashed and run through
/// RC4 while it is still in the L1/L2 cache, instead of two passes over the whole message.
const CHUNK: usize = 16 * 1024;

/// The message checksum of [`digest`] fed chunk by chunk.
enum Digester {
    /// Extended session security: HMAC_MD5(SigningKey, SeqNum || message).
    Hmac(HmacMd5),
    /// Without it: CRC32(message).
    Crc(crc32fast::Hasher),
}

impl Digester {
    fn new(ess: bool, ch: &Channel, seq: u32) -> Digester {
        if ess {
            let mut mac = HmacMd5::with_key(&ch.mac_key);
            mac.update(&seq.to_le_bytes());
            Digester::Hmac(mac)
        } else {
            Digester::Crc(crc32fast::Hasher::new())
        }
    }

    fn update(&mut self, plain: &[u8]) {
        match self {
            Digester::Hmac(mac) => mac.update(plain),
            Digester::Crc(crc) => crc.update(plain),
        }
    }

    fn finish(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        match self {
            Digester::Hmac(mac) => out.copy_from_slice(&mac.finalize()[..8]),
            Digester::Crc(crc) => out[..4].copy_from_slice(&crc.finalize().to_le_bytes()),
        }
        out
    }
}

/// Decrypts `sealed` into `out` (same length) and feeds the plaintext to `mac`, keeping RC4 one block ahead
/// of the MAC so that each MD5 block runs interleaved with the RC4 of the next one ([`HmacMd5::update_blocks_with_rc4`]).
fn unseal_interleaved(mac: &mut HmacMd5, rc4: &mut Rc4, sealed: &[u8], out: &mut [u8]) {
    let len = sealed.len().min(out.len());
    let head = mac.to_boundary().min(len);
    // Invariant: out[..dec] is decrypted, out[..hashed] is hashed, hashed + 64 <= dec inside the loop.
    let mut dec = head.saturating_add(64).min(len);
    rc4.apply_to(
        sealed.get(..dec).unwrap_or_default(),
        out.get_mut(..dec).unwrap_or_default(),
    );
    mac.update(out.get(..head).unwrap_or_default());
    let mut hashed = head;
    while dec.saturating_add(64) <= len {
        let (done, rest) = out.split_at_mut(dec);
        let (Some(block), Some(x), Some(y)) = (
            done.get(hashed..hashed + 64),
            sealed.get(dec..dec + 64),
            rest.get_mut(..64),
        ) else {
            break;
        };
        if mac.update_blocks_with_rc4(block, rc4, x, y) != 1 {
            break;
        }
        hashed += 64;
        dec += 64;
    }
    rc4.apply_to(
        sealed.get(dec..).unwrap_or_default(),
        out.get_mut(dec..).unwrap_or_default(),
    );
    mac.update(out.get(hashed..).unwrap_or_default());
}

/// Seal in place: feeds `msg` to `mac` and encrypts it, RC4 one block behind the MAC (a block is hashed before
/// it is encrypted), each MD5 block interleaved with the RC4 of an earlier one.
fn seal_interleaved_in_place(mac: &mut HmacMd5, rc4: &mut Rc4, msg: &mut [u8]) {
    let len = msg.len();
    let head = mac.to_boundary().min(len);
    // Invariant: msg[..hashed] is hashed, msg[..enc] is encrypted, enc + 64 <= hashed inside the loop.
    let mut hashed = head.saturating_add(64).min(len);
    mac.update(msg.get(..hashed).unwrap_or_default());
    let mut enc = 0;
    while hashed.saturating_add(64) <= len {
        let (done, rest) = msg.split_at_mut(hashed);
        let (Some(block), Some(data)) = (rest.get(..64), done.get_mut(enc..enc + 64)) else {
            break;
        };
        if !mac.update_block_with_rc4_in_place(block, rc4, data) {
            break;
        }
        hashed += 64;
        enc += 64;
    }
    mac.update(msg.get(hashed..).unwrap_or_default());
    rc4.apply(msg.get_mut(enc..).unwrap_or_default());
}

/// Unseal in place: decrypts `msg` and feeds the plaintext to `mac`, RC4 one block ahead of the MAC.
fn unseal_interleaved_in_place(mac: &mut HmacMd5, rc4: &mut Rc4, msg: &mut [u8]) {
    let len = msg.len();
    let head = mac.to_boundary().min(len);
    // Invariant: msg[..dec] is decrypted, msg[..hashed] is hashed, hashed + 64 <= dec inside the loop.
    let mut dec = head.saturating_add(64).min(len);
    rc4.apply(msg.get_mut(..dec).unwrap_or_default());
    mac.update(msg.get(..head).unwrap_or_default());
    let mut hashed = head;
    while dec.saturating_add(64) <= len {
        let (done, rest) = msg.split_at_mut(dec);
        let (Some(block), Some(data)) = (done.get(hashed..hashed + 64), rest.get_mut(..64)) else {
            break;
        };
        if !mac.update_block_with_rc4_in_place(block, rc4, data) {
            break;
        }
        hashed += 64;
        dec += 64;
    }
    rc4.apply(msg.get_mut(dec..).unwrap_or_default());
    mac.update(msg.get(hashed..).unwrap_or_default());
}

/// Assembles the signature from `digest`, consuming keystream as MAC() does (§3.4.4.1, §3.4.4.2). Also returns
/// the keystream that encrypted the NTLMv1 RandomPad (zero with extended session security).
fn finish(
    ess: bool,
    key_exch: bool,
    ch: &mut Channel,
    seq: u32,
    digest: [u8; 8],
) -> ([u8; 16], [u8; 4]) {
    let mut sig = [0u8; 16];
    sig[..4].copy_from_slice(&VERSION);
    let seq_le = seq.to_le_bytes();
    if ess {
        let cks = if key_exch {
            ch.rc4
                .get()
                .apply_word(u64::from_le_bytes(digest))
                .to_le_bytes()
        } else {
            digest
        };
        sig[4..12].copy_from_slice(&cks);
        sig[12..].copy_from_slice(&seq_le);
        (sig, [0; 4])
    } else {
        // RandomPad (0), Checksum, SeqNum field (0) through the handle, in that order; then SeqNum is
        // XORed in and RandomPad set to 0.
        let mut buf = [0u8; 12];
        buf[4..8].copy_from_slice(&digest[..4]);
        ch.rc4.get().apply(&mut buf);
        sig[8..12].copy_from_slice(&buf[4..8]);
        for (dst, (k, s)) in sig[12..].iter_mut().zip(buf[8..].iter().zip(seq_le)) {
            *dst = k ^ s;
        }
        let mut pad = [0u8; 4];
        pad.copy_from_slice(&buf[..4]);
        (sig, pad)
    }
}

/// Classifies an authentic signature carrying `got` when `expected` was due.
fn sequence_error(expected: u32, got: u32) -> SecurityError {
    if got.wrapping_sub(expected) < 0x8000_0000 {
        SecurityError::Gap { expected, got }
    } else {
        SecurityError::Duplicate { expected, got }
    }
}

/// The message a received signature covers: signed plaintext, or a sealed buffer decrypted in place.
enum Body<'a> {
    Plain(&'a [u8]),
    Sealed(&'a mut [u8]),
    /// Sealed input, plaintext written to the second slice (same length).
    SealedTo(&'a [u8], &'a mut [u8]),
}

/// Session security state of one established NTLM context.
#[derive(Clone)]
pub struct SessionSecurity {
    flags: NegotiateFlags,
    side: Side,
    /// Our sending direction; without extended session security the only one, shared with receiving.
    send: Channel,
    /// The peer's direction (extended session security only).
    recv: Channel,
}

impl fmt::Debug for SessionSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSecurity")
            .field("flags", &self.flags)
            .field("side", &self.side)
            .field("send_seq", &self.send_seq())
            .field("recv_seq", &self.recv_seq())
            .finish_non_exhaustive()
    }
}

impl SessionSecurity {
    /// Length of every signature.
    pub const SIGNATURE_LEN: usize = 16;

    /// Derives the keys for `side` from the ExportedSessionKey and the negotiated flags (§3.1.5.1.2,
    /// §3.2.5.1.2): with extended session security our SIGNKEY/SEALKEY for sending and the peer's for
    /// receiving; without it one sealing key for both. Sequence numbers start at 0.
    pub fn new(
        flags: NegotiateFlags,
        exported_session_key: &SessionKey,
        side: Side,
    ) -> SessionSecurity {
        let (send, recv) = if flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY) {
            Channel::pair(flags, exported_session_key, side)
        } else {
            let send = Channel::new(flags, exported_session_key, side);
            let recv = send.clone();
            (send, recv)
        };
        SessionSecurity {
            flags,
            side,
            send,
            recv,
        }
    }

    /// The negotiated flags these keys were derived for.
    pub fn flags(&self) -> NegotiateFlags {
        self.flags
    }

    /// Which end this state belongs to.
    pub fn side(&self) -> Side {
        self.side
    }

    fn ess(&self) -> bool {
        self.flags
            .contains(NegotiateFlags::EXTENDED_SESSIONSECURITY)
    }
    fn datagram(&self) -> bool {
        self.flags.contains(NegotiateFlags::DATAGRAM)
    }
    fn key_exch(&self) -> bool {
        self.flags.contains(NegotiateFlags::KEY_EXCH)
    }
    /// Session security proper is negotiated (§3.4.4.1: "NTLMSSP_NEGOTIATE_SIGN or NTLMSSP_NEGOTIATE_SEAL").
    fn integrity(&self) -> bool {
        self.flags
            .intersects(NegotiateFlags::SIGN | NegotiateFlags::SEAL)
    }

    /// The receiving channel: the peer's with extended session security, else the shared one.
    fn rx(&mut self) -> &mut Channel {
        if self.ess() {
            &mut self.recv
        } else {
            &mut self.send
        }
    }

    /// GSS_GetMIC (§3.4.2, §3.4.4): the signature of `msg`; advances the send sequence number.
    pub fn sign(&mut self, msg: &[u8]) -> [u8; 16] {
        if !self.integrity() {
            return DUMMY_SIGNATURE;
        }
        let (ess, dg, kx) = (self.ess(), self.datagram(), self.key_exch());
        let ch = &mut self.send;
        let seq = ch.seq;
        if dg {
            ch.rekey(seq);
        }
        let d = digest(ess, ch, seq, msg);
        let (sig, _) = finish(ess, kx, ch, seq, d);
        ch.seq = seq.wrapping_add(1);
        sig
    }

    /// GSS_VerifyMIC (§3.4.2, §3.4.4): checks `signature` over `msg`. On success the receive sequence number
    /// advances; on error it advances only when the token claimed the current slot (`claims_slot`).
    pub fn verify(&mut self, msg: &[u8], signature: &[u8]) -> Result<(), SecurityError> {
        let sig = parse_signature(signature)?;
        if !self.integrity() {
            return if ct_eq(&sig, &DUMMY_SIGNATURE) {
                Ok(())
            } else {
                Err(SecurityError::BadSignature)
            };
        }
        self.receive(&sig, Body::Plain(msg))
    }

    /// GSS_WrapEx with confidentiality (§3.4.3 SEAL): encrypts `msg` in place and returns the signature of the
    /// plaintext. The keystream encrypts the message first, then the checksum. Advances the send sequence number.
    pub fn seal_in_place(&mut self, msg: &mut [u8]) -> [u8; 16] {
        let (ess, dg, kx) = (self.ess(), self.datagram(), self.key_exch());
        let ch = &mut self.send;
        let seq = ch.seq;
        if dg {
            ch.rekey(seq);
        }
        let mut d = Digester::new(ess, ch, seq);
        match &mut d {
            Digester::Hmac(mac) => seal_interleaved_in_place(mac, ch.rc4.get(), msg),
            Digester::Crc(_) => {
                let rc4 = ch.rc4.get();
                for chunk in msg.chunks_mut(CHUNK) {
                    d.update(chunk);
                    rc4.apply(chunk);
                }
            }
        }
        let (sig, _) = finish(ess, kx, ch, seq, d.finish());
        ch.seq = seq.wrapping_add(1);
        sig
    }

    /// [`SessionSecurity::seal_in_place`] out of place: encrypts `plain` into `out` (no copy pass) and returns
    /// the signature. `None`, with nothing changed, unless `out` is exactly as long as `plain`.
    pub fn seal_to(&mut self, plain: &[u8], out: &mut [u8]) -> Option<[u8; 16]> {
        if out.len() != plain.len() {
            return None;
        }
        let (ess, dg, kx) = (self.ess(), self.datagram(), self.key_exch());
        let ch = &mut self.send;
        let seq = ch.seq;
        if dg {
            ch.rekey(seq);
        }
        let mut d = Digester::new(ess, ch, seq);
        match &mut d {
            Digester::Hmac(mac) => {
                // Complete the MAC's partial block (the SeqNum), then hash whole blocks of the plaintext
                // interleaved with RC4 over it, then the tails.
                let head = mac.to_boundary().min(plain.len());
                let (p0, p_rest) = plain.split_at(head);
                mac.update(p0);
                let rc4 = ch.rc4.get();
                let done = 64 * mac.update_blocks_with_rc4(p_rest, rc4, plain, out);
                mac.update(p_rest.get(done..).unwrap_or_default());
                rc4.apply_to(
                    plain.get(done..).unwrap_or_default(),
                    out.get_mut(done..).unwrap_or_default(),
                );
            }
            Digester::Crc(_) => {
                let rc4 = ch.rc4.get();
                for (p, o) in plain.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
                    d.update(p);
                    rc4.apply_to(p, o);
                }
            }
        }
        let (sig, _) = finish(ess, kx, ch, seq, d.finish());
        ch.seq = seq.wrapping_add(1);
        Some(sig)
    }

    /// GSS_UnwrapEx (§3.4.3): decrypts `msg` in place and checks `signature` over the plaintext. On error
    /// `msg` holds the original ciphertext again; the state spends the slot as `claims_slot` says.
    pub fn unseal_in_place(
        &mut self,
        msg: &mut [u8],
        signature: &[u8],
    ) -> Result<(), SecurityError> {
        let sig = parse_signature(signature)?;
        self.receive(&sig, Body::Sealed(msg))
    }

    /// [`SessionSecurity::unseal_in_place`] out of place: decrypts `sealed` into `out` and checks `signature`
    /// over the plaintext. On error `out` is zeroed (never released as unauthenticated plaintext) and the state
    /// spends the slot as `claims_slot` says. `BadLength` also when `out` is not exactly as long as `sealed`.
    pub fn unseal_to(
        &mut self,
        sealed: &[u8],
        out: &mut [u8],
        signature: &[u8],
    ) -> Result<(), SecurityError> {
        let sig = parse_signature(signature)?;
        if out.len() != sealed.len() {
            return Err(SecurityError::BadLength);
        }
        self.receive(&sig, Body::SealedTo(sealed, out))
    }

    /// The common receive path of verify and unseal.
    fn receive(&mut self, sig: &[u8; 16], body: Body<'_>) -> Result<(), SecurityError> {
        let (ess, dg, kx) = (self.ess(), self.datagram(), self.key_exch());
        let ch = self.rx();
        let expected = ch.seq;
        let sig_seq = u32::from_le_bytes([sig[12], sig[13], sig[14], sig[15]]);
        // With extended session security SeqNum travels in clear and is what the MAC covers; without it the
        // field is encrypted and the MAC is computed over our own counter.
        let seq = if ess { sig_seq } else { expected };
        // A rejected token spends its slot when it claims it; otherwise the keystream must be left as it was,
        // so only then is a copy of it kept (a mechListMIC or an in-order token claims its slot: no copy).
        let claims = claims_slot(ess, dg, sig_seq, expected);
        let saved = (!claims).then(|| ch.rc4.current().clone());
        if dg {
            ch.rekey(seq);
        }
        // On error the message buffer is put back as each body needs: a sealed buffer in place gets its
        // ciphertext again, a separate plaintext buffer is zeroed.
        let result = match body {
            Body::Plain(msg) => {
                let d = digest(ess, ch, seq, msg);
                check(ess, dg, ch, seq, expected, sig, d, kx)
            }
            Body::Sealed(msg) => {
                let mut before = ch.rc4.current().clone();
                let mut d = Digester::new(ess, ch, seq);
                match &mut d {
                    Digester::Hmac(mac) => unseal_interleaved_in_place(mac, ch.rc4.get(), msg),
                    Digester::Crc(_) => {
                        let rc4 = ch.rc4.get();
                        for chunk in msg.chunks_mut(CHUNK) {
                            rc4.apply(chunk);
                            d.update(chunk);
                        }
                    }
                }
                let r = check(ess, dg, ch, seq, expected, sig, d.finish(), kx);
                if r.is_err() {
                    before.apply(msg);
                }
                r
            }
            Body::SealedTo(sealed, out) => {
                let mut d = Digester::new(ess, ch, seq);
                match &mut d {
                    Digester::Hmac(mac) => unseal_interleaved(mac, ch.rc4.get(), sealed, out),
                    Digester::Crc(_) => {
                        let rc4 = ch.rc4.get();
                        for (c, o) in sealed.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
                            rc4.apply_to(c, o);
                            d.update(o);
                        }
                    }
                }
                let r = check(ess, dg, ch, seq, expected, sig, d.finish(), kx);
                if r.is_err() {
                    out.fill(0);
                }
                r
            }
        };
        match result {
            Ok(()) => {
                ch.seq = seq.wrapping_add(1);
                Ok(())
            }
            Err(e) => {
                // `check` fails only with BadSignature, Duplicate or Gap: the token spends its slot exactly
                // when it claims it.
                if let Some(saved) = saved {
                    ch.rc4.set(saved);
                } else {
                    // The token took the current slot: its SeqNum and keystream are spent, as at the peers.
                    ch.seq = expected.wrapping_add(1);
                }
                Err(e)
            }
        }
    }

    /// Resets an RC4 handle to the start of its keystream, as gss-ntlmssp does for
    /// `gss_set_sec_context_option(1.3.6.1.4.1.7165.655.1.3)` that MIT SPNEGO calls after each mechListMIC:
    /// `recv` (value 1, after verify) resets the receiving handle, otherwise the sending one. Without
    /// extended session security the single shared handle is reset either way. Sequence numbers are kept.
    /// Does nothing when neither SIGN nor SEAL is negotiated.
    pub fn reset_rc4(&mut self, recv: bool) {
        if !self.integrity() {
            return;
        }
        if recv {
            self.rx().reset();
        } else {
            self.send.reset();
        }
    }

    /// The next sequence number to send.
    pub fn send_seq(&self) -> u32 {
        self.send.seq
    }

    /// The next sequence number expected (without extended session security the same counter as
    /// [`send_seq`](Self::send_seq)).
    pub fn recv_seq(&self) -> u32 {
        if self.ess() {
            self.recv.seq
        } else {
            self.send.seq
        }
    }

    /// Sets the sequence numbers (datagram applications supply them). Without extended session security
    /// there is one counter, set to `send`.
    pub fn set_seq(&mut self, send: u32, recv: u32) {
        self.send.seq = send;
        if self.ess() {
            self.recv.seq = recv;
        }
    }
}

/// Whether a token claims the receiver's current slot, so that rejecting it spends that slot (its SeqNum and the
/// keystream a genuine token of that length would have used) and the sender's next genuine token still verifies.
/// gss-ntlmssp, Samba (`ntlmssp_check_packet`), pyspnego and .NET's managed NTLM all do this for every token they
/// refuse. We do it for a token that claims the current slot: without extended session security always (the
/// SeqNum is encrypted, so every token claims it; in datagram mode too, where the receiver's counter is the only
/// SeqNum), with it only in connection mode and when the SeqNum in clear is the expected one — a replayed or
/// reordered token (another SeqNum) leaves the state untouched, so it cannot desynchronise the stream. Datagram
/// mode with extended session security takes the SeqNum from each message and re-keys per message: nothing to
/// spend. A malformed signature (length, Version) is refused before this question and spends nothing.
fn claims_slot(ess: bool, datagram: bool, sig_seq: u32, expected: u32) -> bool {
    !ess || (!datagram && sig_seq == expected)
}

/// Checks length and Version of a received signature.
fn parse_signature(signature: &[u8]) -> Result<[u8; 16], SecurityError> {
    let sig: [u8; 16] = signature.try_into().map_err(|_| SecurityError::BadLength)?;
    if sig[..4] != VERSION {
        return Err(SecurityError::BadVersion);
    }
    Ok(sig)
}

/// Whether two signatures carry the same 8-byte checksum (bytes 4..12), in constant time: one word compare
/// instead of eight byte compares.
fn ct_eq_checksum(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let word =
        |s: &[u8; 16]| u64::from_le_bytes([s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11]]);
    bool::from(subtle::ConstantTimeEq::ct_eq(&word(a), &word(b)))
}

/// Compares a received signature with the one computed from `digest` at `seq`, and its SeqNum with `expected`
/// (connection mode). Consumes keystream like the sender did. Fails only with `BadSignature`, `Duplicate` or
/// `Gap` (what [`claims_slot`] is about).
#[allow(clippy::too_many_arguments)]
fn check(
    ess: bool,
    datagram: bool,
    ch: &mut Channel,
    seq: u32,
    expected: u32,
    sig: &[u8; 16],
    digest: [u8; 8],
    key_exch: bool,
) -> Result<(), SecurityError> {
    let (want, pad_ks) = finish(ess, key_exch, ch, seq, digest);
    if ess {
        if !ct_eq_checksum(sig, &want) {
            return Err(SecurityError::BadSignature);
        }
        if !datagram && seq != expected {
            return Err(sequence_error(expected, seq));
        }
        Ok(())
    } else {
        let pad = &sig[4..8];
        if !(ct_eq(pad, &[0; 4]) || ct_eq(pad, &pad_ks)) || !ct_eq(&sig[8..12], &want[8..12]) {
            return Err(SecurityError::BadSignature);
        }
        // want[12..16] = RC4(0) ^ expected: recover the sender's SeqNum from the received field.
        let mut got = [0u8; 4];
        for (g, ((r, w), e)) in got.iter_mut().zip(
            sig[12..]
                .iter()
                .zip(&want[12..])
                .zip(expected.to_le_bytes()),
        ) {
            *g = r ^ w ^ e;
        }
        let got = u32::from_le_bytes(got);
        if got != expected {
            return Err(sequence_error(expected, got));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
