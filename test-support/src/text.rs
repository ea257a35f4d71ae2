//! Compressible text as WebSocket applications send it: English-like prose, words drawn
//! from a fixed vocabulary with Zipf's law (the most common word about twice as often as
//! the second), capitalised sentences, punctuation, numbers, and the odd non-ASCII word.
//! Deterministic per seed, so a benchmark's limit program and its client send the same
//! bytes. zlib at level 6 makes 1 KiB of it about 420 bytes and 64 KiB about 24.6 KB,
//! close to what it does with English prose, not the almost nothing a repeated word
//! compresses to.

/// The vocabulary, most common first (so that rank = order, for Zipf's law): common
/// English words, then some a chat or log message would carry, then a few with non-ASCII
/// letters so that text is not all ASCII.
const WORDS: &str = "\
    the of and to a in is it you that he was for on are with as I his they be at one \
    have this from or had by not word but what some we can out other were all there when \
    up use your how said an each she which do their time if will way about many then \
    them write would like so these her long make thing see him two has look more day \
    could go come did number sound no most people my over know water than call first who \
    may down side been now find any new work part take get place made live where after \
    back little only round man year came show every good me give our under name very \
    through just form sentence great think say help low line differ turn cause much mean \
    before move right boy old too same tell does set three want air well also play small \
    end put home read hand port large spell add even land here must big high such follow \
    act why ask men change went light kind off need house picture try us again animal \
    point mother world near build self earth father head stand own page should country \
    found answer school grow study still learn plant cover food sun four between state \
    keep eye never last let thought city tree cross farm hard start might story saw far \
    sea draw left late run while press close night real life few north server client \
    message connection socket frame buffer request response update channel status event \
    user session timeout error retry payload stream window latency deploy config café \
    naïve déjà über señor Zürich € —";

/// Ends of sentences, most common first.
const ENDS: &[&str] = &[". ", ". ", ". ", ". ", ", ", "? ", "! ", ": ", "; ", ".\n"];

/// A xorshift64* generator: fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Zipf's law over `WORDS`: the cumulative weight 1/(rank+1) up to each word, scaled to
/// `u32` so that a uniform draw picks a word with one binary search.
fn zipf_table(words: usize) -> Vec<u32> {
    let total: f64 = (1..=words).map(|r| 1.0 / r as f64).sum();
    let mut acc = 0.0;
    (1..=words)
        .map(|r| {
            acc += 1.0 / r as f64;
            (acc / total * f64::from(u32::MAX)) as u32
        })
        .collect()
}

/// `len` bytes of prose, valid UTF-8, the same for the same `seed`. Different seeds give
/// different text over the same vocabulary, as the messages of one application are.
pub fn prose(seed: u64, len: usize) -> String {
    let words: Vec<&str> = WORDS.split_ascii_whitespace().collect();
    let table = zipf_table(words.len());
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut out = String::with_capacity(len + 32);
    let mut sentence_start = true;
    let mut words_left = 0u64;
    while out.len() < len {
        if words_left == 0 {
            words_left = 4 + rng.next() % 14;
        }
        let r = rng.next();
        if r.is_multiple_of(23) {
            // Numbers: counts, ids, times.
            out.push_str(&(rng.next() % 10_000).to_string());
        } else {
            let draw = (r >> 32) as u32;
            let i = table.partition_point(|&c| c < draw).min(words.len() - 1);
            let word = words[i];
            if sentence_start {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(chars.as_str());
                }
            } else {
                out.push_str(word);
            }
        }
        words_left -= 1;
        sentence_start = words_left == 0;
        if sentence_start {
            out.push_str(ENDS[(rng.next() % ENDS.len() as u64) as usize]);
        } else {
            out.push(' ');
        }
    }
    // Cut to exactly `len` bytes on a character boundary, padding with spaces.
    let mut cut = len;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    while out.len() < len {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_length_valid_utf8_and_deterministic() {
        for len in [0, 1, 7, 100, 1024, 65_536] {
            for seed in [0, 1, 42] {
                let a = prose(seed, len);
                assert_eq!(a.len(), len);
                assert_eq!(a, prose(seed, len));
            }
        }
        assert_ne!(prose(1, 1024), prose(2, 1024));
        let long = prose(3, 65_536);
        assert!(long.bytes().any(|b| b >= 0x80), "some non-ASCII text");
        assert!(long.contains(". "));
    }

    #[test]
    fn common_words_come_first() {
        let text = prose(7, 200_000);
        let count = |w: &str| text.split(' ').filter(|x| *x == w).count();
        assert!(count("the") > count("of"));
        assert!(count("of") > 3 * count("world"));
    }
}
