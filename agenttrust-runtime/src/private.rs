//! What `#[guarded]` expansions call. Not a public API: names and shapes
//! change with the macro, which is always the same version as this crate.

use std::fmt::Display;

use compact_str::CompactString;

use crate::error::{AgentTrustError, Result};
pub use crate::guard::guarded::{start_check, start_named_check, Deferred, Guarded};
pub use crate::guard::Call;
use crate::guard::Overrides;
pub use crate::guard::Running;
use crate::runtime;
use crate::summary::truncate_summary;

/// The constant facts of one guarded function.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// The tool name sent to the Guardian.
    pub name: &'static str,
    /// The effect hint, when the attribute gave one.
    pub effect: Option<&'static str>,
    /// The per-tool fail-open override.
    pub fail_open: Option<bool>,
    /// The per-tool enforcement override (`false`: monitoring mode).
    pub enforce: Option<bool>,
    /// The per-tool elevation override (`on_elevation = .., wait = ..`).
    pub on_elevation: Option<crate::OnElevation>,
}

impl Tool {
    /// A tool named `name`, with no effect hint and no overrides.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            effect: None,
            fail_open: None,
            enforce: None,
            on_elevation: None,
        }
    }

    /// A tool named `name` with the effect hint `effect` (one call: what
    /// most attributes set).
    pub const fn with_effect(name: &'static str, effect: &'static str) -> Self {
        Self::new(name).effect(effect)
    }

    /// With the effect hint `effect`.
    #[must_use]
    pub const fn effect(mut self, effect: &'static str) -> Self {
        self.effect = Some(effect);
        self
    }

    /// With the fail-open override `fail_open`.
    #[must_use]
    pub const fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = Some(fail_open);
        self
    }

    /// With the enforcement override `enforce`.
    #[must_use]
    pub const fn enforce(mut self, enforce: bool) -> Self {
        self.enforce = Some(enforce);
        self
    }

    /// With the elevation override `on_elevation`.
    #[must_use]
    pub const fn on_elevation(mut self, on_elevation: crate::OnElevation) -> Self {
        self.on_elevation = Some(on_elevation);
        self
    }
}

/// Turns a summary expression's `Display` output into the sent summary.
pub fn summarize<T: Display + ?Sized>(value: &T) -> String {
    let text = value.to_string();
    let cut = truncate_summary(&text).len();
    let mut text = text;
    text.truncate(cut);
    text
}

/// The check of an async guarded function.
///
/// # Errors
/// The denial, elevation, unavailability or configuration error to return.
pub async fn check(tool: Tool, summary: Option<String>) -> Result<Call> {
    let rt = match runtime::current() {
        Ok(rt) => rt,
        Err(error) => {
            crate::guard::record_refusal(tool.name, tool.effect, &error);
            return Err(error);
        }
    };
    let overrides = Overrides {
        fail_open: tool.fail_open,
        enforce: tool.enforce,
        on_elevation: tool.on_elevation,
    };
    rt.into_guard()
        .admit(
            CompactString::const_new(tool.name),
            summary.as_deref(),
            tool.effect,
            overrides,
        )
        .await
}

/// The check of a sync guarded function, then the call's span entered for
/// its body: blocks the calling thread, never panics inside a tokio runtime.
/// [`run_sync`]'s first step, and the expansion's own with `on_deny` or
/// `success_if`.
///
/// # Errors
/// As [`check`].
pub fn start_blocking(tool: Tool, summary: Option<String>) -> Result<Running> {
    crate::blocking::run(check(tool, summary)).map(Call::enter)
}

/// A sync guarded fn in the attribute's most common form: an effect and
/// the default options (no summary, no overrides, no `on_deny`, no
/// `success_if`). As [`run_sync_tool`], with the tool as its name and
/// effect: two literals are what rustc checks and compiles in each guarded
/// fn, where a `Tool` built by a call and a `None` summary cost it 0.4 M
/// more instructions per fn (measured on 150 sync fns).
pub fn run_sync<R: GuardedReturn>(
    name: &'static str,
    effect: &'static str,
    body: &mut dyn CallOnce<R>,
) -> R {
    run_sync_with(
        Tool::with_effect(name, effect),
        None,
        Returns::OF_GUARDED_RETURN,
        body,
    )
}

