//! A deterministic generator of realistic Japanese study-log statements.
//!
//! The population is boards → schools → classes → learners; every learner is identified the way
//! the xAPI Japan Profiles expect (`account.homePage` = the e-portal, `account.name` = the
//! OneRoster `userMasterIdentifier` UUID). Statement kinds follow the profiles: drill `answered`,
//! CBT `attempted`/`completed`, video, assignment lifecycle, e-book pages, e-portal logins. The same
//! seed always yields the same statements (ids included), so runs are comparable.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

const EPORTAL: &str = "https://eportal.example.jp";
const EXT: &str = "https://w3id.org/japan-xapi/extensions";

const SUBJECTS: [(&str, &str, char); 5] = [
    ("国語", "japanese", '1'),
    ("算数", "math", '3'),
    ("理科", "science", '4'),
    ("社会", "social", '2'),
    ("英語", "english", '9'),
];
const GRADES: [&str; 9] = ["P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3"];
const UNITS: [&str; 6] = [
    "月や星の動き",
    "分数のたし算とひき算",
    "日本の国土と人々のくらし",
    "物語を読んで考えよう",
    "電流のはたらき",
    "比例と反比例",
];

/// Shape of the synthetic population.
#[derive(Debug, Clone, Copy)]
pub struct Population {
    pub boards: u32,
    pub schools_per_board: u32,
    pub classes_per_school: u32,
    pub learners_per_class: u32,
}

impl Default for Population {
    fn default() -> Self {
        Population {
            boards: 2,
            schools_per_board: 10,
            classes_per_school: 6,
            learners_per_class: 30,
        }
    }
}

impl Population {
    pub fn learners(&self) -> u64 {
        u64::from(
            self.boards
                * self.schools_per_board
                * self.classes_per_school
                * self.learners_per_class,
        )
    }
}

/// A seeded source of statements.
pub struct Generator {
    rng: StdRng,
    population: Population,
    /// Statements carry client-chosen ids (as Japanese tools send them).
    pub with_ids: bool,
}

