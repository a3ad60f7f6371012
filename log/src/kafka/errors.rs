//! How librdkafka errors become kinds of the log seam.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::{LogError, LogErrorKind};

/// Maps a librdkafka error: a full producer queue is backpressure, problems only an operator can
/// fix (missing topic, bad settings) are configuration errors, everything else (broker down,
/// timeouts, rebalances) is `Unavailable`, which callers retry.
pub(crate) fn log_error(context: &str, err: &KafkaError) -> LogError {
    let kind = match err.rdkafka_error_code() {
        Some(RDKafkaErrorCode::QueueFull) => LogErrorKind::Backpressure,
        Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::UnknownPartition
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::GroupAuthorizationFailed
            | RDKafkaErrorCode::InvalidConfig
            | RDKafkaErrorCode::InvalidArgument
            | RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidReplicationFactor,
        ) => LogErrorKind::Config,
        _ => match err {
            KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) => LogErrorKind::Config,
            _ => LogErrorKind::Unavailable,
        },
    };
    LogError::new(kind, format!("{context}: {err}"))
}

/// A blocking task that died (panicked or was cancelled at shutdown).
pub(crate) fn task_failed(context: &str, err: tokio::task::JoinError) -> LogError {
    LogError::new(
        LogErrorKind::Unavailable,
        format!("{context} task failed: {err}"),
    )
}
