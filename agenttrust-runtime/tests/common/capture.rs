//! A real `tracing` subscriber layer that keeps every span (with its
//! fields, as recorded by the time it closed) and every event, for tests to
//! assert on. Installed per thread with `set_default`, so parallel tests do
//! not see each other's spans.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A closed span.
#[derive(Debug, Clone)]
pub struct SpanData {
    pub name: &'static str,
    pub target: String,
    pub level: tracing::Level,
    pub parent: Option<&'static str>,
    pub fields: BTreeMap<String, String>,
}

impl SpanData {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// An event, with the span it happened in.
#[derive(Debug, Clone)]
pub struct EventData {
    pub level: tracing::Level,
    pub target: String,
    pub span: Option<&'static str>,
    pub fields: BTreeMap<String, String>,
}

impl EventData {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Captured {
    open: HashMap<u64, SpanData>,
    closed: Vec<SpanData>,
    events: Vec<EventData>,
}

/// The layer, and the handle to read what it captured.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Captured>>);

impl Capture {
    /// Installs a registry with this layer as the thread's default, seeing
    /// the runtime's spans and events and the test's own (not those of
    /// hyper, reqwest and the other crates underneath).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let test_crate = module_path!().split("::").next().unwrap_or_default();
        let targets = Targets::new()
            .with_target("agenttrust_runtime", LevelFilter::TRACE)
            .with_target(test_crate, LevelFilter::TRACE);
        let subscriber = tracing_subscriber::registry().with(self.clone().with_filter(targets));
        tracing::subscriber::set_default(subscriber)
    }

    /// Closed spans named `name`, in closing order.
    pub fn spans(&self, name: &str) -> Vec<SpanData> {
        let c = self.0.lock().unwrap();
        c.closed
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// The closed `agenttrust.guard` spans.
    pub fn guard_spans(&self) -> Vec<SpanData> {
        self.spans("agenttrust.guard")
    }

    /// Every event.
    pub fn events(&self) -> Vec<EventData> {
        self.0.lock().unwrap().events.clone()
    }

    /// Every field value recorded anywhere, for "this never appears" checks.
    pub fn all_values(&self) -> Vec<String> {
        let c = self.0.lock().unwrap();
        c.closed
            .iter()
            .chain(c.open.values())
            .flat_map(|s| s.fields.values().cloned())
            .chain(c.events.iter().flat_map(|e| e.fields.values().cloned()))
            .collect()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.metadata().name());
        let meta = attrs.metadata();
        self.0.lock().unwrap().open.insert(
            id.into_u64(),
            SpanData {
                name: meta.name(),
                target: meta.target().to_owned(),
                level: *meta.level(),
                parent,
                fields,
            },
        );
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(span) = self.0.lock().unwrap().open.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx.event_span(event).map(|s| s.metadata().name());
        let meta = event.metadata();
        self.0.lock().unwrap().events.push(EventData {
            level: *meta.level(),
            target: meta.target().to_owned(),
            span,
            fields,
        });
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        let mut c = self.0.lock().unwrap();
        if let Some(span) = c.open.remove(&id.into_u64()) {
            c.closed.push(span);
        }
    }
}
