//! SPNEGO token codec: the NegotiationToken of RFC 4178 §4.2 (NegTokenInit §4.2.1, NegTokenResp §4.2.2),
//! MS-SPNG §2.2.1's NegTokenInit2 (negHints), and the GSS-API InitialContextToken framing of RFC 2743 §3.1,
//! over the strict DER of [`der`]. No negotiation logic: this only turns bytes into tokens and back.
//!
//! # What [`SpnegoToken::decode`] accepts
//! - `[APPLICATION 0] { thisMech OID, [0] NegTokenInit }` — the initial token (RFC 4178 §4.2, RFC 2743 §3.1).
//!   `thisMech` must be the SPNEGO OID ([`DerError::WrongMechanism`] otherwise, e.g. for a raw Kerberos token),
//!   and the inner token must be the `negTokenInit` choice.
//! - a bare `[1] NegTokenResp` — every later token (RFC 4178 §4.2).
//! - a bare `[0] NegTokenInit`, without the GSS framing. RFC 4178 does not define it, but some SMB peers put it
//!   in security blobs; [`SpnegoToken::decode_framed`] says which form was seen, and
//!   [`SpnegoToken::encode_negotiation_token`] writes it back.
//!
//! # Choices (all fail closed)
//! - **Strict DER only.** BER forms (indefinite or non-minimal lengths, constructed OCTET STRINGs) are
//!   rejected, including the non-minimal lengths some SMB servers send. The mechListMIC of RFC 4178 §5 signs the
//!   DER MechTypeList, so a strict decoder guarantees that [`encode_mech_type_list`] of the decoded list is
//!   exactly the received bytes.
//! - **No extensions.** RFC 4178 marks its SEQUENCEs extensible (`...`), but no extension has been defined;
//!   since the mechListMIC does not cover the token itself, an unknown element is refused
//!   ([`DerError::UnknownElement`]) rather than silently skipped. Elements must appear in tag order, once.
//! - **`[3]` inside NegTokenInit.** RFC 4178 puts mechListMIC at `[3]` (OCTET STRING); MS-SPNG's NegTokenInit2
//!   puts negHints at `[3]` (SEQUENCE) and mechListMIC at `[4]`. The inner tag tells them apart. Encoding uses
//!   the RFC 4178 layout unless `neg_hints` is set, so a NegTokenInit2 carrying `[4]` without negHints
//!   re-encodes with the MIC at `[3]` (same value, different bytes).
//! - **mechTypes** is required and non-empty ("one or more", RFC 4178 §4.2.1), although MS-SPNG marks it
//!   OPTIONAL in NegTokenInit2.
//! - **reqFlags** is kept as the raw BIT STRING ([`BitString`]); only DER's own rules are checked, not the
//!   trailing-zero rule of named bit lists, because RFC 4178 also fixes `SIZE (32)` and peers disagree (MIT
//!   expects `03 02 01 xx`).
//! - Mechanism tokens, MICs and hint strings are opaque bytes.
#![forbid(unsafe_code)]

pub mod acceptor;
pub mod der;
mod direct;
pub mod error;
mod exact;
pub mod export;
pub mod gss_ntlm;
pub mod initiator;
pub mod mech;
mod mic;
pub mod oid;
mod pending;
pub mod session;

pub use der::{BitString, DerError, DerReader, DerWriter};
pub use oid::Oid;

pub(crate) use exact::{encode_init_around, encode_resp, encode_resp_around, MechListDer};

use der::tag;

/// SPNEGO itself (RFC 4178 §4.1): `iso.org.dod.internet.security.mechanism.snego`.
pub const OID_SPNEGO: &str = "1.3.6.1.5.5.2";
/// Microsoft's NTLM Security Support Provider (MS-NLMP §1.9).
pub const OID_NTLMSSP: &str = "1.3.6.1.4.1.311.2.2.10";
/// Kerberos V5 GSS-API mechanism (RFC 4121 §1.1).
pub const OID_KRB5: &str = "1.2.840.113554.1.2.2";
/// The Kerberos OID with the truncated arc that Windows 2000 used and still sends first (MS-SPNG §3.3.5.3).
pub const OID_KRB5_MS: &str = "1.2.840.48018.1.2.2";
/// NEGOEX (MS-NEGOEX §1.9).
pub const OID_NEGOEX: &str = "1.3.6.1.4.1.311.2.2.30";

