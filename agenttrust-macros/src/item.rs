//! What `#[guarded]` was put on: a function it can guard, or something it
//! must reject with a message that says where to put it instead.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Block, Expr, Ident, ReturnType, Signature, Stmt, Type, Visibility};

/// The item after parsing.
pub(crate) enum Input {
    /// A function with a body: free, inherent or trait-impl method.
    Function(Box<Function>),
    /// Anything else; the error says why, and the tokens are re-emitted.
    Rejected(syn::Error),
}

/// A function as the attribute reads it: attributes and signature parsed,
/// the body kept as the user's tokens. The expansion only moves the body,
/// so its statements are parsed only when its tail may be an `async`
/// block ([`Function::tail_future_stmts`]): parsing them took about two
/// thirds of the macro's time on a 25-line body (syn runs unoptimized in
/// a debug build), and rustc parses the body anyway.
pub(crate) struct Function {
    /// The outer attributes, in order.
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) brace_token: syn::token::Brace,
    /// `#![..]` at the top of the body.
    pub(crate) inner_attrs: Vec<Attribute>,
    /// The body after its inner attributes.
    pub(crate) body: TokenStream,
}

impl Function {
    /// Splits the item at its last top-level token, the body's braces, and
    /// parses only what comes before: syn never walks the body (it would
    /// copy every token into its buffer and back out), unless the body
    /// begins with inner attributes, which are parsed off its front.
    fn parse(item: TokenStream) -> syn::Result<Function> {
        let mut trees: Vec<TokenTree> = item.into_iter().collect();
        let body = match trees.pop() {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
            _ => {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "expected a function body",
                ));
            }
        };
        let head = |input: ParseStream| -> syn::Result<(Vec<Attribute>, Visibility, Signature)> {
            Ok((
                input.call(Attribute::parse_outer)?,
                input.parse()?,
                input.parse()?,
            ))
        };
        let (attrs, vis, sig) = Parser::parse2(head, trees.into_iter().collect())?;
        let mut front = body.stream().into_iter();
        let inner = matches!(
            (front.next(), front.next()),
            (Some(TokenTree::Punct(hash)), Some(TokenTree::Punct(bang)))
                if hash.as_char() == '#' && bang.as_char() == '!'
        );
        let (inner_attrs, rest) = if inner {
            let split = |input: ParseStream| -> syn::Result<(Vec<Attribute>, TokenStream)> {
                Ok((input.call(Attribute::parse_inner)?, input.parse()?))
            };
            Parser::parse2(split, body.stream())?
        } else {
            (Vec::new(), body.stream())
        };
        Ok(Function {
            attrs,
            vis,
            sig,
            brace_token: syn::token::Brace {
                span: body.delim_span(),
            },
            inner_attrs,
            body: rest,
        })
    }

    /// The body's statements, when the last is an `async` block, alone or
    /// in `Box::pin(..)` (the tail-future shape). The statements are
    /// parsed only when a top-level token could begin such a tail: the
    /// keyword `async`, or a parenthesised group starting with it.
    pub(crate) fn tail_future_stmts(&self) -> Option<Vec<Stmt>> {
        let starts_with_async = |tokens: TokenStream| matches!(tokens.into_iter().next(), Some(TokenTree::Ident(i)) if i == "async");
        let may_end_in_async = self.body.clone().into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "async",
            TokenTree::Group(group) => {
                group.delimiter() == Delimiter::Parenthesis && starts_with_async(group.stream())
            }
            _ => false,
        });
        if !may_end_in_async {
            return None;
        }
        let stmts = Parser::parse2(Block::parse_within, self.body.clone()).ok()?;
        tail_async_block(&stmts)?;
        Some(stmts)
    }
}

impl ToTokens for Function {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.brace_token.surround(tokens, |tokens| {
            for attr in &self.inner_attrs {
                attr.to_tokens(tokens);
            }
            tokens.extend(self.body.clone());
        });
    }
}

