//! A2A (agent-to-agent) JSON-RPC (PROTOCOL.md §16): v1.0 `message/send`
//! on `POST /a2a/agents/{target}`, and the v0.3 methods on `POST /a2a`.
//! A JSON-RPC `error` is `AgentTrustError::Rpc` (`code()` =
//! `A2A_ERROR_<code>`), never read as a task.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// An A2A v1.0 task.
///
/// ```
/// use agenttrust_runtime::api::a2a::Task;
/// let task: Task = serde_json::from_str(r#"{"id": "t1", "contextId": "c1", "status": {"state": "submitted"},
///     "history": [{"role": "user", "parts": [{"kind": "text", "text": "hi"}], "messageId": "m1"}]}"#).unwrap();
/// assert_eq!((task.status.state.as_str(), task.history[0].text()), ("submitted", "hi".to_owned()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Task {
    /// Its id.
    pub id: String,
    /// Its conversation.
    #[serde(alias = "context_id")]
    pub context_id: String,
    /// Where it stands.
    pub status: TaskStatus,
    /// Its messages, oldest first.
    pub history: Vec<Message>,
    /// What it produced.
    pub artifacts: Vec<Value>,
}

/// A task's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskStatus {
    /// `submitted`, `working`, `completed`, `failed`, `canceled`, ...
    pub state: String,
    /// Since when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// An A2A message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Message {
    /// `user` or `agent`.
    pub role: String,
    /// Its parts (`{"kind": "text", "text": ..}`, ...).
    pub parts: Vec<Value>,
    /// Its id.
    #[serde(alias = "message_id")]
    pub message_id: String,
    /// The task it belongs to.
    #[serde(alias = "task_id", skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The conversation.
    #[serde(alias = "context_id", skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
}

impl Message {
    /// The text of its text parts, joined.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("")
    }
}

/// A v0.3 task (`tasks/send`, `tasks/get`, `tasks/cancel`, `tasks/list`);
/// snake_case and camelCase both decode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacyTask {
    /// Its id.
    pub id: String,
    /// The sender.
    #[serde(alias = "sourceAgentId")]
    pub source_agent_id: Option<String>,
    /// The agent it is for.
    #[serde(alias = "targetAgentId")]
    pub target_agent_id: Option<String>,
    /// `pending`, `running`, `completed`, `failed`, `canceled`.
    pub status: String,
    /// The message as sent.
    pub message: Option<Value>,
    /// What it produced.
    pub artifacts: Vec<Value>,
    /// Free-form metadata.
    pub metadata: Option<Value>,
    /// Created.
    #[serde(alias = "createdAt")]
    pub created_at: Option<String>,
    /// Last changed.
    #[serde(alias = "updatedAt")]
    pub updated_at: Option<String>,
}

#[derive(Deserialize)]
struct TaskList {
    #[serde(default)]
    tasks: Vec<LegacyTask>,
}

/// The A2A API group; from [`AgentTrustClient::a2a`].
#[derive(Debug, Clone, Copy)]
pub struct A2a<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

/// A fresh request id.
fn request_id() -> Value {
    json!(uuid::Uuid::new_v4().simple().to_string())
}

impl A2a<'_> {
    async fn legacy<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T> {
        let url = self.client.transport().url(&["a2a"]);
        super::jsonrpc::call(self.client, url, request_id(), method, Some(&params), "A2A").await
    }

    /// `message/send` (A2A v1.0) to `agent_id`: a text message, continuing
    /// `task_id` when given; `message_id` defaults to a new UUID.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// let task = client.a2a().send_message("ag_worker", "summarize the report", None, None).await?;
    /// let next = client.a2a().send_message("ag_worker", "shorter", None, Some(&task.id)).await?;
    /// # let _ = next; Ok(()) }
    /// ```
    pub async fn send_message(
        &self,
        agent_id: &str,
        text: &str,
        message_id: Option<&str>,
        task_id: Option<&str>,
    ) -> Result<Task> {
        let message_id = message_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let mut message = json!({
            "role": "user",
            "parts": [{"kind": "text", "text": text}],
            "messageId": message_id,
        });
        if let Some(task_id) = task_id {
            message["taskId"] = json!(task_id);
        }
        let url = self.client.transport().url(&["a2a", "agents", agent_id]);
        let params = json!({ "message": message });
        super::jsonrpc::call(
            self.client,
            url,
            request_id(),
            "message/send",
            Some(&params),
            "A2A",
        )
        .await
    }

    /// `tasks/send` (v0.3): a task from `source_agent_id` for
    /// `target_agent_id` carrying `message` (any JSON).
    pub async fn send_task(
        &self,
        source_agent_id: &str,
        target_agent_id: &str,
        message: Value,
    ) -> Result<LegacyTask> {
        let params = json!({
            "source_agent_id": source_agent_id,
            "target_agent_id": target_agent_id,
            "message": message,
        });
        self.legacy("tasks/send", params).await
    }

    /// `tasks/get` (v0.3 form, `{"id": ..}`).
    pub async fn get_task(&self, task_id: &str) -> Result<LegacyTask> {
        self.legacy("tasks/get", json!({ "id": task_id })).await
    }

    /// `tasks/cancel` (v0.3 form, `{"id": ..}`).
    pub async fn cancel_task(&self, task_id: &str) -> Result<LegacyTask> {
        self.legacy("tasks/cancel", json!({ "id": task_id })).await
    }

    /// `tasks/list`: the newest `limit` tasks.
    pub async fn list_tasks(&self, limit: u32) -> Result<Vec<LegacyTask>> {
        let list: TaskList = self.legacy("tasks/list", json!({ "limit": limit })).await?;
        Ok(list.tasks)
    }
}
