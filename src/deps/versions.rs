//! The semver arithmetic alignment needs, on top of the `semver` crate (which parses and
//! matches but has no notion of "the range a requirement allows" or of Cargo's compatibility
//! buckets).
//!
//! Source of the rules: the Cargo reference, "Specifying dependencies"
//! (<https://doc.rust-lang.org/cargo/reference/specifying-dependencies.html>): caret is the
//! default (`1.2` is `^1.2`), tilde, wildcard and comparison requirements, and multiple
//! requirements separated by commas (all must hold). Pre-release versions are left out of the
//! arithmetic: a comparator that names one is treated as its release numbers.

use std::fmt;

use semver::{Comparator, Op, Version, VersionReq};

/// Parse a requirement as Cargo does: a bare `1.2` means `^1.2`.
pub fn parse_req(req: &str) -> Option<VersionReq> {
    VersionReq::parse(req.trim()).ok()
}

/// The versions a requirement allows, as one half-open interval `[low, high)` of release
/// versions (`high = None`: no upper bound). Every requirement Cargo accepts is one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub low: Version,
    pub high: Option<Version>,
}

impl Range {
    fn everything() -> Range {
        Range { low: Version::new(0, 0, 0), high: None }
    }

    fn intersect(&self, other: &Range) -> Range {
        let low = self.low.clone().max(other.low.clone());
        let high = match (&self.high, &other.high) {
            (Some(a), Some(b)) => Some(a.clone().min(b.clone())),
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        Range { low, high }
    }

    /// Whether no version is in it.
    pub fn is_empty(&self) -> bool {
        self.high.as_ref().is_some_and(|h| *h <= self.low)
    }
}

/// The next version after the written components: `1` → 2.0.0, `1.2` → 1.3.0, `1.2.3` → 1.2.4.
fn after(c: &Comparator) -> Version {
    match (c.minor, c.patch) {
        (None, _) => Version::new(c.major + 1, 0, 0),
        (Some(m), None) => Version::new(c.major, m + 1, 0),
        (Some(m), Some(p)) => Version::new(c.major, m, p + 1),
    }
}

fn written(c: &Comparator) -> Version {
    Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0))
}

/// The interval one comparator allows (Cargo reference, "Specifying dependencies").
pub fn comparator_range(c: &Comparator) -> Range {
    let low = written(c);
    let (low, high) = match c.op {
        Op::Exact | Op::Wildcard => (low, Some(after(c))),
        Op::Greater => (after(c), None),
        Op::GreaterEq => (low, None),
        Op::Less => (Version::new(0, 0, 0), Some(low)),
        Op::LessEq => (Version::new(0, 0, 0), Some(after(c))),
        Op::Tilde => match c.minor {
            None => (low, Some(Version::new(c.major + 1, 0, 0))),
            Some(m) => (low, Some(Version::new(c.major, m + 1, 0))),
        },
        // `^1.2.3` := >=1.2.3, <2.0.0; `^0.2.3` := <0.3.0; `^0.0.3` := <0.0.4; `^0.0` := <0.1.0;
        // `^0` := <1.0.0.
        Op::Caret => match (c.major, c.minor, c.patch) {
            (0, Some(0), Some(p)) => (low, Some(Version::new(0, 0, p + 1))),
            (0, Some(m), _) => (low, Some(Version::new(0, m + 1, 0))),
            (major, _, _) => (low, Some(Version::new(major + 1, 0, 0))),
        },
        // `semver::Op` is non-exhaustive: an operator it adds later is not understood here, so
        // it is taken as allowing everything (the answers below stay on the safe side: such a
        // requirement is never rewritten, see [`retarget`]).
        _ => (Version::new(0, 0, 0), None),
    };
    Range { low, high }
}

/// The interval a whole requirement allows: the intersection of its comparators (`*` allows
/// everything).
pub fn range(req: &VersionReq) -> Range {
    req.comparators.iter().fold(Range::everything(), |acc, c| acc.intersect(&comparator_range(c)))
}

