//! Pull connectors: named sources from the connectors file (`CUR_CONNECTORS_FILE`) that the
//! gateway reads on their own intervals — remote Open311 servers, JSON feeds, CSV drop
//! directories. This first part reads and checks the file; `cur-gateway connectors check`
//! uses it.
pub mod config;

pub use config::{ConfigError, Connector, Connectors, Kind};