/// Learner `n`'s stable identifier (a UUID v4-shaped value derived from the seed and `n`).
pub fn learner_id(seed: u64, n: u64) -> Uuid {
    let mut rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

impl Generator {
    pub fn new(seed: u64, population: Population) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            population,
            with_ids: true,
        }
    }

    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// The next statement.
    pub fn statement(&mut self) -> Value {
        let learner = self.rng.random_range(0..self.population.learners());
        let learner_uuid = learner_id(0, learner);
        let (subject, slug, code_digit) = SUBJECTS[self.rng.random_range(0..SUBJECTS.len())];
        let grade = GRADES[(learner % GRADES.len() as u64) as usize];
        let unit = UNITS[self.rng.random_range(0..UNITS.len())];
        let item = self.rng.random_range(1..=40);
        let course_code = format!(
            "82{}{}{:012}",
            if grade.starts_with('P') { '2' } else { '3' },
            code_digit,
            self.rng.random_range(0..10u64.pow(12))
        );
        let day = self.rng.random_range(1..=28);
        let second = self.rng.random_range(0..8 * 3600);
        let timestamp = format!(
            "2025-10-{day:02}T{:02}:{:02}:{:02}+09:00",
            8 + second / 3600,
            second / 60 % 60,
            second % 60
        );
        let actor = json!({"objectType": "Agent", "account": {"homePage": EPORTAL, "name": learner_uuid.to_string()}});
        let extensions = json!({
            format!("{EXT}/subject"): [subject],
            format!("{EXT}/grade"): [grade],
            format!("{EXT}/course-of-study-code"): [course_code],
            format!("{EXT}/unit"): [unit],
        });
        let kind = self.rng.random_range(0..100);
        let mut statement = match kind {
            0..=54 => self.drill_answered(actor, slug, subject, unit, item, extensions),
            55..=69 => self.cbt(actor, slug, subject, extensions),
            70..=79 => video(actor, slug, unit, self.rng.random_range(30..900)),
            80..=89 => self.assignment(actor, slug, unit),
            90..=95 => ebook(actor, slug, self.rng.random_range(1..200)),
            _ => login(actor),
        };
        statement["timestamp"] = json!(timestamp);
        statement["version"] = json!("1.0.3");
        if self.with_ids {
            statement["id"] = json!(self.uuid().to_string());
        }
        statement
    }

    /// `n` statements.
    pub fn batch(&mut self, n: usize) -> Vec<Value> {
        (0..n).map(|_| self.statement()).collect()
    }

    fn drill_answered(
        &mut self,
        actor: Value,
        slug: &str,
        subject: &str,
        unit: &str,
        item: u32,
        extensions: Value,
    ) -> Value {
        let correct = self.rng.random_bool(0.7);
        let choice = ["a", "b", "c", "d"][self.rng.random_range(0..4)];
        let registration = self.uuid();
        let mut extensions = extensions;
        extensions[format!("{EXT}/question-order")] = json!(item);
        extensions[format!("{EXT}/purpose-of-question")] =
            json!([format!("{unit}について理解している")]);
        json!({
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en": "answered", "ja-JP": "回答した"}},
            "object": {"objectType": "Activity", "id": format!("https://drill.example.jp/items/{slug}-{item:03}"),
                "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                    "name": {"ja-JP": format!("第{item}問：{unit}")},
                    "description": {"ja-JP": format!("{subject}の確認問題（{unit}）")},
                    "interactionType": "choice", "correctResponsesPattern": ["b"],
                    "choices": [
                        {"id": "a", "description": {"ja-JP": "選択肢ア"}},
                        {"id": "b", "description": {"ja-JP": "選択肢イ"}},
                        {"id": "c", "description": {"ja-JP": "選択肢ウ"}},
                        {"id": "d", "description": {"ja-JP": "選択肢エ"}}],
                    "extensions": extensions}},
            "result": {"response": choice, "success": correct,
                "score": {"scaled": if correct { 1 } else { 0 }, "raw": if correct { 1 } else { 0 }, "min": 0, "max": 1},
                "duration": format!("PT{}S", self.rng.random_range(5..180))},
            "context": {"registration": registration.to_string(), "platform": "デジタルドリル（例）", "language": "ja-JP",
                "contextActivities": {
                    "parent": [{"objectType": "Activity", "id": format!("https://drill.example.jp/sets/{slug}"),
                        "definition": {"type": "http://adlnet.gov/expapi/activities/assessment", "name": {"ja-JP": format!("{unit} 確認ドリル")}}}],
                    "grouping": [{"objectType": "Activity", "id": format!("https://drill.example.jp/courses/{slug}")}],
                    "category": [{"objectType": "Activity", "id": "https://w3id.org/xapi-japan-profiles/drill"}]}}
        })
    }

    fn cbt(&mut self, actor: Value, slug: &str, subject: &str, extensions: Value) -> Value {
        let completed = self.rng.random_bool(0.5);
        let raw = self.rng.random_range(0..=100);
        let mut statement = json!({
            "actor": actor,
            "verb": if completed {
                json!({"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en": "completed", "ja-JP": "完了した"}})
            } else {
                json!({"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en": "attempted", "ja-JP": "開始した"}})
            },
            "object": {"objectType": "Activity", "id": format!("https://cbt.example.jp/tests/{slug}-unit-test"),
                "definition": {"type": "http://adlnet.gov/expapi/activities/assessment",
                    "name": {"ja-JP": format!("{subject} 単元テスト")}, "extensions": extensions}},
            "context": {"registration": self.uuid().to_string(), "platform": "MEXCBT（例）", "language": "ja-JP",
                "contextActivities": {"category": [{"objectType": "Activity", "id": "https://w3id.org/xapi-japan-profiles/cbt"}]}}
        });
        if completed {
            statement["result"] = json!({"completion": true, "success": raw >= 60,
                "score": {"raw": raw, "min": 0, "max": 100, "scaled": f64::from(raw) / 100.0},
                "duration": format!("PT{}M{}S", self.rng.random_range(10..45), self.rng.random_range(0..60))});
        }
        statement
    }

    fn assignment(&mut self, actor: Value, slug: &str, unit: &str) -> Value {
        let verb = ["launched", "completed", "responded"][self.rng.random_range(0..3)];
        json!({
            "actor": actor,
            "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": {"en": verb, "ja-JP": "課題に取り組んだ"}},
            "object": {"objectType": "Activity", "id": format!("https://lms.example.jp/assignments/{slug}-{}", self.rng.random_range(1..50)),
                "definition": {"type": "http://id.tincanapi.com/activitytype/school-assignment",
                    "name": {"ja-JP": format!("宿題：{unit}")},
                    "extensions": {format!("{EXT}/due-date"): {"start": "2025-10-01T08:00:00+09:00", "end": "2025-10-31T17:00:00+09:00"}}}},
            "context": {"platform": "学習eポータル（例）", "language": "ja-JP"}
        })
    }
}

