//! The write side of the API: [`WriteSequencer::submit`] turns one accepted request into one log
//! record.
//!
//! It checks client-supplied ids against the store and against records still in flight (409 /
//! no-op), stamps `stored`, and appends. Stamping and enqueueing happen under one lock, so log
//! order is `stored` order; the same critical section publishes the pending appends and the last
//! stamp ([`WriteProgress`]) to the read side, which is what makes Consistent-Through true rather
//! than a guess from the clock (`lrs_progress::ReadVisibility`).
//!
//! In-flight ids are remembered from the append until ingest reports them applied (the sequencer
//! is an [`IngestListener`]), so a duplicate id arriving in that window is still answered 204/409
//! correctly in one process. Across processes (the distributed deployment, [`Progress::Polled`])
//! ingest keeps the first statement of an id and reports later ones; in-flight ids are not
//! tracked there.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use lrs_log::LogProducer;
use lrs_progress::{AppliedBatch, IngestListener, Progress, ReadVisibility, WriteProgress, Writer};
use lrs_schema::bodies_equivalent;
use lrs_schema::envelope::{EnvelopeStatement, StatementEnvelope};

use lrs_store::{LATENCY_BUCKETS, Micros, StatementReader, now_micros};
use parking_lot::Mutex;
use prometheus::{Histogram, HistogramOpts};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{ApiError, Backpressure};

/// A validated statement ready to be appended.
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    pub statement: EnvelopeStatement,
    /// The client chose the id (so it may already exist).
    pub client_id: bool,
}

/// What became of a submitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    /// `stored` of the appended record (None when every statement already existed).
    pub stored: Option<Micros>,
    /// Statements that were already stored or in flight with equivalent content.
    pub already_present: usize,
}

/// How far ingest may fall behind the log before writes get 503 + Retry-After.
#[derive(Debug, Clone, Copy)]
pub struct LagLimits {
    /// Log records (requests) appended but not yet applied.
    pub records: u64,
    /// Bytes of statements appended but not yet applied, which this process keeps in memory
    /// until they are (for the in-flight duplicate check; embedded mode only).
    pub bytes: u64,
}

/// What the lock guards: the stamp order and the in-flight ids.
struct Sequence {
    /// Published to the read side in the critical section that changes it.
    progress: watch::Sender<WriteProgress>,
    /// Ids appended but not yet applied by ingest, with their bodies (for equivalence checks).
    in_flight: HashMap<(String, Uuid), Bytes>,
    /// The total length of the bodies in `in_flight`.
    in_flight_bytes: u64,
}

impl Sequence {
    /// Drops an in-flight id (applied by ingest, or its append failed).
    fn forget(&mut self, tenant: &str, id: Uuid) {
        if let Some(body) = self.in_flight.remove(&(tenant.to_owned(), id)) {
            self.in_flight_bytes -= body.len() as u64;
        }
    }
}

/// The write path of one api process (see the module documentation).
pub struct WriteSequencer {
    producer: Arc<dyn LogProducer>,
    /// The 409 check reads stored bodies.
    reader: Arc<dyn StatementReader>,
    /// Where the ingest lag is read (writes are refused beyond `lag_limits`).
    visibility: Arc<ReadVisibility>,
    sequence: Arc<Mutex<Sequence>>,
    /// Writes are refused (503) while ingest is this far behind the log, so readers never fall
    /// arbitrarily far behind acknowledged writes and memory stays bounded under overload.
    lag_limits: LagLimits,
    /// Local mode: in-flight ids are tracked until the in-process ingestor applies them.
    track_in_flight: bool,
    /// Statements appended, and statements found already stored or in flight (for metrics).
    accepted: AtomicU64,
    already_present: AtomicU64,
    /// `lrs_log_append_duration_seconds`: from handing a record to the log to its durable
    /// acknowledgement (acknowledged appends only).
    append_seconds: Histogram,
    /// Test hook: µs added to the clock `stored` is stamped from (`testing.stored_offset_seconds`).
    stored_offset: AtomicI64,
}

impl WriteSequencer {
    /// Test hook (`testing.stored_offset_seconds`): stamps `stored` this many seconds off the
    /// clock, e.g. two years ago, so a test can write statements of an earlier school year.
    pub fn set_stored_offset_seconds(&self, seconds: i64) {
        self.stored_offset
            .store(seconds.saturating_mul(1_000_000), Ordering::Relaxed);
    }

