//! The `tracing` span of one guarded call, and the events it carries.
//!
//! Field names follow OpenTelemetry's semantic conventions where they have
//! one (`gen_ai.*`, `error.type`, `otel.status_code` for
//! tracing-opentelemetry) and `agenttrust.*` otherwise; the README's
//! "Tracing" section lists them. Inputs appear only as the `summary` the
//! user chose to send, and an error only by its type or code, never its
//! message.
//!
//! With no subscriber, or one that filters the span out, `info_span!`
//! returns a disabled span and every `record` below is a no-op.

use std::time::Duration;

use tracing::field::Empty;
use tracing::Span;

use crate::api::actions::Verdict;
use crate::guard::Decision;

/// The target spans and events use: filter with `agenttrust_runtime=info`.
pub(crate) const TARGET: &str = "agenttrust_runtime::guard";

/// A new span for a call of `tool`, child of the current span.
pub(crate) fn call(tool: &str, effect: Option<&str>, summary: Option<&str>) -> Span {
    tracing::info_span!(
        target: TARGET,
        "agenttrust.guard",
        "gen_ai.operation.name" = "execute_tool",
        gen_ai.tool.name = tool,
        "agenttrust.effect" = effect,
        "agenttrust.summary" = summary,
        "agenttrust.agent_id" = Empty,
        "agenttrust.session_id" = Empty,
        "agenttrust.decision" = Empty,
        "agenttrust.reason" = Empty,
        "agenttrust.check_id" = Empty,
        "agenttrust.approval_id" = Empty,
        "agenttrust.elevation.waited_ms" = Empty,
        "agenttrust.guard_tier" = Empty,
        "agenttrust.confidence" = Empty,
        "agenttrust.guardian.latency_ms" = Empty,
        "agenttrust.check.duration_ms" = Empty,
        "agenttrust.duration_ms" = Empty,
        "agenttrust.success" = Empty,
        "error.type" = Empty,
        "otel.status_code" = Empty,
    )
}

/// Who is asking.
pub(crate) fn record_origin(span: &Span, agent_id: &str, session_id: &str) {
    span.record("agenttrust.agent_id", agent_id);
    span.record("agenttrust.session_id", session_id);
}

/// What the Guardian's answer says beyond the decision.
pub(crate) fn record_answer(span: &Span, answer: &Verdict<'_>, measured: Duration) {
    if span.is_disabled() {
        return;
    }
    span.record("agenttrust.guard_tier", answer.guard_tier.as_deref());
    span.record("agenttrust.confidence", answer.confidence);
    span.record("agenttrust.guardian.latency_ms", answer.latency_ms);
    span.record(
        "agenttrust.check.duration_ms",
        measured.as_secs_f64() * 1000.0,
    );
}

/// The decision, and an event for each one that is not a plain allow.
pub(crate) fn record_decision(span: &Span, tool: &str, decision: &Decision) {
    if !span.is_disabled() {
        span.record("agenttrust.decision", decision.kind());
        span.record("agenttrust.check_id", decision.check_id());
        span.record("agenttrust.approval_id", decision.approval_id());
        if !matches!(decision, Decision::Allowed { .. }) {
            span.record("agenttrust.reason", decision.reason());
        }
        // An enforced refusal ends the call: the error the caller gets.
        match decision {
            Decision::Denied { .. } => mark_error(span, "ACTION_DENIED"),
            Decision::ElevationRequired { .. } => mark_error(span, "ELEVATION_REQUIRED"),
            _ => {}
        }
    }
    let (reason, check_id, approval_id) = (
        decision.reason(),
        decision.check_id(),
        decision.approval_id(),
    );
    // The events go to the current span: the caller runs the check in `span`.
    match decision {
        Decision::Allowed { .. } => {}
        Decision::Denied { .. } => tracing::event!(
            target: TARGET,
            tracing::Level::INFO,
            { "gen_ai.tool.name" = tool, "agenttrust.decision" = "denied", "agenttrust.reason" = reason, "agenttrust.check_id" = check_id },
            "the Guardian denied the call"
        ),
        Decision::ElevationRequired { .. } => tracing::event!(
            target: TARGET,
            tracing::Level::INFO,
            { "gen_ai.tool.name" = tool, "agenttrust.decision" = "elevation_required", "agenttrust.reason" = reason, "agenttrust.check_id" = check_id, "agenttrust.approval_id" = approval_id },
            "the call needs a human approval"
        ),
        Decision::FailedOpen { .. } => tracing::event!(
            target: TARGET,
            tracing::Level::WARN,
            { "gen_ai.tool.name" = tool, "agenttrust.decision" = "failed_open", "agenttrust.reason" = reason },
            "the Guardian is unavailable; running the call anyway (fail_open)"
        ),
        Decision::WouldBlock { .. } => tracing::event!(
            target: TARGET,
            tracing::Level::INFO,
            { "gen_ai.tool.name" = tool, "agenttrust.decision" = "would_block", "agenttrust.reason" = reason, "agenttrust.check_id" = check_id, "agenttrust.approval_id" = approval_id },
            "monitoring mode: the Guardian would have blocked this call; running it anyway"
        ),
    }
}

/// A check that ended in an error (the body will not run).
pub(crate) fn record_error(span: &Span, tool: &str, code: &str) {
    mark_error(span, code);
    tracing::event!(
        target: TARGET,
        tracing::Level::WARN,
        { "gen_ai.tool.name" = tool, "error.type" = code },
        "the check failed; the call does not run"
    );
}

fn mark_error(span: &Span, error_type: &str) {
    span.record("error.type", error_type);
    span.record("otel.status_code", "ERROR");
}

/// How the body went.
pub(crate) fn record_outcome(
    span: &Span,
    duration_ms: u64,
    success: bool,
    error_type: Option<&str>,
) {
    if span.is_disabled() {
        return;
    }
    // As i64: OpenTelemetry has no unsigned integers (a u64 would export as a string).
    span.record(
        "agenttrust.duration_ms",
        i64::try_from(duration_ms).unwrap_or(i64::MAX),
    );
    span.record("agenttrust.success", success);
    if !success {
        mark_error(span, error_type.unwrap_or("error"));
    }
}
