//! Every function shape #[guarded] must accept, compiled here and run
//! against a real HTTP Guardian on loopback.
#![deny(warnings)]
#![allow(dead_code)] // some shapes exist only to prove they compile

mod common;

use std::sync::Arc;

use agenttrust_runtime::{guarded, AgentTrustError, Runtime};
use wiremock::MockServer;

#[derive(Debug)]
pub enum ToolError {
    Denied(AgentTrustError),
    Io(String),
}

impl From<AgentTrustError> for ToolError {
    fn from(e: AgentTrustError) -> Self {
        ToolError::Denied(e)
    }
}

#[guarded(effect = "read")]
fn sync_free(x: u32) -> Result<u32, ToolError> {
    Ok(x + 1)
}

/// A name that holds what the manifest's entry layout frames (`:`, digits,
/// NUL) and more: it is listed as written.
#[allow(dead_code)]
#[guarded(name = "odd 4:name\x001\u{2713}\"")]
fn oddly_named() -> Result<(), ToolError> {
    Ok(())
}

#[guarded(effect = "mutating", name = "async_renamed", summary = format!("x={x}"))]
pub async fn async_free(x: u32) -> Result<u32, ToolError> {
    Ok(x * 2)
}

#[guarded]
fn early_return_and_question_mark(flag: bool) -> Result<&'static str, ToolError> {
    if flag {
        return Ok("early");
    }
    Err(ToolError::Io("boom".into()))?;
    Ok("late")
}

// A second reference argument, so the named lifetime is needed (clippy's
// needless_lifetimes reads the signature, as it does without the attribute).
#[guarded(effect = "read")]
fn returns_borrow<'a>(v: &'a mut Vec<u32>, _tag: &str) -> Result<&'a mut u32, ToolError> {
    v.push(1);
    Ok(v.last_mut().expect("just pushed"))
}

#[guarded(effect = "read")]
async fn async_returns_borrow<'a>(
    v: &'a mut Vec<u32>,
    _tag: &str,
) -> Result<&'a mut u32, ToolError> {
    v.push(1);
    Ok(v.last_mut().expect("just pushed"))
}

#[guarded(effect = "read")]
fn generic<'a, T, const N: usize>(items: [T; N], _tag: &'a str) -> Result<Vec<T>, ToolError>
where
    T: Clone + Send + 'a,
{
    Ok(items.to_vec())
}

#[guarded(effect = "read")]
fn impl_trait_arg(x: impl std::fmt::Display) -> Result<String, ToolError> {
    Ok(x.to_string())
}

#[guarded(effect = "read")]
fn returns_impl_iter() -> Result<impl Iterator<Item = u8>, ToolError> {
    Ok(vec![1u8, 2].into_iter())
}

#[guarded(effect = "read")]
fn anyhow_like() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

#[guarded(effect = "read")]
fn io_result() -> std::io::Result<u8> {
    Ok(1)
}

type LocalResult<T> = Result<T, ToolError>;

#[guarded(effect = "read")]
fn alias_result() -> LocalResult<u8> {
    Ok(1)
}

#[guarded(effect = "read")]
#[allow(clippy::missing_safety_doc)]
unsafe fn unsafe_fn(p: *const u8) -> Result<u8, ToolError> {
    Ok(unsafe { *p })
}

pub struct Params(pub u32);

#[guarded(effect = "read")]
fn pattern_args(
    Params(p): Params,
    (a, b): (u32, u32),
    _: u8,
    mut m: u32,
) -> Result<u32, ToolError> {
    m += 1;
    Ok(p + a + b + m)
}

#[guarded(effect = "read")]
fn inner_attrs() -> Result<u32, ToolError> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(2)
}

/// An `async` block that is not the body's tail: still a sync fn.
#[guarded(effect = "read")]
fn async_block_not_tail(x: u32) -> Result<u32, ToolError> {
    let later = async move { x };
    drop(later);
    let doubled = (async { 0 }, x * 2).1;
    Ok(doubled)
}

#[guarded(effect = "read")]
async fn async_inner_attrs(x: u32) -> Result<u32, ToolError> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(x)
}

