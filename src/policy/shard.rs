//! Deterministic, stable sharding of repositories for `convoy audit --shard K/N`.
//!
//! Shards are chosen by rendezvous (highest-random-weight) hashing: each repository scores
//! every shard and goes to the highest score. A repository's shard depends only on its own name
//! and N, so adding or removing other repositories never moves it, and going from N to N+1
//! shards only moves repositories into the new shard.
//!
//! The hash is hand-written (FNV-1a 64 over the name, then the SplitMix64 finalizer to mix in
//! the shard number) rather than std's `DefaultHasher`, whose algorithm is explicitly unstable
//! across Rust releases and whose `RandomState` keys differ per process: shard assignments are
//! shared between CI jobs and across convoy versions, so they must be pure functions of the
//! input bytes. Both algorithms are published constants-and-shifts definitions; a dozen lines
//! do not justify a dependency. FNV-1a alone mixes its last bytes poorly, which would bias the
//! per-shard scores of names sharing a prefix; the finalizer fixes that.

use std::fmt;
use std::str::FromStr;

use super::finding::{AUDIT_SCHEMA_VERSION, AuditReport, ShardInfo};

/// One share of the repositories: `index` of `count`, 1-based as users write it (`2/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based, in `1..=count`.
    pub index: u32,
    /// At least 1.
    pub count: u32,
}

/// Why a `--shard` value is not `K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ShardError {
    /// Human readable, quoting the input.
    pub message: String,
}

