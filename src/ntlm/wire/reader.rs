//! A bounded little-endian reader and the security-buffer ("fields") checks shared by the NTLM message
//! decoders (MS-NLMP §2.2.1: every payload field is described by `Len`, `MaxLen`, `BufferOffset`).
//!
//! Nothing here indexes a slice directly: every access goes through `get(..)` and checked arithmetic, so a
//! hostile message can only produce a [`WireError`].
#![forbid(unsafe_code)]

use crate::ntlm::error::WireError;

/// Reads fixed-size little-endian values from a byte slice, never past its end.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`; `what` names the structure in `Truncated` errors.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    /// Current position from the start of the buffer.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated {
            what: self.what,
            need: usize::MAX,
            have: self.buf.len(),
        })?;
        let out = self.buf.get(self.pos..end).ok_or(WireError::Truncated {
            what: self.what,
            need: end,
            have: self.buf.len(),
        })?;
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let bytes = self.take(N)?;
        bytes.try_into().map_err(|_| WireError::Truncated {
            what: self.what,
            need: N,
            have: bytes.len(),
        })
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(u8::from_le_bytes(self.array::<1>()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array::<2>()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array::<4>()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array::<8>()?))
    }

    /// Reads an 8-byte security buffer descriptor (`Len`, `MaxLen`, `BufferOffset`, MS-NLMP §2.2.1.1).
    pub(crate) fn field(&mut self, name: &'static str) -> Result<FieldRef, WireError> {
        let len = self.u16()?;
        let _max_len = self.u16()?; // MaxLen SHOULD equal Len; receivers ignore it (MS-NLMP §2.2.1.1).
        let offset = self.u32()?;
        Ok(FieldRef {
            name,
            len: usize::from(len),
            offset: offset as usize,
        })
    }
}

/// One payload field descriptor as read from a message header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldRef {
    pub(crate) name: &'static str,
    pub(crate) len: usize,
    pub(crate) offset: usize,
}

impl FieldRef {
    fn end(&self) -> Option<usize> {
        self.offset.checked_add(self.len)
    }
}

/// Checks a message's payload fields and returns the smallest offset of a non-empty one (or the message
/// length when all are empty): the end of the header, which tells whether the optional VERSION and MIC
/// slots are present.
///
/// Rules: a non-empty field lies within `msg_len`, starts at or after `fixed_header` and overlaps no other
/// non-empty field; an empty field's offset is ignored (peers put 0, the header end or the payload cursor).
pub(crate) fn check_fields(
    fields: &[FieldRef],
    fixed_header: usize,
    msg_len: usize,
) -> Result<usize, WireError> {
    let mut header_end = msg_len;
    for (i, f) in fields.iter().enumerate() {
        if f.len == 0 {
            continue;
        }
        let end = f
            .end()
            .ok_or(WireError::FieldOutOfRange { field: f.name })?;
        if f.offset < fixed_header || end > msg_len {
            return Err(WireError::FieldOutOfRange { field: f.name });
        }
        header_end = header_end.min(f.offset);
        for other in fields.iter().skip(i + 1) {
            if other.len == 0 {
                continue;
            }
            let other_end = other
                .end()
                .ok_or(WireError::FieldOutOfRange { field: other.name })?;
            if f.offset < other_end && other.offset < end {
                return Err(WireError::FieldOverlap {
                    field: f.name,
                    other: other.name,
                });
            }
        }
    }
    Ok(header_end)
}

/// The bytes of a field already validated by [`check_fields`] (empty fields give an empty slice).
pub(crate) fn field_bytes<'a>(msg: &'a [u8], f: &FieldRef) -> Result<&'a [u8], WireError> {
    if f.len == 0 {
        return Ok(&[]);
    }
    let end = f
        .end()
        .ok_or(WireError::FieldOutOfRange { field: f.name })?;
    msg.get(f.offset..end)
        .ok_or(WireError::FieldOutOfRange { field: f.name })
}

/// Builds a message: a fixed header followed by the payload fields, in the order they are appended.
pub(crate) struct Writer {
    /// The message so far: `header_len` bytes of header (zero until written), then the payload.
    buf: Vec<u8>,
    /// Where the next header byte goes (may run past `header_len`: such bytes are cut).
    header_pos: usize,
    header_len: usize,
}

/// Payload room reserved up front, so a typical message is built in one allocation.
const PAYLOAD_HINT: usize = 512;

