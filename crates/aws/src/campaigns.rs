//! The campaign control plane on AWS: campaign states in the deployment's DynamoDB control table
//! ([`DynamoCampaigns`], the `CampaignControl` adapter), a campaign's dead letters back on the
//! queue ([`redrive`]) and what a campaign's status can read cheaply there ([`status`]).
//!
//! Control table items (partition key `pk`, S):
//!
//! | `pk` | attributes |
//! |---|---|
//! | `campaign#<name>` | `campaign`, `state` (`running`, `paused`, `cancelled`, `auto_paused`), `reason`, `since` (epoch ms, not when running), `updated_by`, `version` (N, the condition of every change), `changed_at` (epoch ms), `cancelled` (N, records cancelled) |
//! | `cancelled#<name>#<unique_code>` | `campaign`, `unique_code`, `source_message_id`, `cancelled_at`, `expires_at` (epoch s: a TTL attribute, for a table that enables TTL on it) |
//!
//! A state change is an `UpdateItem` conditioned on `version` (absent = 0), so it never touches
//! the `cancelled` counter. Recording cancelled records is one `TransactWriteItems` per campaign
//! and ≤ 99 codes: a conditional `Put` of each marker (absent before) plus an `ADD` of their
//! number to the campaign's counter, so a redelivered record is never counted twice.

pub mod redrive;
pub mod status;

use sesload_core::clock::unix_ms;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use sesload_core::{
    CampaignChange, CampaignControl, CampaignEntry, CampaignState, CancelledRecord, PortError,
    SetOutcome,
};

use crate::control::CONTROL_KEY;
use crate::dynamo::{
    BATCH_GET_MAX_KEYS, backoff, batch_get_items, error_text, update_condition_failed,
};

/// Key prefix of a campaign's state item.
pub const CAMPAIGN_PREFIX: &str = "campaign#";
/// Key prefix of a cancelled record's marker.
pub const CANCELLED_PREFIX: &str = "cancelled#";
/// How long a cancelled record's marker is kept (the longest SQS retention: a record cannot be
/// delivered again after that).
pub const CANCELLED_MARKER_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// Markers per transaction (TransactWriteItems takes 100 actions; one is the counter).
pub const CANCELLED_PER_TRANSACTION: usize = 99;
/// Rounds of a cancelled-records transaction (conflicts, throttling) before giving up.
const TRANSACTION_ROUNDS: u32 = 6;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The key of `campaign`'s state item.
pub fn campaign_key(campaign: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(
        CONTROL_KEY.to_string(),
        s(&format!("{CAMPAIGN_PREFIX}{campaign}")),
    )])
}

/// The entry a state item holds (`None` for another kind of item).
pub fn entry_from_item(item: &HashMap<String, AttributeValue>) -> Option<CampaignEntry> {
    let text = |k: &str| match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    };
    let num = |k: &str| match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse::<u64>().ok(),
        _ => None,
    };
    let name = text(CONTROL_KEY)?.strip_prefix(CAMPAIGN_PREFIX)?;
    let state = CampaignState::from_parts(
        text("state").unwrap_or_default(),
        text("reason").unwrap_or_default(),
        num("since").unwrap_or_default(),
    )
    .unwrap_or_else(|e| {
        // A state this build does not know: show it as paused rather than send.
        CampaignState::Paused {
            reason: e.to_string(),
            since_ms: num("since").unwrap_or_default(),
        }
    });
    Some(CampaignEntry {
        campaign: text("campaign").unwrap_or(name).to_string(),
        state,
        updated_by: text("updated_by").unwrap_or_default().to_string(),
        version: num("version").unwrap_or(0),
        changed_ms: num("changed_at"),
        cancelled: num("cancelled").unwrap_or(0),
    })
}

/// [`CampaignControl`] over the deployment's control table (see the module documentation).
/// Reads are strongly consistent: a change right after another sees it.
#[derive(Debug, Clone)]
pub struct DynamoCampaigns {
    client: Client,
    table: String,
}

impl DynamoCampaigns {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn err(&self, op: &'static str, detail: String) -> PortError {
        PortError::new(op, format!("control table {:?}: {detail}", self.table))
    }

