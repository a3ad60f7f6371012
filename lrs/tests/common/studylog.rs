//! Study-log scenarios for the aggregates tests: a small roster (written as a OneRoster 1.2 CSV
//! zip, Japan Profile columns), statements about its learners, and an **independent** oracle
//! that computes what `GET /api/v1/aggregates` must answer straight from those raw statements and
//! the roster, by the rules of issue 11 (identity, attribution by the Tokyo day, voiding,
//! re-sends), without any of the LRS's code.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{Value, json};

/// The e-portal every roster learner's account lives on.
pub const EPORTAL: &str = "https://eportal.example.jp";
pub const SUBJECT_EXT: &str = "https://w3id.org/japan-xapi/extensions/subject";
pub const CODE_EXT: &str = "https://w3id.org/japan-xapi/extensions/course-of-study-code";
const JST_OFFSET_SECONDS: i64 = 9 * 3600;
const ACTIVITY_TYPE: &str = "http://adlnet.gov/expapi/activities/cmi.interaction";

/// A day as (year, month, day).
pub type Date = (i32, u32, u32);

pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.0, d.1, d.2)
}

/// Days since 1970-01-01 (proleptic Gregorian).
pub fn days_from_civil(d: Date) -> i64 {
    let (y, m, day) = (i64::from(d.0), i64::from(d.1), i64::from(d.2));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((yoe + era * 400 + i64::from(m <= 2)) as i32, m, d)
}

/// The Tokyo local day (days since epoch) and hour of a UTC instant in seconds.
pub fn tokyo_day_hour(seconds: i64) -> (i64, u32) {
    let local = seconds + JST_OFFSET_SECONDS;
    (
        local.div_euclid(86_400),
        (local.rem_euclid(86_400) / 3600) as u32,
    )
}

/// RFC 3339 UTC text of an instant in seconds.
pub fn utc_text(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[derive(Clone, Debug)]
pub struct Class {
    pub id: String,
    pub school: String,
    pub grade: String,
    pub homeroom: bool,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub master: Option<String>,
    pub email: Option<String>,
    pub grade: String,
}

#[derive(Clone, Debug)]
pub struct Enrollment {
    pub id: String,
    pub user: String,
    pub class: String,
    pub teacher: bool,
    /// Inclusive dates (the Japan Profile writes school years 04-01 … 03-31).
    pub begin: Date,
    pub end: Date,
}

/// A board's roster: one district, its schools, classes, users, enrollments, aliases.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    pub board: String,
    pub schools: Vec<String>,
    pub classes: Vec<Class>,
    pub users: Vec<User>,
    pub enrollments: Vec<Enrollment>,
    /// (homePage, name, user).
    pub aliases: Vec<(String, String, String)>,
}

const SESSION: &str = "ay-2026";