#[guarded(effect = "read")]
fn boxed_inner_attrs(
    x: u32,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, ToolError>> + Send>> {
    #![allow(unused_variables)]
    let unused = 1;
    Box::pin(async move { Ok(x + 1) })
}

#[guarded(effect = "read")]
fn cfg_param(#[cfg(any())] hidden: u32, shown: u32) -> Result<u32, ToolError> {
    Ok(shown)
}

pub struct Files<D> {
    count: u32,
    dep: D,
}

impl<D: Send + Sync> Files<D> {
    pub const NAME: &'static str = "files_tool";

    #[guarded(effect = "read", name = Self::NAME)]
    pub fn by_ref(&self) -> Result<u32, ToolError> {
        Ok(self.count)
    }

    #[guarded(effect = "mutating")]
    pub fn by_mut(&mut self) -> Result<u32, ToolError> {
        self.count += 1;
        Ok(self.count)
    }

    #[guarded(effect = "destructive")]
    pub fn by_value(self) -> Result<u32, ToolError> {
        Ok(self.count)
    }

    #[guarded(effect = "read")]
    pub async fn by_arc(self: Arc<Self>) -> Result<u32, ToolError> {
        Ok(self.count)
    }

    pub const ASYNC_NAME: &'static str = "files_async_tool";

    /// A name read through `Self`, on the guarded-future form.
    #[guarded(effect = "read", name = Self::ASYNC_NAME)]
    pub async fn async_named_by_self(&self) -> Result<u32, ToolError> {
        Ok(self.count)
    }

    #[guarded(effect = "read", summary = self.count)]
    pub async fn async_by_ref(&self, extra: u32) -> Result<u32, ToolError> {
        Ok(self.count + extra)
    }
}

pub trait Tool {
    fn call(&self, x: u32) -> impl std::future::Future<Output = Result<u32, ToolError>> + Send;
}

pub struct Doubler;

impl Tool for Doubler {
    #[guarded(effect = "read", name = "doubler")]
    async fn call(&self, x: u32) -> Result<u32, ToolError> {
        Ok(x * 2)
    }
}

/// A trait's `call` without a name: the tool-name probe's fallback ("call")
/// on the guarded-future form, in an impl whose trait asks for `Send`.
pub struct Halver;

impl Tool for Halver {
    #[guarded(effect = "read")]
    async fn call(&self, x: u32) -> Result<u32, ToolError> {
        Ok(x / 2)
    }
}

pub struct Echo;

impl Echo {
    /// Not a rig tool: a `call` method is named "call".
    #[guarded(effect = "read")]
    pub fn call(&self, x: u32) -> Result<u32, ToolError> {
        Ok(x)
    }
}

#[async_trait::async_trait]
pub trait DynTool {
    async fn run(&self, x: u32) -> Result<u32, ToolError>;
}

pub struct Tripler;

#[async_trait::async_trait]
impl DynTool for Tripler {
    #[guarded(effect = "read", name = "tripler", summary = x)]
    async fn run(&self, x: u32) -> Result<u32, ToolError> {
        tokio::task::yield_now().await;
        Ok(x * 3)
    }
}

// Default options on an `async fn`: the expansion returns the guarded
// future itself (`fn .. -> impl Future`); these prove it captures what an
// `async fn` would, in this edition-2021 crate: lifetimes hidden in paths,
// `impl Trait` arguments, generics, and recursion through a box.
pub struct Borrowing<'a>(&'a str);

#[guarded(effect = "read")]
async fn async_hidden_lifetimes(
    text: std::borrow::Cow<str>,
    other: Borrowing,
) -> Result<usize, ToolError> {
    tokio::task::yield_now().await;
    Ok(text.len() + other.0.len())
}

#[guarded(effect = "read")]
async fn async_impl_trait_arg(x: impl std::fmt::Display + Send) -> Result<String, ToolError> {
    Ok(x.to_string())
}

#[guarded(effect = "read")]
async fn async_generic<T: Send + Clone>(item: T, _tag: &str) -> Result<Vec<T>, ToolError> {
    Ok(vec![item.clone(), item])
}

#[guarded(effect = "read")]
#[doc = "Recurses through a box, as an `async fn` may."]
#[allow(clippy::unused_async)]
async fn async_countdown(n: u32) -> Result<u32, ToolError> {
    if n == 0 {
        return Ok(0);
    }
    Ok(Box::pin(async_countdown(n - 1)).await? + 1)
}