    /// One `BatchGetItem` (≤ 100 keys) with its `UnprocessedKeys` rounds.
    async fn get_chunk(&self, names: &[String]) -> Result<Vec<CampaignEntry>, PortError> {
        let keys = names.iter().map(|c| campaign_key(c)).collect();
        let items = batch_get_items(&self.client, &self.table, keys, true, "campaigns.get").await?;
        Ok(items.iter().filter_map(entry_from_item).collect())
    }

    async fn read_entry(&self, campaign: &str) -> Result<CampaignEntry, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(campaign_key(campaign)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err("campaigns.set", format!("{campaign}: {}", error_text(&e))))?;
        Ok(out
            .item()
            .and_then(entry_from_item)
            .unwrap_or_else(|| CampaignEntry::running(campaign)))
    }

    /// One transaction: the markers of `codes` (distinct) and the counter of `campaign`.
    /// Returns the codes whose markers existed already (nothing written then), or the error.
    async fn cancel_transaction(
        &self,
        campaign: &str,
        codes: &[(&str, &str)],
    ) -> Result<Vec<usize>, SdkError<TransactWriteItemsError>> {
        let now = unix_ms();
        let expires = now / 1000 + CANCELLED_MARKER_TTL.as_secs();
        let mut items: Vec<TransactWriteItem> = codes
            .iter()
            .map(|(code, source)| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .item(
                        CONTROL_KEY,
                        s(&format!("{CANCELLED_PREFIX}{campaign}#{code}")),
                    )
                    .item("campaign", s(campaign))
                    .item("unique_code", s(code))
                    .item(
                        "source_message_id",
                        s(if source.is_empty() { "-" } else { source }),
                    )
                    .item("cancelled_at", n(now))
                    .item("expires_at", n(expires))
                    .condition_expression("attribute_not_exists(#k)")
                    .expression_attribute_names("#k", CONTROL_KEY)
                    .build()
                    .expect("table and item are set");
                TransactWriteItem::builder().put(put).build()
            })
            .collect();
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(campaign_key(campaign)))
            .update_expression("SET #c = if_not_exists(#c, :c) ADD #n :n")
            .expression_attribute_names("#c", "campaign")
            .expression_attribute_names("#n", "cancelled")
            .expression_attribute_values(":c", s(campaign))
            .expression_attribute_values(":n", n(codes.len() as u64))
            .build()
            .expect("table, key and expression are set");
        items.push(TransactWriteItem::builder().update(counter).build());
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Vec::new()),
            Err(SdkError::ServiceError(se)) => {
                if let TransactWriteItemsError::TransactionCanceledException(tc) = se.err() {
                    let existing: Vec<usize> = tc
                        .cancellation_reasons()
                        .iter()
                        .enumerate()
                        .filter(|(i, r)| {
                            *i < codes.len() && r.code() == Some("ConditionalCheckFailed")
                        })
                        .map(|(i, _)| i)
                        .collect();
                    if !existing.is_empty() {
                        return Ok(existing);
                    }
                }
                Err(SdkError::ServiceError(se))
            }
            Err(e) => Err(e),
        }
    }

    /// Record the distinct `codes` of one campaign; the codes not recorded.
    async fn record_campaign<'a>(
        &self,
        campaign: &'a str,
        mut codes: Vec<(&'a str, &'a str)>,
    ) -> Vec<(&'a str, &'a str)> {
        let mut round = 0;
        while !codes.is_empty() {
            let chunk_len = codes.len().min(CANCELLED_PER_TRANSACTION);
            match self.cancel_transaction(campaign, &codes[..chunk_len]).await {
                Ok(existing) if existing.is_empty() => {
                    codes.drain(..chunk_len);
                }
                // Markers already there (a redelivery): drop them and write the rest.
                Ok(existing) => {
                    for i in existing.into_iter().rev() {
                        codes.remove(i);
                    }
                }
                Err(e) => {
                    round += 1;
                    if round >= TRANSACTION_ROUNDS {
                        tracing::warn!(campaign, table = %self.table, error = %error_text(&e), records = codes.len(), "cancelled records not written");
                        return codes
                            .into_iter()
                            .map(|(code, _)| (campaign, code))
                            .collect();
                    }
                    tracing::debug!(campaign, round, error = %error_text(&e), "cancelled-records transaction retried");
                    tokio::time::sleep(backoff(round)).await;
                }
            }
        }
        Vec::new()
    }
}

