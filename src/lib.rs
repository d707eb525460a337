//! ЦУР Gateway: a GraphQL API over the Yugra regional complaint center.
//!
//! Data flows one way: transport (`http`) -> `pipeline` -> `graphql` -> `service` -> (`auth`
//! policy, `store`, `cache`, `events`, `domain`); `live` fans committed events out to the
//! subscriptions of this replica through the pipeline. GraphQL types never build SQL; the
//! store never knows GraphQL.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod cache;
pub mod config;
pub mod connectors;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub(crate) mod http;
pub(crate) mod live;
pub(crate) mod pipeline;
pub mod ratelimit;
pub mod seed;
pub mod service;
pub(crate) mod state;
pub mod store;
pub mod telemetry;

pub use app::Application;
pub use cache::sha256_hex;
pub use config::Config;
pub use error::{Error, Result};
pub use pipeline::persisted::{Manifest, ManifestOperation};
