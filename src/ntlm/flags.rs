//! NTLM negotiate flags (MS-NLMP §2.2.2.5).
#![forbid(unsafe_code)]

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

/// The 32-bit `NegotiateFlags` field of NEGOTIATE, CHALLENGE and AUTHENTICATE messages.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NegotiateFlags(pub u32);

macro_rules! flags {
    ($($(#[$m:meta])* $name:ident = $val:expr;)*) => {
        impl NegotiateFlags {
            $($(#[$m])* pub const $name: NegotiateFlags = NegotiateFlags($val);)*
            /// Names of all known flags, for `Debug` and diagnostics.
            pub const NAMES: &'static [(&'static str, u32)] = &[$((stringify!($name), $val)),*];
        }
    };
}

flags! {
    /// A: Unicode (UTF-16LE) strings.
    UNICODE = 0x0000_0001;
    /// B: OEM strings.
    OEM = 0x0000_0002;
    /// C: the server must return TargetName in the CHALLENGE.
    REQUEST_TARGET = 0x0000_0004;
    /// D: session signing.
    SIGN = 0x0000_0010;
    /// E: session sealing (encryption).
    SEAL = 0x0000_0020;
    /// F: connectionless (datagram) authentication.
    DATAGRAM = 0x0000_0040;
    /// G: LAN Manager session key computation.
    LM_KEY = 0x0000_0080;
    /// H: NTLMv1 session security protocol.
    NTLM = 0x0000_0200;
    /// J: anonymous connection.
    ANONYMOUS = 0x0000_0800;
    /// K: the NEGOTIATE carries a domain name.
    OEM_DOMAIN_SUPPLIED = 0x0000_1000;
    /// L: the NEGOTIATE carries a workstation name.
    OEM_WORKSTATION_SUPPLIED = 0x0000_2000;
    /// M: always sign (dummy signatures when no signing is negotiated).
    ALWAYS_SIGN = 0x0000_8000;
    /// N: TargetName is a domain name.
    TARGET_TYPE_DOMAIN = 0x0001_0000;
    /// O: TargetName is a server name.
    TARGET_TYPE_SERVER = 0x0002_0000;
    /// P: NTLM v2 session security (extended session security).
    EXTENDED_SESSIONSECURITY = 0x0008_0000;
    /// Q: identify-level token requested.
    IDENTIFY = 0x0010_0000;
    /// R: LMOWF-based session key requested.
    REQUEST_NON_NT_SESSION_KEY = 0x0040_0000;
    /// S: the CHALLENGE carries TargetInfo.
    TARGET_INFO = 0x0080_0000;
    /// T: the VERSION field is present.
    VERSION = 0x0200_0000;
    /// U: 128-bit session key.
    KEY_128 = 0x2000_0000;
    /// V: explicit key exchange.
    KEY_EXCH = 0x4000_0000;
    /// W: 56-bit encryption.
    KEY_56 = 0x8000_0000;
}

impl NegotiateFlags {
    /// No flag set.
    pub const EMPTY: NegotiateFlags = NegotiateFlags(0);

    /// The raw value.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: NegotiateFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// True when any bit of `other` is set in `self`.
    pub const fn intersects(self, other: NegotiateFlags) -> bool {
        self.0 & other.0 != 0
    }
    /// `self` with the bits of `other` set.
    pub const fn with(self, other: NegotiateFlags) -> NegotiateFlags {
        NegotiateFlags(self.0 | other.0)
    }
    /// `self` with the bits of `other` cleared.
    pub const fn without(self, other: NegotiateFlags) -> NegotiateFlags {
        NegotiateFlags(self.0 & !other.0)
    }
    /// Sets or clears `other`.
    pub fn set(&mut self, other: NegotiateFlags, on: bool) {
        if on {
            self.0 |= other.0
        } else {
            self.0 &= !other.0
        }
    }
}

impl BitOr for NegotiateFlags {
    type Output = NegotiateFlags;
    fn bitor(self, rhs: Self) -> Self {
        NegotiateFlags(self.0 | rhs.0)
    }
}
impl BitOrAssign for NegotiateFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0
    }
}
impl BitAnd for NegotiateFlags {
    type Output = NegotiateFlags;
    fn bitand(self, rhs: Self) -> Self {
        NegotiateFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for NegotiateFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NegotiateFlags({:#010x}", self.0)?;
        let mut rest = self.0;
        for (name, bit) in Self::NAMES {
            if self.0 & bit != 0 {
                write!(f, " {name}")?;
                rest &= !bit;
            }
        }
        if rest != 0 {
            write!(f, " unknown:{rest:#x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_lists_flag_names() {
        let f = NegotiateFlags::UNICODE | NegotiateFlags::KEY_EXCH | NegotiateFlags(0x0400_0000);
        assert_eq!(
            format!("{f:?}"),
            "NegotiateFlags(0x44000001 UNICODE KEY_EXCH unknown:0x4000000)"
        );
    }

    #[test]
    fn with_without_contains() {
        let f = NegotiateFlags::SIGN.with(NegotiateFlags::SEAL);
        assert!(f.contains(NegotiateFlags::SIGN | NegotiateFlags::SEAL));
        assert!(!f
            .without(NegotiateFlags::SEAL)
            .contains(NegotiateFlags::SEAL));
        assert!(f.intersects(NegotiateFlags::SEAL | NegotiateFlags::DATAGRAM));
    }
}
