//! Persisted operations: automatic persisted queries (Apollo's protocol — a client sends the
//! SHA-256 of its document, and the document itself only when the gateway does not know it
//! yet; stored in Redis so every replica knows it, in memory otherwise), and trusted documents
//! (a manifest in Apollo's persisted-query-list format; roles outside `CUR_ADHOC_ROLES` may run
//! only its operations).
use crate::{
    Error,
    auth::Role,
    cache::{Cache, sha256_hex},
};
use async_graphql::{Request, Value};
use std::{collections::HashMap, path::Path, time::Duration};

/// How long a registered document is kept (re-registered on a miss after that).
const APQ_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The manifest format this reads (`@apollo/generate-persisted-query-manifest`'s).
const MANIFEST_FORMAT: &str = "apollo-persisted-query-manifest";

/// One operation of a manifest.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ManifestOperation {
    /// The SHA-256 of `body`, in hex.
    pub id: String,
    /// The operation's name.
    pub name: String,
    /// `query`, `mutation` or `subscription`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The document.
    pub body: String,
}

/// A persisted-query list.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Always `apollo-persisted-query-manifest`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The operations.
    pub operations: Vec<ManifestOperation>,
}

impl Manifest {
    /// A manifest of `documents` (name, type, body), in the order given.
    pub fn of(documents: Vec<(String, String, String)>) -> Self {
        let operations = documents
            .into_iter()
            .map(|(name, kind, body)| ManifestOperation { id: sha256_hex(&body), name, kind, body })
            .collect();
        Manifest { format: MANIFEST_FORMAT.into(), version: 1, operations }
    }

    /// The manifest of a directory of `.graphql` files (one named operation each), by file
    /// name: what `cur-gateway manifest` prints.
    pub fn from_dir(dir: &Path) -> crate::Result<Self> {
        use async_graphql::parser::{
            parse_query,
            types::{DocumentOperations, OperationType},
        };
        let fail = |e: String| Error::Startup(format!("{}: {e}", dir.display()));
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| fail(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "graphql"))
            .collect();
        files.sort();
        let mut documents = Vec::with_capacity(files.len());
        for file in files {
            let fail = |e: String| Error::Startup(format!("{}: {e}", file.display()));
            let body = std::fs::read_to_string(&file).map_err(|e| fail(e.to_string()))?;
            let doc = parse_query(&body).map_err(|e| fail(e.to_string()))?;
            let DocumentOperations::Multiple(ops) = &doc.operations else {
                return Err(fail("the operation needs a name".into()));
            };
            let [(name, op)] = ops.iter().collect::<Vec<_>>()[..] else {
                return Err(fail("a file holds exactly one operation".into()));
            };
            let kind = match op.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            documents.push((name.to_string(), kind.to_owned(), body));
        }
        Ok(Manifest::of(documents))
    }

    /// Reads and checks a manifest file: its format, and every id against its body.
    pub fn read(path: &Path) -> crate::Result<Self> {
        let fail =
            |e: String| Error::Startup(format!("CUR_TRUSTED_DOCUMENTS {}: {e}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if manifest.format != MANIFEST_FORMAT || manifest.version != 1 {
            return Err(fail(format!("not a {MANIFEST_FORMAT} of version 1")));
        }
        for op in &manifest.operations {
            if sha256_hex(&op.body) != op.id.to_ascii_lowercase() {
                return Err(fail(format!("the id of {} is not the SHA-256 of its body", op.name)));
            }
        }
        Ok(manifest)
    }
}

/// Which documents may run, and where registered ones are kept.
pub(crate) struct Documents {
    /// Trusted documents by id (SHA-256), when a manifest is configured.
    trusted: Option<HashMap<String, String>>,
    /// Roles that may send documents outside the manifest.
    adhoc: Vec<Role>,
    /// Registered (APQ) documents.
    store: Cache,
}

/// The hash a request names: `extensions.persistedQuery.sha256Hash` (a `documentId` is put
/// there by the transport).
fn requested_hash(req: &Request) -> Result<Option<String>, Error> {
    let Some(pq) = req.extensions.get("persistedQuery") else { return Ok(None) };
    let Value::Object(pq) = pq else {
        return Err(Error::bad_input("extensions.persistedQuery must be an object"));
    };
    if let Some(version) = pq.get("version")
        && *version != Value::from(1)
    {
        return Err(Error::bad_input("only version 1 of persisted queries is supported"));
    }
    match pq.get("sha256Hash") {
        Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(h.to_ascii_lowercase()))
        }
        _ => Err(Error::bad_input("extensions.persistedQuery.sha256Hash must be 64 hex digits")),
    }
}

impl Documents {
    /// Documents of `manifest` (none: every role may send any document), registered ones kept
    /// in `store`.
    pub(crate) fn new(manifest: Option<Manifest>, adhoc: Vec<Role>, store: Cache) -> Self {
        let trusted = manifest.map(|m| {
            m.operations.into_iter().map(|op| (op.id.to_ascii_lowercase(), op.body)).collect()
        });
        Documents { trusted, adhoc, store }
    }

    fn trusted_only(&self, role: Role) -> bool {
        self.trusted.is_some() && !self.adhoc.contains(&role)
    }

    fn trusted_body(&self, hash: &str) -> Option<&String> {
        self.trusted.as_ref()?.get(hash)
    }

    /// Gives `req` its document: the trusted or registered one its hash names, or its own
    /// (registered under its hash when it sends one). Refuses what the role may not send.
    pub(crate) async fn resolve(&self, role: Role, req: &mut Request) -> Result<(), Error> {
        let hash = requested_hash(req)?;
        let trusted_only = self.trusted_only(role);
        let Some(hash) = hash else {
            if trusted_only {
                return Err(Error::PersistedQueryIdRequired(format!(
                    "role {} may run only the trusted documents; send the document's id",
                    role.as_str()
                )));
            }
            return Ok(());
        };
        if req.query.is_empty() {
            if let Some(body) = self.trusted_body(&hash) {
                req.query = body.clone();
                return Ok(());
            }
            if trusted_only {
                return Err(Error::PersistedQueryNotInList(format!(
                    "no trusted document has the id {hash}"
                )));
            }
            let stored = self.store.stored("apq", &hash).await;
            let body = stored.and_then(|b| String::from_utf8(b.into()).ok());
            let Some(body) = body else {
                return Err(Error::PersistedQueryNotFound("PersistedQueryNotFound".into()));
            };
            req.query = body;
            return Ok(());
        }
        if sha256_hex(&req.query) != hash {
            return Err(Error::PersistedQueryHashMismatch(
                "the document's SHA-256 is not extensions.persistedQuery.sha256Hash".into(),
            ));
        }
        if self.trusted_body(&hash).is_some() {
            return Ok(());
        }
        if trusted_only {
            return Err(Error::PersistedQueryNotInList(format!(
                "no trusted document has the id {hash}"
            )));
        }
        // Registered for the next request through any replica; should the store be down, this
        // request still runs and the next one registers again.
        self.store.store("apq", &hash, req.query.clone().into(), APQ_TTL).await;
        Ok(())
    }
}
