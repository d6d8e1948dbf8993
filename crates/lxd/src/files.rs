//! Reading files from inside an instance (`GET /1.0/instances/{name}/files?path=`), bounded.

use reqwest::Method;

use crate::client::{Call, Client, read_tail};
use crate::error::{Error, Result};
use crate::name::InstanceName;

/// The end of a file read from an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTail {
    /// The file's last bytes (all of it when it fits).
    pub content: Vec<u8>,
    /// Whether the file was longer than what was read, so `content` is only its tail.
    pub truncated: bool,
    /// The file's whole size, when LXD said it.
    pub size: Option<u64>,
}

impl FileTail {
    /// The content as text (invalid UTF-8, including a character cut at the start, becomes
    /// U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }
}

impl Client {
    /// Reads at most the last `max_bytes` of the file at `path` (absolute) inside the instance,
    /// e.g. `/var/log/cloud-init-output.log`.
    ///
    /// Only the tail crosses the wire: the request carries `Range: bytes=-max_bytes`, which LXD
    /// honours, so a guest that wrote gigabytes costs Mosaic `max_bytes`. Should something in
    /// between ignore the range, reading stops at the client's body limit. A missing file is LXD's
    /// 404 ([`Error::is_not_found`]); a directory is refused.
    pub async fn read_file_tail(
        &self,
        name: &InstanceName,
        path: &str,
        max_bytes: usize,
    ) -> Result<FileTail> {
        if !path.starts_with('/') {
            return Err(Error::invalid("instance file path", format!("{path:?} is not absolute")));
        }
        let keep = max_bytes.max(1);
        let api_path = format!("/1.0/instances/{name}/files");
        let query = [("path", path)];
        let call = Call::new(Method::GET, &api_path)
            .query(&query)
            .header(reqwest::header::RANGE, format!("bytes=-{keep}"));
        let (url, resp) = self.send(call).await?;
        let kind = resp.headers().get("x-lxd-type").and_then(|v| v.to_str().ok()).unwrap_or("file");
        if resp.status().is_success() && kind == "directory" {
            return Err(Error::invalid("instance file path", format!("{path} is a directory")));
        }
        let tail = read_tail(&url, resp, keep, self.body_limit()).await?;
        Ok(FileTail { content: tail.bytes, truncated: tail.truncated, size: tail.total })
    }
}
