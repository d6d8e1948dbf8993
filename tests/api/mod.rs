//! The HTTP API, through the real server on a free port.

mod health;
