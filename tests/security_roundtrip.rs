//! Session security (MS-NLMP §3.4) between a client and a server built from the same ExportedSessionKey:
//! sign/verify and seal/unseal both ways over the flag matrix, rejection of tampered, replayed and reordered
//! messages, datagram mode, export/import in the middle of a stream, and reset_rc4.

use gss_negotiate::ntlm::crypto::{md5, rc4k, sealkey, sealkey_len, Side};
use gss_negotiate::ntlm::flags::NegotiateFlags as F;
use gss_negotiate::ntlm::secret::Key16;
use gss_negotiate::ntlm::security::{SecurityError, SessionSecurity};

fn session_key() -> Key16 {
    let mut k = [0u8; 16];
    for (i, b) in k.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    Key16::new(k)
}

#[derive(Clone, Copy, Debug)]
struct Combo {
    ess: bool,
    key_exch: bool,
    bits: u32,
    datagram: bool,
    lm_key: bool,
}

impl Combo {
    fn flags(self) -> F {
        let mut f = F::SIGN | F::SEAL | F::NTLM | F::ALWAYS_SIGN | F::UNICODE;
        f.set(F::EXTENDED_SESSIONSECURITY, self.ess);
        f.set(F::KEY_EXCH, self.key_exch);
        f.set(F::KEY_128, self.bits == 128);
        f.set(F::KEY_56, self.bits == 56);
        f.set(F::DATAGRAM, self.datagram);
        f.set(F::LM_KEY, self.lm_key);
        f
    }
}

fn all_combos() -> Vec<Combo> {
    let mut v = Vec::new();
    for ess in [false, true] {
        for key_exch in [false, true] {
            for bits in [128, 56, 40] {
                for datagram in [false, true] {
                    for lm_key in [false, true] {
                        if ess && lm_key {
                            continue; // LM_KEY is ignored with extended session security (§3.4.5.3)
                        }
                        v.push(Combo {
                            ess,
                            key_exch,
                            bits,
                            datagram,
                            lm_key,
                        });
                    }
                }
            }
        }
    }
    v
}

fn pair(f: F) -> (SessionSecurity, SessionSecurity) {
    let k = session_key();
    (
        SessionSecurity::new(f, &k, Side::Client),
        SessionSecurity::new(f, &k, Side::Server),
    )
}

fn message(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ salt).collect()
}

/// One wrap from `a` to `b`, checked.
fn wrap(a: &mut SessionSecurity, b: &mut SessionSecurity, msg: &[u8], ctx: &str) {
    let mut buf = msg.to_vec();
    let sig = a.seal_in_place(&mut buf);
    if msg.len() >= 8 {
        assert_ne!(buf, msg, "{ctx}: sealing left the message in clear");
    }
    b.unseal_in_place(&mut buf, &sig)
        .unwrap_or_else(|e| panic!("{ctx}: unseal failed: {e}"));
    assert_eq!(buf, msg, "{ctx}: unseal gave other bytes");
}

/// One MIC from `a` to `b`, checked.
fn mic(a: &mut SessionSecurity, b: &mut SessionSecurity, msg: &[u8], ctx: &str) {
    let sig = a.sign(msg);
    b.verify(msg, &sig)
        .unwrap_or_else(|e| panic!("{ctx}: verify failed: {e}"));
}

#[test]
fn sign_and_seal_round_trip_both_ways_over_the_flag_matrix() {
    for c in all_combos() {
        let (mut cl, mut sv) = pair(c.flags());
        for (n, len) in [0usize, 1, 65536, 17, 0].into_iter().enumerate() {
            let ctx = format!("{c:?} len {len}");
            let m = message(len, n as u8);
            wrap(&mut cl, &mut sv, &m, &ctx);
            wrap(&mut sv, &mut cl, &m, &ctx);
            mic(&mut cl, &mut sv, &m, &ctx);
            mic(&mut sv, &mut cl, &m, &ctx);
        }
        assert_eq!(cl.send_seq(), sv.recv_seq(), "{c:?}");
        assert_eq!(sv.send_seq(), cl.recv_seq(), "{c:?}");
    }
}

