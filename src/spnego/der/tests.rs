//! Unit tests of the DER reader and writer: lengths at every boundary, INTEGER/ENUMERATED minimality, and the
//! reader's refusals.

use super::*;

#[test]
fn constructed_lengths_are_minimal_at_every_boundary() {
    for n in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536, 70_000] {
        let content = vec![0xA5u8; n];
        let mut nested = DerWriter::new();
        nested.write_constructed(tag::SEQUENCE, |w| {
            w.write_constructed(tag::context(2), |w| w.write_octet_string(&content))
        });
        // The same bytes built from the outside in with explicit TLVs.
        let mut inner = DerWriter::new();
        inner.write_octet_string(&content);
        let mut ctx = DerWriter::new();
        ctx.write_tlv(tag::context(2), inner.as_bytes());
        let mut outer = DerWriter::new();
        outer.write_tlv(tag::SEQUENCE, ctx.as_bytes());
        assert_eq!(nested.as_bytes(), outer.as_bytes(), "n = {n}");
        let mut r = DerReader::new(nested.as_bytes());
        let mut seq = r.read_sequence("seq").unwrap();
        let mut c = seq.read_context(2, "c").unwrap();
        assert_eq!(c.read_octet_string("o").unwrap().len(), n);
    }
}

#[test]
fn integer_encoding_is_minimal_and_round_trips() {
    for v in [
        0i64,
        1,
        3,
        127,
        128,
        255,
        256,
        -1,
        -128,
        -129,
        i64::MAX,
        i64::MIN,
    ] {
        let (bytes, start) = encode_integer(v);
        let enc = &bytes[start..];
        assert_eq!(
            decode_integer(enc),
            Ok(v),
            "value {v} encoded as {enc:02x?}"
        );
    }
    let (b, i) = encode_integer(128);
    assert_eq!(b[i..], [0x00, 0x80]);
    let (b, i) = encode_integer(-128);
    assert_eq!(b[i..], [0x80]);
}

#[test]
fn integer_decoder_rejects_redundant_leading_octets() {
    assert!(matches!(
        decode_integer(&[0x00, 0x01]),
        Err(DerError::BadInteger(_))
    ));
    assert!(matches!(
        decode_integer(&[0xFF, 0x80]),
        Err(DerError::BadInteger(_))
    ));
    assert!(matches!(decode_integer(&[]), Err(DerError::BadInteger(_))));
}

#[test]
fn element_sizes_equal_what_is_written() {
    for len in [
        0usize, 1, 127, 128, 255, 256, 65_535, 65_536, 16_777_215, 16_777_216,
    ] {
        let mut v = Vec::new();
        push_length(&mut v, len);
        let mut octets = [0u8; 1 + core::mem::size_of::<usize>()];
        let k = length_octets(len, &mut octets);
        assert_eq!(&octets[..k], &v[..], "len {len}");
        let (h, n) = header(0x30, len);
        assert_eq!((h[0], &h[1..n]), (0x30, &v[..]), "len {len}");
        let mut w = DerWriter::new();
        w.write_header(0x30, len);
        assert_eq!(w.as_bytes(), &h[..n], "len {len}");
        assert_eq!(DerWriter::tlv_len(len), 1 + v.len() + len, "len {len}");
    }
}

#[test]
fn expected_element_reads_refuse_what_read_tlv_refuses() {
    let cases: [(&[u8], DerError); 10] = [
        (&[], DerError::Missing { what: "x" }),
        (
            &[0x05, 0x00],
            DerError::UnexpectedTag {
                what: "x",
                expected: 0x04,
                got: 0x05,
            },
        ),
        (&[0x04], DerError::Truncated { need: 1, have: 0 }),
        (
            &[0x04, 0x02, 0x00],
            DerError::Truncated { need: 2, have: 1 },
        ),
        (&[0x04, 0x80, 0x00, 0x00], DerError::IndefiniteLength),
        (&[0x04, 0xFF], DerError::LengthTooLarge),
        (&[0x04, 0x85, 1, 0, 0, 0, 0], DerError::LengthTooLarge),
        (&[0x04, 0x81, 0x7F], DerError::NonMinimalLength),
        (&[0x04, 0x82, 0x00, 0x80], DerError::NonMinimalLength),
        (
            &[0x04, 0x82, 0x01],
            DerError::Truncated { need: 2, have: 1 },
        ),
    ];
    for (input, err) in cases {
        assert_eq!(
            DerReader::new(input).read_expected(0x04, "x"),
            Err(err.clone()),
            "{input:02x?}"
        );
        // read_tlv agrees on the encoding errors (it has no expected tag).
        if !matches!(
            err,
            DerError::Missing { .. } | DerError::UnexpectedTag { .. }
        ) {
            assert_eq!(
                DerReader::new(input).read_tlv().map(|_| ()),
                Err(err),
                "{input:02x?}"
            );
        }
    }
    // The high-tag-number form, even when it is the tag asked for; nothing is consumed on an error.
    let mut r = DerReader::new(&[0x1F, 0x01, 0x00]);
    assert_eq!(r.read_expected(0x1F, "x"), Err(DerError::HighTagNumber));
    assert_eq!(r.remaining(), 3);
    let mut r = DerReader::new(&[0x04, 0x81, 0x80]);
    assert_eq!(
        r.read_expected(0x04, "x"),
        Err(DerError::Truncated { need: 128, have: 0 })
    );
    let long = [&[0x04u8, 0x81, 0x80][..], &[7; 128], &[0x05, 0x00]].concat();
    let mut r = DerReader::new(&long);
    assert_eq!(r.read_expected(0x04, "x").map(<[u8]>::len), Ok(128));
    assert_eq!(r.rest(), [0x05, 0x00]);
}

#[test]
fn small_enumerated_values_take_one_octet() {
    for v in [0i64, 1, 3, 127, 128, -1, 255, i64::MAX] {
        let mut w = DerWriter::new();
        w.write_enumerated(v);
        let (bytes, start) = encode_integer(v);
        let mut expect = DerWriter::new();
        expect.write_tlv(tag::ENUMERATED, &bytes[start..]);
        assert_eq!(w.as_bytes(), expect.as_bytes(), "{v}");
        assert_eq!(DerReader::new(w.as_bytes()).read_enumerated("e"), Ok(v));
    }
}

#[test]
fn length_encoding_uses_the_short_form_below_128() {
    let mut v = Vec::new();
    push_length(&mut v, 127);
    push_length(&mut v, 128);
    push_length(&mut v, 0x1_0000);
    assert_eq!(v, [0x7F, 0x81, 0x80, 0x83, 0x01, 0x00, 0x00]);
}
