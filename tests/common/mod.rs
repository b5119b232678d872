//! A real local gateway on 127.0.0.1, an agent registered on it, and a
//! runtime for that agent: what every end-to-end test starts from.
#![allow(dead_code)]

use std::time::Duration;

use agenttrust_gateway::{Gateway, GatewayHandle, Policy};
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::{AgentTrustClient, Runtime};
use serde_json::Value;

pub struct World {
    pub gateway: GatewayHandle,
    pub client: AgentTrustClient,
    pub agent_id: String,
}

impl World {
    pub async fn new(policy: Policy, capabilities: &[&str]) -> World {
        let gateway = Gateway::builder()
            .policy(policy)
            .spawn()
            .await
            .expect("gateway starts");
        let client = client(gateway.url(), gateway.api_key());
        let agent = client
            .agents()
            .create(
                &CreateAgentRequest::new("e2e-agent").capabilities(capabilities.iter().copied()),
            )
            .await
            .expect("agent registers");
        World {
            gateway,
            client,
            agent_id: agent.id,
        }
    }

    pub fn runtime(&self) -> Runtime {
        Runtime::builder(self.client.clone(), self.agent_id.clone()).build()
    }

    /// What the gateway stored for `session_id` (its read-back extension).
    pub async fn events(&self, session_id: &str) -> Vec<Value> {
        agenttrust::gateway_events(self.gateway.url(), self.gateway.api_key(), Some(session_id))
            .await
            .expect("gateway answers")
    }
}

pub fn client(url: &str, key: &str) -> AgentTrustClient {
    AgentTrustClient::builder()
        .base_url(url)
        .api_key(key)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client builds")
}

/// `target/<profile>/examples/<name>`, which `cargo test` builds for the
/// tests that run an example as a user would.
pub fn example(name: &str) -> std::path::PathBuf {
    let mut dir = std::env::current_exe().expect("the test binary's path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Example `name` as a user with nothing configured runs it: every
/// `AGENTTRUST_*` variable removed.
pub fn unconfigured(name: &str) -> std::process::Command {
    let mut command = std::process::Command::new(example(name));
    for var in agenttrust::AGENTTRUST_VARS {
        command.env_remove(var);
    }
    command
}

/// Runs [`unconfigured`] example `name` with `args` and no stdin, asserts
/// it succeeded (its output in the message otherwise), and returns its stdout.
pub fn run_unconfigured<S: AsRef<std::ffi::OsStr>>(name: &str, args: &[S]) -> String {
    let output = unconfigured(name)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