impl ShardError {
    fn new(input: &str, problem: impl fmt::Display) -> Self {
        Self { message: format!("invalid shard '{input}': {problem}") }
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let Some((index, count)) = input.trim().split_once('/') else {
            return Err(ShardError::new(input, "expected K/N, e.g. 2/8 for the second of eight shards"));
        };
        let number = |text: &str, what: &str| {
            text.trim().parse::<u32>().map_err(|_| ShardError::new(input, format!("{what} '{text}' is not a number")))
        };
        let index = number(index, "shard index")?;
        let count = number(count, "shard count")?;
        if count == 0 {
            return Err(ShardError::new(input, "the shard count must be at least 1"));
        }
        if index == 0 {
            return Err(ShardError::new(input, format!("shards are numbered from 1, so the index must be 1-{count}")));
        }
        if index > count {
            return Err(ShardError::new(input, format!("index {index} is larger than the shard count {count}")));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    /// The form [`FromStr`] accepts, so reports can echo the flag back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the repository `owner/name` belongs to this shard.
    pub fn contains(&self, full_name: &str) -> bool {
        shard_of(full_name, self.count) == self.index
    }
}

/// The 1-based shard of `owner/name` among `count` shards. Names are compared ASCII-lowercase
/// because GitHub treats them case-insensitively (GitHub names are ASCII; full Unicode
/// lowercasing would tie assignments to the Unicode tables of the Rust release). A `count` of 0
/// is treated as 1, so every repository is somewhere.
pub fn shard_of(full_name: &str, count: u32) -> u32 {
    let name_hash = fnv1a_64(full_name.bytes().map(|b| b.to_ascii_lowercase()));
    let mut best = (1, score(name_hash, 1));
    for shard in 2..=count {
        let weight = score(name_hash, shard);
        // Strictly greater: on a tie the lower shard keeps the repository, so a new last shard
        // only takes repositories it beats outright.
        if weight > best.1 {
            best = (shard, weight);
        }
    }
    best.0
}

/// Rendezvous weight of a repository (by name hash) for one shard.
fn score(name_hash: u64, shard: u32) -> u64 {
    splitmix64(name_hash ^ splitmix64(u64::from(shard)))
}

/// FNV-1a, 64-bit: offset basis and prime from the published specification.
fn fnv1a_64(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The SplitMix64 output function (Steele, Lea and Flood 2014), a full-avalanche mix of 64 bits.
fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Merge the reports of the shards of one audit run (`convoy report merge`). `reports` are
/// `(name, report)`, the name (a file name) only for messages.
///
/// The set must be exactly one run's shards 1..N, each once: every shard a report covers
/// (`shards`; an unsharded report covers 1/1) must have the same N and the same run identity
/// (`ShardInfo::run`, from `audit --run-id`, `CONVOY_RUN_ID` or GitHub's `GITHUB_RUN_ID`; reports
/// that recorded none can only be checked for the rest), the reports must be made by the same
/// convoy version with the same schema version, and no repository may be in two reports.
/// Otherwise nothing is merged and the error names what is missing, doubled or mixed, and in
/// which report. Rules come from the first report; repositories, files, findings, errors and
/// shards are combined and sorted.
pub fn merge(reports: Vec<(String, AuditReport)>) -> Result<AuditReport, String> {
    use std::collections::BTreeMap;

    let Some((first_name, first)) = reports.first() else { return Err("no reports to merge".into()) };
    for (name, r) in &reports {
        if r.schema_version != AUDIT_SCHEMA_VERSION {
            return Err(format!(
                "{name}: report schema version {} is not {AUDIT_SCHEMA_VERSION}; audit again with this convoy",
                r.schema_version
            ));
        }
        if r.tool != first.tool {
            return Err(format!(
                "{first_name} was made by {} but {name} by {}: merge the shards of one run",
                first.tool, r.tool
            ));
        }
    }
    let whole = [ShardInfo { index: 1, count: 1, run: None }];
    let covered =
        |r: &AuditReport| -> Vec<ShardInfo> { if r.shards.is_empty() { whole.to_vec() } else { r.shards.clone() } };
    let first_shards = covered(first);
    let Some(ShardInfo { count, run, .. }) = first_shards.into_iter().next() else {
        return Err(format!("{first_name} covers no shard"));
    };
    let run_label = |run: &Option<String>| match run {
        Some(id) => format!("run `{id}`"),
        None => "no run identity".to_string(),
    };
    let mut by_index: BTreeMap<u32, &str> = BTreeMap::new();
    for (name, r) in &reports {
        for s in covered(r) {
            if s.count != count {
                return Err(format!(
                    "{first_name} is a shard of {count} but {name} has shard {}/{}: merge the shards of one run",
                    s.index, s.count
                ));
            }
            if s.run != run {
                return Err(format!(
                    "{first_name} has {} but {name} has {} (shard {}/{}): merge the shards of one run",
                    run_label(&run),
                    run_label(&s.run),
                    s.index,
                    s.count
                ));
            }
            if let Some(other) = by_index.insert(s.index, name.as_str()) {
                return Err(format!("shard {}/{count} appears in two reports: {other} and {name}", s.index));
            }
        }
    }
    let missing: Vec<String> =
        (1..=count).filter(|i| !by_index.contains_key(i)).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        let given: Vec<String> = by_index.iter().map(|(i, name)| format!("{i}/{count} ({name})")).collect();
        return Err(format!(
            "shard {} missing: a merged report must cover every shard of the run (given: {})",
            if missing.len() == 1 { format!("{} is", missing[0]) } else { format!("{} are", missing.join(", ")) },
            given.join(", ")
        ));
    }
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, r) in &reports {
        for repo in r.repos.iter().chain(r.errors.iter().map(|e| &e.repo)) {
            if let Some(other) = owner.insert(repo.as_str(), name.as_str())
                && other != name.as_str()
            {
                return Err(format!(
                    "{repo} is in both {other} and {name}: the reports do not split one repository list"
                ));
            }
        }
    }
    let mut iter = reports.into_iter().map(|(_, r)| r);
    let Some(mut merged) = iter.next() else { return Err("no reports to merge".into()) };
    merged.shards = covered(&merged);
    for r in iter {
        merged.shards.extend(covered(&r));
        merged.rules.extend(r.rules);
        merged.repos.extend(r.repos);
        merged.files += r.files;
        merged.findings.extend(r.findings);
        merged.errors.extend(r.errors);
    }
    merged.sort();
    Ok(merged)
}

/// The run identity `audit` records with its shard: `explicit` (`--run-id`, or
/// `CONVOY_RUN_ID`), else GitHub's `GITHUB_RUN_ID` when the audit runs in GitHub Actions (the
/// same for every job of a workflow run and for its re-run attempts, so the matrix jobs of one
/// run agree; GitHub Docs, "Store information in variables", default environment variables).
pub fn run_identity(explicit: Option<&str>, github_run_id: Option<&str>) -> Option<String> {
    [explicit, github_run_id].into_iter().flatten().map(str::trim).find(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("org-{}/repo-{i}", i % 7)).collect()
    }

    fn parse_error(input: &str) -> String {
        match input.parse::<Shard>() {
            Ok(shard) => panic!("{input:?} should be rejected, got {shard:?}"),
            Err(err) => err.message,
        }
    }

