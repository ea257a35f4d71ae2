//! What a trace line says, and its two spellings: Autobahn's wire-log style for people
//! and one JSON object per line for machines.

use std::fmt::Write as _;

use crate::escape::{Escaped, Quoted};
use crate::event::Location;

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// From the client to wsecho.
    Rx,
    /// From wsecho to the client.
    Tx,
}

impl Dir {
    fn text(self) -> &'static str {
        match self {
            Dir::Rx => "RX",
            Dir::Tx => "TX",
        }
    }

    fn json(self) -> &'static str {
        match self {
            Dir::Rx => "rx",
            Dir::Tx => "tx",
        }
    }
}

/// A payload as shown: its first bytes (unmasked), how many there were in all, and
/// whether they are text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub(crate) bytes: Vec<u8>,
    pub(crate) total: u64,
    pub(crate) text: bool,
}

/// A compressed message, inflated by the trace: its first bytes and length, or why it
/// could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inflated {
    pub(crate) shown: Shown,
    pub(crate) failed: Option<String>,
}

/// One traced item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// The connection was accepted.
    TcpOpened,
    /// The peer shut down its side of TCP; `clean` after a completed close handshake.
    TcpClosedByPeer { clean: bool },
    /// wsecho closed the socket (`after_peer`: the peer had shut down its side first).
    TcpClosedByUs { after_peer: bool },
    /// A socket call failed.
    TcpError(String),
    /// A request or response head, line by line (without the blank line).
    HttpHead { dir: Dir, lines: Vec<String> },
    /// Bytes after a head that are no frames: a response body, a refused client's rest.
    HttpBody { dir: Dir, shown: Shown },
    /// A frame, its header as sent and its payload as shown.
    Frame {
        dir: Dir,
        fin: bool,
        rsv: u8,
        opcode: u8,
        len: u64,
        mask: Option<[u8; 4]>,
        /// A close frame's code and reason, decoded.
        close: Option<(u16, String)>,
        shown: Shown,
        /// Its payload is part of a compressed message (permessage-deflate).
        compressed: bool,
        /// Under a compressed message's last frame: the message inflated.
        inflated: Option<Inflated>,
    },
    /// The bytes of one read or write (`--trace-octets`).
    Octets { dir: Dir, shown: Shown },
    /// The protocol core failed the connection: the close code and reason it sent, and
    /// where in the client's bytes the violation was.
    Failed {
        code: u16,
        reason: String,
        at: Location,
    },
    /// A time limit passed.
    TimedOut { during: String },
    /// wsecho resets the connection, as the request asked (`?abort`).
    Aborted,
    /// The connection speaks HTTP/2: h2 chosen by ALPN (`tls`), or h2c with prior
    /// knowledge; its streams are traced each on its own (`sN`).
    Http2 { tls: bool },
    /// An HTTP/2 stream's END_STREAM: RFC 8441 §5 likens it to TCP's FIN.
    StreamEnded { dir: Dir },
    /// An HTTP/2 stream's RST_STREAM (RFC 8441 §5: its TCP reset), with its error code.
    StreamReset { dir: Dir, code: String },
    /// Lines the trace could not keep up with and dropped.
    Dropped { lines: u64 },
}

/// The prefix of every line of one connection: its id and the peer's address.
pub(crate) struct Origin<'a> {
    pub(crate) conn: u64,
    pub(crate) peer: &'a str,
    /// The HTTP/2 stream the item belongs to (RFC 8441), none for the connection's own.
    pub(crate) stream: Option<u32>,
}

