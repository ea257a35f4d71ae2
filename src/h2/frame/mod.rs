//! The HTTP/2 frame format (RFC 9113 §4 and §6), one frame type a file: parsers that
//! check every rule a frame can be judged by alone, and encoders for what a server
//! sends. What depends on the connection's state is the session's to judge.

pub(crate) mod continuation;
pub(crate) mod data;
pub(crate) mod error;
pub(crate) mod error_code;
pub(crate) mod flags;
pub(crate) mod goaway;
pub(crate) mod header;
pub(crate) mod headers;
pub(crate) mod kind;
mod padding;
pub(crate) mod ping;
pub(crate) mod priority;
pub(crate) mod push_promise;
pub(crate) mod rst_stream;
pub(crate) mod settings;
pub(crate) mod stream_id;
pub(crate) mod window_update;

pub(crate) use continuation::Continuation;
pub(crate) use data::{Data, data_header};
pub(crate) use error::{FrameError, Scope};
pub use error_code::ErrorCode;
pub(crate) use flags::Flags;
pub(crate) use goaway::{GoAway, write_goaway};
pub(crate) use header::{
    DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_LEN, FrameHeader, MAX_MAX_FRAME_SIZE,
};
pub(crate) use headers::{Headers, write_headers};
pub(crate) use kind::FrameType;
pub(crate) use ping::{Ping, write_ping_ack};
pub(crate) use priority::PrioritySpec;
pub(crate) use rst_stream::{RstStream, write_rst_stream};
pub(crate) use settings::{Setting, Settings, write_settings, write_settings_ack};
pub(crate) use stream_id::StreamId;
pub(crate) use window_update::{MAX_WINDOW, WindowUpdate, write_window_update};

/// A parsed frame, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
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
    pub(crate) fn parse(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
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