impl<D: Sync> Files<D> {
    #[guarded(effect = "read")]
    pub async fn async_by_ref_with_str(&self, extra: &str) -> Result<usize, ToolError> {
        Ok(self.count as usize + extra.len())
    }
}

#[guarded(effect = "read")]
async fn async_pattern_args(
    Params(p): Params,
    (a, b): (u32, u32),
    _: u8,
    mut m: u32,
    #[cfg(any())] hidden: u32,
) -> Result<u32, ToolError> {
    m += 1;
    Ok(p + a + b + m)
}

/// Records when it is dropped, to compare with the body's run.
pub struct Held(&'static str, Arc<std::sync::Mutex<Vec<&'static str>>>);

impl Drop for Held {
    fn drop(&mut self) {
        self.1.lock().unwrap().push(self.0);
    }
}

/// Arguments the body never names live as long as the call, as in an
/// `async fn` (a permit held by `_permit`, say).
#[guarded(effect = "read")]
async fn holds_its_arguments(
    _permit: Held,
    (_first, _): (Held, Held),
    _: Held,
    both: (Held, Held),
    log: Arc<std::sync::Mutex<Vec<&'static str>>>,
) -> Result<(), ToolError> {
    // Names one field: the whole argument still lives until the end.
    let _ = &both.0;
    tokio::task::yield_now().await;
    log.lock().unwrap().push("body");
    Ok(())
}

