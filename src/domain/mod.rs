//! Pure domain logic: the lifecycle, deadlines and the region's calendar, classification,
//! routing, personal-data masking. No I/O here.
pub mod classify;
pub mod kpi;
pub mod kpi_entry;
pub mod lifecycle;
pub mod masking;
pub mod routing;
pub mod sla;
