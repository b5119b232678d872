//! Writing the guarded function: the same item, with a new body that checks,
//! runs the original body once, and reports.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Path, ReturnType};

use crate::args::{Args, OnElevation, ToolName};
use crate::item::{
    Function, Shape, closure_output, erase_impl_trait, has_impl_trait, ok_may_fail_in_band,
    tail_async_block_mut,
};
use crate::returned_future;

/// Generated locals: mixed-site hygiene, so the user's body cannot name
/// (or shadow) them.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

pub(crate) fn expand(mut function: Function, args: &Args, shape: Shape) -> TokenStream {
    let krate = args.krate.clone().unwrap_or_else(default_crate);
    let ret_span = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => function.sig.ident.span(),
    };
    let overrides = tool_overrides(args, &krate);
    let named = named_tool(&function, args, &krate, &overrides);
    let register = registration(&function, args, &krate);
    let value_type = match (&shape, &function.sig.output) {
        (Shape::TailFuture { output, .. }, _) => output.clone(),
        (_, ReturnType::Type(_, ty)) => Some(ty.clone()),
        (_, ReturnType::Default) => None,
    };
    let witness = returns_witness(args, &krate, ret_span, value_type.as_deref());
    let returns = witness.statement();
    let sync = matches!(shape, Shape::Sync);
    // The common case (no `on_deny`, no `success_if`): the return type's
    // `Returns` both denies and judges, so an async fn awaits one
    // `Guarded` that checks, runs the body in the call's span and reports
    // (fewer awaits in the fn's own state machine build faster), and a
    // sync fn is one call of `run_sync`.
    let judged_by_returns = args.on_deny.is_none() && args.success_if.is_none();
    // The `Tool` value, built only where a runtime fn takes one: every form
    // but the named one's `run_sync` and `start_named_check`.
    let tool_taken =
        named.is_none() || !judged_by_returns || (sync && !matches!(witness, Witness::InCall));
    let tool = if tool_taken {
        tool_value(&function, args, &krate, overrides)
    } else {
        TokenStream::new()
    };
    // (A summary always takes the general form.)
    let summary = match &args.summary {
        Some(expr) => quote_spanned!(expr.span()=>
            ::core::option::Option::Some(#krate::__private::summarize(&(#expr)))),
        None if tool_taken => quote!(::core::option::Option::None),
        None => TokenStream::new(),
    };
    let (call, result, error) = (
        local("__agenttrust_call"),
        local("__agenttrust_result"),
        local("__agenttrust_error"),
    );
    // A summary is an owned `String` made in its own statement, so no
    // temporary it borrowed (a `MutexGuard`, say) lives across the check;
    // without one, `None` is passed as it is.
    let (summary_let, summary_value) = match &args.summary {
        Some(_) => {
            let value = local("__agenttrust_summary");
            let let_summary = quote! {
                let #value: ::core::option::Option<::std::string::String> = #summary;
            };
            (let_summary, value.to_token_stream())
        }
        None => (TokenStream::new(), summary),
    };
    // Check, run the body once (`run_body` yields its value), report, return
    // it: the form of `on_deny` / `success_if` (made only for them: fewer
    // tokens built per fn in the common case).
    let guarded = |check: TokenStream, annotation: Option<TokenStream>, run_body: TokenStream| {
        let deny = deny_return(args, &krate);
        let finish = finish_call(args, &krate, sync);
        quote! {
            #returns
            #summary_let
            let #call = match #check {
                ::core::result::Result::Ok(call) => call,
                ::core::result::Result::Err(#error) => return #deny,
            };
            let #result #annotation = #run_body;
            #finish
            #result
        }
    };
    // `Guarded::new(start_check(tool, summary), async move #body)` (or
    // `with_returns`; `start_named_check(name, effect)` in the named form).
    let guarded_future = |body: TokenStream| {
        let check = match &named {
            Some(named) => quote!(#krate::__private::start_named_check(#named),),
            None => quote!(#krate::__private::start_check(#tool, #summary_value),),
        };
        witness.call(
            &krate,
            ret_span,
            (quote!(Guarded::new), quote!(Guarded::with_returns)),
            check,
            quote!(async move #body),
        )
    };
    let guarded_async = |annotation: Option<TokenStream>, body: TokenStream| {
        if !judged_by_returns {
            return guarded(
                quote!(#krate::__private::check(#tool, #summary_value).await),
                annotation,
                quote!(#krate::__private::Call::instrument_body(&#call, async move #body).await),
            );
        }
        let guarded = guarded_future(body);
        quote! {
            #returns
            #summary_let
            let #result #annotation = #guarded.await;
            #result
        }
    };

    match shape {
        Shape::Async if returned_future::applies(&function, args) => {
            let output = match &function.sig.output {
                ReturnType::Type(_, ty) => ty.to_token_stream(),
                ReturnType::Default => quote!(()),
            };
            let inner_attrs = &function.inner_attrs;
            let inner_attrs = quote!(#(#inner_attrs)*);
            let moved_in = returned_future::move_arguments_in(&mut function.sig);
            // The moves and the body's own statements in one block: the
            // body as a block of its own inside it would be a lone tail
            // block, which rustc's `unused_braces` reports on the user's
            // braces when the body fits on one line.
            let body = body_after(&function, moved_in);
            let future = guarded_future(body);
            // A summary reads the arguments before the body takes them, at
            // the first poll (as in an `async fn`): `Deferred` runs this
            // closure then, and its statement ends before any await.
            let future = match &args.summary {
                None => future,
                Some(_) => quote! {
                    #krate::__private::Deferred::new(move || {
                        #summary_let
                        #future
                    })
                },
            };
            let steps = quote! {
                #returns
                #future
            };
            function.sig.asyncness = None;
            // This crate is edition 2024: an `impl Future` whose tokens carry
            // this expansion's hygiene (located at the user's return type)
            // captures every lifetime in scope, elided ones included, as
            // the `async fn` did, whatever the caller's edition.
            let at = Span::call_site().located_at(ret_span);
            // Tokens, not a parsed type: the signature is only printed.
            function.sig.output = ReturnType::Type(
                syn::Token![->](at),
                Box::new(syn::Type::Verbatim(quote_spanned! {at=>
                    impl ::core::future::Future<Output = #output>
                })),
            );
            emit(&function, quote!(#inner_attrs #register #steps))
        }
        Shape::Async | Shape::Sync => {
            let annotation = output_annotation(&function.sig.output);
            let inner_attrs = &function.inner_attrs;
            let steps = if matches!(shape, Shape::Async) {
                guarded_async(annotation, body_after(&function, TokenStream::new()))
            } else {
                // The body runs in a closure (so its `return` and `?` stay
                // its own), typed with the fn's return type (so `?` knows
                // what it converts into), that spends a `Once` (so it is
                // `FnOnce` and may return borrows of its arguments), inside
                // the call's span.
                let closure_output = match &function.sig.output {
                    ReturnType::Type(_, ty) => {
                        let ty = closure_output(ty);
                        quote!(-> #ty)
                    }
                    ReturnType::Default => TokenStream::new(),
                };
                let (once, spent) = (local("__agenttrust_once"), local("__agenttrust_spent"));
                let body = body_after(&function, quote!(let #spent = #once;));
                let closure = quote! {{
                    let #once = #krate::__private::Once;
                    move || #closure_output #body
                }};
                if judged_by_returns {
                    // The common case: the fn is one call of `run_sync`,
                    // generic over the return type only, which takes the
                    // body as a trait object; so what holds the call across
                    // the body, and drops it on a panic, is compiled once per
                    // return type, not as landing pads in every guarded fn
                    // (whose only generic instance is the body's
                    // `Option<closure>`).
                    // (`run_sync_with` takes the general form's `Tool`.)
                    let (in_call, leading) = match (&named, &witness) {
                        (Some(named), Witness::InCall) => (quote!(run_sync), quote!(#named,)),
                        _ => (quote!(run_sync_tool), quote!(#tool, #summary_value,)),
                    };
                    let run_sync = witness.call(
                        &krate,
                        ret_span,
                        (in_call, quote!(run_sync_with)),
                        leading,
                        // rustc reports an unmet bound of a call on the
                        // argument whose type holds the bound's parameter
                        // (`run_sync`'s `R`): spanned on the return type
                        // too. (`Guarded::new` takes `R` as a parameter no
                        // argument's type names: rustc reports on the call.)
                        spanned_call(
                            quote_spanned!(ret_span=> &mut ::core::option::Option::Some),
                            closure,
                            ret_span,
                        ),
                    );
                    quote! {
                        #returns
                        #summary_let
                        #run_sync
                    }
                } else {
                    // `on_deny` / `success_if`: the non-generic
                    // `start_blocking` checks and enters the span, and the
                    // closure is called at once.
                    let check = quote!(#krate::__private::start_blocking(#tool, #summary_value));
                    guarded(check, None, quote!((#closure)()))
                }
            };
            emit(&function, quote!(#(#inner_attrs)* #register #steps))
        }
        Shape::TailFuture { output, mut stmts } => {
            let annotation = output.map(|ty| {
                let ty = erase_impl_trait(&ty);
                quote!(: #ty)
            });
            if let Some(future) = tail_async_block_mut(&mut stmts) {
                let inner = future.block.to_token_stream();
                let steps = guarded_async(annotation, inner);
                future.block = syn::parse_quote!({ #steps });
                future.capture = Some(syn::Token![move](future.async_token.span));
            }
            let inner_attrs = &function.inner_attrs;
            emit(&function, quote!(#(#inner_attrs)* #register #(#stmts)*))
        }
    }
}

/// `::agenttrust_runtime`, built rather than parsed (once per guarded fn).
fn default_crate() -> Path {
    let name = Ident::new("agenttrust_runtime", Span::call_site());
    Path {
        leading_colon: Some(syn::Token![::](Span::call_site())),
        segments: std::iter::once(syn::PathSegment::from(name)).collect(),
    }
}

/// The manifest entry, registered at compile time (an item inside the
/// body, so the output stays one function item): the part of the runtime's
/// `ToolEntry` layout this attribute knows (name, effect, function, each
/// length-prefixed), then the fn's line; `register_tool!` adds the rest.
/// Nothing without the `manifest` feature (the runtime's, which turns on
/// this crate's): no registry to fill, so no tokens for rustc to expand.
fn registration(function: &Function, args: &Args, krate: &Path) -> TokenStream {
    if !cfg!(feature = "manifest") {
        return TokenStream::new();
    }
    let ident = function.sig.ident.to_string();
    let function_name = ident.strip_prefix("r#").unwrap_or(&ident);
    let (kind, name) = match &args.name {
        Some(ToolName::Literal(lit)) => ('n', lit.value()),
        Some(ToolName::Path(path)) => ('p', path.to_token_stream().to_string().replace(' ', "")),
        None if is_trait_call(function) => ('p', "Tool::NAME".to_owned()),
        None => ('n', function_name.to_owned()),
    };
    let effect = args
        .effect
        .as_ref()
        .map(syn::LitStr::value)
        .unwrap_or_default();
    let head = format!(
        "{kind}{}:{name}{}:{effect}{}:{function_name}",
        name.len(),
        effect.len(),
        function_name.len()
    );
    let span = function.sig.ident.span();
    let head = syn::LitStr::new(&head, span);
    quote_spanned! {span=>
        #krate::__private::register_tool!(#head, ::core::line!());
    }
}

/// A method named `call` with a receiver: rig's `Tool::call` shape, whose
/// tool name is `Self::NAME` when `Self` is a rig tool.
fn is_trait_call(function: &Function) -> bool {
    function.sig.ident == "call" && function.sig.receiver().is_some()
}

/// The tool's name: the `name` argument, a rig tool's `NAME`, or the fn's.
fn tool_name(function: &Function, args: &Args, krate: &Path) -> TokenStream {
    match &args.name {
        Some(ToolName::Literal(lit)) => lit.to_token_stream(),
        Some(ToolName::Path(path)) => path.to_token_stream(),
        // A rig `Tool::call`: the tool's `NAME`, not "call".
        None if is_trait_call(function) => quote! {{
            #[allow(unused_imports)]
            use #krate::__private::{FallbackToolName as _, RigToolName as _};
            (&#krate::__private::ToolNameProbe::<Self>::new()).tool_name("call")
        }},
        None => {
            let ident = function.sig.ident.to_string();
            let ident = ident.strip_prefix("r#").unwrap_or(&ident);
            quote!(#ident)
        }
    }
}

/// The tool as the name and effect alone, `#name, #effect`, when that is
/// all the attribute set (no `overrides`, no summary): the common form,
/// which the runtime's `run_sync` and `start_named_check` take as two
/// literals.
fn named_tool(
    function: &Function,
    args: &Args,
    krate: &Path,
    overrides: &TokenStream,
) -> Option<TokenStream> {
    match (&args.effect, &args.summary) {
        (Some(effect), None) if overrides.is_empty() => {
            let name = tool_name(function, args, krate);
            Some(quote!(#name, #effect))
        }
        _ => None,
    }
}

/// `Tool::new(name)` with the attribute's effect set, then `overrides`.
fn tool_value(
    function: &Function,
    args: &Args,
    krate: &Path,
    overrides: TokenStream,
) -> TokenStream {
    let name = tool_name(function, args, krate);
    // Only what the attribute set: fewer tokens and paths for the
    // compiler to expand and resolve per fn.
    let mut tool = match &args.effect {
        Some(lit) => quote!(#krate::__private::Tool::with_effect(#name, #lit)),
        None => quote!(#krate::__private::Tool::new(#name)),
    };
    tool.extend(overrides);
    tool
}

/// The `Tool` builder calls of the attribute's overrides (fail-open,
/// enforcement, elevation), empty when it set none: what keeps a tool out
/// of the named form.
fn tool_overrides(args: &Args, krate: &Path) -> TokenStream {
    let mut tool = TokenStream::new();
    if let Some(lit) = &args.fail_open {
        tool.extend(quote!(.fail_open(#lit)));
    }
    if let Some(lit) = &args.enforce {
        tool.extend(quote!(.enforce(#lit)));
    }
    match (&args.on_elevation, &args.wait) {
        (None, _) => {}
        (Some((OnElevation::Error, _)), _) => {
            tool.extend(quote!(.on_elevation(#krate::OnElevation::Error)));
        }
        (Some((OnElevation::Wait, _)), wait) => {
            let max_wait = match wait {
                None => quote!(::core::option::Option::None),
                Some((bound, _)) => {
                    let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
                    quote!(::core::option::Option::Some(::core::time::Duration::from_nanos(#nanos)))
                }
            };
            tool.extend(quote!(.on_elevation(#krate::OnElevation::Wait { max_wait: #max_wait })));
        }
    }
    tool
}

/// Where the return type's rules come from, checked in one place, spanned
/// on the user's return type so that is where a mismatch is reported, once.
enum Witness {
    /// The common case: the runtime fn the expansion calls (`run_sync`,
    /// `Guarded::new`) bounds `R: GuardedReturn` itself, so no value is made
    /// in the fn (fewer generic calls and locals to compile per fn).
    InCall,
    /// `let returns = returns()` (or `outcome_of()` with `on_deny`), made
    /// first: a return type whose `Ok` value may report failure in band,
    /// or `on_deny`; passed on by name.
    Let(TokenStream),
    /// `on_deny` with `success_if`: both rules are the user's.
    Unneeded,
}

impl Witness {
    /// The statement that makes the value, if any.
    fn statement(&self) -> TokenStream {
        match self {
            Witness::Let(statement) => statement.clone(),
            Witness::InCall | Witness::Unneeded => TokenStream::new(),
        }
    }

    /// `#krate::__private::#in_call(#leading #last)`, the call's path and
    /// parentheses spanned on the return type (where rustc then reports an
    /// unmet bound), or `#krate::__private::#with(#leading returns, #last)`.
    fn call(
        &self,
        krate: &Path,
        ret_span: Span,
        (in_call, with): (TokenStream, TokenStream),
        leading: TokenStream,
        last: TokenStream,
    ) -> TokenStream {
        match self {
            Witness::InCall => {
                let (krate, in_call) = (krate_at(krate, ret_span), respan(in_call, ret_span));
                spanned_call(
                    quote_spanned!(ret_span=> #krate::__private::#in_call),
                    quote!(#leading #last),
                    ret_span,
                )
            }
            // (`Unneeded` never gets here: only the default options,
            // judged by the return type, call these fns.)
            Witness::Let(_) | Witness::Unneeded => {
                let returns = local("__agenttrust_returns");
                quote!(#krate::__private::#with(#leading #returns, #last))
            }
        }
    }
}

/// `#head(#args)` with the parentheses spanned on `span`; `head` comes
/// spanned there too (made so: respanning tokens after the fact walks
/// them again), so rustc reports an error about the call (or this
/// argument) there.
fn spanned_call(head: TokenStream, args: TokenStream, span: Span) -> TokenStream {
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
    group.set_span(span);
    quote!(#head #group)
}

/// The runtime's path with every token spanned on `span`: built there when
/// it is the default `::agenttrust_runtime`, respanned when the attribute
/// named another (`crate = ..`).
fn krate_at(krate: &Path, span: Span) -> TokenStream {
    if krate.leading_colon.is_some()
        && krate.segments.len() == 1
        && krate.segments[0].ident == "agenttrust_runtime"
    {
        quote_spanned!(span=> ::agenttrust_runtime)
    } else {
        respan(krate.to_token_stream(), span)
    }
}

/// How the return type is judged (see [`Witness`]).
///
/// When the return type can be spelled in the body and its `Ok` type may
/// report failure in band (rmcp's `CallToolResult` with `is_error`, a
/// nested `Result`; see `ok_may_fail_in_band`), a probe looks for it, so
/// such a call is reported as failed.
fn returns_witness(
    args: &Args,
    krate: &Path,
    ret_span: Span,
    value_type: Option<&syn::Type>,
) -> Witness {
    let in_band = match value_type {
        Some(ty) if !has_impl_trait(ty) && ok_may_fail_in_band(ty) => {
            let krate = krate_at(krate, ret_span);
            quote_spanned! {ret_span=>
                .in_band({
                    #[allow(unused_imports)]
                    use #krate::__private::{InBandJudge as _, NoInBandJudge as _};
                    (&#krate::__private::JudgeProbe::<#ty>::new()).in_band()
                })
            }
        }
        _ => TokenStream::new(),
    };
    let made_by = match (&args.on_deny, &args.success_if) {
        (None, None) if in_band.is_empty() => return Witness::InCall,
        (Some(_), Some(_)) => return Witness::Unneeded,
        (None, _) => quote_spanned!(ret_span=> returns),
        (Some(_), None) => quote_spanned!(ret_span=> outcome_of),
    };
    let (returns, krate) = (local("__agenttrust_returns"), krate_at(krate, ret_span));
    Witness::Let(quote_spanned!(ret_span=> let #returns = #krate::__private::#made_by() #in_band;))
}

/// The early return of a denied call.
fn deny_return(args: &Args, krate: &Path) -> TokenStream {
    let (returns, error) = (local("__agenttrust_returns"), local("__agenttrust_error"));
    match &args.on_deny {
        Some(path) => {
            let krate = respan(krate.to_token_stream(), path.span());
            quote_spanned!(path.span()=> #krate::__private::on_deny(#path(#error)))
        }
        None => quote!(#krate::__private::Returns::deny(&#returns, #error)),
    }
}

/// Reporting the outcome: by the return type's `Result`-ness, or by `success_if`.
/// Methods taking `&self` are called by path: a user's blanket trait in
/// scope (`tracing::Instrument`, say) would otherwise win method resolution.
/// A sync fn's call is a `Running` (its span entered), an async fn's a `Call`.
fn finish_call(args: &Args, krate: &Path, sync: bool) -> TokenStream {
    let finish = if sync {
        quote!(finish_running)
    } else {
        quote!(finish)
    };
    let (call, result, returns) = (
        local("__agenttrust_call"),
        local("__agenttrust_result"),
        local("__agenttrust_returns"),
    );
    match &args.success_if {
        Some(path) => quote_spanned!(path.span()=>
            #call.finish_with(#path(&#result), ::core::option::Option::None);),
        None if args.on_deny.is_some() => {
            quote!(#krate::__private::Judge::#finish(&#returns, #call, &#result);)
        }
        None => quote!(#krate::__private::Returns::#finish(&#returns, #call, &#result);),
    }
}

/// `tokens` with every span set to `span`, so errors about them point there.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut new =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                tree = new.into();
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn output_annotation(output: &ReturnType) -> Option<TokenStream> {
    match output {
        ReturnType::Type(_, ty) => {
            let ty = erase_impl_trait(ty);
            Some(quote!(: #ty))
        }
        ReturnType::Default => None,
    }
}

/// The body (after its inner attributes) after `first`, in the body's braces.
fn body_after(function: &Function, first: TokenStream) -> TokenStream {
    let mut body = TokenStream::new();
    function.brace_token.surround(&mut body, |tokens| {
        tokens.extend(first);
        tokens.extend(function.body.clone());
    });
    body
}

/// The item with its original outer attributes, signature and brace span,
/// and the new body.
fn emit(function: &Function, body: TokenStream) -> TokenStream {
    let outer = &function.attrs;
    let vis = &function.vis;
    let sig = &function.sig;
    let mut tokens = quote!(#(#outer)* #vis #sig);
    function
        .brace_token
        .surround(&mut tokens, |t| t.extend(body));
    tokens
}
