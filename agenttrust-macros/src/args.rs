//! Parsing `#[guarded(...)]` arguments. Every problem is collected, so one
//! compile shows them all (serde_derive style).

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitBool, LitStr, Path, Token};

/// The effects the Guardian understands, as the runtime's `Effect` spells them.
const EFFECTS: [&str; 4] = ["read", "mutating", "destructive", "admin"];

/// Words people reach for, mapped to the effect they mean.
const EFFECT_SYNONYMS: [(&str, &str); 12] = [
    ("write", "mutating"),
    ("update", "mutating"),
    ("create", "mutating"),
    ("mutate", "mutating"),
    ("modify", "mutating"),
    ("delete", "destructive"),
    ("remove", "destructive"),
    ("drop", "destructive"),
    ("destroy", "destructive"),
    ("get", "read"),
    ("readonly", "read"),
    ("administrative", "admin"),
];

const KEYS: [&str; 11] = [
    "effect",
    "name",
    "summary",
    "on_deny",
    "success_if",
    "fail_open",
    "enforce",
    "on_elevation",
    "wait",
    "mcp_annotations",
    "crate",
];

/// What `on_elevation` accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OnElevation {
    Error,
    Wait,
}

/// The tool name: a literal or a constant path such as `Self::NAME`.
pub(crate) enum ToolName {
    Literal(LitStr),
    Path(Path),
}

#[derive(Default)]
pub(crate) struct Args {
    pub(crate) effect: Option<LitStr>,
    pub(crate) name: Option<ToolName>,
    pub(crate) summary: Option<Expr>,
    pub(crate) on_deny: Option<Path>,
    pub(crate) success_if: Option<Path>,
    pub(crate) fail_open: Option<LitBool>,
    pub(crate) enforce: Option<LitBool>,
    pub(crate) on_elevation: Option<(OnElevation, proc_macro2::Span)>,
    /// The wait bound, checked at compile time, with its literal.
    pub(crate) wait: Option<(std::time::Duration, LitStr)>,
    /// `false`: leave an rmcp `#[tool]` below untouched.
    pub(crate) mcp_annotations: Option<LitBool>,
    pub(crate) krate: Option<Path>,
}

/// Parses the attribute's arguments, returning what parsed and every error.
pub(crate) fn parse(tokens: TokenStream) -> (Args, Vec<syn::Error>) {
    let mut args = Args::default();
    let mut errors = Vec::new();
    let parser = |input: ParseStream<'_>| {
        parse_list(input, &mut args, &mut errors);
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    if let Some((_, lit)) = &args.wait {
        if !matches!(args.on_elevation, Some((OnElevation::Wait, _))) {
            errors.push(syn::Error::new(
                lit.span(),
                "`wait` bounds how long a call waits for its approval: add \
                 `on_elevation = \"wait\"`",
            ));
        }
    }
    (args, errors)
}

fn parse_list(input: ParseStream<'_>, args: &mut Args, errors: &mut Vec<syn::Error>) {
    while !input.is_empty() {
        if let Err(e) = parse_one(input, args) {
            errors.push(e);
            skip_to_comma(input);
        }
        if input.is_empty() {
            break;
        }
        if let Err(e) = input.parse::<Token![,]>() {
            errors.push(e);
            skip_to_comma(input);
            let _ = input.parse::<Token![,]>();
        }
    }
}

fn skip_to_comma(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<TokenTree>().is_err() {
            break;
        }
    }
}

fn parse_key(input: ParseStream<'_>) -> syn::Result<Ident> {
    if input.peek(Token![crate]) {
        let token: Token![crate] = input.parse()?;
        return Ok(Ident::new("crate", token.span));
    }
    input.parse::<Ident>().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected `key = value` arguments: effect, name, summary, on_deny, success_if, \
             fail_open, enforce, on_elevation, wait, mcp_annotations or crate, \
             e.g. #[guarded(effect = \"read\")]",
        )
    })
}

