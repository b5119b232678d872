//! The approvals page over real HTTP: login by form, the session cookie's
//! flags, CSRF, escaping, deciding (and a waiting guarded call proceeding),
//! expiry shown, and refused requests changing nothing.

mod common;

use std::time::Duration;

use agenttrust_gateway::{Approver, Gateway, Policy, Rule};
use common::{Fixture, KEY};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

struct Browser {
    http: reqwest::Client,
    url: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(fx: &Fixture) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            url: fx.gw.url().to_owned(),
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{path}", self.url)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// Logs in; returns the Set-Cookie header as sent.
    async fn login(&mut self, name: &str) -> String {
        let resp = self
            .post("/ui/login", &[("api_key", KEY), ("name", name)])
            .await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(resp.headers()[LOCATION], "/ui");
        let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
        set
    }

    /// The CSRF token the page embeds.
    async fn csrf(&self) -> String {
        let (_, page) = self.get("/ui").await;
        let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        page[at..at + 64].to_owned()
    }
}

async fn gateway(policy: Policy) -> Fixture {
    let builder = Gateway::builder()
        .policy(policy)
        .default_rule(Rule::elevate(Approver::nobody()));
    Fixture::from_builder(builder).await
}

#[tokio::test]
async fn login_needs_the_key_in_a_form_and_sets_a_strict_http_only_cookie() {
    let fx = gateway(Policy::default()).await;
    let mut browser = Browser::new(&fx);
    let (status, page) = browser.get("/ui").await;
    assert_eq!(status, 200);
    assert!(page.contains("action=\"/ui/login\"") && page.contains("type=\"password\""));
    assert!(!page.contains("Pending"), "nothing shown before login");
    let wrong = browser
        .post("/ui/login", &[("api_key", "sk_wrong"), ("name", "eve")])
        .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let nameless = browser
        .post("/ui/login", &[("api_key", KEY), ("name", " ")])
        .await;
    assert_eq!(nameless.status().as_u16(), 400);
    let set = browser.login("alice@example.com").await;
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/ui"),
        "{set}"
    );
    assert!(
        !set.contains(KEY),
        "the cookie is a session token, not the key"
    );
    let (status, page) = browser.get("/ui").await;
    assert_eq!(status, 200);
    assert!(page.contains("Logged in as <strong>alice@example.com</strong>"));
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "the page reloads itself"
    );
    assert!(!page.contains(KEY), "the key never appears in the page");
    // A made-up session is just a login page.
    browser.cookie = Some("agenttrust_ui=forged".into());
    assert!(browser.get("/ui").await.1.contains("action=\"/ui/login\""));
}