impl Roster {
    /// The roster as a bulk OneRoster 1.2 CSV zip (Japan Profile columns, every value quoted).
    pub fn zip(&self) -> Vec<u8> {
        let mut files: super::roster::Files = Vec::new();
        let mut manifest = String::from("\"propertyName\",\"value\"\n");
        for (k, v) in [
            ("manifest.version", "1.0"),
            ("oneroster.version", "1.2"),
            ("file.orgs", "bulk"),
            ("file.academicSessions", "bulk"),
            ("file.courses", "bulk"),
            ("file.classes", "bulk"),
            ("file.users", "bulk"),
            ("file.enrollments", "bulk"),
            ("file.roles", "bulk"),
        ] {
            manifest.push_str(&csv_row(&[k, v]));
        }
        files.push(("manifest.csv", manifest));
        let modified = "2026-04-01T00:00:00.000Z";
        let mut orgs = csv_row(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "name",
            "type",
            "identifier",
            "parentSourcedId",
        ]);
        orgs.push_str(&csv_row(&[
            &self.board,
            "active",
            modified,
            "教育委員会",
            "district",
            "131016",
            "",
        ]));
        for (n, school) in self.schools.iter().enumerate() {
            let code = format!("B113{:09}", n + 1);
            orgs.push_str(&csv_row(&[
                school,
                "active",
                modified,
                "小学校",
                "school",
                &code,
                &self.board,
            ]));
        }
        files.push(("orgs.csv", orgs));
        let mut sessions = csv_row(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "type",
            "startDate",
            "endDate",
            "parentSourcedId",
            "schoolYear",
        ]);
        sessions.push_str(&csv_row(&[
            SESSION,
            "active",
            modified,
            "2026年度",
            "schoolYear",
            "2026-04-01",
            "2027-03-31",
            "",
            "2026",
        ]));
        files.push(("academicSessions.csv", sessions));
        let mut courses = csv_row(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "schoolYearSourcedId",
            "title",
            "courseCode",
            "grades",
            "orgSourcedId",
            "subjects",
            "subjectCodes",
        ]);
        let mut classes = csv_row(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "location",
            "schoolSourcedId",
            "termSourcedIds",
            "subjects",
            "subjectCodes",
            "periods",
        ]);
        for class in &self.classes {
            let course = format!("course-{}", class.id);
            courses.push_str(&csv_row(&[
                &course,
                "active",
                modified,
                SESSION,
                "学級",
                "",
                &class.grade,
                &class.school,
                "",
                "",
            ]));
            let kind = if class.homeroom {
                "homeroom"
            } else {
                "scheduled"
            };
            classes.push_str(&csv_row(&[
                &class.id,
                "active",
                modified,
                &class.id,
                &class.grade,
                &course,
                "",
                kind,
                "",
                &class.school,
                SESSION,
                "",
                "",
                "",
            ]));
        }
        files.push(("courses.csv", courses));
        files.push(("classes.csv", classes));
        let mut users = csv_row(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "enabledUser",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
            "userMasterIdentifier",
            "resourceSourcedIds",
            "preferredGivenName",
            "preferredMiddleName",
            "preferredFamilyName",
            "primaryOrgSourcedId",
            "pronouns",
        ]);
        for user in &self.users {
            users.push_str(&csv_row(&[
                &user.id,
                "active",
                modified,
                "true",
                "",
                "",
                "太郎",
                "山田",
                "",
                "",
                user.email.as_deref().unwrap_or(""),
                "",
                "",
                "",
                &user.grade,
                "",
                user.master.as_deref().unwrap_or(""),
                "",
                "",
                "",
                "",
                &self.schools[0],
                "",
            ]));
        }
        files.push(("users.csv", users));
        let mut enrollments = csv_row(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ]);
        let mut roles = csv_row(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "userSourcedId",
            "roleType",
            "role",
            "beginDate",
            "endDate",
            "orgSourcedId",
            "userProfileSourcedId",
        ]);
        for e in &self.enrollments {
            let class = self
                .classes
                .iter()
                .find(|c| c.id == e.class)
                .expect("class");
            let role = if e.teacher { "teacher" } else { "student" };
            enrollments.push_str(&csv_row(&[
                &e.id,
                "active",
                modified,
                &e.class,
                &class.school,
                &e.user,
                role,
                "true",
                &date_text(e.begin),
                &date_text(e.end),
            ]));
        }
        for user in &self.users {
            let teacher = self
                .enrollments
                .iter()
                .any(|e| e.user == user.id && e.teacher);
            let role = if teacher { "teacher" } else { "student" };
            roles.push_str(&csv_row(&[
                &format!("role-{}", user.id),
                "active",
                modified,
                &user.id,
                "primary",
                role,
                "2026-04-01",
                "2027-03-31",
                &self.schools[0],
                "",
            ]));
        }
        files.push(("enrollments.csv", enrollments));
        files.push(("roles.csv", roles));
        super::roster::zip(&files)
    }

    /// The alias CSV (`homePage,name,userSourcedId`).
    pub fn aliases_csv(&self) -> String {
        let mut out = String::from("homePage,name,userSourcedId\n");
        for (home_page, name, user) in &self.aliases {
            out.push_str(&format!("{home_page},{name},{user}\n"));
        }
        out
    }
}

fn csv_row(values: &[&str]) -> String {
    let cells: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
        .collect();
    format!("{}\n", cells.join(","))
}

/// Who a statement's actor is, as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    Account { home_page: String, name: String },
    Mbox(String),
}

