//! A TCP connection that a handler can reset: the `reset` fault.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connection that fails with a reset once its kill switch is set.
#[derive(Debug)]
pub(crate) struct ResettableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl ResettableStream {
    /// The stream and its kill switch.
    pub fn new(inner: TcpStream) -> (ResettableStream, ConnectionKill) {
        let kill = Arc::new(AtomicBool::new(false));
        let switch = ConnectionKill(kill.clone());
        (ResettableStream { inner, kill }, switch)
    }

    fn killed(&self) -> Option<io::Error> {
        if self.kill.load(Ordering::Acquire) {
            // A zero linger makes the close that follows send RST, not FIN.
            let _ = self.inner.set_zero_linger();
            Some(io::Error::from(io::ErrorKind::ConnectionReset))
        } else {
            None
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(err) = self.killed() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(err) = self.killed() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.killed() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.killed() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The kill switch of the connection a request came on: a request
/// extension, set by the server for every request.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionKill(Arc<AtomicBool>);

impl ConnectionKill {
    /// Resets the connection at its next read or write.
    pub fn reset(&self) {
        self.0.store(true, Ordering::Release);
    }
}
