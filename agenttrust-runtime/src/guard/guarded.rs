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

use stackfuture::StackFuture;

use crate::__private::{check, GuardedReturn, Returns, Tool};
use crate::error::Result;
use crate::guard::Call;

/// The room a [`Guarded`] keeps for its check's future: the check future
/// is 936 bytes on the pinned toolchain (`the_check_future_is_small` holds
/// it under this bound); one that outgrew it would be boxed instead.
pub(crate) const CHECK_SLOT: usize = 1024;

/// The check's future, made at the first poll and held in place in the
/// `Guarded`, type-erased: its type is the runtime's own, so no guarded
/// fn's expansion constructs or names it, and no call allocates for it
/// (boxing it cost a malloc, a copy and a free per call).
pub(crate) type Check = StackFuture<'static, Result<Call>, CHECK_SLOT>;

pin_project_lite::pin_project! {
    /// Where a [`Guarded`] is: not polled yet, checking, running the body,
    /// or returned.
    #[project = StageProj]
    #[project_replace = StageTaken]
    enum Stage {
        Start { tool: Tool, summary: Option<String> },
        Checking { #[pin] check: Check },
        Running { call: Call },
        Done,
    }
}

pin_project_lite::pin_project! {
    /// An async guarded fn's check and body (see the module docs).
    #[must_use = "futures do nothing unless polled"]
    pub struct Guarded<F: Future> {
        #[pin]
        body: F,
        #[pin]
        stage: Stage,
        returns: Returns<F::Output>,
    }
}

impl<F: Future> Guarded<F> {
    /// `body` runs once the check of `tool` admits the call; a refusal
    /// becomes the fn's return value by its [`GuardedReturn`] impl, which
    /// also judges the body's output. The bound is where a return type that
    /// cannot carry a denial is reported (the expansion spans this fn's path
    /// on the return type).
    // Instantiated once per guarded fn: `inline(always)` makes that cheaper
    // to compile even in a debug build (measured: 0.27 M fewer rustc
    // instructions per async guarded fn, in code generation).
    #[inline(always)]
    pub fn new<R>(tool: Tool, summary: Option<String>, body: F) -> Self
    where
        F: Future<Output = R>,
        R: GuardedReturn,
    {
        // The rules as a constant, not a call: a call here could unwind
        // with `body` held, which would compile `body`'s drop glue and a
        // landing pad into every guarded fn.
        Self {
            body,
            stage: Stage::Start { tool, summary },
            returns: Returns::<R>::OF_GUARDED_RETURN,
        }
    }

    /// [`new`](Self::new) with the rules in `returns`: an output whose `Ok`
    /// value may report failure in band (see [`Returns::in_band`]).
    #[inline(always)]
    pub fn with_returns(
        tool: Tool,
        summary: Option<String>,
        returns: Returns<F::Output>,
        body: F,
    ) -> Self {
        Self {
            body,
            stage: Stage::Start { tool, summary },
            returns,
        }
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        loop {
            match this.stage.as_mut().project() {
                StageProj::Start { tool, summary } => {
                    let check = Check::from_or_box(check(*tool, summary.take()));
                    this.stage.set(Stage::Checking { check });
                }
                StageProj::Checking { check } => {
                    let admitted = ready!(check.poll(cx));
                    match admitted {
                        Ok(call) => this.stage.set(Stage::Running { call }),
                        Err(error) => {
                            this.stage.set(Stage::Done);
                            return Poll::Ready(this.returns.deny(error));
                        }
                    }
                }
                StageProj::Running { call } => {
                    let output = {
                        let _entered = call.span().enter();
                        ready!(this.body.as_mut().poll(cx))
                    };
                    if let StageTaken::Running { call } = this.stage.project_replace(Stage::Done) {
                        this.returns.finish(call, &output);
                    }
                    return Poll::Ready(output);
                }
                // Refused or finished already: the fn returned; nothing runs twice.
                StageProj::Done => return Poll::Pending,
            }
        }
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
