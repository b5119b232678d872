//! SIEM streaming destinations: `/api/v1/siem/destinations` with each
//! destination's delivery log and a test delivery (PROTOCOL.md §13).

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// A destination to create.
///
/// ```
/// use agenttrust_runtime::api::streaming::CreateDestinationRequest;
/// let request = CreateDestinationRequest::new("soc", "splunk_hec", "https://splunk.example:8088/services/collector")
///     .auth_token("hec-token")
///     .batch_size(50)
///     .filter_event_types(["action.check"]);
/// let body = serde_json::to_value(&request).unwrap();
/// assert!(body.get("flush_interval_seconds").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct CreateDestinationRequest {
    /// Its name.
    pub name: String,
    /// `webhook`, `splunk`, `splunk_hec` (the local gateway's), ...
    pub destination_type: String,
    /// Where batches are POSTed.
    pub endpoint_url: String,
    /// The receiver's credential (`Bearer` for a webhook, `Splunk` for HEC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// Events per batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// The longest a partial batch waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flush_interval_seconds: Option<u32>,
    /// Only these event types (all when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_event_types: Option<Vec<String>>,
}

impl std::fmt::Debug for CreateDestinationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateDestinationRequest")
            .field("name", &self.name)
            .field("destination_type", &self.destination_type)
            .field("endpoint_url", &self.endpoint_url)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("batch_size", &self.batch_size)
            .field("flush_interval_seconds", &self.flush_interval_seconds)
            .field("filter_event_types", &self.filter_event_types)
            .finish()
    }
}

impl CreateDestinationRequest {
    /// A destination of `destination_type` at `endpoint_url`.
    pub fn new(
        name: impl Into<String>,
        destination_type: impl Into<String>,
        endpoint_url: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            destination_type: destination_type.into(),
            endpoint_url: endpoint_url.into(),
            auth_token: None,
            batch_size: None,
            flush_interval_seconds: None,
            filter_event_types: None,
        }
    }

    /// Sets the receiver's credential.
    #[must_use]
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(token.into());
        self
    }

    /// Sets the batch size.
    #[must_use]
    pub fn batch_size(mut self, size: u32) -> Self {
        self.batch_size = Some(size);
        self
    }

    /// Sets the flush interval.
    #[must_use]
    pub fn flush_interval_seconds(mut self, seconds: u32) -> Self {
        self.flush_interval_seconds = Some(seconds);
        self
    }

    /// Streams only these event types.
    #[must_use]
    pub fn filter_event_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filter_event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }
}

/// A change to a destination: unset fields stay as they are (and are not
/// sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateDestinationRequest {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// A new credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// Pause (`false`) or resume (`true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// A new batch size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// A new flush interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flush_interval_seconds: Option<u32>,
    /// A new filter (`Some(vec![])` streams nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_event_types: Option<Vec<String>>,
}

/// A destination as the gateway returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Destination {
    /// Its id.
    #[serde(deserialize_with = "super::nullable_string")]
    pub id: String,
    /// Its organization.
    pub org_id: Option<String>,
    /// Its name.
    #[serde(deserialize_with = "super::nullable_string")]
    pub name: String,
    /// Its type.
    #[serde(deserialize_with = "super::nullable_string")]
    pub destination_type: String,
    /// Its endpoint.
    #[serde(deserialize_with = "super::nullable_string")]
    pub endpoint_url: String,
    /// Whether it streams now.
    pub is_active: bool,
    /// Events per batch.
    pub batch_size: Option<u32>,
    /// The longest a partial batch waits.
    pub flush_interval_seconds: Option<u32>,
    /// The event types it streams (all when `None`).
    pub filter_event_types: Option<Vec<String>>,
    /// Created.
    pub created_at: Option<String>,
    /// Last changed.
    pub updated_at: Option<String>,
}

