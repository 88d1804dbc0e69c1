//! What the SPNEGO state-machine fuzz targets (fuzz_spnego_acceptor, fuzz_spnego_initiator) share: splitting
//! the input into tokens, and a Kerberos stand-in mechanism whose "MIC" is the message reversed (so a wrong
//! mechListMIC is detected) and whose steps each target scripts.

use std::any::Any;

use gss_negotiate::spnego::mech::{MechEntry, MechError, MechFailure, MechStep, Mechanism};
use gss_negotiate::spnego::{Oid, OID_KRB5};

/// Up to 8 tokens, each `u16 little-endian length || bytes` (a short last token is taken as it is).
pub fn tokens(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 8 {
        let n = usize::from(u16::from_le_bytes([data[0], data[1]]));
        let end = (2 + n).min(data.len());
        out.push(&data[2..end]);
        data = &data[end..];
    }
    out
}

/// One step of the stand-in: the peer's token (`None` first for an initiator) → its answer.
pub type KrbStep = fn(Option<&[u8]>) -> Result<MechStep, MechError>;

/// The Kerberos stand-in.
#[derive(Debug)]
pub struct Krb {
    step: KrbStep,
}

impl Mechanism for Krb {
    fn step(&mut self, input: Option<&[u8]>) -> Result<MechStep, MechError> {
        (self.step)(input)
    }
    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, MechError> {
        Ok(msg.iter().rev().copied().collect())
    }
    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), MechError> {
        if msg.iter().rev().copied().eq(mic.iter().copied()) {
            Ok(())
        } else {
            Err(MechError::new(MechFailure::Rejected, "mic"))
        }
    }
    fn integrity(&self) -> bool {
        true
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The stand-in as a mechanism under the Kerberos OID, stepping with `step`.
pub fn krb_entry(step: KrbStep) -> MechEntry {
    MechEntry::new(Oid::from_dotted(OID_KRB5).unwrap(), move || {
        Ok(Box::new(Krb { step }) as Box<dyn Mechanism>)
    })
}

/// The refusal every scripted step falls back to.
pub fn rejected() -> Result<MechStep, MechError> {
    Err(MechError::new(MechFailure::Rejected, "no"))
}
