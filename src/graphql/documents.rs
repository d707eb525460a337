//! A bounded cache of parsed GraphQL documents. Clients send the same few operations over and
//! over; parsing one is a measurable share of a small request, cloning a parsed one is not.
use async_graphql::{
    Positioned, Request,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};
use std::sync::Arc;

/// Documents longer than this are parsed every time (and never fill the cache).
const MAX_CACHED_QUERY_BYTES: usize = 16 * 1024;

/// The operation a request runs: the one named `operation_name`, or the document's only one
/// (as the executor chooses; `None` where it reports an error instead).
pub fn chosen_operation<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    }
}

/// Parsed documents by query text, at most a capacity of them (least recently used out
/// first).
pub struct DocumentCache {
    docs: moka::sync::Cache<String, Arc<ExecutableDocument>>,
}

impl std::fmt::Debug for DocumentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCache").field("documents", &self.docs.entry_count()).finish()
    }
}

impl DocumentCache {
    /// A cache of at most `capacity` documents.
    pub fn new(capacity: u64) -> Self {
        DocumentCache { docs: moka::sync::Cache::new(capacity) }
    }

    /// Gives the request its parsed document, from the cache when possible, and returns it
    /// for the checks that precede execution. Syntax errors (`None`) are left for the executor
    /// to report.
    pub fn prepare(&self, req: &mut Request) -> Option<Arc<ExecutableDocument>> {
        let cacheable = req.query.len() <= MAX_CACHED_QUERY_BYTES;
        let cached = cacheable.then(|| self.docs.get(&req.query)).flatten();
        if let Some(doc) = cached {
            req.set_parsed_query((*doc).clone());
            return Some(doc);
        }
        let doc = Arc::new(req.parsed_query().ok()?.clone());
        if cacheable {
            self.docs.insert(req.query.clone(), doc.clone());
        }
        Some(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_parsed_documents_and_leaves_syntax_errors_alone() {
        let cache = DocumentCache::new(2);
        let first = cache.prepare(&mut Request::new("{ me { role } }"));
        assert!(first.is_some());
        cache.docs.run_pending_tasks();
        assert_eq!(cache.docs.entry_count(), 1);
        let mut again = Request::new("{ me { role } }");
        let cached = cache.prepare(&mut again).unwrap();
        assert!(Arc::ptr_eq(&cached, &first.unwrap()), "served from the cache");
        assert!(again.parsed_query().is_ok());

        assert!(cache.prepare(&mut Request::new("{ me { role ")).is_none());
        cache.docs.run_pending_tasks();
        assert_eq!(cache.docs.entry_count(), 1, "syntax errors are not cached");

        for q in ["{ a }", "{ b }", "{ c }"] {
            cache.prepare(&mut Request::new(q));
        }
        cache.docs.run_pending_tasks();
        assert!(cache.docs.entry_count() <= 2, "the cache stays bounded");
    }
}
