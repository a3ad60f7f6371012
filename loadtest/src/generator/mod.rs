//! A deterministic generator of realistic Japanese study-log statements.
//!
//! The population is boards → schools → classes → learners (see `population`); every actor is
//! identified the way the xAPI Japan Profiles expect (`account.homePage` = the e-portal,
//! `account.name` = the OneRoster `userMasterIdentifier` UUID, also the user's `sourcedId` in the
//! roster `loadtest roster` writes). Statement kinds follow the profiles: drill `answered` and
//! hint/explanation `viewed`, CBT `attempted`/`answered`/`completed`, video `played`/`completed`,
//! the assignment lifecycle (teacher `created`/`shared`, learner
//! `launched`/`responded`/`completed`), e-book `launched`/`viewed`/`terminated` and e-portal
//! `logged-in`. Names and descriptions are `ja-JP`; every statement carries a 学習指導要領コード and
//! is 1–3 KB. The same seed always yields the same statements (ids included).

mod kinds;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::population::{
    Class, SchoolType, class_id, course_id, learner_id, school_code, teacher_id,
};
pub use crate::population::{EPORTAL, Population};

/// Extension IRIs of the xAPI Japan Profiles (the `japan-xapi` spelling).
pub const EXT: &str = "https://w3id.org/japan-xapi/extensions";

/// A subject: name (elementary, junior high), IRI slug, digit 3 of the 学習指導要領コード, units.
pub struct Subject {
    pub elementary: &'static str,
    pub junior_high: &'static str,
    pub slug: &'static str,
    pub code: char,
    pub units: [&'static str; 3],
}

pub const SUBJECTS: [Subject; 5] = [
    Subject {
        elementary: "国語",
        junior_high: "国語",
        slug: "japanese",
        code: '1',
        units: [
            "物語を読んで考えよう",
            "漢字の成り立ち",
            "話し合って考えを深めよう",
        ],
    },
    Subject {
        elementary: "社会",
        junior_high: "社会",
        slug: "social",
        code: '2',
        units: [
            "日本の国土と人々のくらし",
            "地域の安全を守る",
            "歴史の流れをとらえる",
        ],
    },
    Subject {
        elementary: "算数",
        junior_high: "数学",
        slug: "math",
        code: '3',
        units: ["分数のたし算とひき算", "比例と反比例", "円の面積"],
    },
    Subject {
        elementary: "理科",
        junior_high: "理科",
        slug: "science",
        code: '4',
        units: ["月や星の動き", "電流のはたらき", "植物の成長と日光"],
    },
    Subject {
        elementary: "外国語",
        junior_high: "外国語（英語）",
        slug: "english",
        code: '9',
        units: ["自己紹介をしよう", "道案内をしよう", "夏休みの思い出"],
    },
];

/// Everything one statement is about: who, in which class, which subject and unit.
pub struct Scene {
    pub seed: u64,
    pub actor: Value,
    pub class: Class,
    pub subject: usize,
    pub unit: usize,
    /// e.g. `math-p4-u2`, the stem of activity ids.
    pub slug: String,
    /// 学習指導要領コード: 16 characters (see japan-context.md).
    pub code: String,
}

impl Scene {
    pub fn subject_name(&self) -> &'static str {
        let subject = &SUBJECTS[self.subject];
        match self.class.school_type {
            SchoolType::Elementary => subject.elementary,
            SchoolType::JuniorHigh => subject.junior_high,
        }
    }

