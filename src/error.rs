//! The one error type of the gateway; each variant has a stable `extensions.code`.
use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// Result with the gateway's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure a client can see, by kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or its arguments are out of range (`BAD_USER_INPUT`).
    #[error("{0}")]
    BadUserInput(String),
    /// The object does not exist or lies outside the caller's scope (`NOT_FOUND`).
    #[error("{0} not found")]
    NotFound(String),
    /// The caller may not do or see this (`FORBIDDEN`).
    #[error("{0}")]
    Forbidden(String),
    /// No valid credentials (`UNAUTHENTICATED`).
    #[error("{0}")]
    Unauthenticated(String),
    /// The expected version is stale (`CONFLICT`).
    #[error("{0}")]
    Conflict(String),
    /// The lifecycle does not allow this transition (`INVALID_TRANSITION`).
    #[error("{0}")]
    InvalidTransition(String),
    /// The operation exceeds a query limit (`QUERY_TOO_COMPLEX`).
    #[error("{0}")]
    QueryTooComplex(String),
    /// The request names an operation its document lacks (`OPERATION_NOT_FOUND`).
    #[error("{0}")]
    OperationNotFound(String),
    /// The request ran past its time limit (`TIMEOUT`).
    #[error("{0}")]
    Timeout(String),
    /// The caller is over a limit of requests or subscriptions (`RATE_LIMITED`).
    #[error("{0}")]
    RateLimited(String),
    /// A persisted query's hash this gateway does not know; send the document with it
    /// (`PERSISTED_QUERY_NOT_FOUND`, message `PersistedQueryNotFound` as Apollo clients expect).
    #[error("{0}")]
    PersistedQueryNotFound(String),
    /// The document sent is not the one its hash names (`PERSISTED_QUERY_HASH_MISMATCH`).
    #[error("{0}")]
    PersistedQueryHashMismatch(String),
    /// The caller may run only trusted documents and this one is not among them
    /// (`PERSISTED_QUERY_NOT_IN_LIST`).
    #[error("{0}")]
    PersistedQueryNotInList(String),
    /// The caller may run only trusted documents and sent a document instead of an id
    /// (`PERSISTED_QUERY_ID_REQUIRED`).
    #[error("{0}")]
    PersistedQueryIdRequired(String),
    /// A dependency the answer needs is down (`UNAVAILABLE`).
    #[error("{0}")]
    Unavailable(String),
    /// A database failure; the cause is logged, never shown to the client (`INTERNAL`).
    #[error("internal error")]
    Database(DbErr),
    /// Any other internal failure; logged, never shown (`INTERNAL`).
    #[error("internal error")]
    Internal(String),
    /// The gateway cannot start: bad configuration, an address in use, an unreachable
    /// dependency. Printed with its cause by the command that failed; never a client's answer.
    #[error("{0}")]
    Startup(String),
}

impl Error {
    /// The stable SCREAMING_CASE code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadUserInput(_) => "BAD_USER_INPUT",
            Error::NotFound(_) => "NOT_FOUND",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Conflict(_) => "CONFLICT",
            Error::InvalidTransition(_) => "INVALID_TRANSITION",
            Error::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
            Error::OperationNotFound(_) => "OPERATION_NOT_FOUND",
            Error::Timeout(_) => "TIMEOUT",
            Error::RateLimited(_) => "RATE_LIMITED",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::PersistedQueryNotFound(_) => "PERSISTED_QUERY_NOT_FOUND",
            Error::PersistedQueryHashMismatch(_) => "PERSISTED_QUERY_HASH_MISMATCH",
            Error::PersistedQueryNotInList(_) => "PERSISTED_QUERY_NOT_IN_LIST",
            Error::PersistedQueryIdRequired(_) => "PERSISTED_QUERY_ID_REQUIRED",
            Error::Database(_) | Error::Internal(_) | Error::Startup(_) => "INTERNAL",
        }
    }

    /// Shorthand for [`Error::BadUserInput`].
    pub fn bad_input(msg: impl Into<String>) -> Self {
        Error::BadUserInput(msg.into())
    }
}

/// What a request hears when the database cannot be reached.
pub(crate) const DATABASE_DOWN: &str = "the database is unavailable; retry shortly";

/// Connection failures and shutdowns are outages (UNAVAILABLE), a statement timeout is a
/// TIMEOUT; everything else the database says is a bug of ours (INTERNAL).
impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match classify(&err) {
            DbFault::Outage => {
                tracing::warn!(error = %err, "database unavailable");
                Error::Unavailable(DATABASE_DOWN.into())
            }
            // Every connection busy for the whole acquire timeout: the gateway is overloaded,
            // the database is not down (the health watcher pings on a connection of its own).
            DbFault::Busy => {
                tracing::warn!(error = %err, "no database connection free in time");
                Error::Unavailable("the gateway is at capacity; retry shortly".into())
            }
            DbFault::StatementTimeout => {
                Error::Timeout("a database statement ran past its time limit".into())
            }
            DbFault::Other => Error::Database(err),
        }
    }
}

/// What a database error means for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbFault {
    Outage,
    Busy,
    StatementTimeout,
    Other,
}

fn classify(err: &DbErr) -> DbFault {
    use sea_orm::{RuntimeErr, sqlx::Error as Sqlx};
    let sqlx = match err {
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout) => return DbFault::Busy,
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return DbFault::Outage,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return DbFault::Other,
    };
    match &**sqlx {
        Sqlx::PoolTimedOut => DbFault::Busy,
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_)
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::BeginFailed => DbFault::Outage,
        Sqlx::Database(db) => match db.code().as_deref() {
            Some("57014") => DbFault::StatementTimeout,
            // Connection exceptions (08…), an administrator's or a crash's shutdown, a server
            // not accepting connections yet, out of connections or memory (53…).
            Some(code)
                if code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(code, "57P01" | "57P02" | "57P03") =>
            {
                DbFault::Outage
            }
            _ => DbFault::Other,
        },
        _ => DbFault::Other,
    }
}

// async-graphql converts any Display into an error without a code, so resolvers go through
// `extend()` (usually via `GqlResult::gql`) to keep the code.
impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        let err = self;
        match err {
            Error::Database(cause) => tracing::error!(error = %cause, "database error"),
            Error::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
        }
        let code = err.code();
        async_graphql::Error::new(err.to_string()).extend_with(|_, ext| ext.set("code", code))
    }
}

impl Error {
    /// The error as a response-level GraphQL error (no path, no location), with its code.
    pub fn to_server_error(&self) -> async_graphql::ServerError {
        let mut server = async_graphql::ServerError::new(self.to_string(), None);
        server.extensions = self.extend().extensions;
        server
    }
}

/// Turns the gateway's results into GraphQL results that carry `extensions.code`.
pub trait GqlResult<T> {
    /// Converts the error with its code.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}
