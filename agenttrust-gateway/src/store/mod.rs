//! The gateway's in-memory records: agents, tokens, sessions, approvals and
//! telemetry, behind one lock that is never held across I/O or an await.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

mod events;
mod sqlite;

pub use events::DEFAULT_EVENT_LOG;
pub(crate) use events::{EventLog, KeptEvent, Origin};

pub(crate) use sqlite::{Db, DbError};

/// The organization every record belongs to on a local gateway.
pub(crate) const ORG_ID: &str = "org_local";

pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) org_id: String,
    pub(crate) framework: String,
    pub(crate) status: String,
    pub(crate) capabilities: Vec<String>,
    pub(crate) metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) public_key: Option<String>,
    pub(crate) created_at: String,
}

impl Agent {
    pub(crate) fn is_active(&self) -> bool {
        self.status == "active"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Token {
    pub(crate) id: String,
    pub(crate) agent_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) issued_at: SystemTime,
    pub(crate) expires_at: SystemTime,
    pub(crate) revoked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) session_id: String,
    pub(crate) agent_id: String,
    pub(crate) org_id: String,
    pub(crate) source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) server_id: Option<String>,
    pub(crate) mode: String,
    pub(crate) allowed_actions: Vec<String>,
    pub(crate) scope_ceiling: Vec<String>,
    pub(crate) total_calls: u64,
    pub(crate) read_calls: u64,
    pub(crate) write_calls: u64,
    pub(crate) denied_calls: u64,
    pub(crate) created_at: String,
    pub(crate) last_activity_at: String,
    /// A federated session's provider, issuer and trust level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) trust_level: Option<String>,
    /// The delegation this session acts under (`POST /api/v1/delegations/{id}/session`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delegation_id: Option<String>,
}

/// A registered upstream MCP server the proxy forwards to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct McpServer {
    pub(crate) id: String,
    pub(crate) org_id: String,
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) capabilities: Vec<String>,
    pub(crate) created_at: String,
}

/// An external OIDC identity provider whose ID tokens the gateway accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Provider {
    pub(crate) id: String,
    pub(crate) org_id: String,
    pub(crate) issuer: String,
    pub(crate) name: String,
    /// Where the keys came from: `inline`, or `file://<path>`.
    pub(crate) jwks_uri: String,
    /// The provider's public keys (a JWKS).
    pub(crate) jwks: serde_json::Value,
    /// The `aud` its tokens must carry.
    pub(crate) audience: String,
    pub(crate) trust_level: String,
    pub(crate) status: String,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

/// An opaque federation token the gateway issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FederationToken {
    pub(crate) agent_id: String,
    pub(crate) audience: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: String,
    pub(crate) revoked: bool,
    #[serde(skip, default = "SystemTime::now")]
    pub(crate) expires: SystemTime,
}

/// A SIEM destination: where the gateway streams its audit events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Destination {
    pub(crate) id: String,
    pub(crate) org_id: String,
    pub(crate) name: String,
    /// `webhook`, `splunk` or `splunk_hec`.
    pub(crate) destination_type: String,
    pub(crate) endpoint_url: String,
    /// Sent as the receiver's credential; never shown in an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_token: Option<String>,
    pub(crate) is_active: bool,
    pub(crate) batch_size: u32,
    pub(crate) flush_interval_seconds: u32,
    /// `None`: every event type.
    pub(crate) filter_event_types: Option<Vec<String>>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

/// One delivery attempt's outcome, for `GET .../logs` (memory only).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Delivery {
    pub(crate) id: String,
    pub(crate) destination_id: String,
    pub(crate) batch_size: usize,
    /// `success` or `failed`.
    pub(crate) status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_message: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) delivered_at: String,
}

/// The newest deliveries kept per destination.
pub(crate) const DELIVERY_LOG: usize = 1000;

/// A WIMSE challenge nonce: usable once, by its agent, until it expires.
/// Memory only: a restart voids outstanding challenges.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Challenge {
    pub(crate) agent_id: String,
    #[serde(skip)]
    pub(crate) expires: SystemTime,
}

