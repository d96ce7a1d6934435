//! The campaign control plane in memory: the port contract, and `steer` over it (conditional
//! on the version an operator saw, never retrying a lost race).

use sesload_core::memory::MemoryCampaigns;
use sesload_core::{
    CampaignCommand, CampaignControl, CampaignEntry, CampaignState, SteerError, Steered, contract,
    steer,
};

#[tokio::test]
async fn memory_campaigns_keep_the_campaign_control_contract() {
    contract::campaign_control(&MemoryCampaigns::new()).await;
}

fn pause(reason: &str) -> CampaignCommand {
    CampaignCommand::Pause {
        reason: reason.into(),
    }
}

#[tokio::test]
async fn steering_reads_applies_and_writes_on_the_version_read() {
    let c = MemoryCampaigns::new();
    let Steered::Changed(e) = steer(&c, "run-1", &pause("wrong list"), "cli:alice", 10, None)
        .await
        .unwrap()
    else {
        panic!("a running campaign is paused")
    };
    assert_eq!(
        (e.state.code(), e.version, e.updated_by.as_str()),
        ("paused", 1, "cli:alice")
    );
    // Pausing again changes nothing (and keeps who paused it and why).
    let again = steer(&c, "run-1", &pause("other"), "cli:bob", 11, None)
        .await
        .unwrap();
    assert_eq!(again, Steered::Unchanged(e.clone()));
    // A guardrail meeting an operator's pause leaves it.
    let auto = CampaignCommand::AutoPause {
        reason: "bounce rate".into(),
    };
    assert!(matches!(
        steer(&c, "run-1", &auto, "guardrail", 12, None)
            .await
            .unwrap(),
        Steered::Unchanged(_)
    ));
    // An operator acting on what they saw at version 0 finds the campaign changed.
    let err = steer(
        &c,
        "run-1",
        &CampaignCommand::Resume,
        "cli:bob",
        13,
        Some(0),
    )
    .await
    .unwrap_err();
    match &err {
        SteerError::Conflict { current } => assert_eq!(**current, e),
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(err.to_string().contains("changed meanwhile"), "{err}");
    // At the version they saw, it applies.
    let Steered::Changed(e) = steer(
        &c,
        "run-1",
        &CampaignCommand::Resume,
        "cli:bob",
        14,
        Some(1),
    )
    .await
    .unwrap() else {
        panic!("resumed")
    };
    assert_eq!((e.state, e.version), (CampaignState::Running, 2));
}

#[tokio::test]
async fn a_cancelled_campaign_stays_cancelled_and_bad_names_are_refused() {
    let c = MemoryCampaigns::new();
    steer(&c, "run-2", &CampaignCommand::Cancel, "cli", 1, None)
        .await
        .unwrap();
    let err = steer(&c, "run-2", &CampaignCommand::Resume, "cli", 2, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be resumed"), "{err}");
    let err = steer(&c, "bad name", &CampaignCommand::Cancel, "cli", 2, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid campaign name \"bad name\""), "{err}");
    assert_eq!(
        c.get(&["bad name".into()]).await.unwrap()["bad name"],
        CampaignEntry::running("bad name"),
        "nothing written"
    );
}

#[tokio::test]
async fn an_unavailable_store_is_a_port_error() {
    let c = MemoryCampaigns::new();
    c.set_unavailable(true);
    let err = steer(&c, "run-3", &CampaignCommand::Cancel, "cli", 1, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SteerError::Port(_)), "{err}");
}
