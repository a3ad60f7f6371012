//! RFC 5646 language tags and language maps.

use crate::error::ValidationError;
use crate::json::{JsonNode, as_object, as_str};
use crate::path::JsonPath;

pub(crate) const LANGUAGE_TAG_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b2: the LRS MUST at least validate that the sequence of token lengths for language map keys matches the RFC 5646 standard";

/// RFC 5646 §2.2.8 grandfathered tags, which do not follow the general grammar.
const GRANDFATHERED: &[&str] = &[
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

/// A well-formed RFC 5646 language tag, as written (tags compare case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(value: &str) -> Result<LanguageTag, ValidationError> {
        Self::parse_at(value, &JsonPath::root("$"))
    }

    pub(crate) fn parse_at(
        value: &str,
        path: &JsonPath<'_>,
    ) -> Result<LanguageTag, ValidationError> {
        if is_well_formed(value) {
            Ok(LanguageTag(value.to_owned()))
        } else {
            Err(ValidationError::new(
                LANGUAGE_TAG_RULE,
                path,
                format!("\"{value}\" is not an RFC 5646 language tag"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn alpha(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// RFC 5646 §2.1 `Language-Tag` grammar (well-formedness, not registry validity).
pub(crate) fn is_well_formed(tag: &str) -> bool {
    if GRANDFATHERED.iter().any(|g| g.eq_ignore_ascii_case(tag)) {
        return true;
    }
    let subtags: Vec<&str> = tag.split('-').collect();
    if subtags
        .iter()
        .any(|s| s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return false;
    }
    let mut i = 0;
    let n = subtags.len();
    if subtags[0].eq_ignore_ascii_case("x") {
        return private_use(&subtags[1..]);
    }
    // language = 2*3ALPHA ["-" extlang] / 4ALPHA / 5*8ALPHA
    let language = subtags[0];
    if language.len() < 2 || !alpha(language) {
        return false;
    }
    i += 1;
    if language.len() <= 3 {
        // extlang = 3ALPHA *2("-" 3ALPHA)
        let mut extlangs = 0;
        while i < n && extlangs < 3 && subtags[i].len() == 3 && alpha(subtags[i]) {
            i += 1;
            extlangs += 1;
        }
    }
    // script = 4ALPHA
    if i < n && subtags[i].len() == 4 && alpha(subtags[i]) {
        i += 1;
    }
    // region = 2ALPHA / 3DIGIT
    if i < n
        && ((subtags[i].len() == 2 && alpha(subtags[i]))
            || (subtags[i].len() == 3 && digits(subtags[i])))
    {
        i += 1;
    }
    // variant = 5*8alphanum / (DIGIT 3alphanum)
    while i < n
        && (subtags[i].len() >= 5
            || (subtags[i].len() == 4 && subtags[i].as_bytes()[0].is_ascii_digit()))
    {
        i += 1;
    }
    // extension = singleton 1*("-" (2*8alphanum))
    while i < n && subtags[i].len() == 1 && !subtags[i].eq_ignore_ascii_case("x") {
        i += 1;
        let start = i;
        while i < n && subtags[i].len() >= 2 {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < n && subtags[i].eq_ignore_ascii_case("x") {
        return private_use(&subtags[i + 1..]);
    }
    i == n
}

/// privateuse = "x" 1*("-" (1*8alphanum)); lengths were checked by the caller.
fn private_use(rest: &[&str]) -> bool {
    !rest.is_empty()
}

/// A language map: RFC 5646 tags to strings (xAPI 1.0.3 Data §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanguageMap(Vec<(LanguageTag, String)>);

impl LanguageMap {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<LanguageMap, ValidationError> {
        let map = as_object(value, "a language map", path)?;
        let mut entries = Vec::with_capacity(map.len());
        for (key, text) in map {
            let entry_path = path.key(key);
            let tag = LanguageTag::parse_at(key, &entry_path)?;
            let text = as_str(text, &entry_path)?;
            entries.push((tag, text.to_owned()));
        }
        Ok(LanguageMap(entries))
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(tag, text)| (tag.as_str(), text.as_str()))
    }

    pub fn get(&self, tag: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(t, _)| t.as_str().eq_ignore_ascii_case(tag))
            .map(|(_, text)| text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_language_tags_are_accepted() {
        for ok in [
            "en",
            "ja-JP",
            "ja",
            "zh-Hant-TW",
            "en-US",
            "es-419",
            "tlh",
            "sl-rozaj-biske",
            "de-CH-1901",
            "en-a-bbb-x-a-ccc",
            "x-whatever",
            "i-klingon",
            "zh-yue-HK",
            "und",
            "sr-Latn-RS",
            "hy-Latn-IT-arevela",
            "en-US-x-twain",
            "qaa-Qaaa-QM-x-southern",
        ] {
            assert!(is_well_formed(ok), "{ok}");
        }
    }

    #[test]
    fn malformed_language_tags_are_rejected() {
        for bad in [
            "",
            "e",
            "en-",
            "-en",
            "en--US",
            "ja_JP",
            "en-US-a",
            "x",
            "en-x",
            "123",
            "en-a-x-y",
            "a-DE",
            "de-419-DE",
            "toolongtag",
            "japanese-languages",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }
}