/// A sync guarded fn with the default `on_deny` and `success_if`: the
/// check, the body in the call's span, the report by `R`'s own success
/// rule, or the denial as `R`.
///
/// Generic over the return type only: the body comes as `&mut dyn
/// CallOnce<R>`, so what holds the call across the body (and drops it on a
/// panic, reporting the panic) is compiled once per return type here, not
/// in every guarded fn, whose own code is then this one call. The bound
/// `R: GuardedReturn` is where a return type that cannot carry a denial is
/// reported (the expansion spans this fn's path on the return type).
pub fn run_sync_tool<R: GuardedReturn>(
    tool: Tool,
    summary: Option<String>,
    body: &mut dyn CallOnce<R>,
) -> R {
    run_sync_with(tool, summary, Returns::OF_GUARDED_RETURN, body)
}

/// [`run_sync`] with the rules in `returns`: a return type whose `Ok`
/// value may report failure in band (see [`Returns::in_band`]).
pub fn run_sync_with<R>(
    tool: Tool,
    summary: Option<String>,
    returns: Returns<R>,
    body: &mut dyn CallOnce<R>,
) -> R {
    let running = match start_blocking(tool, summary) {
        Ok(running) => running,
        Err(error) => return returns.deny(error),
    };
    match body.call_once() {
        Some(result) => {
            returns.finish_running(running, &result);
            result
        }
        // Only a body already spent (which no expansion passes) gets here;
        // the dropped `running` reports the call as not completed.
        None => returns.deny(AgentTrustError::Config {
            message: "a guarded fn's body was passed to run_sync after it ran".to_owned(),
        }),
    }
}

/// A body [`run_sync`] calls once, through a trait object: a sync guarded
/// fn's body closure, as `&mut Some(closure)` (no wrapper type: one type
/// fewer for the compiler per guarded fn).
pub trait CallOnce<R> {
    /// Runs the body, or returns `None` when it ran already.
    fn call_once(&mut self) -> Option<R>;
}

impl<R, F: FnOnce() -> R> CallOnce<R> for Option<F> {
    // `Option::map` with a closure would be two more generic instances
    // compiled per guarded fn; `inline(always)` makes this one cheaper to
    // compile even in a debug build (measured: 0.2 M fewer rustc
    // instructions per sync guarded fn, in code generation).
    #[allow(clippy::manual_map)]
    #[inline(always)]
    fn call_once(&mut self) -> Option<R> {
        match self.take() {
            Some(body) => Some(body()),
            None => None,
        }
    }
}

/// Moved into a sync guarded fn's body closure and out of it again (`let`
/// to a local: no call to compile), so the compiler infers that closure as
/// `FnOnce` (it is called once) and its body may return borrows of the
/// arguments it captured, as the fn's own body could.
#[derive(Debug)]
pub struct Once;

/// The counters' hot path for one answered check (what `decide` records),
/// for the benchmark to time on its own.
pub fn count_check(
    client: &crate::AgentTrustClient,
    decision: &crate::Decision,
    latency: std::time::Duration,
) {
    client.check_stats().guardian_latency(latency);
    client.check_stats().decision(decision);
}

/// A return type that can carry a denial and tell success from failure.
#[diagnostic::on_unimplemented(
    message = "`#[guarded]` cannot return a denial as `{Self}`",
    label = "a denial cannot be returned as this type",
    note = "return `Result<T, E>` where `E: From<agenttrust_runtime::AgentTrustError>` (anyhow::Error, Box<dyn Error + Send + Sync> and std::io::Error qualify); for an error type you cannot change, map denials with `on_deny = path` where `fn(AgentTrustError) -> E`"
)]
pub trait GuardedReturn: Sized {
    /// The value returned instead of running the body.
    fn from_denial(error: AgentTrustError) -> Self;
    /// Whether the call succeeded.
    fn is_success(&self) -> bool;
    /// The error's type name, for a failure.
    fn error_type(&self) -> Option<&'static str>;
}

// `do_not_recommend` makes rustc report a `Result` whose error type lacks
// `From<AgentTrustError>` with this trait's message, not std's `From` noise.
#[diagnostic::do_not_recommend]
impl<T, E: From<AgentTrustError>> GuardedReturn for Result<T, E> {
    fn from_denial(error: AgentTrustError) -> Self {
        Err(E::from(error))
    }

    fn is_success(&self) -> bool {
        self.is_ok()
    }

    fn error_type(&self) -> Option<&'static str> {
        self.is_err().then(std::any::type_name::<E>)
    }
}

/// A return type whose value says whether the call succeeded (used with
/// `on_deny`, where the error type need not convert from a denial).
#[diagnostic::on_unimplemented(
    message = "`#[guarded]` cannot tell whether `{Self}` is a success",
    label = "not a `Result`",
    note = "return `Result<T, E>`, or name a predicate with `success_if = path` where `fn(&{Self}) -> bool`"
)]
pub trait Outcome {
    /// Whether the call succeeded.
    fn is_success(&self) -> bool;
    /// The error's type name, for a failure.
    fn error_type(&self) -> Option<&'static str>;
}

