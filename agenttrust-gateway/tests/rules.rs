//! Test rules over real loopback HTTP: each scripted answer, its latency,
//! approvers deciding elevations, the check log, and the rules a test rule
//! cannot override.

mod common;

use std::time::{Duration, Instant};

use agenttrust_gateway::{Approver, Gateway, Policy, Rule};
use common::Fixture;
use serde_json::{json, Value};

async fn fixture(builder: agenttrust_gateway::GatewayBuilder) -> Fixture {
    Fixture::from_builder(builder).await
}

async fn raw_check(fx: &Fixture, agent: &str, tool: &str, session: Option<&str>) -> (u16, Value) {
    let mut body = json!({"agent_id": agent, "action_name": tool, "action_source": "api", "action_input_summary": "sum"});
    if let Some(session) = session {
        body["session_id"] = json!(session);
    }
    fx.send("POST", "/api/v1/agenttrust/check", Some(body))
        .await
}

#[tokio::test]
async fn each_rule_answers_its_tool_and_others_follow_the_policy() {
    let fx = fixture(
        Gateway::builder()
            .policy(Policy::default().deny_tool("rm_rf"))
            .rule("rm_rf", Rule::allow())
            .rule("search", Rule::deny("not today"))
            .rule("flaky", Rule::unavailable())
            .rule("limited", Rule::status(429))
            .rule("odd", Rule::status(1000)),
    )
    .await;
    let agent = fx.agent("bot", &[]).await;
    // The rule wins over the policy's deny list.
    let v = fx.check(&agent, "rm_rf", None).await;
    assert_eq!(v["allowed"], true, "{v}");
    let v = fx.check(&agent, "search", Some("read")).await;
    assert_eq!(
        (v["allowed"].clone(), v["reason"].clone()),
        (json!(false), json!("not today"))
    );
    let (status, body) = raw_check(&fx, &agent, "flaky", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("GUARDIAN_UNAVAILABLE"))
    );
    let (status, _) = raw_check(&fx, &agent, "limited", None).await;
    assert_eq!(status, 429);
    let (status, body) = raw_check(&fx, &agent, "odd", None).await;
    assert_eq!(status, 500);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not an HTTP status"),
        "{body}"
    );
    // Without a rule the policy decides: an unknown agent is denied.
    let v = fx.check("ag_nobody", "anything", None).await;
    assert_eq!(v["allowed"], false);

    let log = fx.gw.checks();
    let outcomes: Vec<(&str, &str, u16)> = log
        .iter()
        .map(|c| (c.action_name.as_str(), c.outcome.as_str(), c.status))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("rm_rf", "allowed", 200),
            ("search", "denied", 200),
            ("flaky", "unavailable", 503),
            ("limited", "status", 429),
            ("odd", "status", 500),
            ("anything", "denied", 200),
        ]
    );
    assert_eq!(log[1].action_effect.as_deref(), Some("read"));
    assert_eq!(log[2].summary.as_deref(), Some("sum"));
    assert!(log[1].check_id.as_deref().unwrap().starts_with("chk_"));
    assert_eq!(fx.gw.dump()["checks_total"], 6);
}

#[tokio::test]
async fn rules_change_at_run_time_and_a_default_rule_covers_the_rest() {
    let fx = fixture(Gateway::builder().default_rule(Rule::deny("default says no"))).await;
    let agent = fx.agent("bot", &[]).await;
    assert_eq!(
        fx.check(&agent, "a", None).await["reason"],
        "default says no"
    );
    fx.gw.set_rule("a", Rule::allow());
    assert_eq!(fx.check(&agent, "a", None).await["allowed"], true);
    assert_eq!(fx.check(&agent, "b", None).await["allowed"], false);
    fx.gw.remove_rule("a");
    assert_eq!(fx.check(&agent, "a", None).await["allowed"], false);
    fx.gw.set_default_rule(None);
    // Back to the policy: a read of a known agent is allowed.
    assert_eq!(fx.check(&agent, "a", Some("read")).await["allowed"], true);
}

