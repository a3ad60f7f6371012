//! One parser per OneRoster file: which columns it reads (japan-context.md lists the Japan
//! Profile's) and how a row becomes a typed record.
//!
//! Required columns are those whose value OneRoster requires and the LRS keeps; the others may
//! be missing from the header. `sourcedId`, `status` and `dateLastModified` are read by
//! [`crate::import`] for every file.

use std::io::Read;

use crate::csv_file::{Column, CsvFile, Line, Need};
use crate::error::{RosterError, RosterErrorKind};
use crate::import::ParseOptions;
use crate::records::{
    AcademicSession, Class, Course, Enrollment, Org, PersonNames, Record, Role, User,
};
use crate::values::MboxSha1;
use crate::vocabulary::{ClassType, EnrollmentRole, OrgType, RoleName, RoleType, SessionType};

use Need::{Optional, Required};

/// A record that has a file of its own.
pub(crate) trait CsvRecord: Record {
    /// The columns this file reads, found in its header.
    type Columns;
    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<Self::Columns, RosterError>;
    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        columns: &Self::Columns,
        options: &ParseOptions,
    ) -> Result<Self, RosterError>;
}

pub(crate) struct OrgColumns {
    name: Column,
    org_type: Column,
    identifier: Column,
    parent: Column,
}

impl CsvRecord for Org {
    type Columns = OrgColumns;

    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<OrgColumns, RosterError> {
        Ok(OrgColumns {
            name: csv.column("name", Required)?,
            org_type: csv.column("type", Required)?,
            identifier: csv.column("identifier", Optional)?,
            parent: csv.column("parentSourcedId", Optional)?,
        })
    }

    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        c: &OrgColumns,
        _: &ParseOptions,
    ) -> Result<Org, RosterError> {
        Ok(Org {
            sourced_id: line.sourced_id(id)?,
            date_last_modified: line.instant(modified)?,
            name: line.required(c.name)?.to_owned(),
            org_type: line.vocabulary(c.org_type, OrgType::parse, OrgType::VALUES)?,
            identifier: line.text(c.identifier),
            parent: line.optional_sourced_id(c.parent)?,
        })
    }
}

pub(crate) struct SessionColumns {
    title: Column,
    session_type: Column,
    start: Column,
    end: Column,
    parent: Column,
    school_year: Column,
}

impl CsvRecord for AcademicSession {
    type Columns = SessionColumns;

    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<SessionColumns, RosterError> {
        Ok(SessionColumns {
            title: csv.column("title", Required)?,
            session_type: csv.column("type", Required)?,
            start: csv.column("startDate", Required)?,
            end: csv.column("endDate", Required)?,
            parent: csv.column("parentSourcedId", Optional)?,
            school_year: csv.column("schoolYear", Required)?,
        })
    }

    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        c: &SessionColumns,
        _: &ParseOptions,
    ) -> Result<AcademicSession, RosterError> {
        let start_date = line.required_date(c.start)?;
        let end_date = line.required_date(c.end)?;
        if end_date < start_date {
            return Err(line.error(
                RosterErrorKind::BadDate,
                c.end,
                format!("endDate {end_date} is before startDate {start_date}"),
            ));
        }
        let year = line.required(c.school_year)?;
        let school_year = year
            .parse::<i32>()
            .ok()
            .filter(|y| (1..=9999).contains(y) && year.len() == 4)
            .ok_or_else(|| {
                line.error(
                    RosterErrorKind::BadValue,
                    c.school_year,
                    format!("{year:?} is not a year (YYYY)"),
                )
            })?;
        Ok(AcademicSession {
            sourced_id: line.sourced_id(id)?,
            date_last_modified: line.instant(modified)?,
            title: line.required(c.title)?.to_owned(),
            session_type: line.vocabulary(
                c.session_type,
                SessionType::parse,
                SessionType::VALUES,
            )?,
            start_date,
            end_date,
            parent: line.optional_sourced_id(c.parent)?,
            school_year,
        })
    }
}

pub(crate) struct CourseColumns {
    school_year: Column,
    title: Column,
    course_code: Column,
    grades: Column,
    org: Column,
}

