//! A minimal slab: connections live in one vector, addressed by the mio token's index,
//! with freed slots reused so tokens stay small and lookups are one index.

pub(super) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
}

/// The slots' first block, in bytes: above the allocator's threshold for giving an
/// allocation a mapping of its own (glibc's starts at 128 KiB), so that the vector
/// grows by remapping, its pages resident only once connections use them. Grown from
/// empty on the heap instead, each doubling left the block before it behind, touched
/// and free: about 170 KiB of resident memory for good once a thousand connections
/// had come.
const FIRST_BLOCK: usize = 256 << 10;

impl<T> Slab<T> {
    pub(super) fn new() -> Self {
        let slot = std::mem::size_of::<Option<T>>().max(1);
        Slab {
            slots: Vec::with_capacity(FIRST_BLOCK / slot),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn insert(&mut self, value: T) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(value);
                i
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        }
    }

    pub(super) fn get(&self, i: usize) -> Option<&T> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    pub(super) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.slots.get_mut(i).and_then(Option::as_mut)
    }

    pub(super) fn remove(&mut self, i: usize) -> Option<T> {
        let value = self.slots.get_mut(i).and_then(Option::take);
        if value.is_some() {
            self.free.push(i);
            self.len -= 1;
        }
        value
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Indices of the occupied slots.
    pub(super) fn keys(&self) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|_| i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused() {
        let mut s = Slab::new();
        let a = s.insert("a");
        let b = s.insert("b");
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.insert("c"), a);
        assert_eq!(s.get_mut(b), Some(&mut "b"));
        assert_eq!(s.len(), 2);
        assert_eq!(s.keys(), vec![a, b]);
    }

    #[test]
    fn the_first_block_is_large_enough_for_a_mapping_of_its_own() {
        let s: Slab<[u64; 21]> = Slab::new();
        let bytes = s.slots.capacity() * std::mem::size_of::<Option<[u64; 21]>>();
        assert!(bytes > 128 << 10, "{bytes} B");
        assert!(bytes <= FIRST_BLOCK, "{bytes} B");
    }
}
