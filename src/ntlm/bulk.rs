//! MD5 (RFC 1321) and HMAC-MD5 (RFC 2104) for the bulk sealing path of MS-NLMP §3.4.3/§3.4.4, with a step
//! that runs one MD5 block and 64 bytes of RC4 interleaved.
//!
//! Sealing a message is HMAC_MD5 over it plus RC4 over it (§3.4.3). MD5 is bound by the latency of its
//! dependency chain and RC4 by its table loads and stores; run one after the other each leaves most of the
//! core idle. [`HmacMd5::update_blocks_with_rc4`] interleaves one MD5 step with one RC4 byte so the core
//! overlaps them (measured here: 504 MiB/s for both together against 353 MiB/s one after the other). The
//! results are bit for bit those of MD5 and RC4 run separately; the tests compare against the `md-5` crate.
#![forbid(unsafe_code)]

use zeroize::Zeroize;

use crate::ntlm::md5x4::compress_x4;
use crate::ntlm::rc4::Rc4;

mod short;

/// RFC 1321 §3.4: T[i] = floor(2^32 * |sin(i + 1)|).
pub(crate) const T: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// RFC 1321 §3.3: the initial state A, B, C, D.
pub(crate) const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

#[inline(always)]
pub(crate) fn f(x: u32, y: u32, z: u32) -> u32 {
    (x & y) | (!x & z)
}
#[inline(always)]
pub(crate) fn g(x: u32, y: u32, z: u32) -> u32 {
    // (x & z) | (y & !z): the two terms share no bit, so `+` equals `|` and schedules better.
    (x & z).wrapping_add(y & !z)
}
#[inline(always)]
pub(crate) fn h(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}
#[inline(always)]
pub(crate) fn i(x: u32, y: u32, z: u32) -> u32 {
    y ^ (x | !z)
}

/// The 16 little-endian words of a block (RFC 1321 §3.4), for every MD5 compression of the crate.
#[inline(always)]
pub(crate) fn words(block: &[u8; 64]) -> [u32; 16] {
    let mut m = [0u32; 16];
    for (w, c) in m.iter_mut().zip(block.chunks_exact(4)) {
        let mut b = [0u8; 4];
        b.copy_from_slice(c);
        *w = u32::from_le_bytes(b);
    }
    m
}

