//! One admitted call: its span, its clock, and the one report it owes.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use compact_str::CompactString;
use tracing::instrument::{Instrument, Instrumented};
use tracing::span::EnteredSpan;
use tracing::Span;

use crate::guard::{span, ReportSink};

/// A call the Guardian admitted. The body runs inside its span
/// ([`instrument_body`](Self::instrument_body), or [`Running`] for a sync
/// body), and it reports exactly once: from [`finish_with`](Self::finish_with) or, when
/// the body panicked or the future was dropped, from `Drop`.
#[must_use]
pub struct Call {
    sink: Arc<dyn ReportSink>,
    name: CompactString,
    span: Span,
    started: Instant,
    reported: bool,
}

impl Call {
    /// A call whose body starts at `started` (see [`Decided`]).
    ///
    /// [`Decided`]: crate::guard::decision::Decided
    pub(crate) fn new(
        sink: Arc<dyn ReportSink>,
        name: CompactString,
        span: Span,
        started: Instant,
    ) -> Self {
        Self {
            sink,
            name,
            span,
            started,
            reported: false,
        }
    }

    /// `future`, polled inside the call's span.
    pub fn instrument_body<F: Future>(&self, future: F) -> Instrumented<F> {
        future.instrument(self.span.clone())
    }

    /// The call's span.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Enters the call's span until the returned [`Running`] finishes or
    /// drops: a sync body runs between the two.
    pub(crate) fn enter(mut self) -> Running {
        let entered = std::mem::replace(&mut self.span, Span::none()).entered();
        Running(Some((self, entered)))
    }

    /// Reports the body's outcome.
    pub fn finish_with(mut self, success: bool, error_type: Option<&'static str>) {
        self.report(success, error_type.map(CompactString::const_new));
    }

    fn report(&mut self, success: bool, error_type: Option<CompactString>) {
        if std::mem::replace(&mut self.reported, true) {
            return;
        }
        let duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span::record_outcome(&self.span, duration_ms, success, error_type.as_deref());
        let name = std::mem::take(&mut self.name);
        self.sink.enqueue(name, success, duration_ms, error_type);
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.reported {
            let cause = if std::thread::panicking() {
                "panic"
            } else {
                "cancelled"
            };
            self.report(false, Some(CompactString::const_new(cause)));
        }
    }
}

/// A sync call whose body is running: the call with its span entered,
/// owned, so the code around the body holds one value whose drop (on a
/// panic) exits the span and reports the panic.
#[must_use]
pub struct Running(Option<(Call, EnteredSpan)>);

impl Running {
    /// Exits the span and gives the call back (`None` once given).
    fn exit(&mut self) -> Option<Call> {
        let (mut call, entered) = self.0.take()?;
        call.span = entered.exit();
        Some(call)
    }

    /// Exits the span and reports the body's outcome.
    pub fn finish_with(mut self, success: bool, error_type: Option<&'static str>) {
        if let Some(call) = self.exit() {
            call.finish_with(success, error_type);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The call's own drop reports the panic, with its span back.
        drop(self.exit());
    }
}
