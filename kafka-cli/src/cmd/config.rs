//! Options every command shares: where the cluster is and `-X key=value` client properties.

use anyhow::{anyhow, Context};
use kafka_client::{ClientConfig, ProducerConfig};

/// Connection options.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Bootstrap servers, `host:port[,host:port...]`.
    #[arg(
        short = 'b',
        long = "bootstrap",
        default_value = "127.0.0.1:9092",
        global = true
    )]
    pub bootstrap: String,
    /// Any client property, Java or librdkafka name (repeatable), e.g. `-X linger.ms=20`.
    #[arg(short = 'X', value_name = "KEY=VALUE", global = true)]
    pub props: Vec<String>,
}

/// Splits `key=value`.
pub fn split_kv(s: &str) -> anyhow::Result<(&str, &str)> {
    s.split_once('=')
        .ok_or_else(|| anyhow!("`{s}` is not key=value"))
}

impl ConnectArgs {
    /// A client config: bootstrap, then every `-X`.
    pub fn client_config(&self) -> anyhow::Result<ClientConfig> {
        let mut c = ClientConfig::new(&self.bootstrap).client_id("kafka-cli");
        for p in &self.props {
            let (k, v) = split_kv(p)?;
            c.set(k, v).context("in -X")?;
        }
        c.validate()?;
        Ok(c)
    }

    /// A producer config: bootstrap, then every `-X` (client and producer properties).
    pub fn producer_config(&self) -> anyhow::Result<ProducerConfig> {
        let mut c = ProducerConfig::new(&self.bootstrap);
        c.client.client_id = "kafka-cli".into();
        for p in &self.props {
            let (k, v) = split_kv(p)?;
            c.set(k, v).context("in -X")?;
        }
        Ok(c)
    }
}
