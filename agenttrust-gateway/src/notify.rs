//! Notifications of new approvals: a JSON POST to the policy's
//! `notify_url` per approval, from a task of its own with a bounded queue
//! and retries, so a slow or failing receiver never delays a check.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::store::Approval;

/// Messages waiting for the receiver; beyond it new ones are dropped (and
/// logged), never waited for.
const QUEUE: usize = 1024;
/// Posts per message before it is given up (logged).
const ATTEMPTS: u32 = 6;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The sending side, held by the gateway's state.
#[derive(Debug)]
pub(crate) struct Notifier {
    queue: mpsc::Sender<Value>,
}

impl Notifier {
    /// Starts the delivery task on the current tokio runtime.
    pub(crate) fn start(url: String) -> Notifier {
        let (queue, messages) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(url, messages));
        Notifier { queue }
    }

    /// Queues the message for a new approval; never blocks.
    pub(crate) fn approval_created(&self, approval: &Approval) {
        if self.queue.try_send(message(approval)).is_err() {
            tracing::warn!(approval_id = %approval.id, "notification queue full; this approval is not notified");
        }
    }
}

/// The message: a Slack-compatible `text` and the approval's fields.
pub(crate) fn message(a: &Approval) -> Value {
    let summary = a
        .action_input_summary
        .as_deref()
        .map(|s| format!(" on \"{}\"", slack_escape(s)))
        .unwrap_or_default();
    let text = format!(
        "AgentTrust ID approval needed: agent `{}` wants to run `{}` ({}){summary}. Approve with \
         `agenttrust-gateway approvals approve {}` or deny with `... deny {}` before {}.",
        slack_escape(&a.agent_id),
        slack_escape(&a.action_name),
        slack_escape(&a.action_effect),
        a.id,
        a.id,
        a.expires_at
    );
    json!({
        "text": text,
        "event": "approval.created",
        "approval_id": a.id,
        "agent_id": a.agent_id,
        "action_name": a.action_name,
        "action_effect": a.action_effect,
        "action_input_summary": a.action_input_summary,
        "session_id": a.session_id,
        "created_at": a.created_at,
        "expires_at": a.expires_at,
    })
}

/// Slack reads `<..>` as links and mentions: user-controlled text is escaped.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The client of the gateway's outgoing webhooks (notifications, SIEM
/// deliveries): a bounded wait, and redirects never followed.
pub(crate) fn webhook_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

async fn deliver(url: String, mut messages: mpsc::Receiver<Value>) {
    let http = webhook_client();
    while let Some(message) = messages.recv().await {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            match http.post(&url).json(&message).send().await {
                Ok(response) if response.status().is_success() => break,
                outcome => {
                    let why = match outcome {
                        Ok(response) => format!("HTTP {}", response.status()),
                        Err(e) => e.to_string(),
                    };
                    if attempt == ATTEMPTS {
                        tracing::warn!(%why, approval_id = %message["approval_id"], "notification not delivered; giving up");
                        break;
                    }
                    tracing::debug!(%why, attempt, "notification failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slack_escape;

    #[test]
    fn user_text_cannot_become_a_slack_link_or_mention() {
        assert_eq!(
            slack_escape("<!channel> & <http://x|y>"),
            "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
    }
}
