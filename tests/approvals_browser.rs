//! The approvals page in a real browser: headless Chromium, driven over
//! WebDriver (Debian's `chromium` and `chromium-driver`, which `.ci/run`
//! installs), logs in, sees the pending approval of a guarded call that
//! waits, clicks approve, and the call completes; a denial, an expired
//! approval, and a tool name with markup in it. A screenshot of the page is
//! kept at `target/tmp/approvals-page.png`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agenttrust_gateway::{Gateway, GatewayHandle, Policy};
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::{guarded, AgentTrustClient, AgentTrustError, Runtime};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

#[guarded(effect = "destructive", summary = path, on_elevation = "wait", wait = "60s")]
async fn delete_file(path: &str) -> Result<String, AgentTrustError> {
    Ok(format!("deleted {path}"))
}

#[guarded(
    effect = "destructive",
    name = "drop_table",
    on_elevation = "wait",
    wait = "60s"
)]
async fn drop_table() -> Result<(), AgentTrustError> {
    Ok(())
}

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    /// Removed on drop, after the driver (and its browser) are gone.
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> (Driver, Client) {
    for path in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(path).exists(),
            "{path} is missing: install Debian's chromium and chromium-driver packages (.ci/run does)"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::Builder::new()
        .prefix("agenttrust-chromium-")
        .tempdir()
        .expect("a scratch folder for the browser profile");
    let user_data_dir = format!("--user-data-dir={}", profile.path().display());
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1400,1000".to_owned(),
        user_data_dir,
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    let started = Instant::now();
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            Ok(client) => break client,
            Err(e) if started.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    };
    (driver, client)
}

struct World {
    gateway: GatewayHandle,
    runtime: Runtime,
}

async fn world(policy: Policy) -> World {
    let gateway = Gateway::builder().policy(policy).spawn().await.unwrap();
    let client = AgentTrustClient::builder()
        .base_url(gateway.url())
        .api_key(gateway.api_key())
        .build()
        .unwrap();
    let agent = client
        .agents()
        .create(&CreateAgentRequest::new("browser-test-agent"))
        .await
        .unwrap();
    let runtime = Runtime::builder(client, agent.id).build();
    World { gateway, runtime }
}

