//! DynamoDB adapters: the customers table (`BatchGetItem`) and the idempotency ledger
//! (conditional `PutItem` claims).
//!
//! These clients keep the SDK's standard retry strategy (3 attempts with backoff): every call
//! here is safe to repeat. A claim `PutItem` repeated by the SDK after a lost response would
//! fail its own condition; the ledger recognises its own claim token and still answers
//! `Claimed`.

use sesload_core::Held;
use sesload_core::clock::unix_ms;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use sesload_core::{
    Claim, ClaimToken, Customer, CustomerStore, Ledger, MessageId, PortError, Recorded, UniqueCode,
    UserId,
};

/// Partition key of the customers table (S).
pub const CUSTOMER_KEY: &str = "user_id";
/// Partition key of the ledger table (S).
pub const LEDGER_KEY: &str = "unique_code";
/// TTL attribute (epoch seconds, N) of the ledger table.
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// BatchGetItem takes at most 100 keys.
pub const BATCH_GET_MAX_KEYS: usize = 100;
/// Rounds of `UnprocessedKeys` retries before giving up (the records are then retried).
pub const UNPROCESSED_MAX_ROUNDS: u32 = 8;
/// First backoff before retrying `UnprocessedKeys` (doubles each round, capped at 2 s).
pub const UNPROCESSED_BASE_BACKOFF: Duration = Duration::from_millis(25);

