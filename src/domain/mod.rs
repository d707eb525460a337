//! Pure domain logic: deadlines and the region's calendar. No I/O here.
pub mod sla;
