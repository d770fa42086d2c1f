//! Topic ids to names, learnt from the responses in the capture (Metadata, CreateTopics,
//! DescribeTopicPartitions), so that frames naming topics by id only (Produce v13, Fetch v13+,
//! ShareFetch) can be shown and filtered by name.

use std::collections::HashMap;

use kafka_protocol::codec::Uuid;
use kafka_protocol::ResponseBody;

/// Most ids remembered; the map is cleared when full (captures rarely hold that many topics).
const MAX_TOPICS: usize = 1 << 20;

/// Topic id (Kafka's base64 text form) to topic name.
#[derive(Debug, Default, Clone)]
pub struct TopicNames {
    by_id: HashMap<String, String>,
}

impl TopicNames {
    /// Remembers the ids a response reveals.
    pub fn learn(&mut self, body: &ResponseBody) {
        match body {
            ResponseBody::Metadata(m) => {
                for t in &m.topics {
                    if let Some(name) = &t.name {
                        self.insert(t.topic_id, name);
                    }
                }
            }
            ResponseBody::CreateTopics(c) => {
                for t in &c.topics {
                    self.insert(t.topic_id, &t.name);
                }
            }
            ResponseBody::DescribeTopicPartitions(d) => {
                for t in &d.topics {
                    if let Some(name) = &t.name {
                        self.insert(t.topic_id, name);
                    }
                }
            }
            _ => {}
        }
    }

    fn insert(&mut self, id: Uuid, name: &str) {
        if id == Uuid::ZERO || name.is_empty() {
            return;
        }
        let key = id.to_string();
        if self.by_id.get(&key).is_some_and(|n| n == name) {
            return;
        }
        if self.by_id.len() >= MAX_TOPICS {
            self.by_id.clear();
        }
        self.by_id.insert(key, name.to_owned());
    }

    /// The name of the topic with this id (base64 text form).
    pub fn name(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// Number of ids known.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no id is known.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::generated::metadata_response::{MetadataResponse, MetadataResponseTopic};

    #[test]
    fn learns_from_metadata() {
        let id = Uuid::from_halves(7, 9);
        let body = ResponseBody::Metadata(MetadataResponse {
            topics: vec![
                MetadataResponseTopic {
                    name: Some("orders".into()),
                    topic_id: id,
                    ..Default::default()
                },
                MetadataResponseTopic {
                    name: Some("no-id".into()),
                    topic_id: Uuid::ZERO,
                    ..Default::default()
                },
            ],
            ..Default::default()
        });
        let mut names = TopicNames::default();
        names.learn(&body);
        assert_eq!(names.name(&id.to_string()), Some("orders"));
        assert_eq!(names.len(), 1);
    }
}
