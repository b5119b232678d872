//! Building a client: explicit settings or the environment.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use url::Url;

use super::transport::{ApiKey, Limits, Transport};
use super::AgentTrustClient;
use crate::error::{AgentTrustError, Result};
use crate::pipeline::TelemetryConfig;

/// The base URL used when none is configured.
pub const DEFAULT_BASE_URL: &str = "http://localhost:8080";
/// The whole-request timeout used when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The deadline of one Guardian check when none is configured.
///
/// The Guardian answers in under 15 ms typically; 3 s leaves room for a new
/// TLS connection and a slow tail two orders of magnitude past that, while a
/// hung Guardian costs a tool call 3 s (then the configured failure mode),
/// not the 30 s of [`DEFAULT_TIMEOUT`].
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest answer read from any endpoint but the check, when none is
/// configured (lists of agents can be long).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// The largest check answer read. A verdict is a few hundred bytes; a longer
/// answer is undecodable, so for a check the Guardian counts as unavailable.
pub const MAX_CHECK_RESPONSE_BYTES: usize = 256 * 1024;

/// Configures an [`AgentTrustClient`]; made by [`AgentTrustClient::builder`].
///
/// ```
/// use std::time::Duration;
/// use agenttrust_runtime::AgentTrustClient;
///
/// let client = AgentTrustClient::builder()
///     .base_url("http://127.0.0.1:8080/")
///     .api_key("sk_test_123")
///     .timeout(Duration::from_secs(5))
///     .default_header("X-Team", "agents")
///     .build()?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
/// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct AgentTrustClientBuilder {
    base_url: String,
    api_key: Option<ApiKey>,
    timeout: Duration,
    check_timeout: Duration,
    max_response_bytes: usize,
    connect_timeout: Option<Duration>,
    headers: Vec<(String, String)>,
    user_agent: String,
    allow_insecure_http: bool,
    telemetry: TelemetryConfig,
}

impl Default for AgentTrustClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            check_timeout: DEFAULT_CHECK_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            connect_timeout: None,
            headers: Vec::new(),
            user_agent: concat!("agenttrust-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
            telemetry: TelemetryConfig::default(),
        }
    }
}

/// Reads an environment variable; empty values count as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl AgentTrustClientBuilder {
    /// A builder seeded from `AGENTTRUST_URL` (falling back to
    /// `AGENTTRUST_BASE_URL`, then [`DEFAULT_BASE_URL`]) and
    /// `AGENTTRUST_API_KEY`; empty values count as unset.
    ///
    /// ```no_run
    /// let client = agenttrust_runtime::AgentTrustClientBuilder::from_env()
    ///     .timeout(std::time::Duration::from_secs(2))
    ///     .build()?;
    /// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
    /// ```
    pub fn from_env() -> Self {
        Self::from_lookup(env_var)
    }

    /// [`from_env`](Self::from_env) over any variable lookup, so the rules
    /// are testable without touching the process environment.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut builder = Self::default();
        if let Some(url) = var("AGENTTRUST_URL").or_else(|| var("AGENTTRUST_BASE_URL")) {
            builder.base_url = url;
        }
        builder.api_key = var("AGENTTRUST_API_KEY").map(ApiKey::new);
        builder
    }

    /// The gateway's base URL; a trailing `/` is trimmed.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The organization API key sent as `X-API-Key` on every request.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key.into()));
        self
    }

    /// The timeout of a whole request, connect to last byte (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The deadline of one Guardian check, connect to last byte (default
    /// [`DEFAULT_CHECK_TIMEOUT`], 3 s). When it passes, the check counts as
    /// unavailable and the guard's failure mode applies (closed unless
    /// `fail_open`). Other API calls keep [`timeout`](Self::timeout).
    pub fn check_timeout(mut self, timeout: Duration) -> Self {
        self.check_timeout = timeout;
        self
    }

    /// The largest answer body read from any endpoint but the check (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 8 MiB). A longer answer is refused
    /// while it streams in, as [`AgentTrustError::ResponseTooLarge`]; check
    /// answers are capped at [`MAX_CHECK_RESPONSE_BYTES`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The timeout of establishing a connection (default: bounded by `timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// A header sent with every request. An invalid name or value makes
    /// [`build`](Self::build) fail; it is never silently dropped.
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `User-Agent` header (default `agenttrust-rust/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Allows sending the API key over plain `http://` to a host that is not
    /// loopback. Off by default: such a configuration is refused at build time.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Settings of the client's telemetry pipeline.
    pub fn telemetry(mut self, config: TelemetryConfig) -> Self {
        self.telemetry = config;
        self
    }

    /// Validates the settings and builds the client (one connection pool).
    ///
    /// # Errors
    /// [`AgentTrustError::Config`] for a malformed URL, an invalid header, an
    /// API key over insecure HTTP, or a TLS setup failure.
    pub fn build(self) -> Result<AgentTrustClient> {
        let base = parse_base_url(&self.base_url)?;
        if self.api_key.is_some() && !self.allow_insecure_http && is_insecure_remote(&base) {
            return Err(AgentTrustError::config(format!(
                "refusing to send the API key over plain http:// to `{}`, which is not a loopback \
                 address; use https:// or set allow_insecure_http(true)",
                base.host_str().unwrap_or_default()
            )));
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| {
                AgentTrustError::config(format!("invalid default header name `{name}`: {e}"))
            })?;
            let header_value = HeaderValue::from_str(value).map_err(|e| {
                AgentTrustError::config(format!("invalid value for default header `{name}`: {e}"))
            })?;
            headers.insert(header_name, header_value);
        }
        let api_key_header = match &self.api_key {
            Some(key) => Some(key.header_value()?),
            None => None,
        };
        let (user_agent, timeout, connect_timeout) =
            (self.user_agent.clone(), self.timeout, self.connect_timeout);
        let make_pool = move || {
            // rustls explicitly: another crate enabling reqwest's native-tls
            // must not make every pool load the system's certificates.
            let mut http = reqwest::Client::builder()
                .use_rustls_tls()
                .default_headers(headers.clone())
                .user_agent(user_agent.clone())
                .timeout(timeout)
                // Never follow a redirect: the key must stay with the
                // configured origin and only its answer may be a verdict.
                .redirect(reqwest::redirect::Policy::none())
                .tcp_nodelay(true)
                .pool_idle_timeout(Duration::from_secs(60));
            if let Some(connect) = connect_timeout {
                http = http.connect_timeout(connect);
            }
            http.build()
        };
        // Build one now so a TLS or settings problem is an error here, not later.
        make_pool().map_err(|e| {
            AgentTrustError::config(format!("could not build the HTTP client: {e}"))
        })?;
        let limits = Limits {
            max_response_bytes: self.max_response_bytes,
            check_timeout: self.check_timeout,
        };
        let transport = Transport::new(
            Box::new(make_pool),
            base,
            self.api_key,
            api_key_header,
            limits,
        );
        AgentTrustClient::from_parts(Arc::new(transport), self.telemetry)
    }
}

