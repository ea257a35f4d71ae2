//! SETTINGS frames and their parameters (RFC 9113 §6.5; RFC 8441 §3).

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{DEFAULT_MAX_FRAME_SIZE, FrameHeader, MAX_MAX_FRAME_SIZE, write_header};
use super::kind::FrameType;
use super::stream_id::StreamId;
use super::window_update::MAX_WINDOW;

/// One identifier and its value.
const ENTRY_LEN: usize = 6;

/// A setting, its value checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    /// SETTINGS_HEADER_TABLE_SIZE (0x1): the largest HPACK table the sender decodes with.
    HeaderTableSize(u32),
    /// SETTINGS_ENABLE_PUSH (0x2), 0 or 1.
    EnablePush(bool),
    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
    MaxConcurrentStreams(u32),
    /// SETTINGS_INITIAL_WINDOW_SIZE (0x4), at most 2^31−1.
    InitialWindowSize(u32),
    /// SETTINGS_MAX_FRAME_SIZE (0x5), 2^14 to 2^24−1.
    MaxFrameSize(u32),
    /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6), advisory.
    MaxHeaderListSize(u32),
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8, RFC 8441 §3), 0 or 1.
    EnableConnectProtocol(bool),
    /// Any other identifier. §6.5.2: "An endpoint that receives a SETTINGS frame with
    /// any unknown or unsupported identifier MUST ignore that setting."
    Unknown {
        /// The identifier.
        id: u16,
        /// The value.
        value: u32,
    },
}

impl Setting {
    /// Decodes one setting and checks its value.
    pub(crate) fn decode(id: u16, value: u32) -> Result<Setting, FrameError> {
        Ok(match id {
            0x1 => Setting::HeaderTableSize(value),
            // §6.5.2: "Any value other than 0 or 1 MUST be treated as a connection error
            // of type PROTOCOL_ERROR."
            0x2 => Setting::EnablePush(flag(
                value,
                "RFC 9113 §6.5.2: SETTINGS_ENABLE_PUSH other than 0 or 1",
            )?),
            0x3 => Setting::MaxConcurrentStreams(value),
            0x4 => {
                // §6.5.2: "Values above the maximum flow-control window size of 2^31-1
                // MUST be treated as a connection error of type FLOW_CONTROL_ERROR."
                if value > MAX_WINDOW {
                    return Err(FrameError::connection(
                        ErrorCode::FlowControlError,
                        "RFC 9113 §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                    ));
                }
                Setting::InitialWindowSize(value)
            }
            0x5 => {
                // §6.5.2: "Values outside this range MUST be treated as a connection
                // error of type PROTOCOL_ERROR."
                if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) {
                    return Err(FrameError::connection(
                        ErrorCode::ProtocolError,
                        "RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1",
                    ));
                }
                Setting::MaxFrameSize(value)
            }
            0x6 => Setting::MaxHeaderListSize(value),
            // RFC 8441 §3: "The value of the parameter MUST be 0 or 1."
            0x8 => Setting::EnableConnectProtocol(flag(
                value,
                "RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL other than 0 or 1",
            )?),
            id => Setting::Unknown { id, value },
        })
    }

    /// The identifier and value on the wire.
    pub(crate) fn encode(self) -> (u16, u32) {
        match self {
            Setting::HeaderTableSize(v) => (0x1, v),
            Setting::EnablePush(on) => (0x2, u32::from(on)),
            Setting::MaxConcurrentStreams(v) => (0x3, v),
            Setting::InitialWindowSize(v) => (0x4, v),
            Setting::MaxFrameSize(v) => (0x5, v),
            Setting::MaxHeaderListSize(v) => (0x6, v),
            Setting::EnableConnectProtocol(on) => (0x8, u32::from(on)),
            Setting::Unknown { id, value } => (id, value),
        }
    }
}

/// A boolean setting.
fn flag(value: u32, reason: &'static str) -> Result<bool, FrameError> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(FrameError::connection(ErrorCode::ProtocolError, reason)),
    }
}

/// A SETTINGS frame, its entries still in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings<'a> {
    /// ACK: the peer applied our settings; no entries.
    pub ack: bool,
    entries: &'a [u8],
}

impl<'a> Settings<'a> {
    /// The settings, in order (§6.5.3: they "MUST be processed in the order they
    /// appear"), each value checked as it comes.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Result<Setting, FrameError>> + 'a {
        // `parse` checked that the entries fill the payload exactly.
        let (entries, _) = self.entries.as_chunks::<ENTRY_LEN>();
        entries.iter().map(|&[i0, i1, v0, v1, v2, v3]| {
            Setting::decode(
                u16::from_be_bytes([i0, i1]),
                u32::from_be_bytes([v0, v1, v2, v3]),
            )
        })
    }
}

