//! `peer-fastwebsockets`: a WebSocket echo server on fastwebsockets, upgraded through hyper
//! as fastwebsockets documents, with `FragmentCollector` for whole messages, on a
//! current-thread tokio runtime (one thread, like wsecho).

use clap::Parser;
use fastwebsockets::upgrade::{UpgradeFut, upgrade};
use fastwebsockets::{FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wsecho_bench::peer::{MAX_MESSAGE, PeerArgs, announce};

fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    if args.tls {
        eprintln!("peer-fastwebsockets: --tls is not supported");
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(args.addr()).await?;
        announce("peer-fastwebsockets", listener.local_addr()?, false);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let conn = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(on_request));
                let _ = conn.with_upgrades().await;
            });
        }
    })
}

async fn on_request(mut req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, fut) = upgrade(&mut req)?;
    tokio::spawn(async move {
        let _ = echo(fut).await;
    });
    Ok(response)
}

async fn echo(fut: UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = fut.await?;
    ws.set_max_message_size(MAX_MESSAGE);
    // auto_close and auto_pong (on by default) answer close and ping frames.
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}
