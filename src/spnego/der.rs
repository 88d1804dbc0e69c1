//! A minimal, strict DER reader and writer (ITU-T X.690 §8 and §10) for the few ASN.1 types that SPNEGO
//! (RFC 4178 §4, MS-SPNG §2.2) and the GSS-API token framing (RFC 2743 §3.1) use: SEQUENCE, OBJECT IDENTIFIER,
//! OCTET STRING, BIT STRING, ENUMERATED, GeneralString, and `[APPLICATION n]` / `[n]` explicit tags.
//!
//! Strictness (what the reader rejects, each with its own [`DerError`]):
//! - indefinite lengths (`0x80`, X.690 §10.1) and the reserved length octet `0xFF`;
//! - non-minimal lengths: the long form for a length below 128, or a long form with a leading zero octet
//!   (X.690 §10.1, §8.1.3.5);
//! - lengths of more than four octets, and any length past the end of the remaining input;
//! - the high-tag-number form (tag numbers ≥ 31): nothing in SPNEGO uses it;
//! - a primitive encoding where a constructed one is required and vice versa (the full identifier octet is
//!   compared, so a constructed OCTET STRING `0x24` — BER only, X.690 §10.2 — is an unexpected tag);
//! - nesting deeper than [`MAX_DEPTH`];
//! - trailing bytes after the last element of a value whose contents the caller has fully read
//!   ([`DerReader::finish`]);
//! - non-minimal INTEGER/ENUMERATED contents (X.690 §8.3.2), BIT STRINGs with non-zero padding bits or an
//!   invalid unused-bit count (X.690 §11.2.1, §8.6.2), malformed OBJECT IDENTIFIER subidentifiers (X.690 §8.19.2).
//!
//! The reader never panics and never allocates in proportion to a length field: every slice is taken with
//! `get(..)` from the input it was checked against.
#![forbid(unsafe_code)]

use core::fmt;

use super::oid::Oid;

/// The deepest nesting of constructed values a [`DerReader`] follows. SPNEGO needs six levels at most
/// (`[APPLICATION 0]` → `[0]` → SEQUENCE → `[3]` → NegHints SEQUENCE → `[0]`); the bound leaves room but stops
/// hostile input long before it can matter.
pub const MAX_DEPTH: u8 = 8;

/// Identifier octets (X.690 §8.1.2) of the types used here, low-tag-number form.
pub mod tag {
    /// OCTET STRING, primitive (X.680 §22).
    pub const OCTET_STRING: u8 = 0x04;
    /// BIT STRING, primitive (X.680 §21).
    pub const BIT_STRING: u8 = 0x03;
    /// OBJECT IDENTIFIER (X.680 §32).
    pub const OID: u8 = 0x06;
    /// ENUMERATED (X.680 §20).
    pub const ENUMERATED: u8 = 0x0A;
    /// GeneralString, primitive (X.680 §41).
    pub const GENERAL_STRING: u8 = 0x1B;
    /// SEQUENCE / SEQUENCE OF, constructed (X.680 §25).
    pub const SEQUENCE: u8 = 0x30;
    /// Bit 6 of the identifier octet: the encoding is constructed.
    pub const CONSTRUCTED: u8 = 0x20;

    /// The identifier octet of a constructed context-specific tag `[n]` (explicit tagging), `n < 31`.
    pub const fn context(n: u8) -> u8 {
        0xA0 | (n & 0x1F)
    }

    /// The identifier octet of a constructed application tag `[APPLICATION n]`, `n < 31`.
    pub const fn application(n: u8) -> u8 {
        0x60 | (n & 0x1F)
    }
}

