//! The [`Ledger`] contract's batch cases: `claim_many` and `record_sent_many` answer every entry
//! exactly as the single `claim` / `record_sent` would (fencing included), in the order given.

use super::ledger::{ClaimKind, EXPIRY_WAIT, LONG_LEASE, SHORT_LEASE, claim_kind};
use crate::model::{MessageId, UniqueCode};
use crate::ports::Held;
use crate::ports::{Claim, ClaimToken, Ledger, Recorded};

fn code(prefix: &str, case: &str, suffix: &str) -> UniqueCode {
    UniqueCode(format!("{prefix}-{case}-{suffix}"))
}

async fn claim<L: Ledger>(
    ledger: &L,
    case: &str,
    code: &UniqueCode,
    lease: std::time::Duration,
) -> Claim {
    ledger
        .claim(code, lease)
        .await
        .unwrap_or_else(|e| panic!("ledger contract, {case}: claim {code}: {e}"))
}

async fn claim_many<L: Ledger>(ledger: &L, case: &str, codes: &[UniqueCode]) -> Vec<Claim> {
    let answers = ledger.claim_many(codes, LONG_LEASE).await;
    assert_eq!(
        answers.len(),
        codes.len(),
        "ledger contract, {case}: claim_many of {} codes answered {} entries",
        codes.len(),
        answers.len()
    );
    answers
        .into_iter()
        .zip(codes)
        .map(|(a, c)| a.unwrap_or_else(|e| panic!("ledger contract, {case}: claim_many {c}: {e}")))
        .collect()
}

fn token(claim: &Claim, case: &str) -> ClaimToken {
    claim
        .token()
        .unwrap_or_else(|| panic!("ledger contract, {case}: {claim:?} holds no claim"))
        .clone()
}

fn sent(id: &str) -> ClaimKind {
    ClaimKind::AlreadySent(MessageId(id.to_string()))
}

/// Run the batch cases that need no concurrent conditional writes (see
/// [`ledger_sequential`](super::ledger_sequential)).
pub(super) async fn sequential<L: Ledger>(ledger: &L, prefix: &str) {
    claim_many_answers_each_code_as_claim(ledger, prefix).await;
    record_sent_many_is_fenced_per_entry(ledger, prefix).await;
    empty_batches_answer_nothing(ledger).await;
}

/// One `claim_many` over a fresh code, a code claimed by a live lease, a sent code and a code
/// whose lease expired answers `Claimed`, `InFlight` (with the lease left), `AlreadySent` (with
/// the recorded id) and `Reclaimed`, in that order, with fresh distinct tokens; the codes it
/// took are then in flight, and a token it issued releases its own claim.
async fn claim_many_answers_each_code_as_claim<L: Ledger>(ledger: &L, prefix: &str) {
    let case = "claim_many_answers_each_code_as_claim";
    let [fresh, live, done, expired] =
        ["fresh", "live", "done", "expired"].map(|s| code(prefix, case, s));
    claim(ledger, case, &live, LONG_LEASE).await;
    let c = claim(ledger, case, &done, LONG_LEASE).await;
    ledger
        .record_sent(
            Held {
                code: &done,
                token: &token(&c, case),
            },
            &MessageId("ses-many-done".into()),
        )
        .await
        .unwrap_or_else(|e| panic!("ledger contract, {case}: record_sent {done}: {e}"));
    let stale = claim(ledger, case, &expired, SHORT_LEASE).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    let codes = [fresh.clone(), live.clone(), done.clone(), expired.clone()];
    let got = claim_many(ledger, case, &codes).await;
    let kinds: Vec<ClaimKind> = got.iter().map(claim_kind).collect();
    assert_eq!(
        kinds,
        vec![
            ClaimKind::Claimed,
            ClaimKind::InFlight,
            sent("ses-many-done"),
            ClaimKind::Reclaimed
        ],
        "ledger contract, {case}: claim_many of {codes:?}"
    );
    match &got[1] {
        Claim::InFlight { lease_left } => assert!(
            *lease_left <= LONG_LEASE
                && *lease_left >= LONG_LEASE - std::time::Duration::from_secs(10),
            "ledger contract, {case}: InFlight lease_left {lease_left:?}"
        ),
        other => panic!("ledger contract, {case}: {other:?} is not InFlight"),
    }
    let (t_fresh, t_expired) = (token(&got[0], case), token(&got[3], case));
    assert!(
        t_fresh != t_expired && t_expired != token(&stale, case),
        "ledger contract, {case}: tokens repeat: {t_fresh:?}, {t_expired:?}, stale {stale:?}"
    );
    for c in [&fresh, &expired] {
        let again = claim(ledger, case, c, LONG_LEASE).await;
        assert_eq!(
            claim_kind(&again),
            ClaimKind::InFlight,
            "ledger contract, {case}: {c} after claim_many"
        );
    }
    // Fencing holds for the batch's tokens: the stale token releases nothing, its own does.
    ledger
        .release(Held {
            code: &expired,
            token: &token(&stale, case),
        })
        .await
        .unwrap_or_else(|e| panic!("ledger contract, {case}: release {expired}: {e}"));
    let again = claim(ledger, case, &expired, LONG_LEASE).await;
    assert_eq!(
        claim_kind(&again),
        ClaimKind::InFlight,
        "ledger contract, {case}: stale release"
    );
    ledger
        .release(Held {
            code: &fresh,
            token: &t_fresh,
        })
        .await
        .unwrap_or_else(|e| panic!("ledger contract, {case}: release {fresh}: {e}"));
    let again = claim(ledger, case, &fresh, LONG_LEASE).await;
    assert_eq!(
        claim_kind(&again),
        ClaimKind::Claimed,
        "ledger contract, {case}: released by its token"
    );
}

