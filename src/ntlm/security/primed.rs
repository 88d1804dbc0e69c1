//! Checksums computed ahead of the signatures that use them ([`SessionSecurity::prime`]).
#![forbid(unsafe_code)]

use zeroize::Zeroize;

use super::SessionSecurity;

/// The longest message a primed checksum covers: SeqNum and message fit one MD5 block (55 bytes) together.
pub(super) const MAX: usize = 51;

/// One channel's checksum made ahead: the first 8 bytes of HMAC_MD5(SigningKey, SeqNum || message) for one
/// SeqNum and one short message. The checksum depends on the signing key, the SeqNum and the message only, so a
/// primed one is exact whenever those two match, whatever the channel did in between (an RC4 reset, a sequence
/// number set back). Each is used once. The checksum is wiped when taken or dropped.
#[derive(Clone)]
pub(super) struct Primed {
    set: bool,
    seq: u32,
    len: u8,
    msg: [u8; MAX],
    digest: [u8; 8],
}

impl Default for Primed {
    fn default() -> Primed {
        Primed {
            set: false,
            seq: 0,
            len: 0,
            msg: [0; MAX],
            digest: [0; 8],
        }
    }
}

impl Primed {
    /// Keeps `digest` as the checksum of `msg` under `seq`; does nothing for a message longer than [`MAX`].
    pub(super) fn store(&mut self, seq: u32, msg: &[u8], digest: &[u8]) {
        let (Some(dst), Ok(d)) = (self.msg.get_mut(..msg.len()), <[u8; 8]>::try_from(digest))
        else {
            return;
        };
        dst.copy_from_slice(msg);
        self.len = msg.len() as u8;
        self.seq = seq;
        self.digest = d;
        self.set = true;
    }

    /// The primed checksum when it is the one of `msg` under `seq`, taken.
    pub(super) fn take(&mut self, seq: u32, msg: &[u8]) -> Option<[u8; 8]> {
        if !self.set
            || self.seq != seq
            || usize::from(self.len) != msg.len()
            || self.msg.get(..msg.len()) != Some(msg)
        {
            return None;
        }
        self.set = false;
        let d = self.digest;
        self.digest.zeroize();
        Some(d)
    }
}

impl Drop for Primed {
    fn drop(&mut self) {
        self.digest.zeroize();
    }
}

impl SessionSecurity {
    /// Computes ahead, side by side ([`crate::ntlm::bulk::HmacKey::mac_seq_short_x2`]), the checksums of `msg`
    /// for the next signature we send and the next one we receive, so that [`sign`](SessionSecurity::sign)
    /// and [`verify`](SessionSecurity::verify) of `msg` at those sequence numbers take them instead of running
    /// MD5 then.
    /// SPNEGO's mechListMIC is this case (MS-SPNG §3.1.5.1): each side signs the DER MechTypeList and checks
    /// the peer's signature over it, one MD5 chain of four blocks each way that would otherwise run one after
    /// the other. Only with extended session security (without it the checksum is a CRC32) and for a message
    /// of at most 51 bytes (longer ones `mac_seq_short_x2` refuses); otherwise nothing is done.
    /// Signatures are unchanged either way.
    pub fn prime(&mut self, msg: &[u8]) {
        if !self.ess() || !self.integrity() {
            return;
        }
        let (s, r) = (self.send.seq, self.recv.seq);
        if let Some((mut ds, mut dr)) =
            self.send
                .mac_key
                .mac_seq_short_x2(s, &self.recv.mac_key, r, msg)
        {
            self.send.primed.store(s, msg, &ds[..8]);
            self.recv.primed.store(r, msg, &dr[..8]);
            ds.zeroize();
            dr.zeroize();
        }
    }
}
