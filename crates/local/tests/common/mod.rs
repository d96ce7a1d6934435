//! Helpers shared by the integration tests of `sesload-local`.
#![allow(dead_code)]

use std::time::Duration;

use sesload_local::{Db, Queue, QueueSettings};

pub fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sesload-local-test-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn body(code: &str, campaign: &str) -> String {
    serde_json::json!({
        "from": "sender@example.com", "to": "success@simulator.amazonses.com",
        "template_name": "SimpleEmail", "user_id": "1", "unique_code": code,
        "tags": [{"Name": "campaign", "Value": campaign}]
    })
    .to_string()
}

pub fn queue(dir: &std::path::Path, vis_ms: u64, max_rc: u32) -> Queue {
    let db = Db::open(dir.join("sesload.db")).unwrap();
    Queue::new(
        db,
        QueueSettings {
            visibility_timeout: Duration::from_millis(vis_ms),
            max_receive_count: max_rc,
        },
    )
}
