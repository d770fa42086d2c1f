//! Options every command shares: where the cluster is, `-F` property files and `-X key=value`
//! client properties.

use std::path::PathBuf;

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
    /// Properties file (Java `key=value` format, e.g. TLS/SASL settings), applied after `-b`
    /// and before `-X`. Named as in kcat (`-F`) and the Java tools (`--command-config`);
    /// `--config` is taken by `topics create`.
    #[arg(
        short = 'F',
        long = "command-config",
        visible_alias = "config-file",
        value_name = "FILE",
        global = true
    )]
    pub config_file: Option<PathBuf>,
}

/// Splits `key=value`.
pub fn split_kv(s: &str) -> anyhow::Result<(&str, &str)> {
    s.split_once('=')
        .ok_or_else(|| anyhow!("`{s}` is not key=value"))
}

impl ConnectArgs {
    /// The `-F` file's properties, then every `-X`, in order.
    pub fn properties(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = match &self.config_file {
            Some(path) => super::config_file::load(path)?,
            None => Vec::new(),
        };
        for p in &self.props {
            let (k, v) = split_kv(p)?;
            out.push((k.to_owned(), v.to_owned()));
        }
        Ok(out)
    }

    /// A client config: bootstrap, then the `-F` file, then every `-X`.
    pub fn client_config(&self) -> anyhow::Result<ClientConfig> {
        let mut c = ClientConfig::new(&self.bootstrap).client_id("kafka-cli");
        for (k, v) in self.properties()? {
            c.set(&k, &v).context("in -F/-X")?;
        }
        c.validate()?;
        Ok(c)
    }

    /// A producer config: bootstrap, then the `-F` file, then every `-X` (client and producer
    /// properties).
    pub fn producer_config(&self) -> anyhow::Result<ProducerConfig> {
        let mut c = ProducerConfig::new(&self.bootstrap);
        c.client.client_id = "kafka-cli".into();
        for (k, v) in self.properties()? {
            c.set(&k, &v).context("in -F/-X")?;
        }
        Ok(c)
    }
}