async fn log_in(browser: &Client, world: &World, name: &str) {
    // Once, in a loaded full-workspace run, the form was not there right
    // after `goto` returned (NoSuchElement): wait for it, and navigate
    // again if the page never shows it.
    let login_form = Locator::Css("form[action='/ui/login']");
    let mut last_error = None;
    for _ in 0..3 {
        browser
            .goto(&format!("{}/ui", world.gateway.url()))
            .await
            .unwrap();
        match browser
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(login_form)
            .await
        {
            Ok(_) => {
                last_error = None;
                break;
            }
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    assert!(last_error.is_none(), "no login form at /ui: {last_error:?}");
    let form = browser.form(login_form).await.unwrap();
    form.set_by_name("api_key", world.gateway.api_key())
        .await
        .unwrap();
    form.set_by_name("name", name).await.unwrap();
    form.submit().await.unwrap();
    let url = browser.current_url().await.unwrap();
    assert!(
        !url.as_str().contains(world.gateway.api_key()),
        "the key is never in a URL: {url}"
    );
}

/// Runs `script` in the page and returns its value. The page reloads
/// itself every 2 s, so a script can land on a page being replaced: retry.
async fn js(browser: &Client, script: &str) -> serde_json::Value {
    let mut last_error = String::new();
    for _ in 0..30 {
        match browser.execute(script, vec![]).await {
            Ok(value) => return value,
            Err(e) => last_error = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{script}: {last_error}");
}

/// The text of the first element matching `css`, read in one script (so a
/// reload cannot split it), or `None`.
async fn text_of(browser: &Client, css: &str) -> Option<String> {
    let script = format!(
        "const e = document.querySelector({}); return e ? e.textContent : null;",
        serde_json::to_string(css).unwrap()
    );
    js(browser, &script).await.as_str().map(str::to_owned)
}

/// The pending row of `tool`, once the self-refreshing page shows it.
async fn pending_row(browser: &Client, tool: &str) -> String {
    let started = Instant::now();
    loop {
        let rows = js(
            browser,
            "return Array.from(document.querySelectorAll('#pending tr[id]'))\
             .map(r => [r.id, r.querySelector('td.tool').textContent]);",
        )
        .await;
        for row in rows.as_array().into_iter().flatten() {
            if row[1] == tool {
                return row[0].as_str().unwrap().to_owned();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no pending row for {tool}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks a row's button. The page reloads itself every 2 s, so an element
/// found just before a reload can go stale: find it again and retry.
async fn click(browser: &Client, approval_id: &str, button: &str) {
    let css = format!("tr[id='{approval_id}'] button.{button}");
    let mut last_error = None;
    for _ in 0..20 {
        match browser.find(Locator::Css(&css)).await {
            Ok(element) => match element.click().await {
                Ok(()) => return,
                Err(e) => last_error = Some(e.to_string()),
            },
            Err(e) => last_error = Some(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not click {css}: {last_error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_deny_expiry_and_escaping_in_headless_chromium() {
    let (_driver, browser) = browser().await;
    let world = world(Policy::default()).await;
    log_in(&browser, &world, "alice@example.com").await;
    let heading = text_of(&browser, "h1").await;
    assert_eq!(heading.as_deref(), Some("Approvals"));

    // A tool name with markup renders as text, and runs no script.
    let evil = "<script>document.title='pwned'</script>";
    world
        .runtime
        .client()
        .actions()
        .check(
            &agenttrust_runtime::api::actions::ActionCheckRequest::new(
                world.runtime.agent_id(),
                evil,
            )
            .effect("destructive"),
        )
        .await
        .unwrap();
    let evil_id = pending_row(&browser, evil).await;
    let title = js(&browser, "return document.title").await;
    assert_eq!(title, "agenttrust-gateway: approvals");
    let scripts = js(
        &browser,
        "return document.querySelectorAll('script').length",
    )
    .await;
    assert_eq!(scripts, json!(0));
    // A waiting guarded call; a person approves it on the page.
    let call = tokio::spawn(
        world
            .runtime
            .scope(async { delete_file("/srv/data").await }),
    );
    let id = pending_row(&browser, "delete_file").await;
    let summary = text_of(&browser, &format!("tr[id='{id}'] td.summary")).await;
    assert_eq!(summary.as_deref(), Some("/srv/data"));
    assert!(!call.is_finished(), "the call waits for the click");
    let png = browser.screenshot().await.unwrap();
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("approvals-page.png");
    std::fs::write(&shot, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG at {}", shot.display());
    click(&browser, &id, "approve").await;
    let done = tokio::time::timeout(Duration::from_secs(20), call).await;
    assert_eq!(done.unwrap().unwrap().unwrap(), "deleted /srv/data");

    click(&browser, &evil_id, "deny").await;

    // A denial on the page refuses the waiting call, naming the person.
    let call = tokio::spawn(world.runtime.scope(async { drop_table().await }));
    let id = pending_row(&browser, "drop_table").await;
    click(&browser, &id, "deny").await;
    match tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .unwrap()
        .unwrap()
    {
        Err(AgentTrustError::ActionDenied { decided_by, .. }) => {
            assert_eq!(decided_by.as_deref(), Some("alice@example.com"))
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    let decided = text_of(&browser, "#decided").await.unwrap_or_default();
    assert!(
        decided.contains("denied") && decided.contains("approved"),
        "{decided}"
    );

    // An approval nobody decides shows as expired.
    let brief = world_with_expiry().await;
    log_in(&browser, &brief, "alice@example.com").await;
    let agent = brief.runtime.agent_id().to_owned();
    let elevated = brief
        .runtime
        .client()
        .actions()
        .check(
            &agenttrust_runtime::api::actions::ActionCheckRequest::new(&agent, "wipe")
                .effect("destructive"),
        )
        .await
        .unwrap();
    // Not waited for as pending: under load the page may first show it expired.
    let id = elevated.approval_id.expect("an approval");
    let started = Instant::now();
    loop {
        let css = format!("#decided tr[id='{id}'] td.status");
        if let Some(status) = text_of(&browser, &css).await {
            assert_eq!(status, "expired");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never shown as expired"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.close().await.unwrap();
}

async fn world_with_expiry() -> World {
    world(Policy::default().approval_expiry(Duration::from_secs(2))).await
}