    pub fn unit_name(&self) -> &'static str {
        SUBJECTS[self.subject].units[self.unit]
    }

    /// The core Japan Profile extensions for an activity definition.
    pub fn extensions(&self) -> Value {
        json!({
            format!("{EXT}/subject"): [self.subject_name()],
            format!("{EXT}/grade"): [self.class.grade()],
            format!("{EXT}/course-of-study-code"): [self.code],
            format!("{EXT}/unit"): [self.unit_name()],
        })
    }

    /// `context` with platform, language, the class and course groupings and the profile
    /// category; `extra` is merged into `contextActivities` (e.g. `parent`).
    pub fn context(&self, platform: &str, profile: &str, registration: Option<Uuid>) -> Value {
        let class = &self.class;
        let course = course_id(self.seed, class.school, class.grade_number, self.subject);
        let mut context = json!({
            "platform": platform,
            "language": "ja-JP",
            "contextActivities": {
                "grouping": [
                    {"objectType": "Activity",
                     "id": format!("{EPORTAL}/oneroster/classes/{}", class_id(self.seed, class.index)),
                     "definition": {"type": "https://lrs.example.jp/xapi/activitytypes/oneroster-class",
                                    "name": {"ja-JP": class.title()}}},
                    {"objectType": "Activity",
                     "id": format!("{EPORTAL}/oneroster/courses/{course}"),
                     "definition": {"type": "http://adlnet.gov/expapi/activities/course",
                                    "name": {"ja-JP": format!("2025年度 {}年 {}", class.grade_number, self.subject_name())}}}
                ],
                "category": [
                    {"objectType": "Activity",
                     "id": format!("https://w3id.org/xapi-japan-profiles/{profile}/v1.0.0"),
                     "definition": {"type": "http://adlnet.gov/expapi/activities/profile"}}
                ]
            },
            "extensions": {
                format!("{EXT}/course-of-study-code"): [self.code],
                "https://lrs.example.jp/xapi/extensions/school-code": school_code(class.school, class.school_type),
            }
        });
        if let Some(registration) = registration {
            context["registration"] = json!(registration.to_string());
        }
        context
    }
}

/// A seeded source of statements.
pub struct Generator {
    rng: StdRng,
    seed: u64,
    population: Population,
    /// Statements carry client-chosen ids (as Japanese tools send them).
    pub with_ids: bool,
    /// The statement's `version` property (`1.0.3` or `2.0.0`).
    pub version: String,
}

fn agent(id: Uuid) -> Value {
    json!({"objectType": "Agent", "account": {"homePage": EPORTAL, "name": id.to_string()}})
}

