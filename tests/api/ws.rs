//! A GraphQL-over-WebSocket client for the tests: a real tungstenite socket speaking either
//! subprotocol, with timeouts so a missing message fails instead of hanging.
use crate::helpers::TestApp;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// How long a test waits for one message.
pub const WAIT: Duration = Duration::from_secs(5);

/// One client socket.
pub struct Ws {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
}

impl Ws {
    /// Opens `/graphql/ws` offering `protocol`.
    pub async fn open(app: &TestApp, protocol: &str) -> Ws {
        Self::open_with(app, protocol, None).await
    }

    /// [`Ws::open`] on a socket whose kernel receive buffer is `receive_buffer` bytes, when
    /// given (fixed, so the kernel's autotuning cannot make it hold megabytes).
    async fn open_with(app: &TestApp, protocol: &str, receive_buffer: Option<u32>) -> Ws {
        let mut req =
            format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("a request");
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(protocol).expect("header"));
        let (socket, resp) = match receive_buffer {
            None => tokio_tungstenite::connect_async(req).await.expect("upgrade"),
            Some(bytes) => {
                let tcp = tokio::net::TcpSocket::new_v4().expect("a socket");
                tcp.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
                let stream = tcp.connect(app.addr).await.expect("connect");
                tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream))
                    .await
                    .expect("upgrade")
            }
        };
        let protocol = resp
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ws { socket, protocol }
    }

    /// Sends one JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// Sends one text frame as it is.
    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::Text(text.into())).await.expect("send");
    }

    /// The next protocol message (keep-alives skipped); panics on a close or a timeout.
    pub async fn next(&mut self) -> Value {
        match self.next_within(WAIT).await {
            Some(v) => v,
            None => panic!("no message within {WAIT:?}"),
        }
    }

    /// The next protocol message within `wait`, or `None`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()??;
            match frame.expect("a frame") {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(text.as_str()).expect("JSON message");
                    if v["type"] != "ka" {
                        return Some(v);
                    }
                }
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next message, or the close code.
    pub async fn next_or_close(&mut self) -> Result<Value, u16> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(text.as_str()).expect("JSON message"));
                }
                Some(Ok(Message::Close(Some(f)))) => return Err(f.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return Err(1005),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Waits for the server to close: its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a close within the wait");
            match frame {
                Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    return (1005, String::new());
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// `connection_init` with `payload`; returns the server's answer.
    pub async fn init_with(&mut self, payload: Value) -> Value {
        self.send(json!({ "type": "connection_init", "payload": payload })).await;
        self.next().await
    }

    /// `connection_init` with `token` (none: anonymous), asserting the ack.
    pub async fn init(&mut self, token: Option<&str>) {
        let payload = match token {
            Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        let ack = self.init_with(payload).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
    }

    /// `subscribe` (graphql-transport-ws).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let payload = json!({ "query": query, "variables": variables });
        self.send(json!({ "id": id, "type": "subscribe", "payload": payload })).await;
    }

    /// Sends a ping frame and a close, dropping the socket without waiting (a client that
    /// vanished).
    pub async fn drop_now(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// An authenticated graphql-transport-ws socket.
pub async fn connected(app: &TestApp, token: Option<&str>) -> Ws {
    let mut ws = Ws::open(app, "graphql-transport-ws").await;
    ws.init(token).await;
    ws
}

/// [`connected`], on a socket whose kernel receive buffer holds at most `receive_buffer` bytes.
pub async fn connected_with_receive_buffer(
    app: &TestApp,
    token: Option<&str>,
    receive_buffer: u32,
) -> Ws {
    let mut ws = Ws::open_with(app, "graphql-transport-ws", Some(receive_buffer)).await;
    ws.init(token).await;
    ws
}
