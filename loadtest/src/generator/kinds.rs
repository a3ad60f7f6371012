//! The statement kinds of the xAPI Japan Profiles (assessment/drill/CBT, LMS assignments,
//! e-book, video, e-portal), each built from a [`Scene`].

use rand::Rng;
use serde_json::{Value, json};

use super::{EPORTAL, EXT, Generator, Scene};

fn verb(id: &str, en: &str, ja: &str) -> Value {
    json!({"id": id, "display": {"en": en, "ja-JP": ja}})
}

const ANSWERED: &str = "http://adlnet.gov/expapi/verbs/answered";
const ATTEMPTED: &str = "http://adlnet.gov/expapi/verbs/attempted";
const COMPLETED: &str = "http://adlnet.gov/expapi/verbs/completed";
const VIEWED: &str = "http://id.tincanapi.com/verb/viewed";
const LAUNCHED: &str = "http://adlnet.gov/expapi/verbs/launched";
const TERMINATED: &str = "http://adlnet.gov/expapi/verbs/terminated";
const ASSIGNMENT: &str = "http://id.tincanapi.com/activitytype/school-assignment";

impl Generator {
    fn seconds(&mut self, range: std::ops::Range<u32>) -> String {
        let seconds = self.rng.random_range(range);
        if seconds >= 60 {
            format!("PT{}M{}S", seconds / 60, seconds % 60)
        } else {
            format!("PT{seconds}S")
        }
    }

