//! GraphQL requests as clients send them over HTTP: a JSON body (one operation or a batch) or
//! URL parameters (`query`, `operationName`, `variables`, `extensions`), each optionally
//! naming a persisted document by `documentId` (GraphQL over HTTP's trusted documents; put
//! into `extensions.persistedQuery` as Apollo's clients send it).
use async_graphql::{BatchRequest, Request, Variables};
use serde::Deserialize;

/// One operation of a JSON body. Its fields are read straight into their types (`flatten` over
/// async-graphql's `Request` would buffer the whole body first: measured several µs a page).
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    query: String,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Variables,
    #[serde(default)]
    extensions: async_graphql::Extensions,
    #[serde(default, rename = "documentId")]
    document_id: Option<String>,
}

impl Wire {
    fn request(self) -> Result<Request, Unreadable> {
        let mut req = Request::new(self.query).variables(self.variables);
        req.operation_name = self.operation_name;
        req.extensions = self.extensions;
        with_document_id(req, self.document_id)
    }
}

/// URL parameters of a GET.
#[derive(Debug, Deserialize)]
pub(crate) struct WireGet {
    #[serde(default)]
    query: String,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<String>,
    #[serde(default)]
    extensions: Option<String>,
    #[serde(default, rename = "documentId")]
    document_id: Option<String>,
}

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unreadable(String);

/// Puts `documentId` (`sha256:<hex>` or the bare hex) where the pipeline looks for the hash.
fn with_document_id(mut req: Request, id: Option<String>) -> Result<Request, Unreadable> {
    let Some(id) = id else { return Ok(req) };
    let hash = id.strip_prefix("sha256:").unwrap_or(&id).to_owned();
    let pq = serde_json::json!({ "version": 1, "sha256Hash": hash });
    let pq = async_graphql::Value::from_json(pq).map_err(|e| Unreadable(e.to_string()))?;
    req.extensions.insert("persistedQuery".into(), pq);
    Ok(req)
}

/// The operation or batch of a JSON body.
pub(crate) fn from_body(body: &[u8]) -> Result<BatchRequest, Unreadable> {
    let unreadable = |e: serde_json::Error| Unreadable(e.to_string());
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let batch: Vec<Wire> = serde_json::from_slice(body).map_err(unreadable)?;
        let batch = batch.into_iter().map(Wire::request).collect::<Result<Vec<_>, _>>()?;
        return Ok(BatchRequest::Batch(batch));
    }
    let wire: Wire = serde_json::from_slice(body).map_err(unreadable)?;
    Ok(BatchRequest::Single(wire.request()?))
}

/// The operation of a GET's URL.
pub(crate) fn from_url(get: WireGet) -> Result<BatchRequest, Unreadable> {
    let mut req = Request::new(get.query);
    req.operation_name = get.operation_name;
    if let Some(variables) = get.variables.filter(|v| !v.is_empty()) {
        let json: serde_json::Value = serde_json::from_str(&variables)
            .map_err(|e| Unreadable(format!("`variables` is not JSON: {e}")))?;
        req.variables = Variables::from_json(json);
    }
    if let Some(extensions) = get.extensions.filter(|v| !v.is_empty()) {
        req.extensions = serde_json::from_str(&extensions)
            .map_err(|e| Unreadable(format!("`extensions` is not a JSON object: {e}")))?;
    }
    Ok(BatchRequest::Single(with_document_id(req, get.document_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_urls_carry_document_ids_as_persisted_query_hashes() {
        let body = br#"{"documentId": "sha256:ab12", "variables": {"a": 1}}"#;
        let BatchRequest::Single(req) = from_body(body).unwrap() else { panic!("single") };
        let pq = req.extensions.get("persistedQuery").unwrap().clone().into_json().unwrap();
        assert_eq!(pq["sha256Hash"], "ab12");
        assert_eq!(req.variables.into_value().into_json().unwrap()["a"], 1);
        let batch = from_body(br#" [{"query": "{ a }"}, {"query": "{ b }"}]"#).unwrap();
        assert!(matches!(batch, BatchRequest::Batch(b) if b.len() == 2));
        assert!(from_body(b"{nope").is_err());
        let get = WireGet {
            query: String::new(),
            operation_name: Some("Op".into()),
            variables: Some(r#"{"x": "y"}"#.into()),
            extensions: Some(r#"{"persistedQuery": {"version": 1, "sha256Hash": "cd"}}"#.into()),
            document_id: None,
        };
        let BatchRequest::Single(req) = from_url(get).unwrap() else { panic!("single") };
        assert_eq!(req.operation_name.as_deref(), Some("Op"));
        assert!(req.extensions.contains_key("persistedQuery"));
    }
}
