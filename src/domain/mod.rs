//! Pure domain logic: the lifecycle, deadlines and the region's calendar, classification,
//! routing, personal-data masking. No I/O here.
pub(crate) mod classify;
pub(crate) mod kpi;
pub(crate) mod kpi_entry;
pub(crate) mod kpi_sorted;
pub(crate) mod lifecycle;
pub mod masking;
pub(crate) mod routing;
pub(crate) mod sla;
