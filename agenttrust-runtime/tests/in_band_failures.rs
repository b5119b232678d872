//! A call whose `Ok` value says it failed is reported as failed: rmcp's
//! `CallToolResult { is_error: Some(true) }` inside `Result` (the usual rmcp
//! tool signature) and a nested `Result`, in every shape the attribute takes.

mod common;

use std::time::Duration;

use agenttrust_runtime::{guarded, AgentTrustError, Runtime};

#[guarded(effect = "read")]
async fn nested(fail: bool) -> Result<Result<u8, std::num::ParseIntError>, AgentTrustError> {
    Ok(if fail { "x".parse::<u8>() } else { Ok(1) })
}

#[guarded(effect = "read")]
fn nested_sync(fail: bool) -> Result<Result<u8, std::fmt::Error>, AgentTrustError> {
    Ok(if fail { Err(std::fmt::Error) } else { Ok(1) })
}

#[derive(Debug)]
struct Foreign;

fn to_foreign(_: AgentTrustError) -> Foreign {
    Foreign
}

// `on_deny` for an error type without `From<AgentTrustError>`: success is
// still read from the Result.
#[guarded(effect = "read", on_deny = to_foreign)]
fn with_on_deny(fail: bool) -> Result<u8, Foreign> {
    if fail {
        Err(Foreign)
    } else {
        Ok(1)
    }
}

async fn setup() -> (wiremock::MockServer, Runtime) {
    let server = common::server().await;
    common::allow_all_checks(&server).await;
    common::accept_telemetry(&server).await;
    let rt = Runtime::builder(common::client_for(&server), "ag_1").build();
    (server, rt)
}

async fn reported(server: &wiremock::MockServer, rt: &Runtime) -> Vec<(bool, Option<String>)> {
    assert!(rt.flush(Duration::from_secs(10)).await.is_delivered());
    common::telemetry_events(server)
        .await
        .iter()
        .map(|e| {
            (
                e["success"].as_bool().unwrap(),
                e["error_type"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_nested_err_or_an_on_deny_result_err_is_a_failure_with_its_error_type() {
    let (server, rt) = setup().await;
    rt.scope(async {
        nested(false).await.unwrap().unwrap();
        nested(true).await.unwrap().unwrap_err();
    })
    .await;
    agenttrust_runtime::with_runtime(&rt, || {
        tokio::task::block_in_place(|| {
            nested_sync(true).unwrap().unwrap_err();
            with_on_deny(false).unwrap();
            with_on_deny(true).unwrap_err();
        })
    });
    let got = reported(&server, &rt).await;
    assert_eq!(
        got,
        vec![
            (true, None),
            (false, Some("core::num::error::ParseIntError".to_owned())),
            (false, Some("core::fmt::Error".to_owned())),
            (true, None),
            (false, Some("in_band_failures::Foreign".to_owned())),
        ]
    );
}

#[cfg(feature = "rmcp")]
mod rmcp_results {
    use super::*;
    use agenttrust_runtime::rmcp::TOOL_ERROR_TYPE;
    use rmcp::model::{CallToolResult, ContentBlock};
    use rmcp::ErrorData;
    use std::future::Future;
    use std::pin::Pin;

    fn result(fail: bool) -> CallToolResult {
        if fail {
            CallToolResult::error(vec![ContentBlock::text("no such file")])
        } else {
            CallToolResult::success(vec![ContentBlock::text("ok")])
        }
    }

    #[guarded(effect = "read")]
    async fn tool(fail: bool) -> Result<CallToolResult, ErrorData> {
        Ok(result(fail))
    }

    #[guarded(effect = "read")]
    fn sync_tool(fail: bool) -> Result<CallToolResult, ErrorData> {
        Ok(result(fail))
    }

    #[guarded(effect = "read", on_deny = agenttrust_runtime::rmcp::tool_error)]
    async fn tool_with_on_deny(fail: bool) -> Result<CallToolResult, ErrorData> {
        Ok(result(fail))
    }

    // The shape rmcp's #[tool] (and async-trait) leave for us.
    #[guarded(effect = "read")]
    fn boxed_tool(
        fail: bool,
    ) -> Pin<Box<dyn Future<Output = Result<CallToolResult, ErrorData>> + Send>> {
        Box::pin(async move { Ok(result(fail)) })
    }

    #[guarded(effect = "read")]
    async fn bare_tool(fail: bool) -> CallToolResult {
        result(fail)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn an_is_error_tool_result_is_a_failure_in_every_shape() {
        let (server, rt) = setup().await;
        rt.scope(async {
            for fail in [false, true] {
                tool(fail).await.unwrap();
                tool_with_on_deny(fail).await.unwrap();
                boxed_tool(fail).await.unwrap();
                bare_tool(fail).await;
            }
        })
        .await;
        agenttrust_runtime::with_runtime(&rt, || {
            sync_tool(false).unwrap();
            sync_tool(true).unwrap();
        });
        let got = reported(&server, &rt).await;
        let failure = (false, Some(TOOL_ERROR_TYPE.to_owned()));
        let expected: Vec<_> = [
            vec![(true, None); 4],
            vec![failure.clone(); 4],
            vec![(true, None), failure],
        ]
        .concat();
        assert_eq!(got, expected);
    }
}
