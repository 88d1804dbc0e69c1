//! MD4 (RFC 1320) for NTOWFv1 (MS-NLMP §3.3.1): the hash of the password, so its state and buffered input are
//! password material. The `md4` crate (0.10) has no way to wipe them; this one wipes its state, its buffer and
//! its message schedule. Checked against the RFC 1320 test suite and, over random inputs, the `md4` crate.
#![forbid(unsafe_code)]

use zeroize::Zeroize;

use crate::ntlm::bulk::{absorb, finish};

/// RFC 1320 §3.3: the initial state A, B, C, D (the same words as MD5's).
const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// Incremental MD4; wiped on drop.
pub struct Md4 {
    state: [u32; 4],
    buf: [u8; 64],
    buf_len: usize,
    total: u64,
}

impl Md4 {
    /// An empty hash.
    pub fn new() -> Md4 {
        Md4 {
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
            compress,
        );
    }

    /// The digest of everything passed in (RFC 1320 §3.1–3.2 padding, §3.5 output).
    pub fn finalize(mut self) -> [u8; 16] {
        finish(
            &mut self.state,
            &mut self.buf,
            &mut self.buf_len,
            &mut self.total,
            compress,
        )
    }
}

impl Default for Md4 {
    fn default() -> Md4 {
        Md4::new()
    }
}

impl Drop for Md4 {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.as_mut_slice().zeroize();
    }
}

/// RFC 1320 §3.4: one 64-byte block, three rounds of sixteen operations.
fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut x = [0u32; 16];
    for (w, b) in x.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    let f = |x: u32, y: u32, z: u32| (x & y) | (!x & z);
    let g = |x: u32, y: u32, z: u32| (x & y) | (x & z) | (y & z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    // Round 1: [abcd k s] a = (a + F(b,c,d) + X[k]) <<< s, with s = 3, 7, 11, 19.
    for i in 0..4 {
        a = a
            .wrapping_add(f(b, c, d))
            .wrapping_add(x[4 * i])
            .rotate_left(3);
        d = d
            .wrapping_add(f(a, b, c))
            .wrapping_add(x[4 * i + 1])
            .rotate_left(7);
        c = c
            .wrapping_add(f(d, a, b))
            .wrapping_add(x[4 * i + 2])
            .rotate_left(11);
        b = b
            .wrapping_add(f(c, d, a))
            .wrapping_add(x[4 * i + 3])
            .rotate_left(19);
    }
    // Round 2: a = (a + G(b,c,d) + X[k] + 5A827999) <<< s, with s = 3, 5, 9, 13.
    const K2: u32 = 0x5A82_7999;
    for i in 0..4 {
        a = a
            .wrapping_add(g(b, c, d))
            .wrapping_add(x[i])
            .wrapping_add(K2)
            .rotate_left(3);
        d = d
            .wrapping_add(g(a, b, c))
            .wrapping_add(x[i + 4])
            .wrapping_add(K2)
            .rotate_left(5);
        c = c
            .wrapping_add(g(d, a, b))
            .wrapping_add(x[i + 8])
            .wrapping_add(K2)
            .rotate_left(9);
        b = b
            .wrapping_add(g(c, d, a))
            .wrapping_add(x[i + 12])
            .wrapping_add(K2)
            .rotate_left(13);
    }
    // Round 3: a = (a + H(b,c,d) + X[k] + 6ED9EBA1) <<< s, with s = 3, 9, 11, 15, k in the order 0 2 1 3.
    const K3: u32 = 0x6ED9_EBA1;
    for i in [0, 2, 1, 3] {
        a = a
            .wrapping_add(h(b, c, d))
            .wrapping_add(x[i])
            .wrapping_add(K3)
            .rotate_left(3);
        d = d
            .wrapping_add(h(a, b, c))
            .wrapping_add(x[i + 8])
            .wrapping_add(K3)
            .rotate_left(9);
        c = c
            .wrapping_add(h(d, a, b))
            .wrapping_add(x[i + 4])
            .wrapping_add(K3)
            .rotate_left(11);
        b = b
            .wrapping_add(h(c, d, a))
            .wrapping_add(x[i + 12])
            .wrapping_add(K3)
            .rotate_left(15);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
    x.zeroize();
    for v in [&mut a, &mut b, &mut c, &mut d] {
        v.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::Md4;
    use proptest::prelude::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn md4(data: &[u8]) -> [u8; 16] {
        let mut h = Md4::new();
        h.update(data);
        h.finalize()
    }

    #[test]
    fn rfc_1320_test_suite() {
        // RFC 1320 §A.5.
        let cases: [(&str, &str); 7] = [
            ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
            ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
            ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
            ("message digest", "d9130a8164549fe818874806e1c7014b"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "d79e1c308aa5bbcdeea8ed63df412da9",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "043f8582f241db351ce627e153e7f0e4",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "e33b4ddc9c38f2199c3e7b164fcc0536",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(hex(&md4(input.as_bytes())), want, "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_md4_crate_in_any_pieces(
            data in prop::collection::vec(any::<u8>(), 0..300),
            cuts in prop::collection::vec(any::<usize>(), 0..4),
        ) {
            use ::md4::Digest;
            let want: [u8; 16] = ::md4::Md4::digest(&data).into();
            let mut h = Md4::new();
            let mut rest = &data[..];
            for c in cuts {
                let (head, tail) = rest.split_at(c % (rest.len() + 1));
                h.update(head);
                rest = tail;
            }
            h.update(rest);
            prop_assert_eq!(h.finalize(), want);
        }
    }
}
