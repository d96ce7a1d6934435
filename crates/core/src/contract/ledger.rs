//! The [`Ledger`] contract.
//!
//! Extending it: every case talks to the ledger through [`Case`] (`claim`, `expect`, `record`,
//! `release`) and compares [`ClaimKind`]s, never `Claim` values ([`claim_kind`] drops the
//! claim's token and lease time; cases that look at them say so). `record` / `release`
//! receive the claim they act for and present its token (fencing). New behaviours are one
//! more `async fn` case and one more line in [`ledger`].

use crate::ports::Held;
use std::time::Duration;

use futures::future::join_all;

use super::run_prefix;
use crate::model::{MessageId, UniqueCode};
use crate::ports::{Claim, ClaimToken, Ledger, Recorded};

/// A lease that outlives every case.
pub const LONG_LEASE: Duration = Duration::from_secs(300);
/// A lease the cases wait out.
pub const SHORT_LEASE: Duration = Duration::from_millis(50);
/// How long a case waits for [`SHORT_LEASE`] to expire (three times the lease: stores keep
/// time in milliseconds and compare with their own clock).
pub const EXPIRY_WAIT: Duration = Duration::from_millis(150);

/// What a claim answered, without the data a claim carries (so that cases compare answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimKind {
    Claimed,
    Reclaimed,
    AlreadySent(MessageId),
    InFlight,
}

/// The kind of `claim`.
pub fn claim_kind(claim: &Claim) -> ClaimKind {
    match claim {
        Claim::Claimed(_) => ClaimKind::Claimed,
        Claim::Reclaimed(_) => ClaimKind::Reclaimed,
        Claim::AlreadySent(id) => ClaimKind::AlreadySent(id.clone()),
        Claim::InFlight { .. } => ClaimKind::InFlight,
    }
}

/// A token no ledger issued (for a code the case never claimed).
fn foreign_token() -> ClaimToken {
    ClaimToken("contract-never-issued".into())
}

fn token_of<'c>(claim: &'c Claim, case: &str) -> &'c ClaimToken {
    claim
        .token()
        .unwrap_or_else(|| panic!("ledger contract, {case}: {claim:?} holds no claim to act for"))
}

fn sent(id: &str) -> ClaimKind {
    ClaimKind::AlreadySent(MessageId(id.to_string()))
}

/// One case: a name for the failure messages and the ledger under test.
struct Case<'a, L> {
    ledger: &'a L,
    name: &'static str,
    prefix: &'a str,
}

impl<L: Ledger> Case<'_, L> {
    fn code(&self, suffix: &str) -> UniqueCode {
        UniqueCode(format!("{}-{}-{suffix}", self.prefix, self.name))
    }

    async fn claim(&self, code: &UniqueCode, lease: Duration) -> Claim {
        self.ledger
            .claim(code, lease)
            .await
            .unwrap_or_else(|e| panic!("ledger contract, {}: claim {code}: {e}", self.name))
    }

    /// Claim and check what kind of answer came back.
    async fn expect(&self, code: &UniqueCode, lease: Duration, want: ClaimKind) -> Claim {
        let got = self.claim(code, lease).await;
        assert_eq!(
            claim_kind(&got),
            want,
            "ledger contract, {}: claim {code} (lease {lease:?})",
            self.name
        );
        got
    }

    /// Record the send made under `claim`; the claim was still this attempt's.
    async fn record(&self, code: &UniqueCode, claim: &Claim, message_id: &str) {
        self.record_expect(code, claim, message_id, Recorded::Owned)
            .await;
    }

    /// Record the send made under `claim` and check what the ledger found.
    async fn record_expect(
        &self,
        code: &UniqueCode,
        claim: &Claim,
        message_id: &str,
        want: Recorded,
    ) {
        let got = self
            .ledger
            .record_sent(
                Held {
                    code,
                    token: token_of(claim, self.name),
                },
                &MessageId(message_id.to_string()),
            )
            .await
            .unwrap_or_else(|e| panic!("ledger contract, {}: record_sent {code}: {e}", self.name));
        assert_eq!(
            got, want,
            "ledger contract, {}: record_sent {code} under {claim:?}",
            self.name
        );
    }

    /// Give `claim` back (`None`: a code this case never claimed, with a token no ledger
    /// issued).
    async fn release(&self, code: &UniqueCode, claim: Option<&Claim>) {
        let foreign = foreign_token();
        let token = claim.map_or(&foreign, |c| token_of(c, self.name));
        self.ledger
            .release(Held { code, token })
            .await
            .unwrap_or_else(|e| panic!("ledger contract, {}: release {code}: {e}", self.name));
    }

    /// Renew `claim`'s lease (`None`: a token no ledger issued); whether it was renewed.
    async fn extend(&self, code: &UniqueCode, claim: Option<&Claim>, lease: Duration) -> bool {
        let foreign = foreign_token();
        let token = claim.map_or(&foreign, |c| token_of(c, self.name));
        self.ledger
            .extend(Held { code, token }, lease)
            .await
            .unwrap_or_else(|e| panic!("ledger contract, {}: extend {code}: {e}", self.name))
    }
}

