//! The `#[guarded]` attribute of the agenttrust toolkit.
//!
//! Use it through `agenttrust-runtime`, which re-exports it and holds the
//! runtime its expansion calls (`agenttrust_runtime::__private`). This crate
//! only parses, validates and expands; it holds no runtime logic.
//!
//! See `agenttrust_runtime::guarded` for the documentation.
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

mod args;
mod expand;
mod item;
mod mcp;
mod returned_future;

use proc_macro::TokenStream;
use quote::ToTokens;

/// Guards a tool function with an AgentTrust ID check and reports its
/// outcome. Documented at `agenttrust_runtime::guarded`.
#[proc_macro_attribute]
pub fn guarded(args: TokenStream, item: TokenStream) -> TokenStream {
    guarded2(args.into(), item.into()).into()
}

fn guarded2(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let (mut args, mut errors) = args::parse(args);
    let mut function = match item::parse(item.clone()) {
        item::Input::Function(function) => *function,
        item::Input::Rejected(error) => {
            // Re-emit the item untouched so the rest of the crate still type-checks.
            let mut out = item;
            if !error.to_string().is_empty() {
                out.extend(error.to_compile_error());
            }
            return out;
        }
    };
    // An rmcp `#[tool]` below: annotations from the effect, and the guard
    // checks the name MCP clients call unless `name` says otherwise.
    let annotate = args.mcp_annotations.as_ref().is_none_or(|b| b.value);
    let tool = mcp::rewrite_tool_attr(
        &mut function.attrs,
        args.effect.as_ref(),
        annotate,
        &mut errors,
    );
    if let (None, Some(name)) = (&args.name, tool.name) {
        args.name = Some(args::ToolName::Literal(name));
    }
    let shape = item::validate(&function, &mut errors);
    if errors.is_empty() {
        return expand::expand(function, &args, shape);
    }
    // Wrong arguments or an unguardable fn: emit the original function (minus
    // any second #[guarded]) next to every error, so the rest of the user's
    // crate keeps type-checking and all problems show at once.
    function.attrs.retain(|a| !item::is_guarded(a));
    let mut out = function.into_token_stream();
    for error in errors {
        out.extend(error.to_compile_error());
    }
    out
}
