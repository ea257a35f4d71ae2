//! The receiving side: the client preface (RFC 9113 §3.4), then frames, each judged
//! against the stream states of §5.1, flow control (§5.2, §6.9), field block rules
//! (§4.3, §6.10) and the flood limits.

use std::time::Instant;

use super::request::{check_trailers, parse_request};
use super::stream::{Stream, grow};
use super::{CLIENT_PREFACE, Event, Pending, PendingBlock, Phase, Session};
use crate::h2::frame::{
    Continuation, Data, ErrorCode, FRAME_HEADER_LEN, Flags, Frame, FrameError, FrameHeader,
    FrameType, GoAway, Headers, Ping, PrioritySpec, RstStream, Scope, Setting, Settings, StreamId,
    WindowUpdate, write_ping_ack, write_rst_stream, write_settings_ack, write_window_update,
};
use crate::h2::hpack::HeaderList;
use crate::h2::spare;

/// What one step of processing came to.
enum Step {
    /// An event for the application.
    Event(Pending),
    /// A frame was processed; go on.
    Continue,
    /// Nothing more can be done with the input buffered.
    NeedInput,
    /// The turn's frames are spent, or our answers wait for the peer: the input waits
    /// for a later turn.
    TurnSpent,
}

/// Where a stream without state stands (§5.1).
enum Gone {
    /// Never opened by the client: "idle".
    Idle,
    /// Opened before and closed since (or skipped, which closes it, §5.1.1).
    Closed,
}

impl Session {
    /// Appends bytes read from the transport. Ignored once the connection failed or
    /// closed. The driver reads only while [`Session::wants_read`], so what is held is
    /// bounded by one frame of our largest size and one read.
    pub fn receive(&mut self, bytes: &[u8]) {
        if !matches!(
            self.phase,
            Phase::Preface(_) | Phase::FirstSettings | Phase::Open
        ) || self.eof
        {
            return;
        }
        if self.pos > 0 {
            self.input.drain(..self.pos.min(self.input.len()));
            self.pos = 0;
        }
        if self.input.capacity() == 0 && !bytes.is_empty() {
            self.input = spare::take();
        }
        self.input.extend_from_slice(bytes);
    }