impl CsvRecord for Course {
    type Columns = CourseColumns;

    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<CourseColumns, RosterError> {
        Ok(CourseColumns {
            school_year: csv.column("schoolYearSourcedId", Optional)?,
            title: csv.column("title", Required)?,
            course_code: csv.column("courseCode", Optional)?,
            grades: csv.column("grades", Optional)?,
            org: csv.column("orgSourcedId", Required)?,
        })
    }

    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        c: &CourseColumns,
        _: &ParseOptions,
    ) -> Result<Course, RosterError> {
        Ok(Course {
            sourced_id: line.sourced_id(id)?,
            date_last_modified: line.instant(modified)?,
            title: line.required(c.title)?.to_owned(),
            school_year: line.optional_sourced_id(c.school_year)?,
            course_code: line.text(c.course_code),
            grades: line.grades(c.grades)?,
            org: line.sourced_id(c.org)?,
        })
    }
}

pub(crate) struct ClassColumns {
    title: Column,
    grades: Column,
    course: Column,
    class_code: Column,
    class_type: Column,
    school: Column,
    terms: Column,
}

impl CsvRecord for Class {
    type Columns = ClassColumns;

    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<ClassColumns, RosterError> {
        Ok(ClassColumns {
            title: csv.column("title", Required)?,
            grades: csv.column("grades", Optional)?,
            course: csv.column("courseSourcedId", Required)?,
            class_code: csv.column("classCode", Optional)?,
            class_type: csv.column("classType", Required)?,
            school: csv.column("schoolSourcedId", Required)?,
            terms: csv.column("termSourcedIds", Optional)?,
        })
    }

    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        c: &ClassColumns,
        _: &ParseOptions,
    ) -> Result<Class, RosterError> {
        Ok(Class {
            sourced_id: line.sourced_id(id)?,
            date_last_modified: line.instant(modified)?,
            title: line.required(c.title)?.to_owned(),
            grades: line.grades(c.grades)?,
            course: line.sourced_id(c.course)?,
            class_code: line.text(c.class_code),
            class_type: line.vocabulary(c.class_type, ClassType::parse, ClassType::VALUES)?,
            school: line.sourced_id(c.school)?,
            terms: line.sourced_ids(c.terms)?,
        })
    }
}

pub(crate) struct UserColumns {
    enabled: Column,
    master: Column,
    grades: Column,
    primary_org: Column,
    email: Column,
    names: [Column; 9],
}

impl CsvRecord for User {
    type Columns = UserColumns;

    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<UserColumns, RosterError> {
        let name = |column| csv.column(column, Optional);
        Ok(UserColumns {
            enabled: csv.column("enabledUser", Optional)?,
            master: csv.column("userMasterIdentifier", Optional)?,
            grades: csv.column("grades", Optional)?,
            primary_org: csv.column("primaryOrgSourcedId", Optional)?,
            email: csv.column("email", Optional)?,
            names: [
                name("givenName")?,
                name("familyName")?,
                name("middleName")?,
                name("preferredGivenName")?,
                name("preferredMiddleName")?,
                name("preferredFamilyName")?,
                name("metadata.jp.kanaGivenName")?,
                name("metadata.jp.kanaFamilyName")?,
                name("metadata.jp.kanaMiddleName")?,
            ],
        })
    }

    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        c: &UserColumns,
        options: &ParseOptions,
    ) -> Result<User, RosterError> {
        let mbox_sha1 = line
            .value(c.email)
            .map(|email| {
                MboxSha1::from_email(email).ok_or_else(|| {
                    line.error(
                        RosterErrorKind::BadValue,
                        c.email,
                        format!("{email:?} is not an email address"),
                    )
                })
            })
            .transpose()?;
        let names = options.keep_person_names.then(|| {
            let [
                given,
                family,
                middle,
                p_given,
                p_middle,
                p_family,
                k_given,
                k_family,
                k_middle,
            ] = c.names.map(|column| line.text(column));
            Box::new(PersonNames {
                given_name: given,
                family_name: family,
                middle_name: middle,
                preferred_given_name: p_given,
                preferred_middle_name: p_middle,
                preferred_family_name: p_family,
                kana_given_name: k_given,
                kana_family_name: k_family,
                kana_middle_name: k_middle,
            })
        });
        Ok(User {
            sourced_id: line.sourced_id(id)?,
            date_last_modified: line.instant(modified)?,
            enabled_user: line.boolean(c.enabled, true)?,
            user_master_identifier: line.optional_sourced_id(c.master)?,
            grades: line.grades(c.grades)?,
            primary_org: line.optional_sourced_id(c.primary_org)?,
            mbox_sha1,
            names,
        })
    }
}

