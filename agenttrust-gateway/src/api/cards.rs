//! Agent cards (A2A discovery): generated from the agent record, published
//! on request, and served publicly at `/a2a/agents/{id}/agent.json`.

use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::store::{rfc3339, Agent, Card, Data};

/// The AgentTrust extension of an A2A card (PROTOCOL.md §15).
pub(crate) const TRUST_EXTENSION: &str = "https://agenttrust.id/ext/trust/v1";

/// The share of the agent's checks that were allowed, over all its
/// sessions; 1 for an agent with none yet.
fn trust_score(data: &Data, agent_id: &str) -> f64 {
    let (total, denied) = data
        .sessions
        .values()
        .filter(|s| s.agent_id == agent_id)
        .fold((0u64, 0u64), |(t, d), s| {
            (t + s.total_calls, d + s.denied_calls)
        });
    if total == 0 {
        1.0
    } else {
        let allowed = total.saturating_sub(denied) as f64 / total as f64;
        (allowed * 100.0).round() / 100.0
    }
}

/// An A2A v1.0 card for `agent`, whose JSON-RPC endpoint is on this gateway.
fn card_of(base_url: &str, agent: &Agent, score: f64) -> Value {
    let text = |key: &str| {
        agent
            .metadata
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let endpoint = format!("{base_url}/a2a/agents/{}", agent.id);
    let skills: Vec<Value> = agent
        .capabilities
        .iter()
        .map(|capability| {
            let tag = capability.split(':').next().unwrap_or(capability);
            json!({"id": capability, "name": capability, "description": format!("may use `{capability}`"), "tags": [tag]})
        })
        .collect();
    json!({
        "name": agent.name,
        "description": text("description").unwrap_or_else(|| format!("AgentTrust agent {}", agent.name)),
        "version": text("version").unwrap_or_else(|| "1.0.0".to_owned()),
        "supportedInterfaces": [{"url": endpoint, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "url": endpoint,
        "provider": {"organization": agent.org_id},
        "capabilities": {
            "streaming": false,
            "pushNotifications": false,
            "extensions": [{
                "uri": TRUST_EXTENSION,
                "description": "AgentTrust ID trust signals",
                "required": false,
                "params": {"ati_trust_score": score, "ati_guardian_tier": "fast"},
            }],
        },
        "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": skills,
    })
}

/// Generates (or regenerates) the card from the agent record as it is now;
/// a published card stays published with the new content.
pub(crate) async fn generate(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut data = state.store.lock();
    let agent = data.active_agent(&agent_id)?;
    let card = card_of(&state.base_url, agent, trust_score(&data, &agent_id));
    let published = data.cards.get(&agent_id).is_some_and(|c| c.published);
    data.cards.insert(
        agent_id,
        Card {
            card: card.clone(),
            published,
            generated_at: rfc3339(SystemTime::now()),
        },
    );
    Ok(Json(card))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let data = state.store.lock();
    data.cards
        .get(&agent_id)
        .map(|c| Json(c.card.clone()))
        .ok_or_else(|| ApiError::not_found("agent card", &agent_id))
}

/// Makes a generated card public.
pub(crate) async fn publish(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut data = state.store.lock();
    data.active_agent(&agent_id)?;
    let card = data
        .cards
        .get_mut(&agent_id)
        .ok_or_else(|| ApiError::not_found("agent card", &agent_id))?;
    card.published = true;
    Ok(Json(card.card.clone()))
}

/// The public card: no API key, and only a published card of an active
/// agent (a revoked agent's card is withdrawn); anything else is 404, so
/// the route does not tell which agents exist.
pub(crate) async fn public(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let data = state.store.lock();
    let live = data.agents.get(&agent_id).is_some_and(Agent::is_active);
    data.cards
        .get(&agent_id)
        .filter(|c| c.published && live)
        .map(|c| Json(c.card.clone()))
        .ok_or_else(|| ApiError::not_found("published agent card", &agent_id))
}
