//! A `text/event-stream` decoder that takes the body as it arrives, in chunks of bytes.
//!
//! `fetch` hands the body over in chunks cut wherever the network cut them: inside an event,
//! inside a line, inside a multi-byte UTF-8 character. So nothing is decoded until a whole line
//! is in: the bytes of an incomplete line wait for the next chunk. A line ends at `\n`, `\r\n`
//! or `\r` (all three are allowed by the HTML standard's event-stream format), none of which can
//! occur inside a UTF-8 multi-byte sequence, so a complete line is always whole characters.
//!
//! Pure (no browser types), so it is unit-tested natively.

/// One dispatched event: its name (`message` when the server gave none) and its data (the
/// `data:` lines joined by `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    /// The `event:` field.
    pub name: String,
    /// The `data:` field.
    pub data: String,
}

/// Turns chunks of bytes into events, keeping what belongs to the next chunk.
#[derive(Debug, Default)]
pub struct EventStreamDecoder {
    /// Bytes of a line not yet ended.
    pending: Vec<u8>,
    /// The last line ended with `\r`: a `\n` that starts the next chunk belongs to it.
    after_cr: bool,
    /// The event being built: its name so far.
    name: Option<String>,
    /// Its data lines so far.
    data: Option<String>,
}

impl EventStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next chunk; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<ServerEvent> {
        let mut events = Vec::new();
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let [b'\n', tail @ ..] = rest {
                rest = tail;
            }
        }
        while let Some(end) = rest.iter().position(|b| matches!(b, b'\n' | b'\r')) {
            self.pending.extend_from_slice(&rest[..end]);
            let line = String::from_utf8_lossy(&self.pending).into_owned();
            self.pending.clear();
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest {
                    [b'\n', tail @ ..] => rest = tail,
                    [] => self.after_cr = true,
                    _ => {}
                }
            }
        }
        self.pending.extend_from_slice(rest);
        events
    }

    /// One complete line: a field of the current event, a comment, or the blank line that
    /// dispatches the event.
    fn line(&mut self, line: &str) -> Option<ServerEvent> {
        if line.is_empty() {
            let name = self.name.take();
            // An event with no data is not dispatched (the standard's rule).
            let data = self.data.take()?;
            return Some(ServerEvent { name: name.unwrap_or_else(|| "message".into()), data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.name = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            // `id` and `retry` steer `EventSource`'s reconnection, which this reader does not do.
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: &str) -> ServerEvent {
        ServerEvent { name: name.into(), data: data.into() }
    }

    fn decode_in(chunks: &[&[u8]]) -> Vec<ServerEvent> {
        let mut decoder = EventStreamDecoder::new();
        chunks.iter().flat_map(|c| decoder.push(c)).collect()
    }

    const STREAM: &str = "event: progress\ndata: {\"name\":\"Café ☕ 日本 🦀\"}\n\n\
                          : a comment\n\
                          event: finished\ndata: {\"name\":\"Ünïcödé\"}\n\n";

    fn expected() -> Vec<ServerEvent> {
        vec![event("progress", "{\"name\":\"Café ☕ 日本 🦀\"}"), event("finished", "{\"name\":\"Ünïcödé\"}")]
    }

    #[test]
    fn a_chunk_split_inside_a_multi_byte_character_is_decoded_whole() {
        let bytes = STREAM.as_bytes();
        // Inside the crab: a four-byte character, cut after its first byte.
        let crab = STREAM.find('🦀').unwrap();
        assert_eq!(decode_in(&[&bytes[..crab + 1], &bytes[crab + 1..]]), expected());
        // Inside `é`, cut between its two bytes.
        let e = STREAM.find('é').unwrap();
        assert_eq!(decode_in(&[&bytes[..e + 1], &bytes[e + 1..]]), expected());
    }

    #[test]
    fn a_chunk_split_inside_an_event_waits_for_the_rest() {
        let bytes = STREAM.as_bytes();
        let mut decoder = EventStreamDecoder::new();
        let cut = STREAM.find("data").unwrap() + 3;
        assert_eq!(decoder.push(&bytes[..cut]), []);
        let second = STREAM.find("finished").unwrap();
        assert_eq!(decoder.push(&bytes[cut..second]), expected()[..1]);
        assert_eq!(decoder.push(&bytes[second..]), expected()[1..]);
    }

    #[test]
    fn every_cut_of_the_stream_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(decode_in(&[&bytes[..cut], &bytes[cut..]]), expected(), "cut at byte {cut}");
        }
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode_in(&one_by_one), expected());
    }

    #[test]
    fn crlf_and_cr_line_ends_even_split_between_chunks() {
        let crlf = STREAM.replace('\n', "\r\n");
        let cr = STREAM.replace('\n', "\r");
        for stream in [crlf, cr] {
            let bytes = stream.as_bytes();
            for cut in 0..=bytes.len() {
                assert_eq!(decode_in(&[&bytes[..cut], &bytes[cut..]]), expected(), "{stream:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn fields_follow_the_event_stream_rules() {
        let stream = "data:no space\ndata:  two spaces\n\n\
                      event: empty\n\n\
                      event:error\ndata: {\"error\":{}}\nid: 7\nretry: 10\n\n";
        assert_eq!(
            decode_in(&[stream.as_bytes()]),
            [event("message", "no space\n two spaces"), event("error", "{\"error\":{}}")]
        );
    }
}
