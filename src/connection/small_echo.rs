//! The hottest path: a run of small, whole, unfragmented, uncompressed text or binary
//! frames at the front of the input, each echoed as the same frame, rebuilt in place.
//!
//! A client frame with a payload of at most 125 octets has a 6-octet header (two octets,
//! then the mask key); ours has 2. So the echo of each frame fits over the frames already
//! read, the write position never passes the read position, and the whole run goes out
//! from the receive buffer with no copy. Anything else stops the run and is left to the
//! general frame loop, which judges it (and reports any rule it breaks).

use crate::config::Config;
use crate::frame::Opcode;
use crate::frame::mask::unmask_move;

/// The first header octet of a frame this path takes: FIN set, RSV clear, text or binary.
const TEXT: u8 = 0x80 | Opcode::Text as u8;
const BINARY: u8 = 0x80 | Opcode::Binary as u8;
/// The largest payload length of the 7-bit field (RFC 6455 §5.2: 126 and 127 announce
/// an extended length).
const MAX_SMALL_PAYLOAD: u64 = 125;
/// One high bit per octet of a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// What [`echo_small_frames`] did: the result of [`super::Connection::echo_in_place`],
/// handed back to [`super::Connection::handle_input_after`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// Input octets consumed: whole frames, every one echoed.
    pub taken: usize,
    /// `input[..echoed]` now holds the echoes, in order.
    pub echoed: usize,
    /// Messages echoed (each small frame is a whole message).
    pub messages: u64,
    /// How many of them were text.
    pub text_messages: u64,
    /// The run stopped at a text frame whose payload is not UTF-8 (it is not taken).
    pub invalid_utf8: bool,
}

impl Run {
    /// The echoed messages' payload bytes: each echo is its payload and a 2-byte header.
    #[inline(always)]
    pub(crate) fn payload_bytes(&self) -> u64 {
        (self.echoed as u64).wrapping_sub(2 * self.messages)
    }
}

/// The bound [`echo_small_frames`] takes when it is on: every payload of the 7-bit
/// length field.
pub(super) const SMALL_BOUND: u8 = MAX_SMALL_PAYLOAD as u8 + 1;

/// Whether `config`'s limits allow every small payload, so that the path may take any
/// (it checks no limit of its own). Under smaller limits it stays off and the general
/// path, which enforces them, takes every frame.
pub(super) fn small_frames_fit(config: &Config) -> bool {
    config.max_frame_size.min(config.max_message_size) >= MAX_SMALL_PAYLOAD
}

