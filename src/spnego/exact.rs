//! The exact-size encoders the engines use on every handshake: a NegTokenResp and a GSS-framed NegTokenInit
//! written front to back with every length known up front — the same bytes as the generic codec of the parent
//! module ([`super::NegTokenResp::encode`], [`super::NegTokenInit::encode`]), without its nested buffers — and
//! the forms that wrap a mechanism token in the buffer it came in.
#![forbid(unsafe_code)]

use super::der::tag;
use super::{DerWriter, NegState, Oid, GSS_FRAMING, SPNEGO_OID_CONTENT};

/// The bare `[1]` NegTokenResp with these fields: the same bytes as [`super::NegTokenResp::write_choice`], written
/// front to back with every length known up front (one allocation of the exact size, nothing shifted).
pub(crate) fn encode_resp(
    neg_state: Option<NegState>,
    supported_mech: Option<&Oid>,
    response_token: Option<&[u8]>,
    mech_list_mic: Option<&[u8]>,
) -> Vec<u8> {
    RespFields::new(
        neg_state,
        supported_mech,
        response_token.map(<[u8]>::len),
        mech_list_mic,
    )
    .copying(response_token)
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
    let Some(token) = response_token else {
        return encode_resp(neg_state, supported_mech, None, mech_list_mic);
    };
    let n = token.len();
    let fields = RespFields::new(neg_state, supported_mech, Some(n), mech_list_mic);
    if token.capacity() < fields.total() {
        // No room to spare (a token copied out of a mechglue buffer): growing it would copy it anyway,
        // and the rotation would move it a second time.
        return fields.copying(Some(&token));
    }
    let mut w = DerWriter::after(token);
    fields.write_head(&mut w);
    w.rotate_to_front(n);
    fields.write_mic(&mut w);
    w.into_bytes()
}

/// A NegTokenResp's fields, for the two encoders above.
struct RespFields<'a> {
    neg_state: Option<NegState>,
    supported_mech: Option<&'a Oid>,
    token_len: Option<usize>,
    mech_list_mic: Option<&'a [u8]>,
    /// The SEQUENCE's content length.
    seq: usize,
}

impl<'a> RespFields<'a> {
    fn new(
        neg_state: Option<NegState>,
        supported_mech: Option<&'a Oid>,
        token_len: Option<usize>,
        mech_list_mic: Option<&'a [u8]>,
    ) -> Self {
        let tlv = DerWriter::tlv_len;
        // The negState ENUMERATED is one content octet (0..=3).
        let seq = neg_state.map_or(0, |_| tlv(tlv(1)))
            + supported_mech.map_or(0, |m| tlv(tlv(m.as_der_content().len())))
            + token_len.map_or(0, |t| tlv(tlv(t)))
            + mech_list_mic.map_or(0, |m| tlv(tlv(m.len())));
        RespFields {
            neg_state,
            supported_mech,
            token_len,
            mech_list_mic,
            seq,
        }
    }

    /// The whole `[1]` element's size.
    fn total(&self) -> usize {
        let tlv = DerWriter::tlv_len;
        tlv(tlv(self.seq))
    }

    /// Everything before the response token's contents (its OCTET STRING header included).
    fn write_head(&self, w: &mut DerWriter) {
        let tlv = DerWriter::tlv_len;
        let seq = self.seq;
        w.write_header(tag::context(1), tlv(seq));
        w.write_header(tag::SEQUENCE, seq);
        if let Some(state) = self.neg_state {
            // `[0] { ENUMERATED }` with its single content octet (negState is 0..=3), in one append.
            w.write_bytes(&[tag::context(0), 3, tag::ENUMERATED, 1, state as u8]);
        }
        if let Some(m) = self.supported_mech {
            w.write_header(tag::context(1), tlv(m.as_der_content().len()));
            w.write_oid(m);
        }
        if let Some(t) = self.token_len {
            w.write_header(tag::context(2), tlv(t));
            w.write_header(tag::OCTET_STRING, t);
        }
    }

    /// The whole token in a new buffer of the exact size, `token` copied into it.
    fn copying(&self, token: Option<&[u8]>) -> Vec<u8> {
        let mut w = DerWriter::with_capacity(self.total());
        self.write_head(&mut w);
        if let Some(t) = token {
            w.write_bytes(t);
        }
        self.write_mic(&mut w);
        w.into_bytes()
    }

    /// The `[3]` mechListMIC field, when there is one.
    fn write_mic(&self, w: &mut DerWriter) {
        if let Some(m) = self.mech_list_mic {
            w.write_header(tag::context(3), DerWriter::tlv_len(m.len()));
            w.write_octet_string(m);
        }
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
        let lists = [
            vec![oid(OID_NTLMSSP)],
            vec![
                oid(OID_KRB5_MS),
                oid(OID_KRB5),
                oid(OID_NEGOEX),
                oid(OID_NTLMSSP),
            ],
        ];
        for mechs in &lists {
            for token in [None, Some(&b"NTLMSSP\0"[..]), Some(&long[..])] {
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
        for state in [
            None,
            Some(NegState::AcceptIncomplete),
            Some(NegState::RequestMic),
        ] {
            for mech in [None, Some(oid(OID_NTLMSSP))] {
                for token in [None, Some(&b"x"[..]), Some(&long[..])] {
                    for mic in [None, Some(&[7u8; 16][..])] {
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
