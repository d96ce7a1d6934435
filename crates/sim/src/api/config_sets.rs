//! Configuration sets and their event destinations: Create/Get/List/Delete ConfigurationSet,
//! PutConfigurationSetSendingOptions (and `POST /_sim/configuration-sets/{name}/sending`),
//! Create/Get ConfigurationSetEventDestination(s).

use serde_json::{Value, json};

use super::SimState;
use super::shapes::{ListConfigurationSetsRequest, SendingEnabledRequest, SimSendingSwitch};
use super::wire::{Reply, parse_body, read, validate_name, write};
use crate::events::EventKind;

/// Event types a configuration set made from config publishes (all the simulator produces).
pub(crate) const ALL_EVENT_TYPES: [&str; 5] = [
    "SEND",
    "DELIVERY",
    "BOUNCE",
    "COMPLAINT",
    "RENDERING_FAILURE",
];
const VALID_EVENT_TYPES: [&str; 10] = [
    "SEND",
    "REJECT",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "OPEN",
    "CLICK",
    "RENDERING_FAILURE",
    "DELIVERY_DELAY",
    "SUBSCRIPTION",
];

#[derive(Debug, Clone)]
pub(crate) struct Destination {
    name: String,
    enabled: bool,
    types: Vec<String>,
    firehose: bool,
    raw: Value,
}

#[derive(Debug, Clone)]
pub(crate) struct ConfigSet {
    raw: Value,
    pub sending_enabled: bool,
    destinations: Vec<Destination>,
}

impl ConfigSet {
    /// A set as `configuration_sets` in the config makes it: one enabled Firehose-like
    /// destination `lake` for every event type the simulator produces.
    pub(crate) fn with_lake(name: &str, region: &str, account_id: &str) -> Self {
        Self {
            raw: json!({ "ConfigurationSetName": name }),
            sending_enabled: true,
            destinations: vec![Destination {
                name: "lake".into(),
                enabled: true,
                types: ALL_EVENT_TYPES.iter().map(|s| s.to_string()).collect(),
                firehose: true,
                raw: json!({
                    "Name": "lake",
                    "Enabled": true,
                    "MatchingEventTypes": ALL_EVENT_TYPES,
                    "KinesisFirehoseDestination": {
                        "IamRoleArn": format!("arn:aws:iam::{account_id}:role/sesload-sim"),
                        "DeliveryStreamArn": format!("arn:aws:firehose:{region}:{account_id}:deliverystream/sesload-local-lake"),
                    }
                }),
            }],
        }
    }

    /// The dedicated IP pool the set sends through (`DeliveryOptions.SendingPoolName`), if any.
    pub(crate) fn sending_pool(&self) -> Option<&str> {
        self.raw
            .get("DeliveryOptions")
            .and_then(|d| d.get("SendingPoolName"))
            .and_then(Value::as_str)
    }

    /// Whether an enabled Firehose destination of this set matches events of kind `k`.
    pub(crate) fn publishes(&self, k: EventKind) -> bool {
        self.destinations
            .iter()
            .any(|d| d.enabled && d.firehose && d.types.iter().any(|t| t == k.matching_name()))
    }
}

impl SimState {
    /// The configuration set `name`, if it exists.
    pub(crate) fn config_set(&self, name: &str) -> Option<ConfigSet> {
        read(&self.config_sets).get(name).cloned()
    }