impl CampaignControl for DynamoCampaigns {
    async fn get_all(&self) -> Result<Vec<CampaignEntry>, PortError> {
        let mut found = BTreeMap::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("begins_with(#k, :p)")
                .expression_attribute_names("#k", CONTROL_KEY)
                .expression_attribute_values(":p", s(CAMPAIGN_PREFIX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.err("campaigns.get_all", error_text(&e)))?;
            for e in out.items().iter().filter_map(entry_from_item) {
                found.insert(e.campaign.clone(), e);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found.into_values().collect());
            }
        }
    }

    async fn get(&self, names: &[String]) -> Result<HashMap<String, CampaignEntry>, PortError> {
        let mut unique = names.to_vec();
        unique.sort();
        unique.dedup();
        let chunks = futures::future::try_join_all(
            unique.chunks(BATCH_GET_MAX_KEYS).map(|c| self.get_chunk(c)),
        )
        .await?;
        let mut out: HashMap<String, CampaignEntry> = unique
            .iter()
            .map(|n| (n.clone(), CampaignEntry::running(n)))
            .collect();
        for e in chunks.into_iter().flatten() {
            out.insert(e.campaign.clone(), e);
        }
        Ok(out)
    }

    async fn set(&self, change: &CampaignChange) -> Result<SetOutcome, PortError> {
        let (campaign, if_version) = (change.campaign.as_str(), change.if_version);
        let st = &change.state;
        let mut update =
            "SET #c = :c, #s = :s, #r = :r, #by = :by, #v = :next, #at = :at".to_string();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(campaign_key(campaign)))
            .expression_attribute_names("#c", "campaign")
            .expression_attribute_names("#s", "state")
            .expression_attribute_names("#r", "reason")
            .expression_attribute_names("#since", "since")
            .expression_attribute_names("#by", "updated_by")
            .expression_attribute_names("#v", "version")
            .expression_attribute_names("#at", "changed_at")
            .expression_attribute_values(":c", s(campaign))
            .expression_attribute_values(":s", s(st.code()))
            // DynamoDB keeps empty strings in non-key attributes.
            .expression_attribute_values(":r", s(st.reason()))
            .expression_attribute_values(":by", s(&change.updated_by))
            .expression_attribute_values(":next", n(if_version + 1))
            .expression_attribute_values(":at", n(change.at_ms));
        match st.since_ms() {
            Some(since) => {
                update.push_str(", #since = :since");
                req = req.expression_attribute_values(":since", n(since));
            }
            None => update.push_str(" REMOVE #since"),
        }
        req = if if_version == 0 {
            req.condition_expression("attribute_not_exists(#v)")
        } else {
            req.condition_expression("#v = :expected")
                .expression_attribute_values(":expected", n(if_version))
        };
        let res = req
            .update_expression(update)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let e = match res {
            Ok(out) => {
                return out
                    .attributes()
                    .and_then(entry_from_item)
                    .map(SetOutcome::Applied)
                    .ok_or_else(|| {
                        self.err("campaigns.set", format!("{campaign}: no item returned"))
                    });
            }
            Err(e) => e,
        };
        match update_condition_failed(&e) {
            Some(old) => {
                let current = match old.and_then(entry_from_item) {
                    Some(entry) => entry,
                    // Emulators may not return the item; an absent item is version 0.
                    None => self.read_entry(campaign).await?,
                };
                Ok(SetOutcome::Conflict(current))
            }
            None => Err(self.err("campaigns.set", format!("{campaign}: {}", error_text(&e)))),
        }
    }

    async fn record_cancelled(&self, records: &[CancelledRecord]) -> Vec<String> {
        let mut by_campaign: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
        for r in records {
            by_campaign
                .entry(r.campaign.as_str())
                .or_default()
                .entry(r.unique_code.0.as_str())
                .or_insert(r.source_message_id.as_str());
        }
        let failed = futures::future::join_all(
            by_campaign
                .into_iter()
                .map(|(c, codes)| self.record_campaign(c, codes.into_iter().collect())),
        )
        .await;
        let failed: std::collections::HashSet<(&str, &str)> =
            failed.into_iter().flatten().collect();
        // Every record of a code not recorded is reported (duplicates in the batch included).
        records
            .iter()
            .filter(|r| failed.contains(&(r.campaign.as_str(), r.unique_code.0.as_str())))
            .map(|r| r.source_message_id.clone())
            .collect()
    }
}
