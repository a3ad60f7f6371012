//! Study-log facts: what one statement contributes to the aggregates (issue 11, decision 10).
//!
//! The API derives a [`StudyFact`] from every statement it accepts (except voiding statements,
//! which are not learning activity) while it still holds the typed statement, and the log carries
//! it to ingest, which stores it next to the statement. Facts are keyed by the statement's
//! actor and local day; who that actor is in the roster, and which classes and school it belonged
//! to that day, is decided when the aggregates are read, so late rosters, transfers and aliases
//! never require rewriting them.
//!
//! Dimension values (tool, verb, activity, activity type, subject, curriculum code) are carried
//! as 64-bit hashes ([`DimKey`]); their text is kept once per tenant in a dictionary
//! ([`FactTerms`] says what to record).

use xxhash_rust::xxh3::xxh3_64;

use crate::envelope::Key16;
use crate::keys_codec::{ByteReader, KeysCodecError};
use crate::object::StatementObject;
use crate::statement::Statement;

/// The xAPI Japan Profile extension holding the subject (教科).
pub const SUBJECT_EXTENSION: &str = "https://w3id.org/japan-xapi/extensions/subject";
/// The xAPI Japan Profile extension holding the 学習指導要領コード.
pub const CURRICULUM_CODE_EXTENSION: &str =
    "https://w3id.org/japan-xapi/extensions/course-of-study-code";

/// Where facts find the subject and the curriculum code (the profile's IRIs are still moving,
/// so each is a list, tried in order, in the object's `definition.extensions` first and then in
/// `context.extensions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactConfig {
    pub subject_extensions: Vec<String>,
    pub curriculum_code_extensions: Vec<String>,
}

impl Default for FactConfig {
    fn default() -> Self {
        FactConfig {
            subject_extensions: vec![SUBJECT_EXTENSION.to_owned()],
            curriculum_code_extensions: vec![CURRICULUM_CODE_EXTENSION.to_owned()],
        }
    }
}

/// The dimensions a fact carries besides the learner and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactDim {
    Tool = 1,
    Verb = 2,
    Activity = 3,
    ActivityType = 4,
    Subject = 5,
    CurriculumCode = 6,
}

impl FactDim {
    pub const ALL: [FactDim; 6] = [
        FactDim::Tool,
        FactDim::Verb,
        FactDim::Activity,
        FactDim::ActivityType,
        FactDim::Subject,
        FactDim::CurriculumCode,
    ];

    /// The byte stored in dictionary keys.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<FactDim> {
        FactDim::ALL.into_iter().find(|d| d.code() == code)
    }
}

/// A dimension value's hash; 0 stands for "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DimKey(pub u64);

impl DimKey {
    pub const NONE: DimKey = DimKey(0);

    pub fn of(value: &str) -> DimKey {
        match xxh3_64(value.as_bytes()) {
            0 => DimKey(1),
            h => DimKey(h),
        }
    }

    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// What one statement contributes to the aggregates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudyFact {
    /// The statement's `timestamp` (µs since the epoch).
    pub timestamp: i64,
    /// The actor's canonical identifier, hashed ([`Key16::of`]).
    pub actor: Key16,
    /// `context.platform`, else the writing credential (the authority).
    pub tool: DimKey,
    pub verb: DimKey,
    /// The object, when it is an Activity.
    pub activity: DimKey,
    pub activity_type: DimKey,
    pub subject: DimKey,
    pub curriculum_code: DimKey,
    /// `result.duration`, in milliseconds.
    pub duration_ms: Option<u32>,
    pub success: Option<bool>,
    pub completion: Option<bool>,
    pub scaled: Option<f32>,
}

/// The text behind a fact's keys: the actor's canonical identifier and each dimension value,
/// for the per-tenant dictionaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactTerms {
    pub actor: String,
    pub dims: Vec<(FactDim, String)>,
}

impl StudyFact {
    /// The encoded size of a fact.
    pub const ENCODED_LEN: usize = 8 + 16 + 6 * 8 + 1 + 4 + 4;