/// An A2A task: created by `message/send` or `tasks/send` for its target
/// agent, followed through `tasks/get` and `tasks/cancel`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) context_id: String,
    /// The sending agent, when the request named one.
    pub(crate) source_agent_id: Option<String>,
    pub(crate) target_agent_id: String,
    /// `submitted`, `working`, `completed`, `failed` or `canceled` (A2A v1.0).
    pub(crate) state: String,
    /// The messages, oldest first (A2A v1.0 `history`).
    pub(crate) history: Vec<serde_json::Value>,
    /// The v0.3 `tasks/send` message, as sent.
    pub(crate) message: Option<serde_json::Value>,
    pub(crate) metadata: Option<serde_json::Value>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

/// An agent's A2A card and whether it is public.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Card {
    pub(crate) card: serde_json::Value,
    pub(crate) published: bool,
    pub(crate) generated_at: String,
}

/// A grant of part of one agent's capabilities to another, possibly
/// re-delegated from a parent delegation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Delegation {
    pub(crate) id: String,
    pub(crate) from_agent_id: String,
    pub(crate) to_agent_id: String,
    pub(crate) org_id: String,
    pub(crate) scope: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) restrictions: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent_delegation_id: Option<String>,
    /// The ancestors' ids, the root first.
    pub(crate) delegation_chain: Vec<String>,
    pub(crate) expires_at: String,
    pub(crate) created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) revoked_at: Option<String>,
    /// `expires_at` as a time (stored through `expires_at`).
    #[serde(skip, default = "SystemTime::now")]
    pub(crate) expires: SystemTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Approval {
    pub(crate) id: String,
    pub(crate) agent_id: String,
    pub(crate) org_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_id: Option<String>,
    pub(crate) action_name: String,
    pub(crate) action_effect: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) action_input_summary: Option<String>,
    pub(crate) status: ApprovalStatus,
    pub(crate) created_at: String,
    pub(crate) expires_at: String,
    pub(crate) decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) decided_at: Option<String>,
    /// Set when an `input`-bound approval allowed its one check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) used_at: Option<String>,
    /// `expires_at` as a time (the database stores it through `expires_at`).
    #[serde(skip, default = "SystemTime::now")]
    pub(crate) expires: SystemTime,
    #[serde(skip)]
    pub(crate) decided: Option<SystemTime>,
}

impl Approval {
    /// Marks a pending approval past its expiry as expired.
    pub(crate) fn refresh(&mut self, now: SystemTime) {
        if self.status == ApprovalStatus::Pending && now >= self.expires {
            self.status = ApprovalStatus::Expired;
        }
    }
}

/// One telemetry event as the gateway received it; from
/// [`GatewayHandle::events`](crate::GatewayHandle::events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventRecord {
    /// The reporting agent.
    pub agent_id: String,
    /// The report's session (empty when it named none).
    pub session_id: String,
    /// `tool_end`, `tool_error`, or what the client sent.
    pub event_type: String,
    /// The tool.
    pub tool_name: String,
    /// How long the call took, as reported.
    pub duration_ms: u64,
    /// Whether it succeeded.
    pub success: bool,
    /// The failure's type, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The client's timestamp (RFC 3339).
    pub timestamp: String,
    /// When the gateway received it (RFC 3339).
    pub received_at: String,
}

/// One action check as the gateway answered it; from
/// [`GatewayHandle::checks`](crate::GatewayHandle::checks).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckRecord {
    /// The asking agent.
    pub agent_id: String,
    /// The tool.
    pub action_name: String,
    /// The effect the check named, if any.
    pub action_effect: Option<String>,
    /// The check's session, if any.
    pub session_id: Option<String>,
    /// The input summary sent, if any.
    pub summary: Option<String>,
    /// `allowed`, `denied`, `elevation_required`, `unavailable` (503 from a
    /// rule) or `status` (another error status from a rule).
    pub outcome: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The Guardian's reason, for a verdict.
    pub reason: Option<String>,
    /// The check id, for a verdict.
    pub check_id: Option<String>,
    /// The approval to decide, for an elevation.
    pub approval_id: Option<String>,
}

