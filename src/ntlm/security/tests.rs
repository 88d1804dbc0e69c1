//! Unit tests of the session security state.

use super::*;

fn pair(flags: NegotiateFlags) -> (SessionSecurity, SessionSecurity) {
    let k = Key16::new([0x42; 16]);
    (
        SessionSecurity::new(flags, &k, Side::Client),
        SessionSecurity::new(flags, &k, Side::Server),
    )
}

#[test]
fn sequence_error_classifies_by_direction() {
    assert_eq!(
        sequence_error(5, 3),
        SecurityError::Duplicate {
            expected: 5,
            got: 3
        }
    );
    assert_eq!(
        sequence_error(5, 9),
        SecurityError::Gap {
            expected: 5,
            got: 9
        }
    );
    assert_eq!(
        sequence_error(0, u32::MAX),
        SecurityError::Duplicate {
            expected: 0,
            got: u32::MAX
        }
    );
}

#[test]
fn debug_shows_no_key_material() {
    let (c, _) = pair(NegotiateFlags::SIGN | NegotiateFlags::EXTENDED_SESSIONSECURITY);
    let d = format!("{c:?}");
    assert!(d.contains("send_seq") && !d.contains("42") && !d.contains("rc4"));
}

#[test]
fn dummy_signature_without_sign_or_seal() {
    let (mut c, mut s) = pair(NegotiateFlags::ALWAYS_SIGN);
    let sig = c.sign(b"abc");
    assert_eq!(sig, DUMMY_SIGNATURE);
    assert_eq!(s.verify(b"anything", &sig), Ok(()));
    let mut bad = sig;
    bad[15] = 1;
    assert_eq!(s.verify(b"abc", &bad), Err(SecurityError::BadSignature));
}

/// Flag sets covering both digests (HMAC with extended session security, CRC32 without), key exchange
/// and datagram rekeying.
fn seal_flag_sets() -> [NegotiateFlags; 4] {
    let base = NegotiateFlags::SIGN | NegotiateFlags::SEAL;
    [
        base | NegotiateFlags::EXTENDED_SESSIONSECURITY | NegotiateFlags::KEY_EXCH,
        base | NegotiateFlags::EXTENDED_SESSIONSECURITY,
        base | NegotiateFlags::EXTENDED_SESSIONSECURITY | NegotiateFlags::DATAGRAM,
        base,
    ]
}

#[test]
fn seal_to_and_unseal_to_equal_the_in_place_forms() {
    // §3.4.3: the out-of-place (interleaved) paths must produce the same tokens and keystream positions.
    for flags in seal_flag_sets() {
        for len in [
            0usize, 1, 3, 59, 60, 61, 63, 64, 65, 123, 124, 125, 128, 200, 1000, 4099,
        ] {
            let msg: Vec<u8> = (0..len).map(|k| (k * 31 + 7) as u8).collect();
            let (mut c1, mut s1) = pair(flags);
            let (mut c2, mut s2) = pair(flags);
            for round in 0..3 {
                let mut inplace = msg.clone();
                let sig1 = c1.seal_in_place(&mut inplace);
                let mut out = vec![0u8; len];
                let sig2 = c2.seal_to(&msg, &mut out).unwrap();
                assert_eq!(
                    (sig1, &inplace),
                    (sig2, &out),
                    "seal {flags:?} len {len} round {round}"
                );
                let mut plain1 = inplace.clone();
                s1.unseal_in_place(&mut plain1, &sig1).unwrap();
                let mut plain2 = vec![0u8; len];
                s2.unseal_to(&out, &mut plain2, &sig2).unwrap();
                assert_eq!(plain1, msg);
                assert_eq!(plain2, msg, "unseal {flags:?} len {len} round {round}");
            }
            let (mut e1, mut e2) = (Vec::new(), Vec::new());
            s1.export(&mut e1);
            s2.export(&mut e2);
            assert_eq!(e1, e2, "receiver state {flags:?} len {len}");
        }
    }
}