/// The lowest version `req` allows (`^1.2` → 1.2.0, `>=1.4, <2` → 1.4.0, `*` → 0.0.0).
pub fn lower_bound(req: &VersionReq) -> Version {
    range(req).low
}

/// Cargo's compatibility bucket of a version: versions in one bucket are semver-compatible
/// (`1.x.y` share `1`; `0.3.x` share `0.3`; `0.0.z` is alone). Cargo reference, "SemVer
/// Compatibility" (<https://doc.rust-lang.org/cargo/reference/semver.html>).
pub fn bucket(v: &Version) -> (u64, u64, u64) {
    match (v.major, v.minor) {
        (0, 0) => (0, 0, v.patch),
        (0, m) => (0, m, 0),
        (major, _) => (major, 0, 0),
    }
}

/// THE compatibility question of `convoy deps`, asked by `deps skew` (can the org's uses of a
/// crate share one version?) and by `deps align` (may a requirement move without
/// `allow_breaking`?): whether one version satisfies every requirement of `reqs`. Exact for
/// every requirement Cargo accepts (intervals intersected), pre-releases aside.
pub fn compatible(reqs: &[&VersionReq]) -> bool {
    !reqs.iter().fold(Range::everything(), |acc, r| acc.intersect(&range(r))).is_empty()
}

/// `compatible` over owned requirements (what `deps skew` holds).
pub fn satisfiable_together(reqs: &[VersionReq]) -> bool {
    compatible(&reqs.iter().collect::<Vec<_>>())
}

/// Why a requirement is left for a person instead of being rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `=1.2.3` and `move_exact_pins = false`.
    ExactPin,
    /// Ranges, comparisons (`<`, `>=`, ...), wildcards, several comparators, pre-releases,
    /// or a requirement that does not parse.
    NotSimple(String),
    /// The operator's range cannot be kept at the new version (`^0` to 0.5).
    ShapeChanges(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::ExactPin => {
                f.write_str("an exact pin is left for a person (`move_exact_pins = true` moves it and keeps `=`)")
            }
            Refusal::NotSimple(why) | Refusal::ShapeChanges(why) => f.write_str(why),
        }
    }
}

/// What kind of range a comparator allows, so that a rewrite can keep it. A caret is either
/// the usual "compatible updates" (its range ends at the next Cargo compatibility bucket of its
/// version: `^1.2`, `^0.3`, `^0.0.4`) or a short form that is wider (`^0` is any 0.x, `^0.0`
/// any 0.0.x). A tilde or an exact requirement is as wide as its written components: the major
/// (`~1`, `=1`), the minor (`~1.2`, `=1.2`) or the patch (`=1.2.3`).
fn shape(c: &Comparator) -> (Op, Option<(u64, u64, u64)>) {
    let r = comparator_range(c);
    let Some(high) = r.high else { return (c.op, None) };
    if c.op == Op::Caret {
        let standard = match (r.low.major, r.low.minor) {
            (0, 0) => Version::new(0, 0, r.low.patch + 1),
            (0, m) => Version::new(0, m + 1, 0),
            (major, _) => Version::new(major + 1, 0, 0),
        };
        return (c.op, Some(if high == standard { (0, 0, 0) } else { (high.major, high.minor, high.patch) }));
    }
    let width = match (high.major - r.low.major, high.minor.wrapping_sub(r.low.minor)) {
        (0, 0) => (0, 0, 1),
        (0, _) => (0, 1, 0),
        _ => (1, 0, 0),
    };
    (c.op, Some(width))
}

