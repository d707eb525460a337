//! The checked-in SDL matches the code, and every example operation runs cleanly.
use crate::helpers::{Backend, TestApp};
use serde_json::json;

#[test]
fn checked_in_sdl_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("schema/schema.graphql");
    let current = cur_gateway::graphql::sdl();
    assert!(
        checked_in == current,
        "schema/schema.graphql is stale: run `cargo run -- schema > schema/schema.graphql`"
    );
}

#[test]
fn checked_in_subgraph_sdl_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/subgraph.graphql");
    let checked_in = std::fs::read_to_string(path).expect("schema/subgraph.graphql");
    let current = cur_gateway::graphql::subgraph_sdl();
    assert!(
        checked_in == current,
        "schema/subgraph.graphql is stale: run `cargo run -- schema --subgraph > schema/subgraph.graphql`"
    );
    for entity in ["Complaint", "Department", "Municipality", "Staff"] {
        assert!(current.contains(&format!("type {entity} @key(fields: \"id\") {{")), "{entity}");
    }
    for added_by_routers in ["_entities", "_service", "_Any", "_Entity", "_Service"] {
        assert!(!current.contains(added_by_routers), "{added_by_routers}");
    }
}

#[tokio::test]
async fn every_example_operation_runs_without_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/operations");
    let mut ran = 0;
    for entry in std::fs::read_dir(dir).expect("schema/operations") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "graphql") {
            continue;
        }
        let query = std::fs::read_to_string(&path).expect("operation");
        // Operations that need variables, and subscriptions, are run by the trusted-documents
        // test (persisted.rs); these are the README's examples.
        if query.contains('$') || query.lines().any(|l| l.trim_start().starts_with("subscription"))
        {
            continue;
        }
        let resp = app.gql(&query, json!({})).await;
        assert!(resp.get("errors").is_none(), "{}: {resp:#}", path.display());
        let data = resp["data"].as_object().expect("data");
        assert!(data.values().all(|v| !v.is_null()), "{}: null root in {resp}", path.display());
        ran += 1;
    }
    assert!(ran >= 4, "expected the README's example operations, found {ran}");
}
