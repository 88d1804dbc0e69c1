//! Short byte strings kept inline: [`InlineBytes`] holds up to `N` octets in place and longer ones on the heap, so
//! that the common short values (mechanism OIDs, a DER MechTypeList, an imported name's text) cost no allocation
//! to build, clone or drop.
#![forbid(unsafe_code)]

/// Up to `N` octets inline, longer ones on the heap. Invariant: contents of at most `N` octets are always
/// `Inline`, with zeros after `len`, so equal contents have equal representations (`N` is at most 255).
#[derive(Clone)]
pub(crate) enum InlineBytes<const N: usize> {
    Inline { len: u8, buf: [u8; N] },
    Heap(Box<[u8]>),
}

impl<const N: usize> InlineBytes<N> {
    /// `bytes`, inline when they fit.
    pub(crate) fn new(bytes: &[u8]) -> InlineBytes<N> {
        let mut buf = [0u8; N];
        match buf.get_mut(..bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                InlineBytes::Inline {
                    len: bytes.len() as u8,
                    buf,
                }
            }
            None => InlineBytes::Heap(bytes.into()),
        }
    }

    /// The inline form of `bytes`, for constants (panics at compile time when they do not fit).
    pub(crate) const fn fitting(bytes: &[u8]) -> InlineBytes<N> {
        assert!(
            bytes.len() <= N && N <= u8::MAX as usize,
            "too long to be inline"
        );
        let mut buf = [0u8; N];
        let mut i = 0;
        while i < bytes.len() {
            buf[i] = bytes[i];
            i += 1;
        }
        InlineBytes::Inline {
            len: bytes.len() as u8,
            buf,
        }
    }

    /// Whether the contents are kept inline.
    #[cfg(test)]
    pub(crate) fn is_inline(&self) -> bool {
        matches!(self, InlineBytes::Inline { .. })
    }
}

impl<const N: usize> core::ops::Deref for InlineBytes<N> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            InlineBytes::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            InlineBytes::Heap(b) => b,
        }
    }
}

impl<const N: usize> core::fmt::Debug for InlineBytes<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::InlineBytes;

    #[test]
    fn short_contents_are_inline_and_long_ones_whole_on_the_heap() {
        for n in [0usize, 1, 7, 8, 9, 40] {
            let bytes: Vec<u8> = (0..n).map(|i| i as u8 ^ 0x5a).collect();
            let b = InlineBytes::<8>::new(&bytes);
            assert_eq!(&*b, &bytes[..]);
            assert_eq!(b.is_inline(), n <= 8, "{n}");
            assert_eq!(&*b.clone(), &bytes[..]);
        }
        const C: InlineBytes<8> = InlineBytes::fitting(b"abc");
        assert!(C.is_inline());
        assert_eq!(&*C, b"abc");
    }
}
