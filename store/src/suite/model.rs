//! Suite: random rows, every scan compared with a brute-force filter.

use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

use super::SuiteStore;
use super::fixtures::*;
use crate::{AccessPath, IndexScan, Micros, Position, StatementRow};

/// Random rows (few keys, many ties in `stored`, two tenants whose names are prefixes of each
/// other), then random scans compared with [`model_scan`] over the same rows.
pub async fn scans_agree_with_a_brute_force_filter_over_random_rows<S: SuiteStore>(store: &S) {
    let tenants = ["suite-model", "suite-model-b"];
    let mut rng = Rng::new(0x5eed);
    let rows: Vec<StatementRow> = (0..400)
        .map(|_| {
            let tenant = tenants[rng.below(2) as usize];
            let mut k = keys(rng.below(3), rng.below(2), &[rng.below(5)], &[rng.below(4)]);
            if rng.below(3) == 0 {
                k.direct_activities.clear();
            }
            for _ in 0..rng.below(3) {
                k.related_agents
                    .push(Key16::of(&format!("agent-{}", rng.below(5))));
                k.related_activities
                    .push(Key16::of(&format!("activity-{}", rng.below(4))));
            }
            k.related_agents.sort();
            k.related_agents.dedup();
            k.related_activities.sort();
            k.related_activities.dedup();
            k.registration =
                (rng.below(2) == 0).then(|| Uuid::from_u128(0xbb00 + rng.below(3) as u128));
            let stored = 1_000 + 10 * rng.below(40) as Micros;
            row(tenant, stored, rng.next_u128(), k)
        })
        .collect();
    for chunk in rows.chunks(97) {
        store.write_statements(chunk).await.unwrap();
    }

    for _ in 0..400 {
        let n = rng.below(6);
        let path = match rng.below(8) {
            0 => AccessPath::All,
            1 => AccessPath::Agent(Key16::of(&format!("agent-{n}"))),
            2 => AccessPath::RelatedAgent(Key16::of(&format!("agent-{n}"))),
            3 => AccessPath::Verb(verb(n)),
            4 => AccessPath::Activity(Key16::of(&format!("activity-{n}"))),
            5 => AccessPath::RelatedActivity(Key16::of(&format!("activity-{n}"))),
            6 => AccessPath::Registration(Uuid::from_u128(0xbb00 + n as u128)),
            _ => AccessPath::Authority(authority(n)),
        };
        let bound = |rng: &mut Rng| (rng.below(3) == 0).then(|| 995 + 5 * rng.below(84) as Micros);
        let since = bound(&mut rng);
        let until = bound(&mut rng);
        let after = match rng.below(3) {
            0 => Some(position(&rows[rng.below(rows.len() as u64) as usize])),
            1 => Some(Position {
                stored: 995 + 5 * rng.below(84) as Micros,
                id: Uuid::from_u128(rng.next_u128()),
            }),
            _ => None,
        };
        let query = IndexScan {
            tenant: ["suite-model", "suite-model-b", "suite-model-c"][rng.below(3) as usize].into(),
            path,
            since,
            until,
            after,
            ascending: rng.below(2) == 0,
            limit: [0, 1, 5, 30, 1_000][rng.below(5) as usize],
        };
        let got = store.scan(&query).await.unwrap();
        assert_eq!(got, model_scan(&rows, &query), "{query:?}");
    }
}

/// What a scan must return, computed by brute force over every row written.
pub fn model_scan(rows: &[StatementRow], scan: &IndexScan) -> Vec<Position> {
    let mut positions: Vec<Position> = rows
        .iter()
        .filter(|r| r.tenant == scan.tenant && on_path(&r.keys, &scan.path))
        .map(position)
        .filter(|p| scan.since.is_none_or(|since| p.stored > since))
        .filter(|p| scan.until.is_none_or(|until| p.stored <= until))
        .filter(|p| match scan.after {
            None => true,
            Some(after) if scan.ascending => *p > after,
            Some(after) => *p < after,
        })
        .collect();
    positions.sort();
    positions.dedup();
    if !scan.ascending {
        positions.reverse();
    }
    positions.truncate(scan.limit);
    positions
}

/// Whether a statement with these keys belongs to the access path.
pub fn on_path(keys: &IndexKeys, path: &AccessPath) -> bool {
    match path {
        AccessPath::All => true,
        AccessPath::Agent(k) => keys.direct_agents.contains(k),
        AccessPath::RelatedAgent(k) => keys.related_agents.contains(k),
        AccessPath::Verb(k) => keys.verb == *k,
        AccessPath::Activity(k) => keys.direct_activities.contains(k),
        AccessPath::RelatedActivity(k) => keys.related_activities.contains(k),
        AccessPath::Registration(r) => keys.registration == Some(*r),
        AccessPath::Authority(k) => keys.authority == *k,
    }
}
