//! Who is asking ([`Principal`], from a bearer token by [`jwt`]) and what they may see
//! ([`policy`], the roles matrix).
pub mod claims;
pub mod jwt;
pub mod policy;
pub mod principal;
mod remote_keys;

pub use jwt::AuthError;

pub use policy::{NoteScope, RowScope};
pub use principal::{Principal, Role};