pub(crate) fn parse(item: TokenStream) -> Input {
    if let Ok(function) = Function::parse(item.clone()) {
        return Input::Function(Box::new(function));
    }
    if let Ok(decl) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if decl.default.is_none() {
            return Input::Rejected(syn::Error::new(
                decl.sig.ident.span(),
                "#[guarded] cannot guard a trait method declaration (it has no body to run): \
                 put #[guarded] on the method in each `impl` of the trait",
            ));
        }
    }
    let kind = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(_)) => "a struct",
        Ok(syn::Item::Enum(_)) => "an enum",
        Ok(syn::Item::Impl(_)) => "an impl block: put it on each tool method inside the block",
        Ok(syn::Item::Trait(_)) => "a trait: put it on the methods of the trait's impls",
        Ok(syn::Item::Mod(_)) => "a module",
        Ok(syn::Item::Const(_) | syn::Item::Static(_)) => "a const or static",
        Ok(_) => "this item",
        // Not valid Rust yet (the user is typing): rustc reports the syntax error.
        Err(_) => return Input::Rejected(syn::Error::new(Span::call_site(), "")),
    };
    Input::Rejected(syn::Error::new(
        first_token_span(&item),
        format!("#[guarded] goes on a tool function, not on {kind}"),
    ))
}

fn first_token_span(item: &TokenStream) -> Span {
    item.clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

/// How the function produces its result.
pub(crate) enum Shape {
    /// `async fn`: the check is awaited, the body runs as an inner async block.
    Async,
    /// A plain fn whose body ends in `async move {..}` or
    /// `Box::pin(async move {..})` (async-trait, rmcp's `#[tool]` above us,
    /// hand-written futures): guarded inside that async block.
    /// `output` is the future's `Output` type when the signature spells
    /// it; `stmts` the body's statements.
    TailFuture {
        output: Option<Box<Type>>,
        stmts: Vec<Stmt>,
    },
    /// A plain synchronous fn: the check blocks.
    Sync,
}

/// Checks what can never work and finds the shape.
pub(crate) fn validate(function: &Function, errors: &mut Vec<syn::Error>) -> Shape {
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            "#[guarded] cannot guard a `const fn`: the guard check is a network call at run time; \
             remove `const`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new(
            abi.span(),
            "#[guarded] cannot guard an `extern` fn: a denial is returned as a Rust error; guard \
             a Rust fn and call it from the `extern` wrapper",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(
            variadic.span(),
            "#[guarded] cannot guard a variadic fn",
        ));
    }
    for attr in &function.attrs {
        if attr.path().is_ident("track_caller") {
            errors.push(syn::Error::new_spanned(
                attr,
                "#[guarded] cannot keep `#[track_caller]`: the guarded body runs inside the \
                 guard, so `Location::caller()` would point into this function instead of its \
                 caller; remove `#[track_caller]`, or guard a wrapper and keep `#[track_caller]` \
                 on the fn it calls",
            ));
        }
        if is_guarded(attr) {
            errors.push(syn::Error::new_spanned(
                attr,
                "#[guarded] is applied twice to this function: keep one (merge the arguments)",
            ));
        }
    }
    let tail_stmts = match sig.asyncness {
        None => function.tail_future_stmts(),
        Some(_) => None,
    };
    let tail_future = tail_stmts.is_some();
    match &sig.output {
        ReturnType::Default => errors.push(no_denial_return(sig.paren_token.span.join(), "has no return type")),
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) if t.elems.is_empty() => errors.push(no_denial_return(ty.span(), "returns `()`")),
            Type::Never(_) => errors.push(no_denial_return(ty.span(), "never returns")),
            _ if !tail_future && sig.asyncness.is_none() && returns_future(ty) => {
                errors.push(syn::Error::new_spanned(ty, UNSUPPORTED_FUTURE));
            }
            Type::ImplTrait(_) if !tail_future && sig.asyncness.is_none() => errors.push(syn::Error::new(
                ty.span(),
                "#[guarded] cannot guard a fn returning `impl Trait` unless its body ends in an \
                 `async move { .. }` block: return a concrete `Result<T, E>` or write an `async fn`",
            )),
            _ => {}
        },
    }
    match tail_stmts {
        _ if sig.asyncness.is_some() => Shape::Async,
        Some(stmts) => Shape::TailFuture {
            output: future_output(&sig.output).map(Box::new),
            stmts,
        },
        None => Shape::Sync,
    }
}

