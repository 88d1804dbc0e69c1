//! The exact-size encoders the engines use on every handshake: a NegTokenResp (its headers written back to front
//! on the stack) and a GSS-framed NegTokenInit (written front to back with every length known up front) — the
//! same bytes as the nested writers of the parent module (`write_choice`), without their nested buffers — and
//! the forms that wrap a mechanism token in the buffer it came in.
#![forbid(unsafe_code)]

use super::der::{long_form_octets, tag};
use super::oid::INLINE;
use super::{DerWriter, NegState, Oid, GSS_FRAMING, SPNEGO_OID_CONTENT};

/// The bare `[1]` NegTokenResp with these fields: the same bytes as [`super::NegTokenResp::write_choice`], in one
/// allocation of the exact size ([`resp_bytes`]).
pub(crate) fn encode_resp(
    neg_state: Option<NegState>,
    supported_mech: Option<&Oid>,
    response_token: Option<&[u8]>,
    mech_list_mic: Option<&[u8]>,
) -> Vec<u8> {
    let token = match response_token {
        Some(t) => Token::Borrowed(t),
        None => Token::Absent,
    };
    resp_bytes(neg_state, supported_mech, token, mech_list_mic)
}

/// [`encode_resp`] with the response token handed over: when its buffer has room for the whole SPNEGO token,
/// the fields before it are appended and rotated to the front and the mechListMIC follows, so a mechanism token
/// written with spare capacity (the NTLM writer keeps some) needs no second buffer; otherwise
/// [`encode_resp`] copies it.
pub(crate) fn encode_resp_around(
    neg_state: Option<NegState>,
    supported_mech: Option<&Oid>,
    response_token: Option<Vec<u8>>,
    mech_list_mic: Option<&[u8]>,
) -> Vec<u8> {
    let token = match response_token {
        Some(t) => Token::Owned(t),
        None => Token::Absent,
    };
    resp_bytes(neg_state, supported_mech, token, mech_list_mic)
}

/// The response token of a NegTokenResp being encoded.
enum Token<'t> {
    Absent,
    Borrowed(&'t [u8]),
    /// Its buffer, which becomes the token's when it has room.
    Owned(Vec<u8>),
}

impl Token<'_> {
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Token::Absent => None,
            Token::Borrowed(t) => Some(t),
            Token::Owned(t) => Some(t),
        }
    }
}

/// The most octets of a NegTokenResp before its response token's contents: the `[1]` and SEQUENCE headers, negState,
/// a supportedMech with inline contents, the responseToken's two headers (a header is ten octets at most); and
/// the eight octets [`Back::header`] writes below.
const RESP_HEAD: usize = 10 + 10 + 5 + 4 + INLINE + 10 + 10 + 8;

/// The two headers of the mechListMIC, and the eight octets below.
const MIC_HEAD: usize = 10 + 10 + 8;

/// The encoders of [`encode_resp`] and [`encode_resp_around`]: the octets before the response token's contents and
/// the mechListMIC's headers are written back to front on the stack, each header once the length it announces is
/// known (nothing computed twice, no sizes up front); then the token is put together in one buffer of the exact
/// size, or around the response token in its own buffer when it has room.
fn resp_bytes(
    neg_state: Option<NegState>,
    supported_mech: Option<&Oid>,
    token: Token<'_>,
    mic: Option<&[u8]>,
) -> Vec<u8> {
    let mech = supported_mech.map(Oid::as_der_content);
    if mech.is_some_and(|c| c.len() > INLINE) {
        return resp_with_long_mech(neg_state, supported_mech, token, mic);
    }
    let mut tail = Back::<MIC_HEAD>::new();
    if let Some(m) = mic {
        tail.header(tag::OCTET_STRING, m.len());
        tail.header(tag::context(3), tail.len() + m.len());
    }
    let t = token.bytes().map(<[u8]>::len);
    // What follows the head: the response token's contents and the mechListMIC.
    let after = t.unwrap_or(0) + tail.len() + mic.map_or(0, <[u8]>::len);
    let mut head = Back::<RESP_HEAD>::new();
    if let Some(t) = t {
        head.header(tag::OCTET_STRING, t);
        head.header(tag::context(2), head.len() + t);
    }
    if let Some(c) = mech {
        let before = head.len();
        head.put_slice(c);
        head.header(tag::OID, c.len());
        head.header(tag::context(1), head.len() - before);
    }
    if let Some(state) = neg_state {
        // `[0] { ENUMERATED }` with its single content octet (negState is 0..=3).
        head.put([tag::context(0), 3, tag::ENUMERATED, 1, state as u8]);
    }
    head.header(tag::SEQUENCE, head.len() + after);
    head.header(tag::context(1), head.len() + after);
    let (head, tail) = (head.as_slice(), tail.as_slice());
    let total = head.len() + after;
    let mut out = match token {
        Token::Owned(mut t) if t.capacity() >= total => {
            // The head goes in front of the token, in its buffer: appended, the token moved up, the head copied
            // to the front.
            let n = t.len();
            t.extend_from_slice(head);
            t.copy_within(..n, head.len());
            if let Some(front) = t.get_mut(..head.len()) {
                front.copy_from_slice(head);
            }
            t
        }
        token => {
            let mut out = Vec::with_capacity(total);
            out.extend_from_slice(head);
            if let Some(t) = token.bytes() {
                out.extend_from_slice(t);
            }
            out
        }
    };
    if let Some(m) = mic {
        match *tail {
            // The usual short MIC: its two headers in one fixed-size append.
            [a, b, c, d] => out.extend_from_slice(&[a, b, c, d]),
            _ => out.extend_from_slice(tail),
        }
        out.extend_from_slice(m);
    }
    out
}

