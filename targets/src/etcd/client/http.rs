//! A small HTTP/1.1 client: one keep-alive connection, `Content-Length`,
//! chunked and read-to-EOF bodies. Enough for etcd's JSON gateway.

use super::error::{unknown, EtcdError};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub(super) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    pos: usize,
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 256 * 1024 * 1024;

impl Conn {
    pub(super) async fn open(addr: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
        })
    }

    /// True when the server has closed the connection (or sent something
    /// unasked) since the last response: it must not carry a request.
    ///
    /// This asks the socket itself (a non-blocking `MSG_PEEK`): tokio's
    /// cached readiness may not have seen the peer's FIN yet, and a request
    /// written into a connection the server already closed has an unknown
    /// outcome, where one never written has certainly failed.
    pub(super) fn is_stale(&self) -> bool {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: a borrowed view of the descriptor `self.stream` owns;
        // ManuallyDrop keeps the view from closing it.
        let view = std::mem::ManuallyDrop::new(unsafe {
            std::net::TcpStream::from_raw_fd(self.stream.as_raw_fd())
        });
        let mut b = [0u8; 1];
        !matches!(view.peek(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Writes a whole request; an error means it may have left in part.
    pub(super) async fn send(&mut self, request: &[u8]) -> Result<(), EtcdError> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| unknown(format!("sending the request: {e}")))
    }

    /// True when nothing unread is buffered: the connection may carry the
    /// next request.
    pub(super) fn drained(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Reads more bytes into the buffer; an error at EOF.
    async fn fill(&mut self) -> Result<(), EtcdError> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + 16 * 1024, 0);
        let n = self.stream.read(&mut self.buf[len..]).await;
        self.buf.truncate(len + *n.as_ref().unwrap_or(&0));
        match n {
            Ok(0) => Err(unknown(
                "connection closed before the response was complete",
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(unknown(format!("reading the response: {e}"))),
        }
    }

    async fn line(&mut self) -> Result<String, EtcdError> {
        loop {
            if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[self.pos..self.pos + i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.buf.len() - self.pos > MAX_HEAD {
                return Err(unknown("response line too long"));
            }
            self.fill().await?;
        }
    }

    async fn take(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), EtcdError> {
        while self.buf.len() - self.pos < n {
            self.fill().await?;
        }
        out.extend_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(())
    }

    /// Reads one response: status, body, and whether the connection stays open.
    pub(super) async fn response(&mut self) -> Result<(u16, Vec<u8>, bool), EtcdError> {
        let status_line = self.line().await?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|_| version.starts_with("HTTP/1."))
            .ok_or_else(|| unknown(format!("not an HTTP response: {status_line:?}")))?;
        let mut length = None;
        let mut chunked = false;
        let mut keep_alive = version == "HTTP/1.1";
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(unknown(format!("malformed header {line:?}")));
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    length = Some(
                        value
                            .parse::<usize>()
                            .map_err(|_| unknown(format!("bad Content-Length {value:?}")))?,
                    )
                }
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => {
                    let v = value.to_ascii_lowercase();
                    if v.contains("close") {
                        keep_alive = false;
                    } else if v.contains("keep-alive") {
                        keep_alive = true;
                    }
                }
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let line = self.line().await?;
                let size = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| unknown(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    // Trailers, up to an empty line.
                    while !self.line().await?.is_empty() {}
                    break;
                }
                if body.len() + size > MAX_BODY {
                    return Err(unknown("response body too large"));
                }
                self.take(size, &mut body).await?;
                if !self.line().await?.is_empty() {
                    return Err(unknown("chunk not followed by CRLF"));
                }
            }
        } else if let Some(n) = length {
            if n > MAX_BODY {
                return Err(unknown("response body too large"));
            }
            self.take(n, &mut body).await?;
        } else {
            // Body up to EOF.
            body.extend_from_slice(&self.buf[self.pos..]);
            self.pos = self.buf.len();
            loop {
                let mut chunk = [0u8; 16 * 1024];
                match self.stream.read(&mut chunk).await {
                    Ok(0) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                    Err(e) => return Err(unknown(format!("reading the response: {e}"))),
                }
            }
            keep_alive = false;
        }
        Ok((status, body, keep_alive))
    }
}