/// One `record_sent_many` records each entry as `record_sent` would: `Owned` under the live
/// claim's token, `Superseded` (and recorded, the first id kept) under a token another attempt
/// re-took the claim from, `Owned` for a code whose claim row is gone (a send is never
/// forgotten); a second record never replaces the first id.
async fn record_sent_many_is_fenced_per_entry<L: Ledger>(ledger: &L, prefix: &str) {
    let case = "record_sent_many_is_fenced_per_entry";
    let [own, retaken, vanished] = ["own", "retaken", "vanished"].map(|s| code(prefix, case, s));
    let own_claim = claim(ledger, case, &own, LONG_LEASE).await;
    let stale = claim(ledger, case, &retaken, SHORT_LEASE).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    let current = claim(ledger, case, &retaken, LONG_LEASE).await;
    assert_eq!(
        claim_kind(&current),
        ClaimKind::Reclaimed,
        "ledger contract, {case}"
    );
    let gone = claim(ledger, case, &vanished, LONG_LEASE).await;
    ledger
        .release(Held {
            code: &vanished,
            token: &token(&gone, case),
        })
        .await
        .unwrap_or_else(|e| panic!("ledger contract, {case}: release {vanished}: {e}"));
    let batch = vec![
        (
            own.clone(),
            token(&own_claim, case),
            MessageId("ses-own".into()),
        ),
        (
            retaken.clone(),
            token(&stale, case),
            MessageId("ses-stale".into()),
        ),
        (
            vanished.clone(),
            token(&gone, case),
            MessageId("ses-vanished".into()),
        ),
    ];
    let got: Vec<Recorded> = ledger
        .record_sent_many(&batch)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("ledger contract, {case}: record_sent_many: {e}")))
        .collect();
    assert_eq!(
        got,
        vec![Recorded::Owned, Recorded::Superseded, Recorded::Owned],
        "ledger contract, {case}: record_sent_many of {batch:?}"
    );
    let second = vec![(
        retaken.clone(),
        token(&current, case),
        MessageId("ses-second".into()),
    )];
    let got = ledger.record_sent_many(&second).await;
    assert!(
        matches!(got.as_slice(), [Ok(Recorded::Owned)]),
        "ledger contract, {case}: record_sent_many under the current token answered {got:?}"
    );
    for (c, id) in [
        (&own, "ses-own"),
        (&retaken, "ses-stale"),
        (&vanished, "ses-vanished"),
    ] {
        let again = claim(ledger, case, c, LONG_LEASE).await;
        assert_eq!(
            claim_kind(&again),
            sent(id),
            "ledger contract, {case}: {c} after record_sent_many"
        );
    }
}

/// Empty batches answer empty lists.
async fn empty_batches_answer_nothing<L: Ledger>(ledger: &L) {
    assert!(
        ledger.claim_many(&[], LONG_LEASE).await.is_empty(),
        "ledger contract: claim_many of nothing"
    );
    assert!(
        ledger.record_sent_many(&[]).await.is_empty(),
        "ledger contract: record_sent_many of nothing"
    );
}

/// One code twice in one `claim_many` (two records of a batch with one unique code): exactly one
/// entry takes it, the other answers `InFlight`. Needs atomic conditional writes (the default
/// `claim_many` claims concurrently).
pub(super) async fn a_code_twice_in_one_call_has_one_winner<L: Ledger>(ledger: &L, prefix: &str) {
    let case = "a_code_twice_in_one_call_has_one_winner";
    let c = code(prefix, case, "twice");
    let kinds: Vec<ClaimKind> = claim_many(ledger, case, &[c.clone(), c.clone()])
        .await
        .iter()
        .map(claim_kind)
        .collect();
    let winners = kinds.iter().filter(|k| **k == ClaimKind::Claimed).count();
    let in_flight = kinds.iter().filter(|k| **k == ClaimKind::InFlight).count();
    assert!(
        winners == 1 && in_flight == 1,
        "ledger contract, {case}: claim_many of one code twice answered {kinds:?}"
    );
}