fn parse_one(input: ParseStream<'_>, args: &mut Args) -> syn::Result<()> {
    let key = parse_key(input)?;
    let key_name = key.to_string();
    if !KEYS.contains(&key_name.as_str()) {
        let hint = closest(&key_name, &KEYS)
            .map(|k| format!(": did you mean `{k}`?"))
            .unwrap_or_default();
        return Err(syn::Error::new(
            key.span(),
            format!(
                "unknown #[guarded] argument `{key_name}`{hint} (expected effect, name, \
                 summary, on_deny, success_if, fail_open, enforce, on_elevation, wait, \
                 mcp_annotations or crate)"
            ),
        ));
    }
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key_name}` needs a value: `{key_name} = ...`"),
        ));
    }
    input.parse::<Token![=]>()?;
    let duplicate = || {
        syn::Error::new(
            key.span(),
            format!("duplicate #[guarded] argument `{key_name}`: give it once"),
        )
    };
    match key_name.as_str() {
        "effect" => {
            let lit = parse_effect(input)?;
            set(&mut args.effect, lit, duplicate)
        }
        "name" => {
            let name = if input.peek(LitStr) {
                ToolName::Literal(input.parse()?)
            } else {
                ToolName::Path(input.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`name` takes a string literal or a constant path, e.g. \
                         name = \"web_search\" or name = Self::NAME",
                    )
                })?)
            };
            set(&mut args.name, name, duplicate)
        }
        "summary" => {
            let expr: Expr = input.parse()?;
            set(&mut args.summary, expr, duplicate)
        }
        "on_deny" => {
            let path = parse_path(input, "on_deny", "on_deny = my_errors::from_denial")?;
            set(&mut args.on_deny, path, duplicate)
        }
        "success_if" => {
            let path = parse_path(input, "success_if", "success_if = MyOutput::is_ok")?;
            set(&mut args.success_if, path, duplicate)
        }
        "fail_open" => {
            let lit: LitBool = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "`fail_open` takes `true` or `false`"))?;
            set(&mut args.fail_open, lit, duplicate)
        }
        "enforce" => {
            let lit: LitBool = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`enforce` takes `true` or `false` (`false`: run the tool whatever the \
                     Guardian says and record what it would have blocked)",
                )
            })?;
            set(&mut args.enforce, lit, duplicate)
        }
        "on_elevation" => {
            let hint = "`on_elevation` takes \"error\" (return ElevationRequired, the default) \
                        or \"wait\" (wait for a person's decision, then run or refuse)";
            let lit: LitStr = input.parse().map_err(|e| syn::Error::new(e.span(), hint))?;
            let value = match lit.value().as_str() {
                "error" => OnElevation::Error,
                "wait" => OnElevation::Wait,
                _ => return Err(syn::Error::new(lit.span(), hint)),
            };
            set(&mut args.on_elevation, (value, lit.span()), duplicate)
        }
        "wait" => {
            let lit: LitStr = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`wait` takes a duration string, e.g. wait = \"10m\"",
                )
            })?;
            let bound = parse_wait(&lit)?;
            set(&mut args.wait, (bound, lit), duplicate)
        }
        "mcp_annotations" => {
            let lit: LitBool = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`mcp_annotations` takes `true` (the default: fill in the MCP annotations of \
                     the rmcp `#[tool]` below from the effect) or `false` (leave it untouched)",
                )
            })?;
            set(&mut args.mcp_annotations, lit, duplicate)
        }
        _ => {
            let lit: LitStr = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`crate` takes the runtime crate's path as a string, e.g. crate = \"my_reexport::agenttrust\"",
                )
            })?;
            let path: Path = lit.parse()?;
            set(&mut args.krate, path, duplicate)
        }
    }
}

/// A `wait` bound: a humantime duration, longer than zero, that fits the
/// runtime's `Duration::from_nanos`.
fn parse_wait(lit: &LitStr) -> syn::Result<std::time::Duration> {
    let value = lit.value();
    let bound = humantime::parse_duration(value.trim()).map_err(|e| {
        syn::Error::new(
            lit.span(),
            format!(
                "`wait` must be a duration such as \"30s\", \"10m\" or \"1h\", not \"{value}\": {e}"
            ),
        )
    })?;
    if bound.is_zero() {
        return Err(syn::Error::new(
            lit.span(),
            "`wait` must be longer than zero",
        ));
    }
    if u64::try_from(bound.as_nanos()).is_err() {
        return Err(syn::Error::new(
            lit.span(),
            "`wait` is longer than 584 years",
        ));
    }
    Ok(bound)
}