/// The DER contents of [`OID_SPNEGO`].
const SPNEGO_OID_CONTENT: [u8; 6] = [0x2B, 0x06, 0x01, 0x05, 0x05, 0x02];

/// The identifier octet of the GSS-API InitialContextToken, `[APPLICATION 0]` constructed (RFC 2743 §3.1).
const GSS_FRAMING: u8 = tag::application(0);

impl Oid {
    /// The SPNEGO mechanism OID, [`OID_SPNEGO`].
    pub fn spnego() -> Oid {
        Oid::from_valid(&SPNEGO_OID_CONTENT)
    }
}

/// negState of NegTokenResp (RFC 4178 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegState {
    /// No further tokens are expected; the context is established.
    AcceptCompleted = 0,
    /// More tokens are expected from the peer.
    AcceptIncomplete = 1,
    /// The negotiation failed.
    Reject = 2,
    /// The acceptor asks the initiator for a mechListMIC (RFC 4178 §5).
    RequestMic = 3,
}

impl NegState {
    /// No negState and each of the four: what a NegTokenResp may carry (the tests' enumeration).
    #[cfg(test)]
    pub(crate) const OPTIONS: [Option<NegState>; 5] = [
        None,
        Some(NegState::AcceptCompleted),
        Some(NegState::AcceptIncomplete),
        Some(NegState::Reject),
        Some(NegState::RequestMic),
    ];

    /// The state with ENUMERATED value `v`, if it is one of the four defined.
    pub fn from_value(v: i64) -> Option<NegState> {
        match v {
            0 => Some(NegState::AcceptCompleted),
            1 => Some(NegState::AcceptIncomplete),
            2 => Some(NegState::Reject),
            3 => Some(NegState::RequestMic),
            _ => None,
        }
    }

    /// The ENUMERATED value.
    pub fn value(self) -> i64 {
        self as i64
    }
}

/// negHints of MS-SPNG §2.2.1 (NegTokenInit2): server hints that RFC 4178 does not define.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegHints {
    /// `hintName [0] GeneralString` (Windows sends "not_defined_in_RFC4178@please_ignore"), as bytes.
    pub hint_name: Option<Vec<u8>>,
    /// `hintAddress [1] OCTET STRING`.
    pub hint_address: Option<Vec<u8>>,
}

/// NegTokenInit (RFC 4178 §4.2.1), or NegTokenInit2 (MS-SPNG §2.2.1) when `neg_hints` is set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegTokenInit {
    /// `mechTypes [0] MechTypeList`, the initiator's mechanisms in order of preference. Must not be empty.
    pub mech_types: Vec<Oid>,
    /// `reqFlags [1] ContextFlags` (kept from RFC 2478; RFC 4178 recommends leaving it out).
    pub req_flags: Option<BitString>,
    /// `mechToken [2] OCTET STRING`: the optimistic token of the first mechanism, opaque.
    pub mech_token: Option<Vec<u8>>,
    /// `mechListMIC`: `[3]` in RFC 4178, `[4]` in NegTokenInit2.
    pub mech_list_mic: Option<Vec<u8>>,
    /// `negHints [3]` of MS-SPNG's NegTokenInit2.
    pub neg_hints: Option<NegHints>,
}

/// NegTokenResp (RFC 4178 §4.2.2). All fields are optional in the syntax; which must be present at which step
/// is for the state machine to check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegTokenResp {
    /// `negState [0] ENUMERATED`.
    pub neg_state: Option<NegState>,
    /// `supportedMech [1] MechType`.
    pub supported_mech: Option<Oid>,
    /// `responseToken [2] OCTET STRING`, opaque.
    pub response_token: Option<Vec<u8>>,
    /// `mechListMIC [3] OCTET STRING`.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// A decoded SPNEGO token: the two choices of NegotiationToken (RFC 4178 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpnegoToken {
    /// `negTokenInit [0]`.
    Init(NegTokenInit),
    /// `negTokenResp [1]`.
    Resp(NegTokenResp),
}