/// An MD4/MD5 state as the digest's 16 bytes, the words little-endian (RFC 1321 §3.5).
#[inline(always)]
pub(crate) fn digest_bytes(state: &[u32; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// The 64 steps of RFC 1321 §3.4 as 16 groups of four, `$four!(round function, first step index, the four
/// shift amounts, the four message word indices)` with the round functions `$f`, `$g`, `$h`, `$i`: the one
/// schedule of the single-lane ([`compress`]), two-lane ([`crate::ntlm::md5x2`]) and four-lane
/// ([`crate::ntlm::md5x4`]) compressions, each of which defines its own `four!`.
macro_rules! md5_rounds {
    ($four:ident, $f:ident, $g:ident, $h:ident, $i:ident) => {
        $four!($f, 0, [7, 12, 17, 22], [0, 1, 2, 3]);
        $four!($f, 4, [7, 12, 17, 22], [4, 5, 6, 7]);
        $four!($f, 8, [7, 12, 17, 22], [8, 9, 10, 11]);
        $four!($f, 12, [7, 12, 17, 22], [12, 13, 14, 15]);
        $four!($g, 16, [5, 9, 14, 20], [1, 6, 11, 0]);
        $four!($g, 20, [5, 9, 14, 20], [5, 10, 15, 4]);
        $four!($g, 24, [5, 9, 14, 20], [9, 14, 3, 8]);
        $four!($g, 28, [5, 9, 14, 20], [13, 2, 7, 12]);
        $four!($h, 32, [4, 11, 16, 23], [5, 8, 11, 14]);
        $four!($h, 36, [4, 11, 16, 23], [1, 4, 7, 10]);
        $four!($h, 40, [4, 11, 16, 23], [13, 0, 3, 6]);
        $four!($h, 44, [4, 11, 16, 23], [9, 12, 15, 2]);
        $four!($i, 48, [6, 10, 15, 21], [0, 7, 14, 5]);
        $four!($i, 52, [6, 10, 15, 21], [12, 3, 10, 1]);
        $four!($i, 56, [6, 10, 15, 21], [8, 15, 6, 13]);
        $four!($i, 60, [6, 10, 15, 21], [4, 11, 2, 9]);
    };
}
pub(crate) use md5_rounds;

/// One step of RFC 1321 §3.4 on scalar words: `$a = $b + ((a + $fn(b, c, d) + $m[$x] + T[$k]) <<< $rot)`, the
/// formula of the single-lane ([`compress`]) and each lane of the two-lane ([`crate::ntlm::md5x2`])
/// compressions. (The four-lane one works on lane vectors with its own operations.)
macro_rules! md5_step {
    ($fn:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:ident, $k:expr, $x:expr, $rot:expr) => {
        $a = $fn($b, $c, $d)
            .wrapping_add($a)
            .wrapping_add($m[$x])
            .wrapping_add(T[$k])
            .rotate_left($rot)
            .wrapping_add($b);
    };
}
pub(crate) use md5_step;

/// The MD5 compression of one block (RFC 1321 §3.4). When `RC4` is true, each of the 64 steps is followed
/// by one RC4 byte: `output = input XOR keystream` (64 bytes), written 8 bytes at a time.
#[inline(always)]
#[allow(unused_assignments)] // the keystream word is reset after the last store too
fn compress<const RC4: bool>(
    state: &mut [u32; 4],
    block: &[u8; 64],
    rc4: (&mut [u8; 256], &mut u8, &mut u8),
    input: &[u8; 64],
    output: &mut [u8; 64],
) {
    let mut m = words(block);
    let [mut a, mut b, mut c, mut d] = *state;
    let (s, ri, rj) = rc4;
    let (mut si, mut sj) = (*ri, *rj);
    let mut ks = 0u64;
    macro_rules! step {
        ($fn:ident, $a:ident, $b:ident, $c:ident, $d:ident, $k:expr, $x:expr, $r:expr) => {
            md5_step!($fn, $a, $b, $c, $d, m, $k, $x, $r);
            if RC4 {
                ks |= u64::from(Rc4::step(s, &mut si, &mut sj)) << (8 * ($k % 8));
                if $k % 8 == 7 {
                    let at = $k - 7;
                    let mut word = [0u8; 8];
                    word.copy_from_slice(&input[at..at + 8]);
                    let x = ks ^ u64::from_le_bytes(word);
                    output[at..at + 8].copy_from_slice(&x.to_le_bytes());
                    ks = 0;
                }
            }
        };
    }
    macro_rules! four {
        ($fn:ident, $k:expr, [$r0:expr, $r1:expr, $r2:expr, $r3:expr], [$x0:expr, $x1:expr, $x2:expr, $x3:expr]) => {
            step!($fn, a, b, c, d, $k, $x0, $r0);
            step!($fn, d, a, b, c, $k + 1, $x1, $r1);
            step!($fn, c, d, a, b, $k + 2, $x2, $r2);
            step!($fn, b, c, d, a, $k + 3, $x3, $r3);
        };
    }
    md5_rounds!(four, f, g, h, i);
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
    *ri = si;
    *rj = sj;
    m.as_mut_slice().zeroize();
}

/// Compresses one block without RC4.
pub(crate) fn compress_only(state: &mut [u32; 4], block: &[u8; 64]) {
    // `RC4 = false` never touches the keystream arguments: plain locals, removed once inlined.
    let (mut s, mut i, mut j, mut out) = ([0u8; 256], 0u8, 0u8, [0u8; 64]);
    compress::<false>(state, block, (&mut s, &mut i, &mut j), &[0; 64], &mut out);
}

/// The HMAC_MD5 key schedule (RFC 2104 §2): the MD5 states after the block `K XOR ipad` and after
/// `K XOR opad`. Keying once and starting every MAC from it ([`HmacMd5::with_key`]) saves two of the four
/// compressions a short MAC costs. Key material: wiped on drop.
#[derive(Clone, Default)]
pub struct HmacKey {
    inner: [u32; 4],
    outer: [u32; 4],
}

impl HmacKey {
    /// The schedule of `key` (a key longer than 64 bytes is hashed first).
    pub fn new(key: &[u8]) -> HmacKey {
        let (mut ipad, mut opad) = pads(key);
        let mut inner = INIT;
        let mut outer = INIT;
        compress_only(&mut inner, &ipad);
        compress_only(&mut outer, &opad);
        ipad.as_mut_slice().zeroize();
        opad.as_mut_slice().zeroize();
        HmacKey { inner, outer }
    }

    /// The schedules of two keys at once (four compressions side by side, `compress_x4`).
    pub fn pair(k1: &[u8], k2: &[u8]) -> (HmacKey, HmacKey) {
        let (mut i1, mut o1) = pads(k1);
        let (mut i2, mut o2) = pads(k2);
        let mut st = [INIT; 4];
        compress_x4(&mut st, [&i1, &o1, &i2, &o2]);
        for p in [&mut i1, &mut o1, &mut i2, &mut o2] {
            p.as_mut_slice().zeroize();
        }
        let out = (
            HmacKey {
                inner: st[0],
                outer: st[1],
            },
            HmacKey {
                inner: st[2],
                outer: st[3],
            },
        );
        st.zeroize();
        out
    }
}

/// `K XOR ipad` and `K XOR opad` for `key` (RFC 2104 §2).
fn pads(key: &[u8]) -> ([u8; 64], [u8; 64]) {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        let mut hk = Md5::new();
        hk.update(key);
        let mut d = hk.finalize();
        k[..16].copy_from_slice(&d);
        d.zeroize();
    } else if let Some(dst) = k.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    let mut ipad = [0u8; 64];
    let mut opad = [0u8; 64];
    for ((ip, op), kb) in ipad.iter_mut().zip(opad.iter_mut()).zip(k) {
        *ip = kb ^ 0x36;
        *op = kb ^ 0x5c;
    }
    k.as_mut_slice().zeroize();
    (ipad, opad)
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl core::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacKey(<redacted>)")
    }
}

