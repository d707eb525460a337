//! Traces over OTLP/HTTP (protobuf) to a collector, when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (the exporter reads those and the other
//! standard `OTEL_*` variables itself). async-graphql's own OpenTelemetry extension is not
//! used: it pins an old opentelemetry and records variables, which may hold personal data.
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{Layer, Registry};

/// The tracer provider; shut down (flushing queued spans) when dropped.
#[derive(Debug)]
pub(super) struct Traces(SdkTracerProvider);

impl Drop for Traces {
    fn drop(&mut self) {
        if let Err(err) = self.0.shutdown() {
            eprintln!("OTLP: flushing traces failed: {err}");
        }
    }
}

type Filtered = tracing_subscriber::layer::Layered<tracing_subscriber::EnvFilter, Registry>;

impl Traces {
    /// The exporter and its tracing layer, when an endpoint is configured.
    pub(super) fn from_env() -> Option<(Traces, Box<dyn Layer<Filtered> + Send + Sync>)> {
        let configured = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if !configured {
            return None;
        }
        let exporter = match opentelemetry_otlp::SpanExporter::builder().with_http().build() {
            Ok(exporter) => exporter,
            Err(err) => {
                eprintln!("OTLP: traces are off: {err}");
                return None;
            }
        };
        let resource = Resource::builder().with_service_name("cur-gateway").build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("cur-gateway");
        let layer = tracing_opentelemetry::layer().with_tracer(tracer).boxed();
        Some((Traces(provider), layer))
    }
}