impl Generator {
    pub fn new(seed: u64, population: Population) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            seed,
            population,
            with_ids: true,
            version: "1.0.3".to_owned(),
        }
    }

    pub fn population(&self) -> &Population {
        &self.population
    }

    pub fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    fn scene(&mut self, teacher: bool) -> Scene {
        let (class, actor) = if teacher {
            let class = self.rng.random_range(0..self.population.classes());
            (
                self.population.class(class),
                agent(teacher_id(self.seed, class)),
            )
        } else {
            let learner = self.rng.random_range(0..self.population.learners());
            (
                self.population.class_of_learner(learner),
                agent(learner_id(self.seed, learner)),
            )
        };
        let subject = self.rng.random_range(0..SUBJECTS.len());
        let unit = self.rng.random_range(0..3);
        let group = self.rng.random_range(1..=12);
        let code = format!(
            "8{}{}02{}{}{group:02}0000000",
            class.school_type.code_digit(),
            SUBJECTS[subject].code,
            class.grade_number,
            unit + 1,
        );
        let slug = format!(
            "{}-{}-u{}",
            SUBJECTS[subject].slug,
            class.grade().to_lowercase(),
            unit + 1
        );
        Scene {
            seed: self.seed,
            actor,
            class,
            subject,
            unit,
            slug,
            code,
        }
    }

    /// The next statement.
    pub fn statement(&mut self) -> Value {
        let kind = self.rng.random_range(0..100);
        let scene = self.scene(kind >= 98);
        let mut statement = match kind {
            0..=44 => self.drill_answered(&scene),
            45..=49 => self.drill_viewed(&scene),
            50..=54 => self.cbt_attempted(&scene),
            55..=59 => self.cbt_answered(&scene),
            60..=64 => self.cbt_completed(&scene),
            65..=74 => self.video(&scene),
            75..=84 => self.assignment_by_learner(&scene),
            85..=91 => self.ebook(&scene),
            92..=97 => self.login(&scene),
            _ => self.assignment_by_teacher(&scene),
        };
        let day = self.rng.random_range(1..=28);
        let second = self.rng.random_range(0..8 * 3600);
        statement["timestamp"] = json!(format!(
            "2025-10-{day:02}T{:02}:{:02}:{:02}+09:00",
            8 + second / 3600,
            second / 60 % 60,
            second % 60
        ));
        statement["version"] = json!(self.version);
        let id = self.uuid();
        if self.with_ids {
            statement["id"] = json!(id.to_string());
        }
        statement
    }

    /// `n` statements.
    pub fn batch(&mut self, n: usize) -> Vec<Value> {
        (0..n).map(|_| self.statement()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lrs_schema::XapiVersion;

    fn verbs_of(statements: &[Value]) -> std::collections::BTreeSet<String> {
        statements
            .iter()
            .map(|s| s["verb"]["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_same_seed_gives_byte_identical_statements_and_another_seed_different_ones() {
        let a = serde_json::to_vec(&Generator::new(7, Population::default()).batch(200)).unwrap();
        let b = serde_json::to_vec(&Generator::new(7, Population::default()).batch(200)).unwrap();
        assert_eq!(a, b);
        let c = serde_json::to_vec(&Generator::new(8, Population::default()).batch(200)).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn every_kind_parses_as_a_valid_statement_in_1_0_3_and_2_0_0() {
        for (version, label) in [
            (XapiVersion::V1_0_3, "1.0.3"),
            (XapiVersion::V2_0_0, "2.0.0"),
        ] {
            let mut generator = Generator::new(1, Population::default());
            generator.version = label.to_owned();
            let statements = generator.batch(2000);
            for statement in &statements {
                lrs_schema::Statement::from_json(statement, version, "$")
                    .unwrap_or_else(|e| panic!("{label}: {e}: {statement}"));
            }
            let verbs = verbs_of(&statements);
            for verb in [
                "http://adlnet.gov/expapi/verbs/answered",
                "http://adlnet.gov/expapi/verbs/attempted",
                "http://adlnet.gov/expapi/verbs/completed",
                "http://id.tincanapi.com/verb/viewed",
                "https://w3id.org/xapi/video/verbs/played",
                "http://adlnet.gov/expapi/verbs/launched",
                "http://adlnet.gov/expapi/verbs/responded",
                "http://activitystrea.ms/schema/1.0/create",
                "http://adlnet.gov/expapi/verbs/shared",
                "http://adlnet.gov/expapi/verbs/terminated",
                "https://w3id.org/xapi/adl/verbs/logged-in",
            ] {
                assert!(verbs.contains(verb), "no {verb} in {verbs:?}");
            }
        }
    }

    #[test]
    fn every_statement_is_between_1_and_3_kilobytes() {
        for statement in Generator::new(2, Population::default()).batch(3000) {
            let size = serde_json::to_vec(&statement).unwrap().len();
            assert!((1000..=3072).contains(&size), "{size} bytes: {statement}");
        }
    }

    #[test]
    fn statements_carry_the_japan_profile_required_properties() {
        for statement in Generator::new(3, Population::default()).batch(500) {
            assert!(statement["id"].is_string());
            assert!(statement["timestamp"].as_str().unwrap().ends_with("+09:00"));
            assert_eq!(statement["actor"]["account"]["homePage"], EPORTAL);
            assert!(statement["verb"]["display"]["en"].is_string());
            assert!(statement["verb"]["display"]["ja-JP"].is_string());
            assert!(statement["object"]["definition"]["type"].is_string());
            assert!(statement["object"]["definition"]["name"]["ja-JP"].is_string());
            assert_eq!(statement["context"]["language"], "ja-JP");
            assert!(statement["context"]["platform"].is_string());
            let code = statement["context"]["extensions"][format!("{EXT}/course-of-study-code")][0]
                .as_str()
                .unwrap();
            assert_eq!(code.len(), 16, "{code}");
            assert!(code.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }
}