    pub(crate) fn create_config_set(&self, body: &[u8]) -> Reply {
        let raw: Value = match parse_body(body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some(obj) = raw.as_object() else {
            return Reply::bad_request("The request body must be a JSON object.");
        };
        let Some(name) = obj
            .get("ConfigurationSetName")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Reply::bad_request("Missing required field ConfigurationSetName.");
        };
        if let Err(e) = validate_name("ConfigurationSetName", &name) {
            return e;
        }
        let sending_enabled = match obj
            .get("SendingOptions")
            .and_then(|s| s.get("SendingEnabled"))
        {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Reply::bad_request(format!(
                    "SendingOptions.SendingEnabled must be a boolean, got {other}."
                ));
            }
        };
        let mut sets = write(&self.config_sets);
        if sets.contains_key(&name) {
            return Reply::already_exists(format!("Configuration set <{name}> already exists."));
        }
        let mut stored = raw.clone();
        if let Some(o) = stored.as_object_mut() {
            o.remove("Tags");
        }
        sets.insert(
            name,
            ConfigSet {
                raw: stored,
                sending_enabled,
                destinations: Vec::new(),
            },
        );
        Reply::empty()
    }

    pub(crate) fn get_config_set(&self, name: &str) -> Reply {
        match read(&self.config_sets).get(name) {
            Some(s) => {
                let mut out = s.raw.clone();
                out["ConfigurationSetName"] = json!(name);
                out["SendingOptions"] = json!({ "SendingEnabled": s.sending_enabled });
                out["Tags"] = json!([]);
                Reply::ok(out)
            }
            None => Reply::not_found(format!("Configuration set <{name}> does not exist.")),
        }
    }

    /// PutConfigurationSetSendingOptions (`PUT /v2/email/configuration-sets/{name}/sending`).
    pub(crate) fn put_config_set_sending(&self, name: &str, body: &[u8]) -> Reply {
        match parse_body::<SendingEnabledRequest>(body) {
            Ok(r) => self.set_config_set_sending(name, r.sending_enabled.unwrap_or(false)),
            Err(e) => e,
        }
    }

    /// `POST /_sim/configuration-sets/{name}/sending {"enabled": bool}` → `{"enabled": bool}`.
    pub(crate) fn sim_config_set_sending(&self, name: &str, body: &[u8]) -> Reply {
        match parse_body::<SimSendingSwitch>(body) {
            Ok(r) => match self.set_config_set_sending(name, r.enabled) {
                ok if ok.status == 200 => Reply::ok(json!({ "enabled": r.enabled })),
                err => err,
            },
            Err(e) => e,
        }
    }

    fn set_config_set_sending(&self, name: &str, enabled: bool) -> Reply {
        match write(&self.config_sets).get_mut(name) {
            Some(s) => {
                s.sending_enabled = enabled;
                tracing::info!(
                    configuration_set = name,
                    enabled,
                    "configuration set sending changed"
                );
                Reply::empty()
            }
            None => Reply::not_found(format!("Configuration set <{name}> does not exist.")),
        }
    }

    pub(crate) fn delete_config_set(&self, name: &str) -> Reply {
        match write(&self.config_sets).remove(name) {
            Some(_) => Reply::empty(),
            None => Reply::not_found(format!("Configuration set <{name}> does not exist.")),
        }
    }

    pub(crate) fn list_config_sets_body(&self, body: &[u8]) -> Reply {
        let req: ListConfigurationSetsRequest = if body.iter().all(u8::is_ascii_whitespace) {
            ListConfigurationSetsRequest::default()
        } else {
            match parse_body(body) {
                Ok(r) => r,
                Err(e) => return e,
            }
        };
        let size = match req.page_size {
            None => Ok(1000),
            Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
            Some(n) => Err(Reply::bad_request(format!(
                "PageSize must be between 1 and 1000, got {n}."
            ))),
        };
        self.list_config_sets(size, req.next_token)
    }

    pub(crate) fn list_config_sets(
        &self,
        size: Result<usize, Reply>,
        token: Option<String>,
    ) -> Reply {
        let size = match size {
            Ok(s) => s,
            Err(e) => return e,
        };
        let sets = read(&self.config_sets);
        let names: Vec<&String> = sets
            .keys()
            .filter(|k| token.as_ref().is_none_or(|t| *k > t))
            .take(size + 1)
            .collect();
        let more = names.len() > size;
        let page: Vec<&String> = names.into_iter().take(size).collect();
        let mut out = json!({ "ConfigurationSets": page });
        if more && let Some(last) = page.last() {
            out["NextToken"] = json!(last);
        }
        Reply::ok(out)
    }

    pub(crate) fn create_destination(&self, set: &str, body: &[u8]) -> Reply {
        let raw: Value = match parse_body(body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some(name) = raw
            .get("EventDestinationName")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Reply::bad_request("Missing required field EventDestinationName.");
        };
        if let Err(e) = validate_name("EventDestinationName", &name) {
            return e;
        }
        let Some(def) = raw.get("EventDestination").filter(|d| d.is_object()) else {
            return Reply::bad_request("Missing required field EventDestination.");
        };
        let enabled = match def.get("Enabled") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Reply::bad_request(format!("Enabled must be a boolean, got {other}."));
            }
        };
        let types = match matching_event_types(def) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let firehose = match def.get("KinesisFirehoseDestination") {
            None | Some(Value::Null) => false,
            Some(f) => {
                for k in ["IamRoleArn", "DeliveryStreamArn"] {
                    if f.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                        return Reply::bad_request(format!(
                            "Missing required field KinesisFirehoseDestination.{k}."
                        ));
                    }
                }
                true
            }
        };
        let mut d = def.clone();
        d["Name"] = json!(name);
        d["Enabled"] = json!(enabled);
        let mut sets = write(&self.config_sets);
        let Some(s) = sets.get_mut(set) else {
            return Reply::not_found(format!("Configuration set <{set}> does not exist."));
        };
        if s.destinations.iter().any(|x| x.name == name) {
            return Reply::already_exists(format!(
                "Event destination {name} already exists in configuration set <{set}>."
            ));
        }
        s.destinations.push(Destination {
            name,
            enabled,
            types,
            firehose,
            raw: d,
        });
        Reply::empty()
    }

    pub(crate) fn get_destinations(&self, set: &str) -> Reply {
        match read(&self.config_sets).get(set) {
            Some(s) => {
                let d: Vec<&Value> = s.destinations.iter().map(|d| &d.raw).collect();
                Reply::ok(json!({ "EventDestinations": d }))
            }
            None => Reply::not_found(format!("Configuration set <{set}> does not exist.")),
        }
    }
}

/// `MatchingEventTypes` of an event destination definition: a non-empty list of known types.
fn matching_event_types(def: &Value) -> Result<Vec<String>, Reply> {
    let mut types = Vec::new();
    match def.get("MatchingEventTypes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for t in a {
                match t.as_str() {
                    Some(s) if VALID_EVENT_TYPES.contains(&s) => types.push(s.to_owned()),
                    _ => {
                        return Err(Reply::bad_request(format!(
                            "Invalid MatchingEventTypes value {t}: expected one of {}.",
                            VALID_EVENT_TYPES.join(", ")
                        )));
                    }
                }
            }
        }
        Some(other) => {
            return Err(Reply::bad_request(format!(
                "MatchingEventTypes must be a list, got {other}."
            )));
        }
    }
    if types.is_empty() {
        return Err(Reply::bad_request(
            "MatchingEventTypes must contain at least one event type.",
        ));
    }
    Ok(types)
}
