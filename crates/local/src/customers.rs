//! Test customers for the local customer store: `sesload seed`, the benchmarks' backlogs and
//! `plan --verify` write the same deterministic attributes for user ids "1".."N".

use std::ops::Range;

use rusqlite::{Connection, params};
use sesload_core::{Customer, UserId};

use crate::db::{Db, DbError};

/// Attributes of seeded customer `i` (deterministic, so seeding is idempotent).
pub fn seed_customer(i: u64) -> Customer {
    const FIRST: [&str; 16] = [
        "Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Jia",
        "Kwame", "Leila", "Mateo", "Noor", "Oskar", "Priya",
    ];
    const LAST: [&str; 8] = [
        "Silva", "Okafor", "Müller", "Nakamura", "Haddad", "Kowalski", "Reyes", "Larsen",
    ];
    const CITY: [&str; 6] = ["Lisbon", "Lagos", "Berlin", "Osaka", "Beirut", "Lima"];
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert(
        "first_name".to_string(),
        FIRST[(i % 16) as usize].to_string(),
    );
    attributes.insert(
        "last_name".to_string(),
        LAST[((i / 16) % 8) as usize].to_string(),
    );
    attributes.insert("city".to_string(), CITY[(i % 6) as usize].to_string());
    attributes.insert(
        "plan".to_string(),
        if i.is_multiple_of(5) {
            "premium"
        } else {
            "basic"
        }
        .to_string(),
    );
    Customer {
        user_id: UserId(i.to_string()),
        attributes,
    }
}

/// Insert or replace customers on `c` (inside the caller's transaction or savepoint).
pub fn upsert_customers(c: &Connection, customers: &[Customer]) -> Result<usize, DbError> {
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO customers(user_id, attributes) VALUES (?1, ?2)
             ON CONFLICT(user_id) DO UPDATE SET attributes = excluded.attributes",
        )
        .map_err(DbError::sql("seed"))?;
    for cust in customers {
        let attrs = serde_json::to_string(&cust.attributes).unwrap_or_else(|_| "{}".into());
        stmt.execute(params![cust.user_id.0, attrs])
            .map_err(DbError::sql("seed"))?;
    }
    Ok(customers.len())
}

/// Seed customers `ids` through the running stack's writer, 2,000 per transaction.
pub async fn seed_customers(db: &Db, ids: Range<u64>) -> Result<usize, DbError> {
    let mut next = ids.start;
    while next < ids.end {
        let hi = (next + 2_000).min(ids.end);
        let batch: Vec<Customer> = (next..hi).map(seed_customer).collect();
        db.write(move |c| upsert_customers(c, &batch)).await?;
        next = hi;
    }
    Ok(usize::try_from(ids.end.saturating_sub(ids.start)).unwrap_or(usize::MAX))
}
