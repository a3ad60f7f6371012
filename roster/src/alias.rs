//! The alias table: `(homePage, name) → userSourcedId`, for tools that identify learners by their
//! own ids. Loaded as `text/csv` with the columns `homePage,name,userSourcedId`.

use serde::{Deserialize, Serialize};

use crate::csv_file::{CsvFile, Need};
use crate::error::{RosterError, RosterErrorKind};
use crate::state::RosterState;
use crate::values::SourcedId;

pub(crate) const ALIASES: &str = "aliases.csv";

/// One alias: an `actor.account` on some tool that is a roster user.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alias {
    pub home_page: String,
    pub name: String,
    pub user_sourced_id: SourcedId,
}

/// Parses an alias CSV. Every row's user must be in `roster` (removed users included, so
/// statements from before a removal still resolve); a `(homePage, name)` pair may appear once.
/// Errors name `aliases.csv`, the line and the column. The size is the caller's to bound (the
/// API's body limit).
pub fn parse_aliases(csv: &[u8], roster: &RosterState) -> Result<Vec<Alias>, RosterError> {
    let mut file = CsvFile::open(ALIASES, csv)?;
    let home_page = file.column("homePage", Need::Required)?;
    let name = file.column("name", Need::Required)?;
    let user = file.column("userSourcedId", Need::Required)?;
    let mut aliases = Vec::new();
    let mut seen = std::collections::HashMap::new();
    while let Some(line) = file.next_line()? {
        let alias = Alias {
            home_page: line.required(home_page)?.to_owned(),
            name: line.required(name)?.to_owned(),
            user_sourced_id: line.sourced_id(user)?,
        };
        if roster.user_key(alias.user_sourced_id.as_str()).is_none() {
            return Err(line.error(
                RosterErrorKind::UnknownReference,
                user,
                format!(
                    "userSourcedId {:?} is not a user of the roster",
                    alias.user_sourced_id.as_str()
                ),
            ));
        }
        let key = (
            normalize_home_page(&alias.home_page).to_owned(),
            alias.name.clone(),
        );
        if let Some(earlier) = seen.insert(key, line.number()) {
            return Err(line.error(
                RosterErrorKind::DuplicateSourcedId,
                name,
                format!(
                    "homePage {:?} and name {:?} are already on line {earlier}",
                    alias.home_page, alias.name
                ),
            ));
        }
        aliases.push(alias);
    }
    Ok(aliases)
}

/// A homePage compared without its trailing slashes (`https://eportal.example.jp/` and
/// `https://eportal.example.jp` are one).
pub(crate) fn normalize_home_page(home_page: &str) -> &str {
    home_page.trim_end_matches('/')
}