impl<T, E> Outcome for Result<T, E> {
    fn is_success(&self) -> bool {
        self.is_ok()
    }

    fn error_type(&self) -> Option<&'static str> {
        self.is_err().then(std::any::type_name::<E>)
    }
}

/// How to deny a guarded function's return type `R` and judge its value.
/// Made once per call, so a return type that cannot work is reported once,
/// on the user's return type.
pub struct Returns<R> {
    deny: fn(AgentTrustError) -> R,
    judge: Judge<R>,
}

/// How to judge a return value `R` as success or failure.
pub struct Judge<R> {
    is_success: fn(&R) -> bool,
    error_type: fn(&R) -> Option<&'static str>,
}

/// `Returns` for a [`GuardedReturn`] type.
pub fn returns<R: GuardedReturn>() -> Returns<R> {
    Returns::OF_GUARDED_RETURN
}

impl<R: GuardedReturn> Returns<R> {
    /// [`returns`] as a constant (what the runtime's generic fns read:
    /// no call, so nothing there can unwind).
    pub const OF_GUARDED_RETURN: Self = Self {
        deny: R::from_denial,
        judge: Judge {
            is_success: R::is_success,
            error_type: R::error_type,
        },
    };
}

/// `Judge` for an [`Outcome`] type whose denials `on_deny` maps.
pub fn outcome_of<R: Outcome>() -> Judge<R> {
    Judge {
        is_success: R::is_success,
        error_type: R::error_type,
    }
}

/// An `Ok` value that can itself say the call failed: rmcp's
/// `CallToolResult` with `is_error`, or a nested `Result`.
pub trait InBandFailure {
    /// The failure's type name when this value reports one.
    fn in_band_error(&self) -> Option<&'static str>;
}

impl<T, E> InBandFailure for Result<T, E> {
    fn in_band_error(&self) -> Option<&'static str> {
        self.is_err().then(std::any::type_name::<E>)
    }
}

/// Finds the [`Judge`] of a return type `R = Result<T, E>` whose `T` is an
/// [`InBandFailure`]. Autoref specialization: `(&JudgeProbe::<R>::new()).in_band()`
/// picks [`InBandJudge`] when its bound holds and [`NoInBandJudge`] otherwise.
pub struct JudgeProbe<R>(std::marker::PhantomData<R>);

impl<R> JudgeProbe<R> {
    /// A probe for `R`.
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<R> Default for JudgeProbe<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// The in-band arm of [`JudgeProbe`].
pub trait InBandJudge<R> {
    /// A judge reading failures inside `Ok` too.
    fn in_band(&self) -> Option<Judge<R>>;
}

impl<T: InBandFailure, E> InBandJudge<Result<T, E>> for JudgeProbe<Result<T, E>> {
    fn in_band(&self) -> Option<Judge<Result<T, E>>> {
        Some(Judge {
            is_success: |r| matches!(r, Ok(v) if v.in_band_error().is_none()),
            error_type: |r| match r {
                Ok(v) => v.in_band_error(),
                Err(_) => Some(std::any::type_name::<E>()),
            },
        })
    }
}

/// The fallback arm of [`JudgeProbe`]: the return type's own judge stands.
pub trait NoInBandJudge<R> {
    /// No in-band judge.
    fn in_band(&self) -> Option<Judge<R>> {
        None
    }
}

impl<R> NoInBandJudge<R> for &JudgeProbe<R> {}

impl<R> Returns<R> {
    /// Uses `judge` instead of the return type's own rule when there is one.
    #[must_use]
    pub fn in_band(mut self, judge: Option<Judge<R>>) -> Self {
        self.judge = self.judge.in_band(judge);
        self
    }

    /// The early return of a denied call.
    pub fn deny(&self, error: AgentTrustError) -> R {
        (self.deny)(error)
    }

    /// Reports `result` by the return type's own success rule.
    pub fn finish(&self, call: Call, result: &R) {
        self.judge.finish(call, result);
    }

    /// [`finish`](Self::finish) for a sync body that ran in [`Running`].
    pub fn finish_running(&self, running: Running, result: &R) {
        self.judge.finish_running(running, result);
    }
}

impl<R> Judge<R> {
    /// Uses `judge` instead when there is one (see [`Returns::in_band`]).
    #[must_use]
    pub fn in_band(self, judge: Option<Judge<R>>) -> Self {
        judge.unwrap_or(self)
    }

