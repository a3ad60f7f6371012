//! A learner's export as an HTTP answer (issue 14 §1): the zip `lrs_query::lifecycle` writes,
//! streamed as it is written. `GET /api/v1/learners/{userSourcedId}/export` and the learner's
//! own download (`/dashboard/me/export`) both answer with [`LearnerExports::respond`].
//!
//! The zip is written on a blocking thread (it compresses, and the zip writer is synchronous)
//! into a bounded channel of [`CHUNK_BYTES`] chunks that the response body drains, so memory
//! stays bounded whatever the learner's history, and a slow client slows the export instead of
//! filling memory. A client that goes away ends the export at its next chunk.

use std::io::{self, Write};
use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::header;
use bytes::Bytes;
use lrs_query::lifecycle::{ExportRequest, LearnerData, LearnerSources, write_export};
use lrs_roster::{Calendar, Day};
use lrs_schema::parse_timestamp;
use lrs_store::{Micros, now_micros};
use tokio::sync::mpsc;

/// Bytes of zip per chunk of the response body.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks written ahead of the client.
const CHUNKS_AHEAD: usize = 4;
/// Exports written at once by one process (each holds a blocking thread); later ones wait.
pub const MAX_CONCURRENT_EXPORTS: usize = 4;

pub const EXPORT_RULE: &str = "LRS learner export: the parameters are since and until (each at most once; dates YYYY-MM-DD, the local day's start, or RFC 3339 timestamps; statements stored at or after since and before until)";

/// Where exports read (the stores and the identity settings), and the turns they take.
pub struct LearnerExports {
    sources: LearnerSources,
    calendar: Calendar,
    turns: Arc<tokio::sync::Semaphore>,
}

/// A bad `since`/`until`: the parameter and what is wrong.
#[derive(Debug)]
pub struct RangeError {
    pub parameter: String,
    pub message: String,
}

impl LearnerExports {
    /// At most [`MAX_CONCURRENT_EXPORTS`] run at once.
    pub fn new(sources: LearnerSources, calendar: Calendar) -> LearnerExports {
        LearnerExports {
            sources,
            calendar,
            turns: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_EXPORTS)),
        }
    }

    /// `since` and `until` of the query (dates in the deployment's zone, or timestamps).
    pub fn range(
        &self,
        params: &[(String, String)],
    ) -> Result<(Option<Micros>, Option<Micros>), RangeError> {
        let (mut since, mut until) = (None, None);
        for (name, value) in params {
            let slot = match name.as_str() {
                "since" => &mut since,
                "until" => &mut until,
                _ => {
                    return Err(RangeError {
                        parameter: name.clone(),
                        message: format!("unexpected parameter {name:?}"),
                    });
                }
            };
            if slot.is_some() {
                return Err(RangeError {
                    parameter: name.clone(),
                    message: format!("{name} given more than once"),
                });
            }
            *slot = Some(self.instant(value).ok_or_else(|| RangeError {
                parameter: name.clone(),
                message: format!("{value:?} is neither a date nor a timestamp"),
            })?);
        }
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(RangeError {
                parameter: "since".into(),
                message: "since must be before until".into(),
            });
        }
        Ok((since, until))
    }

    fn instant(&self, value: &str) -> Option<Micros> {
        match Day::parse(value) {
            Some(day) => Some(self.calendar.start_of(day)),
            None => parse_timestamp(value).ok(),
        }
    }

    /// The learner, or [`lrs_query::lifecycle::LifecycleError::UnknownLearner`].
    pub async fn learner(
        &self,
        tenant: &str,
        user_sourced_id: &str,
    ) -> Result<LearnerData, lrs_query::lifecycle::LifecycleError> {
        LearnerData::resolve(&self.sources, tenant, user_sourced_id).await
    }

    /// Where the learner's data is read from.
    pub fn sources(&self) -> &LearnerSources {
        &self.sources
    }

    /// The zip of `learner`, streamed once an export turn is free.
    pub async fn respond(
        self: &Arc<Self>,
        learner: LearnerData,
        since: Option<Micros>,
        until: Option<Micros>,
    ) -> HttpResponse {
        // The semaphore is never closed.
        let turn = self.turns.clone().acquire_owned().await.ok();
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_AHEAD);
        let filename = format!("learner-{}.zip", safe_file_name(&learner.user_sourced_id));
        let exports = self.clone();
        let runtime = tokio::runtime::Handle::current();
        let request = ExportRequest {
            since,
            until,
            exported_at: now_micros(),
        };
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let sink = ChannelWriter {
                tx: tx.clone(),
                buffer: Vec::with_capacity(CHUNK_BYTES),
            };
            // Progress in the log, every 50,000 statements.
            let mut reported = 0;
            let mut progress = |counts: &lrs_query::lifecycle::ExportCounts| {
                if counts.statements >= reported + 50_000 {
                    reported = counts.statements;
                    tracing::info!(
                        tenant = %learner.tenant,
                        statements = counts.statements,
                        "learner export in progress"
                    );
                }
            };
            match write_export(
                &runtime,
                &exports.sources,
                &learner,
                &request,
                sink,
                &mut progress,
            ) {
                Ok(counts) => tracing::info!(
                    tenant = %learner.tenant,
                    statements = counts.statements,
                    attachments = counts.attachments,
                    "learner export written"
                ),
                Err(e) => {
                    tracing::warn!(tenant = %learner.tenant, error = %e, "learner export stopped");
                    // The body ends in an error: the client sees a cut connection, never a
                    // complete-looking zip.
                    let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
                }
            }
        });
        let body = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        HttpResponse::Ok()
            .content_type("application/zip")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .streaming(body)
    }
}

/// A `Write` handing full chunks to the response body; a closed body (the client left) is an
/// error, which stops the export.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// A sourcedId as a file name: ASCII letters, digits, `-` and `_` kept, anything else `_`.
fn safe_file_name(id: &str) -> String {
    id.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The learner purge's resolver (`lrs_ingest::learner_purge`): the identities the export finds.
pub struct RosterLearners(pub LearnerSources);

#[async_trait::async_trait]
impl lrs_ingest::learner_purge::LearnerResolver for RosterLearners {
    async fn identities(
        &self,
        tenant: &str,
        user_sourced_id: &str,
    ) -> Result<Option<Vec<String>>, lrs_store::StoreError> {
        use lrs_query::lifecycle::LifecycleError;
        match LearnerData::resolve(&self.0, tenant, user_sourced_id).await {
            Ok(learner) => Ok(Some(
                learner
                    .identities
                    .into_iter()
                    .map(|identity| identity.canonical)
                    .collect(),
            )),
            Err(LifecycleError::UnknownLearner(_)) => Ok(None),
            Err(LifecycleError::Store(e)) => Err(e),
            Err(e @ LifecycleError::Output(_)) => Err(lrs_store::StoreError::new(
                lrs_store::StoreErrorKind::Unavailable,
                e.to_string(),
            )),
        }
    }
}
