//! OBJECT IDENTIFIER values (X.680 §32, encoded per X.690 §8.19): the mechanism OIDs that SPNEGO negotiates.
//!
//! An [`Oid`] holds its DER contents octets, always valid: at least two arcs, every subidentifier minimally
//! encoded, every arc at most 128 bits wide (enough for the UUID arcs under `2.25`). Contents of up to
//! [`INLINE`] octets (every mechanism OID in use: Kerberos 9, NTLMSSP 10, SPNEGO 6) are kept inline, so that
//! building, decoding and cloning them allocates nothing; longer ones go to the heap.
#![forbid(unsafe_code)]

use core::fmt;
use core::hash::{Hash, Hasher};

use super::der::DerError;
use crate::inline_bytes::InlineBytes;

/// The longest contents kept inline.
pub const INLINE: usize = 22;

/// An OBJECT IDENTIFIER, stored as its DER contents octets (without tag and length); contents of at most
/// [`INLINE`] octets inline (equal contents, equal representations).
#[derive(Clone)]
pub struct Oid(InlineBytes<INLINE>);

impl PartialEq for Oid {
    fn eq(&self, other: &Oid) -> bool {
        match (&self.0, &other.0) {
            // Inline contents are zero-padded (InlineBytes' invariant): comparing the fixed-size buffers
            // compares the contents, with a few loads rather than a comparison call.
            (InlineBytes::Inline { len: a, buf: x }, InlineBytes::Inline { len: b, buf: y }) => {
                a == b && x == y
            }
            _ => self.as_der_content() == other.as_der_content(),
        }
    }
}

impl Eq for Oid {}

impl Hash for Oid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_der_content().hash(state);
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Oid").field(&self.as_der_content()).finish()
    }
}

impl Oid {
    /// Parses dotted decimal (`"1.3.6.1.5.5.2"`): at least two arcs, the first 0, 1 or 2, the second below 40
    /// unless the first is 2, decimal digits without leading zeros.
    pub fn from_dotted(s: &str) -> Result<Oid, DerError> {
        let mut arcs = Vec::new();
        for part in s.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DerError::BadOid(
                    "dotted form has an empty or non-decimal arc",
                ));
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(DerError::BadOid(
                    "dotted form has an arc with a leading zero",
                ));
            }
            arcs.push(
                part.parse::<u128>()
                    .map_err(|_| DerError::BadOid("arc wider than 128 bits"))?,
            );
        }
        Oid::from_arcs(&arcs)
    }

    /// Builds an OID from its arcs (X.690 §8.19.4: the first two arcs share one subidentifier).
    pub fn from_arcs(arcs: &[u128]) -> Result<Oid, DerError> {
        let (first, second, rest) = match arcs {
            [first, second, rest @ ..] => (*first, *second, rest),
            _ => return Err(DerError::BadOid("fewer than two arcs")),
        };
        if first > 2 {
            return Err(DerError::BadOid("first arc above 2"));
        }
        if first < 2 && second >= 40 {
            return Err(DerError::BadOid("second arc 40 or more under arc 0 or 1"));
        }
        let combined = (first * 40)
            .checked_add(second)
            .ok_or(DerError::BadOid("first subidentifier wider than 128 bits"))?;
        let mut content = Vec::new();
        push_subidentifier(&mut content, combined);
        for &arc in rest {
            push_subidentifier(&mut content, arc);
        }
        Ok(Oid::from_valid(&content))
    }

    /// Validates DER contents octets (X.690 §8.19.2): non-empty, each subidentifier minimal (no leading `0x80`
    /// octet) and terminated, each at most 128 bits wide.
    pub fn from_der_content(content: &[u8]) -> Result<Oid, DerError> {
        // The mechanisms named in nearly every token: constants, valid by their tests, so one comparison
        // replaces the walk (and the value is the same: equal contents, equal representations).
        if content == crate::oids::NTLMSSP {
            return Ok(Oid::NTLMSSP);
        }
        if content == Oid::KRB5_CONTENT {
            return Ok(Oid::KRB5);
        }
        validate(content)?;
        Ok(Oid::from_valid(content))
    }

    /// An OID from contents known to be valid (a constant of this crate, or checked by [`validate`]).
    pub(super) fn from_valid(content: &[u8]) -> Oid {
        Oid(InlineBytes::new(content))
    }

    /// NTLMSSP (1.3.6.1.4.1.311.2.2.10), a constant: no validation per use (checked by a test).
    pub const NTLMSSP: Oid = Oid::constant(crate::oids::NTLMSSP);
    /// Kerberos 5 (1.2.840.113554.1.2.2), a constant (checked by a test).
    pub const KRB5: Oid = Oid::constant(Oid::KRB5_CONTENT);
    /// The DER contents of [`Oid::KRB5`].
    const KRB5_CONTENT: &'static [u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02";

    /// A constant of this crate (contents that fit inline; validity checked by the tests of the constants).
    const fn constant(content: &[u8]) -> Oid {
        Oid(InlineBytes::fitting(content))
    }

    /// The dotted decimal form.
    pub fn to_dotted(&self) -> String {
        self.arcs()
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The arcs (first and second split back out of the first subidentifier).
    pub fn arcs(&self) -> Vec<u128> {
        // The contents were validated on construction, so this cannot fail; an empty list would only show a bug.
        let subids = subidentifiers(self.as_der_content()).unwrap_or_default();
        let mut arcs = Vec::with_capacity(subids.len() + 1);
        if let Some((&first, rest)) = subids.split_first() {
            match first {
                0..=39 => arcs.extend([0, first]),
                40..=79 => arcs.extend([1, first - 40]),
                _ => arcs.extend([2, first - 80]),
            }
            arcs.extend_from_slice(rest);
        }
        arcs
    }

    /// The DER contents octets (what follows the `06 len` header).
    pub fn as_der_content(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_dotted())
    }
}

