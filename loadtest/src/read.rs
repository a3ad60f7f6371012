//! The read share of a mixed workload: `GET /statements` queries with filters drawn from the
//! generated population (an agent, an activity, a verb, a recent `since`), following `more`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Url;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::generator::{Generator, Population};

/// One page of a `StatementResult` (xAPI Data §2.5), without the statements' contents.
#[derive(Deserialize)]
pub struct Page<S> {
    pub statements: Vec<S>,
    #[serde(default)]
    pub more: Option<String>,
}

/// A statement of which only the id is read.
#[derive(Deserialize)]
pub struct IdOnly {
    pub id: uuid::Uuid,
}

/// Parses a page, counting its statements; returns the count and the `more` link if any.
pub fn parse_page(body: &[u8]) -> Option<(u64, Option<String>)> {
    let page: Page<IgnoredAny> = serde_json::from_slice(body).ok()?;
    Some((
        page.statements.len() as u64,
        page.more.filter(|m| !m.is_empty()),
    ))
}

/// `n` query URLs under `statements` (the endpoint's `/statements`), drawn from statements the
/// generator would send, so the filters hit data a run wrote: a quarter each by agent, by
/// activity, by verb since a recent time, and everything since a recent time.
pub fn queries(
    statements: &Url,
    seed: u64,
    population: Population,
    limit: u32,
    n: usize,
) -> Vec<Url> {
    let mut generator = Generator::new(seed ^ 0x5EED_5EED, population);
    let mut rng = StdRng::seed_from_u64(seed);
    let now = chrono::Utc::now();
    (0..n)
        .map(|i| {
            let statement = generator.statement();
            let since = (now - chrono::Duration::seconds(rng.random_range(10..600)))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let limit = limit.to_string();
            let mut url = statements.clone();
            {
                let mut query = url.query_pairs_mut();
                match i % 4 {
                    0 => {
                        let agent = json!({"account": statement["actor"]["account"]});
                        query.append_pair("agent", &agent.to_string());
                    }
                    1 => {
                        query.append_pair(
                            "activity",
                            statement["object"]["id"].as_str().unwrap_or(""),
                        );
                    }
                    2 => {
                        query.append_pair("verb", statement["verb"]["id"].as_str().unwrap_or(""));
                        query.append_pair("since", &since);
                    }
                    _ => {
                        query.append_pair("since", &since);
                    }
                }
                query.append_pair("limit", &limit);
            }
            url
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_cover_agent_activity_verb_and_since_filters() {
        let base = Url::parse("http://127.0.0.1:1/xapi/statements").unwrap();
        let urls = queries(&base, 1, Population::default(), 25, 8);
        let keys: std::collections::BTreeSet<String> = urls
            .iter()
            .flat_map(|u| {
                u.query_pairs()
                    .map(|(k, _)| k.into_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        for key in ["agent", "activity", "verb", "since", "limit"] {
            assert!(keys.contains(key), "{key} in {keys:?}");
        }
        let agent = urls[0].query_pairs().find(|(k, _)| k == "agent").unwrap().1;
        let agent: serde_json::Value = serde_json::from_str(&agent).unwrap();
        assert_eq!(agent["account"]["homePage"], crate::population::EPORTAL);
    }

    #[test]
    fn a_page_is_counted_and_its_more_link_kept() {
        let body = br#"{"statements":[{"id":"x"},{"id":"y"}],"more":"/xapi/statements?more=abc"}"#;
        assert_eq!(
            parse_page(body),
            Some((2, Some("/xapi/statements?more=abc".to_owned())))
        );
        assert_eq!(
            parse_page(br#"{"statements":[],"more":""}"#),
            Some((0, None))
        );
        assert_eq!(parse_page(b"not json"), None);
    }
}
