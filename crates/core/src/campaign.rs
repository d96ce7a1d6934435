//! Campaigns you can steer: the state of a campaign (the value of a request's `campaign` tag),
//! the [`CampaignControl`] port that stores it, the rules of pause / resume / cancel and the
//! progress arithmetic of a campaign's status ([`progress`]) and the bounce and complaint
//! guardrails that pause a campaign by themselves ([`guardrail`]).
//!
//! A campaign nobody has steered is [`CampaignState::Running`] at version 0: adapters store
//! nothing for it. Every change is a conditional write on the version the caller saw
//! ([`CampaignControl::set`]), so two operators, or an operator and a guardrail, never overwrite
//! each other blindly: the loser gets [`SetOutcome::Conflict`] with what is there now.
//!
//! The poller reads the states of its batch's campaigns with [`CampaignControl::get`] (one
//! round trip for every name; cache the answer for a few seconds) and:
//! - sends the records of a campaign whose state [`CampaignState::sends`];
//! - parks the records of a paused campaign ([`CampaignState::parks`], park reason
//!   `campaign_paused`);
//! - acknowledges without sending the records of a cancelled campaign
//!   ([`CampaignState::is_cancelled`]) after recording them with
//!   [`CampaignControl::record_cancelled`], which counts each `(campaign, unique_code)` once.

pub mod guardrail;
pub mod progress;

use std::collections::HashMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::model::UniqueCode;
use crate::ports::PortError;
use crate::request::is_valid_tag_text;

/// Name of the message tag whose value is the campaign.
pub const CAMPAIGN_TAG: &str = "campaign";

/// What a campaign's records get from the poller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CampaignState {
    /// Sent as the quota allows (every campaign nobody has steered).
    Running,
    /// Paused by an operator: records are parked until someone resumes the campaign.
    Paused {
        reason: String,
        /// When it was paused, epoch milliseconds.
        since_ms: u64,
    },
    /// Cancelled by an operator: remaining records are acknowledged without sending and
    /// counted as cancelled. Final: a cancelled campaign cannot be resumed.
    Cancelled { since_ms: u64 },
    /// Paused by a guardrail (bounce or complaint rate): like `Paused` until an operator
    /// resumes it.
    AutoPaused { reason: String, since_ms: u64 },
}

impl CampaignState {
    /// The state's stable code as adapters store it: `running`, `paused`, `cancelled`,
    /// `auto_paused`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused { .. } => "paused",
            Self::Cancelled { .. } => "cancelled",
            Self::AutoPaused { .. } => "auto_paused",
        }
    }

    /// Why it is paused ("" when running or cancelled).
    pub fn reason(&self) -> &str {
        match self {
            Self::Paused { reason, .. } | Self::AutoPaused { reason, .. } => reason,
            Self::Running | Self::Cancelled { .. } => "",
        }
    }

    /// Since when the campaign is in this state (None when running).
    pub fn since_ms(&self) -> Option<u64> {
        match self {
            Self::Paused { since_ms, .. }
            | Self::AutoPaused { since_ms, .. }
            | Self::Cancelled { since_ms } => Some(*since_ms),
            Self::Running => None,
        }
    }

    /// Its records may be sent.
    pub fn sends(&self) -> bool {
        matches!(self, Self::Running)
    }

    /// Its records wait, parked with reason `campaign_paused` (paused or auto-paused).
    pub fn parks(&self) -> bool {
        matches!(self, Self::Paused { .. } | Self::AutoPaused { .. })
    }

    /// Its records are acknowledged without sending and recorded as cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled { .. })
    }

    /// The state from what an adapter stored: `code` as [`CampaignState::code`] gives it (an
    /// empty or absent code is `running`), `reason` and `since_ms` as stored.
    pub fn from_parts(code: &str, reason: &str, since_ms: u64) -> Result<Self, CampaignError> {
        let reason = reason.to_string();
        match code {
            "" | "running" => Ok(Self::Running),
            "paused" => Ok(Self::Paused { reason, since_ms }),
            "cancelled" => Ok(Self::Cancelled { since_ms }),
            "auto_paused" => Ok(Self::AutoPaused { reason, since_ms }),
            other => Err(CampaignError::UnknownState(other.to_string())),
        }
    }
}