impl Who {
    pub fn learner(name: &str) -> Who {
        Who::Account {
            home_page: EPORTAL.into(),
            name: name.into(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Who::Account { home_page, name } => {
                json!({"objectType": "Agent", "account": {"homePage": home_page, "name": name}})
            }
            Who::Mbox(mbox) => json!({"objectType": "Agent", "mbox": mbox}),
        }
    }

    /// The LRS's canonical identifier (how an unresolved learner is named).
    pub fn canonical(&self) -> String {
        match self {
            Who::Account { home_page, name } => format!("account::{home_page}::{name}"),
            Who::Mbox(mbox) => format!("mbox::{mbox}"),
        }
    }
}

/// One statement as the test sends it.
#[derive(Clone, Debug)]
pub struct Sent {
    pub id: String,
    pub who: Who,
    /// UTC seconds.
    pub at: i64,
    pub verb: String,
    pub activity: String,
    pub tool: String,
    pub subject: Option<String>,
    pub code: Option<String>,
    pub duration_seconds: Option<u32>,
    pub success: Option<bool>,
    pub completion: Option<bool>,
    pub scaled: Option<f64>,
    /// A voiding statement: the id it voids (the other fields are then ignored).
    pub voids: Option<String>,
}

impl Sent {
    pub fn json(&self) -> Value {
        if let Some(target) = &self.voids {
            return json!({
                "id": self.id,
                "actor": self.who.json(),
                "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en": "voided"}},
                "object": {"objectType": "StatementRef", "id": target},
                "timestamp": utc_text(self.at),
            });
        }
        let mut definition = json!({
            "type": ACTIVITY_TYPE,
            "name": {"ja-JP": "問題"}
        });
        if let Some(code) = &self.code {
            definition["extensions"] = json!({CODE_EXT: code});
        }
        let mut statement = json!({
            "id": self.id,
            "actor": self.who.json(),
            "verb": {"id": self.verb, "display": {"en": "did"}},
            "object": {"objectType": "Activity", "id": self.activity, "definition": definition},
            "context": {"platform": self.tool},
            "timestamp": utc_text(self.at),
        });
        if let Some(subject) = &self.subject {
            statement["context"]["extensions"] = json!({SUBJECT_EXT: subject});
        }
        let mut result = serde_json::Map::new();
        if let Some(d) = self.duration_seconds {
            result.insert("duration".into(), format!("PT{d}S").into());
        }
        if let Some(s) = self.success {
            result.insert("success".into(), s.into());
        }
        if let Some(c) = self.completion {
            result.insert("completion".into(), c.into());
        }
        if let Some(scaled) = self.scaled {
            result.insert("score".into(), json!({"scaled": scaled}));
        }
        if !result.is_empty() {
            statement["result"] = Value::Object(result);
        }
        statement
    }
}

/// The oracle's answer: rows keyed by their dimension values, each a map of metric → value.
/// Keys are the dimension values as JSON text (`"1-1"`, `null`, `3`).
pub type Rows = BTreeMap<Vec<String>, BTreeMap<String, Value>>;

