//! The mechListMIC exchange both engines share (RFC 4178 §5; MS-SPNG §3.1.5.1, §3.3.5.1), with MIT's reading of
//! it (`handle_mic` / `process_mic` in krb5's `spnego_mech.c`): once the selected mechanism is complete and offers
//! integrity, a received MIC is verified over the DER MechTypeList and obliges us to send ours; a required MIC
//! that the peer did not send with its final token is an error; a second MIC is an error.
#![forbid(unsafe_code)]

use super::error::SpnegoError;
use super::mech::Mechanism;
use super::RespView;

/// Our mechListMIC: NTLM's 16 bytes without an allocation, or another mechanism's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mic {
    Short([u8; 16]),
    Long(Vec<u8>),
}

impl core::ops::Deref for Mic {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Mic::Short(m) => m,
            Mic::Long(m) => m,
        }
    }
}

/// Where the MIC exchange is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MicState {
    /// Both sides must exchange MICs: the acceptor did not select the initiator's first mechanism
    /// (`request-mic`), the mechanism demands it (NTLM with a MIC), or the peer sent one.
    pub required: bool,
    /// Ours was sent.
    pub sent: bool,
    /// The peer's was verified.
    pub received: bool,
}

impl MicState {
    /// True when no (further) MIC is owed either way.
    pub fn settled(&self) -> bool {
        !self.required || (self.sent && self.received)
    }

    /// Runs the exchange for one token once the mechanism is complete and has integrity. `mic_in` is the
    /// peer's MIC in this token, `sending_mech_token` whether we send a mechanism token now (if not, and the
    /// peer's MIC is still owed, the peer should have sent it with its final token). Returns our MIC to send.
    pub fn exchange(
        &mut self,
        mech: &mut dyn Mechanism,
        mech_list: &[u8],
        mic_in: Option<&[u8]>,
        sending_mech_token: bool,
    ) -> Result<Option<Mic>, SpnegoError> {
        match mic_in {
            Some(_) if self.received => return Err(SpnegoError::DuplicateMic),
            None if self.required && !self.received && !sending_mech_token => {
                return Err(SpnegoError::MicMissing)
            }
            _ => {}
        }
        // Both MICs are still to be made and checked, one of them now: the mechanism may compute the two
        // together.
        if !self.sent && !self.received && (self.required || mic_in.is_some()) {
            mech.prime_mic(mech_list);
        }
        if let Some(mic) = mic_in {
            mech.verify_mic(mech_list, mic)
                .map_err(|e| SpnegoError::BadMic(e.detail))?;
            mech.after_mic(true);
            self.required = true;
            self.received = true;
        }
        if self.required && !self.sent {
            let mic = match mech.get_mic16(mech_list) {
                Some(short) => Mic::Short(short?),
                None => Mic::Long(mech.get_mic(mech_list)?),
            };
            mech.after_mic(false);
            self.sent = true;
            return Ok(Some(mic));
        }
        Ok(None)
    }
}

/// The peer's mechListMIC, except when it repeats the response token: Windows 2000 sent the response token in
/// the MIC field, and MIT ignores such a MIC (`get_negTokenResp`, "Windows 2000 duplicate response token").
pub(crate) fn peer_mic<'a>(resp: &RespView<'a>) -> Option<&'a [u8]> {
    match (resp.mech_list_mic, resp.response_token) {
        (Some(mic), Some(tok)) if crate::ntlm::secret::ct_eq(mic, tok) => None,
        (Some(mic), _) => Some(mic),
        (None, _) => None,
    }
}
