//! Group 10, misc: 10.1.1, a 64 KiB text message cut by the auto-fragment size of 1300
//! bytes, echoed; the case also checks that it sent the frames it meant to (one text
//! frame and 50 continuations).

use super::NORMAL;
use crate::suite::case::{ExpectedClose, Grade, Obs, Verdict};
use crate::suite::peer::{Ctx, Facts, Script};

const LEN: usize = 65536;
const AUTO_FRAGMENT: usize = 1300;

struct AutoFragment;

impl Script for AutoFragment {
    fn open(&mut self, c: &mut Ctx<'_>) {
        c.case.expected = vec![(Grade::Ok, vec![Obs::text(&[b'*'; LEN])])];
        c.case.expected_close = ExpectedClose::by_me(NORMAL);
        c.set_auto_fragment(AUTO_FRAGMENT);
        c.send_message(false, b"*", LEN, None);
        c.kill_after(10.0);
    }

    fn amend(&mut self, v: &mut Verdict, facts: &Facts) {
        let expected = (
            LEN / AUTO_FRAGMENT,
            u64::from(!LEN.is_multiple_of(AUTO_FRAGMENT)),
        );
        let got = (facts.tx_frames[0] as usize, facts.tx_frames[1]);
        if facts.was_open && got != expected {
            v.behavior = Grade::Failed;
            v.result = format!(
                "Frames transmitted {{0: {}, 1: {}}} does not match what we expected {{0: {}, 1: {}}}.",
                got.0, got.1, expected.0, expected.1
            );
        }
    }
}

pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    (id == "10.1.1").then(|| Box::new(AutoFragment) as Box<dyn Script>)
}
