//! Start-up check of the topic: it must exist with the configured partition count, or be created.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::types::RDKafkaRespErr;

use super::KafkaLogConfig;
use super::errors::{log_error, task_failed};
use crate::{LogError, LogErrorKind};

/// What the brokers know about the topic.
enum TopicState {
    Missing,
    Partitions(u32),
}

/// Makes sure the topic exists with `config.partitions` partitions, creating it when allowed.
pub(super) async fn ensure_topic(
    admin: &Arc<AdminClient<DefaultClientContext>>,
    config: &KafkaLogConfig,
) -> Result<(), LogError> {
    match describe(admin, config).await? {
        TopicState::Partitions(count) => return check_count(config, count),
        TopicState::Missing if !config.create_topic => {
            return Err(LogError::new(
                LogErrorKind::Config,
                format!(
                    "Kafka topic {:?} does not exist on {} (create it, or enable create_topic)",
                    config.topic, config.bootstrap_servers
                ),
            ));
        }
        TopicState::Missing => {}
    }
    let topic = NewTopic::new(
        &config.topic,
        config.partitions as i32,
        TopicReplication::Fixed(i32::from(config.replication_factor)),
    );
    let options = AdminOptions::new().operation_timeout(Some(config.request_timeout));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .map_err(|err| log_error("creating the Kafka topic", &err))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(log_error(
                    &format!("creating the Kafka topic {name:?}"),
                    &rdkafka::error::KafkaError::AdminOp(code),
                ));
            }
        }
    }
    // Metadata catches up with the creation shortly after.
    let deadline = Instant::now() + config.request_timeout;
    loop {
        if let TopicState::Partitions(count) = describe(admin, config).await? {
            return check_count(config, count);
        }
        if Instant::now() > deadline {
            return Err(LogError::new(
                LogErrorKind::Unavailable,
                format!(
                    "Kafka topic {:?} was created but does not show up",
                    config.topic
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check_count(config: &KafkaLogConfig, count: u32) -> Result<(), LogError> {
    if count == config.partitions {
        return Ok(());
    }
    Err(LogError::new(
        LogErrorKind::Config,
        format!(
            "Kafka topic {:?} has {count} partitions, the configuration says {}",
            config.topic, config.partitions
        ),
    ))
}

async fn describe(
    admin: &Arc<AdminClient<DefaultClientContext>>,
    config: &KafkaLogConfig,
) -> Result<TopicState, LogError> {
    let admin = admin.clone();
    let topic = config.topic.clone();
    let timeout = config.request_timeout;
    let servers = config.bootstrap_servers.clone();
    tokio::task::spawn_blocking(move || {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(&topic), timeout)
            .map_err(|err| {
                log_error(
                    &format!("cannot reach the Kafka brokers at {servers}"),
                    &err,
                )
            })?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Ok(TopicState::Missing);
        };
        match found.error() {
            None if !found.partitions().is_empty() => {
                Ok(TopicState::Partitions(found.partitions().len() as u32))
            }
            None
            | Some(
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                | RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            ) => Ok(TopicState::Missing),
            Some(code) => Err(LogError::new(
                LogErrorKind::Unavailable,
                format!("Kafka metadata of topic {topic:?}: {code:?}"),
            )),
        }
    })
    .await
    .map_err(|err| task_failed("Kafka metadata", err))?
}
