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
