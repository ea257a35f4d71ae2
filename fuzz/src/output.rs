//! Taking the server's output apart, as a strict client would, and checking every rule
//! RFC 6455 and RFC 7692 put on a server: frame format, fragmentation, close frames,
//! UTF-8 of text, and (inflating compressed echoes) the message size limit.

use flate2::{Decompress, FlushDecompress, Status};

/// What the HTTP part of the output was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Http {
    /// Nothing written yet.
    Nothing,
    /// 101, with the `Sec-WebSocket-Extensions` value if one was sent.
    Upgraded { extensions: Option<String> },
    /// Any other status: the connection is refused and nothing may follow the body.
    Refused { status: u16 },
}

/// A server frame as read off the wire.
pub use wsecho_test_support::frames::ServerFrame as Frame;

/// What a client makes of the frames: whole messages (inflated), pongs and the close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A data message; `complete` is false for the one still open at the end.
    Message {
        opcode: u8,
        payload: Vec<u8>,
        complete: bool,
    },
    Pong(Vec<u8>),
    /// A keepalive ping of our own.
    Ping(Vec<u8>),
    Close(Vec<u8>),
}

/// Splits `out` into its HTTP response and the frame bytes after it.
pub fn split_http(out: &[u8]) -> Result<(Http, &[u8]), String> {
    if out.is_empty() {
        return Ok((Http::Nothing, out));
    }
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("output starts with no complete HTTP head")?
        + 4;
    let head = std::str::from_utf8(&out[..end]).map_err(|_| "HTTP head is not UTF-8")?;
    let status: u16 = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let header = |name: &str| {
        head.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let rest = &out[end..];
    if status == 101 {
        let accept = header("Sec-WebSocket-Accept").ok_or("101 without Sec-WebSocket-Accept")?;
        if accept.len() != 28 {
            return Err(format!("bad accept value {accept:?}"));
        }
        let extensions = header("Sec-WebSocket-Extensions");
        return Ok((Http::Upgraded { extensions }, rest));
    }
    // A refusal: exactly Content-Length bytes of body, then nothing.
    let len: usize = header("Content-Length")
        .and_then(|v| v.parse().ok())
        .ok_or("refusal without Content-Length")?;
    if rest.len() != len {
        return Err(format!(
            "status {status}: Content-Length {len} but {} bytes follow",
            rest.len()
        ));
    }
    Ok((Http::Refused { status }, &rest[len..]))
}

/// Parses unmasked server frames (the shared, strict reader of test-support). The
/// output may stop inside an echo frame whose client has not sent the rest yet (exact
/// echo framing streams a binary frame's payload behind its header): that frame must
/// be an uncompressed data frame, and is returned unfinished (FIN clear), as the start
/// of a message still open.
pub fn parse_frames(out: &[u8]) -> Result<Vec<Frame>, String> {
    let (mut frames, partial) = wsecho_test_support::frames::parse_server_stream(out)?;
    if let Some(partial) = partial {
        let f = partial.frame;
        if !matches!(f.opcode, 0..=2) || f.rsv != 0 {
            return Err(format!(
                "output stops inside a frame that is no echo: {f:?}"
            ));
        }
        frames.push(Frame { fin: false, ..f });
    }
    Ok(frames)
}

/// Close codes a server may put in a close frame (RFC 6455 §7.4).
fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A message being reassembled.
struct Open {
    opcode: u8,
    compressed: bool,
    payload: Vec<u8>,
}

/// Checks `frames` against the rules a server must keep and reassembles them.
/// `deflate`: whether permessage-deflate was agreed; `max_message`: the server's limit,
/// which no echo may exceed (a compressed echo is inflated to check).
pub fn items(frames: &[Frame], deflate: bool, max_message: u64) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut open: Option<Open> = None;
    let mut inflater = Decompress::new_with_window_bits(false, 15);
    let cap = usize::try_from(max_message).unwrap_or(usize::MAX);
    for (i, f) in frames.iter().enumerate() {
        if matches!(items.last(), Some(Item::Close(_))) {
            return Err(format!("frame {i} sent after the close frame"));
        }
        let first_of_message = open.is_none() && matches!(f.opcode, 1 | 2);
        match f.rsv {
            0 => {}
            0b100 if deflate && first_of_message => {}
            rsv => return Err(format!("frame {i}: rsv {rsv:03b} not allowed here")),
        }
        match f.opcode {
            0x8..=0xA => {
                if !f.fin || f.payload.len() > 125 {
                    return Err(format!("frame {i}: control frame fragmented or too long"));
                }
                items.push(match f.opcode {
                    0x9 => Item::Ping(f.payload.clone()),
                    0xA => Item::Pong(f.payload.clone()),
                    _ => {
                        check_close_payload(&f.payload).map_err(|e| format!("frame {i}: {e}"))?;
                        Item::Close(f.payload.clone())
                    }
                });
            }
            0x0..=0x2 => {
                let msg = match (f.opcode, open.as_mut()) {
                    (0x0, Some(m)) => m,
                    (0x0, None) => return Err(format!("frame {i}: continuation with no message")),
                    (_, Some(_)) => return Err(format!("frame {i}: new message inside another")),
                    (op, None) => open.insert(Open {
                        opcode: op,
                        compressed: f.rsv != 0,
                        payload: Vec::new(),
                    }),
                };
                if msg.compressed {
                    inflate(&mut inflater, &f.payload, &mut msg.payload, cap)?;
                    if f.fin {
                        inflate(&mut inflater, &[0, 0, 0xff, 0xff], &mut msg.payload, cap)?;
                    }
                } else {
                    msg.payload.extend_from_slice(&f.payload);
                }
                if msg.payload.len() as u64 > max_message {
                    return Err(format!(
                        "frame {i}: echo of {} bytes exceeds the {max_message}-byte limit",
                        msg.payload.len()
                    ));
                }
                if f.fin {
                    let m = open.take().expect("just matched");
                    items.push(Item::Message {
                        opcode: m.opcode,
                        payload: m.payload,
                        complete: true,
                    });
                }
            }
            op => return Err(format!("frame {i}: server sent opcode {op:#x}")),
        }
    }
    if let Some(m) = open {
        items.push(Item::Message {
            opcode: m.opcode,
            payload: m.payload,
            complete: false,
        });
    }
    for item in &items {
        if let Item::Message {
            opcode: 1,
            payload,
            complete,
        } = item
        {
            check_text(payload, *complete)?;
        }
    }
    Ok(items)
}

