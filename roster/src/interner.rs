//! Interned ids: each distinct string is stored once, in one arena, and named by a dense `u32`.
//!
//! A roster of 300 k users and a few million enrollments holds millions of `sourcedId`s; an
//! arena plus a table of indexes costs the id's bytes and about 16 bytes more each, where a
//! `HashMap<String, u32>` would cost an allocation and some 50 bytes more each.

use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

#[derive(Clone, Default)]
pub(crate) struct Interner {
    arena: String,
    /// `ends[i]` is where string `i` ends in the arena (it starts where `i - 1` ends).
    ends: Vec<usize>,
    table: HashTable<u32>,
}

impl Interner {
    pub(crate) fn resolve(&self, index: u32) -> &str {
        resolve(&self.arena, &self.ends, index)
    }

    pub(crate) fn get(&self, text: &str) -> Option<u32> {
        self.table
            .find(xxh3_64(text.as_bytes()), |&i| self.resolve(i) == text)
            .copied()
    }

    /// The index of `text`, adding it if new; `true` when it was new.
    pub(crate) fn intern(&mut self, text: &str) -> (u32, bool) {
        let hash = xxh3_64(text.as_bytes());
        if let Some(&index) = self
            .table
            .find(hash, |&i| resolve(&self.arena, &self.ends, i) == text)
        {
            return (index, false);
        }
        let index = u32::try_from(self.ends.len()).expect("fewer than 2^32 ids");
        self.arena.push_str(text);
        self.ends.push(self.arena.len());
        let (arena, ends) = (&self.arena, &self.ends);
        self.table.insert_unique(hash, index, |&i| {
            xxh3_64(resolve(arena, ends, i).as_bytes())
        });
        (index, true)
    }

    /// Approximate heap bytes held (for the scale example's report).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.ends.capacity() * size_of::<usize>()
            + self.table.capacity() * (size_of::<u32>() + 1)
    }
}

fn resolve<'a>(arena: &'a str, ends: &[usize], index: u32) -> &'a str {
    let i = index as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &arena[start..ends[i]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_twice_gives_the_same_index_and_strings_come_back() {
        let mut interner = Interner::default();
        let ids: Vec<String> = (0..10_000).map(|i| format!("id-{i}")).collect();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(interner.intern(id), (n as u32, true));
        }
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(interner.intern(id), (n as u32, false));
            assert_eq!(interner.get(id), Some(n as u32));
            assert_eq!(interner.resolve(n as u32), id);
        }
        assert_eq!(interner.get("absent"), None);
        assert_eq!(interner.intern(""), (10_000, true));
        assert_eq!(interner.resolve(10_000), "");
    }
}
