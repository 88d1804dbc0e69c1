//! The direct decoder of the tokens every handshake carries: a NegTokenResp, and a NegTokenInit (framed or bare)
//! without reqFlags, negHints or NegTokenInit2's `[4]`, read in one pass over the bytes with the tags and
//! lengths checked inline, no nested readers and no error values.
//!
//! It only ever accepts what the general decoder ([`super::TokenView::decode_general`]) accepts, and decodes it
//! to the same value; for anything else — every error, and the rare valid forms it leaves out (lengths of three
//! or more octets, reqFlags, negHints, a mechListMIC at `[4]`) — it answers `None`, and the general decoder
//! decides and says what is wrong. So the rules (strict DER, bounds, order, no trailing bytes, the negState range,
//! valid OIDs) stay the general decoder's; this pass checks them only to be sure it may answer.
#![forbid(unsafe_code)]

use super::der::tag;
use super::{
    Framing, InitView, NegState, Oid, RespView, TokenView, GSS_FRAMING, PREALLOCATED_MECHS,
    SPNEGO_OID_CONTENT,
};

/// Decodes `b` when it is a token of the usual shapes, as [`super::TokenView::decode_general`] would;
/// `None` leaves it to that decoder.
#[inline]
pub(super) fn decode(b: &[u8]) -> Option<(TokenView<'_>, Framing)> {
    match *b.first()? {
        t if t == tag::context(1) => resp(b).map(|r| (TokenView::Resp(r), Framing::Bare)),
        GSS_FRAMING => {
            let mut framed = Cur(Cur::whole(b, GSS_FRAMING)?);
            if framed.take(tag::OID)? != SPNEGO_OID_CONTENT {
                return None;
            }
            let init = init(framed.0)?;
            Some((TokenView::Init(init), Framing::GssInitialContextToken))
        }
        t if t == tag::context(0) => init(b).map(|i| (TokenView::Init(i), Framing::Bare)),
        _ => None,
    }
}

/// The `[1] SEQUENCE { .. }` that is all of `b`, as a NegTokenResp (RFC 4178 §4.2.2).
fn resp(b: &[u8]) -> Option<RespView<'_>> {
    let mut s = Cur(Cur::choice(b, tag::context(1))?);
    let mut view = RespView::default();
    if s.next_is(tag::context(0)) {
        // One content octet is the minimal encoding of 0..=3, and every other encoding of them is not.
        let &[v] = s.field(0, tag::ENUMERATED)? else {
            return None;
        };
        view.neg_state = Some(NegState::from_value(i64::from(v))?);
    }
    if s.next_is(tag::context(1)) {
        view.supported_mech = Some(oid(s.field(1, tag::OID)?)?);
    }
    if s.next_is(tag::context(2)) {
        view.response_token = Some(s.field(2, tag::OCTET_STRING)?);
    }
    if s.next_is(tag::context(3)) {
        view.mech_list_mic = Some(s.field(3, tag::OCTET_STRING)?);
    }
    s.0.is_empty().then_some(view)
}

/// The `[0] SEQUENCE { .. }` that is all of `b`, as a NegTokenInit (RFC 4178 §4.2.1) without reqFlags,
/// negHints or a mechListMIC at `[4]`.
fn init(b: &[u8]) -> Option<InitView<'_>> {
    let mut s = Cur(Cur::choice(b, tag::context(0))?);
    // mechTypes is required and lists at least one mechanism; the MechTypeList as received is all of `[0]`.
    let mech_types_der = s.take(tag::context(0))?;
    let mut list = Cur(Cur::whole(mech_types_der, tag::SEQUENCE)?);
    if list.0.is_empty() {
        return None;
    }
    let mut mech_types = Vec::with_capacity(PREALLOCATED_MECHS);
    while !list.0.is_empty() {
        mech_types.push(oid(list.take(tag::OID)?)?);
    }
    let mut view = InitView {
        mech_types,
        mech_types_der,
        req_flags: None,
        mech_token: None,
        mech_list_mic: None,
        neg_hints: None,
    };
    if s.next_is(tag::context(2)) {
        view.mech_token = Some(s.field(2, tag::OCTET_STRING)?);
    }
    // [3] as the mechListMIC only: negHints (a SEQUENCE) fails here and is the general decoder's.
    if s.next_is(tag::context(3)) {
        view.mech_list_mic = Some(s.field(3, tag::OCTET_STRING)?);
    }
    // Anything left, reqFlags ([1]) included, is for the general decoder.
    s.0.is_empty().then_some(view)
}

/// An OID from its contents: the NTLMSSP constant when it is that (no call), else validated.
#[inline]
fn oid(c: &[u8]) -> Option<Oid> {
    if c == crate::oids::NTLMSSP {
        return Some(Oid::NTLMSSP);
    }
    validated(c)
}

#[inline(never)]
fn validated(c: &[u8]) -> Option<Oid> {
    Oid::from_der_content(c).ok()
}

/// What is left of the bytes being read.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    /// Whether the next element has identifier octet `t`.
    #[inline]
    fn next_is(&self, t: u8) -> bool {
        self.0.first() == Some(&t)
    }

    /// The contents of the explicit field `[n]` that comes next, which must hold exactly one element with
    /// identifier octet `inner`: that element's contents.
    #[inline]
    fn field(&mut self, n: u8, inner: u8) -> Option<&'a [u8]> {
        self.nested(tag::context(n), inner)
    }

    /// The next element, `outer`, whose contents must be exactly one element `inner`: that element's contents.
    /// Both headers read in one call.
    #[inline(never)]
    fn nested(&mut self, outer: u8, inner: u8) -> Option<&'a [u8]> {
        let (f, rest) = split(self.0, outer)?;
        match split(f, inner)? {
            (v, []) => {
                self.0 = rest;
                Some(v)
            }
            _ => None,
        }
    }

    /// The contents of the SEQUENCE inside the explicit tag `outer` that is all of `b`.
    #[inline]
    fn choice(b: &'a [u8], outer: u8) -> Option<&'a [u8]> {
        let mut c = Cur(b);
        let v = c.nested(outer, tag::SEQUENCE)?;
        c.0.is_empty().then_some(v)
    }

    /// The contents of the element with identifier octet `t` that is all of `b`.
    #[inline]
    fn whole(b: &'a [u8], t: u8) -> Option<&'a [u8]> {
        let mut c = Cur(b);
        let v = c.take(t)?;
        c.0.is_empty().then_some(v)
    }

    /// Reads the next element, which must have identifier octet `t`: its contents. Lengths in the short form
    /// or in one or two octets, minimal (strict DER); `None` for anything else, longer lengths included.
    #[inline(never)]
    fn take(&mut self, t: u8) -> Option<&'a [u8]> {
        let (v, rest) = split(self.0, t)?;
        self.0 = rest;
        Some(v)
    }
}

/// The contents of the element with identifier octet `t` at the front of `b`, and what follows it: see
/// [`Cur::take`].
#[inline(always)]
fn split(b: &[u8], t: u8) -> Option<(&[u8], &[u8])> {
    let (len, rest) = match *b {
        [id, len, ref rest @ ..] if id == t && len < 0x80 => (usize::from(len), rest),
        [id, 0x81, len, ref rest @ ..] if id == t && len >= 0x80 => (usize::from(len), rest),
        [id, 0x82, hi, lo, ref rest @ ..] if id == t && hi != 0 => {
            (usize::from(u16::from_be_bytes([hi, lo])), rest)
        }
        _ => return None,
    };
    rest.split_at_checked(len)
}

#[cfg(test)]
mod tests;