/// Text is validated before it is echoed, so every echoed text is valid UTF-8 — or, for
/// the message still open, a valid prefix.
fn check_text(payload: &[u8], complete: bool) -> Result<(), String> {
    match std::str::from_utf8(payload) {
        Ok(_) => Ok(()),
        Err(e) if !complete && e.error_len().is_none() => Ok(()),
        Err(e) => Err(format!("echoed text is not UTF-8: {e}")),
    }
}

fn check_close_payload(p: &[u8]) -> Result<(), String> {
    match p {
        [] => Ok(()),
        [_] => Err("one-byte close payload".into()),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_sendable_close_code(code) {
                return Err(format!("close code {code} may not be sent"));
            }
            std::str::from_utf8(reason).map_err(|_| "close reason is not UTF-8")?;
            Ok(())
        }
    }
}

/// Inflates `input` onto `out`, failing once `out` passes `cap`.
fn inflate(
    d: &mut Decompress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    cap: usize,
) -> Result<(), String> {
    loop {
        out.reserve(4096);
        let (in0, out0) = (d.total_in(), d.total_out());
        let status = d
            .decompress_vec(input, out, FlushDecompress::Sync)
            .map_err(|e| format!("server's compressed echo does not inflate: {e}"))?;
        let consumed = (d.total_in() - in0) as usize;
        let produced = d.total_out() - out0;
        input = &input[consumed..];
        if out.len() > cap {
            return Err(format!(
                "compressed echo inflates past the {cap}-byte limit"
            ));
        }
        if status == Status::StreamEnd {
            // RFC 7692 §7.2.1 lets a sender end blocks with BFINAL; start over after it.
            d.reset(false);
        }
        let room_left = out.len() < out.capacity();
        if (input.is_empty() && room_left) || (consumed == 0 && produced == 0 && room_left) {
            return Ok(());
        }
    }
}

/// Only the items two runs of a stream must agree on: the partly echoed message at the
/// end depends on where the input was cut, and keepalive pings on the clock.
pub fn settled(items: &[Item]) -> Vec<Item> {
    items
        .iter()
        .filter(|i| {
            !matches!(
                i,
                Item::Message {
                    complete: false,
                    ..
                } | Item::Ping(_)
            )
        })
        .cloned()
        .collect()
}
