//! The [`CustomerStore`] contract.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Customer, UserId};
use crate::ports::CustomerStore;

const FIRST: [&str; 8] = [
    "Ana", "Chloé", "Zoë", "Åsa", "Ngozi", "Dmitri", "Leïla", "O'Brien",
];
const CITY: [&str; 4] = ["Lisbon", "São Paulo", "Kraków", "Osaka"];

/// The customers a store must hold before [`customer_store`] runs: ids `"1"` to `"250"`
/// (the last one without attributes) and `"ada_lovelace"`; string attributes with accents and
/// apostrophes.
pub fn customer_fixture() -> Vec<Customer> {
    let mut customers: Vec<Customer> = (1..=250u32)
        .map(|i| {
            let attributes = if i == 250 {
                BTreeMap::new()
            } else {
                BTreeMap::from([
                    ("first_name".to_string(), FIRST[i as usize % 8].to_string()),
                    ("city".to_string(), CITY[i as usize % 4].to_string()),
                    ("plan".to_string(), format!("plan-{}", i % 3)),
                ])
            };
            Customer {
                user_id: UserId(i.to_string()),
                attributes,
            }
        })
        .collect();
    customers.push(Customer {
        user_id: UserId("ada_lovelace".into()),
        attributes: BTreeMap::from([("first_name".to_string(), "Ada".to_string())]),
    });
    customers
}

fn ids(ids: &[&str]) -> Vec<UserId> {
    ids.iter().map(|s| UserId(s.to_string())).collect()
}

async fn get<S: CustomerStore>(store: &S, case: &str, ids: &[UserId]) -> HashMap<UserId, Customer> {
    store.batch_get(ids).await.unwrap_or_else(|e| {
        panic!(
            "customer store contract, {case}: batch_get of {} ids failed: {e}",
            ids.len()
        )
    })
}

/// Run every customer-store case against `store`, seeded with [`customer_fixture`].
pub async fn customer_store<S: CustomerStore>(store: &S) {
    let fixture: HashMap<UserId, Customer> = customer_fixture()
        .into_iter()
        .map(|c| (c.user_id.clone(), c))
        .collect();
    let expect = |case: &str, got: &HashMap<UserId, Customer>, want: &[&str]| {
        let want: HashMap<UserId, Customer> = ids(want)
            .into_iter()
            .map(|id| (id.clone(), fixture[&id].clone()))
            .collect();
        assert_eq!(got, &want, "customer store contract, {case}");
    };

    // Known ids come back with every attribute, exactly as stored.
    let case = "known ids, attributes verbatim";
    let want = ["1", "2", "3", "7", "250", "ada_lovelace"];
    expect(case, &get(store, case, &ids(&want)).await, &want);

    // More ids than one DynamoDB BatchGetItem takes (100): one call, every customer.
    let case = "251 ids in one call";
    let all: Vec<UserId> = fixture.keys().cloned().collect();
    let got = get(store, case, &all).await;
    assert_eq!(got, fixture, "customer store contract, {case}");

    // Unknown ids are absent, not an error, and do not hide the known ones: the longest id
    // a request may carry, a zero-padded number, another case.
    let case = "unknown ids absent";
    let long = "u".repeat(64);
    let asked = ["5", "999999", "007", "Ada_Lovelace", &long, "ada_lovelace"];
    expect(
        case,
        &get(store, case, &ids(&asked)).await,
        &["5", "ada_lovelace"],
    );

    let case = "only unknown ids";
    expect(
        case,
        &get(store, case, &ids(&["0", "251", "nobody"])).await,
        &[],
    );

    let case = "no ids";
    expect(case, &get(store, case, &[]).await, &[]);

    // Duplicates are answered once.
    let case = "duplicate ids";
    let got = get(store, case, &ids(&["1", "1", "2", "1", "2"])).await;
    expect(case, &got, &["1", "2"]);

    // Duplicates across more than 100 ids (chunk boundaries of the DynamoDB adapter).
    let case = "duplicates over 100 ids";
    let mut many: Vec<UserId> = (1..=150).map(|i| UserId(i.to_string())).collect();
    many.extend((1..=150).map(|i| UserId(i.to_string())));
    let got = get(store, case, &many).await;
    assert_eq!(got.len(), 150, "customer store contract, {case}");
}
