//! Logs (human-readable by default, JSON lines with `CUR_LOG_FORMAT=json`), metrics, and —
//! built with the `otlp` feature — traces exported over OTLP.
pub mod metrics;
#[cfg(feature = "otlp")]
mod otlp;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Keeps the trace exporter until the process ends; dropping it sends the spans still queued.
#[derive(Debug, Default)]
pub struct Guard {
    #[cfg(feature = "otlp")]
    _traces: Option<otlp::Traces>,
}

/// Installs the global subscriber. sqlx logs every statement at INFO, hence `sqlx=warn`.
/// Spans carry what the pipeline records (operation, role, sub, request id), never documents,
/// variables or answers.
pub fn init(format: LogFormat) -> Guard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    #[cfg(feature = "otlp")]
    let (traces, layer) = match otlp::Traces::from_env() {
        Some((traces, layer)) => (Some(traces), Some(layer)),
        None => (None, None),
    };
    #[cfg(not(feature = "otlp"))]
    let layer: Option<tracing_subscriber::layer::Identity> = None;
    let registry = tracing_subscriber::registry().with(filter).with(layer);
    let result = match format {
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true)).try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    Guard {
        #[cfg(feature = "otlp")]
        _traces: traces,
    }
}
