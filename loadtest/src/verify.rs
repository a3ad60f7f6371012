//! Exactly-once bookkeeping for `--verify`, with no I/O.
//!
//! While the load runs, the [`Ledger`] records every statement id the LRS acknowledged (the ids
//! in the POST answers, xAPI Communication §2.1.2: "an array of Statement id(s) (UUID) in the same
//! order as the corresponding stored Statements"). Afterwards a [`Tally`] counts how often each
//! of them comes back while paging through `GET /statements` (and, for those paging did not
//! show, from one `GET ?statementId=` each); the [`Outcome`] says what is missing, duplicated or
//! unexpected.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

/// Every acknowledged id, and what was wrong with the acknowledgements themselves.
#[derive(Debug, Default)]
pub struct Ledger {
    acked: HashMap<Uuid, u32>,
    /// Acknowledged ids the request did not send, or acknowledged by more than one request.
    unexpected: u64,
    /// Sent ids a successful answer did not acknowledge.
    unacknowledged: u64,
}

impl Ledger {
    /// Records one successful POST: the ids it sent (empty when the LRS assigns them) and the
    /// ids the LRS returned.
    pub fn record_ack(&mut self, sent: &[Uuid], returned: &[Uuid]) {
        let as_sent = sent == returned;
        for id in returned {
            let count = self.acked.entry(*id).or_insert(0);
            *count += 1;
            if *count > 1 || !(as_sent || sent.is_empty() || sent.contains(id)) {
                self.unexpected += 1;
            }
        }
        if !as_sent && !sent.is_empty() {
            self.unacknowledged += sent.iter().filter(|id| !returned.contains(id)).count() as u64;
        }
    }

    /// Expects `id` to be retrievable although no answer acknowledged it (for tests of the check
    /// itself).
    pub fn expect(&mut self, id: Uuid) {
        self.acked.entry(id).or_insert(1);
    }

    pub fn len(&self) -> usize {
        self.acked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.acked.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = &Uuid> {
        self.acked.keys()
    }
}

/// How often each acknowledged id was seen when reading back.
#[derive(Debug)]
pub struct Tally<'a> {
    ledger: &'a Ledger,
    seen: HashMap<Uuid, u32>,
    /// Ids read back that no answer acknowledged (other writers, the lag probe): informational.
    foreign: u64,
    pages: u64,
    lookups: u64,
}

/// The verdict of one verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Distinct acknowledged ids.
    pub expected: u64,
    /// Acknowledged ids read back at least once.
    pub found: u64,
    /// Acknowledged ids never read back.
    pub missing: u64,
    /// Acknowledged ids read back more than once while paging.
    pub duplicated: u64,
    /// Ids acknowledged that were not sent, or acknowledged twice.
    pub unexpected: u64,
    /// Ids sent in a successful POST whose answer did not list them.
    pub unacknowledged: u64,
    /// Ids read back that this run did not write (not a failure).
    pub foreign: u64,
    /// `GET /statements` pages read.
    pub pages: u64,
    /// Single-statement `GET ?statementId=` lookups made.
    pub lookups: u64,
    /// Up to ten missing ids, for the report.
    pub missing_sample: Vec<Uuid>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.missing == 0
            && self.duplicated == 0
            && self.unexpected == 0
            && self.unacknowledged == 0
    }
}

