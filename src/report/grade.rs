//! The grades Autobahn gives a case, once for what the peer did (`behavior`) and once for
//! how the connection closed (`behaviorClose`), spelled as Autobahn spells them
//! (`autobahntestsuite/case/case.py`).

use std::fmt;
use std::str::FromStr;

use crate::escape::Quoted;

/// One grade of a case, for `behavior` or `behaviorClose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Grade {
    /// `OK`: the peer did what the case expects.
    Ok,
    /// `NON-STRICT`: allowed, though not what the RFC asks for most strictly.
    NonStrict,
    /// `INFORMATIONAL`: the case only records what happened.
    Informational,
    /// `UNIMPLEMENTED`: the peer lacks the feature (e.g. permessage-deflate).
    Unimplemented,
    /// `FAILED`: the peer did something the case forbids.
    Failed,
    /// `WRONG CODE`: the connection closed with the wrong close code.
    WrongCode,
    /// `UNCLEAN`: the connection ended without a clean close handshake.
    Unclean,
    /// `FAILED BY CLIENT`: the client failed the connection in a case where it should not.
    FailedByClient,
}

impl Grade {
    /// Every grade, in the order above (passing first).
    pub(crate) const ALL: [Grade; 8] = [
        Grade::Ok,
        Grade::NonStrict,
        Grade::Informational,
        Grade::Unimplemented,
        Grade::Failed,
        Grade::WrongCode,
        Grade::Unclean,
        Grade::FailedByClient,
    ];

    /// Autobahn's spelling: `OK`, `NON-STRICT`, `WRONG CODE`, ...
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Grade::Ok => "OK",
            Grade::NonStrict => "NON-STRICT",
            Grade::Informational => "INFORMATIONAL",
            Grade::Unimplemented => "UNIMPLEMENTED",
            Grade::Failed => "FAILED",
            Grade::WrongCode => "WRONG CODE",
            Grade::Unclean => "UNCLEAN",
            Grade::FailedByClient => "FAILED BY CLIENT",
        }
    }

    /// OK, NON-STRICT and INFORMATIONAL pass (Autobahn's report shows them green);
    /// the others do not.
    pub(crate) fn is_passing(self) -> bool {
        matches!(self, Grade::Ok | Grade::NonStrict | Grade::Informational)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A string that is none of Autobahn's grades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownGrade(pub String);

impl fmt::Display for UnknownGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a grade (Autobahn's are ", Quoted(&self.0))?;
        for (i, grade) in Grade::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{grade}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownGrade {}

impl FromStr for Grade {
    type Err = UnknownGrade;

    /// Autobahn's exact spelling, upper case and all.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Grade::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| UnknownGrade(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grade_reads_back_from_its_spelling() {
        for grade in Grade::ALL {
            assert_eq!(grade.as_str().parse::<Grade>(), Ok(grade));
            assert_eq!(grade.to_string(), grade.as_str());
        }
        assert_eq!("WRONG CODE".parse(), Ok(Grade::WrongCode));
        assert_eq!("FAILED BY CLIENT".parse(), Ok(Grade::FailedByClient));
        assert_eq!("NON-STRICT".parse(), Ok(Grade::NonStrict));
    }

    #[test]
    fn only_the_exact_spelling_is_a_grade() {
        for s in [
            "ok",
            "Ok",
            " OK",
            "OK ",
            "NON_STRICT",
            "WRONG_CODE",
            "",
            "PASSED",
        ] {
            assert!(s.parse::<Grade>().is_err(), "{s:?}");
        }
    }

    #[test]
    fn ok_non_strict_and_informational_pass() {
        let passing: Vec<Grade> = Grade::ALL.into_iter().filter(|g| g.is_passing()).collect();
        assert_eq!(passing, [Grade::Ok, Grade::NonStrict, Grade::Informational]);
    }

    #[test]
    fn an_unknown_grade_is_named_escaped_with_the_known_ones() {
        let e = "bad\n\"x".parse::<Grade>().unwrap_err().to_string();
        assert!(e.starts_with(r#""bad\n\"x" is not a grade"#), "{e}");
        assert!(
            e.contains("OK, NON-STRICT,") && e.ends_with("FAILED BY CLIENT)"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }
}