/// Run every ledger case against `ledger`.
pub async fn ledger<L: Ledger>(ledger: &L) {
    let prefix = ledger_sequential(ledger).await;
    concurrent_claims_have_one_winner(Case {
        ledger,
        name: "concurrent_claims_have_one_winner",
        prefix: &prefix,
    })
    .await;
    super::ledger_many::a_code_twice_in_one_call_has_one_winner(ledger, &prefix).await;
}

/// Every ledger case but the concurrent one, for emulators that do not serialise conditional
/// writes (moto checks a condition and writes in separate steps; DynamoDB's conditional write
/// is atomic, and that is what the DynamoDB ledger relies on). Returns the key prefix it used.
pub async fn ledger_sequential<L: Ledger>(ledger: &L) -> String {
    let prefix = run_prefix("ledger");
    let case = |name| Case {
        ledger,
        name,
        prefix: &prefix,
    };
    claim_then_in_flight(case("claim_then_in_flight")).await;
    expired_lease_is_reclaimed(case("expired_lease_is_reclaimed")).await;
    zero_lease_is_expired_at_once(case("zero_lease_is_expired_at_once")).await;
    sent_is_already_sent_forever(case("sent_is_already_sent_forever")).await;
    released_claim_is_claimed_afresh(case("released_claim_is_claimed_afresh")).await;
    release_never_undoes_a_send(case("release_never_undoes_a_send")).await;
    release_of_an_unclaimed_code_is_harmless(case("release_of_an_unclaimed_code_is_harmless"))
        .await;
    reclaimed_then_sent(case("reclaimed_then_sent")).await;
    record_after_the_lease_expired_still_records(case(
        "record_after_the_lease_expired_still_records",
    ))
    .await;
    codes_are_independent(case("codes_are_independent")).await;
    codes_are_kept_verbatim(case("codes_are_kept_verbatim")).await;
    in_flight_tells_the_lease_left(case("in_flight_tells_the_lease_left")).await;
    every_claim_has_a_fresh_token(case("every_claim_has_a_fresh_token")).await;
    stale_release_keeps_the_new_claim(case("stale_release_keeps_the_new_claim")).await;
    release_with_another_token_changes_nothing(case("release_with_another_token_changes_nothing"))
        .await;
    stale_record_is_superseded_and_kept(case("stale_record_is_superseded_and_kept")).await;
    extended_claim_outlives_its_first_lease(case("extended_claim_outlives_its_first_lease")).await;
    extend_never_revives_what_is_not_ours(case("extend_never_revives_what_is_not_ours")).await;
    super::ledger_many::sequential(ledger, &prefix).await;
    prefix
}

