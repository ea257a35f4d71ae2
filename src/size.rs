//! Sizes on the command line: plain bytes, or a number with a binary unit (`64KiB`,
//! `16MiB`, `1GiB`), as the README and `--help` write them.

use std::fmt;
use std::str::FromStr;

/// A size in bytes, read from `123`, `123B`, `64KiB`, `16MiB` or `1GiB` (units in any
/// case; `K`, `M` and `G` are taken as their binary units too), and shown with the
/// largest unit that divides it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

/// The units, largest first.
const UNITS: [(&str, u32); 3] = [("GiB", 30), ("MiB", 20), ("KiB", 10)];

impl FromStr for Bytes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?} is not a size: bytes, or a whole number with KiB, MiB or GiB (e.g. 64MiB)"
            )
        };
        let t = s.trim();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(digits);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kib" => 10,
            "m" | "mib" => 20,
            "g" | "gib" => 30,
            decimal @ ("kb" | "mb" | "gb") => return Err(refuse_decimal(s, number, decimal)),
            _ => return Err(bad()),
        };
        number
            .checked_mul(1 << shift)
            .map(Bytes)
            .ok_or_else(|| format!("{s:?} is too large"))
    }
}

/// The error for a decimal unit (`kB`, `MB`, `GB`, in any case): refused by name rather
/// than read as its binary namesake, which `64MB` would silently be 4.6 % off.
fn refuse_decimal(s: &str, number: u64, unit: &str) -> String {
    let (binary, decimal_exp, binary_exp) = match unit {
        "kb" => ("KiB", 3, 10),
        "mb" => ("MiB", 6, 20),
        _ => ("GiB", 9, 30),
    };
    let shown = &s.trim()[s.trim().len() - unit.len()..];
    format!(
        "{s:?} is not a size: {shown} is a decimal unit (10^{decimal_exp} bytes), refused \
         rather than read as {binary} (2^{binary_exp} bytes); write {number}{binary}, or bytes"
    )
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, shift) in UNITS {
            if self.0 != 0 && self.0.is_multiple_of(1 << shift) {
                return write!(f, "{}{name}", self.0 >> shift);
            }
        }
        write!(f, "{}", self.0)
    }
}

impl Bytes {
    /// As a `usize` (sizes of buffers in memory), or an error naming `flag`.
    pub fn to_usize(self, flag: &str) -> Result<usize, String> {
        usize::try_from(self.0)
            .map_err(|_| format!("--{flag} {self} is too large for this machine"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read_and_shown() {
        for (text, bytes) in [
            ("0", 0),
            ("123", 123),
            ("123B", 123),
            ("64KiB", 64 << 10),
            ("64kib", 64 << 10),
            ("64K", 64 << 10),
            ("16MiB", 16 << 20),
            ("16 MiB", 16 << 20),
            ("1GiB", 1 << 30),
            ("3g", 3 << 30),
        ] {
            assert_eq!(text.parse::<Bytes>(), Ok(Bytes(bytes)), "{text}");
        }
        assert_eq!(Bytes(64 << 20).to_string(), "64MiB");
        assert_eq!(Bytes(1536).to_string(), "1536");
        assert_eq!(Bytes(3 << 10).to_string(), "3KiB");
        assert_eq!(Bytes(0).to_string(), "0");
        for bad in ["", "MiB", "-1", "1.5MiB", "64MB", "64 kb", "1e6"] {
            let err = bad.parse::<Bytes>().unwrap_err();
            assert!(err.contains("not a size"), "{bad}: {err}");
        }
        assert!(
            "99999999999GiB"
                .parse::<Bytes>()
                .unwrap_err()
                .contains("too large")
        );
    }
}
