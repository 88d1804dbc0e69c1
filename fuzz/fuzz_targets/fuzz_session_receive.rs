//! Fuzzes the receive path of NTLM session security (MS-NLMP §3.4.3, §3.4.4: GSS_VerifyMIC / GSS_UnwrapEx)
//! with hostile signatures and messages, over every flag combination. A pair of states is derived from the
//! input (flags, session key); the peer sends genuine messages, and the input decides how each is altered
//! before it is received. Properties: no panic; an altered message or signature is never accepted (except the
//! collisions that NTLMv1's CRC32 checksum allows, see below); a rejected message gets its buffer back and either
//! spends the receiver's current slot — exactly as the genuine message would have (same state), when it claims
//! that slot (issue 10, defect 2: as gss-ntlmssp, Samba, pyspnego and .NET do) — or leaves the state unchanged;
//! a genuine in-order message is accepted.
#![no_main]

use gss_negotiate::ntlm::crypto::Side;
use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::secret::SessionKey;
use gss_negotiate::ntlm::security::{SecurityError, SessionSecurity};
use libfuzzer_sys::fuzz_target;

fn state_bytes(s: &SessionSecurity) -> Vec<u8> {
    let mut v = Vec::new();
    s.export(&mut v);
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((head, mut ops)) = data.split_at_checked(3 + 16) else {
        return;
    };
    let sel = u32::from(head[0]) | u32::from(head[1]) << 8 | u32::from(head[2]) << 16;
    let mut flags = NegotiateFlags(0);
    for (bit, f) in [
        NegotiateFlags::SIGN,
        NegotiateFlags::SEAL,
        NegotiateFlags::KEY_EXCH,
        NegotiateFlags::EXTENDED_SESSIONSECURITY,
        NegotiateFlags::KEY_128,
        NegotiateFlags::KEY_56,
        NegotiateFlags::LM_KEY,
        NegotiateFlags::DATAGRAM,
        NegotiateFlags::ALWAYS_SIGN,
    ]
    .into_iter()
    .enumerate()
    {
        if sel & (1 << bit) != 0 {
            flags = flags | f;
        }
    }
    let Some(key) = SessionKey::from_slice(&head[3..]) else {
        return;
    };
    let integrity = flags.intersects(NegotiateFlags::SIGN | NegotiateFlags::SEAL);
    let datagram = flags.contains(NegotiateFlags::DATAGRAM);
    let ess = flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY);
    let mut tx = SessionSecurity::new(flags, &key, Side::Client);
    let mut rx = SessionSecurity::new(flags, &key, Side::Server);
    // Each op: kind byte, position/value byte, length byte, then `length` message bytes.
    while let [kind, pos, len, rest @ ..] = ops {
        let n = usize::from(*len).min(rest.len());
        let (body, tail) = rest.split_at(n);
        ops = tail;
        let seal = kind & 1 != 0;
        let mut msg = body.to_vec();
        let sig = if seal {
            tx.seal_in_place(&mut msg)
        } else {
            tx.sign(&msg)
        };
        let (genuine_msg, genuine_sig) = (msg.clone(), sig.to_vec());
        let mut sig = sig.to_vec();
        let op = (kind >> 1) % 8;
        match op {
            1 if !msg.is_empty() => {
                let i = usize::from(*pos) % msg.len();
                msg[i] ^= 1 << (pos % 8);
            }
            2 => sig[usize::from(*pos) % 16] ^= 1 << (pos >> 4 & 7),
            3 => sig.truncate(usize::from(*pos) % 16),
            4 => sig.extend_from_slice(&[*pos]),
            5 if !msg.is_empty() => {
                msg.truncate(usize::from(*pos) % msg.len());
            }
            6 => msg.push(*pos),
            7 => sig[12..16].copy_from_slice(&(u32::from(*pos)).to_le_bytes()),
            _ => {}
        }
        let altered = msg != genuine_msg || sig != genuine_sig;
        let before = state_bytes(&rx);
        let rx_before = rx.clone();
        let sent = msg.clone();
        let result = if seal {
            rx.unseal_in_place(&mut msg, &sig)
        } else {
            rx.verify(&msg, &sig)
        };
        match result {
            Ok(()) => {
                // Without SIGN/SEAL nothing is protected (dummy signature). In datagram mode without extended
                // session security the encrypted SeqNum field is not checked (the receiver's counter is used).
                let unchecked_seq = datagram && !ess && op == 7;
                // Without ESS the checksum is CRC32 (§3.4.4.1), not a MAC: a message with bytes appended or cut
                // can collide (e.g. CRC32(FF FF FF FF) = CRC32(FF FF FF FF 00)). Single bit flips are always caught.
                let crc_collision = !ess && (op == 5 || op == 6);
                if altered && integrity && !unchecked_seq && !crc_collision {
                    panic!("altered message accepted (op {op})");
                }
            }
            Err(e) => {
                assert_eq!(msg, sent, "a rejected sealed message was not restored");
                // The slot rule (`security::consumes_slot`): a token that claims the current slot spends it.
                let claims = match sig.get(12..16) {
                    Some(b) if sig.len() == 16 => {
                        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == rx_before.recv_seq()
                    }
                    _ => false,
                };
                let spends = matches!(
                    e,
                    SecurityError::BadSignature | SecurityError::Duplicate { .. } | SecurityError::Gap { .. }
                ) && (integrity || seal)
                    && (!ess || (!datagram && claims));
                if !spends {
                    assert_eq!(
                        state_bytes(&rx),
                        before,
                        "a rejected message that claims no slot changed the state"
                    );
                } else if msg.len() == genuine_msg.len() {
                    // Spent exactly as the genuine message would have been.
                    let mut g = rx_before.clone();
                    let mut gm = genuine_msg.clone();
                    let ok = if seal {
                        g.unseal_in_place(&mut gm, &genuine_sig)
                    } else {
                        g.verify(&gm, &genuine_sig)
                    };
                    if ok.is_ok() {
                        assert_eq!(
                            state_bytes(&rx),
                            state_bytes(&g),
                            "a rejected message did not spend its slot as the genuine one would"
                        );
                    }
                } else {
                    assert_eq!(
                        rx.recv_seq(),
                        rx_before.recv_seq().wrapping_add(1),
                        "a rejected message did not spend its SeqNum"
                    );
                }
                if !altered && integrity {
                    panic!("genuine in-order message rejected");
                }
                // Keep the two ends in step so later ops still exercise the success path.
                rx = SessionSecurity::new(flags, &key, Side::Server);
                tx = SessionSecurity::new(flags, &key, Side::Client);
            }
        }
    }
});
