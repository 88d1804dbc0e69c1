//! The single-core limit of NTLM sealing (issue 7): MD5, HMAC-MD5 and our RC4 on 1 MiB, the throughput a
//! seal+unseal pair could reach if it did nothing but those primitives, and what the core's
//! `SessionSecurity::seal_in_place` + `unseal_in_place` (the IOV path) and `seal_to` + `unseal_to` (the
//! `gss_wrap`/`gss_unwrap` path, which runs MD5 interleaved with RC4, `ntlm::bulk`) actually reach.
//!
//! Run: `cargo bench --bench primitives` (options after `--`: `--quick`, `--rounds N`). Plain harness: every
//! figure is the median of `rounds` runs, the runs of the different figures alternating. Under `cargo test`
//! (no `--bench` argument) it runs once in quick mode, to keep it working.

use std::time::Instant;

use gss_negotiate::ntlm::bulk::{HmacMd5, Md5};
use gss_negotiate::ntlm::crypto::Side;
use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::rc4::Rc4;
use gss_negotiate::ntlm::secret::Key16;
use gss_negotiate::ntlm::security::SessionSecurity;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nanoseconds per call of `f`, repeated until `secs` elapsed.
fn ns_per_call(secs: f64, mut f: impl FnMut()) -> f64 {
    let t0 = Instant::now();
    let mut n = 0u64;
    loop {
        f();
        n += 1;
        let el = t0.elapsed().as_secs_f64();
        if el >= secs {
            return el * 1e9 / n as f64;
        }
    }
}

