//! What a case expects and how it is graded, as Autobahn's `Case` class does it: the
//! case lists what it may receive for each grade, the peer records what came (messages,
//! pongs, the case's own timeout marks), and when the connection is gone the two are
//! compared, and the close checked against what the case expected of it.

use sha1::{Digest, Sha1};

use super::peer::Facts;
pub(crate) use crate::report::Grade;

/// The most of a payload kept to be shown (Autobahn's reports show 64 bytes).
pub(crate) const SHOWN: usize = 64;

/// A payload as the grading needs it: equal when the bytes are (length and SHA-1), with
/// its start kept to be shown. Messages of megabytes are compared without being kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payload {
    pub(crate) len: u64,
    pub(crate) digest: [u8; 20],
    /// The first [`SHOWN`] bytes.
    pub(crate) head: Vec<u8>,
}

impl Payload {
    pub(crate) fn of(bytes: &[u8]) -> Payload {
        let mut d = PayloadDigest::default();
        d.update(bytes);
        d.finish()
    }

    /// `pattern` repeated to `len` bytes (Autobahn's `payload_len`).
    #[cfg_attr(not(test), expect(dead_code, reason = "group 9 expects so"))]
    pub(crate) fn repeated(pattern: &[u8], len: usize) -> Payload {
        let mut d = PayloadDigest::default();
        let mut left = len;
        while left > 0 && !pattern.is_empty() {
            let n = left.min(pattern.len());
            d.update(&pattern[..n]);
            left -= n;
        }
        d.finish()
    }
}

/// A [`Payload`] taken in as its bytes arrive.
#[derive(Default)]
pub(crate) struct PayloadDigest {
    sha: Sha1,
    len: u64,
    head: Vec<u8>,
}

impl PayloadDigest {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.len += bytes.len() as u64;
        if self.head.len() < SHOWN {
            let n = (SHOWN - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
        }
    }

    pub(crate) fn finish(self) -> Payload {
        Payload {
            len: self.len,
            digest: self.sha.finalize().into(),
            head: self.head,
        }
    }
}

/// One thing the peer received, or a mark the case made (Autobahn's `received` list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Obs {
    Message {
        payload: Payload,
        binary: bool,
    },
    Pong(Payload),
    /// The case waited and the connection was still open: its tag.
    Timeout(&'static str),
}

impl Obs {
    pub(crate) fn text(payload: &[u8]) -> Obs {
        Obs::Message {
            payload: Payload::of(payload),
            binary: false,
        }
    }

    pub(crate) fn binary(payload: &[u8]) -> Obs {
        Obs::Message {
            payload: Payload::of(payload),
            binary: true,
        }
    }

    pub(crate) fn pong(payload: &[u8]) -> Obs {
        Obs::Pong(Payload::of(payload))
    }
}

/// How the case expects the connection to close (Autobahn's `expectedClose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpectedClose {
    /// Whether we (the fuzzing peer) start the close handshake.
    pub(crate) closed_by_me: bool,
    /// The close codes the other side may send (its first is the one we close with when
    /// the case is done).
    pub(crate) codes: Vec<u16>,
    /// Whether the close must be clean (a close handshake, then TCP closed).
    pub(crate) require_clean: bool,
    /// The UTF-8 cases: closed by the wrong side means the invalid text went unnoticed,
    /// and fails the case itself.
    pub(crate) wrong_side_is_fatal: bool,
}

impl ExpectedClose {
    /// We close with `code` once what was expected came; the close must be clean.
    pub(crate) fn by_me(code: u16) -> ExpectedClose {
        ExpectedClose {
            closed_by_me: true,
            codes: vec![code],
            require_clean: true,
            wrong_side_is_fatal: false,
        }
    }

    /// The other side must fail the connection, with one of `codes`; a dropped TCP
    /// connection is allowed.
    pub(crate) fn by_peer(codes: &[u16]) -> ExpectedClose {
        ExpectedClose {
            closed_by_me: false,
            codes: codes.to_vec(),
            require_clean: false,
            wrong_side_is_fatal: false,
        }
    }
}

/// The case's state, as Autobahn's `Case` keeps it.
pub(crate) struct CaseState {
    pub(crate) expected: Vec<(Grade, Vec<Obs>)>,
    pub(crate) expected_close: ExpectedClose,
    pub(crate) received: Vec<Obs>,
    /// The grade when no expected list matches (cases that grade themselves set it).
    pub(crate) behavior: Grade,
    pub(crate) result: String,
    /// The case sends a bad close itself: received messages do not close.
    pub(crate) suppress_close: bool,
    /// The case's duration belongs in its report.
    pub(crate) report_time: bool,
    /// Its compression ratios do too (the compression cases).
    pub(crate) report_compression_ratio: bool,
    /// What went each way when the case's exchange ended, for the report (Autobahn's
    /// `trafficStats`, taken by the compression cases).
    pub(crate) traffic: Option<super::traffic::Traffic>,
}

impl Default for CaseState {
    fn default() -> CaseState {
        CaseState {
            expected: Vec::new(),
            expected_close: ExpectedClose::by_me(1000),
            received: Vec::new(),
            behavior: Grade::Failed,
            result: "Actual events differ from any expected.".to_string(),
            suppress_close: false,
            report_time: false,
            report_compression_ratio: false,
            traffic: None,
        }
    }
}

/// The verdict on one run of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) behavior: Grade,
    pub(crate) behavior_close: Grade,
    pub(crate) result: String,
    pub(crate) result_close: String,
}

