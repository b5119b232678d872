//! The gateway's authorization model over real loopback HTTP: a session
//! belongs to one agent for good, its mode and ceiling never widen, and a
//! rejected request changes nothing (checked by reading the state back).

mod common;

use agenttrust_gateway::Policy;
use common::Fixture;
use serde_json::{json, Value};

fn restricted_files() -> Policy {
    Policy::default().server_session("files", "restricted", ["read_file"])
}

impl Fixture {
    /// Two agents, and an MCP session of the first (the owner).
    async fn owner_intruder_and_session(&self) -> (String, String, Value) {
        let owner = self.agent("owner", &[]).await;
        let intruder = self.agent("intruder", &[]).await;
        let session = self.mcp_session(&owner, "files").await;
        (owner, intruder, session)
    }

    async fn mcp_session(&self, agent: &str, server: &str) -> Value {
        let (status, body) = self
            .send(
                "POST",
                "/mcp/sessions/init",
                Some(json!({"agent_id": agent, "server_id": server})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn session(&self, id: &str) -> Value {
        let (status, body) = self.send("GET", &format!("/mcp/sessions/{id}"), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn token(&self, agent: &str, session: Option<&str>) -> (u16, Value) {
        let mut body = json!({"agent_id": agent, "scopes": []});
        if let Some(session) = session {
            body["session_id"] = json!(session);
        }
        self.send("POST", "/api/v1/agent-tokens/issue", Some(body))
            .await
    }

    async fn bridge(&self, token: &str) -> (u16, Value) {
        self.send(
            "POST",
            "/api/v1/agenttrust/api-sessions/init",
            Some(json!({"token": token})),
        )
        .await
    }

    async fn check_in(&self, agent: &str, session: &str, tool: &str, effect: &str) -> Value {
        let (status, body) = self
            .send(
                "POST",
                "/api/v1/agenttrust/check",
                Some(
                    json!({"agent_id": agent, "action_name": tool, "action_source": "api",
                            "action_effect": effect, "session_id": session}),
                ),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

#[tokio::test]
async fn the_api_bridge_returns_a_bound_session_unchanged() {
    let f = Fixture::new(restricted_files()).await;
    let agent = f.agent("bot", &[]).await;
    let session = f.mcp_session(&agent, "files").await;
    let id = session["session_id"].as_str().unwrap();
    assert_eq!(
        f.check_in(&agent, id, "read_file", "read").await["allowed"],
        true
    );
    let before = f.session(id).await;

    let (status, token) = f.token(&agent, Some(id)).await;
    assert_eq!(status, 200, "{token}");
    let (status, bridged) = f.bridge(token["token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{bridged}");
    assert_eq!(
        bridged, before,
        "the bridge must return the session as it is"
    );
    assert_eq!(f.session(id).await, before, "and leave it as it is");

    // Still restricted: a tool outside the ceiling stays denied.
    let verdict = f.check_in(&agent, id, "delete_file", "destructive").await;
    assert_eq!(verdict["allowed"], false);
    assert!(verdict["reason"]
        .as_str()
        .unwrap()
        .contains("scope ceiling"));
}

#[tokio::test]
async fn an_unbound_token_gets_one_session_of_its_own() {
    let f = Fixture::new(Policy::default()).await;
    let agent = f.agent("bot", &[]).await;
    let (_, token) = f.token(&agent, None).await;
    let secret = token["token"].as_str().unwrap();
    let (status, first) = f.bridge(secret).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (first["source"].as_str(), first["agent_id"].as_str()),
        (Some("api"), Some(agent.as_str()))
    );
    let (_, again) = f.bridge(secret).await;
    assert_eq!(
        again["session_id"], first["session_id"],
        "the token is now bound to it"
    );
}

#[tokio::test]
async fn a_token_cannot_be_bound_to_another_agents_session_or_an_unknown_one() {
    let f = Fixture::new(Policy::default()).await;
    let (_owner, intruder, session) = f.owner_intruder_and_session().await;
    let id = session["session_id"].as_str().unwrap();

    let (status, body) = f.token(&intruder, Some(id)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("another agent"),
        "{body}"
    );
    assert_eq!(
        f.session(id).await,
        session,
        "the session's agent never changes"
    );

    let (status, body) = f.token(&intruder, Some("sess_nope")).await;
    assert_eq!(status, 404, "{body}");

    // Neither rejected request left a token behind: an introspection of
    // anything the intruder holds finds nothing new (only tokens issued OK).
    let (status, _) = f.token(&intruder, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_check_in_another_agents_session_is_denied_and_not_counted() {
    let f = Fixture::new(Policy::default()).await;
    let (owner, intruder, session) = f.owner_intruder_and_session().await;
    let id = session["session_id"].as_str().unwrap();

    let verdict = f.check_in(&intruder, id, "read_file", "read").await;
    assert_eq!(verdict["allowed"], false);
    assert!(verdict["reason"]
        .as_str()
        .unwrap()
        .contains("belongs to another agent"));
    let after = f.session(id).await;
    assert_eq!(after["agent_id"], owner.as_str());
    assert_eq!(after["total_calls"], 0);
    assert_eq!(after["last_activity_at"], session["last_activity_at"]);

    // The same for a guard-style session id first used by its owner.
    assert_eq!(
        f.check_in(&owner, "guard-uuid", "read_file", "read").await["allowed"],
        true
    );
    assert_eq!(
        f.check_in(&intruder, "guard-uuid", "read_file", "read")
            .await["allowed"],
        false
    );
    let guard_session = f.session("guard-uuid").await;
    assert_eq!(
        (
            guard_session["agent_id"].as_str(),
            guard_session["total_calls"].as_u64()
        ),
        (Some(owner.as_str()), Some(1))
    );
}

#[tokio::test]
async fn checks_of_unknown_or_revoked_agents_create_no_session() {
    let f = Fixture::new(Policy::default()).await;
    let verdict = f.check_in("ag_ghost", "squat", "read_file", "read").await;
    assert_eq!(verdict["allowed"], false);
    let (status, _) = f.send("GET", "/mcp/sessions/squat", None).await;
    assert_eq!(
        status, 404,
        "an unknown agent's check must not claim a session id"
    );

    let agent = f.agent("bot", &[]).await;
    let (status, _) = f
        .send("POST", &format!("/api/v1/agents/{agent}/revoke"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        f.check_in(&agent, "late", "read_file", "read").await["allowed"],
        false
    );
    let (status, _) = f.send("GET", "/mcp/sessions/late", None).await;
    assert_eq!(status, 404);
    let (status, body) = f
        .send(
            "POST",
            "/mcp/sessions/init",
            Some(json!({"agent_id": agent, "server_id": "x"})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn session_init_may_narrow_the_policy_but_never_widen_it() {
    let f = Fixture::new(restricted_files().server_session(
        "review",
        "supervised",
        Vec::<String>::new(),
    ))
    .await;
    let agent = f.agent("bot", &[]).await;
    for (body, why) in [
        (json!({"mode": "open"}), "open under a restricted policy"),
        (
            json!({"mode": "supervised"}),
            "supervised under a restricted policy",
        ),
        (
            json!({"scope_ceiling": ["read_file", "delete_file"]}),
            "a wider ceiling",
        ),
    ] {
        let mut req = json!({"agent_id": agent, "server_id": "files"});
        req.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let (status, answer) = f.send("POST", "/mcp/sessions/init", Some(req)).await;
        assert_eq!(status, 403, "{why}: {answer}");
    }
    let (status, answer) = f
        .send(
            "POST",
            "/mcp/sessions/init",
            Some(json!({"agent_id": agent, "server_id": "review", "mode": "open"})),
        )
        .await;
    assert_eq!(status, 403, "open under a supervised policy: {answer}");

    // Narrowing is fine: a subset ceiling (empty or not), or a restricted
    // session where the policy leaves sessions open.
    let (status, answer) = f
        .send(
            "POST",
            "/mcp/sessions/init",
            Some(json!({"agent_id": agent, "server_id": "files", "scope_ceiling": ["read_file"]})),
        )
        .await;
    assert_eq!(
        (status, answer["scope_ceiling"].clone()),
        (200, json!(["read_file"])),
        "{answer}"
    );
    let (status, answer) = f
        .send(
            "POST",
            "/mcp/sessions/init",
            Some(json!({"agent_id": agent, "server_id": "files", "scope_ceiling": []})),
        )
        .await;
    assert_eq!(
        (status, answer["mode"].as_str()),
        (200, Some("restricted")),
        "{answer}"
    );
    let (status, answer) = f
        .send("POST", "/mcp/sessions/init", Some(json!({"agent_id": agent, "server_id": "other", "mode": "restricted", "scope_ceiling": ["search"]})))
        .await;
    assert_eq!(
        (status, answer["mode"].as_str()),
        (200, Some("restricted")),
        "{answer}"
    );
}

#[tokio::test]
async fn telemetry_only_goes_into_the_reporting_agents_own_sessions() {
    let f = Fixture::new(Policy::default()).await;
    let (owner, intruder, session) = f.owner_intruder_and_session().await;
    let id = session["session_id"].as_str().unwrap();
    let event = json!([{"event_type": "tool_end", "tool_name": "read_file", "duration_ms": 1, "success": true}]);

    let (status, body) = f
        .send(
            "POST",
            "/api/v1/telemetry/report",
            Some(json!({"agent_id": intruder, "session_id": id, "events": event})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = f
        .send(
            "POST",
            "/api/v1/telemetry/report",
            Some(json!({"agent_id": "ag_ghost", "session_id": "x", "events": event})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (_, stored) = f.send("GET", "/api/v1/telemetry/events", None).await;
    assert_eq!(
        stored["total"], 0,
        "rejected reports store nothing: {stored}"
    );

    let (status, _) = f
        .send(
            "POST",
            "/api/v1/telemetry/report",
            Some(json!({"agent_id": owner, "session_id": id, "events": event})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, stored) = f.send("GET", "/api/v1/telemetry/events", None).await;
    assert_eq!(stored["total"], 1);
}

#[tokio::test]
async fn an_elevation_counts_as_a_denied_call() {
    let f = Fixture::new(Policy::default()).await;
    let agent = f.agent("bot", &[]).await;
    let session = f.mcp_session(&agent, "files").await;
    let id = session["session_id"].as_str().unwrap();
    assert_eq!(
        f.check_in(&agent, id, "read_file", "read").await["allowed"],
        true
    );
    let verdict = f.check_in(&agent, id, "delete_file", "destructive").await;
    assert_eq!(verdict["elevation_required"], true);
    let s = f.session(id).await;
    assert_eq!(
        (
            s["total_calls"].as_u64(),
            s["read_calls"].as_u64(),
            s["write_calls"].as_u64(),
            s["denied_calls"].as_u64()
        ),
        (Some(2), Some(1), Some(1), Some(1)),
        "{s}"
    );
}

#[tokio::test]
async fn approvals_of_one_agent_never_allow_another() {
    let f = Fixture::new(Policy::default()).await;
    let a = f.agent("a", &[]).await;
    let b = f.agent("b", &[]).await;
    let verdict = f.check_in(&a, "sa", "wipe", "destructive").await;
    let approval = verdict["approval_id"].as_str().unwrap();
    let (status, _) = f
        .send(
            "POST",
            &format!("/mcp/approvals/{approval}/approve"),
            Some(json!({"decided_by": "ops"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        f.check_in(&a, "sa", "wipe", "destructive").await["allowed"],
        true
    );
    let other = f.check_in(&b, "sb", "wipe", "destructive").await;
    assert_eq!(
        (
            other["allowed"].as_bool(),
            other["elevation_required"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_ne!(other["approval_id"], verdict["approval_id"]);
}