/// What `GET /api/v1/aggregates` must answer for `group_by`, over statements whose `timestamp`
/// is in `since..until` (UTC seconds), for a whole-tenant reader, with the optional filters
/// (`class`, `school`, `curriculum_code_prefix`), computed from the raw statements `sent` (in the
/// order sent) and the final `roster`.
pub fn oracle(
    roster: &Roster,
    sent: &[Sent],
    group_by: &[&str],
    since: i64,
    until: i64,
    filters: &[(&str, &str)],
) -> Rows {
    // Re-sends count once: the first statement of an id.
    let mut seen = HashSet::new();
    let firsts: Vec<&Sent> = sent.iter().filter(|s| seen.insert(s.id.clone())).collect();
    let ids: HashSet<&str> = firsts.iter().map(|s| s.id.as_str()).collect();
    let voided: HashSet<&str> = firsts
        .iter()
        .filter_map(|s| s.voids.as_deref())
        .filter(|t| ids.contains(t))
        .collect();
    let filter = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    #[derive(Default)]
    struct Tally {
        statements: u64,
        learners: BTreeSet<String>,
        ms: u64,
        completions: u64,
        answered: u64,
        correct: u64,
        scaled: Vec<f64>,
        last: i64,
    }
    let mut tallies: BTreeMap<Vec<String>, Tally> = BTreeMap::new();
    for s in firsts {
        if s.voids.is_some() || voided.contains(s.id.as_str()) || s.at < since || s.at >= until {
            continue;
        }
        if let Some(prefix) = filter("curriculum_code_prefix")
            && !s.code.as_deref().is_some_and(|c| c.starts_with(prefix))
        {
            continue;
        }
        let user = resolve(roster, &s.who);
        let (day, hour) = tokyo_day_hour(s.at);
        let (classes, schools, grade) = match &user {
            Some(u) => attribute(roster, u, day),
            None => (Vec::new(), Vec::new(), None),
        };
        if filter("class").is_some_and(|c| !classes.iter().any(|x| x == c))
            || filter("school").is_some_and(|c| !schools.iter().any(|x| x == c))
        {
            continue;
        }
        let learner = user.clone().unwrap_or_else(|| s.who.canonical());
        let (y, m, d) = civil_from_days(day);
        let parts = |dim: &str| -> Vec<Value> {
            let or_null = |values: Vec<String>| -> Vec<Value> {
                if values.is_empty() {
                    vec![Value::Null]
                } else {
                    values.into_iter().map(Value::from).collect()
                }
            };
            match dim {
                "board" => vec![Value::from(roster.board_tenant())],
                "class" => or_null(
                    classes
                        .iter()
                        .filter(|c| filter("class").is_none_or(|f| f == c.as_str()))
                        .cloned()
                        .collect(),
                ),
                "school" => or_null(
                    schools
                        .iter()
                        .filter(|c| filter("school").is_none_or(|f| f == c.as_str()))
                        .cloned()
                        .collect(),
                ),
                "grade" => vec![grade.clone().map_or(Value::Null, Value::from)],
                "learner" => vec![Value::from(learner.clone())],
                "day" => vec![Value::from(format!("{y:04}-{m:02}-{d:02}"))],
                "week" => {
                    // 1970-01-01 was a Thursday: Monday is weekday 0.
                    let monday = day - (day + 3).rem_euclid(7);
                    vec![Value::from(date_text(civil_from_days(monday)))]
                }
                "school_year" => vec![Value::from(if m >= 4 { y } else { y - 1 })],
                "month" => vec![Value::from(format!("{y:04}-{m:02}"))],
                "hour" => vec![Value::from(hour)],
                "tool" => vec![Value::from(s.tool.clone())],
                "verb" => vec![Value::from(s.verb.clone())],
                "activity" => vec![Value::from(s.activity.clone())],
                "activity_type" => vec![Value::from(ACTIVITY_TYPE)],
                "subject" => vec![s.subject.clone().map_or(Value::Null, Value::from)],
                "curriculum_code" => vec![s.code.clone().map_or(Value::Null, Value::from)],
                other => panic!("the oracle does not know dimension {other}"),
            }
        };
        let mut keys: Vec<Vec<String>> = vec![Vec::new()];
        for dim in group_by {
            let values = parts(dim);
            keys = keys
                .into_iter()
                .flat_map(|k| {
                    values.iter().map(move |v| {
                        let mut k = k.clone();
                        k.push(v.to_string());
                        k
                    })
                })
                .collect();
        }
        for key in keys {
            let t = tallies.entry(key).or_default();
            t.statements += 1;
            t.learners.insert(learner.clone());
            t.ms += u64::from(s.duration_seconds.unwrap_or(0)) * 1000;
            t.completions += u64::from(s.completion == Some(true));
            t.answered += u64::from(s.success.is_some());
            t.correct += u64::from(s.success == Some(true));
            if let Some(scaled) = s.scaled {
                t.scaled.push(scaled);
            }
            t.last = t.last.max(s.at);
        }
    }
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    tallies
        .into_iter()
        .map(|(key, t)| {
            let mut metrics = BTreeMap::new();
            metrics.insert("statements".into(), Value::from(t.statements));
            metrics.insert("active_learners".into(), Value::from(t.learners.len()));
            metrics.insert(
                "learning_time_seconds".into(),
                json!(round(t.ms as f64 / 1000.0)),
            );
            metrics.insert("completions".into(), Value::from(t.completions));
            metrics.insert("answered".into(), Value::from(t.answered));
            metrics.insert("correct".into(), Value::from(t.correct));
            metrics.insert(
                "correct_rate".into(),
                if t.answered == 0 {
                    Value::Null
                } else {
                    json!(round(t.correct as f64 / t.answered as f64))
                },
            );
            metrics.insert(
                "mean_scaled_score".into(),
                if t.scaled.is_empty() {
                    Value::Null
                } else {
                    // Scaled scores travel as f32 in facts: compare with that precision.
                    let sum: f64 = t.scaled.iter().map(|x| f64::from(*x as f32)).sum();
                    json!(round(sum / t.scaled.len() as f64))
                },
            );
            metrics.insert("last_active".into(), Value::from(t.last));
            (key, metrics)
        })
        .collect()
}

