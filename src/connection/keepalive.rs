//! The idle timeout and keepalive pings of an open connection.
//!
//! Input only records the time (one store per read); the deadline is re-derived when it
//! fires, so a busy connection never touches the timer heap. The one exception is the
//! answer to our ping: it moves the deadline from the pong timeout back to the next ping.
//!
//! Any input counts as activity, a pong included (as in uWebSockets, where automatic
//! pings exist to keep a connection from idling out): with `--ping-interval` below
//! `--idle-timeout`, a client that answers pings is never idle. So does the peer taking
//! output that its socket had refused: its TCP window opened, so it is alive and reading,
//! even while backpressure keeps us from reading what it sent (its pong among it). What
//! the kernel's buffers took is out of sight: a client reading that slowly enough still
//! looks silent.

use std::time::Instant;

use crate::config::Config;

pub(super) struct Keepalive {
    last_activity: Instant,
    /// When our unanswered keepalive ping went out.
    ping_sent: Option<Instant>,
    /// Pings sent so far.
    pings: u64,
}

/// What a passed deadline calls for.
pub(super) enum Action {
    /// Input arrived since: nothing is due yet.
    Wait,
    /// Quiet for a ping interval: send a ping.
    Ping,
    /// Quiet for the idle timeout: close.
    Idle,
    /// Our ping went unanswered (no activity at all) for the pong timeout: drop.
    NoPong,
}

impl Keepalive {
    /// Whether the configuration asks for any of this.
    pub(super) fn wanted(config: &Config) -> bool {
        config.idle_timeout.is_some() || config.ping_interval.is_some()
    }

    pub(super) fn new(now: Instant) -> Self {
        Keepalive {
            last_activity: now,
            ping_sent: None,
            pings: 0,
        }
    }

    /// Keepalive pings sent so far.
    pub(super) fn pings_sent(&self) -> u64 {
        self.pings
    }

    /// Input (a pong or otherwise), or output taken after the socket refused it, proves
    /// the peer alive. Returns whether it answered our outstanding ping: the deadline then
    /// moves (see [`Keepalive::deadline`]).
    #[inline]
    pub(super) fn saw_activity(&mut self, now: Instant) -> bool {
        self.last_activity = now;
        self.ping_sent.take().is_some()
    }

    /// The next instant something may be due, if any limit is configured.
    pub(super) fn deadline(&self, config: &Config) -> Option<Instant> {
        let idle = config.idle_timeout.map(|t| self.last_activity + t);
        let ping = match self.ping_sent {
            Some(sent) => Some(sent + config.ping_timeout),
            None => config.ping_interval.map(|t| self.last_activity + t),
        };
        [idle, ping].into_iter().flatten().min()
    }

    pub(super) fn on_deadline(&mut self, now: Instant, config: &Config) -> Action {
        if config
            .idle_timeout
            .is_some_and(|t| now >= self.last_activity + t)
        {
            return Action::Idle;
        }
        match self.ping_sent {
            Some(sent) if now >= sent + config.ping_timeout => Action::NoPong,
            Some(_) => Action::Wait,
            None if config
                .ping_interval
                .is_some_and(|t| now >= self.last_activity + t) =>
            {
                self.ping_sent = Some(now);
                self.pings += 1;
                Action::Ping
            }
            None => Action::Wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(idle: Option<u64>, ping: Option<u64>) -> Config {
        Config {
            idle_timeout: idle.map(Duration::from_secs),
            ping_interval: ping.map(Duration::from_secs),
            ping_timeout: Duration::from_secs(5),
            ..Config::default()
        }
    }

    #[test]
    fn no_limits_means_no_deadline() {
        let k = Keepalive::new(Instant::now());
        assert_eq!(k.deadline(&config(None, None)), None);
    }

    #[test]
    fn ping_then_drop_when_nothing_answers() {
        let t0 = Instant::now();
        let cfg = config(None, Some(10));
        let mut k = Keepalive::new(t0);
        assert_eq!(k.deadline(&cfg), Some(t0 + Duration::from_secs(10)));
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(10), &cfg),
            Action::Ping
        ));
        assert_eq!(k.deadline(&cfg), Some(t0 + Duration::from_secs(15)));
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(15), &cfg),
            Action::NoPong
        ));
    }

    #[test]
    fn input_after_the_ping_counts_as_the_answer() {
        let t0 = Instant::now();
        let cfg = config(None, Some(10));
        let mut k = Keepalive::new(t0);
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(10), &cfg),
            Action::Ping
        ));
        assert!(k.saw_activity(t0 + Duration::from_secs(11)));
        assert_eq!(k.deadline(&cfg), Some(t0 + Duration::from_secs(21)));
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(15), &cfg),
            Action::Wait
        ));
        assert!(
            !k.saw_activity(t0 + Duration::from_secs(12)),
            "no ping is out"
        );
    }

    #[test]
    fn an_answered_ping_brings_the_next_one_back_to_the_interval() {
        // The pong timeout is longer than the interval: once the ping is answered, the
        // next one is due an interval after the answer, not when the timeout would end.
        let t0 = Instant::now();
        let cfg = Config {
            ping_timeout: Duration::from_secs(10),
            ..config(None, Some(5))
        };
        let mut k = Keepalive::new(t0);
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(5), &cfg),
            Action::Ping
        ));
        assert_eq!(k.deadline(&cfg), Some(t0 + Duration::from_secs(15)));
        assert!(k.saw_activity(t0 + Duration::from_secs(6)));
        assert_eq!(k.deadline(&cfg), Some(t0 + Duration::from_secs(11)));
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(11), &cfg),
            Action::Ping
        ));
    }

    #[test]
    fn busy_connection_is_not_idle() {
        let t0 = Instant::now();
        let cfg = config(Some(30), None);
        let mut k = Keepalive::new(t0);
        k.saw_activity(t0 + Duration::from_secs(29));
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(30), &cfg),
            Action::Wait
        ));
        assert!(matches!(
            k.on_deadline(t0 + Duration::from_secs(59), &cfg),
            Action::Idle
        ));
    }
}