impl Writer {
    /// `header_len` is the final size of the fixed part (payload offsets start there).
    pub(crate) fn new(header_len: usize) -> Self {
        let mut buf = Vec::with_capacity(header_len.saturating_add(PAYLOAD_HINT));
        buf.resize(header_len, 0);
        Writer {
            buf,
            header_pos: 0,
            header_len,
        }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        let end = self.header_pos.saturating_add(b.len());
        let room = self.header_len.saturating_sub(self.header_pos).min(b.len());
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.header_pos..self.header_pos + room),
            b.get(..room),
        ) {
            dst.copy_from_slice(src);
        }
        self.header_pos = end;
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    /// Appends `data` to the payload and writes its descriptor (`Len`, `MaxLen` = `Len`, offset) to the header.
    /// An empty field gets the current payload position as its offset, as Windows does. Data longer than the
    /// 16-bit length allows is cut at 65535 bytes (callers never build such fields).
    pub(crate) fn field(&mut self, data: &[u8]) {
        let desc = self.payload(data);
        self.bytes(&desc);
    }

    /// Appends `data` to the payload and returns its descriptor without writing it, for messages whose
    /// payload order differs from the order of the descriptors (AUTHENTICATE).
    pub(crate) fn payload(&mut self, data: &[u8]) -> [u8; 8] {
        let data = data.get(..usize::from(u16::MAX)).unwrap_or(data);
        let offset = self.buf.len();
        self.buf.extend_from_slice(data);
        Self::descriptor(data.len(), offset)
    }

    /// [`Writer::payload`] of `s` encoded as [`super::encode_string`] does, without an intermediate buffer.
    pub(crate) fn payload_string(&mut self, s: &str, unicode: bool) -> [u8; 8] {
        let offset = self.buf.len();
        if unicode {
            for u in s.encode_utf16() {
                self.buf.extend_from_slice(&u.to_le_bytes());
            }
        } else {
            self.buf.extend(
                s.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
            );
        }
        let max_end = offset.saturating_add(usize::from(u16::MAX));
        if self.buf.len() > max_end {
            self.buf.truncate(max_end);
        }
        Self::descriptor(self.buf.len() - offset, offset)
    }

    /// [`Writer::field`] of a string (see [`Writer::payload_string`]).
    pub(crate) fn field_string(&mut self, s: &str, unicode: bool) {
        let desc = self.payload_string(s, unicode);
        self.bytes(&desc);
    }

    fn descriptor(len: usize, offset: usize) -> [u8; 8] {
        let len = u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes();
        let off = u32::try_from(offset).unwrap_or(u32::MAX).to_le_bytes();
        [
            len[0], len[1], len[0], len[1], off[0], off[1], off[2], off[3],
        ]
    }

    /// A field written as all zeros (`Len` = `MaxLen` = `BufferOffset` = 0), as Windows writes absent
    /// NEGOTIATE names and an absent CHALLENGE TargetInfo.
    pub(crate) fn absent_field(&mut self) {
        self.bytes(&[0u8; 8]);
    }

    /// The whole message. The header is padded with zeros (or cut) to `header_len`.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &'static str, offset: usize, len: usize) -> FieldRef {
        FieldRef { name, len, offset }
    }

    #[test]
    fn reader_reports_truncation_instead_of_panicking() {
        let mut r = Reader::new(&[1, 2, 3], "test");
        assert_eq!(r.u16(), Ok(0x0201));
        assert!(matches!(
            r.u16(),
            Err(WireError::Truncated {
                need: 4,
                have: 3,
                ..
            })
        ));
        assert_eq!(r.u8(), Ok(3));
        assert!(r.u8().is_err());
    }

    #[test]
    fn check_fields_finds_header_end_and_ignores_empty_offsets() {
        let fields = [
            f("a", 0, 0),
            f("b", 80, 4),
            f("c", 72, 8),
            f("d", 0xffff_ffff, 0),
        ];
        assert_eq!(check_fields(&fields, 64, 84), Ok(72));
        assert_eq!(check_fields(&[f("a", 0, 0)], 64, 70), Ok(70));
    }

    #[test]
    fn check_fields_rejects_overlap_outside_and_header() {
        assert_eq!(
            check_fields(&[f("a", 70, 4), f("b", 72, 4)], 64, 100),
            Err(WireError::FieldOverlap {
                field: "a",
                other: "b"
            })
        );
        assert_eq!(
            check_fields(&[f("a", 98, 4)], 64, 100),
            Err(WireError::FieldOutOfRange { field: "a" })
        );
        assert_eq!(
            check_fields(&[f("a", 60, 4)], 64, 100),
            Err(WireError::FieldOutOfRange { field: "a" })
        );
        assert_eq!(
            check_fields(&[f("a", usize::MAX - 1, 4)], 64, 100),
            Err(WireError::FieldOutOfRange { field: "a" })
        );
    }

    #[test]
    fn writer_places_payload_after_header() {
        let mut w = Writer::new(12);
        w.u32(7);
        w.field(b"xy");
        let out = w.finish();
        assert_eq!(out, [7, 0, 0, 0, 2, 0, 2, 0, 12, 0, 0, 0, b'x', b'y']);
    }
}