impl<'a> Tally<'a> {
    pub fn new(ledger: &'a Ledger) -> Tally<'a> {
        Tally {
            ledger,
            seen: HashMap::with_capacity(ledger.len()),
            foreign: 0,
            pages: 0,
            lookups: 0,
        }
    }

    /// Counts the ids of one `GET /statements` page.
    pub fn page(&mut self, ids: &[Uuid]) {
        self.pages += 1;
        for id in ids {
            if self.ledger.acked.contains_key(id) {
                *self.seen.entry(*id).or_insert(0) += 1;
            } else {
                self.foreign += 1;
            }
        }
    }

    /// Counts a single-statement lookup: `found` when the LRS returned the statement.
    pub fn lookup(&mut self, id: Uuid, found: bool) {
        self.lookups += 1;
        if found {
            self.seen.entry(id).or_insert(1);
        }
    }

    /// Acknowledged ids not seen yet.
    pub fn unseen(&self) -> Vec<Uuid> {
        self.ledger
            .acked
            .keys()
            .filter(|id| !self.seen.contains_key(id))
            .copied()
            .collect()
    }

    pub fn outcome(&self) -> Outcome {
        let unseen = self.unseen();
        Outcome {
            expected: self.ledger.len() as u64,
            found: self.seen.len() as u64,
            missing: unseen.len() as u64,
            duplicated: self.seen.values().filter(|&&n| n > 1).count() as u64,
            unexpected: self.ledger.unexpected,
            unacknowledged: self.ledger.unacknowledged,
            foreign: self.foreign,
            pages: self.pages,
            lookups: self.lookups,
            missing_sample: unseen.into_iter().take(10).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn every_acknowledged_id_read_back_once_passes() {
        let sent = ids(10);
        let mut ledger = Ledger::default();
        ledger.record_ack(&sent[..5], &sent[..5]);
        ledger.record_ack(&sent[5..], &sent[5..]);
        let mut tally = Tally::new(&ledger);
        tally.page(&sent[..3]);
        tally.page(&sent[3..]);
        let outcome = tally.outcome();
        assert!(outcome.passed(), "{outcome:?}");
        assert_eq!(
            (outcome.expected, outcome.found, outcome.pages),
            (10, 10, 2)
        );
    }

    #[test]
    fn an_id_never_read_back_is_missing_and_fails() {
        let sent = ids(3);
        let mut ledger = Ledger::default();
        ledger.record_ack(&sent, &sent);
        let mut tally = Tally::new(&ledger);
        tally.page(&sent[..2]);
        tally.lookup(sent[2], false);
        let outcome = tally.outcome();
        assert!(!outcome.passed());
        assert_eq!(outcome.missing, 1);
        assert_eq!(outcome.missing_sample, vec![sent[2]]);
        assert_eq!(outcome.lookups, 1);
    }

    #[test]
    fn an_id_paging_missed_but_a_lookup_found_is_found() {
        let sent = ids(2);
        let mut ledger = Ledger::default();
        ledger.record_ack(&sent, &sent);
        let mut tally = Tally::new(&ledger);
        tally.page(&sent[..1]);
        assert_eq!(tally.unseen(), vec![sent[1]]);
        tally.lookup(sent[1], true);
        assert!(tally.outcome().passed());
    }

    #[test]
    fn an_id_on_two_pages_is_duplicated_and_fails() {
        let sent = ids(4);
        let mut ledger = Ledger::default();
        ledger.record_ack(&sent, &sent);
        let mut tally = Tally::new(&ledger);
        tally.page(&sent[..3]);
        tally.page(&sent[2..]);
        let outcome = tally.outcome();
        assert_eq!((outcome.duplicated, outcome.missing), (1, 0));
        assert!(!outcome.passed());
    }

    #[test]
    fn ids_other_writers_stored_are_counted_but_do_not_fail() {
        let sent = ids(2);
        let mut ledger = Ledger::default();
        ledger.record_ack(&sent, &sent);
        let mut tally = Tally::new(&ledger);
        tally.page(&[sent[0], Uuid::new_v4(), sent[1]]);
        let outcome = tally.outcome();
        assert_eq!(outcome.foreign, 1);
        assert!(outcome.passed());
    }

    #[test]
    fn an_answer_with_ids_that_were_not_sent_or_without_sent_ids_fails() {
        let sent = ids(2);
        let other = Uuid::new_v4();
        let mut ledger = Ledger::default();
        ledger.record_ack(&sent, &[sent[0], other]);
        let mut tally = Tally::new(&ledger);
        tally.page(&[sent[0], other]);
        let outcome = tally.outcome();
        assert_eq!((outcome.unexpected, outcome.unacknowledged), (1, 1));
        assert!(!outcome.passed());
    }

    #[test]
    fn an_id_acknowledged_twice_is_unexpected_but_lrs_assigned_ids_are_not() {
        let assigned = ids(2);
        let mut ledger = Ledger::default();
        ledger.record_ack(&[], &assigned);
        ledger.record_ack(&[], &assigned[..1]);
        assert_eq!(ledger.len(), 2);
        let mut tally = Tally::new(&ledger);
        tally.page(&assigned);
        assert_eq!(tally.outcome().unexpected, 1);
    }

    #[test]
    fn an_expected_id_that_was_never_posted_is_missing() {
        let mut ledger = Ledger::default();
        ledger.expect(Uuid::new_v4());
        let tally = Tally::new(&ledger);
        assert_eq!(tally.outcome().missing, 1);
    }
}