/// The single caret, tilde or exact comparator of `text` and its operator as written (`""`,
/// `^`, `~`, `=`, spaces kept), or why it is none.
pub fn simple(text: &str) -> Result<(String, Comparator), Refusal> {
    let text = text.trim();
    let req = parse_req(text).ok_or_else(|| Refusal::NotSimple(format!("`{text}` is not a version requirement")))?;
    let [c] = req.comparators.as_slice() else {
        let why = if req.comparators.is_empty() { "a wildcard" } else { "several requirements" };
        return Err(Refusal::NotSimple(format!(
            "`{text}` is {why}: convoy rewrites only caret (`1.2`, `^1.2`), tilde (`~1.2`) and exact (`=1.2.3`) requirements"
        )));
    };
    let kind = match c.op {
        Op::Caret | Op::Tilde | Op::Exact => None,
        Op::Wildcard => Some("a wildcard"),
        Op::Less | Op::LessEq | Op::Greater | Op::GreaterEq => Some("a comparison"),
        _ => Some("an operator convoy does not know"),
    };
    if let Some(kind) = kind {
        return Err(Refusal::NotSimple(format!(
            "`{text}` is {kind}: convoy rewrites only caret (`1.2`, `^1.2`), tilde (`~1.2`) and exact (`=1.2.3`) requirements"
        )));
    }
    if !c.pre.is_empty() {
        return Err(Refusal::NotSimple(format!("`{text}` names a pre-release")));
    }
    let digits = text.find(|ch: char| ch.is_ascii_digit()).unwrap_or(0);
    Ok((text[..digits].to_string(), c.clone()))
}

/// The version numbers of a comparator as written (`1.47`, `1.0.228`).
pub fn numbers(c: &Comparator) -> String {
    match (c.minor, c.patch) {
        (None, _) => c.major.to_string(),
        (Some(m), None) => format!("{}.{m}", c.major),
        (Some(m), Some(p)) => format!("{}.{m}.{p}", c.major),
    }
}