fn parse_base_url(raw: &str) -> Result<Url> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = Url::parse(trimmed)
        .map_err(|e| AgentTrustError::config(format!("malformed base URL `{raw}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AgentTrustError::config(format!(
            "base URL `{raw}` must use http:// or https://"
        )));
    }
    if url.host().is_none() {
        return Err(AgentTrustError::config(format!(
            "base URL `{raw}` has no host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(AgentTrustError::config(format!(
            "base URL `{raw}` must not carry a query or fragment"
        )));
    }
    Ok(url)
}

fn is_insecure_remote(url: &Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(domain)) => !domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => !IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => !IpAddr::V6(ip).is_loopback(),
        None => true,
    }
}

/// A variable lookup over fixed pairs, for testing the environment rules
/// without touching the process environment.
#[cfg(test)]
pub(crate) fn lookup(
    vars: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_and_insecure_urls_are_config_errors() {
        for bad in ["not a url", "ftp://host", "http://", "http://h/?q=1"] {
            let err = AgentTrustClientBuilder::default()
                .base_url(bad)
                .build()
                .unwrap_err();
            assert_eq!(err.code(), "CONFIG_ERROR", "{bad}");
        }
        let err = AgentTrustClientBuilder::default()
            .base_url("http://gateway.example.com")
            .api_key("sk_live_x")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("allow_insecure_http"), "{err}");
        let allowed = AgentTrustClientBuilder::default()
            .base_url("http://gateway.example.com")
            .api_key("sk_live_x")
            .allow_insecure_http(true)
            .build()
            .unwrap();
        assert_eq!(
            (allowed.base_url(), allowed.has_api_key()),
            ("http://gateway.example.com", true)
        );
        let keyless = AgentTrustClientBuilder::default().build().unwrap();
        assert!(!keyless.has_api_key());
        for ok in [
            "http://localhost:1",
            "http://127.0.0.2:9",
            "http://[::1]:9",
            "https://x.example",
        ] {
            AgentTrustClientBuilder::default()
                .base_url(ok)
                .api_key("k")
                .build()
                .unwrap();
        }
    }

    #[test]
    fn every_setting_is_kept_by_the_builder() {
        let b = AgentTrustClientBuilder::default()
            .connect_timeout(Duration::from_millis(1500))
            .check_timeout(Duration::from_millis(700))
            .max_response_bytes(4096)
            .user_agent("ua/1");
        assert_eq!(
            (
                b.connect_timeout,
                b.check_timeout,
                b.max_response_bytes,
                b.user_agent.as_str()
            ),
            (
                Some(Duration::from_millis(1500)),
                Duration::from_millis(700),
                4096,
                "ua/1"
            )
        );
    }

    #[test]
    fn invalid_headers_fail_the_build() {
        let err = AgentTrustClientBuilder::default()
            .default_header("bad header", "v")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("bad header"), "{err}");
        let err = AgentTrustClientBuilder::default()
            .default_header("X-Ok", "line\nbreak")
            .build()
            .unwrap_err();
        assert_eq!(err.code(), "CONFIG_ERROR");
    }

    #[test]
    fn environment_rules() {
        let b = AgentTrustClientBuilder::from_lookup(lookup(&[]));
        assert_eq!(
            (b.base_url.as_str(), b.api_key.is_none()),
            (DEFAULT_BASE_URL, true)
        );
        let b = AgentTrustClientBuilder::from_lookup(lookup(&[
            ("AGENTTRUST_URL", ""),
            ("AGENTTRUST_BASE_URL", "http://127.0.0.1:9"),
            ("AGENTTRUST_API_KEY", "  "),
        ]));
        assert_eq!(
            (b.base_url.as_str(), b.api_key.is_none()),
            ("http://127.0.0.1:9", true)
        );
        let b = AgentTrustClientBuilder::from_lookup(lookup(&[
            ("AGENTTRUST_URL", "http://127.0.0.1:7/"),
            ("AGENTTRUST_BASE_URL", "http://127.0.0.1:9"),
            ("AGENTTRUST_API_KEY", "sk_test"),
        ]));
        assert_eq!(b.base_url, "http://127.0.0.1:7/");
        assert_eq!(b.build().unwrap().base_url(), "http://127.0.0.1:7");
    }

    #[test]
    fn trailing_slashes_are_trimmed_and_path_prefixes_kept() {
        let client = AgentTrustClientBuilder::default()
            .base_url("http://127.0.0.1:9/gw//")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/gw");
    }
}
