//! HTTP: upgrade requests built header by header, responses read byte by byte.

use std::io::{Read, Write};

use super::*;

/// An HTTP request built header by header, so tests can break exactly one thing.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A valid RFC 6455 upgrade request using [`SAMPLE_KEY`].
    pub fn upgrade(host: &str) -> Request {
        Request {
            method: "GET".into(),
            target: "/".into(),
            version: "HTTP/1.1".into(),
            headers: vec![
                ("Host".into(), host.into()),
                ("Upgrade".into(), "websocket".into()),
                ("Connection".into(), "Upgrade".into()),
                ("Sec-WebSocket-Key".into(), SAMPLE_KEY.into()),
                ("Sec-WebSocket-Version".into(), "13".into()),
            ],
        }
    }

    /// A plain `GET /` with only a Host header.
    pub fn plain_get(host: &str) -> Request {
        Request {
            method: "GET".into(),
            target: "/".into(),
            version: "HTTP/1.1".into(),
            headers: vec![("Host".into(), host.into())],
        }
    }

    pub fn method(mut self, method: &str) -> Request {
        self.method = method.into();
        self
    }

    pub fn version(mut self, version: &str) -> Request {
        self.version = version.into();
        self
    }

    /// Replaces the header (case-insensitive name) or appends it.
    pub fn set(mut self, name: &str, value: &str) -> Request {
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(h) => h.1 = value.into(),
            None => self.headers.push((name.into(), value.into())),
        }
        self
    }

    pub fn remove(mut self, name: &str) -> Request {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} {}\r\n", self.method, self.target, self.version);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

#[derive(Clone, Debug)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Comma-separated tokens of every header of that name, trimmed and lowercased.
    pub fn tokens(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads a response head byte by byte (so no frame bytes after it are consumed).
pub fn read_response_head(stream: &mut (impl Read + ?Sized)) -> Response {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => panic!(
                "connection closed inside the response head; got {:?}",
                String::from_utf8_lossy(&head)
            ),
            Ok(_) => head.push(byte[0]),
            Err(e) => panic!(
                "reading the response head failed ({e}); got {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
        assert!(head.len() <= 64 * 1024, "response head over 64 KiB");
    }
    parse_head(&head)
}

fn parse_head(head: &[u8]) -> Response {
    let text = std::str::from_utf8(head).expect("response head is not UTF-8");
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    assert!(
        version.starts_with("HTTP/1."),
        "bad status line {status_line:?}"
    );
    let headers = lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header line {l:?}"));
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    Response {
        version,
        status,
        headers,
        body: Vec::new(),
    }
}

/// Reads a whole response: the head, then a `Content-Length` body, or the body up to EOF
/// when there is no `Content-Length`.
pub fn read_response(stream: &mut (impl Read + ?Sized)) -> Response {
    let mut response = read_response_head(stream);
    match response.header("Content-Length") {
        Some(len) => {
            let len: usize = len.parse().expect("numeric Content-Length");
            response.body = vec![0; len];
            stream
                .read_exact(&mut response.body)
                .unwrap_or_else(|e| panic!("reading a {len}-byte body failed: {e}"));
        }
        None => {
            stream
                .read_to_end(&mut response.body)
                .unwrap_or_else(|e| panic!("reading the body up to EOF failed: {e}"));
        }
    }
    response
}

/// Sends `request`, reads the full response, and asserts that the server then closes the
/// connection (the rule for every refused handshake).
pub fn expect_refused(server: &Server, request: &[u8]) -> Response {
    let mut stream = server.connect();
    stream.write_all(request).unwrap();
    let response = read_response(&mut stream);
    assert!(
        response.status >= 400,
        "expected a refusal, got {}: {response:?}",
        response.status
    );
    assert_server_closes(&mut stream, CLOSE_BOUND);
    response
}

/// `GET /metrics` from `server`: (status, content type, body).
pub fn scrape_metrics(server: &Server) -> (u16, String, String) {
    let mut stream = server.connect();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.host()
    )
    .unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let text = String::from_utf8(all).expect("UTF-8 metrics");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head[9..12].parse().expect("a status");
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or_default()
        .to_string();
    (status, ctype, body.to_string())
}

/// The value of the metrics sample written exactly `sample` (name and labels), 0 if
/// absent.
pub fn metric_value(body: &str, sample: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .map_or(0, |v| v.parse().expect("a number"))
}
