//! The HTTP/2 frame format (RFC 9113 §4 and §6).