    /// Reports `result` by the return type's own success rule.
    pub fn finish(&self, call: Call, result: &R) {
        let (success, error_type) = self.verdict(result);
        call.finish_with(success, error_type);
    }

    /// [`finish`](Self::finish) for a sync body that ran in [`Running`].
    pub fn finish_running(&self, running: Running, result: &R) {
        let (success, error_type) = self.verdict(result);
        running.finish_with(success, error_type);
    }

    /// Whether `result` is a success, and the failure's type name.
    fn verdict(&self, result: &R) -> (bool, Option<&'static str>) {
        let success = (self.is_success)(result);
        let error_type = if success {
            None
        } else {
            (self.error_type)(result)
        };
        (success, error_type)
    }
}

/// What an `on_deny` function's output turns into.
#[diagnostic::on_unimplemented(
    message = "the `on_deny` function returns `{V}`, which `#[guarded]` cannot return as `{Self}`",
    label = "`on_deny` must map `AgentTrustError` into this function's error type",
    note = "an `on_deny` function has the type `fn(AgentTrustError) -> E` where the guarded function returns `Result<T, E>`"
)]
pub trait FromOnDeny<V> {
    /// Converts.
    fn from_on_deny(value: V) -> Self;
}

impl<T, E> FromOnDeny<E> for Result<T, E> {
    fn from_on_deny(value: E) -> Self {
        Err(value)
    }
}

/// The early return of a denied call with `on_deny`.
pub fn on_deny<R: FromOnDeny<V>, V>(value: V) -> R {
    R::from_on_deny(value)
}

pub use crate::error::AgentTrustError as Error;
#[cfg(feature = "manifest")]
pub use crate::manifest::ToolEntry;
#[cfg(feature = "manifest")]
pub use inventory;

/// Registers one guarded fn's manifest entry (feature `manifest`): the
/// attribute's part of the [`ToolEntry`] layout, then the fn's line (the
/// attribute's `line!()`: here it would name the outermost macro's line).
#[cfg(feature = "manifest")]
#[macro_export]
#[doc(hidden)]
macro_rules! __agenttrust_register_tool {
    ($head:literal, $($line:tt)*) => {
        $crate::__private::inventory::submit! {
            $crate::__private::ToolEntry(::core::concat!(
                $head, ::core::module_path!(), "\0", ::core::file!(), "\0", $($line)*
            ))
        }
    };
}

#[cfg(feature = "manifest")]
pub use crate::__agenttrust_register_tool as register_tool;

/// Resolves the tool name of a method called `call` without a `name`
/// argument: `Tool::NAME` when `Self` is a rig tool (feature `rig`), else
/// `"call"`. Autoref specialization: `(&ToolNameProbe::<Self>::new()).tool_name(..)`
/// picks [`RigToolName`] when its bound holds and [`FallbackToolName`] otherwise.
pub struct ToolNameProbe<T: ?Sized>(std::marker::PhantomData<T>);

impl<T: ?Sized> ToolNameProbe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T: ?Sized> Default for ToolNameProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The rig arm of [`ToolNameProbe`].
pub trait RigToolName {
    /// `Tool::NAME`.
    fn tool_name(&self, fallback: &'static str) -> &'static str;
}

#[cfg(feature = "rig")]
impl<T: rig::tool::Tool> RigToolName for ToolNameProbe<T> {
    fn tool_name(&self, _fallback: &'static str) -> &'static str {
        T::NAME
    }
}

/// The fallback arm of [`ToolNameProbe`].
pub trait FallbackToolName {
    /// The function's own name.
    fn tool_name(&self, fallback: &'static str) -> &'static str {
        fallback
    }
}

impl<T: ?Sized> FallbackToolName for &ToolNameProbe<T> {}

#[cfg(test)]
mod tests {
    /// Every async guarded fn's future holds its check's future in place
    /// (see `start_check`), so it is kept small: what only an elevation wait
    /// needs is boxed when a wait starts (2,696 bytes with it inline), and
    /// the nested steps keep no arguments they no longer need (1,456 bytes
    /// before that). 920 bytes on the pinned toolchain. A debug build holds
    /// it in a slot of `CHECK_SLOT` bytes, boxed if it outgrew that.
    #[test]
    fn the_check_future_is_small() {
        let check = super::check(super::Tool::new("tool"), None);
        let size = std::mem::size_of_val(&check);
        assert!(size <= 1024, "the check future is {size} bytes");
        use crate::guard::guarded::ErasedCheck;
        assert!(
            ErasedCheck::has_space_for_val(&check) && ErasedCheck::has_alignment_for_val(&check),
            "the check future would be boxed"
        );
    }
}