#[test]
fn ess_directions_are_independent_full_duplex() {
    // With extended session security each direction has its own keys and handle (§3.4.5): both ends can
    // send several messages before reading the other's.
    for c in all_combos().into_iter().filter(|c| c.ess) {
        let (mut cl, mut sv) = pair(c.flags());
        let a: Vec<_> = (0..3u8)
            .map(|i| {
                let mut m = message(40, i);
                let s = cl.seal_in_place(&mut m);
                (m, s)
            })
            .collect();
        let b: Vec<_> = (0..3u8)
            .map(|i| (message(9, i), sv.sign(&message(9, i))))
            .collect();
        for (m, s) in &b {
            cl.verify(m, s).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
        for (i, (m, s)) in a.into_iter().enumerate() {
            let mut m = m;
            sv.unseal_in_place(&mut m, &s)
                .unwrap_or_else(|e| panic!("{c:?}: {e}"));
            assert_eq!(m, message(40, i as u8));
        }
    }
}

#[test]
fn client_and_server_signatures_differ_with_ess() {
    let f = Combo {
        ess: true,
        key_exch: true,
        bits: 128,
        datagram: false,
        lm_key: false,
    }
    .flags();
    let (mut cl, mut sv) = pair(f);
    assert_ne!(cl.sign(b"same"), sv.sign(b"same"));
    // A server cannot verify its own signature as if it came from the client.
    let (_, mut sv2) = pair(f);
    let own = sv2.sign(b"x");
    let (_, mut sv3) = pair(f);
    assert_eq!(sv3.verify(b"x", &own), Err(SecurityError::BadSignature));
}

fn exported(s: &SessionSecurity) -> Vec<u8> {
    let mut v = Vec::new();
    s.export(&mut v);
    v
}

/// Issue 10, defect 2: a refused token in the middle of a stream must not break it. Like gss-ntlmssp, Samba
/// (`ntlmssp_check_packet`), pyspnego and .NET's managed NTLM, the receiver spends the slot of a refused token that
/// claims it (its SeqNum and keystream), so the sender's next genuine token verifies; the refused token's genuine
/// original, arriving late, is refused too.
#[test]
fn tampered_token_is_rejected_and_spends_its_slot_so_the_next_genuine_one_verifies() {
    for c in all_combos() {
        let (mut cl, mut sv) = pair(c.flags());
        // A few genuine ones first, so the tampered one sits in the middle of the stream.
        for i in 0..3u8 {
            mic(&mut cl, &mut sv, &message(30, i), &format!("{c:?} warm-up"));
        }
        let m = message(100, 3);

        // Tampered signed message.
        let sig = cl.sign(&m);
        let mut bad = m.clone();
        bad[50] ^= 1;
        assert_eq!(
            sv.verify(&bad, &sig),
            Err(SecurityError::BadSignature),
            "{c:?}"
        );
        if c.ess && !c.datagram {
            // The late original finds its slot spent and is refused; its SeqNum (in clear) is not the current
            // one, so it spends nothing itself. (Without ESS it would take the next slot: see the replay test.)
            assert!(sv.verify(&m, &sig).is_err(), "{c:?}: late original");
        }
        mic(
            &mut cl,
            &mut sv,
            &m,
            &format!("{c:?}: next genuine MIC after a tampered one"),
        );

        // Tampered checksum byte.
        let mut bad_sig = cl.sign(&m);
        bad_sig[9] ^= 0x80;
        assert_eq!(
            sv.verify(&m, &bad_sig),
            Err(SecurityError::BadSignature),
            "{c:?}"
        );
        mic(
            &mut cl,
            &mut sv,
            &m,
            &format!("{c:?}: next genuine MIC after a bad checksum"),
        );

        // Tampered sealed message: rejected, buffer back to the ciphertext, the next genuine one unseals.
        let mut buf = m.clone();
        let sig = sv.seal_in_place(&mut buf);
        let mut bad = buf.clone();
        bad[0] ^= 4;
        let before = bad.clone();
        assert_eq!(
            cl.unseal_in_place(&mut bad, &sig),
            Err(SecurityError::BadSignature),
            "{c:?}"
        );
        assert_eq!(
            bad, before,
            "{c:?}: failed unseal must restore the ciphertext"
        );
        wrap(
            &mut sv,
            &mut cl,
            &m,
            &format!("{c:?}: next genuine wrap after a tampered one"),
        );
        wrap(
            &mut cl,
            &mut sv,
            &m,
            &format!("{c:?}: the other direction still works"),
        );
    }
}

#[test]
fn with_ess_a_token_with_another_seqnum_leaves_the_state_untouched() {
    // A token that claims another slot than the current one (its SeqNum travels in clear with ESS) is refused
    // without spending anything, whatever its MAC: a forged or replayed token cannot push the receiver ahead.
    for c in all_combos().into_iter().filter(|c| c.ess && !c.datagram) {
        let (mut cl, mut sv) = pair(c.flags());
        mic(&mut cl, &mut sv, b"zero", &format!("{c:?}"));
        let m = message(40, 1);
        let mut sig = cl.sign(&m);
        let genuine = sig;
        for forged_seq in [0u32, 2, 7, u32::MAX] {
            sig[12..].copy_from_slice(&forged_seq.to_le_bytes());
            let before = exported(&sv);
            assert!(sv.verify(&m, &sig).is_err(), "{c:?} seq {forged_seq}");
            assert_eq!(exported(&sv), before, "{c:?} seq {forged_seq}: state moved");
        }
        sv.verify(&m, &genuine)
            .unwrap_or_else(|e| panic!("{c:?}: genuine after forged SeqNums: {e}"));
    }
}

#[test]
fn malformed_signatures_are_rejected_by_shape() {
    for c in all_combos() {
        let (mut cl, mut sv) = pair(c.flags());
        let sig = cl.sign(b"m");
        assert_eq!(sv.verify(b"m", &sig[..15]), Err(SecurityError::BadLength));
        let mut long = sig.to_vec();
        long.push(0);
        assert_eq!(sv.verify(b"m", &long), Err(SecurityError::BadLength));
        assert_eq!(sv.verify(b"m", &[]), Err(SecurityError::BadLength));
        let mut v2 = sig;
        v2[0] = 2;
        assert_eq!(sv.verify(b"m", &v2), Err(SecurityError::BadVersion));
        let mut buf = *b"m";
        assert_eq!(
            sv.unseal_in_place(&mut buf, &v2),
            Err(SecurityError::BadVersion)
        );
        sv.verify(b"m", &sig).unwrap();
    }
}

#[test]
fn replayed_message_is_rejected_in_connection_mode() {
    for c in all_combos().into_iter().filter(|c| !c.datagram) {
        let (mut cl, mut sv) = pair(c.flags());
        let sig = cl.sign(b"pay 100");
        sv.verify(b"pay 100", &sig).unwrap();
        let before = exported(&sv);
        let err = sv.verify(b"pay 100", &sig).unwrap_err();
        if c.ess && !c.key_exch {
            // Checksum in clear: the MAC is authentic, the SeqNum is old.
            assert_eq!(
                err,
                SecurityError::Duplicate {
                    expected: 1,
                    got: 0
                },
                "{c:?}"
            );
        } else {
            // The checksum went through RC4 at a keystream position that has passed.
            assert_eq!(err, SecurityError::BadSignature, "{c:?}");
        }
        if c.ess {
            // Its SeqNum (in clear) is not the current one: the replay spends nothing, the stream goes on.
            assert_eq!(exported(&sv), before, "{c:?}");
            mic(
                &mut cl,
                &mut sv,
                b"pay 5",
                &format!("{c:?}: after a replay"),
            );
        } else {
            // Without ESS the SeqNum is encrypted and every token claims the current slot: the replay spends
            // one the sender never used (as at gss-ntlmssp, Samba, pyspnego, .NET), which leaves the receiver a
            // slot ahead: an injected token breaks an NTLMv1 stream. NTLMv1 is off by default (SECURITY.md).
            assert_eq!(sv.recv_seq(), cl.send_seq() + 1, "{c:?}");
            let lost = cl.sign(b"lost");
            assert!(sv.verify(b"lost", &lost).is_err(), "{c:?}");
            (cl, sv) = pair(c.flags());
        }
        // Sealed replay: refused.
        let mut buf = b"secret".to_vec();
        let sig = cl.seal_in_place(&mut buf);
        let copy = buf.clone();
        sv.unseal_in_place(&mut buf, &sig).unwrap();
        let mut again = copy;
        assert!(sv.unseal_in_place(&mut again, &sig).is_err(), "{c:?}");
    }
}

#[test]
fn reordered_messages_are_rejected_then_the_stream_goes_on() {
    for c in all_combos().into_iter().filter(|c| !c.datagram) {
        let (mut cl, mut sv) = pair(c.flags());
        let s0 = cl.sign(b"first");
        let s1 = cl.sign(b"second");
        let err = sv.verify(b"second", &s1).unwrap_err();
        if c.ess && !c.key_exch {
            assert_eq!(
                err,
                SecurityError::Gap {
                    expected: 0,
                    got: 1
                },
                "{c:?}"
            );
        } else {
            assert_eq!(err, SecurityError::BadSignature, "{c:?}");
        }
        if c.ess {
            // An early token (another SeqNum) spends nothing: in order, both pass.
            sv.verify(b"first", &s0)
                .unwrap_or_else(|e| panic!("{c:?}: {e}"));
            sv.verify(b"second", &s1)
                .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        } else {
            // Without ESS the early token took slot 0 and the late one slot 1: both refused, the next in line
            // verifies.
            assert!(sv.verify(b"first", &s0).is_err(), "{c:?}");
            mic(&mut cl, &mut sv, b"third", &format!("{c:?}"));
        }
    }
}

#[test]
fn ntlmv1_seqnum_is_recovered_from_the_encrypted_field() {
    // Without ESS the SeqNum field is RC4(0) XOR SeqNum (§3.4.4.1). Flipping its bits yields a signature whose
    // CRC32 still decrypts correctly but whose SeqNum is off: reported as a sequence error with the value. It
    // spent slot 0, so the sender's next message verifies.
    let f = Combo {
        ess: false,
        key_exch: true,
        bits: 128,
        datagram: false,
        lm_key: false,
    }
    .flags();
    let (mut cl, mut sv) = pair(f);
    let mut sig = cl.sign(b"m");
    sig[12] ^= 0x05;
    assert_eq!(
        sv.verify(b"m", &sig),
        Err(SecurityError::Gap {
            expected: 0,
            got: 5
        })
    );
    assert_eq!(sv.recv_seq(), 1);
    mic(&mut cl, &mut sv, b"n", "after the altered SeqNum");
}

#[test]
fn ntlmv1_uses_one_counter_for_both_directions() {
    // §3.4: without ESS one key and handle serve both directions (half duplex); so does the sequence number.
    let f = Combo {
        ess: false,
        key_exch: false,
        bits: 128,
        datagram: false,
        lm_key: false,
    }
    .flags();
    let (mut cl, mut sv) = pair(f);
    mic(&mut cl, &mut sv, b"a", "c->s");
    assert_eq!((cl.send_seq(), cl.recv_seq()), (1, 1));
    mic(&mut sv, &mut cl, b"b", "s->c");
    assert_eq!((sv.send_seq(), sv.recv_seq()), (2, 2));
    cl.set_seq(7, 99);
    assert_eq!((cl.send_seq(), cl.recv_seq()), (7, 7));
}

#[test]
fn datagram_ess_reads_seqnum_from_signature_and_accepts_any_order() {
    for c in all_combos().into_iter().filter(|c| c.datagram && c.ess) {
        let (mut cl, mut sv) = pair(c.flags());
        cl.set_seq(1000, 0);
        let mut a = b"alpha".to_vec();
        let sa = cl.seal_in_place(&mut a);
        let sb = cl.sign(b"beta");
        assert_eq!(&sa[12..], &1000u32.to_le_bytes());
        assert_eq!(&sb[12..], &1001u32.to_le_bytes());
        sv.verify(b"beta", &sb)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        sv.unseal_in_place(&mut a, &sa)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(a, b"alpha");
        // A lost message does not break later ones.
        let _lost = cl.sign(b"lost");
        let sd = cl.sign(b"delta");
        sv.verify(b"delta", &sd)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        // The SeqNum is covered by the MAC.
        let mut forged = sd;
        forged[12] ^= 1;
        assert_eq!(
            sv.verify(b"delta", &forged),
            Err(SecurityError::BadSignature),
            "{c:?}"
        );
    }
}

#[test]
fn datagram_rekeys_rc4_with_md5_of_sealkey_and_seqnum() {
    // MS-NLMP §3.4: in connectionless mode SealingKey' = MD5(SealingKey || SeqNum) re-initialises the handle
    // before each message; the sealed bytes are RC4K(SealingKey', plaintext).
    for c in all_combos().into_iter().filter(|c| c.datagram) {
        let f = c.flags();
        let k = session_key();
        let mut cl = SessionSecurity::new(f, &k, Side::Client);
        let _ = cl.sign(b"advance the stream");
        cl.set_seq(42, 0);
        let mut buf = message(33, 9);
        let _ = cl.seal_in_place(&mut buf);
        let sk = sealkey(f, &k, Side::Client);
        let per_msg = md5(&[&sk.as_bytes()[..sealkey_len(f)], &42u32.to_le_bytes()]);
        assert_eq!(buf, rc4k(&per_msg, &message(33, 9)), "{c:?}");
    }
}

#[test]
fn datagram_v1_round_trips_with_counters_in_step() {
    for c in all_combos().into_iter().filter(|c| c.datagram && !c.ess) {
        let (mut cl, mut sv) = pair(c.flags());
        cl.set_seq(5, 5);
        sv.set_seq(5, 5);
        wrap(&mut cl, &mut sv, b"one", "dg v1");
        mic(&mut sv, &mut cl, b"two", "dg v1");
        assert_eq!((cl.send_seq(), sv.send_seq()), (7, 7));
    }
}

#[test]
fn export_import_mid_stream_continues_the_same_streams() {
    for c in all_combos() {
        let (mut cl, mut sv) = pair(c.flags());
        for i in 0..3u8 {
            wrap(&mut cl, &mut sv, &message(20 + usize::from(i), i), "before");
            mic(&mut sv, &mut cl, &message(5, i), "before");
        }
        let mut blob_c = Vec::new();
        cl.export(&mut blob_c);
        let mut blob_s = Vec::new();
        sv.export(&mut blob_s);
        let mut cl2 = SessionSecurity::import(&blob_c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let mut sv2 = SessionSecurity::import(&blob_s).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        // Exporting the import gives the same bytes.
        let mut again = Vec::new();
        cl2.export(&mut again);
        assert_eq!(again, blob_c);
        // Imported state talks to the original peer and to the other imported state alike.
        let mut probe = sv.clone();
        wrap(&mut cl2, &mut probe, b"after export", &format!("{c:?}"));
        wrap(&mut cl, &mut sv2, b"after export", &format!("{c:?}"));
        assert_eq!(cl2.send_seq(), cl.send_seq());
        assert_eq!(sv2.recv_seq(), probe.recv_seq());
        mic(&mut sv2, &mut cl, b"mic after", &format!("{c:?}"));
    }
}

#[test]
fn import_rejects_truncated_extended_and_corrupt_blobs() {
    let f = Combo {
        ess: true,
        key_exch: true,
        bits: 128,
        datagram: false,
        lm_key: false,
    }
    .flags();
    let (cl, _) = pair(f);
    let mut blob = Vec::new();
    cl.export(&mut blob);
    for n in 0..blob.len() {
        assert!(
            SessionSecurity::import(&blob[..n]).is_err(),
            "prefix {n} accepted"
        );
    }
    let mut long = blob.clone();
    long.push(0);
    assert!(SessionSecurity::import(&long).is_err());

    let corrupt = |at: usize, v: u8| {
        let mut b = blob.clone();
        b[at] = v;
        SessionSecurity::import(&b)
    };
    assert_eq!(
        corrupt(0, b'X').unwrap_err(),
        SecurityError::BadExport("bad magic")
    );
    assert_eq!(
        corrupt(4, 2).unwrap_err(),
        SecurityError::BadExport("unsupported version")
    );
    assert_eq!(
        corrupt(9, 2).unwrap_err(),
        SecurityError::BadExport("bad side")
    );
    // First channel: sign key at 10, seal key at 26, seal length at 42, RC4 state at 43.
    assert!(matches!(corrupt(42, 8), Err(SecurityError::BadExport(_))));
    let rc4_at = 43;
    let dup = blob[rc4_at + 1];
    assert_eq!(
        corrupt(rc4_at, dup).unwrap_err(),
        SecurityError::BadExport("bad RC4 state")
    );
    // Flags that make the sealing key length 8 do not match a 16-byte key.
    let mut b = blob.clone();
    b[5..9].copy_from_slice(&(F::DATAGRAM | F::SIGN).bits().to_le_bytes());
    assert!(SessionSecurity::import(&b).is_err());
}

#[test]
fn import_never_panics_on_pseudo_random_bytes() {
    let f = Combo {
        ess: false,
        key_exch: false,
        bits: 40,
        datagram: true,
        lm_key: true,
    }
    .flags();
    let (cl, _) = pair(f);
    let mut blob = Vec::new();
    cl.export(&mut blob);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut b = blob.clone();
        let at = (x as usize) % b.len();
        b[at] ^= (x >> 32) as u8 | 1;
        if round % 2 == 0 {
            b.truncate((x >> 40) as usize % (b.len() + 1));
        }
        let _ = SessionSecurity::import(&b);
        let garbage: Vec<u8> = (0..(x % 700) as usize)
            .map(|i| (x >> (i % 56)) as u8)
            .collect();
        assert!(SessionSecurity::import(&garbage).is_err() || garbage.len() == blob.len());
    }
}

#[test]
fn reset_rc4_as_mit_spnego_calls_it_keeps_both_ends_in_step() {
    // MIT SPNEGO after the mechListMIC: initiator get_mic → reset(send); acceptor verify → reset(recv);
    // acceptor get_mic → reset(send); initiator verify → reset(recv). Traffic continues both ways.
    for c in all_combos().into_iter().filter(|c| !c.datagram) {
        let (mut cl, mut sv) = pair(c.flags());
        wrap(&mut cl, &mut sv, b"some traffic first", "pre");
        let m = cl.sign(b"mechList");
        cl.reset_rc4(false);
        sv.verify(b"mechList", &m)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        sv.reset_rc4(true);
        let m = sv.sign(b"mechList");
        sv.reset_rc4(false);
        cl.verify(b"mechList", &m)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        cl.reset_rc4(true);
        wrap(&mut cl, &mut sv, b"after reset", &format!("{c:?}"));
        wrap(&mut sv, &mut cl, b"after reset", &format!("{c:?}"));
    }
}

#[test]
fn reset_rc4_restarts_the_keystream_but_keeps_sequence_numbers() {
    for c in all_combos().into_iter().filter(|c| !c.datagram) {
        let f = c.flags();
        let (mut cl, _) = pair(f);
        for _ in 0..3 {
            let _ = cl.sign(b"x");
        }
        cl.reset_rc4(false);
        assert_eq!(cl.send_seq(), 3);
        let after = cl.sign(b"probe");
        let (mut fresh, _) = pair(f);
        fresh.set_seq(3, 3);
        assert_eq!(after, fresh.sign(b"probe"), "{c:?}");
    }
}

#[test]
fn reset_rc4_on_one_side_only_breaks_rc4_protected_traffic() {
    let f = Combo {
        ess: true,
        key_exch: true,
        bits: 128,
        datagram: false,
        lm_key: false,
    }
    .flags();
    let (mut cl, mut sv) = pair(f);
    mic(&mut cl, &mut sv, b"1", "pre");
    cl.reset_rc4(false);
    let s = cl.sign(b"2");
    assert_eq!(sv.verify(b"2", &s), Err(SecurityError::BadSignature));
    // ESS: resetting the receive handle leaves the send handle alone.
    let (mut cl, mut sv) = pair(f);
    mic(&mut cl, &mut sv, b"1", "pre");
    cl.reset_rc4(true);
    mic(
        &mut cl,
        &mut sv,
        b"2",
        "send handle untouched by reset(recv)",
    );
}

#[test]
fn without_sign_or_seal_mic_is_the_dummy_signature_and_reset_is_a_no_op() {
    let f = F::NTLM | F::ALWAYS_SIGN | F::EXTENDED_SESSIONSECURITY | F::KEY_128;
    let (mut cl, mut sv) = pair(f);
    let s = cl.sign(b"anything");
    let mut dummy = [0u8; 16];
    dummy[0] = 1;
    assert_eq!(s, dummy);
    sv.verify(b"other", &s).unwrap();
    assert_eq!(cl.send_seq(), 0);
    // Sealing still works with the keys; reset_rc4 does nothing (as gss-ntlmssp).
    let mut a = cl.clone();
    a.reset_rc4(false);
    let (mut x, mut y) = (b"abc".to_vec(), b"abc".to_vec());
    let sig_x = a.seal_in_place(&mut x);
    let sig_y = cl.seal_in_place(&mut y);
    assert_eq!((x.clone(), sig_x), (y, sig_y));
    sv.unseal_in_place(&mut x, &sig_x).unwrap();
}

#[test]
fn sequence_numbers_wrap_at_u32_max() {
    let f = Combo {
        ess: true,
        key_exch: false,
        bits: 128,
        datagram: false,
        lm_key: false,
    }
    .flags();
    let (mut cl, mut sv) = pair(f);
    cl.set_seq(u32::MAX, 0);
    sv.set_seq(0, u32::MAX);
    mic(&mut cl, &mut sv, b"last", "max");
    mic(&mut cl, &mut sv, b"wrapped", "wrapped");
    assert_eq!(sv.recv_seq(), 1);
}
