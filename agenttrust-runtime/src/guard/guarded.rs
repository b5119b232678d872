//! The future of an async guarded fn: its check, then its body in the
//! call's span, then the report, as one hand-written state machine.
//!
//! The attribute's expansion awaits this once instead of awaiting the check
//! and then the instrumented body in the fn's own state machine: each await
//! in an async fn costs the compiler a state and its drop and layout logic
//! per guarded fn, and this type is compiled once per body type.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::__private::{check, GuardedReturn, Returns, Tool};
use crate::error::Result;
use crate::guard::Call;

/// The room a debug build's [`Guarded`] keeps for its check's future: the
/// check future is 920 bytes on the pinned toolchain
/// (`the_check_future_is_small` holds it under this bound); one that
/// outgrew it would be boxed instead.
#[cfg(any(debug_assertions, test))]
pub(crate) const CHECK_SLOT: usize = 1024;

/// A debug build's check future, type-erased in a slot (see [`start_check`]).
#[cfg(any(debug_assertions, test))]
pub(crate) type ErasedCheck = stackfuture::StackFuture<'static, Result<Call>, CHECK_SLOT>;

/// The check of an async guarded fn, for its [`Guarded`]: made when the
/// `Guarded` is, it runs at the first poll. One future type for every
/// guarded fn, held in place in each call's future (no allocation).
///
/// Optimized builds hold [`check`]'s own future, so making it writes only
/// its arguments and no step of a call copies it (a type-erased slot made
/// at the first poll cost about 3 KiB of copies per call: 350 of
/// `memcpy`'s instructions per call under callgrind, at 8 tasks). Debug
/// builds erase its type in a slot instead: held inline, each guarded fn's
/// debug build would also describe the whole check future, down to the
/// HTTP client's types, in its debug info and trait checks (measured: 0.93 M
/// more rustc instructions per async guarded fn; the slot costs 0.32 M).
/// The two behave alike; only what a call copies differs.
#[cfg(not(debug_assertions))]
pub fn start_check(
    tool: Tool,
    summary: Option<String>,
) -> impl Future<Output = Result<Call>> + Send + 'static {
    check(tool, summary)
}

/// The check of an async guarded fn (see the optimized build's docs).
#[cfg(debug_assertions)]
pub fn start_check(
    tool: Tool,
    summary: Option<String>,
) -> impl Future<Output = Result<Call>> + Send + 'static {
    ErasedCheck::from_or_box(check(tool, summary))
}

/// [`start_check`] of a tool with an effect, no overrides and no summary:
/// the attribute's most common form, whose expansion then passes two
/// literals (a `Tool` built by a call and a `None` summary cost rustc
/// 0.29 M more instructions per async guarded fn, measured on 150 fns).
pub fn start_named_check(
    name: &'static str,
    effect: &'static str,
) -> impl Future<Output = Result<Call>> + Send + 'static {
    start_check(Tool::with_effect(name, effect), None)
}

/// Where a [`Guarded`] is: checking, running the body, or returned.
enum Stage {
    Checking,
    Running(Call),
    Done,
}

pin_project_lite::pin_project! {
    /// An async guarded fn's check and body (see the module docs).
    ///
    /// The check's future `C` (from [`start_check`], one type for every
    /// guarded fn) is made with the `Guarded` and held in place until it is
    /// dropped.
    #[must_use = "futures do nothing unless polled"]
    pub struct Guarded<F: Future, C> {
        #[pin]
        body: F,
        #[pin]
        check: C,
        stage: Stage,
        returns: Returns<F::Output>,
    }
}

impl<F: Future, C> Guarded<F, C> {
    /// `body` runs once `check` admits the call; a refusal becomes the
    /// fn's return value by its [`GuardedReturn`] impl, which also judges
    /// the body's output. The bound is where a return type that cannot
    /// carry a denial is reported (the expansion spans this fn's path on the
    /// return type).
    // Instantiated once per guarded fn: `inline(always)` makes that cheaper
    // to compile even in a debug build (measured: 0.27 M fewer rustc
    // instructions per async guarded fn, in code generation).
    #[inline(always)]
    pub fn new<R>(check: C, body: F) -> Self
    where
        F: Future<Output = R>,
        R: GuardedReturn,
    {
        // The rules as a constant, not a call: a call here could unwind
        // with `body` held, which would compile `body`'s drop glue and a
        // landing pad into every guarded fn.
        Self {
            body,
            check,
            stage: Stage::Checking,
            returns: Returns::<R>::OF_GUARDED_RETURN,
        }
    }

    /// [`new`](Self::new) with the rules in `returns`: an output whose `Ok`
    /// value may report failure in band (see [`Returns::in_band`]).
    #[inline(always)]
    pub fn with_returns(check: C, returns: Returns<F::Output>, body: F) -> Self {
        Self {
            body,
            check,
            stage: Stage::Checking,
            returns,
        }
    }
}

impl<F: Future, C: Future<Output = Result<Call>>> Future for Guarded<F, C> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if let Stage::Checking = this.stage {
            match ready!(this.check.poll(cx)) {
                Ok(call) => *this.stage = Stage::Running(call),
                Err(error) => {
                    *this.stage = Stage::Done;
                    return Poll::Ready(this.returns.deny(error));
                }
            }
        }
        let Stage::Running(call) = this.stage else {
            // Refused or finished already: the fn returned; nothing runs twice.
            return Poll::Pending;
        };
        let output = {
            let _entered = call.span().enter();
            ready!(this.body.poll(cx))
        };
        if let Stage::Running(call) = std::mem::replace(this.stage, Stage::Done) {
            this.returns.finish(call, &output);
        }
        Poll::Ready(output)
    }
}

pin_project_lite::pin_project! {
    /// A [`Guarded`] made at the first poll: an async guarded fn with a
    /// `summary` returns this, so the summary (read from the arguments
    /// before the body takes them) is computed when the call starts, as
    /// in an `async fn`, not when the fn is called.
    #[must_use = "futures do nothing unless polled"]
    #[project = DeferredProj]
    // pin-project-lite takes no attributes on variant fields; the variants'
    // docs describe them.
    #[allow(missing_docs)]
    pub enum Deferred<M, G> {
        /// Not polled yet: `make` is taken at the first poll.
        Start { make: Option<M> },
        /// Started: `future` is what `make` returned.
        Running { #[pin] future: G },
    }
}

impl<M, G> Deferred<M, G>
where
    M: FnOnce() -> G,
    G: Future,
{
    /// `make` runs at the first poll; its future is then polled.
    // Once per guarded fn with a summary: see `Guarded::new`.
    #[inline(always)]
    pub fn new(make: M) -> Self {
        Self::Start { make: Some(make) }
    }
}

impl<M, G> Future for Deferred<M, G>
where
    M: FnOnce() -> G,
    G: Future,
{
    type Output = G::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<G::Output> {
        if let DeferredProj::Start { make } = self.as_mut().project() {
            let Some(make) = make.take() else {
                // `make` panicked at an earlier poll: nothing runs twice.
                return Poll::Pending;
            };
            let future = make();
            self.set(Self::Running { future });
        }
        match self.project() {
            DeferredProj::Running { future } => future.poll(cx),
            DeferredProj::Start { .. } => Poll::Pending,
        }
    }
}