/// MiB/s of `f` over `bytes` per call, repeated until `secs` elapsed.
fn mibs(bytes: usize, secs: f64, f: impl FnMut()) -> f64 {
    bytes as f64 * 1e9 / ns_per_call(secs, f) / (1024.0 * 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 7 });
    let secs = if quick { 0.02 } else { 0.25 };
    const LEN: usize = 1 << 20;
    let data: Vec<u8> = (0..LEN).map(|i| (i * 131 + 7) as u8).collect();
    let mut buf = data.clone();
    let key = Key16::new([0x42; 16]);
    let flags = NegotiateFlags::SIGN
        | NegotiateFlags::SEAL
        | NegotiateFlags::EXTENDED_SESSIONSECURITY
        | NegotiateFlags::KEY_128
        | NegotiateFlags::KEY_EXCH;
    let mut client = SessionSecurity::new(flags, &key, Side::Client);
    let mut server = SessionSecurity::new(flags, &key, Side::Server);
    let mut rc4 = Rc4::new(&[7u8; 16]);

    let (mut m, mut h, mut r, mut p) = (vec![], vec![], vec![], vec![]);
    let (mut bm, mut bh, mut f, mut q) = (vec![], vec![], vec![], vec![]);
    let (mut ks1, mut ks2) = (vec![], vec![]);
    let mut out = vec![0u8; LEN];
    let mut back = vec![0u8; LEN];
    let mut sink = 0u8;
    for _ in 0..rounds {
        // The RustCrypto crates, for comparison (the core itself uses ntlm::bulk: its states are wiped).
        m.push(mibs(LEN, secs, || {
            sink ^= <md5::Md5 as md5::Digest>::digest(&data)[0]
        }));
        h.push(mibs(LEN, secs, || {
            let mut mac = <hmac::Hmac<md5::Md5> as hmac::Mac>::new_from_slice(&[1u8; 16])
                .expect("any key length");
            hmac::Mac::update(&mut mac, &[0u8; 4]);
            hmac::Mac::update(&mut mac, &data);
            sink ^= hmac::Mac::finalize(mac).into_bytes()[0]
        }));
        r.push(mibs(LEN, secs, || rc4.apply(&mut buf)));
        // The two sealing handles of a context (SessionSecurity::new): one schedule after the other, or side by
        // side. Each key depends on the last result, so that calls do not overlap either.
        let mut k = [sink; 16];
        ks1.push(ns_per_call(secs, || {
            let (a, b) = (Rc4::new(&k), Rc4::new(&[k[0] ^ 1; 16]));
            k[0] = a.to_bytes()[7] ^ b.to_bytes()[9];
        }));
        ks2.push(ns_per_call(secs, || {
            let (a, b) = Rc4::new_pair(&k, &[k[0] ^ 1; 16]);
            k[0] = a.to_bytes()[7] ^ b.to_bytes()[9];
        }));
        sink ^= k[0];
        bm.push(mibs(LEN, secs, || {
            let mut x = Md5::new();
            x.update(&data);
            sink ^= x.finalize()[0]
        }));
        bh.push(mibs(LEN, secs, || {
            let mut x = HmacMd5::new(&[1u8; 16]);
            x.update(&[0u8; 4]);
            x.update(&data);
            sink ^= x.finalize()[0]
        }));
        // HMAC-MD5 over the message interleaved with RC4 over it (what seal_to does per byte).
        f.push(mibs(LEN, secs, || {
            let mut x = HmacMd5::new(&[1u8; 16]);
            x.update(&[0u8; 4]); // SeqNum: the message then starts 4 bytes into a block
            x.update(&data[..60]);
            let n = 64 * x.update_blocks_with_rc4(&data[60..], &mut rc4, &data, &mut out);
            x.update(&data[60 + n..]);
            rc4.apply_to(&data[n..], &mut out[n..]);
            sink ^= x.finalize()[0] ^ out[7]
        }));
        q.push(mibs(LEN, secs, || {
            let sig = client
                .seal_to(&data, &mut out)
                .unwrap_or_else(|| panic!("seal_to failed"));
            if server.unseal_to(&out, &mut back, &sig).is_err() {
                panic!("unseal_to failed");
            }
        }));
        p.push(mibs(LEN, secs, || {
            let sig = client.seal_in_place(&mut buf);
            if server.unseal_in_place(&mut buf, &sig).is_err() {
                panic!("unseal failed");
            }
        }));
    }
    let (m, h, r, p) = (median(m), median(h), median(r), median(p));
    let (bm, bh, f, q) = (median(bm), median(bh), median(f), median(q));
    let (ks1, ks2) = (median(ks1), median(ks2));
    // A seal and an unseal each run HMAC-MD5 and RC4 over the message once: one after the other with the
    // fastest of each (the limit for separate passes), or interleaved.
    let limit = 1.0 / (2.0 / h.max(bh) + 2.0 / r);
    let fused_limit = f / 2.0;
    println!("primitives on 1 MiB, single core, median of {rounds} (sink {sink})");
    println!("  MD5 (md-5 crate)                  {m:8.1} MiB/s");
    println!("  MD5 (ntlm::bulk)                  {bm:8.1} MiB/s");
    println!("  HMAC-MD5 (hmac + md-5 crates)     {h:8.1} MiB/s");
    println!("  HMAC-MD5 (ntlm::bulk)             {bh:8.1} MiB/s");
    println!("  RC4 (ntlm::rc4)                   {r:8.1} MiB/s");
    println!("  HMAC-MD5 + RC4 interleaved        {f:8.1} MiB/s (both over the message)");
    println!("  RC4 key schedule, two in a row    {ks1:8.0} ns (a context's two sealing handles)");
    println!("  RC4 key schedule, two side by side {ks2:7.0} ns (Rc4::new_pair)");
    println!("  limit of seal+unseal, separate passes (2 HMAC + 2 RC4)  {limit:8.1} MiB/s");
    println!("  limit of seal+unseal, interleaved (2 interleaved passes) {fused_limit:8.1} MiB/s");
    println!(
        "  SessionSecurity seal_to+unseal_to (gss_wrap path)   {q:8.1} MiB/s = {:.0}% of the separate-pass limit, {:.0}% of the interleaved one",
        100.0 * q / limit,
        100.0 * q / fused_limit
    );
    println!(
        "  SessionSecurity seal+unseal in place (IOV path)     {p:8.1} MiB/s = {:.0}% of the separate-pass limit",
        100.0 * p / limit
    );
}