/// The metrics the oracle computes, as the `metrics` parameter.
pub const ALL_METRICS: &str = "statements,active_learners,learning_time_seconds,completions,answered,correct,correct_rate,mean_scaled_score,last_active";

impl Roster {
    /// The tenant the board's statements are written under (the test credential's).
    pub fn board_tenant(&self) -> String {
        "board-a".into()
    }
}

/// Issue 11 §2, in order: account.name = sourcedId or userMasterIdentifier (any homePage: no
/// e-portal homePages are configured in the tests), an alias, mbox = email.
fn resolve(roster: &Roster, who: &Who) -> Option<String> {
    match who {
        Who::Account { home_page, name } => roster
            .users
            .iter()
            .find(|u| &u.id == name)
            .or_else(|| {
                roster
                    .users
                    .iter()
                    .find(|u| u.master.as_ref() == Some(name))
            })
            .map(|u| u.id.clone())
            .or_else(|| {
                roster
                    .aliases
                    .iter()
                    .find(|(h, n, _)| h == home_page && n == name)
                    .map(|(_, _, u)| u.clone())
            }),
        Who::Mbox(mbox) => {
            let address = mbox.strip_prefix("mailto:").unwrap_or(mbox);
            roster
                .users
                .iter()
                .find(|u| u.email.as_deref() == Some(address))
                .map(|u| u.id.clone())
        }
    }
}

/// Classes (sorted), schools (sorted) and grade of a user on a local day: their student
/// enrollments whose inclusive dates cover the day; the grade of a homeroom class among them,
/// else the user's own.
fn attribute(roster: &Roster, user: &str, day: i64) -> (Vec<String>, Vec<String>, Option<String>) {
    let mut classes = BTreeSet::new();
    let mut schools = BTreeSet::new();
    let mut grade = None;
    for e in roster
        .enrollments
        .iter()
        .filter(|e| e.user == user && !e.teacher)
    {
        if days_from_civil(e.begin) <= day && day <= days_from_civil(e.end) {
            let class = roster
                .classes
                .iter()
                .find(|c| c.id == e.class)
                .expect("class");
            classes.insert(class.id.clone());
            schools.insert(class.school.clone());
            if class.homeroom {
                grade = Some(class.grade.clone());
            }
        }
    }
    let grade = grade.or_else(|| {
        roster
            .users
            .iter()
            .find(|u| u.id == user)
            .map(|u| u.grade.clone())
    });
    (
        classes.into_iter().collect(),
        schools.into_iter().collect(),
        grade,
    )
}

/// The LRS's rows (`{"rows": […]}`) in the oracle's shape; `last_active` as UTC seconds.
pub fn answered_rows(answer: &Value, group_by: &[&str]) -> Rows {
    let mut rows = Rows::new();
    for row in answer["rows"].as_array().expect("rows") {
        let key: Vec<String> = group_by.iter().map(|d| row[*d].to_string()).collect();
        let mut metrics = BTreeMap::new();
        for (name, value) in row.as_object().unwrap() {
            if group_by.contains(&name.as_str()) {
                continue;
            }
            let value = if name == "last_active" {
                value
                    .as_str()
                    .map_or(Value::Null, |t| Value::from(parse_utc_seconds(t)))
            } else {
                value.clone()
            };
            metrics.insert(name.clone(), value);
        }
        rows.insert(key, metrics);
    }
    rows
}

/// Seconds of an RFC 3339 UTC timestamp as the LRS writes them (`…Z`, fractions ignored).
fn parse_utc_seconds(text: &str) -> i64 {
    let (date, time) = text.split_once('T').expect("a timestamp");
    let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let days = days_from_civil((parts[0] as i32, parts[1] as u32, parts[2] as u32));
    let hms: Vec<i64> = time[..8].split(':').map(|p| p.parse().unwrap()).collect();
    days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
}