fn set<T>(slot: &mut Option<T>, value: T, duplicate: impl Fn() -> syn::Error) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate());
    }
    *slot = Some(value);
    Ok(())
}

fn parse_path(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<Path> {
    input.parse::<Path>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` takes the path of a function, e.g. {example}"),
        )
    })
}

fn parse_effect(input: ParseStream<'_>) -> syn::Result<LitStr> {
    if !input.peek(LitStr) {
        let span = input
            .fork()
            .parse::<Expr>()
            .map_or(input.span(), |e| e.span());
        let shown = input
            .fork()
            .parse::<Ident>()
            .map(|i| format!(": write `effect = \"{i}\"`"))
            .unwrap_or_default();
        return Err(syn::Error::new(
            span,
            format!(
                "`effect` takes a string literal, one of \"read\", \"mutating\", \"destructive\", \
                 \"admin\"{shown}"
            ),
        ));
    }
    let lit: LitStr = input.parse()?;
    let value = lit.value();
    if EFFECTS.contains(&value.as_str()) {
        return Ok(lit);
    }
    let lower = value.to_ascii_lowercase();
    let suggestion = EFFECT_SYNONYMS
        .iter()
        .find(|(word, _)| *word == lower)
        .map(|(_, effect)| *effect)
        .or_else(|| EFFECTS.contains(&lower.as_str()).then_some(lower.as_str()))
        .or_else(|| nearest_effect(&lower));
    let hint = suggestion
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown effect \"{value}\": {hint}expected one of \"read\", \"mutating\", \
             \"destructive\", \"admin\""
        ),
    ))
}

/// The effect meant by a misspelling of an effect or of a synonym: the
/// nearest word by edit distance, when within a quarter of its length
/// (at least one edit).
fn nearest_effect(word: &str) -> Option<&'static str> {
    EFFECTS
        .iter()
        .map(|e| (*e, *e))
        .chain(EFFECT_SYNONYMS.iter().copied())
        .map(|(candidate, effect)| {
            (
                strsim::damerau_levenshtein(word, candidate),
                candidate,
                effect,
            )
        })
        .filter(|(distance, candidate, _)| *distance <= (candidate.len() / 4).max(1))
        .min_by_key(|(distance, _, _)| *distance)
        .map(|(_, _, effect)| effect)
}

