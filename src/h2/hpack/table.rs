//! The static and dynamic tables (RFC 7541 §2.3, §4, Appendix A).

use std::collections::VecDeque;

/// Appendix A: the static table, index 1 first.
pub(crate) const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// §4.1: "The size of an entry is the sum of its name's length in octets ..., its
/// value's length in octets, and 32."
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// The dynamic table: newest entry first (index 62).
#[derive(Debug, Default)]
pub(crate) struct Dynamic {
    /// Each entry's name and value in one allocation, with the name's length.
    entries: VecDeque<(Box<[u8]>, usize)>,
    /// §4.1: the sum of the entries' sizes.
    size: usize,
    /// The maximum size in force (§4.2), set by the encoder's size updates.
    max: usize,
}

impl Dynamic {
    pub(crate) fn new(max: usize) -> Self {
        Dynamic {
            max,
            ..Dynamic::default()
        }
    }

    /// Entry `index` counted from 0, newest first.
    pub(crate) fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.entries
            .get(index)
            .map(|(bytes, name_len)| bytes.split_at(*name_len))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// §4.3: a new maximum size; entries are evicted until the table fits it.
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
        self.evict_to(max);
    }

    /// §4.4: adds an entry, evicting the oldest first to make room. "an attempt to
    /// add an entry larger than the maximum size causes the table to be emptied of
    /// all existing entries and results in an empty table."
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        if size > self.max {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max - size);
        let mut bytes = Vec::with_capacity(name.len() + value.len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(value);
        self.entries
            .push_front((bytes.into_boxed_slice(), name.len()));
        self.size += size;
    }

    fn evict_to(&mut self, room: usize) {
        while self.size > room {
            let Some((bytes, _)) = self.entries.pop_back() else {
                self.size = 0;
                return;
            };
            self.size -= bytes.len() + ENTRY_OVERHEAD;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_table_is_appendix_a() {
        assert_eq!(STATIC[0], (&b":authority"[..], &b""[..]));
        assert_eq!(STATIC[7], (&b":status"[..], &b"200"[..]));
        assert_eq!(STATIC[15], (&b"accept-encoding"[..], &b"gzip, deflate"[..]));
        assert_eq!(STATIC[60], (&b"www-authenticate"[..], &b""[..]));
    }

    #[test]
    fn eviction_keeps_the_size_under_the_maximum() {
        let mut t = Dynamic::new(100);
        t.insert(b"a", b"1"); // 34
        t.insert(b"b", b"2"); // 68
        assert_eq!((t.len(), t.size()), (2, 68));
        t.insert(b"c", b"3"); // evicts "a"
        assert_eq!((t.len(), t.size()), (2, 68));
        assert_eq!(t.get(0), Some((&b"c"[..], &b"3"[..])));
        assert_eq!(t.get(1), Some((&b"b"[..], &b"2"[..])));
        // An entry larger than the table empties it.
        t.insert(&[b'x'; 80], b"");
        assert_eq!((t.len(), t.size()), (0, 0));
        t.insert(b"d", b"4");
        t.set_max(10);
        assert_eq!((t.len(), t.size()), (0, 0));
    }
}
