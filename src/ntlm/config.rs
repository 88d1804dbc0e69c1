//! Policy knobs shared by the initiator and the acceptor: the LM compatibility level (the meaning of Windows'
//! `LmCompatibilityLevel` and gss-ntlmssp's `LM_COMPAT_LEVEL`, MS-NLMP §3.1.1.1 / §3.2.1.1) and the acceptor's
//! timestamp window.
#![forbid(unsafe_code)]

/// LM compatibility level 0–5. Initiator: 0 sends LM+NTLMv1 without NTLMv2 session security, 1 adds extended
/// session security when the server agrees, 2 sends the NTLMv1 response only, 3–5 send NTLMv2 only.
/// Acceptor: NTLMv1 and LM responses are accepted only at levels 0–2 (stricter than a Windows DC, which keeps
/// accepting NTLMv1 up to level 4 — an acceptor here refuses v1 by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LmCompatLevel(u8);

impl Default for LmCompatLevel {
    fn default() -> Self {
        LmCompatLevel::DEFAULT
    }
}

impl LmCompatLevel {
    /// Level 3: NTLMv2 only (the default of gss-ntlmssp and modern Windows).
    pub const DEFAULT: LmCompatLevel = LmCompatLevel(3);

    /// A level from 0 to 5; anything else is `None`.
    pub const fn new(level: u8) -> Option<LmCompatLevel> {
        if level <= 5 {
            Some(LmCompatLevel(level))
        } else {
            None
        }
    }
    /// Parses the text of `LM_COMPAT_LEVEL` ("0".."5", surrounding white space allowed).
    pub fn parse(text: &str) -> Option<LmCompatLevel> {
        text.trim().parse::<u8>().ok().and_then(LmCompatLevel::new)
    }
    /// The numeric level.
    pub const fn value(self) -> u8 {
        self.0
    }
    /// The initiator sends NTLMv2 (and LMv2) responses.
    pub const fn initiator_uses_v2(self) -> bool {
        self.0 >= 3
    }
    /// The initiator (in v1 mode) sends an LM response computed from the LM hash.
    pub const fn initiator_sends_lm(self) -> bool {
        self.0 <= 1
    }
    /// The initiator asks for NTLMv2 session security (extended session security).
    pub const fn initiator_requests_ess(self) -> bool {
        self.0 >= 1
    }
    /// The acceptor accepts NTLMv1 responses (with or without extended session security).
    pub const fn acceptor_allows_v1(self) -> bool {
        self.0 <= 2
    }
}

/// Default bound on how far an NTLMv2 timestamp may be from the acceptor's clock: 36 hours, Windows'
/// `MaxLifetime` default (MS-NLMP §3.2.5.1.2).
pub const DEFAULT_MAX_TIMESTAMP_SKEW_SECS: u64 = 36 * 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_levels_zero_to_five_only() {
        assert_eq!(LmCompatLevel::parse(" 2 "), LmCompatLevel::new(2));
        assert_eq!(LmCompatLevel::parse("6"), None);
        assert_eq!(LmCompatLevel::parse("x"), None);
        assert_eq!(LmCompatLevel::default().value(), 3);
    }

    #[test]
    fn acceptor_refuses_v1_from_level_three() {
        assert!(LmCompatLevel::new(2).is_some_and(|l| l.acceptor_allows_v1()));
        assert!(LmCompatLevel::new(3).is_some_and(|l| !l.acceptor_allows_v1()));
        assert!(LmCompatLevel::new(3).is_some_and(|l| l.initiator_uses_v2()));
    }
}