/// Appends `item`, numbered `seq`, as Autobahn-style text lines.
pub(crate) fn write_text(out: &mut String, origin: &Origin<'_>, seq: u64, item: &Item) {
    let head = match origin.stream {
        None => format!("c{} {} {seq:03}", origin.conn, origin.peer),
        Some(stream) => format!("c{} {} s{stream} {seq:03}", origin.conn, origin.peer),
    };
    let more = |out: &mut String, text: &str| {
        let _ = writeln!(out, "{head}          : {text}");
    };
    match item {
        Item::TcpOpened => {
            let _ = writeln!(out, "{head} TCP OPENED");
        }
        Item::TcpClosedByPeer { clean: true } => {
            let _ = writeln!(out, "{head} TCP CLOSED BY PEER");
        }
        Item::TcpClosedByPeer { clean: false } => {
            let _ = writeln!(out, "{head} TCP DROPPED BY PEER");
        }
        Item::TcpClosedByUs { after_peer } => {
            let _ = writeln!(
                out,
                "{head} TCP CLOSED BY US{}",
                if *after_peer { " (after the peer)" } else { "" }
            );
        }
        Item::TcpError(e) => {
            let _ = writeln!(out, "{head} TCP ERROR : {}", Escaped(e));
        }
        Item::HttpHead { dir, lines } => {
            let mut lines = lines.iter();
            let first = lines.next().map_or("", String::as_str);
            let _ = writeln!(out, "{head} {} HTTP  : {}", dir.text(), Escaped(first));
            for line in lines {
                more(out, &Escaped(line).to_string());
            }
        }
        Item::HttpBody { dir, shown } => {
            let _ = writeln!(out, "{head} {} BODY  : {} bytes", dir.text(), shown.total);
            payload_lines(out, shown, more);
        }
        Item::Frame {
            dir,
            fin,
            rsv,
            opcode,
            len,
            mask,
            close,
            shown,
            compressed,
            inflated,
        } => {
            let _ = write!(
                out,
                "{head} {} FRAME : OPCODE={opcode}, FIN={}, RSV={rsv}, PAYLOAD-LEN={len}",
                dir.text(),
                if *fin { "True" } else { "False" }
            );
            if let Some(key) = mask {
                let _ = write!(out, ", MASK={}", hex(key));
            }
            if let Some((code, reason)) = close {
                let _ = write!(out, ", CLOSE={code} {}", Quoted(reason));
            }
            if *compressed {
                out.push_str(", COMPRESSED");
            }
            out.push('\n');
            payload_lines(out, shown, more);
            match inflated {
                Some(Inflated {
                    failed: Some(why), ..
                }) => more(out, &format!("({})", Escaped(why))),
                Some(Inflated {
                    shown,
                    failed: None,
                }) => {
                    more(out, &format!("message inflated: {} bytes", shown.total));
                    payload_lines(out, shown, more);
                }
                None => {}
            }
        }
        Item::Octets { dir, shown } => {
            let _ = writeln!(out, "{head} {} OCTETS: {} bytes", dir.text(), shown.total);
            payload_lines(out, shown, more);
        }
        Item::Failed { code, reason, at } => {
            let _ = writeln!(out, "{head} FAILED: {code} {} ({at})", Escaped(reason));
        }
        Item::TimedOut { during } => {
            let _ = writeln!(out, "{head} TIMED OUT: {}", Escaped(during));
        }
        Item::Aborted if origin.stream.is_some() => {
            let _ = writeln!(
                out,
                "{head} ABORT: stream reset with no close frame (?abort)"
            );
        }
        Item::Aborted => {
            let _ = writeln!(out, "{head} ABORT: TCP reset with no close frame (?abort)");
        }
        Item::Http2 { tls } => {
            let how = if *tls {
                "h2, chosen by ALPN"
            } else {
                "h2c, with prior knowledge"
            };
            let _ = writeln!(out, "{head} HTTP/2: {how}; each stream traced as sN");
        }
        Item::StreamEnded { dir } => {
            let _ = writeln!(out, "{head} {} END_STREAM", dir.text());
        }
        Item::StreamReset { dir, code } => {
            let _ = writeln!(out, "{head} {} RST_STREAM: {code}", dir.text());
        }
        Item::Dropped { lines } => {
            let _ = writeln!(
                out,
                "TRACE DROPPED: {lines} lines (the trace output could not keep up)"
            );
        }
    }
}

/// The hex line (and the text line, for text) under an item with a payload.
fn payload_lines(out: &mut String, shown: &Shown, more: impl Fn(&mut String, &str)) {
    if shown.total == 0 {
        return;
    }
    let cut = shown.total - shown.bytes.len() as u64;
    let rest = if cut > 0 {
        format!(" ... ({cut} more bytes)")
    } else {
        String::new()
    };
    more(out, &format!("{}{rest}", hex(&shown.bytes)));
    if shown.text {
        let (text, valid) = text_of(shown);
        let note = if valid { "" } else { " (not UTF-8)" };
        more(out, &format!("{}{note}", Quoted(&text)));
    }
}