/// How a token arrived: with the GSS-API framing or as a bare NegotiationToken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `[APPLICATION 0] { SPNEGO OID, NegotiationToken }` (RFC 2743 §3.1).
    GssInitialContextToken,
    /// The NegotiationToken CHOICE alone (`[0]` or `[1]`).
    Bare,
}

impl SpnegoToken {
    /// Decodes one token; see the module documentation for the accepted forms. Trailing bytes are an error.
    pub fn decode(b: &[u8]) -> Result<SpnegoToken, DerError> {
        Self::decode_framed(b).map(|(token, _)| token)
    }

    /// Like [`SpnegoToken::decode`], also saying which framing the token had.
    pub fn decode_framed(b: &[u8]) -> Result<(SpnegoToken, Framing), DerError> {
        let (view, framing) = TokenView::decode(b)?;
        let token = match view {
            TokenView::Init(i) => SpnegoToken::Init(i.to_owned()),
            TokenView::Resp(r) => SpnegoToken::Resp(r.to_owned()),
        };
        Ok((token, framing))
    }

    /// Whether `b` decodes as a `NegTokenInit` (framed or bare), as [`SpnegoToken::decode`] would say, without
    /// copying its fields.
    pub fn is_init(b: &[u8]) -> bool {
        matches!(TokenView::decode(b), Ok((TokenView::Init(_), _)))
    }

    /// Encodes the token as it goes on the wire: NegTokenInit inside the GSS framing with the SPNEGO OID,
    /// NegTokenResp as a bare `[1]`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            SpnegoToken::Init(init) => init.encode(),
            SpnegoToken::Resp(resp) => resp.encode(),
        }
    }

    /// Encodes the bare NegotiationToken (`[0]` or `[1]`), without the GSS framing.
    pub fn encode_negotiation_token(&self) -> Vec<u8> {
        let mut w = DerWriter::new();
        match self {
            SpnegoToken::Init(init) => init.write_choice(&mut w),
            SpnegoToken::Resp(resp) => resp.write_choice(&mut w),
        }
        w.into_bytes()
    }
}

/// Reads `[0] NegTokenInit` (the negTokenInit choice) from `r`.
fn read_init_choice<'a>(r: &mut DerReader<'a>) -> Result<InitView<'a>, DerError> {
    let mut choice = r.read_context(0, "negTokenInit")?;
    let mut seq = choice.read_sequence("NegTokenInit")?;
    choice.finish("negTokenInit")?;
    InitView::decode_fields(&mut seq)
}