    /// Processes buffered input up to the next event. The client preface
    /// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" then a SETTINGS frame come first (§3.4).
    /// What an event borrows lives until the next call.
    pub fn poll(&mut self, now: Instant) -> Option<Event<'_>> {
        self.now = now;
        self.request = None;
        let pending = match self.events.pop_front() {
            Some(pending) => pending,
            None => self.advance()?,
        };
        Some(self.lend(pending))
    }

    /// Processes frames until one makes an event, or the input runs out.
    fn advance(&mut self) -> Option<Pending> {
        loop {
            match self.step() {
                Ok(Step::Event(pending)) => return Some(pending),
                Ok(Step::Continue) => {}
                Ok(Step::NeedInput) => {
                    self.input_exhausted();
                    return self.events.pop_front();
                }
                Ok(Step::TurnSpent) => return self.events.pop_front(),
                Err(FrameError {
                    scope: Scope::Connection,
                    code,
                    reason,
                }) => self.fail(code, reason),
                Err(FrameError {
                    scope: Scope::Stream(stream),
                    code,
                    reason,
                }) => self.stream_error(stream.value(), code, reason),
            }
            if let Some(pending) = self.events.pop_front() {
                return Some(pending);
            }
        }
    }

    /// All complete frames are processed: free the buffer if nothing is left in it,
    /// and close after the peer's EOF.
    fn input_exhausted(&mut self) {
        if self.pos >= self.input.len() {
            spare::give(std::mem::take(&mut self.input));
            self.pos = 0;
        }
        if self.eof {
            self.closing.get_or_insert(self.now);
        }
    }

    /// Processes the preface or one frame.
    fn step(&mut self) -> Result<Step, FrameError> {
        match self.phase {
            Phase::Failed | Phase::Done => return Ok(Step::NeedInput),
            Phase::Preface(matched) => return self.preface(matched),
            Phase::FirstSettings | Phase::Open => {}
        }
        let unread = self.unread();
        let Some(header) = FrameHeader::parse(unread) else {
            return Ok(Step::NeedInput);
        };
        // §4.2: "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame
        // exceeds the size defined in SETTINGS_MAX_FRAME_SIZE".
        if header.length > self.limits.max_frame_size {
            return Err(FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §4.2: a frame larger than our SETTINGS_MAX_FRAME_SIZE",
            ));
        }
        let total = FRAME_HEADER_LEN + header.length as usize;
        if unread.len() < total {
            return Ok(Step::NeedInput);
        }
        let Some(left) = self.frames_left.checked_sub(1) else {
            return Ok(Step::TurnSpent);
        };
        if self.answers_wait() {
            return Ok(Step::TurnSpent);
        }
        self.frames_left = left;
        let start = self.pos + FRAME_HEADER_LEN;
        self.pos += total;
        if self.phase == Phase::FirstSettings {
            // §3.4: the client preface "MUST be followed by a SETTINGS frame", and
            // "Clients and servers MUST treat an invalid connection preface as a
            // connection error of type PROTOCOL_ERROR".
            if header.kind != FrameType::Settings || header.flags.contains(Flags::ACK) {
                return Err(FrameError::connection(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §3.4: the client preface must be followed by SETTINGS",
                ));
            }
            self.phase = Phase::Open;
        }
        // The payload is lent out of `input` while the handlers change the rest.
        let input = std::mem::take(&mut self.input);
        let result = match input.get(start..self.pos) {
            Some(payload) => self.frame(&header, payload, start),
            None => Ok(Step::Continue),
        };
        self.input = input;
        result
    }

    /// Matches the client preface, failing on its first wrong octet.
    fn preface(&mut self, matched: usize) -> Result<Step, FrameError> {
        let expected = CLIENT_PREFACE.get(matched..).unwrap_or(&[]);
        let unread = self.unread();
        let n = unread.len().min(expected.len());
        if unread.get(..n) != expected.get(..n) {
            // §3.4: "Clients and servers MUST treat an invalid connection preface as a
            // connection error of type PROTOCOL_ERROR." (GOAWAY "MAY be omitted"; it
            // is sent, so that a client that is not speaking HTTP/2 sees why.)
            return Err(FrameError::connection(
                ErrorCode::ProtocolError,
                "RFC 9113 §3.4: invalid connection preface",
            ));
        }
        self.pos += n;
        if n < expected.len() {
            self.phase = Phase::Preface(matched + n);
            return Ok(Step::NeedInput);
        }
        self.phase = Phase::FirstSettings;
        Ok(Step::Continue)
    }

    /// Judges one frame, its payload at `offset` in the input.
    fn frame(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
        offset: usize,
    ) -> Result<Step, FrameError> {
        if let Some(block) = &self.block
            && (header.kind != FrameType::Continuation || header.stream != block.stream)
        {
            // §6.10: "A receiver MUST treat the receipt of any other type of frame or a
            // frame on a different stream as a connection error of type
            // PROTOCOL_ERROR."
            return Err(FrameError::connection(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.10: a frame other than CONTINUATION inside a field block",
            ));
        }
        match Frame::parse(header, payload)? {
            Frame::Data(data) => self.on_data(data, offset),
            Frame::Headers(headers) => self.on_headers(headers),
            Frame::Continuation(continuation) => self.on_continuation(continuation),
            Frame::Priority(_) | Frame::Unknown => {
                self.overhead()?;
                Ok(Step::Continue)
            }
            Frame::RstStream(rst) => self.on_rst_stream(rst),
            Frame::Settings(settings) => self.on_settings(settings),
            Frame::Ping(ping) => self.on_ping(ping),
            Frame::GoAway(goaway) => self.on_goaway(goaway, offset),
            Frame::WindowUpdate(update) => self.on_window_update(update),
        }
    }

    /// Counts a frame that carries no application data (§10.5).
    fn overhead(&mut self) -> Result<(), FrameError> {
        self.flood.overhead(self.now, &self.limits)
    }

    /// Where a stream with no state stands.
    fn gone(&self, stream: u32) -> Gone {
        if StreamId::new(stream).is_client_initiated() && stream <= self.last_peer_stream {
            Gone::Closed
        } else {
            Gone::Idle
        }
    }

    /// A frame other than PRIORITY, WINDOW_UPDATE and RST_STREAM on a closed stream.
    fn on_closed_stream(&mut self, stream: u32, reason: &'static str) -> Result<Step, FrameError> {
        self.overhead()?;
        // §5.1: after sending RST_STREAM, "An endpoint MUST minimally process and then
        // discard any frames it receives in this state."
        if self.recent.contains(stream) {
            return Ok(Step::Continue);
        }
        // §6.8: after our GOAWAY, "the sender will ignore frames sent on streams
        // initiated by the receiver if the stream has an identifier higher than the
        // included last stream identifier".
        if self.goaway_last.is_some_and(|last| stream > last) {
            return Ok(Step::Continue);
        }
        // §5.1: "An endpoint MAY treat receipt of any other type of frame on a closed
        // stream as a connection error of type STREAM_CLOSED": a stream error is enough.
        Err(FrameError::stream(
            StreamId::new(stream),
            ErrorCode::StreamClosed,
            reason,
        ))
    }

    /// A stream error: RST_STREAM, the stream freed, [`Event::Reset`] queued.
    fn stream_error(&mut self, stream: u32, code: ErrorCode, reason: &'static str) {
        // §10.5: "An invalid request ... can cause a peer to send RST_STREAM frames in
        // response": our answers count as overhead, and wait in bounded room.
        if let Err(e) = self.overhead().and_then(|()| self.room_for_answer()) {
            return self.fail(e.code, e.reason);
        }
        write_rst_stream(&mut self.ctrl, StreamId::new(stream), code);
        self.recent.push(stream);
        if self.streams.remove(&stream).is_some() {
            self.after_stream_gone();
        }
        self.events.push_back(Pending::Reset {
            stream,
            code,
            by_peer: false,
            reason,
        });
    }

    /// Whether another answer to the peer fits in `max_control_backlog`.
    fn room_for_answer(&self) -> Result<(), FrameError> {
        if self.ctrl.len() > self.limits.max_control_backlog {
            return Err(FrameError::connection(
                ErrorCode::EnhanceYourCalm,
                "RFC 9113 §10.5: answers queued faster than the peer reads them",
            ));
        }
        Ok(())
    }

    fn on_data(&mut self, data: Data, offset: usize) -> Result<Step, FrameError> {
        let flow = i64::from(data.flow_len);
        // §6.9: "A receiver that receives a flow-controlled frame MUST always account
        // for its contribution against the connection flow-control window".
        if flow > self.conn_recv_window {
            return Err(FrameError::connection(
                ErrorCode::FlowControlError,
                "RFC 9113 §6.9.1: DATA beyond the connection flow-control window",
            ));
        }
        self.conn_recv_window -= flow;
        self.conn_unacked = self.conn_unacked.saturating_add(data.flow_len);
        self.reopen_connection_window();
        let id = data.stream.value();
        let len = data.data.len();
        let threshold = self.stream_update_threshold();
        let Some(stream) = self.streams.get_mut(&id) else {
            return match self.gone(id) {
                // §5.1 idle: "Receiving any frame other than HEADERS or PRIORITY on a
                // stream in this state MUST be treated as a connection error of type
                // PROTOCOL_ERROR."
                Gone::Idle => Err(FrameError::connection(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §5.1: DATA on an idle stream",
                )),
                Gone::Closed => self.on_closed_stream(id, "RFC 9113 §5.1: DATA on a closed stream"),
            };
        };
        // §5.1 half-closed (remote): "If an endpoint receives additional frames, other
        // than WINDOW_UPDATE, PRIORITY, or RST_STREAM, for a stream that is in this
        // state, it MUST respond with a stream error of type STREAM_CLOSED."
        if stream.remote_closed {
            return Err(FrameError::stream(
                data.stream,
                ErrorCode::StreamClosed,
                "RFC 9113 §5.1: a frame after END_STREAM (half-closed remote)",
            ));
        }
        // §6.9.1: "The sender MUST NOT send a flow-controlled frame with a length that
        // exceeds the space available in either of the flow-control windows".
        if flow > stream.recv_window {
            return Err(FrameError::stream(
                data.stream,
                ErrorCode::FlowControlError,
                "RFC 9113 §6.9.1: DATA beyond the stream flow-control window",
            ));
        }
        stream.recv_window -= flow;
        if let Some(left) = stream.content_left {
            stream.content_left = Some(content_left(
                data.stream,
                left,
                len as u64,
                data.end_stream,
            )?);
        }
        let len32 = u32::try_from(len).unwrap_or(u32::MAX);
        stream.recv_held = stream.recv_held.saturating_add(len32);
        // The padding is ours to take: its credit goes back at once.
        stream.recv_unacked = stream
            .recv_unacked
            .saturating_add(data.flow_len.saturating_sub(len32));
        stream.remote_closed = data.end_stream;
        reopen_stream_window(&mut self.ctrl, id, stream, threshold);
        if len == 0 && !data.end_stream {
            self.overhead()?;
        }
        if data.end_stream {
            self.close_if_done(id);
        }
        Ok(Step::Event(Pending::Data {
            stream: id,
            range: offset + data.data.start..offset + data.data.end,
            end_stream: data.end_stream,
        }))
    }

    fn on_headers(&mut self, headers: Headers<'_>) -> Result<Step, FrameError> {
        if headers.end_headers {
            return self.end_block(
                headers.stream,
                headers.end_stream,
                headers.priority,
                headers.fragment,
            );
        }
        if headers.fragment.is_empty() {
            self.overhead()?;
        }
        self.block = Some(Box::new(PendingBlock {
            stream: headers.stream,
            end_stream: headers.end_stream,
            priority: headers.priority,
            fragments: headers.fragment.to_vec(),
        }));
        Ok(Step::Continue)
    }

    fn on_continuation(&mut self, continuation: Continuation<'_>) -> Result<Step, FrameError> {
        // §6.10: "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or
        // CONTINUATION frame without the END_HEADERS flag set."
        let Some(mut block) = self.block.take() else {
            return Err(FrameError::connection(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.10: CONTINUATION without a field block in progress",
            ));
        };
        // §10.5.1: "The field block MUST be processed to ensure a consistent connection
        // state, unless the connection is closed": past what we buffer, it is closed.
        if block.fragments.len() + continuation.fragment.len() > self.limits.max_header_block() {
            return Err(FrameError::connection(
                ErrorCode::EnhanceYourCalm,
                "RFC 9113 §10.5.1: a field block larger than we buffer (CONTINUATION flood)",
            ));
        }
        if continuation.fragment.is_empty() && !continuation.end_headers {
            self.overhead()?;
        }
        block.fragments.extend_from_slice(continuation.fragment);
        if !continuation.end_headers {
            self.block = Some(block);
            return Ok(Step::Continue);
        }
        self.end_block(
            block.stream,
            block.end_stream,
            block.priority,
            &block.fragments,
        )
    }

    /// A whole field block: decoded whatever the stream's state (§4.3: "Each field block
    /// is processed as a discrete unit"), then a request, trailers, or an error.
    fn end_block(
        &mut self,
        stream: StreamId,
        end_stream: bool,
        priority: Option<PrioritySpec>,
        block: &[u8],
    ) -> Result<Step, FrameError> {
        let mut list = HeaderList::default();
        // §4.3: "A receiver MUST terminate the connection with a connection error of
        // type COMPRESSION_ERROR if it does not decompress a field block."
        if self
            .decoder
            .decode(block, self.limits.max_header_list_size as usize, &mut list)
            .is_err()
        {
            return Err(FrameError::connection(
                ErrorCode::CompressionError,
                "RFC 9113 §4.3: a field block that does not decompress",
            ));
        }
        let id = stream.value();
        if self.streams.contains_key(&id) {
            return self.on_trailers(stream, end_stream, priority, &list);
        }
        if let Gone::Closed = self.gone(id) {
            return self.headers_on_closed_stream(id);
        }
        // §5.1.1: "Streams initiated by a client MUST use odd-numbered stream
        // identifiers"; "An endpoint that receives an unexpected stream identifier MUST
        // respond with a connection error of type PROTOCOL_ERROR."
        if !stream.is_client_initiated() {
            return Err(FrameError::connection(
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1.1: a client stream with an even identifier",
            ));
        }
        self.last_peer_stream = id;
        // §6.8: "the sender will ignore frames sent on streams initiated by the
        // receiver if the stream has an identifier higher than the included last
        // stream identifier".
        if self.going_away {
            return Ok(Step::Continue);
        }
        if let Some(priority) = priority {
            priority.check(stream)?;
        }
        // §5.1.2: "An endpoint that receives a HEADERS frame that causes its advertised
        // concurrent stream limit to be exceeded MUST treat this as a stream error of
        // type PROTOCOL_ERROR or REFUSED_STREAM."
        if self.streams.len() >= self.limits.max_concurrent_streams as usize {
            return Err(FrameError::stream(
                stream,
                ErrorCode::RefusedStream,
                "RFC 9113 §5.1.2: more streams than SETTINGS_MAX_CONCURRENT_STREAMS",
            ));
        }
        let mut content = None;
        let pending = if list.too_large() {
            Pending::RequestTooLarge { stream: id }
        } else {
            let request = parse_request(&list, self.limits.connect_protocol)
                .map_err(|reason| FrameError::stream(stream, ErrorCode::ProtocolError, reason))?;
            if let Some(length) = request.content_length() {
                content = Some(content_left(stream, length, 0, end_stream)?);
            }
            Pending::Request {
                stream: id,
                request: Box::new(request),
                end_stream,
            }
        };
        let mut opened = Stream::new(self.recv_initial, self.peer_initial_window, end_stream);
        opened.content_left = content;
        self.streams.insert(id, opened);
        self.idle_since = None;
        // The client's GOAWAY had the connection close once no stream was left; its
        // GOAWAY stops only our new streams (RFC 9113 §6.8), so a stream it opens after
        // it is served, and the connection closes when that one is done.
        if self.peer_went_away && !self.going_away && !self.eof {
            self.closing = None;
        }
        Ok(Step::Event(pending))
    }

    /// A field block on a stream identifier not above the last the client used, and
    /// no stream open on it.
    fn headers_on_closed_stream(&mut self, stream: u32) -> Result<Step, FrameError> {
        // §5.1: after sending RST_STREAM, "An endpoint MUST minimally process and then
        // discard any frames it receives in this state" (the block was decoded); §6.8:
        // frames on streams above our GOAWAY's last stream are ignored.
        if self.recent.contains(stream) || self.goaway_last.is_some_and(|last| stream > last) {
            self.overhead()?;
            return Ok(Step::Continue);
        }
        // §5.1.1: "The identifier of a newly established stream MUST be numerically
        // greater than all streams that the initiating endpoint has opened or
        // reserved." ... "An endpoint that receives an unexpected stream identifier
        // MUST respond with a connection error of type PROTOCOL_ERROR."
        Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §5.1.1: HEADERS on a stream identifier below the last one",
        ))
    }

    /// A second field block on an open stream: a trailer section.
    fn on_trailers(
        &mut self,
        stream: StreamId,
        end_stream: bool,
        priority: Option<PrioritySpec>,
        list: &HeaderList,
    ) -> Result<Step, FrameError> {
        let id = stream.value();
        if self.streams.get(&id).is_some_and(|s| s.remote_closed) {
            return Err(FrameError::stream(
                stream,
                ErrorCode::StreamClosed,
                "RFC 9113 §5.1: a frame after END_STREAM (half-closed remote)",
            ));
        }
        if let Some(priority) = priority {
            priority.check(stream)?;
        }
        // §8.1: "An endpoint that receives a HEADERS frame without the END_STREAM flag
        // set after receiving the HEADERS frame that opens a request ... MUST treat the
        // corresponding request or response as malformed".
        if !end_stream {
            return Err(FrameError::stream(
                stream,
                ErrorCode::ProtocolError,
                "RFC 9113 §8.1: a trailer section without END_STREAM",
            ));
        }
        check_trailers(list)
            .map_err(|reason| FrameError::stream(stream, ErrorCode::ProtocolError, reason))?;
        if let Some(s) = self.streams.get_mut(&id) {
            if let Some(left) = s.content_left {
                content_left(stream, left, 0, true)?;
            }
            s.remote_closed = true;
        }
        self.close_if_done(id);
        Ok(Step::Event(Pending::Data {
            stream: id,
            range: self.pos..self.pos,
            end_stream: true,
        }))
    }

    fn on_rst_stream(&mut self, rst: RstStream) -> Result<Step, FrameError> {
        let id = rst.stream.value();
        if self.streams.remove(&id).is_some() {
            self.after_stream_gone();
            self.flood.peer_reset(self.now, &self.limits)?;
            return Ok(Step::Event(Pending::Reset {
                stream: id,
                code: rst.code,
                by_peer: true,
                reason: "RFC 9113 §6.4: the peer reset the stream",
            }));
        }
        self.overhead()?;
        match self.gone(id) {
            // §6.4: "If a RST_STREAM frame identifying an idle stream is received, the
            // recipient MUST treat this as a connection error of type PROTOCOL_ERROR."
            Gone::Idle => Err(FrameError::connection(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.4: RST_STREAM on an idle stream",
            )),
            // §5.1: one "might receive a WINDOW_UPDATE or RST_STREAM frame from its peer
            // in the time before the peer receives and processes the frame that closes
            // the stream".
            Gone::Closed => Ok(Step::Continue),
        }
    }

    fn on_settings(&mut self, settings: Settings<'_>) -> Result<Step, FrameError> {
        self.overhead()?;
        if settings.ack {
            if self.settings_sent.take().is_some() {
                self.our_settings_applied();
            }
            return Ok(Step::Continue);
        }
        // §6.5.3: "The values in the SETTINGS frame MUST be processed in the order they
        // appear": for INITIAL_WINDOW_SIZE the last value is the one in force, and the
        // streams' windows move once, by its difference from the old one (a frame full
        // of such entries costs one walk of the streams, not one per entry).
        let mut initial_window = None;
        let mut highest_window = 0;
        for setting in settings.iter() {
            match setting? {
                Setting::InitialWindowSize(size) => {
                    initial_window = Some(size);
                    highest_window = highest_window.max(size);
                }
                Setting::MaxFrameSize(size) => self.peer_max_frame_size = size,
                // We never index what we encode, nor push, nor open streams: the
                // peer's other settings do not concern us.
                _ => {}
            }
        }
        if let Some(size) = initial_window {
            self.peer_initial_window(size, highest_window)?;
        }
        self.room_for_answer()?;
        write_settings_ack(&mut self.ctrl);
        Ok(Step::Continue)
    }

    /// The peer acknowledged our SETTINGS: its streams start with our window now.
    fn our_settings_applied(&mut self) {
        let ours = self.limits.stream_window;
        let delta = i64::from(ours) - i64::from(self.recv_initial);
        if delta != 0 {
            for stream in self.streams.values_mut() {
                stream.recv_window += delta;
            }
            self.recv_initial = ours;
        }
    }

    /// §6.9.2: "When the value of SETTINGS_INITIAL_WINDOW_SIZE changes, a receiver MUST
    /// adjust the size of all stream flow-control windows that it maintains by the
    /// difference between the new value and the old value." It may go negative. `size`
    /// is the last value of a SETTINGS frame, `highest` the highest it held: the windows
    /// passed through that one too, in order.
    fn peer_initial_window(&mut self, size: u32, highest: u32) -> Result<(), FrameError> {
        let old = i64::from(self.peer_initial_window);
        let delta = i64::from(size) - old;
        let peak = i64::from(highest) - old;
        self.peer_initial_window = size;
        if delta == 0 && peak <= 0 {
            return Ok(());
        }
        #[cfg(test)]
        {
            self.window_walks += 1;
        }
        for (&id, stream) in self.streams.iter_mut() {
            // §6.9.2: "An endpoint MUST treat a change to SETTINGS_INITIAL_WINDOW_SIZE
            // that causes any flow-control window to exceed the maximum size as a
            // connection error of type FLOW_CONTROL_ERROR."
            stream.send_window = grow(stream.send_window, peak)
                .and_then(|_| grow(stream.send_window, delta))
                .ok_or(FrameError::connection(
                    ErrorCode::FlowControlError,
                    "RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change past 2^31-1",
                ))?;
            if !stream.in_ready && stream.wants_turn() {
                stream.in_ready = true;
                self.ready.push_back(id);
            }
        }
        Ok(())
    }

    fn on_ping(&mut self, ping: Ping) -> Result<Step, FrameError> {
        self.overhead()?;
        // §6.7: "An endpoint MUST NOT respond to PING frames containing this flag."
        if !ping.ack {
            self.room_for_answer()?;
            // §6.7: "Receivers of a PING frame that does not include an ACK flag MUST
            // send a PING frame with the ACK flag set in response, with an identical
            // frame payload."
            write_ping_ack(&mut self.ctrl, ping.data);
        }
        Ok(Step::Continue)
    }

    fn on_goaway(&mut self, goaway: GoAway, offset: usize) -> Result<Step, FrameError> {
        self.overhead()?;
        self.peer_went_away = true;
        self.after_stream_gone();
        Ok(Step::Event(Pending::GoAway {
            code: goaway.code,
            debug: offset + goaway.debug.start..offset + goaway.debug.end,
        }))
    }

    fn on_window_update(&mut self, update: WindowUpdate) -> Result<Step, FrameError> {
        let increment = i64::from(update.increment);
        if update.stream.is_connection() {
            // §6.9.1: "If a sender receives a WINDOW_UPDATE that causes a flow-control
            // window to exceed this maximum, it MUST terminate either the stream or the
            // connection, as appropriate."
            self.conn_send_window =
                grow(self.conn_send_window, increment).ok_or(FrameError::connection(
                    ErrorCode::FlowControlError,
                    "RFC 9113 §6.9.1: a WINDOW_UPDATE past 2^31-1 on the connection",
                ))?;
            return Ok(Step::Continue);
        }
        let id = update.stream.value();
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.send_window = grow(stream.send_window, increment).ok_or(FrameError::stream(
                update.stream,
                ErrorCode::FlowControlError,
                "RFC 9113 §6.9.1: a WINDOW_UPDATE past 2^31-1 on a stream",
            ))?;
            if !stream.in_ready && stream.wants_turn() {
                stream.in_ready = true;
                self.ready.push_back(id);
            }
            return Ok(Step::Continue);
        }
        self.overhead()?;
        match self.gone(id) {
            Gone::Idle => Err(FrameError::connection(
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1: WINDOW_UPDATE on an idle stream",
            )),
            Gone::Closed => Ok(Step::Continue),
        }
    }

    /// Returns the connection credit the peer used, once half the window is used: the
    /// stream windows, not this one, bound what the application holds.
    fn reopen_connection_window(&mut self) {
        let target = self.limits.connection_window;
        if self.conn_unacked >= (target / 2).max(1) {
            write_window_update(&mut self.ctrl, StreamId::CONNECTION, self.conn_unacked);
            self.conn_recv_window += i64::from(self.conn_unacked);
            self.conn_unacked = 0;
        }
    }

    /// How much consumed credit a stream gathers before it is returned.
    pub(super) fn stream_update_threshold(&self) -> u32 {
        (self.limits.stream_window / 2).max(1)
    }
}