/// A campaign's stored state, who set it, and how many of its records were cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignEntry {
    pub campaign: String,
    #[serde(flatten)]
    pub state: CampaignState,
    /// Who or what made the last change (`cli:alice`, `guardrail:bounce_rate`…); "" if never set.
    pub updated_by: String,
    /// Incremented by every change; 0 = never set (running).
    pub version: u64,
    /// When the last change was made, epoch milliseconds (None if never set).
    pub changed_ms: Option<u64>,
    /// Records recorded as cancelled (distinct `unique_code`s), see
    /// [`CampaignControl::record_cancelled`].
    pub cancelled: u64,
}

impl CampaignEntry {
    /// The entry of a campaign nobody has steered.
    pub fn running(campaign: impl Into<String>) -> Self {
        Self {
            campaign: campaign.into(),
            state: CampaignState::Running,
            updated_by: String::new(),
            version: 0,
            changed_ms: None,
            cancelled: 0,
        }
    }
}

/// One change to a campaign's state, made against the version its author read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignChange {
    /// The campaign (the value of the requests' `campaign` tag).
    pub campaign: String,
    /// The version the change is made against: it applies only if the stored entry still has
    /// it (0: nothing stored yet).
    pub if_version: u64,
    pub state: CampaignState,
    /// Who or what makes it (stored as `updated_by`).
    pub updated_by: String,
    /// When, epoch milliseconds (stored as the entry's `changed_ms`).
    pub at_ms: u64,
}

/// The answer of a conditional [`CampaignControl::set`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOutcome {
    /// The change was written; the entry as it is now (version + 1).
    Applied(CampaignEntry),
    /// The campaign's version was not the one given: nothing written; the entry as it is now.
    Conflict(CampaignEntry),
}

/// A record of a cancelled campaign, acknowledged without sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledRecord {
    pub campaign: String,
    pub unique_code: UniqueCode,
    /// Queue message id of the record (returned when it could not be recorded).
    pub source_message_id: String,
}

/// Where campaign states live (the deployment's DynamoDB control table / the local SQLite
/// `campaigns` table / memory). The contract in `contract::campaign_control` checks every
/// adapter against these semantics.
pub trait CampaignControl: Send + Sync {
    /// Every campaign with a stored entry (set at least once, or with cancelled records),
    /// sorted by name. For operators; the poller asks for its batch's campaigns with `get`.
    fn get_all(&self) -> impl Future<Output = Result<Vec<CampaignEntry>, PortError>> + Send;

    /// The entry of every name in `names`, in one logical round trip: a campaign with no stored
    /// entry answers [`CampaignEntry::running`].
    fn get(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<HashMap<String, CampaignEntry>, PortError>> + Send;

    /// Write `change` if its campaign's version is still `change.if_version` (0: nothing
    /// stored yet). Atomic (a conditional write): of two callers giving the same version, one
    /// applies.
    fn set(
        &self,
        change: &CampaignChange,
    ) -> impl Future<Output = Result<SetOutcome, PortError>> + Send;

    /// Record cancelled records, each `(campaign, unique_code)` counted once however often it
    /// is recorded. Returns the source message ids that could NOT be recorded; the poller
    /// returns those as batch item failures instead of acknowledging them.
    fn record_cancelled(
        &self,
        records: &[CancelledRecord],
    ) -> impl Future<Output = Vec<String>> + Send;
}

impl<T: CampaignControl> CampaignControl for std::sync::Arc<T> {
    async fn get_all(&self) -> Result<Vec<CampaignEntry>, PortError> {
        T::get_all(self).await
    }
    async fn get(&self, names: &[String]) -> Result<HashMap<String, CampaignEntry>, PortError> {
        T::get(self, names).await
    }
    async fn set(&self, change: &CampaignChange) -> Result<SetOutcome, PortError> {
        T::set(self, change).await
    }
    async fn record_cancelled(&self, records: &[CancelledRecord]) -> Vec<String> {
        T::record_cancelled(self, records).await
    }
}

/// Why a campaign operation was refused; names the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error(
        "invalid campaign name {0:?}: a campaign is a tag value, 1 to 256 ASCII letters, digits, `_` or `-`"
    )]
    InvalidName(String),
    #[error("unknown campaign state {0:?} (known: running, paused, cancelled, auto_paused)")]
    UnknownState(String),
    #[error("campaign {campaign:?} is cancelled; a cancelled campaign cannot be {action}")]
    Cancelled {
        campaign: String,
        action: &'static str,
    },
}

