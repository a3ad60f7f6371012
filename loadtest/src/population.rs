//! The synthetic population: boards of education → schools → homeroom classes → learners, plus
//! one homeroom teacher per class.
//!
//! Everything is derived arithmetically from an index and the seed, so the statement generator
//! and the OneRoster roster (`loadtest roster`) agree without sharing state: learner `n` is in
//! class `n / learners_per_class`, that class is in school `class / classes_per_school`, and so on.
//! Identifiers follow japan-context.md: a learner's OneRoster `sourcedId` and
//! `userMasterIdentifier` are the same UUID v4, which statements carry as `actor.account.name`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// The learning e-portal: `actor.account.homePage` of every learner and teacher.
pub const EPORTAL: &str = "https://eportal.example.jp";

/// Shape of the synthetic population.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Elementary (小学校, grades P1–P6) or junior high (中学校, J1–J3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchoolType {
    Elementary,
    JuniorHigh,
}

impl SchoolType {
    /// Digit 2 of a 学習指導要領コード (2 elementary, 3 junior high).
    pub fn code_digit(self) -> char {
        match self {
            SchoolType::Elementary => '2',
            SchoolType::JuniorHigh => '3',
        }
    }

    fn grades(self) -> u32 {
        match self {
            SchoolType::Elementary => 6,
            SchoolType::JuniorHigh => 3,
        }
    }
}

/// One homeroom class (学級) and where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub index: u64,
    pub school: u64,
    pub board: u64,
    pub school_type: SchoolType,
    /// 1-based grade within the school type.
    pub grade_number: u32,
    /// 1-based class number within the grade (組).
    pub section: u32,
}

impl Class {
    /// OneRoster grade code: P1–P6 or J1–J3.
    pub fn grade(&self) -> String {
        let prefix = match self.school_type {
            SchoolType::Elementary => 'P',
            SchoolType::JuniorHigh => 'J',
        };
        format!("{prefix}{}", self.grade_number)
    }

    /// e.g. `4年2組`.
    pub fn title(&self) -> String {
        format!("{}年{}組", self.grade_number, self.section)
    }
}

impl Population {
    pub fn learners(&self) -> u64 {
        self.classes() * u64::from(self.learners_per_class)
    }

    pub fn classes(&self) -> u64 {
        self.schools() * u64::from(self.classes_per_school)
    }

    pub fn schools(&self) -> u64 {
        u64::from(self.boards) * u64::from(self.schools_per_board)
    }

    /// Every third school of a board is a junior high school, the others elementary.
    pub fn school_type(&self, school: u64) -> SchoolType {
        if school % u64::from(self.schools_per_board) % 3 == 2 {
            SchoolType::JuniorHigh
        } else {
            SchoolType::Elementary
        }
    }

    pub fn class(&self, index: u64) -> Class {
        let school = index / u64::from(self.classes_per_school);
        let within = (index % u64::from(self.classes_per_school)) as u32;
        let school_type = self.school_type(school);
        Class {
            index,
            school,
            board: school / u64::from(self.schools_per_board),
            school_type,
            grade_number: within % school_type.grades() + 1,
            section: within / school_type.grades() + 1,
        }
    }

    /// The homeroom class of learner `n`.
    pub fn class_of_learner(&self, n: u64) -> Class {
        self.class(n / u64::from(self.learners_per_class))
    }
}

/// A stable UUID v4 for entity `n` of a kind, derived from the seed.
fn derived_uuid(seed: u64, kind: u64, n: u64) -> Uuid {
    let mixed = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(kind.wrapping_mul(0xD1B5_4A32_D192_ED03))
        ^ n.wrapping_mul(0xA24B_AED4_963E_E407);
    let mut rng = StdRng::seed_from_u64(mixed);
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// Learner `n`'s `sourcedId` = `userMasterIdentifier` = `actor.account.name`.
pub fn learner_id(seed: u64, n: u64) -> Uuid {
    derived_uuid(seed, 1, n)
}

/// The homeroom teacher of class `n`.
pub fn teacher_id(seed: u64, class: u64) -> Uuid {
    derived_uuid(seed, 2, class)
}

pub fn class_id(seed: u64, class: u64) -> Uuid {
    derived_uuid(seed, 3, class)
}

pub fn school_id(seed: u64, school: u64) -> Uuid {
    derived_uuid(seed, 4, school)
}

pub fn board_id(seed: u64, board: u64) -> Uuid {
    derived_uuid(seed, 5, board)
}

/// The course (one per school × grade × subject) a class takes a subject in.
pub fn course_id(seed: u64, school: u64, grade_number: u32, subject: usize) -> Uuid {
    derived_uuid(
        seed,
        6,
        school * 1000 + u64::from(grade_number) * 10 + subject as u64,
    )
}

/// The enrollment of person `person` (a roster-wide index) in their homeroom class.
pub fn enrollment_id(seed: u64, person: u64) -> Uuid {
    derived_uuid(seed, 8, person)
}

/// The role of person `person`.
pub fn role_id(seed: u64, person: u64) -> Uuid {
    derived_uuid(seed, 9, person)
}

/// The school year 2025年度.
pub fn school_year_id(seed: u64) -> Uuid {
    derived_uuid(seed, 7, 0)
}

/// 教育委員会コード: 6 digits, the first two the prefecture (13, Tokyo, here).
pub fn board_code(board: u64) -> String {
    format!("13{:04}", 1000 + board)
}

/// 学校コード: 13 characters, `[A-H][12][0-4][0-9][123][0-9]{7}[0-9]` — school type (B elementary,
/// C junior high), 1, prefecture 13, 2 (public), a 7-digit serial and a final digit (a mod-10
/// sum of the others here; synthetic codes, not MEXT's real check digit).
pub fn school_code(school: u64, school_type: SchoolType) -> String {
    let letter = match school_type {
        SchoolType::Elementary => 'B',
        SchoolType::JuniorHigh => 'C',
    };
    let digits = format!("1132{:07}", 1_000_000 + school);
    let check = digits.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 10;
    format!("{letter}{digits}{check}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_grade_that_fits_its_school_type() {
        let population = Population::default();
        for index in 0..population.classes() {
            let class = population.class(index);
            match class.school_type {
                SchoolType::Elementary => assert!((1..=6).contains(&class.grade_number)),
                SchoolType::JuniorHigh => assert!((1..=3).contains(&class.grade_number)),
            }
            assert!(class.board < u64::from(population.boards));
        }
    }

    #[test]
    fn school_codes_match_the_mext_shape() {
        for school in [0, 7, 19] {
            for school_type in [SchoolType::Elementary, SchoolType::JuniorHigh] {
                let code = school_code(school, school_type);
                let bytes = code.as_bytes();
                assert_eq!(code.len(), 13, "{code}");
                assert!((b'A'..=b'H').contains(&bytes[0]));
                assert!(matches!(bytes[1], b'1' | b'2'));
                assert!((b'0'..=b'4').contains(&bytes[2]));
                assert!(matches!(bytes[4], b'1' | b'2' | b'3'));
                assert!(bytes[3..].iter().all(u8::is_ascii_digit), "{code}");
            }
        }
        assert_eq!(board_code(1).len(), 6);
    }

    #[test]
    fn identifiers_depend_on_the_seed_and_the_index_only() {
        assert_eq!(learner_id(3, 10), learner_id(3, 10));
        assert_ne!(learner_id(3, 10), learner_id(4, 10));
        assert_ne!(learner_id(3, 10), learner_id(3, 11));
        assert_ne!(learner_id(3, 10), teacher_id(3, 10));
        assert_eq!(learner_id(3, 10).get_version_num(), 4);
    }
}
