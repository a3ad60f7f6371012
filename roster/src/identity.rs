//! Learner identity (issue 11 §2): which roster user a statement's actor is.
//!
//! Rules, in order; the first that matches wins:
//! 1. `account.name` is a user's `sourcedId`, or else a user's `userMasterIdentifier`. When
//!    e-portal homePages are configured, `account.homePage` must be one of them.
//! 2. `(account.homePage, account.name)` is in the alias table.
//! 3. `mbox` (or `mbox_sha1sum`) is the user's `email` (compared as SHA-1 of the `mailto:` IRI,
//!    the domain in lowercase).
//!
//! When one identifier matches several users (a `userMasterIdentifier` or an email shared by the
//! records of one person), the user not removed and enabled is preferred, then the smallest
//! `sourcedId`, so the choice does not depend on import order. Removed users still resolve (their
//! statements arrive late; attribution ends on the removal day). An actor that no rule resolves
//! is still a learner under its own identity, in no class or school.

use std::collections::HashMap;

use crate::alias::{Alias, normalize_home_page};
use crate::state::{RosterState, UserKey};
use crate::values::MboxSha1;

/// The identity settings of a tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityConfig {
    /// The learning e-portals' `account.homePage`s (their LTI issuers). Empty: rule 1 accepts any
    /// homePage.
    pub eportal_home_pages: Vec<String>,
}

/// A statement actor's inverse functional identifier, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorRef<'a> {
    Account { home_page: &'a str, name: &'a str },
    Mbox(&'a str),
    MboxSha1Sum(&'a str),
    OpenId(&'a str),
}

impl<'a> From<&'a lrs_schema::Ifi> for ActorRef<'a> {
    fn from(ifi: &'a lrs_schema::Ifi) -> ActorRef<'a> {
        match ifi {
            lrs_schema::Ifi::Mbox(mbox) => ActorRef::Mbox(mbox.as_str()),
            lrs_schema::Ifi::MboxSha1Sum(hex) => ActorRef::MboxSha1Sum(hex),
            lrs_schema::Ifi::OpenId(iri) => ActorRef::OpenId(iri.as_str()),
            lrs_schema::Ifi::Account(account) => ActorRef::Account {
                home_page: account.home_page().as_str(),
                name: account.name(),
            },
        }
    }
}

/// Which rule resolved an actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityRule {
    SourcedId,
    UserMasterIdentifier,
    Alias,
    Mbox,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub user: UserKey,
    pub rule: IdentityRule,
}

/// The identity index of a tenant: its e-portal homePages and its aliases, over a roster.
/// Rebuild it after each roster import or alias load (it is cheap: the aliases only).
#[derive(Clone, Debug, Default)]
pub struct IdentityIndex {
    eportals: Vec<String>,
    aliases: HashMap<(String, String), UserKey>,
}

impl IdentityIndex {
    /// An index of `aliases` (aliases whose user `roster` lacks are left out: a state rebuilt
    /// from another store may differ).
    pub fn new(config: &IdentityConfig, aliases: &[Alias], roster: &RosterState) -> IdentityIndex {
        IdentityIndex {
            eportals: config
                .eportal_home_pages
                .iter()
                .map(|page| normalize_home_page(page).to_owned())
                .collect(),
            aliases: aliases
                .iter()
                .filter_map(|alias| {
                    let user = roster.user_key(alias.user_sourced_id.as_str())?;
                    let key = (
                        normalize_home_page(&alias.home_page).to_owned(),
                        alias.name.clone(),
                    );
                    Some((key, user))
                })
                .collect(),
        }
    }

    /// The roster user an actor is, and by which rule; `None` for an unknown learner.
    pub fn resolve(&self, roster: &RosterState, actor: ActorRef<'_>) -> Option<Resolved> {
        match actor {
            ActorRef::Account { home_page, name } => {
                let home_page = normalize_home_page(home_page);
                let eportal =
                    self.eportals.is_empty() || self.eportals.iter().any(|p| p == home_page);
                eportal
                    .then(|| by_account_name(roster, name))
                    .flatten()
                    .or_else(|| {
                        self.aliases
                            .get(&(home_page.to_owned(), name.to_owned()))
                            .map(|&user| Resolved {
                                user,
                                rule: IdentityRule::Alias,
                            })
                    })
            }
            ActorRef::Mbox(mbox) => by_mbox(roster, MboxSha1::from_mbox(mbox)?),
            ActorRef::MboxSha1Sum(hex) => by_mbox(roster, MboxSha1::from_hex(hex)?),
            ActorRef::OpenId(_) => None,
        }
    }
}

fn by_account_name(roster: &RosterState, name: &str) -> Option<Resolved> {
    if let Some(user) = roster
        .users
        .key(name)
        .filter(|&k| roster.users.slot(k).is_some())
    {
        return Some(Resolved {
            user: UserKey(user),
            rule: IdentityRule::SourcedId,
        });
    }
    let master = roster.masters.get(name)?;
    let users = roster.users_by_master.get(master as usize)?;
    preferred(roster, users).map(|user| Resolved {
        user,
        rule: IdentityRule::UserMasterIdentifier,
    })
}

fn by_mbox(roster: &RosterState, mbox: MboxSha1) -> Option<Resolved> {
    preferred(roster, roster.users_by_mbox.get(&mbox)?).map(|user| Resolved {
        user,
        rule: IdentityRule::Mbox,
    })
}

/// Among users sharing an identifier: not removed and enabled first, then the smallest id.
fn preferred(roster: &RosterState, users: &[u32]) -> Option<UserKey> {
    users
        .iter()
        .filter_map(|&key| Some((key, roster.users.slot(key)?)))
        .min_by_key(|(key, slot)| (!slot.alive(), !slot.entry.enabled, roster.users.id(*key)))
        .map(|(key, _)| UserKey(key))
}