    /// The fact of a statement, or `None` for a voiding statement (not learning activity) or an
    /// actor without an identifier (an anonymous Group).
    ///
    /// `authority` is the writing credential's canonical identifier, the tool when the
    /// statement names no `context.platform`; `timestamp` is the statement's (the LRS fills it
    /// in when the client did not).
    pub fn of_statement(
        statement: &Statement,
        timestamp: i64,
        authority: &str,
        config: &FactConfig,
    ) -> Option<(StudyFact, FactTerms)> {
        let body = statement.body();
        if body.verb().is_voiding() {
            return None;
        }
        let actor = body.actor().canonical_ifi()?;
        let context = body.context();
        let activity = match body.object() {
            StatementObject::Activity(activity) => Some(activity),
            _ => None,
        };
        let definition = activity.and_then(|a| a.definition());
        let extension = |iris: &[String]| -> Option<String> {
            iris.iter().find_map(|iri| {
                definition
                    .and_then(|d| d.extensions())
                    .and_then(|e| e.get(iri))
                    .or_else(|| {
                        context
                            .and_then(|c| c.extensions())
                            .and_then(|e| e.get(iri))
                    })
                    .and_then(scalar_text)
            })
        };
        let tool = context
            .and_then(|c| c.platform())
            .unwrap_or(authority)
            .to_owned();
        let mut dims = vec![
            (FactDim::Tool, tool),
            (FactDim::Verb, body.verb().id().as_str().to_owned()),
        ];
        if let Some(activity) = activity {
            dims.push((FactDim::Activity, activity.id().as_str().to_owned()));
        }
        if let Some(kind) = definition.and_then(|d| d.activity_type()) {
            dims.push((FactDim::ActivityType, kind.as_str().to_owned()));
        }
        if let Some(subject) = extension(&config.subject_extensions) {
            dims.push((FactDim::Subject, subject));
        }
        if let Some(code) = extension(&config.curriculum_code_extensions) {
            dims.push((FactDim::CurriculumCode, code));
        }
        let key = |dim: FactDim| {
            dims.iter()
                .find(|(d, _)| *d == dim)
                .map_or(DimKey::NONE, |(_, v)| DimKey::of(v))
        };
        let result = body.result();
        let fact = StudyFact {
            timestamp,
            actor: Key16::of(&actor),
            tool: key(FactDim::Tool),
            verb: key(FactDim::Verb),
            activity: key(FactDim::Activity),
            activity_type: key(FactDim::ActivityType),
            subject: key(FactDim::Subject),
            curriculum_code: key(FactDim::CurriculumCode),
            duration_ms: result
                .and_then(|r| r.duration())
                .map(|d| (d.seconds() * 1000.0).round().clamp(0.0, u32::MAX as f64) as u32),
            success: result.and_then(|r| r.success()),
            completion: result.and_then(|r| r.completion()),
            scaled: result
                .and_then(|r| r.score())
                .and_then(|s| s.scaled())
                .map(|s| s as f32),
        };
        Some((fact, FactTerms { actor, dims }))
    }

    /// `result.success` is present: the statement answered something.
    pub fn answered(&self) -> bool {
        self.success.is_some()
    }

    /// Appends the fixed-size encoding ([`StudyFact::ENCODED_LEN`] bytes, little-endian).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.actor.0);
        for dim in [
            self.tool,
            self.verb,
            self.activity,
            self.activity_type,
            self.subject,
            self.curriculum_code,
        ] {
            out.extend_from_slice(&dim.0.to_le_bytes());
        }
        let mut flags = 0u8;
        if let Some(success) = self.success {
            flags |= 1 | (u8::from(success) << 1);
        }
        if let Some(completion) = self.completion {
            flags |= 4 | (u8::from(completion) << 3);
        }
        if self.scaled.is_some() {
            flags |= 16;
        }
        if self.duration_ms.is_some() {
            flags |= 32;
        }
        out.push(flags);
        out.extend_from_slice(&self.duration_ms.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.scaled.unwrap_or(0.0).to_le_bytes());
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        self.encode_into(&mut out);
        out
    }

    /// Reads a fact written by [`StudyFact::encode_into`].
    pub fn decode_from(r: &mut ByteReader<'_>) -> Result<StudyFact, KeysCodecError> {
        let timestamp = i64::from_le_bytes(r.array()?);
        let actor = Key16(r.array()?);
        let mut dims = [DimKey::NONE; 6];
        for dim in &mut dims {
            *dim = DimKey(u64::from_le_bytes(r.array()?));
        }
        let flags = r.u8()?;
        let duration = u32::from_le_bytes(r.array()?);
        let scaled = f32::from_le_bytes(r.array()?);
        let [
            tool,
            verb,
            activity,
            activity_type,
            subject,
            curriculum_code,
        ] = dims;
        Ok(StudyFact {
            timestamp,
            actor,
            tool,
            verb,
            activity,
            activity_type,
            subject,
            curriculum_code,
            duration_ms: (flags & 32 != 0).then_some(duration),
            success: (flags & 1 != 0).then_some(flags & 2 != 0),
            completion: (flags & 4 != 0).then_some(flags & 8 != 0),
            scaled: (flags & 16 != 0).then_some(scaled),
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<StudyFact, KeysCodecError> {
        let mut r = ByteReader::new(bytes);
        let fact = Self::decode_from(&mut r)?;
        if r.remaining() != 0 {
            return Err(KeysCodecError::Truncated);
        }
        Ok(fact)
    }
}

/// A fact with the local day of its statement (days since 1970-01-01 in the deployment's time
/// zone): what the log envelope carries and the store keys it by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudyRow {
    pub day: i32,
    pub fact: StudyFact,
}

/// The civil date (year, month 1–12, day 1–31) of a day number (days since 1970-01-01).
pub fn civil_date(day: i32) -> (i32, u8, u8) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// The month number (`year * 12 + month - 1`) of a day number: what month summaries are keyed by.
pub fn month_number(day: i32) -> i32 {
    let (y, m, _) = civil_date(day);
    y * 12 + i32::from(m) - 1
}

/// An extension value as dimension text: a string as it is, a number in its JSON form.
fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One learner's month (local calendar): the additive part of the aggregates, kept so that
/// board-wide questions read one row per learner and month instead of every statement.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MonthSummary {
    pub statements: u32,
    pub answered: u32,
    pub correct: u32,
    pub completions: u32,
    pub learning_ms: u64,
    pub scaled_sum: f64,
    pub scaled_count: u32,
    /// The latest `timestamp` counted (µs; 0 when none).
    pub last_active: i64,
    /// Bit `d - 1` is set when the learner was active on day `d` of the month.
    pub active_days: u32,
}