/// A deterministic pseudo-random source for scenario generation (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

// The fixed scenario every aggregates test (one process and distributed) starts from.

pub const TOOL_HOME: &str = "https://tool.example.jp";

pub fn roster_v1() -> Roster {
    let class = |id: &str, school: &str, grade: &str, homeroom: bool| Class {
        id: id.into(),
        school: school.into(),
        grade: grade.into(),
        homeroom,
    };
    let user = |id: &str, grade: &str| User {
        id: id.into(),
        master: Some(format!("umi-{id}")),
        email: None,
        grade: grade.into(),
    };
    let year = ((2026, 4, 1), (2027, 3, 31));
    let enroll = |n: usize, user: &str, class: &str, teacher: bool| Enrollment {
        id: format!("e{n}"),
        user: user.into(),
        class: class.into(),
        teacher,
        begin: year.0,
        end: year.1,
    };
    let mut users: Vec<User> = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]
        .iter()
        .map(|id| user(id, if ["s6"].contains(id) { "P5" } else { "P4" }))
        .collect();
    users.push(User {
        email: Some("s9@example.jp".into()),
        ..user("s9", "P5")
    });
    users.push(user("t1", ""));
    Roster {
        board: "board-131016".into(),
        schools: vec!["sch-1".into(), "sch-2".into()],
        classes: vec![
            class("1-1", "sch-1", "P4", true),
            class("1-2", "sch-1", "P4", true),
            class("2-1", "sch-2", "P5", true),
            class("math-1", "sch-1", "P4", false),
        ],
        users,
        enrollments: vec![
            enroll(1, "s1", "1-1", false),
            enroll(2, "s2", "1-1", false),
            enroll(3, "s3", "1-1", false),
            enroll(4, "s7", "1-1", false),
            enroll(5, "s4", "1-2", false),
            enroll(6, "s5", "1-2", false),
            enroll(7, "s8", "1-2", false),
            enroll(8, "s6", "2-1", false),
            enroll(9, "s9", "2-1", false),
            enroll(10, "s1", "math-1", false),
            enroll(11, "t1", "1-1", true),
        ],
        aliases: Vec::new(),
    }
}

/// The roster after the transfer of s7 from 1-1 (sch-1) to 2-1 (sch-2) on 2026-10-11,
/// reported later, and with s8's tool alias.
pub fn roster_v2() -> Roster {
    let mut roster = roster_v1();
    for e in &mut roster.enrollments {
        if e.user == "s7" {
            e.end = (2026, 10, 10);
        }
    }
    roster.enrollments.push(Enrollment {
        id: "e12".into(),
        user: "s7".into(),
        class: "2-1".into(),
        teacher: false,
        begin: (2026, 10, 11),
        end: (2027, 3, 31),
    });
    roster
        .aliases
        .push((TOOL_HOME.into(), "tool-s8".into(), "s8".into()));
    roster
}

/// Seconds of a UTC date-time.
pub fn at(y: i32, m: u32, d: u32, h: i64, min: i64) -> i64 {
    days_from_civil((y, m, d)) * 86_400 + h * 3600 + min * 60
}

pub fn sent(n: u32, who: Who, at: i64) -> Sent {
    Sent {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        who,
        at,
        verb: "http://adlnet.gov/expapi/verbs/answered".into(),
        activity: format!("https://drill.example.jp/q/{}", n % 7),
        tool: ["算数ドリル", "e-book", "MEXCBT"][(n % 3) as usize].into(),
        subject: Some(["算数", "国語"][(n % 2) as usize].into()),
        code: Some(format!("82602{}2112000000", n % 3)),
        duration_seconds: Some(30 + n % 90),
        success: [Some(true), Some(false), None][(n % 3) as usize],
        completion: Some(n.is_multiple_of(4)),
        scaled: (!n.is_multiple_of(5)).then(|| f64::from(n % 10) / 10.0),
        voids: None,
    }
}

/// One question: group_by, since and until (UTC seconds), filters.
pub type Question = (
    Vec<&'static str>,
    i64,
    i64,
    Vec<(&'static str, &'static str)>,
);

