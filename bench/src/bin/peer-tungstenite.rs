//! `peer-tungstenite`: a WebSocket echo server on tokio-tungstenite and a current-thread
//! tokio runtime (one thread, like wsecho). With `--tls`, over tokio-rustls.

use clap::Parser;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use wsecho_bench::peer::{MAX_MESSAGE, PeerArgs, announce};

fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(args.addr()).await?;
        announce("peer-tungstenite", listener.local_addr()?, args.tls);
        let tls = args
            .tls
            .then(|| TlsAcceptor::from(wsecho_bench::tls::server_config()));
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            match &tls {
                None => {
                    tokio::spawn(echo(stream));
                }
                Some(acceptor) => {
                    let accept = acceptor.accept(stream);
                    tokio::spawn(async move {
                        if let Ok(stream) = accept.await {
                            echo(stream).await;
                        }
                    });
                }
            }
        }
    })
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if !(msg.is_text() || msg.is_binary()) {
            // Close and ping replies are queued by tungstenite itself; push them out.
            if ws.flush().await.is_err() {
                return;
            }
            continue;
        }
        if ws.feed(msg).await.is_err() {
            return;
        }
        // Echo everything already received before flushing, so pipelined messages leave in
        // one write, as an event-loop server does; `now_or_never` polls without waiting.
        while let Some(Some(Ok(msg))) = ws.next().now_or_never() {
            if (msg.is_text() || msg.is_binary()) && ws.feed(msg).await.is_err() {
                return;
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}