/// The text of a shown payload and whether it is valid UTF-8 as far as it is shown: a
/// character the display cut in half is left out, anything else invalid is replaced.
fn text_of(shown: &Shown) -> (String, bool) {
    match std::str::from_utf8(&shown.bytes) {
        Ok(s) => (s.to_string(), true),
        Err(e) if e.error_len().is_none() && (shown.bytes.len() as u64) < shown.total => {
            let valid = &shown.bytes[..e.valid_up_to()];
            (String::from_utf8_lossy(valid).into_owned(), true)
        }
        Err(_) => (String::from_utf8_lossy(&shown.bytes).into_owned(), false),
    }
}

/// Appends `item` as one JSON object and a newline.
pub(crate) fn write_json(out: &mut String, origin: &Origin<'_>, seq: u64, item: &Item) {
    let mut o = Json::new(out);
    if !matches!(item, Item::Dropped { .. }) {
        o.num("conn", origin.conn);
        o.str("peer", origin.peer);
        if let Some(stream) = origin.stream {
            o.num("stream", u64::from(stream));
        }
        o.num("seq", seq);
    }
    match item {
        Item::TcpOpened => o.str("item", "tcp_opened"),
        Item::TcpClosedByPeer { clean } => {
            o.str(
                "item",
                if *clean {
                    "tcp_closed_by_peer"
                } else {
                    "tcp_dropped_by_peer"
                },
            );
        }
        Item::TcpClosedByUs { after_peer } => {
            o.str("item", "tcp_closed_by_us");
            o.bool("after_peer", *after_peer);
        }
        Item::TcpError(e) => {
            o.str("item", "tcp_error");
            o.str("error", e);
        }
        Item::HttpHead { dir, lines } => {
            o.str("item", &format!("{}_http", dir.json()));
            o.strs("head", lines);
        }
        Item::HttpBody { dir, shown } => {
            o.str("item", &format!("{}_body", dir.json()));
            o.payload(shown);
        }
        Item::Frame {
            dir,
            fin,
            rsv,
            opcode,
            len,
            mask,
            close,
            shown,
            compressed,
            inflated,
        } => {
            o.str("item", &format!("{}_frame", dir.json()));
            o.num("opcode", u64::from(*opcode));
            o.bool("fin", *fin);
            o.num("rsv", u64::from(*rsv));
            o.num("len", *len);
            if let Some(key) = mask {
                o.str("mask", &hex(key));
            }
            if let Some((code, reason)) = close {
                o.num("close_code", u64::from(*code));
                o.str("close_reason", reason);
            }
            o.payload(shown);
            if *compressed {
                o.bool("compressed", true);
            }
            match inflated {
                Some(Inflated {
                    failed: Some(why), ..
                }) => o.str("inflated_error", why),
                Some(Inflated {
                    shown,
                    failed: None,
                }) => o.payload_as("inflated", shown),
                None => {}
            }
        }
        Item::Octets { dir, shown } => {
            o.str("item", &format!("{}_octets", dir.json()));
            o.payload(shown);
        }
        Item::Failed { code, reason, at } => {
            o.str("item", "failed");
            o.num("close_code", u64::from(*code));
            o.str("reason", reason);
            o.num("frame", at.frame);
            o.num("frame_offset", at.frame_offset);
            if let Some((stream, message)) = at.byte {
                o.num("byte_offset", stream);
                o.num("message_offset", message);
            }
        }
        Item::TimedOut { during } => {
            o.str("item", "timed_out");
            o.str("during", during);
        }
        Item::Aborted => o.str("item", "aborted"),
        Item::Http2 { tls } => {
            o.str("item", "http2");
            o.bool("tls", *tls);
        }
        Item::StreamEnded { dir } => o.str("item", &format!("{}_end_stream", dir.json())),
        Item::StreamReset { dir, code } => {
            o.str("item", &format!("{}_rst_stream", dir.json()));
            o.str("code", code);
        }
        Item::Dropped { lines } => {
            o.str("item", "trace_dropped");
            o.num("lines", *lines);
        }
    }
    o.end();
}

