//! The two GraphQL-over-WebSocket subprotocols: what a client may send, what the server
//! sends, and graphql-transport-ws's close codes (the legacy protocol closes with the same).
use async_graphql::Request;
use serde_json::{Value, json};

/// `graphql-transport-ws` (the `graphql-ws` library).
pub(crate) const TRANSPORT_WS: &str = "graphql-transport-ws";
/// `graphql-ws` (the legacy subscriptions-transport-ws).
pub(crate) const LEGACY: &str = "graphql-ws";

/// Close codes.
pub(crate) mod close {
    /// A message that is not one of the protocol's.
    pub(crate) const BAD_MESSAGE: u16 = 4400;
    /// `subscribe` before `connection_ack`.
    pub(crate) const UNAUTHORIZED: u16 = 4401;
    /// The init's token was refused, expired, or the subject's sessions were revoked.
    pub(crate) const FORBIDDEN: u16 = 4403;
    /// No `connection_init` in time.
    pub(crate) const INIT_TIMEOUT: u16 = 4408;
    /// A subscription id already in use.
    pub(crate) const DUPLICATE_ID: u16 = 4409;
    /// A second `connection_init`.
    pub(crate) const TOO_MANY_INITS: u16 = 4429;
    /// The subscriber fell too far behind; resume from the last cursor (RFC 6455 "try again
    /// later").
    pub(crate) const SLOW_CONSUMER: u16 = 1013;
    /// The peer stopped answering pings.
    pub(crate) const GOING_AWAY: u16 = 1001;
    /// The client asked to end.
    pub(crate) const NORMAL: u16 = 1000;
}

/// Which subprotocol a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// graphql-transport-ws.
    TransportWs,
    /// Legacy graphql-ws.
    Legacy,
}

/// A message from the client.
#[derive(Debug)]
pub(crate) enum ClientMessage {
    /// `connection_init` with its payload.
    Init(Option<Value>),
    /// `ping` (answered with `pong` and the same payload).
    Ping(Option<Value>),
    /// `pong`.
    Pong,
    /// `subscribe` / `start`.
    Subscribe { id: String, request: Box<Request> },
    /// `complete` / `stop`.
    Complete { id: String },
    /// `connection_terminate` (legacy).
    Terminate,
}

/// Why a text is not a message of the protocol (the close reason of 4400).
pub(crate) type BadMessage = String;

impl Protocol {
    /// Reads one text frame.
    pub(crate) fn parse(self, text: &str) -> Result<ClientMessage, BadMessage> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| "Invalid message: not JSON".to_owned())?;
        let Value::Object(mut map) = value else {
            return Err("Invalid message: not an object".into());
        };
        let Some(Value::String(kind)) = map.remove("type") else {
            return Err("Invalid message: missing type".into());
        };
        let payload = map.remove("payload").filter(|p| !p.is_null());
        let id = || match map.get("id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
            _ => Err(format!("Invalid message: `{kind}` needs an id")),
        };
        let legacy = self == Protocol::Legacy;
        match kind.as_str() {
            "connection_init" => match &payload {
                None | Some(Value::Object(_)) => Ok(ClientMessage::Init(payload)),
                Some(_) => Err("Invalid message: the init payload must be an object".into()),
            },
            "ping" if !legacy => Ok(ClientMessage::Ping(payload)),
            "pong" if !legacy => Ok(ClientMessage::Pong),
            "subscribe" if !legacy => subscribe(id()?, payload),
            "start" if legacy => subscribe(id()?, payload),
            "complete" if !legacy => Ok(ClientMessage::Complete { id: id()? }),
            "stop" if legacy => Ok(ClientMessage::Complete { id: id()? }),
            "connection_terminate" if legacy => Ok(ClientMessage::Terminate),
            other => Err(format!("Invalid message: unknown type {other:?}")),
        }
    }

    /// `connection_ack`.
    pub(crate) fn ack(self) -> String {
        json!({ "type": "connection_ack" }).to_string()
    }

    /// The answer to a ping.
    pub(crate) fn pong(self, payload: Option<Value>) -> String {
        match payload {
            Some(p) => json!({ "type": "pong", "payload": p }).to_string(),
            None => json!({ "type": "pong" }).to_string(),
        }
    }

    /// The legacy keep-alive (`ka`); graphql-transport-ws keeps alive with ping frames.
    pub(crate) fn keep_alive(self) -> Option<String> {
        (self == Protocol::Legacy).then(|| json!({ "type": "ka" }).to_string())
    }

    /// One result of subscription `id`; `payload` is the serialized `{"data": …}` answer
    /// (serialized once for every subscriber it goes to).
    pub(crate) fn next(self, id: &str, payload: &str) -> String {
        let kind = match self {
            Protocol::TransportWs => "next",
            Protocol::Legacy => "data",
        };
        let id = Value::String(id.to_owned());
        format!(r#"{{"id":{id},"type":"{kind}","payload":{payload}}}"#)
    }

    /// Errors that ended subscription `id` before any result (`errors` is a JSON array).
    pub(crate) fn error(self, id: &str, errors: Value) -> String {
        json!({ "id": id, "type": "error", "payload": errors }).to_string()
    }

    /// Subscription `id` is done.
    pub(crate) fn complete(self, id: &str) -> String {
        json!({ "id": id, "type": "complete" }).to_string()
    }

    /// A refused init, for the legacy protocol (it reports before closing).
    pub(crate) fn connection_error(self, message: &str) -> Option<String> {
        (self == Protocol::Legacy).then(|| {
            json!({ "type": "connection_error", "payload": { "message": message } }).to_string()
        })
    }
}

