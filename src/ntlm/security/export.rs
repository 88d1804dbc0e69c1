//! Export and import of the session security state (for `gss_export_sec_context`): a versioned, fixed-size
//! layout read back by a bounded reader that refuses anything but exactly one exported state.

use super::{Channel, SecurityError, SessionSecurity};
use crate::ntlm::crypto::{sealkey_len, Side};
use crate::ntlm::flags::NegotiateFlags;
use crate::ntlm::rc4::{Rc4, Restartable};
use crate::ntlm::secret::Key16;

/// Magic of the exported state.
const EXPORT_MAGIC: [u8; 4] = *b"NTSS";
/// Version of the exported state layout.
const EXPORT_VERSION: u8 = 1;
/// Bytes of one exported channel: sign key, seal key, seal key length, RC4 state, SeqNum.
const CHANNEL_LEN: usize = 16 + 16 + 1 + Rc4::STATE_LEN + 4;
/// Bytes of the exported state: magic, version, flags, side, two channels.
const EXPORT_LEN: usize = 4 + 1 + 4 + 1 + 2 * CHANNEL_LEN;

/// A bounded reader over an exported state.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SecurityError> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or(SecurityError::BadExport("truncated"))?;
        self.rest = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], SecurityError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, SecurityError> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, SecurityError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
}

impl SessionSecurity {
    /// Appends the complete state (flags, side, keys, RC4 states, sequence numbers) in a versioned,
    /// fixed-size layout, for `gss_export_sec_context`. The output holds secret keys: the caller must
    /// protect it like one (e.g. keep it in a zeroizing buffer).
    pub fn export(&self, out: &mut Vec<u8>) {
        out.reserve(EXPORT_LEN);
        out.extend_from_slice(&EXPORT_MAGIC);
        out.push(EXPORT_VERSION);
        out.extend_from_slice(&self.flags.bits().to_le_bytes());
        out.push(match self.side {
            Side::Client => 0,
            Side::Server => 1,
        });
        for ch in [&self.send, &self.recv] {
            out.extend_from_slice(ch.sign_key.as_bytes());
            out.extend_from_slice(ch.seal_key.as_bytes());
            out.push(ch.seal_len);
            out.extend_from_slice(&ch.rc4.current().to_bytes());
            out.extend_from_slice(&ch.seq.to_le_bytes());
        }
    }

    /// Rebuilds a state written by [`export`](Self::export). The input must be exactly one exported state;
    /// anything else is an error.
    pub fn import(b: &[u8]) -> Result<SessionSecurity, SecurityError> {
        if b.len() != EXPORT_LEN {
            return Err(SecurityError::BadExport("wrong length"));
        }
        let mut r = Reader { rest: b };
        if r.array::<4>()? != EXPORT_MAGIC {
            return Err(SecurityError::BadExport("bad magic"));
        }
        if r.u8()? != EXPORT_VERSION {
            return Err(SecurityError::BadExport("unsupported version"));
        }
        let flags = NegotiateFlags(r.u32()?);
        let side = match r.u8()? {
            0 => Side::Client,
            1 => Side::Server,
            _ => return Err(SecurityError::BadExport("bad side")),
        };
        let ess = flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY);
        let want_len = sealkey_len(flags);
        let read_channel = |r: &mut Reader<'_>| -> Result<Channel, SecurityError> {
            let sign_key = Key16::new(r.array()?);
            let seal_key = Key16::new(r.array()?);
            let seal_len = r.u8()?;
            let rc4_bytes = zeroize::Zeroizing::new(r.array::<{ Rc4::STATE_LEN }>()?);
            let seq = r.u32()?;
            if usize::from(seal_len) != want_len {
                return Err(SecurityError::BadExport(
                    "sealing key length does not match flags",
                ));
            }
            let pad = seal_key
                .as_bytes()
                .get(usize::from(seal_len)..)
                .unwrap_or_default();
            if pad.iter().any(|&x| x != 0) {
                return Err(SecurityError::BadExport("sealing key padding not zero"));
            }
            if !ess && !sign_key.is_zero() {
                return Err(SecurityError::BadExport(
                    "signing key without extended session security",
                ));
            }
            let rc4 =
                Rc4::from_bytes(&rc4_bytes).ok_or(SecurityError::BadExport("bad RC4 state"))?;
            let initial = Rc4::new(
                seal_key
                    .as_bytes()
                    .get(..usize::from(seal_len))
                    .unwrap_or_default(),
            );
            let mac_key = if ess {
                crate::ntlm::bulk::HmacKey::new(sign_key.as_bytes())
            } else {
                crate::ntlm::bulk::HmacKey::default()
            };
            Ok(Channel {
                sign_key,
                mac_key,
                seal_key,
                seal_len,
                rc4: Restartable::at(rc4, initial),
                primed: Default::default(),
                seq,
            })
        };
        let send = read_channel(&mut r)?;
        let recv = read_channel(&mut r)?;
        if !r.rest.is_empty() {
            return Err(SecurityError::BadExport("trailing bytes"));
        }
        Ok(SessionSecurity {
            flags,
            side,
            send,
            recv,
        })
    }
}
