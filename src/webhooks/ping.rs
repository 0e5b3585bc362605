//! `ipls webhook test` and `POST /api/admin/v1/webhooks/{id}/test`: one signed `webhook.test`
//! message sent now, outside the queue, with the answer returned to the operator.

use chrono::Utc;
use serde_json::json;

use super::sender::{self, Answer, Message};
use super::settings::WebhookSettings;
use super::signature;
use crate::domain::webhooks::endpoints::{signing_secret, Endpoint};
use crate::domain::webhooks::outbox::new_message_id;
use crate::secrets::SecretBox;
use crate::wire::iso;

pub const TEST_EVENT: &str = "webhook.test";

pub async fn send_test(
    endpoint: &Endpoint,
    secrets: &SecretBox,
    settings: &WebhookSettings,
) -> Result<(String, Answer), String> {
    let secret = signing_secret(endpoint, secrets).map_err(|e| e.to_string())?;
    let key = signature::secret_key(&secret)?;
    let message_id = new_message_id().map_err(|e| e.to_string())?;
    let now = Utc::now();
    let body = json!({
        "type": TEST_EVENT,
        "timestamp": iso(now.naive_utc()),
        "data": {"endpoint_id": endpoint.id},
    })
    .to_string();
    let client = sender::client(settings)?;
    let message = Message {
        url: &endpoint.url,
        signing_key: &key,
        message_id: &message_id,
        timestamp: now.timestamp(),
        body: &body,
    };
    let answer = sender::send(&client, &message, settings.allow_private).await;
    Ok((message_id, answer))
}