    /// `initial_stored`: the store's highest recorded `stored` at start-up (stamps go above it).
    /// Returns the sequencer and the receiver the read side follows ([`ReadVisibility::new`]).
    pub fn channel(
        initial_stored: Micros,
    ) -> (watch::Sender<WriteProgress>, watch::Receiver<WriteProgress>) {
        watch::channel(WriteProgress {
            pending_appends: 0,
            last_stamp: initial_stored,
        })
    }

    /// `progress`: the sender made by [`WriteSequencer::channel`], whose receiver `visibility`
    /// follows. `lag_limits`: how far ingest may fall behind before writes get 503.
    pub fn new(
        producer: Arc<dyn LogProducer>,
        reader: Arc<dyn StatementReader>,
        visibility: Arc<ReadVisibility>,
        progress: watch::Sender<WriteProgress>,
        lag_limits: LagLimits,
    ) -> Arc<WriteSequencer> {
        Arc::new(WriteSequencer {
            producer,
            reader,
            track_in_flight: visibility.mode() == Progress::Local,
            visibility,
            sequence: Arc::new(Mutex::new(Sequence {
                progress,
                in_flight: HashMap::new(),
                in_flight_bytes: 0,
            })),
            lag_limits: LagLimits {
                records: lag_limits.records.max(1),
                bytes: lag_limits.bytes.max(1),
            },
            accepted: AtomicU64::new(0),
            already_present: AtomicU64::new(0),
            stored_offset: AtomicI64::new(0),
            append_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "lrs_log_append_duration_seconds",
                    "Time from handing a record to the log to its durable acknowledgement",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
            )
            .expect("valid metric"),
        })
    }

    /// 503 while ingest is beyond the lag limits. Handlers call it before validating a request
    /// too, so that under overload the CPU goes to ingest rather than to requests refused anyway.
    pub fn refuse_if_behind(&self) -> Result<(), ApiError> {
        if self.visibility.lag_records() >= self.lag_limits.records
            || self.sequence.lock().in_flight_bytes >= self.lag_limits.bytes
        {
            return Err(ApiError::backpressure(
                Backpressure::IngestLag,
                "ingest is behind; retry later",
            ));
        }
        Ok(())
    }

    /// Appends one request's statements as one record and waits until it is durable.
    /// `writer`: who is writing, so their reads wait for these statements (and only theirs do).
    pub async fn submit(
        &self,
        tenant: &str,
        writer: Writer,
        statements: Vec<PreparedStatement>,
    ) -> Result<SubmitOutcome, ApiError> {
        self.refuse_if_behind()?;
        // A failed store (e.g. a full disk) could not apply what the log acknowledges.
        self.reader.health()?;
        let submitted = statements.len();
        let mut fresh = self.drop_stored_duplicates(tenant, statements).await?;
        let already_stored = submitted - fresh.len();
        let (stamp, ids, already_present, append) = {
            let mut seq = self.sequence.lock();
            let before = fresh.len();
            let mut kept = Vec::with_capacity(fresh.len());
            for prepared in fresh.drain(..) {
                let key = (tenant.to_owned(), prepared.statement.id);
                match seq.in_flight.get(&key) {
                    None => kept.push(prepared),
                    Some(body) if bodies_equivalent(body, &prepared.statement.body) => {}
                    Some(_) => return Err(ApiError::conflict(prepared.statement.id)),
                }
            }
            let already_present = already_stored + before - kept.len();
            self.already_present
                .fetch_add(already_present as u64, Ordering::Relaxed);
            if kept.is_empty() {
                if already_present > already_stored {
                    // Some are in flight in another request: the writer's reads wait for the
                    // latest stamp, which covers them.
                    let last = seq.progress.borrow().last_stamp;
                    self.visibility.acknowledged(writer, last);
                }
                return Ok(SubmitOutcome {
                    stored: None,
                    already_present,
                });
            }
            let stamp = (now_micros() + self.stored_offset.load(Ordering::Relaxed))
                .max(seq.progress.borrow().last_stamp + 1);
            let ids: Vec<Uuid> = kept.iter().map(|p| p.statement.id).collect();
            let bodies: Vec<Bytes> = if self.track_in_flight {
                kept.iter()
                    .map(|p| Bytes::from(p.statement.body.clone()))
                    .collect()
            } else {
                Vec::new()
            };
            let envelope = StatementEnvelope {
                tenant: tenant.to_owned(),
                stored: stamp,
                statements: kept.into_iter().map(|p| p.statement).collect(),
            };
            // Encoded before anything is recorded, so a refused request leaves no trace.
            let payload = envelope.encode().map_err(|e| {
                ApiError::bad_request("LRS limit: index keys per statement", "$", e.to_string())
            })?;
            for (id, body) in ids.iter().zip(bodies) {
                seq.in_flight_bytes += body.len() as u64;
                seq.in_flight.insert((tenant.to_owned(), *id), body);
            }
            seq.progress.send_modify(|p| {
                p.last_stamp = stamp;
                p.pending_appends += 1;
            });
            let append = self
                .producer
                .append(&partition_key(tenant, ids[0]), Bytes::from(payload));
            (stamp, ids, already_present, append)
        };
        // Durability is awaited on a task of its own, which also does the bookkeeping: a client
        // hanging up (which drops this future) can neither cancel the append half way nor leave
        // the pending count or in-flight ids behind.
        let appended = ids.len();
        let sequence = self.sequence.clone();
        let owner = tenant.to_owned();
        let (handed, append_seconds) = (Instant::now(), self.append_seconds.clone());
        let outcome = tokio::spawn(async move {
            let result = append.await;
            if result.is_ok() {
                append_seconds.observe(handed.elapsed().as_secs_f64());
            }
            let mut seq = sequence.lock();
            seq.progress.send_modify(|p| p.pending_appends -= 1);
            if result.is_err() {
                for id in ids {
                    seq.forget(&owner, id);
                }
            }
            result
        })
        .await;
        match outcome {
            Ok(Ok(_ack)) => {
                self.accepted.fetch_add(appended as u64, Ordering::Relaxed);
                self.visibility.acknowledged(writer, stamp);
                Ok(SubmitOutcome {
                    stored: Some(stamp),
                    already_present,
                })
            }
            Ok(Err(err)) => Err(ApiError::from(err)),
            Err(join) => Err(ApiError::internal("log append task", &join)),
        }
    }

    /// Removes statements whose client-supplied id is already stored with equivalent content;
    /// a non-equivalent one is a 409 for the whole request.
    async fn drop_stored_duplicates(
        &self,
        tenant: &str,
        statements: Vec<PreparedStatement>,
    ) -> Result<Vec<PreparedStatement>, ApiError> {
        let client_ids: Vec<Uuid> = statements
            .iter()
            .filter(|p| p.client_id)
            .map(|p| p.statement.id)
            .collect();
        if client_ids.is_empty() {
            return Ok(statements);
        }
        let existing = self.reader.existing_bodies(tenant, &client_ids).await?;
        let mut kept = Vec::with_capacity(statements.len());
        for prepared in statements {
            match existing.get(&prepared.statement.id) {
                None => kept.push(prepared),
                Some(body) if bodies_equivalent(body, &prepared.statement.body) => {}
                Some(_) => return Err(ApiError::conflict(prepared.statement.id)),
            }
        }
        Ok(kept)
    }

    /// (statements appended, statements found already stored or in flight) since start-up.
    pub fn statement_counts(&self) -> (u64, u64) {
        (
            self.accepted.load(Ordering::Relaxed),
            self.already_present.load(Ordering::Relaxed),
        )
    }

    /// The log append latency histogram (for registering with a Prometheus registry).
    pub fn append_seconds(&self) -> Histogram {
        self.append_seconds.clone()
    }

    /// Where this sequencer reads the ingest lag.
    pub fn visibility(&self) -> &Arc<ReadVisibility> {
        &self.visibility
    }
}

/// Spreads one tenant's requests over the partitions (by the first statement's id), so a big
/// board is not bound to one partition and one ingest instance; a retried request (same ids)
/// lands where the first attempt did.
fn partition_key(tenant: &str, first_id: Uuid) -> Vec<u8> {
    let mut key = Vec::with_capacity(tenant.len() + 17);
    key.extend_from_slice(tenant.as_bytes());
    key.push(0);
    key.extend_from_slice(first_id.as_bytes());
    key
}

/// Releases the in-flight ids of every applied batch.
impl IngestListener for WriteSequencer {
    fn applied(&self, batch: &AppliedBatch) {
        let mut seq = self.sequence.lock();
        for (tenant, id) in &batch.statement_ids {
            seq.forget(tenant, *id);
        }
    }
}
