//! `kafka://` URIs: how `log.uri` names a Kafka log.
//!
//! `kafka://host1:9092,host2:9092/TOPIC?partitions=12&replication=3&linger_ms=5&compression=lz4`
//!
//! The authority is the bootstrap broker list (a broker without a port gets 9092, as in
//! librdkafka), the path is the topic, and the query sets fields of [`KafkaLogConfig`]; every
//! other field keeps its default. Durations are in milliseconds (`*_ms`).

use std::str::FromStr;
use std::time::Duration;

use super::{KafkaCompression, KafkaLogConfig};
use crate::{LogError, LogErrorKind};

/// The query parameters `from_uri` understands, for error messages.
const PARAMETERS: &str = "partitions, replication, create_topic, linger_ms, batch_size, \
                          compression, max_pending_records, max_pending_bytes, group_id_prefix, \
                          request_timeout_ms, delivery_timeout_ms, session_timeout_ms";

impl KafkaLogConfig {
    /// Parses a `kafka://` URI (see the module documentation). Every problem is a
    /// [`LogErrorKind::Config`] error naming the URI and what is wrong with it.
    pub fn from_uri(uri: &str) -> Result<KafkaLogConfig, LogError> {
        parse(uri).map_err(|problem| {
            LogError::new(
                LogErrorKind::Config,
                format!("invalid Kafka log URI {uri:?}: {problem}"),
            )
        })
    }
}

fn parse(uri: &str) -> Result<KafkaLogConfig, String> {
    let rest = uri
        .strip_prefix("kafka://")
        .ok_or("it must start with kafka://")?;
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    if location.contains('#') || query.contains('#') {
        return Err("fragments (#…) are not allowed".into());
    }
    let (authority, topic) = location
        .split_once('/')
        .ok_or("the topic is missing (kafka://host:port/TOPIC)")?;
    let servers = brokers(authority)?;
    check_topic(topic)?;
    let mut config = KafkaLogConfig::new(servers, topic);
    let mut seen = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("query parameter {pair:?} has no value (key=value)"))?;
        if seen.contains(&key) {
            return Err(format!("query parameter {key:?} is given twice"));
        }
        seen.push(key);
        set(&mut config, key, value)?;
    }
    config.validate().map_err(|err| err.message().to_owned())?;
    Ok(config)
}

/// The comma-separated broker list, each `host[:port]`, as librdkafka's `bootstrap.servers`.
fn brokers(authority: &str) -> Result<String, String> {
    if authority.contains('@') {
        return Err("credentials in the URI are not supported".into());
    }
    if authority.is_empty() {
        return Err("no broker is named (kafka://host:port/TOPIC)".into());
    }
    let mut servers = Vec::new();
    for broker in authority.split(',') {
        let (host, port) = if let Some(bracketed) = broker.strip_prefix('[') {
            // An IPv6 address: [::1]:9092.
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("broker {broker:?} has an unclosed ["))?;
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':').ok_or_else(|| {
                    format!("broker {broker:?}: expected :port after the address")
                })?),
            };
            (format!("[{host}]"), port)
        } else {
            match broker.split_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (broker.to_owned(), None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(format!("broker {broker:?} has no host (host:port)"));
        }
        let port = match port {
            None => 9092,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(format!("broker {broker:?}: port must be 1 to 65535")),
            },
        };
        servers.push(format!("{host}:{port}"));
    }
    Ok(servers.join(","))
}

/// Kafka's rule for topic names: 1 to 249 characters of `a-z A-Z 0-9 . _ -`, not `.` or `..`.
fn check_topic(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("the topic is missing (kafka://host:port/TOPIC)".into());
    }
    if topic.len() > 249
        || topic == "."
        || topic == ".."
        || !topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(format!(
            "topic {topic:?} is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)"
        ));
    }
    Ok(())
}

fn set(config: &mut KafkaLogConfig, key: &str, value: &str) -> Result<(), String> {
    match key {
        "partitions" => config.partitions = number(key, value)?,
        "replication" => config.replication_factor = number(key, value)?,
        "create_topic" => config.create_topic = boolean(key, value)?,
        "linger_ms" => config.linger_ms = number(key, value)?,
        "batch_size" => config.batch_size = number(key, value)?,
        "compression" => config.compression = compression(value)?,
        "max_pending_records" => config.max_pending_records = number(key, value)?,
        "max_pending_bytes" => config.max_pending_bytes = number(key, value)?,
        "group_id_prefix" => config.group_id_prefix = value.to_owned(),
        "request_timeout_ms" => config.request_timeout = millis(key, value)?,
        "delivery_timeout_ms" => config.delivery_timeout = millis(key, value)?,
        "session_timeout_ms" => config.session_timeout = millis(key, value)?,
        _ => {
            return Err(format!(
                "unknown query parameter {key:?} (known: {PARAMETERS})"
            ));
        }
    }
    Ok(())
}

fn number<T: FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{key}={value:?} is not a whole number in range"))
}

fn millis(key: &str, value: &str) -> Result<Duration, String> {
    Ok(Duration::from_millis(number(key, value)?))
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key}={value:?} must be true or false")),
    }
}

