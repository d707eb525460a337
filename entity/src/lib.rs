//! sea-orm entities of the ЦУР gateway: one module per table, plus the enums stored as text.
pub mod assignment;
pub mod audit_record;
pub mod complaint;
pub mod complaint_event;
pub mod complaint_origin;
pub mod complaint_search;
pub mod connector_file;
pub mod connector_state;
pub mod connector_tally;
pub mod delivery;
pub mod department;
pub mod enums;
pub mod holiday;
pub mod kpi_block;
pub mod municipality;
pub mod response;
pub mod routing_rule;
pub mod sla_policy;
pub mod staff;
pub mod status_event;

pub use enums::{Category, ComplaintStatus, Priority, Source};