/// One batch's delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DeliveryRecord {
    /// Its id.
    #[serde(deserialize_with = "super::nullable_string")]
    pub id: String,
    /// The destination.
    #[serde(deserialize_with = "super::nullable_string")]
    pub destination_id: String,
    /// Events in the batch.
    pub batch_size: u64,
    /// `success` or `failed`.
    #[serde(deserialize_with = "super::nullable_string")]
    pub status: String,
    /// The receiver's last HTTP status.
    pub status_code: Option<u16>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// When.
    pub delivered_at: Option<String>,
}

/// What a test delivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TestDelivery {
    /// Whether the receiver accepted it.
    pub success: bool,
    /// The receiver's HTTP status.
    pub status_code: Option<u16>,
    /// Why it failed.
    pub error_message: Option<String>,
}

struct DestinationList(Vec<Destination>);

impl<'de> Deserialize<'de> for DestinationList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        super::list_wrapped_or_bare::<D, Destination>(d, "destinations").map(DestinationList)
    }
}

struct DeliveryList(Vec<DeliveryRecord>);

impl<'de> Deserialize<'de> for DeliveryList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        super::list_wrapped_or_bare::<D, DeliveryRecord>(d, "logs").map(DeliveryList)
    }
}

/// The SIEM streaming API group; from [`AgentTrustClient::streaming`].
#[derive(Debug, Clone, Copy)]
pub struct Streaming<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Streaming<'_> {
    fn url(&self, tail: &[&str]) -> url::Url {
        let mut segments = vec!["api", "v1", "siem", "destinations"];
        segments.extend_from_slice(tail);
        self.client.transport().url(&segments)
    }

    /// `POST /api/v1/siem/destinations`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::streaming::CreateDestinationRequest;
    /// let request = CreateDestinationRequest::new("soc", "webhook", "https://soc.example/hook");
    /// let destination = client.streaming().create(&request).await?;
    /// assert!(client.streaming().test(&destination.id).await?.success);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateDestinationRequest) -> Result<Destination> {
        self.client
            .transport()
            .json(Method::POST, self.url(&[]), Some(request))
            .await
    }

    /// `GET /api/v1/siem/destinations`.
    pub async fn list(&self) -> Result<Vec<Destination>> {
        let list: DestinationList = self
            .client
            .transport()
            .json(Method::GET, self.url(&[]), None::<&()>)
            .await?;
        Ok(list.0)
    }

    /// `GET /api/v1/siem/destinations/{id}`.
    pub async fn get(&self, destination_id: &str) -> Result<Destination> {
        self.client
            .transport()
            .json(Method::GET, self.url(&[destination_id]), None::<&()>)
            .await
    }

    /// `PUT /api/v1/siem/destinations/{id}`.
    pub async fn update(
        &self,
        destination_id: &str,
        request: &UpdateDestinationRequest,
    ) -> Result<Destination> {
        self.client
            .transport()
            .json(Method::PUT, self.url(&[destination_id]), Some(request))
            .await
    }

    /// `DELETE /api/v1/siem/destinations/{id}`.
    pub async fn delete(&self, destination_id: &str) -> Result<()> {
        self.client
            .transport()
            .unit(Method::DELETE, self.url(&[destination_id]), None::<&()>)
            .await
    }

    /// `GET /api/v1/siem/destinations/{id}/logs`: deliveries, newest first.
    pub async fn delivery_log(&self, destination_id: &str) -> Result<Vec<DeliveryRecord>> {
        let list: DeliveryList = self
            .client
            .transport()
            .json(
                Method::GET,
                self.url(&[destination_id, "logs"]),
                None::<&()>,
            )
            .await?;
        Ok(list.0)
    }

    /// `POST /api/v1/siem/destinations/{id}/test` (no body).
    pub async fn test(&self, destination_id: &str) -> Result<TestDelivery> {
        self.client
            .transport()
            .json(
                Method::POST,
                self.url(&[destination_id, "test"]),
                None::<&()>,
            )
            .await
    }
}
