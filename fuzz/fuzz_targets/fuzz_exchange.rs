//! Drives whole NTLM exchanges (MS-NLMP §3.1.5 initiator, §3.2.5 acceptor, §3.4 session security) with
//! fuzz-controlled mutations of every leg: the input picks the configuration (response kind, services, key
//! exchange, datagram, MIC, channel bindings, acceptor policy) and, for NEGOTIATE, CHALLENGE and AUTHENTICATE,
//! one mutation (bit flip, truncation, a length/offset field set to 0xFFFF / 0xFFFFFFFF, a byte overwrite,
//! appended garbage, an empty token, or the rest of the input as the token).
//!
//! Properties checked on every run, beyond "no panic":
//! - an acceptor that established a context with a verified MIC saw exactly the bytes that were sent;
//! - an accepted NTLMv2 response carries the genuine NTProofStr, user (case-insensitively) and domain — a changed
//!   NTProofStr never yields a context; an accepted NTLMv1 response is the genuine one;
//! - policy: NTLMv1/LM only at LM_COMPAT_LEVEL ≤ 2, anonymous only when allowed, differing channel bindings
//!   never accepted with NTLMv2;
//! - unmutated exchanges succeed on both ends and their session security works both ways.
#![no_main]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gss_negotiate::ntlm::acceptor::{AcceptorConfig, AcceptorStart, CredentialLookup, UserSecrets};
use gss_negotiate::ntlm::config::LmCompatLevel;
use gss_negotiate::ntlm::context::ResponseKind;
use gss_negotiate::ntlm::crypto::{lmowfv1, ntowfv1};
use gss_negotiate::ntlm::env::Environment;
use gss_negotiate::ntlm::error::NtlmError;
use gss_negotiate::ntlm::initiator::{
    InitiatorConfig, InitiatorCredential, InitiatorStart, Requested,
};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::ntlm::wire::Authenticate;
use libfuzzer_sys::fuzz_target;

const USER: &str = "alice";
const DOMAIN: &str = "TESTDOM";
const PASSWORD: &str = "Passw0rd!";
/// 2024-01-01T00:00:00Z as FILETIME.
const NOW: u64 = 133_485_408_000_000_000;

/// Deterministic randomness (a counter stream) and a fixed clock, so runs are reproducible.
struct FixedEnv(AtomicU64);

impl Environment for FixedEnv {
    fn fill_random(&self, out: &mut [u8]) -> Result<(), NtlmError> {
        for b in out.iter_mut() {
            let n = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
            *b = (n >> 56) as u8;
        }
        Ok(())
    }
    fn now_filetime(&self) -> u64 {
        NOW
    }
}

struct Store(HashMap<String, UserSecrets>);

impl CredentialLookup for Store {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

fn store() -> Arc<Store> {
    let pw = Password::new(PASSWORD);
    let mut m = HashMap::new();
    m.insert(
        USER.to_string(),
        UserSecrets {
            user: USER.into(),
            domain: DOMAIN.into(),
            nt_hash: ntowfv1(&pw),
            lm_hash: Some(lmowfv1(&pw)),
        },
    );
    Arc::new(Store(m))
}

/// Reads the input front to back; missing bytes are zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from(self.byte()) | u16::from(self.byte()) << 8
    }
}

