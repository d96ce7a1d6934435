//! A bounded, time-limited in-memory cache in front of any [`CustomerStore`].
//!
//! Lives as long as the warm Lambda instance (or the local stack process), so repeated
//! `user_id`s across batches cost no `BatchGetItem`. Unknown customers are not cached
//! (they may be seeded a moment later).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::model::{Customer, UserId};
use crate::ports::{CustomerStore, PortError};

/// Hits and misses of one lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: usize,
    pub misses: usize,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<UserId, (Customer, Instant)>,
    /// Insertion order, for eviction of the oldest entry when full.
    order: VecDeque<UserId>,
}

/// Caching wrapper; itself a [`CustomerStore`].
#[derive(Debug)]
pub struct CachedCustomerStore<S> {
    inner: S,
    capacity: usize,
    ttl: Duration,
    entries: Mutex<Entries>,
}

impl<S: CustomerStore> CachedCustomerStore<S> {
    /// `capacity == 0` or `ttl == 0` disables caching.
    pub fn new(inner: S, capacity: usize, ttl: Duration) -> Self {
        Self {
            inner,
            capacity,
            ttl,
            entries: Mutex::new(Entries::default()),
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn enabled(&self) -> bool {
        self.capacity > 0 && !self.ttl.is_zero()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of cached customers.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Look up `ids`: fresh cache entries first, then one `batch_get` for the rest.
    /// Duplicate ids count once.
    pub async fn get_counted(
        &self,
        ids: &[UserId],
    ) -> Result<(HashMap<UserId, Customer>, CacheStats), PortError> {
        let mut unique: Vec<UserId> = ids.to_vec();
        unique.sort();
        unique.dedup();
        let mut found = HashMap::with_capacity(unique.len());
        let mut missing = Vec::new();
        if self.enabled() {
            let now = Instant::now();
            let e = self.lock();
            for id in unique {
                match e.map.get(&id) {
                    Some((c, at)) if now.saturating_duration_since(*at) < self.ttl => {
                        found.insert(id, c.clone());
                    }
                    _ => missing.push(id),
                }
            }
        } else {
            missing = unique;
        }
        let stats = CacheStats {
            hits: found.len(),
            misses: missing.len(),
        };
        if !missing.is_empty() {
            let fetched = self.inner.batch_get(&missing).await?;
            if self.enabled() {
                let now = Instant::now();
                let mut e = self.lock();
                for (id, c) in &fetched {
                    self.insert(&mut e, id.clone(), c.clone(), now);
                }
            }
            found.extend(fetched);
        }
        Ok((found, stats))
    }

    fn insert(&self, e: &mut Entries, id: UserId, c: Customer, now: Instant) {
        if e.map.insert(id.clone(), (c, now)).is_some() {
            // refreshed: move to the back of the eviction order
            e.order.retain(|x| *x != id);
        }
        e.order.push_back(id);
        while e.map.len() > self.capacity {
            // drop expired first, then the oldest
            let ttl = self.ttl;
            let before = e.map.len();
            e.map
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            if e.map.len() < before {
                let Entries { map, order } = e;
                order.retain(|x| map.contains_key(x));
                continue;
            }
            match e.order.pop_front() {
                Some(oldest) => {
                    e.map.remove(&oldest);
                }
                None => break,
            }
        }
    }
}

impl<S: CustomerStore> CustomerStore for CachedCustomerStore<S> {
    async fn batch_get(&self, ids: &[UserId]) -> Result<HashMap<UserId, Customer>, PortError> {
        Ok(self.get_counted(ids).await?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Store {
        calls: AtomicUsize,
        keys_asked: AtomicUsize,
    }

    impl CustomerStore for Store {
        async fn batch_get(&self, ids: &[UserId]) -> Result<HashMap<UserId, Customer>, PortError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.keys_asked.fetch_add(ids.len(), Ordering::SeqCst);
            Ok(ids
                .iter()
                .filter(|id| id.0 != "unknown")
                .map(|id| {
                    (
                        id.clone(),
                        Customer {
                            user_id: id.clone(),
                            attributes: Default::default(),
                        },
                    )
                })
                .collect())
        }
    }

    fn ids(v: &[&str]) -> Vec<UserId> {
        v.iter().map(|s| UserId(s.to_string())).collect()
    }

    fn store() -> Store {
        Store {
            calls: AtomicUsize::new(0),
            keys_asked: AtomicUsize::new(0),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn hits_misses_ttl_and_bound() {
        let c = CachedCustomerStore::new(store(), 3, Duration::from_secs(60));
        c.get_counted(&ids(&["1"])).await.unwrap();
        let (m, s) = c.get_counted(&ids(&["2", "2", "unknown"])).await.unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(s, CacheStats { hits: 0, misses: 2 });
        let (_, s) = c.get_counted(&ids(&["1", "2", "3"])).await.unwrap();
        assert_eq!(s, CacheStats { hits: 2, misses: 1 });
        assert_eq!(c.inner().keys_asked.load(Ordering::SeqCst), 4);
        // unknown customers are asked again
        let (_, s) = c.get_counted(&ids(&["unknown"])).await.unwrap();
        assert_eq!(s.misses, 1);
        // bounded: a fourth customer evicts the oldest ("1")
        c.get_counted(&ids(&["4"])).await.unwrap();
        assert_eq!(c.len(), 3);
        let (_, s) = c.get_counted(&ids(&["1"])).await.unwrap();
        assert_eq!(s.misses, 1);
        // ttl
        tokio::time::advance(Duration::from_secs(61)).await;
        let (_, s) = c.get_counted(&ids(&["1", "4"])).await.unwrap();
        assert_eq!(s, CacheStats { hits: 0, misses: 2 });
    }

    #[tokio::test]
    async fn capacity_zero_disables() {
        let c = CachedCustomerStore::new(store(), 0, Duration::from_secs(60));
        c.batch_get(&ids(&["1"])).await.unwrap();
        c.batch_get(&ids(&["1"])).await.unwrap();
        assert_eq!(c.inner().calls.load(Ordering::SeqCst), 2);
        assert!(c.is_empty());
    }
}