/// The questions every scenario is asked.
pub fn questions() -> Vec<Question> {
    let october = (at(2026, 9, 30, 15, 0), at(2026, 10, 31, 15, 0)); // a Tokyo month
    let part = (at(2026, 10, 4, 15, 0), at(2026, 10, 19, 15, 0)); // 10-05 … 10-19 in Tokyo
    let mut asked = Vec::new();
    for (from, to) in [october, part] {
        for group_by in [
            vec![],
            vec!["class"],
            vec!["school"],
            vec!["grade"],
            vec!["learner"],
            vec!["month"],
            vec!["class", "day"],
            vec!["school", "learner"],
            vec!["subject"],
            vec!["curriculum_code"],
            vec!["tool", "hour"],
            vec!["week"],
            vec!["school_year", "grade"],
            vec!["verb", "activity"],
            vec!["activity_type"],
        ] {
            asked.push((group_by, from, to, vec![]));
        }
        asked.push((vec!["learner"], from, to, vec![("class", "1-1")]));
        asked.push((vec!["class"], from, to, vec![("school", "sch-2")]));
        asked.push((
            vec!["class"],
            from,
            to,
            vec![("curriculum_code_prefix", "826021")],
        ));
    }
    asked
}

/// A random roster: the fixed one, where up to three random students move to another
/// homeroom on a random October day (their old enrollment ends the day before), and one may
/// join a scheduled class mid-month.
pub fn random_roster(rng: &mut Rng) -> Roster {
    let mut roster = roster_v2();
    let homerooms: Vec<String> = roster
        .classes
        .iter()
        .filter(|c| c.homeroom)
        .map(|c| c.id.clone())
        .collect();
    for n in 0..rng.below(4) {
        let student = format!("s{}", 1 + rng.below(9));
        let day = 2 + rng.below(28) as u32;
        let Some(current) = roster
            .enrollments
            .iter_mut()
            .find(|e| e.user == student && e.end == (2027, 3, 31) && e.begin < (2026, 10, day))
        else {
            continue;
        };
        let from = current.class.clone();
        current.end = (2026, 10, day - 1);
        let to = homerooms
            .iter()
            .find(|c| **c != from && rng.chance(50))
            .or_else(|| homerooms.iter().find(|c| **c != from))
            .unwrap()
            .clone();
        roster.enrollments.push(Enrollment {
            id: format!("move-{n}"),
            user: student,
            class: to,
            teacher: false,
            begin: (2026, 10, day),
            end: (2027, 3, 31),
        });
    }
    if rng.chance(50) {
        roster.enrollments.push(Enrollment {
            id: "join-math".into(),
            user: format!("s{}", 2 + rng.below(8)),
            class: "math-1".into(),
            teacher: false,
            begin: (2026, 10, 1 + rng.below(30) as u32),
            end: (2027, 3, 31),
        });
    }
    roster
}

/// A random scenario over the fixed roster: learners (some unknown, some by alias or mbox),
/// timestamps over October, voiding in either order, re-sends.
pub fn random_statements(rng: &mut Rng) -> Vec<Sent> {
    let roster = roster_v2();
    let mut out: Vec<Sent> = Vec::new();
    let count = 60 + rng.below(60) as u32;
    for n in 0..count {
        let who = match rng.below(10) {
            0 => Who::learner(&format!("unknown-{}", rng.below(3))),
            1 => Who::Account {
                home_page: TOOL_HOME.into(),
                name: "tool-s8".into(),
            },
            2 => Who::Mbox("mailto:s9@example.jp".into()),
            3 => Who::learner(&format!("umi-s{}", 1 + rng.below(7))),
            _ => Who::learner(&roster.users[rng.below(8) as usize].id),
        };
        let moment = at(2026, 9, 30, 0, 0) + rng.below(33 * 86_400) as i64;
        let mut s = sent(
            1_000 + n + (rng.next() % 1_000_000) as u32 * 1_000,
            who,
            moment,
        );
        if rng.chance(8) && !out.is_empty() {
            // Void an earlier statement (or re-send one).
            let earlier = out[rng.below(out.len() as u64) as usize].clone();
            if rng.chance(50) && earlier.voids.is_none() {
                s.voids = Some(earlier.id.clone());
            } else {
                out.push(earlier);
                continue;
            }
        }
        out.push(s);
    }
    // Some voiding statements arrive before their targets.
    for i in 0..out.len().saturating_sub(1) {
        if out[i + 1].voids.as_deref() == Some(out[i].id.as_str()) && rng.chance(50) {
            out.swap(i, i + 1);
        }
    }
    out
}