/// The requirement `current` becomes when its crate moves to `target` (version numbers as a
/// rule gives them: `1.47`, `1.0.228`), keeping its operator and the width of its range:
/// `~1.2.0` → `~1.5.0`, `^1.2` → `^1.5`, `1.2` → `1.5`, and `=0.8.1` → `=0.8.5` only with
/// `move_exact`. The target's numbers are written as given when that keeps the width, else in
/// full (`=1.2.3` with target `1.5` → `=1.5.0`).
///
/// Errors ([`Refusal`]): an exact pin without `move_exact`; a requirement that is not one caret,
/// tilde or exact comparator (ranges, `<`, `>=`, wildcards, several comparators: Cargo's
/// "multiple requirements"); a width that cannot be kept (`^0` → 0.5).
pub fn retarget(current: &str, target: &Comparator, move_exact: bool) -> Result<String, Refusal> {
    let (prefix, c) = simple(current)?;
    if c.op == Op::Exact && !move_exact {
        return Err(Refusal::ExactPin);
    }
    let want = shape(&c);
    let full = Version::new(target.major, target.minor.unwrap_or(0), target.patch.unwrap_or(0)).to_string();
    for candidate in [numbers(target), full] {
        let text = format!("{prefix}{candidate}");
        if let Ok((_, new)) = simple(&text)
            && shape(&new) == want
        {
            return Ok(text);
        }
    }
    Err(Refusal::ShapeChanges(format!(
        "`{}` cannot move to {} and keep what it allows (its range would change shape)",
        current.trim(),
        numbers(target)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> VersionReq {
        parse_req(s).expect("req")
    }

    fn target(s: &str) -> Comparator {
        simple(s).expect("target").1
    }

    #[test]
    fn lower_bounds() {
        assert_eq!(lower_bound(&req("1.2")), Version::new(1, 2, 0));
        assert_eq!(lower_bound(&req("=0.4.7")), Version::new(0, 4, 7));
        assert_eq!(lower_bound(&req(">=1.4, <2")), Version::new(1, 4, 0));
        assert_eq!(lower_bound(&req("~0.3")), Version::new(0, 3, 0));
        assert_eq!(lower_bound(&req("*")), Version::new(0, 0, 0));
        assert_eq!(lower_bound(&req(">1.2")), Version::new(1, 3, 0));
        assert_eq!(lower_bound(&req(">1.2.3")), Version::new(1, 2, 4));
    }

    #[test]
    fn ranges_follow_the_cargo_reference() {
        let r = |s: &str| {
            let r = range(&req(s));
            (r.low.to_string(), r.high.map(|h| h.to_string()))
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(r("^1.2.3"), ("1.2.3".into(), some("2.0.0")));
        assert_eq!(r("^0.2.3"), ("0.2.3".into(), some("0.3.0")));
        assert_eq!(r("^0.0.3"), ("0.0.3".into(), some("0.0.4")));
        assert_eq!(r("^0.0"), ("0.0.0".into(), some("0.1.0")));
        assert_eq!(r("^0"), ("0.0.0".into(), some("1.0.0")));
        assert_eq!(r("~1.2.3"), ("1.2.3".into(), some("1.3.0")));
        assert_eq!(r("~1"), ("1.0.0".into(), some("2.0.0")));
        assert_eq!(r("1.2.*"), ("1.2.0".into(), some("1.3.0")));
        assert_eq!(r("<=1.2"), ("0.0.0".into(), some("1.3.0")));
        assert_eq!(r(">= 1.2, < 1.5"), ("1.2.0".into(), some("1.5.0")));
        assert_eq!(r("*"), ("0.0.0".into(), None));
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket(&Version::new(1, 7, 3)), (1, 0, 0));
        assert_eq!(bucket(&Version::new(0, 3, 9)), (0, 3, 0));
        assert_eq!(bucket(&Version::new(0, 0, 2)), (0, 0, 2));
    }

    #[test]
    fn one_compatibility_question() {
        let c = |a: &str, b: &str| compatible(&[&req(a), &req(b)]);
        assert!(c("1.0.100", "1.0.228"));
        assert!(!c("1", "2"));
        assert!(!c("0.3", "0.4"), "0.x minors are breaking");
        assert!(c("0.3.1", "0.3.9"));
        assert!(!c("0.0.1", "0.0.2"));
        // What a lower-bound guess got wrong: a range that reaches the new version, and a tilde
        // that does not.
        assert!(c(">=1.0", "2.0"));
        assert!(c("*", "1.0"));
        assert!(!c("~1.2.0", "1.5"));
        assert!(c("~1.2.0", "~1.2.7"));
        assert!(!c("=1.2.3", "=1.2.4"));
        assert!(satisfiable_together(&[req("1.0.100"), req("1.0.228"), req("1")]));
        assert!(!satisfiable_together(&[req("1"), req("2")]));
        assert!(satisfiable_together(&[req(">=1.2, <1.5"), req("1.4")]));
        assert!(!satisfiable_together(&[req(">=1.2, <1.4"), req("1.4")]));
    }

    #[test]
    fn operators_are_kept() {
        let t = |cur: &str, to: &str| retarget(cur, &target(to), false);
        assert_eq!(t("~1.2.0", "1.5.0").as_deref(), Ok("~1.5.0"));
        assert_eq!(t("~1.2", "1.5.0").as_deref(), Ok("~1.5.0"));
        assert_eq!(t("^1.2", "1.5").as_deref(), Ok("^1.5"));
        assert_eq!(t("1.0.100", "1.0.228").as_deref(), Ok("1.0.228"));
        assert_eq!(t(" 0.8.5 ", "0.8").as_deref(), Ok("0.8"));
        // `~1` is "any 1.x": `~1.5` would be "patches of 1.5", another kind of requirement.
        assert!(matches!(t("~1", "1.5"), Err(Refusal::ShapeChanges(_))));
        assert_eq!(t("^0.3", "0.3.9").as_deref(), Ok("^0.3.9"));
    }

    #[test]
    fn exact_pins_ranges_and_wildcards_are_left_for_a_person() {
        assert_eq!(retarget("=0.8.1", &target("0.8.5"), false), Err(Refusal::ExactPin));
        assert_eq!(retarget("=0.8.1", &target("0.8.5"), true).as_deref(), Ok("=0.8.5"));
        assert_eq!(retarget("= 0.8.1", &target("0.9"), true).as_deref(), Ok("= 0.9.0"));
        for refused in [">=1.2", "<2", ">=1.2, <1.5", "1.*", "*", "~1.2.0-beta.1", "nope"] {
            assert!(matches!(retarget(refused, &target("1.5"), true), Err(Refusal::NotSimple(_))), "{refused}");
        }
        assert!(matches!(retarget("^0", &target("0.5"), false), Err(Refusal::ShapeChanges(_))));
    }
}
