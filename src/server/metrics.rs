//! `GET /metrics`: the server's counters in the OpenMetrics text format (which
//! Prometheus scrapes), built with the `prometheus-client` crate from the same counters
//! the summary line uses. A registry is built per scrape from plain numbers: the loop
//! keeps no atomics, and a scrape is rare next to the echoes.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::stats::{Initiator, Stats};
use crate::connection::Counts;

/// Label pairs.
type Labels = Vec<(&'static str, String)>;

/// What is live at scrape time, beside the counters of ended connections.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Live {
    /// Open connections.
    pub(super) open: usize,
    /// Their work so far.
    pub(super) counts: Counts,
    /// How many of them speak TLS.
    pub(super) tls: u64,
    /// How many of them speak HTTP/2.
    pub(super) h2: u64,
}

impl Live {
    /// Adds another loop's (`--threads`).
    pub(super) fn add(&mut self, other: &Live) {
        self.open += other.open;
        self.counts.add(&other.counts);
        self.tls += other.tls;
        self.h2 += other.h2;
    }
}

/// The metrics page.
pub(super) fn render(stats: &Stats, live: &Live) -> String {
    let mut total = stats.finished;
    total.add(&live.counts);
    let mut r = <Registry>::with_prefix("wsecho");

    let open = Gauge::<i64>::default();
    open.set(i64::try_from(live.open).unwrap_or(i64::MAX));
    r.register("connections_open", "Connections open now", open);
    counter(
        &mut r,
        "connections",
        "Connections accepted",
        stats.accepted,
    );

    let handshakes = Family::<Labels, Counter>::default();
    for (outcome, n) in [
        ("upgraded", stats.upgraded),
        ("refused", stats.refused),
        ("page", stats.pages),
        ("metrics", stats.metrics),
    ] {
        add(&handshakes, vec![("outcome", outcome.to_string())], n);
    }
    r.register(
        "handshakes",
        "HTTP requests by outcome: upgraded to WebSocket, refused with an error status, answered with the landing page or the metrics",
        handshakes,
    );
    let refused = Family::<Labels, Counter>::default();
    for (status, n) in &stats.refused_by_status {
        add(&refused, vec![("status", status.to_string())], *n);
    }
    r.register(
        "handshakes_refused",
        "Upgrade requests refused, by HTTP status",
        refused,
    );

    let messages = Family::<Labels, Counter>::default();
    add(
        &messages,
        vec![("opcode", "text".into())],
        total.text_messages,
    );
    add(
        &messages,
        vec![("opcode", "binary".into())],
        total.messages.saturating_sub(total.text_messages),
    );
    r.register(
        "messages",
        "Data messages received whole and echoed, by opcode (each one in and one out)",
        messages,
    );
    counter(
        &mut r,
        "payload_bytes",
        "Payload bytes of data frames received (as sent, compressed or not)",
        total.bytes,
    );
    let bytes = Family::<Labels, Counter>::default();
    add(&bytes, vec![("direction", "in".into())], total.wire_in);
    add(&bytes, vec![("direction", "out".into())], total.wire_out);
    r.register(
        "bytes",
        "Bytes of the WebSocket and HTTP protocol (after TLS decryption), by direction",
        bytes,
    );
    let control = Family::<Labels, Counter>::default();
    for (opcode, direction, n) in [
        ("ping", "in", total.pings_in),
        ("pong", "out", total.pings_in),
        ("pong", "in", total.pongs_in),
        ("ping", "out", total.pings_out),
    ] {
        let labels = vec![("opcode", opcode.into()), ("direction", direction.into())];
        add(&control, labels, n);
    }
    r.register(
        "control_frames",
        "Pings and pongs, by direction (each ping in is answered with a pong out)",
        control,
    );

    let closes = Family::<Labels, Counter>::default();
    for ((initiator, code), n) in &stats.closes {
        let initiator = match initiator {
            Initiator::Client => "client",
            Initiator::Server => "server",
        };
        let labels = vec![("code", code.to_string()), ("initiator", initiator.into())];
        add(&closes, labels, *n);
    }
    r.register(
        "closes",
        "Close handshakes by close code and by who started them (a client's close without a code counts as 1005)",
        closes,
    );
    let failures = Family::<Labels, Counter>::default();
    for (violation, n) in &stats.failures {
        add(&failures, vec![("violation", (*violation).into())], *n);
    }
    r.register(
        "failures",
        "Connections failed for breaking a rule, by the rule",
        failures,
    );
    counter(
        &mut r,
        "dropped",
        "Connections whose TCP ended with no close handshake",
        stats.dropped,
    );
    counter(
        &mut r,
        "aborted",
        "Connections reset with no close frame, as their request asked (?abort)",
        stats.aborted,
    );
    counter(
        &mut r,
        "timeouts",
        "Connections ended by a time limit",
        stats.timed_out,
    );
    counter(
        &mut r,
        "deflate_connections",
        "Upgrades that agreed permessage-deflate",
        stats.deflate,
    );
    counter(
        &mut r,
        "tls_connections",
        "Connections over TLS (wss://, https://)",
        stats.tls_finished + live.tls,
    );
    counter(
        &mut r,
        "http2_connections",
        "Connections over HTTP/2 (h2 by ALPN, or h2c with prior knowledge)",
        stats.h2_finished + live.h2,
    );
    counter(
        &mut r,
        "http2_websockets",
        "WebSockets opened over HTTP/2 (RFC 8441 extended CONNECT)",
        stats.h2_websockets,
    );

    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut text, &r);
    text
}

