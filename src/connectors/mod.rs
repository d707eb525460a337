//! Pull connectors: named sources from the connectors file (`CUR_CONNECTORS_FILE`) that the
//! gateway reads on their own intervals — remote Open311 servers, JSON feeds, CSV drop
//! directories. So far: the file (`config`), reading a source within bounds (`fetch`), its
//! items as submissions (`items`), and `cur-gateway connectors check` (`check`).
pub mod check;
pub mod config;
pub mod deliver;
pub mod fetch;
pub mod items;
pub mod pull;
pub mod run;

pub use config::{ConfigError, Connector, Connectors, Kind};