fn noted(log: &std::sync::Mutex<Vec<&'static str>>) -> &'static str {
    log.lock().unwrap().push("summary");
    "noted"
}

/// A summary with a side effect, to see when it runs.
#[guarded(effect = "read", summary = noted(&log))]
async fn summarized(log: Arc<std::sync::Mutex<Vec<&'static str>>>) -> Result<(), ToolError> {
    log.lock().unwrap().push("body");
    Ok(())
}

fn boxed_future(
    x: u32,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, ToolError>> + Send>> {
    guarded_boxed(x)
}

#[guarded(effect = "read")]
fn guarded_boxed(
    x: u32,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, ToolError>> + Send>> {
    Box::pin(async move { Ok(x + 100) })
}

/// A tool whose summary reads through a lock: the guard is a temporary of
/// the summary's own statement, so it is neither held across the check's
/// await (the future stays `Send`) nor while the body runs (no deadlock
/// when the body locks again).
pub struct Shell {
    state: std::sync::Mutex<ShellState>,
}

pub struct ShellState {
    cwd: String,
}

impl Shell {
    #[guarded(effect = "read", summary = self.state.lock().unwrap().cwd)]
    pub async fn pwd(&self) -> Result<String, ToolError> {
        tokio::task::yield_now().await;
        Ok(self.state.lock().unwrap().cwd.clone())
    }

    #[guarded(effect = "mutating", summary = self.state.lock().unwrap().cwd)]
    pub fn cd(&self, to: &str) -> Result<(), ToolError> {
        to.clone_into(&mut self.state.lock().unwrap().cwd);
        Ok(())
    }
}

/// A trait whose default method is the guarded `call` (no `name`): the
/// tool-name probe takes an unsized `Self`.
pub trait DefaultCall {
    #[guarded(effect = "read")]
    fn call(&self, x: u32) -> Result<u32, ToolError> {
        Ok(x + 1)
    }
}

impl DefaultCall for Echo {}

fn assert_send<F: std::future::Future + Send>(f: F) -> F {
    f
}

async fn guardian() -> (MockServer, Runtime) {
    let server = common::server().await;
    common::allow_all_checks(&server).await;
    common::accept_telemetry(&server).await;
    let rt = Runtime::builder(common::client_for(&server), "ag_shapes")
        .session_id("s")
        .build();
    (server, rt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shape_runs_its_body_once_with_a_check_each() {
    let (server, rt) = guardian().await;
    let (server, calls) = rt
        .scope(async move {
            let mut n = 0;
            assert_eq!(assert_send(async_free(2)).await.unwrap(), 4);
            n += 1;
            let mut v = vec![];
            *async_returns_borrow(&mut v, "tag").await.unwrap() += 1;
            n += 1;
            let files = Arc::new(Files { count: 5, dep: () });
            assert_eq!(files.clone().by_arc().await.unwrap(), 5);
            n += 1;
            assert_eq!(assert_send(files.async_by_ref(1)).await.unwrap(), 6);
            n += 1;
            assert_eq!(assert_send(Doubler.call(4)).await.unwrap(), 8);
            n += 1;
            assert_eq!(assert_send(Halver.call(4)).await.unwrap(), 2);
            n += 1;
            assert_eq!(assert_send(files.async_named_by_self()).await.unwrap(), 5);
            n += 1;
            assert_eq!(Tripler.run(3).await.unwrap(), 9);
            n += 1;
            assert_eq!(boxed_future(1).await.unwrap(), 101);
            n += 1;
            let owned = String::from("abc");
            let hidden = async_hidden_lifetimes(owned.as_str().into(), Borrowing(&owned));
            assert_eq!(assert_send(hidden).await.unwrap(), 6);
            n += 1;
            assert_eq!(assert_send(async_impl_trait_arg(5)).await.unwrap(), "5");
            n += 1;
            assert_eq!(assert_send(async_generic(1u8, "t")).await.unwrap(), [1, 1]);
            n += 1;
            assert_eq!(assert_send(async_countdown(2)).await.unwrap(), 2);
            n += 3;
            let sum = async_pattern_args(Params(1), (2, 3), 0, 4);
            assert_eq!(assert_send(sum).await.unwrap(), 11);
            n += 1;
            let with_str = files.async_by_ref_with_str("ab");
            assert_eq!(assert_send(with_str).await.unwrap(), 7);
            n += 1;
            // Sync shapes, blocking inside the runtime's worker thread.
            assert_eq!(sync_free(1).unwrap(), 2);
            n += 1;
            assert_eq!(early_return_and_question_mark(true).unwrap(), "early");
            n += 1;
            assert!(matches!(
                early_return_and_question_mark(false),
                Err(ToolError::Io(_))
            ));
            n += 1;
            let mut v = vec![];
            *returns_borrow(&mut v, "tag").unwrap() += 5;
            n += 1;
            assert_eq!(v, [6]);
            assert_eq!(generic([1, 2], "tag").unwrap(), [1, 2]);
            n += 1;
            assert_eq!(impl_trait_arg(7).unwrap(), "7");
            n += 1;
            assert_eq!(returns_impl_iter().unwrap().count(), 2);
            n += 1;
            anyhow_like().unwrap();
            n += 1;
            io_result().unwrap();
            n += 1;
            alias_result().unwrap();
            n += 1;
            assert_eq!(unsafe { unsafe_fn(&3) }.unwrap(), 3);
            n += 1;
            assert_eq!(pattern_args(Params(1), (2, 3), 0, 4).unwrap(), 11);
            n += 1;
            inner_attrs().unwrap();
            n += 1;
            assert_eq!(async_block_not_tail(4).unwrap(), 8);
            n += 1;
            assert_eq!(assert_send(async_inner_attrs(3)).await.unwrap(), 3);
            n += 1;
            assert_eq!(boxed_inner_attrs(3).await.unwrap(), 4);
            n += 1;
            assert_eq!(cfg_param(9).unwrap(), 9);
            n += 1;
            let mut files = Files { count: 1, dep: () };
            assert_eq!(files.by_ref().unwrap(), 1);
            n += 1;
            assert_eq!(files.by_mut().unwrap(), 2);
            n += 1;
            assert_eq!(files.by_value().unwrap(), 2);
            n += 1;
            let shell = Shell {
                state: std::sync::Mutex::new(ShellState { cwd: "/tmp".into() }),
            };
            assert_eq!(assert_send(shell.pwd()).await.unwrap(), "/tmp");
            n += 1;
            shell.cd("/home").unwrap();
            n += 1;
            assert_eq!(DefaultCall::call(&Echo, 1).unwrap(), 2);
            n += 1;
            assert!(rt_flush().await);
            (server, n)
        })
        .await;
    let checks = common::bodies(&server, "/api/v1/agenttrust/check").await;
    assert_eq!(checks.len(), calls);
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["action_name"].as_str().unwrap())
        .collect();
    for expected in [
        "async_renamed",
        "files_tool",
        "files_async_tool",
        "doubler",
        "tripler",
        "guarded_boxed",
        "sync_free",
        "by_mut",
        "pwd",
        "cd",
        "call",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let summaries: Vec<&str> = checks
        .iter()
        .filter_map(|c| c["action_input_summary"].as_str())
        .collect();
    assert_eq!(
        summaries,
        ["x=2", "5", "3", "/tmp", "/tmp"],
        "only the tools that ask for a summary send one"
    );
    let events = common::telemetry_events(&server).await;
    assert_eq!(events.len(), calls, "one event per call");
    let _ = rt;
}

async fn rt_flush() -> bool {
    agenttrust_runtime::current()
        .unwrap()
        .flush(std::time::Duration::from_secs(5))
        .await
        .is_delivered()
}

#[cfg(feature = "manifest")]
#[test]
fn every_guarded_fn_in_this_file_is_in_the_manifest_once_with_its_effect() {
    let source = include_str!("guarded_shapes.rs");
    let attributes = source
        .lines()
        .filter(|l| l.trim_start().starts_with("#[guarded"))
        .count();
    let here: Vec<_> = agenttrust_runtime::tools()
        .into_iter()
        .filter(|t| t.module_path == module_path!())
        .collect();
    assert_eq!(here.len(), attributes, "{here:#?}");
    let sync_free: Vec<_> = here.iter().filter(|t| t.function == "sync_free").collect();
    assert_eq!(sync_free.len(), 1);
    assert_eq!(
        (sync_free[0].name, sync_free[0].effect),
        ("sync_free", Some("read"))
    );
    assert!(sync_free[0].file.ends_with("guarded_shapes.rs") && sync_free[0].line > 0);
    let by_ref = here.iter().find(|t| t.function == "by_ref").unwrap();
    assert_eq!((by_ref.name, by_ref.name_is_path), ("Self::NAME", true));
    let renamed = here.iter().find(|t| t.function == "async_free").unwrap();
    assert_eq!(
        (renamed.name, renamed.effect),
        ("async_renamed", Some("mutating"))
    );
    assert!(agenttrust_runtime::tool_capabilities().contains(&"tool:async_renamed".to_owned()));
    let odd = here.iter().find(|t| t.function == "oddly_named").unwrap();
    assert_eq!((odd.name, odd.effect), ("odd 4:name\x001\u{2713}\"", None));
}

/// An `async fn` guarded with the default options is still lazy: making
/// its future checks nothing and runs nothing; the first poll checks.
#[tokio::test]
async fn a_guarded_future_does_nothing_until_polled() {
    let (server, rt) = guardian().await;
    let pending = async_countdown(0);
    let dropped = async_generic(1u8, "never polled");
    drop(dropped);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(common::bodies(&server, "/api/v1/agenttrust/check")
        .await
        .is_empty());
    assert_eq!(rt.scope(pending).await.unwrap(), 0);
    let checks = common::bodies(&server, "/api/v1/agenttrust/check").await;
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["action_name"], "async_countdown");
}

#[tokio::test]
async fn arguments_the_body_does_not_name_live_until_the_call_ends() {
    let (_server, rt) = guardian().await;
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let held = |name| Held(name, log.clone());
    let call = holds_its_arguments(
        held("permit"),
        (held("first"), held("second")),
        held("ignored"),
        (held("both.0"), held("both.1")),
        log.clone(),
    );
    assert!(
        log.lock().unwrap().is_empty(),
        "nothing dropped at the call: {:?}",
        log.lock().unwrap()
    );
    rt.scope(call).await.unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log[0], "body", "{log:?}");
    let mut dropped = log[1..].to_vec();
    dropped.sort_unstable();
    assert_eq!(
        dropped,
        ["both.0", "both.1", "first", "ignored", "permit", "second"]
    );
}

/// The summary is computed when the call starts (its first poll), as in an
/// `async fn`, not when the fn is called.
#[tokio::test]
async fn a_summary_is_computed_at_the_first_poll() {
    let (server, rt) = guardian().await;
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let call = summarized(log.clone());
    assert!(log.lock().unwrap().is_empty());
    rt.scope(call).await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["summary", "body"]);
    let checks = common::bodies(&server, "/api/v1/agenttrust/check").await;
    assert_eq!(checks[0]["action_input_summary"], "noted");
}
