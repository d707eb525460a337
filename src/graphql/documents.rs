//! A bounded cache of parsed GraphQL documents. Clients send the same few operations over and
//! over; parsing one is a measurable share of a small request, cloning a parsed one is not.
use async_graphql::{BatchRequest, Request, parser::types::ExecutableDocument};
use std::{collections::HashMap, sync::Mutex};

/// Documents longer than this are parsed every time (and never fill the cache).
const MAX_CACHED_QUERY_BYTES: usize = 16 * 1024;

/// Parsed documents by query text.
#[derive(Debug)]
pub struct DocumentCache {
    capacity: usize,
    docs: Mutex<HashMap<String, ExecutableDocument>>,
}

impl DocumentCache {
    /// A cache of at most `capacity` documents; when full it starts over.
    pub fn new(capacity: usize) -> Self {
        DocumentCache { capacity, docs: Mutex::new(HashMap::new()) }
    }

    /// Gives every request of the batch its parsed document, from the cache when possible.
    /// Syntax errors are left for the executor to report.
    pub fn prepare(&self, batch: &mut BatchRequest) {
        match batch {
            BatchRequest::Single(req) => self.prepare_one(req),
            BatchRequest::Batch(reqs) => reqs.iter_mut().for_each(|r| self.prepare_one(r)),
        }
    }

    fn prepare_one(&self, req: &mut Request) {
        if req.query.len() > MAX_CACHED_QUERY_BYTES {
            return;
        }
        let cached = self.docs.lock().ok().and_then(|docs| docs.get(&req.query).cloned());
        if let Some(doc) = cached {
            req.set_parsed_query(doc);
            return;
        }
        let Ok(doc) = req.parsed_query().cloned() else { return };
        if let Ok(mut docs) = self.docs.lock() {
            if docs.len() >= self.capacity {
                docs.clear();
            }
            docs.insert(req.query.clone(), doc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_parsed_documents_and_leaves_syntax_errors_alone() {
        let cache = DocumentCache::new(2);
        let mut first = BatchRequest::Single(Request::new("{ me { role } }"));
        cache.prepare(&mut first);
        assert_eq!(cache.docs.lock().unwrap().len(), 1);
        let mut again = BatchRequest::Single(Request::new("{ me { role } }"));
        cache.prepare(&mut again);
        let BatchRequest::Single(mut again) = again else { unreachable!() };
        assert!(again.parsed_query().is_ok());

        let mut broken = BatchRequest::Single(Request::new("{ me { role "));
        cache.prepare(&mut broken);
        assert_eq!(cache.docs.lock().unwrap().len(), 1, "syntax errors are not cached");

        for q in ["{ a }", "{ b }", "{ c }"] {
            cache.prepare(&mut BatchRequest::Single(Request::new(q)));
        }
        assert!(cache.docs.lock().unwrap().len() <= 2, "the cache stays bounded");
    }
}