/// The most similar candidate, if any is similar enough to suggest.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors(tokens: TokenStream) -> Vec<String> {
        parse(tokens).1.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn all_arguments_parse() {
        let (args, errs) = parse(quote!(
            effect = "destructive",
            name = Self::NAME,
            summary = path.display(),
            on_deny = to_error,
            success_if = ok,
            fail_open = true,
            enforce = false,
            on_elevation = "wait",
            wait = "10m",
            mcp_annotations = false,
            crate = "my::rt"
        ));
        assert!(
            errs.is_empty(),
            "{:?}",
            errs.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        assert_eq!(args.effect.unwrap().value(), "destructive");
        assert!(matches!(args.name, Some(ToolName::Path(_))));
        assert!(args.summary.is_some() && args.on_deny.is_some() && args.success_if.is_some());
        assert!(args.fail_open.unwrap().value);
        assert!(!args.enforce.unwrap().value);
        assert_eq!(args.on_elevation.unwrap().0, OnElevation::Wait);
        assert_eq!(args.wait.unwrap().0, std::time::Duration::from_secs(600));
        assert!(!args.mcp_annotations.unwrap().value);
        assert!(args.krate.is_some());
    }

    #[test]
    fn errors_are_collected_together_with_suggestions() {
        let errs = errors(quote!(
            effect = "destroy",
            colour = 1,
            name = "a",
            name = "b"
        ));
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("did you mean `destructive`"), "{errs:?}");
        assert!(errs[1].contains("unknown #[guarded] argument `colour`"));
        assert!(errs[2].contains("duplicate"));
        assert!(errors(quote!(effect = "write"))[0].contains("did you mean `mutating`"));
        assert!(errors(quote!(effect = "Read"))[0].contains("did you mean `read`"));
        for (typo, meant) in [
            ("delet", "destructive"),
            ("destrcutive", "destructive"),
            ("mutatin", "mutating"),
            ("raed", "read"),
            ("admn", "admin"),
            ("wrte", "mutating"),
            ("Remov", "destructive"),
        ] {
            let effect = syn::LitStr::new(typo, proc_macro2::Span::call_site());
            let errs = errors(quote!(effect = #effect));
            assert!(
                errs[0].contains(&format!("did you mean `{meant}`")),
                "{typo}: {errs:?}"
            );
        }
        assert!(!errors(quote!(effect = "zzz"))[0].contains("did you mean"));
        assert!(errors(quote!(effekt = "read"))[0].contains("did you mean `effect`"));
        assert!(errors(quote!(effect = read))[0].contains("effect = \"read\""));
        assert!(errors(quote!(fail_open = "yes"))[0].contains("`true` or `false`"));
        assert!(errors(quote!(enforce = "no"))[0].contains("`enforce` takes `true` or `false`"));
        assert!(errors(quote!(enforced = false))[0].contains("did you mean `enforce`"));
        assert!(errors(quote!(on_elevation = "later"))[0].contains("\"error\""));
        assert!(errors(quote!(on_elevation = "wait", wait = "soon"))[0].contains("duration"));
        assert!(errors(quote!(on_elevation = "wait", wait = "0s"))[0].contains("longer than zero"));
        assert!(errors(quote!(wait = "1m"))[0].contains("add `on_elevation = \"wait\"`"));
        assert!(errors(quote!(on_elevation = "error", wait = "1m"))[0].contains("on_elevation"));
        assert!(errors(quote!(on_elevation = "wait", wait = "600000000y")).len() == 1);
        assert!(errors(quote!("x"))[0].contains("key = value"));
    }

    /// Arbitrary argument lists, from words the attribute knows and tokens it
    /// does not: parsing never panics, every error says something, and an
    /// accepted effect is always one of the four. Cases: `PROPTEST_CASES`
    /// (default 256 here; run longer with `PROPTEST_CASES=100000`).
    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn token() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(
                    KEYS.iter()
                        .copied()
                        .chain([
                            "=",
                            ",",
                            "(",
                            ")",
                            "[",
                            "]",
                            "::",
                            ".",
                            "true",
                            "false",
                            "Self",
                            "x",
                            "1",
                            "\"read\"",
                            "\"mutating\"",
                            "\"destructive\"",
                            "\"admin\"",
                            "\"delet\"",
                            "\"\"",
                            "\"a::b\"",
                            "&",
                            "|",
                            "#",
                            "'a",
                            "async",
                            "move",
                            "{",
                            "}",
                        ])
                        .collect::<Vec<_>>(),
                )
                .prop_map(str::to_owned),
                "[a-z_]{1,8}",
                "\"[^\"\\\\]{0,8}\"",
            ]
        }

        proptest! {
            #[test]
            fn any_argument_list_parses_or_says_why(tokens in prop::collection::vec(token(), 0..12)) {
                let Ok(stream) = tokens.join(" ").parse::<TokenStream>() else {
                    return Ok(()); // not lexable: rustc itself rejects it before us
                };
                let (args, errors) = parse(stream);
                for error in &errors {
                    prop_assert!(!error.to_string().is_empty());
                }
                if let Some(effect) = &args.effect {
                    prop_assert!(EFFECTS.contains(&effect.value().as_str()));
                }
            }

            #[test]
            fn any_effect_string_is_accepted_only_when_exact(value in "\\PC{0,16}") {
                let lit = LitStr::new(&value, proc_macro2::Span::call_site());
                let (args, errors) = parse(quote::quote!(effect = #lit));
                prop_assert_eq!(errors.is_empty(), EFFECTS.contains(&value.as_str()));
                prop_assert_eq!(args.effect.is_some(), errors.is_empty());
            }
        }
    }
}
