//! The installed runtime (init_from_env) against the local gateway:
//! nothing is lost after shutdown(). Its own binary: it installs the
//! process-wide runtime and sets environment variables.

mod common;

use agenttrust_gateway::Policy;
use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "mutating", name = "write_note")]
fn write_note(n: u32) -> Result<u32, AgentTrustError> {
    Ok(n)
}

#[test]
fn nothing_is_lost_after_shutdown() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let world = tokio.block_on(common::World::new(Policy::default(), &[]));
    std::env::set_var("AGENTTRUST_URL", world.gateway.url());
    std::env::set_var("AGENTTRUST_API_KEY", world.gateway.api_key());
    std::env::set_var("AGENTTRUST_AGENT_ID", &world.agent_id);
    std::env::set_var("AGENTTRUST_SESSION_ID", "sess_shutdown");
    agenttrust_runtime::init_from_env().unwrap();

    let n = 1_000;
    for i in 0..n {
        assert_eq!(write_note(i).unwrap(), i);
    }
    assert!(agenttrust_runtime::shutdown().is_delivered());
    let events = tokio.block_on(world.events("sess_shutdown"));
    assert_eq!(events.len(), n as usize);
    assert!(events
        .iter()
        .all(|e| e["success"] == true && e["tool_name"] == "write_note"));
    let stats = agenttrust_runtime::current()
        .unwrap()
        .client()
        .telemetry_stats();
    assert_eq!(
        (stats.sent, stats.dropped, stats.queued),
        (u64::from(n), 0, 0)
    );
}
