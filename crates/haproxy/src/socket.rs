//! One command over a HAProxy CLI socket: connect, write the line, read to EOF.
//!
//! One command per connection keeps answers unambiguous (HAProxy's CLI has no framing in
//! non-interactive mode other than closing the connection). The master CLI of 2.6 only closes
//! after the client half-closes its side, so the write side is always shut down after the
//! command; the worker's admin socket closes on its own, and half-closing does no harm there.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::Error;

/// Answers larger than this are refused rather than buffered without bound (a `show stat` of
/// thousands of servers stays far below it).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Sends `command` on the socket at `path` and returns the whole answer.
pub(crate) async fn exchange(path: &Path, command: &str, timeout: Duration) -> Result<String, Error> {
    if command.contains(['\n', '\r', ';']) {
        // `;` chains commands and a newline starts another one: one call, one command.
        return Err(Error::Unexpected {
            command: command.escape_debug().to_string(),
            detail: "a command may not contain ';' or a line break".into(),
        });
    }
    let work = async {
        let mut stream = UnixStream::connect(path)
            .await
            .map_err(Error::io(format!("connecting to {}", path.display())))?;
        stream
            .write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(Error::io(format!("sending `{command}` to {}", path.display())))?;
        stream.shutdown().await.map_err(Error::io(format!("half-closing {}", path.display())))?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_ANSWER as u64 + 1)
            .read_to_end(&mut answer)
            .await
            .map_err(Error::io(format!("reading the answer to `{command}` from {}", path.display())))?;
        if answer.len() > MAX_ANSWER {
            return Err(Error::Unexpected {
                command: command.to_owned(),
                detail: format!("the answer is larger than {MAX_ANSWER} bytes"),
            });
        }
        String::from_utf8(answer).map_err(|e| Error::Unexpected {
            command: command.to_owned(),
            detail: format!("the answer is not UTF-8: {e}"),
        })
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| Error::Timeout {
        what: format!("an answer to `{command}` on {}", path.display()),
        after: timeout,
    })?
}
