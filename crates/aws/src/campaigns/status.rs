//! What a campaign's status can read cheaply on AWS, in one go: its entry in the control table
//! (state, who, why, records cancelled), the depth of the queue and the DLQ
//! (`GetQueueAttributes`: every campaign together, SQS does not know campaigns) and the
//! account's quota (`GetAccount`).
//!
//! What it cannot show: a campaign's own accepted / sent / delivered / bounced counts and its
//! dead letters by reason. Those are in the event lake (`sesload report --athena --campaign`)
//! and in the DLQ messages themselves (`sesload campaign redrive --aws --dry-run` counts them).

use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};
use sesload_core::campaign::progress::QuotaView;
use sesload_core::{CampaignControl, CampaignEntry, Mailer, PortError};

use super::DynamoCampaigns;
use crate::SesMailer;
use crate::dynamo::error_text;

/// `ApproximateNumberOf…` of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// `ApproximateNumberOfMessages`.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible` (received, not deleted yet).
    pub in_flight: u64,
    /// `ApproximateNumberOfMessagesDelayed` (parked copies waiting out their delay included).
    pub delayed: u64,
}

impl QueueDepth {
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// The approximate depth of the queue at `url`.
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<QueueDepth, PortError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| PortError::new("queue.attributes", format!("{url}: {}", error_text(&e))))?;
    let get = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(QueueDepth {
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

/// `sesload campaign status --aws`: one reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsCampaignStatus {
    pub control: CampaignEntry,
    /// The source queue, every campaign together.
    pub queue: QueueDepth,
    /// The DLQ, every campaign together.
    pub dlq: QueueDepth,
    /// `GetAccount` (None when it failed; the reason is logged).
    pub quota: Option<QuotaView>,
}

/// The deployment's resources a status reads.
pub struct AwsCampaignReader {
    pub campaigns: DynamoCampaigns,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub ses: SesMailer,
}

impl AwsCampaignReader {
    /// Clients from the SDK's default chains (credentials, `AWS_REGION` / profile unless
    /// `region` is given, `AWS_ENDPOINT_URL…` overrides) for the deployment's control table,
    /// queue and DLQ.
    pub async fn from_env(
        region: Option<String>,
        control_table: &str,
        queue_url: &str,
        dlq_url: &str,
    ) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r));
        }
        let sdk = loader.load().await;
        Self {
            campaigns: DynamoCampaigns::new(aws_sdk_dynamodb::Client::new(&sdk), control_table),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url: queue_url.to_string(),
            dlq_url: dlq_url.to_string(),
            ses: SesMailer::new(aws_sdk_sesv2::Client::new(&sdk)),
        }
    }

    /// Read everything at once (the four calls run concurrently).
    pub async fn status(&self, campaign: &str) -> Result<AwsCampaignStatus, PortError> {
        let names = [campaign.to_string()];
        let (control, queue, dlq, quota) = futures::join!(
            self.campaigns.get(&names),
            queue_depth(&self.sqs, &self.queue_url),
            queue_depth(&self.sqs, &self.dlq_url),
            self.ses.quota(),
        );
        let quota = match quota {
            Ok(q) => Some(QuotaView::from(q)),
            Err(e) => {
                tracing::warn!(error = %e, "GetAccount failed; status without quota");
                None
            }
        };
        Ok(AwsCampaignStatus {
            control: control?
                .remove(campaign)
                .unwrap_or_else(|| CampaignEntry::running(campaign)),
            queue: queue?,
            dlq: dlq?,
            quota,
        })
    }
}