/// Appends `v` in base 128, most significant group first, the continuation bit on all but the last octet.
fn push_subidentifier(out: &mut Vec<u8>, v: u128) {
    let mut groups = [0u8; 19]; // ceil(128 / 7)
    let mut n = 0;
    let mut rest = v;
    loop {
        if let Some(slot) = groups.get_mut(n) {
            *slot = (rest & 0x7F) as u8;
        }
        n += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        let g = groups.get(i).copied().unwrap_or(0);
        out.push(if i == 0 { g } else { g | 0x80 });
    }
}

/// Checks OID contents against X.690 §8.19.2 without building anything (what [`subidentifiers`] checks).
fn validate(content: &[u8]) -> Result<(), DerError> {
    if plainly_valid(content) {
        return Ok(());
    }
    // The full walk, which also says what is wrong.
    walk(content, |_| ())
}

/// A fast check that accepts only valid contents (and refuses some valid ones, which [`walk`] then decides): non-empty,
/// the last octet ends a subidentifier, no subidentifier starts with `0x80`, none longer than 18 octets (126 bits,
/// within the 128-bit bound whatever the octets).
fn plainly_valid(content: &[u8]) -> bool {
    if !matches!(content.last(), Some(b) if b & 0x80 == 0) {
        return false;
    }
    let mut octets = 0u8;
    for &b in content {
        if octets == 0 && b == 0x80 {
            return false;
        }
        octets += 1;
        if octets > 18 {
            return false;
        }
        if b & 0x80 == 0 {
            octets = 0;
        }
    }
    true
}

/// Splits OID contents into subidentifiers, enforcing X.690 §8.19.2.
fn subidentifiers(content: &[u8]) -> Result<Vec<u128>, DerError> {
    let mut out = Vec::new();
    walk(content, |v| out.push(v))?;
    Ok(out)
}

