//! One kind's records in memory: interned ids and a slot per id.
//!
//! Slots are never dropped: a removed record keeps its data and gains a removal day, because
//! attribution of the days before the removal still needs it. Keys therefore stay valid for the
//! life of a [`crate::RosterState`] (and of every state it becomes by
//! [`crate::RosterState::apply`]); they are not stable across a rebuild, so stores keep
//! `sourcedId`s.

use crate::day::Day;
use crate::interner::Interner;
use crate::records::Removal;

/// A record's entry and what planning compares it by.
#[derive(Clone)]
pub(crate) struct Slot<E> {
    pub(crate) entry: E,
    /// The first day the record no longer counts ([`Day::MAX`]: not removed).
    pub(crate) removed_on: Day,
    /// The latest `dateLastModified` seen for the record, its removal's included, in
    /// microseconds ([`i64::MIN`]: none).
    pub(crate) modified: i64,
    pub(crate) fingerprint: u64,
}

impl<E> Slot<E> {
    pub(crate) fn alive(&self) -> bool {
        self.removed_on == Day::MAX
    }

    pub(crate) fn removed(&self) -> Option<Day> {
        (!self.alive()).then_some(self.removed_on)
    }
}

#[derive(Clone)]
pub(crate) struct Table<E> {
    ids: Interner,
    /// `None` for an id only referenced so far (rebuilding from rows in any order).
    slots: Vec<Option<Slot<E>>>,
}

impl<E> Default for Table<E> {
    fn default() -> Self {
        Table {
            ids: Interner::default(),
            slots: Vec::new(),
        }
    }
}

impl<E> Table<E> {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn key(&self, id: &str) -> Option<u32> {
        self.ids.get(id)
    }

    /// The key of `id`, adding an empty slot for it if it is new.
    pub(crate) fn intern(&mut self, id: &str) -> u32 {
        let (key, new) = self.ids.intern(id);
        if new {
            self.slots.push(None);
        }
        key
    }

    pub(crate) fn id(&self, key: u32) -> &str {
        self.ids.resolve(key)
    }

    pub(crate) fn slot(&self, key: u32) -> Option<&Slot<E>> {
        self.slots.get(key as usize)?.as_ref()
    }

    pub(crate) fn slot_by_id(&self, id: &str) -> Option<&Slot<E>> {
        self.slot(self.key(id)?)
    }

    pub(crate) fn put(&mut self, key: u32, slot: Slot<E>) -> Option<Slot<E>> {
        self.slots[key as usize].replace(slot)
    }

    /// Marks a record removed; a later `dateLastModified` is remembered for the staleness check.
    pub(crate) fn remove(&mut self, key: u32, removal: Removal) {
        if let Some(slot) = self.slots[key as usize].as_mut() {
            // Day::MAX means "not removed": a removal always lands before it.
            slot.removed_on = removal.on.min(Day::MAX.add_days(-1));
            if let Some(modified) = removal.date_last_modified {
                slot.modified = slot.modified.max(modified.micros());
            }
        }
    }

    pub(crate) fn alive(&self, id: &str) -> bool {
        self.slot_by_id(id).is_some_and(Slot::alive)
    }

    /// Every filled slot with its key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Slot<E>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(key, slot)| Some((key as u32, slot.as_ref()?)))
    }

    /// The records that are not removed.
    pub(crate) fn alive_count(&self) -> usize {
        self.iter().filter(|(_, slot)| slot.alive()).count()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.heap_bytes() + self.slots.capacity() * size_of::<Option<Slot<E>>>()
    }
}