/// When an `UpdateItem` failed its condition: `Some` with the item as it was, if DynamoDB
/// returned it (`ReturnValuesOnConditionCheckFailure::AllOld`; emulators may not), else `None`
/// for any other error.
pub(crate) fn update_condition_failed<R>(
    e: &SdkError<UpdateItemError, R>,
) -> Option<Option<&HashMap<String, AttributeValue>>> {
    match e {
        SdkError::ServiceError(se) => match se.err() {
            UpdateItemError::ConditionalCheckFailedException(c) => Some(c.item()),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn error_text<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: &SdkError<E, R>,
) -> String {
    match e {
        SdkError::ServiceError(se) => format!(
            "{}: {}",
            se.err().code().unwrap_or("Unknown"),
            se.err().message().unwrap_or_default()
        ),
        other => format!("{other:?}"),
    }
}

pub(crate) fn backoff(round: u32) -> Duration {
    UNPROCESSED_BASE_BACKOFF
        .saturating_mul(1 << round.min(10))
        .min(Duration::from_secs(2))
}

/// Customer attributes from a DynamoDB item: strings as they are, numbers as their decimal
/// text, booleans as `true`/`false`; the key and other types are left out.
pub fn customer_from_item(item: &HashMap<String, AttributeValue>) -> Option<Customer> {
    let id = item.get(CUSTOMER_KEY)?;
    let user_id = match id {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        _ => return None,
    };
    let attributes = item
        .iter()
        .filter(|(k, _)| k.as_str() != CUSTOMER_KEY)
        .filter_map(|(k, v)| {
            let s = match v {
                AttributeValue::S(s) => s.clone(),
                AttributeValue::N(n) => n.clone(),
                AttributeValue::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.clone(), s))
        })
        .collect();
    Some(Customer {
        user_id: UserId(user_id),
        attributes,
    })
}

/// [`CustomerStore`] over a DynamoDB table keyed by `user_id` (S).
#[derive(Debug, Clone)]
pub struct DynamoCustomers {
    client: Client,
    table: String,
}

impl DynamoCustomers {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One `BatchGetItem` chunk (≤ 100 keys) including its `UnprocessedKeys` rounds.
    async fn get_chunk(&self, ids: &[UserId]) -> Result<Vec<Customer>, PortError> {
        let keys = ids
            .iter()
            .map(|id| HashMap::from([(CUSTOMER_KEY.to_string(), AttributeValue::S(id.0.clone()))]))
            .collect();
        let items = batch_get_items(
            &self.client,
            &self.table,
            keys,
            false,
            "customers.batch_get",
        )
        .await?;
        Ok(items.iter().filter_map(customer_from_item).collect())
    }
}

/// The items of `keys` (≤ 100) that exist in `table`: one `BatchGetItem` and its
/// `UnprocessedKeys` rounds, with backoff between them. `op` names the port operation in errors.
pub(crate) async fn batch_get_items(
    client: &Client,
    table: &str,
    keys: Vec<HashMap<String, AttributeValue>>,
    consistent_read: bool,
    op: &'static str,
) -> Result<Vec<HashMap<String, AttributeValue>>, PortError> {
    let wanted = keys.len();
    let mut pending = KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(consistent_read)
        .build()
        .map_err(|e| PortError::new(op, e.to_string()))?;
    let mut found = Vec::with_capacity(wanted);
    for round in 0..=UNPROCESSED_MAX_ROUNDS {
        let mut out = client
            .batch_get_item()
            .request_items(table, pending.clone())
            .send()
            .await
            .map_err(|e| PortError::new(op, format!("table {table:?}: {}", error_text(&e))))?;
        if let Some(items) = out.responses.as_mut().and_then(|r| r.remove(table)) {
            found.extend(items);
        }
        match out
            .unprocessed_keys()
            .and_then(|u| u.get(table))
            .filter(|k| !k.keys().is_empty())
        {
            None => return Ok(found),
            Some(rest) => {
                tracing::debug!(
                    round,
                    unprocessed = rest.keys().len(),
                    "BatchGetItem returned UnprocessedKeys"
                );
                pending = rest.clone();
                tokio::time::sleep(backoff(round)).await;
            }
        }
    }
    Err(PortError::new(
        op,
        format!(
            "table {table:?}: {} keys still unprocessed after {} rounds",
            pending.keys().len(),
            UNPROCESSED_MAX_ROUNDS + 1
        ),
    ))
}

impl CustomerStore for DynamoCustomers {
    async fn batch_get(&self, ids: &[UserId]) -> Result<HashMap<UserId, Customer>, PortError> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let chunks = futures::future::try_join_all(
            unique.chunks(BATCH_GET_MAX_KEYS).map(|c| self.get_chunk(c)),
        )
        .await?;
        Ok(chunks
            .into_iter()
            .flatten()
            .map(|c| (c.user_id.clone(), c))
            .collect())
    }
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// [`Ledger`] over a DynamoDB table keyed by `unique_code` (S) with TTL on `expires_at`.
///
/// Item: `unique_code`, `status` (`claimed` | `sent`), `lease_until` (epoch ms, while claimed),
/// `claim_token` (the fencing token of the claim that holds or last held the code),
/// `claimed_at` (epoch ms), `message_id` and `sent_at` once sent, `expires_at` (epoch s; TTL).
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
    ttl: Duration,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
        }
    }

    fn key(code: &UniqueCode) -> HashMap<String, AttributeValue> {
        HashMap::from([(LEDGER_KEY.to_string(), AttributeValue::S(code.0.clone()))])
    }

    fn interpret_existing(
        item: &HashMap<String, AttributeValue>,
        token: &str,
        now_ms: u64,
    ) -> Option<Claim> {
        let s = |k: &str| match item.get(k) {
            Some(AttributeValue::S(s)) => Some(s.as_str()),
            _ => None,
        };
        if s("status") == Some("sent") {
            return Some(Claim::AlreadySent(MessageId(
                s("message_id").unwrap_or_default().to_string(),
            )));
        }
        if s("claim_token") == Some(token) {
            // our own write, repeated by the SDK after a lost response
            return Some(Claim::Claimed(ClaimToken(token.to_string())));
        }
        let lease_until = match item.get("lease_until") {
            Some(AttributeValue::N(v)) => v.parse::<u64>().unwrap_or(0),
            _ => 0,
        };
        if lease_until > now_ms {
            Some(Claim::InFlight {
                lease_left: Duration::from_millis(lease_until - now_ms),
            })
        } else {
            // expired between our condition check and now: try again
            None
        }
    }
}

/// A fencing token: 128 bits from the process's randomly keyed hasher, the clock and a counter.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.write_u64(unix_ms());
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

