//! One connection to a suite path: a case run, or a driver command answered over
//! WebSocket (a message, then our close). Either way the [`Peer`] speaks, so the close
//! handshake is Autobahn's for both.

use std::sync::Arc;
use std::time::Instant;

use super::peer::{Ctx, Frame, Peer, State, Status};
use super::request::Command;
use super::{CaseResult, Suite, cases, catalog};
use crate::escape::Escaped;

/// How often `/getCaseStatus` looks again for a result still to come.
const STATUS_POLL_SECS: f64 = 0.05;

/// A suite connection.
pub(crate) struct Session {
    peer: Peer,
    suite: Arc<Suite>,
    /// For a case run: the agent and the case (catalog index), until recorded.
    run: Option<(String, usize)>,
}

/// Why `command` cannot be served: a case this wsecho has no script for.
pub(crate) fn unavailable(command: &Command) -> Option<String> {
    let Command::RunCase { case, .. } = command else {
        return None;
    };
    let id = catalog::CASES.get(*case)?.id;
    cases::script(id)
        .is_none()
        .then(|| format!("case {id} is not implemented by this wsecho yet\n"))
}

impl Session {
    /// A connection for `command`, opened at `now`. `None` for a case wsecho cannot run
    /// (see [`unavailable`]).
    pub(crate) fn new(command: Command, suite: Arc<Suite>, now: Instant) -> Option<Session> {
        let (script, run): (Box<dyn super::peer::Script>, _) = match command {
            Command::RunCase { case, agent } => {
                let id = catalog::CASES.get(case)?.id;
                if suite.excluded(&agent, id) {
                    // Autobahn's fuzzing server closes at once, and records nothing.
                    (Box::new(Say(None)), None)
                } else {
                    log::info!("suite: running case {id} for agent {}", Escaped(&agent));
                    (cases::script(id)?, Some((agent, case)))
                }
            }
            Command::CaseCount => (Box::new(Say(Some(suite.count().to_string()))), None),
            Command::CaseInfo { case } => {
                let info = &catalog::CASES[case];
                let mut json = String::from("{\"id\":");
                crate::json::string(&mut json, info.id);
                json.push_str(",\"description\":");
                crate::json::string(&mut json, &info.pretty_description());
                json.push('}');
                (Box::new(Say(Some(json))), None)
            }
            Command::CaseStatus { case, agent } => (
                Box::new(CaseStatus {
                    suite: Arc::clone(&suite),
                    agent,
                    case,
                }),
                None,
            ),
            Command::UpdateReports { agent } => {
                log::info!("suite: reports asked for by agent {}", Escaped(&agent));
                if let Some(dir) = &suite.reports_dir {
                    // Autobahn writes them in its loop too; they are a few files of a
                    // few kilobytes per case, bounded as the results are.
                    match super::reports::write_all(&suite, dir) {
                        Ok(()) => log::info!("suite: reports written to {}", dir.display()),
                        Err(e) => log::warn!("suite: writing reports to {}: {e}", dir.display()),
                    }
                }
                (Box::new(Say(None)), None)
            }
        };
        Some(Session {
            peer: Peer::server(script, now),
            suite,
            run,
        })
    }

    /// The client's permessage-deflate offers: the `Sec-WebSocket-Extensions` value of
    /// the 101, if the case accepts one.
    pub(crate) fn negotiate(&mut self, offers: &[super::offer::Offer]) -> Option<String> {
        self.peer.negotiate(offers)
    }

    /// The opening handshake's octets: the request read, the response written.
    pub(crate) fn preopen(&mut self, incoming: usize, outgoing: usize) {
        self.peer.preopen(incoming, outgoing);
    }

    /// The 101 went out: the case (or the answer) starts.
    pub(crate) fn open(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.peer.open(now, out);
        self.settle();
    }

    pub(crate) fn input(&mut self, input: &mut [u8], now: Instant, out: &mut Vec<u8>) {
        self.peer.input(input, now, out);
        self.settle();
    }

    pub(crate) fn timeout(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.peer.timeout(now, out);
        self.settle();
    }

    pub(crate) fn eof(&mut self, now: Instant) {
        self.peer.eof(now);
        self.settle();
    }

    pub(crate) fn drained(&mut self) {
        self.peer.drained();
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.peer.deadline()
    }

    pub(crate) fn status(&self) -> Status {
        self.peer.status()
    }

    /// Once the connection is closed, the case's verdict is recorded (once).
    fn settle(&mut self) {
        if self.peer.state() != State::Closed {
            return;
        }
        let Some((agent, case)) = self.run.take() else {
            return;
        };
        let Some(v) = self.peer.verdict() else {
            return;
        };
        let id = catalog::CASES[case].id;
        let duration_ms = self.peer.duration().map_or(0, |d| d.as_millis() as u64);
        log::info!(
            "suite: case {id} for agent {}: {} / {} in {duration_ms} ms",
            Escaped(&agent),
            v.behavior.as_str(),
            v.behavior_close.as_str()
        );
        let result = CaseResult {
            id,
            behavior: v.behavior,
            behavior_close: v.behavior_close,
            result: v.result,
            result_close: v.result_close,
            duration_ms,
            remote_close_code: self.peer.facts().remote_close_code,
            received: self.peer.case().received.clone(),
            wirelog: self.peer.wirelog(),
            report_time: self.peer.case().report_time,
            report_compression_ratio: self.peer.case().report_compression_ratio,
            traffic: self.peer.case().traffic,
        };
        self.suite.record(&agent, case, result);
    }
}

/// A driver command's answer: a text message (if any), then our close with no code
/// (Autobahn's `sendClose()`).
struct Say(Option<String>);

impl super::peer::Script for Say {
    fn open(&mut self, c: &mut Ctx<'_>) {
        if let Some(text) = self.0.take() {
            c.send_frame(Frame::new(1, text.into_bytes()));
        }
        c.send_close(None, None);
    }

    fn message(&mut self, _c: &mut Ctx<'_>, _p: super::case::Payload, _binary: bool) {}
}

/// `/getCaseStatus`: the agent's grade for the case, once it ran (Autobahn waits for it).
struct CaseStatus {
    suite: Arc<Suite>,
    agent: String,
    case: usize,
}

impl CaseStatus {
    fn answer(&mut self, c: &mut Ctx<'_>) {
        match self.suite.result(&self.agent, self.case) {
            Some(r) => {
                let json = format!("{{\"behavior\":\"{}\"}}", r.behavior.as_str());
                c.send_frame(Frame::new(1, json.into_bytes()));
                c.send_close(None, None);
            }
            None => c.later(STATUS_POLL_SECS, 0),
        }
    }
}

impl super::peer::Script for CaseStatus {
    fn open(&mut self, c: &mut Ctx<'_>) {
        self.answer(c);
    }

    fn step(&mut self, c: &mut Ctx<'_>, _step: u8) {
        if c.state() == State::Open {
            self.answer(c);
        }
    }

    fn message(&mut self, _c: &mut Ctx<'_>, _p: super::case::Payload, _binary: bool) {}

    fn pong(&mut self, _c: &mut Ctx<'_>, _p: super::case::Payload) {}
}