impl MonthSummary {
    pub const ENCODED_LEN: usize = 4 * 4 + 8 + 8 + 4 + 8 + 4;

    /// Counts one fact of day `day_of_month` (1–31).
    pub fn add(&mut self, fact: &StudyFact, day_of_month: u8) {
        self.statements += 1;
        if fact.answered() {
            self.answered += 1;
        }
        if fact.success == Some(true) {
            self.correct += 1;
        }
        if fact.completion == Some(true) {
            self.completions += 1;
        }
        self.learning_ms += u64::from(fact.duration_ms.unwrap_or(0));
        if let Some(scaled) = fact.scaled {
            self.scaled_sum += f64::from(scaled);
            self.scaled_count += 1;
        }
        self.last_active = self.last_active.max(fact.timestamp);
        if (1..=31).contains(&day_of_month) {
            self.active_days |= 1 << (day_of_month - 1);
        }
    }

    /// Adds another summary of the same learner and month.
    pub fn merge(&mut self, other: &MonthSummary) {
        self.statements += other.statements;
        self.answered += other.answered;
        self.correct += other.correct;
        self.completions += other.completions;
        self.learning_ms += other.learning_ms;
        self.scaled_sum += other.scaled_sum;
        self.scaled_count += other.scaled_count;
        self.last_active = self.last_active.max(other.last_active);
        self.active_days |= other.active_days;
    }

