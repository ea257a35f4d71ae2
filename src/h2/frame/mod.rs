//! The HTTP/2 frame format (RFC 9113 §4 and §6), one frame type a file: parsers that
//! check every rule a frame can be judged by alone, and encoders for what a server
//! sends. What depends on the connection's state is the session's to judge.

pub mod continuation;
pub mod data;
pub mod error;
pub mod error_code;
pub mod flags;
pub mod goaway;
pub mod header;
pub mod headers;
pub mod kind;
mod padding;
pub mod ping;
pub mod priority;
pub mod push_promise;
pub mod rst_stream;
pub mod settings;
pub mod stream_id;
pub mod window_update;

pub use continuation::Continuation;
pub use data::{Data, data_header};
pub use error::{FrameError, Scope};
pub use error_code::ErrorCode;
pub use flags::Flags;
pub use goaway::{GoAway, write_goaway};
pub use header::{
    DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_LEN, FrameHeader, MAX_MAX_FRAME_SIZE, write_header,
};
pub use headers::{Headers, write_headers};
pub use kind::FrameType;
pub use ping::{Ping, write_ping_ack};
pub use priority::PrioritySpec;
pub use rst_stream::{RstStream, write_rst_stream};
pub use settings::{Setting, Settings, write_settings, write_settings_ack};
pub use stream_id::StreamId;
pub use window_update::{MAX_WINDOW, WindowUpdate, write_window_update};

/// A parsed frame, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// DATA.
    Data(Data),
    /// HEADERS.
    Headers(Headers<'a>),
    /// PRIORITY: checked, then ignored.
    Priority(StreamId),
    /// RST_STREAM.
    RstStream(RstStream),
    /// SETTINGS.
    Settings(Settings<'a>),
    /// PING.
    Ping(Ping),
    /// GOAWAY.
    GoAway(GoAway),
    /// WINDOW_UPDATE.
    WindowUpdate(WindowUpdate),
    /// CONTINUATION.
    Continuation(Continuation<'a>),
    /// A type we do not know, to be ignored (§4.1, §5.5).
    Unknown,
}

impl<'a> Frame<'a> {
    /// Parses a whole frame's payload as a server receives it. The caller has checked
    /// the length against its SETTINGS_MAX_FRAME_SIZE.
    pub fn parse(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        Ok(match header.kind {
            FrameType::Data => Frame::Data(data::parse(header, payload)?),
            FrameType::Headers => Frame::Headers(headers::parse(header, payload)?),
            FrameType::Priority => {
                priority::parse(header, payload)?;
                Frame::Priority(header.stream)
            }
            FrameType::RstStream => Frame::RstStream(rst_stream::parse(header, payload)?),
            FrameType::Settings => Frame::Settings(settings::parse(header, payload)?),
            FrameType::PushPromise => return Err(push_promise::refuse()),
            FrameType::Ping => Frame::Ping(ping::parse(header, payload)?),
            FrameType::GoAway => Frame::GoAway(goaway::parse(header, payload)?),
            FrameType::WindowUpdate => Frame::WindowUpdate(window_update::parse(header, payload)?),
            FrameType::Continuation => Frame::Continuation(continuation::parse(header, payload)?),
            FrameType::Unknown(_) => Frame::Unknown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_types_parse_to_nothing_and_push_promise_is_refused() {
        let h = FrameHeader {
            length: 3,
            kind: FrameType::Unknown(0xfa),
            flags: Flags(0xff),
            stream: StreamId::new(0),
        };
        assert_eq!(Frame::parse(&h, b"abc"), Ok(Frame::Unknown));
        let push = FrameHeader {
            kind: FrameType::PushPromise,
            stream: StreamId::new(1),
            ..h
        };
        let e = Frame::parse(&push, &[0, 0, 0, 2]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Connection, ErrorCode::ProtocolError)
        );
    }
}