/// The input framing MD4 and MD5 share (RFC 1320 / RFC 1321 §3.1–3.2): `data` completes the buffered block,
/// whole blocks go to `compress` straight from `data`, the rest is buffered; `total` counts every byte.
#[inline(always)]
pub(crate) fn absorb(
    state: &mut [u32; 4],
    buf: &mut [u8; 64],
    buf_len: &mut usize,
    total: &mut u64,
    mut data: &[u8],
    compress: impl Fn(&mut [u32; 4], &[u8; 64]),
) {
    *total = total.wrapping_add(data.len() as u64);
    if *buf_len > 0 {
        let take = (64 - *buf_len).min(data.len());
        let (head, rest) = data.split_at(take);
        if let Some(dst) = buf.get_mut(*buf_len..*buf_len + take) {
            dst.copy_from_slice(head);
        }
        *buf_len += take;
        data = rest;
        if *buf_len < 64 {
            return;
        }
        // Borrowed in place, not copied: a copy of the buffered (secret) input would stay on the stack.
        compress(state, buf);
        *buf_len = 0;
    }
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        if let Ok(block) = <&[u8; 64]>::try_from(b) {
            compress(state, block);
        }
    }
    let rest = blocks.remainder();
    if let Some(dst) = buf.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    *buf_len = rest.len();
}

/// The end MD4 and MD5 share: 0x80, zeros up to 56 mod 64, the bit length little-endian, then the state words
/// little-endian (RFC 1320 / RFC 1321 §3.1, §3.2, §3.5).
#[inline(always)]
pub(crate) fn finish(
    state: &mut [u32; 4],
    buf: &mut [u8; 64],
    buf_len: &mut usize,
    total: &mut u64,
    compress: impl Fn(&mut [u32; 4], &[u8; 64]) + Copy,
) -> [u8; 16] {
    let bits = total.wrapping_mul(8);
    let pad_len = if *buf_len < 56 {
        56 - *buf_len
    } else {
        120 - *buf_len
    };
    let mut pad = [0u8; 72];
    pad[0] = 0x80;
    absorb(
        state,
        buf,
        buf_len,
        total,
        pad.get(..pad_len).unwrap_or_default(),
        compress,
    );
    absorb(state, buf, buf_len, total, &bits.to_le_bytes(), compress);
    digest_bytes(state)
}

/// Incremental MD5 (RFC 1321).
#[derive(Clone)]
pub struct Md5 {
    state: [u32; 4],
    buf: [u8; 64],
    buf_len: usize,
    total: u64,
}