/// First claim: `Claimed`. Any claim while that lease is live: `InFlight`, whatever lease
/// it asks for.
async fn claim_then_in_flight<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
    c.expect(&code, LONG_LEASE, ClaimKind::InFlight).await;
    c.expect(&code, SHORT_LEASE, ClaimKind::InFlight).await;
}

/// A claim after the lease expired without a record: `Reclaimed`, with a new lease.
async fn expired_lease_is_reclaimed<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    c.expect(&code, LONG_LEASE, ClaimKind::Reclaimed).await;
    c.expect(&code, LONG_LEASE, ClaimKind::InFlight).await;
}

/// A lease ends at `claimed_at + lease` exactly: a zero lease is expired at once, even
/// within the same millisecond (a lease is live while `lease_until > now`).
async fn zero_lease_is_expired_at_once<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    c.expect(&code, Duration::ZERO, ClaimKind::Claimed).await;
    c.expect(&code, Duration::ZERO, ClaimKind::Reclaimed).await;
    c.expect(&code, LONG_LEASE, ClaimKind::Reclaimed).await;
    c.expect(&code, LONG_LEASE, ClaimKind::InFlight).await;
}

/// After `record_sent`, every claim answers `AlreadySent` with the recorded id, also once
/// the claim's lease is long past.
async fn sent_is_already_sent_forever<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let claim = c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    c.record(&code, &claim, "ses-sent-1").await;
    c.expect(&code, LONG_LEASE, sent("ses-sent-1")).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    c.expect(&code, SHORT_LEASE, sent("ses-sent-1")).await;
}

/// `release` gives an unsent claim back: the next claim is a fresh `Claimed` (not an
/// ambiguous `Reclaimed`).
async fn released_claim_is_claimed_afresh<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let claim = c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
    c.release(&code, Some(&claim)).await;
    c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
}

/// `release` of a code already sent changes nothing.
async fn release_never_undoes_a_send<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let claim = c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
    c.record(&code, &claim, "ses-kept-1").await;
    c.release(&code, Some(&claim)).await;
    c.expect(&code, LONG_LEASE, sent("ses-kept-1")).await;
}

/// `release` of a code nobody claimed succeeds and leaves nothing behind.
async fn release_of_an_unclaimed_code_is_harmless<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    c.release(&code, None).await;
    c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
}

/// A reclaimed code is recorded like a claimed one.
async fn reclaimed_then_sent<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    let claim = c.expect(&code, LONG_LEASE, ClaimKind::Reclaimed).await;
    c.record(&code, &claim, "ses-reclaimed-1").await;
    c.expect(&code, LONG_LEASE, sent("ses-reclaimed-1")).await;
}

/// A send that returned after its lease expired (nobody reclaimed meanwhile) is still
/// recorded: a send is never forgotten.
async fn record_after_the_lease_expired_still_records<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let claim = c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    c.record(&code, &claim, "ses-late-1").await;
    c.expect(&code, LONG_LEASE, sent("ses-late-1")).await;
}

/// Claims, records and releases of one code never touch another.
async fn codes_are_independent<L: Ledger>(c: Case<'_, L>) {
    let (a, b) = (c.code("a"), c.code("b"));
    let claim_a = c.expect(&a, LONG_LEASE, ClaimKind::Claimed).await;
    let claim_b = c.expect(&b, LONG_LEASE, ClaimKind::Claimed).await;
    c.record(&a, &claim_a, "ses-a").await;
    c.expect(&b, LONG_LEASE, ClaimKind::InFlight).await;
    c.release(&b, Some(&claim_b)).await;
    c.expect(&a, LONG_LEASE, sent("ses-a")).await;
    c.expect(&b, LONG_LEASE, ClaimKind::Claimed).await;
}