/// A decoded token whose opaque fields (mechanism token, MIC, the DER mechanism list) borrow the input: what
/// the engines read, without copying them. [`SpnegoToken::decode`] is this, turned into owned values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenView<'a> {
    Init(InitView<'a>),
    Resp(RespView<'a>),
}

impl<'a> TokenView<'a> {
    /// Decodes one token; the same rules as [`SpnegoToken::decode_framed`]. The usual tokens take the direct
    /// pass of [`direct`]; the rest (errors included) the general decoder.
    pub(crate) fn decode(b: &'a [u8]) -> Result<(TokenView<'a>, Framing), DerError> {
        match direct::decode(b) {
            Some(decoded) => Ok(decoded),
            None => Self::decode_general(b),
        }
    }

    /// The general decoder, with a [`DerReader`]: every form, and what is wrong with the bytes.
    #[cold]
    #[inline(never)]
    fn decode_general(b: &'a [u8]) -> Result<(TokenView<'a>, Framing), DerError> {
        let mut r = DerReader::new(b);
        let first = r.peek_tag().ok_or(DerError::Missing {
            what: "SPNEGO token",
        })?;
        let out = if first == GSS_FRAMING {
            let mut framed = r.read_constructed(GSS_FRAMING, "InitialContextToken")?;
            // Compared as bytes; only another mechanism's OID is validated (for its dotted form or BadOid).
            let this_mech = framed.read_expected(tag::OID, "thisMech")?;
            if this_mech != SPNEGO_OID_CONTENT {
                return Err(DerError::WrongMechanism {
                    got: Oid::from_der_content(this_mech)?.to_dotted(),
                });
            }
            let init = read_init_choice(&mut framed)?;
            framed.finish("InitialContextToken")?;
            (TokenView::Init(init), Framing::GssInitialContextToken)
        } else if first == tag::context(0) {
            (TokenView::Init(read_init_choice(&mut r)?), Framing::Bare)
        } else if first == tag::context(1) {
            let mut choice = r.read_context(1, "negTokenResp")?;
            let mut seq = choice.read_sequence("NegTokenResp")?;
            choice.finish("negTokenResp")?;
            (
                TokenView::Resp(RespView::decode_fields(&mut seq)?),
                Framing::Bare,
            )
        } else {
            return Err(DerError::UnexpectedTag {
                what: "SPNEGO token",
                expected: GSS_FRAMING,
                got: first,
            });
        };
        r.finish("SPNEGO token")?;
        Ok(out)
    }
}

/// [`NegTokenInit`] with borrowed opaque fields, plus the received DER MechTypeList.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InitView<'a> {
    pub mech_types: Vec<Oid>,
    /// The MechTypeList exactly as received (strict DER: equal to [`encode_mech_type_list`] of
    /// `mech_types`), what the mechListMIC signs.
    pub mech_types_der: &'a [u8],
    pub req_flags: Option<BitString>,
    pub mech_token: Option<&'a [u8]>,
    pub mech_list_mic: Option<&'a [u8]>,
    /// Boxed: rare in what is decoded (a server's advertisement), and without it the view is small enough to be
    /// moved with a few stores instead of a copy call.
    pub neg_hints: Option<Box<NegHints>>,
}

/// [`NegTokenResp`] with borrowed opaque fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RespView<'a> {
    pub neg_state: Option<NegState>,
    pub supported_mech: Option<Oid>,
    pub response_token: Option<&'a [u8]>,
    pub mech_list_mic: Option<&'a [u8]>,
}

impl InitView<'_> {
    fn to_owned(&self) -> NegTokenInit {
        NegTokenInit {
            mech_types: self.mech_types.clone(),
            req_flags: self.req_flags.clone(),
            mech_token: self.mech_token.map(<[u8]>::to_vec),
            mech_list_mic: self.mech_list_mic.map(<[u8]>::to_vec),
            neg_hints: self.neg_hints.as_deref().cloned(),
        }
    }
}

impl RespView<'_> {
    fn to_owned(&self) -> NegTokenResp {
        NegTokenResp {
            neg_state: self.neg_state,
            supported_mech: self.supported_mech.clone(),
            response_token: self.response_token.map(<[u8]>::to_vec),
            mech_list_mic: self.mech_list_mic.map(<[u8]>::to_vec),
        }
    }
}

/// Reads the single element inside an explicit tag `[n]` with `read`, or `None` when the next element is not
/// `[n]`; bytes after that element inside `[n]` are an error.
fn optional_field<'a, T>(
    r: &mut DerReader<'a>,
    n: u8,
    what: &'static str,
    read: impl FnOnce(&mut DerReader<'a>) -> Result<T, DerError>,
) -> Result<Option<T>, DerError> {
    match r.read_optional_constructed(tag::context(n), what)? {
        None => Ok(None),
        Some(mut inner) => {
            let v = read(&mut inner)?;
            inner.finish(what)?;
            Ok(Some(v))
        }
    }
}

