//! `loadtest roster`: the generator's seeded population as a OneRoster 1.2 CSV roster in the
//! Japan Profile's columns (japan-context.md, "OneRoster 1.2 CSV, Japan Profile").
//!
//! UTF-8 without BOM, every value double-quoted, one header row per file, and a `manifest.csv`
//! saying every file is a bulk file. A user's `sourcedId` and `userMasterIdentifier` are the UUID
//! statements carry as `actor.account.name`; class and course `sourcedId`s are the ones in the
//! statements' `contextActivities.grouping` ids, so a roster import lines up with a run.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::generator::SUBJECTS;
use crate::population::{
    Class, Population, board_code, board_id, class_id, course_id, enrollment_id, learner_id,
    role_id, school_code, school_id, school_year_id, teacher_id,
};

const MODIFIED: &str = "2025-04-01T00:00:00.000Z";
const YEAR_START: &str = "2025-04-01";
const YEAR_END: &str = "2026-03-31";
/// The subject index of a homeroom class's course.
const HOMEROOM: usize = 9;

pub const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId";
pub const ACADEMIC_SESSIONS: &str =
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear";
pub const COURSES: &str = "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes";
pub const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods,metadata.jp.specialNeeds";
pub const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns,metadata.jp.kanaGivenName,metadata.jp.kanaFamilyName,metadata.jp.kanaMiddleName,metadata.jp.homeClass";
pub const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate,metadata.jp.ShussekiNo,metadata.jp.PublicFlg";
pub const ROLES: &str = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId";

/// The data files and their headers, in the order they are written.
pub const FILES: &[(&str, &str)] = &[
    ("orgs.csv", ORGS),
    ("academicSessions.csv", ACADEMIC_SESSIONS),
    ("courses.csv", COURSES),
    ("classes.csv", CLASSES),
    ("users.csv", USERS),
    ("enrollments.csv", ENROLLMENTS),
    ("roles.csv", ROLES),
];

const FAMILY: [(&str, &str); 20] = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
];
const GIVEN: [(&str, &str); 20] = [
    ("陽翔", "ハルト"),
    ("蓮", "レン"),
    ("湊", "ミナト"),
    ("大和", "ヤマト"),
    ("悠真", "ユウマ"),
    ("結衣", "ユイ"),
    ("陽葵", "ヒマリ"),
    ("凛", "リン"),
    ("芽依", "メイ"),
    ("葵", "アオイ"),
    ("花子", "ハナコ"),
    ("太郎", "タロウ"),
    ("翔太", "ショウタ"),
    ("さくら", "サクラ"),
    ("美咲", "ミサキ"),
    ("健太", "ケンタ"),
    ("結菜", "ユイナ"),
    ("颯太", "ソウタ"),
    ("莉子", "リコ"),
    ("大翔", "ヒロト"),
];
const CITIES: [&str; 6] = ["青葉", "桜川", "緑ヶ丘", "港南", "白山", "東雲"];

/// One CSV file: a header, then rows of fully quoted values.
struct Csv(BufWriter<File>);

impl Csv {
    fn create(dir: &Path, name: &str, header: &str) -> io::Result<Csv> {
        let mut csv = Csv(BufWriter::new(File::create(dir.join(name))?));
        csv.row(&header.split(',').collect::<Vec<_>>())?;
        Ok(csv)
    }

    fn row(&mut self, values: &[&str]) -> io::Result<()> {
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.0.write_all(b",")?;
            }
            write!(self.0, "\"{}\"", value.replace('"', "\"\""))?;
        }
        self.0.write_all(b"\n")
    }
}

/// A deterministic (family, given) name pair for a person.
fn name(seed: u64, person: u64) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    let mut rng = StdRng::seed_from_u64(seed ^ person.wrapping_mul(0x2545_F491_4F6C_DD1D));
    (
        FAMILY[rng.random_range(0..FAMILY.len())],
        GIVEN[rng.random_range(0..GIVEN.len())],
    )
}

fn grade_title(class: &Class) -> String {
    format!("2025年度 {}年", class.grade_number)
}

/// Writes the roster of `population` (as generated with `seed`) into `dir`, which must exist.
pub fn write(dir: &Path, seed: u64, population: &Population) -> io::Result<()> {
    let mut manifest = Csv::create(dir, "manifest.csv", "propertyName,value")?;
    manifest.row(&["manifest.version", "1.0"])?;
    manifest.row(&["oneroster.version", "1.2"])?;
    for (file, _) in FILES {
        manifest.row(&[&format!("file.{}", file.trim_end_matches(".csv")), "bulk"])?;
    }
    for absent in [
        "categories",
        "classResources",
        "courseResources",
        "demographics",
        "lineItems",
        "resources",
        "results",
        "userProfiles",
    ] {
        manifest.row(&[&format!("file.{absent}"), "absent"])?;
    }
    manifest.row(&["source.systemName", "lrs-loadtest"])?;
    manifest.row(&["source.systemCode", "loadtest"])?;
    manifest.0.flush()?;

    let mut orgs = Csv::create(dir, "orgs.csv", ORGS)?;
    for board in 0..u64::from(population.boards) {
        let city = CITIES[board as usize % CITIES.len()];
        orgs.row(&[
            &board_id(seed, board).to_string(),
            "active",
            MODIFIED,
            &format!("{city}市教育委員会"),
            "district",
            &board_code(board),
            "",
        ])?;
    }
    for school in 0..population.schools() {
        let board = school / u64::from(population.schools_per_board);
        let school_type = population.school_type(school);
        let kind = match school_type {
            crate::population::SchoolType::Elementary => "小学校",
            crate::population::SchoolType::JuniorHigh => "中学校",
        };
        let city = CITIES[board as usize % CITIES.len()];
        orgs.row(&[
            &school_id(seed, school).to_string(),
            "active",
            MODIFIED,
            &format!("{city}市立第{}{kind}", school + 1),
            "school",
            &school_code(school, school_type),
            &board_id(seed, board).to_string(),
        ])?;
    }
    orgs.0.flush()?;

    let year = school_year_id(seed).to_string();
    let mut sessions = Csv::create(dir, "academicSessions.csv", ACADEMIC_SESSIONS)?;
    sessions.row(&[
        &year,
        "active",
        MODIFIED,
        "2025年度",
        "schoolYear",
        YEAR_START,
        YEAR_END,
        "",
        "2025",
    ])?;
    sessions.0.flush()?;

    write_classes(dir, seed, population, &year)?;
    write_people(dir, seed, population)
}