    fn choice_item(&self, scene: &Scene, host: &str, item: u32) -> Value {
        let mut extensions = scene.extensions();
        extensions[format!("{EXT}/question-order")] = json!(item);
        extensions[format!("{EXT}/difficulty")] = json!(["易", "標準", "難"][item as usize % 3]);
        extensions[format!("{EXT}/purpose-of-question")] =
            json!([format!("{}について理解している", scene.unit_name())]);
        json!({"objectType": "Activity", "id": format!("https://{host}/items/{}-{item:03}", scene.slug),
            "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "name": {"ja-JP": format!("第{item}問：{}", scene.unit_name())},
                "description": {"ja-JP": format!("{}の確認問題（{}）", scene.subject_name(), scene.unit_name())},
                "interactionType": "choice", "correctResponsesPattern": ["b"],
                "choices": [
                    {"id": "a", "description": {"ja-JP": "選択肢ア"}},
                    {"id": "b", "description": {"ja-JP": "選択肢イ"}},
                    {"id": "c", "description": {"ja-JP": "選択肢ウ"}},
                    {"id": "d", "description": {"ja-JP": "選択肢エ"}}],
                "extensions": extensions}})
    }

    fn answer(&mut self) -> Value {
        let correct = self.rng.random_bool(0.7);
        let choice = if correct {
            "b"
        } else {
            ["a", "c", "d"][self.rng.random_range(0..3)]
        };
        let score = u8::from(correct);
        json!({"response": choice, "success": correct,
            "score": {"scaled": score, "raw": score, "min": 0, "max": 1},
            "duration": self.seconds(5..180)})
    }

    /// Drill: one `answered` per answer.
    pub(super) fn drill_answered(&mut self, scene: &Scene) -> Value {
        let item = self.rng.random_range(1..=20);
        let registration = self.uuid();
        let mut context = scene.context("デジタルドリル（例）", "assessment", Some(registration));
        context["contextActivities"]["parent"] = json!([{"objectType": "Activity",
            "id": format!("https://drill.example.jp/sets/{}", scene.slug),
            "definition": {"type": "http://adlnet.gov/expapi/activities/assessment",
                "name": {"ja-JP": format!("{} 確認ドリル", scene.unit_name())}}}]);
        context["extensions"][format!("{EXT}/assessment-type")] = json!("formative");
        json!({
            "actor": scene.actor,
            "verb": verb(ANSWERED, "answered", "回答した"),
            "object": self.choice_item(scene, "drill.example.jp", item),
            "result": self.answer(),
            "context": context,
        })
    }

    /// Drill: a hint or an explanation `viewed`.
    pub(super) fn drill_viewed(&mut self, scene: &Scene) -> Value {
        let item = self.rng.random_range(1..=20);
        let (content, ja) =
            [("hint", "ヒント"), ("explanation", "解説")][self.rng.random_range(0..2)];
        let mut extensions = scene.extensions();
        extensions[format!("{EXT}/content-type")] = json!(content);
        extensions[format!("{EXT}/question-order")] = json!(item);
        let registration = self.uuid();
        json!({
            "actor": scene.actor,
            "verb": verb(VIEWED, "viewed", "閲覧した"),
            "object": {"objectType": "Activity",
                "id": format!("https://drill.example.jp/items/{}-{item:03}/{content}", scene.slug),
                "definition": {"type": "http://id.tincanapi.com/activitytype/resource",
                    "name": {"ja-JP": format!("第{item}問の{ja}")}, "extensions": extensions}},
            "result": {"duration": self.seconds(5..120)},
            "context": scene.context("デジタルドリル（例）", "assessment", Some(registration)),
        })
    }

    fn cbt_test(&self, scene: &Scene) -> Value {
        json!({"objectType": "Activity", "id": format!("https://mexcbt.example/tests/{}", scene.slug),
            "definition": {"type": "http://adlnet.gov/expapi/activities/assessment",
                "name": {"ja-JP": format!("{} 単元テスト「{}」（MEXCBT）", scene.subject_name(), scene.unit_name())},
                "description": {"ja-JP": "聞くこと・読むことに関する20問"},
                "extensions": scene.extensions()}})
    }

    fn cbt_context(&mut self, scene: &Scene) -> Value {
        let registration = self.uuid();
        let mut context = scene.context("MEXCBT", "assessment", Some(registration));
        context["extensions"][format!("{EXT}/assessment-type")] = json!("summative");
        context
    }

    /// CBT: `attempted` when a test starts.
    pub(super) fn cbt_attempted(&mut self, scene: &Scene) -> Value {
        json!({
            "actor": scene.actor,
            "verb": verb(ATTEMPTED, "attempted", "開始した"),
            "object": self.cbt_test(scene),
            "context": self.cbt_context(scene),
        })
    }

    /// CBT: one `answered` per item, the test as parent.
    pub(super) fn cbt_answered(&mut self, scene: &Scene) -> Value {
        let item = self.rng.random_range(1..=20);
        let mut context = self.cbt_context(scene);
        context["contextActivities"]["parent"] = json!([{"objectType": "Activity",
            "id": format!("https://mexcbt.example/tests/{}", scene.slug)}]);
        json!({
            "actor": scene.actor,
            "verb": verb(ANSWERED, "answered", "回答した"),
            "object": self.choice_item(scene, "mexcbt.example", item),
            "result": self.answer(),
            "context": context,
        })
    }

    /// CBT: `completed` with the score.
    pub(super) fn cbt_completed(&mut self, scene: &Scene) -> Value {
        let raw: u32 = self.rng.random_range(0..=20);
        json!({
            "actor": scene.actor,
            "verb": verb(COMPLETED, "completed", "終了した"),
            "object": self.cbt_test(scene),
            "result": {"completion": true, "success": raw >= 12,
                "score": {"raw": raw, "min": 0, "max": 20, "scaled": f64::from(raw) / 20.0},
                "duration": self.seconds(600..2700)},
            "context": self.cbt_context(scene),
        })
    }

    /// Video: `played` a segment or `completed` the video.
    pub(super) fn video(&mut self, scene: &Scene) -> Value {
        let length: u32 = self.rng.random_range(180..900);
        let completed = self.rng.random_bool(0.3);
        let watched = if completed {
            length
        } else {
            self.rng.random_range(10..length)
        };
        let video = "https://w3id.org/xapi/video/extensions";
        let registration = self.uuid();
        json!({
            "actor": scene.actor,
            "verb": if completed { verb(COMPLETED, "completed", "視聴を完了した") }
                    else { verb("https://w3id.org/xapi/video/verbs/played", "played", "再生した") },
            "object": {"objectType": "Activity", "id": format!("https://video.example.jp/v/{}", scene.slug),
                "definition": {"type": "https://w3id.org/xapi/video/activity-type/video",
                    "name": {"ja-JP": format!("解説動画：{}", scene.unit_name())},
                    "extensions": scene.extensions()}},
            "result": {"completion": completed, "duration": format!("PT{watched}S"),
                "extensions": {format!("{video}/time"): watched,
                    format!("{video}/progress"): f64::from(watched * 100 / length) / 100.0}},
            "context": scene.context("動画教材（例）", "video", Some(registration)),
        })
    }

    fn assignment_object(&mut self, scene: &Scene) -> Value {
        let number = self.rng.random_range(1..=10);
        json!({"objectType": "Activity",
            "id": format!("{EPORTAL}/assignments/{}-{number}", scene.slug),
            "definition": {"type": ASSIGNMENT,
                "name": {"ja-JP": format!("単元「{}」課題{number}", scene.unit_name())},
                "description": {"ja-JP": "動画視聴・確認ドリル・ふりかえりを期限までに完了する"},
                "extensions": scene.extensions()}})
    }

    fn assignment_context(&self, scene: &Scene) -> Value {
        let mut context = scene.context("学習eポータル（例）", "lms", None);
        context["extensions"]["https://w3id.org/xapi-japan-profiles/lms/extensions/due-date"] =
            json!({"start": "2025-10-01T08:00:00+09:00", "end": "2025-10-31T17:00:00+09:00"});
        context
    }

    /// Assignment lifecycle, learner side: `launched`, `responded`, `completed`.
    pub(super) fn assignment_by_learner(&mut self, scene: &Scene) -> Value {
        let (id, en, ja) = [
            (LAUNCHED, "launched", "課題を開始した"),
            (
                "http://adlnet.gov/expapi/verbs/responded",
                "responded",
                "課題を提出した",
            ),
            (COMPLETED, "completed", "課題を完了した"),
        ][self.rng.random_range(0..3)];
        let mut statement = json!({
            "actor": scene.actor,
            "verb": verb(id, en, ja),
            "object": self.assignment_object(scene),
            "context": self.assignment_context(scene),
        });
        if en == "completed" {
            statement["result"] = json!({"completion": true, "duration": self.seconds(300..3600)});
        }
        statement
    }

    /// Assignment lifecycle, teacher side: `created`, `shared` with the class.
    pub(super) fn assignment_by_teacher(&mut self, scene: &Scene) -> Value {
        let shared = self.rng.random_bool(0.5);
        let mut context = self.assignment_context(scene);
        if shared {
            context["extensions"]["https://w3id.org/xapi-japan-profiles/lms/extensions/target"] =
                json!({"range": "class", "name": scene.class.title()});
        }
        json!({
            "actor": scene.actor,
            "verb": if shared { verb("http://adlnet.gov/expapi/verbs/shared", "shared", "配布した") }
                    else { verb("http://activitystrea.ms/schema/1.0/create", "created", "作成した") },
            "object": self.assignment_object(scene),
            "context": context,
        })
    }

    /// E-book: the viewer `launched`/`terminated`, or a page `viewed`.
    pub(super) fn ebook(&mut self, scene: &Scene) -> Value {
        let page = self.rng.random_range(1..200);
        let book = format!("https://ebook.example.jp/books/{}", scene.slug);
        let registration = self.uuid();
        let mut context =
            scene.context("デジタル教科書ビューア（例）", "ebook", Some(registration));
        let (verb, object) = match self.rng.random_range(0..6) {
            0 => (verb(LAUNCHED, "launched", "起動した"), None),
            1 => (verb(TERMINATED, "terminated", "終了した"), None),
            _ => (verb(VIEWED, "viewed", "閲覧した"), Some(page)),
        };
        let object = match object {
            Some(page) => {
                context["contextActivities"]["parent"] =
                    json!([{"objectType": "Activity", "id": book}]);
                json!({"objectType": "Activity", "id": format!("{book}/pages/{page}"),
                    "definition": {"type": "http://id.tincanapi.com/activitytype/page",
                        "name": {"ja-JP": format!("デジタル教科書 {}（{page}ページ）", scene.subject_name())},
                        "extensions": scene.extensions()}})
            }
            None => json!({"objectType": "Activity", "id": book,
                "definition": {"type": "http://id.tincanapi.com/activitytype/book",
                    "name": {"ja-JP": format!("デジタル教科書 {} {}年", scene.subject_name(), scene.class.grade_number)},
                    "extensions": scene.extensions()}}),
        };
        json!({"actor": scene.actor, "verb": verb, "object": object, "context": context})
    }

    /// E-portal: `logged-in`.
    pub(super) fn login(&mut self, scene: &Scene) -> Value {
        let session = self.uuid();
        let mut context = scene.context("学習eポータル（例）", "eportal", Some(session));
        context["extensions"]["https://lrs.example.jp/xapi/extensions/access-location"] =
            json!(["school", "home"][self.rng.random_range(0..2)]);
        json!({
            "actor": scene.actor,
            "verb": verb("https://w3id.org/xapi/adl/verbs/logged-in", "logged-in", "ログインした"),
            "object": {"objectType": "Activity", "id": EPORTAL,
                "definition": {"type": "http://activitystrea.ms/schema/1.0/application",
                    "name": {"ja-JP": "○○県 学習eポータル"}}},
            "context": context,
        })
    }
}