/// Applies one mutation chosen by the input; returns the token to deliver.
fn mutate(token: &[u8], input: &mut Input<'_>) -> Vec<u8> {
    let kind = input.byte();
    let pos = usize::from(input.u16());
    let val = input.byte();
    let mut t = token.to_vec();
    let at = |len: usize| if len == 0 { 0 } else { pos % len };
    match kind % 10 {
        1 if !t.is_empty() => {
            let i = at(t.len());
            t[i] ^= 1 << (val % 8);
        }
        2 => t.truncate(at(t.len() + 1)),
        3 if t.len() >= 2 => {
            // A u16 length field (every security buffer starts with Len, MaxLen) set to 0xFFFF.
            let i = at(t.len() - 1);
            t[i..i + 2].copy_from_slice(&[0xFF, 0xFF]);
        }
        4 if t.len() >= 4 => {
            // A u32 offset/flags field set to 0xFFFFFFFF.
            let i = at(t.len() - 3);
            t[i..i + 4].copy_from_slice(&[0xFF; 4]);
        }
        5 if !t.is_empty() => {
            let i = at(t.len());
            t[i] = val;
        }
        6 => t.extend(std::iter::repeat(val).take(usize::from(val % 64) + 1)),
        7 => t.clear(),
        8 => {
            // The rest of the input becomes the token.
            t = input.0.to_vec();
            input.0 = &[];
        }
        9 if t.len() >= 8 => {
            // A security-buffer header (Len, MaxLen, Offset) pointing at the token's end or beyond.
            let i = at(t.len() - 7);
            let len = u16::from(val) << 4;
            t[i..i + 2].copy_from_slice(&len.to_le_bytes());
            t[i + 2..i + 4].copy_from_slice(&len.to_le_bytes());
            t[i + 4..i + 8].copy_from_slice(&(token.len() as u32).to_le_bytes());
        }
        _ => {}
    }
    t
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let c = input.byte();
    let d = input.byte();
    let anonymous = c & 3 == 3;
    let level = [3u8, 2, 0, 3][usize::from(c & 3)];
    let (sign, seal) = (c & 4 != 0, c & 8 != 0);
    let kx = c & 16 != 0;
    let datagram = c & 32 != 0;
    let mic = c & 64 != 0;
    let identify = c & 128 != 0;
    let acceptor_level = d % 6;
    let allow_anonymous = d & 8 != 0;
    let require_cb = d & 16 != 0;
    let (icb, acb) = match (d >> 5) & 3 {
        0 => (None, None),
        1 => (Some([0x11; 16]), Some([0x11; 16])),
        2 => (Some([0x11; 16]), Some([0x22; 16])),
        _ => (None, Some([0x33; 16])),
    };
    let seed = u64::from(d >> 7);

    let env = Arc::new(FixedEnv(AtomicU64::new(seed)));
    let pw = Password::new(PASSWORD);
    let credential = if anonymous {
        InitiatorCredential::Anonymous
    } else {
        InitiatorCredential::User {
            user: USER.into(),
            domain: DOMAIN.into(),
            nt_hash: ntowfv1(&pw),
            lm_hash: Some(lmowfv1(&pw)),
        }
    };
    let mut icfg = InitiatorConfig::new(credential, env.clone());
    icfg.workstation = "CLIENTPC".into();
    icfg.target_spn = Some("host/server.test".into());
    icfg.lm_compat_level = LmCompatLevel::new(level).unwrap_or_default();
    icfg.key_exchange = kx;
    icfg.mic = mic;
    icfg.requested = Requested {
        sign,
        seal,
        datagram,
        identify,
    };
    let mut acfg = AcceptorConfig::new(store(), env);
    acfg.netbios_computer = "SERVER".into();
    acfg.netbios_domain = DOMAIN.into();
    acfg.dns_computer = "server.test".into();
    acfg.target_spn = Some("host/server.test".into());
    acfg.lm_compat_level = LmCompatLevel::new(acceptor_level).unwrap_or_default();
    acfg.allow_anonymous = allow_anonymous;
    acfg.require_channel_bindings = require_cb;

    let (wait, negotiate) = InitiatorStart::new(icfg).negotiate();
    let negotiate_in = mutate(&negotiate, &mut input);
    let Ok((acc, challenge)) = AcceptorStart::new(acfg).challenge(&negotiate_in) else {
        assert_ne!(negotiate_in, negotiate, "genuine NEGOTIATE refused");
        return;
    };
    let challenge_in = mutate(&challenge, &mut input);
    let client = wait.authenticate(&challenge_in, icb);
    let Ok((mut client, authenticate)) = client else {
        // The genuine CHALLENGE may be refused only when the initiator's own policy says so.
        return;
    };
    let authenticate_in = mutate(&authenticate, &mut input);
    let result = acc.finish(&authenticate_in, acb);
    let untouched =
        negotiate_in == negotiate && challenge_in == challenge && authenticate_in == authenticate;
    let Ok(mut server) = result else {
        return;
    };

    // Policy holds whatever the bytes were.
    match server.kind {
        ResponseKind::V1 | ResponseKind::V1Ess | ResponseKind::Lm => {
            assert!(
                acceptor_level <= 2,
                "NTLMv1/LM accepted at level {acceptor_level}"
            )
        }
        ResponseKind::Anonymous => assert!(allow_anonymous, "anonymous accepted while refused"),
        ResponseKind::V2 => {}
    }
    if server.mic_present {
        assert!(
            untouched,
            "a context with a verified MIC was built from altered messages"
        );
    }
    let sent = Authenticate::decode(&authenticate).expect("our AUTHENTICATE decodes");
    let got = Authenticate::decode(&authenticate_in).expect("an accepted AUTHENTICATE decodes");
    match server.kind {
        ResponseKind::V2 => {
            assert_eq!(
                got.nt_response.get(..16),
                sent.nt_response.get(..16),
                "changed NTProofStr accepted"
            );
            assert!(
                got.user.eq_ignore_ascii_case(USER),
                "user changed to {:?}",
                got.user
            );
            assert_eq!(got.domain, DOMAIN, "domain changed");
            if let (Some(a), Some(b)) = (icb, acb) {
                assert!(
                    a == b || b == [0x33; 16],
                    "differing channel bindings accepted"
                );
            }
            if require_cb && acb.is_some() {
                assert!(
                    icb.is_some(),
                    "missing channel bindings accepted while required"
                );
            }
        }
        ResponseKind::V1 | ResponseKind::V1Ess => {
            assert_eq!(
                got.nt_response, sent.nt_response,
                "changed NTLMv1 response accepted"
            );
            assert!(got.user.eq_ignore_ascii_case(USER));
        }
        ResponseKind::Lm => {
            assert_eq!(
                got.lm_response, sent.lm_response,
                "changed LM response accepted"
            );
        }
        ResponseKind::Anonymous => assert!(got.user.is_empty()),
    }

    if untouched {
        assert_eq!(client.session_key, server.session_key);
        for msg in [&b""[..], b"x", b"a message of some length"] {
            let mut buf = msg.to_vec();
            let sig = client.security.seal_in_place(&mut buf);
            server
                .security
                .unseal_in_place(&mut buf, &sig)
                .expect("unseal");
            assert_eq!(buf, msg);
            let sig = server.security.sign(msg);
            client.security.verify(msg, &sig).expect("verify");
        }
    }
});
