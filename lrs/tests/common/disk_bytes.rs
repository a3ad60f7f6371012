//! Raw bytes on disk, for the purge proofs: a marker of high entropy and the files holding it.

use std::path::Path;

/// 32 random hex characters: lz4 keeps a string of this entropy literal, so a copy of it in any
/// file (compressed log segment, table block, blob file, journal) shows in the raw bytes.
pub fn marker() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Every file under `dir` whose raw bytes hold `needle`.
pub fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    // The store compacts in the background: a walk can list a table file that is deleted before
    // it is read while its replacement was created after the listing. Files that stay hold what
    // they hold, so a few walks together see every byte that is on disk.
    let mut found: Vec<String> = Vec::new();
    for walk in 0..3 {
        if walk > 0 {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        for file in walk_holding(dir, needle) {
            if !found.contains(&file) {
                found.push(file);
            }
        }
    }
    found
}

/// One walk of `dir`: the files whose bytes contain `needle`.
fn walk_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_holding(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            out.push(path.display().to_string());
        }
    }
    out
}
