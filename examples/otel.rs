//! `cargo run --example otel`
//!
//! Every guarded call runs in an `agenttrust.guard` span; this example
//! exports those spans through `tracing-opentelemetry`, here to stdout with
//! `opentelemetry-stdout`. For an OTLP collector, build the provider with
//! `opentelemetry-otlp`'s `SpanExporter` instead; nothing else changes.
//!
//! The agent turn shows an allow, a denial, and a tool rolled out in
//! monitoring mode (`enforce = false`): it runs, and its span says
//! `would_block`. Uses `AGENTTRUST_URL` and `AGENTTRUST_API_KEY` when both
//! are set, else an embedded local gateway.

use std::time::Duration;

use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::{guarded, AgentTrustClient, AgentTrustError, Runtime};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Searches the web (here: pretends to).
#[guarded(effect = "read", summary = query)]
async fn web_search(query: &str) -> Result<Vec<String>, AgentTrustError> {
    Ok(vec![format!("result for {query:?}")])
}

/// An admin action the local gateway's default policy denies.
#[guarded(effect = "admin")]
async fn rotate_keys() -> Result<(), AgentTrustError> {
    Ok(())
}

/// Destructive, and new: monitored before it is enforced.
#[guarded(effect = "destructive", summary = path, enforce = false)]
async fn archive_logs(path: &str) -> Result<String, AgentTrustError> {
    Ok(format!("archived {path}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. OpenTelemetry: a tracer provider and the tracing layer feeding it.
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("agenttrust-example"));
    let only_ours = Targets::new()
        .with_target("agenttrust_runtime", LevelFilter::INFO)
        .with_target("otel", LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(otel)
        .with(only_ours)
        .init();

    // 2. A gateway, an agent, and the runtime its guarded tools report through.
    let (url, key, embedded) = agenttrust::example_gateway().await?;
    let client = AgentTrustClient::builder()
        .base_url(&url)
        .api_key(&key)
        .build()?;
    let name = format!("otel-example-{}", std::process::id());
    let agent = client
        .agents()
        .create(&CreateAgentRequest::new(name))
        .await?;
    let runtime = Runtime::builder(client, agent.id).build();

    // 3. One agent turn: its span is the parent of every guarded call's.
    let turn = tracing::info_span!("agent_turn", "gen_ai.agent.name" = "otel-example");
    runtime
        .scope(
            async {
                println!("web_search   -> {:?}", web_search("rust tracing").await);
                println!(
                    "rotate_keys  -> {:?}",
                    rotate_keys().await.map_err(|e| e.code().to_owned())
                );
                println!("archive_logs -> {:?}", archive_logs("/var/log/app").await);
            }
            .instrument(turn),
        )
        .await;

    // 4. What the counters saw; deliver telemetry, flush the exporter (the
    // simple exporter has printed each span as it closed).
    let checks = runtime.stats().checks;
    println!(
        "checks: {} allowed, {} denied, {} would block",
        checks.allowed, checks.denied, checks.would_block
    );
    let flushed = runtime.flush(Duration::from_secs(5)).await;
    println!("telemetry: {flushed:?}");
    provider.shutdown()?;
    if let Some(gateway) = embedded {
        gateway.shutdown().await?;
    }
    Ok(())
}