fn octets<'a>(what: &'static str) -> impl FnOnce(&mut DerReader<'a>) -> Result<&'a [u8], DerError> {
    move |r| r.read_octet_string(what)
}

impl<'a> InitView<'a> {
    fn decode_fields(seq: &mut DerReader<'a>) -> Result<InitView<'a>, DerError> {
        let (mech_types, mech_types_der) = optional_field(seq, 0, "mechTypes", |r| {
            // Inside [0] there is exactly the SEQUENCE (checked by optional_field): its bytes are what
            // remains before reading it.
            let der = r.rest();
            read_mech_type_list(r).map(|list| (list, der))
        })?
        .ok_or(DerError::Missing { what: "mechTypes" })?;
        if mech_types.is_empty() {
            return Err(DerError::Invalid("mechTypes lists no mechanism"));
        }
        let req_flags = optional_field(seq, 1, "reqFlags", |r| r.read_bit_string("reqFlags"))?;
        let mech_token = optional_field(seq, 2, "mechToken", octets("mechToken"))?;
        // [3] is mechListMIC (RFC 4178) or negHints (MS-SPNG NegTokenInit2); the inner tag decides.
        let field3 = optional_field(seq, 3, "mechListMIC/negHints", |r| match r.peek_tag() {
            Some(tag::SEQUENCE) => read_neg_hints(r).map(|h| Field3::Hints(Box::new(h))),
            _ => r.read_octet_string("mechListMIC").map(Field3::Mic),
        })?;
        let (neg_hints, mech_list_mic) = match field3 {
            Some(Field3::Mic(mic)) => (None, Some(mic)),
            Some(Field3::Hints(hints)) => (
                Some(hints),
                optional_field(seq, 4, "mechListMIC", octets("mechListMIC"))?,
            ),
            None => (
                None,
                optional_field(seq, 4, "mechListMIC", octets("mechListMIC"))?,
            ),
        };
        seq.finish_sequence("NegTokenInit")?;
        Ok(InitView {
            mech_types,
            mech_types_der,
            req_flags,
            mech_token,
            mech_list_mic,
            neg_hints,
        })
    }
}

impl NegTokenInit {
    /// Writes `[0] SEQUENCE { .. }`.
    fn write_choice(&self, w: &mut DerWriter) {
        w.write_context(0, |w| {
            w.write_sequence(|w| {
                w.write_context(0, |w| write_mech_type_list(w, &self.mech_types));
                if let Some(flags) = &self.req_flags {
                    w.write_context(1, |w| w.write_bit_string(flags));
                }
                if let Some(token) = &self.mech_token {
                    w.write_context(2, |w| w.write_octet_string(token));
                }
                match &self.neg_hints {
                    Some(hints) => {
                        w.write_context(3, |w| write_neg_hints(w, hints));
                        if let Some(mic) = &self.mech_list_mic {
                            w.write_context(4, |w| w.write_octet_string(mic));
                        }
                    }
                    None => {
                        if let Some(mic) = &self.mech_list_mic {
                            w.write_context(3, |w| w.write_octet_string(mic));
                        }
                    }
                }
            })
        });
    }

    /// The GSS-framed encoding of this token, as [`SpnegoToken::encode`] gives it.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = DerWriter::with_capacity(self.encoded_len_hint());
        w.write_constructed(GSS_FRAMING, |w| {
            w.write_tlv(der::tag::OID, &SPNEGO_OID_CONTENT);
            self.write_choice(w);
        });
        w.into_bytes()
    }

    /// Room for the encoding: the opaque fields plus generous room for tags and lengths.
    fn encoded_len_hint(&self) -> usize {
        let opt = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, Vec::len);
        64 + 16 * self.mech_types.len() + opt(&self.mech_token) + opt(&self.mech_list_mic)
    }
}

enum Field3<'a> {
    Mic(&'a [u8]),
    Hints(Box<NegHints>),
}