/// A JSON object written field by field.
struct Json<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Json<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Json { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        crate::json::string(self.out, key);
        self.out.push(':');
    }

    fn num(&mut self, key: &str, n: u64) {
        self.key(key);
        let _ = write!(self.out, "{n}");
    }

    fn bool(&mut self, key: &str, b: bool) {
        self.key(key);
        self.out.push_str(if b { "true" } else { "false" });
    }

    fn str(&mut self, key: &str, s: &str) {
        self.key(key);
        crate::json::string(self.out, s);
    }

    fn strs(&mut self, key: &str, items: &[String]) {
        self.key(key);
        self.out.push('[');
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            crate::json::string(self.out, s);
        }
        self.out.push(']');
    }

    fn payload(&mut self, shown: &Shown) {
        self.payload_as("payload", shown);
        self.bool("truncated", (shown.bytes.len() as u64) < shown.total);
    }

    /// `<prefix>_len`, `_hex`, and for text `_text` and `_utf8`; for `inflated`, also
    /// `inflated_truncated`.
    fn payload_as(&mut self, prefix: &str, shown: &Shown) {
        self.num(&format!("{prefix}_len"), shown.total);
        self.str(&format!("{prefix}_hex"), &hex(&shown.bytes));
        if shown.text {
            let (text, valid) = text_of(shown);
            self.str(&format!("{prefix}_text"), &text);
            self.bool(&format!("{prefix}_utf8"), valid);
        }
        if prefix != "payload" {
            self.bool(
                &format!("{prefix}_truncated"),
                (shown.bytes.len() as u64) < shown.total,
            );
        }
    }

    fn end(self) {
        self.out.push_str("}\n");
    }
}