/// Check a campaign name (the value of the `campaign` tag).
pub fn check_campaign_name(name: &str) -> Result<(), CampaignError> {
    if is_valid_tag_text(name) {
        Ok(())
    } else {
        Err(CampaignError::InvalidName(name.to_string()))
    }
}

/// The value of the `campaign` tag of a send-request body, if it has one.
pub fn campaign_of_body(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("tags")?
        .as_array()?
        .iter()
        .find(|t| t.get("Name").and_then(|n| n.as_str()) == Some(CAMPAIGN_TAG))?
        .get("Value")?
        .as_str()
        .map(str::to_string)
}

/// What an operator or a guardrail asks of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignCommand {
    /// Operator pause: from running or auto-paused.
    Pause { reason: String },
    /// Back to running: from paused or auto-paused.
    Resume,
    /// Final stop: from any state but cancelled.
    Cancel,
    /// Guardrail pause: only a running campaign (an operator's pause or an earlier trip stays).
    AutoPause { reason: String },
}

impl CampaignCommand {
    /// The past participle, for messages (`paused`, `resumed`, `cancelled`, `auto-paused`).
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Pause { .. } => "paused",
            Self::Resume => "resumed",
            Self::Cancel => "cancelled",
            Self::AutoPause { .. } => "auto-paused",
        }
    }

    /// The state `current` moves to at `now_ms`; `Ok(None)` when nothing changes (the campaign
    /// is already where the command would put it, or a guardrail meets a campaign an operator
    /// already steered).
    pub fn apply(
        &self,
        campaign: &str,
        current: &CampaignState,
        now_ms: u64,
    ) -> Result<Option<CampaignState>, CampaignError> {
        use CampaignState as S;
        let cancelled = || CampaignError::Cancelled {
            campaign: campaign.to_string(),
            action: self.verb(),
        };
        Ok(match (self, current) {
            (Self::Pause { .. }, S::Cancelled { .. }) | (Self::Resume, S::Cancelled { .. }) => {
                return Err(cancelled());
            }
            (Self::Pause { .. }, S::Paused { .. }) => None,
            (Self::Pause { reason }, S::Running | S::AutoPaused { .. }) => Some(S::Paused {
                reason: reason.clone(),
                since_ms: now_ms,
            }),
            (Self::Resume, S::Running) => None,
            (Self::Resume, S::Paused { .. } | S::AutoPaused { .. }) => Some(S::Running),
            (Self::Cancel, S::Cancelled { .. }) => None,
            (Self::Cancel, _) => Some(S::Cancelled { since_ms: now_ms }),
            (Self::AutoPause { reason }, S::Running) => Some(S::AutoPaused {
                reason: reason.clone(),
                since_ms: now_ms,
            }),
            (Self::AutoPause { .. }, _) => None,
        })
    }
}

/// What [`steer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Steered {
    /// The state changed; the entry as written.
    Changed(CampaignEntry),
    /// Nothing to change; the entry as it is.
    Unchanged(CampaignEntry),
}

/// Why [`steer`] did not change a campaign.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SteerError {
    #[error(transparent)]
    Refused(#[from] CampaignError),
    #[error(transparent)]
    Port(#[from] PortError),
    /// Someone else changed the campaign since the version the caller acted on.
    #[error(
        "campaign {:?} changed meanwhile: it is now {} (version {}, by {:?}); look again before steering it",
        current.campaign, current.state.code(), current.version, current.updated_by
    )]
    Conflict { current: Box<CampaignEntry> },
}