/// Why bytes are not the strict DER (or the SPNEGO structure) that was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DerError {
    /// The input ended inside an element: `need` more bytes were required, `have` were left.
    Truncated { need: usize, have: usize },
    /// The indefinite length form (`0x80`), which DER forbids (X.690 §10.1).
    IndefiniteLength,
    /// A length in the long form that fits the short form, or with a leading zero octet (X.690 §10.1).
    NonMinimalLength,
    /// A length field of more than four octets, or the reserved octet `0xFF`.
    LengthTooLarge,
    /// A tag in the high-tag-number form (number ≥ 31), unused by SPNEGO.
    HighTagNumber,
    /// An element with identifier octet `got` where `expected` was required (`what` names the field).
    UnexpectedTag {
        what: &'static str,
        expected: u8,
        got: u8,
    },
    /// A required element is absent.
    Missing { what: &'static str },
    /// Bytes remain after the last element of `what`.
    TrailingData { what: &'static str },
    /// Inside the SEQUENCE `what`, an element (identifier octet `tag`) that is unknown, repeated or out of
    /// order (DER fixes the order of SEQUENCE components, X.690 §10.3 with X.680 §25).
    UnknownElement { what: &'static str, tag: u8 },
    /// Constructed values nest deeper than [`MAX_DEPTH`].
    DepthExceeded { max: u8 },
    /// An INTEGER or ENUMERATED is empty, not minimally encoded, or too large.
    BadInteger(&'static str),
    /// A BIT STRING violates X.690 §8.6 / §11.2.
    BadBitString(&'static str),
    /// An OBJECT IDENTIFIER is malformed (X.690 §8.19) or a dotted string does not parse.
    BadOid(&'static str),
    /// The GSS framing names a mechanism other than SPNEGO (RFC 2743 §3.1, RFC 4178 §4.2); the OID is dotted.
    WrongMechanism { got: String },
    /// A negState value outside RFC 4178 §4.2.2's four values.
    BadNegState(i64),
    /// A structural rule of RFC 4178 / MS-SPNG is violated (e.g. an empty mechTypes list).
    Invalid(&'static str),
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerError::Truncated { need, have } => {
                write!(
                    f,
                    "DER input truncated: needs {need} more bytes, has {have}"
                )
            }
            DerError::IndefiniteLength => {
                f.write_str("indefinite length (BER only, forbidden in DER)")
            }
            DerError::NonMinimalLength => {
                f.write_str("length not minimally encoded (BER only, forbidden in DER)")
            }
            DerError::LengthTooLarge => f.write_str("length field too large"),
            DerError::HighTagNumber => f.write_str("high-tag-number form is not supported"),
            DerError::UnexpectedTag {
                what,
                expected,
                got,
            } => {
                write!(
                    f,
                    "{what}: expected tag 0x{expected:02x}, found 0x{got:02x}"
                )
            }
            DerError::Missing { what } => write!(f, "{what} is missing"),
            DerError::TrailingData { what } => write!(f, "trailing bytes after {what}"),
            DerError::UnknownElement { what, tag } => {
                write!(
                    f,
                    "{what}: unknown, repeated or out-of-order element with tag 0x{tag:02x}"
                )
            }
            DerError::DepthExceeded { max } => write!(f, "DER nesting deeper than {max} levels"),
            DerError::BadInteger(why) => write!(f, "bad INTEGER/ENUMERATED: {why}"),
            DerError::BadBitString(why) => write!(f, "bad BIT STRING: {why}"),
            DerError::BadOid(why) => write!(f, "bad OBJECT IDENTIFIER: {why}"),
            DerError::WrongMechanism { got } => {
                write!(
                    f,
                    "GSS token is for mechanism {got}, not SPNEGO (1.3.6.1.5.5.2)"
                )
            }
            DerError::BadNegState(v) => write!(f, "negState {v} is not one of 0..=3"),
            DerError::Invalid(why) => write!(f, "malformed SPNEGO token: {why}"),
        }
    }
}

impl std::error::Error for DerError {}

/// A DER BIT STRING: the count of unused bits in the last octet, and the octets (X.690 §8.6.2).
///
/// Invariants (checked by [`BitString::new`] and the reader): `unused_bits <= 7`, `unused_bits == 0` when
/// `bytes` is empty, and the unused bits of the last octet are zero (X.690 §11.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BitString {
    unused_bits: u8,
    bytes: Vec<u8>,
}

impl BitString {
    /// A BIT STRING from its parts, or why they break DER.
    pub fn new(unused_bits: u8, bytes: Vec<u8>) -> Result<BitString, DerError> {
        if unused_bits > 7 {
            return Err(DerError::BadBitString("unused-bit count above 7"));
        }
        match bytes.last() {
            None if unused_bits != 0 => {
                Err(DerError::BadBitString("unused bits in an empty string"))
            }
            Some(last) if last & ((1u8 << unused_bits) - 1) != 0 => {
                Err(DerError::BadBitString("padding bits are not zero"))
            }
            _ => Ok(BitString { unused_bits, bytes }),
        }
    }

    /// The unused-bit count of the last octet.
    pub fn unused_bits(&self) -> u8 {
        self.unused_bits
    }

    /// The octets, first bit (bit 0) in the most significant position of the first octet.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of bits.
    pub fn bit_len(&self) -> usize {
        (self.bytes.len() * 8).saturating_sub(usize::from(self.unused_bits))
    }

    /// Whether bit `n` (ASN.1 numbering: bit 0 is the most significant bit of the first octet) is set;
    /// bits past the end read as zero.
    pub fn bit(&self, n: usize) -> bool {
        if n >= self.bit_len() {
            return false;
        }
        self.bytes
            .get(n / 8)
            .is_some_and(|b| b & (0x80 >> (n % 8)) != 0)
    }
}

/// A bounded reader over DER bytes. Every read checks its length against what is left of the input it was
/// given; nested readers (from [`DerReader::read_constructed`]) see only the contents of their element.
#[derive(Debug, Clone)]
pub struct DerReader<'a> {
    /// What has not been read yet.
    rest: &'a [u8],
    depth: u8,
}

impl<'a> DerReader<'a> {
    /// A reader over `data` at nesting depth 0.
    pub fn new(data: &'a [u8]) -> DerReader<'a> {
        DerReader {
            rest: data,
            depth: 0,
        }
    }

    /// The bytes not read yet.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Whether everything has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// This reader's nesting depth (0 for a reader made by [`DerReader::new`]).
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The identifier octet of the next element, if any, without consuming it.
    #[inline]
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Errors with [`DerError::TrailingData`] unless everything has been read.
    #[inline]
    pub fn finish(&self, what: &'static str) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData { what })
        }
    }

    /// Like [`DerReader::finish`] for the contents of a SEQUENCE whose known components have all been read:
    /// a remaining element is reported with its tag ([`DerError::UnknownElement`]).
    #[inline]
    pub fn finish_sequence(&self, what: &'static str) -> Result<(), DerError> {
        match self.peek_tag() {
            None => Ok(()),
            Some(tag) => Err(DerError::UnknownElement { what, tag }),
        }
    }

    /// Reads one element: its identifier octet and its contents. Enforces the DER length rules and the
    /// low-tag-number form; does not look inside the contents.
    #[inline]
    pub fn read_tlv(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let (tag, value, rest) = split_tlv(self.rest)?;
        self.rest = rest;
        Ok((tag, value))
    }

    /// Reads one element whose identifier octet must be `expected`; returns its contents.
    #[inline]
    pub fn read_expected(
        &mut self,
        expected: u8,
        what: &'static str,
    ) -> Result<&'a [u8], DerError> {
        // The identifier octet is looked at once: compared, then (when it is the one expected) checked for the
        // high-tag-number form as read_tlv would, before the length.
        let (got, after) = match self.rest.split_first() {
            None => return Err(DerError::Missing { what }),
            Some((&got, after)) => (got, after),
        };
        if got != expected {
            return Err(DerError::UnexpectedTag {
                what,
                expected,
                got,
            });
        }
        if got & 0x1F == 0x1F {
            return Err(DerError::HighTagNumber);
        }
        let (value, rest) = split_length_value(after)?;
        self.rest = rest;
        Ok(value)
    }

    /// Reads the next element if its identifier octet is `tag`; otherwise reads nothing.
    #[inline]
    pub fn read_optional(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read_expected(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A reader over the contents of the next element, which must be the constructed `tag`.
    #[inline]
    pub fn read_constructed(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<DerReader<'a>, DerError> {
        if tag & tag::CONSTRUCTED == 0 {
            return Err(DerError::Invalid(
                "read_constructed called with a primitive tag",
            ));
        }
        let depth = self.depth.checked_add(1).filter(|d| *d <= MAX_DEPTH);
        let depth = depth.ok_or(DerError::DepthExceeded { max: MAX_DEPTH })?;
        let data = self.read_expected(tag, what)?;
        Ok(DerReader { rest: data, depth })
    }

    /// Like [`DerReader::read_constructed`] when the next element is `tag`; `None` otherwise.
    #[inline]
    pub fn read_optional_constructed(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<DerReader<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read_constructed(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A reader over the contents of a SEQUENCE.
    #[inline]
    pub fn read_sequence(&mut self, what: &'static str) -> Result<DerReader<'a>, DerError> {
        self.read_constructed(tag::SEQUENCE, what)
    }

    /// A reader over the contents of the explicit tag `[n]`.
    #[inline]
    pub fn read_context(&mut self, n: u8, what: &'static str) -> Result<DerReader<'a>, DerError> {
        self.read_constructed(tag::context(n), what)
    }

    /// An OBJECT IDENTIFIER (X.690 §8.19), its contents validated.
    pub fn read_oid(&mut self, what: &'static str) -> Result<Oid, DerError> {
        let content = self.read_expected(tag::OID, what)?;
        Oid::from_der_content(content)
    }

    /// A primitive OCTET STRING's contents.
    #[inline]
    pub fn read_octet_string(&mut self, what: &'static str) -> Result<&'a [u8], DerError> {
        self.read_expected(tag::OCTET_STRING, what)
    }

    /// A primitive GeneralString's contents, as bytes (its character set is not checked).
    pub fn read_general_string(&mut self, what: &'static str) -> Result<&'a [u8], DerError> {
        self.read_expected(tag::GENERAL_STRING, what)
    }

    /// A primitive BIT STRING (X.690 §8.6, §11.2.1).
    pub fn read_bit_string(&mut self, what: &'static str) -> Result<BitString, DerError> {
        let content = self.read_expected(tag::BIT_STRING, what)?;
        let (unused, bytes) = content
            .split_first()
            .ok_or(DerError::BadBitString("no unused-bit count octet"))?;
        BitString::new(*unused, bytes.to_vec())
    }

    /// An ENUMERATED value (X.690 §8.4: encoded as an INTEGER, §8.3), at most eight content octets.
    pub fn read_enumerated(&mut self, what: &'static str) -> Result<i64, DerError> {
        let content = self.read_expected(tag::ENUMERATED, what)?;
        decode_integer(content)
    }
}

/// `(n, rest)`, `n` the first `n` bytes of `b`, or [`DerError::Truncated`].
#[inline]
fn split(b: &[u8], n: usize) -> Result<(&[u8], &[u8]), DerError> {
    b.split_at_checked(n).ok_or(DerError::Truncated {
        need: n,
        have: b.len(),
    })
}

/// Splits the first element off `b`: its identifier octet, its contents and what follows it. Enforces the DER
/// length rules and the low-tag-number form.
#[inline]
fn split_tlv(b: &[u8]) -> Result<(u8, &[u8], &[u8]), DerError> {
    let (&tag, b) = b
        .split_first()
        .ok_or(DerError::Truncated { need: 1, have: 0 })?;
    if tag & 0x1F == 0x1F {
        return Err(DerError::HighTagNumber);
    }
    let (value, b) = split_length_value(b)?;
    Ok((tag, value, b))
}

/// Splits the length octets and the contents they announce off `b` (what follows an identifier octet): the
/// contents and what follows them. The short form is decoded here; the long form by [`split_long_form`].
#[inline]
fn split_length_value(b: &[u8]) -> Result<(&[u8], &[u8]), DerError> {
    match b.split_first() {
        Some((&first, b)) if first < 0x80 => split(b, usize::from(first)),
        Some((&first, b)) => split_long_form(first, b),
        None => Err(DerError::Truncated { need: 1, have: 0 }),
    }
}

/// [`split_length_value`] for a first length octet `first` of 128 or more, `b` what follows it.
fn split_long_form(first: u8, b: &[u8]) -> Result<(&[u8], &[u8]), DerError> {
    let len = match first {
        0x80 => return Err(DerError::IndefiniteLength),
        0xFF => return Err(DerError::LengthTooLarge),
        _ => {
            let n = usize::from(first & 0x7F);
            if n > 4 {
                return Err(DerError::LengthTooLarge);
            }
            let (octets, rest) = split(b, n)?;
            if octets.first() == Some(&0) {
                return Err(DerError::NonMinimalLength);
            }
            let len = octets
                .iter()
                .fold(0usize, |acc, &o| (acc << 8) | usize::from(o));
            if len < 0x80 {
                return Err(DerError::NonMinimalLength);
            }
            split(rest, len)?
        }
    };
    Ok(len)
}

/// The value of INTEGER contents (two's complement, big-endian), minimal per X.690 §8.3.2, up to 64 bits.
fn decode_integer(content: &[u8]) -> Result<i64, DerError> {
    let (&first, rest) = content
        .split_first()
        .ok_or(DerError::BadInteger("empty contents"))?;
    if let Some(&second) = rest.first() {
        if (first == 0x00 && second & 0x80 == 0) || (first == 0xFF && second & 0x80 != 0) {
            return Err(DerError::BadInteger("not minimally encoded"));
        }
    }
    if content.len() > 8 {
        return Err(DerError::BadInteger("wider than 64 bits"));
    }
    let init: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    Ok(content
        .iter()
        .fold(init, |acc, &b| (acc << 8) | i64::from(b)))
}

/// The minimal INTEGER contents of `v` (X.690 §8.3.2): `bytes[start..]` of the returned `(bytes, start)`
/// (on the stack: no allocation).
fn encode_integer(v: i64) -> ([u8; 8], usize) {
    let bytes = v.to_be_bytes();
    // An octet is redundant when it only repeats the sign of the next one; seven windows, so one octet stays.
    let redundant = bytes
        .windows(2)
        .take_while(|w| {
            matches!(w, [0x00, b] if b & 0x80 == 0) || matches!(w, [0xFF, b] if b & 0x80 != 0)
        })
        .count();
    (bytes, redundant)
}

/// How many octets the minimal long form of `len` (at least 128) needs after its first octet.
pub(super) const fn long_form_octets(len: usize) -> usize {
    (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
}

/// Writes the DER length octets of `len` (short form below 128, else the minimal long form) into `out` and
/// returns how many there are.
fn length_octets(len: usize, out: &mut [u8; 1 + core::mem::size_of::<usize>()]) -> usize {
    if len < 0x80 {
        out[0] = len as u8;
        return 1;
    }
    let n = long_form_octets(len);
    out[0] = 0x80 | n as u8;
    let bytes = len.to_be_bytes();
    for (o, b) in out.iter_mut().skip(1).zip(&bytes[bytes.len() - n..]) {
        *o = *b;
    }
    1 + n
}

/// The identifier and length octets of an element: `header[..n]` of the returned `(header, n)`.
fn header(tag: u8, len: usize) -> ([u8; 2 + core::mem::size_of::<usize>()], usize) {
    let mut out = [0u8; 2 + core::mem::size_of::<usize>()];
    out[0] = tag;
    if len < 0x80 {
        out[1] = len as u8;
        return (out, 2);
    }
    let n = long_form_octets(len);
    out[1] = 0x80 | n as u8;
    let bytes = len.to_be_bytes();
    for (o, b) in out.iter_mut().skip(2).zip(&bytes[bytes.len() - n..]) {
        *o = *b;
    }
    (out, 2 + n)
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let n = long_form_octets(len);
        out.push(0x80 | n as u8);
        let bytes = len.to_be_bytes();
        out.extend_from_slice(&bytes[bytes.len() - n..]);
    }
}

/// A DER writer: appends elements to a buffer. Constructed values are written through a closure that fills a
/// nested writer, so their lengths are always exact and minimal.
#[derive(Debug, Clone, Default)]
pub struct DerWriter {
    buf: Vec<u8>,
}

impl DerWriter {
    /// An empty writer.
    pub fn new() -> DerWriter {
        DerWriter { buf: Vec::new() }
    }

    /// The bytes written so far.
    #[inline]
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes written so far, borrowed.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// A writer that appends after `bytes` (already encoded contents, to be wrapped with
    /// [`DerWriter::rotate_to_front`]) in their own buffer.
    pub(crate) fn after(bytes: Vec<u8>) -> DerWriter {
        DerWriter { buf: bytes }
    }

    /// Moves everything written after the first `n` bytes in front of them: headers written after
    /// contents (see [`DerWriter::after`]) end up before them, in place.
    pub(crate) fn rotate_to_front(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.rotate_left(n);
    }

    /// Appends raw bytes: contents whose header was written with [`DerWriter::write_header`].
    #[inline]
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends the identifier and length octets of an element whose `len` content bytes the caller writes
    /// next (no placeholder, nothing shifted afterwards).
    #[inline]
    pub fn write_header(&mut self, tag: u8, len: usize) {
        if len < 0x80 {
            // The short form: two stores.
            self.buf.extend_from_slice(&[tag, len as u8]);
        } else {
            self.write_long_header(tag, len);
        }
    }

    /// [`DerWriter::write_header`] for a length of 128 or more. Up to two length octets (every long header of
    /// a SPNEGO token: mechanism tokens stay far below 64 KiB), the header is one append of a fixed size:
    /// stores rather than a copy call.
    fn write_long_header(&mut self, tag: u8, len: usize) {
        if len <= 0xFF {
            self.buf.extend_from_slice(&[tag, 0x81, len as u8]);
        } else if len <= 0xFFFF {
            self.buf
                .extend_from_slice(&[tag, 0x82, (len >> 8) as u8, len as u8]);
        } else {
            let (h, n) = header(tag, len);
            self.buf.extend_from_slice(&h[..n]);
        }
    }

    /// The size of a whole element (identifier, length octets and contents) whose contents are `len` bytes:
    /// what encoders that know their sizes up front need for [`DerWriter::write_header`].
    pub const fn tlv_len(len: usize) -> usize {
        let length = if len < 0x80 {
            1
        } else {
            1 + long_form_octets(len)
        };
        1 + length + len
    }

    /// Appends one element with identifier octet `tag` and contents `content`.
    #[inline]
    pub fn write_tlv(&mut self, tag: u8, content: &[u8]) {
        self.write_header(tag, content.len());
        self.buf.extend_from_slice(content);
    }

    /// A writer whose buffer has room for `n` bytes.
    pub fn with_capacity(n: usize) -> DerWriter {
        DerWriter {
            buf: Vec::with_capacity(n),
        }
    }

    /// Appends a constructed element `tag` whose contents `f` writes. The contents go straight into this
    /// buffer after a one-byte length placeholder, which is widened afterwards when the length needs the long
    /// form: no nested buffer, no copy of the contents.
    pub fn write_constructed(&mut self, tag: u8, f: impl FnOnce(&mut DerWriter)) {
        self.buf.push(tag | tag::CONSTRUCTED);
        let at = self.buf.len();
        self.buf.push(0);
        f(self);
        let n = self.buf.len() - at - 1;
        let mut len = [0u8; 1 + core::mem::size_of::<usize>()];
        let k = length_octets(n, &mut len);
        if k > 1 {
            // Shift the contents right to make room for the long form (in place: a memmove, no allocation
            // when the buffer was sized up front).
            let end = self.buf.len();
            self.buf.resize(end + k - 1, 0);
            self.buf.copy_within(at + 1..end, at + k);
        }
        if let Some(dst) = self.buf.get_mut(at..at + k) {
            dst.copy_from_slice(len.get(..k).unwrap_or_default());
        }
    }

    /// Appends a SEQUENCE whose contents `f` writes.
    pub fn write_sequence(&mut self, f: impl FnOnce(&mut DerWriter)) {
        self.write_constructed(tag::SEQUENCE, f);
    }

    /// Appends the explicit tag `[n]` around what `f` writes.
    pub fn write_context(&mut self, n: u8, f: impl FnOnce(&mut DerWriter)) {
        self.write_constructed(tag::context(n), f);
    }

    /// Appends an OBJECT IDENTIFIER.
    #[inline]
    pub fn write_oid(&mut self, oid: &Oid) {
        self.write_tlv(tag::OID, oid.as_der_content());
    }

    /// Appends a primitive OCTET STRING.
    #[inline]
    pub fn write_octet_string(&mut self, content: &[u8]) {
        self.write_tlv(tag::OCTET_STRING, content);
    }

    /// Appends a primitive GeneralString.
    pub fn write_general_string(&mut self, content: &[u8]) {
        self.write_tlv(tag::GENERAL_STRING, content);
    }

    /// Appends a primitive BIT STRING.
    pub fn write_bit_string(&mut self, bits: &BitString) {
        self.buf.push(tag::BIT_STRING);
        push_length(&mut self.buf, bits.bytes.len() + 1);
        self.buf.push(bits.unused_bits);
        self.buf.extend_from_slice(&bits.bytes);
    }

    /// Appends an ENUMERATED with the minimal encoding of `v`.
    pub fn write_enumerated(&mut self, v: i64) {
        if let Ok(small @ 0..=0x7F) = u8::try_from(v) {
            // One content octet, the minimal encoding of 0..=127 (every negState): no sign-octet scan.
            self.buf.extend_from_slice(&[tag::ENUMERATED, 1, small]);
            return;
        }
        let (bytes, start) = encode_integer(v);
        self.write_tlv(tag::ENUMERATED, bytes.get(start..).unwrap_or(&bytes));
    }
}

#[cfg(test)]
mod tests;
