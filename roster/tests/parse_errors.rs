//! Every kind of bad input is refused with the file, line and column that caused it.

mod common;

use common::*;
use lrs_roster::{ParseOptions, RosterErrorKind, RosterState, parse_zip};

/// Parses (and plans on an empty roster) and returns the error.
fn error_of(files: &Files) -> lrs_roster::RosterError {
    plan(&RosterState::new(), files, "2025-03-25T10:00:00Z").expect_err("the import is refused")
}

fn assert_error(
    error: &lrs_roster::RosterError,
    kind: RosterErrorKind,
    file: &str,
    line: Option<u64>,
    column: Option<&str>,
) {
    assert_eq!(
        (error.kind(), error.file(), error.line(), error.column()),
        (kind, file, line, column),
        "{error}"
    );
}

/// The roster with one file replaced.
fn replacing(name: &str, text: String) -> Files {
    let mut files = roster();
    files.insert(name.to_owned(), text);
    files
}

#[test]
fn a_body_that_is_not_a_zip_is_refused() {
    let error = parse_zip(b"sourcedId,status\n", &ParseOptions::default()).unwrap_err();
    assert_error(&error, RosterErrorKind::NotAZip, "zip", None, None);
}

#[test]
fn a_zip_entry_with_an_unsupported_compression_is_refused_by_name() {
    let mut bytes = zip(&roster());
    // Mark every entry as bzip2 (method 12) in its local and central headers.
    let mut i = 0;
    while i + 12 <= bytes.len() {
        if bytes[i..].starts_with(b"PK\x03\x04") {
            bytes[i + 8] = 12;
        } else if bytes[i..].starts_with(b"PK\x01\x02") {
            bytes[i + 10] = 12;
        }
        i += 1;
    }
    let error = parse_zip(&bytes, &ParseOptions::default()).unwrap_err();
    assert_error(&error, RosterErrorKind::NotAZip, "manifest.csv", None, None);
}

#[test]
fn a_zip_without_a_manifest_is_refused() {
    let mut files = roster();
    files.remove("manifest.csv");
    assert_error(
        &error_of(&files),
        RosterErrorKind::MissingFile,
        "manifest.csv",
        None,
        None,
    );
}

#[test]
fn csv_files_in_a_folder_are_refused_with_a_hint() {
    let files: Files = roster()
        .into_iter()
        .map(|(name, text)| (format!("roster/{name}"), text))
        .collect();
    let error = error_of(&files);
    assert_error(
        &error,
        RosterErrorKind::MissingFile,
        "manifest.csv",
        None,
        None,
    );
    assert!(error.message().contains("root"), "{error}");
}

#[test]
fn a_file_the_manifest_lists_must_be_in_the_zip() {
    let mut files = roster();
    files.remove("enrollments.csv");
    let error = error_of(&files);
    assert_error(
        &error,
        RosterErrorKind::MissingFile,
        "enrollments.csv",
        None,
        None,
    );
    assert!(error.message().contains("manifest.csv line"), "{error}");
}