#[tokio::test]
async fn the_page_sends_headers_that_forbid_framing_scripts_and_caching() {
    let fx = gateway(Policy::default()).await;
    let resp = reqwest::get(format!("{}/ui", fx.gw.url())).await.unwrap();
    let h = resp.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn user_controlled_text_renders_as_text() {
    let fx = gateway(Policy::default()).await;
    let agent = fx.agent("bot", &[]).await;
    let (status, _) = fx
        .send(
            "POST",
            "/api/v1/agenttrust/check",
            Some(serde_json::json!({"agent_id": agent, "action_name": "<script>alert(1)</script>",
                "action_effect": "destructive", "action_input_summary": "<img src=x onerror=alert(2)>"})),
        )
        .await;
    assert_eq!(status, 200);
    let mut browser = Browser::new(&fx);
    browser.login("alice").await;
    let (_, page) = browser.get("/ui").await;
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!page.contains("<script>") && !page.contains("<img"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_on_the_page_lets_a_waiting_call_run_and_forged_posts_change_nothing() {
    let fx = gateway(Policy::default()).await;
    let agent = fx.agent("bot", &[]).await;
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(fx.gw.url())
        .api_key(KEY)
        .build()
        .unwrap();
    let runtime = agenttrust_runtime::Runtime::builder(client, agent)
        .on_elevation(agenttrust_runtime::OnElevation::wait_at_most(
            Duration::from_secs(20),
        ))
        .build();
    let guard = runtime.guard().clone();
    let call =
        tokio::spawn(async move { guard.check_with_effect("wipe", "/srv", "destructive").await });
    let mut browser = Browser::new(&fx);
    browser.login("alice@example.com").await;
    let id = loop {
        let (_, page) = browser.get("/ui").await;
        if let Some(at) = page.find("<tr id=\"apr_") {
            break page[at + 8..at + 8 + 36].to_owned();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // check_with_effect does not wait: the elevation came back; wait instead.
    let first = call.await.unwrap().unwrap_err();
    assert_eq!(first.approval_id(), Some(id.as_str()));
    let guard = runtime.guard().clone();
    let waiting = tokio::spawn(async move {
        guard
            .check_and_wait("wipe", "/srv", "destructive", Duration::from_secs(20))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());

    let before = fx.gw.dump();
    let path = format!("/ui/approvals/{id}/approve");
    let forged = browser
        .post(&path, &[("csrf", "0".repeat(64).as_str())])
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    let anonymous = Browser::new(&fx).post(&path, &[("csrf", "x")]).await;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(fx.gw.dump(), before, "refused posts changed nothing");

    let csrf = browser.csrf().await;
    let approved = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(approved.status().as_u16(), 303);
    let decision = waiting.await.unwrap().unwrap();
    assert!(decision.is_allowed(), "{decision:?}");
    let (_, page) = browser.get("/ui").await;
    assert!(page.contains("Nothing is waiting for a decision."));
    assert!(page.contains("approved") && page.contains("alice@example.com"));
    // Deciding twice is refused on the page too.
    let again = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(again.status().as_u16(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_on_the_page_refuses_the_waiting_call_with_the_approver() {
    let fx = gateway(Policy::default()).await;
    let agent = fx.agent("bot", &[]).await;
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(fx.gw.url())
        .api_key(KEY)
        .build()
        .unwrap();
    let guard = agenttrust_runtime::AgentTrustGuard::builder(client, agent).build();
    let waiting = tokio::spawn(async move {
        guard
            .check_and_wait("wipe", "", "destructive", Duration::from_secs(20))
            .await
    });
    let mut browser = Browser::new(&fx);
    browser.login("bob").await;
    let id = loop {
        let (_, page) = browser.get("/ui").await;
        if let Some(at) = page.find("<tr id=\"apr_") {
            break page[at + 8..at + 8 + 36].to_owned();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let csrf = browser.csrf().await;
    let denied = browser
        .post(&format!("/ui/approvals/{id}/deny"), &[("csrf", &csrf)])
        .await;
    assert_eq!(denied.status().as_u16(), 303);
    match waiting.await.unwrap().unwrap_err() {
        agenttrust_runtime::AgentTrustError::ActionDenied { decided_by, .. } => {
            assert_eq!(decided_by.as_deref(), Some("bob"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_expired_approval_is_shown_as_expired_and_logout_ends_the_session() {
    let fx = gateway(Policy::default().approval_expiry(Duration::from_millis(150))).await;
    let agent = fx.agent("bot", &[]).await;
    fx.check(&agent, "wipe", Some("destructive")).await;
    let mut browser = Browser::new(&fx);
    browser.login("alice").await;
    let (_, page) = browser.get("/ui").await;
    assert!(page.contains("Pending (1)"), "{page}");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (_, page) = browser.get("/ui").await;
    assert!(
        page.contains("Pending (0)") && page.contains("<td class=\"status\">expired</td>"),
        "{page}"
    );
    let csrf = browser.csrf().await;
    assert_eq!(
        browser
            .post("/ui/logout", &[("csrf", &csrf)])
            .await
            .status()
            .as_u16(),
        303
    );
    assert!(
        browser.get("/ui").await.1.contains("action=\"/ui/login\""),
        "logged out"
    );
}
