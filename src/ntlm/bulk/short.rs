//! HMAC_MD5 of a message that fits the inner block with its padding (at most 55 bytes): exactly two MD5
//! compressions from an [`HmacKey`] schedule, nothing buffered — NTLM session security's checksums of short
//! messages (SPNEGO's mechListMIC, small `gss_get_mic`s), one key at a time or two side by side
//! ([`crate::ntlm::md5x2`]). Longer messages take the streaming [`super::HmacMd5`].
#![forbid(unsafe_code)]

use zeroize::Zeroize;

use super::{compress_only, digest_bytes, HmacKey};
use crate::ntlm::md5x2::compress_x2;

/// Ends the inner block of a short MAC whose `len` (at most 55) message bytes are in place and followed by
/// zeros: 0x80 and the bit length, counting the 64-byte key block hashed before it.
#[inline(always)]
fn pad_inner(block: &mut [u8; 64], len: usize) -> Option<()> {
    *block.get_mut(len)? = 0x80;
    block[56..].copy_from_slice(&((64 + len as u64) * 8).to_le_bytes());
    Some(())
}

/// The outer block of a short MAC: the inner digest, 0x80, the bit length after the 64-byte key block.
#[inline(always)]
fn outer_block(block: &mut [u8; 64], inner: &[u32; 4]) {
    *block = [0; 64];
    block[..16].copy_from_slice(&digest_bytes(inner));
    block[16] = 0x80;
    block[56..].copy_from_slice(&((64u64 + 16) * 8).to_le_bytes());
}

/// The padded inner block of the short MAC of `seq || msg`; `None` when `msg` is longer than 51 bytes.
#[inline(always)]
fn seq_block(seq: u32, msg: &[u8]) -> Option<[u8; 64]> {
    let len = msg.len().checked_add(4).filter(|&n| n <= 55)?;
    let mut block = [0u8; 64];
    block.get_mut(..4)?.copy_from_slice(&seq.to_le_bytes());
    block.get_mut(4..len)?.copy_from_slice(msg);
    pad_inner(&mut block, len)?;
    Some(block)
}

impl HmacKey {
    /// HMAC_MD5 of the concatenation of `parts` when it is at most 55 bytes long: exactly two MD5 blocks
    /// from the schedule (the inner block holds the whole message, padding and length), no buffering.
    /// `None` for a longer message (use [`super::HmacMd5::with_key`]).
    pub fn mac_short(&self, parts: &[&[u8]]) -> Option<[u8; 16]> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > 55 {
            return None;
        }
        let mut block = [0u8; 64];
        let mut at = 0;
        for p in parts {
            block.get_mut(at..at + p.len())?.copy_from_slice(p);
            at += p.len();
        }
        pad_inner(&mut block, len)?;
        Some(self.short_blocks(&mut block))
    }

    /// [`HmacKey::mac_short`] of `SeqNum || msg` (the session security checksum, MS-NLMP §3.4.4.2) without
    /// the loop over parts: `None` when `msg` is longer than 51 bytes.
    pub fn mac_seq_short(&self, seq: u32, msg: &[u8]) -> Option<[u8; 16]> {
        let mut block = seq_block(seq, msg)?;
        Some(self.short_blocks(&mut block))
    }

    /// [`HmacKey::mac_seq_short`] under two keys at once: `self` over `seq1 || msg` and `other` over
    /// `seq2 || msg`, each pair of MD5 blocks side by side ([`crate::ntlm::md5x2`]). `None` when `msg` is
    /// longer than 51 bytes.
    pub fn mac_seq_short_x2(
        &self,
        seq1: u32,
        other: &HmacKey,
        seq2: u32,
        msg: &[u8],
    ) -> Option<([u8; 16], [u8; 16])> {
        let mut b1 = seq_block(seq1, msg)?;
        let mut b2 = b1;
        b2[..4].copy_from_slice(&seq2.to_le_bytes());
        let (mut i1, mut i2) = (self.inner, other.inner);
        compress_x2(&mut i1, &b1, &mut i2, &b2);
        outer_block(&mut b1, &i1);
        outer_block(&mut b2, &i2);
        let (mut o1, mut o2) = (self.outer, other.outer);
        compress_x2(&mut o1, &b1, &mut o2, &b2);
        b1.as_mut_slice().zeroize();
        b2.as_mut_slice().zeroize();
        i1.zeroize();
        i2.zeroize();
        Some((digest_bytes(&o1), digest_bytes(&o2)))
    }

    /// The two blocks of a short MAC: `block` is the padded inner block ([`pad_inner`]); it is wiped after use.
    #[inline(always)]
    fn short_blocks(&self, block: &mut [u8; 64]) -> [u8; 16] {
        let mut inner = self.inner;
        compress_only(&mut inner, block);
        outer_block(block, &inner);
        let mut outer = self.outer;
        compress_only(&mut outer, block);
        block.as_mut_slice().zeroize();
        inner.zeroize();
        digest_bytes(&outer)
    }
}
