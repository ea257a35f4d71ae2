//! HPACK (RFC 7541): header blocks decoded strictly, responses encoded.
