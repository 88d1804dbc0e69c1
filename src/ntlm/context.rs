//! An established NTLM security context (MS-NLMP §3.1.5.1.2 / §3.2.5.1.2 end state): who authenticated, the
//! negotiated flags, the exported session key and the session security state (§3.4), plus a strict, versioned
//! serialization for `gss_export_sec_context` / `gss_import_sec_context`.
#![forbid(unsafe_code)]

use super::crypto::Side;
use super::error::NtlmError;
use super::flags::NegotiateFlags;
use super::secret::SessionKey;
use super::security::SessionSecurity;
use crate::name_attrs::NameAttrs;
use zeroize::Zeroizing;

/// Which response the initiator sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseKind {
    /// NTLMv2 / LMv2 (§3.3.2).
    V2,
    /// NTLMv1 with extended session security (§3.3.1, "NTLM2 session response").
    V1Ess,
    /// NTLMv1 (§3.3.1).
    V1,
    /// LM response only.
    Lm,
    /// Anonymous (§3.2.5.1.2: empty NT response, LM response Z(1) or empty).
    Anonymous,
}

impl ResponseKind {
    fn code(self) -> u8 {
        match self {
            ResponseKind::V2 => 1,
            ResponseKind::V1Ess => 2,
            ResponseKind::V1 => 3,
            ResponseKind::Lm => 4,
            ResponseKind::Anonymous => 5,
        }
    }
    fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => ResponseKind::V2,
            2 => ResponseKind::V1Ess,
            3 => ResponseKind::V1,
            4 => ResponseKind::Lm,
            5 => ResponseKind::Anonymous,
            _ => return None,
        })
    }
}

/// The result of a successful exchange, on either side.
#[derive(Debug)]
pub struct Established {
    /// Our side.
    pub side: Side,
    /// The flags both sides use for session security.
    pub flags: NegotiateFlags,
    /// The authenticated user (as sent by the initiator; empty for anonymous).
    pub user: String,
    /// The user's domain (as sent by the initiator).
    pub domain: String,
    /// The initiator's workstation name.
    pub workstation: String,
    /// Which response authenticated the user.
    pub kind: ResponseKind,
    /// The AUTHENTICATE carried a MIC (MIT SPNEGO asks this to decide on the mechListMIC).
    pub mic_present: bool,
    /// Acceptor only: the application gave channel bindings and the initiator's matched them
    /// (GSS_C_CHANNEL_BOUND_FLAG, MIT krb5 ≥ 1.19 semantics).
    pub channel_bound: bool,
    /// SEAL was not negotiated and the peer's wrap tokens have come signed-only (MS-NLMP, Samba), not sealed
    /// anyway: a refused wrap token then spends its slot as a signed-only one.
    pub peer_wraps_signed: bool,
    /// ExportedSessionKey (§3.1.5.1.2).
    pub session_key: SessionKey,
    /// Signing/sealing state.
    pub security: SessionSecurity,
    /// The acceptor-side timestamp (FILETIME) at which the context was established; 0 when unknown.
    pub established_at: u64,
    /// Acceptor only: the SPN the initiator targeted (its MsvAvTargetName, non-empty), from an AUTHENTICATE
    /// whose response verified. Not part of the exported blob (the GSSAPI layer carries the name it derives).
    pub client_target_spn: Option<String>,
    /// The peer's name attributes (acceptor side: what the back-end vouched for).
    pub attrs: NameAttrs,
}

/// Version 2 adds the name attributes after the names; version 1 blobs (no attributes) still import.
const EXPORT_MAGIC: &[u8; 4] = b"GNX2";
const EXPORT_MAGIC_V1: &[u8; 4] = b"GNX1";
/// Upper bound for each exported string, in bytes.
const MAX_EXPORT_STRING: usize = 1024;

impl Established {
    /// True for an anonymous context.
    pub fn is_anonymous(&self) -> bool {
        self.kind == ResponseKind::Anonymous
    }

