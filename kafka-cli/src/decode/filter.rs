//! `--filter`: which frames to show.
//!
//! `api=Produce` (name, case-insensitive, or number; comma-separated for several),
//! `topic=orders` (any topic the message names, ids resolved through the capture's Metadata),
//! `corr=42`, `stream=3` (connection number), `dir=request|response`. Several filters must all
//! match; the values of one filter are alternatives.

use std::str::FromStr;

use kafka_protocol::ApiKey;

use super::decoder::DecodedFrame;
use super::digest::Digest;

/// A `--filter` that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Not `key=value`, or an unknown key.
    #[error("invalid filter {0:?}: expected api=NAME|KEY, topic=NAME, corr=ID, stream=N or dir=request|response")]
    Syntax(String),
    /// An API name that no API key has.
    #[error("unknown API {0:?} in filter")]
    UnknownApi(String),
    /// A value that should be a number.
    #[error("invalid number {0:?} in filter")]
    Number(String),
}

/// One filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// The frame's API key is one of these.
    Api(Vec<ApiKey>),
    /// The message names one of these topics.
    Topic(Vec<String>),
    /// The correlation id is one of these.
    Corr(Vec<i32>),
    /// The connection number is one of these.
    Stream(Vec<u64>),
    /// Requests (`true`) or responses (`false`).
    Direction(bool),
}

fn numbers<T: FromStr>(v: &str) -> Result<Vec<T>, FilterError> {
    v.split(',')
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| FilterError::Number(s.to_owned()))
        })
        .collect()
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| FilterError::Syntax(s.to_owned()))?;
        let v = v.trim();
        if v.is_empty() {
            return Err(FilterError::Syntax(s.to_owned()));
        }
        match k.trim().to_ascii_lowercase().as_str() {
            "api" => v
                .split(',')
                .map(|n| {
                    let n = n.trim();
                    ApiKey::from_name(n).ok_or_else(|| FilterError::UnknownApi(n.to_owned()))
                })
                .collect::<Result<_, _>>()
                .map(Filter::Api),
            "topic" => Ok(Filter::Topic(
                v.split(',').map(|t| t.trim().to_owned()).collect(),
            )),
            "corr" | "correlation_id" => numbers(v).map(Filter::Corr),
            "stream" => numbers(v).map(Filter::Stream),
            "dir" | "direction" => match v.to_ascii_lowercase().as_str() {
                "request" | "requests" => Ok(Filter::Direction(true)),
                "response" | "responses" => Ok(Filter::Direction(false)),
                _ => Err(FilterError::Syntax(s.to_owned())),
            },
            _ => Err(FilterError::Syntax(s.to_owned())),
        }
    }
}

/// All the `--filter`s of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(pub Vec<Filter>);

impl Filters {
    /// True when there is no filter.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether matching needs the frame's [`Digest`] (topic filters).
    pub fn needs_digest(&self) -> bool {
        self.0.iter().any(|f| matches!(f, Filter::Topic(_)))
    }

    /// Whether `f` passes every filter. `digest` must have been computed for `f` when
    /// [`needs_digest`](Self::needs_digest).
    pub fn matches(&self, f: &DecodedFrame<'_>, digest: &Digest) -> bool {
        self.0.iter().all(|filter| match filter {
            Filter::Api(keys) => f.api_key.is_some_and(|k| keys.contains(&k)),
            Filter::Topic(names) => digest
                .topics()
                .iter()
                .any(|t| names.iter().any(|n| n == &t.name)),
            Filter::Corr(ids) => f.correlation_id.is_some_and(|c| ids.contains(&c)),
            Filter::Stream(ids) => ids.contains(&f.frame.stream.index),
            Filter::Direction(req) => f.is_request() == *req,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            "api=Produce,fetch,3".parse::<Filter>().unwrap(),
            Filter::Api(vec![ApiKey(0), ApiKey(1), ApiKey(3)])
        );
        assert_eq!(
            "topic=orders".parse::<Filter>().unwrap(),
            Filter::Topic(vec!["orders".into()])
        );
        assert_eq!(
            "corr=42,43".parse::<Filter>().unwrap(),
            Filter::Corr(vec![42, 43])
        );
        assert_eq!(
            "dir=response".parse::<Filter>().unwrap(),
            Filter::Direction(false)
        );
        assert_eq!(
            "api=Nope".parse::<Filter>(),
            Err(FilterError::UnknownApi("Nope".into()))
        );
        assert!("corr=x".parse::<Filter>().is_err());
        assert!("api".parse::<Filter>().is_err());
        assert!("colour=red".parse::<Filter>().is_err());
        assert!("topic=".parse::<Filter>().is_err());
    }
}