    pub fn is_empty(&self) -> bool {
        self.statements == 0
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        for n in [
            self.statements,
            self.answered,
            self.correct,
            self.completions,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(&self.learning_ms.to_le_bytes());
        out.extend_from_slice(&self.scaled_sum.to_le_bytes());
        out.extend_from_slice(&self.scaled_count.to_le_bytes());
        out.extend_from_slice(&self.last_active.to_le_bytes());
        out.extend_from_slice(&self.active_days.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<MonthSummary, KeysCodecError> {
        let mut r = ByteReader::new(bytes);
        let mut u32s = [0u32; 4];
        for n in &mut u32s {
            *n = u32::from_le_bytes(r.array()?);
        }
        let [statements, answered, correct, completions] = u32s;
        let summary = MonthSummary {
            statements,
            answered,
            correct,
            completions,
            learning_ms: u64::from_le_bytes(r.array()?),
            scaled_sum: f64::from_le_bytes(r.array()?),
            scaled_count: u32::from_le_bytes(r.array()?),
            last_active: i64::from_le_bytes(r.array()?),
            active_days: u32::from_le_bytes(r.array()?),
        };
        if r.remaining() != 0 {
            return Err(KeysCodecError::Truncated);
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::version::XapiVersion;

    fn statement(value: serde_json::Value) -> Statement {
        Statement::from_json(&value, XapiVersion::V1_0_3, "$").unwrap()
    }

    fn drill() -> serde_json::Value {
        json!({
            "actor": {"account": {"homePage": "https://eportal.example.jp", "name": "u-1"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "https://drill.example.jp/q/1", "definition": {
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "extensions": {CURRICULUM_CODE_EXTENSION: "8260232112000000"}
            }},
            "result": {"success": true, "completion": false, "duration": "PT1M30.5S",
                       "score": {"scaled": 0.75}},
            "context": {"platform": "算数ドリル", "extensions": {
                SUBJECT_EXTENSION: "算数", CURRICULUM_CODE_EXTENSION: "ignored: the object's wins"
            }},
            "timestamp": "2026-10-05T23:30:00Z"
        })
    }

    #[test]
    fn a_drill_answer_carries_every_dimension_and_metric() {
        let (fact, terms) =
            StudyFact::of_statement(&statement(drill()), 42, "tool-key", &FactConfig::default())
                .unwrap();
        assert_eq!(fact.timestamp, 42);
        assert_eq!(terms.actor, "account::https://eportal.example.jp::u-1");
        assert_eq!(fact.actor, Key16::of(&terms.actor));
        assert_eq!(fact.tool, DimKey::of("算数ドリル"));
        assert_eq!(fact.subject, DimKey::of("算数"));
        assert_eq!(fact.curriculum_code, DimKey::of("8260232112000000"));
        assert_eq!(
            fact.activity_type,
            DimKey::of("http://adlnet.gov/expapi/activities/cmi.interaction")
        );
        assert_eq!(fact.duration_ms, Some(90_500));
        assert_eq!(
            (fact.success, fact.completion, fact.scaled),
            (Some(true), Some(false), Some(0.75))
        );
        assert!(terms.dims.contains(&(FactDim::Subject, "算数".into())));
        assert_eq!(StudyFact::decode(&fact.encode()).unwrap(), fact);
        assert_eq!(fact.encode().len(), StudyFact::ENCODED_LEN);
    }

    #[test]
    fn without_a_platform_the_tool_is_the_writing_credential_and_absent_values_are_absent() {
        let bare = json!({
            "actor": {"mbox": "mailto:a@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"objectType": "Agent", "mbox": "mailto:b@example.jp"}
        });
        let (fact, _) =
            StudyFact::of_statement(&statement(bare), 1, "tool-key", &FactConfig::default())
                .unwrap();
        assert_eq!(fact.tool, DimKey::of("tool-key"));
        assert!(fact.activity.is_none() && fact.subject.is_none());
        assert_eq!((fact.success, fact.duration_ms), (None, None));
        assert_eq!(StudyFact::decode(&fact.encode()).unwrap(), fact);
    }

    #[test]
    fn a_voiding_statement_is_not_learning_activity() {
        let voiding = json!({
            "actor": {"mbox": "mailto:a@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": "6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01"}
        });
        assert!(
            StudyFact::of_statement(&statement(voiding), 1, "t", &FactConfig::default()).is_none()
        );
    }

    #[test]
    fn the_extension_iris_are_configurable_and_tried_in_order() {
        let mut value = drill();
        value["context"]["extensions"] = json!({"https://example.jp/ext/kyouka": "国語"});
        let config = FactConfig {
            subject_extensions: vec![
                "https://example.jp/ext/none".into(),
                "https://example.jp/ext/kyouka".into(),
            ],
            ..FactConfig::default()
        };
        let (fact, _) = StudyFact::of_statement(&statement(value), 1, "t", &config).unwrap();
        assert_eq!(fact.subject, DimKey::of("国語"));
    }

    #[test]
    fn day_numbers_map_to_civil_dates_and_months() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(20_367), (2025, 10, 6));
        assert_eq!(civil_date(-1), (1969, 12, 31));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(month_number(20_367), 2025 * 12 + 9);
    }

    #[test]
    fn a_month_summary_adds_facts_and_merges() {
        let (fact, _) =
            StudyFact::of_statement(&statement(drill()), 5, "t", &FactConfig::default()).unwrap();
        let mut a = MonthSummary::default();
        a.add(&fact, 6);
        a.add(
            &StudyFact {
                timestamp: 9,
                success: Some(false),
                ..fact
            },
            31,
        );
        assert_eq!((a.statements, a.answered, a.correct), (2, 2, 1));
        assert_eq!(a.learning_ms, 181_000);
        assert_eq!(a.last_active, 9);
        assert_eq!(a.active_days, (1 << 5) | (1 << 30));
        let mut b = MonthSummary::default();
        b.merge(&a);
        b.merge(&a);
        assert_eq!(b.statements, 4);
        assert_eq!(MonthSummary::decode(&b.encode()).unwrap(), b);
    }
}