impl<'a> RespView<'a> {
    fn decode_fields(seq: &mut DerReader<'a>) -> Result<RespView<'a>, DerError> {
        let neg_state = optional_field(seq, 0, "negState", |r| {
            let v = r.read_enumerated("negState")?;
            NegState::from_value(v).ok_or(DerError::BadNegState(v))
        })?;
        let supported_mech =
            optional_field(seq, 1, "supportedMech", |r| r.read_oid("supportedMech"))?;
        let response_token = optional_field(seq, 2, "responseToken", octets("responseToken"))?;
        let mech_list_mic = optional_field(seq, 3, "mechListMIC", octets("mechListMIC"))?;
        seq.finish_sequence("NegTokenResp")?;
        Ok(RespView {
            neg_state,
            supported_mech,
            response_token,
            mech_list_mic,
        })
    }
}

impl NegTokenResp {
    /// Writes `[1] SEQUENCE { .. }`.
    fn write_choice(&self, w: &mut DerWriter) {
        w.write_context(1, |w| {
            w.write_sequence(|w| {
                if let Some(state) = self.neg_state {
                    w.write_context(0, |w| w.write_enumerated(state.value()));
                }
                if let Some(mech) = &self.supported_mech {
                    w.write_context(1, |w| w.write_oid(mech));
                }
                if let Some(token) = &self.response_token {
                    w.write_context(2, |w| w.write_octet_string(token));
                }
                if let Some(mic) = &self.mech_list_mic {
                    w.write_context(3, |w| w.write_octet_string(mic));
                }
            })
        });
    }

    /// The bare `[1]` encoding of this token, as [`SpnegoToken::encode`] gives it.
    pub fn encode(&self) -> Vec<u8> {
        encode_resp(
            self.neg_state,
            self.supported_mech.as_ref(),
            self.response_token.as_deref(),
            self.mech_list_mic.as_deref(),
        )
    }
}

/// Room for the mechanisms of a usual list (peers name four at most), allocated with the list rather than grown
/// into at the first push; longer lists grow as they are read.
const PREALLOCATED_MECHS: usize = 4;

fn read_mech_type_list(r: &mut DerReader<'_>) -> Result<Vec<Oid>, DerError> {
    let mut list = r.read_sequence("MechTypeList")?;
    let mut mechs = Vec::with_capacity(PREALLOCATED_MECHS);
    while !list.is_empty() {
        mechs.push(list.read_oid("MechType")?);
    }
    Ok(mechs)
}

fn write_mech_type_list(w: &mut DerWriter, mechs: &[Oid]) {
    w.write_sequence(|w| mechs.iter().for_each(|m| w.write_oid(m)));
}

fn read_neg_hints(r: &mut DerReader<'_>) -> Result<NegHints, DerError> {
    let mut seq = r.read_sequence("NegHints")?;
    let hint_name = optional_field(&mut seq, 0, "hintName", |r| {
        r.read_general_string("hintName").map(<[u8]>::to_vec)
    })?;
    let hint_address = optional_field(&mut seq, 1, "hintAddress", |r| {
        r.read_octet_string("hintAddress").map(<[u8]>::to_vec)
    })?;
    seq.finish_sequence("NegHints")?;
    Ok(NegHints {
        hint_name,
        hint_address,
    })
}

fn write_neg_hints(w: &mut DerWriter, hints: &NegHints) {
    w.write_sequence(|w| {
        if let Some(name) = &hints.hint_name {
            w.write_context(0, |w| w.write_general_string(name));
        }
        if let Some(addr) = &hints.hint_address {
            w.write_context(1, |w| w.write_octet_string(addr));
        }
    });
}

/// The DER encoding of `MechTypeList ::= SEQUENCE OF MechType` for `mechs`: the bytes that the mechListMIC
/// is computed over (RFC 4178 §5). For a decoded NegTokenInit these are exactly the received bytes, since the
/// decoder accepts DER only.
pub fn encode_mech_type_list(mechs: &[Oid]) -> Vec<u8> {
    let mut w = DerWriter::with_capacity(
        2 + mechs
            .iter()
            .map(|m| 2 + m.as_der_content().len())
            .sum::<usize>(),
    );
    write_mech_type_list(&mut w, mechs);
    w.into_bytes()
}