/// Decodes the subidentifiers of `content` one by one into `each`, enforcing X.690 §8.19.2.
fn walk(content: &[u8], mut each: impl FnMut(u128)) -> Result<(), DerError> {
    if content.is_empty() {
        return Err(DerError::BadOid("empty contents"));
    }
    let mut acc: u128 = 0;
    let mut in_subid = false;
    for &b in content {
        if !in_subid && b == 0x80 {
            return Err(DerError::BadOid("subidentifier not minimally encoded"));
        }
        if acc > (u128::MAX >> 7) {
            return Err(DerError::BadOid("subidentifier wider than 128 bits"));
        }
        acc = (acc << 7) | u128::from(b & 0x7F);
        if b & 0x80 == 0 {
            each(acc);
            acc = 0;
            in_subid = false;
        } else {
            in_subid = true;
        }
    }
    if in_subid {
        return Err(DerError::BadOid("last subidentifier not terminated"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_contents_compare_by_value() {
        // 2.25.<128-bit arc>: 1 + 19 octets inline; a longer OID goes to the heap.
        let uuid = Oid::from_dotted("2.25.340282366920938463463374607431768211455").unwrap();
        assert!(uuid.0.is_inline());
        let long = Oid::from_dotted(
            "2.25.340282366920938463463374607431768211455.340282366920938463463374607431768211455",
        )
        .unwrap();
        assert!(!long.0.is_inline());
        assert_eq!(long.as_der_content().len(), 39);
        let again = Oid::from_der_content(long.as_der_content()).unwrap();
        assert_eq!(long, again);
        assert_ne!(long, uuid);
        assert_eq!(Oid::from_arcs(&long.arcs()).unwrap(), long);
        assert_eq!(
            Oid::from_der_content(uuid.as_der_content()).unwrap(),
            uuid.clone()
        );
        assert_eq!(
            format!("{:?}", Oid::from_dotted("1.2.3").unwrap()),
            "Oid([42, 3])"
        );
    }

    #[test]
    fn equality_is_equality_of_contents() {
        let dotted = [
            "1.2.3",
            "1.2.3.0",
            "1.2.3.0.0",
            "1.2.4",
            crate::spnego::OID_NTLMSSP,
            crate::spnego::OID_KRB5,
            "2.25.340282366920938463463374607431768211455",
            "2.25.340282366920938463463374607431768211455.1",
            "2.25.340282366920938463463374607431768211455.1.0",
            "2.25.340282366920938463463374607431768211455.1.0.0",
            "2.25.340282366920938463463374607431768211455.340282366920938463463374607431768211455",
            "2.25.340282366920938463463374607431768211455.340282366920938463463374607431768211455.0",
        ];
        let oids: Vec<Oid> = dotted
            .iter()
            .map(|d| Oid::from_dotted(d).unwrap())
            .collect();
        // Both representations take part: inline up to INLINE octets, the heap past it.
        for o in &oids {
            assert_eq!(o.0.is_inline(), o.as_der_content().len() <= INLINE, "{o}");
        }
        assert!(oids.iter().any(|o| !o.0.is_inline()));
        for a in &oids {
            for b in &oids {
                let same = a.as_der_content() == b.as_der_content();
                assert_eq!(a == b, same, "{a} == {b}");
                assert_eq!(
                    a.clone() == Oid::from_der_content(b.as_der_content()).unwrap(),
                    same
                );
            }
        }
    }

    #[test]
    fn the_fast_check_never_accepts_what_the_full_walk_refuses() {
        let samples: [&[u8]; 12] = [
            &[],
            &[0x2A],
            &[0x80, 0x01],
            &[0x2A, 0x80, 0x01],
            &[0x2A, 0x81],
            &[0x2A, 0x81, 0x00],
            &[0xFF; 18],
            &[
                0x83, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
            ],
            &[
                0x84, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                0x80, 0x80, 0x80, 0x80, 0x00,
            ],
            crate::oids::NTLMSSP,
            &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x02],
            &[0x69, 0x81, 0x80, 0x01],
        ];
        for c in samples {
            let full = walk(c, |_| ());
            assert_eq!(validate(c), full, "{c:02x?}");
            if plainly_valid(c) {
                assert!(full.is_ok(), "{c:02x?}");
            }
        }
        // Every two-octet content: the fast check agrees with the walk wherever it answers.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let c = [a, b];
                if plainly_valid(&c) {
                    assert!(walk(&c, |_| ()).is_ok(), "{c:02x?}");
                }
                assert_eq!(validate(&c), walk(&c, |_| ()));
            }
        }
    }

    #[test]
    fn mechanism_constants_are_valid_and_equal_their_parsed_forms() {
        for (c, dotted) in [
            (Oid::NTLMSSP, crate::spnego::OID_NTLMSSP),
            (Oid::KRB5, crate::spnego::OID_KRB5),
        ] {
            // from_der_content answers these contents with the constants themselves: the walk checks them.
            assert_eq!(walk(c.as_der_content(), |_| ()), Ok(()));
            assert_eq!(Oid::from_der_content(c.as_der_content()).unwrap(), c);
            let built = Oid::from_dotted(dotted).unwrap();
            assert_eq!(built.as_der_content(), c.as_der_content());
            match (&built.0, &c.0) {
                (
                    InlineBytes::Inline { len: a, buf: x },
                    InlineBytes::Inline { len: b, buf: y },
                ) => assert_eq!((a, x), (b, y), "{dotted}: same representation"),
                _ => panic!("{dotted}: not inline"),
            }
            assert_eq!(c.to_dotted(), dotted);
        }
    }
}