/// The newest checks kept for `GatewayHandle::checks`; older ones go.
pub(crate) const CHECK_LOG: usize = 100_000;

#[derive(Default)]
pub(crate) struct Data {
    pub(crate) agents: HashMap<String, Agent>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) approvals: HashMap<String, Approval>,
    pub(crate) delegations: HashMap<String, Delegation>,
    /// Agent cards, by agent id.
    pub(crate) cards: HashMap<String, Card>,
    /// Outstanding WIMSE challenges, by nonce.
    pub(crate) challenges: HashMap<String, Challenge>,
    /// A2A tasks, by id.
    pub(crate) tasks: HashMap<String, Task>,
    /// Registered MCP servers, by id.
    pub(crate) mcp_servers: HashMap<String, McpServer>,
    /// Federation providers by id; opaque federation tokens by token; the
    /// SHA-256 (hex) of external ID tokens revoked here, with when.
    pub(crate) providers: HashMap<String, Provider>,
    pub(crate) federation_tokens: HashMap<String, FederationToken>,
    pub(crate) revoked_id_tokens: HashMap<String, String>,
    /// SIEM destinations, by id, and their delivery logs (newest last).
    pub(crate) destinations: HashMap<String, Destination>,
    pub(crate) deliveries: HashMap<String, VecDeque<Delivery>>,
    /// Audit events of the current write, streamed to SIEM destinations
    /// once it is committed (see `DataGuard`'s drop).
    pub(crate) outbox: Vec<serde_json::Value>,
    /// The newest telemetry events, and counts of all of them.
    pub(crate) events: EventLog,
    pub(crate) checks: VecDeque<CheckRecord>,
}

impl Data {
    /// No records yet, keeping at most `event_log` telemetry events.
    pub(crate) fn with_event_log(event_log: usize) -> Data {
        Data {
            events: EventLog::new(event_log),
            ..Data::default()
        }
    }