#[test]
fn a_manifest_mode_other_than_bulk_delta_or_absent_is_refused() {
    let files = replacing(
        "manifest.csv",
        manifest(&[("orgs", "bulk"), ("users", "full")]),
    );
    assert_error(
        &error_of(&files),
        RosterErrorKind::BadValue,
        "manifest.csv",
        Some(5),
        Some("value"),
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_its_line() {
    let mut text = users().into_bytes();
    // Line 3 is l2's row: break its first value's encoding.
    let line3 = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0
        + 2;
    text[line3] = 0xFF;
    let mut files = roster();
    files.remove("users.csv");
    // Zip the other files as text and users.csv as raw bytes.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    use std::io::Write;
    for (name, text) in files.iter() {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    writer.start_file("users.csv", options).unwrap();
    writer.write_all(&text).unwrap();
    let zipped = writer.finish().unwrap().into_inner();
    let error = parse_zip(&zipped, &ParseOptions::default()).unwrap_err();
    assert_error(
        &error,
        RosterErrorKind::InvalidCsv,
        "users.csv",
        Some(3),
        None,
    );
}

#[test]
fn a_row_with_more_values_than_the_header_is_refused() {
    let mut text = orgs();
    text.push_str("\"s9\",\"active\",\"\",\"x\",\"school\",\"\",\"b1\",\"extra\"\n");
    assert_error(
        &error_of(&replacing("orgs.csv", text)),
        RosterErrorKind::InvalidCsv,
        "orgs.csv",
        Some(5),
        None,
    );
}

#[test]
fn a_missing_required_column_is_named() {
    let header = ENROLLMENTS.replace("classSourcedId,", "");
    let text = csv(&header, &[]);
    assert_error(
        &error_of(&replacing("enrollments.csv", text)),
        RosterErrorKind::MissingColumn,
        "enrollments.csv",
        Some(1),
        Some("classSourcedId"),
    );
}

#[test]
fn an_empty_required_value_is_named() {
    let text = csv(
        ENROLLMENTS,
        &[
            &enrollment(
                "e1",
                "l1",
                "k1",
                "s1",
                "student",
                "2025-04-01",
                "2026-03-31",
            ),
            &enrollment("e2", "l2", "k2", "s2", "", "2025-04-01", "2026-03-31"),
        ],
    );
    assert_error(
        &error_of(&replacing("enrollments.csv", text)),
        RosterErrorKind::MissingValue,
        "enrollments.csv",
        Some(3),
        Some("role"),
    );
}

#[test]
fn a_bad_date_is_named() {
    let text = csv(
        ENROLLMENTS,
        &[&enrollment(
            "e1",
            "l1",
            "k1",
            "s1",
            "student",
            "2025/04/01",
            "2026-03-31",
        )],
    );
    assert_error(
        &error_of(&replacing("enrollments.csv", text)),
        RosterErrorKind::BadDate,
        "enrollments.csv",
        Some(2),
        Some("beginDate"),
    );
}

#[test]
fn an_end_before_the_beginning_is_a_bad_date() {
    let text = csv(
        ENROLLMENTS,
        &[&enrollment(
            "e1",
            "l1",
            "k1",
            "s1",
            "student",
            "2025-04-01",
            "2025-03-31",
        )],
    );
    assert_error(
        &error_of(&replacing("enrollments.csv", text)),
        RosterErrorKind::BadDate,
        "enrollments.csv",
        Some(2),
        Some("endDate"),
    );
}

#[test]
fn a_bad_date_last_modified_is_named() {
    let mut row = enrollment(
        "e1",
        "l1",
        "k1",
        "s1",
        "student",
        "2025-04-01",
        "2026-03-31",
    );
    row[2] = ("dateLastModified", "yesterday");
    let text = csv(ENROLLMENTS, &[&row]);
    assert_error(
        &error_of(&replacing("enrollments.csv", text)),
        RosterErrorKind::BadDate,
        "enrollments.csv",
        Some(2),
        Some("dateLastModified"),
    );
}

#[test]
fn a_value_outside_its_vocabulary_is_named() {
    let cases: Vec<(&str, String, u64, &str)> = vec![
        (
            "classes.csv",
            classes().replace("\"scheduled\"", "\"lesson\""),
            4,
            "classType",
        ),
        (
            "orgs.csv",
            orgs().replace("\"district\"", "\"board\""),
            2,
            "type",
        ),
        (
            "roles.csv",
            roles().replace("\"principal\"", "\"headmaster\""),
            5,
            "role",
        ),
        (
            "roles.csv",
            roles().replacen("\"primary\"", "\"main\"", 1),
            2,
            "roleType",
        ),
        (
            "enrollments.csv",
            enrollments().replacen("\"false\"", "\"yes\"", 1),
            2,
            "primary",
        ),
        (
            "users.csv",
            users().replacen("\"true\"", "\"1\"", 1),
            2,
            "enabledUser",
        ),
        (
            "users.csv",
            users().replace("\"Taro.Aoba@Example.JP\"", "\"taro at example\""),
            2,
            "email",
        ),
        (
            "courses.csv",
            courses().replacen("\"P4\"", "\"小4\"", 1),
            2,
            "grades",
        ),
        (
            "academicSessions.csv",
            sessions().replacen("\"2025\"", "\"R7\"", 1),
            2,
            "schoolYear",
        ),
        (
            "orgs.csv",
            orgs().replacen("\"active\"", "\"inactive\"", 1),
            2,
            "status",
        ),
    ];
    for (file, text, line, column) in cases {
        let error = error_of(&replacing(file, text));
        assert_error(
            &error,
            RosterErrorKind::BadValue,
            file,
            Some(line),
            Some(column),
        );
    }
}

#[test]
fn a_repeated_sourced_id_is_refused_at_its_second_line() {
    let text = csv(
        ENROLLMENTS,
        &[
            &enrollment(
                "e1",
                "l1",
                "k1",
                "s1",
                "student",
                "2025-04-01",
                "2026-03-31",
            ),
            &enrollment(
                "e2",
                "l2",
                "k2",
                "s2",
                "student",
                "2025-04-01",
                "2026-03-31",
            ),
            &enrollment(
                "e1",
                "l2",
                "k1",
                "s1",
                "student",
                "2025-04-01",
                "2026-03-31",
            ),
        ],
    );
    let error = error_of(&replacing("enrollments.csv", text));
    assert_error(
        &error,
        RosterErrorKind::DuplicateSourcedId,
        "enrollments.csv",
        Some(4),
        Some("sourcedId"),
    );
    assert!(error.message().contains("line 2"), "{error}");
}

#[test]
fn an_enrollment_of_an_unknown_class_or_user_is_refused() {
    for (row, column) in [
        (
            enrollment("e9", "l1", "k9", "s1", "student", "", ""),
            "classSourcedId",
        ),
        (
            enrollment("e9", "l9", "k1", "s1", "student", "", ""),
            "userSourcedId",
        ),
        (
            enrollment("e9", "l1", "k1", "s9", "student", "", ""),
            "schoolSourcedId",
        ),
    ] {
        let mut text = enrollments();
        text.push_str(csv(ENROLLMENTS, &[&row]).lines().nth(1).unwrap());
        text.push('\n');
        let error = error_of(&replacing("enrollments.csv", text));
        assert_error(
            &error,
            RosterErrorKind::UnknownReference,
            "enrollments.csv",
            Some(6),
            Some(column),
        );
    }
}

#[test]
fn references_of_classes_courses_users_and_roles_are_checked() {
    let cases = [
        (
            "classes.csv",
            classes().replacen("\"y2025\"", "\"y1999\"", 1),
            2,
            "termSourcedIds",
        ),
        (
            "classes.csv",
            classes().replacen("\"c1\"", "\"c9\"", 1),
            2,
            "courseSourcedId",
        ),
        (
            "courses.csv",
            courses().replacen("\"s1\"", "\"s9\"", 1),
            2,
            "orgSourcedId",
        ),
        (
            "orgs.csv",
            orgs().replacen("\"b1\"\n", "\"b9\"\n", 1),
            3,
            "parentSourcedId",
        ),
        (
            "users.csv",
            users().replacen("\"s1\"", "\"s9\"", 1),
            2,
            "primaryOrgSourcedId",
        ),
        (
            "roles.csv",
            roles().replacen("\"l1\"", "\"l9\"", 1),
            2,
            "userSourcedId",
        ),
    ];
    for (file, text, line, column) in cases {
        let error = error_of(&replacing(file, text));
        assert_error(
            &error,
            RosterErrorKind::UnknownReference,
            file,
            Some(line),
            Some(column),
        );
    }
}

#[test]
fn a_reference_to_a_record_the_same_bulk_import_removes_is_refused() {
    // users.csv leaves l2 out, enrollments.csv still enrolls them.
    let users: String = users()
        .lines()
        .filter(|line| !line.starts_with("\"l2\""))
        .map(|line| format!("{line}\n"))
        .collect();
    let error = error_of(&replacing("users.csv", users));
    assert_error(
        &error,
        RosterErrorKind::UnknownReference,
        "enrollments.csv",
        Some(3),
        Some("userSourcedId"),
    );
}

#[test]
fn a_delta_row_needs_its_status_and_date_last_modified() {
    let state = imported();
    let mut row = enrollment(
        "e1",
        "l1",
        "k1",
        "s1",
        "student",
        "2025-04-01",
        "2026-03-31",
    );
    row[2] = ("dateLastModified", "");
    let files = only(&[("enrollments.csv", csv(ENROLLMENTS, &[&row]))], "delta");
    let error = plan(&state, &files, "2025-05-01T00:00:00Z").unwrap_err();
    assert_error(
        &error,
        RosterErrorKind::MissingValue,
        "enrollments.csv",
        Some(2),
        Some("dateLastModified"),
    );
    let header = ENROLLMENTS.replace("status,", "");
    let files = only(&[("enrollments.csv", csv(&header, &[]))], "delta");
    let error = plan(&state, &files, "2025-05-01T00:00:00Z").unwrap_err();
    assert_error(
        &error,
        RosterErrorKind::MissingColumn,
        "enrollments.csv",
        Some(1),
        Some("status"),
    );
}

#[test]
fn a_roster_larger_than_the_limit_is_refused() {
    // Room for every file read before users.csv, and ten bytes more.
    let files = roster();
    let before_users: usize = [
        "manifest.csv",
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
    ]
    .iter()
    .map(|name| files[*name].len())
    .sum();
    let options = ParseOptions {
        max_uncompressed_bytes: before_users as u64 + 10,
        ..ParseOptions::default()
    };
    let error = parse_zip(&zip(&files), &options).unwrap_err();
    assert_error(&error, RosterErrorKind::TooLarge, "users.csv", None, None);
    let options = ParseOptions {
        max_uncompressed_bytes: files.values().map(|f| f.len() as u64).sum(),
        ..ParseOptions::default()
    };
    assert!(
        parse_zip(&zip(&files), &options).is_ok(),
        "exactly the limit is allowed"
    );
    // A deflated file of zeros well past the limit stops at the limit.
    let mut files = roster();
    files.insert(
        "users.csv".into(),
        format!("{USERS}\n{}", " ".repeat(5_000_000)),
    );
    let bomb = zip_with(&files, zip::CompressionMethod::Deflated);
    assert!(bomb.len() < 100_000);
    let options = ParseOptions {
        max_uncompressed_bytes: 1_000_000,
        ..ParseOptions::default()
    };
    let error = parse_zip(&bomb, &options).unwrap_err();
    assert_error(&error, RosterErrorKind::TooLarge, "users.csv", None, None);
}

#[test]
fn unknown_columns_a_bom_other_column_orders_and_deflate_are_accepted() {
    let mut files = roster();
    // A BOM, and the columns of orgs.csv in another order with metadata columns added.
    let reordered = "\u{feff}\"type\",\"sourcedId\",\"name\",\"parentSourcedId\",\"metadata.jp.note\",\"identifier\"\n\
        \"district\",\"b1\",\"青葉市教育委員会\",\"\",\"x\",\"131001\"\n\
        \"school\",\"s1\",\"第一小\",\"b1\",\"y\",\"B113210000010\"\n\
        \"school\",\"s2\",\"第二小\",\"b1\",\"\",\"\"\n";
    files.insert("orgs.csv".into(), reordered.into());
    files.insert("demographics.csv".into(), "\"sourcedId\"\n\"l1\"\n".into());
    let import = parse_zip(
        &zip_with(&files, zip::CompressionMethod::Deflated),
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(import.orgs().unwrap().len(), 3);
    assert_eq!(import.users().unwrap().len(), 5);
    let plan = RosterState::new()
        .plan(
            import,
            at("2025-03-25T10:00:00Z"),
            &lrs_roster::Calendar::default(),
        )
        .unwrap();
    assert_eq!(plan.version().summary.orgs.unwrap().added, 3);
}

#[test]
fn errors_print_their_place_and_serialize_for_the_api() {
    let text = csv(
        ENROLLMENTS,
        &[&enrollment(
            "e1",
            "l1",
            "k1",
            "s1",
            "student",
            "2025/04/01",
            "",
        )],
    );
    let error = error_of(&replacing("enrollments.csv", text));
    assert_eq!(
        error.to_string(),
        "enrollments.csv line 2 column beginDate: \"2025/04/01\" is not a date (YYYY-MM-DD)"
    );
    let json = serde_json::to_value(&error).unwrap();
    assert_eq!(json["kind"], "bad_date");
    assert_eq!(json["file"], "enrollments.csv");
    assert_eq!(json["line"], 2);
    assert_eq!(json["column"], "beginDate");
}
