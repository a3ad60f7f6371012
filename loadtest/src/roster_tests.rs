//! Roster consistency: headers are the Japan Profile's, every value is quoted, and every actor
//! the generator uses is a user of the roster.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::*;
use crate::generator::Generator;

/// A fresh empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("loadtest-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Parses a fully quoted CSV file into its header and rows.
fn read(dir: &Path, name: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    assert!(!text.starts_with('\u{feff}'), "{name} has a BOM");
    let mut lines = text.lines().map(|line| {
        assert!(
            line.starts_with('"') && line.ends_with('"'),
            "{name}: unquoted value in {line}"
        );
        line[1..line.len() - 1]
            .split("\",\"")
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let header = lines.next().unwrap();
    let rows = lines
        .map(|values| {
            assert_eq!(values.len(), header.len(), "{name}: {values:?}");
            header.iter().cloned().zip(values).collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn every_file_has_the_japan_profile_header_and_the_manifest_lists_it() {
    let dir = TempDir::new("roster-header");
    write(&dir.0, 5, &Population::default()).unwrap();
    for (file, columns) in FILES {
        let (header, rows) = read(&dir.0, file);
        assert_eq!(header.join(","), *columns, "{file}");
        assert!(!rows.is_empty(), "{file} is empty");
    }
    let (_, manifest) = read(&dir.0, "manifest.csv");
    let entries: BTreeMap<_, _> = manifest
        .iter()
        .map(|row| (row["propertyName"].clone(), row["value"].clone()))
        .collect();
    assert_eq!(entries["oneroster.version"], "1.2");
    assert_eq!(entries["file.users"], "bulk");
    assert_eq!(entries["file.enrollments"], "bulk");
}

#[test]
fn every_statement_actor_is_a_user_and_every_grouping_is_a_rostered_class_or_course() {
    let dir = TempDir::new("roster-actors");
    let population = Population::default();
    write(&dir.0, 9, &population).unwrap();
    let (_, users) = read(&dir.0, "users.csv");
    let user_ids: BTreeSet<_> = users.iter().map(|u| u["sourcedId"].clone()).collect();
    for user in &users {
        assert_eq!(user["sourcedId"], user["userMasterIdentifier"]);
    }
    assert_eq!(
        users.len() as u64,
        population.learners() + population.classes(),
        "learners and one teacher per class"
    );
    let (_, classes) = read(&dir.0, "classes.csv");
    let (_, courses) = read(&dir.0, "courses.csv");
    let rostered: BTreeSet<_> = classes
        .iter()
        .map(|c| {
            format!(
                "{}/oneroster/classes/{}",
                crate::population::EPORTAL,
                c["sourcedId"]
            )
        })
        .chain(courses.iter().map(|c| {
            format!(
                "{}/oneroster/courses/{}",
                crate::population::EPORTAL,
                c["sourcedId"]
            )
        }))
        .collect();
    for statement in Generator::new(9, population).batch(2000) {
        let actor = statement["actor"]["account"]["name"].as_str().unwrap();
        assert!(user_ids.contains(actor), "{actor} is not in users.csv");
        for group in statement["context"]["contextActivities"]["grouping"]
            .as_array()
            .unwrap()
        {
            let id = group["id"].as_str().unwrap();
            assert!(
                rostered.contains(id),
                "{id} is not a rostered class or course"
            );
        }
    }
}

#[test]
fn enrollments_point_at_rostered_users_classes_and_schools() {
    let dir = TempDir::new("roster-enrollments");
    write(&dir.0, 2, &Population::default()).unwrap();
    let ids = |file: &str| -> BTreeSet<String> {
        read(&dir.0, file)
            .1
            .into_iter()
            .map(|r| r["sourcedId"].clone())
            .collect()
    };
    let (users, classes, orgs) = (ids("users.csv"), ids("classes.csv"), ids("orgs.csv"));
    let (_, enrollments) = read(&dir.0, "enrollments.csv");
    for enrollment in &enrollments {
        assert!(users.contains(&enrollment["userSourcedId"]));
        assert!(classes.contains(&enrollment["classSourcedId"]));
        assert!(orgs.contains(&enrollment["schoolSourcedId"]));
    }
    assert_eq!(enrollments.len(), users.len());
}

#[test]
fn sourced_ids_are_unique_within_every_file() {
    let dir = TempDir::new("roster-unique");
    write(&dir.0, 4, &Population::default()).unwrap();
    for (file, _) in FILES {
        let (_, rows) = read(&dir.0, file);
        let ids: BTreeSet<_> = rows.iter().map(|r| r["sourcedId"].clone()).collect();
        assert_eq!(ids.len(), rows.len(), "{file} repeats a sourcedId");
    }
}
