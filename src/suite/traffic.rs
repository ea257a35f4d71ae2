//! What went each way on a case's connection, counted as Autobahn's `TrafficStats`
//! counts it: octets on the wire, in frame payloads (compressed, as sent) and in
//! messages (decompressed), and frames and messages, each while the connection is
//! open; the opening handshake's octets apart. The compression cases (12.x, 13.x)
//! report it, as Autobahn's do, with the compression ratio of each direction.

use std::fmt::Write as _;

/// One direction's counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flow {
    /// Octets on the wire while open: frame headers and payloads.
    pub(crate) wire: u64,
    /// Octets of data frames' payloads, compressed where the message was.
    pub(crate) websocket: u64,
    /// Octets of data messages, decompressed.
    pub(crate) app: u64,
    /// Data frames (text, binary, continuation).
    pub(crate) frames: u64,
    /// Data messages.
    pub(crate) messages: u64,
    /// Octets before the connection opened: the HTTP request or response.
    pub(crate) preopen: u64,
}

impl Flow {
    /// Payload octets per application octet (Autobahn's compression ratio): `None`
    /// before any message.
    fn compression_ratio(&self) -> Option<f64> {
        (self.app > 0).then(|| self.websocket as f64 / self.app as f64)
    }

    /// Framing octets per payload octet.
    fn overhead(&self) -> Option<f64> {
        (self.websocket > 0)
            .then(|| (self.wire as f64 - self.websocket as f64) / self.websocket as f64)
    }
}

/// Both directions, seen from the suite's side.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Traffic {
    pub(crate) incoming: Flow,
    pub(crate) outgoing: Flow,
}

impl Traffic {
    /// The ratios shown beside a case's grade on the reports page, as Autobahn shows
    /// them: `[incoming/outgoing]`, three decimals, `-` where nothing went.
    pub(crate) fn ratios(&self) -> String {
        let shown = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r:.3}"));
        format!(
            "[{}/{}]",
            shown(self.incoming.compression_ratio()),
            shown(self.outgoing.compression_ratio())
        )
    }

    /// Autobahn's `trafficStats` object: its field names, the ratios `null` where
    /// they divide by zero.
    pub(crate) fn write_json(&self, out: &mut String) {
        let number = |r: Option<f64>| r.map_or_else(|| "null".to_string(), |r| r.to_string());
        out.push('{');
        for (i, (dir, f)) in [("outgoing", &self.outgoing), ("incoming", &self.incoming)]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "\"{dir}OctetsWireLevel\":{},\"{dir}OctetsWebSocketLevel\":{},\
                 \"{dir}OctetsAppLevel\":{},\"{dir}CompressionRatio\":{},\
                 \"{dir}WebSocketOverhead\":{},\"{dir}WebSocketFrames\":{},\
                 \"{dir}WebSocketMessages\":{},\"preopen{}OctetsWireLevel\":{}",
                f.wire,
                f.websocket,
                f.app,
                number(f.compression_ratio()),
                number(f.overhead()),
                f.frames,
                f.messages,
                if dir == "outgoing" {
                    "Outgoing"
                } else {
                    "Incoming"
                },
                f.preopen,
            );
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_has_autobahns_fields_and_ratios() {
        let t = Traffic {
            incoming: Flow {
                wire: 1300,
                websocket: 1000,
                app: 4000,
                frames: 10,
                messages: 10,
                preopen: 200,
            },
            outgoing: Flow::default(),
        };
        let mut json = String::new();
        t.write_json(&mut json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["incomingCompressionRatio"], 0.25);
        assert_eq!(v["incomingWebSocketOverhead"], 0.3);
        assert_eq!(v["incomingOctetsAppLevel"], 4000);
        assert_eq!(v["preopenIncomingOctetsWireLevel"], 200);
        assert_eq!(v["outgoingCompressionRatio"], serde_json::Value::Null);
        assert_eq!(v["outgoingWebSocketOverhead"], serde_json::Value::Null);
        assert_eq!(v.as_object().unwrap().len(), 16);
        assert_eq!(t.ratios(), "[0.250/-]");
    }
}
