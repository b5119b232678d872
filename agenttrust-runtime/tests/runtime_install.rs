//! The process-wide runtime: init_from_env installs once, a second install
//! is an error, and shutdown() delivers every event. One test in its own
//! binary, because it sets environment variables and the global runtime.

mod common;

use std::time::Duration;

use agenttrust_runtime::{guarded, AgentTrustError, Runtime};

#[guarded(effect = "mutating", summary = n)]
fn write_note(n: u32) -> Result<u32, AgentTrustError> {
    Ok(n)
}

#[test]
fn init_from_env_installs_once_and_shutdown_flushes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = common::server().await;
        common::allow_all_checks(&server).await;
        common::accept_telemetry(&server).await;
        server
    });
    // The only test in this binary: nothing else reads the environment.
    std::env::set_var("AGENTTRUST_URL", server.uri());
    std::env::set_var("AGENTTRUST_API_KEY", common::KEY);
    std::env::set_var("AGENTTRUST_AGENT_ID", "ag_env");
    std::env::set_var("AGENTTRUST_SESSION_ID", "sess_env");
    std::env::set_var("AGENTTRUST_FAIL_OPEN", "false");

    // The client alone reads the same variables.
    let from_env = agenttrust_runtime::AgentTrustClient::from_env().unwrap();
    assert_eq!(
        (from_env.base_url(), from_env.has_api_key()),
        (server.uri().as_str(), true)
    );
    let built = agenttrust_runtime::AgentTrustClientBuilder::from_env()
        .build()
        .unwrap();
    assert_eq!(built.base_url(), server.uri());

    agenttrust_runtime::init_from_env().unwrap();
    let again = agenttrust_runtime::init_from_env().unwrap_err();
    assert_eq!(again.code(), "CONFIG_ERROR");
    let client = agenttrust_runtime::current().unwrap().client().clone();
    let second = Runtime::builder(client, "other").install().unwrap_err();
    assert!(second.to_string().contains("already installed"), "{second}");

    for n in 0..25 {
        assert_eq!(write_note(n).unwrap(), n);
    }
    assert!(agenttrust_runtime::shutdown_within(Duration::from_secs(10)).is_delivered());
    let events = rt.block_on(common::telemetry_events(&server));
    assert_eq!(events.len(), 25, "nothing lost after shutdown()");
    let checks = rt.block_on(common::bodies(&server, "/api/v1/agenttrust/check"));
    assert_eq!(checks[3]["agent_id"], "ag_env");
    assert_eq!(checks[3]["session_id"], "sess_env");
    assert_eq!(checks[3]["action_input_summary"], "3");
}