fn write_classes(dir: &Path, seed: u64, population: &Population, year: &str) -> io::Result<()> {
    let mut courses = Csv::create(dir, "courses.csv", COURSES)?;
    let mut classes = Csv::create(dir, "classes.csv", CLASSES)?;
    let mut seen = BTreeSet::new();
    for index in 0..population.classes() {
        let class = population.class(index);
        let school = school_id(seed, class.school).to_string();
        if seen.insert((class.school, class.grade_number)) {
            let homeroom = course_id(seed, class.school, class.grade_number, HOMEROOM);
            courses.row(&[
                &homeroom.to_string(),
                "active",
                MODIFIED,
                year,
                &format!("{} 学級活動", grade_title(&class)),
                &format!("{}-homeroom", class.grade()),
                &class.grade(),
                &school,
                "",
                "",
            ])?;
            for (s, subject) in SUBJECTS.iter().enumerate() {
                let title = match class.school_type {
                    crate::population::SchoolType::Elementary => subject.elementary,
                    crate::population::SchoolType::JuniorHigh => subject.junior_high,
                };
                let course = course_id(seed, class.school, class.grade_number, s);
                courses.row(&[
                    &course.to_string(),
                    "active",
                    MODIFIED,
                    year,
                    &format!("{} {title}", grade_title(&class)),
                    &format!("{}-{}", class.grade(), subject.slug),
                    &class.grade(),
                    &school,
                    title,
                    &subject.code.to_string(),
                ])?;
            }
        }
        let homeroom = course_id(seed, class.school, class.grade_number, HOMEROOM);
        classes.row(&[
            &class_id(seed, index).to_string(),
            "active",
            MODIFIED,
            &class.title(),
            &class.grade(),
            &homeroom.to_string(),
            &format!("{}-{}", class.grade_number, class.section),
            "homeroom",
            &format!("{}教室", class.title()),
            &school,
            year,
            "",
            "",
            "",
            "false",
        ])?;
    }
    courses.0.flush()?;
    classes.0.flush()
}

fn write_people(dir: &Path, seed: u64, population: &Population) -> io::Result<()> {
    let mut users = Csv::create(dir, "users.csv", USERS)?;
    let mut enrollments = Csv::create(dir, "enrollments.csv", ENROLLMENTS)?;
    let mut roles = Csv::create(dir, "roles.csv", ROLES)?;
    let per_class = u64::from(population.learners_per_class);
    for index in 0..population.classes() {
        let class = population.class(index);
        let class_sourced = class_id(seed, index).to_string();
        let school = school_id(seed, class.school).to_string();
        let teacher = teacher_id(seed, index);
        let people = std::iter::once((teacher, None)).chain(
            (0..per_class).map(|seat| (learner_id(seed, index * per_class + seat), Some(seat))),
        );
        for (id, seat) in people {
            let person = index * (per_class + 1) + seat.map_or(0, |s| s + 1);
            let ((family, family_kana), (given, given_kana)) = name(seed, person);
            let id = id.to_string();
            let username = format!(
                "{}@{}.example.jp",
                &id[..8],
                school_code(class.school, class.school_type).to_lowercase()
            );
            let (role, grades, primary, number) = match seat {
                Some(seat) => ("student", class.grade(), "false", (seat + 1).to_string()),
                None => ("teacher", String::new(), "true", String::new()),
            };
            users.row(&[
                &id,
                "active",
                MODIFIED,
                "true",
                &username,
                "",
                given,
                family,
                "",
                "",
                "",
                "",
                "",
                "",
                &grades,
                "",
                &id,
                "",
                "",
                "",
                "",
                &school,
                "",
                given_kana,
                family_kana,
                "",
                &class_sourced,
            ])?;
            enrollments.row(&[
                &enrollment_id(seed, person).to_string(),
                "active",
                MODIFIED,
                &class_sourced,
                &school,
                &id,
                role,
                primary,
                YEAR_START,
                YEAR_END,
                &number,
                "true",
            ])?;
            roles.row(&[
                &role_id(seed, person).to_string(),
                "active",
                MODIFIED,
                &id,
                "primary",
                role,
                YEAR_START,
                YEAR_END,
                &school,
                "",
            ])?;
        }
    }
    users.0.flush()?;
    enrollments.0.flush()?;
    roles.0.flush()
}

#[cfg(test)]
#[path = "roster_tests.rs"]
mod tests;
