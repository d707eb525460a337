//! Pure domain logic: deadlines, the region's calendar, personal-data masking. No I/O here.
pub mod masking;
pub mod sla;