const UNSUPPORTED_FUTURE: &str = "#[guarded] can guard a fn returning a future only when the \
    future is written in the body: use an `async fn`, or end the body in `async move { .. }` or \
    `Box::pin(async move { .. })` (for a future made elsewhere: \
    `Box::pin(async move { fut.await })`)";

/// Whether `ty` is a future: `impl Future<..>`, `Pin<Box<dyn Future<..>>>`,
/// or a type named like futures' `BoxFuture`.
fn returns_future(ty: &Type) -> bool {
    if find_output(ty).is_some() {
        return true;
    }
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident.to_string().ends_with("Future")),
        Type::ImplTrait(t) => t.bounds.iter().any(|b| {
            matches!(b, syn::TypeParamBound::Trait(t)
                if t.path.segments.last().is_some_and(|s| s.ident == "Future"))
        }),
        _ => false,
    }
}

fn no_denial_return(span: Span, what: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "#[guarded] function {what}, so it cannot return a denial: return \
             `Result<T, E>` where `E: From<agenttrust_runtime::AgentTrustError>` (e.g. \
             `Result<(), ToolError>` or `anyhow::Result<()>`)"
        ),
    )
}

pub(crate) fn is_guarded(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "guarded")
}

/// The `async` block a plain fn's body ends with, directly or inside `Box::pin(..)`.
pub(crate) fn tail_async_block(stmts: &[Stmt]) -> Option<&syn::ExprAsync> {
    match stmts.last()? {
        Stmt::Expr(expr, None) => async_in(expr),
        _ => None,
    }
}

/// Mutable access to the same block, for the rewrite.
pub(crate) fn tail_async_block_mut(stmts: &mut [Stmt]) -> Option<&mut syn::ExprAsync> {
    match stmts.last_mut()? {
        Stmt::Expr(expr, None) => async_in_mut(expr),
        _ => None,
    }
}

fn async_in(expr: &Expr) -> Option<&syn::ExprAsync> {
    match expr {
        Expr::Async(block) => Some(block),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => match &call.args[0] {
            Expr::Async(block) => Some(block),
            _ => None,
        },
        _ => None,
    }
}

fn async_in_mut(expr: &mut Expr) -> Option<&mut syn::ExprAsync> {
    match expr {
        Expr::Async(block) => Some(block),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            match &mut call.args[0] {
                Expr::Async(block) => Some(block),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.ends_with(&["Box".to_owned(), "pin".to_owned()])
}

/// `R` from `Pin<Box<dyn Future<Output = R> + ..>>` or `impl Future<Output = R>`.
fn future_output(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    find_output(ty)
}

fn find_output(ty: &Type) -> Option<Type> {
    let bounds = match ty {
        Type::ImplTrait(t) => &t.bounds,
        Type::TraitObject(t) => &t.bounds,
        Type::Paren(p) => return find_output(&p.elem),
        Type::Path(p) => {
            // Pin<Box<..>> or Box<..>: look inside the last segment's argument.
            let last = p.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            return args.args.iter().find_map(|a| match a {
                syn::GenericArgument::Type(inner) => find_output(inner),
                _ => None,
            });
        }
        _ => return None,
    };
    bounds.iter().find_map(|b| {
        let syn::TypeParamBound::Trait(t) = b else {
            return None;
        };
        let last = t.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                Some(assoc.ty.clone())
            }
            _ => None,
        })
    })
}

/// The return type with every `impl Trait` replaced by `_`, for a `let`
/// annotation (E0562 forbids `impl Trait` there).
pub(crate) fn erase_impl_trait(ty: &Type) -> TokenStream {
    erased(ty).0.into_token_stream()
}

/// The return type as the output of the closure a sync body runs in:
/// `impl Trait` erased as for [`erase_impl_trait`], and every lifetime
/// `'_` (inferred there), so naming the type in the body uses none of the
/// signature's lifetimes and clippy's `needless_lifetimes` reads the
/// signature as without the attribute. A type with a `for<'a>` binder keeps
/// its lifetimes (the binder's own must stay named).
pub(crate) fn closure_output(ty: &Type) -> TokenStream {
    use syn::visit_mut::VisitMut;
    struct Infer {
        binder: bool,
    }
    impl VisitMut for Infer {
        fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
            lifetime.ident = Ident::new("_", lifetime.ident.span());
        }
        fn visit_bound_lifetimes_mut(&mut self, _: &mut syn::BoundLifetimes) {
            self.binder = true;
        }
    }
    let erased = erased(ty).0;
    let mut inferred = erased.clone();
    let mut infer = Infer { binder: false };
    infer.visit_type_mut(&mut inferred);
    if infer.binder {
        erased.into_token_stream()
    } else {
        inferred.into_token_stream()
    }
}

