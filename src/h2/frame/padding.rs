//! Padding of DATA and HEADERS frames (RFC 9113 §6.1, §6.2).

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;

/// The part of `payload` that is not padding, and where it starts: all of it without
/// PADDED, else what lies between the Pad Length octet and the padding.
pub(super) fn strip(flags: Flags, payload: &[u8]) -> Result<(&[u8], usize), FrameError> {
    if !flags.contains(Flags::PADDED) {
        return Ok((payload, 0));
    }
    // §4.2: FRAME_SIZE_ERROR for a frame "too small to contain mandatory frame data".
    let Some((&pad_len, rest)) = payload.split_first() else {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §4.2: a padded frame too small to hold its Pad Length",
        ));
    };
    // §6.1: "If the length of the padding is the length of the frame payload or
    // greater, the recipient MUST treat this as a connection error of type
    // PROTOCOL_ERROR." (The Pad Length octet is part of the payload.)
    let content = rest
        .len()
        .checked_sub(usize::from(pad_len))
        .and_then(|end| rest.get(..end));
    let Some(content) = content else {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.1: padding as long as the frame payload or longer",
        ));
    };
    Ok((content, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_stripped_and_too_much_padding_is_a_connection_error() {
        assert_eq!(strip(Flags::NONE, b"abc").unwrap(), (&b"abc"[..], 0));
        assert_eq!(
            strip(Flags::PADDED, &[2, b'x', 0, 0]).unwrap(),
            (&b"x"[..], 1)
        );
        assert_eq!(strip(Flags::PADDED, &[0]).unwrap(), (&b""[..], 1));
        let e = strip(Flags::PADDED, &[3, 0, 0]).unwrap_err();
        assert_eq!(e.code, ErrorCode::ProtocolError);
        let e = strip(Flags::PADDED, &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::FrameSizeError);
    }
}