pub(crate) struct EnrollmentColumns {
    class: Column,
    school: Column,
    user: Column,
    role: Column,
    primary: Column,
    begin: Column,
    end: Column,
}

impl CsvRecord for Enrollment {
    type Columns = EnrollmentColumns;

    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<EnrollmentColumns, RosterError> {
        Ok(EnrollmentColumns {
            class: csv.column("classSourcedId", Required)?,
            school: csv.column("schoolSourcedId", Required)?,
            user: csv.column("userSourcedId", Required)?,
            role: csv.column("role", Required)?,
            primary: csv.column("primary", Optional)?,
            begin: csv.column("beginDate", Optional)?,
            end: csv.column("endDate", Optional)?,
        })
    }

    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        c: &EnrollmentColumns,
        _: &ParseOptions,
    ) -> Result<Enrollment, RosterError> {
        let (begin_date, end_date) = dates(line, c.begin, c.end)?;
        Ok(Enrollment {
            sourced_id: line.sourced_id(id)?,
            date_last_modified: line.instant(modified)?,
            class: line.sourced_id(c.class)?,
            school: line.sourced_id(c.school)?,
            user: line.sourced_id(c.user)?,
            role: line.vocabulary(c.role, EnrollmentRole::parse, EnrollmentRole::VALUES)?,
            primary: line.boolean(c.primary, false)?,
            begin_date,
            end_date,
        })
    }
}

pub(crate) struct RoleColumns {
    user: Column,
    role_type: Column,
    role: Column,
    begin: Column,
    end: Column,
    org: Column,
}

impl CsvRecord for Role {
    type Columns = RoleColumns;

    fn columns<R: Read>(csv: &CsvFile<R>) -> Result<RoleColumns, RosterError> {
        Ok(RoleColumns {
            user: csv.column("userSourcedId", Required)?,
            role_type: csv.column("roleType", Required)?,
            role: csv.column("role", Required)?,
            begin: csv.column("beginDate", Optional)?,
            end: csv.column("endDate", Optional)?,
            org: csv.column("orgSourcedId", Required)?,
        })
    }

    fn parse(
        line: &Line<'_>,
        id: Column,
        modified: Column,
        c: &RoleColumns,
        _: &ParseOptions,
    ) -> Result<Role, RosterError> {
        let (begin_date, end_date) = dates(line, c.begin, c.end)?;
        Ok(Role {
            sourced_id: line.sourced_id(id)?,
            date_last_modified: line.instant(modified)?,
            user: line.sourced_id(c.user)?,
            role_type: line.vocabulary(c.role_type, RoleType::parse, RoleType::VALUES)?,
            role: line.vocabulary(c.role, RoleName::parse, RoleName::VALUES)?,
            org: line.sourced_id(c.org)?,
            begin_date,
            end_date,
        })
    }
}

/// `beginDate` and `endDate`, the end not before the beginning.
fn dates(
    line: &Line<'_>,
    begin: Column,
    end: Column,
) -> Result<(Option<crate::Day>, Option<crate::Day>), RosterError> {
    let (first, last) = (line.date(begin)?, line.date(end)?);
    if let (Some(first), Some(last)) = (first, last)
        && last < first
    {
        return Err(line.error(
            RosterErrorKind::BadDate,
            end,
            format!("endDate {last} is before beginDate {first}"),
        ));
    }
    Ok((first, last))
}