impl Ledger for DynamoLedger {
    async fn claim(&self, code: &UniqueCode, lease: Duration) -> Result<Claim, PortError> {
        let token = random_token();
        for _ in 0..3 {
            let now = unix_ms();
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(LEDGER_KEY, AttributeValue::S(code.0.clone()))
                .item("status", AttributeValue::S("claimed".into()))
                .item("claim_token", AttributeValue::S(token.clone()))
                .item("claimed_at", n(now))
                .item("lease_until", n(now + lease.as_millis() as u64))
                .item(TTL_ATTRIBUTE, n(now / 1000 + self.ttl.as_secs()))
                // A lease is live while lease_until > now (as in every ledger): at
                // lease_until == now it is expired and may be reclaimed.
                .condition_expression("attribute_not_exists(#k) OR (#s = :claimed AND #l <= :now)")
                .expression_attribute_names("#k", LEDGER_KEY)
                .expression_attribute_names("#s", "status")
                .expression_attribute_names("#l", "lease_until")
                .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            match res {
                Ok(out) => {
                    let previous = out.attributes().filter(|a| !a.is_empty());
                    let mine = ClaimToken(token.clone());
                    return Ok(match previous {
                        Some(old) if matches!(old.get("claim_token"), Some(AttributeValue::S(t)) if *t == token) => {
                            Claim::Claimed(mine)
                        }
                        Some(_) => Claim::Reclaimed(mine),
                        None => Claim::Claimed(mine),
                    });
                }
                Err(SdkError::ServiceError(se))
                    if matches!(se.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    let item = match se.err() {
                        PutItemError::ConditionalCheckFailedException(c) => c.item().cloned(),
                        _ => None,
                    };
                    let item = match item {
                        Some(i) => i,
                        // emulators may not return the item: read it
                        None => self
                            .client
                            .get_item()
                            .table_name(&self.table)
                            .set_key(Some(Self::key(code)))
                            .consistent_read(true)
                            .send()
                            .await
                            .map_err(|e| {
                                PortError::new(
                                    "ledger.claim",
                                    format!("{code}: {}", error_text(&e)),
                                )
                            })?
                            .item()
                            .cloned()
                            .unwrap_or_default(),
                    };
                    if let Some(c) = Self::interpret_existing(&item, &token, unix_ms()) {
                        return Ok(c);
                    }
                }
                Err(e) => {
                    return Err(PortError::new(
                        "ledger.claim",
                        format!("{code} in {:?}: {}", self.table, error_text(&e)),
                    ));
                }
            }
        }
        Err(PortError::new(
            "ledger.claim",
            format!("{code}: the claim kept changing under us"),
        ))
    }

    async fn record_sent(&self, held: Held<'_>, id: &MessageId) -> Result<Recorded, PortError> {
        let Held { code, token } = held;
        let now = unix_ms();
        // Always marks the code sent (a send must never be forgotten, even if the claim item
        // vanished), keeps a message id already recorded, and keeps `claim_token` so that a
        // later record can tell whose claim it was.
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(code)))
            .update_expression(
                "SET #s = :sent, message_id = if_not_exists(message_id, :m), \
                 sent_at = if_not_exists(sent_at, :now), #t = :exp REMOVE lease_until",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#t", TTL_ATTRIBUTE)
            .expression_attribute_values(":sent", AttributeValue::S("sent".into()))
            .expression_attribute_values(":m", AttributeValue::S(id.0.clone()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":exp", n(now / 1000 + self.ttl.as_secs()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| {
                PortError::new("ledger.record_sent", format!("{code}: {}", error_text(&e)))
            })?;
        let held = out.attributes().and_then(|a| match a.get("claim_token") {
            Some(AttributeValue::S(t)) => Some(t.as_str()),
            _ => None,
        });
        Ok(match held {
            Some(t) if t != token.0 => Recorded::Superseded,
            _ => Recorded::Owned,
        })
    }

    async fn release(&self, held: Held<'_>) -> Result<(), PortError> {
        let Held { code, token } = held;
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(code)))
            .condition_expression("#s = :claimed AND claim_token = :token")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()))
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            // already sent, already gone, or re-taken by another attempt: nothing to release
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(PortError::new(
                "ledger.release",
                format!("{code}: {}", error_text(&e)),
            )),
        }
    }

    async fn extend(&self, held: Held<'_>, lease: Duration) -> Result<bool, PortError> {
        let Held { code, token } = held;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(code)))
            .update_expression("SET #l = :until")
            .condition_expression("#s = :claimed AND claim_token = :token")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#l", "lease_until")
            .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()))
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .expression_attribute_values(":until", n(unix_ms() + lease.as_millis() as u64))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            // sent, released, or re-taken by another attempt: not ours to extend
            Err(e) if update_condition_failed(&e).is_some() => Ok(false),
            Err(e) => Err(PortError::new(
                "ledger.extend",
                format!("{code}: {}", error_text(&e)),
            )),
        }
    }
}