    /// Serializes the whole context (including RC4 states and sequence numbers). The blob holds the session
    /// keys: it is wiped when dropped, and the capacity below is enough that it never reallocates (a
    /// reallocation would free an unwiped copy).
    pub fn export(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            96 + self.user.len()
                + self.domain.len()
                + self.workstation.len()
                + 600
                + self
                    .attrs
                    .sids
                    .iter()
                    .chain(&self.attrs.groups)
                    .map(|s| s.len() + 2)
                    .sum::<usize>()
                + 8,
        ));
        out.extend_from_slice(EXPORT_MAGIC);
        out.push(match self.side {
            Side::Client => 0,
            Side::Server => 1,
        });
        out.push(self.kind.code());
        // Bit 0: MIC present; bit 1: channel-bound; bit 2: the peer's wrap tokens are signed-only (blobs from
        // before those bits read as neither).
        out.push(
            u8::from(self.mic_present)
                | u8::from(self.channel_bound) << 1
                | u8::from(self.peer_wraps_signed) << 2,
        );
        out.extend_from_slice(&self.flags.bits().to_le_bytes());
        out.extend_from_slice(&self.established_at.to_le_bytes());
        for s in [&self.user, &self.domain, &self.workstation] {
            let b = s.as_bytes();
            let len = b.len().min(MAX_EXPORT_STRING);
            // Names longer than the bound cannot come from the wire (u16 fields), but stay safe anyway.
            out.extend_from_slice(&(len as u16).to_le_bytes());
            out.extend_from_slice(b.get(..len).unwrap_or_default());
        }
        self.attrs.export(&mut out);
        out.extend_from_slice(self.session_key.as_bytes());
        self.security.export(&mut out);
        out
    }

    /// Parses what [`Established::export`] wrote. Every field is checked; garbage is an error.
    pub fn import(blob: &[u8]) -> Result<Established, NtlmError> {
        let mut r = Cursor { b: blob };
        let v2 = match r.take(4)? {
            m if m == EXPORT_MAGIC => true,
            m if m == EXPORT_MAGIC_V1 => false,
            _ => {
                return Err(NtlmError::BadContextBlob(
                    "not a gss-negotiate context (bad magic)",
                ))
            }
        };
        let side = match r.u8()? {
            0 => Side::Client,
            1 => Side::Server,
            _ => return Err(NtlmError::BadContextBlob("bad side")),
        };
        let kind = ResponseKind::from_code(r.u8()?)
            .ok_or(NtlmError::BadContextBlob("bad response kind"))?;
        let marker = r.u8()?;
        if marker > 7 {
            return Err(NtlmError::BadContextBlob("bad MIC marker"));
        }
        let (mic_present, channel_bound, peer_wraps_signed) =
            (marker & 1 != 0, marker & 2 != 0, marker & 4 != 0);
        if channel_bound && side != Side::Server {
            return Err(NtlmError::BadContextBlob("channel-bound initiator"));
        }
        let flags = NegotiateFlags(u32::from_le_bytes(r.array()?));
        let established_at = u64::from_le_bytes(r.array()?);
        let user = r.string()?;
        let domain = r.string()?;
        let workstation = r.string()?;
        let attrs = if v2 {
            let (attrs, rest) = NameAttrs::import(r.b).map_err(NtlmError::BadContextBlob)?;
            r.b = rest;
            attrs
        } else {
            NameAttrs::default()
        };
        let session_key = SessionKey::new(r.array()?);
        let security = SessionSecurity::import(r.b)
            .map_err(|_| NtlmError::BadContextBlob("bad session security state"))?;
        Ok(Established {
            side,
            flags,
            user,
            domain,
            workstation,
            kind,
            mic_present,
            channel_bound,
            peer_wraps_signed,
            session_key,
            security,
            established_at,
            client_target_spn: None,
            attrs,
        })
    }
}

struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], NtlmError> {
        if self.b.len() < n {
            return Err(NtlmError::BadContextBlob("truncated"));
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, NtlmError> {
        Ok(self.array::<1>()?[0])
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], NtlmError> {
        self.take(N)?
            .try_into()
            .map_err(|_| NtlmError::BadContextBlob("truncated"))
    }
    fn string(&mut self) -> Result<String, NtlmError> {
        let len = usize::from(u16::from_le_bytes(self.array()?));
        if len > MAX_EXPORT_STRING {
            return Err(NtlmError::BadContextBlob("name too long"));
        }
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec()).map_err(|_| NtlmError::BadContextBlob("name is not UTF-8"))
    }
}
