//! rmcp's `#[tool]` below `#[guarded]`: the MCP annotations it publishes
//! come from the effect, its description from the doc comments, and the
//! guard checks the name MCP clients call.
//!
//! Attribute macros expand outermost first, so when `#[guarded]` runs, a
//! `#[tool(..)]` written below it is still plain tokens in the item's
//! attributes: it can be rewritten before rmcp reads it. (Written above,
//! `#[tool]` has already run and is out of reach.)

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Lit, LitBool, LitStr, Meta, Token};

/// What rmcp's `#[tool(..)]` told us.
#[derive(Default)]
pub(crate) struct ToolAttr {
    /// `name = ".."`: the name MCP clients call the tool by.
    pub(crate) name: Option<LitStr>,
}

type Metas = Punctuated<Meta, Token![,]>;

/// The hints an effect implies: `(read_only_hint, destructive_hint)`;
/// `None` leaves a hint to the user (a read tool's `destructive_hint` means
/// nothing, MCP says, while `read_only_hint` is true).
fn implied(effect: &str) -> Option<(bool, Option<bool>)> {
    match effect {
        "read" => Some((true, None)),
        "mutating" => Some((false, Some(false))),
        "destructive" | "admin" => Some((false, Some(true))),
        _ => None,
    }
}

/// Finds rmcp's `#[tool]` among `function`'s attributes and fills in its
/// annotations from `effect` and its description from the doc comments
/// (unless `annotate` is off: then it is only read). A user's hint that
/// contradicts the effect is an error on its literal, and leaves the
/// attribute as written.
pub(crate) fn rewrite_tool_attr(
    attrs: &mut [Attribute],
    effect: Option<&LitStr>,
    annotate: bool,
    errors: &mut Vec<syn::Error>,
) -> ToolAttr {
    // Most guarded fns have no `#[tool]`: nothing else is computed for them.
    let Some(index) = attrs.iter().position(is_rmcp_tool) else {
        return ToolAttr::default();
    };
    let attr = &attrs[index];
    let path = attr.path().clone();
    let mut metas = match &attr.meta {
        Meta::Path(_) => Metas::new(),
        // Not `key = value, ..` (a typo, say): rmcp reports it, untouched.
        Meta::List(list) => match list.parse_args_with(Metas::parse_terminated) {
            Ok(metas) => metas,
            Err(_) => return ToolAttr::default(),
        },
        Meta::NameValue(_) => return ToolAttr::default(),
    };
    let found = ToolAttr {
        name: metas.iter().find_map(|m| string_value(m, "name")),
    };
    if !annotate {
        return found;
    }
    let before = errors.len();
    if let Some((lit, hints)) = effect.and_then(|lit| Some((lit, implied(&lit.value())?))) {
        annotate_metas(&mut metas, &lit.value(), hints, errors);
    }
    if errors.len() > before {
        return found;
    }
    if !metas.iter().any(|m| m.path().is_ident("description")) {
        if let Some(description) = doc_description(attrs) {
            metas.push(syn::parse_quote!(description = #description));
        }
    }
    let attr = &mut attrs[index];
    let style = attr.style;
    *attr = Attribute {
        pound_token: attr.pound_token,
        style,
        bracket_token: attr.bracket_token,
        meta: syn::parse_quote_spanned!(attr.span()=> #path(#metas)),
    };
    found
}

/// `#[tool]` or `#[rmcp::tool]` (`#[tool_router]` finds tools by the last
/// segment `tool` too).
fn is_rmcp_tool(attr: &Attribute) -> bool {
    let mut segments = attr.path().segments.iter().map(|s| &s.ident);
    match (segments.next(), segments.next(), segments.next()) {
        (Some(only), None, _) => only == "tool",
        (Some(first), Some(second), None) => first == "rmcp" && second == "tool",
        _ => false,
    }
}

fn string_value(meta: &Meta, key: &str) -> Option<LitStr> {
    match meta {
        Meta::NameValue(nv) if nv.path.is_ident(key) => match &nv.value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn bool_value(meta: &Meta) -> Option<LitBool> {
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Bool(b), ..
            }) => Some(b.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Merges the implied hints into `annotations(..)`: the user's agreeing
/// hints stay as written, missing ones are added, contradicting ones are
/// errors.
fn annotate_metas(
    metas: &mut Metas,
    effect: &str,
    (read_only, destructive): (bool, Option<bool>),
    errors: &mut Vec<syn::Error>,
) {
    let position = metas.iter().position(|m| m.path().is_ident("annotations"));
    let mut inner = match position.map(|i| &metas[i]) {
        Some(Meta::List(list)) => match list.parse_args_with(Metas::parse_terminated) {
            Ok(inner) => inner,
            Err(_) => return,
        },
        // `annotations` without a list: rmcp reports it.
        Some(_) => return,
        None => Metas::new(),
    };
    for meta in &inner {
        let Some(given) = bool_value(meta) else {
            continue;
        };
        let key = meta.path();
        if key.is_ident("read_only_hint") && given.value != read_only {
            errors.push(contradiction(&given, "read_only_hint", effect));
        }
        if key.is_ident("destructive_hint") {
            let wrong = match destructive {
                Some(expected) => given.value != expected,
                None => given.value,
            };
            if wrong {
                errors.push(contradiction(&given, "destructive_hint", effect));
            }
        }
    }
    let has = |inner: &Metas, key: &str| inner.iter().any(|m| m.path().is_ident(key));
    if !has(&inner, "read_only_hint") {
        inner.push(syn::parse_quote!(read_only_hint = #read_only));
    }
    if let Some(destructive) = destructive {
        if !has(&inner, "destructive_hint") {
            inner.push(syn::parse_quote!(destructive_hint = #destructive));
        }
    }
    let annotations: Meta = syn::parse_quote!(annotations(#inner));
    match position {
        Some(i) => metas[i] = annotations,
        None => metas.push(annotations),
    }
}

fn contradiction(given: &LitBool, key: &str, effect: &str) -> syn::Error {
    let value = given.value;
    let why = match (key, value) {
        ("read_only_hint", true) => format!("a {effect} tool changes its environment"),
        ("read_only_hint", false) => "a read tool changes nothing".to_owned(),
        ("destructive_hint", true) if effect == "read" => {
            "a read tool changes nothing, so it destroys nothing".to_owned()
        }
        ("destructive_hint", true) => {
            "a mutating tool makes only additive changes, and only destructive ones need an \
             approval"
                .to_owned()
        }
        _ => format!("a {effect} tool may destroy what it changes"),
    };
    let fix_effect = match (key, value) {
        ("read_only_hint", true) => "read",
        ("destructive_hint", true) => "destructive",
        _ => "mutating",
    };
    syn::Error::new(
        given.span(),
        format!(
            "`{key} = {value}` contradicts `effect = \"{effect}\"` ({why}): remove `{key}` \
             (#[guarded] sets the MCP annotations from the effect), or declare \
             `effect = \"{fix_effect}\"` if that is what the tool does"
        ),
    )
}

/// The description rmcp makes of the doc comments (trimmed lines, blank
/// ones skipped, joined by newlines), or `None` when there are none or one
/// is not a plain string (`#[doc = include_str!(..)]`: left to rmcp).
///
/// rmcp 3.11 reads doc comments only when no other attribute follows them;
/// spelled out as `description = ".."`, they survive any attribute order.
fn doc_description(attrs: &[Attribute]) -> Option<LitStr> {
    let mut lines = Vec::new();
    let mut span = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        let Meta::NameValue(nv) = &attr.meta else {
            return None;
        };
        let Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) = &nv.value
        else {
            return None;
        };
        span.get_or_insert(text.span());
        let line = text.value().trim().to_owned();
        if !line.is_empty() {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return None;
    }
    Some(LitStr::new(
        &lines.join("\n"),
        span.unwrap_or_else(Span::call_site),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::{ToTokens, quote};
    use syn::ItemFn;

    /// The `#[tool(..)]` arguments after the rewrite.
    fn tool_args(function: &ItemFn) -> String {
        let attr = function.attrs.iter().find(|a| is_rmcp_tool(a)).unwrap();
        match &attr.meta {
            Meta::List(list) => list.tokens.to_string(),
            other => other.to_token_stream().to_string(),
        }
    }

    fn rewrite(effect: &str, item: TokenStream) -> (ItemFn, Vec<String>) {
        let mut function: ItemFn = syn::parse2(item).unwrap();
        let effect = LitStr::new(effect, Span::call_site());
        let mut errors = Vec::new();
        rewrite_tool_attr(&mut function.attrs, Some(&effect), true, &mut errors);
        (function, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn each_effect_sets_its_hints() {
        let cases = [
            ("read", "annotations (read_only_hint = true)"),
            (
                "mutating",
                "annotations (read_only_hint = false , destructive_hint = false)",
            ),
            (
                "destructive",
                "annotations (read_only_hint = false , destructive_hint = true)",
            ),
            (
                "admin",
                "annotations (read_only_hint = false , destructive_hint = true)",
            ),
        ];
        for (effect, expected) in cases {
            let (function, errors) = rewrite(
                effect,
                quote!(
                    #[tool]
                    fn f() {}
                ),
            );
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(tool_args(&function), expected, "{effect}");
        }
    }

    #[test]
    fn agreeing_hints_and_other_keys_stay_as_written() {
        let (function, errors) = rewrite(
            "destructive",
            quote!(
                /// Deletes.
                #[rmcp::tool(
                    name = "rm",
                    annotations(title = "Remove", destructive_hint = true, idempotent_hint = true)
                )]
                fn f() {}
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            tool_args(&function),
            "name = \"rm\" , annotations (title = \"Remove\" , destructive_hint = true , \
             idempotent_hint = true , read_only_hint = false) , description = \"Deletes.\""
        );
    }

    #[test]
    fn contradictions_are_errors_with_the_fix() {
        let (_, errors) = rewrite(
            "destructive",
            quote!(
                #[tool(annotations(read_only_hint = true))]
                fn f() {}
            ),
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("`read_only_hint = true` contradicts `effect = \"destructive\"`")
        );
        assert!(
            errors[0].contains("declare `effect = \"read\"`"),
            "{}",
            errors[0]
        );
        let (_, errors) = rewrite(
            "mutating",
            quote!(
                #[tool(annotations(destructive_hint = true))]
                fn f() {}
            ),
        );
        assert!(
            errors[0].contains("`effect = \"destructive\"`"),
            "{}",
            errors[0]
        );
        let (_, errors) = rewrite(
            "read",
            quote!(
                #[tool(annotations(destructive_hint = true, read_only_hint = false))]
                fn f() {}
            ),
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        let (_, errors) = rewrite(
            "read",
            quote!(
                #[tool(annotations(destructive_hint = false))]
                fn f() {}
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn an_explicit_description_wins_and_doc_lines_join_like_rmcp() {
        let (function, _) = rewrite(
            "read",
            quote!(
                /// First line.
                ///
                ///   Second line.
                #[tool]
                fn f() {}
            ),
        );
        assert!(tool_args(&function).ends_with("description = \"First line.\\nSecond line.\""));
        let (function, _) = rewrite(
            "read",
            quote!(
                /// Ignored.
                #[tool(description = "Given.")]
                fn f() {}
            ),
        );
        assert!(!tool_args(&function).contains("Ignored"));
    }

    #[test]
    fn other_tool_attributes_are_not_touched() {
        for item in [
            quote!(
                #[other::tool]
                fn f() {}
            ),
            quote!(
                #[tools]
                fn f() {}
            ),
        ] {
            let (function, errors) = rewrite("read", item.clone());
            assert!(errors.is_empty());
            assert_eq!(
                function.to_token_stream().to_string(),
                syn::parse2::<ItemFn>(item)
                    .unwrap()
                    .to_token_stream()
                    .to_string()
            );
        }
    }
}