/// Where the scenario is sent and asked: an LRS's root (`http://host:port`) for writes and one
/// for reads (the same in one process; api and query in the distributed deployment).
pub struct Target<'a> {
    pub client: &'a reqwest::Client,
    pub write_root: String,
    pub read_root: String,
    pub key: &'a str,
    pub secret: &'a str,
}

impl<'a> Target<'a> {
    pub fn of(lrs: &'a super::TestLrs) -> Target<'a> {
        let root = lrs.endpoint.trim_end_matches("/xapi").to_owned();
        Target {
            client: &lrs.client,
            write_root: root.clone(),
            read_root: root,
            key: &lrs.key,
            secret: &lrs.secret,
        }
    }

    pub async fn post(&self, path: &str, body: Vec<u8>, content_type: &str) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.write_root))
            .basic_auth(self.key, Some(self.secret))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }

    /// Imports the roster and its aliases.
    pub async fn import(&self, roster: &Roster) {
        self.post("/api/v1/roster", roster.zip(), "application/zip")
            .await;
        if !roster.aliases.is_empty() {
            let csv = roster.aliases_csv().into_bytes();
            self.post("/api/v1/roster/aliases", csv, "text/csv").await;
        }
    }

    /// Posts the statements in requests of at most 50; a chunk that repeats an id goes one
    /// statement per request (ids are unique within a batch).
    pub async fn post_statements(&self, batch: &[Sent]) {
        for chunk in batch.chunks(50) {
            let ids: HashSet<&str> = chunk.iter().map(|s| s.id.as_str()).collect();
            let requests: Vec<Vec<&Sent>> = if ids.len() == chunk.len() {
                vec![chunk.iter().collect()]
            } else {
                chunk.iter().map(|s| vec![s]).collect()
            };
            for request in requests {
                let body = Value::Array(request.iter().map(|s| s.json()).collect());
                let response = self
                    .client
                    .post(format!("{}/xapi/statements", self.write_root))
                    .basic_auth(self.key, Some(self.secret))
                    .header("X-Experience-API-Version", "2.0.0")
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                assert_eq!(status, 200, "POST statements: {text}");
            }
        }
    }

    pub async fn aggregates(
        &self,
        group_by: &[&str],
        since: i64,
        until: i64,
        filters: &[(&str, &str)],
    ) -> Value {
        let mut query: Vec<(String, String)> = vec![
            ("metrics".into(), ALL_METRICS.into()),
            ("since".into(), utc_text(since)),
            ("until".into(), utc_text(until)),
        ];
        if !group_by.is_empty() {
            query.push(("group_by".into(), group_by.join(",")));
        }
        for (k, v) in filters {
            query.push(((*k).into(), (*v).into()));
        }
        let response = self
            .client
            .get(format!("{}/api/v1/aggregates", self.read_root))
            .basic_auth(self.key, Some(self.secret))
            .query(&query)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(
            status, 200,
            "GET aggregates {group_by:?} {filters:?}: {body}"
        );
        body
    }

    /// Every question's answer equals the oracle's (`SHOW_AGGREGATES=1` prints the answers).
    pub async fn check_every_question(&self, roster: &Roster, sent: &[Sent]) {
        for (group_by, since, until, filters) in questions() {
            let answer = self.aggregates(&group_by, since, until, &filters).await;
            let expected = oracle(roster, sent, &group_by, since, until, &filters);
            let got = answered_rows(&answer, &group_by);
            if std::env::var_os("SHOW_AGGREGATES").is_some() {
                eprintln!("{group_by:?} {filters:?}: {answer}");
            }
            assert!(
                !group_by.is_empty() || !expected.is_empty(),
                "the scenario has statements in {}..{}",
                utc_text(since),
                utc_text(until)
            );
            assert_eq!(
                got,
                expected,
                "group_by {group_by:?}, {}..{}, filters {filters:?}",
                utc_text(since),
                utc_text(until)
            );
        }
    }
}

/// Counts of the rows, for messages.
pub fn describe(rows: &Rows) -> HashMap<&'static str, usize> {
    HashMap::from([("rows", rows.len())])
}