fn video(actor: Value, slug: &str, unit: &str, seconds: u32) -> Value {
    json!({
        "actor": actor,
        "verb": {"id": "https://w3id.org/xapi/video/verbs/played", "display": {"en": "played", "ja-JP": "再生した"}},
        "object": {"objectType": "Activity", "id": format!("https://video.example.jp/videos/{slug}"),
            "definition": {"type": "https://w3id.org/xapi/video/activity-type/video", "name": {"ja-JP": format!("解説動画：{unit}")}}},
        "result": {"duration": format!("PT{seconds}S")},
        "context": {"platform": "学習動画（例）", "language": "ja-JP"}
    })
}

fn ebook(actor: Value, slug: &str, page: u32) -> Value {
    json!({
        "actor": actor,
        "verb": {"id": "http://id.tincanapi.com/verb/viewed", "display": {"en": "viewed", "ja-JP": "閲覧した"}},
        "object": {"objectType": "Activity", "id": format!("https://ebook.example.jp/books/{slug}/pages/{page}"),
            "definition": {"type": "http://id.tincanapi.com/activitytype/page", "name": {"ja-JP": format!("デジタル教科書 {page}ページ")}}},
        "context": {"platform": "デジタル教科書ビューア（例）", "language": "ja-JP",
            "contextActivities": {"parent": [{"objectType": "Activity", "id": format!("https://ebook.example.jp/books/{slug}")}]}}
    })
}

fn login(actor: Value) -> Value {
    json!({
        "actor": actor,
        "verb": {"id": "https://w3id.org/xapi/adl/verbs/logged-in", "display": {"en": "logged-in", "ja-JP": "ログインした"}},
        "object": {"objectType": "Activity", "id": EPORTAL,
            "definition": {"type": "http://activitystrea.ms/schema/1.0/application", "name": {"ja-JP": "学習eポータル"}}},
        "context": {"platform": "学習eポータル（例）", "language": "ja-JP"}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_statements() {
        let a = Generator::new(7, Population::default()).batch(50);
        let b = Generator::new(7, Population::default()).batch(50);
        assert_eq!(a, b);
        let c = Generator::new(8, Population::default()).batch(50);
        assert_ne!(a, c);
    }

    #[test]
    fn generated_statements_are_valid_for_both_versions_and_realistically_sized() {
        let mut generator = Generator::new(1, Population::default());
        let mut total = 0;
        for statement in generator.batch(500) {
            let bytes = serde_json::to_vec(&statement).unwrap();
            total += bytes.len();
            for version in [
                lrs_schema::XapiVersion::V1_0_3,
                lrs_schema::XapiVersion::V2_0_0,
            ] {
                lrs_schema::Statement::from_json(&statement, version, "$")
                    .unwrap_or_else(|e| panic!("{e}: {statement}"));
            }
        }
        let average = total / 500;
        assert!(
            (700..=3000).contains(&average),
            "average statement size {average} bytes"
        );
    }
}
