//! OneRoster 1.2 vocabularies: org types, session types, class types, enrollment roles, roles.
//!
//! Values are matched ignoring ASCII case and written back in the specification's spelling.
//! OneRoster's extension values (`ext:` followed by anything) are accepted and kept.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// An `ext:` extension value, kept as written.
            Extension(Box<str>),
        }

        impl $name {
            /// The specification's values, in order (for error messages).
            pub const VALUES: &'static [&'static str] = &[$($text,)*];

            pub fn parse(text: &str) -> Option<$name> {
                $(if text.eq_ignore_ascii_case($text) {
                    return Some($name::$variant);
                })*
                let extension = text.len() > 4
                    && text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("ext:"));
                extension.then(|| $name::Extension(text.into()))
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Extension(text) => text,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{text:?} is not one of {}",
                        $name::VALUES.join(", ")
                    ))
                })
            }
        }
    };
}

vocabulary! {
    /// `orgs.csv` `type`. In the Japan Profile the board of education is a `district`.
    OrgType {
        Department => "department",
        School => "school",
        District => "district",
        Local => "local",
        State => "state",
        National => "national",
    }
}

vocabulary! {
    /// `academicSessions.csv` `type`.
    SessionType {
        GradingPeriod => "gradingPeriod",
        Semester => "semester",
        SchoolYear => "schoolYear",
        Term => "term",
    }
}

vocabulary! {
    /// `classes.csv` `classType`: 学級 (`homeroom`) or 授業 (`scheduled`).
    ClassType {
        Homeroom => "homeroom",
        Scheduled => "scheduled",
    }
}

vocabulary! {
    /// `enrollments.csv` `role` (OneRoster 1.2, plus the 1.1 values the Japan Profile still lists).
    EnrollmentRole {
        Administrator => "administrator",
        Aide => "aide",
        Guardian => "guardian",
        Parent => "parent",
        Proctor => "proctor",
        Relative => "relative",
        Student => "student",
        Teacher => "teacher",
    }
}

vocabulary! {
    /// `roles.csv` `role`.
    RoleName {
        Aide => "aide",
        Counselor => "counselor",
        DistrictAdministrator => "districtAdministrator",
        Guardian => "guardian",
        Parent => "parent",
        Principal => "principal",
        Proctor => "proctor",
        Relative => "relative",
        SiteAdministrator => "siteAdministrator",
        Student => "student",
        SystemAdministrator => "systemAdministrator",
        Teacher => "teacher",
    }
}

vocabulary! {
    /// `roles.csv` `roleType`.
    RoleType {
        Primary => "primary",
        Secondary => "secondary",
    }
}

/// A row's `status`: `active`, or `tobedeleted` (OneRoster 1.2 CSV; blank in a bulk file means
/// active).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    ToBeDeleted,
}

impl Status {
    pub const VALUES: &'static [&'static str] = &["active", "tobedeleted"];

    pub fn parse(text: &str) -> Option<Status> {
        if text.eq_ignore_ascii_case("active") {
            Some(Status::Active)
        } else if text.eq_ignore_ascii_case("tobedeleted") {
            Some(Status::ToBeDeleted)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_ignoring_case_and_print_in_the_specification_spelling() {
        let role = RoleName::parse("DISTRICTADMINISTRATOR").unwrap();
        assert_eq!(role, RoleName::DistrictAdministrator);
        assert_eq!(role.as_str(), "districtAdministrator");
        assert_eq!(ClassType::parse("homeroom"), Some(ClassType::Homeroom));
        assert_eq!(OrgType::parse("board"), None);
        assert_eq!(OrgType::parse("ext:"), None);
        assert_eq!(
            OrgType::parse("ext:prefecture").unwrap().as_str(),
            "ext:prefecture"
        );
        assert_eq!(Status::parse("tobedeleted"), Some(Status::ToBeDeleted));
        assert_eq!(Status::parse("inactive"), None);
    }
}
