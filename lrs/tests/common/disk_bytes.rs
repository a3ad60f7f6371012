//! Raw bytes on disk, for the purge proofs: a marker of high entropy and the files holding it.

use std::path::Path;

/// 32 random letters from `G`–`V` (128 bits). lz4 keeps the first copy of a string literal
/// unless 4 or more of its bytes match something earlier in the block: hex digits would match the
/// statement ids, credentials and hashes around it now and then (the marker would then be split
/// into a back-reference and not show in the raw bytes), but these upper-case letters occur
/// nowhere else in the test statements, so a copy of the marker in any file (compressed log
/// segment, table block, blob file, journal) shows in the raw bytes.
pub fn marker() -> String {
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .map(|nibble| char::from(b'G' + nibble))
        .collect()
}

/// Every file under `dir` whose raw bytes hold `needle`, in any ASCII case (a copy some code
/// lower-cased, as e-mail addresses often are, counts too).
pub fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    // The store compacts in the background: a walk can list a table file that is deleted before
    // it is read while its replacement was created after the listing. Files that stay hold what
    // they hold, so a few walks together see every byte that is on disk. When three walks saw
    // nothing, seven more (2 s) make sure: right after a purge's compaction the churn can hide a
    // kept marker from three (CI saw it once), and an absence is only believed after ten.
    let mut found: Vec<String> = Vec::new();
    for walk in 0..10 {
        if walk >= 3 && !found.is_empty() {
            break;
        }
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

/// One walk of `dir`: the files whose bytes contain `needle` in any ASCII case.
fn walk_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_holding(&path, needle));
        } else if let Ok(mut bytes) = std::fs::read(&path) {
            bytes.make_ascii_lowercase();
            if memchr::memmem::find(&bytes, needle.to_ascii_lowercase().as_bytes()).is_none() {
                continue;
            }
            out.push(path.display().to_string());
        }
    }
    out
}
