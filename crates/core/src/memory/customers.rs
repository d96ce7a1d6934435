//! [`MemoryCustomers`]: a customer table in a map.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::lock;
use crate::model::{Customer, UserId};
use crate::ports::{CustomerStore, PortError};

/// [`CustomerStore`] over a map. Unknown ids are absent from an answer, like every adapter.
#[derive(Debug, Default)]
pub struct MemoryCustomers {
    customers: Mutex<HashMap<UserId, Customer>>,
    unavailable: AtomicBool,
    calls: AtomicUsize,
}

impl MemoryCustomers {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table holding `customers`.
    pub fn from_customers(customers: impl IntoIterator<Item = Customer>) -> Self {
        let s = Self::new();
        for c in customers {
            s.insert(c);
        }
        s
    }

    /// Customers with the numeric ids in `ids` (`"1"`, `"2"`, ...), each with one attribute,
    /// `first_name` = `Customer<id>`.
    pub fn numbered(ids: RangeInclusive<u64>) -> Self {
        Self::from_customers(ids.map(|i| Customer {
            user_id: UserId(i.to_string()),
            attributes: BTreeMap::from([("first_name".to_string(), format!("Customer{i}"))]),
        }))
    }

    /// Add or replace one customer.
    pub fn insert(&self, customer: Customer) {
        lock(&self.customers).insert(customer.user_id.clone(), customer);
    }

    /// While `true`, every lookup fails (a table that cannot be reached).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Number of `batch_get` calls so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Number of customers stored.
    pub fn len(&self) -> usize {
        lock(&self.customers).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CustomerStore for MemoryCustomers {
    async fn batch_get(&self, ids: &[UserId]) -> Result<HashMap<UserId, Customer>, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "customers.batch_get",
                format!(
                    "in-memory customer table made unavailable ({} ids asked)",
                    ids.len()
                ),
            ));
        }
        let customers = lock(&self.customers);
        Ok(ids
            .iter()
            .filter_map(|id| customers.get(id).map(|c| (id.clone(), c.clone())))
            .collect())
    }
}