#[tokio::test]
async fn a_rule_latency_delays_the_answer() {
    let fx =
        fixture(Gateway::builder().rule("slow", Rule::allow().latency(Duration::from_millis(600))))
            .await;
    let agent = fx.agent("bot", &[]).await;
    let started = Instant::now();
    let v = fx.check(&agent, "slow", None).await;
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert!(v["latency_ms"].as_u64().unwrap() >= 600, "{v}");
    let started = Instant::now();
    fx.check(&agent, "fast", None).await;
    assert!(started.elapsed() < Duration::from_millis(600));
}

#[tokio::test]
async fn an_approver_decides_the_elevation_once_and_the_retry_follows_it() {
    let fx = fixture(
        Gateway::builder()
            .rule(
                "wipe",
                Rule::elevate(Approver::approves_after(Duration::from_millis(100)).by("ops@x")),
            )
            .rule(
                "purge",
                Rule::elevate(Approver::denies_after(Duration::ZERO)),
            )
            .rule("hold", Rule::elevate(Approver::nobody())),
    )
    .await;
    let agent = fx.agent("bot", &[]).await;
    let first = fx.check(&agent, "wipe", None).await;
    assert_eq!(first["elevation_required"], true, "{first}");
    let id = first["approval_id"].as_str().unwrap().to_owned();
    // Asking again before the approver acts reuses the pending approval.
    assert_eq!(
        fx.check(&agent, "wipe", None).await["approval_id"],
        id.as_str()
    );
    let approval = loop {
        let (_, a) = fx.send("GET", &format!("/mcp/approvals/{id}"), None).await;
        if a["status"] != "pending" {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (approval["status"].as_str(), approval["decided_by"].as_str()),
        (Some("approved"), Some("ops@x"))
    );
    let retry = fx.check(&agent, "wipe", None).await;
    assert_eq!(retry["allowed"], true, "{retry}");
    assert!(retry["reason"].as_str().unwrap().contains("ops@x"));

    let denied = fx.check(&agent, "purge", None).await;
    let id = denied["approval_id"].as_str().unwrap().to_owned();
    let approval = loop {
        let (_, a) = fx.send("GET", &format!("/mcp/approvals/{id}"), None).await;
        if a["status"] != "pending" {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(approval["status"], "denied");
    // A denied approval does not allow: the next check asks for a new one.
    let again = fx.check(&agent, "purge", None).await;
    assert_eq!(again["elevation_required"], true);
    assert_ne!(again["approval_id"].as_str(), Some(id.as_str()));

    let held = fx.check(&agent, "hold", None).await;
    let id = held["approval_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, a) = fx.send("GET", &format!("/mcp/approvals/{id}"), None).await;
    assert_eq!(a["status"], "pending");
    // A human may still decide it through the API.
    let (status, _) = fx
        .send(
            "POST",
            &format!("/mcp/approvals/{id}/approve"),
            Some(json!({"decided_by": "me"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(fx.check(&agent, "hold", None).await["allowed"], true);
}

#[tokio::test]
async fn a_rule_never_lets_an_agent_into_another_agents_session() {
    let fx = fixture(Gateway::builder().default_rule(Rule::allow())).await;
    let owner = fx.agent("owner", &[]).await;
    let intruder = fx.agent("intruder", &[]).await;
    assert_eq!(fx.check(&owner, "t", None).await["allowed"], true);
    let (_, v) = raw_check(&fx, &owner, "t", Some("sess_owner")).await;
    assert_eq!(v["allowed"], true);
    let before = fx.gw.dump()["sessions"].clone();
    let (status, v) = raw_check(&fx, &intruder, "t", Some("sess_owner")).await;
    assert_eq!((status, v["allowed"].clone()), (200, json!(false)), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("another agent"));
    assert_eq!(fx.gw.dump()["sessions"], before);
}

#[tokio::test]
async fn rules_need_the_api_key_like_every_check() {
    let fx = fixture(Gateway::builder().default_rule(Rule::allow())).await;
    let resp = fx
        .http
        .post(format!("{}/api/v1/agenttrust/check", fx.gw.url()))
        .json(&json!({"agent_id": "a", "action_name": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(fx.gw.checks().is_empty());
}
