//! What the HTTP/2 targets share: the driver's choices, and the check that the output
//! is whole frames.

/// The application's (or driver's) choices: a small xorshift generator, seeded from
/// the input.
pub struct Choices(u32);

impl Choices {
    /// A generator from an input byte (never the all-zero state).
    pub fn new(seed: u8) -> Self {
        Choices(u32::from(seed) | 0x100)
    }

    /// The next choice.
    pub fn pick(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// Checks that `out[*checked..]` holds whole frames no longer than `max_len`, and
/// moves past them (a frame cut at the end of `out` is checked when it is whole).
pub fn check_frames(out: &[u8], checked: &mut usize, max_len: usize) {
    while let Some(header) = out.get(*checked..*checked + 9) {
        let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        assert!(len <= max_len, "a frame of {len} bytes, over {max_len}");
        if out.len() < *checked + 9 + len {
            return;
        }
        *checked += 9 + len;
    }
}

/// A socket as the driver's sink is: it takes whole puts, and after `puts_left` of them
/// it is blocked, so the session must stop at a frame boundary and keep the rest.
pub struct BlockingSocket<'a> {
    pub out: &'a mut Vec<u8>,
    pub puts_left: usize,
}

impl wsecho::fuzzing::h2::session::Sink for BlockingSocket<'_> {
    fn put(&mut self, parts: &[&[u8]]) {
        assert!(self.puts_left > 0, "a put into a blocked sink");
        self.puts_left -= 1;
        for part in parts {
            self.out.extend_from_slice(part);
        }
    }

    fn blocked(&self) -> bool {
        self.puts_left == 0
    }
}