/// Read the campaign, apply `command` to its state and write the result conditionally on the
/// version read (or on `if_version`, the version the caller last saw, when given). Never
/// retries a lost race: the caller sees [`SteerError::Conflict`] with the new state and
/// decides again.
pub async fn steer<C: CampaignControl>(
    control: &C,
    campaign: &str,
    command: &CampaignCommand,
    by: &str,
    now_ms: u64,
    if_version: Option<u64>,
) -> Result<Steered, SteerError> {
    check_campaign_name(campaign)?;
    let mut entries = control.get(&[campaign.to_string()]).await?;
    let current = entries
        .remove(campaign)
        .unwrap_or_else(|| CampaignEntry::running(campaign));
    if if_version.is_some_and(|v| v != current.version) {
        return Err(SteerError::Conflict {
            current: Box::new(current),
        });
    }
    let Some(state) = command.apply(campaign, &current.state, now_ms)? else {
        return Ok(Steered::Unchanged(current));
    };
    let change = CampaignChange {
        campaign: campaign.to_string(),
        if_version: current.version,
        state,
        updated_by: by.to_string(),
        at_ms: now_ms,
    };
    match control.set(&change).await? {
        SetOutcome::Applied(e) => Ok(Steered::Changed(e)),
        SetOutcome::Conflict(e) => Err(SteerError::Conflict {
            current: Box::new(e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignCommand as C;
    use CampaignState as S;

    fn paused() -> S {
        S::Paused {
            reason: "wrong list".into(),
            since_ms: 1,
        }
    }
    fn auto() -> S {
        S::AutoPaused {
            reason: "bounce rate 7.0 % > 5 %".into(),
            since_ms: 1,
        }
    }

    #[test]
    fn commands_move_states_as_operators_expect() {
        let pause = C::Pause { reason: "r".into() };
        let auto_pause = C::AutoPause { reason: "g".into() };
        let now = 99;
        let p = S::Paused {
            reason: "r".into(),
            since_ms: now,
        };
        let cases: Vec<(&C, S, Option<S>)> = vec![
            (&pause, S::Running, Some(p.clone())),
            (&pause, auto(), Some(p.clone())),
            (&pause, paused(), None),
            (&C::Resume, paused(), Some(S::Running)),
            (&C::Resume, auto(), Some(S::Running)),
            (&C::Resume, S::Running, None),
            (&C::Cancel, S::Running, Some(S::Cancelled { since_ms: now })),
            (&C::Cancel, paused(), Some(S::Cancelled { since_ms: now })),
            (&C::Cancel, S::Cancelled { since_ms: 1 }, None),
            (
                &auto_pause,
                S::Running,
                Some(S::AutoPaused {
                    reason: "g".into(),
                    since_ms: now,
                }),
            ),
            (&auto_pause, paused(), None),
            (&auto_pause, auto(), None),
            (&auto_pause, S::Cancelled { since_ms: 1 }, None),
        ];
        for (cmd, from, want) in cases {
            assert_eq!(
                cmd.apply("c", &from, now).unwrap(),
                want,
                "{cmd:?} from {from:?}"
            );
        }
    }

    #[test]
    fn a_cancelled_campaign_cannot_be_paused_or_resumed() {
        let cancelled = S::Cancelled { since_ms: 1 };
        for cmd in [C::Resume, C::Pause { reason: "r".into() }] {
            let e = cmd.apply("run-7", &cancelled, 2).unwrap_err().to_string();
            assert!(e.contains("\"run-7\"") && e.contains("cancelled"), "{e}");
        }
    }

    #[test]
    fn states_round_trip_through_their_stored_parts() {
        for s in [S::Running, paused(), auto(), S::Cancelled { since_ms: 7 }] {
            let back =
                S::from_parts(s.code(), s.reason(), s.since_ms().unwrap_or_default()).unwrap();
            assert_eq!(back, s);
        }
        assert_eq!(S::from_parts("", "", 0).unwrap(), S::Running);
        let e = S::from_parts("stopped", "", 0).unwrap_err().to_string();
        assert!(e.contains("\"stopped\""), "{e}");
    }

    #[test]
    fn an_entry_serialises_flat_with_its_state_tag() {
        let e = CampaignEntry {
            state: auto(),
            updated_by: "guardrail:bounce_rate".into(),
            version: 3,
            changed_ms: Some(1),
            ..CampaignEntry::running("run-1")
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["state"], "auto_paused");
        assert_eq!(v["reason"], "bounce rate 7.0 % > 5 %");
        assert_eq!(v["campaign"], "run-1");
        let back: CampaignEntry = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn campaign_names_are_tag_values() {
        assert!(check_campaign_name("run-2026_11").is_ok());
        for bad in ["", "has space", "ü", &"x".repeat(257)] {
            let e = check_campaign_name(bad).unwrap_err().to_string();
            assert!(e.contains("invalid campaign name"), "{e}");
        }
    }

    #[test]
    fn the_campaign_of_a_body_is_its_campaign_tag() {
        let body = r#"{"tags":[{"Name":"team","Value":"a"},{"Name":"campaign","Value":"run-1"}]}"#;
        assert_eq!(campaign_of_body(body).as_deref(), Some("run-1"));
        assert_eq!(campaign_of_body(r#"{"tags":[]}"#), None);
        assert_eq!(campaign_of_body("not json"), None);
    }
}