/// [`resp_bytes`] for a supportedMech OID too long to be kept inline (none of the mechanisms in use): the parent
/// module's nested writer ([`super::NegTokenResp::write_choice`], the reference these encoders match), on copies
/// of the fields.
#[cold]
#[inline(never)]
fn resp_with_long_mech(
    neg_state: Option<NegState>,
    supported_mech: Option<&Oid>,
    token: Token<'_>,
    mic: Option<&[u8]>,
) -> Vec<u8> {
    let resp = super::NegTokenResp {
        neg_state,
        supported_mech: supported_mech.cloned(),
        response_token: token.bytes().map(<[u8]>::to_vec),
        mech_list_mic: mic.map(<[u8]>::to_vec),
    };
    let mut w = DerWriter::new();
    resp.write_choice(&mut w);
    // Of the exact size, as the other encoders' results.
    w.into_bytes().into_boxed_slice().into_vec()
}

/// Octets written back to front into a buffer of `N` on the stack: DER headers put in front of contents whose
/// length is known. `N` bounds what is written, plus eight octets for [`Back::header`]'s long form.
struct Back<const N: usize> {
    buf: [u8; N],
    /// Where the octets written so far start.
    at: usize,
}

impl<const N: usize> Back<N> {
    fn new() -> Self {
        Back { buf: [0; N], at: N }
    }

    /// How many octets have been written.
    fn len(&self) -> usize {
        N - self.at
    }

    fn as_slice(&self) -> &[u8] {
        self.buf.get(self.at..).unwrap_or_default()
    }

    /// Puts `b` in front.
    #[inline]
    fn put<const K: usize>(&mut self, b: [u8; K]) {
        let at = self.at - K;
        self.buf[at..at + K].copy_from_slice(&b);
        self.at = at;
    }

    /// Puts `b` in front.
    fn put_slice(&mut self, b: &[u8]) {
        let at = self.at - b.len();
        self.buf[at..at + b.len()].copy_from_slice(b);
        self.at = at;
    }

    /// Puts in front the identifier and length octets (minimal: X.690 §10.1) of an element whose `len` content
    /// octets follow.
    #[inline]
    fn header(&mut self, tag: u8, len: usize) {
        if len < 0x80 {
            self.put([tag, len as u8]);
        } else {
            self.long_header(tag, len);
        }
    }

    fn long_header(&mut self, tag: u8, len: usize) {
        let n = long_form_octets(len);
        // All the octets of `len`, then only its `n` significant ones kept.
        self.put(len.to_be_bytes());
        self.at += core::mem::size_of::<usize>() - n;
        self.put([tag, 0x80 | n as u8]);
    }
}
/// The initiator's `NegTokenInit` (GSS-framed) listing `mechs` with an optional optimistic `mech_token`, and
/// the DER MechTypeList it carries (what the mechListMIC signs): the same bytes as [`super::NegTokenInit::encode`]
/// and [`super::encode_mech_type_list`], built front to back with every length known up front, the list written once
/// into the token and copied out of it.
pub(crate) fn encode_init<'o>(
    mechs: impl Iterator<Item = &'o Oid> + Clone,
    mech_token: Option<&[u8]>,
) -> (Vec<u8>, MechListDer) {
    InitFields::new(mechs.clone(), mech_token.map(<[u8]>::len)).copying(mechs, mech_token)
}

