//! `fuzz_import` (the cargo-fuzz entry point) on random and damaged input: it returns, it does
//! not panic. A smoke test of what the fuzz target explores at length.

mod common;

use common::*;
use lrs_roster::fuzz_import;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = fuzz_import(&bytes);
    }

    #[test]
    fn a_damaged_zip_is_refused_without_panicking(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        deflate in any::<bool>(),
    ) {
        let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let mut bytes = zip_with(&roster(), method);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = fuzz_import(&bytes);
    }

    #[test]
    fn damaged_csv_inside_a_valid_zip_is_refused_without_panicking(
        file in 0usize..8,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut files = roster();
        let name = files.keys().nth(file).unwrap().clone();
        let mut text = files[&name].clone().into_bytes();
        for (at, value) in flips {
            let i = at.index(text.len());
            text[i] = value;
        }
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        files.remove(&name);
        use std::io::Write;
        for (other, content) in &files {
            writer.start_file(other.as_str(), options).unwrap();
            writer.write_all(content.as_bytes()).unwrap();
        }
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(&text).unwrap();
        let _ = fuzz_import(&writer.finish().unwrap().into_inner());
    }
}

#[test]
fn the_valid_roster_goes_all_the_way_through() {
    // The fuzz entry point must reach planning and applying on good input, or it fuzzes only
    // the zip reader.
    assert_eq!(fuzz_import(&zip(&roster())), Ok(3 + 2 + 3 + 4 + 5 + 4 + 5));
}
