//! Who is asking ([`Principal`]) and what they may see ([`policy`]).
pub mod policy;
pub mod principal;

pub use policy::RowScope;
pub use principal::{Principal, Role};