/// [`encode_init`] with the optimistic token handed over: wrapped in its own buffer as by
/// [`encode_resp_around`].
pub(crate) fn encode_init_around<'o>(
    mechs: impl Iterator<Item = &'o Oid> + Clone,
    mech_token: Option<Vec<u8>>,
) -> (Vec<u8>, MechListDer) {
    let Some(token) = mech_token else {
        return encode_init(mechs, None);
    };
    let n = token.len();
    let fields = InitFields::new(mechs.clone(), Some(n));
    if token.capacity() < fields.total {
        // As in encode_resp_around: without room to spare, one copy into a new buffer is cheaper.
        return fields.copying(mechs, Some(&token));
    }
    let mut w = DerWriter::after(token);
    let list = fields.write_head(&mut w, mechs);
    w.rotate_to_front(n);
    // The head is at the front now: the list's place in it is its place in the token.
    let list = MechListDer::new(
        w.as_bytes()
            .get(list.start - n..list.end - n)
            .unwrap_or_default(),
    );
    (w.into_bytes(), list)
}

/// A NegTokenInit's sizes, for the two encoders above.
struct InitFields {
    list_content: usize,
    token_len: Option<usize>,
    seq: usize,
    choice: usize,
    framed: usize,
    total: usize,
}

impl InitFields {
    fn new<'o>(mechs: impl Iterator<Item = &'o Oid>, token_len: Option<usize>) -> Self {
        let tlv = DerWriter::tlv_len;
        let list_content: usize = mechs.map(|m| tlv(m.as_der_content().len())).sum();
        let seq = tlv(tlv(list_content)) + token_len.map_or(0, |t| tlv(tlv(t)));
        let choice = tlv(seq);
        let framed = tlv(SPNEGO_OID_CONTENT.len()) + tlv(choice);
        InitFields {
            list_content,
            token_len,
            seq,
            choice,
            framed,
            total: tlv(framed),
        }
    }

    /// The whole token in a new buffer of the exact size, `token` copied into it; the MechTypeList.
    fn copying<'o>(
        &self,
        mechs: impl Iterator<Item = &'o Oid>,
        token: Option<&[u8]>,
    ) -> (Vec<u8>, MechListDer) {
        let mut w = DerWriter::with_capacity(self.total);
        let list = self.write_head(&mut w, mechs);
        let list = MechListDer::new(w.as_bytes().get(list).unwrap_or_default());
        if let Some(t) = token {
            w.write_bytes(t);
        }
        (w.into_bytes(), list)
    }

    /// Everything before the token's contents (its OCTET STRING header included); where in `w` the
    /// MechTypeList went.
    fn write_head<'o>(
        &self,
        w: &mut DerWriter,
        mechs: impl Iterator<Item = &'o Oid>,
    ) -> std::ops::Range<usize> {
        let tlv = DerWriter::tlv_len;
        w.write_header(GSS_FRAMING, self.framed);
        w.write_tlv(tag::OID, &SPNEGO_OID_CONTENT);
        w.write_header(tag::context(0), self.choice);
        w.write_header(tag::SEQUENCE, self.seq);
        w.write_header(tag::context(0), tlv(self.list_content));
        let start = w.as_bytes().len();
        w.write_header(tag::SEQUENCE, self.list_content);
        for m in mechs {
            w.write_oid(m);
        }
        let end = w.as_bytes().len();
        if let Some(t) = self.token_len {
            w.write_header(tag::context(2), tlv(t));
            w.write_header(tag::OCTET_STRING, t);
        }
        start..end
    }
}

/// The longest DER MechTypeList kept inline in [`MechListDer`] (four mechanisms take about 50 bytes).
const INLINE_LIST: usize = 64;

