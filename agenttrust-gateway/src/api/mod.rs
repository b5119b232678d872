//! The HTTP routes of PROTOCOL.md (plus the local telemetry read-back), the
//! API-key check, and the shared state handlers work on.

mod a2a;
mod agents;
mod approvals;
mod cards;
mod checks;
mod delegations;
mod federation;
mod jsonrpc;
mod mcp;
mod sessions;
mod siem;
mod telemetry;
mod tokens;
pub(crate) mod wimse;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::notify::Notifier;
use crate::policy::Policy;
use crate::rules::Rules;
use crate::store::Store;

/// The largest request body accepted; larger ones are 413.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) policy: Policy,
    pub(crate) rules: Rules,
    pub(crate) notifier: Option<Notifier>,
    pub(crate) ui_sessions: crate::ui::UiSessions,
    /// The gateway's own URL, for what it hands out (agent cards).
    pub(crate) base_url: String,
    /// The key workload tokens are signed with.
    pub(crate) token_keys: wimse::TokenKeys,
    /// The HTTP client of SIEM deliveries, made at the first one.
    pub(crate) siem_http: std::sync::OnceLock<reqwest::Client>,
    api_key: String,
}

pub(crate) type AppState = Arc<Shared>;

/// The routes, and the state they share (kept by the handle for `dump`).
pub(crate) fn router(
    store: Store,
    policy: Policy,
    rules: Rules,
    api_key: String,
    base_url: String,
    token_keys: wimse::TokenKeys,
) -> (Router, AppState) {
    let notifier = policy.notify_url.clone().map(Notifier::start);
    let (audit, audit_events) = tokio::sync::mpsc::channel(crate::siem::QUEUE);
    store.set_audit_sink(audit);
    let state: AppState = Arc::new(Shared {
        store,
        policy,
        rules,
        notifier,
        ui_sessions: crate::ui::UiSessions::default(),
        base_url,
        token_keys,
        siem_http: std::sync::OnceLock::new(),
        api_key,
    });
    tokio::spawn(crate::siem::run(audit_events, Arc::downgrade(&state)));
    let protected = Router::new()
        .route("/api/v1/agents", post(agents::create).get(agents::list))
        .route("/api/v1/agents/{agent_id}", get(agents::get))
        .route("/api/v1/agents/{agent_id}/revoke", post(agents::revoke))
        .route("/api/v1/agent-tokens/issue", post(tokens::issue))
        .route("/api/v1/agent-tokens/introspect", post(tokens::introspect))
        .route("/api/v1/agent-tokens/verify", post(tokens::introspect))
        .route("/api/v1/agent-tokens/revoke", post(tokens::revoke))
        .route("/api/v1/agenttrust/check", post(checks::check))
        .route("/api/v1/telemetry/report", post(telemetry::report))
        .route("/api/v1/telemetry/events", get(telemetry::events))
        .route("/mcp/sessions/init", post(sessions::init))
        .route("/mcp/sessions/{session_id}", get(sessions::get))
        .route(
            "/api/v1/agenttrust/api-sessions/init",
            post(sessions::init_api),
        )
        .route("/mcp/approvals", get(approvals::list))
        .route("/mcp/approvals/{approval_id}", get(approvals::get))
        .route(
            "/mcp/approvals/{approval_id}/approve",
            post(approvals::approve),
        )
        .route("/mcp/approvals/{approval_id}/deny", post(approvals::deny))
        .route(
            "/api/v1/delegations",
            post(delegations::create).get(delegations::list),
        )
        .route(
            "/api/v1/delegations/{delegation_id}",
            get(delegations::get).delete(delegations::revoke),
        )
        .route(
            "/api/v1/delegations/{delegation_id}/session",
            post(delegations::init_session),
        )
        .route(
            "/api/v1/agents/{agent_id}/card",
            post(cards::generate).get(cards::get),
        )
        .route(
            "/api/v1/agents/{agent_id}/card/publish",
            put(cards::publish),
        )
        .route(
            "/api/v1/siem/destinations",
            post(siem::create).get(siem::list),
        )
        .route(
            "/api/v1/siem/destinations/{destination_id}",
            get(siem::get).put(siem::update).delete(siem::delete),
        )
        .route(
            "/api/v1/siem/destinations/{destination_id}/logs",
            get(siem::logs),
        )
        .route(
            "/api/v1/siem/destinations/{destination_id}/test",
            post(siem::test),
        )
        .route(
            "/api/v1/federation/providers",
            post(federation::register).get(federation::list),
        )
        .route(
            "/api/v1/federation/providers/{provider_id}",
            delete(federation::delete),
        )
        .route("/api/v1/federation/tokens/issue", post(federation::issue))
        .route("/api/v1/federation/tokens/verify", post(federation::verify))
        .route(
            "/api/v1/federation/tokens/introspect",
            post(federation::verify),
        )
        .route("/api/v1/federation/tokens/revoke", post(federation::revoke))
        .route(
            "/api/v1/federation/sessions/init",
            post(federation::init_session),
        )
        .route("/mcp/servers", post(mcp::register).get(mcp::list))
        .route(
            "/mcp/servers/{server_id}",
            get(mcp::get).delete(mcp::remove),
        )
        // Literal segments (`servers`, `sessions`, `approvals`) win over it.
        .route("/mcp/{server_id}", post(mcp::proxy))
        .route("/a2a", post(a2a::rpc))
        .route("/a2a/agents/{agent_id}", post(a2a::agent_rpc))
        .route(
            "/api/v1/agents/{agent_id}/challenge",
            post(wimse::challenge),
        )
        .route("/api/v1/wimse/token", post(wimse::issue))
        .route("/api/v1/wimse/verify", post(wimse::verify))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    let router = Router::new()
        .route("/health", get(health))
        .route("/a2a/agents/{agent_id}/agent.json", get(cards::public))
        .merge(protected)
        .merge(crate::ui::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_when_not_durable,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state.clone());
    (router, state)
}

impl Shared {
    /// Whether `key` is the organization API key, compared in constant time
    /// so the answer's timing does not leak how much of a guess was right.
    pub(crate) fn key_matches(&self, key: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(key.ct_eq(self.api_key.as_bytes()))
    }
}

async fn health() -> Json<Value> {
    Json(
        json!({"status": "healthy", "service": "agenttrust-gateway", "version": env!("CARGO_PKG_VERSION")}),
    )
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

/// With `--db`, once a write could not be stored every answer is 503: the
/// memory is ahead of the disk, and an answer must never acknowledge what a
/// restart would lose. (The request whose write failed is caught after its
/// handler ran.)
async fn refuse_when_not_durable(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let unavailable = || {
        axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "STORAGE_FAILED",
            "the gateway could not store a write durably; restart it",
        ))
    };
    if state.store.has_failed() {
        return unavailable();
    }
    let response = next.run(request).await;
    if state.store.has_failed() {
        return unavailable();
    }
    response
}

/// Every route but `/health` needs the configured `X-API-Key`.
async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match request.headers().get("x-api-key").map(|v| v.as_bytes()) {
        Some(key) if state.key_matches(key) => Ok(next.run(request).await),
        Some(_) => Err(ApiError::unauthorized("invalid API key")),
        None => Err(ApiError::unauthorized(
            "missing API key: send it in the X-API-Key header",
        )),
    }
}