/// Whether `ty` names an `impl Trait` somewhere (so it cannot be spelled
/// in the body).
pub(crate) fn has_impl_trait(ty: &Type) -> bool {
    erased(ty).1
}

/// `ty` with every `impl Trait` replaced by `_`, and whether there was one.
fn erased(ty: &Type) -> (Type, bool) {
    use syn::visit_mut::VisitMut;
    struct Erase(bool);
    impl VisitMut for Erase {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(t) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](t.impl_token.span),
                });
                self.0 = true;
                return;
            }
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut ty = ty.clone();
    let mut erase = Erase(false);
    erase.visit_type_mut(&mut ty);
    (ty, erase.0)
}

/// Whether the `Ok` value of the return type `ty` could report a failure
/// in band (a nested `Result`, rmcp's `CallToolResult`: the runtime's
/// `InBandFailure` types), so the expansion must probe for it. `false` only
/// for a `Result<T, ..>` (any path ending in `Result`, `io::Result<T>`
/// too) whose `T` is plainly neither: a reference, tuple, array, slice or
/// pointer, or a primitive or std type by its usual name. The probe costs
/// every such fn a trait lookup at compile time and changes nothing for
/// these types; anything else (an alias, a user type) keeps it.
pub(crate) fn ok_may_fail_in_band(ty: &Type) -> bool {
    let Some(ok) = result_ok_type(ty) else {
        return true;
    };
    !plainly_not_in_band(ok)
}

/// `T` of a `..::Result<T, ..>`.
fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ungrouped(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    if path.qself.is_some() || last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}

fn plainly_not_in_band(ty: &Type) -> bool {
    const STD: [&str; 31] = [
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64", "String", "Vec", "VecDeque", "Option", "Box", "Arc",
        "Rc", "Cow", "HashMap", "BTreeMap", "HashSet", "BTreeSet", "PathBuf", "Duration",
    ];
    match ungrouped(ty) {
        Type::Reference(_)
        | Type::Tuple(_)
        | Type::Array(_)
        | Type::Slice(_)
        | Type::Ptr(_)
        | Type::Never(_)
        | Type::BareFn(_) => true,
        Type::Path(path) if path.qself.is_none() => {
            let segments = &path.path.segments;
            segments.last().is_some_and(|last| {
                STD.iter().any(|name| last.ident == name)
                    || (last.ident == "Value"
                        && segments.len() == 2
                        && segments[0].ident == "serde_json")
            })
        }
        _ => false,
    }
}

fn ungrouped(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ok_may_fail_in_band;

    fn probed(ty: &str) -> bool {
        ok_may_fail_in_band(&syn::parse_str(ty).unwrap())
    }

    #[test]
    fn plain_ok_types_skip_the_in_band_probe() {
        for ty in [
            "Result<u32, AgentTrustError>",
            "Result<(), E>",
            "std::result::Result<String, ToolError>",
            "io::Result<Vec<u8>>",
            "anyhow::Result<Option<CallToolResult>>",
            "Result<&'a mut u32, E>",
            "Result<(u8, CallToolResult), E>",
            "Result<[u8; 4], E>",
            "Result<serde_json::Value, E>",
            "Result<Box<dyn Error>, E>",
        ] {
            assert!(!probed(ty), "{ty} needs no probe");
        }
    }

    #[test]
    fn ok_types_that_may_report_failure_or_are_unknown_keep_it() {
        for ty in [
            "Result<CallToolResult, McpError>",
            "Result<rmcp::model::CallToolResult, E>",
            "Result<Result<u8, ParseIntError>, E>",
            "Result<Outcome, E>",
            "Result<Value, E>",
            "Result<<T as Tool>::Output, E>",
            "LocalResult<u8>",
            "ToolOutput",
            "Result",
        ] {
            assert!(probed(ty), "{ty} keeps the probe");
        }
    }
}