/// Codes are compared exactly: case matters, and the longest code a request may carry
/// (128 characters of letters, digits, `_`, `-`, `.`, `:`) works like any other.
async fn codes_are_kept_verbatim<L: Ledger>(c: Case<'_, L>) {
    let upper = c.code("Code-X");
    let lower = c.code("code-x");
    let stem = c.code("long.x:");
    let long = UniqueCode(format!("{stem}{}", "9".repeat(128 - stem.0.len())));
    assert_eq!(long.0.len(), 128);
    c.expect(&upper, LONG_LEASE, ClaimKind::Claimed).await;
    c.expect(&lower, LONG_LEASE, ClaimKind::Claimed).await;
    let claim = c.expect(&long, LONG_LEASE, ClaimKind::Claimed).await;
    c.record(&long, &claim, "ses-long").await;
    c.expect(&long, LONG_LEASE, sent("ses-long")).await;
    c.expect(&upper, LONG_LEASE, ClaimKind::InFlight).await;
}

/// Concurrent claims of one code: exactly one `Claimed`, every other one `InFlight`.
async fn concurrent_claims_have_one_winner<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("race");
    let answers = join_all((0..16).map(|_| c.claim(&code, LONG_LEASE))).await;
    let kinds: Vec<ClaimKind> = answers.iter().map(claim_kind).collect();
    let winners = kinds.iter().filter(|k| **k == ClaimKind::Claimed).count();
    let in_flight = kinds.iter().filter(|k| **k == ClaimKind::InFlight).count();
    assert!(
        winners == 1 && in_flight == kinds.len() - 1,
        "ledger contract, {}: 16 concurrent claims answered {kinds:?}",
        c.name
    );
}

/// `InFlight` says how long the live lease still runs: at most the lease asked for, and not
/// much less right after the claim.
async fn in_flight_tells_the_lease_left<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
    let claim = c.claim(&code, LONG_LEASE).await;
    match claim {
        Claim::InFlight { lease_left } => assert!(
            lease_left <= LONG_LEASE && lease_left >= LONG_LEASE - Duration::from_secs(10),
            "ledger contract, {}: lease_left {lease_left:?} right after a claim of {LONG_LEASE:?}",
            c.name
        ),
        other => panic!(
            "ledger contract, {}: second claim answered {other:?}, not InFlight",
            c.name
        ),
    }
}

/// Every claim that takes a code carries a token no earlier claim of it had.
async fn every_claim_has_a_fresh_token<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let first = c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    let second = c.expect(&code, LONG_LEASE, ClaimKind::Reclaimed).await;
    c.release(&code, Some(&second)).await;
    let third = c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
    let tokens = [
        token_of(&first, c.name),
        token_of(&second, c.name),
        token_of(&third, c.name),
    ];
    assert!(
        tokens[0] != tokens[1] && tokens[1] != tokens[2] && tokens[0] != tokens[2],
        "ledger contract, {}: tokens repeat: {tokens:?}",
        c.name
    );
}

/// Fencing: an attempt whose lease expired and that failed afterwards releases with its old
/// token; the claim the next attempt re-took meanwhile stays (no third attempt may claim).
async fn stale_release_keeps_the_new_claim<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let stale = c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    c.expect(&code, LONG_LEASE, ClaimKind::Reclaimed).await;
    c.release(&code, Some(&stale)).await;
    c.expect(&code, LONG_LEASE, ClaimKind::InFlight).await;
}

/// A release presenting a token that does not hold the claim leaves the claim live.
async fn release_with_another_token_changes_nothing<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    c.expect(&code, LONG_LEASE, ClaimKind::Claimed).await;
    c.release(&code, None).await;
    c.expect(&code, LONG_LEASE, ClaimKind::InFlight).await;
}