/// What is still due by the content-length after `len` more octets, ending the stream
/// or not. §8.1.1: "A request or response is also malformed if the value of a
/// content-length header field does not equal the sum of the DATA frame payload
/// lengths that form the content".
fn content_left(
    stream: StreamId,
    left: u64,
    len: u64,
    end_stream: bool,
) -> Result<u64, FrameError> {
    let malformed = |reason| FrameError::stream(stream, ErrorCode::ProtocolError, reason);
    let left = left.checked_sub(len).ok_or(malformed(
        "RFC 9113 §8.1.1: more DATA than the content-length",
    ))?;
    if end_stream && left > 0 {
        return Err(malformed(
            "RFC 9113 §8.1.1: less DATA than the content-length",
        ));
    }
    Ok(left)
}

/// Returns a stream's consumed credit once it reaches `threshold`, unless the peer sends
/// nothing more on it.
pub(super) fn reopen_stream_window(
    ctrl: &mut Vec<u8>,
    id: u32,
    stream: &mut Stream,
    threshold: u32,
) {
    if stream.remote_closed || stream.recv_unacked < threshold {
        return;
    }
    write_window_update(ctrl, StreamId::new(id), stream.recv_unacked);
    stream.recv_window += i64::from(stream.recv_unacked);
    stream.recv_unacked = 0;
}