#[test]
fn unseal_to_with_bad_signature_zeroes_output_and_spends_the_slot() {
    for flags in seal_flag_sets() {
        for len in [1usize, 64, 200, 1000] {
            let msg = vec![0x77u8; len];
            let (mut c, mut s) = pair(flags);
            let mut sealed = vec![0u8; len];
            let sig = c.seal_to(&msg, &mut sealed).unwrap();
            // What the receiver looks like after the genuine token (datagram mode re-keys per message and
            // spends nothing: there the state stays as it was).
            let mut genuine = s.clone();
            let mut out = vec![0u8; len];
            if !flags.contains(NegotiateFlags::DATAGRAM) {
                genuine.unseal_to(&sealed, &mut out, &sig).unwrap();
            }
            let mut want = Vec::new();
            genuine.export(&mut want);
            let mut tampered = sealed.clone();
            tampered[len / 2] ^= 1;
            let mut out = vec![0u8; len];
            assert_eq!(
                s.unseal_to(&tampered, &mut out, &sig),
                Err(SecurityError::BadSignature)
            );
            assert_eq!(out, vec![0u8; len], "{flags:?} len {len}");
            let mut after = Vec::new();
            s.export(&mut after);
            assert_eq!(
                want, after,
                "{flags:?} len {len}: the rejected token spends its slot"
            );
            // The sender's next genuine token verifies; the refused one replayed does not.
            let sig2 = c.seal_to(&msg, &mut sealed).unwrap();
            s.unseal_to(&sealed, &mut out, &sig2).unwrap();
            assert_eq!(out, msg);
            if !flags.contains(NegotiateFlags::DATAGRAM) {
                assert!(s.unseal_to(&sealed, &mut out, &sig2).is_err());
            }
        }
    }
}

#[test]
fn out_of_place_forms_refuse_unequal_lengths() {
    let (mut c, mut s) = pair(seal_flag_sets()[0]);
    assert_eq!(c.seal_to(b"abc", &mut [0u8; 4]), None);
    assert_eq!(c.send_seq(), 0);
    let sig = c.seal_to(b"abc", &mut [0u8; 3]).unwrap();
    assert_eq!(
        s.unseal_to(b"xyz", &mut [0u8; 2], &sig),
        Err(SecurityError::BadLength)
    );
    assert_eq!(s.recv_seq(), 0);
}

/// §3.4.3 SEAL computed the plain way, as separate passes: HMAC_MD5 (the `hmac` crate, through
/// `crypto::hmac_md5`) over SeqNum || plaintext, then RC4 over the message, then the checksum.
fn reference_seal(sec: &mut SessionSecurity, msg: &mut [u8]) -> [u8; 16] {
    let (ess, kx) = (sec.ess(), sec.key_exch());
    assert!(ess && !sec.datagram());
    let ch = &mut sec.send;
    let seq = ch.seq;
    let mac = crate::ntlm::crypto::hmac_md5(ch.sign_key.as_bytes(), &[&seq.to_le_bytes(), msg]);
    let mut d = [0u8; 8];
    d.copy_from_slice(&mac[..8]);
    ch.rc4.get().apply(msg);
    let (sig, _) = finish(ess, kx, ch, seq, d);
    ch.seq = seq.wrapping_add(1);
    sig
}

#[test]
fn interleaved_seal_equals_separate_hmac_and_rc4_passes() {
    let flags = seal_flag_sets()[0];
    for len in [0usize, 59, 60, 64, 124, 125, 191, 1000, 70_000] {
        let msg: Vec<u8> = (0..len).map(|k| (k * 13 + 1) as u8).collect();
        let (mut c, _) = pair(flags);
        let mut r = c.clone();
        for round in 0..2 {
            let (mut a, mut b) = (msg.clone(), msg.clone());
            let sa = c.seal_in_place(&mut a);
            let sb = reference_seal(&mut r, &mut b);
            assert_eq!((sa, &a), (sb, &b), "in place, len {len} round {round}");
            let mut o = vec![0u8; len];
            let mut r2 = r.clone();
            let mut c2 = c.clone();
            let so = c2.seal_to(&msg, &mut o).unwrap();
            let mut b2 = msg.clone();
            let sb2 = reference_seal(&mut r2, &mut b2);
            assert_eq!(
                (so, &o),
                (sb2, &b2),
                "out of place, len {len} round {round}"
            );
        }
    }
}

#[test]
fn every_signature_bit_counts_and_a_refused_token_spends_only_the_slot_it_claims() {
    let msg = b"\x30\x0c\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a";
    let base = NegotiateFlags::SIGN | NegotiateFlags::EXTENDED_SESSIONSECURITY;
    let mut flag_sets = seal_flag_sets().to_vec();
    flag_sets.push(base | NegotiateFlags::KEY_EXCH);
    flag_sets.push(base);
    for flags in flag_sets {
        let (ess, dg) = (
            flags.contains(NegotiateFlags::EXTENDED_SESSIONSECURITY),
            flags.contains(NegotiateFlags::DATAGRAM),
        );
        let (mut c, s) = pair(flags);
        let sig = c.sign(msg);
        let mut genuine = s.clone();
        genuine.verify(msg, &sig).unwrap();
        let state = |x: &SessionSecurity| {
            let mut v = Vec::new();
            x.export(&mut v);
            v
        };
        for byte in 4..16 {
            for bit in 0..8 {
                let mut bad = sig;
                bad[byte] ^= 1 << bit;
                let mut r = s.clone();
                assert!(
                    r.verify(msg, &bad).is_err(),
                    "{flags:?} byte {byte} bit {bit}"
                );
                // With extended session security the SeqNum (bytes 12..16) is in clear: a changed one claims
                // another slot and spends nothing; in datagram mode nothing is ever spent.
                let claims = !ess || (!dg && byte < 12);
                let want = if claims { &genuine } else { &s };
                assert_eq!(state(&r), state(want), "{flags:?} byte {byte} bit {bit}");
            }
        }
    }
}