/// Echoes the run of small data frames at the front of `input` in place (see the module
/// comment); only frames whose payload is shorter than `bound` (at most
/// [`SMALL_BOUND`]) are taken, the others are left to the general path, which
/// refuses them if they break a limit. A `bound` of 0 takes none: the path is off.
#[inline(always)]
pub(super) fn echo_small_frames(input: &mut [u8], bound: u8) -> Run {
    // One comparison per frame covers the size limits and the MASK bit: the length octet
    // XOR 0x80 is the payload length when MASK is set, and at least 128 when it is not.
    let bound = usize::from(bound.min(MAX_SMALL_PAYLOAD as u8 + 1));
    let total = input.len();
    let base = input.as_mut_ptr();
    // Frames are read at `taken`, echoes written at `echoed`; echoed <= taken throughout.
    let (mut taken, mut echoed, mut text_messages) = (0, 0, 0);
    let mut invalid_utf8 = false;
    while taken + 6 <= total {
        // SAFETY: taken + 6 <= total.
        let (b0, b1, mask_key) = unsafe {
            let header = base.add(taken);
            (
                *header,
                *header.add(1),
                header.add(2).cast::<[u8; 4]>().read(),
            )
        };
        let payload_len = usize::from(b1 ^ 0x80);
        if b0.wrapping_sub(TEXT) > BINARY - TEXT || payload_len >= bound {
            break;
        }
        let end = taken + 6 + payload_len;
        if end > total {
            break;
        }
        // SAFETY: the frame is input[taken..end] and our echo input[echoed..echoed + 2 +
        // payload_len], which ends 4 octets before `end` (echoed <= taken): all inside
        // `input`. The header octets written were read already, and unmask_move may
        // write below what it reads.
        let seen = unsafe {
            *base.add(echoed) = b0;
            *base.add(echoed + 1) = payload_len as u8;
            unmask_move(
                base.add(taken + 6),
                base.add(echoed + 2),
                payload_len,
                mask_key,
            )
        };
        // SAFETY: the echoed payload just written, inside `input` as above.
        let payload = unsafe { std::slice::from_raw_parts(base.add(echoed + 2), payload_len) };
        if b0 == TEXT && seen & HIGH_BITS != 0 && simdutf8::basic::from_utf8(payload).is_err() {
            invalid_utf8 = true;
            break;
        }
        echoed += 2 + payload_len;
        // b0 is TEXT (0x81) or BINARY (0x82) here: the low bit tells them apart.
        text_messages += u64::from(b0 & 1);
        taken = end;
    }
    Run {
        taken,
        echoed,
        // Each echo is its frame less the 4-byte mask key.
        messages: ((taken - echoed) / 4) as u64,
        text_messages,
        invalid_utf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsecho_test_support::frames;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// The frame whose first byte is `b0`: masked with `KEY` from a client, or as a
    /// server sends it.
    fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        frames::client_frame(b0 & 0x80 != 0, (b0 >> 4) & 0b111, b0 & 0x0f, KEY, payload)
    }

    fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        frames::server_frame(b0 & 0x80 != 0, (b0 >> 4) & 0b111, b0 & 0x0f, payload)
    }

    #[test]
    fn a_run_of_every_small_length_is_echoed_in_place() {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        let mut total = 0;
        for len in 0..=125usize {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let text = b"abc\xc3\xa9xyz".repeat(16);
            let (b0, payload) = if len % 2 == 0 {
                (BINARY, payload)
            } else {
                // Valid UTF-8 cut at a character boundary.
                let mut cut = len.min(text.len());
                while std::str::from_utf8(&text[..cut]).is_err() {
                    cut -= 1;
                }
                (TEXT, text[..cut].to_vec())
            };
            input.extend(client_frame(b0, &payload));
            expected.extend(server_frame(b0, &payload));
            total += payload.len() as u64;
        }
        let len = input.len();
        let run = echo_small_frames(&mut input, 126);
        assert_eq!(run.taken, len);
        assert_eq!(run.echoed, expected.len());
        assert_eq!(run.messages, 126);
        assert_eq!(run.payload_bytes(), total);
        assert!(!run.invalid_utf8);
        assert_eq!(&input[..run.echoed], &expected[..]);
    }

    #[test]
    fn the_run_stops_before_any_frame_it_does_not_take() {
        let stoppers: [(&str, Vec<u8>); 7] = [
            ("continuation", client_frame(0x80, b"x")),
            ("not final", client_frame(0x01, b"x")),
            ("rsv1", client_frame(0xc2, b"x")),
            ("ping", client_frame(0x89, b"x")),
            ("unmasked", vec![BINARY, 1, b'x']),
            ("extended length", client_frame(BINARY, &[0; 200])),
            ("partial", client_frame(BINARY, b"hello")[..8].to_vec()),
        ];
        for (name, stopper) in stoppers {
            let first = client_frame(BINARY, b"hi");
            let mut input = first.clone();
            input.extend_from_slice(&stopper);
            let untouched = input[first.len()..].to_vec();
            let run = echo_small_frames(&mut input, 126);
            assert_eq!(run.taken, first.len(), "{name}");
            assert_eq!(
                &input[..run.echoed],
                &server_frame(BINARY, b"hi")[..],
                "{name}"
            );
            assert_eq!(
                &input[first.len()..],
                &untouched[..],
                "{name}: left as it was"
            );
        }
    }

    #[test]
    fn a_payload_over_the_limit_is_left_to_the_general_path() {
        let mut input = client_frame(BINARY, &[1; 10]);
        let run = echo_small_frames(&mut input, 10);
        assert_eq!((run.taken, run.echoed, run.messages), (0, 0, 0));
        let run = echo_small_frames(&mut input, 11);
        assert_eq!((run.taken, run.messages), (16, 1));
    }

    #[test]
    fn a_bound_of_zero_takes_nothing_not_even_empty_frames() {
        let mut input = client_frame(BINARY, &[]);
        input.extend(client_frame(TEXT, b""));
        assert_eq!(echo_small_frames(&mut input, 0), Run::default());
        assert_eq!(echo_small_frames(&mut input, 1).messages, 2);
    }

    #[test]
    fn invalid_utf8_stops_the_run_after_the_valid_frames() {
        let mut input = client_frame(TEXT, "héllo".as_bytes());
        input.extend(client_frame(TEXT, b"ok\xff"));
        input.extend(client_frame(TEXT, b"never"));
        let run = echo_small_frames(&mut input, 126);
        assert!(run.invalid_utf8);
        assert_eq!(run.messages, 1);
        assert_eq!(run.taken, 6 + 6);
        assert_eq!(
            &input[..run.echoed],
            &server_frame(TEXT, "héllo".as_bytes())[..]
        );
        // Not ASCII but valid: no stop.
        let mut input = client_frame(TEXT, "€".as_bytes());
        assert!(!echo_small_frames(&mut input, 126).invalid_utf8);
    }

    #[test]
    fn fed_one_byte_at_a_time_nothing_is_taken_until_a_frame_is_whole() {
        let frame = client_frame(TEXT, b"streamed");
        for cut in 0..frame.len() {
            let mut part = frame[..cut].to_vec();
            assert_eq!(echo_small_frames(&mut part, 126), Run::default());
            assert_eq!(part, &frame[..cut], "nothing written at cut {cut}");
        }
    }
}