/// A DER MechTypeList kept for the mechListMIC: inline when short (no allocation per negotiation), else on the
/// heap (a peer may list many mechanisms).
pub(crate) type MechListDer = crate::inline_bytes::InlineBytes<INLINE_LIST>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spnego::{
        encode_mech_type_list, NegTokenInit, NegTokenResp, SpnegoToken, OID_KRB5, OID_KRB5_MS,
        OID_NEGOEX, OID_NTLMSSP,
    };

    fn oid(s: &str) -> Oid {
        Oid::from_dotted(s).unwrap()
    }

    #[test]
    fn headers_written_back_to_front_equal_the_writer_s() {
        for len in [
            0usize,
            1,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            16_777_215,
            16_777_216,
            usize::MAX,
        ] {
            let mut back = Back::<{ 10 + 10 + 8 }>::new();
            back.header(tag::OCTET_STRING, len);
            back.header(tag::context(3), len.wrapping_add(7));
            let mut w = DerWriter::new();
            w.write_header(tag::context(3), len.wrapping_add(7));
            w.write_header(tag::OCTET_STRING, len);
            assert_eq!(back.as_slice(), w.as_bytes(), "{len}");
            assert_eq!(back.len(), w.as_bytes().len());
        }
    }

    #[test]
    fn long_mechanism_lists_are_kept_whole() {
        let many: Vec<Oid> = (0..12).map(|_| oid(OID_NTLMSSP)).collect();
        let (bytes, list) = encode_init(many.iter(), None);
        assert!(!list.is_inline());
        assert_eq!(&list[..], &encode_mech_type_list(&many)[..]);
        let SpnegoToken::Init(init) = SpnegoToken::decode(&bytes).unwrap() else {
            panic!("not a NegTokenInit")
        };
        assert_eq!(init.mech_types, many);
    }

    #[test]
    fn exact_size_encoders_equal_the_generic_ones() {
        let long = vec![0x5A; 300];
        let huge = vec![0xA5; 70_000];
        let heap_oid = oid(
            "2.25.340282366920938463463374607431768211455.340282366920938463463374607431768211455",
        );
        let ntlm = oid(OID_NTLMSSP);
        let lists = [
            vec![ntlm.clone()],
            vec![
                oid(OID_KRB5_MS),
                oid(OID_KRB5),
                oid(OID_NEGOEX),
                oid(OID_NTLMSSP),
            ],
            vec![heap_oid.clone(), ntlm.clone()],
            // A MechTypeList of 64 octets (the longest kept inline) and of 65.
            [vec![ntlm.clone(); 4], vec![oid(OID_KRB5), oid("1.2")]].concat(),
            [vec![ntlm.clone(); 5], vec![oid("1.2")]].concat(),
        ];
        for mechs in &lists {
            for token in [
                None,
                Some(&b""[..]),
                Some(&b"NTLMSSP\0"[..]),
                Some(&long[..127]),
                Some(&long[..128]),
                Some(&long[..]),
                Some(&huge[..]),
            ] {
                let generic = NegTokenInit {
                    mech_types: mechs.clone(),
                    mech_token: token.map(<[u8]>::to_vec),
                    ..NegTokenInit::default()
                };
                let (bytes, list) = encode_init(mechs.iter(), token);
                assert_eq!(bytes, generic.encode());
                assert_eq!(bytes.capacity(), bytes.len());
                assert_eq!(&list[..], &encode_mech_type_list(mechs)[..]);
                // Wrapped in the token's own buffer, with and without room to spare: the same bytes and list.
                for spare in [0, 64] {
                    let owned = token.map(|t| {
                        let mut v = Vec::with_capacity(t.len() + spare);
                        v.extend_from_slice(t);
                        v
                    });
                    let (around, around_list) = encode_init_around(mechs.iter(), owned);
                    assert_eq!(around, bytes);
                    assert_eq!(&around_list[..], &list[..]);
                }
                assert_eq!(list.is_inline(), list.len() <= INLINE_LIST);
                assert_eq!(
                    SpnegoToken::decode(&bytes).unwrap(),
                    SpnegoToken::Init(generic)
                );
            }
        }
        // Every state; OIDs inline and on the heap; lengths on both sides of each length form's bound, for the
        // token and the MIC (whose headers have a short fixed-size form).
        let heap_oid = oid(
            "2.25.340282366920938463463374607431768211455.340282366920938463463374607431768211455",
        );
        let sizes = [0usize, 1, 125, 126, 127, 128, 255, 256, 300, 65_535, 70_000];
        let bytes: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![0x3C; n]).collect();
        let tokens: Vec<Option<&[u8]>> = [None]
            .into_iter()
            .chain(bytes.iter().map(|b| Some(&b[..])))
            .collect();
        let mics: Vec<Option<&[u8]>> = [None, Some(&[7u8; 16][..])]
            .into_iter()
            .chain(bytes.iter().take(9).map(|b| Some(&b[..])))
            .collect();
        for state in NegState::OPTIONS {
            for mech in [
                None,
                Some(oid(OID_NTLMSSP)),
                Some(oid("1.2.3")),
                Some(heap_oid.clone()),
            ] {
                for &token in &tokens {
                    for &mic in &mics {
                        let resp = NegTokenResp {
                            neg_state: state,
                            supported_mech: mech.clone(),
                            response_token: token.map(<[u8]>::to_vec),
                            mech_list_mic: mic.map(<[u8]>::to_vec),
                        };
                        let mut w = DerWriter::new();
                        resp.write_choice(&mut w);
                        let bytes = resp.encode();
                        assert_eq!(bytes, w.into_bytes());
                        assert_eq!(bytes.capacity(), bytes.len());
                        for spare in [0, 64] {
                            let owned = token.map(|t| {
                                let mut v = Vec::with_capacity(t.len() + spare);
                                v.extend_from_slice(t);
                                v
                            });
                            let around = encode_resp_around(state, mech.as_ref(), owned, mic);
                            assert_eq!(around, bytes);
                        }
                        assert_eq!(
                            SpnegoToken::decode(&bytes).unwrap(),
                            SpnegoToken::Resp(resp)
                        );
                    }
                }
            }
        }
    }
}