fn counter(r: &mut Registry, name: &str, help: &str, value: u64) {
    let c = Counter::<u64>::default();
    c.inc_by(value);
    r.register(name, help, c);
}

fn add(family: &Family<Labels, Counter>, labels: Labels, value: u64) {
    family.get_or_create(&labels).inc_by(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{Event, Location};
    use crate::error::ProtocolError;
    use crate::frame::CloseCode;
    use crate::handshake::HttpStatus;

    #[test]
    fn every_counter_is_rendered_with_its_labels() {
        let mut stats = Stats {
            accepted: 5,
            ..Stats::default()
        };
        for event in [
            Event::Opened { deflate: true },
            Event::PeerClosed {
                code: Some(CloseCode::NORMAL),
            },
            Event::PeerClosed { code: None },
            Event::Failed {
                error: ProtocolError::InvalidUtf8,
                at: Location::default(),
            },
            Event::Refused {
                status: HttpStatus::BadRequest,
                reason: String::new(),
            },
            Event::MetricsAsked,
        ] {
            stats.record(&event);
        }
        stats.add_finished(Counts {
            messages: 3,
            text_messages: 1,
            pings_in: 2,
            wire_in: 100,
            wire_out: 90,
            ..Counts::default()
        });
        let live = Live {
            open: 2,
            counts: Counts {
                messages: 1,
                ..Counts::default()
            },
            tls: 1,
            h2: 1,
        };
        stats.h2_finished = 1;
        stats.h2_websockets = 3;
        let text = render(&stats, &live);
        for line in [
            "wsecho_connections_open 2",
            "wsecho_connections_total 5",
            "wsecho_handshakes_total{outcome=\"upgraded\"} 1",
            "wsecho_handshakes_total{outcome=\"metrics\"} 1",
            "wsecho_handshakes_refused_total{status=\"400\"} 1",
            "wsecho_messages_total{opcode=\"text\"} 1",
            "wsecho_messages_total{opcode=\"binary\"} 3",
            "wsecho_bytes_total{direction=\"in\"} 100",
            "wsecho_control_frames_total{opcode=\"pong\",direction=\"out\"} 2",
            "wsecho_closes_total{code=\"1000\",initiator=\"client\"} 1",
            "wsecho_closes_total{code=\"1005\",initiator=\"client\"} 1",
            "wsecho_closes_total{code=\"1007\",initiator=\"server\"} 1",
            "wsecho_failures_total{violation=\"invalid_utf8\"} 1",
            "wsecho_deflate_connections_total 1",
            "wsecho_tls_connections_total 1",
            "wsecho_http2_connections_total 2",
            "wsecho_http2_websockets_total 3",
        ] {
            assert!(
                text.contains(&format!("{line}\n")),
                "{line} missing in:\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
