//! What one call into the core asks the driver to send: bytes the core wrote, with large
//! echoed payloads left where they arrived in the input rather than copied. The driver
//! writes the pieces in order with one `writev`, so a bulk echo is never copied in user
//! space: it is unmasked in place in the receive buffer and sent from there.

use std::io::IoSlice;

/// Payload chunks at least this long are referenced, not copied: below it a copy costs
/// less than the extra iovec.
const MIN_SPLICE: usize = 1024;
/// At most this many referenced chunks per input (more are copied): it bounds the
/// driver's iovec array, which lives on the stack.
pub(super) const MAX_SPLICES: usize = 32;
/// Enough `IoSlice`s for any output: each splice adds itself and the bytes after it.
pub(crate) const MAX_SEGMENTS: usize = 2 * MAX_SPLICES + 1;

/// Output of the core: `bytes`, with input ranges spliced in at recorded offsets.
///
/// A splice refers to the input of the `handle_input` call that produced it: the driver
/// must send (or flatten) the output before it reuses that input buffer, and `clear` it
/// before the next call.
#[derive(Default)]
pub struct Output {
    bytes: Vec<u8>,
    splices: Vec<Splice>,
    /// Address and length of the input being processed, to locate chunks inside it;
    /// zero-length outside `handle_input`, so nothing is spliced then.
    input_addr: usize,
    input_len: usize,
}

/// What `clear` leaves of a larger buffer: above what one read of small frames makes.
const KEEP_CAPACITY: usize = 1 << 20;

/// `input[start..end]` goes out after the first `at` bytes of `bytes`.
#[derive(Debug, Clone, Copy)]
struct Splice {
    at: usize,
    start: usize,
    end: usize,
}

/// The input bytes a splice refers to. `splice` recorded it inside the input of the
/// same call, so it is there unless the caller broke the rule above (handing another
/// buffer): that is a bug of ours, reported, and nothing is sent for it.
fn spliced<'a>(input: &'a [u8], s: &Splice) -> &'a [u8] {
    match input.get(s.start..s.end) {
        Some(piece) => piece,
        None => {
            debug_assert!(false, "splice {s:?} outside an input of {}", input.len());
            log::error!("bug: output refers past its input; {s:?} not sent");
            &[]
        }
    }
}

impl Output {
    /// An empty output with room for `bytes` of its own.
    pub fn with_capacity(bytes: usize) -> Self {
        Output {
            bytes: Vec::with_capacity(bytes),
            splices: Vec::with_capacity(MAX_SPLICES),
            ..Output::default()
        }
    }

