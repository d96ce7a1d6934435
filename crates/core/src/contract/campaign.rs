//! The [`CampaignControl`] contract: campaign states with conditional writes, and cancelled
//! records counted once.

use futures::future::join_all;

use super::run_prefix;
use crate::campaign::{
    CampaignChange, CampaignControl, CampaignEntry, CampaignState, CancelledRecord, SetOutcome,
};
use crate::model::UniqueCode;

/// A reason with characters a store must keep as they are.
const REASON: &str = "liste erronée — 20 % bounce@ (ü)";
const AT: u64 = 1_767_225_600_123;

async fn get_one<C: CampaignControl>(c: &C, case: &str, name: &str) -> CampaignEntry {
    let mut m = c
        .get(&[name.to_string()])
        .await
        .unwrap_or_else(|e| panic!("campaign contract, {case}: get {name}: {e}"));
    m.remove(name)
        .unwrap_or_else(|| panic!("campaign contract, {case}: get {name} answered nothing for it"))
}

async fn set<C: CampaignControl>(
    c: &C,
    case: &str,
    name: &str,
    state: CampaignState,
    if_version: u64,
) -> SetOutcome {
    let change = CampaignChange {
        campaign: name.to_string(),
        if_version,
        state,
        updated_by: "contract:operator".into(),
        at_ms: AT,
    };
    c.set(&change)
        .await
        .unwrap_or_else(|e| panic!("campaign contract, {case}: set {name}: {e}"))
}

fn applied(o: SetOutcome, case: &str) -> CampaignEntry {
    match o {
        SetOutcome::Applied(e) => e,
        SetOutcome::Conflict(e) => panic!("campaign contract, {case}: conflict, now {e:?}"),
    }
}

fn paused(since_ms: u64) -> CampaignState {
    CampaignState::Paused {
        reason: REASON.into(),
        since_ms,
    }
}

/// Run every case against `control` (an empty store, or one whose other keys do not start with
/// this run's prefix).
pub async fn campaign_control<C: CampaignControl>(control: &C) {
    let prefix = campaign_control_sequential(control).await;
    concurrent_changes_on_one_version_apply_once(control, &format!("{prefix}-race")).await;
}

/// Every case but concurrent changes, for a store emulator that does not serialise conditional
/// writes (moto evaluates a condition and writes in separate steps, so two concurrent writers
/// can both pass it): the condition itself is checked by the stale-version case; that the check
/// and the write are one atomic step is the real store's guarantee. Returns the run's prefix.
pub async fn campaign_control_sequential<C: CampaignControl>(control: &C) -> String {
    let prefix = run_prefix("campaign");
    let name = |case: &str| format!("{prefix}-{case}");
    unknown_campaigns_are_running_at_version_0(control, &name("unknown")).await;
    a_change_reads_back_as_written(control, &name("written")).await;
    every_state_round_trips(control, &name("states")).await;
    a_stale_version_conflicts_and_changes_nothing(control, &name("stale")).await;
    one_get_answers_many_names(control, &prefix).await;
    cancelled_records_count_once_per_code(control, &name("cancel"), &name("other")).await;
    prefix
}

async fn unknown_campaigns_are_running_at_version_0<C: CampaignControl>(c: &C, name: &str) {
    let case = "unknown_campaigns_are_running_at_version_0";
    assert_eq!(
        get_one(c, case, name).await,
        CampaignEntry::running(name),
        "campaign contract, {case}"
    );
    let all = c
        .get_all()
        .await
        .unwrap_or_else(|e| panic!("campaign contract, {case}: get_all: {e}"));
    assert!(
        all.iter().all(|e| e.campaign != name),
        "campaign contract, {case}: get_all lists a campaign nobody set"
    );
}

async fn a_change_reads_back_as_written<C: CampaignControl>(c: &C, name: &str) {
    let case = "a_change_reads_back_as_written";
    let written = applied(set(c, case, name, paused(AT), 0).await, case);
    let want = CampaignEntry {
        campaign: name.to_string(),
        state: paused(AT),
        updated_by: "contract:operator".into(),
        version: 1,
        changed_ms: Some(AT),
        cancelled: 0,
    };
    assert_eq!(written, want, "campaign contract, {case}: answer of set");
    assert_eq!(
        get_one(c, case, name).await,
        want,
        "campaign contract, {case}: get"
    );
    let all = c
        .get_all()
        .await
        .unwrap_or_else(|e| panic!("campaign contract, {case}: get_all: {e}"));
    assert_eq!(
        all.iter().find(|e| e.campaign == name),
        Some(&want),
        "campaign contract, {case}: get_all"
    );
    let mut names: Vec<&str> = all.iter().map(|e| e.campaign.as_str()).collect();
    let listed = names.clone();
    names.sort();
    assert_eq!(
        listed, names,
        "campaign contract, {case}: get_all sorted by name"
    );
}

async fn every_state_round_trips<C: CampaignControl>(c: &C, name: &str) {
    let case = "every_state_round_trips";
    let states = [
        CampaignState::AutoPaused {
            reason: "bounce rate 6.1 % over 5 %".into(),
            since_ms: AT + 1,
        },
        paused(AT + 2),
        CampaignState::Running,
        CampaignState::Cancelled { since_ms: AT + 3 },
    ];
    for (i, s) in states.into_iter().enumerate() {
        let version = i as u64;
        let e = applied(set(c, case, name, s.clone(), version).await, case);
        assert_eq!(
            (e.state.clone(), e.version),
            (s.clone(), version + 1),
            "campaign contract, {case}: answer"
        );
        let back = get_one(c, case, name).await;
        assert_eq!(
            (back.state, back.version),
            (s, version + 1),
            "campaign contract, {case}: read back"
        );
    }
}