    #[test]
    fn parses_and_displays() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        assert_eq!(" 3 / 4 ".parse::<Shard>(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(Shard { index: 2, count: 8 }.to_string(), "2/8");
    }

    #[test]
    fn rejects_bad_shards_with_clear_messages() {
        assert_eq!(parse_error("0/4"), "invalid shard '0/4': shards are numbered from 1, so the index must be 1-4");
        assert_eq!(parse_error("5/4"), "invalid shard '5/4': index 5 is larger than the shard count 4");
        assert_eq!(parse_error("1/0"), "invalid shard '1/0': the shard count must be at least 1");
        assert_eq!(parse_error("x/y"), "invalid shard 'x/y': shard index 'x' is not a number");
        assert_eq!(parse_error("1/y"), "invalid shard '1/y': shard count 'y' is not a number");
        assert_eq!(parse_error("3"), "invalid shard '3': expected K/N, e.g. 2/8 for the second of eight shards");
        assert_eq!(parse_error("-1/4"), "invalid shard '-1/4': shard index '-1' is not a number");
    }

    #[test]
    fn every_repository_is_in_exactly_one_shard() {
        let all = names(0..1000);
        for count in 1..=8 {
            for name in &all {
                let holders = (1..=count).filter(|&index| Shard { index, count }.contains(name)).count();
                assert_eq!(holders, 1, "{name} with {count} shards");
                assert!((1..=count).contains(&shard_of(name, count)));
            }
        }
    }

    #[test]
    fn shards_are_balanced() {
        let mut sizes = [0u32; 8];
        for name in names(0..1000) {
            sizes[shard_of(&name, 8) as usize - 1] += 1;
        }
        // 9% to 16% of 1000 names each (125 would be exact).
        for (index, size) in sizes.iter().enumerate() {
            assert!((90..=160).contains(size), "shard {} has {size} of 1000: {sizes:?}", index + 1);
        }
    }

    #[test]
    fn case_does_not_matter() {
        assert_eq!(shard_of("Octo-Org/Hello-World", 8), shard_of("octo-org/hello-world", 8));
        assert_eq!(shard_of("x", 0), 1);
    }

    #[test]
    fn adding_repositories_moves_no_one() {
        let original = names(0..1000);
        let before: Vec<u32> = original.iter().map(|name| shard_of(name, 8)).collect();
        // The assignment is per name, so a larger list cannot change it; check it anyway, by
        // assigning the grown list as a caller would.
        let grown = names(0..1100);
        let after: Vec<u32> = grown.iter().map(|name| shard_of(name, 8)).collect();
        assert_eq!(&after[..1000], &before[..]);
    }

    #[test]
    fn growing_the_shard_count_only_fills_the_new_shard() {
        let mut moved = 0;
        for name in names(0..1000) {
            let (old, new) = (shard_of(&name, 8), shard_of(&name, 9));
            if old != new {
                assert_eq!(new, 9, "{name} moved from {old} to {new}");
                moved += 1;
            }
        }
        // About 1000/9 = 111 names should move into the new shard, and no others.
        assert!((70..=160).contains(&moved), "{moved} moved");
    }

    fn part(index: u32, count: u32, run: Option<&str>, repos: &[&str]) -> (String, AuditReport) {
        let report = AuditReport {
            schema_version: AUDIT_SCHEMA_VERSION,
            tool: "convoy 0.1.0".into(),
            rules: Vec::new(),
            repos: repos.iter().map(|r| r.to_string()).collect(),
            files: repos.len(),
            findings: Vec::new(),
            errors: Vec::new(),
            shards: vec![ShardInfo { index, count, run: run.map(str::to_string) }],
        };
        (format!("shard-{index}.json"), report)
    }

    fn merge_error(reports: Vec<(String, AuditReport)>) -> String {
        match merge(reports) {
            Ok(r) => panic!("should be refused, merged {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_complete_set_of_one_run_merges() {
        let run = Some("4242");
        let merged = merge(vec![part(2, 3, run, &["a/c"]), part(1, 3, run, &["a/a", "a/b"]), part(3, 3, run, &[])])
            .expect("complete");
        assert_eq!(merged.repos, ["a/a", "a/b", "a/c"]);
        assert_eq!(merged.files, 3);
        assert_eq!(merged.shards.iter().map(|s| s.index).collect::<Vec<_>>(), [1, 2, 3]);
        // A merged report merges again, alone or with nothing else.
        assert_eq!(merge(vec![("m.json".into(), merged.clone())]), Ok(merged));
        // An unsharded report is the whole run.
        let (_, mut whole) = part(1, 1, None, &["a/a"]);
        whole.shards.clear();
        assert!(merge(vec![("all.json".into(), whole.clone())]).is_ok());
        assert_eq!(
            merge_error(vec![("all.json".into(), whole.clone()), ("again.json".into(), whole)]),
            "shard 1/1 appears in two reports: all.json and again.json"
        );
    }

    #[test]
    fn incomplete_doubled_or_mixed_sets_are_refused_naming_the_problem() {
        let run = Some("4242");
        assert_eq!(
            merge_error(vec![part(1, 4, run, &["a/a"]), part(3, 4, run, &["a/c"])]),
            "shard 2/4, 4/4 are missing: a merged report must cover every shard of the run (given: 1/4 (shard-1.json), 3/4 (shard-3.json))"
        );
        assert_eq!(
            merge_error(vec![part(1, 2, run, &["a/a"])]),
            "shard 2/2 is missing: a merged report must cover every shard of the run (given: 1/2 (shard-1.json))"
        );
        let (_, twin) = part(1, 2, run, &["a/a"]);
        assert_eq!(
            merge_error(vec![part(1, 2, run, &["a/a"]), ("copy.json".into(), twin), part(2, 2, run, &["a/b"])]),
            "shard 1/2 appears in two reports: shard-1.json and copy.json"
        );
        assert_eq!(
            merge_error(vec![part(1, 2, run, &["a/a"]), part(2, 3, run, &["a/b"])]),
            "shard-1.json is a shard of 2 but shard-2.json has shard 2/3: merge the shards of one run"
        );
        assert_eq!(
            merge_error(vec![part(1, 2, run, &["a/a"]), part(2, 2, Some("4243"), &["a/b"])]),
            "shard-1.json has run `4242` but shard-2.json has run `4243` (shard 2/2): merge the shards of one run"
        );
        assert_eq!(
            merge_error(vec![part(1, 2, run, &["a/a"]), part(2, 2, None, &["a/b"])]),
            "shard-1.json has run `4242` but shard-2.json has no run identity (shard 2/2): merge the shards of one run"
        );
        assert_eq!(
            merge_error(vec![part(1, 2, None, &["a/a"]), part(2, 2, None, &["a/a"])]),
            "a/a is in both shard-1.json and shard-2.json: the reports do not split one repository list"
        );
        let (name, mut other_tool) = part(2, 2, run, &["a/b"]);
        other_tool.tool = "convoy 0.2.0".into();
        assert_eq!(
            merge_error(vec![part(1, 2, run, &["a/a"]), (name, other_tool)]),
            "shard-1.json was made by convoy 0.1.0 but shard-2.json by convoy 0.2.0: merge the shards of one run"
        );
        assert_eq!(merge_error(Vec::new()), "no reports to merge");
    }

    #[test]
    fn the_run_identity_is_the_flag_else_github_s_run_id() {
        assert_eq!(run_identity(Some("nightly-7"), Some("99")).as_deref(), Some("nightly-7"));
        assert_eq!(run_identity(None, Some("99")).as_deref(), Some("99"));
        assert_eq!(run_identity(Some(" "), Some("99")).as_deref(), Some("99"));
        assert_eq!(run_identity(None, None), None);
    }

    #[test]
    fn golden_assignments() {
        // Computed once with this implementation, and independently with a ten-line Python
        // transcription of the same definitions, which agreed. The hash is specified here bit for bit
        // (FNV-1a 64, SplitMix64, wrapping u64 arithmetic, ASCII lowercasing), with no input
        // from the platform, the Rust version or the process, so these values must never
        // change; if this test fails, the hash changed and every CI matrix sharding by
        // `--shard` would silently reshuffle.
        let golden = [
            ("octo-org/hello-world", 3),
            ("octo-org/Spoon-Knife", 1),
            ("octo-org/.github", 4),
            ("rust-lang/rust", 3),
            ("a/b", 2),
        ];
        let actual: Vec<(&str, u32)> = golden.iter().map(|&(name, _)| (name, shard_of(name, 4))).collect();
        assert_eq!(actual, golden);
        assert_eq!(fnv1a_64(b"a".iter().copied()), 0xaf63_dc4c_8601_ec8c, "FNV-1a 64 reference vector for \"a\"");
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf, "first SplitMix64 output for seed 0");
    }
}