/// Parses a SETTINGS frame's payload: stream and lengths here, values by
/// [`Settings::iter`].
pub(crate) fn parse<'a>(
    header: &FrameHeader,
    payload: &'a [u8],
) -> Result<Settings<'a>, FrameError> {
    // §6.5: "If an endpoint receives a SETTINGS frame whose Stream Identifier field is
    // anything other than 0x00, the endpoint MUST respond with a connection error of
    // type PROTOCOL_ERROR."
    if !header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.5: SETTINGS on a stream other than 0",
        ));
    }
    let ack = header.flags.contains(Flags::ACK);
    // §6.5: "Receipt of a SETTINGS frame with the ACK flag set and a length field value
    // other than 0 MUST be treated as a connection error of type FRAME_SIZE_ERROR."
    if ack && !payload.is_empty() {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §6.5: SETTINGS ack with a payload",
        ));
    }
    // §6.5: "A SETTINGS frame with a length other than a multiple of 6 octets MUST be
    // treated as a connection error of type FRAME_SIZE_ERROR."
    if !payload.len().is_multiple_of(ENTRY_LEN) {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §6.5: SETTINGS length not a multiple of 6",
        ));
    }
    Ok(Settings {
        ack,
        entries: payload,
    })
}

/// Appends a SETTINGS frame carrying `settings`.
pub(crate) fn write_settings(out: &mut Vec<u8>, settings: &[Setting]) {
    write_header(
        out,
        settings.len() * ENTRY_LEN,
        FrameType::Settings,
        Flags::NONE,
        StreamId::CONNECTION,
    );
    for setting in settings {
        let (id, value) = setting.encode();
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends a SETTINGS ack: §6.5.3, "the recipient MUST immediately emit a SETTINGS
/// frame with the ACK flag set".
pub(crate) fn write_settings_ack(out: &mut Vec<u8>) {
    write_header(
        out,
        0,
        FrameType::Settings,
        Flags::ACK,
        StreamId::CONNECTION,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::FRAME_HEADER_LEN;

    fn read(bytes: &[u8]) -> Result<Vec<Setting>, FrameError> {
        let h = FrameHeader::parse(bytes).unwrap();
        parse(&h, &bytes[FRAME_HEADER_LEN..])?.iter().collect()
    }

    #[test]
    fn every_setting_round_trips_in_order() {
        let all = [
            Setting::HeaderTableSize(4096),
            Setting::EnablePush(false),
            Setting::MaxConcurrentStreams(100),
            Setting::InitialWindowSize(MAX_WINDOW),
            Setting::MaxFrameSize(MAX_MAX_FRAME_SIZE),
            Setting::MaxHeaderListSize(16384),
            Setting::EnableConnectProtocol(true),
            Setting::Unknown { id: 0x99, value: 7 },
        ];
        let mut out = Vec::new();
        write_settings(&mut out, &all);
        assert_eq!(read(&out).unwrap(), all);
    }

    #[test]
    fn values_out_of_range_are_connection_errors_with_their_codes() {
        let cases = [
            (
                Setting::Unknown { id: 2, value: 2 },
                ErrorCode::ProtocolError,
            ),
            (
                Setting::Unknown {
                    id: 4,
                    value: MAX_WINDOW + 1,
                },
                ErrorCode::FlowControlError,
            ),
            (
                Setting::Unknown {
                    id: 5,
                    value: DEFAULT_MAX_FRAME_SIZE - 1,
                },
                ErrorCode::ProtocolError,
            ),
            (
                Setting::Unknown {
                    id: 5,
                    value: MAX_MAX_FRAME_SIZE + 1,
                },
                ErrorCode::ProtocolError,
            ),
            (
                Setting::Unknown { id: 8, value: 2 },
                ErrorCode::ProtocolError,
            ),
        ];
        for (raw, code) in cases {
            let mut out = Vec::new();
            write_settings(&mut out, &[raw]);
            let e = read(&out).unwrap_err();
            assert_eq!(
                (e.scope, e.code),
                (crate::h2::frame::Scope::Connection, code)
            );
        }
    }

    #[test]
    fn framing_rules() {
        let mut ack = Vec::new();
        write_settings_ack(&mut ack);
        let h = FrameHeader::parse(&ack).unwrap();
        assert!(parse(&h, &[]).unwrap().ack);
        assert_eq!(
            parse(&h, &[0; 6]).unwrap_err().code,
            ErrorCode::FrameSizeError
        );
        let plain = FrameHeader {
            flags: Flags::NONE,
            ..h
        };
        assert_eq!(
            parse(&plain, &[0; 5]).unwrap_err().code,
            ErrorCode::FrameSizeError
        );
        let on_stream = FrameHeader {
            stream: StreamId::new(1),
            ..plain
        };
        assert_eq!(
            parse(&on_stream, &[]).unwrap_err().code,
            ErrorCode::ProtocolError
        );
    }
}
