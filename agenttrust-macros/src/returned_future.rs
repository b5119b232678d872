//! The cheaper form of a guarded `async fn`: a plain fn returning the
//! `__private::Guarded` future itself, so each fn has one state machine
//! (its body's, which must be a future of its own to run inside the call's
//! span on every poll) instead of a second one of its own around it.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{AttrStyle, Attribute, FnArg, Pat, PatIdent, Signature};

use crate::args::Args;
use crate::item::Function;

/// Whether `function` (an `async fn`) takes this form: no `on_deny` or
/// `success_if` (their two-step form), no attribute left below this one
/// that could read the signature (rmcp's `#[tool]` boxes only an `async
/// fn`), and, with a `summary`, only named arguments (a summary may read a
/// name a pattern binds, and patterns are matched inside the body).
pub(crate) fn applies(function: &Function, args: &Args) -> bool {
    let summary_can_see_arguments = args.summary.is_none()
        || function.sig.inputs.iter().all(|input| match input {
            FnArg::Receiver(_) => true,
            FnArg::Typed(arg) => {
                matches!(&*arg.pat, Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none())
            }
        });
    summary_can_see_arguments
        && args.on_deny.is_none()
        && args.success_if.is_none()
        && function.attrs.iter().all(is_inert)
}

/// Built-in attributes that do not read or rewrite the fn's signature.
fn is_inert(attr: &Attribute) -> bool {
    const INERT: [&str; 13] = [
        "doc",
        "allow",
        "warn",
        "deny",
        "forbid",
        "expect",
        "inline",
        "cold",
        "must_use",
        "deprecated",
        "cfg",
        "rustfmt",
        "clippy",
    ];
    matches!(attr.style, AttrStyle::Inner(_))
        || attr
            .path()
            .segments
            .first()
            .is_some_and(|s| INERT.iter().any(|name| s.ident == name))
}

/// Moves every argument into the body's future, as an `async fn` does:
/// an argument the body never names (`_permit: OwnedSemaphorePermit`)
/// still lives until the call ends, and patterns are matched at the first
/// poll, not at the call. Like rustc's own `async fn` lowering, each
/// `x` / `mut x` becomes `let x = x;` / `let mut x = x;` at the top of the
/// body (so an unused argument still gets its `unused_variables` warning,
/// on the user's name), and each other pattern takes a generated name in
/// the signature, is rebound whole and then matched by a `let` there (the
/// async block captures precisely what it names, so a pattern alone would
/// leave the parts it does not bind behind). Returns those statements and
/// rewrites `sig` to match.
pub(crate) fn move_arguments_in(sig: &mut Signature) -> TokenStream {
    let mut moved = TokenStream::new();
    for (i, input) in sig.inputs.iter_mut().enumerate() {
        let arg = match input {
            FnArg::Receiver(receiver) => {
                let token = receiver.self_token;
                // `self` cannot be rebound; a reference to it moves it in.
                moved.extend(quote!(let _ = &#token;));
                continue;
            }
            FnArg::Typed(arg) => arg,
        };
        let cfgs: Vec<&Attribute> = arg
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
            .collect();
        let cfgs = quote!(#(#cfgs)*);
        match &mut *arg.pat {
            Pat::Ident(PatIdent {
                by_ref: None,
                mutability,
                ident,
                subpat: None,
                ..
            }) => {
                let mutability = mutability.take();
                moved.extend(quote!(#cfgs let #mutability #ident = #ident;));
            }
            pat => {
                let name = format_ident!("__agenttrust_arg{}", i, span = Span::mixed_site());
                let original = std::mem::replace(
                    pat,
                    Pat::Ident(PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident: name.clone(),
                        subpat: None,
                    }),
                );
                // Rebound first, so the whole value is moved in (a pattern
                // alone would capture only the parts it binds) and the
                // parts it does not bind (`_`) live until the body ends.
                moved.extend(quote!(#cfgs let #name = #name; #cfgs let #original = #name;));
            }
        }
    }
    moved
}