    /// Whether session `id` exists and belongs to an agent other than
    /// `agent_id`: the rule every route applies before acting in a session.
    pub(crate) fn session_of_another(&self, id: &str, agent_id: &str) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|s| s.agent_id != agent_id)
    }

    /// Records an audit event of this write, for the SIEM destinations.
    pub(crate) fn audit(&mut self, event_type: &str, fields: impl FnOnce() -> serde_json::Value) {
        // Nobody to stream to: no event is built or queued (the check path
        // pays nothing for SIEM until a destination exists).
        if !self.destinations.values().any(|d| d.is_active) {
            return;
        }
        let mut fields = fields();
        if let Some(map) = fields.as_object_mut() {
            map.insert("id".into(), new_id("evt").into());
            map.insert("type".into(), event_type.into());
            map.insert("time".into(), rfc3339(SystemTime::now()).into());
            map.insert("org_id".into(), ORG_ID.into());
        }
        self.outbox.push(fields);
    }

    /// Why delegation `id` cannot be acted under now, if it cannot: it or
    /// an ancestor is unknown, revoked or expired, or an agent along the
    /// chain is no longer active. Checked at every use, so revocation and
    /// expiry take effect at once.
    pub(crate) fn delegation_refusal(&self, id: &str, now: SystemTime) -> Option<String> {
        let Some(delegation) = self.delegations.get(id) else {
            return Some(format!("delegation `{id}` does not exist"));
        };
        let chain = delegation
            .delegation_chain
            .iter()
            .map(String::as_str)
            .chain([id]);
        for link in chain {
            let Some(d) = self.delegations.get(link) else {
                return Some(format!("delegation `{link}` does not exist"));
            };
            if d.revoked_at.is_some() {
                return Some(format!("delegation `{link}` is revoked"));
            }
            if now >= d.expires {
                return Some(format!("delegation `{link}` expired at {}", d.expires_at));
            }
            for agent_id in [&d.from_agent_id, &d.to_agent_id] {
                match self.agents.get(agent_id.as_str()) {
                    Some(agent) if agent.is_active() => {}
                    Some(agent) => {
                        return Some(format!(
                            "agent `{agent_id}` of delegation `{link}` is {}",
                            agent.status
                        ))
                    }
                    None => return Some(format!("agent `{agent_id}` does not exist")),
                }
            }
        }
        None
    }

    /// Logs a check, forgetting the oldest beyond [`CHECK_LOG`].
    pub(crate) fn log_check(&mut self, record: CheckRecord) {
        if self.checks.len() == CHECK_LOG {
            self.checks.pop_front();
        }
        self.checks.push_back(record);
    }

    /// The agent `id`, which must be registered (404) and active (403):
    /// what every route that acts for an agent requires.
    pub(crate) fn active_agent(&self, id: &str) -> Result<&Agent, crate::error::ApiError> {
        use crate::error::ApiError;
        let agent = self
            .agents
            .get(id)
            .ok_or_else(|| ApiError::not_found("agent", id))?;
        if agent.is_active() {
            Ok(agent)
        } else {
            Err(ApiError::forbidden(format!(
                "agent `{id}` is {}",
                agent.status
            )))
        }
    }

    /// Decides a pending approval; a decided or expired one is a conflict.
    pub(crate) fn decide_approval(
        &mut self,
        approval_id: &str,
        status: ApprovalStatus,
        decided_by: &str,
        now: SystemTime,
    ) -> Result<Approval, crate::error::ApiError> {
        use crate::error::ApiError;
        let approval = self
            .approvals
            .get_mut(approval_id)
            .ok_or_else(|| ApiError::not_found("approval", approval_id))?;
        approval.refresh(now);
        if approval.status != ApprovalStatus::Pending {
            let current = serde_json::to_value(approval.status).unwrap_or_default();
            return Err(ApiError::conflict(format!(
                "approval `{approval_id}` is already {} and cannot be decided again",
                current.as_str().unwrap_or("decided")
            )));
        }
        approval.status = status;
        approval.decided_by = Some(decided_by.to_owned());
        approval.decided = Some(now);
        approval.decided_at = Some(rfc3339(now));
        let decided = approval.clone();
        self.audit("approval.decided", || {
            serde_json::json!({
                "approval_id": decided.id, "agent_id": decided.agent_id,
                "action_name": decided.action_name, "status": decided.status,
                "decided_by": decided.decided_by,
            })
        });
        Ok(decided)
    }

    /// Every record, keys sorted (see `GatewayHandle::dump`).
    pub(crate) fn dump(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let by_key = |entries: Vec<(String, Value)>| {
            Value::Object(entries.into_iter().collect::<Map<_, _>>())
        };
        json!({
            "agents": by_key(self.agents.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "tokens": by_key(self.tokens.values().map(|t| (t.id.clone(), json!({
                "agent_id": t.agent_id,
                "scopes": t.scopes,
                "session_id": t.session_id,
                "revoked": t.revoked,
                "expires_at": rfc3339(t.expires_at),
            }))).collect()),
            "sessions": by_key(self.sessions.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "approvals": by_key(self.approvals.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "delegations": by_key(self.delegations.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "cards": by_key(self.cards.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "challenges": by_key(self.challenges.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "tasks": by_key(self.tasks.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "destinations": by_key(self.destinations.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "mcp_servers": by_key(self.mcp_servers.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "providers": by_key(self.providers.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "federation_tokens": self.federation_tokens.len(),
            "revoked_id_tokens": self.revoked_id_tokens.len(),
            "events_total": self.events.received(None, None),
            "events_kept": self.events.kept().len(),
            "checks_total": self.checks.len(),
        })
    }

    /// The session `id`, created (with `mode`) when a check names one the
    /// gateway has not seen, as the guards' random session ids are.
    pub(crate) fn session_for_check(
        &mut self,
        id: &str,
        agent_id: &str,
        mode: &str,
    ) -> &mut Session {
        self.sessions
            .entry(id.to_owned())
            .or_insert_with(|| new_session(id.to_owned(), agent_id, "api", None, mode, Vec::new()))
    }
}

pub(crate) fn new_session(
    session_id: String,
    agent_id: &str,
    source: &str,
    server_id: Option<String>,
    mode: &str,
    scope_ceiling: Vec<String>,
) -> Session {
    let now = rfc3339(SystemTime::now());
    Session {
        session_id,
        agent_id: agent_id.to_owned(),
        org_id: ORG_ID.to_owned(),
        source: source.to_owned(),
        server_id,
        mode: mode.to_owned(),
        allowed_actions: Vec::new(),
        scope_ceiling,
        total_calls: 0,
        read_calls: 0,
        write_calls: 0,
        denied_calls: 0,
        created_at: now.clone(),
        last_activity_at: now,
        provider_id: None,
        issuer: None,
        trust_level: None,
        delegation_id: None,
    }
}

/// The records, shared by all handlers, and (with `--db`) their database.
#[derive(Default)]
pub(crate) struct Store {
    data: Mutex<Data>,
    db: Option<Mutex<Db>>,
    /// Set when a write could not be made durable: from then on every
    /// request is refused (memory is ahead of the disk) until a restart.
    failed: std::sync::atomic::AtomicBool,
    /// Where committed audit events go (the SIEM worker).
    audit: std::sync::OnceLock<tokio::sync::mpsc::Sender<serde_json::Value>>,
}

impl Store {
    /// A store in memory only, keeping at most `event_log` telemetry events.
    pub(crate) fn in_memory(event_log: usize) -> Store {
        Store {
            data: Mutex::new(Data::with_event_log(event_log)),
            ..Store::default()
        }
    }

    /// A store backed by `db`, starting from what it holds, keeping at most
    /// `event_log` telemetry events in memory (the database keeps all).
    pub(crate) fn with_db(mut db: Db, event_log: usize) -> Result<Store, DbError> {
        let data = db.load(event_log)?;
        Ok(Store {
            data: Mutex::new(data),
            db: Some(Mutex::new(db)),
            failed: std::sync::atomic::AtomicBool::new(false),
            audit: std::sync::OnceLock::new(),
        })
    }

    /// Locks the records. A handler that panicked while holding the lock
    /// cannot have left them half-written in a way that matters for a
    /// development gateway, so a poisoned lock is taken over, not a panic.
    /// With a database, a guard that was written through commits what
    /// changed when it is dropped, before the handler's answer is sent.
    pub(crate) fn lock(&self) -> DataGuard<'_> {
        DataGuard {
            data: self
                .data
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            store: self,
            written: false,
        }
    }

    /// Sends committed audit events to `sink` from now on.
    pub(crate) fn set_audit_sink(&self, sink: tokio::sync::mpsc::Sender<serde_json::Value>) {
        let _ = self.audit.set(sink);
    }

    /// Whether a write failed to reach the database.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The locked records; see [`Store::lock`].
pub(crate) struct DataGuard<'a> {
    data: MutexGuard<'a, Data>,
    store: &'a Store,
    written: bool,
}

impl std::ops::Deref for DataGuard<'_> {
    type Target = Data;
    fn deref(&self) -> &Data {
        &self.data
    }
}

impl std::ops::DerefMut for DataGuard<'_> {
    fn deref_mut(&mut self) -> &mut Data {
        self.written = true;
        &mut self.data
    }
}

impl Drop for DataGuard<'_> {
    fn drop(&mut self) {
        if !self.written {
            return;
        }
        self.commit();
        // Only what is stored is announced; the queue never blocks a request.
        let events = std::mem::take(&mut self.data.outbox);
        if let (Some(sink), false) = (self.store.audit.get(), self.store.has_failed()) {
            for event in events {
                if sink.try_send(event).is_err() {
                    tracing::warn!("SIEM queue full or closed: an audit event is not streamed");
                }
            }
        }
    }
}

impl DataGuard<'_> {
    fn commit(&mut self) {
        let Some(db) = &self.store.db else { return };
        let mut db = db.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(error) = db.commit(&self.data) {
            tracing::error!(%error, "a write could not be stored; refusing requests until restart");
            self.store
                .failed
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// `now + d`, saturating instead of overflowing on absurd durations.
pub(crate) fn after(now: SystemTime, d: Duration) -> SystemTime {
    now.checked_add(d)
        .unwrap_or(now + Duration::from_secs(100 * 365 * 86_400))
}