impl Md5 {
    /// An empty hash.
    pub fn new() -> Md5 {
        Md5 {
            state: INIT,
            buf: [0; 64],
            buf_len: 0,
            total: 0,
        }
    }

    /// Appends `data`.
    pub fn update(&mut self, data: &[u8]) {
        absorb(
            &mut self.state,
            &mut self.buf,
            &mut self.buf_len,
            &mut self.total,
            data,
            compress_only,
        );
    }

    /// Bytes still needed to complete the buffered block (0 when the buffer is empty).
    fn to_boundary(&self) -> usize {
        (64 - self.buf_len) % 64
    }

    /// Hashes the whole 64-byte blocks of `blocks` and, interleaved with them, runs `rc4` over `input` into
    /// `output`, 64 bytes per block. Processes `n` = the smallest of the three counts of whole 64-byte blocks
    /// and returns `n`; does nothing (returns 0) unless the buffered data ends on a block boundary. The
    /// caller continues with `update(&blocks[64 * n..])` and `rc4.apply_to(&input[64 * n..], ...)`.
    #[inline]
    pub fn update_blocks_with_rc4(
        &mut self,
        blocks: &[u8],
        rc4: &mut Rc4,
        input: &[u8],
        output: &mut [u8],
    ) -> usize {
        if self.buf_len != 0 {
            return 0;
        }
        let mut n = 0;
        for ((b, x), y) in blocks
            .chunks_exact(64)
            .zip(input.chunks_exact(64))
            .zip(output.chunks_exact_mut(64))
        {
            if let (Ok(b), Ok(x), Ok(y)) = (
                <&[u8; 64]>::try_from(b),
                <&[u8; 64]>::try_from(x),
                <&mut [u8; 64]>::try_from(y),
            ) {
                compress::<true>(&mut self.state, b, rc4.parts(), x, y);
                n += 1;
            }
        }
        self.total = self.total.wrapping_add(64 * n as u64);
        n
    }

    /// One block of [`Md5::update_blocks_with_rc4`] with RC4 in place: hashes `block` (64 bytes) and
    /// encrypts or decrypts `data` (64 bytes, elsewhere in the same message) in place. Returns false, doing
    /// nothing, unless both are 64 bytes and the buffered data ends on a block boundary.
    #[inline]
    pub fn update_block_with_rc4_in_place(
        &mut self,
        block: &[u8],
        rc4: &mut Rc4,
        data: &mut [u8],
    ) -> bool {
        let (Ok(b), Ok(d)) = (
            <&[u8; 64]>::try_from(block),
            <&mut [u8; 64]>::try_from(data),
        ) else {
            return false;
        };
        if self.buf_len != 0 {
            return false;
        }
        // 64 bytes copied on the stack: negligible next to 64 RC4 steps.
        let input = *d;
        compress::<true>(&mut self.state, b, rc4.parts(), &input, d);
        self.total = self.total.wrapping_add(64);
        true
    }

    /// The digest (RFC 1321 §3.1–3.2 padding and length, §3.5 output).
    pub fn finalize(mut self) -> [u8; 16] {
        finish(
            &mut self.state,
            &mut self.buf,
            &mut self.buf_len,
            &mut self.total,
            compress_only,
        )
    }
}

impl Default for Md5 {
    fn default() -> Md5 {
        Md5::new()
    }
}

impl Drop for Md5 {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.as_mut_slice().zeroize();
    }
}

/// Incremental HMAC_MD5 (RFC 2104, MS-NLMP §6).
pub struct HmacMd5 {
    inner: Md5,
    /// The MD5 state after `K XOR opad`, for the outer hash.
    outer: [u32; 4],
}

impl HmacMd5 {
    /// Starts a MAC under `key` (a key longer than 64 bytes is hashed first, RFC 2104 §2).
    pub fn new(key: &[u8]) -> HmacMd5 {
        HmacMd5::with_key(&HmacKey::new(key))
    }

    /// Starts a MAC from a key schedule made once ([`HmacKey`]).
    pub fn with_key(key: &HmacKey) -> HmacMd5 {
        HmacMd5 {
            inner: Md5 {
                state: key.inner,
                buf: [0; 64],
                buf_len: 0,
                total: 64,
            },
            outer: key.outer,
        }
    }

    /// Appends `data` to the message.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// Bytes of message still needed before the inner hash sits on a block boundary.
    pub fn to_boundary(&self) -> usize {
        self.inner.to_boundary()
    }