#[test]
fn a_reset_handle_exports_and_runs_from_the_start_of_its_keystream() {
    let flags = seal_flag_sets()[0];
    let msg = b"\x30\x0c\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a";
    let (mut c, mut s) = pair(flags);
    let (mut fresh, _) = pair(flags);
    let sig = c.sign(msg);
    s.verify(msg, &sig).unwrap();
    c.reset_rc4(false);
    s.reset_rc4(true);
    // The reset state is the fresh one with the sequence number moved on, exported as such.
    fresh.set_seq(1, 0);
    let state = |x: &SessionSecurity| {
        let mut v = Vec::new();
        x.export(&mut v);
        v
    };
    assert_eq!(state(&c), state(&fresh));
    // Imported or not, it runs from the start: both ends stay in step, and an import signs as the original.
    let mut imported = SessionSecurity::import(&state(&c)).unwrap();
    let mut m = b"after the reset".to_vec();
    let mut m2 = m.clone();
    let sig = c.seal_in_place(&mut m);
    assert_eq!(imported.seal_in_place(&mut m2), sig);
    assert_eq!(m, m2);
    s.unseal_in_place(&mut m, &sig).unwrap();
    assert_eq!(m, b"after the reset");
}

#[test]
fn primed_checksums_give_the_signatures_computed_at_use() {
    // `prime` only moves MD5 work earlier: every signature made and every verdict given must be what the
    // unprimed state gives, whatever happens between priming and use.
    let mut flag_sets = seal_flag_sets().to_vec();
    flag_sets.push(NegotiateFlags::SIGN | NegotiateFlags::EXTENDED_SESSIONSECURITY);
    let list = b"\x30\x0c\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a";
    for flags in flag_sets {
        for len in [0usize, 1, 14, 50, 51, 52, 80] {
            let msg: Vec<u8> = list.iter().copied().cycle().take(len).collect();
            let other: Vec<u8> = msg.iter().map(|b| b ^ 1).collect();
            // 0: as SPNEGO does; 1: a reset of both handles in between; 2: another message signed first;
            // 3: the sequence numbers set back after use; 4: a forged peer signature first.
            for case in 0..5 {
                let (mut c, mut s) = pair(flags);
                let (mut c0, mut s0) = pair(flags);
                c.prime(&msg);
                s.prime(&msg);
                match case {
                    1 => {
                        for x in [&mut c, &mut s, &mut c0, &mut s0] {
                            x.reset_rc4(true);
                            x.reset_rc4(false);
                        }
                    }
                    2 => {
                        let (sig, sig0) = (c.sign(&other), c0.sign(&other));
                        assert_eq!(sig, sig0);
                        assert_eq!(s.verify(&other, &sig), Ok(()));
                        assert_eq!(s0.verify(&other, &sig0), Ok(()));
                    }
                    4 => {
                        let mut forged = c0.clone().sign(&msg);
                        forged[5] ^= 0x40;
                        assert_eq!(
                            s.clone().verify(&msg, &forged),
                            s0.clone().verify(&msg, &forged)
                        );
                    }
                    _ => {}
                }
                let (sig_c, sig_c0) = (c.sign(&msg), c0.sign(&msg));
                assert_eq!(sig_c, sig_c0, "{flags:?} len {len} case {case}");
                assert_eq!(s.verify(&msg, &sig_c), s0.verify(&msg, &sig_c0));
                let (sig_s, sig_s0) = (s.sign(&msg), s0.sign(&msg));
                assert_eq!(sig_s, sig_s0, "{flags:?} len {len} case {case}");
                assert_eq!(c.verify(&msg, &sig_s), c0.verify(&msg, &sig_s0));
                if case == 3 {
                    // A primed checksum is used once; after the counters go back the same signatures come
                    // from MD5 again.
                    for x in [&mut c, &mut s, &mut c0, &mut s0] {
                        x.set_seq(0, 0);
                    }
                    assert_eq!(c.sign(&msg), c0.sign(&msg));
                    assert_eq!(s.sign(&msg), s0.sign(&msg));
                }
            }
        }
    }
}