    /// The owned bytes, for everything that is not an echoed data payload.
    #[inline]
    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Empties it for the next input (keeping a bounded allocation).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.splices.clear();
        // A read whose output was large (compressed echoes can be, up to
        // `--max-backpressure`) must not pin that much for the life of the loop.
        if self.bytes.capacity() > KEEP_CAPACITY {
            self.bytes.shrink_to(KEEP_CAPACITY);
        }
    }

    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.splices.is_empty()
    }

    /// Total length to send.
    pub fn len(&self) -> usize {
        self.bytes.len() + self.splices.iter().map(|s| s.end - s.start).sum::<usize>()
    }

    /// Whether any piece refers to the input (the driver then needs a vectored write).
    #[inline]
    pub fn has_splices(&self) -> bool {
        !self.splices.is_empty()
    }

    /// Owned bytes only: valid when [`Output::has_splices`] is false.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Marks `input` as the buffer chunks may be referenced from, until [`Output::end_input`].
    pub(crate) fn begin_input(&mut self, input: &[u8]) {
        debug_assert!(
            self.splices.is_empty(),
            "output of an earlier input not sent"
        );
        self.input_addr = input.as_ptr() as usize;
        self.input_len = input.len();
    }

    pub(crate) fn end_input(&mut self) {
        self.input_len = 0;
    }

    /// Appends an echoed payload chunk: referenced when it is large and lies in the
    /// current input, copied otherwise.
    #[inline]
    pub(crate) fn payload(&mut self, chunk: &[u8]) {
        if chunk.len() < MIN_SPLICE || !self.splice(chunk) {
            self.bytes.extend_from_slice(chunk);
        }
    }

    /// Appends output the core built inside the current input, over bytes it had already
    /// consumed (small echoes are rebuilt in place): referenced whatever its length, or
    /// copied when it cannot be (outside an input call, or no splice left).
    #[inline(always)]
    pub(crate) fn in_place(&mut self, run: &[u8]) {
        if !run.is_empty() && !self.splice(run) {
            self.bytes.extend_from_slice(run);
        }
    }

    /// References `chunk` after the bytes so far, if it lies in the current input and a
    /// splice is left; returns whether it did.
    #[inline(always)]
    fn splice(&mut self, chunk: &[u8]) -> bool {
        let start = (chunk.as_ptr() as usize).wrapping_sub(self.input_addr);
        let inside = start <= self.input_len && chunk.len() <= self.input_len - start;
        if !inside || self.splices.len() >= MAX_SPLICES {
            return false;
        }
        self.splices.push(Splice {
            at: self.bytes.len(),
            start,
            end: start + chunk.len(),
        });
        true
    }

    /// Everything to send when it is one contiguous piece (the common case: owned bytes
    /// only, or one in-place run alone), so that one plain write sends it.
    #[inline]
    pub fn contiguous<'a>(&'a self, input: &'a [u8]) -> Option<&'a [u8]> {
        match self.splices.as_slice() {
            [] => Some(&self.bytes),
            [only] if self.bytes.is_empty() => input.get(only.start..only.end),
            _ => None,
        }
    }

    /// The pieces to send, in order. `input` must be the buffer the output was produced
    /// from (after the call: payloads in it are unmasked by then).
    pub fn segments<'a>(&'a self, input: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut from = 0;
        self.splices
            .iter()
            .flat_map(move |s| {
                let owned = &self.bytes[from..s.at];
                from = s.at;
                [owned, spliced(input, s)]
            })
            .chain(std::iter::once_with(move || {
                let last = self.splices.last().map_or(0, |s| s.at);
                &self.bytes[last..]
            }))
            .filter(|piece| !piece.is_empty())
    }

    /// Fills `slices` with the pieces to send; returns how many.
    pub fn io_slices<'a>(&'a self, input: &'a [u8], slices: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, piece) in slices.iter_mut().zip(self.segments(input)) {
            *slot = IoSlice::new(piece);
            n += 1;
        }
        n
    }

    /// Appends everything to `dst` as one contiguous run of bytes.
    pub fn flatten_into(&self, input: &[u8], dst: &mut Vec<u8>) {
        if self.splices.is_empty() {
            dst.extend_from_slice(&self.bytes);
            return;
        }
        dst.reserve(self.len());
        for piece in self.segments(input) {
            dst.extend_from_slice(piece);
        }
    }

    /// Everything as one vector (tests and tools).
    pub fn to_vec(&self, input: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        self.flatten_into(input, &mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_chunks_are_copied_and_large_ones_referenced() {
        let input: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
        let mut out = Output::default();
        out.begin_input(&input);
        out.bytes_mut().extend_from_slice(b"H1");
        out.payload(&input[0..10]);
        out.bytes_mut().extend_from_slice(b"H2");
        out.payload(&input[100..2100]);
        out.bytes_mut().extend_from_slice(b"H3");
        out.payload(&input[2100..4096]);
        out.bytes_mut().extend_from_slice(b"T");
        out.end_input();
        assert!(out.has_splices());
        assert_eq!(out.bytes().len(), 2 + 10 + 2 + 2 + 1);

        let mut expected = b"H1".to_vec();
        expected.extend_from_slice(&input[0..10]);
        expected.extend_from_slice(b"H2");
        expected.extend_from_slice(&input[100..2100]);
        expected.extend_from_slice(b"H3");
        expected.extend_from_slice(&input[2100..4096]);
        expected.extend_from_slice(b"T");
        assert_eq!(out.to_vec(&input), expected);
        assert_eq!(out.len(), expected.len());

        let pieces: Vec<&[u8]> = out.segments(&input).collect();
        assert_eq!(pieces.len(), 5);
        let mut slices = [IoSlice::new(&[]); MAX_SEGMENTS];
        assert_eq!(out.io_slices(&input, &mut slices), 5);
    }

    #[test]
    fn in_place_runs_are_referenced_whatever_their_length() {
        let input: Vec<u8> = (0..64u8).collect();
        let mut out = Output::default();
        out.begin_input(&input);
        out.in_place(&input[0..3]);
        assert_eq!(out.contiguous(&input), Some(&input[0..3]));
        out.bytes_mut().extend_from_slice(b"P");
        out.in_place(&input[10..12]);
        out.in_place(&input[20..20]);
        out.end_input();
        assert_eq!(out.contiguous(&input), None);
        assert_eq!(out.to_vec(&input), [0, 1, 2, b'P', 10, 11]);
        // Outside an input call the run is copied.
        let mut out = Output::default();
        out.in_place(&input[5..7]);
        assert!(!out.has_splices());
        assert_eq!(out.contiguous(&input), Some(&[5u8, 6][..]));
    }

    #[test]
    fn a_chunk_outside_the_input_is_copied() {
        let input = vec![1u8; 2048];
        let other = vec![2u8; 2048];
        let mut out = Output::default();
        out.begin_input(&input);
        out.payload(&other);
        out.end_input();
        // Outside any input call nothing is referenced either.
        out.payload(&input);
        assert!(!out.has_splices());
        assert_eq!(out.bytes().len(), 4096);
    }

    #[test]
    fn splices_are_capped_and_the_rest_copied() {
        let input = vec![7u8; MIN_SPLICE * (MAX_SPLICES + 3)];
        let mut out = Output::default();
        out.begin_input(&input);
        for chunk in input.chunks(MIN_SPLICE) {
            out.bytes_mut().push(0);
            out.payload(chunk);
        }
        out.end_input();
        assert_eq!(out.splices.len(), MAX_SPLICES);
        assert!(out.segments(&input).count() <= MAX_SEGMENTS);
        assert_eq!(out.len(), input.len() + MAX_SPLICES + 3);
        let flat = out.to_vec(&input);
        assert_eq!(flat.len(), out.len());
        assert_eq!(flat.iter().filter(|&&b| b == 7).count(), input.len());
    }
}