    /// [`Md5::update_blocks_with_rc4`] on the message.
    #[inline]
    pub fn update_blocks_with_rc4(
        &mut self,
        blocks: &[u8],
        rc4: &mut Rc4,
        input: &[u8],
        output: &mut [u8],
    ) -> usize {
        self.inner
            .update_blocks_with_rc4(blocks, rc4, input, output)
    }

    /// [`Md5::update_block_with_rc4_in_place`] on the message.
    #[inline]
    pub fn update_block_with_rc4_in_place(
        &mut self,
        block: &[u8],
        rc4: &mut Rc4,
        data: &mut [u8],
    ) -> bool {
        self.inner.update_block_with_rc4_in_place(block, rc4, data)
    }

    /// The MAC of everything passed in.
    pub fn finalize(self) -> [u8; 16] {
        let mut outer = Md5 {
            state: self.outer,
            buf: [0; 64],
            buf_len: 0,
            total: 64,
        };
        let mut inner = self.inner.clone().finalize();
        outer.update(&inner);
        inner.zeroize();
        outer.finalize()
    }
}

impl Drop for HmacMd5 {
    fn drop(&mut self) {
        self.outer.zeroize();
    }
}

impl core::fmt::Debug for HmacMd5 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacMd5(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest;
    use proptest::prelude::*;

    fn md5_of(data: &[u8]) -> [u8; 16] {
        let mut h = Md5::new();
        h.update(data);
        h.finalize()
    }

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn md5_matches_rfc1321_test_suite() {
        // RFC 1321 §A.5.
        let cases: [(&[u8], &str); 7] = [
            (b"", "d41d8cd98f00b204e9800998ecf8427e"),
            (b"a", "0cc175b9c0f1b6a831c399e269772661"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                b"abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(
                hex(&md5_of(msg)),
                want,
                "{:?}",
                String::from_utf8_lossy(msg)
            );
        }
    }

    #[test]
    fn hmac_md5_matches_rfc2202_vectors() {
        // RFC 2202 §2, test cases 1, 2 and 6 (an 80-byte key, hashed first).
        let mut m = HmacMd5::new(&[0x0b; 16]);
        m.update(b"Hi There");
        assert_eq!(hex(&m.finalize()), "9294727a3638bb1c13f48ef8158bfc9d");
        let mut m = HmacMd5::new(b"Jefe");
        m.update(b"what do ya want ");
        m.update(b"for nothing?");
        assert_eq!(hex(&m.finalize()), "750c783e6ab0b503eaa86e310a5db738");
        let mut m = HmacMd5::new(&[0xaa; 80]);
        m.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex(&m.finalize()), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
    }

    #[test]
    fn md5_x4_takes_only_two_block_messages() {
        let short = [0u8; 55];
        let ok = [0u8; 56];
        let long = [0u8; 120];
        assert!(crate::ntlm::md5x4::md5_x4([&short, &ok, &ok, &ok]).is_none());
        assert!(crate::ntlm::md5x4::md5_x4([&ok, &ok, &ok, &long]).is_none());
        let got = crate::ntlm::md5x4::md5_x4([&ok, &[1u8; 75], &[2u8; 66], &[3u8; 119]]).unwrap();
        assert_eq!(got[1], md5_of(&[1u8; 75]));
        assert_eq!(got[3], md5_of(&[3u8; 119]));
    }

    #[test]
    fn fused_step_refuses_an_unaligned_hash() {
        let mut h = Md5::new();
        h.update(b"abc");
        let mut rc4 = Rc4::new(b"k");
        let before = rc4.to_bytes();
        let mut out = [0u8; 64];
        assert_eq!(
            h.update_blocks_with_rc4(&[1; 64], &mut rc4, &[2; 64], &mut out),
            0
        );
        assert_eq!(rc4.to_bytes(), before);
        assert_eq!(out, [0u8; 64]);
    }

    proptest! {
        #[test]
        fn md5_in_pieces_equals_md5_crate(data in proptest::collection::vec(any::<u8>(), 0..700),
                                          cuts in proptest::collection::vec(0usize..700, 0..6)) {
            let mut h = Md5::new();
            let mut at = 0;
            let mut cuts = cuts;
            cuts.sort_unstable();
            for c in cuts {
                let c = c.min(data.len()).max(at);
                h.update(&data[at..c]);
                at = c;
            }
            h.update(&data[at..]);
            let want: [u8; 16] = md5::Md5::digest(&data).into();
            prop_assert_eq!(h.finalize(), want);
        }

        #[test]
        fn hmac_md5_equals_hmac_crate(key in proptest::collection::vec(any::<u8>(), 0..100),
                                      data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut m = HmacMd5::new(&key);
            m.update(&data);
            let mut want = <hmac::Hmac<md5::Md5> as hmac::Mac>::new_from_slice(&key).unwrap();
            hmac::Mac::update(&mut want, &data);
            let want: [u8; 16] = hmac::Mac::finalize(want).into_bytes().into();
            prop_assert_eq!(m.finalize(), want);
            // The same from a key schedule made once, alone or two at a time.
            let (k1, k2) = HmacKey::pair(&key, b"other key");
            let mut m2 = HmacMd5::with_key(&k2);
            m2.update(&data);
            let mut want2 = HmacMd5::new(b"other key");
            want2.update(&data);
            prop_assert_eq!(m2.finalize(), want2.finalize());
            let mut m = HmacMd5::with_key(&k1);
            m.update(&data);
            prop_assert_eq!(m.finalize(), want);
            let cut = data.len() / 3;
            match k1.mac_short(&[&data[..cut], &data[cut..]]) {
                Some(short) => prop_assert_eq!(short, want),
                None => prop_assert!(data.len() > 55),
            }
            // With a SeqNum in front: the session security checksum.
            if let Some(rest) = data.get(4..) {
                let seq = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
                match k1.mac_seq_short(seq, rest) {
                    Some(short) => prop_assert_eq!(short, want),
                    None => prop_assert!(data.len() > 55),
                }
                // Two keys and two SeqNums side by side: each as computed alone.
                let seq2 = seq.wrapping_add(1);
                match k1.mac_seq_short_x2(seq, &k2, seq2, rest) {
                    Some((a, b)) => {
                        prop_assert_eq!(a, want);
                        prop_assert_eq!(Some(b), k2.mac_seq_short(seq2, rest));
                    }
                    None => prop_assert!(data.len() > 55),
                }
            }
        }

        #[test]
        fn md5_x4_equals_md5_crate(a in proptest::collection::vec(any::<u8>(), 56..120),
                                   b in proptest::collection::vec(any::<u8>(), 56..120),
                                   c in proptest::collection::vec(any::<u8>(), 56..120),
                                   d in proptest::collection::vec(any::<u8>(), 56..120)) {
            let got = crate::ntlm::md5x4::md5_x4([&a, &b, &c, &d]).unwrap();
            for (g, m) in got.iter().zip([&a, &b, &c, &d]) {
                let want: [u8; 16] = md5::Md5::digest(m).into();
                prop_assert_eq!(*g, want);
            }
        }

        #[test]
        fn fused_blocks_equal_md5_then_rc4(prefix in proptest::collection::vec(any::<u8>(), 0..3),
                                           data in proptest::collection::vec(any::<u8>(), 0..600),
                                           key in proptest::collection::vec(any::<u8>(), 1..20)) {
            // Hash `prefix` (whole 64-byte multiples only, so the hash is aligned) then `data`, while RC4
            // runs over `data`; compare with MD5 and RC4 run separately.
            let prefix: Vec<u8> = prefix.iter().flat_map(|b| [*b; 64]).collect();
            let mut h = Md5::new();
            h.update(&prefix);
            let mut rc4 = Rc4::new(&key);
            let mut out = vec![0u8; data.len()];
            let n = h.update_blocks_with_rc4(&data, &mut rc4, &data, &mut out);
            prop_assert_eq!(n, data.len() / 64);
            h.update(&data[64 * n..]);
            rc4.apply_to(&data[64 * n..], &mut out[64 * n..]);

            let mut whole = prefix.clone();
            whole.extend_from_slice(&data);
            let want: [u8; 16] = md5::Md5::digest(&whole).into();
            prop_assert_eq!(h.finalize(), want);
            let mut sep = Rc4::new(&key);
            let mut want_out = data.clone();
            sep.apply(&mut want_out);
            prop_assert_eq!(out, want_out);
            prop_assert_eq!(rc4.to_bytes(), sep.to_bytes());
        }
    }
}
