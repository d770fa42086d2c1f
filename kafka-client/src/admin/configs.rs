//! DescribeConfigs and IncrementalAlterConfigs (KIP-339).

use kafka_protocol::generated::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::generated::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::generated::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};

use super::Admin;
use crate::error::{KafkaError, Result};

/// Something that has configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigResource {
    /// A topic (resource type 2).
    Topic(String),
    /// A broker by node id (resource type 4); its request goes to that broker.
    Broker(i32),
}

impl ConfigResource {
    fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(t) => (2, t.clone()),
            ConfigResource::Broker(id) => (4, id.to_string()),
        }
    }

    /// The broker a request about this resource must go to, if a particular one.
    fn node(&self) -> Option<i32> {
        match self {
            ConfigResource::Broker(id) => Some(*id),
            ConfigResource::Topic(_) => None,
        }
    }
}

/// Where a config value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic.
    DynamicTopic,
    /// Set dynamically on this broker.
    DynamicBroker,
    /// Set dynamically as the default of all brokers.
    DynamicDefaultBroker,
    /// From the broker's properties file.
    StaticBroker,
    /// The built-in default.
    Default,
    /// Another or unknown source (the wire value).
    Other(i8),
}

impl ConfigSource {
    fn from_wire(v: i8) -> Self {
        match v {
            1 => Self::DynamicTopic,
            2 => Self::DynamicBroker,
            3 => Self::DynamicDefaultBroker,
            4 => Self::StaticBroker,
            5 => Self::Default,
            other => Self::Other(other),
        }
    }
}

/// One config value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Name.
    pub name: String,
    /// Value (`None` for sensitive values).
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether it cannot be changed.
    pub read_only: bool,
    /// Whether it is a secret.
    pub is_sensitive: bool,
}

/// One change of an incremental alter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    /// Set a value (operation 0).
    Set(String, String),
    /// Remove the override, back to the default (1).
    Delete(String),
    /// Append to a list value (2).
    Append(String, String),
    /// Remove from a list value (3).
    Subtract(String, String),
}

impl AlterConfigOp {
    fn wire(&self) -> AlterableConfig {
        let (name, op, value) = match self {
            Self::Set(k, v) => (k, 0, Some(v.clone())),
            Self::Delete(k) => (k, 1, None),
            Self::Append(k, v) => (k, 2, Some(v.clone())),
            Self::Subtract(k, v) => (k, 3, Some(v.clone())),
        };
        AlterableConfig {
            name: name.clone().into(),
            config_operation: op,
            value: value.map(Into::into),
            ..Default::default()
        }
    }
}

impl Admin {
    /// All configs of a resource (or only `keys`, if given).
    pub async fn describe_configs(
        &self,
        resource: &ConfigResource,
        keys: Option<&[&str]>,
    ) -> Result<Vec<ConfigEntry>> {
        let (rtype, rname) = resource.wire();
        let req = DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource {
                resource_type: rtype,
                resource_name: rname.clone().into(),
                configuration_keys: keys.map(|ks| ks.iter().map(|&k| k.into()).collect()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let resp = self
            .retrying("describe configs", || async {
                match resource.node() {
                    Some(n) => self.client.send_to(n, &req).await,
                    None => self.client.send_any(&req).await,
                }
            })
            .await?;
        let r = resp
            .results
            .into_iter()
            .find(|r| r.resource_name == rname)
            .ok_or_else(|| KafkaError::Protocol(format!("no result for {rname}")))?;
        KafkaError::check(r.error_code, r.error_message.as_deref(), || {
            format!("describe configs of {rname}")
        })?;
        Ok(r.configs
            .into_iter()
            .map(|c| ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(Into::into),
                source: ConfigSource::from_wire(c.config_source),
                read_only: c.read_only,
                is_sensitive: c.is_sensitive,
            })
            .collect())
    }

    /// Applies `ops` to a resource's configs, leaving the others as they are.
    pub async fn incremental_alter_configs(
        &self,
        resource: &ConfigResource,
        ops: &[AlterConfigOp],
    ) -> Result<()> {
        let (rtype, rname) = resource.wire();
        let req = IncrementalAlterConfigsRequest {
            resources: vec![AlterConfigsResource {
                resource_type: rtype,
                resource_name: rname.clone().into(),
                configs: ops.iter().map(AlterConfigOp::wire).collect(),
                ..Default::default()
            }],
            validate_only: false,
            ..Default::default()
        };
        let resp = self
            .retrying("alter configs", || async {
                match resource.node() {
                    Some(n) => self.client.send_to(n, &req).await,
                    None => self.client.send_any(&req).await,
                }
            })
            .await?;
        let r = resp
            .responses
            .iter()
            .find(|r| r.resource_name == rname)
            .ok_or_else(|| KafkaError::Protocol(format!("no result for {rname}")))?;
        KafkaError::check(r.error_code, r.error_message.as_deref(), || {
            format!("alter configs of {rname}")
        })
    }
}