async fn a_stale_version_conflicts_and_changes_nothing<C: CampaignControl>(c: &C, name: &str) {
    let case = "a_stale_version_conflicts_and_changes_nothing";
    let first = applied(set(c, case, name, paused(AT), 0).await, case);
    for stale in [0, 2, 7] {
        match set(
            c,
            case,
            name,
            CampaignState::Cancelled { since_ms: AT },
            stale,
        )
        .await
        {
            SetOutcome::Conflict(now) => assert_eq!(
                now, first,
                "campaign contract, {case}: the conflict answers the entry as it is"
            ),
            SetOutcome::Applied(e) => panic!(
                "campaign contract, {case}: set at version {stale} applied over version 1: {e:?}"
            ),
        }
    }
    assert_eq!(
        get_one(c, case, name).await,
        first,
        "campaign contract, {case}: unchanged"
    );
    // A campaign never set is at version 0: expecting another version conflicts too.
    let fresh = format!("{name}-fresh");
    assert!(
        matches!(
            set(c, case, &fresh, paused(AT), 1).await,
            SetOutcome::Conflict(e) if e == CampaignEntry::running(&fresh)
        ),
        "campaign contract, {case}: version 1 expected of a campaign never set"
    );
}

async fn concurrent_changes_on_one_version_apply_once<C: CampaignControl>(c: &C, name: &str) {
    let case = "concurrent_changes_on_one_version_apply_once";
    let outcomes = join_all((0..8).map(|i| {
        let state = if i % 2 == 0 {
            paused(AT + i)
        } else {
            CampaignState::Cancelled { since_ms: AT + i }
        };
        set(c, case, name, state, 0)
    }))
    .await;
    let winners: Vec<&CampaignEntry> = outcomes
        .iter()
        .filter_map(|o| match o {
            SetOutcome::Applied(e) => Some(e),
            SetOutcome::Conflict(_) => None,
        })
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "campaign contract, {case}: 8 writers at version 0, applied: {winners:?}"
    );
    let now = get_one(c, case, name).await;
    assert_eq!(
        &now, winners[0],
        "campaign contract, {case}: the winner's state is stored"
    );
    assert_eq!(
        now.version, 1,
        "campaign contract, {case}: one version step"
    );
}

async fn one_get_answers_many_names<C: CampaignControl>(c: &C, prefix: &str) {
    let case = "one_get_answers_many_names";
    // More than one DynamoDB BatchGetItem (100 keys) holds.
    let names: Vec<String> = (0..130).map(|i| format!("{prefix}-many-{i:03}")).collect();
    for n in names.iter().step_by(40) {
        applied(set(c, case, n, paused(AT), 0).await, case);
    }
    let got = c
        .get(&names)
        .await
        .unwrap_or_else(|e| panic!("campaign contract, {case}: get: {e}"));
    assert_eq!(
        got.len(),
        names.len(),
        "campaign contract, {case}: one entry per name"
    );
    for (i, n) in names.iter().enumerate() {
        let e = &got[n];
        let want_version = u64::from(i % 40 == 0);
        assert_eq!(
            (e.campaign.as_str(), e.version),
            (n.as_str(), want_version),
            "campaign contract, {case}: entry of {n}"
        );
    }
}

fn cancelled(campaign: &str, codes: &[&str]) -> Vec<CancelledRecord> {
    codes
        .iter()
        .map(|c| CancelledRecord {
            campaign: campaign.to_string(),
            unique_code: UniqueCode(format!("{campaign}-{c}")),
            source_message_id: format!("m-{c}"),
        })
        .collect()
}

async fn cancelled_records_count_once_per_code<C: CampaignControl>(c: &C, name: &str, other: &str) {
    let case = "cancelled_records_count_once_per_code";
    // Recorded before any state change (a store keeps the count apart from the state).
    let mut first = cancelled(name, &["a", "b", "c", "b"]);
    first.extend(cancelled(other, &["a"]));
    let failed = c.record_cancelled(&first).await;
    assert!(
        failed.is_empty(),
        "campaign contract, {case}: not recorded: {failed:?}"
    );
    let e = get_one(c, case, name).await;
    assert_eq!(
        (e.cancelled, e.version),
        (3, 0),
        "campaign contract, {case}: 3 distinct codes, no state change"
    );
    assert_eq!(get_one(c, case, other).await.cancelled, 1);
    // The campaign's state changes from version 0 and keeps the count.
    let e = applied(
        set(c, case, name, CampaignState::Cancelled { since_ms: AT }, 0).await,
        case,
    );
    assert_eq!(
        (e.version, e.cancelled),
        (1, 3),
        "campaign contract, {case}: set keeps the count"
    );
    // Recording the same codes again (a redelivered batch) counts only the new one.
    let failed = c
        .record_cancelled(&cancelled(name, &["a", "b", "c", "d"]))
        .await;
    assert!(failed.is_empty(), "campaign contract, {case}: {failed:?}");
    let e = get_one(c, case, name).await;
    assert_eq!(
        (e.cancelled, e.version, e.state.code()),
        (4, 1, "cancelled"),
        "campaign contract, {case}: after a redelivery"
    );
    let all = c
        .get_all()
        .await
        .unwrap_or_else(|e| panic!("campaign contract, {case}: get_all: {e}"));
    assert!(
        all.iter().any(|e| e.campaign == other && e.cancelled == 1),
        "campaign contract, {case}: get_all lists a campaign with cancelled records"
    );
    assert!(
        c.record_cancelled(&[]).await.is_empty(),
        "campaign contract, {case}: nothing to record"
    );
}