/// Fencing: a send that returns after its lease expired and another attempt re-took the claim
/// is recorded as `Superseded` (that attempt may send too: an ambiguous retry), and the code
/// is sent from then on. The first message id recorded stays.
async fn stale_record_is_superseded_and_kept<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let stale = c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    let current = c.expect(&code, LONG_LEASE, ClaimKind::Reclaimed).await;
    c.record_expect(&code, &stale, "ses-first", Recorded::Superseded)
        .await;
    c.expect(&code, LONG_LEASE, sent("ses-first")).await;
    c.record_expect(&code, &current, "ses-second", Recorded::Owned)
        .await;
    c.expect(&code, LONG_LEASE, sent("ses-first")).await;
}

/// A heartbeat: `extend` renews the holder's lease from now, so a claim whose send is still in
/// flight stays `InFlight` past its first lease (no other attempt re-takes it), also when the
/// renewal comes after that lease ended (nobody had re-taken it). The send is then recorded as
/// the holder's own.
async fn extended_claim_outlives_its_first_lease<L: Ledger>(c: Case<'_, L>) {
    let code = c.code("a");
    let claim = c.expect(&code, SHORT_LEASE, ClaimKind::Claimed).await;
    assert!(
        c.extend(&code, Some(&claim), LONG_LEASE).await,
        "ledger contract, {}: extend of a live claim by its holder",
        c.name
    );
    tokio::time::sleep(EXPIRY_WAIT).await;
    c.expect(&code, SHORT_LEASE, ClaimKind::InFlight).await;
    let late = c.code("late");
    let late_claim = c.expect(&late, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    assert!(
        c.extend(&late, Some(&late_claim), LONG_LEASE).await,
        "ledger contract, {}: extend of an expired claim nobody re-took",
        c.name
    );
    c.expect(&late, SHORT_LEASE, ClaimKind::InFlight).await;
    c.record(&code, &claim, "ses-extended-1").await;
    c.expect(&code, LONG_LEASE, sent("ses-extended-1")).await;
}

/// `extend` answers `false` and changes nothing for a claim re-taken by another attempt (the
/// new holder's lease stays), a code already sent, a released claim and a code never claimed
/// (no claim is created).
async fn extend_never_revives_what_is_not_ours<L: Ledger>(c: Case<'_, L>) {
    let (retaken, sent_code, released, never) = (
        c.code("retaken"),
        c.code("sent"),
        c.code("released"),
        c.code("never"),
    );
    let stale = c.expect(&retaken, SHORT_LEASE, ClaimKind::Claimed).await;
    tokio::time::sleep(EXPIRY_WAIT).await;
    c.expect(&retaken, SHORT_LEASE, ClaimKind::Reclaimed).await;
    let refused = |what: &str| format!("ledger contract, {}: extend of {what}", c.name);
    assert!(
        !c.extend(&retaken, Some(&stale), LONG_LEASE).await,
        "{}",
        refused("a claim re-taken by another attempt")
    );
    tokio::time::sleep(EXPIRY_WAIT).await;
    // The stale extension did not lengthen the current (short) lease.
    c.expect(&retaken, LONG_LEASE, ClaimKind::Reclaimed).await;

    let claim = c.expect(&sent_code, LONG_LEASE, ClaimKind::Claimed).await;
    c.record(&sent_code, &claim, "ses-sent-x").await;
    assert!(
        !c.extend(&sent_code, Some(&claim), LONG_LEASE).await,
        "{}",
        refused("a sent code")
    );
    c.expect(&sent_code, LONG_LEASE, sent("ses-sent-x")).await;

    let claim = c.expect(&released, LONG_LEASE, ClaimKind::Claimed).await;
    c.release(&released, Some(&claim)).await;
    assert!(
        !c.extend(&released, Some(&claim), LONG_LEASE).await,
        "{}",
        refused("a released claim")
    );
    c.expect(&released, LONG_LEASE, ClaimKind::Claimed).await;

    assert!(
        !c.extend(&never, None, LONG_LEASE).await,
        "{}",
        refused("a code never claimed")
    );
    c.expect(&never, LONG_LEASE, ClaimKind::Claimed).await;
}
