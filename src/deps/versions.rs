//! The little semver arithmetic alignment needs, on top of the `semver` crate (which parses and
//! matches but has no notion of "the lowest version a requirement allows" or of Cargo's
//! compatibility buckets).

use semver::{Op, Version, VersionReq};

/// Parse a requirement as Cargo does: a bare `1.2` means `^1.2`.
pub fn parse_req(req: &str) -> Option<VersionReq> {
    VersionReq::parse(req.trim()).ok()
}

/// The lowest version `req` allows (`^1.2` → 1.2.0, `>=1.4, <2` → 1.4.0, `*` → 0.0.0).
pub fn lower_bound(req: &VersionReq) -> Version {
    let mut low = Version::new(0, 0, 0);
    for c in &req.comparators {
        let v = Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
        let v = match c.op {
            Op::Greater => match (c.minor, c.patch) {
                (None, _) => Version::new(c.major + 1, 0, 0),
                (Some(m), None) => Version::new(c.major, m + 1, 0),
                (Some(_), Some(p)) => Version::new(c.major, v.minor, p + 1),
            },
            Op::Exact | Op::GreaterEq | Op::Tilde | Op::Caret | Op::Wildcard => v,
            // Upper bounds say nothing about the lowest version.
            _ => continue,
        };
        if v > low {
            low = v;
        }
    }
    low
}

/// Cargo's compatibility bucket of a version: versions in one bucket are semver-compatible
/// (`1.x.y` share `1`; `0.3.x` share `0.3`; `0.0.z` is alone).
pub fn bucket(v: &Version) -> (u64, u64, u64) {
    match (v.major, v.minor) {
        (0, 0) => (0, 0, v.patch),
        (0, m) => (0, m, 0),
        (major, _) => (major, 0, 0),
    }
}

/// Whether moving from `from` to `to` crosses a semver-incompatible boundary (a `0.x` minor
/// counts as breaking, as in Cargo).
pub fn is_breaking(from: &VersionReq, to: &VersionReq) -> bool {
    bucket(&lower_bound(from)) != bucket(&lower_bound(to))
}

/// Whether one version can satisfy every requirement. Tried: each requirement's lower bound
/// (the candidates any resolution would start from). Exact for the usual caret and tilde
/// requirements; a conservative "no" is possible for exotic combinations of ranges.
pub fn satisfiable_together(reqs: &[VersionReq]) -> bool {
    reqs.iter().map(lower_bound).any(|candidate| reqs.iter().all(|r| r.matches(&candidate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> VersionReq {
        parse_req(s).expect("req")
    }

    #[test]
    fn lower_bounds() {
        assert_eq!(lower_bound(&req("1.2")), Version::new(1, 2, 0));
        assert_eq!(lower_bound(&req("=0.4.7")), Version::new(0, 4, 7));
        assert_eq!(lower_bound(&req(">=1.4, <2")), Version::new(1, 4, 0));
        assert_eq!(lower_bound(&req("~0.3")), Version::new(0, 3, 0));
        assert_eq!(lower_bound(&req("*")), Version::new(0, 0, 0));
        assert_eq!(lower_bound(&req(">1.2")), Version::new(1, 3, 0));
    }

    #[test]
    fn buckets_and_breaking() {
        assert!(!is_breaking(&req("1.0.100"), &req("1.0.228")));
        assert!(is_breaking(&req("1"), &req("2")));
        assert!(is_breaking(&req("0.3"), &req("0.4")), "0.x minors are breaking");
        assert!(!is_breaking(&req("0.3.1"), &req("0.3.9")));
        assert!(is_breaking(&req("0.0.1"), &req("0.0.2")));
    }

    #[test]
    fn satisfiable() {
        assert!(satisfiable_together(&[req("1.0.100"), req("1.0.228"), req("1")]));
        assert!(!satisfiable_together(&[req("1"), req("2")]));
        assert!(!satisfiable_together(&[req("0.3"), req("0.4")]));
        assert!(satisfiable_together(&[req(">=1.2, <1.5"), req("1.4")]));
        assert!(!satisfiable_together(&[req("=1.2.3"), req("=1.2.4")]));
    }
}
