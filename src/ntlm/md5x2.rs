//! Two independent MD5 compressions (RFC 1321 §3.4) run side by side, for the places where a context has two
//! short HMAC_MD5s to compute at once: SPNEGO's mechListMIC, where one side checks the peer's MIC and makes its
//! own over the same MechTypeList (MS-SPNG §3.1.5.1, [`crate::ntlm::security::SessionSecurity::prime`]).
//!
//! One MD5 block is a chain of 64 dependent steps; two chains interleaved step by step let the core overlap
//! them (measured on the project's machine: one block 104 ns, two one after the other 197 ns, two side by side
//! 111 ns). [`crate::ntlm::md5x4`] does the same with four chains where four blocks are at hand.
#![forbid(unsafe_code)]

use zeroize::Zeroize;

use crate::ntlm::bulk::{f, g, h, i, md5_rounds, md5_step, words, T};

/// Compresses `b1` into `s1` and `b2` into `s2`, the two dependency chains interleaved step by step; the
/// results are those of two separate compressions.
pub(crate) fn compress_x2(s1: &mut [u32; 4], b1: &[u8; 64], s2: &mut [u32; 4], b2: &[u8; 64]) {
    let mut m = words(b1);
    let mut n = words(b2);
    let [mut a, mut b, mut c, mut d] = *s1;
    let [mut p, mut q, mut r, mut s] = *s2;
    // One step of each lane: lane 1 on (a, b, c, d) and message words `m`, lane 2 on the matching
    // (p, q, r, s) and `n`.
    macro_rules! step {
        ($fn:ident, $a:ident $b:ident $c:ident $d:ident, $p:ident $q:ident $r:ident $s:ident,
         $k:expr, $x:expr, $rot:expr) => {
            md5_step!($fn, $a, $b, $c, $d, m, $k, $x, $rot);
            md5_step!($fn, $p, $q, $r, $s, n, $k, $x, $rot);
        };
    }
    macro_rules! four {
        ($fn:ident, $k:expr, [$r0:expr, $r1:expr, $r2:expr, $r3:expr], [$x0:expr, $x1:expr, $x2:expr, $x3:expr]) => {
            step!($fn, a b c d, p q r s, $k, $x0, $r0);
            step!($fn, d a b c, s p q r, $k + 1, $x1, $r1);
            step!($fn, c d a b, r s p q, $k + 2, $x2, $r2);
            step!($fn, b c d a, q r s p, $k + 3, $x3, $r3);
        };
    }
    md5_rounds!(four, f, g, h, i);
    for (st, v) in s1.iter_mut().zip([a, b, c, d]) {
        *st = st.wrapping_add(v);
    }
    for (st, v) in s2.iter_mut().zip([p, q, r, s]) {
        *st = st.wrapping_add(v);
    }
    // The message words may be key material.
    m.as_mut_slice().zeroize();
    n.as_mut_slice().zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntlm::bulk::compress_only;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn x2_equals_two_single_compressions(
            b1 in proptest::collection::vec(any::<u8>(), 64),
            b2 in proptest::collection::vec(any::<u8>(), 64),
            s1 in any::<[u32; 4]>(),
            s2 in any::<[u32; 4]>(),
        ) {
            let (b1, b2): ([u8; 64], [u8; 64]) = (b1.try_into().unwrap(), b2.try_into().unwrap());
            let (mut x1, mut x2) = (s1, s2);
            compress_x2(&mut x1, &b1, &mut x2, &b2);
            let (mut y1, mut y2) = (s1, s2);
            compress_only(&mut y1, &b1);
            compress_only(&mut y2, &b2);
            prop_assert_eq!(x1, y1);
            prop_assert_eq!(x2, y2);
        }
    }
}
