//! `log.uri = "kafka://host1:9092,host2:9092/topic?partitions=12&replication=3"` → the Kafka
//! log's settings. Parameters: `partitions`, `replication`, `create_topic` (true/false),
//! `linger_ms`, `compression` (lz4/none), `delivery_timeout_ms`, `group_prefix`.

use std::time::Duration;

use anyhow::{Context, bail};
use lrs_log::{KafkaCompression, KafkaLogConfig};

pub fn parse(uri: &str) -> anyhow::Result<KafkaLogConfig> {
    let rest = uri
        .strip_prefix("kafka://")
        .with_context(|| format!("log.uri {uri:?} does not start with kafka://"))?;
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (servers, topic) = location
        .split_once('/')
        .with_context(|| format!("log.uri {uri:?}: expected kafka://host:port/topic"))?;
    if servers.is_empty() || topic.is_empty() || topic.contains('/') {
        bail!("log.uri {uri:?}: expected kafka://host:port[,host:port…]/topic");
    }
    let mut config = KafkaLogConfig::new(servers, topic);
    config.group_id_prefix = "lrs-".into();
    // An HTTP client waits for the acknowledgement; give up (503) well before it does.
    config.delivery_timeout = Duration::from_secs(10);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("log.uri {uri:?}: parameter {pair:?} has no value"))?;
        let number = || {
            value
                .parse::<u64>()
                .with_context(|| format!("log.uri {uri:?}: {name}={value:?} is not a number"))
        };
        match name {
            "partitions" => config.partitions = number()? as u32,
            "replication" => config.replication_factor = number()? as u16,
            "linger_ms" => config.linger_ms = number()? as u32,
            "delivery_timeout_ms" => config.delivery_timeout = Duration::from_millis(number()?),
            "create_topic" => {
                config.create_topic = value.parse().with_context(|| {
                    format!("log.uri {uri:?}: create_topic={value:?} is not true/false")
                })?
            }
            "compression" => {
                config.compression = match value {
                    "lz4" => KafkaCompression::Lz4,
                    "none" => KafkaCompression::None,
                    other => bail!("log.uri {uri:?}: compression {other:?} is not lz4 or none"),
                }
            }
            "group_prefix" => config.group_id_prefix = value.to_owned(),
            other => bail!(
                "log.uri {uri:?}: unknown parameter {other:?} (known: partitions, replication, \
                 create_topic, linger_ms, compression, delivery_timeout_ms, group_prefix)"
            ),
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kafka_uri_names_brokers_topic_and_settings() {
        let config =
            parse("kafka://a:9092,b:9092/lrs-statements?partitions=12&replication=3&linger_ms=2")
                .unwrap();
        assert_eq!(config.bootstrap_servers, "a:9092,b:9092");
        assert_eq!(config.topic, "lrs-statements");
        assert_eq!(config.partitions, 12);
        assert_eq!(config.replication_factor, 3);
        assert_eq!(config.linger_ms, 2);
        assert_eq!(config.group_id_prefix, "lrs-");
    }

    #[test]
    fn a_bad_kafka_uri_says_what_is_wrong() {
        for (uri, expected) in [
            ("kafka://a:9092", "expected kafka://host:port/topic"),
            ("kafka://a:9092/t?partitions=x", "is not a number"),
            ("kafka://a:9092/t?acks=1", "unknown parameter"),
            ("kafka://a:9092/t?compression=snappy", "is not lz4 or none"),
        ] {
            let err = parse(uri).unwrap_err().to_string();
            assert!(err.contains(expected), "{uri}: {err}");
        }
    }
}