fn subscribe(id: String, payload: Option<Value>) -> Result<ClientMessage, BadMessage> {
    let payload =
        payload.ok_or_else(|| format!("Invalid message: subscription {id:?} has no payload"))?;
    let request: Request = serde_json::from_value(payload).map_err(|e| {
        format!("Invalid message: the payload of {id:?} is not a GraphQL request: {e}")
    })?;
    Ok(ClientMessage::Subscribe { id, request: Box::new(request) })
}

/// The bearer token of an init payload: `Authorization`/`authorization` ("Bearer …") or
/// `token`. `Ok(None)`: no token; `Err` for a value that is not a token.
pub(crate) fn token_of(payload: Option<&Value>) -> Result<Option<String>, &'static str> {
    let Some(Value::Object(map)) = payload else { return Ok(None) };
    let header = map.get("Authorization").or_else(|| map.get("authorization"));
    if let Some(value) = header {
        let Value::String(value) = value else { return Err("Authorization must be a string") };
        return match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Ok(Some(token.trim().to_owned()))
            }
            _ => Err("Authorization must be `Bearer <token>`"),
        };
    }
    match map.get("token") {
        Some(Value::String(token)) if !token.trim().is_empty() => Ok(Some(token.trim().to_owned())),
        Some(_) => Err("token must be a non-empty string"),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_each_protocol() {
        let t = Protocol::TransportWs;
        assert!(matches!(t.parse(r#"{"type":"connection_init"}"#), Ok(ClientMessage::Init(None))));
        let sub = r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { a }"}}"#;
        assert!(matches!(t.parse(sub), Ok(ClientMessage::Subscribe { .. })));
        for bad in [
            "nope",
            "[]",
            r#"{"id":"1"}"#,
            r#"{"type":"start","id":"1"}"#,
            r#"{"type":"subscribe","payload":{}}"#,
        ] {
            assert!(t.parse(bad).is_err(), "{bad}");
        }
        let l = Protocol::Legacy;
        let start = r#"{"type":"start","id":"1","payload":{"query":"subscription { a }"}}"#;
        assert!(matches!(l.parse(start), Ok(ClientMessage::Subscribe { .. })));
        assert!(matches!(
            l.parse(r#"{"type":"stop","id":"1"}"#),
            Ok(ClientMessage::Complete { .. })
        ));
        assert!(l.parse(r#"{"type":"ping"}"#).is_err(), "legacy has no ping message");
        assert_eq!(
            t.next("7", r#"{"data":1}"#),
            r#"{"id":"7","type":"next","payload":{"data":1}}"#
        );
    }

    #[test]
    fn tokens_from_the_init_payload() {
        let p = |v: Value| token_of(Some(&v));
        assert_eq!(p(json!({"Authorization": "Bearer abc"})), Ok(Some("abc".into())));
        assert_eq!(p(json!({"authorization": "bearer abc"})), Ok(Some("abc".into())));
        assert_eq!(p(json!({"token": "abc"})), Ok(Some("abc".into())));
        assert_eq!(p(json!({})), Ok(None));
        assert!(p(json!({"Authorization": "abc"})).is_err());
        assert!(p(json!({"token": 5})).is_err());
    }
}