/// Lower-case hex, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: Origin<'static> = Origin {
        conn: 7,
        peer: "127.0.0.1:40000",
        stream: None,
    };

    fn text(item: &Item) -> String {
        let mut s = String::new();
        write_text(&mut s, &ORIGIN, 4, item);
        s
    }

    fn json(item: &Item) -> String {
        let mut s = String::new();
        write_json(&mut s, &ORIGIN, 4, item);
        s
    }

    #[test]
    fn an_http2_stream_item_is_marked_with_its_stream() {
        let origin = Origin {
            stream: Some(3),
            ..ORIGIN
        };
        let item = Item::StreamReset {
            dir: Dir::Tx,
            code: "Cancel".into(),
        };
        let mut line = String::new();
        write_text(&mut line, &origin, 5, &item);
        assert_eq!(line, "c7 127.0.0.1:40000 s3 005 TX RST_STREAM: Cancel\n");
        line.clear();
        write_json(&mut line, &origin, 5, &item);
        assert_eq!(
            line,
            "{\"conn\":7,\"peer\":\"127.0.0.1:40000\",\"stream\":3,\"seq\":5,\
             \"item\":\"tx_rst_stream\",\"code\":\"Cancel\"}\n"
        );
        line.clear();
        write_text(&mut line, &origin, 6, &Item::StreamEnded { dir: Dir::Rx });
        assert_eq!(line, "c7 127.0.0.1:40000 s3 006 RX END_STREAM\n");
        line.clear();
        write_text(&mut line, &origin, 7, &Item::Aborted);
        assert_eq!(
            line,
            "c7 127.0.0.1:40000 s3 007 ABORT: stream reset with no close frame (?abort)\n"
        );
        assert_eq!(
            text(&Item::Http2 { tls: false }),
            "c7 127.0.0.1:40000 004 HTTP/2: h2c, with prior knowledge; each stream traced as sN\n"
        );
        assert_eq!(
            json(&Item::Http2 { tls: true }),
            "{\"conn\":7,\"peer\":\"127.0.0.1:40000\",\"seq\":4,\"item\":\"http2\",\"tls\":true}\n"
        );
    }

    fn ping() -> Item {
        Item::Frame {
            dir: Dir::Rx,
            fin: true,
            rsv: 0,
            opcode: 9,
            len: 9,
            mask: Some([0x37, 0xfa, 0x21, 0x3d]),
            close: None,
            shown: Shown {
                bytes: b"payload-0".to_vec(),
                total: 9,
                text: false,
            },
            compressed: false,
            inflated: None,
        }
    }

    #[test]
    fn a_frame_reads_like_autobahn_with_its_payload_in_hex_below() {
        assert_eq!(
            text(&ping()),
            "c7 127.0.0.1:40000 004 RX FRAME : OPCODE=9, FIN=True, RSV=0, PAYLOAD-LEN=9, MASK=37fa213d\n\
             c7 127.0.0.1:40000 004          : 7061796c6f61642d30\n"
        );
    }

    #[test]
    fn text_is_shown_as_text_too_and_a_cut_says_how_much_is_left() {
        let item = Item::Frame {
            dir: Dir::Tx,
            fin: false,
            rsv: 0,
            opcode: 1,
            len: 10,
            mask: None,
            close: None,
            // "é" is cut in half by the display limit: the text shows what is whole.
            shown: Shown {
                bytes: b"ab\"\xc3".to_vec(),
                total: 10,
                text: true,
            },
            compressed: false,
            inflated: None,
        };
        let lines = text(&item);
        assert!(lines.contains("FIN=False"), "{lines}");
        assert!(lines.contains(": 616222c3 ... (6 more bytes)\n"), "{lines}");
        assert!(lines.ends_with(": \"ab\\\"\"\n"), "{lines}");
    }

    #[test]
    fn a_close_frame_names_its_code_and_reason() {
        let item = Item::Frame {
            dir: Dir::Tx,
            fin: true,
            rsv: 0,
            opcode: 8,
            len: 4,
            mask: None,
            close: Some((1000, "ok".into())),
            shown: Shown {
                bytes: vec![3, 0xe8, b'o', b'k'],
                total: 4,
                text: false,
            },
            compressed: false,
            inflated: None,
        };
        assert!(text(&item).contains("PAYLOAD-LEN=4, CLOSE=1000 \"ok\"\n"));
        let j = json(&item);
        assert!(
            j.contains(r#""close_code":1000,"close_reason":"ok""#),
            "{j}"
        );
    }

    #[test]
    fn json_lines_are_one_object_each_with_strings_escaped() {
        let head = Item::HttpHead {
            dir: Dir::Rx,
            lines: vec!["GET /\"x\" HTTP/1.1".into(), "X: a\u{1}b\\".into()],
        };
        let j = json(&head);
        assert_eq!(
            j,
            "{\"conn\":7,\"peer\":\"127.0.0.1:40000\",\"seq\":4,\"item\":\"rx_http\",\
             \"head\":[\"GET /\\\"x\\\" HTTP/1.1\",\"X: a\\u0001b\\\\\"]}\n"
        );
        let j = json(&ping());
        assert!(j.starts_with('{') && j.ends_with("}\n") && j.matches('\n').count() == 1);
        assert!(j.contains(r#""mask":"37fa213d""#) && j.contains(r#""truncated":false"#));
    }

    #[test]
    fn client_text_in_a_text_line_is_escaped_and_json_stays_one_line() {
        let head = Item::HttpHead {
            dir: Dir::Rx,
            lines: vec!["GET / HTTP/1.1".into(), "X: a\u{1b}[2J\u{85}b".into()],
        };
        let close = Item::Frame {
            dir: Dir::Tx,
            fin: true,
            rsv: 0,
            opcode: 8,
            len: 10,
            mask: None,
            close: Some((4000, "a\nFORGED\u{2028}".into())),
            shown: Shown {
                bytes: Vec::new(),
                total: 0,
                text: false,
            },
            compressed: false,
            inflated: None,
        };
        for item in [head, close] {
            let t = text(&item);
            assert!(
                t.lines().all(|l| l.starts_with("c7 127.0.0.1:40000 004")),
                "{t}"
            );
            assert!(!t.contains(['\u{1b}', '\u{85}', '\u{2028}']), "{t}");
            let j = json(&item);
            assert_eq!(j.matches('\n').count(), 1, "{j}");
            assert!(!j.contains(['\u{1b}', '\u{85}', '\u{2028}']), "{j}");
        }
    }

    #[test]
    fn every_tcp_and_verdict_item_has_its_line() {
        let cases = [
            (Item::TcpOpened, "TCP OPENED"),
            (
                Item::TcpClosedByPeer { clean: false },
                "TCP DROPPED BY PEER",
            ),
            (Item::TcpClosedByPeer { clean: true }, "TCP CLOSED BY PEER"),
            (
                Item::TcpClosedByUs { after_peer: false },
                "TCP CLOSED BY US\n",
            ),
            (Item::TcpError("reset".into()), "TCP ERROR : reset"),
            (
                Item::Failed {
                    code: 1007,
                    reason: "bad".into(),
                    at: Location {
                        frame: 3,
                        frame_offset: 170,
                        byte: Some((1181, 1043)),
                    },
                },
                "FAILED: 1007 bad (offset 1043 of the message, offset 1181 of the connection, frame #3)",
            ),
            (
                Item::TimedOut {
                    during: "handshake".into(),
                },
                "TIMED OUT: handshake",
            ),
        ];
        for (item, want) in cases {
            let line = text(&item);
            assert!(line.starts_with("c7 127.0.0.1:40000 004 "), "{line}");
            assert!(line.contains(want), "{line} lacks {want}");
        }
        let dropped = text(&Item::Dropped { lines: 12 });
        assert!(dropped.starts_with("TRACE DROPPED: 12 lines"), "{dropped}");
    }
}
