//! A bounded, windowed reader over a seekable source.
//!
//! Parsers ask for small ranges at absolute offsets; the source keeps one
//! fixed-size window of the file in memory and refills it (seek + read) when a
//! request falls outside it. The window size is a constant, never a size read
//! from the file.

use std::io::{self, Read, Seek, SeekFrom};

/// Size of the in-memory window.
pub(crate) const WINDOW: usize = 64 * 1024;

pub(crate) struct Source<'a, R> {
    reader: &'a mut R,
    len: u64,
    buf: Vec<u8>,
    start: u64,
    filled: usize,
    /// The reader returned end-of-file before the stated length.
    short: bool,
}

impl<'a, R: Read + Seek> Source<'a, R> {
    pub(crate) fn new(reader: &'a mut R, len: u64) -> Self {
        Source {
            reader,
            len,
            // The caller's length (not a size read from the file) only
            // shrinks the window for small files.
            buf: vec![0; usize::try_from(len).map_or(WINDOW, |n| n.min(WINDOW))],
            start: 0,
            filled: 0,
            short: false,
        }
    }

    /// Length of the file. If the reader turned out to hold fewer bytes than
    /// the caller stated, this shrinks to what it really holds.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Whether the reader holds fewer bytes than the stated length. Reads the
    /// last stated byte if that has not been read yet.
    pub(crate) fn is_short(&mut self) -> io::Result<bool> {
        if !self.short && self.len > 0 {
            let last = self.len - 1;
            if !self.cached(last, self.len) {
                self.load(last)?;
            }
        }
        Ok(self.short)
    }

    /// Fill the window starting at `off` (which must be below `len`).
    fn load(&mut self, off: u64) -> io::Result<()> {
        self.reader.seek(SeekFrom::Start(off))?;
        let want = usize::try_from((self.len - off).min(WINDOW as u64)).unwrap_or(WINDOW);
        let mut got = 0;
        while got < want {
            match self.reader.read(&mut self.buf[got..want]) {
                Ok(0) => {
                    // The source is shorter than stated: the file ends here.
                    self.len = off + got as u64;
                    self.short = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.start = off;
        self.filled = got;
        Ok(())
    }

    fn cached(&self, off: u64, end: u64) -> bool {
        off >= self.start && end <= self.start + self.filled as u64
    }

    /// The bytes `off..off + n` (`n` at most [`WINDOW`]), or `None` when they
    /// do not all lie within the file.
    pub(crate) fn get(&mut self, off: u64, n: usize) -> io::Result<Option<&[u8]>> {
        debug_assert!(n <= WINDOW);
        let Some(end) = off.checked_add(n as u64) else {
            return Ok(None);
        };
        if end > self.len || n > WINDOW {
            return Ok(None);
        }
        if !self.cached(off, end) {
            self.load(off)?;
            if end > self.len {
                return Ok(None);
            }
        }
        let s = usize::try_from(off - self.start).unwrap_or(usize::MAX);
        Ok(self.buf.get(s..s + n))
    }

    /// A fixed-size array at `off`, or `None` when it runs past the end.
    pub(crate) fn array<const N: usize>(&mut self, off: u64) -> io::Result<Option<[u8; N]>> {
        Ok(self
            .get(off, N)?
            .and_then(|bytes| <[u8; N]>::try_from(bytes).ok()))
    }

    /// One byte at `off`, or `None` at or past the end.
    pub(crate) fn byte(&mut self, off: u64) -> io::Result<Option<u8>> {
        Ok(self.array::<1>(off)?.map(|[b]| b))
    }

    /// Up to `max` bytes starting at `off` (fewer near the end of the file or
    /// of the window, but at least one byte when `off` is inside the file);
    /// empty at or past the end.
    pub(crate) fn window(&mut self, off: u64, max: usize) -> io::Result<&[u8]> {
        if off >= self.len {
            return Ok(&[]);
        }
        let end = off.saturating_add(max.min(WINDOW) as u64).min(self.len);
        if !self.cached(off, off + 1) {
            self.load(off)?;
        }
        let s = usize::try_from(off - self.start).unwrap_or(usize::MAX);
        let e = usize::try_from(end.min(self.start + self.filled as u64) - self.start)
            .unwrap_or(usize::MAX);
        Ok(self.buf.get(s..e).unwrap_or(&[]))
    }
}

/// Big- and little-endian helpers on byte slices of known length.
pub(crate) fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

pub(crate) fn le16(b: [u8; 2]) -> u16 {
    u16::from_le_bytes(b)
}

pub(crate) fn be32(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

pub(crate) fn le32(b: [u8; 4]) -> u32 {
    u32::from_le_bytes(b)
}

/// Split a fixed array: bytes `AT..AT + N` of `b`.
pub(crate) fn sub<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = b.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_across_windows() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut cur = Cursor::new(&data);
        let mut src = Source::new(&mut cur, data.len() as u64);
        for off in [0u64, 65_530, 65_536, 131_000, 199_990] {
            let got = src.get(off, 10).unwrap().unwrap().to_vec();
            assert_eq!(got, &data[off as usize..off as usize + 10]);
        }
        assert!(src.get(199_995, 10).unwrap().is_none());
        assert!(src.get(u64::MAX - 2, 10).unwrap().is_none());
        assert_eq!(src.window(199_990, 100).unwrap().len(), 10);
        assert!(src.window(200_000, 100).unwrap().is_empty());
        assert_eq!(src.byte(5).unwrap(), Some(5));
    }

    #[test]
    fn shrinks_when_reader_is_short() {
        let data = [1u8; 100];
        let mut cur = Cursor::new(&data[..]);
        let mut src = Source::new(&mut cur, 1_000);
        assert!(src.get(0, 200).unwrap().is_none());
        assert_eq!(src.len(), 100);
        assert_eq!(src.window(0, 512).unwrap().len(), 100);
    }

    #[test]
    fn sub_arrays() {
        assert_eq!(sub::<2>(&[1, 2, 3], 1), [2, 3]);
        assert_eq!(sub::<2>(&[1, 2, 3], 2), [0, 0]);
    }
}