fn compression(value: &str) -> Result<KafkaCompression, String> {
    match value {
        "lz4" => Ok(KafkaCompression::Lz4),
        "none" => Ok(KafkaCompression::None),
        _ => Err(format!(
            "compression={value:?} is not supported (lz4 or none)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(uri: &str) -> String {
        let err = KafkaLogConfig::from_uri(uri).expect_err(uri);
        assert_eq!(err.kind(), LogErrorKind::Config, "{err}");
        err.message().to_owned()
    }

    #[test]
    fn a_full_uri_sets_every_named_field_and_leaves_the_rest_at_their_defaults() {
        let config = KafkaLogConfig::from_uri(
            "kafka://host1:9092,host2:9093/statements?partitions=12&replication=3&linger_ms=7\
             &compression=none&create_topic=false&delivery_timeout_ms=8000",
        )
        .expect("valid");
        let mut expected = KafkaLogConfig::new("host1:9092,host2:9093", "statements");
        expected.partitions = 12;
        expected.replication_factor = 3;
        expected.linger_ms = 7;
        expected.compression = KafkaCompression::None;
        expected.create_topic = false;
        expected.delivery_timeout = Duration::from_secs(8);
        assert_eq!(config, expected);
    }

    #[test]
    fn a_uri_without_a_query_is_the_default_configuration() {
        let config = KafkaLogConfig::from_uri("kafka://kafka:9092/lrs.statements").expect("valid");
        assert_eq!(config, KafkaLogConfig::new("kafka:9092", "lrs.statements"));
    }

    #[test]
    fn a_broker_without_a_port_gets_9092_and_ipv6_addresses_are_bracketed() {
        let config = KafkaLogConfig::from_uri("kafka://kafka,[::1]:9094,[fe80::1]/t").expect("ok");
        assert_eq!(
            config.bootstrap_servers,
            "kafka:9092,[::1]:9094,[fe80::1]:9092"
        );
    }

    #[test]
    fn the_remaining_fields_can_be_set_too() {
        let config = KafkaLogConfig::from_uri(
            "kafka://k:1/t?batch_size=65536&max_pending_records=10&max_pending_bytes=4096\
             &group_id_prefix=prod-&request_timeout_ms=1500&session_timeout_ms=6000&compression=lz4",
        )
        .expect("valid");
        assert_eq!(config.batch_size, 65536);
        assert_eq!(config.max_pending_records, 10);
        assert_eq!(config.max_pending_bytes, 4096);
        assert_eq!(config.group_id_prefix, "prod-");
        assert_eq!(config.request_timeout, Duration::from_millis(1500));
        assert_eq!(config.session_timeout, Duration::from_secs(6));
        assert_eq!(config.compression, KafkaCompression::Lz4);
    }

    #[test]
    fn bad_uris_are_configuration_errors_that_say_what_is_wrong() {
        let cases = [
            ("postgres://h:1/t", "must start with kafka://"),
            ("kafka://h:9092", "topic is missing"),
            ("kafka://h:9092/", "topic is missing"),
            ("kafka:///t", "no broker is named"),
            ("kafka://h:9092,/t", "has no host"),
            ("kafka://:9092/t", "has no host"),
            ("kafka://h:port/t", "port must be 1 to 65535"),
            ("kafka://h:70000/t", "port must be 1 to 65535"),
            ("kafka://h:0/t", "port must be 1 to 65535"),
            ("kafka://[::1/t", "unclosed ["),
            ("kafka://user:pw@h:9092/t", "credentials"),
            ("kafka://h:9092/a/b", "not a Kafka topic name"),
            ("kafka://h:9092/t%20x", "not a Kafka topic name"),
            ("kafka://h:9092/..", "not a Kafka topic name"),
            ("kafka://h:9092/t#frag", "fragments"),
            ("kafka://h:9092/t?partitions", "has no value"),
            (
                "kafka://h:9092/t?partitions=two",
                "partitions=\"two\" is not a whole number",
            ),
            ("kafka://h:9092/t?partitions=-1", "not a whole number"),
            (
                "kafka://h:9092/t?partitions=0",
                "partitions must be between 1",
            ),
            (
                "kafka://h:9092/t?replication=0",
                "replication_factor must be at least 1",
            ),
            (
                "kafka://h:9092/t?replication=70000",
                "not a whole number in range",
            ),
            (
                "kafka://h:9092/t?compression=zstd",
                "compression=\"zstd\" is not supported",
            ),
            ("kafka://h:9092/t?create_topic=yes", "must be true or false"),
            (
                "kafka://h:9092/t?delivery_timeout_ms=soon",
                "not a whole number",
            ),
            (
                "kafka://h:9092/t?linger_ms=20&delivery_timeout_ms=10",
                "longer than linger_ms",
            ),
            (
                "kafka://h:9092/t?partition=3",
                "unknown query parameter \"partition\"",
            ),
            ("kafka://h:9092/t?linger_ms=1&linger_ms=2", "given twice"),
        ];
        for (uri, expected) in cases {
            let message = problem(uri);
            assert!(message.contains(expected), "{uri}: {message}");
            assert!(
                message.contains(uri),
                "the message names the URI: {message}"
            );
        }
    }
}