/// Grades a finished run, as Autobahn's `Case.onConnectionLost`: the first expected list
/// equal to what was received gives the behaviour (else the case's own grade stands:
/// FAILED, or what a case that grades itself set); the close is checked in order: by
/// the right side, clean when required, with an allowed code.
pub(crate) fn grade(case: &CaseState, facts: &Facts) -> Verdict {
    let close = &case.expected_close;
    let mut v = Verdict {
        behavior: case.behavior,
        behavior_close: Grade::Failed,
        result: case.result.clone(),
        result_close: "TCP connection was dropped without close handshake".to_string(),
    };
    if let Some((g, _)) = case.expected.iter().find(|(_, e)| *e == case.received) {
        v.behavior = *g;
        v.result = "Actual events match at least one expected.".to_string();
    }
    if !facts.was_open {
        v.result_close = "The WebSocket opening handshake was never completed!".to_string();
        return v;
    }
    if close.closed_by_me != facts.closed_by_me {
        v.behavior_close = Grade::Failed;
        v.result_close = "The connection was failed by the wrong endpoint".to_string();
    } else if close.require_clean && !facts.was_clean {
        v.behavior_close = Grade::Unclean;
        v.result_close = "The spec requires the connection to be failed cleanly here".to_string();
    } else if let Some(code) = facts.remote_close_code
        && !close.codes.contains(&code)
    {
        v.behavior_close = Grade::WrongCode;
        let codes: Vec<String> = close.codes.iter().map(u16::to_string).collect();
        v.result_close = format!(
            "The close code should have been {} or empty",
            codes.join(",")
        );
    } else if !facts.is_server && facts.dropped_by_me {
        v.behavior_close = Grade::FailedByClient;
        v.result_close = "It is preferred that the server close the TCP connection".to_string();
    } else {
        v.behavior_close = Grade::Ok;
        v.result_close = "Connection was properly closed".to_string();
    }
    if close.wrong_side_is_fatal && close.closed_by_me != facts.closed_by_me {
        v.behavior = Grade::Failed;
    }
    v
}

/// Whether `received` equals every expected list: then Autobahn's `finishWhenDone`
/// starts the close (it gives up at the first list that differs).
pub(crate) fn matches_all(expected: &[(Grade, Vec<Obs>)], received: &[Obs]) -> bool {
    expected.iter().all(|(_, e)| e == received)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            was_open: true,
            closed_by_me: true,
            was_clean: true,
            is_server: true,
            ..Facts::default()
        }
    }

    fn case(
        expected: Vec<(Grade, Vec<Obs>)>,
        close: ExpectedClose,
        received: Vec<Obs>,
    ) -> CaseState {
        CaseState {
            expected,
            expected_close: close,
            received,
            ..CaseState::default()
        }
    }

    #[test]
    fn an_echo_as_expected_closed_cleanly_is_ok_ok() {
        let c = case(
            vec![(Grade::Ok, vec![Obs::text(b"hi")])],
            ExpectedClose::by_me(1000),
            vec![Obs::text(b"hi")],
        );
        let v = grade(
            &c,
            &Facts {
                remote_close_code: Some(1000),
                ..facts()
            },
        );
        assert_eq!((v.behavior, v.behavior_close), (Grade::Ok, Grade::Ok));
    }

    #[test]
    fn a_different_echo_fails_and_a_wrong_code_is_graded_so() {
        let c = case(
            vec![(Grade::Ok, vec![Obs::text(b"hi")])],
            ExpectedClose::by_me(1000),
            vec![Obs::binary(b"hi")],
        );
        let v = grade(
            &c,
            &Facts {
                remote_close_code: Some(1002),
                ..facts()
            },
        );
        assert_eq!(
            (v.behavior, v.behavior_close),
            (Grade::Failed, Grade::WrongCode)
        );
        assert_eq!(
            v.result_close,
            "The close code should have been 1000 or empty"
        );
    }

    #[test]
    fn the_close_is_judged_side_then_cleanliness_then_code() {
        let c = case(vec![], ExpectedClose::by_me(1000), vec![]);
        let wrong_side = grade(
            &c,
            &Facts {
                closed_by_me: false,
                ..facts()
            },
        );
        assert_eq!(wrong_side.behavior_close, Grade::Failed);
        let unclean = grade(
            &c,
            &Facts {
                was_clean: false,
                ..facts()
            },
        );
        assert_eq!(unclean.behavior_close, Grade::Unclean);
        let never_open = grade(&c, &Facts::default());
        assert_eq!(never_open.behavior_close, Grade::Failed);
        assert!(never_open.result_close.contains("never completed"));
    }

    #[test]
    fn utf8_cases_fail_when_the_wrong_side_closed() {
        let close = ExpectedClose {
            wrong_side_is_fatal: true,
            ..ExpectedClose::by_peer(&[1007])
        };
        let c = case(
            vec![(Grade::Ok, vec![Obs::Timeout("A")])],
            close,
            vec![Obs::Timeout("A")],
        );
        let v = grade(&c, &facts());
        assert_eq!(
            (v.behavior, v.behavior_close),
            (Grade::Failed, Grade::Failed)
        );
    }

    #[test]
    fn a_case_that_grades_itself_keeps_its_grade_and_result() {
        let mut c = case(vec![], ExpectedClose::by_me(1000), vec![]);
        c.behavior = Grade::Ok;
        c.result = "Received text message of length 65536.".to_string();
        let v = grade(&c, &facts());
        assert_eq!(v.behavior, Grade::Ok);
        assert_eq!(v.result, c.result);
    }

    #[test]
    fn payloads_compare_by_content_and_keep_their_start() {
        let big = Payload::repeated(b"*", 100_000);
        assert_eq!(big, Payload::of(&vec![b'*'; 100_000]));
        assert_ne!(big, Payload::repeated(b"*", 99_999));
        assert_eq!(big.head.len(), SHOWN);
    }
}
